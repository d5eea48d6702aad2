"""Who gets what from the recording pages (`/recordings/`, `/recordings/<id>`, its media
and its deletion): one exact status per actor.

Each actor's role on the cast's room is also their access to its recording; the
operator holds none. Anonymous people are sent to sign in on GET and HEAD and refused
on POST (htmx: the whole page goes to the login); strangers are told the recording
does not exist, members that they may not open it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pytest
from sqlalchemy import select

from meet_web.models import Recording
from tests.conftest import ACTORS, make_recording, put_object
from tests.permissions.matrix import by

HX = {"HX-Request": "true"}
LOGIN = "http://localhost/api/v1.0/authenticate/"
BYTES = b"\x00\x00\x00\x18ftypmp42" + bytes(1000)

SIGNED_IN = by(anonymous=303, stranger=200, member=200, administrator=200, owner=200, operator=200)
MANAGERS = by(anonymous=303, stranger=404, member=403, administrator=200, owner=200, operator=404)
RANGED = by(anonymous=303, stranger=404, member=403, administrator=206, owner=206, operator=404)
DELETE = by(anonymous=403, stranger=404, member=403, administrator=303, owner=303, operator=404)
DELETE_HX = by(anonymous=401, stranger=404, member=403, administrator=200, owner=200, operator=404)
# With `recording.enabled` off: the list says so; a recording's addresses are gone.
OFF = by(anonymous=303, stranger=404, member=403, administrator=404, owner=404, operator=404)
OFF_POST = by(anonymous=403, stranger=404, member=403, administrator=404, owner=404, operator=404)


@dataclass
class Endpoint:
    method: str
    path: str  # `{id}`: the recording's
    expected: dict
    params: dict | None = None
    headers: dict = field(default_factory=dict)
    enabled: bool = True


ENDPOINTS = {
    "list": Endpoint("GET", "/recordings/", SIGNED_IN),
    "recording page": Endpoint("GET", "/recordings/{id}", MANAGERS),
    "media": Endpoint("GET", "/recordings/{id}/media", MANAGERS),
    "media, ranged": Endpoint(
        "GET", "/recordings/{id}/media", RANGED, headers={"Range": "bytes=0-99"}
    ),
    "media, download": Endpoint("GET", "/recordings/{id}/media", MANAGERS, {"download": "1"}),
    "media, HEAD": Endpoint("HEAD", "/recordings/{id}/media", MANAGERS),
    "delete": Endpoint("POST", "/recordings/{id}/delete", DELETE, {"page": "1"}),
    "delete, htmx": Endpoint("POST", "/recordings/{id}/delete", DELETE_HX, {"page": "1"}, HX),
    "list, recording off": Endpoint("GET", "/recordings/", SIGNED_IN, enabled=False),
    "recording page, recording off": Endpoint("GET", "/recordings/{id}", OFF, enabled=False),
    "media, recording off": Endpoint("GET", "/recordings/{id}/media", OFF, enabled=False),
    "delete, recording off": Endpoint(
        "POST", "/recordings/{id}/delete", OFF_POST, {"page": "1"}, enabled=False
    ),
}


def roles(cast) -> dict:
    return {cast.owner: "owner", cast.administrator: "administrator", cast.member: "member"}


@pytest.fixture
def recording(dbsession, cast, s3):
    made = make_recording(dbsession, cast.room, roles(cast), status="saved")
    put_object(s3, f"recordings/{made.id}.mp4", BYTES)
    return made


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
def test_recording_page_permissions(
    recording_app, testapp, cast, dbsession, recording, actor, endpoint
):
    spec = ENDPOINTS[endpoint]
    client = recording_app() if spec.enabled else testapp
    client.login_as(cast[actor])
    expected = spec.expected[actor]
    recording_id = recording.id
    path = spec.path.format(id=recording_id)
    send = {"GET": client.get, "HEAD": client.head, "POST": client.post}[spec.method]
    kwargs = {"headers": spec.headers, "status": expected}
    if spec.method != "HEAD":
        kwargs["params"] = spec.params
    res = send(path, **kwargs)
    if expected == 303 and actor == "anonymous":
        assert res.location.startswith(LOGIN), res.location
    if expected == 403 and spec.method != "HEAD":
        assert "Not allowed" in res.text
    if expected == 404 and spec.method != "HEAD":
        assert res.content_type == "text/html"
    if expected == 401:  # htmx: the whole page goes to the login
        assert res.headers["HX-Redirect"].startswith("/api/v1.0/authenticate/")
    if expected in (200, 206) and "/media" in path:
        assert res.headers["Accept-Ranges"] == "bytes"
        body = BYTES[:100] if expected == 206 else BYTES
        assert res.body == (b"" if spec.method == "HEAD" else body)
    dbsession.expire_all()
    left = dbsession.scalars(select(Recording).where(Recording.id == recording_id)).all()
    deleted = spec.method == "POST" and expected in (200, 303)
    assert len(left) == (0 if deleted else 1)


def test_every_recording_page_view_is_in_the_matrix(app):
    """A new view of the recording pages must get its row in ENDPOINTS."""
    module = "meet_web.views.pages.recordings"
    registered = set()
    for view in app.registry.introspector.get_category("views"):
        intr = view["introspectable"]
        if getattr(intr["callable"], "__module__", "") != module or intr["context"] is None:
            continue
        if intr.get("exception_only"):
            continue
        methods = intr["request_methods"]
        for method in (methods,) if isinstance(methods, str) else methods:
            registered.add((intr["context"].__name__, intr["name"], method, bool(intr["header"])))
    covered = set()
    for spec in ENDPOINTS.values():
        segments = [s for s in re.sub(r"\{id\}", "ID", spec.path).split("/") if s]
        context = "RecordingContainer" if segments == ["recordings"] else "RecordingResource"
        name = segments[2] if len(segments) > 2 else ""
        method = "GET" if spec.method == "HEAD" else spec.method
        covered.add((context, name, method, "HX-Request" in spec.headers))
    assert registered - covered == set()
