"""Users come from the identity provider: created or updated on every login."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from ..db import utcnow
from ..models import User


class UnknownUser(Exception):
    """The claims match no user and user creation is off, or match several."""


@dataclass(frozen=True)
class LoginRules:
    create_user: bool
    fallback_to_email: bool
    operator_groups: frozenset[str]

    @classmethod
    def from_settings(cls, settings) -> LoginRules:
        return cls(
            create_user=settings["oidc.create_user"],
            fallback_to_email=settings["oidc.fallback_to_email_for_identification"],
            operator_groups=frozenset(settings["oidc.operator_groups"]),
        )


def full_name_from(claims: dict) -> str | None:
    if claims.get("name"):
        return str(claims["name"])[:100]
    parts = [claims.get(k) for k in ("given_name", "usual_name", "family_name")]
    joined = " ".join(str(p) for p in parts if p)
    return joined[:100] or None


def email_is_verified(claims: dict) -> bool:
    """Whether the provider vouches for the email; absent means no. (Some providers send
    the string "true".)"""
    verified = claims.get("email_verified")
    return verified is True or (isinstance(verified, str) and verified.lower() == "true")


def user_from_claims(
    session: Session, claims: dict, rules: LoginRules, *, language: str | None = None
) -> User:
    """The user these claims name, created or updated. A new account starts in
    `language`, the one the person was using when they signed in (a site language);
    an existing account keeps its own."""
    sub = claims.get("sub")
    if not sub:
        raise UnknownUser("The identity provider sent no subject.")
    email = claims.get("email") or None
    user = User.by_sub(session, sub)
    # Whoever controls an account at the provider may set any email on it: only one
    # the provider verified may lead to an account created under another subject.
    if user is None and rules.fallback_to_email and email and email_is_verified(claims):
        matches = User.by_email(session, email)
        if len(matches) > 1:
            raise UnknownUser("Several accounts share this email address.")
        user = matches[0] if matches else None
    if user is None:
        if not rules.create_user:
            raise UnknownUser("No account matches this login.")
        user = User(sub=sub, is_active=True, is_operator=False)
        if language:
            user.language = language
        session.add(user)
    elif not user.is_active:
        raise UnknownUser("This account is disabled.")
    user.sub = sub
    user.email = email or user.email
    user.full_name = full_name_from(claims) or user.full_name
    user.short_name = claims.get("given_name") or user.short_name or None
    groups = claims.get("groups") or []
    if rules.operator_groups and rules.operator_groups.intersection(groups):
        user.is_operator = True
    user.last_login = utcnow()
    session.flush()
    return user
