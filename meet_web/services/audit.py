"""The audit log: one row per change, added to the transaction that makes the change.

`record` adds the row to `request.dbsession`, so it commits or aborts with the change
itself, also on the paths that begin their own transaction (`with request.tm`). The
row says who acted (the request's identity unless told otherwise), from where (the
request id and the client's address) and a small summary of what changed, from which
anything named like a credential is dropped.
"""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

from sqlalchemy import delete, func, select

from ..db import utcnow
from ..models.audit import AuditEvent
from ..models.user import User

# The actions, in one place: "<target>.<verb>".
SIGN_IN = "auth.sign_in"
SIGN_OUT = "auth.sign_out"
SIGN_IN_FAILED = "auth.sign_in_failed"
ROOM_CREATE = "room.create"
ROOM_UPDATE = "room.update"
ROOM_DELETE = "room.delete"
ACCESS_GRANT = "access.grant"
ACCESS_CHANGE = "access.change"
ACCESS_REVOKE = "access.revoke"
PARTICIPANT_REMOVE = "participant.remove"
PARTICIPANT_PROMOTE = "participant.promote"
LOBBY_ADMIT = "lobby.admit"
LOBBY_DENY = "lobby.deny"
RECORDING_START = "recording.start"
RECORDING_STOP = "recording.stop"
RECORDING_DELETE = "recording.delete"
RECORDING_RESEND_NOTIFICATION = "recording.resend_notification"
RECORDING_MARK_FAILED_TO_STOP = "recording.mark_failed_to_stop"
APPLICATION_CREATE = "application.create"
APPLICATION_UPDATE = "application.update"
APPLICATION_ROTATE = "application.rotate_secret"
APPLICATION_TOKEN = "application.token_issued"  # noqa: S105 - an action name
# The admin pages' own actions.
ROOM_END_MEETING = "room.end_meeting"
USER_GRANT_OPERATOR = "user.grant_operator"
USER_REVOKE_OPERATOR = "user.revoke_operator"
USER_DEACTIVATE = "user.deactivate"
USER_REACTIVATE = "user.reactivate"
USER_MERGE = "user.merge"

ACTIONS = (
    SIGN_IN,
    SIGN_OUT,
    SIGN_IN_FAILED,
    ROOM_CREATE,
    ROOM_UPDATE,
    ROOM_DELETE,
    ACCESS_GRANT,
    ACCESS_CHANGE,
    ACCESS_REVOKE,
    PARTICIPANT_REMOVE,
    PARTICIPANT_PROMOTE,
    LOBBY_ADMIT,
    LOBBY_DENY,
    RECORDING_START,
    RECORDING_STOP,
    RECORDING_DELETE,
    RECORDING_RESEND_NOTIFICATION,
    RECORDING_MARK_FAILED_TO_STOP,
    APPLICATION_CREATE,
    APPLICATION_UPDATE,
    APPLICATION_ROTATE,
    APPLICATION_TOKEN,
    ROOM_END_MEETING,
    USER_GRANT_OPERATOR,
    USER_REVOKE_OPERATOR,
    USER_DEACTIVATE,
    USER_REACTIVATE,
    USER_MERGE,
)

ANONYMOUS = "anonymous"
SYSTEM = "system"

REQUEST_ID_HEADER = "HTTP_X_REQUEST_ID"
REQUEST_ID_KEY = "meet_web.request_id"
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")

# Keys of `changes` that are never written, at any depth.
_SECRET_KEY = re.compile(
    r"(^|[_-])(secret|token|password|passwd|pin|key|body|code|credentials?)s?($|[_-])",
    re.IGNORECASE,
)
MAX_TEXT = 200
MAX_ITEMS = 20
MAX_DEPTH = 3


def request_id(request) -> str:
    """The id of this request: the front proxy's `X-Request-ID` when it is a plain
    token, else one made here, once per request."""
    environ = request.environ
    value = environ.get(REQUEST_ID_KEY)
    if value is None:
        sent = environ.get(REQUEST_ID_HEADER, "")
        value = sent if _REQUEST_ID.fullmatch(sent) else uuid.uuid4().hex
        environ[REQUEST_ID_KEY] = value
    return value


def clean_changes(value, depth: int = 0):
    """`value` without credential-like keys, long texts cut and long lists shortened."""
    if isinstance(value, dict):
        if depth >= MAX_DEPTH:
            return "…"
        return {
            str(k): clean_changes(v, depth + 1)
            for k, v in list(value.items())[:MAX_ITEMS]
            if not _SECRET_KEY.search(str(k))
        }
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=str) if isinstance(value, set | frozenset) else value
        return [clean_changes(v, depth + 1) for v in list(items)[:MAX_ITEMS]]
    if value is None or isinstance(value, bool | int | float):
        return value
    text = str(getattr(value, "value", value))  # enums by their value
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"


def _actor_of_request(request) -> tuple[uuid.UUID | None, str]:
    identity = request.identity
    if identity is None:
        return None, ANONYMOUS
    if identity.source == "bearer":
        if identity.from_provider:
            label = f"provider client {identity.client_id or ''}".strip()
        else:
            label = f"application {identity.client_id}" if identity.client_id else "add-on"
        return identity.user_id, label
    if identity.user_id is None:
        return None, ANONYMOUS
    user = request.user
    return identity.user_id, (user.email if user is not None and user.email else "")


def _actor(request, actor) -> tuple[uuid.UUID | None, str]:
    if actor is None:
        return _actor_of_request(request)
    if isinstance(actor, User):
        return actor.id, actor.email or ""
    return None, str(actor)


def record(
    request,
    action: str,
    *,
    target_type: str,
    target_id,
    changes: dict | None = None,
    actor: User | str | None = None,
) -> AuditEvent:
    """Add the event of `action` to the request's transaction.

    `actor` is the request's identity unless given: a user (e.g. the one who just
    signed in) or a label ("system", "application <client id>")."""
    actor_id, actor_label = _actor(request, actor)
    event = AuditEvent(
        actor_id=actor_id,
        actor_label=actor_label[:320],
        action=action,
        target_type=target_type,
        target_id=str(target_id if target_id is not None else "")[:64],
        request_id=request_id(request),
        client_ip=(request.environ.get("REMOTE_ADDR") or "")[:45],
        changes=clean_changes(changes or {}),
    )
    request.dbsession.add(event)
    return event


def record_room(request, action: str, room, changes: dict | None = None) -> AuditEvent:
    summary = {"slug": room.slug, **(changes or {})}
    return record(request, action, target_type="room", target_id=room.id, changes=summary)


def record_access(request, action: str, access, changes: dict | None = None) -> AuditEvent:
    summary = {"room": access.resource_id, "user": access.user_id, "role": access.role}
    return record(
        request,
        action,
        target_type="access",
        target_id=access.id,
        changes={**summary, **(changes or {})},
    )


def record_application(request, action: str, application, actor=None, changes=None):
    summary = {
        "name": application.name,
        "active": application.is_active,
        "scopes": list(application.scopes or []),
        **(changes or {}),
    }
    return record(
        request,
        action,
        target_type="application",
        target_id=application.client_id,
        changes=summary,
        actor=actor,
    )


def keep_despite_refusal(request) -> None:
    """Have this request's transaction commit although its answer is a 4xx (pyramid_tm
    aborts those): for an event that records a refusal, such as a failed sign-in. Only
    for answers made before anything else was written. The header that tells
    pyramid_tm so is taken off the response before it leaves."""
    request.response.headers["X-Tm"] = "commit"

    def _drop_header(_request, response):
        response.headers.pop("X-Tm", None)

    request.add_response_callback(_drop_header)


def _expired(retention_days: int, now=None):
    return AuditEvent.created_at < (now or utcnow()) - timedelta(days=retention_days)


def count_expired(session, retention_days: int, *, now=None) -> int:
    """How many events are older than `retention_days`."""
    query = select(func.count()).select_from(AuditEvent).where(_expired(retention_days, now))
    return session.scalar(query)


def prune(session, retention_days: int, *, now=None) -> int:
    """Delete the events older than `retention_days`; return how many went."""
    result = session.execute(delete(AuditEvent).where(_expired(retention_days, now)))
    return result.rowcount or 0
