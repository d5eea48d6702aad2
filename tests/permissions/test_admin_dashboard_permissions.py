"""Who may open the usage dashboard: operators only (a deactivated operator is signed
out like any deactivated account); its bad ranges answer 400 to operators alone."""

import pytest

from tests.conftest import ACTORS, make_user

from .matrix import by

ADMIN_ACTORS = (*ACTORS, "deactivated_operator")

DASHBOARD = "/admin/dashboard/"
PAGE = by(anonymous=303, stranger=403, member=403, administrator=403, owner=403, operator=200)
BAD_RANGE = by(anonymous=303, stranger=403, member=403, administrator=403, owner=403, operator=400)


@pytest.fixture
def deactivated_operator(dbsession):
    return make_user(dbsession, "operator2", is_operator=True)


def sign_in(testapp, cast, actor, dbsession, deactivated_operator):
    if actor == "deactivated_operator":
        testapp.login_as(deactivated_operator)
        deactivated_operator.is_active = False
        dbsession.flush()
    else:
        testapp.login_as(cast[actor])


def expected(matrix: dict, actor: str) -> int:
    """A deactivated operator's session is refused: they are anonymous again."""
    return matrix["anonymous"] if actor == "deactivated_operator" else matrix[actor]


@pytest.mark.parametrize(
    ("query", "matrix"),
    [
        ("", PAGE),
        ("?days=7", PAGE),
        ("?from=2026-11-01&to=2026-11-30", PAGE),
        ("?days=8", BAD_RANGE),
    ],
    ids=["default", "preset", "dates", "bad range"],
)
@pytest.mark.parametrize("actor", ADMIN_ACTORS)
def test_dashboard(testapp, cast, actor, dbsession, deactivated_operator, query, matrix):
    sign_in(testapp, cast, actor, dbsession, deactivated_operator)
    res = testapp.get(DASHBOARD + query, status=expected(matrix, actor))
    if res.status_int == 303:
        assert "/api/v1.0/authenticate/" in res.location
    if res.status_int == 403:
        assert "Meetings per day" not in res.text


@pytest.mark.parametrize("actor", ADMIN_ACTORS)
def test_no_writes(testapp, cast, actor, dbsession, deactivated_operator):
    """The dashboard only reads: a POST finds no view, whoever sends it."""
    sign_in(testapp, cast, actor, dbsession, deactivated_operator)
    testapp.post(DASHBOARD, {"days": "7"}, status=404)
