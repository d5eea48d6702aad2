"""The ceiling: a bare Pyramid "ok" view, served by the same gunicorn setup as the app.

hello-post: the same bare app answering the webhook's request (a POST at its path with
its headers and body, the body read, the webhook's JSON answer), so the report can tell
what that request costs any Pyramid app on this server from what Meet Web's own work adds.

hello-ledger: the least a webhook view must do with a redelivered event, in the same bare
app: read the body, check LiveKit's signature of it (meet_web's HS256 code, the fastest
at hand) and the event's id, and ask Redis for the replay ledger's claim (`SET NX`, which
a redelivery loses). No tween, no traversal, no logging: the floor of the webhook workload.
"""

import base64
import hashlib
import importlib.util
import json
import os
from pathlib import Path

from pyramid.config import Configurator
from pyramid.response import Response

WEBHOOK_PATH = "/api/v1.0/rooms/webhooks-livekit/"
LEDGER_PATH = "/ledger" + WEBHOOK_PATH
WEBHOOK_ANSWER = b'{"status":"success"}'
LEEWAY = 10  # seconds, as livekit-api's verifier


def ok(request):
    return Response("ok", content_type="text/plain")


def posted(request):
    request.body  # noqa: B018 (read, as the webhook reads it)
    return Response(WEBHOOK_ANSWER, content_type="application/json")


def _hs256():
    """meet_web/services/hs256.py by its path: importing it as meet_web.services.hs256
    would load the whole app into the bare one (its RSS is reported)."""
    path = Path(__file__).resolve().parents[1] / "meet_web" / "services" / "hs256.py"
    spec = importlib.util.spec_from_file_location("bench_hs256", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def ledger_view(settings: dict):
    import orjson
    import redis

    hs256 = _hs256()
    key, secret = settings["livekit.api_key"], settings["livekit.api_secret"]
    client = redis.Redis.from_url(settings["cache.arguments.url"])

    def ledger(request):
        body = request.body
        token = request.headers["Authorization"].removeprefix("Bearer ").strip()
        claims = hs256.decode(token, secret, issuer=key, leeway=LEEWAY, require=("exp",))
        if hashlib.sha256(body).digest() != base64.b64decode(claims["sha256"]):
            return Response(status=400)
        event = orjson.loads(body)
        first = client.execute_command("SET", "webhook-seen:" + event["id"], b"1", "NX", "EX", 60)
        del first  # a redelivery (the workload) and a first delivery answer alike here
        return Response(WEBHOOK_ANSWER, content_type="application/json")

    return ledger


def make_app():
    with Configurator() as config:
        config.add_route("ok", "/")
        config.add_view(ok, route_name="ok")
        config.add_route("posted", WEBHOOK_PATH)
        config.add_view(posted, route_name="posted", request_method="POST")
        settings_file = os.environ.get("BENCH_SETTINGS_FILE")  # set by run.py
        if settings_file:
            settings = json.loads(Path(settings_file).read_text(encoding="utf-8"))
            config.add_route("ledger", LEDGER_PATH)
            config.add_view(ledger_view(settings), route_name="ledger", request_method="POST")
    return config.make_wsgi_app()


application = make_app()
