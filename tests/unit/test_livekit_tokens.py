"""Participant tokens minted without livekit-api's AccessToken carry exactly the claims
it would put in them, and livekit-api's verifier reads them the same way."""

from __future__ import annotations

import itertools
from datetime import timedelta

import jwt
import pytest
from livekit import api

from meet_web.services.livekit import (
    ADMIN_ROLES,
    TOKEN_TTL,
    LiveKitGateway,
    participant_color,
)
from tests.servers.livekit_fake import offline_gateway

API_KEY = "devkey"
API_SECRET = "a-test-secret-that-is-long-enough-0123456789"
DEFAULTS = ("camera", "microphone", "screen_share", "screen_share_audio")
ROOM = "4b4a0f64-3a52-4c5b-a8a8-1d1b9c1b2c3d"


@pytest.fixture
def gateway() -> LiveKitGateway:
    return offline_gateway(
        API_KEY, API_SECRET, public_url="wss://media.example.org", default_sources=DEFAULTS
    )


def livekit_token(
    *, room, identity, name, role, sources, is_authenticated, color=None, ttl=TOKEN_TTL
) -> str:
    """The token as livekit-api's AccessToken mints it for these inputs (our former code)."""
    grants = api.VideoGrants(
        room_join=True,
        room=room,
        room_admin=role in ADMIN_ROLES,
        can_update_own_metadata=False,
        can_subscribe=True,
        can_publish=bool(sources),
        can_publish_sources=sources,
    )
    return (
        api.AccessToken(API_KEY, API_SECRET)
        .with_identity(identity)
        .with_name(name)
        .with_ttl(ttl)
        .with_grants(grants)
        .with_attributes(
            {
                "color": color or participant_color(identity),
                "room_role": role or "",
                "is_authenticated": "true" if is_authenticated else "false",
            }
        )
        .to_jwt()
    )


def decoded(token: str) -> dict:
    return jwt.decode(token, API_SECRET, algorithms=["HS256"], options={"verify_exp": False})


def without_times(claims: dict) -> dict:
    return {k: v for k, v in claims.items() if k not in ("nbf", "exp")}


INPUTS = [
    {
        "role": role,
        "sources": sources,
        "name": name,
        "is_authenticated": is_authenticated,
        "color": color,
    }
    for role, sources, name, is_authenticated, color in itertools.product(
        [None, "member", "administrator", "owner"],
        [[], ["microphone"], list(DEFAULTS)],
        ["Alice", "", "Zoë Ünïcode"],
        [False, True],
        [None, "hsl(1, 50%, 50%)"],
    )
]


@pytest.mark.parametrize("fields", INPUTS)
def test_the_claims_are_livekit_apis(gateway, fields):
    fields = {"room": ROOM, "identity": "alice-id", **fields}
    ours, theirs = gateway.token(**fields), livekit_token(**fields)
    mine, reference = decoded(ours), decoded(theirs)
    assert without_times(mine) == without_times(reference)
    # the same order too, so that the payloads are the same bytes in the same second
    assert list(mine) == list(reference)
    assert list(mine["video"]) == list(reference["video"])
    assert jwt.get_unverified_header(ours) == jwt.get_unverified_header(theirs)
    assert abs(mine["nbf"] - reference["nbf"]) <= 1
    assert abs(mine["exp"] - reference["exp"]) <= 1


@pytest.mark.parametrize("ttl", [TOKEN_TTL, timedelta(minutes=1), timedelta(seconds=90.5)])
def test_the_lifetime_is_livekit_apis(gateway, ttl):
    fields = {"room": ROOM, "identity": "bob", "name": "Bob", "role": None, "sources": []}
    mine = decoded(gateway.token(**fields, is_authenticated=False, ttl=ttl))
    reference = decoded(livekit_token(**fields, is_authenticated=False, ttl=ttl))
    assert mine["exp"] - mine["nbf"] in (int(ttl.total_seconds()), int(ttl.total_seconds()) + 1)
    assert abs(mine["exp"] - reference["exp"]) <= 1


@pytest.mark.parametrize("fields", INPUTS[::7])
def test_livekit_apis_verifier_reads_the_same_claims(gateway, fields):
    fields = {"room": ROOM, "identity": "carol", **fields}
    verifier = api.TokenVerifier(API_KEY, API_SECRET)
    assert verifier.verify(gateway.token(**fields)) == verifier.verify(livekit_token(**fields))


@pytest.mark.parametrize(("room", "identity"), [("", "alice"), (ROOM, "")])
def test_room_and_identity_are_required_as_by_livekit_api(gateway, room, identity):
    fields = {"room": room, "identity": identity, "name": "A", "role": None, "sources": []}
    with pytest.raises(ValueError, match="identity and room must be set"):
        livekit_token(**fields, is_authenticated=False)
    with pytest.raises(ValueError, match="identity and room must be set"):
        gateway.token(**fields, is_authenticated=False)
