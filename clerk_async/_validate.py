"""attrs validators for params: they run when a params object is built, before any I/O.

Each failure is a :class:`ClerkValidationError` that names the field and says why.
The limits come from Clerk's OpenAPI spec (``spec/clerk-bapi-2026-05-12.yml``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from typing import Any

import attrs

from clerk_async._upload import file_problem
from clerk_async.errors import ClerkValidationError

__all__ = [
    "boolean",
    "describe",
    "file_content",
    "flag",
    "has_surrogate",
    "header_problem",
    "identifier",
    "integer",
    "items",
    "json_object",
    "json_value",
    "less_than",
    "nullable",
    "number",
    "one_of",
    "secret_problem",
    "string",
]

Validator = Callable[[Any, "attrs.Attribute[Any]", Any], None]

# Patterns are the spec's (ECMAScript): \w means [A-Za-z0-9_], hence re.ASCII.
# No Clerk id comes near this; a longer one is a bug or an attack, not an id.
MAX_ID_LENGTH = 256
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# A lone surrogate (from a bad decode, a JSON "\\ud800", a fuzzer) cannot be encoded as
# UTF-8: refused here, it never reaches the JSON encoder or the URL quoter.
_SURROGATE = re.compile("[\ud800-\udfff]")
# What a typed JSON decoder on the server (Go's int64, orjson) takes for an integer.
INT_MIN = -(2**63)
INT_MAX = 2**63 - 1


def _type_name(value: Any) -> str:
    return type(value).__name__


def _excerpt(value: str) -> str:
    return repr(value if len(value) <= 40 else value[:40] + "...")


def _int_text(value: int) -> str:
    # str() of an int over 4,300 digits raises ValueError; the size says enough anyway.
    return str(value) if value.bit_length() <= 64 else f"a {value.bit_length()}-bit integer"


def describe(value: Any) -> str:
    """A short repr of a bad value for an error message; never raises, never 10 MB long."""
    if isinstance(value, int) and not isinstance(value, bool):
        return _int_text(value)
    try:
        text = repr(value)
    except Exception:  # a broken __repr__ must not hide the real problem
        return f"<{_type_name(value)}>"
    return text if len(text) <= 60 else text[:60] + "..."


def has_surrogate(value: str) -> bool:
    """True if ``value`` holds a lone surrogate (so it has no UTF-8 form). ASCII: cheap."""
    return not value.isascii() and _SURROGATE.search(value) is not None


def nullable(validator: Validator) -> Validator:
    """Allow an explicit None (sent as JSON null) where the spec says nullable."""

    def check(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value is not None:
            validator(instance, attribute, value)

    return check


def identifier(pattern: str | None = None, *, example: str = "") -> Validator:
    """A resource id that becomes one URL path segment (or a body field).

    It must be a non-empty string without control characters, not ``.`` or ``..``
    (which would climb the URL path) and, where the spec gives one, match its pattern.
    """
    compiled = re.compile(pattern, re.ASCII) if pattern else None

    def check(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        name = attribute.name
        if not isinstance(value, str):
            raise ClerkValidationError(name, f"expected a string id, got {_type_name(value)}")
        if not value or value.isspace():
            raise ClerkValidationError(name, "must be a non-empty id")
        if len(value) > MAX_ID_LENGTH:
            raise ClerkValidationError(
                name, f"is {len(value)} characters long; no id is longer than {MAX_ID_LENGTH}"
            )
        # isascii() and isprintable() together mean "no control characters", cheaply.
        if value in (".", "..") or (
            not (value.isascii() and value.isprintable())
            and (_CONTROL.search(value) or _SURROGATE.search(value))
        ):
            raise ClerkValidationError(name, f"is not a valid id: {_excerpt(value)}")
        if compiled is not None and not compiled.fullmatch(value):
            hint = f" such as {example!r}" if example else ""
            raise ClerkValidationError(
                name, f"{_excerpt(value)} does not look like an id{hint} (pattern {pattern})"
            )

    return check


def string(
    *, min_length: int = 0, max_length: int | None = None, pattern: str | None = None
) -> Validator:
    compiled = re.compile(pattern, re.ASCII) if pattern else None

    def check(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        name = attribute.name
        if not isinstance(value, str):
            raise ClerkValidationError(name, f"expected a string, got {_type_name(value)}")
        if len(value) < min_length:
            raise ClerkValidationError(
                name,
                "must not be empty" if min_length == 1 else f"must be at least {min_length} chars",
            )
        if max_length is not None and len(value) > max_length:
            raise ClerkValidationError(
                name, f"is {len(value)} characters long; at most {max_length} allowed"
            )
        if "\x00" in value:
            raise ClerkValidationError(name, "must not contain NUL characters")
        if has_surrogate(value):
            raise ClerkValidationError(name, "contains a lone surrogate (not valid Unicode text)")
        if compiled is not None and not compiled.fullmatch(value):
            raise ClerkValidationError(name, f"{_excerpt(value)} must match {pattern}")

    return check


def integer(*, minimum: int = INT_MIN, maximum: int = INT_MAX) -> Validator:
    """An int (never a bool) in ``minimum..maximum``; by default the 64-bit signed range."""

    def check(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        name = attribute.name
        # bool is an int subclass; True is never a meaningful TTL or limit.
        if not isinstance(value, int) or isinstance(value, bool):
            raise ClerkValidationError(name, f"expected an integer, got {_type_name(value)}")
        if value < minimum:
            raise ClerkValidationError(name, f"must be >= {minimum}, got {_int_text(value)}")
        if value > maximum:
            raise ClerkValidationError(name, f"must be <= {maximum}, got {_int_text(value)}")

    return check


def boolean() -> Validator:
    def check(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if not isinstance(value, bool):
            raise ClerkValidationError(attribute.name, f"expected a bool, got {_type_name(value)}")

    return check


def flag() -> Validator:
    """A query flag the spec types as the strings ``"true"``/``"false"``: those, or a bool
    (sent as the same text)."""

    def check(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if isinstance(value, bool) or (isinstance(value, str) and value in ("true", "false")):
            return
        raise ClerkValidationError(
            attribute.name, f"expected a bool or 'true'/'false', got {describe(value)}"
        )

    return check


def one_of(choices: Collection[str]) -> Validator:
    def check(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value not in choices:
            allowed = ", ".join(repr(c) for c in choices)
            raise ClerkValidationError(
                attribute.name, f"must be one of {allowed}, got {describe(value)}"
            )

    return check


# orjson (the speedups codec) refuses integers outside this range; the stdlib would not.
_JSON_INT_MIN = -(2**63)
_JSON_INT_MAX = 2**64 - 1


_JSON_MAX_DEPTH = 64


def json_value() -> Validator:
    """Any JSON value (the spec's untyped ``claims``): dicts with str keys, lists, scalars."""

    def walk(name: str, value: Any, depth: int = 0) -> None:
        if depth > _JSON_MAX_DEPTH:  # also ends a structure that contains itself
            raise ClerkValidationError(name, f"nested deeper than {_JSON_MAX_DEPTH} levels")
        if value is None or isinstance(value, bool):
            return
        if isinstance(value, str):
            if has_surrogate(value):
                raise ClerkValidationError(name, "contains a lone surrogate (not valid Unicode)")
        elif isinstance(value, int):
            if not _JSON_INT_MIN <= value <= _JSON_INT_MAX:
                raise ClerkValidationError(name, "integer is too large for JSON")
        elif isinstance(value, float):
            if value != value or value in (float("inf"), float("-inf")):
                raise ClerkValidationError(name, f"{value} is not a JSON number")
        elif isinstance(value, dict):
            for key, item in value.items():
                if not isinstance(key, str):
                    raise ClerkValidationError(
                        name, f"object keys must be strings, got {_type_name(key)}"
                    )
                if has_surrogate(key):
                    raise ClerkValidationError(name, "an object key contains a lone surrogate")
                walk(f"{name}.{key if len(key) <= 40 else key[:40] + '...'}", item, depth + 1)
        elif isinstance(value, (list, tuple)):
            for index, item in enumerate(value):
                walk(f"{name}[{index}]", item, depth + 1)
        else:
            raise ClerkValidationError(name, f"{_type_name(value)} is not a JSON value")

    def check(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        walk(attribute.name, value)

    return check


def number(
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    exclusive_minimum: bool = False,
) -> Validator:
    """A finite JSON number (int or float, never a bool) within the spec's bounds."""

    def check(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        name = attribute.name
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise ClerkValidationError(name, f"expected a number, got {_type_name(value)}")
        if value != value or value in (float("inf"), float("-inf")):
            raise ClerkValidationError(name, f"must be a finite number, got {describe(value)}")
        if isinstance(value, int) and not INT_MIN <= value <= INT_MAX:  # orjson cannot send it
            raise ClerkValidationError(name, f"is {describe(value)}, beyond 64 bits")
        if minimum is not None and (value <= minimum if exclusive_minimum else value < minimum):
            raise ClerkValidationError(
                name,
                f"must be {'>' if exclusive_minimum else '>='} {minimum}, got {describe(value)}",
            )
        if maximum is not None and value > maximum:
            raise ClerkValidationError(name, f"must be <= {maximum}, got {describe(value)}")

    return check


def file_content() -> Validator:
    """A multipart file part: bytes, or a binary file open for reading (nothing is read
    here; see ``clerk_async._upload``)."""

    def check(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        problem = file_problem(value)
        if problem is not None:
            raise ClerkValidationError(attribute.name, problem)

    return check


def items(item: Validator, *, min_items: int = 0, max_items: int | None = None) -> Validator:
    """A JSON array whose every element passes ``item``, within the spec's item counts."""

    def check(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        name = attribute.name
        if not isinstance(value, (list, tuple)):
            raise ClerkValidationError(name, f"expected a list, got {_type_name(value)}")
        if len(value) < min_items:
            raise ClerkValidationError(name, f"needs at least {min_items} items, got {len(value)}")
        if max_items is not None and len(value) > max_items:
            raise ClerkValidationError(name, f"has {len(value)} items; at most {max_items} allowed")
        for index, element in enumerate(value):
            item(instance, attribute.evolve(name=f"{name}[{index}]"), element)

    return check


def json_object() -> Validator:
    """A JSON object (the spec's free-form ``type: object``): a dict of JSON values."""
    walk = json_value()

    def check(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if not isinstance(value, dict):
            raise ClerkValidationError(
                attribute.name, f"expected an object (dict), got {_type_name(value)}"
            )
        walk(instance, attribute, value)

    return check


# RFC 9110: a field name is a token; a value has no control character but HTAB. aiohttp
# refuses CR/LF (header injection) with a ValueError and cannot encode a lone surrogate.
_HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_BAD_HEADER_VALUE = re.compile("[\x00-\x08\x0a-\x1f\x7f\ud800-\udfff]")
_BAD_SECRET = re.compile("[\\s\x00-\x1f\x7f\ud800-\udfff]")  # no key holds whitespace


def header_problem(name: Any, value: Any) -> str | None:
    """Why ``name: value`` cannot be sent as an HTTP header, or None if it can.

    The value is never quoted: headers carry secrets (the secret key is one).
    """
    if not isinstance(name, str) or not isinstance(value, str):
        return f"header names and values must be strings, got {_type_name(name)}: " + (
            _type_name(value)
        )
    if not _HEADER_NAME.fullmatch(name):
        return f"{_excerpt(name)} is not a valid header name"
    if _BAD_HEADER_VALUE.search(value):
        return (
            f"the value of {_excerpt(name)} contains a control character (a trailing newline?) "
            "or a lone surrogate"
        )
    return None


def secret_problem(value: Any) -> str | None:
    """Why ``value`` cannot be a secret key sent as ``Bearer <value>``, or None if it can."""
    if not isinstance(value, str):
        return f"must be a string, got {_type_name(value)}"
    if not value.strip():
        return "must be a non-empty string"
    if _BAD_SECRET.search(value):
        # Never the value: it is a secret. A trailing newline from a .env file is the usual.
        return "contains whitespace or a control character (a trailing newline?)"
    return None


def less_than(instance: Any, name: str, bound: str) -> None:
    """A check across two fields (the spec says it in prose): ``name`` < ``bound`` when
    both are given as numbers."""
    value = getattr(instance, name)
    limit = getattr(instance, bound)
    numbers = (int, float)
    if isinstance(value, numbers) and isinstance(limit, numbers) and not value < limit:
        raise ClerkValidationError(name, f"must be less than {bound} ({limit:g}), got {value}")
