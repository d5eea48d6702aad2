"""The app's request class: request properties defined once, on a class.

Pyramid applies the properties of `add_request_method` by deriving a new class from
the request's for every request. Besides the class creation itself, a class never seen
before misses every zope.interface lookup cache, so each request's view and adapter
lookups are computed afresh: together a fair share of a knock's CPU. Once the
configuration is committed, `install` moves those properties (ours and the packages':
pyramid_tm's `tm`, pyramid_services' `services`) onto one request class made for this
app, which Pyramid then uses as it is.
"""

from __future__ import annotations

from pyramid.interfaces import IRequestExtensions, IRequestFactory
from pyramid.request import Request


def install(config) -> type[Request]:
    """Commit the configuration and make its request properties class attributes."""
    config.commit()
    registry = config.registry
    extensions = registry.queryUtility(IRequestExtensions)
    descriptors = dict(extensions.descriptors) if extensions is not None else {}
    base = registry.queryUtility(IRequestFactory, default=Request)
    request_class = type("MeetRequest", (base,), {"__module__": __name__, **descriptors})
    if extensions is not None:
        extensions.descriptors.clear()
    registry.registerUtility(request_class, IRequestFactory)
    return request_class
