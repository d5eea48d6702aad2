"""The admin users section: list, search, filters, detail and actions."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from meet_web.models import Recording, RecordingAccess, ResourceAccess, Role, User
from meet_web.models.audit import AuditEvent
from tests.conftest import bearer, fetch_token, make_application, make_room, make_user
from tests.servers.oidc import complete_login


@pytest.fixture
def operator_app(testapp, cast):
    testapp.login_as(cast.operator)
    return testapp


def add_user(dbsession, sub: str, email: str, **fields) -> User:
    user = User(sub=sub, email=email, full_name=sub.capitalize(), **fields)
    dbsession.add(user)
    dbsession.flush()
    return user


def events(dbsession, action: str) -> list[AuditEvent]:
    return list(dbsession.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def csrf(app) -> str:
    return app.cookies["csrftoken"].strip('"')


def post_form(app, path, status=303, **fields):
    return app.post(path, {"csrf_token": csrf(app), **fields}, status=status)


# -- the list -----------------------------------------------------------------------


def test_the_list_shows_every_user(operator_app, cast):
    page = operator_app.get("/admin/users/", status=200)
    for actor in ("stranger", "member", "administrator", "owner"):
        assert f"{actor}@example.org" in page.text


@pytest.mark.parametrize(
    ("query", "found", "absent"),
    [
        ("q=MEMBER@", "member@example.org", "owner@example.org"),
        ("q=Owner Ex", "owner@example.org", "member@example.org"),
        ("q=administrator", "administrator@example.org", "stranger@example.org"),
        ("operator=yes", "operator1@example.org", "stranger@example.org"),
        ("operator=no", "stranger@example.org", "operator1@example.org"),
    ],
)
def test_search_and_filters(operator_app, query, found, absent):
    page = operator_app.get(f"/admin/users/?{query}", status=200)
    assert found in page.text
    assert absent not in page.text


def test_search_by_sub_and_wildcards_are_literal(operator_app, dbsession):
    add_user(dbsession, "zed_100", "z@example.org")
    assert "z@example.org" in operator_app.get("/admin/users/?q=zed_1").text
    assert "No user matches." in operator_app.get("/admin/users/?q=%25").text


def test_active_and_provisional_filters(operator_app, dbsession, cast):
    cast.stranger.is_active = False
    dbsession.add(User(email="invited@example.org"))
    dbsession.flush()
    inactive = operator_app.get("/admin/users/?active=no").text
    assert "stranger@example.org" in inactive and "member@example.org" not in inactive
    provisional = operator_app.get("/admin/users/?provisional=yes").text
    assert "invited@example.org" in provisional and "member@example.org" not in provisional


def test_sort_by_email(operator_app):
    text = operator_app.get("/admin/users/?sort=email").text
    assert text.index("administrator@") < text.index("member@") < text.index("stranger@")
    text = operator_app.get("/admin/users/?sort=-email").text
    assert text.index("stranger@") < text.index("member@") < text.index("administrator@")


def test_pages(operator_app, dbsession):
    for number in range(30):
        make_user(dbsession, f"bulk{number:02d}")
    first = operator_app.get("/admin/users/?sort=email&q=bulk").text
    assert "bulk00@" in first and "bulk25@" not in first and "Page 1 of 2" in first
    second = operator_app.get("/admin/users/?sort=email&q=bulk&page=2").text
    assert "bulk25@" in second and "bulk00@" not in second


def test_htmx_gets_the_results_only(operator_app):
    res = operator_app.get(
        "/admin/users/?q=member",
        headers={"HX-Request": "true", "HX-Target": "admin-results"},
        status=200,
    )
    assert "member@example.org" in res.text
    assert "<html" not in res.text
    assert "HX-Request" in res.headers["Vary"]
    assert "HX-Target" in res.headers["Vary"]
    assert 'id="list-sort" name="sort" value="-created" hx-swap-oob="true"' in res.text


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("sort=password", 400),
        ("operator=maybe", 400),
        ("active=1", 400),
        ("provisional=true", 400),
        ("page=0", 400),
        ("page=abc", 400),
        ("page=99", 404),
        ("q=" + "x" * 101, 400),
    ],
)
def test_bad_list_queries_get_a_page(operator_app, query, status):
    res = operator_app.get(f"/admin/users/?{query}", status=status)
    assert res.content_type == "text/html"
    assert "Error" in res.text


# -- the detail ----------------------------------------------------------------------


def test_the_detail_shows_rooms_recordings_and_last_login(operator_app, cast, dbsession):
    recording = Recording(room=cast.room)
    recording.accesses.append(RecordingAccess(user=cast.member, role=Role.OWNER))
    dbsession.add(recording)
    dbsession.flush()
    page = operator_app.get(f"/admin/users/{cast.member.id}/", status=200).text
    assert "Team Room" in page
    assert "Member" in page
    assert "initiated" in page
    assert "Last sign-in" in page


@pytest.mark.parametrize("key", ["not-a-uuid", "00000000-0000-0000-0000-000000000000"])
def test_unknown_users_are_not_found(operator_app, key):
    operator_app.get(f"/admin/users/{key}/", status=404)
    post_form(operator_app, f"/admin/users/{key}/deactivate", status=404, confirm="yes")


# -- actions -------------------------------------------------------------------------


def test_grant_and_revoke_operator(operator_app, cast, dbsession):
    path = f"/admin/users/{cast.stranger.id}/"
    res = post_form(operator_app, path + "grant-operator")
    assert res.location.endswith(path)
    dbsession.refresh(cast.stranger)
    assert cast.stranger.is_operator
    assert "This user is now an operator." in res.follow().text
    [event] = events(dbsession, "user.grant_operator")
    assert event.target_id == str(cast.stranger.id) and event.actor_id == cast.operator.id

    post_form(operator_app, path + "revoke-operator")
    dbsession.refresh(cast.stranger)
    assert not cast.stranger.is_operator
    assert len(events(dbsession, "user.revoke_operator")) == 1


def test_deactivation_asks_for_confirmation(operator_app, cast, dbsession):
    path = f"/admin/users/{cast.member.id}/deactivate"
    page = operator_app.get(path, status=200)
    assert 'name="confirm" value="yes"' in page.text
    post_form(operator_app, path, status=400)
    dbsession.refresh(cast.member)
    assert cast.member.is_active
    assert events(dbsession, "user.deactivate") == []


def test_deactivation_ends_the_users_sessions_at_once(operator_app, new_testapp, cast, dbsession):
    member = new_testapp()
    member.login_as(cast.member)
    member.get("/api/v1.0/users/me/", status=200)
    member.get(f"/{cast.room.slug}", status=200)

    post_form(operator_app, f"/admin/users/{cast.member.id}/deactivate", confirm="yes")

    member.get("/api/v1.0/users/me/", status=401)
    assert member.get("/account", status=303).location.startswith("http://localhost/api/")
    assert len(events(dbsession, "user.deactivate")) == 1

    post_form(operator_app, f"/admin/users/{cast.member.id}/reactivate")
    dbsession.refresh(cast.member)
    assert cast.member.is_active
    assert len(events(dbsession, "user.reactivate")) == 1


def test_a_deactivated_user_cannot_sign_in(operator_app, new_testapp, dbsession):
    user = make_user(dbsession, "blocked")
    post_form(operator_app, f"/admin/users/{user.id}/deactivate", confirm="yes")
    other = new_testapp()
    start = other.get("/api/v1.0/authenticate/", params={"returnTo": "/"}, status=302)
    back = complete_login(start.location, "blocked")
    refused = other.get("/" + back.split("://", 1)[1].split("/", 1)[1], status=400)
    assert "Sign-in failed" in refused.text
    other.get("/api/v1.0/users/me/", status=401)


def test_operators_do_not_change_their_own_standing(operator_app, cast, dbsession):
    path = f"/admin/users/{cast.operator.id}/"
    for action in ("revoke-operator", "grant-operator"):
        post_form(operator_app, path + action, status=403)
    post_form(operator_app, path + "deactivate", status=403, confirm="yes")
    dbsession.refresh(cast.operator)
    assert cast.operator.is_operator and cast.operator.is_active


def test_actions_without_csrf_are_refused(operator_app, cast, dbsession):
    for action in ("grant-operator", "deactivate", "merge"):
        res = operator_app.post(
            f"/admin/users/{cast.stranger.id}/{action}",
            {"confirm": "yes"},
            headers={"X-CSRF-Token": "wrong"},
            status=403,
        )
        assert res.content_type == "text/html"
    dbsession.refresh(cast.stranger)
    assert not cast.stranger.is_operator and cast.stranger.is_active


def test_merge_from_the_page(operator_app, dbsession, cast):
    old = add_user(dbsession, "dup-old", "Dup@Example.org")
    new = add_user(dbsession, "dup-new", "dup@example.org")
    old.created_at = new.created_at.replace(year=new.created_at.year - 1)
    room = make_room(dbsession, "Old Room", old)
    dbsession.flush()
    old_id = old.id
    confirm = operator_app.get(f"/admin/users/{old_id}/merge", status=200)
    assert str(new.id) in confirm.text
    res = post_form(operator_app, f"/admin/users/{old_id}/merge", confirm="yes")
    assert res.location.endswith(f"/admin/users/{new.id}/")
    assert "The duplicate users were merged into this one." in res.follow().text
    dbsession.expunge(old)
    dbsession.expire_all()
    assert dbsession.get(User, old_id) is None
    assert room.role_of(new.id) == Role.OWNER
    [event] = events(dbsession, "user.merge")
    assert event.target_id == str(new.id)


def test_merge_without_duplicates_is_refused(operator_app, cast):
    operator_app.get(f"/admin/users/{cast.member.id}/merge", status=403)
    post_form(operator_app, f"/admin/users/{cast.member.id}/merge", status=403, confirm="yes")


def test_merge_keeps_the_accesses_roles(operator_app, dbsession, cast):
    twin = add_user(dbsession, "member-twin", "MEMBER@example.org")
    cast.member.created_at = twin.created_at.replace(year=twin.created_at.year - 1)
    dbsession.flush()
    post_form(operator_app, f"/admin/users/{twin.id}/merge", confirm="yes")
    dbsession.expunge(cast.member)
    dbsession.expire_all()
    access = dbsession.scalars(
        select(ResourceAccess).where(
            ResourceAccess.resource_id == cast.room.id, ResourceAccess.user_id == twin.id
        )
    ).one()
    assert access.role == Role.MEMBER


def test_deactivation_stops_the_users_api_tokens(external_api, new_testapp, cast, dbsession):
    calendar = make_application(dbsession)
    client = external_api()
    token = fetch_token(client, cast.member.email, client_id=calendar.client_id)
    client.get("/external-api/v1.0/rooms/", headers=bearer(token), status=200)

    operator = new_testapp()
    operator.login_as(cast.operator)
    post_form(operator, f"/admin/users/{cast.member.id}/deactivate", confirm="yes")

    client.get("/external-api/v1.0/rooms/", headers=bearer(token), status=401)


def test_the_overview_counts_users_and_rooms(operator_app):
    page = operator_app.get("/admin/", status=200)
    figures = {
        link.text: link.parent.select_one(".admin-figure")
        for link in page.html.select(".admin-overview a")
    }
    assert figures["Users"].text == "5"
    assert figures["Rooms"].text == "1"
