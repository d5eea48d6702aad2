"""The object store holding recordings (S3 or MinIO), through boto3.

The client is made on first use and kept: boto3 clients are thread-safe. Its calls are
bounded (short timeouts, one attempt), so a store that is down fails a request quickly
instead of holding it. boto3 and botocore (about 20 MiB) are imported then too: the
knock, the join and the webhook never need them, and every worker would carry them.

Reads for the app's own streaming (`head`, `open`) say why they failed: no such object,
a store that is down or slow (worth trying again), or a refusal (a configuration fault).
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from datetime import UTC, datetime

from .config import S3Config

EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()

# Error codes of the store that mean "no such object", and those worth trying again
# (PreconditionFailed: the object changed between two reads of one request).
MISSING_CODES = frozenset({"404", "NoSuchKey", "NotFound"})
TRANSIENT_CODES = frozenset({"412", "PreconditionFailed", "RequestTimeout", "SlowDown"})


class StorageError(Exception):
    """The store refused or could not be reached."""


class StorageUnavailable(StorageError):
    """The store could not be reached, timed out or is overloaded: try again later."""


class ObjectMissing(StorageError):
    """The store holds no object under the key."""


@dataclass(frozen=True)
class StoredObject:
    size: int
    etag: str  # quoted, as the store sends it
    last_modified: datetime | None


def storage_failure(exc: Exception, what: str) -> StorageError:
    """The StorageError a botocore exception stands for."""
    from botocore.exceptions import ClientError, HTTPClientError
    from botocore.exceptions import ConnectionError as BotoConnectionError

    message = f"{what}: {exc}"
    if isinstance(exc, ClientError):
        code = str(exc.response.get("Error", {}).get("Code", ""))
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
        if code in MISSING_CODES:
            return ObjectMissing(message)
        if code in TRANSIENT_CODES or status >= 500:
            return StorageUnavailable(message)
        return StorageError(message)
    if isinstance(exc, BotoConnectionError | HTTPClientError):
        return StorageUnavailable(message)
    return StorageError(message)


class RecordingStorage:
    def __init__(self, config: S3Config):
        self.config = config
        self._client = None
        self._browser_client = None
        self._lock = threading.Lock()

    def _make_client(self, endpoint_url: str):
        import boto3
        from botocore.config import Config

        return boto3.session.Session().client(
            "s3",
            endpoint_url=endpoint_url or None,
            aws_access_key_id=self.config.access_key_id or None,
            aws_secret_access_key=self.config.secret_access_key or None,
            region_name=self.config.region,
            config=Config(
                signature_version="s3v4",
                s3={"addressing_style": "path"},
                connect_timeout=5,
                read_timeout=10,
                retries={"max_attempts": 1, "mode": "standard"},
            ),
        )

    @property
    def client(self):
        with self._lock:
            if self._client is None:
                self._client = self._make_client(self.config.endpoint_url)
            return self._client

    @property
    def browser_client(self):
        """The client that signs URLs a browser uses (presigned uploads): for
        `s3.public_endpoint_url` when set, since the signature covers the host. It only
        signs, offline; the app's own calls go through `client`."""
        public = self.config.public_endpoint_url
        if not public or public == self.config.endpoint_url:
            return self.client
        with self._lock:
            if self._browser_client is None:
                self._browser_client = self._make_client(public)
            return self._browser_client

    def delete(self, key: str) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.delete_object(Bucket=self.config.bucket, Key=key)
        except (BotoCoreError, ClientError) as exc:
            raise StorageError(f"cannot delete {key} from {self.config.bucket}: {exc}") from exc

    def head(self, key: str) -> StoredObject:
        """The object's size and validators; ObjectMissing when there is none."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            answer = self.client.head_object(Bucket=self.config.bucket, Key=key)
        except (BotoCoreError, ClientError) as exc:
            raise storage_failure(exc, f"cannot read {key} in {self.config.bucket}") from exc
        modified = answer.get("LastModified")
        return StoredObject(
            size=answer["ContentLength"],
            etag=answer.get("ETag", ""),
            last_modified=modified.astimezone(UTC) if modified is not None else None,
        )

    def open(self, key: str, byte_range: tuple[int, int] | None = None, *, etag: str = ""):
        """The object's body, or bytes `first..last` (inclusive) of it: botocore's
        StreamingBody, to read in chunks and close. With `etag`, an object that no
        longer has it is refused (StorageUnavailable: trying again reads the new one).
        """
        from botocore.exceptions import BotoCoreError, ClientError

        params = {"Bucket": self.config.bucket, "Key": key}
        if byte_range is not None:
            params["Range"] = f"bytes={byte_range[0]}-{byte_range[1]}"
        if etag:
            params["IfMatch"] = etag
        try:
            return self.client.get_object(**params)["Body"]
        except (BotoCoreError, ClientError) as exc:
            raise storage_failure(exc, f"cannot read {key} in {self.config.bucket}") from exc

    def object_url(self, key: str) -> str:
        endpoint = self.config.endpoint_url or f"https://s3.{self.config.region}.amazonaws.com"
        return f"{endpoint.rstrip('/')}/{self.config.bucket}/{key}"

    def signed_get_headers(self, key: str) -> dict[str, str]:
        """SigV4 headers for a GET of `key` on the store, for a front (nginx) that
        forwards the browser's request to the store with them."""
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials

        credentials = Credentials(self.config.access_key_id, self.config.secret_access_key)
        request = AWSRequest(method="GET", url=self.object_url(key))
        request.headers["X-Amz-Content-SHA256"] = EMPTY_SHA256
        signer = SigV4Auth(credentials, "s3", self.config.region)
        signer.add_auth(request)
        return {
            "Authorization": request.headers["Authorization"],
            "X-Amz-Date": request.headers["X-Amz-Date"],
            "X-Amz-Content-SHA256": request.headers["X-Amz-Content-SHA256"],
        }
