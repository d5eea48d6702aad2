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
      <slug>  RoomResource            meeting page, settings, members
    ApiRoot   /api/v1.0/              config, authenticate, callback, logout
      rooms/<id or slug>              RoomContainer -> RoomResource
      resource-accesses/<id>          AccessContainer -> AccessResource
      users/<id>                      UserContainer -> UserResource
      recordings/<id>                 RecordingContainer -> RecordingResource
"""

from .accesses import AccessContainer, AccessResource
from .api import ApiRoot, DiagnosticsSection
from .recordings import RecordingContainer, RecordingResource
from .rooms import RoomContainer, RoomResource, UnregisteredRoom
from .root import SiteRoot
from .users import UserContainer, UserResource

__all__ = [
    "AccessContainer",
    "AccessResource",
    "ApiRoot",
    "DiagnosticsSection",
    "RecordingContainer",
    "RecordingResource",
    "RoomContainer",
    "RoomResource",
    "SiteRoot",
    "UnregisteredRoom",
    "UserContainer",
    "UserResource",
]


def includeme(config):
    config.add_route("heartbeat", "/__heartbeat__")
    config.add_route("lbheartbeat", "/__lbheartbeat__")
    config.add_route("api", "/api/v1.0/*traverse", factory=ApiRoot)
