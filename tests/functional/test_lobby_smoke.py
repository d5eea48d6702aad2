from livekit import api

from meet_web.models import AccessLevel


def test_guest_knocks_owner_admits(testapp, new_testapp, cast, dbsession, livekit):
    cast.room.access_level = AccessLevel.RESTRICTED
    dbsession.flush()
    url = f"/api/v1.0/rooms/{cast.room.id}/"
    guest = new_testapp()
    res = guest.post_json(url + "request-entry/", {"username": "Guest"})
    assert res.json["status"] == "waiting"
    assert res.json["livekit"] is None
    pid = guest.cookies["lobbyParticipantId"]
    testapp.login_as(cast.owner)
    waiting = testapp.get(url + "waiting-participants/").json["participants"]
    assert [w["id"] for w in waiting] == [pid]
    testapp.post_json(url + "enter/", {"participant_id": pid, "allow_entry": True})
    res = guest.post_json(url + "request-entry/", {"username": "Guest"})
    assert res.json["status"] == "accepted"
    claims = api.TokenVerifier(livekit.api_key, livekit.api_secret).verify(
        res.json["livekit"]["token"]
    )
    assert claims.identity == pid
    assert claims.video.room == str(cast.room.id)
    assert not claims.video.room_admin
