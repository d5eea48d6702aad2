"""Alembic environment: the URL comes from the ini file or MEET_SQLALCHEMY_URL."""

import os

from sqlalchemy import engine_from_config, pool

import meet_web.models  # noqa: F401  (registers every table on the metadata)
from alembic import context
from meet_web.db import Base
from meet_web.settings import SETTINGS_BY_NAME, raw_value

config = context.config
if config.config_file_name and config.attributes.get("configure_logger", True):
    from logging.config import fileConfig

    fileConfig(config.config_file_name, disable_existing_loggers=False)


def database_url() -> str:
    if "url" in config.attributes:
        return config.attributes["url"]
    ini = dict(config.get_section("app:main", {}))
    url = raw_value(SETTINGS_BY_NAME["sqlalchemy.url"], ini, os.environ)
    if not url:
        raise SystemExit("sqlalchemy.url is not set (ini file or MEET_SQLALCHEMY_URL)")
    return url


def run_migrations_offline() -> None:
    context.configure(
        url=database_url(), target_metadata=Base.metadata, render_as_batch=True, literal_binds=True
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = engine_from_config(
        {"sqlalchemy.url": database_url()}, prefix="sqlalchemy.", poolclass=pool.NullPool
    )
    with engine.connect() as conn:
        _run(conn)


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
