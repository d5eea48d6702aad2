"""The "a guest is waiting" e-mail to a room's owners and administrators.

When a guest's knock creates their lobby entry and nobody who could admit them is in
the meeting, the room's owners and administrators who opted in
(`User.guest_waiting_emails`) get an e-mail linking to the meeting's lobby panel; a
room sends at most one such e-mail per `lobby.waiting_email_interval`, across
processes (an add-if-absent key with that lifetime in the ephemeral store; 0: no limit).

The knock is the hottest path of the app (no SQL, one store round trip), so it only
hands the room's id to a worker thread once its response is done (`after_knock`); the
worker does the rest, in its own database session: who manages the room, whether one
is in the meeting (LiveKit's participant list: their tokens carry `room_role`), and the
sending. When LiveKit cannot say who is in the meeting, the e-mail is sent: a
needless e-mail costs less than a guest left waiting unseen.
"""

from __future__ import annotations

import logging
import os
import threading
import uuid
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass

from livekit import api
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ..db import after_commit
from ..models import ResourceAccess, Room, User
from ..security.permissions import MANAGER_ROLES
from . import register
from .ephemeral import EphemeralStore
from .livekit import ADMIN_ROLES, LiveKitError, LiveKitGateway, LiveKitNotFound
from .mail import Mailer

log = logging.getLogger(__name__)

TEMPLATE = "guest_waiting"


def _sent_key(room_id) -> str:
    return f"lobby-email:{room_id}"


@dataclass(frozen=True)
class Recipient:
    email: str
    language: str


@dataclass(frozen=True)
class RoomManagers:
    """What the e-mail needs of a room, read in one short transaction."""

    name: str
    slug: str
    manager_ids: frozenset[str]
    recipients: tuple[Recipient, ...]  # the managers who opted in and have an address


class GuestWaitingAlerts:
    def __init__(
        self,
        *,
        store: EphemeralStore,
        livekit: LiveKitGateway,
        mailer: Mailer,
        sessions: sessionmaker,
        interval: int,
    ):
        self.store, self.livekit, self.mailer = store, livekit, mailer
        self.sessions, self.interval = sessions, interval
        self._lock = threading.Lock()
        self._executor: ThreadPoolExecutor | None = None
        self._executor_pid: int | None = None
        self._pending: set[Future] = set()
        # rooms with a job queued and not started: a burst of knocks queues one job
        self._queued: set[str] = set()

    # the hand-off -------------------------------------------------------------------

    def submit(self, room_id, base_url: str) -> None:
        """Queue the job for `room_id`, unless one is queued already; returns at once."""
        with self._lock:
            worker = self._worker()
            if str(room_id) in self._queued:
                return
            self._queued.add(str(room_id))
            future = worker.submit(self._start, room_id, base_url)
            self._pending.add(future)
        future.add_done_callback(self._done)

    def _start(self, room_id, base_url: str) -> bool:
        with self._lock:
            self._queued.discard(str(room_id))
        return self.run(room_id, base_url)

    def _worker(self) -> ThreadPoolExecutor:
        # Made on first use, and again in a forked child (threads do not survive fork).
        if self._executor is None or self._executor_pid != os.getpid():
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="guest-alerts")
            self._executor_pid = os.getpid()
            self._pending, self._queued = set(), set()
        return self._executor

    def _done(self, future: Future) -> None:
        with self._lock:
            self._pending.discard(future)

    def drain(self, timeout: float = 10) -> None:
        """Wait until the jobs queued so far have run (tests, shutdown)."""
        with self._lock:
            pending = set(self._pending)
        wait(pending, timeout=timeout)

    # the job ------------------------------------------------------------------------

    def run(self, room_id, base_url: str) -> bool:
        """Send the e-mail for `room_id` if it is due; True if it was sent to anyone."""
        try:
            return self._run(room_id, base_url)
        except Exception:  # a worker thread: nobody else would see it
            log.exception("guest-waiting e-mail for room %s failed", room_id)
            return False

    def _run(self, room_id, base_url: str) -> bool:
        key, limited = _sent_key(room_id), self.interval > 0
        if limited and self.store.get(key) is not None:
            return False  # sent within the interval: no SQL, no LiveKit call
        room = self.managers(room_id)
        if room is None or not room.recipients:
            return False
        if self.manager_present(str(room_id), room.manager_ids):
            return False
        if limited and not self.store.add(key, True, self.interval):
            return False  # another knock's job, maybe in another process, sent it
        link = f"{base_url.rstrip('/')}/{room.slug}/meeting#lobby-panel"
        sent = False
        for recipient in room.recipients:
            message = self.mailer.compose(
                TEMPLATE,
                to=recipient.email,
                language=recipient.language,
                values={"room_name": room.name, "link": link},
            )
            sent = self.mailer.send_quietly(message) or sent
        return sent

    def managers(self, room_id) -> RoomManagers | None:
        try:
            key = room_id if isinstance(room_id, uuid.UUID) else uuid.UUID(str(room_id))
        except ValueError:
            return None
        with self.sessions() as session:
            return _read_managers(session, key)

    def manager_present(self, room: str, manager_ids: frozenset[str]) -> bool:
        """Whether an owner or administrator is in the LiveKit room; False when LiveKit
        cannot tell (see the module's docstring)."""
        try:
            participants = self.livekit.list_participants(room)
        except LiveKitNotFound:
            return False  # no meeting under way
        except LiveKitError as exc:
            log.warning("room %s: who is in the meeting is unknown (%s)", room, exc.message)
            return False
        return any(
            participant.state != api.ParticipantInfo.State.DISCONNECTED
            and (
                participant.attributes.get("room_role") in ADMIN_ROLES
                or participant.identity in manager_ids
            )
            for participant in participants
        )


def _read_managers(session: Session, room_id: uuid.UUID) -> RoomManagers | None:
    room = session.get(Room, room_id)
    if room is None:
        return None
    managers = session.scalars(
        select(User)
        .join(ResourceAccess, ResourceAccess.user_id == User.id)
        .where(
            ResourceAccess.resource_id == room_id,
            ResourceAccess.role.in_(MANAGER_ROLES),
            User.is_active.is_(True),
        )
        .order_by(User.email)
    ).all()
    return RoomManagers(
        name=room.name,
        slug=room.slug,
        manager_ids=frozenset(str(user.id) for user in managers),
        recipients=tuple(
            Recipient(user.email, user.language)
            for user in managers
            if user.guest_waiting_emails and user.email
        ),
    )


def mail_base_url(request) -> str | None:
    """The site's address for links in e-mail: `app.base_url`, else the request's when
    its host was checked against `app.trusted_hosts`; None otherwise, lest a knock with
    a forged Host header mail owners a link to another site."""
    settings = request.registry.settings
    if settings["app.base_url"]:
        return settings["app.base_url"]
    return request.application_url if hosts_checked(settings) else None


def hosts_checked(settings) -> bool:
    hosts = settings["app.trusted_hosts"]
    return bool(hosts) and "*" not in hosts


def after_knock(request, room_id, entry) -> None:
    """Hand the alert to the worker once this knock's response is done, if the knock
    created the guest's entry (later polls of the same entry do nothing)."""
    if entry is None or not entry.is_new:
        return
    base_url = mail_base_url(request)
    if base_url is not None:
        after_commit(request, request.service(GuestWaitingAlerts).submit, room_id, base_url)


def includeme(config):
    registry = config.registry
    services = registry["meet_services"]
    settings = config.get_settings()
    if not (settings["app.base_url"] or hosts_checked(settings)):
        log.warning(
            "guest-waiting e-mails are off: set app.base_url (or app.trusted_hosts) for"
            " the links they carry"
        )
    alerts = GuestWaitingAlerts(
        store=services[EphemeralStore],
        livekit=services[LiveKitGateway],
        mailer=services[Mailer],
        sessions=registry["dbsession_factory"],
        interval=settings["lobby.waiting_email_interval"],
    )
    register(config, alerts, GuestWaitingAlerts)
