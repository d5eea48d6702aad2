"""Database wiring: the declarative base, the engine and `request.dbsession`.

Each request's session joins the pyramid_tm transaction. With `testing.shared_connection`
on, the session binds to the connection a test put in the WSGI environ and only ever
commits to a savepoint of the test's outer transaction, which the test rolls back.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime

import zope.sqlalchemy
from pyramid_retry import mark_error_retryable
from sqlalchemy import DateTime, MetaData, TypeDecorator, Uuid, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

SHARED_CONNECTION_KEY = "meet_web.connection"


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Aware UTC datetimes on every database (SQLite returns them without a zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), uuid.UUID: Uuid()}


class BaseModel(Base):
    """UUID primary key and the two timestamps every table has."""

    __abstract__ = True

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False})
        _fix_sqlite_transactions(engine)
        return engine
    # No pre-ping (it costs a round trip per request); connections are recycled hourly
    # and a request that meets a dropped connection is retried by pyramid_retry.
    return create_engine(url, pool_size=10, max_overflow=10, pool_recycle=3600)


def _fix_sqlite_transactions(engine: Engine) -> None:
    # pysqlite's own transaction handling breaks SAVEPOINTs and so test isolation:
    # take it over, and turn foreign keys on (off by default in SQLite).
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        conn.exec_driver_sql("BEGIN")


def session_for_request(request) -> Session:
    factory: sessionmaker = request.registry["dbsession_factory"]
    connection = request.environ.get(SHARED_CONNECTION_KEY)
    if connection is not None and request.registry.settings["testing.shared_connection"]:
        session = Session(bind=connection, join_transaction_mode="create_savepoint")
    else:
        session = factory()
    session.info["request"] = request
    zope.sqlalchemy.register(session, transaction_manager=request.tm)
    return session


def includeme(config):
    settings = config.get_settings()
    settings.setdefault("tm.manager_hook", "pyramid_tm.explicit_manager")
    settings.setdefault("tm.commit_veto", "pyramid_tm.default_commit_veto")
    settings.setdefault("retry.attempts", 3)
    config.include("pyramid_tm")
    config.include("pyramid_retry")
    # Two concurrent creations of the same slug or access race on a unique index; the
    # loser's request is retried from the start and then sees the winner's row.
    mark_error_retryable(IntegrityError)
    engine = make_engine(settings["sqlalchemy.url"])
    config.registry["dbengine"] = engine
    config.registry["dbsession_factory"] = sessionmaker(bind=engine)
    config.add_request_method(session_for_request, "dbsession", reify=True)


def after_commit(request, fn, *args, **kwargs) -> None:
    """Run `fn` once the request's transaction has committed (never if it aborts).

    For side effects outside the database (LiveKit, mail, S3): a failure there is
    logged and cannot undo or half-write the committed rows.
    """

    def hook(committed: bool) -> None:
        if not committed:
            return
        try:
            fn(*args, **kwargs)
        except Exception:  # the rows are committed; report and carry on
            logging.getLogger(__name__).exception("after-commit task %s failed", fn)

    request.tm.get().addAfterCommitHook(hook)
