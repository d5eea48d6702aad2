"""Building blocks of the permission matrices."""

from meet_web.models import AccessLevel
from tests.conftest import ACTORS


def by(**statuses) -> dict:
    """One expectation per actor; naming every actor is required."""
    assert set(statuses) == set(ACTORS), "a matrix names every actor"
    return statuses


# Who joins a room directly (a token, the PIN, no lobby) at each access level: public,
# everyone; trusted, signed-in people; restricted, anyone with a role.
JOINS_DIRECTLY = {
    AccessLevel.PUBLIC: by(
        anonymous=True, stranger=True, member=True, administrator=True, owner=True, operator=True
    ),
    AccessLevel.TRUSTED: by(
        anonymous=False, stranger=True, member=True, administrator=True, owner=True, operator=True
    ),
    AccessLevel.RESTRICTED: by(
        anonymous=False,
        stranger=False,
        member=True,
        administrator=True,
        owner=True,
        operator=False,
    ),
}
