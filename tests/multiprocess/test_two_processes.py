"""Two app processes on one PostgreSQL database and one Redis behave as one (design:
"No process-local state that matters"): a guest knocks on process A, the owner admits
on process B, and the guest's next poll on A lets them in.

Needs real commits visible to other processes, so it runs only when both
MEET_TEST_DATABASE_URL and MEET_TEST_REDIS_URL are set. Its rows are committed with a
separate engine and deleted afterwards.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager

import pytest
import requests
from livekit import api
from sqlalchemy import create_engine, delete
from sqlalchemy.orm import Session

from meet_web.models import AccessLevel, ResourceAccess, Role, Room, User
from tests.login_flow import http_sign_in

pytestmark = [
    pytest.mark.multiprocess,
    pytest.mark.skipif(
        not (os.environ.get("MEET_TEST_DATABASE_URL") and os.environ.get("MEET_TEST_REDIS_URL")),
        reason="needs MEET_TEST_DATABASE_URL and MEET_TEST_REDIS_URL",
    ),
]

SERVE = """
import json, sys
from waitress import serve
from meet_web import main
settings = json.loads(sys.argv[1])
serve(main({}, **settings), host="127.0.0.1", port=int(sys.argv[2]), threads=4, _quiet=True)
"""
TIMEOUT = 10


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def app_process(settings: dict):
    """`meet_web.main(**settings)` served by waitress in its own process."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEET_")}
    proc = subprocess.Popen(
        [sys.executable, "-c", SERVE, json.dumps(settings), str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                output = proc.stdout.read().decode(errors="replace")
                raise AssertionError(f"the app process exited:\n{output}")
            try:
                if requests.get(base + "/api/v1.0/config/", timeout=2).ok:
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError("the app process did not start in 30 s")
            time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        proc.stdout.close()


@pytest.fixture
def committed(app, settings):
    """An owner and a restricted room, committed for other processes to see."""
    engine = create_engine(settings["sqlalchemy.url"])
    tag = uuid.uuid4().hex[:8]
    login = f"mp-owner-{tag}"
    with Session(engine) as session:
        owner = User(sub=login, email=f"{login}@example.org", full_name="Mp Owner")
        room = Room(
            name=f"Two Processes {tag}",
            slug=f"two-processes-{tag}",
            access_level=AccessLevel.RESTRICTED,
        )
        room.accesses.append(ResourceAccess(user=owner, role=Role.OWNER))
        session.add_all([owner, room])
        session.commit()
        ids = {"login": login, "owner": owner.id, "room": room.id}
    try:
        yield ids
    finally:
        with Session(engine) as session:
            session.execute(delete(ResourceAccess).where(ResourceAccess.resource_id == ids["room"]))
            session.execute(delete(Room).where(Room.id == ids["room"]))
            session.execute(delete(User).where(User.id == ids["owner"]))
            session.commit()
        engine.dispose()


def sign_in(base: str, login: str) -> requests.Session:
    """The real OIDC flow against the session's provider, ending on `base`."""
    return http_sign_in(base, login, TIMEOUT)


def test_guest_knocks_on_one_process_owner_admits_on_the_other(settings, committed, livekit):
    # links and the OIDC redirect follow each process's own address
    served = {**settings, "testing.shared_connection": "false", "app.base_url": ""}
    room = str(committed["room"])
    livekit.add_room(room)  # a meeting in progress: the knock notifies it
    knock_path = f"/api/v1.0/rooms/{room}/request-entry/"
    with app_process(served) as a, app_process(served) as b:
        guest = requests.Session()
        first = guest.post(a + knock_path, json={"username": "Gina"}, timeout=TIMEOUT)
        assert first.status_code == 200, first.text
        assert first.json()["status"] == "waiting"
        identity = first.json()["id"]
        assert [json.loads(m.data) for m in livekit.data_messages(room)] == [
            {"type": "participantWaiting"}
        ]

        owner = sign_in(b, committed["login"])
        csrf = {"X-CSRF-Token": owner.cookies["csrftoken"]}
        listed = owner.get(f"{b}/api/v1.0/rooms/{room}/waiting-participants/", timeout=TIMEOUT)
        assert listed.status_code == 200, listed.text
        assert [p["id"] for p in listed.json()["participants"]] == [identity]
        entered = owner.post(
            f"{b}/api/v1.0/rooms/{room}/enter/",
            json={"participant_id": identity, "allow_entry": True},
            headers=csrf,
            timeout=TIMEOUT,
        )
        assert entered.status_code == 200, entered.text

        again = guest.post(a + knock_path, json={"username": "Gina"}, timeout=TIMEOUT)
        assert again.status_code == 200, again.text
        answer = again.json()
        assert answer["status"] == "accepted"
        assert answer["id"] == identity
        claims = api.TokenVerifier(livekit.api_key, livekit.api_secret).verify(
            answer["livekit"]["token"]
        )
        assert claims.identity == identity
        assert claims.name == "Gina"
        assert claims.video.room == room
        assert not claims.video.room_admin
        # and B agrees: nobody is waiting any more
        listed = owner.get(f"{b}/api/v1.0/rooms/{room}/waiting-participants/", timeout=TIMEOUT)
        assert listed.json()["participants"] == []


def knock(browser: requests.Session, base: str, room: str, name: str, headers=None):
    """One poll of the room's lobby; the answer's JSON, after checking it is a 200."""
    answer = browser.post(
        f"{base}/api/v1.0/rooms/{room}/request-entry/",
        json={"username": name},
        headers=headers or {},
        timeout=TIMEOUT,
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def token_claims(livekit, token: str):
    return api.TokenVerifier(livekit.api_key, livekit.api_secret).verify(token)


@pytest.fixture
def member_login(settings):
    """A login for a user the test signs in (so creates); the user is deleted after."""
    login = f"mp-member-{uuid.uuid4().hex[:8]}"
    yield login
    engine = create_engine(settings["sqlalchemy.url"])
    try:
        with Session(engine) as session:
            session.execute(delete(User).where(User.sub == login))  # accesses cascade
            session.commit()
    finally:
        engine.dispose()


def test_room_changes_on_one_process_hold_at_once_on_the_other(
    settings, committed, livekit, member_login
):
    """What the owner changes on B (the access level, the members) is what A answers on
    the very next request, with no pause: A may keep room data, but must check it."""
    served = {**settings, "testing.shared_connection": "false", "app.base_url": ""}
    room = str(committed["room"])
    room_path = f"/api/v1.0/rooms/{room}/"
    livekit.add_room(room)  # a meeting in progress: knocks notify it
    with app_process(served) as a, app_process(served) as b:
        owner = sign_in(b, committed["login"])
        csrf = {"X-CSRF-Token": owner.cookies["csrftoken"]}

        def change_access_level(level: str) -> None:
            changed = owner.patch(
                b + room_path, json={"access_level": level}, headers=csrf, timeout=TIMEOUT
            )
            assert changed.status_code == 200, changed.text
            assert changed.json()["access_level"] == level

        # restricted: a guest knocking on A waits
        guest = requests.Session()
        first = knock(guest, a, room, "Gina")
        assert first["status"] == "waiting"
        assert first["livekit"] is None
        identity = first["id"]

        # public on B: the guest's very next knock on A lets them in, with a token
        change_access_level("public")
        admitted = knock(guest, a, room, "Gina")
        assert admitted["status"] == "accepted", admitted
        assert admitted["id"] == identity
        claims = token_claims(livekit, admitted["livekit"]["token"])
        assert claims.identity == identity
        assert claims.video.room == room
        assert claims.video.room_join
        assert not claims.video.room_admin

        # restricted again on B: a new guest's first knock on A waits
        change_access_level("restricted")
        newcomer = requests.Session()
        waiting = knock(newcomer, a, room, "Nora")
        assert waiting["status"] == "waiting", waiting
        assert waiting["livekit"] is None
        assert waiting["id"] != identity

        # a signed-in user with no role on the room: no token on A
        member = sign_in(a, member_login)
        member_csrf = {"X-CSRF-Token": member.cookies["csrftoken"]}
        me = member.get(a + "/api/v1.0/users/me/", timeout=TIMEOUT)
        assert me.status_code == 200, me.text
        member_id = me.json()["id"]
        before = member.get(a + room_path, timeout=TIMEOUT)
        assert before.status_code == 200, before.text
        assert not before.json().get("livekit")

        # the owner adds them on B: their very next GET on A carries a member's token
        added = owner.post(
            b + "/api/v1.0/resource-accesses/",
            json={"user": member_id, "resource": room, "role": "member"},
            headers=csrf,
            timeout=TIMEOUT,
        )
        assert added.status_code == 201, added.text
        access_id = added.json()["id"]
        seen = member.get(a + room_path, timeout=TIMEOUT)
        assert seen.status_code == 200, seen.text
        block = seen.json().get("livekit")
        assert block and block["token"], seen.json()
        claims = token_claims(livekit, block["token"])
        assert claims.identity == member_id
        assert claims.video.room == room
        assert claims.attributes["room_role"] == "member"
        assert not claims.video.room_admin

        # the owner removes the access on B: A's very next answer has no token, and the
        # former member's knock on A waits
        removed = owner.delete(
            f"{b}/api/v1.0/resource-accesses/{access_id}/", headers=csrf, timeout=TIMEOUT
        )
        assert removed.status_code == 204, removed.text
        after = member.get(a + room_path, timeout=TIMEOUT)
        assert after.status_code == 200, after.text
        assert not after.json().get("livekit"), after.json()
        knocked = knock(member, a, room, "Mia", headers=member_csrf)
        assert knocked["status"] == "waiting", knocked
        assert knocked["id"] == member_id
        assert knocked["livekit"] is None
