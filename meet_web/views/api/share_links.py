"""A recording's share links: make one, list them, revoke one (its owners and
administrators; others are answered as for the recording itself).

The token appears once, in the `url` of the link just made; the list never shows it
(nothing can: only its digest is kept).
"""

from __future__ import annotations

from pyramid.httpexceptions import HTTPNoContent
from pyramid.view import view_config, view_defaults
from sqlalchemy import func, select

from ...models.share_link import RecordingShareLink
from ...openapi import PAGING, operation
from ...recording import RecordingConfig
from ...recording.share_links import (
    DEFAULT_DAYS,
    MAX_DAYS,
    LinkStatus,
    create_link,
    default_days,
    link_status,
    parse_days,
    revoke_link,
)
from ...resources import ShareLinkContainer, ShareLinkResource
from ...security.permissions import Permission
from ...validation import MISSING, Body, Raw, page_params
from ..pages.share_links import share_url
from .recordings import timestamp
from .serializers import object_schema, page_json, page_schema

CREATE_BODY = Body(
    "CreateShareLink",
    expires_in_days=Raw(
        {"type": "integer", "minimum": 1, "maximum": MAX_DAYS},
        f"Whole days the link works: {DEFAULT_DAYS} unless given, at most {MAX_DAYS} and"
        " at most `recording.expiration_days`; never past the recording's own expiry.",
    ),
)
_DATETIME = {"type": "string", "format": "date-time"}
LINK_SCHEMA = object_schema(
    {
        "id": {"type": "string", "format": "uuid"},
        "created_at": _DATETIME,
        "expires_at": _DATETIME,
        "revoked_at": {"type": ["string", "null"], "format": "date-time"},
        "status": {"enum": [s.value for s in LinkStatus]},
    }
)
NEW_LINK_SCHEMA = object_schema(
    {**LINK_SCHEMA["properties"], "url": {"type": "string", "format": "uri"}}
)


def link_json(link: RecordingShareLink) -> dict:
    return {
        "id": str(link.id),
        "created_at": timestamp(link.created_at),
        "expires_at": timestamp(link.expires_at),
        "revoked_at": timestamp(link.revoked_at) if link.revoked_at is not None else None,
        "status": str(link_status(link)),
    }


@view_defaults(context=ShareLinkContainer, route_name="api", renderer="json")
class ShareLinkCollectionApi:
    def __init__(self, context: ShareLinkContainer, request):
        self.context, self.request = context, request
        self.config: RecordingConfig = request.service(RecordingConfig)

    @view_config(request_method="POST", permission=Permission.RECORDING_SHARE)
    @operation(
        "Make a share link to a saved recording (its owners and administrators); the"
        " answer's `url` is the only time the link's token is shown",
        body=CREATE_BODY,
        responses={201: NEW_LINK_SCHEMA},
        tag="recordings",
    )
    def create(self):
        values, fields = CREATE_BODY.read(self.request)
        days = values["expires_in_days"]
        if days is MISSING or days is None:
            days = default_days(self.config)
        else:
            try:
                days = parse_days(days, self.config)
            except ValueError as exc:
                fields.errors["expires_in_days"] = str(exc)
        fields.check()
        identity = self.request.identity
        made = create_link(
            self.request.dbsession, self.context.recording, identity.user_id, days, self.config
        )
        self.request.response.status = 201
        return {**link_json(made.link), "url": share_url(self.request, made.token)}

    @view_config(request_method="GET", permission=Permission.RECORDING_SHARE)
    @operation(
        "The recording's share links, newest first, revoked and expired ones too (no token)",
        responses={200: page_schema(LINK_SCHEMA)},
        query=PAGING,
        tag="recordings",
    )
    def list(self):
        request = self.request
        page, size = page_params(request, self.config.page_size)
        mine = RecordingShareLink.recording_id == self.context.recording.id
        db = request.dbsession
        count = db.scalar(select(func.count()).select_from(RecordingShareLink).where(mine))
        links = db.scalars(
            select(RecordingShareLink)
            .where(mine)
            .order_by(RecordingShareLink.created_at.desc(), RecordingShareLink.id)
            .limit(size)
            .offset((page - 1) * size)
        ).all()
        return page_json(request, [link_json(link) for link in links], count, page, size)


@view_config(
    context=ShareLinkResource,
    route_name="api",
    request_method="DELETE",
    renderer="json",
    permission=Permission.RECORDING_SHARE,
)
@operation(
    "Revoke a share link: it stops working at once (revoking it again changes nothing)",
    responses={204: None},
    tag="recordings",
)
def revoke(context: ShareLinkResource, request):
    revoke_link(context.link)
    return HTTPNoContent()
