"""Actor matrices for the recording endpoints (reference §2.2 start/stop, §2.4, §5.6).

Each actor's role on the cast's room is also their access to its recording; the
operator holds none (a stranger to the API).
"""

import pytest
from livekit import api
from sqlalchemy import select

from meet_web.models import Recording
from tests.conftest import ACTORS, make_recording
from tests.permissions.matrix import by

RECORDINGS = "/api/v1.0/recordings/"

START = by(anonymous=401, stranger=403, member=403, administrator=201, owner=201, operator=403)
START_OFF = by(anonymous=401, stranger=404, member=404, administrator=404, owner=404, operator=404)
STOP = by(anonymous=401, stranger=403, member=403, administrator=200, owner=200, operator=403)
LIST = by(anonymous=401, stranger=200, member=200, administrator=200, owner=200, operator=200)
RETRIEVE = by(anonymous=401, stranger=404, member=403, administrator=200, owner=200, operator=404)
DELETE = by(anonymous=401, stranger=404, member=403, administrator=204, owner=204, operator=404)
MEDIA = by(anonymous=401, stranger=403, member=403, administrator=200, owner=200, operator=403)


def roles(cast) -> dict:
    return {cast.owner: "owner", cast.administrator: "administrator", cast.member: "member"}


@pytest.fixture
def client(recording_app, cast, livekit):
    livekit.add_room(str(cast.room.id))
    return recording_app()


def rows(dbsession, cast) -> list:
    dbsession.expire_all()
    return dbsession.scalars(select(Recording).where(Recording.room_id == cast.room.id)).all()


@pytest.mark.parametrize("actor", ACTORS)
def test_start(client, cast, dbsession, actor):
    client.login_as(cast[actor])
    url = f"/api/v1.0/rooms/{cast.room.id}/start-recording/"
    client.post_json(url, {"mode": "screen_recording"}, status=START[actor])
    made = rows(dbsession, cast)
    if START[actor] == 201:
        assert [(a.user_id, a.role) for a in made[0].accesses] == [(cast[actor].id, "owner")]
    else:
        assert made == []


@pytest.mark.parametrize("actor", ACTORS)
def test_start_while_off(testapp, cast, dbsession, actor):
    testapp.login_as(cast[actor])
    url = f"/api/v1.0/rooms/{cast.room.id}/start-recording/"
    testapp.post_json(url, {"mode": "screen_recording"}, status=START_OFF[actor])
    assert rows(dbsession, cast) == []


@pytest.mark.parametrize("actor", ACTORS)
def test_stop(client, cast, dbsession, livekit, actor):
    egress = livekit.add_egress(str(cast.room.id), status=api.EGRESS_ACTIVE)
    make_recording(dbsession, cast.room, roles(cast), status="active", worker_id=egress.egress_id)
    client.login_as(cast[actor])
    client.post_json(f"/api/v1.0/rooms/{cast.room.id}/stop-recording/", {}, status=STOP[actor])
    [recording] = rows(dbsession, cast)
    assert recording.status == ("stopped" if STOP[actor] == 200 else "active")


@pytest.mark.parametrize("actor", ACTORS)
def test_list(client, cast, dbsession, actor):
    recording = make_recording(dbsession, cast.room, roles(cast))
    client.login_as(cast[actor])
    res = client.get(RECORDINGS, status=LIST[actor])
    if LIST[actor] == 200:
        has_access = actor in ("member", "administrator", "owner")
        ids = [item["id"] for item in res.json["results"]]
        assert ids == ([str(recording.id)] if has_access else [])


@pytest.mark.parametrize("actor", ACTORS)
def test_retrieve(client, cast, dbsession, actor):
    recording = make_recording(dbsession, cast.room, roles(cast))
    client.login_as(cast[actor])
    res = client.get(f"{RECORDINGS}{recording.id}/", status=RETRIEVE[actor])
    if RETRIEVE[actor] == 200:
        assert res.json["id"] == str(recording.id)


@pytest.mark.parametrize("actor", ACTORS)
def test_delete(client, cast, dbsession, actor):
    recording = make_recording(dbsession, cast.room, roles(cast), status="stopped")
    client.login_as(cast[actor])
    client.delete(f"{RECORDINGS}{recording.id}/", status=DELETE[actor])
    assert len(rows(dbsession, cast)) == (0 if DELETE[actor] == 204 else 1)


@pytest.mark.parametrize("actor", ACTORS)
def test_media_auth(client, cast, dbsession, actor):
    recording = make_recording(dbsession, cast.room, roles(cast))
    client.login_as(cast[actor])
    url = f"http://localhost/media/recordings/{recording.id}.mp4"
    res = client.get(
        f"{RECORDINGS}media-auth/", headers={"X-Original-URL": url}, status=MEDIA[actor]
    )
    assert ("Authorization" in res.headers) == (MEDIA[actor] == 200)
