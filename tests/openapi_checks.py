"""Every answer of the JSON API that a test receives must match the OpenAPI document.

`MeetTestApp` calls `check_response` after each request under `/api/v1.0/`: the status
must be documented for that operation (or fall under its `default`), the content type
must be one the document names, and a JSON body must validate against its schema.
"""

from __future__ import annotations

import re

from jsonschema import Draft202012Validator

from meet_web.openapi import API_PREFIX, ERROR_SCHEMA, document

ERROR_REF = {"$ref": "#/components/schemas/Error"}


def _resolve(schema):
    if schema == ERROR_REF:
        return ERROR_SCHEMA
    return schema


class Conformance:
    def __init__(self, doc: dict):
        self.literal: dict[str, dict] = {}
        self.templated: list[tuple[re.Pattern, dict]] = []
        for path, item in doc["paths"].items():
            if "{" in path:
                pattern = re.sub(r"\\\{[a-z_]+\\\}", "[^/]+", re.escape(path))
                self.templated.append((re.compile(f"^{pattern}$"), item))
            else:
                self.literal[path] = item
        self.validators: dict[int, Draft202012Validator] = {}

    def item_for(self, path: str) -> dict | None:
        if path in self.literal:
            return self.literal[path]
        return next((item for pattern, item in self.templated if pattern.match(path)), None)

    def validator(self, schema: dict) -> Draft202012Validator:
        key = id(schema)
        if key not in self.validators:
            self.validators[key] = Draft202012Validator(
                _resolve(schema), format_checker=Draft202012Validator.FORMAT_CHECKER
            )
        return self.validators[key]

    def check(self, method: str, path: str, res) -> None:
        item = self.item_for(path)
        if item is None:
            return  # nothing is there: the answer is the site's 404, checked elsewhere
        operation = item.get(method.lower())
        if operation is None:
            # a method no view documents (405, or a HEAD): an error body, if any
            responses = {"default": {"content": {"application/json": {"schema": ERROR_REF}}}}
        else:
            responses = operation["responses"]
        answer = responses.get(str(res.status_int)) or responses["default"]
        content = answer.get("content")
        if content is None or method == "HEAD":
            return
        where = f"{method} {path} → {res.status_int}"
        assert res.content_type in content, f"{where}: {res.content_type} not in {list(content)}"
        if res.content_type == "application/json":
            schema = content["application/json"]["schema"]
            errors = sorted(self.validator(schema).iter_errors(res.json), key=str)
            assert not errors, f"{where}: {res.json!r} does not match the document: {errors[0]}"


_CHECKERS: dict[int, Conformance] = {}  # by id of the app's registry


def check_response(registry, req, res) -> None:
    if req.path.startswith(API_PREFIX + "/"):
        checker = _CHECKERS.get(id(registry))
        if checker is None:
            checker = _CHECKERS[id(registry)] = Conformance(document(registry))
        checker.check(req.method, req.path, res)
