"""LiveKit failures: not found is a 404, the rest say the media server is the problem."""

from pyramid.view import exception_view_config

from ...services.livekit import LiveKitError
from ..errors import api_error, is_api, page_error


@exception_view_config(LiveKitError, renderer="json")
def livekit_error(exc, request):
    if not is_api(request):
        return page_error(request, exc.status, "Media server problem", exc.message)
    return api_error(request, exc.status, exc.message, key=exc.key)
