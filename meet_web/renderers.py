"""The `json` renderer, with orjson: several times faster than the standard library's
encoder on every API answer. A value orjson refuses (an integer beyond 64 bits) falls
back to `json`, which the renderer used before."""

import json

import orjson
from pyramid.renderers import JSON

_OPTIONS = orjson.OPT_NON_STR_KEYS  # as json.dumps, which turns int keys into strings


def dumps(value, default=None, **kw) -> bytes | str:
    try:
        return orjson.dumps(value, default=default, option=_OPTIONS)
    except TypeError:  # orjson.JSONEncodeError is one
        return json.dumps(value, default=default, **kw)


def includeme(config):
    config.add_renderer("json", JSON(serializer=dumps))
