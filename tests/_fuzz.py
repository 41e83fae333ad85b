"""Hostile inputs for every public operation, and a harness that sends them to a FakeClerk.

The property (issue 11, item 5): whatever a caller passes, a call either succeeds or
raises a :class:`ClerkError`; no ``UnicodeEncodeError``, ``TypeError``, orjson or aiohttp
error escapes. ``tests/test_fuzz.py`` checks it with a few hundred examples per operation;
``python -m benchmarks.fuzz`` runs the big count.

Every example runs over real HTTP against one FakeClerk whose state is reset and seeded
the same way first (``seed=``): an example replays identically, so hypothesis can shrink.
"""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Callable, Coroutine
from decimal import Decimal
from typing import Any, TypeVar
from urllib.parse import quote

import aiohttp
import attrs
from hypothesis import strategies as st
from yarl import URL

from clerk_async import Clerk, RateLimit, RetryPolicy
from clerk_async.errors import ClerkAPIError, ClerkError
from clerk_async.pagination import AsyncPager
from clerk_async.testing import FakeClerk
from clerk_async.testing._app import ROUTES

T = TypeVar("T")

# --- the values ------------------------------------------------------------------------------

BIG = "x" * 10_000_000  # 10 MB
# Each is a case someone has hit: a path trick, an escape, a bad decode, a .env newline.
SPECIAL_STRINGS = (
    "",
    " ",
    ".",
    "..",
    "../",
    "../../machines",
    "/",
    "a/b",
    "%2e",
    "%2e%2e",
    "%2F",
    "%00",
    "?x=1",
    "#frag",
    "\x00",
    "a\x00b",
    "\r\n",
    "\n",
    "x\r\nX-Injected: 1",
    "\t",
    "\x7f",
    "\ud800",
    "\udfff",
    "a\ud800b",
    "\udcff",
    "é",
    "\u2028",
    "\ufeff",
    "\U0001f4a5",
    "null",
    "true",
    "0",
    "-1",
    "1e400",
    "[]",
    "{}",
    BIG,
    BIG[:-1] + "\ud800",
)
HUGE_INTS = (2**63, 2**64 - 1, 2**64, 10**30, 10**400, -(2**63) - 1, -(10**5000))
UNSENDABLE = ("\ud800", "a\udfffb", "\x00", "a\r\nb", "x\n", "\x7f", "../", "%2e%2e", "/")
INTS = (0, -1, 1, 60, 3600, 28_800, 28_801, 315_360_000, 315_360_001, 2**31, 2**53 + 1)
INTS += (2**63 - 1, 2**63, 2**64 - 1, 2**64, -(2**63), -(2**63) - 1, 10**400, -(10**5000))
FLOATS = (0.0, -0.0, 1e-300, 0.5, 2.5, 60.0, 3600.0, 3600.9, 1e15, 1e308, -1.0)
FLOATS += (float("inf"), float("-inf"), float("nan"))


def pick(values: tuple[Any, ...]) -> st.SearchStrategy[Any]:
    """``sampled_from(values)`` that never shows the values in its repr (10 MB strings,
    10**5000, whose repr raises, are among them)."""
    return st.sampled_from(range(len(values))).map(values.__getitem__)


any_text = st.text(st.characters(exclude_categories=()), max_size=40)  # surrogates too
hostile_text = st.one_of(pick(SPECIAL_STRINGS), any_text)
hostile_int = st.one_of(pick(INTS), st.integers())
hostile_float = st.one_of(pick(FLOATS), st.floats())
JUNK = (None, True, False, b"bytes", bytearray(b"x"), [], {}, (), set(), frozenset(), object())
JUNK += (Decimal("1.5"), Decimal("NaN"), 1j, int, print, Ellipsis, range(3))
junk = pick(JUNK)
scalar = st.one_of(hostile_text, hostile_int, hostile_float, junk)
# Nested junk for claims: non-str keys, sets, deep nesting, huge ints, NaN, surrogates.
_deep: list[Any] = []
_cursor = _deep
for _ in range(100):
    _cursor.append([])
    _cursor = _cursor[0]
_cycle: list[Any] = [1]
_cycle.append(_cycle)
claims_values = st.recursive(
    st.one_of(st.none(), st.booleans(), hostile_int, hostile_float, any_text, junk),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(any_text, st.sampled_from((1, None, (1, 2), "\ud800"))), inner),
        st.tuples(inner, inner),
        st.sets(st.integers(), max_size=3),
    ),
    max_leaves=12,
) | pick((_deep, _cycle, {"a": _deep}, {"big": BIG}))


def hostile(*plausible: Any) -> st.SearchStrategy[Any]:
    """A field's value: one that may pass (``plausible``) or anything else."""
    return weighted(pick(plausible), scalar, 0.7) if plausible else scalar


def weighted(
    often: st.SearchStrategy[Any], otherwise: st.SearchStrategy[Any], share: float
) -> st.SearchStrategy[Any]:
    """``often`` for ``share`` of the draws: a call must pass validation often enough to
    reach the server (``one_of`` would favour the simpler branch)."""
    return st.integers(0, 99).flatmap(lambda n: often if n < share * 100 else otherwise)


@attrs.frozen
class Arg:
    """An argument's values: ``good`` ones (that may pass) and ``bad`` ones (hostile)."""

    good: st.SearchStrategy[Any]
    bad: st.SearchStrategy[Any] = scalar

    @property
    def any(self) -> st.SearchStrategy[Any]:
        return weighted(self.good, self.bad, 0.7)


def arg(*plausible: Any) -> Arg:
    """Good values ``plausible``; bad ones mostly the classics of their type, else anything."""
    typed = [p for p in plausible if p is not None]  # None: the nullable ones
    # Branches, not one long list: hypothesis draws low indices of a list far more often.
    if all(isinstance(p, (int, float)) and not isinstance(p, bool) for p in typed):
        classics = st.one_of(pick(HUGE_INTS), pick(INTS), pick(FLOATS))
    elif all(isinstance(p, str) for p in typed):
        classics = st.one_of(pick(UNSENDABLE), pick(SPECIAL_STRINGS))
    else:
        return Arg(pick(plausible))
    return Arg(pick(plausible), weighted(classics, scalar, 0.6))


# --- the FakeClerk and what it holds -----------------------------------------------------------


@attrs.define
class World:
    """The ids and secrets of what :func:`populate` created (the same every time)."""

    machine: str = ""
    other: str = ""
    machine_key: str = ""
    token_id: str = ""
    token: str = ""
    api_key_id: str = ""
    api_key_secret: str = ""
    instance_key: str = ""


def populate(fake: FakeClerk) -> World:
    """Forget everything, then create the same machines, token and key as every time."""
    fake.reset()
    a = fake.add_machine("fuzz-a", default_token_ttl=3600)
    b = fake.add_machine("fuzz-b", scoped_machines=[a.id])
    token = fake.add_m2m_token(b.id, seconds_until_expiration=600, claims={"k": "v"})
    key = fake.add_api_key(a.id, "fuzz-key", claims={"role": "x"}, scopes=["read"])
    return World(
        a.id, b.id, b.secret_key, token.id, token.token, key.id, key.secret, fake.secret_key
    )


# --- the operations ----------------------------------------------------------------------------


@attrs.frozen
class Call:
    """One call to make: ``operation(*args, **kwargs)``; ``pages`` of a pager to walk."""

    operation: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    pages: int = 0

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:  # what hypothesis prints
        printer.text(repr(self))

    def __repr__(self) -> str:  # a failing example is printed: keep it short
        def short(value: Any) -> str:
            try:
                text = repr(value)
            except ValueError:  # an int of more than 4,300 digits
                return "<unprintable>"
            return text if len(text) <= 200 else text[:200] + f"...({len(text)} chars)"

        return f"Call({self.operation}, args={short(self.args)}, kwargs={short(self.kwargs)})"


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def call_strategy(
    operation: str, fields: dict[str, Arg], id_field: str | None, w: World
) -> st.SearchStrategy[Call]:
    """Calls of ``operation`` in each accepted form, with hostile values and options."""

    @st.composite
    def build(draw: st.DrawFn) -> Call:
        # One argument is attacked, the others mostly good: the attack gets past the
        # checks of the others, deep into the request path. Sometimes none is attacked.
        attacked = draw(st.sampled_from([None, *fields]))
        chosen = {
            name: draw(a.bad if name == attacked else weighted(a.good, a.bad, 0.9))
            for name, a in fields.items()
            if name == attacked or draw(st.integers(0, 3)) > 0  # others given 3 times in 4
        }
        form = draw(st.sampled_from(("kwargs", "positional", "mapping", "camel", "junk")))
        if id_field is not None and form in ("kwargs", "positional") and id_field not in chosen:
            chosen[id_field] = draw(fields[id_field].any)  # a required argument: else TypeError
        args: tuple[Any, ...] = ()
        kwargs: dict[str, Any] = {}
        if form == "positional" and id_field is not None and id_field in chosen:
            args = (chosen.pop(id_field),)
            kwargs = chosen
        elif form in ("mapping", "camel"):
            mapping = {camel(k) if form == "camel" else k: v for k, v in chosen.items()}
            if draw(st.integers(0, 9)) == 0:
                mapping[draw(hostile_text)] = draw(scalar)  # an unknown (or junk) key
            args = (mapping,)
        elif form == "junk":  # the first argument of the wrong type
            args = (draw(scalar),)
            if draw(st.booleans()):
                chosen.pop(id_field or "", None)  # else a TypeError from Python itself
                kwargs = chosen
        else:
            kwargs = chosen
        kwargs.update(draw(options(w)))
        if operation == "m2m.create_token" and draw(st.integers(0, 9)) < 7:
            kwargs.setdefault("machine_secret_key", w.machine_key)  # it needs one
        pages = draw(st.integers(0, 3))
        return Call(operation, args, kwargs, pages)

    return build()


def options(w: World) -> st.SearchStrategy[dict[str, Any]]:
    header_names = st.sampled_from(
        ("X-Trace", "X Bad", "", "é", "X\r\nY", "\ud800", "Authorization")
    )
    values = {
        "timeout": hostile(5.0, 10),
        "deadline": hostile(5.0, 30),
        "max_retries": hostile(0, 1),
        "retry": hostile(RetryPolicy(max_retries=0)),
        "extra_headers": st.one_of(
            st.dictionaries(st.one_of(header_names, hostile_text), hostile("v", "sk_x\n")),
            scalar,
        ),
        "machine_secret_key": hostile(w.machine_key, w.machine_key + "\n", w.instance_key),
        "nmae": st.just("typo"),  # unknown options must be refused
        "defaultTokenTtl": st.just(60),
    }
    option = st.one_of([st.tuples(st.just(name), v) for name, v in values.items()])
    # Mostly none, else one or two: a bad option fails the call before anything else.
    return st.one_of(st.just({}), st.just({}), st.lists(option, max_size=2).map(dict))


def ids(*valid: str) -> Arg:
    suffixed = tuple(v + s for v in valid for s in ("\n", "/..", "%2e", "\ud800", " "))
    bad = weighted(pick(suffixed), weighted(pick(SPECIAL_STRINGS), scalar, 0.5), 0.4)
    return Arg(pick(valid), bad)


def operations(w: World) -> dict[str, st.SearchStrategy[Call]]:
    """Every public operation of clerk.machines, clerk.m2m and clerk.api_keys (22)."""
    machine = ids(w.machine, w.other, "mch_" + "0" * 27)
    api_key = ids(w.api_key_id, "ak_" + "0" * 32)
    subject = ids(w.machine, w.other, "user_" + "a" * 27)
    name = arg("renamed", "é-name", "a" * 255, "a" * 256, " padded ")
    ttl = arg(60, 3600, 315_360_000)
    seconds = arg(60, 0.5, 3600.0, None)
    claims = Arg(pick(({"a": 1}, None, [], {"n": {"k": [1, 2.5, True]}})), claims_values)
    scopes = Arg(
        pick((["read"], [], ["a", "b"])), st.one_of(st.lists(hostile_text, max_size=3), scalar)
    )
    reason = arg("compromised", None)
    limit = arg(1, 10, 100, 500, 501)
    offset = arg(0, 1, 10_000, None)

    def op(
        name_: str, id_field: str | None = None, **fields: Arg
    ) -> tuple[str, st.SearchStrategy[Call]]:
        return name_, call_strategy(name_, fields, id_field, w)

    table = dict(
        (
            op("machines.get", "machine_id", machine_id=machine),
            op("machines.create", None, name=name, scoped_machines=scopes, default_token_ttl=ttl),
            op(
                "machines.update",
                "machine_id",
                machine_id=machine,
                name=name,
                default_token_ttl=ttl,
            ),
            op("machines.delete", "machine_id", machine_id=machine),
            op("machines.get_secret_key", "machine_id", machine_id=machine),
            op(
                "machines.rotate_secret_key",
                "machine_id",
                machine_id=machine,
                previous_token_ttl=arg(0, 60, 28_800),
            ),
            op("machines.create_scope", "machine_id", machine_id=machine, to_machine_id=machine),
            op("machines.delete_scope", "machine_id", machine_id=machine, other_machine_id=machine),
            op(
                "machines.list",
                None,
                limit=limit,
                offset=offset,
                query=arg("fuzz", w.machine),
                order_by=arg("name", "-created_at"),
            ),
            op(
                "m2m.create_token",
                None,
                token_format=arg("opaque", "jwt"),
                seconds_until_expiration=seconds,
                claims=claims,
                min_remaining_ttl_seconds=arg(0, 30),
            ),
            op(
                "m2m.list_tokens",
                "subject",
                subject=ids(w.other, w.machine),
                revoked=arg(True, False, None),
                expired=arg(True, False, None),
                limit=limit,
                offset=offset,
            ),
            op(
                "m2m.revoke_token",
                "m2m_token_id",
                m2m_token_id=ids(w.token_id, "mt_" + "0" * 32),
                revocation_reason=reason,
            ),
            op("m2m.verify_token", "token", token=ids(w.token, "mt_x")),
            op(
                "api_keys.create",
                None,
                name=name,
                subject=subject,
                type=arg("api_key", "x" * 26),
                description=arg("d", None),
                claims=claims,
                scopes=scopes,
                created_by=arg("user_" + "a" * 27, None),
                seconds_until_expiration=seconds,
            ),
            op("api_keys.get", "api_key_id", api_key_id=api_key),
            op(
                "api_keys.update",
                "api_key_id",
                api_key_id=api_key,
                claims=claims,
                scopes=scopes,
                description=arg("d", None),
                subject=subject,
                seconds_until_expiration=seconds,
            ),
            op("api_keys.delete", "api_key_id", api_key_id=api_key),
            op("api_keys.get_secret", "api_key_id", api_key_id=api_key),
            op("api_keys.revoke", "api_key_id", api_key_id=api_key, revocation_reason=reason),
            op("api_keys.verify", "secret", secret=ids(w.api_key_secret, "ak_x")),
            op(
                "api_keys.list",
                "subject",
                subject=subject,
                type=arg("api_key"),
                include_invalid=arg(True, False),
                limit=limit,
                offset=offset,
                query=arg("fuzz"),
            ),
        )
    )
    table["machines.update_many"] = update_many_calls(w, machine.any, name.any, ttl.any)
    return table


def update_many_calls(
    w: World, machine: st.SearchStrategy[Any], name: st.SearchStrategy[Any], ttl: Any
) -> st.SearchStrategy[Call]:
    item = st.one_of(
        st.fixed_dictionaries(
            {"machine_id": machine}, optional={"name": name, "default_token_ttl": ttl}
        ),
        st.fixed_dictionaries({"machineId": machine}, optional={"defaultTokenTtl": ttl}),
        st.tuples(machine, st.fixed_dictionaries({}, optional={"name": name})),
        st.tuples(machine, scalar),
        machine,
        scalar,
    )
    return st.builds(
        lambda items, concurrency, opts: Call(
            "machines.update_many", (items,), {"concurrency": concurrency, **opts}
        ),
        st.lists(item, max_size=8),
        hostile(1, 4, 32),
        options(w),
    )


BAD_PORT = "http://127.0.0.1:1/v1"  # nothing listens there: a connection error


def configs(w: World, url: str) -> st.SearchStrategy[dict[str, Any]]:
    """``Clerk(**config)`` keyword arguments, hostile, for a client of the FakeClerk at ``url``."""
    key = w.instance_key

    def hostile(*plausible: Any) -> st.SearchStrategy[Any]:  # here: one bad argument is enough
        return weighted(pick(plausible), scalar, 0.9)

    headers = st.dictionaries(
        st.one_of(st.sampled_from(("X-Trace", "X Bad", "", "é", "\ud800")), hostile_text),
        hostile("v", "a\r\nb", "x\n"),
        max_size=2,
    )
    return st.fixed_dictionaries(
        {
            "base_url": weighted(st.just(url), pick(("ftp://x", "http://[::1", BAD_PORT)), 0.8),
            "secret_key": weighted(
                st.just(key),
                hostile(key + "\n", " " + key, None, "", "sk_live_x", "sk_\ud800"),
                0.7,
            ),
        },
        optional={
            "machine_secret_key": hostile(w.machine_key, w.machine_key + "\r\n", None),
            "timeout": hostile(5.0, aiohttp.ClientTimeout(total=5)),
            "deadline": hostile(10.0),
            "retry": hostile(RetryPolicy(max_retries=0), None),
            "max_retries": hostile(0, 1, None),
            "rate_limit": hostile(None, "auto", RateLimit(1000, 1.0)),
            "max_connections": hostile(1, 10),
            "trace_configs": hostile([], None, [aiohttp.TraceConfig()]),
            "default_headers": st.one_of(headers, scalar),
            "api_version": hostile("2026-05-12", "2021-02-05", "2026-05-12\n"),
            "session": hostile(None),
        },
    )


async def with_config(config: dict[str, Any], w: World) -> Any:
    """Build a client from ``config`` and make one call with it."""
    async with Clerk(**config) as clerk:
        return await clerk.machines.get(w.machine, timeout=5.0, deadline=10.0)


# --- raw HTTP to FakeClerk (item 12: it answers 2xx or 4xx, never an unplanned 5xx) -----


def _percent(data: bytes) -> str:
    return "".join(f"%{byte:02X}" for byte in data)


def _url_text(text: str) -> str:
    """``text`` percent-encoded byte by byte (a lone surrogate as its CESU bytes)."""
    return quote(text.encode("utf-8", "surrogatepass"), safe="")


json_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    pick((2**63, 2**64, -(2**63) - 1, 10**30, 10**100)),
    st.floats(),
    pick((1e308, 1e-320)),
    any_text,
)
json_values = st.recursive(
    json_leaf,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(any_text, inner, max_size=3),
    max_leaves=8,
)
RAW_BODIES = (b"", b"null", b"[]", b'"x"', b"1", b"{", b"\xff\xfe", b"{}" * 2, b"[" * 100_000)
RAW_BODIES += (b'{"a": NaN}', b'{"a": Infinity}', b'{"a": 1' + b"0" * 5000 + b"}")
RAW_BODIES += (b'{"a": "\\ud800"}', b"\x00", b"x" * 2_000_000)


def _query_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value) if isinstance(value, (int, float)) else json.dumps(value)


@attrs.frozen
class RawRequest:
    method: str
    path: str  # already percent-encoded
    headers: dict[str, str]
    body: bytes | None

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:  # what hypothesis prints
        printer.text(repr(self))

    def __repr__(self) -> str:
        body = self.body if self.body is None or len(self.body) < 200 else self.body[:200]
        return f"RawRequest({self.method} {self.path[:300]} {self.headers} body={body!r})"


def raw_requests(w: World, route_index: int) -> st.SearchStrategy[RawRequest]:
    """Requests aimed at one route of FakeClerk, hostile in every part."""
    route = ROUTES[route_index]
    known = (w.machine, w.other, w.token_id, w.api_key_id, "mch_" + "0" * 27)
    segment = st.one_of(
        pick(known),
        pick(known),
        hostile_text.filter(lambda t: len(t) < 10_000).map(_url_text),
        st.binary(max_size=16).map(_percent),
        pick(("..", ".", "%2e%2e", "%2E", "%00", "%FF", "%ED%A0%80", "", "a%2Fb", "%25")),
    )
    names = [f.name for schema in (route.query, route.body) if schema for f in schema.fields]
    key_text = st.one_of(st.sampled_from(names or ["x"]), any_text)
    # Values that may pass, so that requests get past validation to the store too.
    plausible = {
        "name": ("renamed", "a" * 256),
        "default_token_ttl": (60, 0),
        "scoped_machines": ([w.other], [w.machine, w.machine]),
        "previous_token_ttl": (0, 60),
        "to_machine_id": (w.other, w.machine),
        "token_format": ("opaque", "jwt"),
        "seconds_until_expiration": (60, 0.5, 1e308, 1e-300, None),
        "claims": ({"a": 1}, None, [1]),
        "min_remaining_ttl_seconds": (0, 30, 10**6),
        "token": (w.token,),
        "secret": (w.api_key_secret,),
        "subject": (w.machine, w.other, "user_" + "a" * 27),
        "type": ("api_key",),
        "description": ("d", None),
        "scopes": (["read"], []),
        "created_by": ("user_" + "a" * 27, None),
        "revocation_reason": ("r", None),
        "limit": (1, 10, 2.5, 100),
        "offset": (0, 1, 1.5, 10**30),
        "query": ("fuzz", w.machine),
        "order_by": ("name", "-created_at"),
        "revoked": (True, False),
        "expired": (True, False),
        "include_invalid": ("true", "false"),
    }
    field_values = {
        name: st.one_of(
            pick(plausible.get(name, (None,))), pick(plausible.get(name, (1,))), json_values
        )
        for name in names
    }
    fields_of = st.fixed_dictionaries({}, optional=field_values) if field_values else st.just({})

    @st.composite
    def build(draw: st.DrawFn) -> RawRequest:
        path = route.path
        while "{" in path:
            head, _, rest = path.partition("{")
            path = head + draw(segment) + rest.partition("}")[2]
        path = draw(st.sampled_from(("/v1", "/v1", "/v1", "", "/v1/", "/v2"))) + path
        pairs = list(draw(fields_of).items()) if route.query is not None else []
        if not draw(st.integers(0, 3)):
            pairs += draw(
                st.lists(st.tuples(key_text, st.one_of(hostile_text, json_leaf)), max_size=2)
            )
        if pairs:
            path += "?" + "&".join(
                _url_text(k) + "=" + _url_text(v if isinstance(v, str) else _query_text(v))
                for k, v in pairs
                if not isinstance(v, str) or len(v) < 10_000
            )
        headers = {}
        key = w.machine_key if route.auth == "machine" else w.instance_key
        auth = draw(
            st.one_of(
                st.just(f"Bearer {key}"),
                st.just(f"Bearer {key}"),
                st.just(f"Bearer {key}"),
                st.just(f"Bearer {key}"),
                pick((f"Bearer {w.instance_key}", f"Bearer {w.machine_key}", "Bearer", "Basic x")),
                pick((f"bearer  {w.instance_key}", "Bearer \u00e9", f"Bearer {w.instance_key}x")),
                header_text,
            )
        )
        if auth:
            headers["Authorization"] = auth
        for name, values in (
            ("Clerk-API-Version", pick(("2026-05-12", "2021-02-05", "1999-01-01", ""))),
            ("Content-Type", pick(("application/json", "text/plain", "multipart/form-data"))),
            ("Content-Encoding", pick(("gzip", "deflate", "br", "identity"))),
        ):
            if draw(st.integers(0, 7)) == 0:
                headers[name] = draw(st.one_of(values, header_text))
        body_kind = draw(st.integers(0, 4))
        if body_kind == 0:
            body = None
        elif body_kind == 1:
            body = draw(st.one_of(pick(RAW_BODIES), st.binary(max_size=64)))
        else:
            fields = draw(fields_of)
            if not draw(st.integers(0, 3)):
                fields.update(draw(st.dictionaries(key_text, json_values, max_size=2)))
            body = json.dumps(fields if draw(st.integers(0, 4)) else draw(json_values))
            body = body.encode()
        method = route.method if draw(st.integers(0, 4)) else draw(pick(METHODS))
        return RawRequest(method, path, headers, body)

    return build()


METHODS = ("GET", "POST", "PATCH", "DELETE", "PUT", "HEAD", "OPTIONS", "TRACE", "FOO")
# aiohttp's client refuses CR, LF and NUL in a header value; the rest is fair game.
header_text = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0x2FF, exclude_characters="\x7f"),
    max_size=30,
)


async def send_raw(session: aiohttp.ClientSession, base: str, request: RawRequest) -> int:
    """Send ``request`` to the FakeClerk at ``base`` (its root, without /v1); the status."""
    url = URL(base + request.path, encoded=True)
    try:
        return await _send_raw(session, url, request)
    except aiohttp.ClientResponseError as exc:  # aiohttp's own 400 with a body, to a HEAD
        return exc.status


async def _send_raw(session: aiohttp.ClientSession, url: URL, request: RawRequest) -> int:
    body = request.body
    async with session.request(
        request.method,
        url,
        # aiohttp warns on large raw bytes (they are written in one go): a stream is not.
        data=io.BytesIO(body) if body is not None and len(body) > 2**16 else body,
        headers=request.headers,
        skip_auto_headers=("Content-Type", "User-Agent", "Accept-Encoding"),
        allow_redirects=False,
    ) as response:
        await response.read()
        return response.status


# --- running a call ------------------------------------------------------------------------------


async def perform(clerk: Clerk, call: Call) -> Any:
    """Make the call; a pager is awaited for its first page, then walked for ``pages``."""
    service, _, method = call.operation.partition(".")
    target: Callable[..., Any] = getattr(getattr(clerk, service), method)
    if call.operation == "machines.update_many":
        items = call.args[0]
        batch = target(*call.args, **call.kwargs)
        results = await batch.collect()
        # One bad item fails that item only: every input has its result.
        assert sorted(r.index for r in results) == list(range(len(items))), results
        for result in results:
            assert result.error is None or isinstance(result.error, ClerkError)
        return results
    result = target(*call.args, **call.kwargs)
    if isinstance(result, AsyncPager):
        page = await result
        if call.pages:
            seen = 0
            async for _ in result:
                seen += 1
                if seen >= call.pages:
                    break
        return page
    return await result


class Harness:
    """A FakeClerk and a client on an event loop of their own, driven synchronously.

    Hypothesis runs examples synchronously; each one runs to completion on this loop.
    """

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.fake = FakeClerk(rate_limit=None, seed=11)
        self.run(self.fake.start())
        self.world = populate(self.fake)
        # No retries and short limits: an example never waits (FakeClerk answers no 5xx).
        self.clerk = self.fake.client(retry=RetryPolicy(max_retries=0), timeout=30.0)
        self.run(self.clerk.__aenter__())
        self.session = self.run(_session())
        self.root = self.fake.url.removesuffix("/v1")

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(coro)

    def call(self, call: Call) -> BaseException | None:
        """Reset the fake, make ``call``; the exception it raised, if any."""
        populate(self.fake)
        try:
            self.run(asyncio.wait_for(perform(self.clerk, call), 60))
        except Exception as exc:
            return exc
        return None

    def config(self, config: dict[str, Any]) -> BaseException | None:
        """Reset the fake, build a client from ``config``, make one call with it."""
        populate(self.fake)
        try:
            self.run(asyncio.wait_for(with_config(config, self.world), 60))
        except Exception as exc:
            return exc
        return None

    def raw(self, request: RawRequest) -> int:
        """Reset the fake, send ``request`` to it; the status it answered."""
        populate(self.fake)
        return self.run(asyncio.wait_for(send_raw(self.session, self.root, request), 60))

    def close(self) -> None:
        self.run(self.session.close())
        self.run(self.clerk.aclose())
        self.run(self.fake.close())
        self.run(self.loop.shutdown_asyncgens())
        self.loop.close()


async def _session() -> aiohttp.ClientSession:
    # A connection per request: one hostile request cannot leave the next a broken one.
    connector = aiohttp.TCPConnector(force_close=True)
    return aiohttp.ClientSession(connector=connector, auto_decompress=False)


def problem(exc: BaseException | None) -> str | None:
    """What is wrong with how a call ended, or None: it succeeded or raised a ClerkError
    that is not a 5xx (FakeClerk answers one only when a fault was asked for)."""
    if exc is None:
        return None
    if not isinstance(exc, ClerkError):
        return f"foreign exception {type(exc).__name__}"
    if isinstance(exc, ClerkAPIError) and exc.status >= 500:
        return f"FakeClerk answered {exc.status}"
    return None
