"""The traversal tree.

Rules:
- Resources wrap models; `__name__`/`__parent__` depend on where an object is reached
  (the site tree or the API tree), so they never live on the ORM class.
- Lookups happen only in `__getitem__`, through a query helper on the model; a miss
  raises KeyError, which Pyramid turns into a view name or a 404.
- Child names are nouns (`accesses`), view names verbs (`settings`, `request-entry`).
- ACLs are computed from the database: each access row is an Allow for `user:<id>`.

    SiteRoot  /                       home, account; room pages by slug
      rooms   /rooms/                 RoomContainer (create from the home page form)
      recordings/<id>                 RecordingContainer -> RecordingResource (my
                                      recordings; a recording's page, media, delete)
      <slug>  RoomResource            meeting page, settings, members
    ApiRoot   /api/v1.0/              config, authenticate, callback, logout
      rooms/<id or slug>              RoomContainer -> RoomResource
      resource-accesses/<id>          AccessContainer -> AccessResource
      users/<id>                      UserContainer -> UserResource
      files/<id>                      FileContainer -> FileResource
      recordings/<id>                 RecordingContainer -> RecordingResource
        share-links/<link id>         ShareLinkContainer -> ShareLinkResource
      roomkit/                        RoomkitSection (its view: join)
      addons/sessions/                AddonSessions (its views: init, poll, exchange)
    ExternalApiRoot /external-api/v1.0/  see external_api.py
"""

from .accesses import AccessContainer, AccessResource
from .api import AddonSessions, ApiRoot, DiagnosticsSection, RoomkitSection
from .external_api import (
    ApplicationSection,
    ExternalApiRoot,
    ExternalRoom,
    ExternalRoomContainer,
    MissingExternalRoom,
)
from .files import FileContainer, FileResource
from .recordings import (
    RecordingContainer,
    RecordingResource,
    SharedRecording,
    SharedRecordingContainer,
    ShareLinkContainer,
    ShareLinkResource,
)
from .rooms import RoomContainer, RoomResource, UnregisteredRoom
from .root import SiteRoot
from .users import UserContainer, UserResource

__all__ = [
    "AccessContainer",
    "AccessResource",
    "AddonSessions",
    "ApiRoot",
    "ApplicationSection",
    "DiagnosticsSection",
    "ExternalApiRoot",
    "ExternalRoom",
    "ExternalRoomContainer",
    "FileContainer",
    "FileResource",
    "MissingExternalRoom",
    "RecordingContainer",
    "RecordingResource",
    "RoomContainer",
    "RoomResource",
    "RoomkitSection",
    "ShareLinkContainer",
    "ShareLinkResource",
    "SharedRecording",
    "SharedRecordingContainer",
    "SiteRoot",
    "UnregisteredRoom",
    "UserContainer",
    "UserResource",
]


def includeme(config):
    config.add_route("heartbeat", "/__heartbeat__")
    config.add_route("lbheartbeat", "/__lbheartbeat__")
    config.add_route("metrics", "/metrics")
    # The resource server's public key (services/resource_server.py, views/jwks.py).
    config.add_route("jwks", "/jwks")
    config.add_route("api", "/api/v1.0/*traverse", factory=ApiRoot)
    # The external API (resources/external_api.py); the add-ons' session exchange lives
    # under /api/v1.0/addons/.
    config.add_route("external_api", "/external-api/v1.0/*traverse", factory=ExternalApiRoot)
