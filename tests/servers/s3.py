"""An in-process fake S3 (moto's ThreadedMotoServer) on a free loopback port.

No AWS environment variables are required: clients get explicit fake
credentials, region and endpoint.  ``start()`` only does
``os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")`` so that no
botocore credential lookup ever tries the instance-metadata endpoint.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Self

import boto3
import requests
from botocore.config import Config
from moto.server import ThreadedMotoServer

ACCESS_KEY = "testing"
SECRET_KEY = "testing"
REGION = "us-east-1"


class S3Server:
    host = "127.0.0.1"

    def __init__(self) -> None:
        self._server: ThreadedMotoServer | None = None
        self.port: int | None = None
        self._session = boto3.session.Session()
        self._clients: dict = {}
        self._clients_lock = threading.Lock()

    @property
    def endpoint_url(self) -> str:
        if self.port is None:
            raise RuntimeError("S3Server is not started")
        return f"http://{self.host}:{self.port}"

    def start(self) -> Self:
        if self._server is not None:
            raise RuntimeError("S3Server already started")
        os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        server = ThreadedMotoServer(ip_address=self.host, port=0, verbose=False)
        server.start()
        self._server = server
        self.port = server.get_host_and_port()[1]
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.stop()
            # ThreadedMotoServer.stop() shuts the loop down but leaves the
            # listening socket open (ResourceWarning): close it.
            wsgi_server = getattr(server, "_server", None)
            if wsgi_server is not None:
                wsgi_server.server_close()

    def client(self, **config_kwargs):
        """A boto3 S3 client for this server (path-style, SigV4, us-east-1,
        credentials testing/testing). Clients are kept, one per configuration: making
        one costs tens of milliseconds, a new boto3 session's a quarter of a second
        (it reads botocore's model files again). ``.close()`` only drops its pooled
        connections; a closed client still works."""
        key = (self.endpoint_url, repr(sorted(config_kwargs.items())))
        with self._clients_lock:  # making clients is not thread-safe
            client = self._clients.get(key)
            if client is None:
                config = Config(
                    signature_version="s3v4",
                    s3={"addressing_style": "path"},
                    retries={"max_attempts": 1, "mode": "standard"},
                    **config_kwargs,
                )
                client = self._clients[key] = self._session.client(
                    "s3",
                    endpoint_url=self.endpoint_url,
                    aws_access_key_id=ACCESS_KEY,
                    aws_secret_access_key=SECRET_KEY,
                    region_name=REGION,
                    config=config,
                )
            return client

    def create_bucket(self, name: str) -> str:
        client = self.client()
        try:
            client.create_bucket(Bucket=name)
        finally:
            client.close()
        return name

    def reset(self) -> None:
        """Forget all buckets and objects (POST /moto-api/reset)."""
        with requests.Session() as http:
            response = http.post(f"{self.endpoint_url}/moto-api/reset", timeout=10)
            response.raise_for_status()

    def __enter__(self) -> Self:
        if self._server is None:
            self.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<S3Server {self.endpoint_url if self.port else 'stopped'}>"


__all__ = ["ACCESS_KEY", "REGION", "SECRET_KEY", "S3Server"]
