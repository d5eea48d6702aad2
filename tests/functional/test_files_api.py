"""Users' files through the API against moto's S3 server: create, the browser's PUT to
the presigned URL (a real HTTP client), upload-ended with what was really stored, and
every refusal (type, size, limit, the flag off, the store down)."""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import parse_qs, quote, urlsplit

import pytest
import requests
from sqlalchemy import select

from meet_web.files.lifecycle import readable_size
from meet_web.models import File
from tests.conftest import RECORDINGS_BUCKET, make_png, make_user, stored_keys
from tests.servers.smtp import closed_port

FILES = "/api/v1.0/files/"
LIMIT_REACHED = "You have reached the maximum number of files for this type."


@pytest.fixture
def alice(dbsession):
    return make_user(dbsession, "alice")


@pytest.fixture
def client(files_app, alice):
    app = files_app()
    app.login_as(alice)
    return app


def rows(dbsession) -> list[File]:
    dbsession.expire_all()
    return dbsession.scalars(select(File).order_by(File.created_at)).all()


def keys(s3) -> list[str]:
    return sorted(stored_keys(s3))


def create(client, filename="beach.png", status=201, **extra):
    body = {"type": "background_image", "filename": filename, **extra}
    return client.post_json(FILES, body, status=status)


def upload(policy: str, content: bytes) -> None:
    answer = requests.put(policy, data=content, timeout=10)
    assert answer.status_code == 200, answer.text


def uploaded(client, content: bytes, filename="beach.png", status=200):
    created = create(client, filename).json
    upload(created["policy"], content)
    return created, client.post_json(f"{FILES}{created['id']}/upload-ended/", {}, status=status)


def test_the_whole_flow(client, s3, alice, dbsession):
    png = make_png()
    created = create(client, title="My beach").json
    assert created["upload_state"] == "pending"
    assert created["title"] == "My beach"
    assert created["creator"] == str(alice.id)
    assert created["url"] is None
    policy = urlsplit(created["policy"])
    temporary_key = f"tmp/files/{created['id']}.png"
    assert policy.path == f"/{RECORDINGS_BUCKET}/{temporary_key}"
    assert parse_qs(policy.query)["X-Amz-Expires"] == ["60"]

    upload(created["policy"], png)
    assert keys(s3) == [temporary_key]
    ended = client.post_json(f"{FILES}{created['id']}/upload-ended/", {}).json
    assert ended["upload_state"] == "ready"
    assert ended["mimetype"] == "image/png"
    assert ended["size"] == len(png)
    assert ended["url"] == f"/media/files/{created['id']}.png"
    assert keys(s3) == [f"files/{created['id']}.png"]  # the temporary copy is gone

    content = client.get(ended["content_url"])
    assert content.content_type == "image/png"
    assert content.body == png

    listed = client.get(FILES, params={"upload_state": "ready"}).json
    assert [item["id"] for item in listed["results"]] == [created["id"]]
    auth = client.get(
        f"{FILES}media-auth/",
        headers={"X-Original-URL": f"http://localhost/media/files/{created['id']}.png"},
    )
    assert auth.json == "authorized"
    assert auth.headers["Authorization"].startswith("AWS4-HMAC-SHA256 ")
    [row] = rows(dbsession)
    assert (row.upload_state, row.size, row.mimetype) == ("ready", len(png), "image/png")


def test_upload_ended_twice(client):
    created, _ended = uploaded(client, make_png())
    again = client.post_json(f"{FILES}{created['id']}/upload-ended/", {}, status=400)
    assert again.json == {"detail": "This action is only available for files in the pending state."}


def test_title_defaults_to_the_name_without_extension(client):
    assert create(client, "C:\\fakepath\\Sunny day.jpeg").json["title"] == "Sunny day"
    assert create(client, "holidays.v2.webp").json["filename"] == "holidays.v2.webp"


def test_text_renamed_png_is_refused_and_hard_deleted(client, s3, dbsession):
    created, ended = uploaded(client, b"just some words, not an image\n", status=400)
    assert "text/plain" in ended.json["detail"]
    assert "not an image of an allowed type" in ended.json["detail"]
    [row] = rows(dbsession)
    assert row.hard_deleted_at is not None and row.deleted_at is not None
    assert keys(s3) == []  # neither the upload nor its copy is kept
    client.get(f"{FILES}{created['id']}/", status=404)
    assert client.get(FILES).json["count"] == 0


@pytest.mark.parametrize(
    ("content", "mimetype"),
    [
        (b"%PDF-1.7 a document", "application/pdf"),
        (b"PK\x03\x04 an archive", "application/zip"),
        (b"GIF89a\x01\x00\x01\x00", "image/gif"),  # a real type, but not allowed
    ],
)
def test_other_content_is_refused(client, content, mimetype):
    _created, ended = uploaded(client, content, status=400)
    assert mimetype in ended.json["detail"]


def test_a_webp_and_a_jpeg_are_kept(client):
    webp = b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 24
    jpeg = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 40
    assert uploaded(client, webp, "a.webp")[1].json["mimetype"] == "image/webp"
    assert uploaded(client, jpeg, "b.jpg")[1].json["mimetype"] == "image/jpeg"


def test_unknown_binary_falls_back_on_the_extension(client):
    _created, ended = uploaded(client, bytes(range(128, 256)) * 2, "odd.png")
    assert ended.json["mimetype"] == "image/png"


def test_too_big(files_app, alice, s3, dbsession):
    client = files_app({"files.max_size": "100"})
    client.login_as(alice)
    _created, ended = uploaded(client, make_png(64, 64, (1, 2, 3)) + b"\x00" * 200, status=400)
    assert ended.json == {"detail": "The file is too large: at most 100 bytes."}
    assert rows(dbsession)[0].hard_deleted_at is not None
    assert keys(s3) == []


def test_sizes_in_messages():
    assert [readable_size(n) for n in (100, 2048, 5 * 1024 * 1024, 1536 * 1024)] == [
        "100 bytes",
        "2 KB",
        "5 MB",
        "1.5 MB",
    ]


def test_empty_upload(client, dbsession):
    _created, ended = uploaded(client, b"", status=400)
    assert ended.json == {"detail": "The file is empty."}
    assert rows(dbsession)[0].hard_deleted_at is not None


def test_nothing_uploaded(client, dbsession):
    created = create(client).json
    ended = client.post_json(f"{FILES}{created['id']}/upload-ended/", {}, status=400)
    assert ended.json == {"detail": "Nothing was uploaded for this file: upload its content first."}
    assert rows(dbsession)[0].hard_deleted_at is not None


def test_limit_per_user(files_app, alice, dbsession):
    client = files_app({"files.max_per_user": "2"})
    client.login_as(alice)
    first = create(client).json
    create(client)
    refused = create(client, status=403)
    assert refused.json == {"detail": LIMIT_REACHED}
    assert len(rows(dbsession)) == 2
    client.delete(f"{FILES}{first['id']}/", status=204)  # a deleted file frees its place
    create(client)
    assert len(rows(dbsession)) == 3


def test_the_limit_is_per_user(files_app, alice, dbsession):
    bob = make_user(dbsession, "bob")
    client = files_app({"files.max_per_user": "1"})
    client.login_as(alice)
    create(client)
    client.login_as(bob)
    create(client)


def test_a_refused_upload_frees_its_place(files_app, alice):
    client = files_app({"files.max_per_user": "1"})
    client.login_as(alice)
    uploaded(client, b"text", status=400)
    create(client)


def test_rename_and_soft_delete(client, dbsession):
    created = create(client).json
    url = f"{FILES}{created['id']}/"
    assert client.patch_json(url, {"title": "Sea"}).json["title"] == "Sea"
    assert client.put_json(url, {"title": "Ocean"}).json["title"] == "Ocean"
    client.delete(url, status=204)
    [row] = rows(dbsession)
    assert row.deleted_at is not None and row.hard_deleted_at is None
    seen = client.get(url).json
    assert seen["is_deleted"] is True
    assert seen["abilities"]["update"] is False
    client.patch_json(url, {"title": "Again"}, status=403)
    client.delete(url, status=403)
    client.post_json(f"{url}upload-ended/", {}, status=403)
    assert client.get(FILES).json["count"] == 0
    assert [f["id"] for f in client.get(FILES, params={"is_deleted": "true"}).json["results"]] == [
        created["id"]
    ]


def test_list_filters_order_and_pages(client):
    made = [create(client, f"{name}.png").json for name in ("b", "a", "c")]
    ids = [m["id"] for m in made]
    assert [r["id"] for r in client.get(FILES).json["results"]] == ids[::-1]
    by_title = client.get(FILES, params={"ordering": "title"}).json["results"]
    assert [r["title"] for r in by_title] == ["a", "b", "c"]
    by_created = client.get(FILES, params={"ordering": "-created_at,nonsense"}).json["results"]
    assert [r["id"] for r in by_created] == ids[::-1]
    page = client.get(FILES, params={"page_size": "2", "page": "2"}).json
    assert page["count"] == 3 and len(page["results"]) == 1 and page["next"] is None
    assert client.get(FILES, params={"type": "background_image"}).json["count"] == 3
    assert client.get(FILES, params={"upload_state": "ready"}).json["count"] == 0
    assert client.get(FILES, params={"is_creator_me": "false"}).json["count"] == 0
    client.get(FILES, params={"page": "3", "page_size": "2"}, status=404)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"type": "movie"}, "type"),
        ({"upload_state": "done"}, "upload_state"),
        ({"is_deleted": "maybe"}, "is_deleted"),
        ({"page_size": "1000"}, "page_size"),
    ],
)
def test_list_bad_filters(client, params, field):
    assert field in client.get(FILES, params=params, status=400).json


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({}, {"type": ["This field is required."], "filename": ["This field is required."]}),
        ({"type": "movie", "filename": "a.png"}, {"type": ['"movie" is not a valid choice.']}),
        (
            {"type": "background_image", "filename": "notes.txt"},
            {
                "filename": [
                    "This file extension is not allowed. Allowed extensions:"
                    " .png, .jpg, .jpeg, .webp."
                ]
            },
        ),
        (
            {"type": "background_image", "filename": "no-extension"},
            {
                "filename": [
                    "This file extension is not allowed. Allowed extensions:"
                    " .png, .jpg, .jpeg, .webp."
                ]
            },
        ),
        (
            {"type": "background_image", "filename": "   "},
            {"filename": ["This field may not be blank."]},
        ),
        (
            {"type": "background_image", "filename": "a.png", "title": "x" * 256},
            {"title": ["Ensure this field has no more than 255 characters."]},
        ),
        (
            {"type": "background_image", "filename": "a.png", "id": "not-a-uuid"},
            {"id": ["Must be a valid UUID."]},
        ),
        ({"type": "background_image", "filename": 12}, {"filename": ["Not a valid string."]}),
    ],
)
def test_create_bad_input(client, dbsession, body, errors):
    assert client.post_json(FILES, body, status=400).json == errors
    assert rows(dbsession) == []


def test_create_not_json(client, dbsession):
    client.post(FILES, "{", content_type="application/json", status=400)
    assert rows(dbsession) == []


def test_client_chosen_id(client, dbsession):
    chosen = "0b9e7a52-55bb-4c3c-9b4a-0f6c1c7f3b11"
    assert create(client, id=chosen).json["id"] == chosen
    again = create(client, id=chosen, status=400)
    assert again.json == {"id": ["A file with this id already exists."]}
    assert len(rows(dbsession)) == 1


def test_update_bad_input(client):
    url = f"{FILES}{create(client).json['id']}/"
    assert client.put_json(url, {}, status=400).json == {"title": ["This field is required."]}
    assert client.patch_json(url, {"title": " "}, status=400).json == {
        "title": ["This field may not be blank."]
    }
    client.patch_json(url, {})  # nothing to change


def test_bad_ids_are_not_found(client):
    client.get(f"{FILES}not-a-uuid/", status=404)
    client.get(f"{FILES}0b9e7a52-55bb-4c3c-9b4a-0f6c1c7f3b11/", status=404)


def test_content_of_a_pending_file(client):
    created = create(client).json
    assert client.get(f"{FILES}{created['id']}/content/", status=404).json == {
        "detail": "No ready file matches the given query."
    }


@pytest.mark.parametrize(
    ("header", "status"),
    [
        (None, 403),
        ("http://localhost/elsewhere/x.png", 403),
        ("http://localhost/media/files/0b9e7a52-55bb-4c3c-9b4a-0f6c1c7f3b11.png", 404),
    ],
)
def test_media_auth_refusals(client, header, status):
    headers = {"X-Original-URL": header} if header else {}
    client.get(f"{FILES}media-auth/", headers=headers, status=status)


def test_media_auth_wrong_extension_and_not_ready(client):
    ready, _ended = uploaded(client, make_png())
    pending = create(client).json
    base = "http://localhost/media/files/"
    auth = f"{FILES}media-auth/"
    client.get(auth, headers={"X-Original-URL": f"{base}{ready['id']}.jpg"}, status=404)
    client.get(auth, headers={"X-Original-URL": f"{base}{pending['id']}.png"}, status=403)
    client.delete(f"{FILES}{ready['id']}/", status=204)
    client.get(auth, headers={"X-Original-URL": f"{base}{ready['id']}.png"}, status=403)


OFF_ROUTES = [
    ("get", FILES),
    ("post", FILES),
    ("get", f"{FILES}media-auth/"),
    ("get", "{file}"),
    ("patch", "{file}"),
    ("put", "{file}"),
    ("delete", "{file}"),
    ("post", "{file}upload-ended/"),
    ("get", "{file}content/"),
]


@pytest.mark.parametrize(("method", "path"), OFF_ROUTES)
def test_off_is_not_found_everywhere(testapp, alice, dbsession, method, path):
    file = File(creator_id=alice.id, filename="a.png", title="a", upload_state="ready")
    dbsession.add(file)
    dbsession.flush()
    testapp.login_as(alice)
    url = path.format(file=f"{FILES}{file.id}/")
    body = {"type": "background_image", "filename": "b.png", "title": "b"}
    if method in ("get", "delete"):
        answer = getattr(testapp, method)(url, status=404)
    else:
        answer = getattr(testapp, f"{method}_json")(url, body, status=404)
    assert answer.json == {"detail": "Not found."}
    [row] = rows(dbsession)
    assert (row.title, row.deleted_at) == ("a", None)


def test_store_down(files_app, alice, dbsession):
    down = files_app({"s3.endpoint_url": f"http://127.0.0.1:{closed_port()}"})
    down.login_as(alice)
    created = create(down).json  # signing needs no store
    ended = down.post_json(f"{FILES}{created['id']}/upload-ended/", {}, status=502)
    assert ended.json == {"detail": "The file storage cannot be reached; try again later."}
    [row] = rows(dbsession)
    assert (row.upload_state, row.hard_deleted_at) == ("pending", None)  # may be tried again


def test_store_down_while_reading(files_app, client, alice, dbsession):
    created, _ended = uploaded(client, make_png())
    down = files_app({"s3.endpoint_url": f"http://127.0.0.1:{closed_port()}"})
    down.login_as(alice)
    answer = down.get(f"{FILES}{created['id']}/content/", status=502)
    assert answer.json == {"detail": "The file storage cannot be reached; try again later."}


def test_retry_after_the_store_was_down(files_app, client, alice, s3):
    created = create(client).json
    upload(created["policy"], make_png())
    down = files_app({"s3.endpoint_url": f"http://127.0.0.1:{closed_port()}"})
    down.login_as(alice)
    down.post_json(f"{FILES}{created['id']}/upload-ended/", {}, status=502)
    ended = client.post_json(f"{FILES}{created['id']}/upload-ended/", {}).json
    assert ended["upload_state"] == "ready"


# -- a store the browsers reach under another name -----------------------------------------


def sigv4_query_signature(url: str, method: str, secret: str) -> str:
    """The AWS Signature Version 4 of a presigned URL, computed from the URL itself
    (S3's rules: the host is the one header signed, the payload unsigned)."""
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
    query.pop("X-Amz-Signature")

    def encode(text: str) -> str:
        return quote(text, safe="-_.~")

    canonical_query = "&".join(f"{encode(k)}={encode(v)}" for k, v in sorted(query.items()))
    canonical = "\n".join(
        [
            method,
            parts.path,
            canonical_query,
            f"host:{parts.netloc}",
            "",
            "host",
            "UNSIGNED-PAYLOAD",
        ]
    )
    _key, day, region, service, _end = query["X-Amz-Credential"].split("/")
    scope = f"{day}/{region}/{service}/aws4_request"
    to_sign = "\n".join(
        [
            "AWS4-HMAC-SHA256",
            query["X-Amz-Date"],
            scope,
            hashlib.sha256(canonical.encode()).hexdigest(),
        ]
    )
    key = f"AWS4{secret}".encode()
    for part in (day, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


def test_uploads_are_signed_for_the_public_endpoint(files_app, alice, s3, dbsession):
    """The app reaches the store at `s3.endpoint_url` (its private network, here
    127.0.0.1); browsers at `s3.public_endpoint_url` (here the same server as
    localhost). The presigned PUT names that host and is signed for it."""
    port = urlsplit(s3.endpoint_url).port
    public = f"http://localhost:{port}"
    client = files_app({"s3.public_endpoint_url": public})
    client.login_as(alice)
    created = create(client).json
    policy = urlsplit(created["policy"])
    assert f"{policy.scheme}://{policy.netloc}" == public
    signature = parse_qs(policy.query)["X-Amz-Signature"][0]
    assert sigv4_query_signature(created["policy"], "PUT", "testing") == signature
    # the same URL under the app's own name would not verify: the host is signed
    internal = created["policy"].replace(public, s3.endpoint_url.rstrip("/"), 1)
    assert sigv4_query_signature(internal, "PUT", "testing") != signature

    upload(created["policy"], make_png())  # the browser's PUT, through the public name
    ended = client.post_json(f"{FILES}{created['id']}/upload-ended/", {}).json  # the app's
    assert ended["upload_state"] == "ready"
    assert keys(s3) == [f"files/{created['id']}.png"]


def test_without_a_public_endpoint_uploads_go_to_the_apps_own(client, s3):
    created = create(client).json
    policy = urlsplit(created["policy"])
    assert f"{policy.scheme}://{policy.netloc}" == s3.endpoint_url.rstrip("/")
    signature = parse_qs(policy.query)["X-Amz-Signature"][0]
    assert sigv4_query_signature(created["policy"], "PUT", "testing") == signature


def test_the_pages_let_browsers_reach_the_public_endpoint_only(files_app, s3):
    public = "https://s3.example.org"
    page = files_app({"s3.public_endpoint_url": public}).get("/")
    policy = page.headers["Content-Security-Policy"]
    [connect] = [d for d in policy.split("; ") if d.startswith("connect-src ")]
    assert public in connect.split()
    assert s3.endpoint_url.rstrip("/") not in connect
