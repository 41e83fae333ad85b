"""What every resource of FakeClerk's state shares: records, ids, errors, paging, merges.

A ``Record`` is one resource as Clerk sends it: its public attributes are the wire's
field names (``fake.users[uid].first_name``), and ``Record.json`` is its answer, built
at answer time, so an edit made through the API or by a test shows in the next answer.
Attributes starting with ``_`` are the fake's own (a password's hash, a creation sequence)
and never go on the wire nor into a repr.
"""

from __future__ import annotations

import itertools
import random
import string
import sys
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from clerk_async.testing._store import FakeError

if TYPE_CHECKING:
    from clerk_async.testing._state import State

__all__ = [
    "HANDLERS",
    "ITEMS",
    "Record",
    "deep_merge",
    "handler",
    "identifier_exists",
    "not_found",
    "page",
    "parse_time",
    "signed_ids",
]

_ALPHANUMERIC = string.ascii_letters + string.digits
_SEQUENCE = itertools.count()

Handler = Callable[["State", dict[str, Any]], Any]
# Where a handler finds the items of a JSON array body (bulk creates).
ITEMS = "_items"
# operationId -> what answers it from the state (the checked params in, the JSON out).
HANDLERS: dict[str, Handler] = {}
H = TypeVar("H", bound=Handler)


def handler(*operation_ids: str) -> Callable[[H], H]:
    """Register a function as the answer of the spec's ``operation_ids``."""

    def register(fn: H) -> H:
        for operation_id in operation_ids:
            assert operation_id not in HANDLERS, operation_id
            HANDLERS[operation_id] = fn
        return fn

    return register


class Record:
    """One resource: public attributes are its wire fields, in the spec's names.

    ``_computed`` names properties that go on the wire too (values that follow other
    resources, such as an organization's ``members_count``).
    """

    _computed: tuple[str, ...] = ()

    def __init__(self, **fields: Any) -> None:
        self.__dict__.update(fields)
        self._seq = next(_SEQUENCE)  # creation order, for created_at orderings and ties

    if TYPE_CHECKING:  # wire fields are set by name; mypy takes them as Any

        def __getattr__(self, name: str) -> Any: ...
        def __setattr__(self, name: str, value: Any) -> None: ...

    def json(self) -> dict[str, Any]:
        body = {k: _wire(v) for k, v in self.__dict__.items() if not k.startswith("_")}
        for name in self._computed:
            body[name] = _wire(getattr(self, name))
        return body

    def __repr__(self) -> str:
        shown = ", ".join(
            f"{k}={v!r}"
            for k, v in self.__dict__.items()
            if not k.startswith("_") and not isinstance(v, (list, dict))
        )
        return f"{type(self).__name__}({shown})"


def _wire(value: Any) -> Any:
    if isinstance(value, Record):
        return value.json()
    if isinstance(value, list):
        return [_wire(v) for v in value]
    return value


def word(rng: random.Random) -> str:
    """27 letters and digits, the body of Clerk's ids (``user_2x…``)."""
    return "".join(rng.choices(_ALPHANUMERIC, k=27))


def not_found(kind: str, resource_id: str) -> FakeError:
    return FakeError.one(
        404, "resource_not_found", "not found", f"No {kind} was found with id {resource_id}"
    )


def identifier_exists(param: str) -> FakeError:
    """Clerk's answer to an identifier another resource holds (email, phone, username...)."""
    label = param.replace("_", " ")
    return FakeError.one(
        422,
        "form_identifier_exists",
        f"That {label} is taken. Please try another.",
        f"That {label} is taken. Please try another.",
        param_name=param,
    )


def invalid(param: str, long_message: str, status: int = 422) -> FakeError:
    return FakeError.one(
        status, "form_param_value_invalid", "is invalid", long_message, param_name=param
    )


def parse_time(param: str, text: str) -> int:
    """An RFC 3339 date-time (``created_at``, ``legal_accepted_at``) as epoch ms."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise invalid(param, f"{param} must be an RFC 3339 date-time") from None
    if moment.tzinfo is None:
        raise invalid(param, f"{param} must carry a time zone (RFC 3339)")
    return int(moment.timestamp() * 1000)


def bulk(p: Mapping[str, Any], single: str, most: int) -> list[dict[str, Any]]:
    """The items of a bulk create, each checked as the body of the ``single`` operation
    (what the spec's item schema is), and their count against the spec's 1..``most``."""
    from clerk_async.testing._spec import OPERATIONS  # generated; it imports this package

    items = p.get(ITEMS) or []
    if not 1 <= len(items) <= most:
        raise FakeError.one(
            400,
            "request_body_invalid",
            "Request body invalid",
            f"The request body must hold 1 to {most} items, not {len(items)}.",
        )
    spec = OPERATIONS[single]
    assert spec.body is not None
    checked = []
    for item in items:
        if not isinstance(item, dict):
            raise FakeError.one(
                400,
                "request_body_invalid",
                "Request body invalid",
                "Each item of the request body must be a JSON object.",
            )
        checked.append(spec.body.check(item, spec.invalid_status))
    return checked


def deep_merge(current: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """Clerk's metadata merge: objects merge key by key, ``null`` removes a key, anything
    else replaces the old value."""
    merged = dict(current)
    for key, value in changes.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def signed_ids(values: Iterable[str]) -> tuple[set[str], set[str]]:
    """The spec's ``+id``/``-id`` lists (user_id, organization_id, external_id filters):
    the ids to include (plain or ``+``) and those to exclude (``-``)."""
    include: set[str] = set()
    exclude: set[str] = set()
    for value in values:
        if value.startswith("-"):
            exclude.add(value[1:])
        else:
            include.add(value.removeprefix("+"))
    return include, exclude


R = TypeVar("R", bound=Record)


def ordered(
    records: Iterable[R],
    order_by: str,
    keys: Mapping[str, Callable[[R], Any]],
    default: str = "-created_at",
) -> list[R]:
    """``records`` in Clerk's ``[+|-]field`` order; ties keep creation order.

    Values that are null sort last whatever the direction, as Clerk's database does with
    ``NULLS LAST``. An unknown field is a 422 naming the ones allowed.
    """
    order_by = order_by or default
    descending = order_by.startswith("-")
    field = order_by.lstrip("+-")
    if field == "created_at":
        found = sorted(records, key=lambda r: r._seq, reverse=descending)
        return found
    key = keys.get(field)
    if key is None:
        allowed = ", ".join(["created_at", *keys])
        raise invalid("order_by", f"order_by must be one of {allowed} (with + or -)")
    with_value = [(key(r), r) for r in records]
    present = [pair for pair in with_value if pair[0] is not None]
    missing = [r for value, r in with_value if value is None]
    present.sort(key=lambda pair: pair[1]._seq)
    present.sort(key=lambda pair: pair[0], reverse=descending)
    return [r for _, r in present] + sorted(missing, key=lambda r: r._seq)


T = TypeVar("T")


def page(records: Iterable[T], p: Mapping[str, Any]) -> list[T]:
    """The ``limit``/``offset`` window (defaults 10 and 0, as the spec's parameters)."""
    offset = int(p.get("offset") or 0)
    limit = int(p.get("limit") or 10)
    # islice takes no index past sys.maxsize: an int64 offset near the top is past any end.
    return list(itertools.islice(records, offset, min(offset + limit, sys.maxsize)))


def listed(records: list[R], p: Mapping[str, Any]) -> dict[str, Any]:
    """``{data, total_count}`` of one page, the total being that of every match."""
    return {"data": [r.json() for r in page(records, p)], "total_count": len(records)}
