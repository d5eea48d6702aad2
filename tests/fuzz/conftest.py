"""Hypothesis keeps its caches out of the checkout; the totals are printed at the end
of the session (shown with -q and -s too)."""

import tempfile
from pathlib import Path

from hypothesis.configuration import set_hypothesis_home_dir

from tests.fuzz.report import TOTALS

# Not ./.hypothesis: no database is used (settings(database=None)), but Hypothesis
# still caches the constants of the code under test and Unicode tables there.
set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "meet-web-hypothesis")


def pytest_terminal_summary(terminalreporter):
    for line in TOTALS.lines() if TOTALS.by_actor else ():
        terminalreporter.write_line(line)
