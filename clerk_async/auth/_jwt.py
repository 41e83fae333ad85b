"""Pure functions over tokens and headers: shape, decoding, routing, claims, auth objects.

No I/O and no cryptography here: signatures are checked in ``_verifier.py``. The rules
and reason codes are those of Clerk's JS SDK (``@clerk/backend``), where it is stricter
than the official Python SDK, and stricter still where noted ("beyond JS").
"""

from __future__ import annotations

import binascii
import contextlib
import json
import json.scanner
import math
import re
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from clerk_async import _json
from clerk_async.auth._authorization import split_by_scope
from clerk_async.auth._types import (
    M2MAuth,
    OAuthAuth,
    SessionAuth,
    TokenType,
    TokenVerificationError,
)

__all__ = [
    "MAX_TOKEN_LENGTH",
    "Decoded",
    "bearer_token",
    "check_claims",
    "check_header_type",
    "classify",
    "m2m_auth",
    "oauth_auth",
    "org_permissions",
    "session_auth",
    "session_cookie",
]

# A session token is 1-2 kB; servers refuse headers above 8-16 kB anyway. Longer input is
# refused before it is decoded, so a huge "token" costs a length check, not a parse.
MAX_TOKEN_LENGTH = 16 * 1024

# The JOSE `cat` header (JS tokens/jwtCategories.ts, "kept in sync with clerk_go").
CATEGORY_SESSION = "cl_B7d4PD111AAA"
CATEGORY_TEMPLATE = "cl_B7d4PD222AAA"
CATEGORY_M2M = "cl_B7d4PD333AAA"
CATEGORY_IGNORE = "cl_I7d4PD111III"  # stamped on every class by some instances
OAUTH_TYPES = frozenset({"at+jwt", "application/at+jwt"})
JWT_TYPES = frozenset({"JWT"})

# Opaque machine tokens: the prefix, then base64 characters (API keys hold / + =).
_OPAQUE = re.compile(r"(mt|oat|ak)_[A-Za-z0-9+/=_-]{1,1024}")
_OPAQUE_TYPES: dict[str, TokenType] = {"mt": "m2m_token", "oat": "oauth_token", "ak": "api_key"}
_OPAQUE_PREFIXES = tuple(f"{prefix}_" for prefix in _OPAQUE_TYPES)
# Times a token must not be used before (beyond the skew), and the reason when it is.
_NOT_BEFORE = (("nbf", "token-not-active-yet"), ("iat", "token-iat-in-the-future"))
_DECIMAL = re.compile(r"[0-9]+")
_REGISTERED = frozenset({"iss", "sub", "exp", "nbf", "iat", "jti"})
_EXACT = 2**53  # integers a float holds exactly: below it, a time claim needs no conversion

_INVALID_FORM = "Invalid JWT form. A JWT consists of three parts separated by dots."
# JOSE header parameters that are strings when present (RFC 7515 4.1, RFC 7519 5, Clerk's cat).
_STRING_HEADERS = ("alg", "typ", "kid", "cat", "cty")


class Decoded(NamedTuple):
    """A JWT taken apart; nothing in it is trusted before the signature is checked."""

    header: dict[str, Any]
    payload: dict[str, Any]
    signing_input: bytes
    signature: bytes


def _standard_table() -> bytes:
    table = bytearray(b"!" * 256)
    for char in b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.":
        table[char] = char
    table[ord("-")], table[ord("_")] = ord("+"), ord("/")
    return bytes(table)


# The JWT's base64url alphabet to the standard one ``a2b_base64`` reads, dots kept, and
# every byte a compact JWT cannot hold (``+ / =``, spaces, ...) to ``!``. One C pass
# both translates the token and checks its form, which the regex
# ``[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+`` did on top of the translations:
# -25,000 instructions per 900-character token (callgrind; benchmarks/RESULTS.md).
_STANDARD = _standard_table()
_PADDING = (b"", b"===", b"==", b"=")


def _b64decode(segment: bytes) -> bytes:
    """A segment in the standard alphabet, the padding JWTs leave out added, decoded."""
    return binascii.a2b_base64(segment + _PADDING[len(segment) % 4])


# The scanner json.loads runs (C, as json.JSONDecoder builds it), with json.loads's options.
_scan_json: Callable[[str, int], tuple[Any, int]] = json.scanner.make_scanner(
    json.JSONDecoder()  # type: ignore[arg-type]  # (typeshed: the pure-Python class's own __init__)
)


def _loads_stdlib(text: str) -> Any:
    """``json.loads`` for a JSON value with nothing around it, without its three Python
    frames and two whitespace regexes (-8,500 instructions per token); any other text,
    or an error, goes to ``json.loads`` itself, so the result and errors are its own."""
    try:
        value, end = _scan_json(text, 0)
    except StopIteration:
        return json.loads(text)
    return value if end == len(text) else json.loads(text)


# Headers already decoded and checked, by their (standard-alphabet) segment: every token
# of one instance carries the same header, so the common case costs a dict lookup, not a
# decode and a check (-17,700 instructions per token). A pure function's memo (the codec
# is fixed per process): the dicts are never mutated, and a flood of headers only empties it.
_HEADERS: dict[bytes, dict[str, Any]] = {}
_HEADERS_MAX = 32


def _decode(token: str) -> Decoded:
    """The compact JWT's form checked, its parts decoded, its header checked."""
    raw = token.encode() if token.isascii() else b"!"  # (the form is ASCII)
    standard = raw.translate(_STANDARD)
    first = standard.find(b".")
    second = standard.find(b".", first + 1)
    if (
        first < 1  # no dot, or no header
        or second < first + 2  # one dot, or no payload
        or second == len(standard) - 1  # no signature
        or standard.find(b"!") != -1  # (`in` tries an int first: a TypeError per call)
        or standard.find(b".", second + 1) != -1
    ):
        raise TokenVerificationError("token-invalid", _INVALID_FORM, "session_token")
    header_segment = standard[:first]
    known = _HEADERS.get(header_segment)
    loads: Callable[[str], Any] = _json.loads  # read per call: tests swap the codec
    if loads is json.loads:  # (orjson's loads is one C call already)
        loads = _loads_stdlib
    try:
        # UTF-8, as RFC 7515 says (and orjson reads): text, so the stdlib's JSON does not
        # guess the encoding of bytes on every call.
        header = known if known is not None else loads(_b64decode(header_segment).decode())
        payload = loads(_b64decode(standard[first + 1 : second]).decode())
        signature = _b64decode(standard[second + 1 :])
    except (ValueError, binascii.Error, RecursionError):  # bad base64, UTF-8 or JSON
        header = None  # (RecursionError: the stdlib's JSON on [[[[... nested deep)
    if not isinstance(header, dict) or not isinstance(payload, dict):
        raise TokenVerificationError(
            "token-invalid", "Invalid JWT form: the token could not be decoded."
        )
    if known is None:
        check_header(header)
        if len(_HEADERS) >= _HEADERS_MAX:
            _HEADERS.clear()
        _HEADERS[header_segment] = header
    return Decoded(header, payload, raw[:second], signature)


def classify(token: str) -> tuple[TokenType, Decoded | None]:
    """What the token is, as the JS SDK routes it, and the JWT decoded (None if opaque).

    ``mt_``/``oat_``/``ak_`` prefixes are opaque machine tokens. A JWT whose ``sub``
    starts with ``mch_`` is an M2M JWT; one with ``typ`` ``at+jwt`` an OAuth JWT; any other
    JWT a session token candidate. Anything else is a malformed session token.
    """
    if len(token) > MAX_TOKEN_LENGTH:
        raise TokenVerificationError(
            "token-invalid", f"The token is longer than {MAX_TOKEN_LENGTH} characters."
        )
    if token.startswith(_OPAQUE_PREFIXES):  # the regex only for what may match it
        opaque = _OPAQUE.fullmatch(token)
        if opaque is not None:
            return _OPAQUE_TYPES[opaque.group(1)], None
    decoded = _decode(token)
    sub = decoded.payload.get("sub")
    if isinstance(sub, str) and sub.startswith("mch_"):
        return "m2m_token", decoded
    if decoded.header.get("typ") in OAUTH_TYPES:
        return "oauth_token", decoded
    return "session_token", decoded


def check_header(header: Mapping[str, Any]) -> None:
    """Each known header parameter is a string; no ``crit`` extension is understood.

    Checked before anything reads the header, so that an odd value (``"typ": []``) is a
    refused token, never a ``TypeError``. RFC 7515 4.1.11: a JWT naming critical
    extensions the verifier does not implement must be refused; we implement none.
    """
    for name in _STRING_HEADERS:
        value = header.get(name)  # null is absent, as the JS SDK reads it
        if value is not None and type(value) is not str:
            raise TokenVerificationError(
                "token-invalid-algorithm" if name == "alg" else "token-invalid",
                f"Invalid JWT header {name}: it must be a string, got {type(value).__name__}.",
            )
    if "crit" in header:
        raise TokenVerificationError(
            "token-invalid",
            f"Invalid JWT header crit {shown(header['crit'])}: no critical extension is "
            "supported (RFC 7515 4.1.11).",
        )


def non_session_category(header: Mapping[str, Any]) -> bool:
    """True when ``cat`` says the JWT is not a session token (M2M, template, unknown)."""
    cat = header.get("cat")
    return cat is not None and cat != CATEGORY_SESSION and cat != CATEGORY_IGNORE


def check_header_type(header: Mapping[str, Any], allowed: frozenset[str], kind: TokenType) -> None:
    """``typ`` must be one of ``allowed``; absent is fine only for plain JWTs (JS rule)."""
    typ = header.get("typ")
    if typ is None and allowed is JWT_TYPES:
        return
    if typ not in allowed:
        expected = ", ".join(sorted(allowed))
        raise TokenVerificationError(
            "token-invalid", f"Invalid JWT type {shown(typ)}. Expected {expected!r}.", kind
        )


def shown(value: Any) -> str:
    """A value from an unverified token, safe and short for a message."""
    text = repr(value)
    return text if len(text) <= 64 else text[:61] + "..."


def _number(payload: Mapping[str, Any], name: str) -> float | None:
    value = payload.get(name)
    if value is None:
        return None
    number = math.nan
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        # An integer no float holds (the stdlib decoder reads 10**400) stays NaN: refused.
        with contextlib.suppress(OverflowError):
            number = float(value)
    if not math.isfinite(number):
        raise TokenVerificationError(
            "token-verification-failed", f"Invalid JWT claim {name}: it must be a finite number."
        )
    return number


def check_claims(
    payload: Mapping[str, Any],
    kind: TokenType,
    *,
    now: float,
    clock_skew: float,
    audience: frozenset[str] | None,
    authorized_parties: frozenset[str] | None,
) -> None:
    """The JS SDK's claim checks, in its order: sub, aud, azp, exp, nbf, iat.

    ``now`` and the timestamps are Unix seconds; ``clock_skew`` applies to all three.
    Beyond JS: an ``audience`` also requires the token to carry an ``aud`` (JS skips the
    check when the token has none), and an ``aud`` of an odd shape fails it.
    """
    sub = payload.get("sub")
    if not isinstance(sub, str):
        raise TokenVerificationError(
            "token-verification-failed",
            "Subject claim (sub) is required and must be a string.",
            kind,
        )
    if audience:
        aud = payload.get("aud")
        values = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else None
        if not values or not all(isinstance(a, str) for a in values):
            raise TokenVerificationError(
                "token-verification-failed",
                "Invalid JWT audience claim (aud): the token has no audience of the expected form.",
                kind,
            )
        if audience.isdisjoint(values):
            raise TokenVerificationError(
                "token-verification-failed",
                f"Invalid JWT audience claim (aud) {shown(aud)}. Expected "
                f"{', '.join(sorted(audience))!r}.",
                kind,
            )
    if authorized_parties and kind == "session_token":
        azp = payload.get("azp")
        if not isinstance(azp, str) or azp not in authorized_parties:
            raise TokenVerificationError(
                "token-invalid-authorized-parties",
                f"Invalid JWT Authorized party claim (azp) {shown(azp)}. Expected "
                f"{', '.join(sorted(authorized_parties))!r}.",
                kind,
            )
    exp = payload.get("exp")
    if exp.__class__ is not int or not -_EXACT < exp < _EXACT:  # the common case, inline
        exp = _number(payload, "exp")
    if exp is None:
        raise TokenVerificationError(
            "token-verification-failed", "Invalid JWT expiry claim (exp): it is required.", kind
        )
    if exp <= now - clock_skew:
        raise TokenVerificationError("token-expired", f"JWT is expired (exp {exp:.0f}).", kind)
    for name, reason in _NOT_BEFORE:
        value = payload.get(name)
        if value.__class__ is not int or not -_EXACT < value < _EXACT:
            value = _number(payload, name)
        if value is not None and value > now + clock_skew:
            raise TokenVerificationError(
                reason, f"JWT claim {name} ({value:.0f}) is in the future.", kind
            )


# --- auth objects from verified payloads ---------------------------------------------------


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _strings(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def org_permissions(fea: Any, per: Any, fpm: Any) -> list[str]:
    """Session token v2: ``org:<feature>:<permission>`` from ``fea``, ``o.per``, ``o.fpm``.

    Bit *i* of the *j*-th ``fpm`` integer grants the *i*-th permission of ``per`` on the
    *j*-th organization feature of ``fea`` (scope ``o``, ``ou`` or ``uo``), as in JS; an
    ``fpm`` entry that is not a decimal grants nothing, a malformed ``fea`` nothing at all.
    """
    if not (isinstance(fea, str) and per and isinstance(per, str) and fpm and isinstance(fpm, str)):
        return []
    try:
        features, _ = split_by_scope(fea)
    except ValueError:
        return []
    permissions = [p.strip() for p in per.split(",")]
    granted = []
    for feature, entry in zip(features, fpm.split(","), strict=False):
        entry = entry.strip()
        if not _DECIMAL.fullmatch(entry) or len(entry) > 4000:  # int()'s digit limit
            continue
        mask = int(entry)
        for i, permission in enumerate(permissions):
            if mask >> i & 1:
                granted.append(f"org:{feature}:{permission}")
    return granted


def session_auth(payload: dict[str, Any]) -> SessionAuth:
    """Version 2 claims (``v: 2``: organization in ``o``) or version 1 (top level)."""
    if payload.get("v") == 2:
        org = payload.get("o")
        org = org if isinstance(org, dict) else {}
        role = _str(org.get("rol"))
        org_id = _str(org.get("id"))
        org_role = f"org:{role}" if role else None
        org_slug = _str(org.get("slg"))
        permissions = org_permissions(payload.get("fea"), org.get("per"), org.get("fpm"))
        status = _str(payload.get("sts"))
    else:
        org_id = _str(payload.get("org_id"))
        org_role = _str(payload.get("org_role"))
        org_slug = _str(payload.get("org_slug"))
        permissions = _strings(payload.get("org_permissions"))
        status = None
    actor = payload.get("act")
    return SessionAuth(
        user_id=payload["sub"],
        session_id=_str(payload.get("sid")),
        org_id=org_id,
        org_role=org_role,
        org_slug=org_slug,
        org_permissions=permissions,
        azp=_str(payload.get("azp")),
        session_status=status,
        actor=actor if isinstance(actor, dict) else None,
        claims=payload,
    )


def m2m_auth(payload: dict[str, Any]) -> M2MAuth:
    """``scopes``: the ``scopes`` claim split on spaces, else ``aud`` (JS M2MToken)."""
    scopes = payload.get("scopes")
    return M2MAuth(
        machine_id=payload["sub"],
        token_id=_str(payload.get("jti")) or "",
        scopes=scopes.split() if isinstance(scopes, str) else _strings(payload.get("aud")),
        claims={k: v for k, v in payload.items() if k not in _REGISTERED},
    )


def oauth_auth(payload: dict[str, Any]) -> OAuthAuth:
    """``scopes``: the ``scp`` list, else ``scope`` split on spaces (RFC 9068, JS)."""
    scp = payload.get("scp")
    scope = payload.get("scope")
    return OAuthAuth(
        user_id=payload["sub"],
        client_id=_str(payload.get("client_id")) or "",
        scopes=_strings(scp)
        if isinstance(scp, list)
        else scope.split()
        if isinstance(scope, str)
        else [],
        token_id=_str(payload.get("jti")) or "",
        claims=payload,
    )


# --- where a request carries its token ----------------------------------------------------


def header_value(headers: Mapping[str, str], name: str) -> str | None:
    """A header from any mapping: case-insensitive ones (Starlette, aiohttp) or a dict."""
    value = headers.get(name)
    if value is None:
        lower = name.lower()
        value = headers.get(lower)
        if value is None and type(headers) is dict:
            value = next((v for k, v in headers.items() if k.lower() == lower), None)
    return value


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization`` header: ``Bearer <token>``, or a bare token.

    As in JS, a value without a space is the token itself and any scheme other than
    Bearer (``Basic ...``) carries none. Beyond JS: the scheme is case-insensitive, as
    RFC 7235 says.
    """
    if not authorization:
        return None
    scheme, space, token = authorization.lstrip().partition(" ")
    if not space:
        return None if scheme.lower() == "bearer" else scheme.rstrip() or None
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


def session_cookie(cookie: str | None) -> str | None:
    """The value of the ``__session`` cookie in a ``Cookie`` header, if any."""
    if not cookie or "__session" not in cookie:
        return None
    for part in cookie.split(";"):
        name, eq, value = part.partition("=")
        if eq and name.strip() == "__session":
            value = value.strip()
            if len(value) >= 2 and value[0] == value[-1] == '"':
                value = value[1:-1]
            return value or None
    return None
