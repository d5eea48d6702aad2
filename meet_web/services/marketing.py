"""Marketing sync of new users: after a person's first sign-in has committed, their
address is added to the marketing contact lists (Brevo's contacts API); off by default.

The call is short (`marketing.timeout`, 1 s) and its failures are logged as warnings:
it never refuses, undoes or fails a sign-in.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

from sqlalchemy import event
from sqlalchemy.orm import Session

from ..db import after_commit
from ..models import User
from . import register

log = logging.getLogger(__name__)

# session.info key: ids of the users this session inserted (see note_new_users).
NEW_USERS = "meet_web.new_users"


@dataclass(frozen=True)
class Contact:
    email: str
    full_name: str | None
    short_name: str | None
    language: str


class MarketingSync:
    """Where new users' contacts go; this one, the default, sends them nowhere."""

    enabled = False

    def add_contact(self, contact: Contact) -> None:
        """Add or update the contact; raises MarketingError."""

    def add_contact_quietly(self, contact: Contact) -> bool:
        try:
            self.add_contact(contact)
        except MarketingError as exc:
            log.warning("marketing: contact not added: %s", exc)
            return False
        return True


class MarketingError(Exception):
    pass


@dataclass(frozen=True)
class BrevoConfig:
    api_url: str
    api_key: str
    list_ids: tuple[int, ...]
    attributes: dict
    timeout: float

    @classmethod
    def from_settings(cls, settings) -> BrevoConfig:
        return cls(
            api_url=settings["marketing.api_url"].rstrip("/"),
            api_key=settings["marketing.api_key"],
            list_ids=tuple(int(i) for i in settings["marketing.list_ids"]),
            attributes=dict(settings["marketing.contact_attributes"]),
            timeout=settings["marketing.timeout"],
        )


class BrevoContacts(MarketingSync):
    """`POST <api_url>/contacts` (Brevo's API v3), updating a contact that exists."""

    enabled = True

    def __init__(self, config: BrevoConfig):
        import requests  # here: a worker that never syncs does not carry it (16 MiB)

        self.config = config
        self.http = requests.Session()

    def payload(self, contact: Contact) -> dict:
        attributes = dict(self.config.attributes)
        if contact.full_name:
            attributes.setdefault("FULLNAME", contact.full_name)
        if contact.short_name:
            attributes.setdefault("FIRSTNAME", contact.short_name)
        return {
            "email": contact.email,
            "attributes": attributes,
            "listIds": list(self.config.list_ids),
            "updateEnabled": True,
        }

    def add_contact(self, contact: Contact) -> None:
        import requests

        try:
            response = self.http.post(
                f"{self.config.api_url}/contacts",
                json=self.payload(contact),
                headers={"api-key": self.config.api_key, "accept": "application/json"},
                timeout=self.config.timeout,
            )
        except requests.RequestException as exc:
            raise MarketingError(f"Brevo unreachable: {type(exc).__name__}") from exc
        if response.status_code >= 300:
            raise MarketingError(f"Brevo answered {response.status_code}: {response.text[:200]}")


def make_marketing(settings) -> MarketingSync:
    if settings["marketing.backend"] == "brevo":
        return BrevoContacts(BrevoConfig.from_settings(settings))
    return MarketingSync()


# -- first sign-in -----------------------------------------------------------------------


def note_new_users(session, _context) -> None:
    """After each flush: the users this session inserted (a first sign-in creates one)."""
    for obj in session.new:
        if isinstance(obj, User):
            session.info.setdefault(NEW_USERS, set()).add(obj.id)


def after_first_sign_in(request, user_id) -> None:
    """Called at sign-in: when this request created the user, add them as a contact once
    the transaction commits."""
    sync = request.service(MarketingSync)
    if not sync.enabled:
        return
    session = request.dbsession
    key = user_id if isinstance(user_id, uuid.UUID) else uuid.UUID(str(user_id))
    if key not in session.info.get(NEW_USERS, ()):
        return
    user = session.get(User, key)  # in the identity map: no query
    if user is None or not user.email:
        return
    contact = Contact(user.email, user.full_name, user.short_name, user.language)
    after_commit(request, sync.add_contact_quietly, contact)


def includeme(config):
    sync = make_marketing(config.get_settings())
    register(config, sync, MarketingSync)
    if sync.enabled and not event.contains(Session, "after_flush", note_new_users):
        event.listen(Session, "after_flush", note_new_users)
