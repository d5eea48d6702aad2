"""Room PINs: random digits, unique by the database.

A PIN is drawn with `secrets` and the room written with it inside a SAVEPOINT; when
the unique index on `rooms.pin_code` refuses it (another room holds that PIN, maybe one
a concurrent transaction is writing: PostgreSQL makes the second writer wait for the
first to commit, then refuses it), the savepoint is rolled back and another PIN drawn,
up to `telephony.pin_max_retries` times. Checking first and inserting after would let
two creations take the same PIN. After the last try the room is written without a PIN
and a warning logged, as the reference does: the room works, only not by phone.
"""

from __future__ import annotations

import logging

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..models import Room

log = logging.getLogger(__name__)

PIN_CONSTRAINT = "uq_rooms_pin_code"


def is_pin_clash(exc: IntegrityError) -> bool:
    """Whether the unique index on the PIN refused the row (not that on the slug)."""
    diag = getattr(exc.orig, "diag", None)  # psycopg names the constraint
    constraint = getattr(diag, "constraint_name", None)
    if constraint is not None:
        return constraint == PIN_CONSTRAINT
    return "rooms.pin_code" in str(exc.orig)  # SQLite: "UNIQUE constraint failed: rooms.pin_code"


def write_with_pin(session: Session, room: Room, *, length: int, retries: int) -> None:
    """Add and flush `room` with a new PIN, in savepoints (see the module docstring).

    Other integrity errors (a slug taken meanwhile) are raised as they are.
    """
    for _ in range(retries):
        room.pin_code = Room.random_pin(length)
        try:
            with session.begin_nested():
                session.add(room)
            return
        except IntegrityError as exc:
            if not is_pin_clash(exc):
                raise
    log.warning(
        "room %r saved without a PIN: %d random PINs of %d digits were all taken",
        room.slug,
        retries,
        length,
    )
    room.pin_code = None
    with session.begin_nested():
        session.add(room)
