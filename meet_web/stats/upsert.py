"""INSERT … ON CONFLICT for the two databases the project runs on."""

from __future__ import annotations

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def insert_for(session: Session, model):
    """The dialect's `insert(model)`, which has `on_conflict_do_nothing/update`."""
    return insert_for_dialect(session.get_bind().dialect.name, model)


def insert_for_dialect(dialect: str, table):
    if dialect == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)
