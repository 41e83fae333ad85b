"""Verifying Clerk's webhooks: the Standard Webhooks (Svix) symmetric scheme.

Clerk signs each delivery with HMAC-SHA256 over ``<svix-id>.<svix-timestamp>.<raw body>``,
keyed by the base64 part of the endpoint's ``whsec_...`` secret, and sends the base64
signature as ``v1,<signature>`` in ``svix-signature`` (several, space-separated, while a
secret rotates: any one valid is enough). A timestamp more than five minutes from now,
either way, is refused: an old delivery replayed is as bad as a forged one.

Written here rather than on the ``standardwebhooks`` package: it is about forty lines,
and that package raises ``ValueError``/``binascii.Error`` (not its own error) on a
malformed signature entry, stopping before a valid one that follows; it reads only the
``webhook-*`` header names, not Clerk's ``svix-*``; and it cannot bound the body.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import os
import re
import time
from collections.abc import Callable, Mapping
from typing import Any

from clerk_async import _json
from clerk_async._convert import converter, describe_structure_error
from clerk_async._observe import traced_sync, tracing
from clerk_async.errors import ClerkConfigError, ClerkError
from clerk_async.webhooks._events import EVENTS, WebhookEvent
from clerk_async.webhooks._replay import ReplayGuard

__all__ = [
    "DEFAULT_MAX_BODY_BYTES",
    "SIGNING_SECRET_ENV",
    "TOLERANCE_SECONDS",
    "WebhookVerificationError",
    "sign",
    "verify",
    "verify_once",
]

log = logging.getLogger("clerk_async.webhooks")

SIGNING_SECRET_ENV = "CLERK_WEBHOOK_SIGNING_SECRET"
TOLERANCE_SECONDS = 300
# Clerk's largest events (an email's HTML body, a user with many identities) are tens of
# kilobytes; a body far larger is refused before any hashing.
DEFAULT_MAX_BODY_BYTES = 1024 * 1024
HEADERS = ("svix-id", "svix-timestamp", "svix-signature")
# Seconds, as an integer's canonical text only: a header that could be written another way
# ("0" + T, T + ".9", " T ") with T's signature would make one delivery many.
_TIMESTAMP = re.compile(r"0|[1-9][0-9]{0,14}")


class WebhookVerificationError(ClerkError):
    """A webhook delivery was refused. ``reason`` is a fixed code, ``message`` says why in
    words; neither carries the secret, a signature or the body.

    Reasons: ``body-invalid`` (not bytes or text), ``body-too-large``, ``headers-invalid``
    (not a mapping, or a value that is not text), ``headers-missing``, ``timestamp-invalid``,
    ``timestamp-too-old``, ``timestamp-too-new``, ``signature-mismatch``, ``payload-invalid``
    (signed, but not an event, or not the shape of its type); with a replay guard,
    ``replayed`` and ``replay-check-unavailable``.
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"{message} (reason={reason})")
        self.reason = reason
        self.message = message

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.reason, self.message))


def _key(secret: str | None) -> bytes:
    """The HMAC key: the base64-decoded part of ``whsec_...`` (the prefix is optional)."""
    if secret is None:
        secret = os.environ.get(SIGNING_SECRET_ENV)
    if not secret:
        raise ClerkConfigError(
            "secret",
            f"no webhook signing secret: pass secret= or set {SIGNING_SECRET_ENV} to the "
            "endpoint's signing secret (whsec_...) from the Clerk Dashboard",
        )
    key = _KEYS.get(secret)
    if key is None:
        encoded = secret.strip().removeprefix("whsec_")
        try:
            key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
        except (binascii.Error, ValueError):
            key = b""
        if not key:
            raise ClerkConfigError(
                "secret", "is not a webhook signing secret (whsec_ followed by base64)"
            )
        if len(_KEYS) >= 16:  # a receiver has one or two secrets; a test may make many
            _KEYS.clear()
        _KEYS[secret] = key
    return key


# Each secret decoded once: every delivery would otherwise decode it again.
_KEYS: dict[str, bytes] = {}


def _signature(key: bytes, signed_prefix: bytes, body: bytes) -> bytes:
    return hmac.new(key, signed_prefix + body, hashlib.sha256).digest()


def _header(headers: Mapping[Any, Any], name: str, standard: str) -> str:
    """One header, by its ``svix-*`` or ``webhook-*`` name, in any case; "" when absent."""
    value = headers.get(name)
    if value is None:
        value = headers.get(standard)
        if value is None and type(headers) is dict:  # a plain dict: its keys' case is theirs
            value = next(
                (
                    v
                    for k, v in headers.items()
                    if isinstance(k, str) and k.lower() in (name, standard)
                ),
                None,
            )
    if value is None:
        return ""
    if isinstance(value, (bytes, bytearray)):
        value = bytes(value).decode("latin-1")  # a raw header, as ASGI carries it
    elif not isinstance(value, str):
        raise WebhookVerificationError(
            "headers-invalid", f"{name} must be text, got {type(value).__name__}"
        )
    return value


def _headers(headers: Mapping[str, str]) -> tuple[str, str, str]:
    """``svix-id``, ``svix-timestamp`` (exact), ``svix-signature`` (or their ``webhook-*``
    names; the id and signatures trimmed, as JS does); blank counts as missing."""
    if not isinstance(headers, Mapping):
        raise WebhookVerificationError(
            "headers-invalid",
            f"headers must be a mapping of header names to values, got {type(headers).__name__}",
        )
    msg_id = _header(headers, "svix-id", "webhook-id").strip()
    stamp = _header(headers, "svix-timestamp", "webhook-timestamp")
    signatures = _header(headers, "svix-signature", "webhook-signature").strip()
    if not (msg_id and stamp.strip() and signatures):
        found = (msg_id, stamp.strip(), signatures)
        missing = [n for n, v in zip(HEADERS, found, strict=True) if not v]
        raise WebhookVerificationError(
            "headers-missing", f"Missing required webhook headers: {', '.join(missing)}"
        )
    return msg_id, stamp, signatures


def _as_bytes(body: object) -> bytes:
    if isinstance(body, bytes):
        return body
    if isinstance(body, (bytearray, memoryview)):
        return bytes(body)
    if isinstance(body, str):
        try:
            return body.encode()
        except UnicodeEncodeError:  # lone surrogates: no bytes were ever sent like that
            raise WebhookVerificationError("body-invalid", "the body is not valid text") from None
    raise WebhookVerificationError(
        "body-invalid", f"the body must be the raw bytes received, got {type(body).__name__}"
    )


def _signed_prefix(msg_id: str, stamp: str) -> bytes:
    """``<id>.<timestamp>.``: what the signature covers before the body."""
    try:
        return f"{msg_id}.{stamp}.".encode()
    except UnicodeEncodeError:  # aiohttp hands undecodable header bytes over as surrogates
        raise WebhookVerificationError("headers-invalid", "svix-id is not valid UTF-8") from None


def check_signature(
    body: bytes | bytearray | memoryview | str,
    headers: Mapping[str, str],
    *,
    secret: str | None = None,
    now: float | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
) -> None:
    """Raise ``WebhookVerificationError`` unless ``body`` is signed by ``secret`` now."""
    _check(body, headers, secret, now, max_body_bytes)


def _check(
    body: object, headers: Mapping[str, str], secret: str | None, now: float | None, limit: int
) -> tuple[bytes, str, int]:
    """The checked delivery: its body, ``svix-id`` and timestamp."""
    key = _key(secret)  # a misconfiguration is reported before anything about the request
    raw = _as_bytes(body)
    if len(raw) > limit:
        raise WebhookVerificationError(
            "body-too-large",
            f"the body has {len(raw):,} bytes, more than max_body_bytes ({limit:,})",
        )
    msg_id, stamp, signatures = _headers(headers)
    if not _TIMESTAMP.fullmatch(stamp):
        raise WebhookVerificationError(
            "timestamp-invalid", "svix-timestamp is not an integer number of seconds"
        )
    timestamp = int(stamp)
    offset = (time.time() if now is None else now) - timestamp
    if offset > TOLERANCE_SECONDS:
        raise WebhookVerificationError(
            "timestamp-too-old", f"the message timestamp is {offset:.0f} seconds old"
        )
    if offset < -TOLERANCE_SECONDS:
        raise WebhookVerificationError(
            "timestamp-too-new", f"the message timestamp is {-offset:.0f} seconds ahead"
        )
    expected = _signature(key, _signed_prefix(msg_id, stamp), raw)
    for entry in signatures.split():
        version, _, value = entry.partition(",")
        if version != "v1":
            continue  # v1a (asymmetric) and unknown versions are not ours to check
        try:
            given = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            continue  # a malformed entry does not hide a valid one after it
        if hmac.compare_digest(expected, given):
            return raw, msg_id, timestamp
    raise WebhookVerificationError("signature-mismatch", "No matching signature found")


# The converter's hook of each event class, found once (converter.structure dispatches anew).
_HOOKS: dict[type[WebhookEvent], Callable[[Any, Any], Any]] = {}


def parse_event(body: bytes) -> WebhookEvent:
    """The event a verified ``body`` holds: its type's class, or ``WebhookEvent`` for a
    type this version does not know."""
    try:
        payload = _json.loads(body)
    except (ValueError, RecursionError):
        raise WebhookVerificationError("payload-invalid", "the body is not JSON") from None
    kind = payload.get("type") if isinstance(payload, dict) else None
    if not isinstance(kind, str):
        raise WebhookVerificationError(
            "payload-invalid", "the body is not an event (an object with a string type)"
        )
    cls = EVENTS.get(kind, WebhookEvent)
    hook = _HOOKS.get(cls)
    if hook is None:
        hook = _HOOKS[cls] = converter.get_structure_hook(cls)
    try:
        event: WebhookEvent = hook(payload, cls)
    except Exception as exc:  # cattrs' validation errors, or a hook's TypeError
        detail = describe_structure_error(exc).replace("answer", "event")
        raise WebhookVerificationError(
            "payload-invalid", f"the {kind} event does not fit {cls.__name__}: {detail}"
        ) from None
    return event


def verify(
    body: bytes | bytearray | memoryview | str,
    headers: Mapping[str, str],
    *,
    secret: str | None = None,
    now: float | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
) -> WebhookEvent:
    """Check a delivery's signature and return its event, typed by ``type``.

    ``body`` is the raw request body, exactly as received (not re-serialized JSON);
    ``headers`` any mapping of the request's headers (``svix-*`` or ``webhook-*`` names).
    ``secret`` defaults to ``$CLERK_WEBHOOK_SIGNING_SECRET``. ``now`` (epoch seconds)
    replaces the clock, for tests. Raises ``WebhookVerificationError``, or
    ``ClerkConfigError`` without a usable secret.
    """
    if tracing():
        return traced_sync(
            "clerk.webhooks.verify",
            lambda: parse_event(_check(body, headers, secret, now, max_body_bytes)[0]),
        )
    raw, _, _ = _check(body, headers, secret, now, max_body_bytes)
    return parse_event(raw)


async def verify_once(
    body: bytes | bytearray | memoryview | str,
    headers: Mapping[str, str],
    *,
    replay_guard: ReplayGuard,
    secret: str | None = None,
    now: float | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
) -> WebhookEvent:
    """``verify``, and refuse (``replayed``) a delivery id ``replay_guard`` has seen.

    The id is recorded once the delivery verified, for as long as it could verify again
    (until its timestamp is ``TOLERANCE_SECONDS`` old). A guard that cannot answer (Redis
    down) refuses the delivery (``replay-check-unavailable``): Svix retries it later.
    """
    at = time.time() if now is None else now
    raw, msg_id, timestamp = _check(body, headers, secret, at, max_body_bytes)
    event = parse_event(raw)
    try:
        first = await replay_guard.first_delivery(msg_id, timestamp + TOLERANCE_SECONDS, at)
    except Exception as exc:  # Redis down, a timeout, a guard's own failure: unknown
        log.warning("webhook replay check failed: %s", type(exc).__name__)
        raise WebhookVerificationError(
            "replay-check-unavailable",
            f"the replay guard could not answer ({type(exc).__name__})",
        ) from None
    if not first:
        raise WebhookVerificationError(
            "replayed", "this delivery id was already received and verified"
        )
    return event


def sign(
    body: bytes | bytearray | memoryview | str,
    *,
    secret: str,
    msg_id: str = "msg_test",
    timestamp: float | None = None,
) -> dict[str, str]:
    """The ``svix-*`` headers Clerk would send with ``body``: for testing an endpoint."""
    stamp = str(int(time.time() if timestamp is None else timestamp))
    digest = _signature(_key(secret), _signed_prefix(msg_id, stamp), _as_bytes(body))
    return {
        "svix-id": msg_id,
        "svix-timestamp": stamp,
        "svix-signature": "v1," + base64.b64encode(digest).decode(),
    }
