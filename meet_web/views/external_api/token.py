"""POST /external-api/v1.0/application/token/: client credentials for a delegated token."""

from __future__ import annotations

from enum import StrEnum
from urllib.parse import parse_qsl

from pyramid.httpexceptions import HTTPNotFound, HTTPUnsupportedMediaType
from pyramid.security import NO_PERMISSION_REQUIRED
from pyramid.view import view_config

from ...openapi import operation
from ...resources import ApplicationSection
from ...services import audit
from ...services.applications import ExternalApiConfig, issue_token
from ...validation import (
    EMAIL_MAX_LENGTH,
    Body,
    Choice,
    Fields,
    String,
    ValidationError,
    json_body,
    read_body,
)
from .serializers import TOKEN_SCHEMA

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
MAX_FORM_FIELDS = 20


class GrantType(StrEnum):
    CLIENT_CREDENTIALS = "client_credentials"


TOKEN_BODY = Body(
    "ApplicationToken",
    required=("client_id", "client_secret", "grant_type", "scope"),
    client_id=String(100, "The application's client id."),
    client_secret=String(255, "The application's client secret."),
    grant_type=Choice(GrantType),
    scope=String(EMAIL_MAX_LENGTH, "The email address of the user the token acts for."),
)


def request_fields(request) -> dict:
    """The body as fields: JSON or a form (as OAuth 2 clients send it), nothing else."""
    body = read_body(request)
    content_type = request.content_type
    if content_type == FORM:
        try:
            return dict(
                parse_qsl(
                    body.decode("utf-8"),
                    keep_blank_values=True,
                    strict_parsing=False,
                    max_num_fields=MAX_FORM_FIELDS,
                )
            )
        except (UnicodeDecodeError, ValueError) as exc:
            raise ValidationError({}, "Form parse error - the request body is not a form.") from exc
    if content_type == JSON or not body:
        return json_body(request)
    raise HTTPUnsupportedMediaType(f'Unsupported media type "{content_type}" in request.')


def read_credentials(request) -> dict:
    reader = Fields(request_fields(request))
    values = {
        name: spec.read(reader, name, name in TOKEN_BODY.required)
        for name, spec in TOKEN_BODY.fields.items()
    }
    reader.check()
    return values


@view_config(
    context=ApplicationSection,
    route_name="external_api",
    name="token",
    request_method="POST",
    renderer="json",
    permission=NO_PERMISSION_REQUIRED,
    require_csrf=False,  # credentials in the body; no cookie counts here
)
@operation(
    "A token acting for the user `scope` names, for the application's client credentials"
    " (JSON or form; applications.enabled)",
    body=TOKEN_BODY,
    responses={200: TOKEN_SCHEMA},
    tag="application",
)
def application_token(context, request):
    config = request.service(ExternalApiConfig)
    if not config.applications_enabled:
        raise HTTPNotFound()
    values = read_credentials(request)
    answer = issue_token(
        request.dbsession,
        config,
        client_id=values["client_id"],
        client_secret=values["client_secret"],
        scope=values["scope"],
    )
    audit.record(
        request,
        audit.APPLICATION_TOKEN,
        target_type="application",
        target_id=values["client_id"],
        changes={"for": values["scope"]},
        actor=f"application {values['client_id']}",
    )
    request.response.headers["Cache-Control"] = "no-store"  # a credential (RFC 6749 §5.1)
    return answer
