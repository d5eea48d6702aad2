from __future__ import annotations

from pyramid.authorization import Allow

from ..models import User
from ..security.permissions import SITE_GRANTS, Permission, user_principal


class UserContainer:
    __acl__ = SITE_GRANTS
    missing_child_message = "No User matches the given query."

    def __init__(self, parent, name: str = "users"):
        self.__parent__, self.__name__ = parent, name
        self.request = parent.request

    def __getitem__(self, key: str) -> UserResource:
        user = User.by_id(self.request.dbsession, key)
        if user is None:
            raise KeyError(key)
        return UserResource(user, parent=self)


class UserResource:
    def __init__(self, user: User, parent):
        self.user = user
        self.__parent__, self.__name__ = parent, str(user.id)
        self.request = parent.request

    def __acl__(self):
        return [(Allow, user_principal(self.user.id), Permission.USER_UPDATE), *SITE_GRANTS]
