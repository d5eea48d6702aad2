"""`/admin/applications/`: the external API's applications. Create one (its secret is
shown once, on the answer to the creation, and stored hashed), change its name, scopes,
email domains and active flag, and rotate its secret (after a confirmation; the new
one is shown once and the old one stops working at once). The rules are those of
`meet-web-create-application`.

With `applications.enabled` off the section still manages the applications, and says
that no token is issued meanwhile.
"""

from __future__ import annotations

from pyramid.httpexceptions import HTTPSeeOther
from pyramid.view import view_config, view_defaults
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ...models import Application, ApplicationDomain, ApplicationScope
from ...models.application import random_token
from ...resources.admin import AdminApplication, ApplicationsSection
from ...scripts.create_application import (
    CLIENT_ID_LENGTH,
    CLIENT_SECRET_LENGTH,
    DOMAIN_RE,
    NAME_MAX_LENGTH,
)
from ...security.permissions import Permission
from ...services import audit
from ...services.applications import ExternalApiConfig
from ...validation import Fields, ValidationError
from ..pages.common import field_messages
from . import refuse_without_confirmation

SCOPES = tuple(scope.value for scope in ApplicationScope)
MAX_DOMAINS = 50

NO_SCOPE = "Choose at least one scope."
UNKNOWN_SCOPE = '"{}" is not a valid choice.'
NOT_A_DOMAIN = "“{}” is not a domain name."
TOO_MANY_DOMAINS = f"At most {MAX_DOMAINS} domains."
SAVED = "The application was saved."


def read_application_form(post) -> dict:
    """Name, scopes (in their declared order), domains (lower case, each once) and the
    active flag of the form; a ValidationError names each bad field."""
    fields = Fields({"name": post["name"]} if "name" in post else {})
    name = fields.string("name", required=True, max_length=NAME_MAX_LENGTH)
    chosen = post.getall("scopes")
    unknown = [scope for scope in chosen if scope not in SCOPES]
    if unknown:
        fields.errors["scopes"] = UNKNOWN_SCOPE.format(unknown[0])
    elif not chosen:
        fields.errors["scopes"] = NO_SCOPE
    domains: list[str] = []
    for raw in post.get("domains", "").replace(",", "\n").splitlines():
        domain = raw.strip().lower()
        if not domain:
            continue
        if len(domain) > 253 or not DOMAIN_RE.fullmatch(domain):
            fields.errors["domains"] = NOT_A_DOMAIN.format(raw.strip()[:80])
            break
        if domain not in domains:
            domains.append(domain)
    if len(domains) > MAX_DOMAINS:
        fields.errors.setdefault("domains", TOO_MANY_DOMAINS)
    fields.check()
    return {
        "name": name,
        "scopes": [scope for scope in SCOPES if scope in chosen],
        "domains": domains,
        "is_active": post.get("is_active") == "on",
    }


def form_of(application: Application | None, post=None) -> dict:
    """What the form shows: the application's values, or those just posted."""
    if post is not None:
        return {
            "name": post.get("name", ""),
            "scopes": post.getall("scopes"),
            "domains": post.get("domains", ""),
            "is_active": post.get("is_active") == "on",
        }
    if application is None:
        return {"name": "", "scopes": [], "domains": "", "is_active": True}
    return {
        "name": application.name,
        "scopes": list(application.scopes or []),
        "domains": "\n".join(d.domain for d in application.allowed_domains),
        "is_active": application.is_active,
    }


def section_values(request, **extra) -> dict:
    config = request.service(ExternalApiConfig)
    return {
        "applications_enabled": config.applications_enabled,
        "external_api_enabled": config.enabled,
        "scopes": SCOPES,
        "errors": {},
        **extra,
    }


def shown_once(request, application: Application, secret: str, *, created: bool) -> dict:
    request.response.cache_control = "no-store"
    return section_values(request, application=application, secret=secret, created=created)


@view_defaults(context=ApplicationsSection, permission=Permission.ADMIN)
class ApplicationList:
    def __init__(self, context, request):
        self.context, self.request = context, request

    def _values(self, **extra) -> dict:
        applications = self.request.dbsession.scalars(
            select(Application)
            .options(selectinload(Application.allowed_domains))
            .order_by(Application.name, Application.id)
        ).all()
        values = {"applications": applications, "form": form_of(None), **extra}
        return section_values(self.request, **values)

    @view_config(request_method="GET", renderer="admin/applications.jinja2")
    def list(self):
        return self._values()

    @view_config(request_method="POST", renderer="admin/applications.jinja2")
    def create(self):
        request = self.request
        try:
            values = read_application_form(request.POST)
        except ValidationError as exc:
            request.response.status = 400
            return self._values(form=form_of(None, request.POST), errors=field_messages(exc))
        secret = random_token(CLIENT_SECRET_LENGTH)
        application = Application(
            name=values["name"],
            is_active=values["is_active"],
            client_id=random_token(CLIENT_ID_LENGTH),
            scopes=values["scopes"],
            allowed_domains=[ApplicationDomain(domain=d) for d in values["domains"]],
        )
        application.set_secret(secret)
        request.dbsession.add(application)
        request.dbsession.flush()
        audit.record_application(
            request, audit.APPLICATION_CREATE, application, changes={"domains": values["domains"]}
        )
        request.override_renderer = "admin/applications_secret.jinja2"
        return shown_once(request, application, secret, created=True)


@view_defaults(context=AdminApplication, permission=Permission.ADMIN)
class ApplicationAdmin:
    def __init__(self, context: AdminApplication, request):
        self.context, self.request = context, request
        self.application = context.application

    def _page(self) -> str:
        return self.request.resource_url(self.context)

    @view_config(request_method="GET", renderer="admin/applications_detail.jinja2")
    def detail(self):
        return section_values(
            self.request, application=self.application, form=form_of(self.application)
        )

    @view_config(request_method="POST", renderer="admin/applications_detail.jinja2")
    def update(self):
        request, application = self.request, self.application
        try:
            values = read_application_form(request.POST)
        except ValidationError as exc:
            request.response.status = 400
            return section_values(
                request,
                application=application,
                form=form_of(application, request.POST),
                errors=field_messages(exc),
            )
        before = {
            "name": application.name,
            "scopes": list(application.scopes or []),
            "domains": [d.domain for d in application.allowed_domains],
            "is_active": application.is_active,
        }
        application.name = values["name"]
        application.scopes = values["scopes"]
        application.is_active = values["is_active"]
        kept = {d.domain: d for d in application.allowed_domains}
        application.allowed_domains = [
            kept.get(domain) or ApplicationDomain(domain=domain) for domain in values["domains"]
        ]
        request.dbsession.flush()
        changed = {key: values[key] for key in before if values[key] != before[key]}
        if changed:
            audit.record_application(
                request,
                audit.APPLICATION_UPDATE,
                application,
                changes={"changed": sorted(changed), "before": before, **changed},
            )
        request.session.flash(SAVED)
        return HTTPSeeOther(location=self._page())

    @view_config(
        name="rotate-secret", request_method="GET", renderer="admin/applications_confirm.jinja2"
    )
    def confirm_rotate(self):
        return section_values(self.request, application=self.application)

    @view_config(
        name="rotate-secret", request_method="POST", renderer="admin/applications_secret.jinja2"
    )
    def rotate(self):
        refuse_without_confirmation(self.request)
        secret = random_token(CLIENT_SECRET_LENGTH)
        self.application.set_secret(secret)
        audit.record_application(self.request, audit.APPLICATION_ROTATE, self.application)
        return shown_once(self.request, self.application, secret, created=False)
