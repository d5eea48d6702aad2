"""hs256.py answers as PyJWT does: the same bytes when encoding, the same verdict when
decoding (`jwt.decode(..., algorithms=["HS256"], issuer=..., leeway=..., require)`)."""

from __future__ import annotations

import base64
import json
import time

import jwt
import pytest

from meet_web.services import hs256

SECRET = "s" * 64
ISSUER = "api-key"
LEEWAY = 60.0


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forged(header: dict, payload, secret: str = SECRET) -> str:
    """A token signed (HS256) over any header and payload, as an attacker might send."""
    import hashlib
    import hmac

    signing = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(payload).encode())}"
    signature = hmac.new(secret.encode(), signing.encode(), hashlib.sha256).digest()
    return f"{signing}.{b64(signature)}"


def forged_raw(payload: bytes, header: bytes = b'{"alg":"HS256","typ":"JWT"}') -> str:
    """As `forged`, over the payload's bytes as given (documents json.dumps never writes)."""
    import hashlib
    import hmac

    signing = f"{b64(header)}.{b64(payload)}"
    signature = hmac.new(SECRET.encode(), signing.encode(), hashlib.sha256).digest()
    return f"{signing}.{b64(signature)}"


def pyjwt_verdict(token: str):
    try:
        return jwt.decode(
            token,
            SECRET,
            algorithms=["HS256"],
            issuer=ISSUER,
            leeway=LEEWAY,
            options={"require": ["exp"]},
        )
    except Exception:
        return "refused"


def our_verdict(token: str):
    try:
        return hs256.decode(token, SECRET, issuer=ISSUER, leeway=LEEWAY, require=("exp",))
    except hs256.InvalidJWT:
        return "refused"


NOW = int(time.time())
# Collected long before they run in a full suite: valid for a day, not minutes.
GOOD = {"iss": ISSUER, "exp": NOW + 86400, "sha256": "abc"}
HS = {"alg": "HS256", "typ": "JWT"}


def tokens():
    good = jwt.encode(GOOD, SECRET, algorithm="HS256")
    head, body, sig = good.split(".")
    yield "valid", good
    yield "padded", f"{head}==.{body}.{sig}" if len(head) % 4 == 2 else good
    yield "wrong secret", jwt.encode(GOOD, "x" * 64, algorithm="HS256")
    yield "HS512", jwt.encode(GOOD, SECRET, algorithm="HS512")
    yield "alg none", forged({"alg": "none"}, GOOD)
    yield "no alg", forged({"typ": "JWT"}, GOOD)
    yield "b64 false", forged({**HS, "b64": False}, GOOD)
    yield "crit", forged({**HS, "crit": ["exp"]}, GOOD)
    yield "header not an object", forged([1], GOOD)
    yield "payload not an object", forged(HS, [GOOD])
    yield "expired", forged(HS, {**GOOD, "exp": NOW - 120})
    yield "expired within leeway", forged(HS, {**GOOD, "exp": NOW - 30})
    yield "no exp", forged(HS, {k: v for k, v in GOOD.items() if k != "exp"})
    yield "exp null", forged(HS, {**GOOD, "exp": None})
    yield "exp text", forged(HS, {**GOOD, "exp": "soon"})
    yield "exp float", forged(HS, {**GOOD, "exp": NOW + 300.5})
    yield "nbf future", forged(HS, {**GOOD, "nbf": NOW + 120})
    yield "nbf within leeway", forged(HS, {**GOOD, "nbf": NOW + 30})
    yield "iat future", forged(HS, {**GOOD, "iat": NOW + 120})
    yield "iat text", forged(HS, {**GOOD, "iat": "x"})
    yield "wrong issuer", forged(HS, {**GOOD, "iss": "other"})
    yield "no issuer", forged(HS, {k: v for k, v in GOOD.items() if k != "iss"})
    yield "issuer not a string", forged(HS, {**GOOD, "iss": [ISSUER]})
    yield "audience", forged(HS, {**GOOD, "aud": "someone"})
    yield "empty audience", forged(HS, {**GOOD, "aud": ""})
    yield "sub not a string", forged(HS, {**GOOD, "sub": 5})
    yield "jti not a string", forged(HS, {**GOOD, "jti": 5})
    yield "two segments", f"{head}.{body}"
    yield "junk", "not a token"
    yield "plus in payload", f"{head}.{body[:-1]}+.{sig}"
    yield "slash in signature", f"{head}.{body}.{sig[:-1]}/"
    yield "bang", f"{head}.{body}!.{sig}"
    yield "one char too many", f"{head}.{body}A.{sig}"
    yield "three pads", f"{head}===.{body}.{sig}"
    yield "empty", ""
    # JSON that orjson refuses and PyJWT's json.loads reads: the verdicts stay PyJWT's
    good_json = json.dumps(GOOD)
    yield "exp NaN", forged_raw(good_json.replace(f"{NOW + 86400}", "NaN").encode())
    yield "exp Infinity", forged_raw(good_json.replace(f"{NOW + 86400}", "Infinity").encode())
    yield "exp beyond 64 bits", forged(HS, {**GOOD, "exp": 2**70})
    yield "sub beyond 64 bits", forged(HS, {**GOOD, "sub": 2**70})
    yield "payload in UTF-16", forged_raw(good_json.encode("utf-16"))
    yield "lone surrogate", forged_raw(good_json.replace('"abc"', '"\\ud800"').encode())
    yield "duplicate exp", forged_raw(good_json.replace("{", '{"exp": 1, ', 1).encode())
    yield "deep nesting", forged_raw(good_json.replace('"abc"', "[" * 2000 + "]" * 2000).encode())
    yield "header NaN", forged_raw(good_json.encode(), b'{"alg":"HS256","x":NaN}')


@pytest.mark.parametrize(("case", "token"), list(tokens()))
def test_decode_agrees_with_pyjwt(case, token):
    assert our_verdict(token) == pyjwt_verdict(token)


def test_decode_accepts_a_valid_token():
    token = jwt.encode(GOOD, SECRET, algorithm="HS256")
    assert our_verdict(token) == GOOD


@pytest.mark.parametrize(
    "claims",
    [
        GOOD,
        {"name": "Zoé", "video": {"room": "r", "roomJoin": True}, "sub": "x", "exp": NOW},
        {"attributes": {"color": "hsl(1, 2%, 3%)"}, "nbf": NOW, "exp": NOW + 1},
    ],
)
def test_encode_gives_pyjwts_bytes(claims):
    assert hs256.encode(claims, SECRET) == jwt.encode(claims, SECRET, algorithm="HS256")
