"""The OpenAPI document: every API view is in it, every path in it answers, its schemas
are valid, and it is served with a page for people. (That every JSON answer the suite
receives matches it is checked by `tests/openapi_checks.py` on every request.)"""

import pytest
from jsonschema import Draft202012Validator

from meet_web.openapi import api_views, document
from tests.conftest import ACTORS
from tests.permissions.matrix import by

DOC = "/api/v1.0/openapi.json"
BEHIND_FLAGS_OFF_HERE = {  # 404 while off, as the reference
    "/api/v1.0/diagnostics/connection/",
    *(
        f"/api/v1.0/files/{tail}"
        for tail in ("", "media-auth/", "{id}/", "{id}/upload-ended/", "{id}/content/")
    ),
}
EVERYONE = by(anonymous=200, stranger=200, member=200, administrator=200, owner=200, operator=200)


def test_every_api_view_is_documented_or_says_why_not(app):
    missing = [
        f"{v.method} {v.path} ({v.name})" for v in api_views(app.registry) if not v.operation
    ]
    assert missing == []


def test_every_documented_operation_is_a_registered_view(app):
    registered = {(v.path, v.method) for v in api_views(app.registry)}
    documented = {
        (path, method.upper())
        for path, item in document(app.registry)["paths"].items()
        for method in item
        if method != "parameters"
    }
    assert documented <= registered
    assert len(documented) >= 25


def test_every_documented_path_answers(testapp, cast):
    """A request to each documented path and method reaches its view: no 404 from the
    router and no 405 (the ids are real ones)."""
    testapp.login_as(cast.owner)
    ids = {
        "/rooms/": str(cast.room.id),
        "/resource-accesses/": str(cast.room.accesses[0].id),
        "/users/": str(cast.owner.id),
    }
    for path, item in document(testapp.app.registry)["paths"].items():
        concrete = path
        for prefix, value in ids.items():
            concrete = concrete.replace(f"{prefix}{{id}}/", f"{prefix}{value}/")
        for method in item:
            if method in ("parameters", "delete"):
                continue
            res = testapp.request(concrete, method=method.upper(), expect_errors=True)
            assert res.status_int != 405, (method, path, res.body[:200])
            if res.status_int == 404 and path not in BEHIND_FLAGS_OFF_HERE:
                assert res.json != {"detail": "Not found."}, (method, path)


def test_schemas_are_valid_json_schema(app):
    doc = document(app.registry)
    for item in doc["paths"].values():
        for method, op in item.items():
            if method == "parameters":
                continue
            body = op.get("requestBody", {}).get("content", {}).get("application/json")
            if body:
                Draft202012Validator.check_schema(body["schema"])
            for answer in op["responses"].values():
                for media in answer.get("content", {}).values():
                    if "$ref" not in media["schema"]:
                        Draft202012Validator.check_schema(media["schema"])
    assert doc["openapi"] == "3.1.0"


def test_the_body_schema_is_the_validation(testapp, cast):
    """The declared limits are the enforced ones: the room name's maxLength in the
    document is where the API starts refusing."""
    testapp.login_as(cast.owner)
    doc = testapp.get(DOC).json
    schema = doc["paths"]["/api/v1.0/rooms/"]["post"]["requestBody"]["content"]
    limit = schema["application/json"]["schema"]["properties"]["name"]["maxLength"]
    assert schema["application/json"]["schema"]["required"] == ["name"]
    res = testapp.post_json("/api/v1.0/rooms/", {"name": "a" * (limit + 1)}, status=400)
    assert res.json == {"name": [f"Ensure this field has no more than {limit} characters."]}


@pytest.mark.parametrize("actor", ACTORS)
def test_document_and_page_for_everyone(testapp, cast, actor):
    testapp.login_as(cast[actor])
    doc = testapp.get(DOC, status=EVERYONE[actor]).json
    page = testapp.get("/api/v1.0/docs/", status=EVERYONE[actor])
    assert "text/html" in page.content_type
    for path in doc["paths"]:
        assert f"<code>GET {path}</code>" in page.text or path in page.text
