"""The OpenAPI document of the JSON API, and a page that shows it to people."""

import json

from pyramid.security import NO_PERMISSION_REQUIRED
from pyramid.view import view_config

from ...openapi import document, operation
from ...resources import ApiRoot


@view_config(
    context=ApiRoot,
    route_name="api",
    name="openapi.json",
    request_method="GET",
    renderer="json",
    permission=NO_PERMISSION_REQUIRED,
)
@operation("This document (OpenAPI 3.1)", responses={200: {"type": "object"}}, tag="docs")
def openapi_document(request):
    return document(request.registry)


@view_config(
    context=ApiRoot,
    route_name="api",
    name="docs",
    request_method="GET",
    renderer="api_docs.jinja2",
    permission=NO_PERMISSION_REQUIRED,
)
@operation("", undocumented="an HTML page showing this document")
def openapi_page(request):
    doc = document(request.registry)
    operations = [
        {
            "method": method.upper(),
            "path": path,
            "summary": op["summary"],
            "tags": op.get("tags", []),
            "parameters": [*item.get("parameters", []), *op.get("parameters", [])],
            "body": json.dumps(op["requestBody"]["content"]["application/json"]["schema"], indent=2)
            if "requestBody" in op
            else None,
            "responses": [
                (status, json.dumps(answer["content"]["application/json"]["schema"], indent=2))
                if "application/json" in answer.get("content", {})
                else (status, None)
                for status, answer in op["responses"].items()
                if status != "default"
            ],
        }
        for path, item in doc["paths"].items()
        for method, op in item.items()
        if method != "parameters"
    ]
    return {"info": doc["info"], "operations": operations}
