"""What every JSON API test checks the same way: the error body and unusable request bodies."""

import pytest

UUID = "123e4567-e89b-12d3-a456-426614174000"  # a well-formed id that names nothing

# Request bodies that are not a JSON object, with the message each must get.
BAD_BODIES = [
    pytest.param(b"{", "application/json", "not valid JSON", id="malformed"),
    pytest.param(b"{'name': 'x'}", "application/json", "not valid JSON", id="single-quotes"),
    pytest.param(b"\xff\xfe", "application/json", "not valid JSON", id="not-utf8"),
    pytest.param(b"[" * 100_000, "application/json", "not valid JSON", id="too-deep"),
    pytest.param(b"name=x", "application/x-www-form-urlencoded", "not valid JSON", id="form"),
    pytest.param(b"[]", "application/json", "JSON object", id="list"),
    pytest.param(b'"name"', "application/json", "JSON object", id="string"),
    pytest.param(b"1", "application/json", "JSON object", id="number"),
    pytest.param(b"null", "application/json", "JSON object", id="null"),
]


def assert_error(res, status: int, field: str | None = None) -> dict:
    """A JSON error with that status, its message in `detail`, naming `field` if given."""
    assert res.status_int == status
    assert res.content_type == "application/json"
    body = res.json
    assert body["detail"] == body["error"]["message"]
    if field is not None:
        assert field in body["error"]["fields"], body
    return body
