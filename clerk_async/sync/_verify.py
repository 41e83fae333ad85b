"""Request authentication for the sync client, without a thread hop when it can.

A JWT whose key is at hand (``jwt_key``, or the instance's JWKS already cached) is
verified in the caller's thread: no I/O, no hop to the loop thread. Fetching the JWKS
(the first time, or after a key rotation) and verifying opaque tokens (``mt_``, ``ak_``,
``oat_``: Clerk verifies them) run on the client's private loop.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, cast

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
    from clerk_async.auth._verifier import options_for

    options = options_for(accepts_token, authorized_parties, audience, clock_skew)
    authenticator = _client(client)._current()._authenticator
    auth = authenticator.verify_now(token, options)
    if auth is None:  # it takes a request to Clerk
        auth = _client(client)._run(authenticator.verify(token, options))
    return auth


def authenticate_request(
    client: SyncSpecServices,
    request_or_headers: Mapping[str, str] | HasHeaders,
    accepts_token: AcceptsToken,
    authorized_parties: str | Iterable[str] | None,
    audience: str | Iterable[str] | None,
    clock_skew: float,
) -> RequestState[Any]:
    from clerk_async.auth._request import request_headers
    from clerk_async.auth._verifier import options_for

    options = options_for(accepts_token, authorized_parties, audience, clock_skew)
    headers = request_headers(request_or_headers)
    authenticator = _client(client)._current()._authenticator
    state = authenticator.authenticate_now(headers, options)
    if state is None:
        state = _client(client)._run(authenticator.authenticate(headers, options))
    return state
