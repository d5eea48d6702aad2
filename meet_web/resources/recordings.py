"""Recordings in the traversal tree: /api/v1.0/recordings/<id>/.

A recording is seen by those holding an access to it: owners and administrators may
see and delete it, members are refused (403), anyone else is told it does not exist
(404), as the reference's filtered queryset does. Operators hold no access.

A recording's share links are its child `share-links/<link id>`, managed by its owners
and administrators; on the site, `recordings/shared/<token>` is what a link's holder
reaches, whoever they are (the token is their credential).
"""

from __future__ import annotations

import uuid

from pyramid.authorization import Allow
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..models import Recording, Role
from ..models.share_link import RecordingShareLink
from ..recording.config import RecordingConfig
from ..recording.share_links import Resolution, link_of, resolve
from ..security.permissions import (
    RECORDING_ROLE_GRANTS,
    SHARE_LINK_ROLE_GRANTS,
    SHARED_RECORDING_GRANTS,
    SITE_GRANTS,
    user_principal,
)

MISSING_RECORDING = "No Recording matches the given query."
MISSING_SHARE_LINK = "No RecordingShareLink matches the given query."
SHARE_LINKS = "share-links"
SHARED = "shared"


def load_recording(session, recording_id: uuid.UUID) -> Recording | None:
    return session.scalars(
        select(Recording)
        .where(Recording.id == recording_id)
        .options(selectinload(Recording.accesses), selectinload(Recording.room))
    ).one_or_none()


def parse_id(key: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(key)
    except ValueError:
        return None


class RecordingContainer:
    """The caller's recordings; its view names are the list and `media-auth`."""

    __acl__ = SITE_GRANTS
    missing_child_message = MISSING_RECORDING

    def __init__(self, parent, name: str = "recordings"):
        self.__parent__, self.__name__ = parent, name
        self.request = parent.request

    def __getitem__(self, key: str) -> RecordingResource | SharedRecordingContainer:
        if key == SHARED and self.request.matched_route is None:  # the site's pages only
            return SharedRecordingContainer(self)
        recording_id = parse_id(key)
        if recording_id is None:
            raise KeyError(key)
        recording = load_recording(self.request.dbsession, recording_id)
        if recording is None:
            raise KeyError(key)
        resource = RecordingResource(recording, self)
        identity = self.request.identity
        if identity is not None and resource.role_of(identity.user_id) is None:
            raise KeyError(key)  # unrelated callers: as if it did not exist
        return resource


class RecordingResource:
    def __init__(self, recording: Recording, parent):
        self.recording = recording
        self.__parent__, self.__name__ = parent, str(recording.id)
        self.request = parent.request

    def role_of(self, user_id) -> Role | None:
        if user_id is None:
            return None
        for access in self.recording.accesses:
            if access.user_id == user_id:
                return access.role
        return None

    def __acl__(self):
        return [
            (Allow, user_principal(access.user_id), RECORDING_ROLE_GRANTS[access.role])
            for access in self.recording.accesses
            if access.user_id is not None
        ]

    def __getitem__(self, key: str):
        if key == SHARE_LINKS:
            return ShareLinkContainer(self)
        raise KeyError(key)  # a view name (`media`, ...)


class ShareLinkContainer:
    """A recording's share links (`<recording>/share-links/<link id>`): its owners and
    administrators make, list and revoke them; the link's holder never comes here."""

    missing_child_message = MISSING_SHARE_LINK

    def __init__(self, parent: RecordingResource, name: str = SHARE_LINKS):
        self.__parent__, self.__name__ = parent, name
        self.request = parent.request
        self.recording = parent.recording

    def __acl__(self):
        return [
            (Allow, user_principal(access.user_id), SHARE_LINK_ROLE_GRANTS[access.role])
            for access in self.recording.accesses
            if access.user_id is not None
        ]

    def __getitem__(self, key: str) -> ShareLinkResource:
        link_id = parse_id(key)
        if link_id is None:
            raise KeyError(key)
        link = link_of(self.request.dbsession, self.recording.id, link_id)
        if link is None:
            raise KeyError(key)
        return ShareLinkResource(link, self)


class ShareLinkResource:
    """One share link; its rights are its container's."""

    def __init__(self, link: RecordingShareLink, parent: ShareLinkContainer):
        self.link = link
        self.__parent__, self.__name__ = parent, str(link.id)
        self.request = parent.request


class SharedRecordingContainer:
    """`recordings/shared/<token>`: what a share link's holder reaches, signed in or not.

    Every token gives a resource, usable or not, so that the holder's views answer
    unknown, revoked and expired links themselves (with their page and headers).
    """

    __acl__ = SHARED_RECORDING_GRANTS

    def __init__(self, parent, name: str = SHARED):
        self.__parent__, self.__name__ = parent, name
        self.request = parent.request

    def __getitem__(self, token: str) -> SharedRecording:
        config = self.request.service(RecordingConfig)
        return SharedRecording(token, resolve(self.request.dbsession, token, config), self)


class SharedRecording:
    """A share link as its holder sees it: the token and what it resolves to."""

    def __init__(self, token: str, resolution: Resolution, parent: SharedRecordingContainer):
        self.token = token
        self.resolution = resolution
        self.__parent__, self.__name__ = parent, token
        self.request = parent.request


__all__ = [
    "RecordingContainer",
    "RecordingResource",
    "ShareLinkContainer",
    "ShareLinkResource",
    "SharedRecording",
    "SharedRecordingContainer",
]
