"""Request authentication for the sync client, without a thread hop when it can.

A JWT whose key is at hand (``jwt_key``, or the instance's JWKS already cached) is
verified in the caller's thread: no I/O, no hop to the loop thread. Fetching the JWKS
(the first time, or after a key rotation) and verifying opaque tokens (``mt_``, ``ak_``,
``oat_``: Clerk verifies them) run on the client's private loop.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, cast

from clerk_async._observe import traced_sync, tracing

if TYPE_CHECKING:
    from clerk_async.auth import Auth, RequestState
    from clerk_async.auth._request import HasHeaders
    from clerk_async.auth._types import AcceptsToken
    from clerk_async.sync._client import Clerk
    from clerk_async.sync.services import SyncSpecServices

__all__ = ["authenticate_request", "verify_token"]


def _client(client: SyncSpecServices) -> Clerk:
    return cast("Clerk", client)  # the generated base of the one sync Clerk


def verify_token(
    client: SyncSpecServices,
    token: str,
    accepts_token: AcceptsToken,
    authorized_parties: str | Iterable[str] | None,
    audience: str | Iterable[str] | None,
    clock_skew: float,
) -> Auth:
    sync = _client(client)
    authenticator = sync._current()._authenticator
    options = authenticator.options(accepts_token, authorized_parties, audience, clock_skew)

    def verify() -> Auth:
        auth = authenticator.verify_now(token, options)
        if auth is None:  # it takes a request to Clerk
            auth = sync._run(authenticator.verify(token, options))
        return auth

    return traced_sync("clerk.verify_token", verify) if tracing() else verify()


def authenticate_request(
    client: SyncSpecServices,
    request_or_headers: Mapping[str, str] | HasHeaders,
    accepts_token: AcceptsToken,
    authorized_parties: str | Iterable[str] | None,
    audience: str | Iterable[str] | None,
    clock_skew: float,
) -> RequestState[Any]:
    sync = _client(client)
    authenticator = sync._current()._authenticator
    options = authenticator.options(accepts_token, authorized_parties, audience, clock_skew)
    headers = authenticator.request_headers(request_or_headers)

    def authenticate() -> RequestState[Any]:
        state = authenticator.authenticate_now(headers, options)
        if state is None:
            state = sync._run(authenticator.authenticate(headers, options))
        return state

    if tracing():
        return traced_sync("clerk.authenticate_request", authenticate)
    return authenticate()
