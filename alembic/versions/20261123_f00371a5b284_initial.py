"""initial

Revision ID: f00371a5b284
Revises:
Create Date: 2026-11-23 01:00:51.845591
"""

import sqlalchemy as sa

from alembic import op

revision = "f00371a5b284"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "applications",
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("client_id", sa.String(length=100), nullable=False),
        sa.Column("client_secret", sa.String(length=255), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_applications")),
        sa.UniqueConstraint("client_id", name=op.f("uq_applications_client_id")),
    )
    op.create_table(
        "rooms",
        sa.Column("name", sa.String(length=500), nullable=False),
        sa.Column("slug", sa.String(length=100), nullable=False),
        sa.Column(
            "access_level",
            sa.Enum(
                "public",
                "trusted",
                "restricted",
                name="access_level",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("configuration", sa.JSON(), nullable=False),
        sa.Column("pin_code", sa.String(length=32), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rooms")),
        sa.UniqueConstraint("pin_code", name=op.f("uq_rooms_pin_code")),
        sa.UniqueConstraint("slug", name=op.f("uq_rooms_slug")),
    )
    op.create_table(
        "users",
        sa.Column("sub", sa.String(length=255), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("full_name", sa.String(length=100), nullable=True),
        sa.Column("short_name", sa.String(length=100), nullable=True),
        sa.Column("language", sa.String(length=10), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column(
            "default_room_access_level",
            sa.Enum(
                "public",
                "trusted",
                "restricted",
                name="default_room_access_level",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=True,
        ),
        sa.Column("default_room_configuration", sa.JSON(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("is_operator", sa.Boolean(), nullable=False),
        sa.Column("last_login", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("sub", name=op.f("uq_users_sub")),
    )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_users_email"), ["email"], unique=False)
    # Written by hand: autogenerate cannot reflect expression indexes on SQLite.
    op.create_index(
        "uq_users_provisional_email",
        "users",
        [sa.text("lower(email)")],
        unique=True,
        sqlite_where=sa.text("sub IS NULL"),
        postgresql_where=sa.text("sub IS NULL"),
    )

    op.create_table(
        "application_domains",
        sa.Column("domain", sa.String(length=253), nullable=False),
        sa.Column("application_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["applications.id"],
            name=op.f("fk_application_domains_application_id_applications"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_application_domains")),
        sa.UniqueConstraint(
            "application_id", "domain", name=op.f("uq_application_domains_application_id_domain")
        ),
    )
    with op.batch_alter_table("application_domains", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_application_domains_application_id"), ["application_id"], unique=False
        )

    op.create_table(
        "recordings",
        sa.Column("room_id", sa.Uuid(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "initiated",
                "active",
                "stopped",
                "saved",
                "aborted",
                "failed_to_start",
                "failed_to_stop",
                "notification_succeeded",
                "external_process_successful",
                "external_process_failed",
                name="status",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("worker_id", sa.String(length=255), nullable=True),
        sa.Column(
            "mode",
            sa.Enum(
                "screen_recording",
                "transcript",
                name="mode",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("external_process_id", sa.String(length=255), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["room_id"], ["rooms.id"], name=op.f("fk_recordings_room_id_rooms"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recordings")),
        sa.UniqueConstraint("external_process_id", name=op.f("uq_recordings_external_process_id")),
    )
    with op.batch_alter_table("recordings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_recordings_room_id"), ["room_id"], unique=False)
        batch_op.create_index(
            "uq_recordings_room_in_progress",
            ["room_id"],
            unique=True,
            sqlite_where=sa.text("status IN ('initiated', 'active')"),
            postgresql_where=sa.text("status IN ('initiated', 'active')"),
        )

    op.create_table(
        "resource_accesses",
        sa.Column("resource_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column(
            "role",
            sa.Enum(
                "member",
                "administrator",
                "owner",
                name="role",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["resource_id"],
            ["rooms.id"],
            name=op.f("fk_resource_accesses_resource_id_rooms"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_resource_accesses_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_resource_accesses")),
        sa.UniqueConstraint(
            "user_id", "resource_id", name=op.f("uq_resource_accesses_user_id_resource_id")
        ),
    )
    with op.batch_alter_table("resource_accesses", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_resource_accesses_resource_id"), ["resource_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_resource_accesses_user_id"), ["user_id"], unique=False)

    op.create_table(
        "recording_accesses",
        sa.Column("recording_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("team", sa.String(length=100), nullable=False),
        sa.Column(
            "role",
            sa.Enum(
                "member",
                "administrator",
                "owner",
                name="role",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(user_id IS NOT NULL AND team = '') OR (user_id IS NULL AND team <> '')",
            name=op.f("ck_recording_accesses_user_xor_team"),
        ),
        sa.ForeignKeyConstraint(
            ["recording_id"],
            ["recordings.id"],
            name=op.f("fk_recording_accesses_recording_id_recordings"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_recording_accesses_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recording_accesses")),
    )
    with op.batch_alter_table("recording_accesses", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_recording_accesses_recording_id"), ["recording_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_recording_accesses_user_id"), ["user_id"], unique=False
        )
        batch_op.create_index(
            "uq_recording_accesses_team_recording",
            ["team", "recording_id"],
            unique=True,
            sqlite_where=sa.text("team != ''"),
            postgresql_where=sa.text("team != ''"),
        )
        batch_op.create_index(
            "uq_recording_accesses_user_recording",
            ["user_id", "recording_id"],
            unique=True,
            sqlite_where=sa.text("user_id IS NOT NULL"),
            postgresql_where=sa.text("user_id IS NOT NULL"),
        )


def downgrade() -> None:
    op.drop_index("uq_users_provisional_email", table_name="users")
    with op.batch_alter_table("recording_accesses", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_recording_accesses_user_recording",
            sqlite_where=sa.text("user_id IS NOT NULL"),
            postgresql_where=sa.text("user_id IS NOT NULL"),
        )
        batch_op.drop_index(
            "uq_recording_accesses_team_recording",
            sqlite_where=sa.text("team != ''"),
            postgresql_where=sa.text("team != ''"),
        )
        batch_op.drop_index(batch_op.f("ix_recording_accesses_user_id"))
        batch_op.drop_index(batch_op.f("ix_recording_accesses_recording_id"))

    op.drop_table("recording_accesses")
    with op.batch_alter_table("resource_accesses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_resource_accesses_user_id"))
        batch_op.drop_index(batch_op.f("ix_resource_accesses_resource_id"))

    op.drop_table("resource_accesses")
    with op.batch_alter_table("recordings", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_recordings_room_in_progress",
            sqlite_where=sa.text("status IN ('initiated', 'active')"),
            postgresql_where=sa.text("status IN ('initiated', 'active')"),
        )
        batch_op.drop_index(batch_op.f("ix_recordings_room_id"))

    op.drop_table("recordings")
    with op.batch_alter_table("application_domains", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_application_domains_application_id"))

    op.drop_table("application_domains")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_users_email"))

    op.drop_table("users")
    op.drop_table("rooms")
    op.drop_table("applications")
