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
import os
import re
import time
from collections.abc import Mapping
from typing import Any

from clerk_async import _json
from clerk_async._convert import converter, describe_structure_error
from clerk_async.errors import ClerkConfigError, ClerkError
from clerk_async.webhooks._events import EVENTS, WebhookEvent

__all__ = [
    "DEFAULT_MAX_BODY_BYTES",
    "SIGNING_SECRET_ENV",
    "TOLERANCE_SECONDS",
    "WebhookVerificationError",
    "sign",
    "verify",
]

SIGNING_SECRET_ENV = "CLERK_WEBHOOK_SIGNING_SECRET"
TOLERANCE_SECONDS = 300
# Clerk's largest events (an email's HTML body, a user with many identities) are tens of
# kilobytes; a body far larger is refused before any hashing.
DEFAULT_MAX_BODY_BYTES = 1024 * 1024
HEADERS = ("svix-id", "svix-timestamp", "svix-signature")
_TIMESTAMP = re.compile(r"[0-9]{1,15}(?:\.[0-9]*)?")  # seconds; a fraction is floored


class WebhookVerificationError(ClerkError):
    """A webhook delivery was refused. ``reason`` is a fixed code, ``message`` says why in
    words; neither carries the secret, a signature or the body.

    Reasons: ``body-too-large``, ``headers-missing``, ``timestamp-invalid``,
    ``timestamp-too-old``, ``timestamp-too-new``, ``signature-mismatch``,
    ``payload-invalid`` (signed, but not an event, or not the shape of its type).
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
    encoded = secret.strip().removeprefix("whsec_")
    try:
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except (binascii.Error, ValueError):
        key = b""
    if not key:
        raise ClerkConfigError(
            "secret", "is not a webhook signing secret (whsec_ followed by base64)"
        )
    return key


def _signature(key: bytes, msg_id: str, timestamp: int, body: bytes) -> bytes:
    return hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()


def _headers(headers: Mapping[str, str]) -> tuple[str, str, str]:
    """``svix-id``, ``svix-timestamp``, ``svix-signature`` (or their ``webhook-*`` names),
    trimmed; blank counts as missing."""
    lowered = {str(k).lower(): str(v).strip() for k, v in headers.items()}
    found = [lowered.get(n) or lowered.get(n.replace("svix-", "webhook-")) or "" for n in HEADERS]
    missing = [n for n, v in zip(HEADERS, found, strict=True) if not v]
    if missing:
        raise WebhookVerificationError(
            "headers-missing", f"Missing required webhook headers: {', '.join(missing)}"
        )
    return found[0], found[1], found[2]


def _as_bytes(body: bytes | bytearray | memoryview | str) -> bytes:
    return body.encode() if isinstance(body, str) else bytes(body)


def check_signature(
    body: bytes | bytearray | memoryview | str,
    headers: Mapping[str, str],
    *,
    secret: str | None = None,
    now: float | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
) -> None:
    """Raise ``WebhookVerificationError`` unless ``body`` is signed by ``secret`` now."""
    key = _key(secret)  # a misconfiguration is reported before anything about the request
    body = _as_bytes(body)
    if len(body) > max_body_bytes:
        raise WebhookVerificationError(
            "body-too-large",
            f"the body has {len(body):,} bytes, more than max_body_bytes ({max_body_bytes:,})",
        )
    msg_id, stamp, signatures = _headers(headers)
    if not _TIMESTAMP.fullmatch(stamp):
        raise WebhookVerificationError(
            "timestamp-invalid", "svix-timestamp is not a number of seconds"
        )
    timestamp = int(stamp.partition(".")[0])
    offset = (time.time() if now is None else now) - timestamp
    if offset > TOLERANCE_SECONDS:
        raise WebhookVerificationError(
            "timestamp-too-old", f"the message timestamp is {offset:.0f} seconds old"
        )
    if offset < -TOLERANCE_SECONDS:
        raise WebhookVerificationError(
            "timestamp-too-new", f"the message timestamp is {-offset:.0f} seconds ahead"
        )
    expected = _signature(key, msg_id, timestamp, body)
    for entry in signatures.split():
        version, _, value = entry.partition(",")
        if version != "v1":
            continue  # v1a (asymmetric) and unknown versions are not ours to check
        try:
            given = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            continue  # a malformed entry does not hide a valid one after it
        if hmac.compare_digest(expected, given):
            return
    raise WebhookVerificationError("signature-mismatch", "No matching signature found")


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
    try:
        event: WebhookEvent = converter.structure(payload, cls)
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
    raw = _as_bytes(body)
    check_signature(raw, headers, secret=secret, now=now, max_body_bytes=max_body_bytes)
    return parse_event(raw)


def sign(
    body: bytes | bytearray | memoryview | str,
    *,
    secret: str,
    msg_id: str = "msg_test",
    timestamp: float | None = None,
) -> dict[str, str]:
    """The ``svix-*`` headers Clerk would send with ``body``: for testing an endpoint."""
    stamp = int(time.time() if timestamp is None else timestamp)
    digest = _signature(_key(secret), msg_id, stamp, _as_bytes(body))
    return {
        "svix-id": msg_id,
        "svix-timestamp": str(stamp),
        "svix-signature": "v1," + base64.b64encode(digest).decode(),
    }
