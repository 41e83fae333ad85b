"""Building a request: params in, one frozen ``PreparedRequest`` out. Pure.

Nothing here does I/O or knows the client: ``prepare`` (a generated operation's
params) and ``prepare_raw`` (the escape hatch, ``clerk.request``) turn what the caller
gave into the value ``clerk_async._transport.Transport.send`` sends, and can be tested
without a socket. Each params field says where it goes (see ``clerk_async._convert.param``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import lru_cache
from string import Formatter
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import quote, unquote

from yarl import URL

from clerk_async import _json
from clerk_async._convert import UNSET, RequestPlan, request_plan
from clerk_async._ratelimit import bucket_for, bucket_for_path, keyed
from clerk_async._upload import Upload, form_body
from clerk_async.errors import ClerkValidationError

if TYPE_CHECKING:
    from clerk_async.models.common import Params

__all__ = [
    "PreparedRequest",
    "check_raw_path",
    "prepare",
    "prepare_raw",
    "query_values",
]

# Operations that change nothing more when repeated. POSTs are not, unless a service says so.
_IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "PATCH", "DELETE"})
# Methods whose request always carries a JSON object, even an empty one.
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_ESCAPE_HATCH_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"})
_NO_VALUES: Mapping[str, str] = {}


class PreparedRequest(NamedTuple):
    """Everything about one request that does not depend on the client: what to send,
    what comes back, whether a retry is safe and which limits it counts against.

    A tuple, so immutable and cheap to build (it is built on every call).
    """

    method: str
    template: str
    """The spec's path, ``/machines/{machine_id}``: the endpoint's name in pauses and errors."""
    path: str
    """The template filled with ``path_values``, already escaped: ``/machines/mch_1``."""
    path_values: Mapping[str, str]
    """Each path parameter's wire name and its escaped segment."""
    query: Mapping[str, str | list[str]] | None
    body: bytes | None
    headers: Mapping[str, str] | None
    """Headers of this request alone (a multipart body's Content-Type)."""
    answer: Any
    """The type the answer decodes to (``type(None)``: no body; ``Any``: plain JSON)."""
    idempotent: bool
    """Safe to retry after the server may have seen it."""
    route: str
    """``"PATCH /machines/{machine_id}"``: the limiter pauses this endpoint after a 429."""
    bucket: str | None
    """The per-object limit it also counts against (``"user:user_1"``), if any."""
    refused: ClerkValidationError | None = None
    """Why it must not be sent (a PATCH that changes nothing); ``send`` raises it after
    checking the call's options, since a misspelt field lands there and is the first
    thing to say."""
    upload: Upload | None = None
    """A multipart body whose files are not read yet: ``send`` reads it (off the loop,
    once) into ``body`` before the first attempt (``clerk_async._upload``)."""


class _Recipe:
    """What ``prepare`` works out once per operation and params class: where each field
    goes (the ``RequestPlan``), the template's pieces around its path parameters, the
    route, whether a per-object limit applies, the method's retry safety.

    Worth (with ``_new``): ``prepare`` of a ``machines.update`` 24,620 -> 19,820
    instructions; the whole call 543,673 -> 536,379 (``python -m
    benchmarks.instructions --concurrency 64``, default install).
    """

    __slots__ = ("idempotent", "json_body", "keyed", "pieces", "plan", "route", "tail")

    def __init__(self, method: str, template: str, cls: type, query: bool) -> None:
        self.plan = plan = request_plan(cls, query)
        self.route = method + " " + template
        self.idempotent = method in _IDEMPOTENT_METHODS
        self.keyed = keyed(method, template)
        # Body fields go to a JSON object; a POST/PUT/PATCH of hand-written params (their
        # fields say no location) sends one even when empty.
        self.json_body = bool(plan.body) or (method in _BODY_METHODS and not plan.declared)
        pieces = []
        literal = ""
        for text, wire, _, _ in Formatter().parse(template):
            literal += text
            if wire is not None:
                pieces.append((literal, wire))
                literal = ""
        self.pieces: tuple[tuple[str, str], ...] = tuple(pieces)
        self.tail = literal


# One per (template, method, params class, query); the hot path looks it up once a call.
_recipes: dict[tuple[str, str, type, bool], _Recipe] = {}
# PreparedRequest's own __new__ is a Python function that passes the values on to this
# (4,100 instructions a request, this: 2,400).
_new = tuple.__new__


def prepare(
    method: str,
    template: str,
    answer: Any,
    params: Params | None = None,
    *,
    query: bool = False,
    idempotent: bool | None = None,
) -> PreparedRequest:
    """The request for ``method template`` with ``params`` (validated attrs params).

    Path fields fill the template, each escaped as one segment; query fields go to the
    query string; body fields to the JSON body (or a multipart body, or the whole body);
    fields with no location (hand-written params) to the query (``query=True``) or the
    body. ``idempotent`` defaults to the method's safety.
    """
    if params is None:
        safe = method in _IDEMPOTENT_METHODS if idempotent is None else idempotent
        route = method + " " + template
        return _new(
            PreparedRequest,
            (
                method,
                template,
                template,
                _NO_VALUES,
                None,
                None,
                None,
                answer,
                safe,
                route,
                None,
                None,
                None,
            ),
        )
    key = (template, method, type(params), query)
    recipe = _recipes.get(key)
    if recipe is None:
        recipe = _recipes[key] = _Recipe(method, template, type(params), query)
    plan = recipe.plan
    path = template
    path_values = _NO_VALUES
    bucket: str | None = None
    body: bytes | None = None
    url_query: dict[str, str | list[str]] | None = None
    headers: Mapping[str, str] | None = None
    refused: ClerkValidationError | None = None
    upload: Upload | None = None
    if plan.path:
        path_values = {}
        for name, wire in plan.path:  # loops, not comprehensions: no extra frame
            path_values[wire] = _segment(getattr(params, name))
        path = ""
        for literal, wire in recipe.pieces:  # what format_map does, at half the cost
            path += literal + path_values[wire]
        path += recipe.tail
        if recipe.keyed:
            bucket = bucket_for(method, template, path_values)
    if plan.query:
        url_query = query_values((w, getattr(params, n)) for n, w in plan.query)
    if plan.whole is not None:
        body = _json.dumps(getattr(params, plan.whole))
    elif plan.form:
        fields = ((w, getattr(params, n)) for n, w in plan.form)
        upload, content_type = form_body(fields, _query_value)
        headers = {"Content-Type": content_type}
    elif recipe.json_body:
        values = {}
        for name, wire in plan.body:
            value = getattr(params, name)
            if value is not UNSET:
                values[wire] = value
        if not values and method == "PATCH" and plan.body:
            refused = _nothing_to_change(params, plan)
        body = _json.dumps(values)
    return _new(
        PreparedRequest,
        (
            method,
            template,
            path,
            path_values,
            url_query or None,
            body,
            headers,
            answer,
            recipe.idempotent if idempotent is None else idempotent,
            recipe.route,
            bucket,
            refused,
            upload,
        ),
    )


def prepare_raw(
    method: Any, path: Any, *, query: Mapping[str, Any] | None = None, json: Any = None
) -> PreparedRequest:
    """The escape hatch's request: ``method path`` as given, the decoded JSON back.

    ``path`` is checked not to leave ``base_url``; it keeps the method's retry safety and
    Clerk's per-object limits.
    """
    method = method.upper() if isinstance(method, str) else method
    if method not in _ESCAPE_HATCH_METHODS:
        allowed = ", ".join(sorted(_ESCAPE_HATCH_METHODS))
        raise ClerkValidationError("method", f"must be one of {allowed}, got {method!r}")
    checked = check_raw_path(path)
    url_query = None
    if query is not None:
        if not isinstance(query, Mapping) or not all(isinstance(k, str) for k in query):
            raise ClerkValidationError("query", "must be a mapping with string keys")
        url_query = query_values(query.items()) or None
    body = None
    if json is not None:
        try:
            body = _json.dumps(json)
        except (TypeError, ValueError) as exc:
            raise ClerkValidationError("json", f"is not JSON-serialisable: {exc}") from None
        except RecursionError:  # the stdlib's encoder on a cycle or a very deep value
            raise ClerkValidationError(
                "json", "is not JSON-serialisable: it contains itself or nests too deeply"
            ) from None
    return PreparedRequest(
        method,
        checked,
        URL(checked).raw_path,  # percent-encoded as yarl would send it
        _NO_VALUES,
        url_query,
        body,
        None,
        Any,
        method in _IDEMPOTENT_METHODS,
        method + " " + checked,
        bucket_for_path(method, checked),  # Clerk's per-object limits hold here too
    )


@lru_cache(maxsize=1024)
def _segment(value: str) -> str:
    """One URL path segment: ``a/b`` and ``%2e`` are escaped, never interpreted."""
    return quote(value, safe="")


def _query_value(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def query_values(pairs: Iterable[tuple[str, Any]]) -> dict[str, str | list[str]]:
    """A query string's values: a list goes out as repeated keys (``user_id=a&user_id=b``).

    Query strings have no null: a None (or UNSET) leaves the parameter out, which gives
    the server's default.
    """
    values: dict[str, str | list[str]] = {}
    for key, value in pairs:
        if value is None or value is UNSET:
            continue
        if isinstance(value, (list, tuple)):
            values[key] = [_query_value(item) for item in value]
        else:
            values[key] = _query_value(value)
    return values


def _nothing_to_change(params: Any, plan: RequestPlan) -> ClerkValidationError:
    names = ", ".join(name for name, _ in plan.body)
    field = plan.path[0][0] if plan.path else "params"
    return ClerkValidationError(
        field, f"nothing to change: give at least one of {names} ({type(params).__name__})"
    )


def check_raw_path(path: Any) -> str:
    """The escape hatch's path: relative to ``base_url``, with no way to climb out of it."""
    if not isinstance(path, str) or not path.startswith("/") or path.startswith("//"):
        raise ClerkValidationError("path", f"must start with one '/', got {path!r}")
    if any(c in path for c in "?#\\") or not path.isprintable():
        raise ClerkValidationError(
            "path", "must be a plain path: pass query parameters as query=, no '#' or '\\'"
        )
    # Decoded, as yarl reads them before it folds dot segments: ".%2e" is ".." too.
    if any(unquote(segment) in (".", "..") for segment in path.split("/")):
        raise ClerkValidationError("path", f"must not contain '.' or '..' segments: {path!r}")
    return path
