"""Sessions, CSRF, the security policy and the OIDC client."""

from pyramid.csrf import CookieCSRFStoragePolicy
from pyramid.session import SignedCookieSessionFactory

from .oidc import OidcConfig, OidcLogin
from .permissions import UNDECLARED
from .policy import MeetSecurityPolicy, livekit_claims, session_account, session_user

SESSION_COOKIE = "meet_session"
CSRF_COOKIE = "csrftoken"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FORM_FIELD = "csrf_token"
CSRF_HEADER_ALIASES = ("X-CSRFToken",)  # the reference's frontend sends this one


def csrf_applies(request) -> bool:
    """CSRF protects requests a browser authenticates by cookie: the session ones."""
    if not request.session.get("user_id"):
        return False
    if request.headers.get("Authorization") and livekit_claims(request) is not None:
        # A cross-site form or fetch cannot send an Authorization header (it would need
        # CORS, which this site never grants), and this one is a verified credential.
        # Any other header (Basic, Negotiate, an unverified bearer) authenticates
        # nothing here: the session does, so CSRF applies.
        return False
    for alias in CSRF_HEADER_ALIASES:
        if alias in request.headers and CSRF_HEADER not in request.headers:
            request.headers[CSRF_HEADER] = request.headers[alias]
    return True


def includeme(config):
    settings = config.get_settings()
    secure = settings["app.secure_cookies"]
    config.set_session_factory(
        SignedCookieSessionFactory(
            settings["session.secret"],
            cookie_name=SESSION_COOKIE,
            secure=secure,
            httponly=True,
            samesite="Lax",
            max_age=settings["session.max_age"],
            timeout=settings["session.max_age"],
            reissue_time=600,
        )
    )
    config.set_csrf_storage_policy(
        CookieCSRFStoragePolicy(cookie_name=CSRF_COOKIE, secure=secure, samesite="Lax")
    )
    config.set_default_csrf_options(
        require_csrf=True, header=CSRF_HEADER, token=CSRF_FORM_FIELD, callback=csrf_applies
    )
    config.set_security_policy(MeetSecurityPolicy())
    config.set_default_permission(UNDECLARED)
    config.add_request_method(session_account, "account", reify=True)
    config.add_request_method(session_user, "user", reify=True)
    config.registry["oidc"] = OidcLogin(OidcConfig.from_settings(settings))
    config.include("meet_web.services.marketing")  # new users' contacts, after sign-in
