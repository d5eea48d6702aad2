"""LiveKit failures: not found is a 404, the rest say the media server is the problem."""

from pyramid.view import exception_view_config

from ...services.livekit import LiveKitError


@exception_view_config(LiveKitError, renderer="json")
def livekit_error(exc, request):
    request.response.status = exc.status
    return {
        "error": {"code": exc.code, "message": exc.message, "fields": {}},
        "detail": exc.message,
    }
