"""Meetings with real media: browsers join the meeting page, publish their fake camera
and microphone through the loopback SFU (tests/servers/sfu), and see and hear each
other; LiveKit's server API reaches them."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import time
import uuid
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import jwt
import requests
from livekit import api
from livekit.api.twirp_client import TwirpError
from playwright.sync_api import Page, expect

from meet_web.models import AccessLevel, Room

ROOM = "window.__livekitRooms[0]"
SLOW = 60_000  # ms: joining and publishing encode and decode media on two shared cores


def public_room(live_server) -> tuple[str, str]:
    """``(slug, LiveKit room name)`` of a new public room."""
    slug = f"media-{uuid.uuid4().hex[:8]}"
    with live_server.dbsession() as db:
        room = Room(name=slug.title(), slug=slug, access_level=AccessLevel.PUBLIC, configuration={})
        db.add(room)
        db.commit()
        return slug, str(room.id)


def join(page: Page, slug: str, name: str) -> str:
    """Join as a guest called ``name``; the participant's identity."""
    page.goto(f"/{slug}")
    page.get_by_label("Your name").fill(name)
    page.get_by_role("button", name="Join the meeting").click()
    page.wait_for_url(f"**/{slug}/meeting**")
    expect(page.locator("#connection-status")).to_have_attribute(
        "data-state", "connected", timeout=SLOW
    )
    assert page.evaluate(f"{ROOM}.state") == "connected"
    return page.evaluate(f"{ROOM}.localParticipant.identity")


def expect_camera_and_microphone_on(page: Page) -> None:
    """Coming from the pre-join page, the meeting starts with both on (as previewed)."""
    for action in ("microphone", "camera"):
        button = page.locator(f'.meeting-controls [data-action="{action}"]')
        expect(button).to_have_attribute("aria-pressed", "true", timeout=SLOW)


def expect_video_playing(page: Page, identity: str) -> None:
    expect_playing(page, f'figure.tile[data-identity="{identity}"][data-source="camera"] video')


def expect_playing(page: Page, video: str) -> None:
    """The `<video>` matching `video` shows frames and its time advances."""
    page.wait_for_function(
        """(selector) => {
          const video = document.querySelector(selector);
          if (!video || video.videoWidth === 0) return false;
          video.__seen = video.__seen || video.currentTime;
          return video.currentTime > video.__seen;
        }""",
        arg=video,
        polling=250,
        timeout=SLOW,
    )


def expect_audio_arriving(page: Page, identity: str) -> None:
    """The remote microphone track's receiver counts more and more audio bytes."""
    page.wait_for_function(
        """async ([room, identity]) => {
          const participant = room.remoteParticipants.get(identity);
          const track = participant && participant.getTrackPublication("microphone")?.track;
          if (!track || !track.receiver) return false;
          let bytes = 0;
          (await track.receiver.getStats()).forEach((s) => {
            if (s.type === "inbound-rtp") bytes += s.bytesReceived;
          });
          track.__bytes = track.__bytes || bytes;
          return bytes > track.__bytes;
        }""",
        arg=[page.evaluate_handle(ROOM), identity],
        polling=250,
        timeout=SLOW,
    )


def server_api(fake, call: Callable[[api.LiveKitAPI], Awaitable[Any]]) -> Any:
    """One call of LiveKit's server API (livekit-api) on the fake."""

    async def run() -> Any:
        client = api.LiveKitAPI(fake.url, fake.api_key, fake.api_secret)
        try:
            return await call(client)
        finally:
            await client.aclose()

    # Playwright's sync API keeps an event loop running on this thread.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, run()).result()


def test_two_participants_see_and_hear_each_other(media_page, live_server, media_livekit):
    slug, room_name = public_room(live_server)
    ada, bob = media_page(), media_page()
    ada_identity = join(ada, slug, "Ada")
    bob_identity = join(bob, slug, "Bob")
    expect_camera_and_microphone_on(ada)
    expect_camera_and_microphone_on(bob)

    expect_video_playing(ada, bob_identity)
    expect_video_playing(bob, ada_identity)
    expect_audio_arriving(ada, bob_identity)
    expect_audio_arriving(bob, ada_identity)
    # the fake microphones beep (the browser's audio processing may quieten one of them)
    for page in (ada, bob):
        page.wait_for_function(f"() => {ROOM}.activeSpeakers.length > 0", polling=100)

    listed = server_api(
        media_livekit,
        lambda lk: lk.room.list_participants(api.ListParticipantsRequest(room=room_name)),
    )
    by_identity = {p.identity: p for p in listed.participants}
    assert set(by_identity) == {ada_identity, bob_identity}
    assert by_identity[ada_identity].name == "Ada"
    assert {t.source for t in by_identity[ada_identity].tracks} == {
        api.TrackSource.CAMERA,
        api.TrackSource.MICROPHONE,
    }

    ada.evaluate(
        f"""async () => {{
          const local = {ROOM}.localParticipant;
          await local.unpublishTrack(local.getTrackPublication("camera").track);
        }}"""
    )
    bob.wait_for_function(
        f"""() => {{
          const ada = {ROOM}.remoteParticipants.get("{ada_identity}");
          return !ada.getTrackPublication("camera") && ada.getTrackPublication("microphone");
        }}"""
    )
    tracks = media_livekit.participant(room_name, ada_identity).tracks
    assert [t.source for t in tracks] == [api.TrackSource.MICROPHONE]


def test_removed_participant_is_disconnected_with_the_reason(
    media_page, live_server, media_livekit
):
    slug, room_name = public_room(live_server)
    ada, bob = media_page(), media_page()
    join(ada, slug, "Ada")
    bob_identity = join(bob, slug, "Bob")
    ada.wait_for_function(f"() => {ROOM}.remoteParticipants.size === 1")

    server_api(
        media_livekit,
        lambda lk: lk.room.remove_participant(
            api.RoomParticipantIdentity(room=room_name, identity=bob_identity)
        ),
    )

    expect(bob.locator("#connection-status")).to_have_attribute(
        "data-state", "problem", timeout=SLOW
    )
    reason = bob.evaluate(f"{ROOM}.__disconnectReason")
    assert reason == bob.evaluate("LivekitClient.DisconnectReason.PARTICIPANT_REMOVED")
    ada.wait_for_function(f"() => {ROOM}.remoteParticipants.size === 0")
    assert [p.identity for p in media_livekit.participants(room_name)] != [bob_identity]


def test_a_moved_participant_meets_the_other_room(media_page, live_server, media_livekit):
    first, first_room = public_room(live_server)
    second, second_room = public_room(live_server)
    ada, bob, cleo = media_page(), media_page(), media_page()
    join(ada, first, "Ada")
    bob_identity = join(bob, first, "Bob")
    cleo_identity = join(cleo, second, "Cleo")
    expect_camera_and_microphone_on(cleo)
    ada.wait_for_function(f"() => {ROOM}.remoteParticipants.size === 1")

    server_api(
        media_livekit,
        lambda lk: lk.room.move_participant(
            api.MoveParticipantRequest(
                room=first_room, identity=bob_identity, destination_room=second_room
            )
        ),
    )

    bob.wait_for_function(f"() => {ROOM}.name === '{second_room}'")
    bob.wait_for_function(f"() => {ROOM}.remoteParticipants.has('{cleo_identity}')")
    ada.wait_for_function(f"() => {ROOM}.remoteParticipants.size === 0")
    cleo.wait_for_function(f"() => {ROOM}.remoteParticipants.has('{bob_identity}')")
    expect_video_playing(bob, cleo_identity)
    assert media_livekit.participant(first_room, bob_identity) is None
    assert media_livekit.participant(second_room, bob_identity).name == "Bob"


def test_deleting_the_room_disconnects_everyone(media_page, live_server, media_livekit):
    slug, room_name = public_room(live_server)
    ada = media_page()
    join(ada, slug, "Ada")

    server_api(media_livekit, lambda lk: lk.room.delete_room(api.DeleteRoomRequest(room=room_name)))

    expect(ada.locator("#connection-status")).to_have_attribute(
        "data-state", "problem", timeout=SLOW
    )
    assert ada.evaluate(f"{ROOM}.__disconnectReason") == ada.evaluate(
        "LivekitClient.DisconnectReason.ROOM_DELETED"
    )


def test_a_data_packet_and_a_text_stream_reach_the_other_participant(
    media_page, live_server, media_livekit
):
    slug, _ = public_room(live_server)
    ada, bob = media_page(), media_page()
    ada_identity = join(ada, slug, "Ada")
    join(bob, slug, "Bob")
    ada.wait_for_function(f"() => {ROOM}.remoteParticipants.size === 1")
    bob.evaluate(
        f"""() => {{
          const room = {ROOM};
          window.__received = [];
          room.on("dataReceived", (payload, participant, kind, topic) =>
            window.__received.push(
              ["data", new TextDecoder().decode(payload), participant.identity, topic]));
          room.registerTextStreamHandler("test-chat", async (reader, info) =>
            window.__received.push(["text", await reader.readAll(), info.identity]));
        }}"""
    )

    ada.evaluate(
        f"""async () => {{
          const room = {ROOM};
          await room.localParticipant.publishData(new TextEncoder().encode("hello"),
            {{ reliable: true, topic: "test-topic" }});
          await room.localParticipant.sendText("a longer hello", {{ topic: "test-chat" }});
        }}"""
    )

    bob.wait_for_function("() => window.__received.length === 2")
    assert sorted(bob.evaluate("window.__received")) == [
        ["data", "hello", ada_identity, "test-topic"],
        ["text", "a longer hello", ada_identity],
    ]


def test_server_actions_reach_the_browsers(media_page, live_server, media_livekit):
    """SendData, MutePublishedTrack and UpdateParticipant through the server API."""
    slug, room_name = public_room(live_server)
    ada, bob = media_page(), media_page()
    ada_identity = join(ada, slug, "Ada")
    join(bob, slug, "Bob")
    expect_camera_and_microphone_on(ada)
    bob.evaluate(
        f"""() => {{
          window.__received = [];
          {ROOM}.on("dataReceived", (payload, participant, kind, topic) =>
            window.__received.push([new TextDecoder().decode(payload), topic]));
        }}"""
    )
    bob.wait_for_function(
        f"() => {ROOM}.remoteParticipants.get('{ada_identity}')?.getTrackPublication('microphone')"
    )
    microphone = next(
        t
        for t in media_livekit.participant(room_name, ada_identity).tracks
        if t.source == api.TrackSource.MICROPHONE
    )

    server_api(
        media_livekit,
        lambda lk: lk.room.send_data(
            api.SendDataRequest(
                room=room_name,
                data=b"from the server",
                kind=api.DataPacket.Kind.RELIABLE,
                topic="news",
            )
        ),
    )
    server_api(
        media_livekit,
        lambda lk: lk.room.mute_published_track(
            api.MuteRoomTrackRequest(
                room=room_name, identity=ada_identity, track_sid=microphone.sid, muted=True
            )
        ),
    )
    server_api(
        media_livekit,
        lambda lk: lk.room.update_participant(
            api.UpdateParticipantRequest(
                room=room_name, identity=ada_identity, name="Ada L.", attributes={"mood": "calm"}
            )
        ),
    )

    bob.wait_for_function("() => window.__received.length === 1")
    assert bob.evaluate("window.__received") == [["from the server", "news"]]
    ada.wait_for_function(
        f"() => {ROOM}.localParticipant.getTrackPublication('microphone').isMuted"
    )
    bob.wait_for_function(
        f"""() => {{
          const ada = {ROOM}.remoteParticipants.get('{ada_identity}');
          return ada.getTrackPublication('microphone').isMuted && ada.name === 'Ada L.'
            && ada.attributes.mood === 'calm';
        }}"""
    )
    assert ada.evaluate(f"{ROOM}.localParticipant.attributes.mood") == "calm"


def _websocket_headers() -> dict[str, str]:
    key = base64.b64encode(hashlib.sha1(uuid.uuid4().bytes).digest()[:16]).decode()
    return {
        "Connection": "Upgrade",
        "Upgrade": "websocket",
        "Sec-WebSocket-Key": key,
        "Sec-WebSocket-Version": "13",
    }


def _token(fake, secret: str, **claims: Any) -> str:
    now = int(time.time())
    return jwt.encode({"iss": fake.api_key, "nbf": now, "exp": now + 600, **claims}, secret)


def test_signalling_refuses_a_bad_token_with_401(media_livekit):
    secret = media_livekit.api_secret
    join_r = {"roomJoin": True, "room": "r"}
    cases = {
        "": "no authorization token",
        "not-a-jwt": "invalid token",
        _token(media_livekit, "other-secret-" + "x" * 24, sub="eve", video=join_r): "invalid token",
        _token(media_livekit, secret, sub="eve", video={"room": "r"}): "permissions denied",
        _token(media_livekit, secret, sub="eve", video={"roomJoin": True}): "no room name",
        _token(media_livekit, secret, video=join_r): "no participant identity",
    }
    for token, message in cases.items():
        for path in ("/rtc/v1", "/rtc/v1/validate"):
            response = requests.get(
                f"{media_livekit.url}{path}",
                params={"access_token": token},
                headers=_websocket_headers(),
                timeout=5,
            )
            assert response.status_code == 401, (path, message)
            assert message in response.text, (path, message)
    assert media_livekit.participants("r") == []


def test_move_participant_refuses_bad_requests(livekit):
    """MoveParticipant on the plain fake (no SFU): LiveKit's checks; nothing moves."""
    livekit.add_participant("first", "ada", "Ada")
    livekit.add_room("second")

    def move(identity: str, destination: str, **grants: Any) -> TwirpError:
        request = api.MoveParticipantRequest(
            room="first", identity=identity, destination_room=destination
        )
        if grants:
            token = (
                api.AccessToken(livekit.api_key, livekit.api_secret)
                .with_grants(api.VideoGrants(**grants))
                .to_jwt()
            )
            response = requests.post(
                f"{livekit.url}/twirp/livekit.RoomService/MoveParticipant",
                data=request.SerializeToString(),
                headers={
                    "Authorization": f"Bearer {token}",
                    "Content-Type": "application/protobuf",
                },
                timeout=5,
            )
            body = response.json()
            return TwirpError(body["code"], body["msg"], status=response.status_code)
        try:
            server_api(livekit, lambda lk: lk.room.move_participant(request))
        except TwirpError as error:
            return error
        raise AssertionError("the move was accepted")

    assert move("nobody", "second").code == "not_found"
    assert move("ada", "first").code == "invalid_argument"
    assert move("ada", "").code == "invalid_argument"
    refused = move("ada", "second", room_admin=True, room="first", destination_room="third")
    assert (refused.status, refused.code) == (403, "permission_denied")
    refused = move("ada", "second", room_admin=True, room="second", destination_room="second")
    assert (refused.status, refused.code) == (403, "permission_denied")
    assert [p.identity for p in livekit.participants("first")] == ["ada"]
    assert livekit.participants("second") == []

    server_api(
        livekit,
        lambda lk: lk.room.move_participant(
            api.MoveParticipantRequest(room="first", identity="ada", destination_room="second")
        ),
    )
    assert livekit.participants("first") == []
    assert [p.identity for p in livekit.participants("second")] == ["ada"]
