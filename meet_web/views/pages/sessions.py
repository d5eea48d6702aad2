"""The account page's active sessions: each with its device (from the User-Agent), when
it signed in and was last seen, "this device" for the current one; and signing out of
another session, or of all the others.

A session signed out here is revoked (services/accounts.py): its next request, from
whatever copy of its cookie, is anonymous. The forms answer an htmx request with the
section's partial and a plain post with a 303 back to the account page and a flash.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from pyramid.httpexceptions import HTTPBadRequest, HTTPSeeOther
from pyramid.view import view_config, view_defaults

from ...resources import SiteRoot
from ...security.permissions import Permission
from ...security.policy import SESSION_ID_KEY, SESSION_SINCE_KEY
from ...services import audit
from ...services.accounts import SeenSession, active_sessions, public_session_id
from .common import is_htmx, vary_on_htmx
from .share_links import moment_view, template_global

SESSIONS_PATH = r"^/account/sessions/?$"
SIGN_OUT_PATH = r"^/account/sessions/sign-out/?$"
SIGN_OUT_OTHERS_PATH = r"^/account/sessions/sign-out-others/?$"

SIGNED_OUT_ONE = "That session was signed out."
SIGNED_OUT_OTHERS = "Your other sessions were signed out."
NO_OTHERS = "You have no other active session."
UNKNOWN_SESSION = "This session is not among your active sessions: it may have ended already."
CURRENT_SESSION = "This is the session you are using: use Sign out to end it."
PUBLIC_ID = re.compile(r"[0-9a-f]{20}")

# (pattern, name): the first match names the browser, then the system.
BROWSERS = (
    (re.compile(r"Edg(e|A|iOS)?/"), "Edge"),
    (re.compile(r"OPR/|Opera"), "Opera"),
    (re.compile(r"SamsungBrowser/"), "Samsung Internet"),
    (re.compile(r"Firefox/|FxiOS/"), "Firefox"),
    (re.compile(r"Chrome/|CriOS/|Chromium/"), "Chrome"),
    (re.compile(r"Safari/"), "Safari"),
)
SYSTEMS = (
    (re.compile(r"iPhone|iPad|iPod"), "iOS"),
    (re.compile(r"Android"), "Android"),
    (re.compile(r"CrOS"), "ChromeOS"),
    (re.compile(r"Windows"), "Windows"),
    (re.compile(r"Mac OS X|Macintosh"), "macOS"),
    (re.compile(r"Linux|X11"), "Linux"),
)


def _first(patterns, text: str) -> str | None:
    return next((name for pattern, name in patterns if pattern.search(text)), None)


def device_of(user_agent: str) -> tuple[str | None, str | None]:
    """(browser, system) named by a User-Agent, each None when not recognised."""
    return _first(BROWSERS, user_agent or ""), _first(SYSTEMS, user_agent or "")


def moment_of(request, timestamp: float | None) -> dict | None:
    if not timestamp:
        return None
    return moment_view(request, datetime.fromtimestamp(timestamp, UTC))


def session_row(request, seen: SeenSession, current_id: str) -> dict:
    browser, system = device_of(seen.user_agent)
    return {
        "id": seen.public_id,
        "browser": browser,
        "system": system,
        "user_agent": seen.user_agent,
        "signed_in": moment_of(request, seen.signed_in),
        "last_seen": moment_of(request, seen.last_seen),
        "current": seen.public_id == current_id,
    }


@template_global("sessions_section")
def sessions_section(request, **extra) -> dict:
    """What `account/_sessions.jinja2` shows: the current session first."""
    account = request.account
    session_id = request.session.get(SESSION_ID_KEY)
    sessions = active_sessions(request.registry)
    current_id = public_session_id(session_id)
    found = sessions.of_user(account.id)
    if not any(s.public_id == current_id for s in found):
        # Not written yet by this process's memo (the store was emptied meanwhile).
        sessions.write(
            account.id,
            session_id,
            request.user_agent,
            request.session.get(SESSION_SINCE_KEY),
        )
        found = sessions.of_user(account.id)
    rows = [session_row(request, s, current_id) for s in found]
    rows.sort(key=lambda row: not row["current"])  # stable: then the most recent
    section = {
        "sessions": rows,
        "has_others": any(not row["current"] for row in rows),
        "sign_out_path": request.application_url + "/account/sessions/sign-out",
        "sign_out_others_path": request.application_url + "/account/sessions/sign-out-others",
        "message": None,
        "error": None,
    }
    section.update(extra)
    return section


@view_defaults(
    context=SiteRoot,
    name="account",
    permission=Permission.AUTHENTICATED,
    renderer="account/_sessions.jinja2",
)
class SessionPages:
    def __init__(self, context, request):
        self.context, self.request = context, request
        self.user_id = request.account.id
        self.session_id = request.session.get(SESSION_ID_KEY)
        vary_on_htmx(request)

    def _answer(self, message: str):
        if is_htmx(self.request):
            return {"section": sessions_section(self.request, message=message)}
        self.request.session.flash(message)
        return self._back()

    def _back(self) -> HTTPSeeOther:
        return HTTPSeeOther(location=self.request.application_url + "/account#sessions")

    def _refuse(self, message: str):
        request = self.request
        if is_htmx(request):
            request.response.status = 400  # swapped: the layout's htmx-config
            return {"section": sessions_section(request, error=message)}
        raise HTTPBadRequest(message)

    @view_config(request_method="GET", path_info=SESSIONS_PATH, header="HX-Request")
    def section(self):
        return {"section": sessions_section(self.request)}

    @view_config(request_method="GET", path_info=SESSIONS_PATH)
    def section_page(self):
        return self._back()

    @view_config(request_method="POST", path_info=SIGN_OUT_PATH)
    def sign_out(self):
        chosen = self.request.POST.get("session", "").strip()
        if not PUBLIC_ID.fullmatch(chosen):
            return self._refuse(UNKNOWN_SESSION)
        if chosen == public_session_id(self.session_id):
            return self._refuse(CURRENT_SESSION)
        sessions = active_sessions(self.request.registry)
        if not sessions.revoke_others(self.user_id, self.session_id, only=chosen):
            return self._refuse(UNKNOWN_SESSION)
        self._audit(1)
        return self._answer(SIGNED_OUT_ONE)

    @view_config(request_method="POST", path_info=SIGN_OUT_OTHERS_PATH)
    def sign_out_others(self):
        sessions = active_sessions(self.request.registry)
        revoked = sessions.revoke_others(self.user_id, self.session_id)
        if revoked:
            self._audit(revoked)
        return self._answer(SIGNED_OUT_OTHERS if revoked else NO_OTHERS)

    def _audit(self, revoked: int) -> None:
        audit.record(
            self.request,
            audit.SIGN_OUT,
            target_type="user",
            target_id=self.user_id,
            changes={"other_sessions": revoked},
        )
