"""Smoke tests for the test servers in tests/servers (OIDC provider, SMTP, S3)."""

from __future__ import annotations

import base64
import json
import smtplib
from email.message import EmailMessage
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session

from tests.servers.oidc import (
    NOMINAL_REDIRECT_URI,
    OidcProvider,
    complete_login,
    complete_logout,
)
from tests.servers.s3 import S3Server
from tests.servers.smtp import SmtpServer

SCOPE = "openid email profile groups"


@pytest.fixture(scope="module")
def oidc():
    with OidcProvider() as provider:
        yield provider


@pytest.fixture(scope="module")
def smtp():
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def s3():
    server = S3Server().start()
    yield server
    server.stop()


def _client(oidc: OidcProvider, redirect_uri: str = NOMINAL_REDIRECT_URI) -> OAuth2Session:
    return OAuth2Session(
        oidc.client_id,
        oidc.client_secret,
        scope=SCOPE,
        redirect_uri=redirect_uri,
        code_challenge_method="S256",
    )


def _authorize(client: OAuth2Session, oidc: OidcProvider) -> tuple[str, str, str]:
    verifier = generate_token(48)
    url, state = client.create_authorization_url(
        oidc.discovery()["authorization_endpoint"],
        code_verifier=verifier,
        nonce=generate_token(16),
    )
    return url, state, verifier


def _jwt_payload(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def test_oidc_discovery(oidc):
    with requests.Session() as http:
        document = http.get(oidc.discovery_url, timeout=5).json()
    assert document["issuer"] == oidc.issuer == f"http://127.0.0.1:{oidc.port}"
    assert document["code_challenge_methods_supported"] == ["S256"]
    assert {"email", "profile", "groups"} <= set(document["scopes_supported"])
    assert document["end_session_endpoint"] == f"{oidc.issuer}/session/end"
    assert document["userinfo_endpoint"] == f"{oidc.issuer}/me"


@pytest.mark.parametrize(
    ("login", "expected"),
    [
        (
            "alice",
            {
                "sub": "alice",
                "email": "alice@example.org",
                "name": "Alice Example",
                "given_name": "Alice",
                "family_name": "Example",
                "groups": [],
            },
        ),
        (
            "operator1",
            {
                "sub": "operator1",
                "email": "operator1@example.org",
                "name": "Operator1 Example",
                "groups": ["operators"],
            },
        ),
        (
            "bob@example.com",
            {
                "sub": "bob@example.com",
                "email": "bob@example.com",
                "name": "Bob Example",
                "groups": [],
            },
        ),
    ],
)
def test_oidc_login_code_exchange_and_userinfo(oidc, login, expected):
    discovery = oidc.discovery()
    with _client(oidc) as client:
        url, state, verifier = _authorize(client, oidc)
        callback = complete_login(url, login)

        parts = urlsplit(callback)
        assert f"{parts.scheme}://{parts.netloc}{parts.path}" == NOMINAL_REDIRECT_URI
        query = parse_qs(parts.query)
        assert query["state"] == [state]
        assert query["code"][0]

        token = client.fetch_token(
            discovery["token_endpoint"],
            authorization_response=callback,
            state=state,
            code_verifier=verifier,
        )
        assert token["access_token"]
        id_claims = _jwt_payload(token["id_token"])
        assert id_claims["iss"] == oidc.issuer
        assert id_claims["sub"] == expected["sub"]
        assert id_claims["email"] == expected["email"]

        userinfo = client.get(discovery["userinfo_endpoint"], timeout=5).json()
    assert userinfo["email_verified"] is True
    for key, value in expected.items():
        assert userinfo[key] == value


def test_oidc_accepts_any_loopback_redirect_uri_and_logs_out(oidc):
    redirect_uri = "http://127.0.0.1:54321/api/v1.0/callback/"
    with _client(oidc, redirect_uri) as client, requests.Session() as browser:
        url, state, _verifier = _authorize(client, oidc)
        callback = complete_login(url, "carol", session=browser)
        assert callback.startswith(redirect_uri + "?")
        assert parse_qs(urlsplit(callback).query)["state"] == [state]

        # Provider session exists: a second authorization skips the login form.
        url, state, _verifier = _authorize(client, oidc)
        assert complete_login(url, "ignored", session=browser).startswith(redirect_uri + "?")

        end_session = (
            oidc.discovery()["end_session_endpoint"]
            + "?"
            + urlencode(
                {
                    "client_id": oidc.client_id,
                    "post_logout_redirect_uri": "http://localhost:54321/",
                    "state": "bye",
                }
            )
        )
        assert complete_logout(end_session, browser) == "http://localhost:54321/?state=bye"

        # Logged out: the login form is shown again (and the new login is used).
        url, state, verifier = _authorize(client, oidc)
        callback = complete_login(url, "dave", session=browser)
        token = client.fetch_token(
            oidc.discovery()["token_endpoint"],
            authorization_response=callback,
            state=state,
            code_verifier=verifier,
        )
        assert _jwt_payload(token["id_token"])["sub"] == "dave"


def test_oidc_rejects_foreign_redirect_uri_and_missing_pkce(oidc):
    with _client(oidc, "https://evil.example/api/v1.0/callback/") as client:
        url, _state, _verifier = _authorize(client, oidc)
    with pytest.raises(AssertionError, match="redirect_uri"):
        complete_login(url, "mallory")

    no_pkce = (
        oidc.discovery()["authorization_endpoint"]
        + "?"
        + urlencode(
            {
                "client_id": oidc.client_id,
                "response_type": "code",
                "scope": SCOPE,
                "redirect_uri": NOMINAL_REDIRECT_URI,
                "state": "s",
            }
        )
    )
    callback = complete_login(no_pkce, "alice", expect_error=True)
    assert parse_qs(urlsplit(callback).query)["error"] == ["invalid_request"]


def test_smtp_receives_mail(smtp):
    smtp.reset()
    message = EmailMessage()
    message["From"] = "meet@example.org"
    message["To"] = "alice@example.org"
    message["Subject"] = "Invitation à la réunion"
    message.set_content("Join here: http://localhost/room/abc\n")
    with smtplib.SMTP(smtp.host, smtp.port, timeout=5) as client:
        client.send_message(message, to_addrs=["alice@example.org", "bob@example.org"])

    (mail,) = smtp.wait_for(1)
    assert mail.mail_from == "meet@example.org"
    assert mail.rcpt_tos == ["alice@example.org", "bob@example.org"]
    assert mail["Subject"] == "Invitation à la réunion"
    assert isinstance(mail.message, EmailMessage)
    assert "http://localhost/room/abc" in mail.text

    smtp.reset()
    assert smtp.inbox == []
    with pytest.raises(AssertionError):
        smtp.wait_for(1, timeout=0.05)


def test_s3_round_trip_and_reset(s3):
    s3.create_bucket("recordings")
    client = s3.client()
    try:
        client.put_object(
            Bucket="recordings", Key="a/b.txt", Body=b"hello", ContentType="text/plain"
        )
        head = client.head_object(Bucket="recordings", Key="a/b.txt")
        assert head["ContentLength"] == 5
        assert head["ContentType"] == "text/plain"
        body = client.get_object(Bucket="recordings", Key="a/b.txt")["Body"]
        with body:
            assert body.read() == b"hello"

        s3.reset()
        assert client.list_buckets()["Buckets"] == []
    finally:
        client.close()
