"""Request authentication for frameworks without an event loop: Django, Flask, DRF.

Most verifications need no I/O: a JWT with ``jwt_key`` (``CLERK_JWT_KEY``), or with the
instance's JWKS already cached. They run right here, in the caller's thread, with no
thread hop. The rest (fetching the JWKS the first time or after a key rotation, and
opaque ``mt_``/``ak_``/``oat_`` tokens, verified by Clerk) runs the async verifier on the
private loop thread of a ``clerk_async.sync.Clerk``, started on first need (and started
afresh in a forked child).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from clerk_async.auth._guard import Requirement
from clerk_async.auth._request import request_headers
from clerk_async.auth._types import RequestState
from clerk_async.sync import Clerk as SyncClerk

if TYPE_CHECKING:
    from clerk_async.auth._verifier import VerifyOptions
    from clerk_async.client import Clerk

__all__ = ["SyncAuthenticator"]


class SyncAuthenticator:
    """One ``Clerk`` per process for a sync framework, and how to verify with it.

    ``options`` are ``Clerk(...)``'s keywords (``secret_key``, ``jwt_key``, ``base_url``...;
    unset ones come from ``CLERK_SECRET_KEY``, ``CLERK_JWT_KEY``, ``CLERK_API_URL``). The
    client is made now, so that a bad configuration fails at start-up, and again in a
    forked child (gunicorn's workers), whose parent's loop thread did not survive the fork.
    Safe to use from many threads at once.
    """

    def __init__(self, **options: Any) -> None:
        self.sync_client = SyncClerk(**options)

    def __repr__(self) -> str:
        return f"<SyncAuthenticator {self.sync_client!r}>"

    @property
    def clerk(self) -> Clerk:
        """This process's async client. Its I/O runs on the private loop only."""
        return self.sync_client._current()

    def authenticate(
        self, request_or_headers: Any, options: VerifyOptions | Requirement
    ) -> RequestState:
        """Authenticate a request in sync code (never raises for a bad token)."""
        clerk = self.clerk
        headers = request_headers(request_or_headers)
        verify = options.options if isinstance(options, Requirement) else options
        state = clerk._authenticator.authenticate_now(headers, verify)
        if state is None:  # it takes a request to Clerk
            state = self.sync_client._run(clerk._authenticator.authenticate(headers, verify))
        return state

    async def authenticate_async(
        self, request_or_headers: Any, options: VerifyOptions | Requirement
    ) -> RequestState:
        """The same from a coroutine in any loop (Django's async views): I/O is awaited."""
        clerk = self.clerk
        headers = request_headers(request_or_headers)
        verify = options.options if isinstance(options, Requirement) else options
        state = clerk._authenticator.authenticate_now(headers, verify)
        if state is None:
            runner = self.sync_client._runner()
            state = await runner.submit(clerk._authenticator.authenticate(headers, verify))
        return state

    def close(self) -> None:
        """Close the client and stop the loop thread (tests; a process exit needs nothing)."""
        self.sync_client.close()
