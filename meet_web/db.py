"""Database wiring: the declarative base, the engine and `request.dbsession`.

Each request's session joins the pyramid_tm transaction. With `testing.shared_connection`
on, the session binds to the connection a test put in the WSGI environ and only ever
commits to a savepoint of the test's outer transaction, which the test rolls back.
"""

from __future__ import annotations

import logging
import sqlite3
import uuid
from datetime import UTC, datetime

from pyramid_retry import mark_error_retryable
from sqlalchemy import DateTime, MetaData, TypeDecorator, Uuid, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker
from transaction._transaction import Status  # as zope.sqlalchemy reads it
from transaction.interfaces import NoTransaction
from zope.sqlalchemy import mark_changed
from zope.sqlalchemy.datamanager import STATUS_ACTIVE, join_transaction

KEPT = "meet_web.kept"  # session.info: the kept copies told of changes (services/versions.py)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

SHARED_CONNECTION_KEY = "meet_web.connection"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
EXTERNAL_API_PREFIX = "/external-api/"
BEGIN_IMMEDIATE = "meet_web_begin_immediate"  # an execution option, read on SQLite only


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
        # A writer waits up to 30 s for another's lock (pysqlite's busy timeout) rather
        # than failing after pysqlite's default of 5 s.
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        _fix_sqlite_transactions(engine)
        _retry_sqlite_lock_errors(engine)
        return engine
    # No pre-ping (it costs a round trip per request); connections are recycled hourly
    # and a request that meets a dropped connection is retried by pyramid_retry.
    engine = create_engine(url, pool_size=10, max_overflow=10, pool_recycle=3600)
    _retry_after_disconnects(engine)
    return engine


def _retry_after_disconnects(engine: Engine) -> None:
    # A server restart leaves dead connections in the pool; SQLAlchemy invalidates the
    # one that failed (and the pool), and the request is worth one more attempt.
    @event.listens_for(engine, "handle_error")
    def _on_error(context):
        if context.is_disconnect and context.sqlalchemy_exception is not None:
            mark_error_retryable(context.sqlalchemy_exception)


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
        # A deferred transaction that reads, then writes, cannot wait for another
        # writer's lock (SQLite refuses it at once, lest the two deadlock); one that
        # takes the write lock first waits its turn, up to the busy timeout.
        immediate = conn.get_execution_options().get(BEGIN_IMMEDIATE)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _retry_sqlite_lock_errors(engine: Engine) -> None:
    # Two deferred transactions that both read, then both write, would deadlock on
    # SQLite's file lock: SQLite answers one of them "database is locked" at once,
    # whatever the busy timeout (write requests begin IMMEDIATE and so wait instead;
    # a GET that writes, such as a sign-in, may still meet it). That request is retried
    # from the start, as for IntegrityError below. Only this error: others last.
    @event.listens_for(engine, "handle_error")
    def _on_error(context):
        error = context.original_exception
        if (
            isinstance(error, sqlite3.OperationalError)
            and "database is locked" in str(error)
            and context.sqlalchemy_exception is not None
        ):
            mark_error_retryable(context.sqlalchemy_exception)


# The two hot POSTs, told apart by their raw path before any routing (it may not even
# be UTF-8: ingress refuses that later).
# - The knock, POST /api/v1.0/rooms/<room>/request-entry/: guests poll it every second,
#   and it never writes to the database (the lobby lives in the ephemeral store; at most
#   it reads a room's door). It runs without pyramid_tm's transaction, whose begin and
#   commit were a tenth of its CPU (`needs_transaction`), and is not retried.
# - LiveKit's webhook: most events have no handler and touch nothing, so it also runs
#   without pyramid_tm's transaction; the view begins one around the handlers of an event
#   that has some (their rows commit or abort together). Not retried either
#   (tweens.retry_attempts): LiveKit redelivers.
KNOCK_PREFIX = "/api/v1.0/rooms/"
KNOCK_SUFFIX = "/request-entry/"
WEBHOOK_PATH = "/api/v1.0/rooms/webhooks-livekit/"


def is_knock(request) -> bool:
    path = request.environ.get("PATH_INFO", "")
    return (
        request.method == "POST" and path.startswith(KNOCK_PREFIX) and path.endswith(KNOCK_SUFFIX)
    )


def is_webhook(request) -> bool:
    return request.method == "POST" and request.environ.get("PATH_INFO") == WEBHOOK_PATH


def needs_transaction(request) -> bool:
    """pyramid_tm's activate hook: every request but the two hot POSTs."""
    return not (is_knock(request) or is_webhook(request))


# -- the request's session and its transaction -------------------------------------------

TRANSACTION_MANAGER = "meet_web.transaction_manager"  # session.info: the request's tm


class RequestSession(Session):
    """A request's session. It joins the request's pyramid_tm transaction, whose
    manager is in its info (TRANSACTION_MANAGER); without one (the knock's session,
    which only reads) it joins none, and the caller closes it."""


# zope.sqlalchemy's listeners (its ZopeTransactionEvents), registered once on the
# class: `zope.sqlalchemy.register(session)` adds seven listeners to each session it
# is given, about 50 µs a request. The same calls, with the session's own manager.


def _manager(session):
    return session.info.get(TRANSACTION_MANAGER)


def _join(session) -> None:
    manager = _manager(session)
    if manager is not None:
        join_transaction(session, STATUS_ACTIVE, manager)


def _changed(session) -> None:
    manager = _manager(session)
    if manager is not None:
        mark_changed(session, manager)


@event.listens_for(RequestSession, "after_begin")
def _after_begin(session, _transaction, _connection):
    _join(session)


@event.listens_for(RequestSession, "after_attach")
def _after_attach(session, _instance):
    _join(session)


@event.listens_for(RequestSession, "after_flush")
def _after_flush(session, _flush_context):
    _changed(session)


@event.listens_for(RequestSession, "after_bulk_update")
def _after_bulk_update(update_context):
    _changed(update_context.session)


@event.listens_for(RequestSession, "after_bulk_delete")
def _after_bulk_delete(delete_context):
    _changed(delete_context.session)


@event.listens_for(RequestSession, "do_orm_execute")
def _do_orm_execute(execute_state):
    writes = execute_state.is_update or execute_state.is_insert or execute_state.is_delete
    if execute_state.is_orm_statement and writes:
        _changed(execute_state.session)


@event.listens_for(RequestSession, "before_commit")
def _before_commit(session):
    manager = _manager(session)
    if manager is None or session.in_nested_transaction():
        return
    if manager.get().status != Status.COMMITTING:
        raise AssertionError("Transaction must be committed using the transaction manager")


def session_for_request(request) -> Session:
    factory: sessionmaker = request.registry["request_session_factory"]
    # The external API's reads may write too: a provider token's first call makes its
    # user (services/resource_server.py).
    if request.method not in SAFE_METHODS or request.environ.get("PATH_INFO", "").startswith(
        EXTERNAL_API_PREFIX
    ):
        factory = request.registry.get("request_writer_session_factory", factory)
    connection = request.environ.get(SHARED_CONNECTION_KEY)
    if connection is not None and request.registry.settings["testing.shared_connection"]:
        session = RequestSession(bind=connection, join_transaction_mode="create_savepoint")
    else:
        session = factory()
    session.info["request"] = request
    # the rooms and users it changes get new versions: every process reloads its copies
    session.info[KEPT] = request.registry.get("kept_copies", ())
    if is_knock(request):  # reads only (see KNOCK_PREFIX): nothing to commit
        request.add_finished_callback(lambda _request: session.close())
    else:  # the webhook's session joins the transaction its view begins (`with request.tm`)
        session.info[TRANSACTION_MANAGER] = request.tm
    return session


def includeme(config):
    settings = config.get_settings()
    settings.setdefault("tm.manager_hook", "pyramid_tm.explicit_manager")
    settings.setdefault("tm.commit_veto", "pyramid_tm.default_commit_veto")
    # Otherwise pyramid_tm loads the user before the exception views are in place: a
    # cache or database failure there would escape as a bare 500.
    settings.setdefault("tm.annotate_user", False)
    settings.setdefault("tm.activate_hook", "meet_web.db.needs_transaction")
    settings.setdefault("retry.attempts", 3)
    config.include("pyramid_tm")
    config.include("pyramid_retry")
    # Two concurrent creations of the same slug or access race on a unique index; the
    # loser's request is retried from the start and then sees the winner's row.
    mark_error_retryable(IntegrityError)
    engine = make_engine(settings["sqlalchemy.url"])
    config.registry["dbengine"] = engine
    # Work outside requests (scripts, worker threads) commits its own sessions.
    config.registry["dbsession_factory"] = sessionmaker(bind=engine)
    config.registry["request_session_factory"] = sessionmaker(bind=engine, class_=RequestSession)
    if engine.dialect.name == "sqlite":
        # Requests that may write take SQLite's write lock when they begin (see
        # _fix_sqlite_transactions): they wait for each other instead of failing.
        writer = engine.execution_options(**{BEGIN_IMMEDIATE: True})
        config.registry["request_writer_session_factory"] = sessionmaker(
            bind=writer, class_=RequestSession
        )
    config.add_request_method(session_for_request, "dbsession", reify=True)


def active_transaction(request):
    """The request's transaction, or None outside one (the knock; the webhook's view
    outside its handlers)."""
    try:
        return request.tm.get()
    except NoTransaction:
        return None


def after_commit(request, fn, *args, **kwargs) -> None:
    """Run `fn` once the request's transaction has committed (never if it aborts); for a
    request without one (the knock), once it has succeeded.

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

    current = active_transaction(request)
    if current is not None:
        current.addAfterCommitHook(hook)
    else:
        request.add_finished_callback(
            lambda request: hook(request.exception is None and request.response.status_int < 400)
        )
