"""Users' files: background images for the camera, kept in the S3 bucket.

config.py       the `files.*` settings, read once
sniffing.py     what stored content really is, from its first bytes
storage.py      the bucket, through the recordings' S3 client (presigned PUT, copy, read)
lifecycle.py    create (with the per-user limit), upload-ended, soft and hard delete
maintenance.py  cleaning stuck uploads and purging deleted files (the console scripts)
segmentation_model.py  the camera backgrounds' model with its metadata (a build step)

Off unless `files.enabled`: the API then answers 404 everywhere and pages offer no upload.
"""

from __future__ import annotations

from ..recording.storage import RecordingStorage
from ..services import register
from .config import FilesConfig
from .lifecycle import Files
from .storage import FileStorage

__all__ = ["FileStorage", "Files", "FilesConfig"]


def includeme(config):
    services = config.registry["meet_services"]
    files_config = FilesConfig.from_settings(config.get_settings())
    storage = FileStorage(services[RecordingStorage])
    register(config, files_config, FilesConfig)
    register(config, storage, FileStorage)
    register(config, Files(files_config, storage), Files)
