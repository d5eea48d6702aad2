"""The server-rendered pages: home, join, room page, room settings, members and account."""

import pytest
from sqlalchemy import func, select

from meet_web.models import AccessLevel, ResourceAccess, Role, Room
from tests.conftest import make_user

HX = {"HX-Request": "true"}
LOGIN_PREFIX = "http://localhost/api/v1.0/authenticate/"


def room_count(dbsession) -> int:
    return dbsession.scalar(select(func.count()).select_from(Room))


def access_of(room: Room, user) -> ResourceAccess:
    return next(a for a in room.accesses if a.user_id == user.id)


def accesses(dbsession, room: Room) -> dict:
    dbsession.expire_all()
    return {a.user.sub: a.role for a in room.accesses}


# -- layout and home -----------------------------------------------------------------


def test_home_anonymous(testapp):
    res = testapp.get("/", status=200)
    assert "Sign in to create a room" in res.text
    assert 'name="csrf-token"' in res.text
    assert 'href="#main"' in res.text  # skip link
    assert "/api/v1.0/authenticate/?returnTo=%2F" in res.text
    assert "My rooms" not in res.text
    assert 'action="http://localhost/rooms/"' not in res.text


def test_home_lists_my_rooms_with_settings_for_managers(testapp, cast, dbsession):
    make_room_for = cast.owner
    other = Room(name="Other Room", slug="other-room", access_level=AccessLevel.PUBLIC)
    other.accesses.append(ResourceAccess(user=make_room_for, role=Role.OWNER))
    dbsession.add(other)
    dbsession.flush()

    testapp.login_as(cast.member)
    res = testapp.get("/")
    assert "My rooms" in res.text
    assert "Team Room" in res.text
    assert "Other Room" not in res.text
    assert "/team-room/settings" not in res.text
    assert "Sign out" in res.text
    assert "Member Example" in res.text

    testapp.login_as(cast.owner)
    res = testapp.get("/")
    assert "/team-room/settings" in res.text
    assert "/other-room/settings" in res.text


def test_static_files_are_served(testapp):
    res = testapp.get("/static/css/meet.css", status=200)
    assert "--accent" in res.text
    testapp.get("/static/js/meet.js", status=200)


def test_the_site_has_an_icon(testapp):
    page = testapp.get("/")
    assert '<link rel="icon" href="http://localhost/static/favicon.svg" type="image/svg+xml">' in (
        page.text
    )
    icon = testapp.get("/static/favicon.svg", status=200)
    assert icon.content_type == "image/svg+xml"
    assert icon.body.startswith(b"<svg")
    for method in (testapp.get, testapp.head):
        res = method("/favicon.ico", status=301)
        assert res.location == "http://localhost/static/favicon.svg"


# -- create a room -----------------------------------------------------------------


def test_the_room_name_field_has_the_servers_limit(testapp, user):
    testapp.login_as(user)
    field = testapp.get("/").text.split('id="room-name"', 1)[1].split(">", 1)[0]
    assert 'maxlength="100"' in field


def test_create_room_from_home(testapp, dbsession, user):
    testapp.login_as(user)
    res = testapp.post("/rooms/", {"name": "Weekly Sync"}, status=303)
    assert res.location == "http://localhost/weekly-sync"
    dbsession.expire_all()
    room = Room.lookup(dbsession, "weekly-sync")
    assert room.name == "Weekly Sync"
    assert room.access_level == AccessLevel.PUBLIC
    assert room.role_of(user.id) == Role.OWNER
    page = res.follow()
    assert "Room “Weekly Sync” created." in page.text
    assert "Weekly Sync" in page.text


def test_create_room_uses_account_defaults(testapp, dbsession):
    user = make_user(
        dbsession,
        "bob",
        default_room_access_level=AccessLevel.RESTRICTED,
        default_room_configuration={"everyone_can_mute": False},
    )
    testapp.login_as(user)
    testapp.post("/rooms/", {"name": "Bob Room"}, status=303)
    dbsession.expire_all()
    room = Room.lookup(dbsession, "bob-room")
    assert room.access_level == AccessLevel.RESTRICTED
    assert room.configuration == {"everyone_can_mute": False}


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "This field may not be blank."),
        ("   ", "This field may not be blank."),
        ("!!!", "The name must contain at least one letter or digit."),
        ("Account", "The name &#39;Account&#39; is reserved."),
        ("Team Room", "Another room already uses this name."),
        ("team room!", "Another room already uses this name."),
        ("b" * 101, "The name may not be longer than 100 characters."),
        ("ﬃ" * 34, "The name may not be longer than 100 characters."),  # 102 slug letters
    ],
)
def test_create_room_bad_input(testapp, cast, dbsession, name, message):
    testapp.login_as(cast.stranger)
    before = room_count(dbsession)
    res = testapp.post("/rooms/", {"name": name}, status=400)
    assert message in res.text
    assert 'aria-invalid="true"' in res.text
    assert f'value="{name}"' in res.text  # the form keeps what was typed
    dbsession.expire_all()
    assert room_count(dbsession) == before


def test_create_room_without_csrf_token_is_refused(testapp, dbsession, user):
    testapp.login_as(user)
    before = room_count(dbsession)
    res = testapp.post("/rooms/", {"name": "Sneaky"}, headers={"X-CSRF-Token": ""}, status=403)
    assert "Invalid request" in res.text
    dbsession.expire_all()
    assert room_count(dbsession) == before


def test_create_room_with_form_token(testapp, dbsession, user):
    """Without JavaScript the hidden form field carries the token."""
    testapp.login_as(user)
    form = testapp.get("/").forms[1]  # [0] is the language selector
    form["name"] = "Form Room"
    form.submit(headers={"X-CSRF-Token": ""}, status=303)
    dbsession.expire_all()
    assert Room.lookup(dbsession, "form-room") is not None


# -- join by code ------------------------------------------------------------------


@pytest.mark.parametrize(
    "code",
    [
        "team-room",
        "Team Room",
        "  TEAM-ROOM ",
        "http://localhost/team-room",
        "https://meet.example.org/team-room/?x=1#y",
    ],
)
def test_join_by_code(testapp, cast, code):
    res = testapp.get("/join", params={"code": code}, status=303)
    assert res.location == "http://localhost/team-room"


def test_join_by_code_with_htmx(testapp, cast):
    res = testapp.get("/join", params={"code": "Team Room"}, headers={"HX-Request": "true"})
    assert res.status_int == 204
    assert res.headers["HX-Redirect"] == "http://localhost/team-room"
    assert "HX-Request" in res.headers["Vary"]


@pytest.mark.parametrize("code", ["no-such-room", "https://meet.example.org/no-such-room"])
def test_join_an_unknown_meeting(testapp, cast, code):
    res = testapp.get("/join", params={"code": code}, status=400)
    card = res.text.split('id="join-card"', 1)[1].split("</section>", 1)[0]
    assert "No meeting uses this code. Check it, or ask for the meeting&#39;s link." in card
    assert 'aria-invalid="true"' in card
    assert f'value="{code}"' in card, "the code stays in the field"
    assert 'hx-select="#join-card"' in card, "htmx takes this card from the page"


def test_join_an_unknown_meeting_with_htmx(testapp, cast):
    res = testapp.get(
        "/join", params={"code": "nowhere"}, headers={"HX-Request": "true"}, status=400
    )
    assert 'id="join-card"' in res.text
    assert "No meeting uses this code." in res.text
    assert "HX-Redirect" not in res.headers


@pytest.mark.parametrize("code", ["", "   ", "!!!", "account", "https://meet.example.org/"])
def test_join_with_a_bad_code(testapp, code):
    res = testapp.get("/join", params={"code": code}, status=400)
    assert "Enter a meeting code or a meeting link." in res.text


# -- room page -----------------------------------------------------------------------


def test_room_page_for_a_guest(testapp, cast):
    res = testapp.get("/team-room", status=200)
    assert '<h1 id="room-title">Team Room</h1>' in res.text
    assert "Public" in res.text
    assert "Guest" in res.text
    assert "You can enter this room directly." in res.text
    assert "/team-room/settings" not in res.text
    assert res.headers["X-Frame-Options"] == "DENY"


def test_room_page_shows_role_and_settings_link(testapp, cast, dbsession):
    cast.room.access_level = AccessLevel.RESTRICTED
    dbsession.flush()
    testapp.login_as(cast.administrator)
    res = testapp.get("/team-room")
    assert "badge-administrator" in res.text
    assert "Restricted" in res.text
    assert 'href="/team-room/settings"' in res.text

    testapp.login_as(cast.stranger)
    res = testapp.get("/team-room")
    assert "You will wait in the lobby" in res.text
    assert "/team-room/settings" not in res.text


def test_room_page_of_an_unknown_room(testapp):
    res = testapp.get("/no-such-room", status=404)
    assert "There is nothing at this address." in res.text


def test_room_found_by_its_old_style_path(testapp, cast):
    testapp.get("/rooms/team-room", status=200)


# -- room settings -------------------------------------------------------------------


def settings_form(**changes) -> dict:
    data = {
        "name": "Team Room",
        "access_level": "public",
        "can_publish_sources": ["camera", "microphone", "screen_share", "screen_share_audio"],
        "everyone_can_mute": "on",
    }
    data.update(changes)
    return data


def test_settings_page_renders(testapp, cast):
    testapp.login_as(cast.owner)
    res = testapp.get("/team-room/settings", status=200)
    assert res.headers["Vary"] == "HX-Request, Cookie"
    assert 'value="public" checked' in res.text
    assert 'id="members"' in res.text
    for person in ("Owner Example", "Administrator Example", "Member Example"):
        assert person in res.text
    # nothing stored yet: every default source is shown as allowed
    assert res.text.count('name="can_publish_sources"') == 4
    assert res.text.count("checked>") >= 5


def test_untouched_settings_form_changes_nothing(testapp, cast, dbsession):
    testapp.login_as(cast.owner)
    testapp.post("/team-room/settings", settings_form(), status=303)
    dbsession.expire_all()
    assert cast.room.configuration == {}
    assert cast.room.access_level == AccessLevel.PUBLIC


def test_settings_update(testapp, cast, dbsession):
    testapp.login_as(cast.administrator)
    res = testapp.post(
        "/team-room/settings",
        settings_form(
            name="Team Room 2",
            access_level="restricted",
            can_publish_sources=["microphone"],
            everyone_can_mute=None,
        ),
        status=303,
    )
    assert res.location == "http://localhost/team-room-2/settings"
    dbsession.expire_all()
    room = cast.room
    assert (room.name, room.slug, room.access_level) == (
        "Team Room 2",
        "team-room-2",
        AccessLevel.RESTRICTED,
    )
    assert room.configuration == {"can_publish_sources": ["microphone"], "everyone_can_mute": False}
    page = res.follow()
    assert "Settings saved." in page.text
    assert 'value="restricted" checked' in page.text


def test_settings_update_no_sources_at_all(testapp, cast, dbsession):
    testapp.login_as(cast.owner)
    data = settings_form()
    del data["can_publish_sources"]
    testapp.post("/team-room/settings", data, status=303)
    dbsession.expire_all()
    assert cast.room.configuration == {"can_publish_sources": []}


def test_settings_update_with_htmx(testapp, cast, dbsession):
    testapp.login_as(cast.owner)
    res = testapp.post(
        "/team-room/settings", settings_form(access_level="trusted"), headers=HX, status=200
    )
    assert res.text.lstrip().startswith('<form id="room-settings"')
    assert "<html" not in res.text
    assert "Settings saved." in res.text
    assert 'value="trusted" checked' in res.text
    assert res.headers["Vary"] == "HX-Request, Cookie"
    dbsession.expire_all()
    assert cast.room.access_level == AccessLevel.TRUSTED


def test_settings_rename_with_htmx_reloads_at_the_new_address(testapp, cast, dbsession):
    testapp.login_as(cast.owner)
    res = testapp.post("/team-room/settings", settings_form(name="Renamed"), headers=HX)
    assert res.headers["HX-Redirect"] == "http://localhost/renamed/settings"
    dbsession.expire_all()
    assert cast.room.slug == "renamed"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"name": ""}, "This field may not be blank."),
        ({"name": "Other Room"}, "Another room already uses this name."),
        ({"name": "admin"}, "is reserved"),
        ({"access_level": "secret"}, "is not a valid choice"),
        ({"access_level": None}, "This field is required."),
        ({"can_publish_sources": ["camera", "telepathy"]}, "Unknown sources: telepathy."),
    ],
)
def test_settings_bad_input(testapp, cast, dbsession, changes, message):
    other = Room(name="Other Room", slug="other-room", access_level=AccessLevel.PUBLIC)
    dbsession.add(other)
    dbsession.flush()
    testapp.login_as(cast.owner)
    data = {
        k: v
        for k, v in settings_form(**{"access_level": "restricted", **changes}).items()
        if v is not None
    }
    res = testapp.post("/team-room/settings", data, status=400)
    assert message in res.text
    assert "The settings were not saved" in res.text
    htmx = testapp.post("/team-room/settings", data, headers=HX, status=400)
    assert message in htmx.text
    assert "<html" not in htmx.text
    dbsession.expire_all()
    assert (cast.room.name, cast.room.access_level, cast.room.configuration) == (
        "Team Room",
        AccessLevel.PUBLIC,
        {},
    )


def test_settings_post_without_csrf_token_writes_nothing(testapp, cast, dbsession):
    testapp.login_as(cast.owner)
    testapp.post(
        "/team-room/settings",
        settings_form(access_level="restricted"),
        headers={"X-CSRF-Token": ""},
        status=403,
    )
    dbsession.expire_all()
    assert cast.room.access_level == AccessLevel.PUBLIC


# -- members -------------------------------------------------------------------------


def test_members_partial(testapp, cast):
    testapp.login_as(cast.administrator)
    res = testapp.get("/team-room/members", headers=HX, status=200)
    assert res.text.lstrip().startswith('<section id="members"')
    assert res.headers["Vary"] == "HX-Request, Cookie"
    assert "Member Example" in res.text
    # an administrator may not touch the owner's access nor grant ownership
    owner_access = access_of(cast.room, cast.owner)
    assert f'value="{owner_access.id}"' not in res.text
    assert '<option value="owner"' not in res.text
    res = testapp.get("/team-room/members", status=303)
    assert res.location == "http://localhost/team-room/settings#members"


def test_add_member(testapp, cast, dbsession):
    testapp.login_as(cast.owner)
    res = testapp.post(
        "/team-room/members", {"email": "Stranger@Example.org ", "role": "member"}, status=303
    )
    assert res.location == "http://localhost/team-room/settings#members"
    assert accesses(dbsession, cast.room)["stranger"] == Role.MEMBER
    assert "Stranger Example can now join as member." in res.follow().text


def test_add_member_with_htmx(testapp, cast, dbsession):
    testapp.login_as(cast.administrator)
    res = testapp.post(
        "/team-room/members",
        {"email": "stranger@example.org", "role": "administrator"},
        headers=HX,
        status=200,
    )
    assert res.text.lstrip().startswith('<section id="members"')
    assert "Stranger Example can now join as administrator." in res.text
    assert "stranger@example.org" in res.text
    assert accesses(dbsession, cast.room)["stranger"] == Role.ADMINISTRATOR


@pytest.mark.parametrize(
    ("email", "role", "status", "message"),
    [
        ("nobody@example.org", "member", 400, "No account uses this email address."),
        ("", "member", 400, "This field may not be blank."),
        ("member@example.org", "member", 400, "This user already has access to this room."),
        ("stranger@example.org", "king", 400, "is not a valid choice"),
        (
            "stranger@example.org",
            "owner",
            403,
            "Only owners of a room can assign other users as owners.",
        ),
    ],
)
def test_add_member_refused(testapp, cast, dbsession, email, role, status, message):
    testapp.login_as(cast.administrator)
    before = accesses(dbsession, cast.room)
    res = testapp.post(
        "/team-room/members", {"email": email, "role": role}, headers=HX, status=status
    )
    assert message in res.text
    assert "<html" not in res.text
    res = testapp.post("/team-room/members", {"email": email, "role": role}, status=status)
    assert message in res.text
    assert "<html" in res.text  # without JavaScript: the whole settings page
    assert accesses(dbsession, cast.room) == before


def test_owner_may_grant_ownership(testapp, cast, dbsession):
    testapp.login_as(cast.owner)
    testapp.post(
        "/team-room/members",
        {"email": "stranger@example.org", "role": "owner"},
        headers=HX,
        status=200,
    )
    assert accesses(dbsession, cast.room)["stranger"] == Role.OWNER


def test_change_role(testapp, cast, dbsession):
    testapp.login_as(cast.administrator)
    access = access_of(cast.room, cast.member)
    res = testapp.post(
        "/team-room/members-role",
        {"access_id": str(access.id), "role": "administrator"},
        headers=HX,
        status=200,
    )
    assert "Member Example is now administrator." in res.text
    assert accesses(dbsession, cast.room)["member"] == Role.ADMINISTRATOR
    res = testapp.post(
        "/team-room/members-role", {"access_id": str(access.id), "role": "member"}, status=303
    )
    assert accesses(dbsession, cast.room)["member"] == Role.MEMBER


@pytest.mark.parametrize(
    ("actor", "target", "role", "status", "message"),
    [
        (
            "administrator",
            "member",
            "owner",
            403,
            "Only owners of a room can assign other users as owners.",
        ),
        ("administrator", "owner", "member", 403, "Only an owner may change their own role."),
        ("owner", "owner", "member", 403, "A room must keep at least one owner."),
        ("owner", "member", "boss", 400, "is not a valid choice"),
    ],
)
def test_change_role_refused(testapp, cast, dbsession, actor, target, role, status, message):
    testapp.login_as(cast[actor])
    before = accesses(dbsession, cast.room)
    access = access_of(cast.room, cast[target])
    res = testapp.post(
        "/team-room/members-role",
        {"access_id": str(access.id), "role": role},
        headers=HX,
        status=status,
    )
    assert message in res.text
    assert accesses(dbsession, cast.room) == before


def test_change_role_of_an_access_of_another_room(testapp, cast, dbsession):
    other = Room(name="Other Room", slug="other-room", access_level=AccessLevel.PUBLIC)
    other.accesses.append(ResourceAccess(user=cast.stranger, role=Role.OWNER))
    dbsession.add(other)
    dbsession.flush()
    testapp.login_as(cast.owner)
    res = testapp.post(
        "/team-room/members-role",
        {"access_id": str(other.accesses[0].id), "role": "member"},
        headers=HX,
        status=400,
    )
    assert "This person no longer has access to this room." in res.text
    dbsession.expire_all()
    assert other.accesses[0].role == Role.OWNER


def test_remove_member(testapp, cast, dbsession):
    testapp.login_as(cast.owner)
    access = access_of(cast.room, cast.member)
    res = testapp.post(
        "/team-room/members-remove", {"access_id": str(access.id)}, headers=HX, status=200
    )
    assert "Member Example no longer has access to this room." in res.text
    assert "member@example.org" not in res.text
    assert "member" not in accesses(dbsession, cast.room)


def test_remove_member_without_javascript(testapp, cast, dbsession):
    testapp.login_as(cast.administrator)
    access = access_of(cast.room, cast.member)
    res = testapp.post("/team-room/members-remove", {"access_id": str(access.id)}, status=303)
    assert res.location == "http://localhost/team-room/settings#members"
    assert "member" not in accesses(dbsession, cast.room)


@pytest.mark.parametrize(
    ("actor", "target", "message"),
    [
        ("owner", "owner", "A room must keep at least one owner."),
        ("administrator", "owner", "Only an owner may remove their own access."),
    ],
)
def test_remove_member_refused(testapp, cast, dbsession, actor, target, message):
    testapp.login_as(cast[actor])
    before = accesses(dbsession, cast.room)
    access = access_of(cast.room, cast[target])
    res = testapp.post(
        "/team-room/members-remove", {"access_id": str(access.id)}, headers=HX, status=403
    )
    assert message in res.text
    res = testapp.post("/team-room/members-remove", {"access_id": str(access.id)}, status=403)
    assert message in res.text
    assert accesses(dbsession, cast.room) == before


def test_administrator_giving_up_access_goes_back_to_the_room(testapp, cast, dbsession):
    testapp.login_as(cast.administrator)
    access = access_of(cast.room, cast.administrator)
    res = testapp.post("/team-room/members-remove", {"access_id": str(access.id)}, headers=HX)
    assert res.headers["HX-Redirect"] == "http://localhost/team-room"
    assert "administrator" not in accesses(dbsession, cast.room)
    testapp.get("/team-room/settings", status=403)


def test_administrator_stepping_down_without_javascript(testapp, cast, dbsession):
    testapp.login_as(cast.administrator)
    access = access_of(cast.room, cast.administrator)
    res = testapp.post(
        "/team-room/members-role", {"access_id": str(access.id), "role": "member"}, status=303
    )
    assert res.location == "http://localhost/team-room"
    assert accesses(dbsession, cast.room)["administrator"] == Role.MEMBER


def test_members_post_without_csrf_token_writes_nothing(testapp, cast, dbsession):
    testapp.login_as(cast.owner)
    access = access_of(cast.room, cast.member)
    testapp.post(
        "/team-room/members-remove",
        {"access_id": str(access.id)},
        headers={**HX, "X-CSRF-Token": ""},
        status=403,
    )
    assert "member" in accesses(dbsession, cast.room)


# -- account -------------------------------------------------------------------------


def account_form(**changes) -> dict:
    data = {
        "language": "en-us",
        "timezone": "UTC",
        "default_room_access_level": "",
        "can_publish_sources": ["camera", "microphone", "screen_share", "screen_share_audio"],
        "everyone_can_mute": "on",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def test_account_page(testapp, user):
    testapp.login_as(user)
    res = testapp.get("/account", status=200)
    assert "Your account" in res.text
    assert "alice@example.org" in res.text
    assert '<option value="UTC" selected>UTC</option>' in res.text
    assert '<option value="Europe/Paris">Paris</option>' in res.text


def test_account_update(testapp, user, dbsession):
    testapp.login_as(user)
    res = testapp.post(
        "/account",
        account_form(
            language="fr-fr",
            timezone="Europe/Paris",
            default_room_access_level="trusted",
            can_publish_sources=["camera", "microphone"],
        ),
        status=303,
    )
    assert res.location == "http://localhost/account"
    dbsession.expire_all()
    assert (user.language, user.timezone, user.default_room_access_level) == (
        "fr-fr",
        "Europe/Paris",
        AccessLevel.TRUSTED,
    )
    assert user.default_room_configuration == {"can_publish_sources": ["camera", "microphone"]}
    page = res.follow()
    assert "Paramètres du compte enregistrés." in page.text  # now shown in French
    assert '<html lang="fr">' in page.text
    assert '<option value="Europe/Paris" selected>Paris</option>' in page.text


def test_account_untouched_form_changes_nothing(testapp, user, dbsession):
    testapp.login_as(user)
    testapp.post("/account", account_form(), status=303)
    dbsession.expire_all()
    assert user.default_room_configuration == {}
    assert user.default_room_access_level is None


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"timezone": "Mars/Olympus"}, "“Mars/Olympus” is not a known time zone."),
        ({"timezone": None}, "This field is required."),
        ({"language": "es-es"}, "Choose one of the languages offered."),
        ({"default_room_access_level": "secret"}, "is not a valid choice"),
        ({"can_publish_sources": ["smell"]}, "Unknown sources: smell."),
    ],
)
def test_account_bad_input(testapp, user, dbsession, changes, message):
    testapp.login_as(user)
    res = testapp.post("/account", account_form(**{"language": "fr-fr", **changes}), status=400)
    assert message in res.text
    assert "Your settings were not saved" in res.text
    dbsession.expire_all()
    assert (user.language, user.timezone) == ("en-us", "UTC")


def test_account_post_without_csrf_token_writes_nothing(testapp, user, dbsession):
    testapp.login_as(user)
    testapp.post(
        "/account", account_form(language="fr-fr"), headers={"X-CSRF-Token": ""}, status=403
    )
    dbsession.expire_all()
    assert user.language == "en-us"


def test_unknown_account_subpage(testapp, user):
    testapp.login_as(user)
    testapp.get("/account/nothing", status=404)
    testapp.get("/account/language", status=404)


# -- language selector ---------------------------------------------------------------


def test_language_selector_for_anonymous_people(testapp):
    res = testapp.post(
        "/account/language", {"language": "fr-fr", "next": "/team-room?x=1"}, status=303
    )
    assert res.location == "http://localhost/team-room?x=1"
    assert "meet_language=fr-fr" in res.headers["Set-Cookie"]
    page = testapp.get("/")
    assert '<html lang="fr">' in page.text
    assert '<option value="fr-fr" lang="fr" selected>Français</option>' in page.text


def test_language_selector_for_signed_in_people(testapp, user, dbsession):
    testapp.login_as(user)
    testapp.post("/account/language", {"language": "fr-fr", "next": "/"}, status=303)
    dbsession.expire_all()
    assert user.language == "fr-fr"


@pytest.mark.parametrize("target", ["https://evil.example.org/", "//evil.example.org/", ""])
def test_language_selector_stays_on_the_site(testapp, target):
    res = testapp.post("/account/language", {"language": "en-us", "next": target}, status=303)
    assert res.location == "http://localhost/"


def test_language_selector_bad_language(testapp, user, dbsession):
    testapp.post("/account/language", {"language": "xx"}, status=400)
    testapp.login_as(user)
    testapp.post("/account/language", {"language": "xx"}, status=400)
    testapp.post(
        "/account/language", {"language": "fr-fr"}, headers={"X-CSRF-Token": ""}, status=403
    )
    dbsession.expire_all()
    assert user.language == "en-us"


def test_anonymous_is_sent_to_login_from_protected_pages(testapp, cast):
    res = testapp.get("/team-room/settings", status=303)
    assert res.location.startswith(LOGIN_PREFIX)
    assert "returnTo=%2Fteam-room%2Fsettings" in res.location
