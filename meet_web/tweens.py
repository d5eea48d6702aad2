"""Security headers on every response."""

HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


def security_headers_tween_factory(handler, registry):
    secure = registry.settings["app.secure_cookies"]

    def tween(request):
        response = handler(request)
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        if secure:
            response.headers.setdefault(
                "Strict-Transport-Security", "max-age=31536000; includeSubDomains"
            )
        return response

    return tween


def includeme(config):
    config.add_tween("meet_web.tweens.security_headers_tween_factory")
