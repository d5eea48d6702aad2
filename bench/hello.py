"""The ceiling: a bare Pyramid "ok" view, served by the same gunicorn setup as the app.

hello-post: the same bare app answering the webhook's request (a POST at its path with
its headers and body, the body read, the webhook's JSON answer), so the report can tell
what that request costs any Pyramid app on this server from what Meet Web's own work adds.
"""

from pyramid.config import Configurator
from pyramid.response import Response

WEBHOOK_PATH = "/api/v1.0/rooms/webhooks-livekit/"
WEBHOOK_ANSWER = b'{"status":"success"}'


def ok(request):
    return Response("ok", content_type="text/plain")


def posted(request):
    request.body  # noqa: B018 (read, as the webhook reads it)
    return Response(WEBHOOK_ANSWER, content_type="application/json")


def make_app():
    with Configurator() as config:
        config.add_route("ok", "/")
        config.add_view(ok, route_name="ok")
        config.add_route("posted", WEBHOOK_PATH)
        config.add_view(posted, route_name="posted", request_method="POST")
    return config.make_wsgi_app()


application = make_app()
