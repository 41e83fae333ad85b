"""Request checks: one small validator driven by tables of the spec's constraints.

Every operation's path, query and body is a ``Schema`` in the generated
``_spec.py`` (``make generate`` writes it from ``spec/clerk-bapi-2026-05-12.yml``, as it
writes the client's params). A failure answers with Clerk's form error codes and
``meta.param_name``; all failures of a request are reported together, as Clerk does.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any, Literal

import attrs

from clerk_async.testing._store import FakeError, error_detail

__all__ = ["Field", "Schema", "SpecOperation"]

Kind = Literal["string", "integer", "number", "boolean", "strings", "array", "object", "any"]

_TYPE_NAMES: dict[str, str] = {
    "string": "string",
    "integer": "integer",
    "number": "number",
    "boolean": "boolean",
    "strings": "array of strings",
    "array": "array",
    "object": "object",
    "any": "value",
}
# Query and path text that stands for a number. ASCII digits only: Python's \d would also
# take other scripts' digits ("٣"), which are not numbers to JSON or ECMAScript.
_INTEGER = re.compile(r"[+-]?[0-9]+")
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_MISSING = object()
# The spec's string formats, as Clerk reads them: RFC 3339 times (Go's time.RFC3339), an
# address with one @, an absolute URI (a scheme).
_FORMATS = {
    "date-time": re.compile(
        r"[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])[Tt]"
        r"(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]+)?"  # Go: no second 60
        r"(?:[Zz]|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])"
    ),
    "date": re.compile(r"[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])"),
    "email": re.compile(r"[^@\s]+@[^@\s]+"),
    "uri": re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:\S*"),
}
_INT_RANGES = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}
_MAX_NUMBER_TEXT = 400  # a number's text longer than this is no number Clerk takes
# An id echoed into an answer: printable text (no lone surrogates, no controls).
_PRINTABLE_ID = re.compile(r"[^\x00-\x1f\x7f\ud800-\udfff]+")

# The spec's patterns are ECMAScript regular expressions (OpenAPI 3.0.3: "according to
# the Ecma-262 Edition 5.1 regular expression dialect"), whose classes differ from
# Python's beyond ASCII: \w and \d are ASCII only, \s is the set below (Python's also has
# \x1c-\x1f and \x85 but lacks \ufeff), and `.` stops at all four line terminators, not
# only at \n. _ecma_regex rewrites these into explicit classes before compiling.
_JS_SPACE = "\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
_ECMA_CLASSES = {
    "w": "A-Za-z0-9_",
    "d": "0-9",
    "s": _JS_SPACE,
}


def _ecma_regex(pattern: str) -> re.Pattern[str]:
    """Compile an ECMAScript ``pattern`` to a Python regex that matches the same strings."""
    out: list[str] = []
    in_class = False
    chars = iter(pattern)
    for c in chars:
        if c == "\\":
            e = next(chars)
            if e.lower() in _ECMA_CLASSES:
                members = _ECMA_CLASSES[e.lower()]
                if not in_class:
                    out.append(f"[{'^' if e.isupper() else ''}{members}]")
                elif e.islower():
                    out.append(members)
                else:  # a negated class inside a class: the spec has none
                    raise ValueError(f"cannot translate \\{e} inside [...] in {pattern!r}")
            else:
                out.append(c + e)
        elif c == "[" and not in_class:
            in_class = True
            out.append(c)
        elif c == "]" and in_class:
            in_class = False
            out.append(c)
        elif c == "." and not in_class:
            out.append("[^\n\r\u2028\u2029]")
        else:
            out.append(c)
    return re.compile("".join(out))


@attrs.frozen
class Field:
    """One parameter and the spec's constraints on it."""

    name: str
    kind: Kind
    required: bool = False
    nullable: bool = False
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: bool = False
    min_length: int | None = None
    max_length: int | None = None
    max_items: int | None = None
    pattern: str | None = None  # the spec's, in ECMAScript syntax
    enum: tuple[str, ...] | None = None
    format: str | None = None  # date-time, date, email, uri; int32, int64
    items: Field | None = None  # an array's items, where the spec constrains them
    fields: Schema | None = None  # an object's properties, where the spec declares them
    _regex: re.Pattern[str] | None = attrs.field(init=False, repr=False, eq=False)

    @_regex.default
    def _compile_pattern(self) -> re.Pattern[str] | None:
        return None if self.pattern is None else _ecma_regex(self.pattern)

    def problem(self, value: Any) -> dict[str, Any] | None:
        """The first error for ``value`` (already of JSON types), or None when it is valid."""
        found = self.problems(value, self.name)
        return found[0] if found else None

    def problems(self, value: Any, name: str) -> list[dict[str, Any]]:
        """The errors for ``value`` where it stands at ``name`` (``a.b[0].c``), nested
        ones included; empty when it is valid."""
        if value is None:
            return [] if self.nullable else [self._type_error(name)]
        kind = self.kind
        if kind == "string":
            if not isinstance(value, str):
                return [self._type_error(name)]
            found = self._string_error(value, name)
            return [] if found is None else [found]
        if kind in ("integer", "number"):
            # bool is an int in Python but not in JSON; 1.0 is not an integer to Go's decoder.
            if type(value) is not int and not (
                kind == "number" and type(value) is float and math.isfinite(value)
            ):
                return [self._type_error(name)]
            found = self._range_error(value, name)
            return [] if found is None else [found]
        if kind == "boolean":
            return [] if type(value) is bool else [self._type_error(name)]
        if kind == "object":
            if not isinstance(value, dict):
                return [self._type_error(name)]
            return [] if self.fields is None else self.fields.problems(value, f"{name}.")
        if kind in ("strings", "array"):
            if not isinstance(value, list):
                return [self._type_error(name)]
            if kind == "strings" and not all(isinstance(v, str) for v in value):
                return [self._type_error(name)]
            if self.max_items is not None and len(value) > self.max_items:
                return [
                    error_detail(
                        "form_param_array_size_exceeded",
                        "exceeds maximum size",
                        f"{name} should not exceed {self.max_items} items.",
                        param_name=name,
                    )
                ]
            if self.items is not None:
                item = self.items
                return [e for i, v in enumerate(value) for e in item.problems(v, f"{name}[{i}]")]
        return []

    def _string_error(self, value: str, name: str) -> dict[str, Any] | None:
        if self.min_length is not None and len(value) < self.min_length:
            return error_detail(
                "form_param_min_length_exceeded",
                "does not reach minimum length",
                f"{name} must be at least {self.min_length} characters long.",
                param_name=name,
            )
        if self.max_length is not None and len(value) > self.max_length:
            return error_detail(
                "form_param_max_length_exceeded",
                "exceeds maximum length",
                f"{name} should not exceed {self.max_length} characters.",
                param_name=name,
            )
        if self._regex is not None and self._regex.fullmatch(value) is None:
            return error_detail(
                "form_param_format_invalid",
                "is invalid",
                f"{name} must match the pattern {self.pattern}",
                param_name=name,
            )
        form = _FORMATS.get(self.format or "")
        if form is not None and form.fullmatch(value) is None:
            return error_detail(
                "form_param_format_invalid",
                "is invalid",
                f"{name} must be a valid {self.format}",
                param_name=name,
            )
        if self.enum is not None and value not in self.enum:
            return error_detail(
                "form_param_value_invalid",
                "is invalid",
                f"{value} does not match the allowed values for parameter {name}. "
                f"Allowed values: {', '.join(self.enum)}",
                param_name=name,
            )
        return None

    def _type_error(self, name: str) -> dict[str, Any]:
        return error_detail(
            "form_param_type_invalid",
            "is invalid",
            f"`{name}` must be a `{_TYPE_NAMES[self.kind]}`.",
            param_name=name,
        )

    def _range_error(self, value: float, name: str) -> dict[str, Any] | None:
        low, high = self.minimum, self.maximum
        # What Go's decoder takes into an int32 or int64 (Clerk's integers are one of those,
        # so an integer without a format is an int64 too): past them, an offset of 10**21
        # would reach a list slice as no index Python has.
        width = _INT_RANGES.get(self.format or ("int64" if self.kind == "integer" else ""))
        if width is not None:
            low = width[0] if low is None else max(low, width[0])
            high = width[1] if high is None else min(high, width[1])
        if low is not None and (value <= low if self.exclusive_minimum else value < low):
            bound = f"greater than {low:g}" if self.exclusive_minimum else f"at least {low:g}"
        elif high is not None and value > high:
            bound = f"at most {high:g}"
        else:
            return None
        return error_detail(
            "form_param_value_invalid",
            "is invalid",
            f"{name} must be {bound}",
            param_name=name,
        )

    def from_text(self, text: str) -> Any:
        """A query or path value as the JSON value it stands for (or the text itself).

        An integer of more digits than any int64 has stays text (a type error), as Go's
        strconv refuses it; Python's int() would raise past 4,300 digits."""
        if len(text) > _MAX_NUMBER_TEXT:
            return text
        if self.kind == "integer" and _INTEGER.fullmatch(text):
            return int(text)
        if self.kind == "number" and _NUMBER.fullmatch(text):
            return int(text) if _INTEGER.fullmatch(text) else float(text)
        if self.kind == "boolean" and text in ("true", "false"):
            return text == "true"
        return text


@attrs.frozen
class Schema:
    """The parameters of a body (``additional``: the spec's additionalProperties) or URL."""

    fields: tuple[Field, ...]
    additional: bool = True
    in_url: bool = False  # values arrive as text: query parameters or path segments
    # The spec's anyOf/oneOf of required sets ({required: [domain]} | {required: [domains]}):
    # at least one set must be given in full.
    any_of: tuple[tuple[str, ...], ...] = ()

    def check(self, params: Mapping[str, Any], status: int) -> dict[str, Any]:
        """The known parameters that were given, or a ``FakeError`` with every problem."""
        given: dict[str, Any] = {}
        errors = self.problems(params, "", given)
        if errors:
            raise FakeError(status, errors)
        return given

    def problems(
        self, params: Mapping[str, Any], prefix: str, given: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        """Every problem of ``params``, named below ``prefix`` (``saml.``); the valid
        ones go into ``given``."""
        errors: list[dict[str, Any]] = []
        if not self.additional:
            known = {f.name for f in self.fields}
            errors.extend(
                error_detail(
                    "form_param_unknown",
                    "is unknown",
                    f"{prefix}{name} is not a valid parameter for this request.",
                    param_name=f"{prefix}{name}",
                )
                for name in params
                if name not in known
            )
        if self.any_of and not any(all(n in params for n in names) for names in self.any_of):
            choices = " or ".join(", ".join(names) for names in self.any_of)
            errors.append(
                error_detail(
                    "form_param_missing",
                    "is missing",
                    f"{choices} must be included.",
                    param_name=prefix + self.any_of[-1][0],
                )
            )
        for f in self.fields:
            value: Any = params.get(f.name, _MISSING)
            if self.in_url and f.kind in ("strings", "array") and hasattr(params, "getall"):
                value = list(params.getall(f.name, ())) or _MISSING  # repeated keys
            if value is _MISSING:
                if f.required:
                    errors.append(
                        error_detail(
                            "form_param_missing",
                            "is missing",
                            f"{prefix}{f.name} must be included.",
                            param_name=f"{prefix}{f.name}",
                        )
                    )
                continue
            if self.in_url and isinstance(value, str):
                value = f.from_text(value)
            found = f.problems(value, prefix + f.name)
            if found:
                errors.extend(found)
            elif given is not None:
                given[f.name] = value
        return errors


@attrs.frozen
class SpecOperation:
    """One operation as the spec declares it: what it accepts, what it answers."""

    method: str
    path: str  # the spec's, below /v1
    status: int  # the success status
    invalid_status: int  # 422 where the spec declares it for invalid input, else 400
    body_required: bool
    body_kind: Literal["object", "array", "form"] | None  # JSON object or array, multipart
    path_params: Schema | None
    query: Schema | None
    body: Schema | None
    answer: str | None  # the JSON text of a valid answer; None: the answer has no body
    echo: str | None = None  # the path parameter that is the answer's id (GET /users/{user_id})
    public: bool = False  # the spec's security is []: no key needed (GET /public/interstitial)

    def answer_for(self, params: Mapping[str, Any]) -> bytes | None:
        """The answer's JSON text, with the path's id in it where the answer names one."""
        if self.answer is None:
            return None
        value = params.get(self.echo) if self.echo is not None else None
        if not isinstance(value, str) or not _PRINTABLE_ID.fullmatch(value):
            return self.answer.encode()
        body = json.loads(self.answer)
        body["id"] = value
        return json.dumps(body, separators=(",", ":")).encode()

    def field(self, name: str) -> Field:
        """The body field ``name`` (where a limit of the spec is needed, e.g. scopes)."""
        assert self.body is not None
        return next(f for f in self.body.fields if f.name == name)
