"""Recordings in the traversal tree: /api/v1.0/recordings/<id>/.

A recording is seen by those holding an access to it: owners and administrators may
see and delete it, members are refused (403), anyone else is told it does not exist
(404), as the reference's filtered queryset does. Operators hold no access.
"""

from __future__ import annotations

import uuid

from pyramid.authorization import Allow
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..models import Recording, Role
from ..security.permissions import RECORDING_ROLE_GRANTS, SITE_GRANTS, user_principal

MISSING_RECORDING = "No Recording matches the given query."


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

    def __getitem__(self, key: str) -> RecordingResource:
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


__all__ = [
    "RecordingContainer",
    "RecordingResource",
]
