"""Actor matrices for joining a meeting (reference §2.2, §3, §4, §7.2): who skips the
lobby, who decides, and who may act on participants.

Besides the six session actors, "livekit" is a guest without a session holding a LiveKit
token for the room (present in the LiveKit room), on the endpoints that accept one:
mute-participant, toggle-hand, rename and start-subtitle. Elsewhere the token is ignored.

The operator holds no role on the cast's room: in a meeting it is a stranger.

A caller with no credentials on the LiveKit-token endpoints gets 403, as the reference
answers there (those endpoints advertise no login).
"""

from datetime import timedelta

import jwt
import pytest
from livekit import api

from meet_web.models import AccessLevel, ResourceAccess, Role
from meet_web.services.livekit import LiveKitGateway
from tests.conftest import ACTORS, app_service, make_room
from tests.permissions.matrix import JOINS_DIRECTLY, by

ROLES = ("member", "administrator", "owner")
# What an anonymous caller gets on mute-participant, toggle-hand and rename.
ANONYMOUS_ON_TOKEN_VIEWS = 403


def url(room, action: str) -> str:
    return f"/api/v1.0/rooms/{room.id}/{action}/"


def mint(app, room, identity: str, *, role=None, is_authenticated=False) -> str:
    gateway = app_service(app, LiveKitGateway)
    return gateway.token(
        room=str(room.id),
        identity=identity,
        name="Token Holder",
        role=role,
        sources=gateway.publish_sources(role, room.configuration),
        is_authenticated=is_authenticated,
    )


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def meeting(cast, livekit):
    """The cast's room live in LiveKit: every actor, a guest and a target are present."""
    room = str(cast.room.id)
    for actor in ACTORS[1:]:
        livekit.add_participant(room, str(cast[actor].id), actor)
    livekit.add_participant(room, "guest-with-token", "Guest")
    target = livekit.add_participant(room, "target-guest", "Target", tracks=["microphone"])
    return target


# -- request-entry: who skips the lobby ------------------------------------------------

SKIPS = JOINS_DIRECTLY


@pytest.mark.parametrize("level", list(AccessLevel))
@pytest.mark.parametrize("actor", ACTORS)
def test_request_entry(testapp, cast, dbsession, livekit, actor, level):
    cast.room.access_level = level
    dbsession.flush()
    testapp.login_as(cast[actor])
    res = testapp.post_json(url(cast.room, "request-entry"), {"username": "Someone"}, status=200)
    user = cast[actor]
    identity = str(user.id) if user else testapp.cookies["lobbyParticipantId"]
    assert res.json["id"] == identity
    if not SKIPS[level][actor]:
        assert res.json["status"] == "waiting"
        assert res.json["livekit"] is None
        return
    assert res.json["status"] == "accepted"
    block = res.json["livekit"]
    assert block["room"] == str(cast.room.id)
    claims = api.TokenVerifier(livekit.api_key, livekit.api_secret).verify(block["token"])
    assert claims.identity == identity
    assert claims.video.room == str(cast.room.id)
    role = actor if actor in ROLES else ""
    assert claims.video.room_admin == (role in ("administrator", "owner"))
    assert claims.attributes["room_role"] == role
    assert claims.attributes["is_authenticated"] == ("true" if user else "false")


@pytest.mark.parametrize("actor", ["anonymous", "stranger", "member"])
def test_publish_sources_follow_the_room(testapp, cast, dbsession, actor):
    cast.room.configuration = {"can_publish_sources": ["microphone"]}
    dbsession.flush()
    testapp.login_as(cast[actor])
    res = testapp.post_json(url(cast.room, "request-entry"), {"username": "Someone"})
    video = jwt.decode(res.json["livekit"]["token"], options={"verify_signature": False})["video"]
    assert video["canPublishSources"] == ["microphone"]
    assert video["canPublish"] is True


@pytest.mark.parametrize("actor", ["administrator", "owner"])
def test_admins_publish_the_defaults(testapp, cast, dbsession, actor):
    cast.room.configuration = {"can_publish_sources": []}
    dbsession.flush()
    testapp.login_as(cast[actor])
    res = testapp.post_json(url(cast.room, "request-entry"), {"username": "Someone"})
    video = jwt.decode(res.json["livekit"]["token"], options={"verify_signature": False})["video"]
    assert video["canPublishSources"] == [
        "camera",
        "microphone",
        "screen_share",
        "screen_share_audio",
    ]


def test_no_publishing_when_the_room_allows_none(testapp, cast, dbsession):
    cast.room.configuration = {"can_publish_sources": []}
    dbsession.flush()
    testapp.login_as(cast.member)
    res = testapp.post_json(url(cast.room, "request-entry"), {"username": "Someone"})
    video = jwt.decode(res.json["livekit"]["token"], options={"verify_signature": False})["video"]
    assert video["canPublish"] is False
    assert video["canPublishSources"] == []


# -- lobby decisions ------------------------------------------------------------------

DECIDE = by(anonymous=401, stranger=403, member=403, administrator=200, owner=200, operator=403)


@pytest.fixture
def waiting_guest(cast, dbsession, new_testapp) -> str:
    cast.room.access_level = AccessLevel.RESTRICTED
    dbsession.flush()
    guest = new_testapp()
    res = guest.post_json(url(cast.room, "request-entry"), {"username": "Guest"})
    return res.json["id"]


@pytest.mark.parametrize("actor", ACTORS)
def test_enter(testapp, cast, waiting_guest, actor):
    testapp.login_as(cast[actor])
    body = {"participant_id": waiting_guest, "allow_entry": True}
    testapp.post_json(url(cast.room, "enter"), body, status=DECIDE[actor])
    testapp.login_as(cast.owner)
    listed = testapp.get(url(cast.room, "waiting-participants")).json["participants"]
    assert [p["id"] for p in listed] == ([] if DECIDE[actor] == 200 else [waiting_guest])


@pytest.mark.parametrize("actor", ACTORS)
def test_waiting_participants(testapp, cast, waiting_guest, actor):
    testapp.login_as(cast[actor])
    res = testapp.get(url(cast.room, "waiting-participants"), status=DECIDE[actor])
    if DECIDE[actor] == 200:
        assert [p["id"] for p in res.json["participants"]] == [waiting_guest]


def test_a_livekit_token_does_not_decide(testapp, cast, waiting_guest, app):
    """Not even a token minted with the owner's identity and role."""
    token = mint(app, cast.room, str(cast.owner.id), role="owner", is_authenticated=True)
    body = {"participant_id": waiting_guest, "allow_entry": True}
    testapp.post_json(url(cast.room, "enter"), body, headers=bearer(token), status=401)
    testapp.get(url(cast.room, "waiting-participants"), headers=bearer(token), status=401)


# -- participant management -----------------------------------------------------------

SESSION_ADMIN = by(
    anonymous=401, stranger=403, member=403, administrator=200, owner=200, operator=403
)
TOKEN_ONLY = by(
    anonymous=ANONYMOUS_ON_TOKEN_VIEWS,
    stranger=403,
    member=403,
    administrator=403,
    owner=403,
    operator=403,
)

# endpoint -> (body, session matrix, status for the "livekit" token holder)
ENDPOINTS = {
    "mute-participant": (
        {"participant_identity": "target-guest", "track_sid": None},
        {**SESSION_ADMIN, "anonymous": ANONYMOUS_ON_TOKEN_VIEWS},
        200,
    ),
    "update-participant": (
        {"participant_identity": "target-guest", "name": "Renamed"},
        SESSION_ADMIN,
        401,
    ),
    "remove-participant": ({"participant_identity": "target-guest"}, SESSION_ADMIN, 401),
    "end-meeting": ({}, SESSION_ADMIN, 401),
    "update-participant-role": (
        {"participant_identity": None, "role": "member"},
        SESSION_ADMIN,
        401,
    ),
    "toggle-hand": ({"raised": True}, TOKEN_ONLY, 200),
    "rename": ({"name": "New Name"}, TOKEN_ONLY, 200),
}


def body_for(endpoint: str, cast, target) -> dict:
    body = dict(ENDPOINTS[endpoint][0])
    if "track_sid" in body:
        body["track_sid"] = target.tracks[0].sid
    if endpoint == "update-participant-role":
        body["participant_identity"] = str(cast.stranger.id)
    return body


def check_effect(livekit, cast, endpoint: str, done: bool, caller: str) -> None:
    room = str(cast.room.id)
    target = livekit.participant(room, "target-guest")
    if endpoint == "mute-participant":
        assert target.tracks[0].muted is done
    elif endpoint == "update-participant":
        assert (target.name == "Renamed") is done
    elif endpoint == "remove-participant":
        assert (target is None) is done
    elif endpoint == "end-meeting":
        assert (livekit.room(room) is None) is done
    elif endpoint == "update-participant-role":
        assert (cast.room.role_of(cast.stranger.id) == Role.MEMBER) is done
    elif endpoint in ("toggle-hand", "rename"):
        changed = [
            p.identity
            for p in livekit.participants(room)
            if "handRaisedAt" in p.attributes or p.name == "New Name"
        ]
        assert changed == ([caller] if done else [])


@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
@pytest.mark.parametrize("actor", ACTORS)
def test_participant_endpoints(testapp, cast, meeting, livekit, dbsession, endpoint, actor):
    testapp.login_as(cast[actor])
    status = ENDPOINTS[endpoint][1][actor]
    testapp.post_json(url(cast.room, endpoint), body_for(endpoint, cast, meeting), status=status)
    dbsession.expire_all()
    caller = str(cast[actor].id) if cast[actor] else ""
    check_effect(livekit, cast, endpoint, status == 200, caller)


@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
def test_participant_endpoints_with_a_livekit_token(
    testapp, app, cast, meeting, livekit, dbsession, endpoint
):
    token = mint(app, cast.room, "guest-with-token")
    status = ENDPOINTS[endpoint][2]
    testapp.post_json(
        url(cast.room, endpoint),
        body_for(endpoint, cast, meeting),
        headers=bearer(token),
        status=status,
    )
    dbsession.expire_all()
    check_effect(livekit, cast, endpoint, status == 200, "guest-with-token")


TOKEN_VIEWS = ["mute-participant", "toggle-hand", "rename"]


@pytest.mark.parametrize("endpoint", TOKEN_VIEWS)
def test_a_token_for_another_room_is_refused(
    testapp, app, cast, meeting, livekit, dbsession, endpoint
):
    other = make_room(dbsession, "Other Room")
    livekit.add_participant(str(other.id), "guest-with-token")
    token = mint(app, other, "guest-with-token")
    testapp.post_json(
        url(cast.room, endpoint),
        body_for(endpoint, cast, meeting),
        headers=bearer(token),
        status=403,
    )
    check_effect(livekit, cast, endpoint, False, "guest-with-token")


@pytest.mark.parametrize("token", ["garbage", "a.b.c", ""])
@pytest.mark.parametrize("endpoint", TOKEN_VIEWS)
def test_a_bad_token_is_no_credential(testapp, cast, meeting, livekit, endpoint, token):
    testapp.post_json(
        url(cast.room, endpoint),
        body_for(endpoint, cast, meeting),
        headers=bearer(token),
        status=ANONYMOUS_ON_TOKEN_VIEWS,
    )


@pytest.mark.parametrize("endpoint", TOKEN_VIEWS)
def test_a_token_signed_with_another_secret(testapp, cast, meeting, livekit, endpoint):
    token = (
        api.AccessToken(livekit.api_key, "another-secret-that-is-long-enough-0123456789")
        .with_identity("guest-with-token")
        .with_grants(api.VideoGrants(room_join=True, room=str(cast.room.id)))
        .to_jwt()
    )
    testapp.post_json(
        url(cast.room, endpoint),
        body_for(endpoint, cast, meeting),
        headers=bearer(token),
        status=ANONYMOUS_ON_TOKEN_VIEWS,
    )


@pytest.mark.parametrize("endpoint", TOKEN_VIEWS)
def test_an_expired_token(testapp, app, cast, meeting, livekit, endpoint):
    token = app_service(app, LiveKitGateway).token(
        room=str(cast.room.id),
        identity="guest-with-token",
        name="G",
        role=None,
        sources=[],
        is_authenticated=False,
        ttl=timedelta(seconds=-120),  # beyond the 60 s leeway
    )
    testapp.post_json(
        url(cast.room, endpoint),
        body_for(endpoint, cast, meeting),
        headers=bearer(token),
        status=ANONYMOUS_ON_TOKEN_VIEWS,
    )


# -- a LiveKit token never carries admin rights ----------------------------------------


@pytest.mark.parametrize("role", ["administrator", "owner"])
def test_an_admin_token_without_a_session_is_a_participant(
    testapp, app, cast, meeting, livekit, dbsession, role
):
    """The token of a room admin, replayed without their session: only what any
    participant may do."""
    admin = cast[role]
    token = mint(app, cast.room, str(admin.id), role=role, is_authenticated=True)
    cast.room.configuration = {"everyone_can_mute": False}
    dbsession.flush()
    mute = body_for("mute-participant", cast, meeting)
    testapp.post_json(url(cast.room, "mute-participant"), mute, headers=bearer(token), status=403)
    for endpoint in (
        "update-participant",
        "remove-participant",
        "update-participant-role",
        "end-meeting",
    ):
        body = body_for(endpoint, cast, meeting)
        testapp.post_json(url(cast.room, endpoint), body, headers=bearer(token), status=401)
    assert livekit.room(str(cast.room.id)) is not None
    assert livekit.participant(str(cast.room.id), "target-guest").tracks[0].muted is False
    assert livekit.participant(str(cast.room.id), "target-guest") is not None
    dbsession.expire_all()
    assert cast.room.role_of(cast.stranger.id) is None
    # what a participant may do still works
    testapp.post_json(url(cast.room, "toggle-hand"), {"raised": True}, headers=bearer(token))


@pytest.mark.parametrize("actor", ["stranger", "member", "operator"])
def test_a_session_and_a_token_give_no_more_than_each(
    testapp, app, cast, meeting, livekit, dbsession, actor
):
    """A signed-in participant with a token: participant rights, no admin rights."""
    testapp.login_as(cast[actor])
    token = mint(app, cast.room, str(cast[actor].id), is_authenticated=True)
    body = body_for("remove-participant", cast, meeting)
    testapp.post_json(url(cast.room, "remove-participant"), body, headers=bearer(token), status=403)
    mute = body_for("mute-participant", cast, meeting)
    testapp.post_json(url(cast.room, "mute-participant"), mute, headers=bearer(token))
    testapp.post_json(url(cast.room, "toggle-hand"), {"raised": True}, headers=bearer(token))
    attributes = livekit.participant(str(cast.room.id), str(cast[actor].id)).attributes
    assert "handRaisedAt" in attributes


# -- everyone_can_mute ----------------------------------------------------------------

MUTE_WITHOUT_EVERYONE = by(
    anonymous=ANONYMOUS_ON_TOKEN_VIEWS,
    stranger=403,
    member=403,
    administrator=200,
    owner=200,
    operator=403,
)


@pytest.mark.parametrize("actor", ACTORS)
def test_mute_when_only_admins_may(testapp, cast, meeting, livekit, dbsession, actor):
    cast.room.configuration = {"everyone_can_mute": False}
    dbsession.flush()
    testapp.login_as(cast[actor])
    body = body_for("mute-participant", cast, meeting)
    testapp.post_json(url(cast.room, "mute-participant"), body, status=MUTE_WITHOUT_EVERYONE[actor])


@pytest.mark.parametrize(("everyone_can_mute", "status"), [(False, 403), (None, 200), (True, 200)])
def test_token_holder_mute_follows_the_room(
    testapp, app, cast, meeting, livekit, dbsession, everyone_can_mute, status
):
    cast.room.configuration = {"everyone_can_mute": everyone_can_mute}
    dbsession.flush()
    token = mint(app, cast.room, "guest-with-token")
    body = body_for("mute-participant", cast, meeting)
    testapp.post_json(
        url(cast.room, "mute-participant"), body, headers=bearer(token), status=status
    )


def test_token_holder_must_be_in_the_meeting_to_mute(testapp, app, cast, meeting, livekit):
    token = mint(app, cast.room, "not-in-the-meeting")
    body = body_for("mute-participant", cast, meeting)
    res = testapp.post_json(
        url(cast.room, "mute-participant"), body, headers=bearer(token), status=403
    )
    assert res.json == {"error": "Could not verify caller presence"}
    livekit.add_participant(
        str(cast.room.id), "not-in-the-meeting", state=api.ParticipantInfo.State.DISCONNECTED
    )
    testapp.post_json(url(cast.room, "mute-participant"), body, headers=bearer(token), status=403)
    assert livekit.participant(str(cast.room.id), "target-guest").tracks[0].muted is False


@pytest.mark.parametrize("fault", ["internal", "unavailable"])
def test_presence_check_failure_refuses(testapp, app, cast, meeting, livekit, fault):
    token = mint(app, cast.room, "guest-with-token")
    livekit.fail("GetParticipant", fault)
    body = body_for("mute-participant", cast, meeting)
    res = testapp.post_json(
        url(cast.room, "mute-participant"), body, headers=bearer(token), status=403
    )
    assert res.json == {"error": "Could not verify caller presence"}


def test_session_admins_need_no_presence(testapp, cast, meeting, livekit):
    livekit.remove_participant(str(cast.room.id), str(cast.owner.id))
    testapp.login_as(cast.owner)
    testapp.post_json(
        url(cast.room, "mute-participant"), body_for("mute-participant", cast, meeting)
    )
    assert not livekit.calls_to("GetParticipant")


def test_member_roles_come_from_the_database_not_the_token(
    testapp, app, cast, meeting, livekit, dbsession
):
    """A member promoted after getting a token can act as admin through the session."""
    cast.room.accesses.append(ResourceAccess(user=cast.stranger, role=Role.ADMINISTRATOR))
    dbsession.flush()
    testapp.login_as(cast.stranger)
    testapp.post_json(
        url(cast.room, "update-participant"),
        {"participant_identity": "target-guest", "name": "By New Admin"},
    )
    assert livekit.participant(str(cast.room.id), "target-guest").name == "By New Admin"


# -- start-subtitle: any participant, by their LiveKit token only ----------------------

SUBTITLES_ON = {"subtitles.enabled": "true"}


@pytest.mark.parametrize("actor", ACTORS)
def test_start_subtitle_by_session(testapp_with, cast, meeting, livekit, actor):
    app = testapp_with(SUBTITLES_ON)
    app.login_as(cast[actor])
    app.post_json(url(cast.room, "start-subtitle"), {}, status=TOKEN_ONLY[actor])
    assert livekit.agent_dispatches(str(cast.room.id)) == []


def test_start_subtitle_with_a_livekit_token(testapp_with, app, cast, meeting, livekit):
    token = mint(app, cast.room, "guest-with-token")
    res = testapp_with(SUBTITLES_ON).post_json(
        url(cast.room, "start-subtitle"), {}, headers=bearer(token), status=200
    )
    assert res.json == {"status": "success"}
    [dispatch] = livekit.agent_dispatches(str(cast.room.id))
    assert dispatch.agent_name == "multi-user-transcriber"


def test_start_subtitle_refuses_a_token_for_another_room(
    testapp_with, app, cast, meeting, livekit, dbsession
):
    other = make_room(dbsession, "Other Room")
    token = mint(app, other, "guest-with-token")
    testapp_with(SUBTITLES_ON).post_json(
        url(cast.room, "start-subtitle"), {}, headers=bearer(token), status=403
    )
    assert livekit.agent_dispatches() == []
