"""Tests of the LiveKit fake (tests/servers/livekit_fake.py), driven by the real
``livekit.api.LiveKitAPI`` client so that the fake stays wire-compatible."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import http.client
import os
import socket
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

import aiohttp
import pytest
import requests
from livekit import api

from tests.servers.livekit_fake import (
    DEFAULT_API_KEY,
    DEFAULT_API_SECRET,
    FakeLiveKit,
    event,
    sign_webhook,
    unused_url,
    webhook_request,
)

T = TypeVar("T")
OTHER_SECRET = "another-secret-that-is-long-enough-0123456789"


@pytest.fixture(scope="module")
def server():
    with FakeLiveKit() as fake:
        yield fake


@pytest.fixture
def fake(server):
    server.reset()
    yield server
    server.reset()


def run(
    url: str,
    action: Callable[[api.LiveKitAPI], Awaitable[T]],
    *,
    token: str | None = None,
) -> T:
    """Run ``action(lk)`` with a real LiveKitAPI client, closed afterwards."""

    async def main() -> T:
        credentials: dict[str, Any] = (
            {"token": token}
            if token
            else {"api_key": DEFAULT_API_KEY, "api_secret": DEFAULT_API_SECRET}
        )
        async with api.LiveKitAPI(url, **credentials) as lk:
            return await action(lk)

    return asyncio.run(main())


def twirp_json(fake: FakeLiveKit, method: str, body: dict, **grants: Any) -> requests.Response:
    token = api.AccessToken(fake.api_key, fake.api_secret).with_grants(api.VideoGrants(**grants))
    return requests.post(
        f"{fake.url}/twirp/livekit.RoomService/{method}",
        json=body,
        headers={"Authorization": f"Bearer {token.to_jwt()}"},
        timeout=5,
    )


# -- RoomService -----------------------------------------------------------


def test_create_list_delete_rooms(fake):
    async def scenario(lk: api.LiveKitAPI):
        created = await lk.room.create_room(api.CreateRoomRequest(name="standup", metadata="m"))
        await lk.room.create_room(api.CreateRoomRequest(name="retro"))
        some = await lk.room.list_rooms(api.ListRoomsRequest(names=["standup"]))
        await lk.room.delete_room(api.DeleteRoomRequest(room="retro"))
        remaining = await lk.room.list_rooms(api.ListRoomsRequest())
        return created, some, remaining

    created, some, remaining = run(fake.url, scenario)
    assert created.name == "standup" and created.metadata == "m"
    assert created.sid.startswith("RM_") and created.creation_time > 0
    assert [r.name for r in some.rooms] == ["standup"]
    assert [r.name for r in remaining.rooms] == ["standup"]
    assert [c.method for c in fake.calls] == [
        "CreateRoom",
        "CreateRoom",
        "ListRooms",
        "DeleteRoom",
        "ListRooms",
    ]
    assert fake.calls[0].claims.video.room_create


def test_participants_are_listed_updated_muted_and_removed(fake):
    alice = fake.add_participant(
        "standup",
        "alice",
        "Alice",
        attributes={"role": "host", "hand": "up"},
        tracks=["microphone"],
    )
    fake.add_participant("standup", "bob")
    track_sid = alice.tracks[0].sid

    async def scenario(lk: api.LiveKitAPI):
        listed = await lk.room.list_participants(api.ListParticipantsRequest(room="standup"))
        updated = await lk.room.update_participant(
            api.UpdateParticipantRequest(
                room="standup",
                identity="alice",
                name="Alice B",
                attributes={"hand": "", "mood": "ok"},
            )
        )
        muted = await lk.room.mute_published_track(
            api.MuteRoomTrackRequest(
                room="standup", identity="alice", track_sid=track_sid, muted=True
            )
        )
        await lk.room.remove_participant(
            api.RoomParticipantIdentity(room="standup", identity="bob")
        )
        got = await lk.room.get_participant(
            api.RoomParticipantIdentity(room="standup", identity="alice")
        )
        return listed, updated, muted, got

    listed, updated, muted, got = run(fake.url, scenario)
    assert [p.identity for p in listed.participants] == ["alice", "bob"]
    assert updated.name == "Alice B"
    assert dict(updated.attributes) == {"role": "host", "mood": "ok"}  # "" deletes
    assert muted.track.muted and got.tracks[0].muted
    assert [p.identity for p in fake.participants("standup")] == ["alice"]
    assert fake.room("standup").num_participants == 1


def test_room_metadata_and_send_data(fake):
    fake.add_room("standup")

    async def scenario(lk: api.LiveKitAPI):
        room = await lk.room.update_room_metadata(
            api.UpdateRoomMetadataRequest(room="standup", metadata='{"locked": true}')
        )
        await lk.room.send_data(
            api.SendDataRequest(
                room="standup", data=b"hi", topic="chat", destination_identities=["a"]
            )
        )
        return room

    room = run(fake.url, scenario)
    assert room.metadata == '{"locked": true}'
    [message] = fake.data_messages("standup")
    assert (message.data, message.topic, list(message.destination_identities)) == (
        b"hi",
        "chat",
        ["a"],
    )
    assert fake.data_messages("elsewhere") == []


@pytest.mark.parametrize(
    "call",
    [
        lambda lk: lk.room.get_participant(api.RoomParticipantIdentity(room="r", identity="ghost")),
        lambda lk: lk.room.remove_participant(
            api.RoomParticipantIdentity(room="r", identity="ghost")
        ),
        lambda lk: lk.room.mute_published_track(
            api.MuteRoomTrackRequest(room="r", identity="here", track_sid="TR_none", muted=True)
        ),
        lambda lk: lk.room.update_room_metadata(api.UpdateRoomMetadataRequest(room="nope")),
        lambda lk: lk.room.send_data(api.SendDataRequest(room="nope", data=b"x")),
    ],
    ids=["get", "remove", "mute", "metadata", "send_data"],
)
def test_missing_things_are_not_found(fake, call):
    fake.add_participant("r", "here")
    with pytest.raises(api.ServerError) as info:
        run(fake.url, call)
    assert (info.value.code, info.value.status) == ("not_found", 404)


def test_json_encoding(fake):
    fake.add_participant("standup", "alice", "Alice")
    response = twirp_json(
        fake, "ListParticipants", {"room": "standup"}, room_admin=True, room="standup"
    )
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert [p["identity"] for p in response.json()["participants"]] == ["alice"]

    missing = twirp_json(
        fake,
        "GetParticipant",
        {"room": "standup", "identity": "x"},
        room_admin=True,
        room="standup",
    )
    assert (missing.status_code, missing.json()["code"]) == (404, "not_found")


# -- auth ------------------------------------------------------------------


def test_token_without_room_admin_is_denied(fake):
    fake.add_room("standup")
    token = api.AccessToken(fake.api_key, fake.api_secret).with_grants(
        api.VideoGrants(room_list=True)
    )
    call = lambda lk: lk.room.list_participants(api.ListParticipantsRequest(room="standup"))
    with pytest.raises(api.ServerError) as info:
        run(fake.url, call, token=token.to_jwt())
    assert (info.value.code, info.value.status) == ("permission_denied", 403)


def test_room_admin_is_scoped_to_its_room(fake):
    response = twirp_json(
        fake, "ListParticipants", {"room": "standup"}, room_admin=True, room="other"
    )
    assert (response.status_code, response.json()["code"]) == (403, "permission_denied")


def test_bad_or_missing_token_is_unauthenticated(fake):
    foreign = api.AccessToken(fake.api_key, OTHER_SECRET).with_grants(
        api.VideoGrants(room_list=True)
    )
    with pytest.raises(api.ServerError) as info:
        run(fake.url, lambda lk: lk.room.list_rooms(api.ListRoomsRequest()), token=foreign.to_jwt())
    assert (info.value.code, info.value.status) == ("unauthenticated", 401)

    response = requests.post(f"{fake.url}/twirp/livekit.RoomService/ListRooms", json={}, timeout=5)
    assert (response.status_code, response.json()["code"]) == (401, "unauthenticated")
    assert fake.calls_to("ListRooms")[-1].claims is None


def test_unknown_route_is_bad_route(fake):
    response = requests.post(
        f"{fake.url}/twirp/livekit.RoomService/Explode",
        data=b"",
        headers={"Content-Type": "application/protobuf"},
        timeout=5,
    )
    assert (response.status_code, response.json()["code"]) == (404, "bad_route")


# -- egress, SIP, agent dispatch -------------------------------------------


def test_egress_lifecycle(fake):
    fake.add_room("standup")

    async def start(lk: api.LiveKitAPI):
        return await lk.egress.start_room_composite_egress(
            api.RoomCompositeEgressRequest(room_name="standup", layout="grid")
        )

    started = run(fake.url, start)
    assert started.egress_id.startswith("EG_") and started.status == api.EGRESS_STARTING
    assert fake.calls_to("StartRoomCompositeEgress")[0].claims.video.room_record
    fake.set_egress_status(started.egress_id, api.EGRESS_ACTIVE)
    assert fake.room("standup").active_recording

    async def stop(lk: api.LiveKitAPI):
        active = await lk.egress.list_egress(
            api.ListEgressRequest(room_name="standup", active=True)
        )
        stopped = await lk.egress.stop_egress(api.StopEgressRequest(egress_id=started.egress_id))
        return active, stopped

    active, stopped = run(fake.url, stop)
    assert [e.egress_id for e in active.items] == [started.egress_id]
    assert stopped.status == api.EGRESS_ENDING
    done = fake.set_egress_status(started.egress_id, api.EGRESS_COMPLETE, filename="a.mp4")
    assert done.file_results[0].filename == "a.mp4" and done.ended_at > 0


def test_sip_dispatch_rules(fake):
    async def scenario(lk: api.LiveKitAPI):
        trunk = await lk.sip.create_inbound_trunk(
            api.CreateSIPInboundTrunkRequest(
                trunk=api.SIPInboundTrunkInfo(name="t", numbers=["+1555"])
            )
        )
        rule = await lk.sip.create_dispatch_rule(
            api.CreateSIPDispatchRuleRequest(
                dispatch_rule=api.SIPDispatchRuleInfo(
                    name="standup",
                    trunk_ids=[trunk.sip_trunk_id],
                    rule=api.SIPDispatchRule(
                        dispatch_rule_direct=api.SIPDispatchRuleDirect(
                            room_name="standup", pin="1234"
                        )
                    ),
                )
            )
        )
        listed = await lk.sip.list_dispatch_rule(api.ListSIPDispatchRuleRequest())
        await lk.sip.delete_dispatch_rule(
            api.DeleteSIPDispatchRuleRequest(sip_dispatch_rule_id=rule.sip_dispatch_rule_id)
        )
        return rule, listed

    rule, listed = run(fake.url, scenario)
    assert rule.sip_dispatch_rule_id.startswith("SDR_")
    assert [r.rule.dispatch_rule_direct.pin for r in listed.items] == ["1234"]
    assert fake.dispatch_rules() == [] and len(fake.inbound_trunks()) == 1
    assert all(c.claims.sip.admin for c in fake.calls)


def test_agent_dispatch(fake):
    async def scenario(lk: api.LiveKitAPI):
        made = await lk.agent_dispatch.create_dispatch(
            api.CreateAgentDispatchRequest(agent_name="scribe", room="standup", metadata="{}")
        )
        listed = await lk.agent_dispatch.list_dispatch("standup")
        deleted = await lk.agent_dispatch.delete_dispatch(made.id, "standup")
        return made, listed, deleted

    made, listed, deleted = run(fake.url, scenario)
    assert made.id.startswith("AD_") and [d.id for d in listed] == [made.id]
    assert deleted.state.deleted_at > 0 and fake.agent_dispatches() == []


# -- faults ------------------------------------------------------------------


def test_injected_failure_answers_once(fake):
    fake.fail("ListRooms", "internal", msg="boom")
    list_rooms = lambda lk: lk.room.list_rooms(api.ListRoomsRequest())
    with pytest.raises(api.ServerError) as info:
        run(fake.url, list_rooms)
    assert (info.value.code, info.value.status, info.value.message) == ("internal", 500, "boom")
    assert run(fake.url, list_rooms).rooms == []


def test_delay_trips_client_timeout(fake):
    # LiveKitAPI(timeout=...) does not bound requests with livekit-api 1.2.2 and
    # aiohttp 3.14 (TwirpClient passes timeout=None, which aiohttp reads as "no
    # timeout"), so callers need their own deadline, as here.
    fake.delay("ListRooms", 5.0)  # the fixture's reset() wakes the sleeping handler

    async def list_rooms(lk: api.LiveKitAPI):
        return await asyncio.wait_for(lk.room.list_rooms(api.ListRoomsRequest()), 0.2)

    with pytest.raises(TimeoutError):
        run(fake.url, list_rooms)
    assert len(fake.calls_to("ListRooms")) == 1


def test_connection_refused():
    with pytest.raises(aiohttp.ClientConnectionError):
        run(unused_url(), lambda lk: lk.room.list_rooms(api.ListRoomsRequest()))


def test_refuse_then_accept_connections(fake):
    url = fake.url
    fake.refuse_connections()
    try:
        with pytest.raises(aiohttp.ClientConnectionError):
            run(url, lambda lk: lk.room.list_rooms(api.ListRoomsRequest()))
    finally:
        fake.accept_connections()
    assert fake.url == url
    assert run(url, lambda lk: lk.room.list_rooms(api.ListRoomsRequest())).rooms == []


# -- webhooks ----------------------------------------------------------------


def receiver() -> api.WebhookReceiver:
    return api.WebhookReceiver(api.TokenVerifier(DEFAULT_API_KEY, DEFAULT_API_SECRET))


def test_webhook_is_signed_like_livekit(fake):
    fake.add_participant("standup", "alice", "Alice")
    body, headers = fake.webhook_request(
        fake.event("participant_joined", room="standup", identity="alice")
    )
    assert headers["Content-Type"] == "application/webhook+json"
    received = receiver().receive(body.decode(), headers["Authorization"])
    assert received.event == "participant_joined" and received.id.startswith("EV_")
    assert received.room.name == "standup" and received.participant.name == "Alice"
    assert received.created_at > 0


def test_webhook_from_dict_and_module_helpers():
    body, headers = webhook_request({"event": "room_finished", "room": {"name": "standup"}})
    assert receiver().receive(body.decode(), headers["Authorization"]).room.name == "standup"
    token = sign_webhook(b"{}")
    claims = api.TokenVerifier(DEFAULT_API_KEY, DEFAULT_API_SECRET).verify(token)
    assert base64.b64decode(claims.sha256) == hashlib.sha256(b"{}").digest()
    ended = event("egress_ended", egress="EG_1", room="standup")
    assert (
        ended.egress_info.status == api.EGRESS_COMPLETE and ended.egress_info.room_name == "standup"
    )


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [({"tamper": True}, "hash mismatch"), ({"secret": OTHER_SECRET}, "Signature verification")],
)
def test_tampered_or_foreign_webhook_is_rejected(fake, kwargs, error):
    body, headers = fake.webhook_request(event("room_finished", room="standup"), **kwargs)
    with pytest.raises(Exception, match=error):  # WebhookReceiver raises bare Exceptions
        receiver().receive(body.decode(), headers["Authorization"])


def test_send_webhook_posts_over_http(fake):
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    received: list[tuple[bytes, str]] = []

    class Sink(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((body, self.headers["Authorization"]))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    with ThreadingHTTPServer(("127.0.0.1", 0), Sink) as sink:
        thread = threading.Thread(target=sink.serve_forever, kwargs={"poll_interval": 0.05})
        thread.start()
        try:
            response = fake.send_webhook(
                f"http://127.0.0.1:{sink.server_address[1]}/hook", event("room_started", room="x")
            )
        finally:
            sink.shutdown()
            thread.join()
    assert response.status_code == 200
    [(body, auth)] = received
    assert receiver().receive(body.decode(), auth).event == "room_started"


# -- /rtc stub ---------------------------------------------------------------


def join_token(fake: FakeLiveKit) -> str:
    grants = api.VideoGrants(room_join=True, room="standup")
    token = api.AccessToken(fake.api_key, fake.api_secret).with_identity("alice")
    return token.with_grants(grants).to_jwt()


def test_rtc_websocket_handshake_records_token(fake):
    token = join_token(fake)
    key = base64.b64encode(os.urandom(16)).decode()
    host = urlsplit(fake.ws_url).netloc
    with socket.create_connection(("127.0.0.1", fake.port), timeout=2) as sock:
        sock.sendall(
            (
                f"GET /rtc?access_token={token}&auto_subscribe=1 HTTP/1.1\r\n"
                f"Host: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        response = b""
        while b"\r\n\r\n" not in response:
            response += sock.recv(1024)
        # close frame from the client (masked, zero mask), echoed by the server
        sock.sendall(bytes([0x88, 0x82, 0, 0, 0, 0]) + (1000).to_bytes(2, "big"))
        assert sock.recv(16) == bytes([0x88, 0x02]) + (1000).to_bytes(2, "big")
    expected = base64.b64encode(
        hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()
    )
    assert response.startswith(b"HTTP/1.1 101")
    assert b"Sec-WebSocket-Accept: " + expected in response
    conn = fake.wait_for_rtc(timeout=2)
    assert conn.websocket and conn.path == "/rtc" and conn.token == token
    assert conn.params["auto_subscribe"] == "1"
    assert conn.claims.identity == "alice" and conn.claims.video.room == "standup"


def test_rtc_validate(fake):
    def validate(token: str) -> int:
        client = http.client.HTTPConnection("127.0.0.1", fake.port, timeout=2)
        try:
            client.request("GET", f"/rtc/validate?access_token={token}")
            return client.getresponse().status
        finally:
            client.close()

    assert validate(join_token(fake)) == 200
    assert validate("garbage") == 401
    assert [c.claims is not None for c in fake.rtc_connections] == [True, False]


def test_wait_for_rtc_times_out(fake):
    with pytest.raises(TimeoutError):
        fake.wait_for_rtc(timeout=0.05)


def test_reset_forgets_everything(fake):
    fake.add_participant("standup", "alice")
    fake.fail("ListRooms", times=None)
    fake.delay("ListRooms", 0.01)
    list_rooms = lambda lk: lk.room.list_rooms(api.ListRoomsRequest())
    with pytest.raises(api.ServerError):
        run(fake.url, list_rooms)
    fake.reset()
    assert fake.rooms() == [] and fake.calls == [] and fake.participants("standup") == []
    assert run(fake.url, list_rooms).rooms == []
    assert [c.method for c in fake.calls] == ["ListRooms"]
