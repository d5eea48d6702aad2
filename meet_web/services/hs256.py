"""HS256 JSON Web Tokens as LiveKit uses them: encode, and decode with PyJWT's checks.

PyJWT checks every base64url segment one character at a time in Python, which made a
token's decoding over half of a webhook's CPU; here binascii's strict mode makes the
same check in C. Only HS256, and the claims PyJWT checks for `jwt.decode(token, key,
algorithms=["HS256"], issuer=..., leeway=..., options={"require": [...]})`: iat, nbf,
exp, iss, aud (refused when present: none is expected), sub and jti types.
tests/unit/test_hs256.py holds the two to the same answers; encoding gives PyJWT's bytes.
"""

from __future__ import annotations

import binascii
import hashlib
import hmac
import json
import time
from typing import Any

import orjson

_HEADER = b'{"alg":"HS256","typ":"JWT"}'  # PyJWT's, with its sorted keys


class InvalidJWT(ValueError):
    pass


def _b64encode(data: bytes) -> bytes:
    return binascii.b2a_base64(data, newline=False).rstrip(b"=").translate(_TO_URLSAFE)


_TO_URLSAFE = bytes.maketrans(b"+/", b"-_")
_FROM_URLSAFE = bytes.maketrans(b"-_", b"+/")
_HEADER_SEGMENT = _b64encode(_HEADER)


def _b64decode(segment: bytes, name: str) -> bytes:
    # As PyJWT: up to two trailing "=" (on a whole segment), then only the base64url
    # alphabet.
    stripped = segment.rstrip(b"=")
    padding = len(segment) - len(stripped)
    if padding > 2 or (padding and len(segment) % 4) or len(stripped) % 4 == 1:
        raise InvalidJWT(f"Invalid {name} padding")
    if b"+" in stripped or b"/" in stripped:
        raise InvalidJWT(f"Invalid {name} padding")
    try:
        return binascii.a2b_base64(
            stripped.translate(_FROM_URLSAFE) + b"=" * (-len(stripped) % 4), strict_mode=True
        )
    except binascii.Error as exc:
        raise InvalidJWT(f"Invalid {name} padding") from exc


def _loads(data: bytes) -> Any:
    """json.loads, as PyJWT reads a segment, by orjson for what it parses: the documents
    it refuses (NaN, integers beyond 64 bits, UTF-16, ...) go to json for its verdict."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return json.loads(data)


def encode(claims: dict[str, Any], secret: str) -> str:
    payload = _b64encode(json.dumps(claims, separators=(",", ":")).encode())
    signing_input = _HEADER_SEGMENT + b"." + payload
    signature = hmac.new(secret.encode(), signing_input, hashlib.sha256).digest()
    return (signing_input + b"." + _b64encode(signature)).decode()


def _int_claim(payload: dict, name: str, message: str) -> int:
    try:
        return int(payload[name])
    except (ValueError, TypeError, OverflowError):
        raise InvalidJWT(message) from None


def decode(
    token: str, secret: str, *, issuer: str, leeway: float, require: tuple[str, ...] = ()
) -> dict[str, Any]:
    """The verified claims of `token`; InvalidJWT when PyJWT would refuse it."""
    raw = token.encode("utf-8")
    try:
        signing_input, signature_segment = raw.rsplit(b".", 1)
        header_segment, payload_segment = signing_input.split(b".", 1)
    except ValueError:
        raise InvalidJWT("Not enough segments") from None
    try:
        header = _loads(_b64decode(header_segment, "header"))
    except (ValueError, RecursionError) as exc:
        raise InvalidJWT(f"Invalid header string: {exc}") from exc
    if not isinstance(header, dict):
        raise InvalidJWT("Invalid header string: must be a json object")
    if header.get("alg") != "HS256" or header.get("b64", True) is not True or "crit" in header:
        raise InvalidJWT("The specified alg value is not allowed")
    payload_data = _b64decode(payload_segment, "payload")
    signature = _b64decode(signature_segment, "crypto")
    expected = hmac.new(secret.encode(), signing_input, hashlib.sha256).digest()
    if not hmac.compare_digest(signature, expected):
        raise InvalidJWT("Signature verification failed")
    try:
        payload = _loads(payload_data)
    except (ValueError, RecursionError) as exc:
        raise InvalidJWT(f"Invalid payload string: {exc}") from exc
    if not isinstance(payload, dict):
        raise InvalidJWT("Invalid payload string: must be a json object")
    for claim in require:
        if payload.get(claim) is None:
            raise InvalidJWT(f'Token is missing the "{claim}" claim')
    now = time.time()
    if "iat" in payload:
        iat = _int_claim(payload, "iat", "Issued At claim (iat) must be an integer.")
        if iat > now + leeway:
            raise InvalidJWT("The token is not yet valid (iat)")
    if "nbf" in payload:
        nbf = _int_claim(payload, "nbf", "Not Before claim (nbf) must be an integer.")
        if nbf > now + leeway:
            raise InvalidJWT("The token is not yet valid (nbf)")
    if "exp" in payload:
        exp = _int_claim(payload, "exp", "Expiration Time claim (exp) must be an integer.")
        if exp <= now - leeway:
            raise InvalidJWT("Signature has expired")
    if "iss" not in payload:
        raise InvalidJWT('Token is missing the "iss" claim')
    if not isinstance(payload["iss"], str) or payload["iss"] != issuer:
        raise InvalidJWT("Invalid issuer")
    if payload.get("aud"):
        raise InvalidJWT("Invalid audience")
    if "sub" in payload and not isinstance(payload["sub"], str):
        raise InvalidJWT("Subject must be a string")
    if "jti" in payload and not isinstance(payload["jti"], str):
        raise InvalidJWT("JWT ID must be a string")
    return payload
