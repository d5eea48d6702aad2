"""`pshell development.ini`: an interactive shell on the application.

Adds `dbsession` (the request's session, joined to `tm`), `models` and `tm` (the
transaction manager, already begun). Nothing is saved unless you call `tm.commit()`;
whatever is left uncommitted is rolled back when the shell exits.
"""

from __future__ import annotations

from transaction.interfaces import NoTransaction

from .. import models


def setup(env):
    request = env["request"]
    request.tm.begin()
    env["tm"] = request.tm
    env["dbsession"] = request.dbsession
    env["models"] = models
    try:
        yield
    finally:
        try:
            request.tm.abort()
        except NoTransaction:  # committed last, nothing left to roll back
            pass
