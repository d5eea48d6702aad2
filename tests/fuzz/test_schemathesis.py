"""Schemathesis against the served OpenAPI document, in-process, once per actor.

Requests are generated once per session from `/api/v1.0/openapi.json`: for every
operation, valid ones and, where there is a query or a body, invalid ones. Each of the
six actors of `cast` then sends all of them to the WSGI app with its session cookie and
CSRF header, so the same inputs meet every role. Where a value names something, it is
mostly a real one, else the generated one: the `id` in the path (the cast's room by id,
dashless id and slug, a restricted room, each access, the actor's own and another
user's id), the users, rooms, participants and tracks in bodies (the LiveKit fake has
the cast in the room's meeting), and on the views that take one, half the time a
LiveKit token for the actor.

Each request starts from the same state: it runs in a savepoint of the test's
transaction that is rolled back after it, the ephemeral store (lobby, rate limits,
revoked sessions) is emptied and the meeting's participants are put back, so a DELETE
or a logout never changes what the next request sees. Every answer must be:

- no server error: no 5xx and no exception out of the app, except a 502/503 with a
  JSON body (LiveKit unreachable, lobby full; with the fake there should be none);
- the status, content type and body the document gives for that operation.

(schemathesis leaves out the document's own path; tests/functional/test_openapi.py
covers it.) MEET_TEST_FUZZ_EXAMPLES (default 20) is the number of examples per operation
and generation mode, MEET_TEST_FUZZ_SEED (default 0) changes them, MEET_TEST_FUZZ_VERBOSE
lists the statuses each operation answered (MEET_TEST_: meet_web.settings warns about
other MEET_ variables). `make fuzz` runs many more. The totals are printed at the end of
the session (tests/fuzz/conftest.py).
"""

from __future__ import annotations

import contextlib
import os
import traceback
import zlib
from collections import Counter
from dataclasses import dataclass, field

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from livekit import api
from schemathesis import Case, GenerationMode
from schemathesis.core.failures import FailureGroup, ServerError
from schemathesis.generation.drivers import CoverageGenerator
from schemathesis.generation.feedback import FeedbackSources
from schemathesis.generation.overrides import Override
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from meet_web.db import SHARED_CONNECTION_KEY
from meet_web.models import AccessLevel, ResourceAccess, Role
from meet_web.openapi import API_PREFIX
from meet_web.security.policy import LIVEKIT_TOKEN_VIEWS
from meet_web.services.ephemeral import EphemeralStore, RedisStore
from meet_web.services.livekit import LiveKitGateway
from tests.conftest import ACTORS, app_service, make_room
from tests.fuzz.report import TOTALS

pytestmark = pytest.mark.fuzz

DOCUMENT = API_PREFIX + "/openapi.json"
EXAMPLES = int(os.environ.get("MEET_TEST_FUZZ_EXAMPLES", "20"))
SEED = int(os.environ.get("MEET_TEST_FUZZ_SEED", "0"))
DESIGNED_5XX = {502, 503}  # with a JSON body: LiveKit failing, a full lobby

# Real values, by name; the names are resolved for each actor (the cast's rows are new
# in every test). None: keep the generated value.
PATH_IDS = {
    "/rooms/": ("room", "room-hex", "room-slug", "lobby-room", "lobby-room-slug", None),
    "/resource-accesses/": ("access-owner", "access-member", "access-administrator", None),
    "/users/": ("user-self", "user-other", None),
    "/recordings/": (None,),
    "/files/": (None,),
}
BODY_VALUES = {
    "user": ("user-self", "user-other", "user-stranger", None),
    "resource": ("room", "lobby-room", None),
    "participant_identity": (
        "participant-self",
        "participant-member",
        "participant-owner",
        "guest",
        None,
    ),
    "track_sid": ("track", None),
}
GUEST = "3f1e3b1c-5a1f-4c3e-9d8e-0d6f6b9a7c21"  # a guest in the meeting, by its identity
TRACK = api.TrackInfo(
    sid="TR_fuzzmicrophone",
    name="microphone",
    type=api.TrackType.AUDIO,
    source=api.TrackSource.MICROPHONE,
)


@dataclass
class Generated:
    case: Case
    path_id: str | None = None  # a PATH_IDS name, or None
    body: dict = field(default_factory=dict)  # field -> a BODY_VALUES name
    livekit_token: bool = False  # send the actor's LiveKit token as a bearer


def no_server_error(ctx, response, case):
    """schemathesis's not_a_server_error, but a 502/503 answered in JSON is by design."""
    status = response.status_code
    if status < 500:
        return None
    content_type = (response.headers.get("content-type") or [""])[0]
    if status in DESIGNED_5XX and content_type.startswith("application/json"):
        return None
    raise ServerError(operation=case.operation.label, status_code=status)


CHECKS = [
    no_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def modes(operation) -> list[GenerationMode]:
    """Invalid data only where there is some to make: no `id` that can be sent is
    invalid (any non-empty string is one)."""
    if len(operation.query) or len(operation.body):
        return [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]
    return [GenerationMode.POSITIVE]


def body_properties(operation) -> set[str]:
    return {
        name
        for body in operation.body
        for name in (body.definition.get("schema") or {}).get("properties", {})
    }


def path_ids(operation) -> tuple[str | None, ...]:
    if not len(operation.path_parameters):
        return (None,)
    return next(
        names
        for prefix, names in PATH_IDS.items()
        if operation.path.startswith(API_PREFIX + prefix)
    )


def is_token_view(operation) -> bool:
    return operation.path.rstrip("/").rsplit("/", 1)[-1] in LIVEKIT_TOKEN_VIEWS


def strategy(operation, mode):
    """Fuzzed cases, with the names of the real values to put in them."""
    ids = path_ids(operation)
    # With a placeholder `id` (a valid one); the real id is put in at sending time.
    by_path_id = {
        name: operation.as_strategy(
            generation_mode=mode, path_parameters={"id": name} if name else None
        )
        for name in ids
    }
    body_values = {
        name: BODY_VALUES[name] for name in sorted(body_properties(operation) & BODY_VALUES.keys())
    }
    token_view = is_token_view(operation)

    @st.composite
    def draw_generated(draw):
        path_id = draw(st.sampled_from(ids))
        body = {name: draw(st.sampled_from(values)) for name, values in body_values.items()}
        return Generated(
            case=draw(by_path_id[path_id]),
            path_id=path_id,
            body={name: value for name, value in body.items() if value},
            livekit_token=token_view and draw(st.booleans()),
        )

    return draw_generated()


def coverage_cases(operation) -> list[Generated]:
    """schemathesis's coverage phase: boundary values, each field missing or of the
    wrong type, unexpected methods and media types; the same every run. Where the path
    has an `id`, the real ones take turns with the generated one."""
    ids = path_ids(operation)
    cases = CoverageGenerator(
        operation=operation,
        generation_modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
        generation_config=operation.schema.config.generation_for(operation=operation),
        auth_storage=None,
        override=Override(),
        feedback=FeedbackSources(),
    )
    token_view = is_token_view(operation)
    return [
        Generated(case, ids[n % len(ids)], livekit_token=token_view and n % 2 == 1)
        for n, case in enumerate(cases)
    ]


@pytest.fixture(scope="module")
def schema(app):
    return schemathesis.openapi.from_wsgi(DOCUMENT, app, config=schemathesis.Config())


@pytest.fixture(scope="module")
def generated(schema) -> list[Generated]:
    """The coverage phase, then EXAMPLES fuzzed requests per operation and mode; the
    same for every actor."""
    cases: list[Generated] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        cases.extend(coverage_cases(operation))
        for mode in modes(operation):

            @seed(zlib.crc32(f"{SEED}:{operation.label}:{mode}".encode()))
            @settings(
                max_examples=EXAMPLES,
                database=None,
                deadline=None,
                phases=[Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            @given(item=strategy(operation, mode))
            def collect(item):
                cases.append(item)

            # An operation without parameters has one request to make; invalid data
            # that cannot be made is no failure.
            with contextlib.suppress(Unsatisfiable):
                collect()
    return cases


def empty_ephemeral_store(app) -> None:
    store = app_service(app, EphemeralStore)
    if isinstance(store, RedisStore):
        store.client.flushdb()
    else:
        store.region.backend._cache.clear()


@dataclass
class World:
    """The real values of one test, and how to put the meeting back as it was."""

    values: dict[str, str]
    meeting: str  # the LiveKit room of the cast's room
    participants: dict[str, str]  # identity -> name

    def seat(self, livekit) -> None:
        for identity, name in self.participants.items():
            livekit.add_participant(self.meeting, identity, name, tracks=[TRACK])


def world(cast, actor, dbsession) -> World:
    lobby_room = make_room(dbsession, "Lobby Room", cast.owner, access_level=AccessLevel.RESTRICTED)
    for role in ("member", "administrator"):
        lobby_room.accesses.append(ResourceAccess(user=cast[role], role=Role(role)))
    dbsession.flush()
    me = cast[actor]
    someone = me or cast.stranger  # anonymous: someone's id all the same
    values = {
        "room": str(cast.room.id),
        "room-hex": cast.room.id.hex,
        "room-slug": cast.room.slug,
        "lobby-room": str(lobby_room.id),
        "lobby-room-slug": lobby_room.slug,
        **{f"access-{access.role}": str(access.id) for access in cast.room.accesses},
        "user-self": str(someone.id),
        "user-other": str(cast.owner.id if someone is not cast.owner else cast.member.id),
        "user-stranger": str(cast.stranger.id),
        "participant-self": str(me.id) if me else GUEST,
        "participant-member": str(cast.member.id),
        "participant-owner": str(cast.owner.id),
        "guest": GUEST,
        "track": TRACK.sid,
    }
    cast_users = [cast[a] for a in ACTORS if a != "anonymous"]
    participants = {str(u.id): u.full_name for u in cast_users} | {GUEST: "Guest"}
    return World(values, str(cast.room.id), participants)


def livekit_token(app, cast, actor, world: World) -> str:
    """What GET /rooms/<id>/ gives the actor to join the meeting."""
    role = cast.room.role_of(cast[actor].id) if cast[actor] else None
    return app_service(app, LiveKitGateway).token(
        room=world.meeting,
        identity=world.values["participant-self"],
        name=world.participants[world.values["participant-self"]],
        role=None if role is None else str(role),
        sources=["camera", "microphone"],
        is_authenticated=cast[actor] is not None,
    )


@pytest.mark.parametrize("actor", ACTORS)
def test_api_conforms_to_its_document(
    generated, app, testapp, cast, dbsession, connection, livekit, actor
):
    here = world(cast, actor, dbsession)
    testapp.login_as(cast[actor])
    # WebTest keeps the values quoted as in Set-Cookie; werkzeug's client quotes itself.
    cookies = {name: value.strip('"') for name, value in testapp.cookies.items()}
    session_headers = {"X-CSRF-Token": cookies["csrftoken"]} if "csrftoken" in cookies else {}
    bearer = {**session_headers, "Authorization": f"Bearer {livekit_token(app, cast, actor, here)}"}

    def wsgi(environ, start_response):
        environ[SHARED_CONNECTION_KEY] = connection
        return app(environ, start_response)

    statuses: Counter = Counter()
    failures: dict[tuple, str] = {}  # one report per (operation, failure, status)
    server_errors = nonconforming = 0
    for item in generated:
        case = item.case
        if item.path_id:
            case.path_parameters = {"id": here.values[item.path_id]}
        if item.body and isinstance(case.body, dict):
            case.body = {**case.body, **{k: here.values[v] for k, v in item.body.items()}}
        here.seat(livekit)
        savepoint = connection.begin_nested()
        try:
            response = case.call(
                app=wsgi,
                headers=bearer if item.livekit_token else session_headers,
                cookies=cookies,
            )
        except Exception as exc:  # out of the app: waitress would answer 500
            server_errors += 1
            failures.setdefault(
                (case.operation.label, type(exc).__name__),
                f"{case.operation.label} raised {exc!r}\n"
                + "".join(traceback.format_exception(exc)[-8:])
                + f"\n{case.as_curl_command()}",
            )
            continue
        finally:
            savepoint.rollback()
            empty_ephemeral_store(app)
        statuses[(case.operation.label, response.status_code)] += 1
        try:
            case.validate_response(response, checks=CHECKS)
        except FailureGroup as group:
            for failure in group.exceptions:
                if isinstance(failure, ServerError):
                    server_errors += 1
                else:
                    nonconforming += 1
                key = (case.operation.label, failure.title, response.status_code)
                failures.setdefault(key, str(group))

    TOTALS.add(actor, len(generated), server_errors, nonconforming, statuses)
    assert not failures, f"{len(failures)} distinct failures as {actor}:\n\n" + "\n\n".join(
        failures.values()
    )
    # The credentials worked: a signed-in actor was not answered as an anonymous one.
    if cast[actor] is not None:
        assert statuses[("GET /api/v1.0/users/me/", 200)] > 0
