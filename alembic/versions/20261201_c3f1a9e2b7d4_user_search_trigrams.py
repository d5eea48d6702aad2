"""user search trigrams: pg_trgm and GIN trigram indexes on users' email and full name
(PostgreSQL only; SQLite's user search is a prefix match and needs nothing)

Revision ID: c3f1a9e2b7d4
Revises: bd256bc9d0b5
Create Date: 2026-12-01 18:00:00.000000
"""

from alembic import op

revision = "c3f1a9e2b7d4"
down_revision = "bd256bc9d0b5"
branch_labels = None
depends_on = None

# On lower(...), as the search compares (models/user.py declares the same indexes).
INDEXES = {"ix_users_email_trgm": "email", "ix_users_full_name_trgm": "full_name"}


def is_postgresql() -> bool:
    return op.get_context().dialect.name == "postgresql"


def upgrade() -> None:
    if not is_postgresql():
        return
    # pg_trgm is a trusted extension (PostgreSQL 13+): the database's owner may create it.
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, column in INDEXES.items():
        op.execute(f"CREATE INDEX {name} ON users USING gin (lower({column}) gin_trgm_ops)")


def downgrade() -> None:
    if not is_postgresql():
        return
    for name in INDEXES:
        op.execute(f"DROP INDEX IF EXISTS {name}")
    # The extension stays: it may have been there before, other objects may use it,
    # and unused it costs nothing.
