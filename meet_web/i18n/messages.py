"""Fixed English strings that views and services hand to the templates.

The Python code keeps its strings as they are (the JSON API answers in English);
listing them here puts them in the catalog (`pybabel extract` finds `N_`), and the
templates translate them at display time with the `translate` filter. Keep each one
exactly as the code spells it: tests/functional/test_i18n.py checks the constants it
can import. Messages built at run time (holding a name, a number) are not listed and
are shown in English.
"""


def N_(message: str) -> str:  # noqa: N802 - the gettext convention for "mark only"
    return message


# Who can join (views/pages/common.py: ACCESS_LEVELS), and the bare values the account
# page shows as the site default.
ACCESS_LEVELS = (
    N_("Public"),
    N_("Anyone with the link joins directly."),
    N_("Trusted"),
    N_("Signed-in people join directly; guests wait in the lobby."),
    N_("Restricted"),
    N_("Only members join directly; everyone else waits in the lobby."),
    N_("public"),
    N_("trusted"),
    N_("restricted"),
)

# Room roles, shown capitalized (models/enums.py: Role).
ROLES = (N_("Member"), N_("Administrator"), N_("Owner"))

# What participants may share (views/pages/common.py: SOURCE_LABELS).
SOURCES = (
    N_("Camera"),
    N_("Microphone"),
    N_("Screen sharing"),
    N_("Screen sharing audio"),
)

# Flash messages and form errors of the pages.
PAGES = (
    N_("Account settings saved."),
    N_("Settings saved."),
    N_("Choose one of the languages offered."),
    N_("Another room already uses this name."),
    N_("Enter a meeting code or a meeting link."),
    N_("No meeting uses this code. Check it, or ask for the meeting's link."),
    N_("No account uses this email address."),
    N_("Several accounts use this email address; ask an operator for help."),
    N_("This person no longer has access to this room."),
    N_("This person is no longer waiting."),
)

# Rules of the domain (services/rooms.py, models/access.py) and field checks
# (validation.py).
RULES = (
    N_("This user already has access to this room."),
    N_("Only an owner may change their own role."),
    N_("Only an owner may remove their own access."),
    N_("Only owners of a room can assign other users as owners."),
    N_("You must be administrator or owner of a room to add accesses to it."),
    N_("A room must keep at least one owner."),
    N_("The name may not be longer than 100 characters."),
    N_("This field is required."),
    N_("This field may not be blank."),
    N_("Not a valid string."),
    N_("Must not contain NUL characters."),
    N_("Must be a valid boolean."),
    N_("Must be a valid UUID."),
    N_("Invalid request."),
)

# Error pages (views/errors.py, views/api/auth.py, views/api/livekit_errors.py) and the
# titles of the HTTP errors a page may end with.
ERRORS = (
    N_("Invalid request"),
    N_("Not found"),
    N_("Not allowed"),
    N_("Conflict"),
    N_("There is nothing at this address."),
    N_("You may not see or do this."),
    N_("Bad request."),
    N_("Sign-in unavailable"),
    N_("The identity provider cannot be reached. Try again later."),
    N_("Sign-in failed"),
    N_("The sign-in could not be completed. Please try again."),
    N_("Media server problem"),
    N_("Bad Request"),
    N_("Forbidden"),
    N_("Not Found"),
    N_("Method Not Allowed"),
    N_("Gone"),
    N_("Too Many Requests"),
    N_("Request Entity Too Large"),
    N_("Internal Server Error"),
    N_("Bad Gateway"),
    N_("Service Unavailable"),
    N_("Gateway Timeout"),
    N_("The service is temporarily unavailable; try again in a few seconds."),
    N_("A server error occurred."),
    N_(
        "Bad CSRF token received. Access is denied. This server can not verify that your "
        "cross-site request forgery token belongs to your login session. Either you "
        "supplied the wrong cross-site request forgery token or your session no longer "
        "exists. This may be due to session timeout or because browser is not supplying "
        "the credentials required, as can happen when the browser has cookies turned off."
    ),
    N_(
        "Bad CSRF Origin. Access is denied. This server can not verify that the origin or "
        "referrer of your request matches the current site. Either your browser supplied "
        "the wrong Origin or Referrer or it did not supply one at all."
    ),
)

# Requests refused before any view runs (tweens.py).
EDGE = (
    N_("The address or the form is not valid UTF-8."),
    N_("This site is not served under this host name."),
    N_("The request body is larger than this site accepts."),
    N_("The form cannot be read: its multipart boundary is missing or invalid."),
)

# Recordings: their pages, the app's streaming, share links and the completion mail
# (views/pages/recordings.py, recording/streaming.py, recording/share_links.py,
# views/pages/share_links.py, recording/summary.py).
RECORDINGS = (
    N_("The recording is not ready."),
    N_("The recording has expired."),
    N_("Only a recording that has ended can be deleted."),
    N_("The recording has been deleted."),
    N_("Must be a positive integer."),
    N_("Invalid page."),
    N_("The recording store cannot be reached; try again in a few seconds."),
    N_("The recording store refused to give the recording."),
    N_("The recording's file is missing from the store."),
    N_("The requested range is not within the recording."),
    N_("Range Not Satisfiable"),
    N_("This link does not work"),
    N_(
        "Check that you have the whole address, or ask the person who shared the recording "
        "for a new link."
    ),
    N_("This link was revoked"),
    N_(
        "The person who shared this recording has withdrawn the link. Ask them for a new "
        "one if you still need it."
    ),
    N_("This link has expired"),
    N_("Ask the person who shared this recording for a new link if you still need it."),
    N_("This recording is no longer available"),
    N_("The recording has expired: it can no longer be played or downloaded."),
    N_("The share link was revoked: it no longer works."),
    N_("Only a saved recording can be shared."),
    N_("A valid integer is required."),
    N_("Ensure this value is greater than or equal to 1."),
    N_('Meeting "%(room)s" on %(date)s at %(time)s'),
    N_("Transcription"),
)

# Camera backgrounds on the account page (views/pages/backgrounds.py).
BACKGROUNDS = (N_("Background image deleted."),)

# The operators' usage dashboard (views/admin/dashboard.py, stats/report.py).
DASHBOARD = (
    N_("Usage"),
    N_("Meetings per day"),
    N_("Participant-minutes per day"),
    N_("Peak concurrent participants"),
    N_("Rooms created"),
    N_("Recordings"),
    N_("Meetings"),
    N_("Minutes"),
    N_("Participants"),
    N_("Rooms"),
    N_("Enter a valid date (YYYY-MM-DD)."),
    N_("Give both the first and the last day."),
    N_("The first day must not be after the last day."),
    N_("Choose at most 366 days."),
)

# The account's active sessions (views/pages/sessions.py).
SESSIONS = (
    N_("That session was signed out."),
    N_("Your other sessions were signed out."),
    N_("You have no other active session."),
    N_("This session is not among your active sessions: it may have ended already."),
    N_("This is the session you are using: use Sign out to end it."),
)

# The administration's sections (resources/admin.py: ADMIN_NAV; "Usage", "Rooms" and
# "Recordings" are listed with the dashboard's words above).
ADMIN_SECTIONS = (N_("Users"), N_("Applications"), N_("Audit log"))
