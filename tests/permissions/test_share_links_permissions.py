"""Actor matrices for recording share links: the API, the recording page's section, the
holder's page and media, and media-auth with a link's token.

Each actor's role on the cast's room is also their access to its recording; the operator
holds none. A seventh actor, the holder, is a browser signed in as nobody that has only
the link: it reaches the holder's page and media, and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from meet_web.models import RecordingShareLink
from meet_web.recording.config import RecordingConfig
from meet_web.recording.share_links import create_link
from tests.conftest import ACTORS, RECORDINGS_BUCKET, app_service, make_recording
from tests.permissions.matrix import by

HOLDER = "holder"
EVERY_ACTOR = (*ACTORS, HOLDER)
HX = {"HX-Request": "true", "HX-Current-URL": "http://localhost/"}
LOGIN = "http://localhost/api/v1.0/authenticate/"


def with_holder(statuses: dict, holder: int) -> dict:
    return {**statuses, HOLDER: holder}


def managers(ok: int, *, anonymous: int, holder: int | None = None) -> dict:
    """Owners and administrators only; strangers and operators are told nothing exists
    (404) and members are refused (403), as for the recording itself."""
    return with_holder(
        by(
            anonymous=anonymous,
            stranger=404,
            member=403,
            administrator=ok,
            owner=ok,
            operator=404,
        ),
        anonymous if holder is None else holder,
    )


EVERYONE = {actor: 200 for actor in EVERY_ACTOR}


@dataclass
class Shared:
    """The cast's recording, saved with its object, and one live link to it."""

    recording: object
    link: RecordingShareLink
    token: str


@pytest.fixture
def shared(recording_app, cast, dbsession, s3, app) -> Shared:
    recording_app()  # an empty bucket
    recording = make_recording(
        dbsession,
        cast.room,
        {cast.owner: "owner", cast.administrator: "administrator", cast.member: "member"},
    )
    client = s3.client()
    try:
        client.put_object(
            Bucket=RECORDINGS_BUCKET, Key=f"recordings/{recording.id}.mp4", Body=b"\0" * 4096
        )
    finally:
        client.close()
    config = app_service(app, RecordingConfig)
    made = create_link(dbsession, recording, cast.owner.id, 7, config)
    return Shared(recording, made.link, made.token)


@pytest.fixture
def client_for(recording_app, cast, shared):
    def make(actor: str, **settings):
        client = recording_app(**settings)
        if actor == HOLDER:
            client.get(f"/recordings/shared/{shared.token}", status=200)  # it has the link
        else:
            client.login_as(cast[actor])
        return client

    return make


def live_links(dbsession) -> int:
    dbsession.expire_all()
    links = dbsession.scalars(select(RecordingShareLink)).all()
    return sum(1 for link in links if link.revoked_at is None)


# -- the API -------------------------------------------------------------------------------------


API_CREATE = managers(201, anonymous=401)
API_LIST = managers(200, anonymous=401)
API_REVOKE = managers(204, anonymous=401)


@pytest.mark.parametrize("actor", EVERY_ACTOR)
def test_api_create(client_for, shared, dbsession, actor):
    client = client_for(actor)
    url = f"/api/v1.0/recordings/{shared.recording.id}/share-links/"
    res = client.post_json(url, {"expires_in_days": 2}, status=API_CREATE[actor])
    others = select(RecordingShareLink).where(RecordingShareLink.id != shared.link.id)
    made = dbsession.scalar(others)
    if API_CREATE[actor] == 201:
        assert res.json["url"].startswith("http://localhost/recordings/shared/")
        assert made is not None
    else:
        assert made is None and "url" not in res.json


@pytest.mark.parametrize("actor", EVERY_ACTOR)
def test_api_list(client_for, shared, actor):
    client = client_for(actor)
    url = f"/api/v1.0/recordings/{shared.recording.id}/share-links/"
    res = client.get(url, status=API_LIST[actor])
    if API_LIST[actor] == 200:
        assert [item["id"] for item in res.json["results"]] == [str(shared.link.id)]
        assert shared.token not in res.text


@pytest.mark.parametrize("actor", EVERY_ACTOR)
def test_api_revoke(client_for, shared, dbsession, actor):
    client = client_for(actor)
    url = f"/api/v1.0/recordings/{shared.recording.id}/share-links/{shared.link.id}/"
    client.delete(url, status=API_REVOKE[actor])
    assert live_links(dbsession) == (0 if API_REVOKE[actor] == 204 else 1)


MEDIA_AUTH_WITH_TOKEN = EVERYONE
MEDIA_AUTH_WITHOUT_TOKEN = with_holder(
    by(anonymous=401, stranger=403, member=403, administrator=200, owner=200, operator=403), 401
)


@pytest.mark.parametrize("with_token", [True, False], ids=["token", "no-token"])
@pytest.mark.parametrize("actor", EVERY_ACTOR)
def test_media_auth(client_for, shared, actor, with_token):
    client = client_for(actor, **{"recording.media_front": "true"})
    url = f"http://localhost/media/recordings/{shared.recording.id}.mp4"
    expected = (MEDIA_AUTH_WITH_TOKEN if with_token else MEDIA_AUTH_WITHOUT_TOKEN)[actor]
    if with_token:
        url += f"?share={shared.token}"
    res = client.get(
        "/api/v1.0/recordings/media-auth/", headers={"X-Original-URL": url}, status=expected
    )
    assert ("Authorization" in res.headers) == (expected == 200)


# -- the pages -----------------------------------------------------------------------------------


@dataclass
class Endpoint:
    method: str
    path: str  # {recording}, {link}, {token}
    expected: dict
    params: dict = field(default_factory=dict)
    headers: dict = field(default_factory=dict)

    def url(self, shared: Shared) -> str:
        return self.path.format(
            recording=shared.recording.id, link=shared.link.id, token=shared.token
        )


SECTION = "/recordings/{recording}/share-links"
PAGES = {
    "section fragment": Endpoint("GET", SECTION, managers(200, anonymous=401), headers=HX),
    "section without htmx": Endpoint("GET", SECTION, managers(303, anonymous=303)),
    "create": Endpoint("POST", SECTION, managers(303, anonymous=403), {"expires_in_days": "3"}),
    "create, htmx": Endpoint(
        "POST", SECTION, managers(200, anonymous=401), {"expires_in_days": "3"}, HX
    ),
    "revoke": Endpoint("POST", SECTION + "/{link}/revoke", managers(303, anonymous=403)),
    "revoke, htmx": Endpoint(
        "POST", SECTION + "/{link}/revoke", managers(200, anonymous=401), headers=HX
    ),
    "holder's page": Endpoint("GET", "/recordings/shared/{token}", EVERYONE),
    "holder's media": Endpoint("GET", "/recordings/shared/{token}/media", EVERYONE),
    "holder's media, a range": Endpoint(
        "GET",
        "/recordings/shared/{token}/media",
        {actor: 206 for actor in EVERY_ACTOR},
        headers={"Range": "bytes=0-99"},
    ),
    "holder's media, HEAD": Endpoint("HEAD", "/recordings/shared/{token}/media", EVERYONE),
}


@pytest.mark.parametrize("actor", EVERY_ACTOR)
@pytest.mark.parametrize("endpoint", list(PAGES))
def test_page_permissions(client_for, shared, actor, endpoint):
    spec = PAGES[endpoint]
    client = client_for(actor)
    expected = spec.expected[actor]
    if spec.method == "GET":
        res = client.get(spec.url(shared), headers=spec.headers, status=expected)
    elif spec.method == "HEAD":
        res = client.head(spec.url(shared), headers=spec.headers, status=expected)
    else:
        res = client.post(spec.url(shared), spec.params, headers=spec.headers, status=expected)
    if expected == 303 and actor in ("anonymous", HOLDER) and spec.method == "GET":
        assert res.location.startswith(LOGIN), res.location
    if expected == 401:
        assert res.headers["HX-Redirect"].startswith("/api/v1.0/authenticate/")
    if expected == 403:
        assert "Not allowed" in res.text
    if "{token}" in spec.path:
        assert res.headers["Referrer-Policy"] == "no-referrer"


SECTION_SHOWN = with_holder(
    by(anonymous=303, stranger=404, member=403, administrator=200, owner=200, operator=404),
    303,
)


@pytest.mark.parametrize("actor", EVERY_ACTOR)
def test_section_on_the_recording_page(client_for, shared, actor):
    client = client_for(actor)
    res = client.get(f"/recordings/{shared.recording.id}", status=SECTION_SHOWN[actor])
    if SECTION_SHOWN[actor] == 200:
        assert res.html.select_one("section#share-links") is not None


@pytest.mark.parametrize("actor", EVERY_ACTOR)
def test_holder_reaches_nothing_else(client_for, shared, actor):
    """Whatever the actor, a link's address leads to its page and media only."""
    client = client_for(actor)
    base = f"/recordings/shared/{shared.token}"
    for path in (f"{base}/share-links", f"{base}/delete", f"{base}/{shared.recording.id}"):
        client.get(path, status=404)
    client.post(f"{base}/media", {}, status=404)


def test_expired_link_for_every_actor(client_for, shared, dbsession):
    shared.link.expires_at = datetime(2020, 1, 1, tzinfo=UTC)
    dbsession.flush()
    for actor in EVERY_ACTOR:
        client = client_for(actor) if actor != HOLDER else client_for("anonymous")
        client.get(f"/recordings/shared/{shared.token}", status=410)
        client.get(f"/recordings/shared/{shared.token}/media", status=410)
