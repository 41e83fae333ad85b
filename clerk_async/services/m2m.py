"""``clerk.m2m``: the generated M2M token operations, and the runtime methods on top.

Creating a token must be authenticated with a machine secret key (``ak_...``); listing,
revoking and verifying accept it too, or else the instance secret key. The machine key
comes from the call's ``machine_secret_key=`` or else ``Clerk(machine_secret_key=...)``
(the overrides declare which operation needs which; the generated methods apply it).

A client given a machine key uses it for all four, on purpose: verifying with it accepts
only tokens granted to that machine, while the instance key would accept any valid token
of the instance. A service that needs the instance key's wider view of other machines'
tokens uses a client without ``machine_secret_key``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Literal

from clerk_async.m2m_source import DEFAULT_MIN_REMAINING, M2MTokenSource
from clerk_async.services.spec import m2m as spec

__all__ = ["M2M"]


class M2M(spec.M2M):
    """Create, list, revoke and verify machine-to-machine tokens.

    The four operations are generated (``clerk_async.services.spec.m2m``); methods the
    spec cannot describe (a token source that refreshes itself) are written here.
    """

    __slots__ = ()

    def token_source(
        self,
        *,
        machine_secret_key: str | None = None,
        token_format: Literal["jwt", "opaque"] = "jwt",
        seconds_until_expiration: float | None = None,
        claims: Any = None,
        min_remaining: float = DEFAULT_MIN_REMAINING,
        clock: Callable[[], float] = time.time,
    ) -> M2MTokenSource:
        """A source of this machine's tokens that mints only when the held one has less
        than ``min_remaining`` seconds left: ``await source.token()``.

        ``token_format`` defaults to ``"jwt"``: Clerk charges a JWT only when created, as
        the receiver verifies it without a call. Hand-written (not generated); see
        ``clerk_async.m2m_source``.
        """
        return M2MTokenSource(
            self,
            machine_secret_key=machine_secret_key,
            token_format=token_format,
            seconds_until_expiration=seconds_until_expiration,
            claims=claims,
            min_remaining=min_remaining,
            clock=clock,
        )
