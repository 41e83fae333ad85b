"""FakeClerk accepts exactly what Clerk's spec accepts (issue 4's acceptance test).

Each row below is one raw HTTP request to a machine-auth endpoint (machines, M2M tokens,
API keys), sent with bare aiohttp to both Prism, which validates requests against
``spec/clerk-bapi-2026-05-12.yml``, and FakeClerk. Only the verdict is compared:
*accepted* (2xx) or *rejected* as invalid input (Prism: 400/422; FakeClerk: 400/422 with a
``ClerkErrors`` body of form/body error codes). Anything else (401, 404, 409, 5xx) means the
row or its seeding is broken and fails the test.

Every row also states the verdict the spec calls for (``ok``/``bad``), so agreement alone
does not pass a row. Where Prism cannot see a constraint the spec states, the row says
``prism_blind=True`` and ``why``; FakeClerk is then held to the spec, and Prism is asserted
to still be blind there, so that a mark goes stale loudly when Prism learns to see.

Ids and secrets in rows are placeholders (``$MID``, ``$TID``...): for Prism, which mocks,
any pattern-valid value works; for FakeClerk they are resources seeded per row, so that a
valid request gets a 2xx rather than a 404. Each row gets a fresh FakeClerk, so rows that
delete or revoke do not disturb each other.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any, Literal

import aiohttp
import attrs
import pytest

from clerk_async.testing import FakeClerk

pytestmark = pytest.mark.prism

Verdict = Literal["accepted", "rejected", "other"]

MID = "mch_2xhFjEI5X2qWRvtV13BzSj8H6Dk"  # seeded; scoped to MID2
MID2 = "mch_2yGkLpQ7Y3rXSwtU24CzTk9I7Em"
MID3 = "mch_2zHmMqR8Z4sYTxuV35DaUl0J8Fn"  # seeded; not in MID's scopes
UID = "user_2xhFjEI5X2qWRvtV13BzSj8H6Dk"
POOL = 150  # machines seeded for the maxItems boundary of scoped_machines

# What Prism gets for the placeholders (FakeClerk gets its seeded resources).
PRISM_VALUES: dict[str, Any] = {
    "$MID": MID,
    "$MID2": MID2,
    "$MID3": MID3,
    "$TID": "mt_f7f0ba8c3b4843ce7d85fcdd5e71853e",
    "$TOKEN": "mt_secret_token_value",
    "$AKID": "ak_3beecc9c60adb5f9b850e91a8ee1e992",
    "$SECRET": "ak_secret_value",
    "$POOL": [f"mch_{i:027d}" for i in range(POOL)],
}
PRISM_KEY = "sk_test_" + "0123456789abcdef" * 2

# FakeClerk's error codes for invalid input (see clerk_async.testing's docstring).
VALIDATION_CODES = frozenset(
    {
        "form_param_missing",
        "form_param_unknown",
        "form_param_type_invalid",
        "form_param_format_invalid",
        "form_param_value_invalid",
        "form_param_min_length_exceeded",
        "form_param_max_length_exceeded",
        "form_param_array_size_exceeded",
        "request_body_invalid",
    }
)


class _NoBody:
    def __repr__(self) -> str:
        return "NO_BODY"


NO_BODY: Any = _NoBody()  # a row without a request body

# -- why Prism misses some invalid requests ---------------------------------------------

# Spec, createM2MToken, createApiKey and updateApiKey bodies: `claims: {nullable: true}`
# (no `type`). Prism 5.14.2 hands the body schema to ajv, which refuses to compile it
# ('"nullable" cannot be used without "type"'); Prism's validateAgainstSchema swallows
# that error (O.tryCatch) and reports no violations, so it checks nothing in these
# bodies: not types, ranges, enums, patterns, required fields, nor additionalProperties.
# (It still checks `requestBody.required` and that the JSON parses.)
CLAIMS_BLIND = "Prism skips this body: ajv cannot compile `claims: {nullable: true}`"

# OpenAPI 3.0.3 (the spec's version), Data Types: "Note that integer as a type is also
# supported and is defined as a JSON number without a fraction or exponent part."
# Prism/ajv check Number.isInteger on the parsed value, so 60.0 passes there.
FRACTION_BLIND = "OAS 3.0.3: an integer is 'a JSON number without a fraction'; ajv sees 60"

# Spec, ListMachines `order_by` (type string, no enum): "You can order the returned
# machines by their `name` or `created_at`. To specify the direction, use the `+` or `-`
# symbols prepended to the property to order by." Prism checks only the schema; the
# allowed values are stated in prose, and FakeClerk holds to them (422 otherwise).
ORDER_BY_BLIND = "order_by values are stated in the spec's prose, not in an enum"

# Spec, CreateMachine / CreateMachineScope: the body schema has `required: [name]` /
# `required: [to_machine_id]`, but the requestBody itself lacks `required: true`, so
# Prism validates nothing when the body is absent. A judgment call: the schema's
# `required` says a machine needs a name and a scope its target, and FakeClerk, reading an
# absent body as `{}`, answers 422 form_param_missing rather than inventing them.
ABSENT_BODY_BLIND = "requestBody lacks `required: true`, so Prism skips `required: [...]`"

# OpenAPI 3.0.3, Schema Object: "pattern (This string SHOULD be a valid regular
# expression, according to the Ecma-262 Edition 5.1 regular expression dialect)". In
# ECMAScript `.` matches no line terminator (\n, \r, \u2028, \u2029) and \s includes
# \ufeff, so createApiKey's name pattern ^(\S(.*\S)?)?$ refuses "a\rb" and "abc\ufeff".
# Prism would see that (ajv uses ECMAScript regexes) but skips this body (CLAIMS_BLIND).
ECMA_BLIND = "ECMAScript `.` and \\s in the name pattern; Prism skips the body (claims)"


@attrs.frozen
class Row:
    """One raw request and the verdict the spec calls for."""

    name: str
    expect: Literal["ok", "bad"]
    method: str
    path: str  # below /v1, with placeholders
    query: tuple[tuple[str, str], ...] = ()
    json: Any = NO_BODY  # a JSON value with placeholders, or NO_BODY
    raw: bytes | None = None  # sent as-is with Content-Type: application/json
    machine_key: bool = False  # FakeClerk: authenticate with MID's secret key
    prism_blind: bool = False
    why: str = ""


def ok(name: str, method: str, path: str, **kwargs: Any) -> Row:
    return Row(name, "ok", method, path, **kwargs)


def bad(name: str, method: str, path: str, **kwargs: Any) -> Row:
    return Row(name, "bad", method, path, **kwargs)


def blind(row: Row, why: str) -> Row:
    return attrs.evolve(row, prism_blind=True, why=why)


def q(**params: str) -> tuple[tuple[str, str], ...]:
    return tuple(params.items())


NAME_255 = "n" * 255
NAME_256 = "n" * 256
MALFORMED = b'{"name": "x",'
TTL_MAX = 315_360_000
SUB = "$MID"  # the subject of GET /m2m_tokens
WORD27 = "2xhFjEI5X2qWRvtV13BzSj8H6Dk"

MACHINE_ROWS = [
    # GET /machines: LimitParameter (integer, 1..500), OffsetParameter (integer, >= 0)
    ok("list", "GET", "/machines"),
    ok("list limit=1", "GET", "/machines", query=q(limit="1")),
    ok("list limit=500", "GET", "/machines", query=q(limit="500")),
    bad("list limit=0", "GET", "/machines", query=q(limit="0")),
    bad("list limit=501", "GET", "/machines", query=q(limit="501")),
    bad("list limit=60.5", "GET", "/machines", query=q(limit="60.5")),
    blind(bad("list limit=10.0", "GET", "/machines", query=q(limit="10.0")), FRACTION_BLIND),
    bad("list limit=ten", "GET", "/machines", query=q(limit="ten")),
    bad("list limit=Arabic-Indic 3", "GET", "/machines", query=q(limit="\u0663")),
    ok("list offset=0", "GET", "/machines", query=q(offset="0")),
    bad("list offset=-1", "GET", "/machines", query=q(offset="-1")),
    ok("list order_by=-name", "GET", "/machines", query=q(order_by="-name")),
    ok("list order_by=+created_at", "GET", "/machines", query=q(order_by="+created_at")),
    blind(bad("list order_by=size", "GET", "/machines", query=q(order_by="size")), ORDER_BY_BLIND),
    ok("list query", "GET", "/machines", query=q(query="billing")),
    # POST /machines: name (1..255 chars, required), scoped_machines (<= 150 strings),
    # default_token_ttl (integer, 1..315360000); additionalProperties not restricted.
    ok("create", "POST", "/machines", json={"name": "billing-worker"}),
    ok(
        "create all fields",
        "POST",
        "/machines",
        json={"name": "w", "scoped_machines": ["$MID2"], "default_token_ttl": 3600},
    ),
    ok("create name 255", "POST", "/machines", json={"name": NAME_255}),
    bad("create name 256", "POST", "/machines", json={"name": NAME_256}),
    bad("create name empty", "POST", "/machines", json={"name": ""}),
    bad("create name missing", "POST", "/machines", json={}),
    bad("create name 42", "POST", "/machines", json={"name": 42}),
    bad("create name null", "POST", "/machines", json={"name": None}),
    ok("create unknown field", "POST", "/machines", json={"name": "w", "colour": "red"}),
    ok("create ttl=1", "POST", "/machines", json={"name": "w", "default_token_ttl": 1}),
    ok("create ttl=max", "POST", "/machines", json={"name": "w", "default_token_ttl": TTL_MAX}),
    bad("create ttl=0", "POST", "/machines", json={"name": "w", "default_token_ttl": 0}),
    bad(
        "create ttl=max+1",
        "POST",
        "/machines",
        json={"name": "w", "default_token_ttl": TTL_MAX + 1},
    ),
    bad("create ttl='60'", "POST", "/machines", json={"name": "w", "default_token_ttl": "60"}),
    bad("create ttl=true", "POST", "/machines", json={"name": "w", "default_token_ttl": True}),
    bad("create ttl=60.5", "POST", "/machines", json={"name": "w", "default_token_ttl": 60.5}),
    blind(
        bad("create ttl=60.0", "POST", "/machines", json={"name": "w", "default_token_ttl": 60.0}),
        FRACTION_BLIND,
    ),
    ok("create 150 scopes", "POST", "/machines", json={"name": "w", "scoped_machines": "$POOL"}),
    bad(
        "create 151 scopes",
        "POST",
        "/machines",
        json={"name": "w", "scoped_machines": ["$MID2"] * 151},
    ),
    bad("create scopes not array", "POST", "/machines", json={"name": "w", "scoped_machines": "x"}),
    bad("create scopes [1]", "POST", "/machines", json={"name": "w", "scoped_machines": [1]}),
    bad("create body is array", "POST", "/machines", json=[{"name": "w"}]),
    bad("create malformed JSON", "POST", "/machines", raw=MALFORMED),
    blind(bad("create no body", "POST", "/machines"), ABSENT_BODY_BLIND),
    # GET, PATCH, DELETE /machines/{machine_id}; GET .../secret_key (no body, any id)
    ok("get", "GET", "/machines/$MID"),
    ok("delete", "DELETE", "/machines/$MID"),
    ok("get secret key", "GET", "/machines/$MID/secret_key"),
    ok("update name", "PATCH", "/machines/$MID", json={"name": "ledger"}),
    ok("update empty object", "PATCH", "/machines/$MID", json={}),
    ok("update no body", "PATCH", "/machines/$MID"),  # requestBody optional, no required
    ok("update unknown field", "PATCH", "/machines/$MID", json={"colour": "red"}),
    ok("update ttl=max", "PATCH", "/machines/$MID", json={"default_token_ttl": TTL_MAX}),
    bad("update ttl=0", "PATCH", "/machines/$MID", json={"default_token_ttl": 0}),
    bad("update ttl=max+1", "PATCH", "/machines/$MID", json={"default_token_ttl": TTL_MAX + 1}),
    bad("update ttl='60'", "PATCH", "/machines/$MID", json={"default_token_ttl": "60"}),
    bad("update name empty", "PATCH", "/machines/$MID", json={"name": ""}),
    bad("update name 256", "PATCH", "/machines/$MID", json={"name": NAME_256}),
    bad("update malformed JSON", "PATCH", "/machines/$MID", raw=MALFORMED),
    # POST /machines/{id}/secret_key/rotate: body required; previous_token_ttl required,
    # integer 0..28800.
    ok("rotate ttl=0", "POST", "/machines/$MID/secret_key/rotate", json={"previous_token_ttl": 0}),
    ok(
        "rotate ttl=28800",
        "POST",
        "/machines/$MID/secret_key/rotate",
        json={"previous_token_ttl": 28800},
    ),
    bad(
        "rotate ttl=28801",
        "POST",
        "/machines/$MID/secret_key/rotate",
        json={"previous_token_ttl": 28801},
    ),
    bad(
        "rotate ttl=-1", "POST", "/machines/$MID/secret_key/rotate", json={"previous_token_ttl": -1}
    ),
    bad(
        "rotate ttl='300'",
        "POST",
        "/machines/$MID/secret_key/rotate",
        json={"previous_token_ttl": "300"},
    ),
    bad(
        "rotate ttl=300.5",
        "POST",
        "/machines/$MID/secret_key/rotate",
        json={"previous_token_ttl": 300.5},
    ),
    bad("rotate ttl missing", "POST", "/machines/$MID/secret_key/rotate", json={}),
    bad("rotate no body", "POST", "/machines/$MID/secret_key/rotate"),
    bad("rotate body is array", "POST", "/machines/$MID/secret_key/rotate", json=[1]),
    # POST /machines/{id}/scopes: to_machine_id (string, required);
    # DELETE /machines/{id}/scopes/{other}
    ok("create scope", "POST", "/machines/$MID/scopes", json={"to_machine_id": "$MID3"}),
    bad("create scope target missing", "POST", "/machines/$MID/scopes", json={}),
    bad("create scope target 5", "POST", "/machines/$MID/scopes", json={"to_machine_id": 5}),
    blind(bad("create scope no body", "POST", "/machines/$MID/scopes"), ABSENT_BODY_BLIND),
    ok("delete scope", "DELETE", "/machines/$MID/scopes/$MID2"),
]

# The subject of GET /m2m_tokens: ^mch_\w{27}$ (ECMAScript: \w is [A-Za-z0-9_]).
M2M_ROWS = [
    # POST /m2m_tokens (machine secret key): body required, additionalProperties false;
    # token_format enum opaque/jwt; seconds_until_expiration number > 0, nullable;
    # min_remaining_ttl_seconds integer >= 0.
    ok("m2m create empty object", "POST", "/m2m_tokens", json={}, machine_key=True),
    ok(
        "m2m create all fields",
        "POST",
        "/m2m_tokens",
        json={
            "token_format": "opaque",
            "seconds_until_expiration": 60.5,
            "claims": {"tier": "gold"},
            "min_remaining_ttl_seconds": 0,
        },
        machine_key=True,
    ),
    ok("m2m create jwt", "POST", "/m2m_tokens", json={"token_format": "jwt"}, machine_key=True),
    ok(
        "m2m create expiry null",
        "POST",
        "/m2m_tokens",
        json={"seconds_until_expiration": None, "claims": None},
        machine_key=True,
    ),
    *(
        blind(bad(name, "POST", "/m2m_tokens", json=body, machine_key=True), CLAIMS_BLIND)
        for name, body in [
            ("m2m create token_format=xml", {"token_format": "xml"}),
            ("m2m create expiry=0", {"seconds_until_expiration": 0}),
            ("m2m create expiry='60'", {"seconds_until_expiration": "60"}),
            ("m2m create min_ttl=-1", {"min_remaining_ttl_seconds": -1}),
            ("m2m create min_ttl=1.5", {"min_remaining_ttl_seconds": 1.5}),
            ("m2m create min_ttl=true", {"min_remaining_ttl_seconds": True}),
            ("m2m create unknown field", {"scopes": ["read"]}),
            ("m2m create body is string", "opaque"),
        ]
    ),
    bad("m2m create no body", "POST", "/m2m_tokens", machine_key=True),
    bad("m2m create malformed JSON", "POST", "/m2m_tokens", raw=MALFORMED, machine_key=True),
    # GET /m2m_tokens: subject required ^mch_\w{27}$; revoked/expired boolean;
    # limit number 1..100; offset number >= 0.
    ok("m2m list", "GET", "/m2m_tokens", query=q(subject=SUB)),
    ok(
        "m2m list all params",
        "GET",
        "/m2m_tokens",
        query=q(subject=SUB, revoked="true", expired="false", limit="1", offset="0"),
    ),
    ok("m2m list limit=100", "GET", "/m2m_tokens", query=q(subject=SUB, limit="100")),
    ok("m2m list limit=2.5", "GET", "/m2m_tokens", query=q(subject=SUB, limit="2.5")),
    ok("m2m list offset=1.5", "GET", "/m2m_tokens", query=q(subject=SUB, offset="1.5")),
    ok("m2m list limit=1e2", "GET", "/m2m_tokens", query=q(subject=SUB, limit="1e2")),
    bad("m2m list limit=101", "GET", "/m2m_tokens", query=q(subject=SUB, limit="101")),
    bad("m2m list limit=0", "GET", "/m2m_tokens", query=q(subject=SUB, limit="0")),
    bad("m2m list limit=ten", "GET", "/m2m_tokens", query=q(subject=SUB, limit="ten")),
    bad("m2m list offset=-1", "GET", "/m2m_tokens", query=q(subject=SUB, offset="-1")),
    bad("m2m list revoked=yes", "GET", "/m2m_tokens", query=q(subject=SUB, revoked="yes")),
    bad("m2m list subject missing", "GET", "/m2m_tokens"),
    bad("m2m list subject 26", "GET", "/m2m_tokens", query=q(subject="mch_" + WORD27[:26])),
    bad("m2m list subject 28", "GET", "/m2m_tokens", query=q(subject="mch_" + WORD27 + "x")),
    bad("m2m list subject user_", "GET", "/m2m_tokens", query=q(subject="user_" + WORD27)),
    bad("m2m list subject dash", "GET", "/m2m_tokens", query=q(subject="mch_" + "-" * 27)),
    # ECMAScript \w is ASCII: accented letters are not word characters.
    bad("m2m list subject non-ASCII", "GET", "/m2m_tokens", query=q(subject="mch_" + "é" * 27)),
    # POST /m2m_tokens/{m2m_token_id}/revoke: id ^mt_[0-9A-Fa-f]{32}$; body required,
    # additionalProperties false; revocation_reason string, nullable.
    ok("m2m revoke empty object", "POST", "/m2m_tokens/$TID/revoke", json={}),
    ok("m2m revoke reason", "POST", "/m2m_tokens/$TID/revoke", json={"revocation_reason": "x"}),
    ok("m2m revoke null", "POST", "/m2m_tokens/$TID/revoke", json={"revocation_reason": None}),
    bad("m2m revoke reason 5", "POST", "/m2m_tokens/$TID/revoke", json={"revocation_reason": 5}),
    bad("m2m revoke unknown field", "POST", "/m2m_tokens/$TID/revoke", json={"reason": "x"}),
    bad("m2m revoke no body", "POST", "/m2m_tokens/$TID/revoke"),
    bad("m2m revoke id short", "POST", "/m2m_tokens/mt_123/revoke", json={}),
    bad("m2m revoke id not hex", "POST", "/m2m_tokens/mt_" + "g" * 32 + "/revoke", json={}),
    # POST /m2m_tokens/verify: body required; token string, required; no other fields.
    ok("m2m verify", "POST", "/m2m_tokens/verify", json={"token": "$TOKEN"}),
    bad("m2m verify token missing", "POST", "/m2m_tokens/verify", json={}),
    bad("m2m verify token 5", "POST", "/m2m_tokens/verify", json={"token": 5}),
    bad(
        "m2m verify unknown field",
        "POST",
        "/m2m_tokens/verify",
        json={"token": "$TOKEN", "machine": "$MID"},
    ),
    bad("m2m verify no body", "POST", "/m2m_tokens/verify"),
]

API_KEY_BODY = {"name": "abc", "subject": UID}
API_KEY_ROWS = [
    # POST /api_keys: body required, additionalProperties false; name (>= 3 chars,
    # ^(\S(.*\S)?)?$) and subject (^(user|org|mch|scim)_\w{27}$) required; type 3..25
    # chars; description <= 255, nullable; created_by ^user_\w{27}$, nullable;
    # seconds_until_expiration number > 0, nullable; scopes array of strings.
    ok("key create", "POST", "/api_keys", json=API_KEY_BODY),
    ok(
        "key create all fields",
        "POST",
        "/api_keys",
        json={
            **API_KEY_BODY,
            "subject": "$MID",
            "type": "api_key",
            "description": "d" * 255,
            "claims": {"a": 1},
            "scopes": ["read"],
            "created_by": UID,
            "seconds_until_expiration": 0.5,
        },
    ),
    ok("key create nulls", "POST", "/api_keys", json={**API_KEY_BODY, "created_by": None}),
    *(
        blind(bad(name, "POST", "/api_keys", json=body), CLAIMS_BLIND)
        for name, body in [
            ("key create name missing", {"subject": UID}),
            ("key create subject missing", {"name": "abc"}),
            ("key create name 2 chars", {**API_KEY_BODY, "name": "ab"}),
            ("key create name leading space", {**API_KEY_BODY, "name": " abc"}),
            ("key create subject bad", {**API_KEY_BODY, "subject": "usr_" + WORD27}),
            ("key create type 2 chars", {**API_KEY_BODY, "type": "ak"}),
            ("key create type 26 chars", {**API_KEY_BODY, "type": "t" * 26}),
            ("key create description 256", {**API_KEY_BODY, "description": "d" * 256}),
            ("key create created_by org", {**API_KEY_BODY, "created_by": "org_" + WORD27}),
            ("key create expiry=0", {**API_KEY_BODY, "seconds_until_expiration": 0}),
            ("key create scopes string", {**API_KEY_BODY, "scopes": "read"}),
            ("key create unknown field", {**API_KEY_BODY, "owner": UID}),
        ]
    ),
    *(
        blind(bad(name, "POST", "/api_keys", json={**API_KEY_BODY, "name": value}), ECMA_BLIND)
        for name, value in [
            ("key create name with CR", "a\rb"),
            ("key create name ends in BOM", "abc\ufeff"),
        ]
    ),
    bad("key create no body", "POST", "/api_keys"),
    bad("key create malformed JSON", "POST", "/api_keys", raw=MALFORMED),
    # GET /api_keys: subject required (pattern); type >= 3 chars; include_invalid enum
    # 'true'/'false'; limit number 1..100; offset number >= 0.
    ok("key list", "GET", "/api_keys", query=q(subject=UID)),
    ok(
        "key list all params",
        "GET",
        "/api_keys",
        query=q(
            subject=UID, type="api_key", include_invalid="true", limit="100", offset="0", query="a"
        ),
    ),
    ok("key list limit=2.5", "GET", "/api_keys", query=q(subject=UID, limit="2.5")),
    bad("key list limit=101", "GET", "/api_keys", query=q(subject=UID, limit="101")),
    bad("key list limit=0", "GET", "/api_keys", query=q(subject=UID, limit="0")),
    bad("key list offset=-1", "GET", "/api_keys", query=q(subject=UID, offset="-1")),
    bad(
        "key list include_invalid=yes",
        "GET",
        "/api_keys",
        query=q(subject=UID, include_invalid="yes"),
    ),
    bad("key list type 2 chars", "GET", "/api_keys", query=q(subject=UID, type="ak")),
    bad("key list subject missing", "GET", "/api_keys"),
    bad("key list subject bad", "GET", "/api_keys", query=q(subject="team_" + WORD27)),
    bad("key list subject non-ASCII", "GET", "/api_keys", query=q(subject="org_" + "ß" * 27)),
    # /api_keys/{apiKeyID}: ^(ak|api_key)_[0-9A-Fa-f]{32}$
    ok("key get", "GET", "/api_keys/$AKID"),
    bad("key get id short", "GET", "/api_keys/ak_123"),
    bad("key get id prefix", "GET", "/api_keys/key_" + "a" * 32),
    ok("key get secret", "GET", "/api_keys/$AKID/secret"),
    bad("key get secret id bad", "GET", "/api_keys/ak_xyz/secret"),
    ok("key delete", "DELETE", "/api_keys/$AKID"),
    bad("key delete id bad", "DELETE", "/api_keys/ak_" + "z" * 32),
    # PATCH /api_keys/{apiKeyID}: body required, additionalProperties false.
    ok("key update description", "PATCH", "/api_keys/$AKID", json={"description": "d"}),
    ok("key update empty object", "PATCH", "/api_keys/$AKID", json={}),
    *(
        blind(bad(name, "PATCH", "/api_keys/$AKID", json=body), CLAIMS_BLIND)
        for name, body in [
            ("key update unknown field", {"name": "abc"}),
            ("key update subject bad", {"subject": "mch_1"}),
            ("key update expiry=0", {"seconds_until_expiration": 0}),
            ("key update description 256", {"description": "d" * 256}),
        ]
    ),
    bad("key update no body", "PATCH", "/api_keys/$AKID"),
    bad("key update id bad", "PATCH", "/api_keys/ak_1", json={}),
    # POST /api_keys/{apiKeyID}/revoke: body required; revocation_reason string, nullable.
    ok("key revoke", "POST", "/api_keys/$AKID/revoke", json={"revocation_reason": "leaked"}),
    bad("key revoke reason 1", "POST", "/api_keys/$AKID/revoke", json={"revocation_reason": 1}),
    bad("key revoke unknown field", "POST", "/api_keys/$AKID/revoke", json={"why": "x"}),
    bad("key revoke no body", "POST", "/api_keys/$AKID/revoke"),
    # POST /api_keys/verify: body required; secret string, required; no other fields.
    ok("key verify", "POST", "/api_keys/verify", json={"secret": "$SECRET"}),
    bad("key verify secret missing", "POST", "/api_keys/verify", json={}),
    bad("key verify secret 1", "POST", "/api_keys/verify", json={"secret": 1}),
    bad("key verify unknown field", "POST", "/api_keys/verify", json={"secret": "$SECRET", "x": 1}),
    bad("key verify malformed JSON", "POST", "/api_keys/verify", raw=MALFORMED),
]

ROWS: list[Row] = [*MACHINE_ROWS, *M2M_ROWS, *API_KEY_ROWS]


# -- sending a row ------------------------------------------------------------------------


@attrs.frozen
class Target:
    """Where to send a row, and what its placeholders stand for there."""

    base: str  # the URL the spec's paths hang from
    key: str  # instance secret key
    machine_key: str
    values: dict[str, Any]


@attrs.frozen
class Outcome:
    verdict: Verdict
    status: int
    detail: str  # Prism's sl-violations header, or the response body


def substitute(value: Any, values: dict[str, Any]) -> Any:
    if isinstance(value, str):
        return values.get(value, value)
    if isinstance(value, list):
        return [substitute(v, values) for v in value]
    if isinstance(value, dict):
        return {k: substitute(v, values) for k, v in value.items()}
    return value


def fill_path(path: str, values: dict[str, Any]) -> str:
    # Longest first, so that $MID2 is not read as $MID followed by "2".
    for name in sorted(values, key=len, reverse=True):
        if isinstance(values[name], str):
            path = path.replace(name, values[name])
    return path


async def send(session: aiohttp.ClientSession, target: Target, row: Row) -> Outcome:
    key = target.machine_key if row.machine_key else target.key
    headers = {"Authorization": f"Bearer {key}"}
    data: bytes | None = None
    if row.raw is not None:
        data = row.raw
    elif row.json is not NO_BODY:
        data = json.dumps(substitute(row.json, target.values)).encode()
    if data is not None:
        headers["Content-Type"] = "application/json"
    query = [(k, str(substitute(v, target.values))) for k, v in row.query]
    url = target.base + fill_path(row.path, target.values)
    async with session.request(row.method, url, params=query, data=data, headers=headers) as resp:
        text = await resp.text()
        violations = resp.headers.get("sl-violations")
        status = resp.status
    verdict: Verdict = "other"
    if 200 <= status < 300:
        verdict = "accepted"
    elif status in (400, 422):
        verdict = "rejected"
        if violations is None:  # FakeClerk (or Prism's own invalid_json answer)
            try:
                body = json.loads(text)
            except ValueError:
                body = None
            if not is_validation_error(body):
                verdict = "other"
    return Outcome(verdict, status, violations or text[:500])


def is_validation_error(body: Any) -> bool:
    """A ClerkErrors body of invalid-input codes, or Prism's answer to unparsable JSON."""
    if not isinstance(body, dict):
        return False
    if body.get("error", {}).get("code") == "invalid_json":  # Prism
        return True
    errors = body.get("errors")
    return (
        isinstance(errors, list)
        and bool(errors)
        and "clerk_trace_id" in body
        and all(e.get("code") in VALIDATION_CODES and "meta" in e for e in errors)
    )


# -- fixtures -----------------------------------------------------------------------------


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


@pytest.fixture
def prism(prism_url: str) -> Target:
    return Target(prism_url, PRISM_KEY, PRISM_KEY, PRISM_VALUES)


@pytest.fixture
async def fake() -> AsyncIterator[Target]:
    """A fresh FakeClerk holding every resource the rows refer to."""
    async with FakeClerk(rate_limit=None, seed=4, max_recorded_requests=0) as clerk:
        pool = [clerk.add_machine(f"pool-{i}").id for i in range(POOL)]
        clerk.add_machine("beta", machine_id=MID2)
        clerk.add_machine("gamma", machine_id=MID3)
        machine = clerk.add_machine("alpha", machine_id=MID, scoped_machines=[MID2])
        token = clerk.add_m2m_token(MID)
        api_key = clerk.add_api_key(UID)
        values = {
            "$MID": MID,
            "$MID2": MID2,
            "$MID3": MID3,
            "$TID": token.id,
            "$TOKEN": token.token,
            "$AKID": api_key.id,
            "$SECRET": api_key.secret,
            "$POOL": pool,
        }
        yield Target(clerk.url, clerk.secret_key, machine.secret_key, values)


# -- the tests ----------------------------------------------------------------------------

EXPECTED: dict[str, Verdict] = {"ok": "accepted", "bad": "rejected"}


@pytest.mark.parametrize("row", ROWS, ids=[row.name for row in ROWS])
async def test_fake_and_prism_agree_with_the_spec(
    row: Row, session: aiohttp.ClientSession, prism: Target, fake: Target
) -> None:
    expected = EXPECTED[row.expect]
    seen_by_prism = await send(session, prism, row)
    seen_by_fake = await send(session, fake, row)
    assert seen_by_fake.verdict == expected, f"FakeClerk disagrees with the spec: {seen_by_fake}"
    if row.prism_blind:
        assert seen_by_prism.verdict not in (expected, "other"), (
            f"Prism now sees this ({seen_by_prism}); drop prism_blind from the row"
        )
    else:
        assert seen_by_prism.verdict == expected, f"Prism disagrees with the row: {seen_by_prism}"


def test_the_table() -> None:
    """Names are unique, blind rows say why, and both verdicts are well represented."""
    assert len({row.name for row in ROWS}) == len(ROWS)
    assert all(row.why for row in ROWS if row.prism_blind)
    assert all(not row.why for row in ROWS if not row.prism_blind)
    valid = sum(row.expect == "ok" for row in ROWS)
    assert valid >= 30
    assert len(ROWS) - valid >= 60
