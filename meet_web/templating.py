"""Templates and static files live at the top of the project, beside the package."""

from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
TEMPLATES_DIR = PROJECT_DIR / "templates"
STATIC_DIR = PROJECT_DIR / "static"


def includeme(config):
    config.add_jinja2_search_path(str(TEMPLATES_DIR), name=".jinja2")
    config.add_static_view("static", str(STATIC_DIR), cache_max_age=3600)
