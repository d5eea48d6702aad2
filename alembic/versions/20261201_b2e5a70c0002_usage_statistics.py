"""usage statistics: meetings from LiveKit's webhooks, their participants, daily roll-ups

Revision ID: b2e5a70c0002
Revises: a1d17e0c0001
Create Date: 2026-12-01 19:10:00.000000
"""

import sqlalchemy as sa

from alembic import op

revision = "b2e5a70c0002"
down_revision = "a1d17e0c0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "usage_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("meetings", sa.Integer(), nullable=False),
        sa.Column("participant_seconds", sa.BigInteger(), nullable=False),
        sa.Column("peak_participants", sa.Integer(), nullable=False),
        sa.Column("rooms_created", sa.Integer(), nullable=False),
        sa.Column("recordings", sa.Integer(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_usage_days")),
        sa.UniqueConstraint("day", name=op.f("uq_usage_days_day")),
    )
    op.create_table(
        "meetings",
        sa.Column("room_id", sa.Uuid(), nullable=True),
        sa.Column("livekit_sid", sa.String(length=64), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("duration_seconds", sa.Integer(), nullable=True),
        sa.Column("peak_participants", sa.Integer(), nullable=False),
        sa.Column("total_participants", sa.Integer(), nullable=False),
        sa.Column("guest_participants", sa.Integer(), nullable=False),
        sa.Column("signed_in_participants", sa.Integer(), nullable=False),
        sa.Column("dial_in_participants", sa.Integer(), nullable=False),
        sa.Column("participant_seconds", sa.BigInteger(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["room_id"], ["rooms.id"], name=op.f("fk_meetings_room_id_rooms"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meetings")),
        sa.UniqueConstraint("livekit_sid", name=op.f("uq_meetings_livekit_sid")),
    )
    with op.batch_alter_table("meetings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_meetings_room_id"), ["room_id"], unique=False)
        batch_op.create_index("ix_meetings_started", ["started_at"], unique=False)

    op.create_table(
        "meeting_participants",
        sa.Column("meeting_id", sa.Uuid(), nullable=False),
        sa.Column("participant_sid", sa.String(length=64), nullable=False),
        sa.Column("identity", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("joined_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("left_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["meetings.id"],
            name=op.f("fk_meeting_participants_meeting_id_meetings"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meeting_participants")),
        sa.UniqueConstraint(
            "meeting_id",
            "participant_sid",
            name=op.f("uq_meeting_participants_meeting_id_participant_sid"),
        ),
    )
    # the daily roll-up counts the rooms and the recordings created on a day
    with op.batch_alter_table("rooms", schema=None) as batch_op:
        batch_op.create_index("ix_rooms_created_at", ["created_at"], unique=False)
    with op.batch_alter_table("recordings", schema=None) as batch_op:
        batch_op.create_index("ix_recordings_created_at", ["created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("recordings", schema=None) as batch_op:
        batch_op.drop_index("ix_recordings_created_at")
    with op.batch_alter_table("rooms", schema=None) as batch_op:
        batch_op.drop_index("ix_rooms_created_at")
    op.drop_table("meeting_participants")
    op.drop_table("meetings")
    op.drop_table("usage_days")
