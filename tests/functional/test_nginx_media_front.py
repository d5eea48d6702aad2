"""The shipped nginx site (deploy/nginx/) in front of the app and the S3 server: media-auth
decides, nginx forwards the store's signature, the store serves the bytes (reference §5.6).

Debian's nginx runs the shipped files with their placeholders filled, from a temporary
directory (its own pid, logs and temporary paths, loopback ports, the current user). The
app is served over HTTP on loopback, as the browser tests serve it, and moto's S3 server
checks signatures for the length of this module (an IAM user's key, as a real store
would: an unsigned or mis-signed GET gets 403), so bytes through nginx prove that the
headers media-auth returned reached the store intact.

Besides the TLS server of the site, a plain-HTTP server includes the same locations file:
the development identity provider accepts redirect URIs on http://127.0.0.1 only, so the
sign-ins go through that one.
"""

from __future__ import annotations

import datetime
import getpass
import html
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest
import requests
from botocore.config import Config
from moto import settings as moto_settings

from meet_web.models import RecordingMode, RecordingStatus
from meet_web.settings import SETTINGS_BY_NAME
from tests.browser.conftest import serve_app
from tests.conftest import ACTORS, ROOT, make_recording, make_room, make_user
from tests.login_flow import http_sign_in
from tests.permissions.matrix import by

NGINX = "/usr/sbin/nginx"
SITE = Path(ROOT) / "deploy" / "nginx"
STATIC = Path(ROOT) / "static"
BUCKET = "meet-media-front"
REGION = "us-east-1"
TIMEOUT = 10
EXPIRATION_DAYS = 30
UNKNOWN = "0b3988fd-db96-4c41-ae9e-3769cea1cc9f"  # no recording has this id

pytestmark = pytest.mark.skipif(
    not os.path.exists(NGINX),
    reason=f"{NGINX} is missing: apt-get install nginx to test the shipped media front",
)

MEDIA = by(anonymous=401, stranger=403, member=403, administrator=200, owner=200, operator=403)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


PLACEHOLDER = re.compile(r"\$\{([A-Z][A-Z0-9_]*)\}")


def fill(text: str, values: dict[str, str]) -> str:
    """The shipped text with its `${NAME}` placeholders replaced, all of them."""
    missing = sorted(set(PLACEHOLDER.findall(text)) - set(values))
    assert not missing, f"placeholders the test does not fill: {missing}"
    return PLACEHOLDER.sub(lambda match: values[match.group(1)], text)


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1, valid for a day, and its key."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "fullchain.pem", folder / "privkey.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


# -- nginx --------------------------------------------------------------------------------


MAIN_CONF = """\
daemon off;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log info;
{user}
events {{
    worker_connections 128;
}}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log {dir}/access.log;
    client_body_temp_path {dir}/tmp/body;
    proxy_temp_path {dir}/tmp/proxy;
    fastcgi_temp_path {dir}/tmp/fastcgi;
    uwsgi_temp_path {dir}/tmp/uwsgi;
    scgi_temp_path {dir}/tmp/scgi;

    include sites-enabled/meet-web.conf;

    # the site's locations over plain HTTP, for the sign-ins (see the module's docstring)
    server {{
        listen 127.0.0.1:{plain_port};
        server_name 127.0.0.1;
        include snippets/meet-web-locations.conf;
    }}
}}
"""


@dataclass
class Nginx:
    plain_url: str
    https_url: str
    http_url: str  # the redirect to https
    certificate: Path
    folder: Path

    def log(self) -> str:
        return (self.folder / "error.log").read_text(errors="replace")


def install_site(folder: Path, values: dict[str, str]) -> None:
    """The shipped files where Debian's nginx keeps them, relative to its configuration."""
    (folder / "sites-enabled").mkdir()
    (folder / "snippets").mkdir()
    (folder / "sites-enabled" / "meet-web.conf").write_text(
        fill((SITE / "meet-web.conf").read_text(), values)
    )
    (folder / "snippets" / "meet-web-locations.conf").write_text(
        fill((SITE / "meet-web-locations.conf").read_text(), values)
    )


@contextmanager
def run_nginx(folder: Path, app_address: str, s3_endpoint: str, plain_port: int) -> Iterator[Nginx]:
    """nginx with the shipped site, in the foreground, stopped by its pid at the end."""
    ports = {"plain": plain_port, "https": free_port(), "http": free_port()}
    certificate, key = self_signed_certificate(folder)
    install_site(
        folder,
        {
            "SERVER_NAME": "127.0.0.1",
            "LISTEN_HTTPS": f"127.0.0.1:{ports['https']}",
            "LISTEN_HTTP": f"127.0.0.1:{ports['http']}",
            "TLS_CERTIFICATE": str(certificate),
            "TLS_CERTIFICATE_KEY": str(key),
            "APP": app_address,
            "STATIC_ROOT": str(STATIC),
            "S3_ENDPOINT": s3_endpoint,
            "S3_BUCKET": BUCKET,
        },
    )
    (folder / "tmp").mkdir()
    # as root, the workers would otherwise be `nobody`, who cannot read this folder
    user = f"user {getpass.getuser()};" if os.geteuid() == 0 else ""
    conf = folder / "nginx.conf"
    conf.write_text(MAIN_CONF.format(dir=folder, user=user, plain_port=ports["plain"]))
    command = [NGINX, "-p", str(folder), "-e", str(folder / "error.log"), "-c", str(conf)]
    checked = subprocess.run([*command, "-t"], capture_output=True, text=True, check=False)
    assert checked.returncode == 0, f"nginx -t refused the site:\n{checked.stderr}"
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    server = Nginx(
        plain_url=f"http://127.0.0.1:{ports['plain']}",
        https_url=f"https://127.0.0.1:{ports['https']}",
        http_url=f"http://127.0.0.1:{ports['http']}",
        certificate=certificate,
        folder=folder,
    )
    try:
        deadline = time.monotonic() + 10
        while not all(accepts(port) for port in ports.values()):
            assert process.poll() is None, f"nginx exited:\n{server.log()}"
            assert time.monotonic() < deadline, f"nginx did not listen in 10 s:\n{server.log()}"
            time.sleep(0.05)
        yield server
    finally:
        process.send_signal(signal.SIGQUIT)  # graceful: the master stops its worker
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def accepts(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


# -- the store, checking signatures ---------------------------------------------------------


@dataclass
class Store:
    endpoint_url: str
    access_key_id: str
    secret_access_key: str

    def client(self):
        return boto3.session.Session().client(
            "s3",
            endpoint_url=self.endpoint_url,
            aws_access_key_id=self.access_key_id,
            aws_secret_access_key=self.secret_access_key,
            region_name=REGION,
            config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
        )


@contextmanager
def signing_store(s3_server) -> Iterator[Store]:
    """moto's S3 server as a real store behaves: every request must be signed by a known
    key (an IAM user's, made while moto still lets anyone in). moto's switch is
    process-wide; it is put back, and the server emptied, at the end."""
    s3_server.reset()
    iam = boto3.session.Session().client(
        "iam",
        endpoint_url=s3_server.endpoint_url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name=REGION,
    )
    try:
        iam.create_user(UserName="meet-web")
        policy = {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
        }
        iam.put_user_policy(
            UserName="meet-web", PolicyName="media", PolicyDocument=json.dumps(policy)
        )
        key = iam.create_access_key(UserName="meet-web")["AccessKey"]
    finally:
        iam.close()
    before = moto_settings.INITIAL_NO_AUTH_ACTION_COUNT
    moto_settings.INITIAL_NO_AUTH_ACTION_COUNT = 0
    try:
        yield Store(s3_server.endpoint_url, key["AccessKeyId"], key["SecretAccessKey"])
    finally:
        moto_settings.INITIAL_NO_AUTH_ACTION_COUNT = before
        s3_server.reset()


# -- the stack --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Seeded:
    id: uuid.UUID
    extension: str
    key: str  # the object's key in the bucket


@dataclass
class Front:
    nginx: Nginx
    store: Store
    recordings: dict[str, Seeded]
    content: dict[str, bytes]  # name -> the object's bytes
    browsers: dict[str, requests.Session]  # actor -> signed in through nginx

    def media_path(self, name: str, extension: str | None = None) -> str:
        recording = self.recordings[name]
        return f"/media/recordings/{recording.id}.{extension or recording.extension}"

    def get(self, actor: str, path: str, base: str | None = None, **kw) -> requests.Response:
        kw.setdefault("timeout", TIMEOUT)
        kw.setdefault("allow_redirects", False)
        return self.browsers[actor].get((base or self.nginx.plain_url) + path, **kw)


def seed(server) -> dict:
    """The six actors, a room and its recordings, committed to the served database."""
    with server.dbsession() as session:
        users = {
            actor: make_user(session, actor)
            for actor in ("stranger", "member", "administrator", "owner")
        }
        users["operator"] = make_user(session, "operator1", is_operator=True)
        room = make_room(session, "Media Room", users["owner"])
        roles = {users[role]: role for role in ("owner", "administrator", "member")}
        old = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=EXPIRATION_DAYS + 5)
        recordings = {
            "saved": make_recording(session, room, roles, mode=RecordingMode.SCREEN_RECORDING),
            "expired": make_recording(
                session, room, roles, mode=RecordingMode.SCREEN_RECORDING, created_at=old
            ),
            "transcript": make_recording(session, room, roles, mode=RecordingMode.TRANSCRIPT),
            "active": make_recording(
                session,
                room,
                roles,
                mode=RecordingMode.SCREEN_RECORDING,
                status=RecordingStatus.ACTIVE,
            ),
        }
        session.flush()
        seeded = {
            name: Seeded(r.id, r.extension, r.key("recordings")) for name, r in recordings.items()
        }
        logins = {actor: user.sub for actor, user in users.items()}
        session.commit()
    return {"logins": logins, "recordings": seeded}


def sign_in(base: str, login: str) -> requests.Session:
    """A browser after the real OIDC flow, through nginx."""
    browser = http_sign_in(base, login, TIMEOUT)
    assert "meet_session" in browser.cookies
    return browser


@pytest.fixture(scope="module")
def front(settings, s3_server, tmp_path_factory) -> Iterator[Front]:
    folder = tmp_path_factory.mktemp("nginx-front")
    plain_port = free_port()  # nginx's, known before the app is built with it
    with signing_store(s3_server) as store:
        overrides = {
            "app.base_url": f"http://127.0.0.1:{plain_port}",
            "recording.enabled": "true",
            "recording.media_front": "true",
            "recording.expiration_days": str(EXPIRATION_DAYS),
            "s3.endpoint_url": store.endpoint_url,
            "s3.bucket": BUCKET,
            "s3.access_key_id": store.access_key_id,
            "s3.secret_access_key": store.secret_access_key,
            "s3.region": REGION,
        }
        with serve_app(settings, folder, **overrides) as app:
            rows = seed(app)
            client = store.client()
            content = {}
            try:
                client.create_bucket(Bucket=BUCKET)
                for name, recording in rows["recordings"].items():
                    content[name] = secrets.token_bytes(300_000)
                    client.put_object(
                        Bucket=BUCKET,
                        Key=recording.key,
                        Body=content[name],
                        ContentType="video/mp4",
                    )
            finally:
                client.close()
            app_address = app.url.removeprefix("http://")
            nginx_folder = folder / "nginx"
            nginx_folder.mkdir()
            with run_nginx(nginx_folder, app_address, store.endpoint_url, plain_port) as nginx:
                browsers = {"anonymous": requests.Session()}
                for actor, login in rows["logins"].items():
                    browsers[actor] = sign_in(nginx.plain_url, login)
                try:
                    yield Front(nginx, store, rows["recordings"], content, browsers)
                finally:
                    for browser in browsers.values():
                        browser.close()


# -- the cases --------------------------------------------------------------------------------


@pytest.mark.parametrize("actor", ACTORS)
def test_media_through_nginx(front, actor):
    res = front.get(actor, front.media_path("saved"))
    assert res.status_code == MEDIA[actor], front.nginx.log()[-2000:]
    if res.status_code == 200:
        assert res.content == front.content["saved"]
        assert res.headers["Content-Length"] == str(len(front.content["saved"]))
    else:
        assert res.content != front.content["saved"]


def test_the_store_refuses_the_same_get_unsigned(front):
    recording = front.recordings["saved"]
    direct = f"{front.store.endpoint_url}/{BUCKET}/{recording.key}"
    assert requests.get(direct, timeout=TIMEOUT).status_code == 403


def test_a_range_gets_206_from_the_store(front):
    res = front.get("owner", front.media_path("saved"), headers={"Range": "bytes=1000-1999"})
    assert res.status_code == 206
    size = len(front.content["saved"])
    assert res.headers["Content-Range"] == f"bytes 1000-1999/{size}"
    assert res.content == front.content["saved"][1000:2000]


def test_head_gives_the_headers_only(front):
    res = front.browsers["owner"].head(
        front.nginx.plain_url + front.media_path("saved"), timeout=TIMEOUT
    )
    assert res.status_code == 200
    assert res.headers["Content-Length"] == str(len(front.content["saved"]))
    assert res.content == b""


def test_a_query_is_not_passed_to_the_store(front):
    """The signature is for the bare path: a cache buster must not void it."""
    res = front.get("owner", front.media_path("saved") + "?t=12345")
    assert res.status_code == 200
    assert res.content == front.content["saved"]


def test_media_headers(front):
    res = front.get("owner", front.media_path("saved"))
    assert res.headers["Cache-Control"] == "private, no-store"
    assert res.headers["X-Content-Type-Options"] == "nosniff"
    assert "Set-Cookie" not in res.headers
    assert "x-amz-request-id" not in res.headers


def test_an_expired_recording_is_gone(front):
    res = front.get("owner", front.media_path("expired"))
    assert res.status_code == 410
    assert res.content != front.content["expired"]


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/media/recordings/not-a-uuid.mp4", 403),
        (f"/media/recordings/{UNKNOWN}.webm", 400),  # unsupported extension
        (f"/media/recordings/{UNKNOWN}.mp4", 404),  # no such recording
        ("/media/elsewhere/x.mp4", 403),
        ("/media/recordings/../recordings/x.mp4", 403),
    ],
)
def test_bad_paths(front, path, status):
    res = front.get("owner", path)
    assert res.status_code == status, front.nginx.log()[-2000:]


def test_the_extension_must_match_the_mode(front):
    assert front.get("owner", front.media_path("saved", "ogg")).status_code == 404
    assert front.get("owner", front.media_path("transcript", "mp4")).status_code == 404


def test_a_recording_in_progress_is_refused(front):
    assert front.get("owner", front.media_path("active")).status_code == 403


def test_only_get_reaches_the_store(front):
    res = front.browsers["owner"].post(
        front.nginx.plain_url + front.media_path("saved"), timeout=TIMEOUT
    )
    assert res.status_code == 403


def test_static_files_come_from_the_checkout(front):
    res = front.get("anonymous", "/static/favicon.svg")
    assert res.status_code == 200
    assert res.content == (STATIC / "favicon.svg").read_bytes()
    assert res.headers["Content-Type"] == "image/svg+xml"
    assert res.headers["Cache-Control"] == "max-age=604800"


def test_bodies_over_the_apps_limit_are_refused_by_nginx(front):
    shipped = re.search(
        r"^client_max_body_size (\d+)m;$",
        (SITE / "meet-web-locations.conf").read_text(),
        re.MULTILINE,
    )
    assert shipped is not None
    limit = int(shipped.group(1)) * 1024 * 1024
    assert limit == SETTINGS_BY_NAME["app.max_body_size"].default
    res = front.browsers["owner"].post(
        front.nginx.plain_url + "/api/v1.0/rooms/", data=b"x" * (limit + 1), timeout=TIMEOUT
    )
    assert res.status_code == 413


def test_the_tls_server_serves_the_same_site(front):
    res = front.get(
        "owner",
        front.media_path("saved"),
        base=front.nginx.https_url,
        verify=str(front.nginx.certificate),
    )
    assert res.status_code == 200
    assert res.content == front.content["saved"]
    config = front.get(
        "anonymous",
        "/api/v1.0/config/",
        base=front.nginx.https_url,
        verify=str(front.nginx.certificate),
    )
    assert config.status_code == 200
    assert "recording" in config.json()


SOURCE = re.compile(r'<source src="([^"]+)"')


def test_the_recording_page_plays_from_the_front(front):
    """With `recording.media_front`, the page's player asks nginx, which serves it."""
    page = front.get("owner", f"/recordings/{front.recordings['saved'].id}")
    assert page.status_code == 200
    src = html.unescape(SOURCE.search(page.text).group(1))
    assert src == front.nginx.plain_url + front.media_path("saved")
    played = front.browsers["owner"].get(src, headers={"Range": "bytes=0-"}, timeout=TIMEOUT)
    assert played.status_code == 206
    assert played.content == front.content["saved"]


def test_a_share_link_plays_through_the_front_until_revoked(front):
    owner, recording = front.browsers["owner"], front.recordings["saved"]
    links = f"{front.nginx.plain_url}/api/v1.0/recordings/{recording.id}/share-links/"
    csrf = {"X-CSRFToken": owner.cookies["csrftoken"]}
    made = owner.post(links, json={"expires_in_days": 1}, headers=csrf, timeout=TIMEOUT)
    assert made.status_code == 201, made.text
    holder = requests.Session()
    page = holder.get(made.json()["url"], timeout=TIMEOUT)
    assert page.status_code == 200
    src = html.unescape(SOURCE.search(page.text).group(1))
    assert src.startswith(front.nginx.plain_url + front.media_path("saved") + "?share=")
    played = holder.get(src, timeout=TIMEOUT)
    assert played.status_code == 200
    assert played.content == front.content["saved"]

    revoked = owner.delete(f"{links}{made.json()['id']}/", headers=csrf, timeout=TIMEOUT)
    assert revoked.status_code == 204
    assert holder.get(src, timeout=TIMEOUT).status_code == 403
    holder.close()


def test_plain_http_is_sent_to_https(front):
    res = front.get("anonymous", "/rooms/?page=2", base=front.nginx.http_url)
    assert res.status_code == 301
    assert res.headers["Location"] == "https://127.0.0.1/rooms/?page=2"
