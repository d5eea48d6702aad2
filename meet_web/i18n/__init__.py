"""Translations of the pages: which language a request gets, and the gettext catalogs.

The site's languages are `app.languages` (`en-us`, `fr-fr`, `de-de`, `nl-nl`): the code
people choose in the language selector and store on their account. A request gets, in
order, the signed-in user's language, the `meet_language` cookie, the best match of its
`Accept-Language` header (`de-AT` picks `de-de`, `nl-BE` picks `nl-nl`), else
`app.default_language`. `request.language` is that code (the selector shows it);
`request.locale_name` is its gettext locale (`en`, `fr`, `de`, `nl`), which picks the
catalog in `locale/<locale>/LC_MESSAGES/meet_web.mo` and is the page's `<html lang>`.
Each language is named in itself (`Deutsch`) by `LANGUAGE_LABELS`, which the account
page and the header's selector (the template global `language_labels`) show.

Catalogs are compiled by `make install` (`pybabel compile`); without the `.mo` files
the pages are simply shown in English.

Templates translate their own text with `{% trans %}` / `_()`. Fixed strings that the
views hand to templates (labels, flash and error messages: see `messages.py`) are
translated at display time by the `translate` filter; anything not in the catalog,
such as a message built with a room's name, is shown as it is.
"""

from __future__ import annotations

from pyramid.threadlocal import get_current_request
from pyramid_jinja2 import EXTRAS_CONFIG_PHASE

from ..views.pages.common import LANGUAGE_COOKIE, LANGUAGE_LABELS

DOMAIN = "meet_web"
TRANSLATION_DIRS = "meet_web:i18n/locale"


def gettext_locale(language: str) -> str:
    """The catalog locale of a site language: its primary subtag (`fr-fr` → `fr`)."""
    return language.split("-", 1)[0].lower()


def accepted_language(accept_language, offered: list[str]) -> str | None:
    """The offered language the `Accept-Language` header prefers, if any.

    A range matches a language equal to it or with the same primary subtag
    (`fr`, `fr-ca` and `fr-fr` all pick `fr-fr`); ranges are tried by quality, then
    in header order. `*` accepts anything, so the caller's default applies.
    """
    parsed = getattr(accept_language, "parsed", None) or []
    ranked = sorted(
        ((range_.lower(), quality) for range_, quality in parsed if quality > 0),
        key=lambda item: -item[1],
    )
    by_code = {code.lower(): code for code in offered}
    for range_, _quality in ranked:
        if range_ == "*":
            return None
        if range_ in by_code:
            return by_code[range_]
        primary = gettext_locale(range_)
        for code in offered:
            if gettext_locale(code) == primary:
                return code
    return None


def negotiated_language(request) -> str:
    """The site language of this request (a code of `app.languages`)."""
    settings = request.registry.settings
    offered = settings["app.languages"]
    user = request.account
    if user is not None and user.language in offered:
        return user.language
    cookie = request.cookies.get(LANGUAGE_COOKIE)
    if cookie in offered:
        return cookie
    return accepted_language(request.accept_language, offered) or settings["app.default_language"]


def locale_negotiator(request) -> str:
    return gettext_locale(request.language)


def translate(message):
    """Jinja filter: a fixed message the view passed, in the request's language.

    Messages missing from the catalog (for instance ones holding a name) come back
    unchanged; the result is plain text, escaped like any other value.
    """
    if not message:
        return message
    request = get_current_request()
    if request is None:
        return message
    if not hasattr(message, "interpolate"):  # a TranslationString keeps its own mapping
        message = str(message)
    return request.localizer.translate(message, domain=DOMAIN)


def includeme(config):
    config.add_request_method(negotiated_language, "language", reify=True)
    config.set_locale_negotiator(locale_negotiator)
    config.add_translation_dirs(TRANSLATION_DIRS)
    # pyramid_jinja2 builds its environment from the settings when the config commits.
    config.get_settings().setdefault("jinja2.i18n.domain", DOMAIN)

    def add_filter():
        environment = config.get_jinja2_environment()
        environment.filters["translate"] = translate
        environment.globals["language_labels"] = LANGUAGE_LABELS

    config.action(None, add_filter, order=EXTRAS_CONFIG_PHASE)
