"""Pages in English and French: who gets which language, and the catalogs themselves.

The French pages need the compiled catalogs (`make install` runs `pybabel compile`).
"""

import inspect
import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from pyramid.exceptions import BadCSRFOrigin, BadCSRFToken
from webob.acceptparse import create_accept_language_header

from meet_web.i18n import accepted_language, gettext_locale
from meet_web.models import AccessLevel, Role
from meet_web.models import access as access_model
from meet_web.views.pages import common, home, rooms
from tests.conftest import make_room, make_user

I18N_DIR = Path(__file__).resolve().parents[2] / "meet_web" / "i18n"
POT = I18N_DIR / "meet_web.pot"
LOCALES = ("en", "fr", "de", "nl")


def catalog(path: Path):
    with path.open("rb") as f:
        return read_po(f)


def po_path(locale: str) -> Path:
    return I18N_DIR / "locale" / locale / "LC_MESSAGES" / "meet_web.po"


@pytest.fixture(scope="module", autouse=True)
def _compiled_catalogs():
    mo = po_path("fr").with_suffix(".mo")
    assert mo.exists(), f"{mo} is missing: run `make locales` (part of `make install`)"


# -- who gets French -----------------------------------------------------------------

# Something only each French page says, and its English source.
PAGES = {
    "home": ("/", "Des réunions vidéo pour votre équipe", "Video meetings for your team"),
    "room": ("/team-room", "Rejoindre la réunion", "Join the meeting"),
    "wait": (
        "/team-room/meeting?username=Gina",
        "En attente qu\u2019une personne de la réunion vous fasse entrer…",
        "Waiting for someone in the meeting to let you in…",
    ),
}


@pytest.fixture
def restricted_room(dbsession):
    owner = make_user(dbsession, "owner")
    return make_room(dbsession, "Team Room", owner, access_level=AccessLevel.RESTRICTED)


def visit(testapp, dbsession, how: str, path: str, language: str, accept: str | None = None):
    """GET `path` as someone who chose `language` the way `how` says (`accept`: the
    Accept-Language header to send, the language's primary subtag by default)."""
    headers = {}
    if how == "user":
        testapp.login_as(make_user(dbsession, "stranger", language=language))
    elif how == "cookie":
        testapp.set_cookie("meet_language", language)
    elif how == "accept":
        headers["Accept-Language"] = accept or language.split("-")[0]
    return testapp.get(path, headers=headers)


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("how", ["user", "cookie", "accept"])
def test_pages_in_french(testapp, dbsession, restricted_room, how, page):
    path, french, english = PAGES[page]
    res = visit(testapp, dbsession, how, path, "fr-fr")
    assert res.status_int == 200
    assert '<html lang="fr">' in res.text
    assert french in res.text
    assert english not in res.text
    assert '<option value="fr-fr" lang="fr" selected>Français</option>' in res.text
    assert "Aller au contenu principal" in res.text


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("how", ["nobody", "user", "cookie", "accept"])
def test_pages_in_english(testapp, dbsession, restricted_room, how, page):
    path, french, english = PAGES[page]
    res = visit(testapp, dbsession, how, path, "en-us")
    assert res.status_int == 200
    assert '<html lang="en">' in res.text
    assert english in res.text
    assert french not in res.text
    assert '<option value="en-us" lang="en" selected>English</option>' in res.text


def test_account_language_comes_before_the_cookie_and_the_header(testapp, dbsession, user):
    testapp.login_as(user)  # alice chose en-us
    testapp.set_cookie("meet_language", "fr-fr")
    res = testapp.get("/", headers={"Accept-Language": "fr"})
    assert '<html lang="en">' in res.text
    assert "Video meetings for your team" in res.text


def test_cookie_comes_before_the_header(testapp):
    testapp.set_cookie("meet_language", "en-us")
    res = testapp.get("/", headers={"Accept-Language": "fr-FR,fr;q=0.9"})
    assert '<html lang="en">' in res.text


def test_unknown_cookie_falls_back_to_the_header(testapp):
    testapp.set_cookie("meet_language", "es-es")
    res = testapp.get("/", headers={"Accept-Language": "fr"})
    assert '<html lang="fr">' in res.text


def test_language_selector_then_french(testapp):
    testapp.post("/account/language", {"language": "fr-fr", "next": "/"}, status=303)
    res = testapp.get("/")
    assert "Des réunions vidéo pour votre équipe" in res.text
    assert ">Se connecter</a>" in res.text


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("fr", "fr-fr"),
        ("fr-FR", "fr-fr"),
        ("fr-CA,en;q=0.5", "fr-fr"),
        ("de, fr;q=0.8, en;q=0.5", "fr-fr"),
        ("en;q=0.4, fr;q=0.9", "fr-fr"),
        ("en-GB,fr", "en-us"),
        ("fr;q=0, en", "en-us"),
        ("de", None),
        ("*", None),
        ("", None),
        ("not a header;;", None),
    ],
)
def test_accept_language_matching(header, expected):
    accept = create_accept_language_header(header)
    assert accepted_language(accept, ["en-us", "fr-fr"]) == expected


@pytest.mark.parametrize(("code", "locale"), [("en-us", "en"), ("fr-fr", "fr"), ("fr", "fr")])
def test_gettext_locale(code, locale):
    assert gettext_locale(code) == locale


# -- what gets translated ------------------------------------------------------------


def test_signed_in_french_home_lists_rooms_translated(testapp, dbsession):
    alice = make_user(dbsession, "alice", language="fr-fr")
    make_room(dbsession, "<b>Café</b>", alice, access_level=AccessLevel.TRUSTED)
    testapp.login_as(alice)
    res = testapp.get("/")
    assert ">Propriétaire</span>" in res.text
    assert ">De confiance</span>" in res.text
    assert ">Mes salles</h2>" in res.text
    assert ">Se déconnecter</a>" in res.text
    # Names inside translated sentences stay escaped.
    assert 'aria-label="Ouvrir &lt;b&gt;Café&lt;/b&gt;"' in res.text
    assert "<b>Café</b>" not in res.text


def test_french_settings_page_and_flash(testapp, dbsession):
    alice = make_user(dbsession, "alice", language="fr-fr")
    room = make_room(dbsession, "Team Room", alice)
    testapp.login_as(alice)
    page = testapp.get(f"/{room.slug}/settings")
    assert "Paramètres de la salle «\u00a0Team Room\u00a0»" in page.text
    assert "Ce que les participants peuvent partager" in page.text
    assert ">Partage d\u2019écran</span>" in page.text
    assert "Toute personne qui a le lien entre directement." in page.text
    assert 'hx-confirm="Renoncer à votre propre accès à cette salle\u202f?"' in page.text
    form = {
        "name": "Team Room",
        "access_level": "public",
        "csrf_token": testapp.cookies["csrftoken"].strip('"'),
    }
    saved = testapp.post(f"/{room.slug}/settings", form, status=303).follow()
    assert "Paramètres enregistrés." in saved.text


def test_french_field_error(testapp, dbsession):
    testapp.login_as(make_user(dbsession, "alice", language="fr-fr"))
    res = testapp.post("/rooms/", {"name": ""}, status=400)
    assert "Ce champ ne peut pas être vide." in res.text


def test_french_account_page(testapp, dbsession):
    testapp.login_as(make_user(dbsession, "alice", language="fr-fr"))
    res = testapp.get("/account")
    assert ">Votre compte</h1>" in res.text
    assert "Actuellement\u00a0: public." in res.text
    assert ">Qui peut entrer</legend>" in res.text


def test_french_error_page(testapp):
    testapp.set_cookie("meet_language", "fr-fr")
    res = testapp.get("/rooms/nothing/here", status=404)
    assert "Erreur 404" in res.text
    assert ">Introuvable</h1>" in res.text
    assert "Il n\u2019y a rien à cette adresse." in res.text


def test_messages_outside_the_catalog_are_shown_as_they_are(testapp, dbsession):
    """A flash message built with a name is not in the catalog: shown, escaped, in English."""
    alice = make_user(dbsession, "alice", language="fr-fr")
    testapp.login_as(alice)
    res = testapp.post("/rooms/", {"name": "Tea & <cake>"}, status=303).follow()
    assert "Room “Tea &amp; &lt;cake&gt;” created." in res.text


# -- the catalogs --------------------------------------------------------------------


def test_french_catalog_is_complete():
    fr = catalog(po_path("fr"))
    untranslated = [m.id for m in fr if m.id and not m.string]
    fuzzy = [m.id for m in fr if m.id and m.fuzzy]
    assert untranslated == []
    assert fuzzy == []
    assert not fr.fuzzy  # the header too


@pytest.mark.parametrize("locale", LOCALES)
def test_catalogs_hold_every_message_of_the_template(locale):
    template_ids = {m.id for m in catalog(POT) if m.id}
    po_ids = {m.id for m in catalog(po_path(locale)) if m.id}
    assert template_ids - po_ids == set()
    assert po_ids - template_ids == set()


def test_french_placeholders_match():
    fr = catalog(po_path("fr"))
    for message in fr:
        if message.id:
            # a plural message: each form holds the placeholders of the English plural
            source = message.id[-1] if message.pluralizable else message.id
            forms = message.string if message.pluralizable else (message.string,)
            for form in forms:
                assert sorted(_placeholders(form)) == sorted(_placeholders(source))
            assert list(message.check(fr)) == [], message.id


def _placeholders(text: str) -> list[str]:
    return re.findall(r"%\((\w+)\)s", text)


def test_strings_from_the_views_are_in_the_catalog():
    """messages.py copies strings the Python code passes to templates: keep them in step."""
    from meet_web.services import rooms as room_service
    from meet_web.validation import Fields

    expected = {
        *(text for _, label, description in common.ACCESS_LEVELS for text in (label, description)),
        *(level.value for level in AccessLevel),
        *(role.value.capitalize() for role in Role),
        *common.SOURCE_LABELS.values(),
        common.SLUG_TAKEN_MESSAGE,
        home.JOIN_CODE_MESSAGE,
        rooms.NO_ACCOUNT,
        rooms.SEVERAL_ACCOUNTS,
        rooms.GONE_MEMBER,
        room_service._grant_refusal(Role.ADMINISTRATOR),
        room_service._grant_refusal(None),
        BadCSRFToken.explanation,
        BadCSRFOrigin.explanation,
    }
    fields = Fields({"a": ""})
    fields.string("a", required=True)
    fields.string("b", required=True)
    expected.update(fields.errors.values())
    fr_ids = {m.id for m in catalog(po_path("fr")) if m.id}
    assert expected - fr_ids == set()
    assert "A room must keep at least one owner." in inspect.getsource(access_model)
