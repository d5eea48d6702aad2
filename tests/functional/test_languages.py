"""German and Dutch beside English and French: who gets them, and complete catalogs.

The pages need the compiled catalogs (`make locales`, part of `make install`).
"""

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from sqlalchemy import select
from webob.acceptparse import create_accept_language_header

from meet_web.i18n import accepted_language, gettext_locale
from meet_web.models import User
from meet_web.settings import SETTINGS_BY_NAME
from meet_web.views.pages.common import LANGUAGE_LABELS
from tests.api_checks import assert_error
from tests.conftest import make_user
from tests.functional.test_i18n import restricted_room, visit  # noqa: F401 - a fixture

I18N_DIR = Path(__file__).resolve().parents[2] / "meet_web" / "i18n"
POT = I18N_DIR / "meet_web.pot"
SITE_LANGUAGES = ["en-us", "fr-fr", "de-de", "nl-nl"]
NATIVE_NAMES = {
    "en-us": "English",
    "fr-fr": "Français",
    "de-de": "Deutsch",
    "nl-nl": "Nederlands",
}
# The catalogs someone translated (English is the source language), with the plural
# rule of each language.
TRANSLATED = {
    "fr": "nplurals=2; plural=(n > 1);",
    "de": "nplurals=2; plural=(n != 1);",
    "nl": "nplurals=2; plural=(n != 1);",
}
HX = {"HX-Request": "true"}


def catalog(path: Path):
    with path.open("rb") as f:
        return read_po(f)


def po_path(locale: str) -> Path:
    return I18N_DIR / "locale" / locale / "LC_MESSAGES" / "meet_web.po"


@pytest.fixture(scope="module")
def _compiled_catalogs():
    for locale in ("de", "nl"):
        mo = po_path(locale).with_suffix(".mo")
        assert mo.exists(), f"{mo} is missing: run `make locales` (part of `make install`)"


# -- the pages in German and Dutch ---------------------------------------------------

# Per page: its path, then what only the German page and the Dutch page say, and the
# English source of both.
PAGES = {
    "home": (
        "/",
        "Videokonferenzen für Ihr Team",
        "Videovergaderingen voor uw team",
        "Video meetings for your team",
    ),
    "room": (
        "/team-room",
        "Sie warten im Warteraum, bis Sie jemand im Raum einlässt.",
        "U wacht in de wachtruimte totdat iemand in de ruimte u toelaat.",
        "You will wait in the lobby until someone in the room lets you in.",
    ),
    "wait": (
        "/team-room/meeting?username=Gina",
        "Warten, bis Sie jemand aus der Besprechung einlässt…",
        "Wachten tot iemand in de vergadering u toelaat…",
        "Waiting for someone in the meeting to let you in…",
    ),
}
SKIP_LINKS = {"de-de": "Zum Hauptinhalt springen", "nl-nl": "Naar de hoofdinhoud gaan"}
ACCEPT_HEADERS = {"de-de": "de-AT,de;q=0.9,en;q=0.5", "nl-nl": "nl-BE,nl;q=0.9,en;q=0.5"}


@pytest.mark.usefixtures("_compiled_catalogs", "restricted_room")
@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("how", ["user", "cookie", "accept"])
@pytest.mark.parametrize("language", ["de-de", "nl-nl"])
def test_pages_in_german_and_dutch(testapp, dbsession, how, page, language):
    path, german, dutch, english = PAGES[page]
    res = visit(testapp, dbsession, how, path, language, ACCEPT_HEADERS[language])
    assert res.status_int == 200
    locale = gettext_locale(language)
    assert f'<html lang="{locale}">' in res.text
    assert (german if language == "de-de" else dutch) in res.text
    assert (dutch if language == "de-de" else german) not in res.text
    assert english not in res.text
    name = NATIVE_NAMES[language]
    assert f'<option value="{language}" lang="{locale}" selected>{name}</option>' in res.text
    assert SKIP_LINKS[language] in res.text


@pytest.mark.usefixtures("_compiled_catalogs")
@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("de-de", ["Fehler 404", ">Nicht gefunden</h1>", "Unter dieser Adresse gibt es nichts."]),
        ("nl-nl", ["Fout 404", ">Niet gevonden</h1>", "Op dit adres is niets te vinden."]),
    ],
)
def test_error_page(testapp, language, expected):
    testapp.set_cookie("meet_language", language)
    res = testapp.get("/rooms/nothing/here", status=404)
    for text in expected:
        assert text in res.text


@pytest.mark.usefixtures("_compiled_catalogs")
@pytest.mark.parametrize(
    ("language", "message"),
    [("de-de", "Dieses Feld darf nicht leer sein."), ("nl-nl", "Dit veld mag niet leeg zijn.")],
)
def test_field_error(testapp, dbsession, language, message):
    testapp.login_as(make_user(dbsession, "alice", language=language))
    res = testapp.post("/rooms/", {"name": ""}, status=400)
    assert message in res.text
    assert "This field may not be blank." not in res.text


@pytest.mark.usefixtures("_compiled_catalogs")
@pytest.mark.parametrize(
    ("language", "email", "role", "status", "message"),
    [
        pytest.param(
            "de-de",
            "stranger@example.org",
            "owner",
            403,
            "Nur die Eigentümer eines Raums können weitere Personen zu Eigentümern ernennen.",
            id="de-owner",
        ),
        pytest.param(
            "nl-nl",
            "stranger@example.org",
            "owner",
            403,
            "Alleen eigenaars van een ruimte kunnen anderen tot eigenaar benoemen.",
            id="nl-owner",
        ),
        pytest.param(
            "de-de",
            "member@example.org",
            "member",
            400,
            "Diese Person hat bereits Zugang zu diesem Raum.",
            id="de-already",
        ),
        pytest.param(
            "nl-nl",
            "member@example.org",
            "member",
            400,
            "Deze persoon heeft al toegang tot deze ruimte.",
            id="nl-already",
        ),
    ],
)
def test_domain_error_of_the_members_form(
    testapp, cast, dbsession, language, email, role, status, message
):
    """The rules the API enforces, as the members form shows them: translated, nothing written."""
    cast.administrator.language = language
    dbsession.flush()
    testapp.login_as(cast.administrator)
    before = sorted((a.user.email, a.role) for a in cast.room.accesses)
    res = testapp.post(
        "/team-room/members", {"email": email, "role": role}, headers=HX, status=status
    )
    assert message in res.text
    dbsession.expire_all()
    assert sorted((a.user.email, a.role) for a in cast.room.accesses) == before


# -- who gets German and Dutch -------------------------------------------------------


def test_site_offers_four_languages(app):
    assert SETTINGS_BY_NAME["app.languages"].default == SITE_LANGUAGES
    assert app.registry.settings["app.languages"] == SITE_LANGUAGES


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("de", "de-de"),
        ("de-DE", "de-de"),
        ("de-AT", "de-de"),
        ("de-CH,fr;q=0.5", "de-de"),
        ("nl", "nl-nl"),
        ("nl-NL", "nl-nl"),
        ("nl-BE", "nl-nl"),
        ("en;q=0.4, nl;q=0.9", "nl-nl"),
        ("es, de;q=0.5, nl;q=0.4", "de-de"),
        ("de;q=0, nl", "nl-nl"),
        ("fr-BE, de;q=0.9", "fr-fr"),
        ("en-GB, de", "en-us"),
        ("es", None),
        ("*", None),
    ],
)
def test_accept_language_matching(header, expected):
    accept = create_accept_language_header(header)
    assert accepted_language(accept, SITE_LANGUAGES) == expected


@pytest.mark.usefixtures("_compiled_catalogs")
@pytest.mark.parametrize(
    ("header", "locale"),
    [("de-AT", "de"), ("de-CH, en;q=0.8", "de"), ("nl-BE", "nl"), ("nl, de;q=0.9", "nl")],
)
def test_accept_language_picks_the_page(testapp, header, locale):
    res = testapp.get("/", headers={"Accept-Language": header})
    assert f'<html lang="{locale}">' in res.text


@pytest.mark.parametrize(("code", "locale"), [("de-de", "de"), ("nl-nl", "nl"), ("nl-BE", "nl")])
def test_gettext_locale(code, locale):
    assert gettext_locale(code) == locale


@pytest.mark.usefixtures("_compiled_catalogs")
def test_account_language_comes_before_the_header(testapp, dbsession):
    testapp.login_as(make_user(dbsession, "alice", language="nl-nl"))
    res = testapp.get("/", headers={"Accept-Language": "de"})
    assert '<html lang="nl">' in res.text


@pytest.mark.usefixtures("_compiled_catalogs")
@pytest.mark.parametrize(
    ("language", "heading"),
    [("de-de", "Videokonferenzen für Ihr Team"), ("nl-nl", "Videovergaderingen voor uw team")],
)
def test_language_selector(testapp, language, heading):
    res = testapp.post("/account/language", {"language": language, "next": "/"}, status=303)
    assert f"meet_language={language}" in res.headers["Set-Cookie"]
    assert heading in testapp.get("/").text


# -- the names of the languages ------------------------------------------------------


def test_language_names_are_native():
    assert LANGUAGE_LABELS == NATIVE_NAMES


def test_header_selector_names_every_language(testapp):
    res = testapp.get("/")
    options = re.findall(
        r'<option value="([a-z-]+)" lang="([a-z]+)"[^>]*>([^<]+)</option>', res.text
    )
    assert options == [(code, gettext_locale(code), NATIVE_NAMES[code]) for code in SITE_LANGUAGES]


@pytest.mark.usefixtures("_compiled_catalogs")
def test_account_page_names_every_language(testapp, dbsession):
    testapp.login_as(make_user(dbsession, "alice", language="de-de"))
    res = testapp.get("/account")
    select_html = res.text.split('id="account-language"', 1)[1].split("</select>", 1)[0]
    options = re.findall(r'<option value="([a-z-]+)"( selected)?>([^<]+)</option>', select_html)
    assert options == [
        (code, " selected" if code == "de-de" else "", NATIVE_NAMES[code])
        for code in SITE_LANGUAGES
    ]
    assert ">Ihr Konto</h1>" in res.text


@pytest.mark.parametrize("language", ["de-de", "nl-nl"])
def test_account_form_saves_the_language(testapp, dbsession, language):
    alice = make_user(dbsession, "alice")
    testapp.login_as(alice)
    testapp.post("/account/language", {"language": language, "next": "/"}, status=303)
    dbsession.expire_all()
    assert dbsession.get(User, alice.id).language == language


# -- the account API -----------------------------------------------------------------

USERS = "/api/v1.0/users/"


def stored_language(dbsession, user) -> str:
    dbsession.expire_all()
    return dbsession.execute(select(User.language).where(User.id == user.id)).scalar_one()


@pytest.mark.usefixtures("_compiled_catalogs")
@pytest.mark.parametrize("method", ["put_json", "patch_json"])
@pytest.mark.parametrize(
    ("language", "heading"),
    [("de-de", "Videokonferenzen für Ihr Team"), ("nl-nl", "Videovergaderingen voor uw team")],
)
def test_api_accepts_the_new_languages(testapp, dbsession, method, language, heading):
    alice = make_user(dbsession, "alice")
    testapp.login_as(alice)
    res = getattr(testapp, method)(f"{USERS}{alice.id}/", {"language": language}, status=200)
    assert res.json["language"] == language
    assert testapp.get(f"{USERS}me/").json["language"] == language
    assert stored_language(dbsession, alice) == language
    assert heading in testapp.get("/").text


@pytest.mark.parametrize("language", ["de", "nl", "de-at", "nl-be", "DE-DE", "nl_NL", "deutsch"])
def test_api_refuses_other_spellings(testapp, dbsession, language):
    alice = make_user(dbsession, "alice")
    testapp.login_as(alice)
    res = testapp.patch_json(f"{USERS}{alice.id}/", {"language": language}, status=400)
    body = assert_error(res, 400, "language")
    assert body["language"] == ["Expected one of: en-us, fr-fr, de-de, nl-nl."]
    assert stored_language(dbsession, alice) == "en-us"


# -- the catalogs --------------------------------------------------------------------

PLACEHOLDER = re.compile(
    r"%\(\w+\)[sdifr]"  # %(name)s
    r"|%[sdifr]"  # %s
    r"|\{\{\s*\w+\s*\}\}"  # {{ name }}
    r"|(?<!\{)\{\w*\}(?!\})"  # {name}, {}
)


def placeholders(text: str) -> list[str]:
    return sorted(re.sub(r"\s+", "", found) for found in PLACEHOLDER.findall(text))


def test_placeholders_are_found():
    text = '%(name)s, %s, {{ level }}, {{level}}, {count}, {} and {"detail": 1}, not {{x}'
    assert placeholders(text) == sorted(
        ["%(name)s", "%s", "{{level}}", "{{level}}", "{count}", "{}"]
    )


def strings_of(message) -> list[str]:
    return list(message.string) if message.pluralizable else [message.string]


def sources_of(message) -> list[str]:
    return list(message.id) if message.pluralizable else [message.id]


@pytest.mark.parametrize("locale", TRANSLATED)
def test_catalog_translates_every_message_of_the_template(locale):
    template = catalog(POT)
    po = catalog(po_path(locale))
    missing, untranslated, fuzzy = [], [], []
    for message in template:
        if not message.id:
            continue
        translated = po.get(message.id, message.context)
        if translated is None:
            missing.append(message.id)
        elif not all(strings_of(translated)) or len(strings_of(translated)) < (
            po.num_plurals if message.pluralizable else 1
        ):
            untranslated.append(message.id)
        elif translated.fuzzy:
            fuzzy.append(message.id)
    problems = {
        "missing from the catalog (run `make messages`, then translate)": missing,
        "without a translation": untranslated,
        "marked fuzzy": fuzzy,
    }
    report = "\n".join(
        f"{po_path(locale).relative_to(I18N_DIR.parent.parent)}: {len(ids)} {what}:\n"
        + "\n".join(f"  {message_id!r}" for message_id in ids)
        for what, ids in problems.items()
        if ids
    )
    assert not report, report
    assert not po.fuzzy, "the catalog's header is marked fuzzy"


@pytest.mark.parametrize("locale", TRANSLATED)
def test_translations_keep_the_placeholders(locale):
    po = catalog(po_path(locale))
    wrong = []
    for message in po:
        if not message.id:
            continue
        # A plural form may leave out the number its singular source names.
        allowed = [placeholders(source) for source in sources_of(message)]
        wrong.extend(
            f"  {message.id!r}: {string!r}"
            for string in strings_of(message)
            if string and placeholders(string) not in allowed
        )
        wrong.extend(f"  {message.id!r}: {error}" for error in message.check(po))
    assert not wrong, f"{locale}: placeholders differ from the source:\n" + "\n".join(wrong)


@pytest.mark.parametrize(("locale", "rule"), TRANSLATED.items())
def test_plural_forms(locale, rule):
    po = catalog(po_path(locale))
    assert po.plural_forms == rule
    header = dict(po.mime_headers)
    assert header["Plural-Forms"] == rule
    assert header["Language"] == locale


@pytest.mark.parametrize("language", SITE_LANGUAGES)
def test_every_site_language_has_a_catalog(language):
    assert po_path(gettext_locale(language)).exists()
