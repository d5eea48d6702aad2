from __future__ import annotations

import re
import secrets
import unicodedata
import uuid

from sqlalchemy import JSON, String, select
from sqlalchemy.orm import Mapped, Session, joinedload, mapped_column, relationship

from ..db import BaseModel
from .access import ResourceAccess
from .enums import AccessLevel, Role, db_enum

SLUG_MAX_LENGTH = 100
NAME_MAX_LENGTH = 500
# The slug is made from the name, so in practice a name is as long as a slug may be
# (as the reference's): forms limit what is typed to this.
NAME_TYPED_MAX_LENGTH = SLUG_MAX_LENGTH
NAME_TOO_LONG = f"The name may not be longer than {SLUG_MAX_LENGTH} characters."

# First path segments that belong to the site itself; a room slug may not take one.
RESERVED_SLUGS = frozenset(
    {
        "",
        "admin",
        "api",
        "auth",
        "account",
        "external-api",
        "favicon.ico",
        "health",
        "login",
        "logout",
        "recordings",
        "robots.txt",
        "rooms",
        "static",
        "users",
        "__heartbeat__",
        "__lbheartbeat__",
        "metrics",
        "jwks",
        "webhooks-livekit",
        "creation-callback",
        "connection-test",
        "join",
    }
)


class SlugError(ValueError):
    pass


def slugify(value: str) -> str:
    """ASCII lower-case words joined by dashes, as Django's slugify (the reference's)."""
    value = unicodedata.normalize("NFKD", str(value)).encode("ascii", "ignore").decode()
    value = re.sub(r"[^\w\s-]", "", value.lower())
    return re.sub(r"[-\s]+", "-", value).strip("-_")


def is_uuid_like(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def contains_uuid(value: str) -> bool:
    """Whether a UUID's 32 hex digits appear in `value`, dashes anywhere (as
    `uuid.UUID` reads them), alone or amid other words."""
    return re.search(r"[0-9a-f]{32}", value.lower().replace("-", "")) is not None


def slug_for_name(name: str) -> str:
    """The slug a room of this name gets; raises SlugError when no usable slug exists."""
    slug = slugify(name)
    if not slug:
        raise SlugError("The name must contain at least one letter or digit.")
    if len(slug) > SLUG_MAX_LENGTH:
        raise SlugError(NAME_TOO_LONG)
    if is_uuid_like(slug) or slug in RESERVED_SLUGS:
        raise SlugError(f"The name '{name}' is reserved.")
    return slug


class Room(BaseModel):
    __tablename__ = "rooms"

    name: Mapped[str] = mapped_column(String(NAME_MAX_LENGTH))
    slug: Mapped[str] = mapped_column(String(SLUG_MAX_LENGTH), unique=True)
    access_level: Mapped[AccessLevel] = mapped_column(db_enum(AccessLevel, "access_level"))
    configuration: Mapped[dict] = mapped_column(JSON, default=dict)
    pin_code: Mapped[str | None] = mapped_column(String(32), unique=True)

    accesses: Mapped[list[ResourceAccess]] = relationship(
        back_populates="resource",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by=ResourceAccess.created_at,
    )

    def rename(self, name: str) -> None:
        self.slug = slug_for_name(name)
        self.name = name

    @property
    def is_public(self) -> bool:
        return self.access_level == AccessLevel.PUBLIC

    def role_of(self, user_id: uuid.UUID | None) -> Role | None:
        """The strongest role the user holds on this room, or None."""
        if user_id is None:
            return None
        roles = [a.role for a in self.accesses if a.user_id == user_id]
        return max(roles, key=lambda r: r.strength) if roles else None

    @classmethod
    def lookup(cls, session: Session, key: str) -> Room | None:
        """Find by UUID (with or without dashes) or by slug (slugified first)."""
        # One query: the room and its access rows (all its ACL needs), no users.
        query = select(cls).options(joinedload(cls.accesses))
        try:
            query = query.where(cls.id == uuid.UUID(key))
        except ValueError:
            slug = slugify(key)
            if not slug:
                return None
            query = query.where(cls.slug == slug)
        return session.scalars(query).unique().one_or_none()

    @classmethod
    def slug_taken(cls, session: Session, slug: str, *, other_than=None) -> bool:
        query = select(cls.id).where(cls.slug == slug)
        if other_than is not None:
            query = query.where(cls.id != other_than)
        return session.scalar(query) is not None

    @staticmethod
    def random_pin(length: int) -> str:
        """`length` random digits (zero-padded). Whether another room holds it already
        is the unique index's to say, when the room is written: a check first would
        race with a concurrent creation (see telephony/pins.py)."""
        return str(secrets.randbelow(10**length)).zfill(length)
