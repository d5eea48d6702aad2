"""Who gets what from every page endpoint: one row per endpoint and method, one exact
status per actor. Anonymous people are sent to sign in on GET and refused on POST."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pytest

from tests.conftest import ACTORS

HX = {"HX-Request": "true"}
PAGE_MODULES = {f"meet_web.views.pages.{name}" for name in ("home", "rooms", "account")}
LOGIN = "http://localhost/api/v1.0/authenticate/"

EVERYONE_200 = dict.fromkeys(ACTORS, 200)
EVERYONE_303 = dict.fromkeys(ACTORS, 303)
SIGNED_IN_GET = {**dict.fromkeys(ACTORS, 200), "anonymous": 303}
SIGNED_IN_POST = {**dict.fromkeys(ACTORS, 303), "anonymous": 403}


def managers(ok: int, anonymous: int) -> dict:
    return {
        "anonymous": anonymous,
        "stranger": 403,
        "member": 403,
        "administrator": ok,
        "owner": ok,
        "operator": 403,
    }


def member_access_id(cast) -> str:
    return str(next(a.id for a in cast.room.accesses if a.user_id == cast.member.id))


@dataclass
class Endpoint:
    method: str
    path: str
    expected: dict
    params: object = None  # dict, or a function of the cast
    headers: dict = field(default_factory=dict)

    def form(self, cast):
        return self.params(cast) if callable(self.params) else self.params


ENDPOINTS = {
    "home": Endpoint("GET", "/", EVERYONE_200),
    "favicon": Endpoint("GET", "/favicon.ico", dict.fromkeys(ACTORS, 301)),
    "join": Endpoint("GET", "/join", EVERYONE_303, {"code": "team-room"}),
    "create room": Endpoint("POST", "/rooms/", SIGNED_IN_POST, {"name": "Fresh Room"}),
    "room page": Endpoint("GET", "/team-room", EVERYONE_200),
    "room page, old path": Endpoint("GET", "/rooms/team-room", EVERYONE_200),
    "settings": Endpoint("GET", "/team-room/settings", managers(200, 303)),
    "settings, old path": Endpoint("GET", "/rooms/team-room/settings", managers(200, 303)),
    "save settings": Endpoint(
        "POST",
        "/team-room/settings",
        managers(303, 403),
        {"name": "Team Room", "access_level": "restricted"},
    ),
    "save settings, htmx": Endpoint(
        "POST",
        "/team-room/settings",
        managers(200, 401),
        {"name": "Team Room", "access_level": "restricted"},
        HX,
    ),
    "members": Endpoint("GET", "/team-room/members", managers(303, 303)),
    "members, htmx": Endpoint("GET", "/team-room/members", managers(200, 401), headers=HX),
    "add member": Endpoint(
        "POST",
        "/team-room/members",
        managers(303, 403),
        {"email": "stranger@example.org", "role": "member"},
    ),
    "add member, htmx": Endpoint(
        "POST",
        "/team-room/members",
        managers(200, 401),
        {"email": "stranger@example.org", "role": "member"},
        HX,
    ),
    "change role": Endpoint(
        "POST",
        "/team-room/members-role",
        managers(303, 403),
        lambda cast: {"access_id": member_access_id(cast), "role": "administrator"},
    ),
    "change role, htmx": Endpoint(
        "POST",
        "/team-room/members-role",
        managers(200, 401),
        lambda cast: {"access_id": member_access_id(cast), "role": "administrator"},
        HX,
    ),
    "remove member": Endpoint(
        "POST",
        "/team-room/members-remove",
        managers(303, 403),
        lambda cast: {"access_id": member_access_id(cast)},
    ),
    "remove member, htmx": Endpoint(
        "POST",
        "/team-room/members-remove",
        managers(200, 401),
        lambda cast: {"access_id": member_access_id(cast)},
        HX,
    ),
    "invite": Endpoint(
        "POST", "/team-room/invite", managers(303, 403), {"emails": "ann@example.net"}
    ),
    "invite, htmx": Endpoint(
        "POST", "/team-room/invite", managers(200, 401), {"emails": "ann@example.net"}, HX
    ),
    "account": Endpoint("GET", "/account", SIGNED_IN_GET),
    "save account": Endpoint(
        "POST",
        "/account",
        SIGNED_IN_POST,
        {"language": "fr-fr", "timezone": "Europe/Paris", "default_room_access_level": ""},
    ),
    "language": Endpoint("POST", "/account/language", EVERYONE_303, {"language": "fr-fr"}),
}


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
def test_page_permissions(testapp, cast, actor, endpoint):
    spec = ENDPOINTS[endpoint]
    testapp.login_as(cast[actor])
    expected = spec.expected[actor]
    send = testapp.get if spec.method == "GET" else testapp.post
    res = send(spec.path, spec.form(cast), headers=spec.headers, status=expected)
    if expected == 303 and actor == "anonymous" and spec.expected["stranger"] != 303:
        assert res.location.startswith(LOGIN), res.location
    if expected == 403:
        assert "Not allowed" in res.text
    if expected == 401:  # htmx: the whole page goes to the login
        assert res.headers["HX-Redirect"].startswith("/api/v1.0/authenticate/")


def test_every_page_view_is_in_the_matrix(app):
    """A new page view must get its row in ENDPOINTS."""
    registered = set()
    for view in app.registry.introspector.get_category("views"):
        intr = view["introspectable"]
        if getattr(intr["callable"], "__module__", "") not in PAGE_MODULES:
            continue
        methods = intr["request_methods"]
        for method in (methods,) if isinstance(methods, str) else methods:
            registered.add(
                (
                    intr["context"].__name__,
                    intr["name"],
                    method,
                    bool(intr["header"]),
                    intr.get("path_info"),
                )
            )
    uncovered = set(registered)
    for spec in ENDPOINTS.values():
        context, name = _view_of(spec.path)
        for key in registered:
            pattern = key[4]
            if key[:4] == (context, name, spec.method, "HX-Request" in spec.headers) and (
                pattern is None or re.match(pattern, spec.path)
            ):
                uncovered.discard(key)
    assert uncovered == set()


def _view_of(path: str) -> tuple[str, str]:
    segments = [s for s in path.split("/") if s]
    if segments[:1] == ["rooms"]:
        segments = segments[1:] if len(segments) > 1 else segments
        if segments == ["rooms"]:
            return "RoomContainer", ""
    if not segments or segments[0] in ("join", "account", "favicon.ico"):
        return "SiteRoot", segments[0] if segments else ""
    return "RoomResource", segments[1] if len(segments) > 1 else ""
