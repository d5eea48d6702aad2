"""What every JSON API test checks the same way: the error body and unusable request bodies."""

import pytest

UUID = "123e4567-e89b-12d3-a456-426614174000"  # a well-formed id that names nothing

# Request bodies that are not a JSON object, with the message each must get.
BAD_BODIES = [
    pytest.param(b"{", "application/json", "JSON parse error", id="malformed"),
    pytest.param(b"{'name': 'x'}", "application/json", "JSON parse error", id="single-quotes"),
    pytest.param(b"\xff\xfe", "application/json", "JSON parse error", id="not-utf8"),
    pytest.param(b"[" * 100_000, "application/json", "JSON parse error", id="too-deep"),
    pytest.param(b"name=x", "application/x-www-form-urlencoded", "JSON parse error", id="form"),
    pytest.param(b"[]", "application/json", "but got list", id="list"),
    pytest.param(b'"name"', "application/json", "but got str", id="string"),
    pytest.param(b"1", "application/json", "but got int", id="number"),
    pytest.param(b"null", "application/json", "but got NoneType", id="null"),
]


def assert_error(res, status: int, field: str | None = None, *, key: str = "detail") -> dict:
    """A JSON error in the reference's (DRF's) shape: with `field`, `{field: [messages]}`
    (other fields may be named too); without, `{key: message}` and nothing else."""
    assert res.status_int == status
    assert res.content_type == "application/json"
    body = res.json
    if field is not None:
        assert isinstance(body.get(field), list | dict), body
        assert all(isinstance(v, list | dict) for v in body.values()), body
    else:
        assert set(body) == {key}, body
        assert isinstance(body[key], str) and body[key], body
    return body


def error_text(body: dict) -> str:
    """All messages of an error body, for `in` checks."""
    return " ".join(" ".join(map(str, v)) if isinstance(v, list) else str(v) for v in body.values())


def assert_bad_body(res, message: str) -> None:
    """The answer to one of BAD_BODIES: DRF's parse error, or its `non_field_errors`."""
    assert res.status_int == 400
    body = res.json
    assert set(body) in ({"detail"}, {"non_field_errors"}), body
    assert message in error_text(body)
