"""Searching users for invitations, `GET /api/v1.0/users/?q=` with `users.allow_listing`:
a case-insensitive prefix match on the email, the full name or a word of it (every
database); on PostgreSQL, when nothing starts with q, pg_trgm's word similarity, served
by the trigram indexes. Inactive users are never listed; at most 50 are.

Runs on SQLite, and on PostgreSQL when MEET_TEST_DATABASE_URL names one.
"""

from __future__ import annotations

import pytest
from sqlalchemy.dialects import postgresql

from meet_web.views.api.users import similar_to, starting_with
from tests.conftest import make_user

USERS = "/api/v1.0/users/"


def person(dbsession, login: str, full_name: str | None, **fields):
    user = make_user(dbsession, login, **fields)
    user.full_name = full_name
    dbsession.flush()
    return user


@pytest.fixture
def people(dbsession):
    return {
        "jonathan": person(dbsession, "jwhitaker", "Jonathan Whitaker"),
        "wendy": person(dbsession, "wendy", "Wendy White"),
        "tess": person(dbsession, "tess", "Tess Whittakers"),
        "ivo": person(dbsession, "ivo", "Ivo Wiitaker"),
        "kit": person(dbsession, "kit", "Kit Waker"),
        "gone": person(dbsession, "whitney", "Whitney Whittaker", is_active=False),
        "nameless": person(dbsession, "anon", None),
    }


@pytest.fixture
def searcher(testapp_with, dbsession):
    client = testapp_with({"users.allow_listing": "true"})
    client.login_as(make_user(dbsession, "zoe"))
    return client


@pytest.fixture
def is_postgresql(dbsession) -> bool:
    return dbsession.get_bind().dialect.name == "postgresql"


def emails(client, q: str, **params) -> list[str]:
    return [u["email"] for u in client.get(USERS, {"q": q, **params}).json["results"]]


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("jwhit", ["jwhitaker@example.org"]),  # the email
        ("JWHITAKER@EXAMPLE.ORG", ["jwhitaker@example.org"]),
        ("jonathan w", ["jwhitaker@example.org"]),  # the full name
        ("wiit", ["ivo@example.org"]),  # a word of it
        ("whit", ["jwhitaker@example.org", "tess@example.org", "wendy@example.org"]),
        ("Whitt", ["tess@example.org"]),
        ("anon", ["anon@example.org"]),  # no name at all
    ],
)
def test_prefix_matches(searcher, people, q, expected):
    assert emails(searcher, q) == expected


def test_prefixes_only(searcher, people, is_postgresql):
    # the middle of a word is no prefix (PostgreSQL may still find it similar)
    if not is_postgresql:
        assert emails(searcher, "taker") == []
        assert emails(searcher, "example.org") == []


def test_inactive_users_are_never_listed(searcher, people, is_postgresql):
    assert "whitney@example.org" not in emails(searcher, "whitney")
    assert "whitney@example.org" not in emails(searcher, "whit")
    assert "whitney@example.org" not in emails(searcher, "wittaker")  # similar, on PostgreSQL


@pytest.mark.parametrize("q", ["%", "_whit", "w%e", "w_ndy", "/"])
def test_wildcards_are_literal(dbsession, people, q):
    assert dbsession.scalars(starting_with(q)).all() == []


def test_wildcards_are_literal_in_the_search(searcher, people, is_postgresql):
    assert emails(searcher, "%") == []  # nothing a trigram could be made of
    if not is_postgresql:  # (PostgreSQL finds "_whit" like "whit": similar, not a pattern)
        assert emails(searcher, "_whit") == []


def test_a_very_long_query_finds_nobody(searcher, people):
    assert emails(searcher, "w" * 300) == []


def test_at_most_fifty(searcher, dbsession):
    for n in range(55):
        person(dbsession, f"crowd{n:02d}", f"Crowd Member {n}")
    res = searcher.get(USERS, {"q": "crowd", "page_size": 100}).json
    assert res["count"] == 50 and len(res["results"]) == 50


def test_similar_names_on_postgresql(searcher, people, is_postgresql):
    """A mistyped name finds the people whose names are like it, most alike first;
    not those merely sharing a few letters, nor inactive ones."""
    found = emails(searcher, "witaker")
    if not is_postgresql:
        assert found == []  # SQLite: nothing starts with it
        return
    # Ivo Wiitaker is the most alike; Kit Waker shares too little
    assert found == ["ivo@example.org", "jwhitaker@example.org"]


def test_similarity_only_when_nothing_starts_with_q(searcher, people, is_postgresql):
    # "whitt" starts Tess's name: Jonathan's, though alike, is not added to it
    assert emails(searcher, "whitt") == ["tess@example.org"]


def test_search_pages(searcher, dbsession):
    for n in range(25):
        person(dbsession, f"page{n:02d}", None)
    first = searcher.get(USERS, {"q": "page", "page_size": 10}).json
    assert first["count"] == 25 and first["next"]
    last = searcher.get(USERS, {"q": "page", "page_size": 10, "page": 3}).json
    assert [u["email"] for u in last["results"]][-1] == "page24@example.org"
    searcher.get(USERS, {"q": "page", "page_size": 10, "page": 4}, status=404)


def plan(dbsession, query) -> str:
    compiled = query.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True})
    sql = str(compiled)  # with its "%%": psycopg reads the statement for parameters
    connection = dbsession.connection()
    connection.exec_driver_sql("SET LOCAL enable_seqscan = off")  # a tiny table: force it
    return "\n".join(connection.exec_driver_sql(f"EXPLAIN {sql}").scalars())


def test_the_trigram_indexes_serve_the_search(dbsession, people, is_postgresql):
    if not is_postgresql:
        pytest.skip("the trigram indexes are PostgreSQL's")
    prefix = plan(dbsession, starting_with("whit"))
    assert "ix_users_email_trgm" in prefix and "ix_users_full_name_trgm" in prefix
    similar, _order = similar_to("witaker")
    alike = plan(dbsession, similar)
    assert "ix_users_email_trgm" in alike and "ix_users_full_name_trgm" in alike
