"""Templates and static files live at the top of the project, beside the package."""

from pathlib import Path

import venusian
from pyramid_jinja2 import EXTRAS_CONFIG_PHASE

PROJECT_DIR = Path(__file__).resolve().parent.parent
TEMPLATES_DIR = PROJECT_DIR / "templates"
STATIC_DIR = PROJECT_DIR / "static"


def includeme(config):
    config.add_jinja2_search_path(str(TEMPLATES_DIR), name=".jinja2")
    config.add_static_view("static", str(STATIC_DIR), cache_max_age=3600)


def template_global(name: str):
    """Offer the decorated function to every template as `name` (registered when the
    views are scanned, as `view_config` registers views)."""

    def attach(function):
        def register(scanner, _name, _ob):
            config = scanner.config

            def add():
                config.get_jinja2_environment().globals[name] = function

            config.action(("meet_web.template_global", name), add, order=EXTRAS_CONFIG_PHASE)

        venusian.attach(function, register, category="pyramid")
        return function

    return attach
