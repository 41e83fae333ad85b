"""Clerk's signing keys: the PEM of ``jwt_key``, and the JWKS cache with its refresh rules.

Keys are parsed once into ``cryptography`` RSA key objects: when a key is fetched, or
when ``Clerk(jwt_key=...)`` is built. Only RSA keys of 2048 to 8192 bits with a small odd
public exponent, meant for RS256 signatures, are kept: Clerk signs with nothing else, and a
bigger key would make every verification slow (a key set is not trusted to be sane). A key
set of more than a few keys is parsed in a thread, off the event loop.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

try:
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey, RSAPublicNumbers
    from cryptography.hazmat.primitives.serialization import load_pem_public_key
except ImportError as exc:  # pragma: no cover - exercised in a subprocess
    raise ImportError(
        "verifying Clerk tokens needs the 'auth' extra: pip install 'clerk-async[auth]'"
    ) from exc

from clerk_async.auth._types import TokenVerificationError
from clerk_async.errors import ClerkConfigError

__all__ = [
    "MAX_KEY_BITS",
    "MIN_KEY_BITS",
    "JWKSCache",
    "RSAPublicKey",
    "parse_jwks",
    "parse_pem",
]

log = logging.getLogger("clerk_async.auth")

MIN_KEY_BITS = 2048
MAX_KEY_BITS = 8192
MAX_EXPONENT = 2**31 - 1  # Go's crypto/rsa bound; Clerk's is 65537
MAX_JWKS_KEYS = 100  # the RSA keys of one set that are parsed; Clerk publishes one or two
PARSE_INLINE = 4  # key sets up to this size are parsed on the loop (a few µs each)
# The longest base64 text of an 8192-bit modulus (1024 bytes), and of an exponent below 2**32.
_MAX_N_TEXT = 1368
_MAX_E_TEXT = 8
# JS keeps fetched keys 5 minutes. A kid we do not know triggers a refresh, but at most
# one JWKS request starts per REFRESH_INTERVAL, whatever the tokens say: a flood of
# tokens with random kids costs one request per interval, not one per token.
CACHE_TTL = 300.0
REFRESH_INTERVAL = 5.0


def parse_pem(pem: str) -> RSAPublicKey:
    """The RSA public key of a PEM (SPKI) string, as the Dashboard's "JWKS Public Key" shows.

    Accepts the literal ``\\n`` escapes of an environment variable and a bare base64 body.
    """
    if not isinstance(pem, str) or not pem.strip():
        raise ClerkConfigError("jwt_key", "must be a PEM public key (a non-empty string)")
    text = pem.strip().replace("\\n", "\n")
    if "-----BEGIN" not in text:
        body = "".join(text.split())
        lines = [body[i : i + 64] for i in range(0, len(body), 64)]
        text = "\n".join(["-----BEGIN PUBLIC KEY-----", *lines, "-----END PUBLIC KEY-----"])
    try:
        key = load_pem_public_key(text.encode())
    except (ValueError, UnsupportedAlgorithm):
        raise ClerkConfigError("jwt_key", "is not a PEM public key") from None
    if not isinstance(key, RSAPublicKey):
        raise ClerkConfigError("jwt_key", "must be an RSA public key (Clerk signs with RS256)")
    if key.key_size < MIN_KEY_BITS:
        raise ClerkConfigError("jwt_key", f"RSA keys need at least {MIN_KEY_BITS} bits")
    if key.key_size > MAX_KEY_BITS:
        raise ClerkConfigError("jwt_key", f"RSA keys of more than {MAX_KEY_BITS} bits are refused")
    if not _usable_exponent(key.public_numbers().e):
        raise ClerkConfigError("jwt_key", "the RSA public exponent must be odd and small")
    return key


def _usable_exponent(e: int) -> bool:
    return 3 <= e <= MAX_EXPONENT and e % 2 == 1


def _b64_int(value: Any, longest: int) -> int | None:
    if not isinstance(value, str) or not value or len(value) > longest:
        return None
    try:
        return int.from_bytes(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)), "big")
    except (ValueError, binascii.Error):
        return None


def parse_jwks(
    keys: Iterable[Any], known: Mapping[str, tuple[int, int, RSAPublicKey]] | None = None
) -> dict[str, tuple[int, int, RSAPublicKey]]:
    """The usable keys of a JWKS by ``kid``: ``(n, e, key)``; others are skipped.

    A key already in ``known`` with the same ``n`` and ``e`` is reused, not parsed again.
    """
    known = known or {}
    usable: dict[str, tuple[int, int, RSAPublicKey]] = {}
    candidates = 0
    for jwk in keys:
        if not isinstance(jwk, dict) or jwk.get("kty") != "RSA":
            continue
        kid = jwk.get("kid")
        if not isinstance(kid, str) or jwk.get("alg", "RS256") != "RS256":
            continue
        if jwk.get("use", "sig") != "sig":
            continue
        candidates += 1
        if candidates > MAX_JWKS_KEYS:
            log.warning("the JWKS holds more than %d RSA keys; the rest are ignored", MAX_JWKS_KEYS)
            break
        n, e = _b64_int(jwk.get("n"), _MAX_N_TEXT), _b64_int(jwk.get("e"), _MAX_E_TEXT)
        if n is None or e is None:
            continue
        if not MIN_KEY_BITS <= n.bit_length() <= MAX_KEY_BITS or not _usable_exponent(e):
            continue
        previous = known.get(kid)
        if previous is not None and previous[:2] == (n, e):
            usable[kid] = previous
            continue
        try:
            usable[kid] = (n, e, RSAPublicNumbers(e, n).public_key())
        except ValueError:
            continue
    return usable


class JWKSCache:
    """One client's JWKS: fetched on first use, kept ``ttl`` seconds, refreshed on an unknown kid.

    - Concurrent misses share one fetch (the first starts it, the others await it).
    - A fetch starts at most once per ``refresh_interval`` seconds: inside it, an unknown
      kid is refused at once (``jwk-kid-mismatch``) and a failed fetch's error is repeated.
    - A refresh replaces the keys (a key Clerk dropped stops verifying). A refresh that
      fails keeps the keys we had, so a Clerk outage does not sign every user out; and a
      key past its ``ttl`` serves while its refresh runs, so a slow Clerk holds no request.

    ``fetch`` returns the JWKS's ``keys`` list or raises ``TokenVerificationError``.
    ``clock`` is monotonic seconds (tests drive a fake one).
    """

    def __init__(
        self,
        fetch: Callable[[], Awaitable[list[Any]]],
        *,
        clock: Callable[[], float] = time.monotonic,
        ttl: float = CACHE_TTL,
        refresh_interval: float = REFRESH_INTERVAL,
    ) -> None:
        self._fetch = fetch
        self.clock = clock
        self.ttl = ttl
        self.refresh_interval = refresh_interval
        self._keys: dict[str, tuple[int, int, RSAPublicKey]] = {}
        self._fetched_at: float | None = None  # of the last successful fetch
        self._started_at: float | None = None  # of the last fetch, whatever its outcome
        self._error: TokenVerificationError | None = None  # of the last fetch, if it failed
        self._inflight: asyncio.Task[None] | None = None
        self.fetches = 0  # JWKS requests started, for tests and benchmarks

    def __repr__(self) -> str:
        return f"<JWKSCache kids={sorted(self._keys)} fetches={self.fetches}>"

    def cached(self, kid: str) -> RSAPublicKey | None:
        """The key for ``kid`` if it is cached and fresh: the no-await fast path."""
        entry = self._keys.get(kid)
        fetched_at = self._fetched_at
        if entry is None or fetched_at is None or self.clock() - fetched_at >= self.ttl:
            return None
        return entry[2]

    async def get(self, kid: str, stale: RSAPublicKey | None = None) -> RSAPublicKey:
        """The key for ``kid``, fetching the JWKS if needed (and allowed by the throttle).

        ``stale``: a key that just failed to verify a signature under this kid. Clerk's
        kid is the instance id, so a rotated key keeps its kid: a refresh is the only way
        to see it. The answer is ``stale`` itself when nothing newer could be had.
        """
        key = self.cached(kid)
        if key is not None and key is not stale:
            return key
        task = self._inflight
        if task is None:
            started = self._started_at
            if started is not None and self.clock() - started < self.refresh_interval:
                return self._known(kid)  # too soon to ask Clerk again
            self._started_at = self.clock()
            self.fetches += 1
            task = self._inflight = asyncio.ensure_future(self._refresh())
        entry = self._keys.get(kid)
        if entry is not None and stale is None:
            # Only past its time: it serves while the refresh runs, so a Clerk that hangs
            # costs no request the transport's whole deadline.
            return entry[2]
        # Shielded: a caller cancelled while waiting must not cancel the others' fetch.
        await asyncio.shield(task)
        return self._known(kid)

    def _known(self, kid: str) -> RSAPublicKey:
        entry = self._keys.get(kid)
        if entry is not None:
            return entry[2]
        error = self._error
        if error is not None:  # a fresh instance: a shared one would pile up tracebacks
            raise TokenVerificationError(error.reason, error.message)
        raise TokenVerificationError(
            "jwk-kid-mismatch",
            f"Unable to find a signing key in the JWKS that matches the kid {kid!r} of the "
            "token. Make sure the token was issued by this Clerk instance.",
        )

    async def _refresh(self) -> None:
        # Never raises (it may run with nobody awaiting it): the outcome is read from the
        # cache by every waiter. A failure other than Clerk's answer (the client closed
        # under it) is kept as a failed fetch too.
        try:
            fetched = await self._fetch()
            if len(fetched) <= PARSE_INLINE:
                keys = parse_jwks(fetched, self._keys)
            else:  # big integers and key objects: milliseconds each, not on the loop
                keys = await asyncio.to_thread(parse_jwks, fetched, self._keys)
            if not keys:
                raise TokenVerificationError(
                    "jwk-remote-failed-to-load",
                    "The JWKS endpoint did not contain any RS256 signing keys.",
                )
        except TokenVerificationError as exc:
            self._error = exc
            if self._keys:
                log.warning("JWKS refresh failed (%s); keeping the cached keys", exc.reason)
        except Exception as exc:
            self._error = TokenVerificationError(
                "jwk-remote-failed-to-load", f"Error loading the JWKS: {type(exc).__name__}."
            )
        else:
            self._keys = keys
            self._fetched_at = self.clock()
            self._error = None
        finally:
            self._inflight = None
