"""guest waiting emails: the account setting for the "a guest is waiting" e-mail, and
whether the account's time zone was chosen

Revision ID: 11c0c034d9ee
Revises: f00371a5b284
Create Date: 2026-12-01 15:13:57.640651
"""

import sqlalchemy as sa

from alembic import op

revision = "11c0c034d9ee"
down_revision = "f00371a5b284"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ALTER TABLE, not a batch: SQLite adds columns in place, and a batch would
    # reflect `users`, whose expression index it cannot read back.
    # Off for every existing account: the e-mail is opt-in.
    op.add_column(
        "users",
        sa.Column("guest_waiting_emails", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.add_column(
        "users",
        sa.Column("timezone_chosen", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    # UTC is every account's default: only another zone is known to be a choice.
    users = sa.table(
        "users", sa.column("timezone", sa.String), sa.column("timezone_chosen", sa.Boolean)
    )
    op.execute(users.update().where(users.c.timezone != "UTC").values(timezone_chosen=True))


def downgrade() -> None:
    op.drop_column("users", "timezone_chosen")
    op.drop_column("users", "guest_waiting_emails")
