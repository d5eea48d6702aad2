"""What a worker does not import until a request needs it: the login's OIDC client
(Authlib, requests), the S3 client (boto3), the JOSE library of the resource server.
Each is several MiB in every worker (bench/README.md, "Memory")."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.unit.test_settings import MINIMAL

LAZY = ("authlib", "boto3", "botocore", "joserfc", "requests")

SCRIPT = """
import json, sys
from meet_web import main
main({}, **json.loads(sys.argv[1]))
print(json.dumps(sorted(name for name in %r if name in sys.modules)))
"""


def test_building_the_app_imports_none_of_them(tmp_path):
    settings = {
        **MINIMAL,
        "sqlalchemy.url": f"sqlite:///{tmp_path / 'lazy.sqlite'}",
        # every feature that uses one of them on
        "recording.enabled": "true",
        "files.enabled": "true",
        "s3.endpoint_url": "http://127.0.0.1:3",
        "s3.bucket": "meet",
        "external_api.enabled": "true",
        "resource_server.enabled": "true",
        "resource_server.allowed_audiences": "*",
        "resource_server.jwt_introspection": "true",
    }
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT % (LAZY,), json.dumps(settings)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []
