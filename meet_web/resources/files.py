"""Users' files in the traversal tree: /api/v1.0/files/<id>/.

Only a file's creator may see it: anyone else signed in is told it does not exist
(404), as the reference's filtered queryset does; operators hold no right to it. A
hard-deleted file no longer exists for anybody. With `files.enabled` off there is no
file at all.
"""

from __future__ import annotations

import uuid

from pyramid.authorization import Allow

from ..files import FilesConfig
from ..models import File
from ..security.permissions import (
    DELETED_FILE_CREATOR_GRANTS,
    FILE_CREATOR_GRANTS,
    SITE_GRANTS,
    user_principal,
)

MISSING_FILE = "No File matches the given query."


def parse_id(key: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(key)
    except ValueError:
        return None


class FileContainer:
    """The caller's files; its view names are the list, create and `media-auth`."""

    __acl__ = SITE_GRANTS

    def __init__(self, parent, name: str = "files"):
        self.__parent__, self.__name__ = parent, name
        self.request = parent.request

    @property
    def missing_child_message(self) -> str:
        return MISSING_FILE if self.request.service(FilesConfig).enabled else "Not found."

    def __getitem__(self, key: str) -> FileResource:
        file_id = parse_id(key)
        if file_id is None or not self.request.service(FilesConfig).enabled:
            raise KeyError(key)
        file = self.request.dbsession.get(File, file_id)
        if file is None or file.hard_deleted_at is not None:
            raise KeyError(key)
        identity = self.request.identity
        if identity is not None and file.creator_id != identity.user_id:
            raise KeyError(key)  # others' files: as if they did not exist
        return FileResource(file, self)


class FileResource:
    def __init__(self, file: File, parent):
        self.file = file
        self.__parent__, self.__name__ = parent, str(file.id)
        self.request = parent.request

    def __acl__(self):
        if self.file.creator_id is None:
            return []
        grants = DELETED_FILE_CREATOR_GRANTS if self.file.is_deleted else FILE_CREATOR_GRANTS
        return [(Allow, user_principal(self.file.creator_id), grants)]


__all__ = ["FileContainer", "FileResource"]
