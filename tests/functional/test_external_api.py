"""The external API (reference §2.7): the token endpoint with each of its errors, the
bearer tokens it accepts and refuses, scopes, email domains, provisional users, and the
rooms it lists, reads, creates, changes and deletes.

Every answer under /external-api/v1.0/ is checked against that API's OpenAPI document
(`ExternalApiTestApp`); every refused request writes nothing.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
import uuid

import jwt
import pytest
from sqlalchemy import create_engine, delete, func, select
from sqlalchemy.orm import Session

from meet_web.models import AccessLevel, ResourceAccess, Role, Room, User
from tests.api_checks import BAD_BODIES, UUID, assert_bad_body, assert_error
from tests.conftest import (
    ADDONS_TOKEN_KEY,
    APPLICATION_JWT_KEY,
    CLIENT_SECRET,
    bearer,
    fetch_token,
    make_application,
    make_room,
    make_user,
)

API = "/external-api/v1.0"
TOKEN = f"{API}/application/token/"
ROOMS = f"{API}/rooms/"
NOT_PROVIDED = "Authentication credentials were not provided."
GENERATED_NAME = r"^[a-z]{3}-[a-z]{4}-[a-z]{3}$"


def credentials(application, email="alice@example.org", **changes) -> dict:
    return {
        "client_id": application.client_id,
        "client_secret": CLIENT_SECRET,
        "grant_type": "client_credentials",
        "scope": email,
        **changes,
    }


def signed(claims: dict, key: str = APPLICATION_JWT_KEY) -> str:
    now = int(time.time())
    return jwt.encode({"iss": "lasuite-meet", "iat": now, "exp": now + 600, **claims}, key)


def application_token(application, user, **claims) -> str:
    """A token as the token endpoint makes it (or changed by `claims`)."""
    return signed(
        {
            "user_id": str(user.id),
            "client_id": application.client_id,
            "delegated": True,
            "scope": " ".join(application.scopes),
            **claims,
        }
    )


def counts(dbsession) -> tuple[int, int, int]:
    dbsession.expire_all()
    return tuple(
        dbsession.scalar(select(func.count()).select_from(model))
        for model in (User, Room, ResourceAccess)
    )


@pytest.fixture
def client(external_api):
    return external_api()


@pytest.fixture
def alice(dbsession):
    return make_user(dbsession, "alice")


@pytest.fixture
def calendar(dbsession):
    return make_application(dbsession)


@pytest.fixture
def token(client, calendar, alice):
    return fetch_token(client, alice.email, client_id=calendar.client_id)


# -- the token endpoint -------------------------------------------------------------------


def test_token_for_client_credentials(client, calendar, alice):
    res = client.post_json(TOKEN, credentials(calendar), status=200)
    assert set(res.json) == {"access_token", "token_type", "expires_in", "scope"}
    assert res.json["token_type"] == "Bearer"
    assert res.json["expires_in"] == 3600
    assert res.json["scope"] == "rooms:create rooms:list rooms:retrieve rooms:update rooms:delete"
    assert res.headers["Cache-Control"] == "no-store"
    claims = jwt.decode(
        res.json["access_token"], APPLICATION_JWT_KEY, algorithms=["HS256"], issuer="lasuite-meet"
    )
    assert claims["user_id"] == str(alice.id)
    assert claims["client_id"] == calendar.client_id
    assert claims["delegated"] is True
    assert claims["scope"] == res.json["scope"]
    assert claims["exp"] - claims["iat"] == 3600
    assert "aud" not in claims


def test_token_for_a_form(client, calendar, alice):
    res = client.post(TOKEN, credentials(calendar), status=200)  # form-urlencoded
    claims = jwt.decode(res.json["access_token"], options={"verify_signature": False})
    assert claims["user_id"] == str(alice.id)


def test_token_finds_the_user_whatever_the_case(client, calendar, alice):
    res = client.post_json(TOKEN, credentials(calendar, "ALICE@Example.ORG"), status=200)
    claims = jwt.decode(res.json["access_token"], options={"verify_signature": False})
    assert claims["user_id"] == str(alice.id)


def test_token_of_an_application_without_scopes_has_no_scope(client, dbsession, alice):
    bare = make_application(dbsession, "Bare", scopes=())
    res = client.post_json(TOKEN, credentials(bare), status=200)
    assert "scope" not in res.json
    assert "scope" not in jwt.decode(res.json["access_token"], options={"verify_signature": False})


def test_token_with_an_audience(external_api, calendar, alice):
    client = external_api(**{"applications.jwt_audience": "meet-partners"})
    token = fetch_token(client, alice.email, client_id=calendar.client_id)
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["aud"] == "meet-partners"
    client.get(ROOMS, headers=bearer(token), status=200)
    # one without the audience is refused there
    res = client.get(ROOMS, headers=bearer(application_token(calendar, alice)), status=401)
    assert res.json == {"detail": "Invalid token."}


def test_token_lifetime_follows_the_setting(external_api, calendar, alice):
    client = external_api(**{"applications.jwt_expiration_seconds": "120"})
    res = client.post_json(TOKEN, credentials(calendar), status=200)
    assert res.json["expires_in"] == 120


def test_token_is_404_while_applications_are_off(external_api, calendar, alice, dbsession):
    client = external_api(**{"applications.enabled": "false"})
    res = client.post_json(TOKEN, credentials(calendar), status=404)
    assert res.json == {"detail": "Not found."}


@pytest.mark.parametrize(
    "path", ["application/token/", "rooms/", f"rooms/{UUID}/", "openapi.json", "nothing/"]
)
def test_everything_is_404_while_the_external_api_is_off(external_api, calendar, path):
    client = external_api(**{"external_api.enabled": "false"})
    res = client.post_json(f"{API}/{path}", credentials(calendar), expect_errors=True)
    assert res.status_int == 404
    assert res.json == {"detail": "Not found."}
    client.get(f"{API}/{path}", status=404)


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"client_id": None}, "client_id", "Not a valid string."),
        ({"client_secret": ""}, "client_secret", "This field may not be blank."),
        ({"grant_type": "password"}, "grant_type", '"password" is not a valid choice.'),
        ({"grant_type": ""}, "grant_type", '"" is not a valid choice.'),
        ({"scope": "   "}, "scope", "This field may not be blank."),
        ({"scope": ["alice@example.org"]}, "scope", "Not a valid string."),
        ({"client_id": "x" * 101}, "client_id", "Ensure this field has no more than 100"),
    ],
)
def test_token_refuses_bad_fields(client, calendar, alice, dbsession, changes, field, message):
    before = counts(dbsession)
    res = client.post_json(TOKEN, credentials(calendar, **changes), status=400)
    assert message in res.json[field][0]
    assert counts(dbsession) == before


@pytest.mark.parametrize("missing", ["client_id", "client_secret", "grant_type", "scope"])
@pytest.mark.parametrize("encoding", ["json", "form"])
def test_token_needs_every_field(client, calendar, missing, encoding):
    body = credentials(calendar)
    del body[missing]
    send = client.post_json if encoding == "json" else client.post
    res = send(TOKEN, body, status=400)
    assert res.json == {missing: ["This field is required."]}


def test_token_without_a_body_names_every_field(client):
    res = client.post(TOKEN, status=400)
    assert set(res.json) == {"client_id", "client_secret", "grant_type", "scope"}


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"client_id=x", "text/plain"),
        (b'{"client_id": "x"}', "application/vnd.api+json"),
        (b"--b\r\n\r\n--b--", "multipart/form-data; boundary=b"),
        (b"client_id=x", ""),
    ],
)
def test_token_refuses_other_content_types(client, body, content_type):
    res = client.post(TOKEN, body, content_type=content_type, status=415)
    assert_error(res, 415)
    assert res.json["detail"].startswith("Unsupported media type")


# A form is a token request's other encoding: only the JSON ones are bad here.
BAD_JSON_BODIES = [p for p in BAD_BODIES if p.values[1] == "application/json"]


@pytest.mark.parametrize(("body", "content_type", "message"), BAD_JSON_BODIES)
def test_token_refuses_a_body_that_is_no_json_object(client, body, content_type, message):
    assert_bad_body(client.post(TOKEN, body, content_type=content_type, status=400), message)


def test_token_refuses_a_form_that_is_not_utf8(client):
    form = "application/x-www-form-urlencoded"
    res = client.post(TOKEN, b"client_id=\xff", content_type=form, status=400)
    assert_error(res, 400)


def test_token_refuses_an_unknown_client(client, calendar):
    res = client.post_json(TOKEN, credentials(calendar, client_id="nobody"), status=401)
    assert res.json == {"detail": "Invalid credentials"}
    assert res.headers["WWW-Authenticate"] == "Bearer"


def test_token_refuses_a_wrong_secret(client, calendar):
    body = credentials(calendar, client_secret=CLIENT_SECRET + "x")
    assert client.post_json(TOKEN, body, status=401).json == {"detail": "Invalid credentials"}


def test_token_refuses_an_inactive_application_after_its_secret(client, dbsession, alice):
    inactive = make_application(dbsession, "Off", is_active=False)
    res = client.post_json(TOKEN, credentials(inactive), status=401)
    assert res.json == {"detail": "Application is inactive"}
    # a wrong secret is told as such first: the flag is no one else's business
    wrong = credentials(inactive, client_secret="wrong")
    assert client.post_json(TOKEN, wrong, status=401).json == {"detail": "Invalid credentials"}


@pytest.mark.parametrize("scope", ["alice", "alice@", "@example.org", "a b@example.org"])
def test_token_scope_must_be_an_email(client, calendar, scope):
    res = client.post_json(TOKEN, credentials(calendar, scope), status=400)
    assert res.json == {"error": "Scope should be a valid email address."}


def test_token_scope_is_checked_after_the_credentials(client, calendar):
    body = credentials(calendar, "not-an-email", client_secret="wrong")
    assert client.post_json(TOKEN, body, status=401).json == {"detail": "Invalid credentials"}


def test_token_only_for_the_applications_domains(client, dbsession, alice):
    make_user(dbsession, "bob").email = "bob@partner.net"
    dbsession.flush()
    partner = make_application(dbsession, "Partner", domains=["partner.net", "EXAMPLE.org"])
    client.post_json(TOKEN, credentials(partner, "bob@PARTNER.net"), status=200)
    client.post_json(TOKEN, credentials(partner, "alice@example.org"), status=200)
    res = client.post_json(TOKEN, credentials(partner, "carol@elsewhere.test"), status=403)
    assert res.json == {"error": "This application is not authorized for this email domain."}
    res = client.post_json(TOKEN, credentials(partner, "eve@sub.partner.net"), status=403)
    assert "error" in res.json


def test_token_for_an_unknown_user_is_404(client, calendar, dbsession):
    before = counts(dbsession)
    res = client.post_json(TOKEN, credentials(calendar, "nobody@example.org"), status=404)
    assert res.json == {"detail": "User not found."}
    assert counts(dbsession) == before


def test_token_when_users_share_an_email(client, calendar, dbsession):
    make_user(dbsession, "twin1").email = "twin@example.org"
    make_user(dbsession, "twin2").email = "Twin@example.org"
    dbsession.flush()
    res = client.post_json(TOKEN, credentials(calendar, "twin@example.org"), status=400)
    assert res.json == {"detail": "Multiple user accounts share a common email."}


# -- provisional users --------------------------------------------------------------------

PROVISIONAL = {
    "applications.allow_user_creation": "true",
    "oidc.fallback_to_email_for_identification": "true",
}


def provisional_users(dbsession, email: str) -> list[User]:
    dbsession.expire_all()
    return list(dbsession.scalars(select(User).where(func.lower(User.email) == email.lower())))


@pytest.mark.parametrize(
    "only",
    [
        {"applications.allow_user_creation": "true"},
        {"oidc.fallback_to_email_for_identification": "true"},
    ],
)
def test_no_provisional_user_unless_both_settings(external_api, calendar, dbsession, only):
    client = external_api(**only)
    client.post_json(TOKEN, credentials(calendar, "pat@example.org"), status=404)
    assert provisional_users(dbsession, "pat@example.org") == []


def test_provisional_user_is_created_once_and_claimed_at_login(external_api, calendar, dbsession):
    client = external_api(**PROVISIONAL)
    first = client.post_json(TOKEN, credentials(calendar, "Pat@example.org"), status=200).json
    (pat,) = provisional_users(dbsession, "pat@example.org")
    assert (pat.sub, pat.email, pat.is_active) == (None, "Pat@example.org", True)
    again = client.post_json(TOKEN, credentials(calendar, "pat@EXAMPLE.org"), status=200).json
    assert provisional_users(dbsession, "pat@example.org") == [pat]
    for answer in (first, again):
        claims = jwt.decode(answer["access_token"], options={"verify_signature": False})
        assert claims["user_id"] == str(pat.id)
    # the token works for them; a room made with it is theirs
    room = client.post_json(ROOMS, {}, headers=bearer(first["access_token"]), status=201).json
    # their first login attaches the provider's subject to that same account
    client.login("pat")
    dbsession.expire_all()
    assert dbsession.get(User, pat.id).sub == "pat"
    mine = client.get("/api/v1.0/rooms/").json["results"]
    assert [r["slug"] for r in mine] == [room["slug"]]


def test_provisional_user_for_a_domain_not_allowed_is_not_created(external_api, dbsession):
    client = external_api(**PROVISIONAL)
    partner = make_application(dbsession, "Partner", domains=["partner.net"])
    client.post_json(TOKEN, credentials(partner, "pat@example.org"), status=403)
    assert provisional_users(dbsession, "pat@example.org") == []


@pytest.mark.skipif(
    not os.environ.get("MEET_TEST_DATABASE_URL", "").startswith("postgresql"),
    reason="a real race needs PostgreSQL",
)
def test_provisional_user_created_concurrently_is_found(external_api, calendar, app):
    """Another transaction creates the same provisional user meanwhile: the token's
    insert waits for it on the unique index, then finds that user (no duplicate, no
    500)."""
    client = external_api(**PROVISIONAL)
    # The test's rows stay uncommitted; the other transaction needs none of them.
    engine = create_engine(app.registry["dbengine"].url)
    other = Session(engine)
    racer = User(id=uuid.uuid4(), sub=None, email="race@example.org")
    other.add(racer)
    other.flush()  # holds the index entry until it commits
    answers = []
    calendar_credentials = credentials(calendar, "race@example.org")

    def ask():
        answers.append(client.post_json(TOKEN, calendar_credentials, expect_errors=True))

    worker = threading.Thread(target=ask)
    worker.start()
    time.sleep(0.5)
    assert worker.is_alive(), "the token's insert should be waiting on the index"
    other.commit()
    worker.join(10)
    try:
        (res,) = answers
        assert res.status_int == 200, res.body
        claims = jwt.decode(res.json["access_token"], options={"verify_signature": False})
        assert claims["user_id"] == str(racer.id)
    finally:
        other.execute(delete(User).where(User.id == racer.id))
        other.commit()
        other.close()
        engine.dispose()


# -- bearer tokens ------------------------------------------------------------------------


def test_no_token_is_401(client):
    res = client.get(ROOMS, status=401)
    assert res.json == {"detail": NOT_PROVIDED}
    assert res.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize(
    "authorization",
    ["Basic YWxpY2U6eA==", "Token abc", "Bearer not-a-jwt", "Bearer a.b.c"],
)
def test_other_credentials_are_not_provided_ones(client, authorization):
    res = client.get(ROOMS, headers={"Authorization": authorization}, status=401)
    assert res.json == {"detail": NOT_PROVIDED}


@pytest.mark.parametrize("value", ["Bearer", "Bearer {token} extra"])
def test_a_malformed_bearer_header_is_refused(client, token, value):
    headers = {"Authorization": value.format(token=token)}
    res = client.get(ROOMS, headers=headers, status=401)
    assert res.json == {"detail": "Invalid token header."}


def test_a_session_is_no_credential_here(client, alice, calendar):
    """Signed in on the site, without a token: the external API does not know you."""
    client.login_as(alice)
    client.get("/api/v1.0/users/me/", status=200)
    assert client.get(ROOMS, status=401).json == {"detail": NOT_PROVIDED}


def test_a_token_needs_no_csrf_token_beside_a_session(client, alice, token):
    """Cookies count for nothing here, so the CSRF rule of cookie sessions does not apply."""
    client.login_as(alice)
    client.post_json(ROOMS, {}, headers=bearer(token), status=201)


@pytest.mark.parametrize(
    ("claims", "detail"),
    [
        ({"exp": int(time.time()) - 10}, "Token expired."),
        ({"iss": "someone-else"}, "Invalid token."),
        ({"aud": "elsewhere"}, "Invalid token."),
        ({"client_id": None}, "Invalid token claims."),
        ({"client_id": "unknown-client"}, "Application not found."),
        ({"delegated": False}, "Invalid token type."),
        ({"delegated": "true"}, "Invalid token type."),
        ({"user_id": None}, "Invalid token claims."),
        ({"user_id": UUID}, "User not found."),
        ({"user_id": "not-a-uuid"}, "User not found."),
    ],
)
def test_refused_tokens(client, calendar, alice, claims, detail):
    token = application_token(calendar, alice, **claims)
    res = client.get(ROOMS, headers=bearer(token), status=401)
    assert res.json == {"detail": detail}
    assert res.headers["WWW-Authenticate"] == "Bearer"


def test_a_token_of_a_disabled_application_is_refused(client, calendar, token, dbsession):
    calendar.is_active = False
    dbsession.flush()
    res = client.get(ROOMS, headers=bearer(token), status=401)
    assert res.json == {"detail": "Application is disabled."}


def test_a_token_of_a_disabled_user_is_refused(client, alice, token, dbsession):
    alice.is_active = False
    dbsession.flush()
    res = client.get(ROOMS, headers=bearer(token), status=401)
    assert res.json == {"detail": "User account is disabled."}


def test_a_token_signed_with_another_key_is_not_one(client, calendar, alice):
    forged = signed(
        {"user_id": str(alice.id), "client_id": calendar.client_id, "delegated": True},
        key="another-key-of-32-bytes-or-more-0123456789",
    )
    assert client.get(ROOMS, headers=bearer(forged), status=401).json == {"detail": NOT_PROVIDED}


def test_application_tokens_are_not_accepted_while_applications_are_off(
    external_api, calendar, alice
):
    client = external_api(**{"applications.enabled": "false"})
    res = client.get(ROOMS, headers=bearer(application_token(calendar, alice)), status=401)
    assert res.json == {"detail": NOT_PROVIDED}


# -- scopes -------------------------------------------------------------------------------


def test_a_token_without_the_scope_is_403(client, dbsession, alice):
    creator = make_application(dbsession, "Creator", scopes=["rooms:create"])
    token = fetch_token(client, alice.email, client_id=creator.client_id)
    res = client.get(ROOMS, headers=bearer(token), status=403)
    assert res.json == {"detail": "Insufficient permissions"}
    client.post_json(ROOMS, {}, headers=bearer(token), status=201)


def test_scopes_are_compared_case_insensitively(client, calendar, alice):
    for scope in ("ROOMS:LIST", "Rooms:List rooms:list", ["RoOmS:lIsT"]):
        token = application_token(calendar, alice, scope=scope)
        client.get(ROOMS, headers=bearer(token), status=200)


def test_a_scope_the_application_lost_no_longer_counts(client, calendar, token, dbsession):
    calendar.scopes = ["rooms:create"]
    dbsession.flush()
    res = client.get(ROOMS, headers=bearer(token), status=403)
    assert res.json == {"detail": "Insufficient permissions"}


def test_a_scope_the_token_lacks_is_not_taken_from_the_application(client, calendar, alice):
    token = application_token(calendar, alice, scope="rooms:create")
    client.get(ROOMS, headers=bearer(token), status=403)


# -- rooms --------------------------------------------------------------------------------


@pytest.fixture
def rooms(dbsession, alice):
    """Alice owns "Alpha", administers "Beta" and is a member of "Gamma"; "Delta" is not hers."""
    stranger = make_user(dbsession, "zed")
    alpha = make_room(dbsession, "Alpha", alice)
    beta = make_room(dbsession, "Beta", stranger)
    gamma = make_room(dbsession, "Gamma", stranger)
    delta = make_room(dbsession, "Delta", stranger, access_level=AccessLevel.RESTRICTED)
    beta.accesses.append(ResourceAccess(user=alice, role=Role.ADMINISTRATOR))
    gamma.accesses.append(ResourceAccess(user=alice, role=Role.MEMBER))
    dbsession.flush()
    return {"alpha": alpha, "beta": beta, "gamma": gamma, "delta": delta}


def test_list_shows_the_users_rooms(client, token, rooms):
    res = client.get(ROOMS, headers=bearer(token), status=200).json
    assert res["count"] == 3 and res["next"] is None and res["previous"] is None
    assert [r["slug"] for r in res["results"]] == ["alpha", "beta", "gamma"]
    alpha = rooms["alpha"]
    assert res["results"][0] == {
        "id": str(alpha.id),
        "name": "Alpha",
        "slug": "alpha",
        "access_level": "public",
        "configuration": {},
    }


def test_list_pages(client, token, rooms):
    first = client.get(ROOMS, {"page_size": 2}, headers=bearer(token)).json
    assert len(first["results"]) == 2 and first["next"].endswith("page=2&page_size=2")
    second = client.get(first["next"], headers=bearer(token)).json
    assert [r["slug"] for r in second["results"]] == ["gamma"]
    assert_error(
        client.get(ROOMS, {"page": 3, "page_size": 2}, headers=bearer(token), status=404), 404
    )
    res = client.get(ROOMS, {"page_size": 101}, headers=bearer(token), status=400)
    assert_error(res, 400, "page_size")


def test_room_fields_with_a_base_url_and_telephony(external_api, calendar, alice, rooms):
    client = external_api(
        **{
            "applications.base_url": "https://meet.example.org/",
            "telephony.enabled": "true",
            "telephony.phone_number": "+33 1 23 45 67 89",
            "telephony.default_country": "FR",
        }
    )
    token = fetch_token(client, alice.email, client_id=calendar.client_id)
    room = client.post_json(ROOMS, {}, headers=bearer(token), status=201).json
    assert room["url"] == f"https://meet.example.org/{room['slug']}"
    pin = room["telephony"].pop("pin_code")
    assert pin and pin.isdigit()
    assert room["telephony"] == {
        "enabled": True,
        "phone_number": "+33 1 23 45 67 89",
        "default_country": "FR",
    }
    listed = client.get(ROOMS, headers=bearer(token)).json["results"]
    assert all("url" in r and "telephony" in r for r in listed)
    assert all("pin_code" not in r and "accesses" not in r and "livekit" not in r for r in listed)


@pytest.mark.parametrize("key", ["id", "slug", "hex"])
def test_retrieve_a_room_the_user_has_a_role_on(client, token, rooms, key):
    gamma = rooms["gamma"]
    ref = {"id": str(gamma.id), "slug": "gamma", "hex": gamma.id.hex}[key]
    res = client.get(f"{ROOMS}{ref}/", headers=bearer(token), status=200)
    assert res.json["id"] == str(gamma.id)


def test_retrieve_a_room_of_others_is_403_not_404(client, token, rooms):
    res = client.get(f"{ROOMS}{rooms['delta'].id}/", headers=bearer(token), status=403)
    assert res.json == {"detail": "You do not have permission to perform this action."}


def test_retrieve_a_room_that_does_not_exist(client, token, dbsession, alice):
    for ref in (UUID, "no-such-room"):
        res = client.get(f"{ROOMS}{ref}/", headers=bearer(token), status=404)
        assert res.json == {"detail": "No Room matches the given query."}
    # without the scope, the room's existence is not told
    lister = make_application(dbsession, "Lister", scopes=["rooms:list"])
    other = fetch_token(client, alice.email, client_id=lister.client_id)
    res = client.get(f"{ROOMS}{UUID}/", headers=bearer(other), status=403)
    assert res.json == {"detail": "Insufficient permissions"}


def test_create_a_room(client, token, alice, dbsession):
    alice.default_room_access_level = AccessLevel.RESTRICTED
    alice.default_room_configuration = {"everyone_can_mute": False}
    dbsession.flush()
    body = {"id": UUID, "name": "Board", "slug": "board", "pin_code": "1234", "extra": 1}
    res = client.post_json(ROOMS, body, headers=bearer(token), status=201).json
    assert res["name"] == res["slug"]
    assert re.match(GENERATED_NAME, res["slug"])
    # the external API's defaults, not the user's
    assert (res["access_level"], res["configuration"]) == ("trusted", {})
    assert res["id"] != UUID
    dbsession.expire_all()
    room = dbsession.get(Room, uuid.UUID(res["id"]))
    assert [(a.user_id, a.role) for a in room.accesses] == [(alice.id, Role.OWNER)]
    assert room.pin_code is None  # telephony is off


def test_create_with_an_access_level_and_a_configuration(client, token, dbsession):
    body = {"access_level": "restricted", "configuration": {"can_publish_sources": ["camera"]}}
    res = client.post_json(ROOMS, body, headers=bearer(token), status=201).json
    assert res["access_level"] == "restricted"
    assert res["configuration"] == {"can_publish_sources": ["camera"]}


def test_create_refuses_public_rooms_unless_allowed(external_api, client, token, dbsession):
    before = counts(dbsession)
    res = client.post_json(ROOMS, {"access_level": "public"}, headers=bearer(token), status=400)
    assert res.json == {"access_level": ["Public rooms are disabled for the external API."]}
    assert counts(dbsession) == before
    allowed = external_api(**{"external_api.allow_public_access": "true"})
    allowed.post_json(ROOMS, {"access_level": "public"}, headers=bearer(token), status=201)
    public_by_default = external_api(**{"external_api.default_access_level": "public"})
    res = public_by_default.post_json(ROOMS, {}, headers=bearer(token), status=201)
    assert res.json["access_level"] == "public"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"access_level": "secret"}, "access_level"),
        ({"access_level": None}, "access_level"),
        ({"configuration": []}, "configuration"),
        ({"configuration": {"nope": True}}, "configuration"),
        ({"configuration": {"can_publish_sources": ["webcam"]}}, "configuration"),
    ],
)
def test_create_refuses_bad_input(client, token, dbsession, body, field):
    before = counts(dbsession)
    res = client.post_json(ROOMS, body, headers=bearer(token), status=400)
    assert set(assert_error(res, 400, field)) == {field}
    assert counts(dbsession) == before


@pytest.mark.parametrize(("body", "content_type", "message"), BAD_BODIES)
def test_create_refuses_a_body_that_is_no_json_object(
    client, token, dbsession, body, content_type, message
):
    before = counts(dbsession)
    res = client.post(ROOMS, body, content_type=content_type, headers=bearer(token), status=400)
    assert_bad_body(res, message)
    assert counts(dbsession) == before


def test_update_a_room(client, token, rooms, dbsession, livekit):
    beta = rooms["beta"]
    url = f"{ROOMS}{beta.id}/"
    res = client.patch_json(url, {"access_level": "restricted"}, headers=bearer(token), status=200)
    assert res.json["access_level"] == "restricted"
    body = {"configuration": {"everyone_can_mute": False}, "name": "Ignored"}
    res = client.put_json(url, body, headers=bearer(token), status=200).json
    assert (res["name"], res["access_level"]) == ("Beta", "restricted")
    assert res["configuration"] == {"everyone_can_mute": False}
    dbsession.expire_all()
    room = dbsession.get(Room, beta.id)
    assert (room.access_level, room.configuration) == (
        AccessLevel.RESTRICTED,
        {"everyone_can_mute": False},
    )


def test_update_needs_an_administrator(client, token, rooms, dbsession):
    res = client.patch_json(
        f"{ROOMS}{rooms['gamma'].id}/",
        {"access_level": "restricted"},
        headers=bearer(token),
        status=403,
    )
    assert res.json == {"detail": "You do not have permission to perform this action."}
    dbsession.expire_all()
    assert dbsession.get(Room, rooms["gamma"].id).access_level == AccessLevel.PUBLIC


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"access_level": "public"}, "access_level"),
        ({"access_level": "secret"}, "access_level"),
        ({"configuration": None}, "configuration"),
        ({"configuration": {"everyone_can_mute": "yes"}}, "configuration"),
    ],
)
def test_update_refuses_bad_input(client, token, rooms, dbsession, body, field):
    alpha = rooms["alpha"]
    alpha.access_level = AccessLevel.TRUSTED
    dbsession.flush()
    res = client.patch_json(f"{ROOMS}{alpha.id}/", body, headers=bearer(token), status=400)
    assert set(assert_error(res, 400, field)) == {field}
    dbsession.expire_all()
    room = dbsession.get(Room, alpha.id)
    assert (room.access_level, room.configuration) == (AccessLevel.TRUSTED, {})


def test_delete_a_room(client, token, rooms, dbsession):
    alpha = rooms["alpha"].id
    client.delete(f"{ROOMS}{alpha}/", headers=bearer(token), status=204)
    dbsession.expire_all()
    assert dbsession.get(Room, alpha) is None
    client.get(f"{ROOMS}{alpha}/", headers=bearer(token), status=404)


def test_delete_needs_the_owner(client, token, rooms, dbsession):
    res = client.delete(f"{ROOMS}{rooms['beta'].id}/", headers=bearer(token), status=403)
    assert_error(res, 403)
    dbsession.expire_all()
    assert dbsession.get(Room, rooms["beta"].id) is not None


def test_update_and_delete_a_room_that_does_not_exist(client, token):
    res = client.patch_json(f"{ROOMS}{UUID}/", {}, headers=bearer(token), status=404)
    assert res.json == {"detail": "No Room matches the given query."}
    client.delete(f"{ROOMS}{UUID}/", headers=bearer(token), status=404)


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("GET", "application/token/", "POST"),
        ("DELETE", "rooms/", "GET, POST"),
        ("POST", "rooms/{id}/", "DELETE, GET, PATCH, PUT"),
    ],
)
def test_other_methods_are_405(client, token, rooms, method, path, allow):
    res = client.request(
        f"{API}/{path.format(id=rooms['alpha'].id)}",
        method=method,
        headers=bearer(token),
        expect_errors=True,
    )
    assert_error(res, 405)
    assert res.headers["Allow"] == allow


# -- add-on tokens ------------------------------------------------------------------------


def addon_token(user, **claims) -> str:
    now = int(time.time())
    return jwt.encode(
        {
            "iss": "lasuite-meet",
            "aud": "addons",
            "iat": now,
            "exp": now + 600,
            "user_id": str(user.id),
            "scope": "rooms:create",
            **claims,
        },
        ADDONS_TOKEN_KEY,
    )


def test_an_add_on_token_creates_rooms_and_nothing_else(client, alice, rooms, dbsession):
    token = addon_token(alice)
    res = client.post_json(ROOMS, {}, headers=bearer(token), status=201).json
    dbsession.expire_all()
    room = dbsession.get(Room, uuid.UUID(res["id"]))
    assert [(a.user_id, a.role) for a in room.accesses] == [(alice.id, Role.OWNER)]
    assert client.get(ROOMS, headers=bearer(token), status=403).json == {
        "detail": "Insufficient permissions"
    }
    client.get(f"{ROOMS}{rooms['alpha'].id}/", headers=bearer(token), status=403)
    client.delete(f"{ROOMS}{rooms['alpha'].id}/", headers=bearer(token), status=403)


@pytest.mark.parametrize(
    ("claims", "detail"),
    [
        ({"exp": int(time.time()) - 10}, "Token expired."),
        ({"aud": "someone"}, "Invalid token."),
        ({"iss": "someone"}, "Invalid token."),
        ({"user_id": UUID}, "User not found."),
    ],
)
def test_refused_add_on_tokens(client, alice, claims, detail):
    res = client.post_json(ROOMS, {}, headers=bearer(addon_token(alice, **claims)), status=401)
    assert res.json == {"detail": detail}


def test_add_on_tokens_are_not_accepted_while_add_ons_are_off(external_api, alice):
    client = external_api(**{"addons.enabled": "false"})
    res = client.post_json(ROOMS, {}, headers=bearer(addon_token(alice)), status=401)
    assert res.json == {"detail": NOT_PROVIDED}


# -- the document ---------------------------------------------------------------------------


def test_the_openapi_document(client):
    doc = client.get(f"{API}/openapi.json", status=200).json
    assert doc["openapi"] == "3.1.0"
    assert set(doc["paths"]) == {
        f"{API}/application/token/",
        f"{API}/openapi.json/",
        f"{API}/rooms/",
        f"{API}/rooms/{{id}}/",
    }
    token_body = doc["paths"][TOKEN]["post"]["requestBody"]["content"]
    assert set(token_body) == {"application/json", "application/x-www-form-urlencoded"}
    assert set(doc["paths"][f"{API}/rooms/{{id}}/"]) == {
        "parameters",
        "get",
        "put",
        "patch",
        "delete",
    }
    json.dumps(doc)
