"""Joining from the browser: the pre-join form, the lobby wait page and the meeting.

GET /<slug>/meeting?username=… knocks once: admitted callers get the meeting page with
their LiveKit token; others get the wait page, which polls POST /<slug>/knock every
second (htmx) and is sent back to the meeting page once admitted; without JavaScript
the wait page reloads itself, each reload a knock. A declined guest's page knocks no
more until they ask again (POST /<slug>/ask-again); POST /<slug>/leave withdraws the
caller from the lobby and goes back to the room page. Administrators'
lobby panel is /<slug>/lobby (a fragment), refreshed when LiveKit brings a
`participantWaiting` message.
"""

from __future__ import annotations

from urllib.parse import urlencode

from pyramid.httpexceptions import HTTPSeeOther
from pyramid.view import view_config, view_defaults

from ...resources import RoomResource
from ...security.permissions import Permission
from ...services.lobby import (
    Lobby,
    LobbyStatus,
    ParticipantNotFound,
    RemovedRecently,
    TooManyRequests,
)
from ...validation import Fields
from ..api.joining import knock, known_identity

USERNAME_MAX = 255
# How often a wait page knocks again, by state (htmx); the other states knock no more.
POLL_SECONDS = {"waiting": 1, "busy": 5}


def wait_state(entry, problem) -> str:
    """waiting, busy, removed, denied or accepted: what the wait page shows. `problem`
    ("removed" or "busy") counts only when the knock gave no entry."""
    if entry is None:
        return problem
    return str(entry.status) if entry.status != LobbyStatus.UNKNOWN else "waiting"


@view_defaults(context=RoomResource)
class MeetingPages:
    def __init__(self, context: RoomResource, request):
        self.context, self.request = context, request
        self.room = context.room

    def _username(self) -> str | None:
        fields = Fields(dict(self.request.params))
        name = fields.string("username", max_length=USERNAME_MAX)
        return None if fields.errors or not isinstance(name, str) else name

    def _meeting_url(self, username: str | None) -> str:
        query = f"?{urlencode({'username': username})}" if username else ""
        return f"{self.request.application_url}/{self.room.slug}/meeting{query}"

    def _knock(self, username):
        """(entry, LiveKit block or None); or (None, "removed" / "busy") when refused."""
        try:
            return knock(self.request, self.context, username)
        except RemovedRecently:
            return None, "removed"
        except TooManyRequests:
            return None, "busy"

    def _values(self, **extra) -> dict:
        return {
            "room": self.room,
            "room_id": str(self.room.id),
            "role": self.context.role,
            "is_manager": bool(self.request.has_permission(Permission.ROOM_MANAGE, self.context)),
            "api_room_path": f"/api/v1.0/rooms/{self.room.id}",
            "room_path": f"{self.request.application_url}/{self.room.slug}",
            **extra,
        }

    def _wait_values(self, entry, problem, username) -> dict:
        """For the wait page and its status fragment: `problem` is "removed" or "busy".

        Without JavaScript a waiting page reloads itself (`refresh_seconds`) before its
        entry's lifetime runs out, so that each reload renews it.
        """
        state = wait_state(entry, problem)
        refresh = None
        if state == "waiting":
            refresh = max(1, self.request.service(Lobby).config.waiting_timeout - 1)
        elif state in POLL_SECONDS:
            refresh = POLL_SECONDS[state]
        return self._values(
            entry=entry,
            problem=problem,
            state=state,
            poll_seconds=POLL_SECONDS.get(state),
            refresh_seconds=refresh,
            username=username or "",
            meeting_url=self._meeting_url(username),
        )

    @view_config(
        name="meeting",
        request_method="GET",
        permission=Permission.ROOM_VIEW,
        renderer="meeting/meeting.jinja2",
    )
    def meeting(self):
        username = self._username()
        entry, livekit = self._knock(username)
        if entry is None or entry.status != LobbyStatus.ACCEPTED:
            self.request.override_renderer = "meeting/wait.jinja2"
            if entry is None:
                self.request.response.status = 403 if livekit == "removed" else 429
            return self._wait_values(entry, livekit, username)
        return self._values(
            entry=entry,
            livekit=livekit,
            username=entry.username,
            subtitles_enabled=self.request.registry.settings["subtitles.enabled"],
        )

    @view_config(
        name="knock",
        request_method="POST",
        permission=Permission.ROOM_REQUEST_ENTRY,
        renderer="meeting/_wait_status.jinja2",
    )
    def knock(self):
        username = self._username()
        entry, problem = self._knock(username)
        if entry is not None and entry.status == LobbyStatus.ACCEPTED:
            self.request.response.headers["HX-Redirect"] = self._meeting_url(username)
        return self._wait_values(entry, problem, username)

    @view_config(
        name="ask-again",
        request_method="POST",
        permission=Permission.ROOM_REQUEST_ENTRY,
        renderer="meeting/_wait_status.jinja2",
    )
    def ask_again(self):
        """A declined guest knocks anew: htmx gets the status fragment (waiting again),
        a plain form goes back to the wait page, whose load knocks."""
        identity = known_identity(self.request)
        if identity is not None:
            self.request.service(Lobby).forget_denial(self.room.id, identity)
        if "HX-Request" not in self.request.headers:
            return HTTPSeeOther(location=self._meeting_url(self._username()))
        return self.knock()

    @view_config(name="leave", request_method="POST", permission=Permission.ROOM_REQUEST_ENTRY)
    def leave(self):
        """The caller leaves the lobby (waiting, denied or admitted): their entry goes at
        once, and they are back on the room page, free to knock again."""
        identity = known_identity(self.request)
        if identity is not None:
            self.request.service(Lobby).withdraw(self.room.id, identity)
        return HTTPSeeOther(location=f"{self.request.application_url}/{self.room.slug}")

    @view_config(
        name="lobby",
        request_method="GET",
        permission=Permission.ROOM_MANAGE,
        renderer="meeting/_lobby_panel.jinja2",
    )
    def lobby_panel(self):
        lobby = self.request.service(Lobby)
        waiting = [] if self.room.is_public else lobby.waiting(self.room.id)
        self.request.response.vary = ("HX-Request",)
        return self._values(waiting=waiting)

    def _admit_all(self, lobby) -> None:
        if self.room.is_public:
            return
        for guest in lobby.waiting(self.room.id):
            try:
                lobby.decide(self.room.id, guest.id, allow=True)
            except ParticipantNotFound:  # gone, or decided by someone else meanwhile
                continue

    @view_config(
        name="lobby",
        request_method="POST",
        permission=Permission.ROOM_MANAGE,
        renderer="meeting/_lobby_panel.jinja2",
    )
    def decide(self):
        params = self.request.POST
        lobby = self.request.service(Lobby)
        message = None
        if params.get("admit_all") == "true":
            self._admit_all(lobby)
            return self._values(waiting=lobby.waiting(self.room.id))
        try:
            lobby.decide(
                self.room.id,
                params.get("participant_id", ""),
                allow=params.get("allow_entry") == "true",
            )
        except ParticipantNotFound:
            message = "This person is no longer waiting."
            self.request.response.status = 409
        waiting = [] if self.room.is_public else lobby.waiting(self.room.id)
        return self._values(waiting=waiting, message=message)
