"""What every integration answers: a request's RequestState against a route's requirement.

One rule for FastAPI's ``require_auth`` and the Django, Flask, Litestar, aiohttp and ASGI
integrations, so that they all answer alike:

- no token, or an invalid, expired or wrong-type one: **401** with
  ``WWW-Authenticate: Bearer error="invalid_token"`` and ``{"detail": "Unauthorized"}``;
  nothing about the token or why it failed (the reason is logged at DEBUG);
- a valid token without the ``scopes``, or failing the ``has()`` check (``role``,
  ``permission``, ``feature``, ``plan``, ``reverification``): **403**,
  ``error="insufficient_scope"``;
- Clerk unreachable (opaque tokens, the JWKS): **503**; a bad secret key or no key to
  verify with: **500** (the service's fault, not the caller's: no 401 that would send the
  caller for a new token).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from clerk_async.auth._authorization import REVERIFICATION_PRESETS
from clerk_async.auth._types import AcceptsToken, Auth, RequestState, Reverification
from clerk_async.auth._verifier import VerifyOptions, verify_options
from clerk_async.errors import ClerkConfigError

__all__ = [
    "SERVER_FAULTS",
    "UNAUTHORIZED",
    "UNAUTHORIZED_CHALLENGE",
    "Denial",
    "Requirement",
    "requirement",
]

log = logging.getLogger("clerk_async.auth")

# Reasons that are this service's or Clerk's fault, not the caller's.
SERVER_FAULTS = {
    "jwk-failed-to-resolve": 500,
    "secret-key-invalid": 500,
    "secret-key-missing": 500,
    "jwk-remote-failed-to-load": 503,
    "token-verification-throttled": 503,
    "unexpected-error": 503,
}
# Missing or invalid alike: one challenge, so the answer tells a prober nothing more (RFC 6750
# would allow a bare "Bearer" for a missing token; clients treat both as "get a token").
UNAUTHORIZED_CHALLENGE = 'Bearer error="invalid_token"'


@attrs.frozen
class Denial:
    """An HTTP answer refusing the request: ``status``, a JSON ``body``, ``headers``."""

    status: int
    detail: str
    headers: Mapping[str, str] = attrs.field(factory=dict)

    @property
    def body(self) -> dict[str, str]:
        return {"detail": self.detail}


UNAUTHORIZED = Denial(401, "Unauthorized", {"WWW-Authenticate": UNAUTHORIZED_CHALLENGE})
_UNAVAILABLE = {
    status: Denial(status, "Authentication is unavailable")
    for status in set(SERVER_FAULTS.values())
}


@attrs.frozen
class Requirement:
    """What a route demands of a request: the token types and what it must be allowed."""

    options: VerifyOptions
    scopes: tuple[str, ...] = ()
    checks: Mapping[str, Any] = attrs.field(factory=dict)  # has()'s keywords
    forbidden: Denial = Denial(403, "Forbidden")

    def deny(self, state: RequestState, where: str = "") -> Denial | None:
        """None when ``state`` meets the requirement, else the answer to give."""
        auth = state.auth
        if auth is None:
            reason = state.reason or ""
            status = SERVER_FAULTS.get(reason)
            if status is not None:
                log.warning("%s: cannot authenticate requests (%s)", where, reason)
                return _UNAVAILABLE[status]
            log.debug("%s: not authenticated (%s)", where, reason)
            return UNAUTHORIZED
        if auth.token_type not in self.options.accepts:
            # Verified upstream (a middleware accepting more) but not a kind this route takes.
            log.debug("%s: %s not accepted here", where, auth.token_type)
            return UNAUTHORIZED
        if not self.allows(auth):
            log.debug("%s: %s not allowed", where, auth.token_type)
            return self.forbidden
        return None

    def allows(self, auth: Auth) -> bool:
        if self.scopes:
            granted = getattr(auth, "scopes", ())
            if not all(scope in granted for scope in self.scopes):
                return False
        return not self.checks or auth.has(**self.checks)


def requirement(
    accepts_token: AcceptsToken = "session_token",
    scopes: str | Iterable[str] | None = None,
    *,
    role: str | None = None,
    permission: str | None = None,
    feature: str | None = None,
    plan: str | None = None,
    reverification: Reverification | None = None,
    authorized_parties: str | Iterable[str] | None = None,
    audience: str | Iterable[str] | None = None,
    clock_skew: float = 5.0,
) -> Requirement:
    """Check a route's requirement when the app is defined (``ClerkConfigError``)."""
    options = verify_options(accepts_token, authorized_parties, audience, clock_skew)
    required = sorted({scopes} if isinstance(scopes, str) else set(scopes or ()))
    if not all(isinstance(s, str) and s for s in required):
        raise ClerkConfigError(
            "scopes", f"must be a str or a list of non-empty str, got {scopes!r}"
        )
    checks: dict[str, Any] = {}
    for name, value in (
        ("role", role),
        ("permission", permission),
        ("feature", feature),
        ("plan", plan),
    ):
        if value is None:
            continue
        if not isinstance(value, str) or not value.strip(":"):
            raise ClerkConfigError(name, f"must be a non-empty str, got {value!r}")
        checks[name] = value
    if reverification is not None:
        if not _valid_reverification(reverification):
            raise ClerkConfigError(
                "reverification",
                f"must be one of {', '.join(REVERIFICATION_PRESETS)} or "
                f'{{"level": ..., "after_minutes": ...}}, got {reverification!r}',
            )
        checks["reverification"] = reverification
    challenge = 'Bearer error="insufficient_scope"'
    if required:
        challenge += ', scope="' + " ".join(required) + '"'
    return Requirement(
        options,
        tuple(required),
        checks,
        Denial(403, "Forbidden", {"WWW-Authenticate": challenge}),
    )


def _valid_reverification(value: Any) -> bool:
    if isinstance(value, str):
        return value in REVERIFICATION_PRESETS
    if not isinstance(value, Mapping):
        return False
    after = value.get("after_minutes", value.get("afterMinutes"))
    return (
        value.get("level") in ("first_factor", "second_factor", "multi_factor")
        and isinstance(after, (int, float))
        and not isinstance(after, bool)
        and after > 0
    )
