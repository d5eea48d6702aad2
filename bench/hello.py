"""The ceiling: a bare Pyramid "ok" view, served by the same gunicorn setup as the app."""

from pyramid.config import Configurator
from pyramid.response import Response


def ok(request):
    return Response("ok", content_type="text/plain")


def make_app():
    with Configurator() as config:
        config.add_route("ok", "/")
        config.add_view(ok, route_name="ok")
    return config.make_wsgi_app()


application = make_app()
