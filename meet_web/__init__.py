"""Meet Web: the WSGI application factory."""

import os

from pyramid.config import Configurator

from . import logs, request
from .resources import SiteRoot
from .settings import load_settings


def main(global_config=None, **ini_settings):
    logs.install()  # before anything logs: one record, one line
    settings = load_settings(ini_settings, os.environ)
    with Configurator(settings=settings, root_factory=SiteRoot) as config:
        for name in (
            "pyramid_jinja2",
            "pyramid_services",
            ".db",
            ".security",
            ".services",
            ".services.mail",
            ".services.lobby_alerts",  # uses the mailer and the services above
            ".recording",  # uses the LiveKit gateway, the mailer and the webhook router
            ".telephony",  # uses the LiveKit gateway, the lobby and the webhook router
            ".files",  # uses the recordings' S3 store
            ".stats",  # usage statistics: uses the webhook router
            ".services.applications",  # the external API's client credentials and tokens
            ".services.addons",  # the add-ons' session exchange
            ".resources",
            ".renderers",
            ".templating",
            ".tweens",
            ".i18n",
            ".views",
        ):
            config.include(name)
        config.scan(".views")
        request.install(config)
    return config.make_wsgi_app()
