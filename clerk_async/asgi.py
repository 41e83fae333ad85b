"""A pure ASGI middleware: every request's ``RequestState`` on its scope.

Works under any ASGI framework: Starlette, Litestar, Quart, Django under ASGI, FastAPI.:

    from clerk_async.asgi import ClerkMiddleware

    app = ClerkMiddleware(app)                    # annotate: scope["clerk_auth"]
    app = ClerkMiddleware(app, required=True)     # and answer 401 for a request without
    app = ClerkMiddleware(app, role="org:admin")  # ... or 403 for one that fails has()

The state is in ``scope["clerk_auth"]`` (``request.scope["clerk_auth"]`` in Starlette,
Litestar, Quart and Django's ``ASGIRequest``; ``auth_state`` reads it), the client
in ``scope["clerk"]``. The middleware makes its ``Clerk`` in the
server's loop on the first request (``clerk_options`` are ``Clerk(...)``'s keywords; unset
ones come from ``CLERK_SECRET_KEY``, ``CLERK_JWT_KEY``, ``CLERK_API_URL``) and closes it
when the server shuts down (the ASGI lifespan); a ``clerk=`` you pass stays yours.
Refusals answer as ``require_auth`` does: 401 ``WWW-Authenticate: Bearer
error="invalid_token"``, 403 ``insufficient_scope``, a JSON ``{"detail": ...}`` and nothing
about the token. WebSocket connections are authenticated too (their handshake's headers);
one that is refused is closed (code 1008) before the app sees it.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any

from clerk_async.auth._guard import Denial, Requirement, requirement
from clerk_async.auth._request import asgi_headers
from clerk_async.auth._types import AcceptsToken, RequestState, Reverification
from clerk_async.client import Clerk
from clerk_async.errors import ClientStateError

__all__ = ["SCOPE_CLERK", "SCOPE_STATE", "ClerkMiddleware", "auth_state", "denial_response"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

SCOPE_STATE = "clerk_auth"
SCOPE_CLERK = "clerk"


class ClerkMiddleware:
    """Authenticate every HTTP and WebSocket request; see the module's docstring.

    ``accepts_token``, ``authorized_parties``, ``audience``, ``clock_skew``: as
    ``Clerk.verify_token`` (session tokens by default). ``required``: answer 401 for
    a request that is not authenticated. ``scopes``, ``role``, ``permission``,
    ``feature``, ``plan``, ``reverification``: answer 403 for one that does not have
    them (and imply ``required``).
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        accepts_token: AcceptsToken = "session_token",
        required: bool = False,
        scopes: str | Iterable[str] | None = None,
        role: str | None = None,
        permission: str | None = None,
        feature: str | None = None,
        plan: str | None = None,
        reverification: Reverification | None = None,
        authorized_parties: str | Iterable[str] | None = None,
        audience: str | Iterable[str] | None = None,
        clock_skew: float = 5.0,
        clerk: Clerk | None = None,
        **clerk_options: Any,
    ) -> None:
        if clerk is not None and clerk_options:
            raise TypeError("pass either clerk= or Clerk(...)'s options, not both")
        self.app = app
        self.requirement: Requirement = requirement(
            accepts_token,
            scopes,
            role=role,
            permission=permission,
            feature=feature,
            plan=plan,
            reverification=reverification,
            authorized_parties=authorized_parties,
            audience=audience,
            clock_skew=clock_skew,
        )
        self.required = required or bool(scopes) or bool(self.requirement.checks)
        self._own = clerk is None
        # Made now, outside any loop: a bad configuration fails when the app is built.
        self._clerk = clerk if clerk is not None else Clerk(**clerk_options)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            await self.app(scope, receive, self._on_shutdown(send) if self._own else send)
            return
        if kind not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        clerk = self._clerk
        state = await clerk._authenticator.authenticate(
            asgi_headers(scope), self.requirement.options
        )
        scope[SCOPE_STATE] = state
        scope[SCOPE_CLERK] = clerk
        if self.required:
            denial = self.requirement.deny(state, scope.get("path", ""))
            if denial is not None:
                await _refuse(kind, denial, receive, send)
                return
        await self.app(scope, receive, send)

    def _on_shutdown(self, send: Send) -> Send:
        async def sending(message: Message) -> None:
            if message.get("type") == "lifespan.shutdown.complete":
                await self._clerk.aclose()
            await send(message)

        return sending


def auth_state(request_or_scope: Any) -> RequestState:
    """The ``RequestState`` that ``ClerkMiddleware`` put on a request's scope."""
    scope = getattr(request_or_scope, "scope", request_or_scope)
    state = scope.get(SCOPE_STATE) if isinstance(scope, MutableMapping) else None
    if not isinstance(state, RequestState):
        raise ClientStateError(
            "no Clerk auth state on this request: wrap the app in clerk_async.asgi.ClerkMiddleware"
        )
    return state


def denial_response(denial: Denial) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """A denial as ASGI's status, raw headers and body (JSON)."""
    body = json.dumps(denial.body).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        *(
            (name.lower().encode("latin-1"), value.encode("latin-1"))
            for name, value in denial.headers.items()
        ),
    ]
    return denial.status, headers, body


async def _refuse(kind: str, denial: Denial, receive: Receive, send: Send) -> None:
    if kind == "websocket":
        # Before the handshake is accepted: a close is the refusal (the ASGI spec maps it to
        # a 403 answer); 1008 is "policy violation".
        await send({"type": "websocket.close", "code": 1008})
        return
    status, headers, body = denial_response(denial)
    await send({"type": "http.response.start", "status": status, "headers": headers})
    # ``more_body`` is optional in the ASGI spec (False), but Quart 0.23's test client reads
    # ``message["more_body"]`` and raises KeyError without it: say it.
    await send({"type": "http.response.body", "body": body, "more_body": False})
