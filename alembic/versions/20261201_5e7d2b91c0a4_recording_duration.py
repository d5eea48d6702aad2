"""recording duration: the length of the media, from the egress's file result

Revision ID: 5e7d2b91c0a4
Revises: c3f1a9e2b7d4
Create Date: 2026-12-01 18:40:00.000000
"""

import sqlalchemy as sa

from alembic import op

revision = "5e7d2b91c0a4"
down_revision = "c3f1a9e2b7d4"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ALTER TABLE: SQLite adds a nullable column in place.
    op.add_column("recordings", sa.Column("duration_seconds", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("recordings", schema=None) as batch_op:
        batch_op.drop_column("duration_seconds")
