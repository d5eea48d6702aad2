"""The test bed: one app and one migrated database per session, a rolled-back
transaction per test, and real servers on loopback (OIDC, LiveKit fake, SMTP, S3).

Set MEET_TEST_DATABASE_URL (PostgreSQL) and MEET_TEST_REDIS_URL to run the same suite
against those servers; otherwise SQLite in a temporary directory and the memory cache.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from dataclasses import dataclass

import pytest
import redis
from alembic.config import Config
from pyramid.scripting import prepare
from sqlalchemy import text
from sqlalchemy.orm import Session
from webtest import TestApp

from alembic import command
from meet_web import main
from meet_web.db import KEPT, SHARED_CONNECTION_KEY, Base
from meet_web.models import (
    AccessLevel,
    Recording,
    RecordingAccess,
    RecordingStatus,
    ResourceAccess,
    Role,
    Room,
    User,
)
from meet_web.services.accounts import Accounts
from meet_web.services.doors import Doors
from meet_web.services.ephemeral import EphemeralStore, RedisStore
from tests.openapi_checks import check_response
from tests.servers.livekit_fake import FakeLiveKit
from tests.servers.oidc import OidcProvider, complete_login
from tests.servers.s3 import S3Server
from tests.servers.smtp import SmtpServer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SESSION_SECRET = "test-session-secret-0123456789-abcdefghij"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    url = os.environ.get("MEET_TEST_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite'}"


@pytest.fixture(scope="session")
def redis_url() -> str | None:
    return os.environ.get("MEET_TEST_REDIS_URL") or None


@pytest.fixture(scope="session")
def oidc_provider():
    with OidcProvider() as provider:
        yield provider


@pytest.fixture(scope="session")
def livekit_server():
    with FakeLiveKit() as fake:
        yield fake


@pytest.fixture(scope="session")
def smtp_server():
    """An SMTP server on loopback (aiosmtpd); use `smtp` in tests for an empty inbox."""
    with SmtpServer() as server:
        yield server


@pytest.fixture
def smtp(smtp_server):
    smtp_server.reset()
    yield smtp_server
    smtp_server.reset()


@pytest.fixture
def mailing(testapp_with, smtp):
    """An app whose mail goes to the loopback SMTP server."""
    return testapp_with({"mail.host": smtp.host, "mail.port": str(smtp.port)})


@pytest.fixture(scope="session")
def s3_server():
    """An S3 server on loopback (moto's server mode); use `s3` for an empty one."""
    with S3Server() as server:
        yield server


@pytest.fixture
def s3(s3_server):
    s3_server.reset()
    yield s3_server
    s3_server.reset()


@pytest.fixture
def livekit(livekit_server):
    """The LiveKit fake, emptied after the test."""
    yield livekit_server
    livekit_server.reset()


REDIS_URL = os.environ.get("MEET_TEST_REDIS_URL") or None
# For tests of the ephemeral store itself: each runs on memory, and on Redis when set.
STORE_BACKENDS = [
    "memory",
    pytest.param(
        "redis",
        marks=pytest.mark.skipif(not REDIS_URL, reason="MEET_TEST_REDIS_URL is not set"),
    ),
]


def cache_settings(redis_url: str | None) -> dict:
    if not redis_url:
        return {"cache.backend": "dogpile.cache.memory_pickle"}
    return {
        "cache.backend": "dogpile.cache.redis",
        "cache.arguments.url": redis_url,
        "cache.arguments.distributed_lock": "true",
        "cache.arguments.thread_local_lock": "false",
    }


@pytest.fixture(scope="session")
def settings(database_url, redis_url, oidc_provider, livekit_server) -> dict:
    return {
        "sqlalchemy.url": database_url,
        "app.base_url": "http://localhost",
        "session.secret": SESSION_SECRET,
        "livekit.url": livekit_server.url,
        "livekit.api_key": livekit_server.api_key,
        "livekit.api_secret": livekit_server.api_secret,
        "oidc.issuer": oidc_provider.issuer,
        "oidc.client_id": oidc_provider.client_id,
        "oidc.client_secret": oidc_provider.client_secret,
        "oidc.scopes": "openid email profile groups",
        "oidc.operator_groups": "operators",
        "testing.shared_connection": "true",
        # WebTest's cookie jar keeps Secure cookies off plain http:// (browsers send
        # them to localhost; the default, on, is tested where it matters)
        "app.secure_cookies": "false",
        **cache_settings(redis_url),
    }


def migrate(url: str) -> None:
    config = Config()
    config.set_main_option("script_location", os.path.join(ROOT, "alembic"))
    config.attributes["url"] = url
    config.attributes["configure_logger"] = False
    command.downgrade(config, "base")
    command.upgrade(config, "head")


@pytest.fixture(scope="session")
def app(settings):
    """The WSGI app, built once; its engine is the one every test's connection uses."""
    router = main({}, **settings)
    SESSION_APPS[:] = [router]
    engine = router.registry["dbengine"]
    with engine.begin() as conn:  # start from nothing, whatever an earlier run left
        if engine.dialect.name == "postgresql":
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        else:
            Base.metadata.drop_all(conn)
            conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    migrate(settings["sqlalchemy.url"])
    return router


def app_service(app, iface):
    """A service of the session's app, as views find it."""
    env = prepare(registry=app.registry)
    try:
        return env["request"].service(iface)
    finally:
        env["closer"]()


@pytest.fixture(autouse=True)
def _empty_ephemeral_state(request):
    """Lobby entries, rate limits and callbacks never leak from one test to the next."""
    yield
    if "app" not in request.fixturenames:
        return
    request.getfixturevalue("app")
    for store in distinct_stores(every_app()):
        if isinstance(store, RedisStore):
            with contextlib.suppress(redis.ConnectionError):  # variants may point nowhere
                store.client.flushdb()
        else:
            store.region.backend._cache.clear()


VARIANT_APPS: dict = {}
SESSION_APPS: list = []  # the session's app (one)
APP_STORES: dict = {}  # id(app) -> its EphemeralStore (the apps live as long as the session)


def every_app() -> list:
    """The session's app and every variant built so far."""
    return [*SESSION_APPS, *VARIANT_APPS.values()]


def ephemeral_store(app) -> EphemeralStore:
    store = APP_STORES.get(id(app))
    if store is None:
        store = APP_STORES[id(app)] = app_service(app, EphemeralStore)
    return store


def shared_target(store: EphemeralStore):
    """What stores of different apps have in common when they are one: the Redis
    database they point at (each memory store is its own)."""
    if isinstance(store, RedisStore):
        address = store.client.connection_pool.connection_kwargs
        return ("redis", address.get("host"), address.get("port"), address.get("db"))
    return ("memory", id(store))


def distinct_stores(apps) -> list[EphemeralStore]:
    """One store for each place the apps keep their ephemeral state: a test session
    builds a hundred variants or more, most of them on the same Redis database."""
    stores = {}
    for app in apps:
        store = ephemeral_store(app)
        stores.setdefault(shared_target(store), store)
    return list(stores.values())


class EveryApp:
    """One kind of kept copies (services/versions.py) of every app this test session
    built, told together of the rows a test's own database session changes."""

    def __init__(self, kind: type):
        self.kind = kind

    def _caches(self):
        return [app.registry["meet_services"][self.kind] for app in every_app()]

    def forget_all(self) -> None:
        for cache in self._caches():
            cache.forget_all()

    def changed(self, row_ids) -> None:
        # New versions once in each shared store (the apps on one Redis database read
        # the same version keys), and every app drops its own copies.
        written = set()
        for cache in self._caches():
            target = shared_target(cache.store)
            if target in written:
                cache.drop(row_ids)
                continue
            with contextlib.suppress(redis.ConnectionError):  # variants may point nowhere
                cache.changed(row_ids)
            written.add(target)

    def id_changed_by(self, obj):
        return self._caches()[0].id_changed_by(obj)


@pytest.fixture
def testapp_with(app, settings, connection, oidc_provider):
    """A test app built with some settings changed (built once per set of changes),
    on the same database and test transaction: `testapp_with({"users.allow_listing": "true"})`.
    """

    def make(overrides: dict) -> MeetTestApp:
        key = tuple(sorted(overrides.items()))
        if key not in VARIANT_APPS:
            VARIANT_APPS[key] = main({}, **{**settings, **overrides})
        return MeetTestApp(
            VARIANT_APPS[key],
            extra_environ={SHARED_CONNECTION_KEY: connection, "HTTP_HOST": "localhost"},
            oidc_provider=oidc_provider,
        )

    return make


@pytest.fixture
def connection(app):
    """One connection per test; everything the test does is rolled back at the end."""
    with app.registry["dbengine"].connect() as conn:
        outer = conn.begin()
        yield conn
        outer.rollback()
    # Rows the test committed to its savepoints are gone: no app may keep copies of them.
    for cache in (EveryApp(Doors), EveryApp(Accounts)):
        cache.forget_all()


@pytest.fixture
def dbsession(connection):
    """A session on the test's connection: flush to make rows visible to requests."""
    session = Session(bind=connection, join_transaction_mode="create_savepoint")
    # the rows a test writes are seen at once, as the apps' own sessions do for theirs
    session.info[KEPT] = (EveryApp(Doors), EveryApp(Accounts))
    yield session
    session.close()


class MeetTestApp(TestApp):
    """A WebTest app that sends the CSRF header and can sign in through the real OIDC flow."""

    login_cookies: dict = {}  # sub -> cookies of a real login, shared by the session

    def __init__(self, *args, oidc_provider=None, **kw):
        super().__init__(*args, **kw)
        self.oidc_provider = oidc_provider

    def do_request(self, req, status=None, expect_errors=None):
        token = (self.cookies.get("csrftoken") or "").strip('"')
        if req.method not in SAFE_METHODS and token and "X-CSRF-Token" not in req.headers:
            req.headers["X-CSRF-Token"] = token
        res = super().do_request(req, status=status, expect_errors=expect_errors)
        check_response(self.app.registry, req, res)
        return res

    def login(self, login: str):
        """Sign in as `login` through the OIDC provider; returns the final response."""
        self.reset()
        start = self.get("/api/v1.0/authenticate/", params={"returnTo": "/"}, status=302)
        back = complete_login(start.location, login)
        path = back.split("://", 1)[1].split("/", 1)[1]
        return self.get("/" + path, status=302)

    def login_as(self, user: User | None):
        """Sign in as an existing user (anonymous for None); the real flow runs once per sub."""
        self.reset()
        if user is None:
            return
        cached = self.login_cookies.get((user.sub, user.id))
        if cached is None:
            self.login(user.sub)
            cached = self.login_cookies[(user.sub, user.id)] = dict(self.cookies)
        for name, value in cached.items():
            self.set_cookie(name, value)


@pytest.fixture
def testapp(app, connection, oidc_provider):
    return MeetTestApp(
        app,
        extra_environ={SHARED_CONNECTION_KEY: connection, "HTTP_HOST": "localhost"},
        oidc_provider=oidc_provider,
    )


@pytest.fixture
def new_testapp(app, connection, oidc_provider):
    """Another browser on the same app and test transaction (its own cookies)."""

    def make() -> MeetTestApp:
        return MeetTestApp(
            app,
            extra_environ={SHARED_CONNECTION_KEY: connection, "HTTP_HOST": "localhost"},
            oidc_provider=oidc_provider,
        )

    return make


def make_user(dbsession, login: str, **fields) -> User:
    """A user as the OIDC provider describes `login`, with an id stable across tests."""
    user = User(
        id=uuid.uuid5(uuid.NAMESPACE_URL, f"meet-test-user:{login}"),
        sub=login,
        email=f"{login}@example.org",
        full_name=f"{login.capitalize()} Example",
        short_name=login.capitalize(),
        **fields,
    )
    dbsession.add(user)
    dbsession.flush()
    return user


def make_room(dbsession, name: str, owner: User | None = None, **fields) -> Room:
    fields.setdefault("access_level", AccessLevel.PUBLIC)
    room = Room(name=name, slug=name.lower().replace(" ", "-"), **fields)
    if owner is not None:
        room.accesses.append(ResourceAccess(user=owner, role=Role.OWNER))
    dbsession.add(room)
    dbsession.flush()
    return room


@dataclass
class Cast:
    """The six actors of every permission matrix, around one room."""

    room: Room
    stranger: User
    member: User
    administrator: User
    owner: User
    operator: User

    def __getitem__(self, actor: str) -> User | None:
        return None if actor == "anonymous" else getattr(self, actor)


ACTORS = ("anonymous", "stranger", "member", "administrator", "owner", "operator")


@pytest.fixture
def cast(dbsession) -> Cast:
    users = {
        actor: make_user(dbsession, actor)
        for actor in ("stranger", "member", "administrator", "owner")
    }
    users["operator"] = make_user(dbsession, "operator1", is_operator=True)
    room = make_room(dbsession, "Team Room", users["owner"])
    for role in ("member", "administrator"):
        room.accesses.append(ResourceAccess(user=users[role], role=Role(role)))
    dbsession.flush()
    return Cast(room=room, **users)


@pytest.fixture
def restricted(cast, dbsession) -> Room:
    """The cast's room, restricted: everyone without a role waits in the lobby."""
    cast.room.access_level = AccessLevel.RESTRICTED
    dbsession.flush()
    return cast.room


@pytest.fixture
def user(dbsession) -> User:
    return make_user(dbsession, "alice")


RECORDINGS_BUCKET = "meet-media-storage"


def recording_settings(s3_server, smtp_server, **overrides) -> dict:
    """Recording on, its objects on the S3 server and its mail to the SMTP server."""
    return {
        "recording.enabled": "true",
        "s3.endpoint_url": s3_server.endpoint_url,
        "s3.bucket": RECORDINGS_BUCKET,
        "s3.access_key_id": "testing",
        "s3.secret_access_key": "testing",
        "mail.host": smtp_server.host,
        "mail.port": str(smtp_server.port),
        **overrides,
    }


@pytest.fixture
def recording_app(testapp_with, s3, smtp, livekit):
    """An app that records (`recording_app(**settings)` for one with more changes), with
    an empty bucket, inbox and LiveKit fake."""
    s3.create_bucket(RECORDINGS_BUCKET)

    def make(**overrides) -> MeetTestApp:
        return testapp_with(recording_settings(s3, smtp, **overrides))

    return make


def make_recording(dbsession, room: Room, accesses: dict, **fields) -> Recording:
    """A recording of `room` with `accesses` ({user: role}), flushed."""
    fields.setdefault("status", RecordingStatus.SAVED)
    recording = Recording(room_id=room.id, **fields)
    for person, role in accesses.items():
        recording.accesses.append(RecordingAccess(user_id=person.id, role=Role(role)))
    dbsession.add(recording)
    dbsession.flush()
    return recording


MP4_START = b"\x00\x00\x00\x18ftypmp42"  # the first bytes of an MP4 file


def put_object(s3_server, key: str, body: bytes = MP4_START, **fields) -> None:
    """Store `body` under `key` in the recordings' bucket (`fields`: more of put_object's,
    such as ContentType)."""
    client = s3_server.client()
    try:
        client.put_object(Bucket=RECORDINGS_BUCKET, Key=key, Body=body, **fields)
    finally:
        client.close()


def stored_keys(s3_server, prefix: str = "") -> list[str]:
    """The keys in the recordings' bucket that begin with `prefix`."""
    client = s3_server.client()
    try:
        listed = client.list_objects_v2(Bucket=RECORDINGS_BUCKET, Prefix=prefix)
    finally:
        client.close()
    return [item["Key"] for item in listed.get("Contents", [])]


def files_settings(s3_server, overrides: dict | None = None) -> dict:
    """Background images on, their objects on the S3 server (the recordings' bucket)."""
    return {
        "files.enabled": "true",
        "s3.endpoint_url": s3_server.endpoint_url,
        "s3.bucket": RECORDINGS_BUCKET,
        "s3.access_key_id": "testing",
        "s3.secret_access_key": "testing",
        **(overrides or {}),
    }


@pytest.fixture
def files_app(testapp_with, s3):
    """An app that keeps users' files (`files_app({"files.max_size": "100"})` for one
    with more changes), with an empty bucket."""
    s3.create_bucket(RECORDINGS_BUCKET)

    def make(overrides: dict | None = None) -> MeetTestApp:
        return testapp_with(files_settings(s3, overrides))

    return make


def make_png(width: int = 4, height: int = 4, rgb: tuple[int, int, int] = (40, 120, 200)) -> bytes:
    """A real PNG image of one colour (browsers decode it)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\x00" + bytes(rgb) * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


ROOMKIT_TOKEN = "roomkit-server-token-0123456789-abcdef"
TELEPHONY_NUMBER = "+33 1 23 45 67 89"


def telephony_settings(**overrides) -> dict:
    """Telephony and roomkit on: a French dial-in number, 10-digit PINs, a roomkit token."""
    return {
        "telephony.enabled": "true",
        "telephony.phone_number": TELEPHONY_NUMBER,
        "telephony.default_country": "FR",
        "roomkit.enabled": "true",
        "roomkit.api_token": ROOMKIT_TOKEN,
        **overrides,
    }


@pytest.fixture
def telephony_app(testapp_with, livekit):
    """An app with telephony and roomkit on (`telephony_app(**settings)` for one with more
    changes), on an empty LiveKit fake."""

    def make(**overrides) -> MeetTestApp:
        return testapp_with(telephony_settings(**overrides))

    return make


# -- the external API and the add-ons ---------------------------------------------------

APPLICATION_JWT_KEY = "test-application-jwt-key-0123456789-abcdefgh"
ADDONS_TOKEN_KEY = "test-addons-token-key-0123456789-abcdefghijk"
EXTERNAL_API_SETTINGS = {
    "external_api.enabled": "true",
    "applications.enabled": "true",
    "applications.jwt_secret_key": APPLICATION_JWT_KEY,
    "addons.enabled": "true",
    "addons.token_secret_key": ADDONS_TOKEN_KEY,
    "addons.csrf_secret": "test-addons-csrf-secret-0123456789-abcdefgh",
}
CLIENT_SECRET = "calendar-plugin-client-secret-0123456789"
ALL_SCOPES = ("rooms:create", "rooms:list", "rooms:retrieve", "rooms:update", "rooms:delete")
_CLIENT_SECRET_HASH: list[str] = []  # PBKDF2 is slow on purpose: hashed once a session


def make_application(dbsession, name: str = "Calendar", *, scopes=ALL_SCOPES, domains=(), **fields):
    """An application of the external API whose secret is CLIENT_SECRET, flushed."""
    from meet_web.models import Application, ApplicationDomain
    from meet_web.models.application import hash_secret

    if not _CLIENT_SECRET_HASH:
        _CLIENT_SECRET_HASH.append(hash_secret(CLIENT_SECRET))
    application = Application(
        name=name,
        client_secret=_CLIENT_SECRET_HASH[0],
        scopes=list(scopes),
        allowed_domains=[ApplicationDomain(domain=d) for d in domains],
        **fields,
    )
    dbsession.add(application)
    dbsession.flush()
    return application


class ExternalApiTestApp(MeetTestApp):
    """A test app whose answers under /external-api/v1.0/ must match that API's own
    OpenAPI document, as the JSON API's answers must match theirs."""

    def do_request(self, req, status=None, expect_errors=None):
        from meet_web.views.external_api.openapi import PREFIX, document
        from tests.openapi_checks import Conformance

        res = super().do_request(req, status=status, expect_errors=expect_errors)
        if req.path.startswith(PREFIX + "/"):
            registry = self.app.registry
            checker = registry.get("tests.external_conformance")
            if checker is None:
                checker = registry["tests.external_conformance"] = Conformance(document(registry))
            checker.check(req.method, req.path, res)
        return res


@pytest.fixture
def external_api(testapp_with):
    """An app serving the external API and the add-ons (`external_api(**settings)` for
    one with more changes), on this test's connection."""

    def make(**overrides) -> ExternalApiTestApp:
        client = testapp_with({**EXTERNAL_API_SETTINGS, **overrides})
        return ExternalApiTestApp(
            client.app, extra_environ=client.extra_environ, oidc_provider=client.oidc_provider
        )

    return make


def fetch_token(client, email: str, *, client_id: str, status: int = 200) -> str | None:
    """The access token the token endpoint gives this application for `email`."""
    res = client.post_json(
        "/external-api/v1.0/application/token/",
        {
            "client_id": client_id,
            "client_secret": CLIENT_SECRET,
            "grant_type": "client_credentials",
            "scope": email,
        },
        status=status,
    )
    return res.json.get("access_token")


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}
