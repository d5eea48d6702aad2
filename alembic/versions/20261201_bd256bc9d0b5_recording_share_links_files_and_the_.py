"""recording share links, files (background images) and the marker of a recording's
completion mail

Revision ID: bd256bc9d0b5
Revises: 11c0c034d9ee
Create Date: 2026-12-01 18:09:45.783621
"""

import sqlalchemy as sa

from alembic import op

revision = "bd256bc9d0b5"
down_revision = "11c0c034d9ee"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "files",
        sa.Column(
            "type",
            sa.Enum("background_image", name="type", native_enum=False, create_constraint=True),
            nullable=False,
        ),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("creator_id", sa.Uuid(), nullable=True),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column(
            "upload_state",
            sa.Enum(
                "pending",
                "analyzing",
                "ready",
                "suspicious",
                "file_too_large_to_analyze",
                name="upload_state",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("mimetype", sa.String(length=255), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("malware_detection_info", sa.JSON(), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("hard_deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["creator_id"],
            ["users.id"],
            name=op.f("fk_files_creator_id_users"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_files")),
    )
    with op.batch_alter_table("files", schema=None) as batch_op:
        batch_op.create_index(
            "ix_files_creator_type_created",
            ["creator_id", "type", sa.literal_column("created_at DESC")],
            unique=False,
        )

    op.create_table(
        "recording_share_links",
        sa.Column("recording_id", sa.Uuid(), nullable=False),
        sa.Column("created_by_id", sa.Uuid(), nullable=True),
        sa.Column("token_digest", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_recording_share_links_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["recording_id"],
            ["recordings.id"],
            name=op.f("fk_recording_share_links_recording_id_recordings"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recording_share_links")),
        sa.UniqueConstraint("token_digest", name=op.f("uq_recording_share_links_token_digest")),
    )
    with op.batch_alter_table("recording_share_links", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_recording_share_links_recording_id"), ["recording_id"], unique=False
        )

    # Plain ALTER TABLE: SQLite adds a nullable column in place.
    op.add_column("recordings", sa.Column("notified_at", sa.DateTime(timezone=True), nullable=True))
    # Recordings whose mail already went out are marked, so they are not mailed again.
    recordings = sa.table(
        "recordings",
        sa.column("status", sa.String),
        sa.column("notified_at", sa.DateTime(timezone=True)),
        sa.column("updated_at", sa.DateTime(timezone=True)),
    )
    op.execute(
        recordings.update()
        .where(recordings.c.status == "notification_succeeded")
        .values(notified_at=recordings.c.updated_at)
    )


def downgrade() -> None:
    with op.batch_alter_table("recordings", schema=None) as batch_op:
        batch_op.drop_column("notified_at")

    with op.batch_alter_table("recording_share_links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_recording_share_links_recording_id"))

    op.drop_table("recording_share_links")
    with op.batch_alter_table("files", schema=None) as batch_op:
        batch_op.drop_index("ix_files_creator_type_created")

    op.drop_table("files")
