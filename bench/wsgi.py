"""The Meet Web app as the benchmark serves it: `gunicorn --chdir bench wsgi:application`.

bench/run.py writes the settings (database, Redis, LiveKit fake, OIDC provider, ...) to a
JSON file and passes its path in BENCH_SETTINGS_FILE; each worker builds the app from
them with `meet_web.main`, exactly as the paste entry point does in production.
"""

import json
import os

from meet_web import main

with open(os.environ["BENCH_SETTINGS_FILE"], encoding="utf-8") as settings_file:
    SETTINGS = json.load(settings_file)

application = main({}, **SETTINGS)
