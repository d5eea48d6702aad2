"""The external API as a resource server: access tokens the identity provider issued to
another of its clients (the dev provider's `integration`), introspected there.

Each token comes from a real authorization code flow at the provider on loopback, and
each check is answered by its real introspection endpoint.
"""

from __future__ import annotations

import time
import uuid

import pytest
import requests
from sqlalchemy import func, select

from meet_web.models import AuditEvent, Room, User
from meet_web.services import resource_server as rs
from meet_web.settings import SettingsError, load_settings
from tests.conftest import ALL_SCOPES, EXTERNAL_API_SETTINGS, bearer
from tests.permissions.test_external_api_permissions import (
    CREATE,
    DELETE,
    LIST,
    RETRIEVE,
    SCOPE_OF,
    UPDATE,
)
from tests.servers.oidc import INTEGRATION_CLIENT_ID, INTEGRATION_CLIENT_SECRET
from tests.unit.test_settings import MINIMAL

ROOMS = "/external-api/v1.0/rooms/"
RESOURCE_SERVER = {
    "resource_server.enabled": "true",
    "resource_server.allowed_audiences": INTEGRATION_CLIENT_ID,
}
EVERY_SCOPE = "openid lasuite_meet " + " ".join(ALL_SCOPES)

# Tokens live 10 minutes at the dev provider; one is fetched again after 5.
_TOKENS: dict[tuple, tuple[float, str]] = {}


@pytest.fixture
def token_for(oidc_provider):
    """A provider-issued token of the integration for `login` with `scope` (kept a
    while across tests: each costs a sign-in at the provider)."""

    def fetch(login: str, scope: str = EVERY_SCOPE, *, fresh: bool = False) -> str:
        key = (oidc_provider.issuer, login, scope)
        kept = _TOKENS.get(key)
        if fresh or kept is None or time.monotonic() - kept[0] > 300:
            kept = _TOKENS[key] = (time.monotonic(), oidc_provider.integration_token(login, scope))
        return kept[1]

    return fetch


@pytest.fixture
def client(external_api):
    return external_api(**RESOURCE_SERVER)


def user_count(dbsession, sub: str) -> int:
    dbsession.expire_all()
    return dbsession.scalar(select(func.count()).select_from(User).where(User.sub == sub))


# -- the permission matrices, with the provider's tokens -------------------------------

PROVIDER_ACTORS = ("no_scope", "stranger", "member", "administrator", "owner")


@pytest.fixture
def act(cast, token_for):
    def as_actor(actor: str, scope: str) -> dict:
        if actor == "no_scope":
            scopes = " ".join(s for s in ALL_SCOPES if s != scope)
            return bearer(token_for(cast.owner.sub, f"openid lasuite_meet {scopes}"))
        return bearer(token_for(cast[actor].sub))

    return as_actor


@pytest.mark.parametrize("actor", PROVIDER_ACTORS)
def test_list(client, act, cast, actor):
    res = client.get(ROOMS, headers=act(actor, SCOPE_OF["list"]), status=LIST[actor])
    if LIST[actor] == 200:
        slugs = [room["slug"] for room in res.json["results"]]
        assert slugs == ([] if actor == "stranger" else ["team-room"])


@pytest.mark.parametrize("actor", PROVIDER_ACTORS)
def test_create(client, act, cast, dbsession, actor):
    res = client.post_json(ROOMS, {}, headers=act(actor, SCOPE_OF["create"]), status=CREATE[actor])
    if CREATE[actor] == 201:
        room = dbsession.get(Room, uuid.UUID(res.json["id"]))
        assert [(a.user_id, a.role) for a in room.accesses] == [(cast[actor].id, "owner")]


@pytest.mark.parametrize("actor", PROVIDER_ACTORS)
def test_retrieve(client, act, cast, actor):
    headers = act(actor, SCOPE_OF["retrieve"])
    client.get(f"{ROOMS}{cast.room.slug}/", headers=headers, status=RETRIEVE[actor])


@pytest.mark.parametrize("actor", PROVIDER_ACTORS)
def test_update(client, act, cast, dbsession, actor):
    client.patch_json(
        f"{ROOMS}{cast.room.id}/",
        {"access_level": "restricted"},
        headers=act(actor, SCOPE_OF["update"]),
        status=UPDATE[actor],
    )
    dbsession.expire_all()
    expected = "restricted" if UPDATE[actor] == 200 else "public"
    assert dbsession.get(Room, cast.room.id).access_level == expected


@pytest.mark.parametrize("actor", PROVIDER_ACTORS)
def test_delete(client, act, cast, dbsession, actor):
    room_id = cast.room.id
    client.delete(
        f"{ROOMS}{room_id}/", headers=act(actor, SCOPE_OF["delete"]), status=DELETE[actor]
    )
    dbsession.expire_all()
    assert (dbsession.get(Room, room_id) is None) == (DELETE[actor] == 204)


# -- users -----------------------------------------------------------------------------


def test_first_token_of_a_new_subject_makes_its_user(client, token_for, dbsession):
    sub = f"rs-newcomer-{uuid.uuid4().hex[:8]}"
    res = client.post_json(ROOMS, {}, headers=bearer(token_for(sub)), status=201)
    user = dbsession.scalars(select(User).where(User.sub == sub)).one()
    # No email or name from a token: a sign-in's claims fill them.
    assert (user.email, user.full_name, user.is_operator) == (None, None, False)
    room = dbsession.get(Room, uuid.UUID(res.json["id"]))
    assert [a.user_id for a in room.accesses] == [user.id]
    event = dbsession.scalars(select(AuditEvent).where(AuditEvent.target_id == str(room.id))).one()
    assert (event.action, event.actor_id) == ("room.create", user.id)
    assert event.actor_label == f"provider client {INTEGRATION_CLIENT_ID}"
    client.get(ROOMS, headers=bearer(token_for(sub)), status=200)
    assert user_count(dbsession, sub) == 1


def test_unknown_subject_without_user_creation(external_api, token_for, dbsession):
    client = external_api(**RESOURCE_SERVER, **{"oidc.create_user": "false"})
    sub = f"rs-unknown-{uuid.uuid4().hex[:8]}"
    res = client.get(ROOMS, headers=bearer(token_for(sub)), status=401)
    assert res.json == {"detail": rs.USER_NOT_FOUND}
    assert user_count(dbsession, sub) == 0


def test_disabled_user_is_refused_even_with_a_cached_answer(client, token_for, cast, dbsession):
    headers = bearer(token_for(cast.member.sub, fresh=True))
    client.get(ROOMS, headers=headers, status=200)
    cast.member.is_active = False
    dbsession.flush()
    res = client.get(ROOMS, headers=headers, status=401)
    assert res.json == {"detail": rs.USER_DISABLED}


# -- refused tokens: 401, nothing written ------------------------------------------------


def refused(client, dbsession, headers, message, status=401):
    before = dbsession.scalar(select(func.count()).select_from(Room))
    res = client.post_json(ROOMS, {}, headers=headers, status=status)
    assert res.json == {"detail": message}
    if status == 401:
        assert res.headers["WWW-Authenticate"] == "Bearer"
    dbsession.expire_all()
    assert dbsession.scalar(select(func.count()).select_from(Room)) == before
    return res


def test_a_token_the_provider_does_not_know(client, dbsession):
    refused(client, dbsession, bearer("not-a-token-of-anyone"), rs.INACTIVE)


def test_a_revoked_token(external_api, oidc_provider, token_for, dbsession):
    client = external_api(**RESOURCE_SERVER, **{"resource_server.cache_seconds": "0"})
    token = token_for("rs-revoked", fresh=True)
    client.get(ROOMS, headers=bearer(token), status=200)
    revoke(oidc_provider, token)
    refused(client, dbsession, bearer(token), rs.INACTIVE)


def test_a_cached_answer_outlives_a_revocation_for_its_lifetime(client, oidc_provider, token_for):
    """resource_server.cache_seconds (60 s by default) is how long a revoked token may
    still work: the price of not asking the provider on every request."""
    token = token_for("rs-cached", fresh=True)
    client.get(ROOMS, headers=bearer(token), status=200)
    revoke(oidc_provider, token)
    client.get(ROOMS, headers=bearer(token), status=200)


def revoke(oidc_provider, token: str) -> None:
    response = requests.post(
        oidc_provider.discovery()["revocation_endpoint"],
        data={"token": token},
        auth=(INTEGRATION_CLIENT_ID, INTEGRATION_CLIENT_SECRET),
        timeout=10,
    )
    response.raise_for_status()


def test_a_token_without_the_service_scope(client, token_for, dbsession):
    token = token_for("rs-unscoped", "openid rooms:create")
    refused(client, dbsession, bearer(token), rs.MISSING_SCOPE.format("lasuite_meet"))
    assert user_count(dbsession, "rs-unscoped") == 0


def test_a_token_of_a_client_not_allowed(external_api, token_for, dbsession):
    client = external_api(**{**RESOURCE_SERVER, "resource_server.allowed_audiences": "agenda"})
    refused(client, dbsession, bearer(token_for("rs-other-client")), rs.CLIENT_NOT_ALLOWED)
    assert user_count(dbsession, "rs-other-client") == 0


def test_any_client_when_allowed_audiences_is_a_star(external_api, token_for):
    client = external_api(**{**RESOURCE_SERVER, "resource_server.allowed_audiences": "*"})
    client.get(ROOMS, headers=bearer(token_for("rs-any-client")), status=200)


def test_off_a_provider_token_is_no_credential(external_api, token_for, dbsession):
    client = external_api()
    no_credential = "Authentication credentials were not provided."
    refused(client, dbsession, bearer(token_for("rs-off")), no_credential)


def test_an_application_token_is_still_its_own(client, dbsession, cast):
    """Application tokens are tried first and never reach the provider."""
    from tests.conftest import fetch_token, make_application

    calendar = make_application(dbsession)
    token = fetch_token(client, cast.owner.email, client_id=calendar.client_id)
    client.get(ROOMS, headers=bearer(token), status=200)


# -- the provider failing ----------------------------------------------------------------


def closed_port_url() -> str:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/token/introspection"


@pytest.mark.parametrize("where", ["unreachable", "not an introspection endpoint"])
def test_the_provider_failing_gives_503(external_api, oidc_provider, token_for, dbsession, where):
    endpoint = closed_port_url() if where == "unreachable" else oidc_provider.discovery_url
    client = external_api(**RESOURCE_SERVER, **{"resource_server.introspection_endpoint": endpoint})
    sub = f"rs-down-{uuid.uuid4().hex[:8]}"
    refused(client, dbsession, bearer(token_for(sub)), rs.UNREACHABLE, status=503)
    assert user_count(dbsession, sub) == 0


# -- the pace of introspections ---------------------------------------------------------


def an_address() -> dict:
    """A client address of this test's own (the store may be shared between tests)."""
    return {"REMOTE_ADDR": f"2001:db8::{uuid.uuid4().hex[:4]}:{uuid.uuid4().hex[:4]}"}


@pytest.fixture
def paced(external_api):
    return external_api(**RESOURCE_SERVER, **{"resource_server.rate_limit": "3"})


def test_made_up_tokens_are_throttled_past_the_rate_limit(paced, token_for, dbsession):
    address = an_address()
    for n in range(3):
        paced.get(ROOMS, headers=bearer(f"made-up-{n}"), extra_environ=address, status=401)
    # the fourth is not sent to the provider: a good token is throttled as well
    sub = f"rs-paced-{uuid.uuid4().hex[:8]}"
    before = dbsession.scalar(select(func.count()).select_from(Room))
    res = paced.post_json(
        ROOMS, {}, headers=bearer(token_for(sub)), extra_environ=address, status=429
    )
    assert res.json == {"detail": "Request was throttled. Expected available in 60 seconds."}
    assert res.headers["Retry-After"] == "60"
    assert user_count(dbsession, sub) == 0
    dbsession.expire_all()
    assert dbsession.scalar(select(func.count()).select_from(Room)) == before
    # ... from that address only
    paced.get(ROOMS, headers=bearer(token_for(sub)), extra_environ=an_address(), status=200)


def test_answers_kept_do_not_count_toward_the_rate_limit(paced, token_for, cast):
    address = an_address()
    headers = bearer(token_for(cast.member.sub, fresh=True))
    for _ in range(6):  # one introspection, then the kept answer
        paced.get(ROOMS, headers=headers, extra_environ=address, status=200)
    for n in range(2):
        paced.get(ROOMS, headers=bearer(f"made-up-{n}"), extra_environ=address, status=401)
    paced.get(ROOMS, headers=bearer("made-up-2"), extra_environ=address, status=429)
    paced.get(ROOMS, headers=headers, extra_environ=address, status=200)


def test_with_the_cache_down_provider_tokens_get_503(external_api, token_for, dbsession):
    """The pace is counted in the cache: without it, no unthrottled introspections."""
    from tests.functional.test_faults import REDIS_DOWN, assert_unavailable

    client = external_api(**RESOURCE_SERVER, **REDIS_DOWN)
    sub = f"rs-no-cache-{uuid.uuid4().hex[:8]}"
    before = dbsession.scalar(select(func.count()).select_from(Room))
    headers = bearer(token_for(sub))
    res = client.post_json(ROOMS, {}, headers=headers, extra_environ=an_address(), status=503)
    assert_unavailable(res)
    assert user_count(dbsession, sub) == 0
    dbsession.expire_all()
    assert dbsession.scalar(select(func.count()).select_from(Room)) == before


def test_no_rate_limit_at_zero(external_api):
    client = external_api(**RESOURCE_SERVER, **{"resource_server.rate_limit": "0"})
    address = an_address()
    for n in range(70):
        client.get(ROOMS, headers=bearer(f"made-up-{n}"), extra_environ=address, status=401)


# -- configuration -----------------------------------------------------------------------


def test_scopes_prefix_is_stripped():
    config = rs.ResourceServerConfig.from_settings(
        load_settings(
            {**base_ini(), **RESOURCE_SERVER, "resource_server.scopes_prefix": "meet:"}, {}
        )
    )
    assert config.action_scopes(frozenset({"meet:rooms:list", "openid"})) == {
        "rooms:list",
        "openid",
    }


def base_ini() -> dict:
    return {**MINIMAL, **EXTERNAL_API_SETTINGS}


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        (
            {"resource_server.allowed_audiences": ""},
            "resource_server.allowed_audiences is required with resource_server.enabled",
        ),
        ({"external_api.enabled": "false"}, "resource_server.enabled needs external_api.enabled"),
        (
            {"resource_server.introspection_endpoint": "ftp://idp/introspect"},
            "resource_server.introspection_endpoint",
        ),
        ({"resource_server.cache_seconds": "-1"}, "resource_server.cache_seconds must be 0"),
        ({"resource_server.rate_limit": "-1"}, "resource_server.rate_limit must be 0"),
    ],
)
def test_settings_refused_at_start(changes, problem):
    with pytest.raises(SettingsError) as raised:
        load_settings({**base_ini(), **RESOURCE_SERVER, **changes}, {})
    assert problem in str(raised.value)


# -- JWT answers (RFC 9701), signed by the provider and encrypted to our key --------------


def private_pem(key) -> str:
    return key.as_pem(private=True).decode()


@pytest.fixture
def jwt_settings(oidc_provider) -> dict:
    return {
        **RESOURCE_SERVER,
        "resource_server.client_id": oidc_provider.jwt_client_id,
        "resource_server.jwt_introspection": "true",
        "resource_server.encryption_key": private_pem(oidc_provider.jwt_client_key),
    }


def test_jwt_answers_are_decrypted_and_verified(
    external_api, jwt_settings, token_for, cast, dbsession
):
    client = external_api(**jwt_settings)
    res = client.get(ROOMS, headers=bearer(token_for(cast.member.sub)), status=200)
    assert [room["slug"] for room in res.json["results"]] == ["team-room"]
    refused(client, dbsession, bearer("not-a-token-of-anyone"), rs.INACTIVE)


@pytest.mark.parametrize(
    "change",
    [
        "no key",
        "another key",
        "another signing algorithm",
        # the provider refuses a JSON answer to a client it encrypts for
        "JSON asked of a JWT client",
    ],
)
def test_jwt_answers_that_do_not_verify_give_503(
    external_api, jwt_settings, token_for, dbsession, change
):
    from joserfc.jwk import RSAKey

    settings = dict(jwt_settings)
    if change == "no key":
        settings["resource_server.encryption_key"] = ""
    elif change == "another key":
        settings["resource_server.encryption_key"] = private_pem(RSAKey.generate_key(2048))
    elif change == "another signing algorithm":
        settings["resource_server.signing_algorithm"] = "RS256"
    else:
        settings["resource_server.jwt_introspection"] = "false"
    client = external_api(**settings)
    sub = f"rs-jwt-{uuid.uuid4().hex[:8]}"
    refused(client, dbsession, bearer(token_for(sub)), rs.UNREACHABLE, status=503)
    assert user_count(dbsession, sub) == 0


def test_a_jwt_answer_from_another_issuer_gives_503(
    external_api, jwt_settings, oidc_provider, token_for, dbsession, caplog
):
    """The same provider under another name (localhost for 127.0.0.1): its discovery,
    keys and introspection answer, but its answers name the issuer it knows."""
    other_name = oidc_provider.issuer.replace("127.0.0.1", "localhost")
    client = external_api(**jwt_settings, **{"oidc.issuer": other_name})
    sub = f"rs-jwt-iss-{uuid.uuid4().hex[:8]}"
    refused(client, dbsession, bearer(token_for(sub)), rs.UNREACHABLE, status=503)
    assert f"the answer's issuer is '{oidc_provider.issuer}'" in caplog.text
    assert user_count(dbsession, sub) == 0


@pytest.fixture
def relayed_answers(oidc_provider):
    """An introspection endpoint on loopback that asks the provider as another of its
    services (`<client>-jwt-other`, which shares our encryption key) and hands back that
    answer: a genuine, signed answer, meant for someone else."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    endpoint = oidc_provider.discovery()["introspection_endpoint"]

    class Relay(BaseHTTPRequestHandler):
        def do_POST(self):
            form = self.rfile.read(int(self.headers["Content-Length"]))
            answer = requests.post(
                endpoint,
                data=form,
                headers={
                    "Accept": self.headers["Accept"],
                    "Content-Type": self.headers["Content-Type"],
                },
                auth=(f"{oidc_provider.jwt_client_id}-other", oidc_provider.client_secret),
                timeout=10,
            )
            self.send_response(answer.status_code)
            self.send_header("Content-Type", answer.headers["Content-Type"])
            self.send_header("Content-Length", str(len(answer.content)))
            self.end_headers()
            self.wfile.write(answer.content)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Relay)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/introspect"
    server.shutdown()
    server.server_close()


def test_a_jwt_answer_for_another_service_gives_503(
    external_api, jwt_settings, oidc_provider, relayed_answers, token_for, dbsession, caplog
):
    client = external_api(
        **jwt_settings, **{"resource_server.introspection_endpoint": relayed_answers}
    )
    sub = f"rs-jwt-aud-{uuid.uuid4().hex[:8]}"
    refused(client, dbsession, bearer(token_for(sub)), rs.UNREACHABLE, status=503)
    assert f"the answer is for '{oidc_provider.jwt_client_id}-other', not for us" in caplog.text
    assert user_count(dbsession, sub) == 0


@pytest.mark.parametrize(
    "actor", ["anonymous", "stranger", "member", "administrator", "owner", "operator"]
)
def test_jwks_serves_the_public_key_to_everyone(
    external_api, jwt_settings, oidc_provider, cast, actor
):
    client = external_api(**jwt_settings)
    if cast[actor] is not None:
        client.login_as(cast[actor])
    res = client.get("/jwks", status=200)
    assert res.content_type == "application/jwk-set+json"
    (key,) = res.json["keys"]
    assert (key["kty"], key["use"], key["alg"]) == ("RSA", "enc", "RSA-OAEP")
    assert key["n"] == oidc_provider.jwt_client_key.as_dict(private=False)["n"]
    assert "d" not in key and "p" not in key


@pytest.mark.parametrize("overrides", [{}, RESOURCE_SERVER])
def test_jwks_is_not_found_without_an_encryption_key(external_api, overrides):
    external_api(**overrides).get("/jwks", status=404)


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (
            "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----",
            "not an RSA private key",
        ),
        ('{"kty": "RSA", "n": "AQAB", "e": "AQAB"}', "not an RSA private key"),
    ],
)
def test_a_malformed_encryption_key_is_refused_at_start_without_showing_it(value, problem):
    with pytest.raises(SettingsError) as raised:
        load_settings(
            {**base_ini(), **RESOURCE_SERVER, "resource_server.encryption_key": value}, {}
        )
    assert problem in str(raised.value)
    assert "not a key" not in str(raised.value)


def test_a_public_key_is_refused_as_the_encryption_key(oidc_provider):
    public = oidc_provider.jwt_client_key.as_pem(private=False).decode()
    with pytest.raises(SettingsError) as raised:
        load_settings(
            {**base_ini(), **RESOURCE_SERVER, "resource_server.encryption_key": public}, {}
        )
    assert "the private one is needed" in str(raised.value)
