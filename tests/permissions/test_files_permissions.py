"""Actor matrices for the files endpoints (reference §2.5): a file is its creator's alone.

The cast's owner created the file; everyone else signed in is told it does not exist
(404), operators included, and anonymous callers must sign in (401). With
`files.enabled` off every route answers 404 (anonymous callers of the collection still
401 first, as the reference checks authentication before the flag).
"""

import pytest
from sqlalchemy import select

from meet_web.models import File
from tests.conftest import ACTORS, make_png, put_object
from tests.permissions.matrix import by

FILES = "/api/v1.0/files/"

LIST = by(anonymous=401, stranger=200, member=200, administrator=200, owner=200, operator=200)
CREATE = by(anonymous=401, stranger=201, member=201, administrator=201, owner=201, operator=201)
MINE = by(anonymous=401, stranger=404, member=404, administrator=404, owner=200, operator=404)
DELETE = by(anonymous=401, stranger=404, member=404, administrator=404, owner=204, operator=404)
MEDIA = by(anonymous=401, stranger=403, member=403, administrator=403, owner=200, operator=403)
COLLECTION_OFF = by(
    anonymous=401, stranger=404, member=404, administrator=404, owner=404, operator=404
)
ITEM_OFF = by(anonymous=404, stranger=404, member=404, administrator=404, owner=404, operator=404)


@pytest.fixture
def client(files_app):
    return files_app()


@pytest.fixture
def ready_file(cast, dbsession, s3, client):
    png = make_png()
    file = File(
        creator_id=cast.owner.id,
        filename="beach.png",
        title="beach",
        upload_state="ready",
        mimetype="image/png",
        size=len(png),
    )
    dbsession.add(file)
    dbsession.flush()
    put_object(s3, file.key, png)
    return file


@pytest.fixture
def pending_file(cast, dbsession, s3, client):
    file = File(creator_id=cast.owner.id, filename="beach.png", title="beach")
    dbsession.add(file)
    dbsession.flush()
    put_object(s3, file.temporary_key, make_png())
    return file


def reloaded(dbsession, file: File) -> File:
    dbsession.expire_all()
    return dbsession.scalars(select(File).where(File.id == file.id)).one()


@pytest.mark.parametrize("actor", ACTORS)
def test_list(client, cast, ready_file, actor):
    client.login_as(cast[actor])
    res = client.get(FILES, status=LIST[actor])
    if LIST[actor] == 200:
        ids = [item["id"] for item in res.json["results"]]
        assert ids == ([str(ready_file.id)] if actor == "owner" else [])


@pytest.mark.parametrize("actor", ACTORS)
def test_create(client, cast, dbsession, actor):
    client.login_as(cast[actor])
    body = {"type": "background_image", "filename": "sea.png"}
    client.post_json(FILES, body, status=CREATE[actor])
    made = dbsession.scalars(select(File)).all()
    expected = [cast[actor].id] if CREATE[actor] == 201 else []
    assert [f.creator_id for f in made] == expected


@pytest.mark.parametrize("actor", ACTORS)
def test_retrieve(client, cast, ready_file, actor):
    client.login_as(cast[actor])
    res = client.get(f"{FILES}{ready_file.id}/", status=MINE[actor])
    if MINE[actor] == 200:
        assert res.json["id"] == str(ready_file.id)


@pytest.mark.parametrize("method", ["patch", "put"])
@pytest.mark.parametrize("actor", ACTORS)
def test_update(client, cast, dbsession, ready_file, actor, method):
    client.login_as(cast[actor])
    send = getattr(client, f"{method}_json")
    send(f"{FILES}{ready_file.id}/", {"title": "renamed"}, status=MINE[actor])
    assert reloaded(dbsession, ready_file).title == ("renamed" if MINE[actor] == 200 else "beach")


@pytest.mark.parametrize("actor", ACTORS)
def test_delete(client, cast, dbsession, ready_file, actor):
    client.login_as(cast[actor])
    client.delete(f"{FILES}{ready_file.id}/", status=DELETE[actor])
    deleted = reloaded(dbsession, ready_file).deleted_at is not None
    assert deleted == (DELETE[actor] == 204)


@pytest.mark.parametrize("actor", ACTORS)
def test_upload_ended(client, cast, dbsession, pending_file, actor):
    client.login_as(cast[actor])
    client.post_json(f"{FILES}{pending_file.id}/upload-ended/", {}, status=MINE[actor])
    state = reloaded(dbsession, pending_file).upload_state
    assert state == ("ready" if MINE[actor] == 200 else "pending")


@pytest.mark.parametrize("actor", ACTORS)
def test_media_auth(client, cast, ready_file, actor):
    client.login_as(cast[actor])
    url = f"http://localhost/media/files/{ready_file.id}.png"
    res = client.get(f"{FILES}media-auth/", headers={"X-Original-URL": url}, status=MEDIA[actor])
    assert ("Authorization" in res.headers) == (MEDIA[actor] == 200)


@pytest.mark.parametrize("actor", ACTORS)
def test_content(client, cast, ready_file, actor):
    client.login_as(cast[actor])
    res = client.get(f"{FILES}{ready_file.id}/content/", status=MINE[actor])
    if MINE[actor] == 200:
        assert res.body == make_png()


@pytest.mark.parametrize(("method", "path"), [("get", ""), ("post", ""), ("get", "media-auth/")])
@pytest.mark.parametrize("actor", ACTORS)
def test_collection_while_off(testapp, cast, dbsession, actor, method, path):
    testapp.login_as(cast[actor])
    url = FILES + path
    if method == "get":
        testapp.get(url, status=COLLECTION_OFF[actor])
    else:
        body = {"type": "background_image", "filename": "sea.png"}
        testapp.post_json(url, body, status=COLLECTION_OFF[actor])
    assert dbsession.scalars(select(File)).all() == []


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", ""),
        ("patch", ""),
        ("put", ""),
        ("delete", ""),
        ("post", "upload-ended/"),
        ("get", "content/"),
    ],
)
@pytest.mark.parametrize("actor", ACTORS)
def test_items_while_off(testapp, cast, dbsession, actor, method, path):
    file = File(creator_id=cast.owner.id, filename="beach.png", title="beach")
    dbsession.add(file)
    dbsession.flush()
    testapp.login_as(cast[actor])
    url = f"{FILES}{file.id}/{path}"
    if method in ("get", "delete"):
        getattr(testapp, method)(url, status=ITEM_OFF[actor])
    else:
        getattr(testapp, f"{method}_json")(url, {"title": "x"}, status=ITEM_OFF[actor])
    after = reloaded(dbsession, file)
    assert (after.title, after.deleted_at, after.upload_state) == ("beach", None, "pending")


# -- the pages: the account page's list and delete, the background choice ----------------

PAGE_LIST = by(anonymous=303, stranger=200, member=200, administrator=200, owner=200, operator=200)
PAGE_DELETE = by(
    anonymous=403, stranger=404, member=404, administrator=404, owner=303, operator=404
)
CHOICE = by(anonymous=200, stranger=200, member=200, administrator=200, owner=200, operator=200)


@pytest.mark.parametrize("actor", ACTORS)
def test_page_list(client, cast, ready_file, actor):
    client.login_as(cast[actor])
    res = client.get("/account/backgrounds", status=PAGE_LIST[actor])
    if PAGE_LIST[actor] == 200:
        assert (str(ready_file.id) in res.text) == (actor == "owner")


@pytest.mark.parametrize("actor", ACTORS)
def test_page_delete(client, cast, dbsession, ready_file, actor):
    client.login_as(cast[actor])
    if actor == "anonymous":
        client.get("/")  # a CSRF token of its own, as a browser has
    token = client.cookies.get("csrftoken", "").strip('"')
    client.post(
        f"/account/backgrounds/{ready_file.id}/delete",
        {"csrf_token": token},
        status=PAGE_DELETE[actor],
    )
    deleted = reloaded(dbsession, ready_file).deleted_at is not None
    assert deleted == (PAGE_DELETE[actor] == 303)


@pytest.mark.parametrize("actor", ACTORS)
def test_background_choice(client, cast, actor):
    client.login_as(cast[actor])
    res = client.get("/account/backgrounds/choice", status=CHOICE[actor])
    assert "data-background-select" in res.text
    assert ("data-files=" in res.text) == (actor != "anonymous")  # guests: none and blur


@pytest.mark.parametrize("actor", ACTORS)
def test_pages_while_off(testapp, cast, dbsession, actor):
    file = File(creator_id=cast.owner.id, filename="beach.png", title="beach")
    dbsession.add(file)
    dbsession.flush()
    testapp.login_as(cast[actor])
    testapp.get("/account/backgrounds", status=303 if actor == "anonymous" else 404)
    res = testapp.get("/account/backgrounds/choice", status=200)
    assert "data-files=" not in res.text
    account = testapp.get("/account", status=303 if actor == "anonymous" else 200)
    assert "Camera backgrounds" not in account.text
