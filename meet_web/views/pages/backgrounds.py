"""Background images on the pages: the account page's list (upload happens in the
browser, through the API: create, PUT to the presigned URL, upload-ended), deleting one,
and the background choice the pre-join and meeting pages offer.

`/account/backgrounds` and its subpaths are subpaths of the `account` view name on the
site root, as the account page's own. They answer 404 while `files.enabled` is off.
"""

from __future__ import annotations

import uuid

from pyramid.httpexceptions import HTTPNotFound, HTTPSeeOther
from pyramid.security import NO_PERMISSION_REQUIRED
from pyramid.view import view_config, view_defaults
from sqlalchemy import select

from ...files import Files, FilesConfig
from ...files.lifecycle import readable_size
from ...models import File, FileType, UploadState
from ...resources import SiteRoot
from ...security.permissions import Permission
from ..api.files import FilesView, content_path
from .common import is_htmx, vary_on_htmx

LIST_PATH = r"^/account/backgrounds/?$"
DELETE_PATH = r"^/account/backgrounds/[0-9a-fA-F-]{32,36}/delete/?$"
CHOICE_PATH = r"^/account/backgrounds/choice/?$"
DELETED = "Background image deleted."


def ready_backgrounds(request) -> list[dict]:
    """The signed-in user's ready background images, newest first."""
    files = request.dbsession.scalars(
        select(File)
        .where(
            File.creator_id == request.identity.user_id,
            File.type == FileType.BACKGROUND_IMAGE,
            File.upload_state == UploadState.READY,
            File.deleted_at.is_(None),
            File.hard_deleted_at.is_(None),
        )
        .order_by(File.created_at.desc(), File.id)
    ).all()
    return [
        {"id": str(f.id), "title": f.title, "content_url": content_path(request, f)} for f in files
    ]


def background_values(request) -> dict:
    """What the account page shows of background images (nothing while files are off)."""
    config: FilesConfig = request.service(FilesConfig)
    if not config.enabled:
        return {}
    return {
        "backgrounds": {
            "images": ready_backgrounds(request),
            "max_size": config.max_size,
            "readable_max_size": readable_size(config.max_size),
            "max_count": config.max_per_user,
            "extensions": config.allowed_extensions,
            "mimetypes": config.allowed_mimetypes,
        }
    }


@view_defaults(context=SiteRoot, name="account")
class BackgroundPages(FilesView):
    @view_config(
        request_method="GET",
        path_info=LIST_PATH,
        renderer="account/_background_list.jinja2",
        permission=Permission.AUTHENTICATED,
    )
    def listing(self):
        """The list the account page shows, for the page to refresh after an upload."""
        self._check_enabled()
        vary_on_htmx(self.request)
        return {"images": ready_backgrounds(self.request)}

    @view_config(request_method="POST", path_info=DELETE_PATH, permission=Permission.AUTHENTICATED)
    @view_config(
        request_method="POST",
        path_info=DELETE_PATH,
        header="HX-Request",
        renderer="account/_background_list.jinja2",
        permission=Permission.AUTHENTICATED,
    )
    def delete(self):
        self._check_enabled()
        request = self.request
        try:
            file_id = uuid.UUID(request.subpath[1])
        except (IndexError, ValueError):
            raise HTTPNotFound() from None
        file = request.dbsession.get(File, file_id)
        if file is None or file.creator_id != request.identity.user_id or file.is_deleted:
            raise HTTPNotFound()
        Files.soft_delete(file)
        request.dbsession.flush()
        if is_htmx(request):
            vary_on_htmx(request)
            return {"images": ready_backgrounds(request), "message": DELETED}
        request.session.flash(DELETED)
        return HTTPSeeOther(location=request.resource_url(self.context, "account"))

    @view_config(
        request_method="GET",
        path_info=CHOICE_PATH,
        renderer="account/_background_choice.jinja2",
        permission=NO_PERMISSION_REQUIRED,
    )
    def choice(self):
        """The background control, for the meeting page to put in its devices dialog
        (guests too: they are offered none and blur)."""
        return {"choice_id": "meeting-background"}
