from __future__ import annotations

from pyramid.authorization import Allow

from ..models import ResourceAccess
from ..security.permissions import ACCESS_GRANTS, SITE_GRANTS, user_principal


class AccessContainer:
    __acl__ = SITE_GRANTS
    missing_child_message = "No ResourceAccess matches the given query."

    def __init__(self, parent, name: str = "resource-accesses"):
        self.__parent__, self.__name__ = parent, name
        self.request = parent.request

    def __getitem__(self, key: str) -> AccessResource:
        access = ResourceAccess.by_id(self.request.dbsession, key)
        if access is None:
            raise KeyError(key)
        return AccessResource(access, parent=self)


class AccessResource:
    """One membership; those who manage its room may see and change it."""

    def __init__(self, access: ResourceAccess, parent):
        self.access = access
        self.__parent__, self.__name__ = parent, str(access.id)
        self.request = parent.request

    def __acl__(self):
        return [
            (Allow, user_principal(a.user_id), ACCESS_GRANTS[a.role])
            for a in self.access.resource.accesses
        ]

    @property
    def actor_role(self):
        identity = self.request.identity
        return self.access.resource.role_of(identity.user_id if identity else None)
