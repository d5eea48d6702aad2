"""Who may invite people to a room by e-mail (`POST /rooms/{id}/invite/`): its owners
and administrators. The operator holds no role on the cast's room: a stranger here.
Only the allowed actors' invitations reach the SMTP server."""

import pytest

from tests.conftest import ACTORS
from tests.permissions.matrix import by

INVITE = by(anonymous=401, stranger=403, member=403, administrator=200, owner=200, operator=403)


@pytest.mark.parametrize("key", ["slug", "id"])
@pytest.mark.parametrize("actor", ACTORS)
def test_invite(mailing, cast, smtp, actor, key):
    mailing.login_as(cast[actor])
    room = cast.room.slug if key == "slug" else cast.room.id
    res = mailing.post_json(
        f"/api/v1.0/rooms/{room}/invite/", {"emails": ["ann@example.net"]}, status=INVITE[actor]
    )
    if INVITE[actor] == 200:
        [mail] = smtp.wait_for(1)
        assert "ann@example.net" in mail.rcpt_tos
    else:
        assert set(res.json) == {"detail"}
        assert smtp.messages() == []


@pytest.mark.parametrize("actor", ACTORS)
def test_bad_input_is_refused_only_after_the_permission(mailing, cast, smtp, actor):
    """Strangers learn nothing of the body's rules: their answer is the same."""
    mailing.login_as(cast[actor])
    expected = 400 if INVITE[actor] == 200 else INVITE[actor]
    mailing.post_json(f"/api/v1.0/rooms/{cast.room.id}/invite/", {"emails": []}, status=expected)
    assert smtp.messages() == []


def test_unknown_room(mailing, cast):
    mailing.login_as(cast.owner)
    res = mailing.post_json(
        "/api/v1.0/rooms/no-such-room/invite/", {"emails": ["ann@example.net"]}, status=404
    )
    assert "detail" in res.json


def test_without_csrf_token(mailing, cast, smtp):
    mailing.login_as(cast.owner)
    res = mailing.post_json(
        f"/api/v1.0/rooms/{cast.room.id}/invite/",
        {"emails": ["ann@example.net"]},
        headers={"X-CSRF-Token": "wrong"},
        status=403,
    )
    assert res.json == {"detail": "CSRF Failed: CSRF token missing or incorrect."}
    assert smtp.messages() == []
