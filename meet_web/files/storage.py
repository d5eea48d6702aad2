"""The users' files in the object store: the recordings' bucket, through its client.

There is one S3 client per process for the bucket (the recordings' store makes and keeps
it), so its bounded calls (short timeouts, one attempt) hold here too: a store that is
down fails an upload or a read quickly.
"""

from __future__ import annotations

from ..recording.storage import (
    ObjectMissing,
    RecordingStorage,
    StorageError,
    StorageUnavailable,
    StoredObject,
    storage_failure,
)

__all__ = ["FileStorage", "ObjectMissing", "StorageError", "StorageUnavailable"]


class FileStorage:
    def __init__(self, store: RecordingStorage):
        self.store = store

    @property
    def bucket(self) -> str:
        return self.store.config.bucket

    def upload_url(self, key: str, seconds: int) -> str:
        """A presigned PUT of `key`, valid `seconds`: the browser uploads with it."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return self.store.browser_client.generate_presigned_url(
                "put_object",
                Params={"Bucket": self.bucket, "Key": key},
                ExpiresIn=seconds,
                HttpMethod="PUT",
            )
        except (BotoCoreError, ClientError) as exc:
            raise storage_failure(exc, f"cannot sign an upload of {key}") from exc

    def copy(self, source: str, target: str) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.store.client.copy_object(
                Bucket=self.bucket,
                Key=target,
                CopySource={"Bucket": self.bucket, "Key": source},
            )
        except (BotoCoreError, ClientError) as exc:
            raise storage_failure(exc, f"cannot copy {source} to {target}") from exc

    def head(self, key: str) -> StoredObject:
        return self.store.head(key)

    def first_bytes(self, key: str, count: int) -> bytes:
        body = self.store.open(key, (0, count - 1))
        try:
            return body.read(count)
        except Exception as exc:  # botocore raises several kinds mid-read
            raise StorageUnavailable(f"cannot read {key}: {exc}") from exc
        finally:
            body.close()

    def open(self, key: str):
        """The object's body (botocore's StreamingBody): read it in chunks, close it."""
        return self.store.open(key)

    def delete(self, key: str) -> None:
        """Remove the object; a key with none is not an error (S3 answers 204)."""
        self.store.delete(key)

    def signed_get_headers(self, key: str) -> dict[str, str]:
        return self.store.signed_get_headers(key)
