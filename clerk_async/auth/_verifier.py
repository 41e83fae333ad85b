"""The Authenticator behind ``Clerk.verify_token`` and ``Clerk.authenticate_request``.

JWTs (session, M2M and OAuth) are verified here, networkless with ``jwt_key`` or with
the instance's JWKS (``clerk.jwks.get_jwks``, cached by ``JWKSCache``). Opaque tokens
(``mt_``, ``ak_``, ``oat_``) are sent to their Backend API verify operation
(``clerk.m2m.verify_token``, ``clerk.api_keys.verify``, ``clerk.oauth_access_tokens.verify``).
Everything goes through the client's public operations, with per-call deadlines of its own.

Anyone can send a request with a made-up opaque token, and each costs a Backend API call
through the app's own rate limit. So opaque verifications have their own budget (a share of
the client's limit: past it they are refused at once, never queued before the app's own
calls), concurrent verifications of one token share one call, and a token Clerk refused is
refused again without a call for ``REFUSED_TTL`` seconds.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

import attrs

try:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding
except ImportError as exc:  # pragma: no cover - exercised in a subprocess
    raise ImportError(
        "verifying Clerk tokens needs the 'auth' extra: pip install 'clerk-async[auth]'"
    ) from exc

from clerk_async._ratelimit import PRODUCTION
from clerk_async.auth import _jwt
from clerk_async.auth._keys import JWKSCache, RSAPublicKey
from clerk_async.auth._request import request_headers
from clerk_async.auth._types import (
    TOKEN_TYPES,
    APIKeyAuth,
    Auth,
    M2MAuth,
    OAuthAuth,
    RequestState,
    TokenType,
    TokenVerificationError,
)
from clerk_async.errors import (
    ClerkAPIError,
    ClerkConfigError,
    ClerkError,
    ClerkValidationError,
)
from clerk_async.models.spec import JWKSRsaPublicKey, VerifyOAuthAccessTokenResponse1

if TYPE_CHECKING:
    from clerk_async.client import Clerk

__all__ = [
    "DEFAULT_CLOCK_SKEW",
    "Authenticator",
    "VerifyOptions",
    "options_for",
    "verify_options",
]

DEFAULT_CLOCK_SKEW = 5.0  # seconds, as JS (and as Clerk sets nbf)
MAX_CLOCK_SKEW = 3600.0
_PKCS1 = padding.PKCS1v15()
_SHA256 = hashes.SHA256()
_MAX_KID_LENGTH = 256
# A JWKS fetch has a deadline of its own, far below a call's default: while it runs, every
# token with a kid we do not know waits for it.
JWKS_DEADLINE = 5.0
# One opaque verification, its retries included: a request waits on it.
OPAQUE_DEADLINE = 10.0
# Opaque verifications may start at most this share of the client's rate limit per window
# (of Clerk's production limit when the client does not pace itself).
OPAQUE_SHARE = 0.25
# A token Clerk refused (not found, revoked, expired) is refused again without a call for
# this long; at most REFUSED_MAX of them are remembered (by hash, never the token).
REFUSED_TTL = 30.0
REFUSED_MAX = 10_000


@attrs.frozen
class VerifyOptions:
    """The checked options of one kind of verification (build with ``verify_options``)."""

    accepts: frozenset[TokenType]
    single: TokenType | None  # the accepted type when only one was named
    authorized_parties: frozenset[str] | None
    audience: frozenset[str] | None
    clock_skew: float


def _names(field: str, value: str | Iterable[str] | None) -> frozenset[str] | None:
    """A str or a sequence of str; empty entries dropped (JS), None when nothing is left."""
    if value is None:
        return None
    items = [value] if isinstance(value, str) else value
    try:
        names = list(items)
    except TypeError:
        raise ClerkValidationError(
            field, f"must be a str or a list of str, got {value!r}"
        ) from None
    if not all(isinstance(v, str) for v in names):
        raise ClerkValidationError(field, f"must be a str or a list of str, got {value!r}")
    return frozenset(v for v in names if v) or None


def verify_options(
    accepts_token: str | Iterable[str] = "session_token",
    authorized_parties: str | Iterable[str] | None = None,
    audience: str | Iterable[str] | None = None,
    clock_skew: float = DEFAULT_CLOCK_SKEW,
) -> VerifyOptions:
    """Check the options of ``verify_token``; ClerkValidationError names the bad one."""
    if isinstance(clock_skew, bool) or not isinstance(clock_skew, (int, float)):
        raise ClerkValidationError("clock_skew", f"must be a number of seconds, got {clock_skew!r}")
    if not (math.isfinite(clock_skew) and 0 <= clock_skew <= MAX_CLOCK_SKEW):
        raise ClerkValidationError(
            "clock_skew", f"must be between 0 and {MAX_CLOCK_SKEW:g} seconds, got {clock_skew!r}"
        )
    single: TokenType | None = None
    if accepts_token == "any":
        accepts = frozenset(TOKEN_TYPES)
    else:
        given = _names("accepts_token", accepts_token) or frozenset()
        unknown = sorted(given.difference(TOKEN_TYPES))
        if unknown or not given:
            raise ClerkValidationError(
                "accepts_token",
                f"must be one of {', '.join(TOKEN_TYPES)}, a list of them, or 'any'; "
                f"got {accepts_token!r}",
            )
        accepts = frozenset(t for t in TOKEN_TYPES if t in given)
        if isinstance(accepts_token, str):
            single = next(iter(accepts))
    return VerifyOptions(
        accepts,
        single,
        _names("authorized_parties", authorized_parties),
        _names("audience", audience),
        float(clock_skew),
    )


# The options of the common calls, built once.
_PRESET = {name: verify_options(name) for name in (*TOKEN_TYPES, "any")}


def options_for(
    accepts_token: str | Iterable[str],
    authorized_parties: str | Iterable[str] | None,
    audience: str | Iterable[str] | None,
    clock_skew: float,
) -> VerifyOptions:
    if (
        authorized_parties is None
        and audience is None
        and clock_skew == DEFAULT_CLOCK_SKEW
        and type(accepts_token) is str
        and accepts_token in _PRESET
    ):
        return _PRESET[accepts_token]
    return verify_options(accepts_token, authorized_parties, audience, clock_skew)


_OPAQUE_LABELS: dict[TokenType, str] = {
    "m2m_token": "Machine token",
    "api_key": "API key",
    "oauth_token": "OAuth token",
}


class Budget:
    """At most ``calls`` starts in any ``per_seconds`` window; past that, refused, never queued."""

    def __init__(
        self, calls: int, per_seconds: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.calls = calls
        self.per_seconds = per_seconds
        self.clock = clock
        self._starts: deque[float] = deque()

    def __repr__(self) -> str:
        return f"<Budget {self.calls} per {self.per_seconds:g} s>"

    def take(self) -> bool:
        now = self.clock()
        starts = self._starts
        while starts and starts[0] <= now - self.per_seconds:
            starts.popleft()
        if len(starts) >= self.calls:
            return False
        starts.append(now)
        return True


class Refusals:
    """Opaque tokens Clerk refused, by SHA-256, each for ``ttl`` seconds; at most ``size``."""

    def __init__(self, ttl: float, size: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.size = size
        self.clock = clock
        self._refused: OrderedDict[bytes, tuple[float, str, str]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._refused)

    def get(self, digest: bytes, kind: TokenType) -> TokenVerificationError | None:
        entry = self._refused.get(digest)
        if entry is None:
            return None
        until, reason, message = entry
        if self.clock() >= until:
            del self._refused[digest]
            return None
        return TokenVerificationError(reason, message, kind)

    def add(self, digest: bytes, error: TokenVerificationError) -> None:
        refused = self._refused
        refused[digest] = (self.clock() + self.ttl, error.reason, error.message)
        refused.move_to_end(digest)
        while len(refused) > self.size:
            refused.popitem(last=False)  # the oldest first


class Authenticator:
    """Verifies tokens for one client. ``now`` (Unix seconds) is read per verification."""

    # The clients reach these through the authenticator they already hold: an import
    # statement in each call costs ~0.8 µs even when the module is loaded (timeit).
    options = staticmethod(options_for)
    request_headers = staticmethod(request_headers)

    def __init__(self, clerk: Clerk, jwt_key: RSAPublicKey | None) -> None:
        self._clerk = clerk
        self._jwt_key = jwt_key
        self.now = time.time
        self.jwks = JWKSCache(self._fetch_jwks)
        limit = clerk.rate_limit or PRODUCTION
        self.opaque_budget = Budget(max(1, int(limit.requests * OPAQUE_SHARE)), limit.per_seconds)
        self.refused = Refusals(REFUSED_TTL, REFUSED_MAX)
        self._opaque: dict[bytes, asyncio.Task[Auth]] = {}  # verifications in flight

    def __repr__(self) -> str:
        source = "jwt_key" if self._jwt_key is not None else repr(self.jwks)
        return f"<Authenticator {source}>"

    async def verify(self, token: str, options: VerifyOptions) -> Auth:
        kind, decoded = self._classify(token, options)
        if decoded is None:
            return await self._verify_opaque(kind, token)
        try:
            kid = self._check_header(kind, decoded.header)
            # A key at hand (jwt_key, or the JWKS cached) is checked without an await; the
            # JWKS path is taken only for a key we lack or that failed.
            key = self._jwt_key
            if key is None and kid is not None:
                key = self.jwks.cached(kid)
            if key is None or not _signed_by(key, decoded):
                await self._check_with_remote_keys(kind, decoded, kid, key)
            return self._accept(kind, decoded.payload, options)
        except TokenVerificationError as exc:
            if exc.token_type is None:
                exc.token_type = kind
            raise

    def verify_now(self, token: str, options: VerifyOptions) -> Auth | None:
        """``verify`` without I/O, for sync code: None when it takes a request.

        A JWT whose key is at hand (``jwt_key``, or the JWKS cached and fresh) is verified
        here, in the caller's thread; an opaque token, a key not cached, or a signature the
        cached key refuses (the key may have been rotated) need ``verify``. What this
        raises, ``verify`` would raise too.
        """
        kind, decoded = self._classify(token, options)
        if decoded is None:
            return None
        try:
            kid = self._check_header(kind, decoded.header)
            key = self._jwt_key
            if key is not None:
                _check_signature(key, decoded, kind)
            else:
                assert kid is not None  # _check_header gives one when there is no jwt_key
                key = self.jwks.cached(kid)
                if key is None or not _signed_by(key, decoded):
                    return None
            return self._accept(kind, decoded.payload, options)
        except TokenVerificationError as exc:
            if exc.token_type is None:
                exc.token_type = kind
            raise

    def _classify(
        self, token: str, options: VerifyOptions
    ) -> tuple[TokenType, _jwt.Decoded | None]:
        if not isinstance(token, str):
            raise ClerkValidationError("token", f"must be a str, got {type(token).__name__}")
        kind, decoded = _jwt.classify(token)
        if kind not in options.accepts:
            raise TokenVerificationError(
                "token-type-mismatch",
                f"This {kind} is not accepted here "
                f"(accepted: {', '.join(sorted(options.accepts))}).",
                kind,
            )
        return kind, decoded

    def _check_header(self, kind: TokenType, header: dict[str, Any]) -> str | None:
        """Categories, types and algorithm; the ``kid`` to look up (None with ``jwt_key``).

        First of all: a token of the wrong class costs no key and no request.
        """
        if kind == "session_token":
            if _jwt.non_session_category(header):
                raise TokenVerificationError(
                    "token-type-mismatch",
                    f"A JWT of category {_jwt.shown(header.get('cat'))} is not a session token.",
                    kind,
                )
            _jwt.check_header_type(header, _jwt.JWT_TYPES, kind)
        elif kind == "m2m_token":
            cat = header.get("cat")
            if cat is not None and cat != _jwt.CATEGORY_M2M:
                raise TokenVerificationError("token-invalid", "Invalid M2M JWT category.", kind)
            _jwt.check_header_type(header, _jwt.JWT_TYPES, kind)
        else:
            _jwt.check_header_type(header, _jwt.OAUTH_TYPES, kind)
        alg = header.get("alg")
        if alg != "RS256":
            raise TokenVerificationError(
                "token-invalid-algorithm",
                f"Invalid JWT algorithm {_jwt.shown(alg)}. Supported: 'RS256'.",
                kind,
            )
        if self._jwt_key is not None:
            return None
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid or len(kid) > _MAX_KID_LENGTH:
            raise TokenVerificationError(
                "jwk-kid-mismatch", "The token's header has no usable kid.", kind
            )
        return kid

    async def _check_with_remote_keys(
        self,
        kind: TokenType,
        decoded: _jwt.Decoded,
        kid: str | None,
        tried: RSAPublicKey | None,
    ) -> None:
        """The signature under the JWKS's key for ``kid``: fetched if we have none, and
        refreshed once if ``tried`` failed (a rotated key keeps its kid). The refresh
        throttle bounds what a flood of forged signatures costs."""
        if kid is None:  # jwt_key, the only key, refused the signature
            raise _invalid_signature(kind)
        if tried is None:
            tried = await self._remote_key(kid)
            if _signed_by(tried, decoded):
                return
        fresh = await self.jwks.get(kid, stale=tried)
        if fresh is tried or not _signed_by(fresh, decoded):
            raise _invalid_signature(kind)

    def _accept(self, kind: TokenType, payload: dict[str, Any], options: VerifyOptions) -> Auth:
        """The claims checked (the signature was), and the auth object they make."""
        _jwt.check_claims(
            payload,
            kind,
            now=self.now(),
            clock_skew=options.clock_skew,
            audience=options.audience,
            authorized_parties=options.authorized_parties,
        )
        if kind == "session_token":
            return _jwt.session_auth(payload)
        if kind == "m2m_token":
            return _jwt.m2m_auth(payload)
        return _jwt.oauth_auth(payload)

    async def _remote_key(self, kid: str) -> RSAPublicKey:
        if not self._clerk.has_secret_key:
            raise TokenVerificationError(
                "jwk-failed-to-resolve",
                "Failed to resolve the JWK: set jwt_key (CLERK_JWT_KEY) to verify networkless, "
                "or secret_key (CLERK_SECRET_KEY) to fetch the JWKS.",
            )
        return await self.jwks.get(kid)

    async def _fetch_jwks(self) -> list[Any]:
        try:
            jwks = await self._clerk.jwks.get_jwks(deadline=JWKS_DEADLINE)
        except ClerkAPIError as exc:
            if exc.status == 401:
                raise TokenVerificationError(
                    "secret-key-invalid", "Clerk refused the secret key when asked for the JWKS."
                ) from None
            raise TokenVerificationError(
                "jwk-remote-failed-to-load", f"Error loading the JWKS: status {exc.status}."
            ) from None
        except ClerkError as exc:  # unreachable, too slow, not a JWKS
            raise TokenVerificationError(
                "jwk-remote-failed-to-load", f"Error loading the JWKS: {type(exc).__name__}."
            ) from None
        return [
            {"kty": k.kty, "kid": k.kid, "alg": k.alg, "use": k.use, "n": k.n, "e": k.e}
            for k in jwks.keys or ()
            if isinstance(k, JWKSRsaPublicKey)
        ]

    async def _verify_opaque(self, kind: TokenType, token: str) -> Auth:
        digest = hashlib.sha256(token.encode()).digest()
        refused = self.refused.get(digest, kind)
        if refused is not None:
            raise refused
        task = self._opaque.get(digest)
        if task is None:
            if not self.opaque_budget.take():
                raise TokenVerificationError(
                    "token-verification-throttled",
                    f"More than {self.opaque_budget.calls} opaque token verifications in "
                    f"{self.opaque_budget.per_seconds:g} s: refused, so that the app's own "
                    "calls keep their share of the rate limit.",
                    kind,
                )
            task = asyncio.ensure_future(self._ask_clerk(kind, token, digest))
            self._opaque[digest] = task
            task.add_done_callback(lambda done: self._verified(digest, done))
        try:
            # Shielded: a caller cancelled must not cancel the call others wait on.
            return await asyncio.shield(task)
        except TokenVerificationError as exc:  # a fresh one per waiter: no shared traceback
            raise TokenVerificationError(exc.reason, exc.message, exc.token_type) from None

    def _verified(self, digest: bytes, task: asyncio.Task[Auth]) -> None:
        if self._opaque.get(digest) is task:
            del self._opaque[digest]
        if not task.cancelled():
            task.exception()  # retrieved, even when every waiter was cancelled

    async def _ask_clerk(self, kind: TokenType, token: str, digest: bytes) -> Auth:
        try:
            return await self._opaque_auth(kind, token)
        except TokenVerificationError as exc:
            if exc.reason in ("token-invalid", "token-expired"):  # Clerk's answer: it holds
                self.refused.add(digest, exc)
            raise

    async def _opaque_auth(self, kind: TokenType, token: str) -> Auth:
        clerk = self._clerk
        label = _OPAQUE_LABELS[kind]
        try:
            if kind == "m2m_token":
                m2m = await clerk.m2m.verify_token(token, deadline=OPAQUE_DEADLINE)
                _check_usable(kind, label, m2m.revoked, m2m.expired)
                return M2MAuth(
                    machine_id=m2m.subject,
                    token_id=m2m.id,
                    scopes=list(m2m.scopes or ()),  # the spec does not require them
                    claims=m2m.claims if isinstance(m2m.claims, dict) else {},
                )
            if kind == "api_key":
                key = await clerk.api_keys.verify(token, deadline=OPAQUE_DEADLINE)
                _check_usable(kind, label, key.revoked, key.expired)
                return APIKeyAuth(
                    id=key.id,
                    subject=key.subject,
                    name=key.name,
                    scopes=list(key.scopes),
                    claims=key.claims if isinstance(key.claims, dict) else {},
                )
            oat = await clerk.oauth_access_tokens.verify(
                access_token=token, deadline=OPAQUE_DEADLINE
            )
        except ClerkAPIError as exc:
            if exc.status == 401:
                raise TokenVerificationError(
                    "secret-key-invalid", "Clerk refused the secret key.", kind
                ) from None
            if exc.status in (400, 404, 422):
                raise TokenVerificationError("token-invalid", f"{label} not found.", kind) from None
            raise TokenVerificationError(
                "unexpected-error", f"Unexpected error (status {exc.status}).", kind
            ) from None
        except ClerkConfigError:
            raise  # no secret key: the service's configuration, not the token
        except ClerkError as exc:  # unreachable, too slow, an answer of the wrong shape
            raise TokenVerificationError(
                "unexpected-error", f"Unexpected error: {type(exc).__name__}.", kind
            ) from None
        if isinstance(oat, VerifyOAuthAccessTokenResponse1):
            raise TokenVerificationError("token-expired", f"{label} is not active.", kind)
        _check_usable(kind, label, oat.revoked, oat.expired)
        return OAuthAuth(
            user_id=oat.subject, client_id=oat.client_id, scopes=list(oat.scopes), token_id=oat.id
        )

    async def authenticate(
        self, headers: Mapping[str, str], options: VerifyOptions
    ) -> RequestState:
        """The token of ``Authorization: Bearer``, else of the ``__session`` cookie, verified."""
        found = self._request_token(headers, options)
        if isinstance(found, RequestState):
            return found
        token, options = found
        try:
            auth = await self.verify(token, options)
        except TokenVerificationError as exc:
            return _refused(exc, options)
        except ClerkConfigError as exc:  # an opaque token, and no secret key to verify it with
            return RequestState(
                is_authenticated=False, reason="secret-key-missing", message=str(exc)
            )
        return RequestState(is_authenticated=True, auth=auth, token_type=auth.token_type)

    def authenticate_now(
        self, headers: Mapping[str, str], options: VerifyOptions
    ) -> RequestState | None:
        """``authenticate`` without I/O (see ``verify_now``): None when it takes some."""
        found = self._request_token(headers, options)
        if isinstance(found, RequestState):
            return found
        token, options = found
        try:
            auth = self.verify_now(token, options)
        except TokenVerificationError as exc:
            return _refused(exc, options)
        if auth is None:
            return None
        return RequestState(is_authenticated=True, auth=auth, token_type=auth.token_type)

    def _request_token(
        self, headers: Mapping[str, str], options: VerifyOptions
    ) -> tuple[str, VerifyOptions] | RequestState:
        """The token to verify and the options for it, or the state of a request without one."""
        if type(headers) is not dict and not isinstance(headers, Mapping):  # (dict: no ABC)
            raise ClerkValidationError("headers", "must be a mapping of header names to values")
        token = _jwt.bearer_token(_text(_jwt.header_value(headers, "Authorization")))
        if token is not None:
            return token, options
        # Only session tokens travel in cookies (JS: machine tokens in the header only).
        if "session_token" not in options.accepts:
            return RequestState(
                is_authenticated=False, token_type=options.single, reason="No token in header"
            )
        token = _jwt.session_cookie(_text(_jwt.header_value(headers, "Cookie")))
        if token is None:
            return RequestState(
                is_authenticated=False,
                token_type="session_token",
                reason="session-token-missing",
                message="No token in the Authorization header or the __session cookie.",
            )
        if options.accepts != _PRESET["session_token"].accepts:
            options = attrs.evolve(options, accepts=_PRESET["session_token"].accepts)
        return token, options


def _text(value: object) -> str | None:
    """A header's value as text; bytes (a raw ASGI header) as Latin-1, as HTTP reads them."""
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("latin-1")
    return value if isinstance(value, str) else None


def _refused(exc: TokenVerificationError, options: VerifyOptions) -> RequestState:
    mismatch = exc.reason == "token-type-mismatch"
    return RequestState(
        is_authenticated=False,
        token_type=options.single if mismatch else exc.token_type,
        reason=exc.reason,
        message=exc.message,
    )


def _signed_by(key: RSAPublicKey, decoded: _jwt.Decoded) -> bool:
    try:
        key.verify(decoded.signature, decoded.signing_input, _PKCS1, _SHA256)
    except InvalidSignature:
        return False
    return True


def _invalid_signature(kind: TokenType) -> TokenVerificationError:
    return TokenVerificationError("token-invalid-signature", "JWT signature is invalid.", kind)


def _check_signature(key: RSAPublicKey, decoded: _jwt.Decoded, kind: TokenType) -> None:
    if not _signed_by(key, decoded):
        raise _invalid_signature(kind)


def _check_usable(kind: TokenType, label: str, revoked: bool, expired: bool) -> None:
    # Beyond JS, which takes any 2xx as valid: a 200 that says revoked or expired is not.
    if revoked:
        raise TokenVerificationError("token-invalid", f"{label} has been revoked.", kind)
    if expired:
        raise TokenVerificationError("token-expired", f"{label} has expired.", kind)
