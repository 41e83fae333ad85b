"""The headers of whatever a web framework calls a request, without importing any framework.

Django's ``HttpRequest``, Flask/Werkzeug's ``Request``, Starlette's (FastAPI's) and
Litestar's ``Request``, aiohttp's ``web.Request`` and Quart's all have a ``headers``
attribute that is case-insensitive and has ``.get``; that is all we read (the token is in
``Authorization`` or in the ``__session`` cookie of the ``Cookie`` header). A plain mapping
of headers is taken as it is.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from clerk_async.errors import ClerkValidationError

__all__ = ["HasHeaders", "HeaderLookup", "asgi_headers", "request_headers"]

# The headers the verifier reads; a request's other headers are never copied.
_READ = ("Authorization", "Cookie")


class HeaderLookup(Protocol):
    """Anything with a case-insensitive ``get`` of header values (Werkzeug's ``Headers``)."""

    def get(self, key: str, /) -> Any: ...


class HasHeaders(Protocol):
    """A framework's request object: its ``headers`` are read, nothing else."""

    @property
    def headers(self) -> HeaderLookup: ...


def request_headers(request_or_headers: Any) -> Mapping[str, str]:
    """The headers to authenticate: a mapping as given, else the request's ``headers``.

    ``headers`` that are not a ``Mapping`` (Werkzeug's ``EnvironHeaders``) are read once for
    ``Authorization`` and ``Cookie``, into a small dict.
    """
    if type(request_or_headers) is dict:  # no .headers; ABC checks cost ~2,000 instructions
        return request_or_headers
    # The request first: Starlette's Request is itself a Mapping (of its ASGI scope).
    headers = getattr(request_or_headers, "headers", None)
    if headers is None and isinstance(request_or_headers, Mapping):
        return request_or_headers
    if isinstance(headers, Mapping):
        return headers
    get = getattr(headers, "get", None)
    if not callable(get):
        raise ClerkValidationError(
            "request_or_headers",
            "must be a mapping of header names to values or a web framework's request "
            f"object with .headers (Django, Flask, Starlette, aiohttp...), "
            f"got {type(request_or_headers).__name__}",
        )
    found = {}
    for name in _READ:
        value = get(name)
        if isinstance(value, str):
            found[name] = value
    return found


def asgi_headers(scope: Mapping[str, Any]) -> dict[str, str]:
    """``Authorization`` and ``Cookie`` of an ASGI scope (raw byte pairs, names lower-case).

    Several ``Cookie`` headers (HTTP/2 may split them) are joined with ``; `` (RFC 9113
    8.2.3); the first ``Authorization`` wins, as with the frameworks' ``headers.get``.
    """
    authorization: str | None = None
    cookies: list[str] = []
    for name, value in scope.get("headers") or ():
        if name == b"authorization":
            if authorization is None:
                authorization = value.decode("latin-1")
        elif name == b"cookie":
            cookies.append(value.decode("latin-1"))
    found = {}
    if authorization is not None:
        found["Authorization"] = authorization
    if cookies:
        found["Cookie"] = "; ".join(cookies)
    return found
