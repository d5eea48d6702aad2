"""Explicit JSON shapes, field for field as the reference's API."""

from __future__ import annotations

from math import ceil
from urllib.parse import urlencode

from ...validation import check_page


def user_json(user) -> dict:
    return {
        "id": str(user.id),
        "email": user.email,
        "full_name": user.full_name,
        "short_name": user.short_name,
        "timezone": user.timezone,
        "language": user.language,
        "default_room_access_level": user.default_room_access_level,
        "default_room_configuration": user.default_room_configuration or {},
    }


def access_json(access) -> dict:
    return {
        "id": str(access.id),
        "user": str(access.user_id),
        "resource": str(access.resource_id),
        "role": access.role,
    }


def nested_access_json(access) -> dict:
    return {**access_json(access), "user": user_json(access.user)}


def room_json(room, *, role=None, may_join: bool = False) -> dict:
    """Base fields for all; pin_code for those who may join; accesses for managers."""
    data = {
        "id": str(room.id),
        "name": room.name,
        "slug": room.slug,
        "configuration": room.configuration or {},
        "access_level": room.access_level,
        "is_administrable": role in ("owner", "administrator"),
    }
    if may_join:
        data["pin_code"] = room.pin_code
    if data["is_administrable"]:
        data["accesses"] = [nested_access_json(a) for a in room.accesses]
    return data


def page_json(request, items: list, count: int, page: int, size: int) -> dict:
    """The reference's page: {count, next, previous, results}; past the last page, 404."""
    check_page(page, size, count)
    last = max(1, ceil(count / size))

    def link(number: int) -> str:
        # As DRF: the requested path (trailing slash kept), other parameters sorted,
        # and no `page` at all for the first page.
        query = sorted((k, v) for k, v in request.GET.items() if k != "page")
        if number > 1:
            query = sorted([*query, ("page", str(number))])
        return request.path_url + (f"?{urlencode(query)}" if query else "")

    return {
        "count": count,
        "next": link(page + 1) if page < last else None,
        "previous": link(page - 1) if page > 1 else None,
        "results": items,
    }
