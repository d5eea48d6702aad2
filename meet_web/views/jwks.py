"""GET /jwks: the public half of the resource server's encryption key, from which the
identity provider encrypts its token introspection answers (services/resource_server.py).
Not found while no such key is set."""

from pyramid.httpexceptions import HTTPNotFound
from pyramid.security import NO_PERMISSION_REQUIRED
from pyramid.view import view_config

from ..services.resource_server import ResourceServerConfig


@view_config(
    route_name="jwks",
    request_method="GET",
    renderer="json",
    permission=NO_PERMISSION_REQUIRED,
    http_cache=3600,
)
def jwks(request):
    config = request.service(ResourceServerConfig)
    if not (config.enabled and config.jwt and config.jwt.key is not None):
        raise HTTPNotFound()
    request.response.content_type = "application/jwk-set+json"
    return config.jwt.public_jwks()
