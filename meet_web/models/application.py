from __future__ import annotations

import hashlib
import hmac
import secrets
import string
import uuid

from sqlalchemy import JSON, Boolean, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from ..db import BaseModel

_ALPHABET = string.ascii_letters + string.digits
_HASH_ITERATIONS = 200_000


def random_token(length: int) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def hash_secret(secret: str, *, salt: str | None = None) -> str:
    salt = salt or secrets.token_hex(16)
    digest = hashlib.pbkdf2_hmac("sha256", secret.encode(), salt.encode(), _HASH_ITERATIONS)
    return f"pbkdf2_sha256${_HASH_ITERATIONS}${salt}${digest.hex()}"


def check_secret(secret: str, hashed: str) -> bool:
    try:
        _algo, iterations, salt, expected = hashed.split("$")
    except ValueError:
        return False
    digest = hashlib.pbkdf2_hmac("sha256", secret.encode(), salt.encode(), int(iterations))
    return hmac.compare_digest(digest.hex(), expected)


class Application(BaseModel):
    """An integration allowed to use the external API with client credentials."""

    __tablename__ = "applications"

    name: Mapped[str] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    client_id: Mapped[str] = mapped_column(
        String(100), unique=True, default=lambda: random_token(40)
    )
    client_secret: Mapped[str] = mapped_column(String(255))
    scopes: Mapped[list] = mapped_column(JSON, default=list)

    allowed_domains: Mapped[list[ApplicationDomain]] = relationship(
        back_populates="application",
        cascade="all, delete-orphan",
        order_by="ApplicationDomain.domain",
    )

    def set_secret(self, secret: str) -> None:
        self.client_secret = hash_secret(secret)

    def check_secret(self, secret: str) -> bool:
        return check_secret(secret, self.client_secret)

    def can_delegate_email(self, email: str) -> bool:
        if not self.allowed_domains:
            return True
        domain = email.rsplit("@", 1)[-1].lower()
        return any(d.domain == domain for d in self.allowed_domains)


class ApplicationDomain(BaseModel):
    __tablename__ = "application_domains"
    __table_args__ = (UniqueConstraint("application_id", "domain"),)

    domain: Mapped[str] = mapped_column(String(253))
    application_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("applications.id", ondelete="CASCADE"), index=True
    )
    application: Mapped[Application] = relationship(back_populates="allowed_domains")

    @validates("domain")
    def _normalise(self, _key, value: str) -> str:
        return value.strip().lower()
