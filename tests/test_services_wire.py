"""Every Machines, M2M token and API key operation over loopback HTTP.

For each of the 21 operations: the exact method, raw path, query and JSON body that
reach the server, and the model that comes back. Then validation before I/O, the
machine secret key rules, retries of the idempotent POSTs, and hostile ids.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import attrs
import pytest

from clerk_async import (
    APIKey,
    APIKeyDeleted,
    APIKeySecret,
    Clerk,
    ClerkValidationError,
    CreateAPIKeyParams,
    CreateM2MTokenParams,
    InternalServerError,
    M2MToken,
    Machine,
    MachineCreated,
    MachineDeleted,
    MachineScope,
    MachineScopeDeleted,
    MachineSecretKey,
    Page,
    ScopedMachine,
)
from tests._recorder import RecordingServer, machine_json

MID = "mch_2xhFjEI5X2qWRvtV13BzSj8H6Dk"
MID2 = "mch_3yhFjEI5X2qWRvtV13BzSj8H6Dk"
TID = "mt_f7f0ba8c3b4843ce7d85fcdd5e71853e"
AKID = "ak_3beecc9c60adb5f9b850e91a8ee1e992"
UID = "user_2xhFjEI5X2qWRvtV13BzSj8H6Dk"
T0 = 1716883200000


def m2m_token_json(**fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "object": "machine_to_machine_token",
        "id": TID,
        "subject": MID,
        "claims": {"important_metadata": "Some useful data"},
        "scopes": [MID2],
        "revoked": False,
        "revocation_reason": None,
        "expired": False,
        "expiration": T0 + 3_600_000,
        "last_used_at": None,
        "created_at": T0,
        "updated_at": T0,
    }
    body.update(fields)
    return body


def api_key_json(**fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "object": "api_key",
        "id": AKID,
        "type": "api_key",
        "subject": UID,
        "name": "MY_SERVICE_API_KEY",
        "description": "This is my API Key",
        "claims": {"foo": "bar"},
        "scopes": ["read", "write"],
        "revoked": False,
        "revocation_reason": None,
        "expired": False,
        "expiration": None,
        "created_by": UID,
        "last_used_at": None,
        "created_at": T0,
        "updated_at": T0,
    }
    body.update(fields)
    return body


SCOPED = ScopedMachine(
    id=MID2,
    name="ledger",
    instance_id="ins_2xhFjEI5X2qWRvtV13BzSj8H6Dk",
    created_at=1754938436732,
    updated_at=1754938436732,
    default_token_ttl=3600,
)
MACHINE = Machine(
    id=MID,
    name="billing-worker",
    instance_id="ins_2xhFjEI5X2qWRvtV13BzSj8H6Dk",
    created_at=1754938436732,
    updated_at=1754938436732,
    default_token_ttl=3600,
    scoped_machines=[SCOPED],
)
TOKEN = M2MToken(
    id=TID,
    subject=MID,
    claims={"important_metadata": "Some useful data"},
    scopes=[MID2],
    revoked=False,
    revocation_reason=None,
    expired=False,
    expiration=T0 + 3_600_000,
    last_used_at=None,
    created_at=T0,
    updated_at=T0,
)
API_KEY = APIKey(
    id=AKID,
    type="api_key",
    subject=UID,
    name="MY_SERVICE_API_KEY",
    description="This is my API Key",
    claims={"foo": "bar"},
    scopes=["read", "write"],
    revoked=False,
    revocation_reason=None,
    expired=False,
    expiration=None,
    created_by=UID,
    last_used_at=None,
    created_at=T0,
    updated_at=T0,
)


@attrs.frozen
class Case:
    call: Callable[[Clerk], Awaitable[Any]]
    reply: Any
    method: str
    path: str
    query: dict[str, str]
    body: Any  # parsed JSON, or None for no body
    result: Any


CASES: dict[str, Case] = {
    # --- machines ---
    "machines.list": Case(
        lambda c: c.machines.list(limit=20, offset=40, query="billing", order_by="-name"),
        {"data": [machine_json()], "total_count": 41},
        "GET",
        "/v1/machines",
        {"limit": "20", "offset": "40", "query": "billing", "order_by": "-name"},
        None,
        Page(data=[MACHINE], total_count=41),
    ),
    "machines.create": Case(
        lambda c: c.machines.create(name="billing-worker", scoped_machines=[MID2]),
        machine_json(secret_key="ak_secret"),
        "POST",
        "/v1/machines",
        {},
        {"name": "billing-worker", "scoped_machines": [MID2]},
        MachineCreated(**attrs.asdict(MACHINE, recurse=False), secret_key="ak_secret"),
    ),
    "machines.get": Case(
        lambda c: c.machines.get(MID),
        machine_json(),
        "GET",
        f"/v1/machines/{MID}",
        {},
        None,
        MACHINE,
    ),
    "machines.update": Case(
        lambda c: c.machines.update(MID, name="billing-worker", default_token_ttl=3600),
        machine_json(),
        "PATCH",
        f"/v1/machines/{MID}",
        {},
        {"name": "billing-worker", "default_token_ttl": 3600},
        MACHINE,
    ),
    "machines.delete": Case(
        lambda c: c.machines.delete(MID),
        {"object": "machine", "id": MID, "deleted": True},
        "DELETE",
        f"/v1/machines/{MID}",
        {},
        None,
        MachineDeleted(id=MID),
    ),
    "machines.get_secret_key": Case(
        lambda c: c.machines.get_secret_key(MID),
        {"object": "machine_secret_key", "secret": "ak_secret"},
        "GET",
        f"/v1/machines/{MID}/secret_key",
        {},
        None,
        MachineSecretKey(secret="ak_secret"),
    ),
    "machines.rotate_secret_key": Case(
        lambda c: c.machines.rotate_secret_key(MID, previous_token_ttl=0),
        {"object": "machine_secret_key", "secret": "ak_new"},
        "POST",
        f"/v1/machines/{MID}/secret_key/rotate",
        {},
        {"previous_token_ttl": 0},
        MachineSecretKey(secret="ak_new"),
    ),
    "machines.create_scope": Case(
        lambda c: c.machines.create_scope(MID, to_machine_id=MID2),
        {
            "object": "machine_scope",
            "from_machine_id": MID,
            "to_machine_id": MID2,
            "created_at": T0,
        },
        "POST",
        f"/v1/machines/{MID}/scopes",
        {},
        {"to_machine_id": MID2},
        MachineScope(from_machine_id=MID, to_machine_id=MID2, created_at=T0),
    ),
    "machines.delete_scope": Case(
        lambda c: c.machines.delete_scope(MID, other_machine_id=MID2),
        {"object": "machine_scope", "from_machine_id": MID, "to_machine_id": MID2, "deleted": True},
        "DELETE",
        f"/v1/machines/{MID}/scopes/{MID2}",
        {},
        None,
        MachineScopeDeleted(from_machine_id=MID, to_machine_id=MID2),
    ),
    # --- m2m ---
    "m2m.create_token": Case(
        lambda c: c.m2m.create_token(
            token_format="opaque",
            seconds_until_expiration=3600,
            claims={"important_metadata": "Some useful data"},
            min_remaining_ttl_seconds=240,
            machine_secret_key="ak_machine",
        ),
        m2m_token_json(token="mt_secret_token"),
        "POST",
        "/v1/m2m_tokens",
        {},
        {
            "token_format": "opaque",
            "seconds_until_expiration": 3600,
            "claims": {"important_metadata": "Some useful data"},
            "min_remaining_ttl_seconds": 240,
        },
        attrs.evolve(TOKEN, token="mt_secret_token"),
    ),
    "m2m.list_tokens": Case(
        lambda c: c.m2m.list_tokens(MID, revoked=True, expired=False, limit=5, offset=10),
        {"m2m_tokens": [m2m_token_json()], "total_count": 11},
        "GET",
        "/v1/m2m_tokens",
        {"subject": MID, "revoked": "true", "expired": "false", "limit": "5", "offset": "10"},
        None,
        Page(data=[TOKEN], total_count=11),
    ),
    "m2m.revoke_token": Case(
        lambda c: c.m2m.revoke_token(TID, revocation_reason="rotated"),
        m2m_token_json(revoked=True, revocation_reason="rotated"),
        "POST",
        f"/v1/m2m_tokens/{TID}/revoke",
        {},
        {"revocation_reason": "rotated"},
        attrs.evolve(TOKEN, revoked=True, revocation_reason="rotated"),
    ),
    "m2m.verify_token": Case(
        lambda c: c.m2m.verify_token("mt_secret_token"),
        m2m_token_json(),
        "POST",
        "/v1/m2m_tokens/verify",
        {},
        {"token": "mt_secret_token"},
        TOKEN,
    ),
    # --- api keys ---
    "api_keys.list": Case(
        lambda c: c.api_keys.list(
            UID, type="api_key", include_invalid=True, limit=3, offset=0, query="svc"
        ),
        {"data": [api_key_json()], "total_count": 1},
        "GET",
        "/v1/api_keys",
        {
            "subject": UID,
            "type": "api_key",
            "include_invalid": "true",
            "limit": "3",
            "offset": "0",
            "query": "svc",
        },
        None,
        Page(data=[API_KEY], total_count=1),
    ),
    "api_keys.create": Case(
        lambda c: c.api_keys.create(
            name="MY_SERVICE_API_KEY",
            subject=UID,
            type="api_key",
            description=None,
            claims={"foo": "bar"},
            scopes=["read", "write"],
            created_by=UID,
            seconds_until_expiration=86400.5,
        ),
        api_key_json(secret="ak_live_secret"),
        "POST",
        "/v1/api_keys",
        {},
        {
            "name": "MY_SERVICE_API_KEY",
            "subject": UID,
            "type": "api_key",
            "description": None,
            "claims": {"foo": "bar"},
            "scopes": ["read", "write"],
            "created_by": UID,
            "seconds_until_expiration": 86400.5,
        },
        attrs.evolve(API_KEY, secret="ak_live_secret"),
    ),
    "api_keys.get": Case(
        lambda c: c.api_keys.get(AKID),
        api_key_json(),
        "GET",
        f"/v1/api_keys/{AKID}",
        {},
        None,
        API_KEY,
    ),
    "api_keys.update": Case(
        lambda c: c.api_keys.update(
            AKID, claims=None, scopes=[], description="new", seconds_until_expiration=None
        ),
        api_key_json(claims=None, scopes=[], description="new"),
        "PATCH",
        f"/v1/api_keys/{AKID}",
        {},
        {"claims": None, "scopes": [], "description": "new", "seconds_until_expiration": None},
        attrs.evolve(API_KEY, claims=None, scopes=[], description="new"),
    ),
    "api_keys.delete": Case(
        lambda c: c.api_keys.delete(AKID),
        {"id": AKID, "object": "api_key", "deleted": True},
        "DELETE",
        f"/v1/api_keys/{AKID}",
        {},
        None,
        APIKeyDeleted(id=AKID),
    ),
    "api_keys.get_secret": Case(
        lambda c: c.api_keys.get_secret(AKID),
        {"secret": "ak_live_secret"},
        "GET",
        f"/v1/api_keys/{AKID}/secret",
        {},
        None,
        APIKeySecret(secret="ak_live_secret"),
    ),
    "api_keys.revoke": Case(
        lambda c: c.api_keys.revoke(AKID, revocation_reason=None),
        api_key_json(revoked=True),
        "POST",
        f"/v1/api_keys/{AKID}/revoke",
        {},
        {"revocation_reason": None},
        attrs.evolve(API_KEY, revoked=True),
    ),
    "api_keys.verify": Case(
        lambda c: c.api_keys.verify("ak_live_secret"),
        api_key_json(),
        "POST",
        "/v1/api_keys/verify",
        {},
        {"secret": "ak_live_secret"},
        API_KEY,
    ),
}


def test_all_operations_are_covered() -> None:
    assert len(CASES) == 21


@pytest.mark.parametrize("name", list(CASES))
async def test_operation_on_the_wire(clerk: Clerk, server: RecordingServer, name: str) -> None:
    case = CASES[name]
    server.reply(200, case.reply)
    result = await case.call(clerk)
    assert len(server.requests) == 1
    req = server.requests[0]
    assert (req.method, req.raw_path, req.query) == (case.method, case.path, case.query)
    if case.body is None:
        assert req.body == b""
    else:
        assert json.loads(req.body) == case.body
    assert result == case.result
    assert type(result) is type(case.result)


# --- bodies that are required by the spec are sent even when empty ---------------------


async def test_empty_but_required_bodies(clerk: Clerk, server: RecordingServer) -> None:
    server.reply(201, m2m_token_json(token="t"))
    server.reply(200, m2m_token_json())
    server.reply(200, api_key_json())
    await clerk.m2m.create_token(machine_secret_key="ak_m")
    await clerk.m2m.revoke_token(TID)
    await clerk.api_keys.revoke(AKID)
    # A PATCH with no field would change nothing: refused before any request.
    with pytest.raises(ClerkValidationError, match="api_key_id: nothing to change"):
        await clerk.api_keys.update(AKID)
    assert [(r.method, r.body) for r in server.requests] == [
        ("POST", b"{}"),
        ("POST", b"{}"),
        ("POST", b"{}"),
    ]


async def test_other_forms_of_params(clerk: Clerk, server: RecordingServer) -> None:
    server.reply(201, m2m_token_json(token="t"), times=2)
    server.reply(200, api_key_json(), times=2)
    await clerk.m2m.create_token(
        {"tokenFormat": "jwt", "secondsUntilExpiration": None}, machine_secret_key="ak_m"
    )
    await clerk.m2m.create_token(CreateM2MTokenParams(claims=None), machine_secret_key="ak_m")
    await clerk.api_keys.create(CreateAPIKeyParams(name="svc", subject=MID))
    await clerk.api_keys.update({"apiKeyId": AKID, "scopes": ["read"]})
    bodies = [json.loads(r.body) for r in server.requests]
    assert bodies == [
        {"token_format": "jwt", "seconds_until_expiration": None},
        {"claims": None},
        {"name": "svc", "subject": MID},
        {"scopes": ["read"]},
    ]
    assert server.requests[-1].raw_path == f"/v1/api_keys/{AKID}"


async def test_nullable_query_parameters_are_left_out(
    clerk: Clerk, server: RecordingServer
) -> None:
    # A query string has no null: None leaves the parameter to the server's default.
    server.reply(200, {"m2m_tokens": [], "total_count": 0})
    server.reply(200, {"data": [], "total_count": 0})
    await clerk.m2m.list_tokens(subject=MID, revoked=None, expired=None, offset=None)
    await clerk.api_keys.list(subject=UID, offset=None)
    assert [r.query for r in server.requests] == [{"subject": MID}, {"subject": UID}]


# --- machine secret keys ---------------------------------------------------------------


async def test_create_token_needs_a_machine_secret_key(
    clerk: Clerk, server: RecordingServer
) -> None:
    with pytest.raises(ClerkValidationError) as info:
        await clerk.m2m.create_token()
    assert info.value.field == "machine_secret_key"
    assert server.requests == []


async def test_machine_secret_key_per_call_and_per_client(server: RecordingServer) -> None:
    server.default = _reply_token
    async with Clerk(
        "sk_test_instance",
        base_url=server.url,
        machine_secret_key="ak_client",
        rate_limit=None,
    ) as clerk:
        await clerk.m2m.create_token()
        await clerk.m2m.create_token(machine_secret_key="ak_call")
        await clerk.m2m.list_tokens(MID)
        await clerk.m2m.revoke_token(TID)
        await clerk.m2m.verify_token("t", machine_secret_key="ak_call")
        await clerk.machines.get(MID)  # never the machine key elsewhere
        assert "ak_client" not in repr(clerk.m2m)
    auth = [r.headers["Authorization"] for r in server.requests]
    assert auth == [
        "Bearer ak_client",
        "Bearer ak_call",
        "Bearer ak_client",
        "Bearer ak_client",
        "Bearer ak_call",
        "Bearer sk_test_instance",
    ]


async def test_m2m_falls_back_to_the_instance_key(clerk: Clerk, server: RecordingServer) -> None:
    server.default = _reply_token
    await clerk.m2m.list_tokens(MID)
    await clerk.m2m.revoke_token(TID)
    await clerk.m2m.verify_token("t")
    auth = {r.headers["Authorization"] for r in server.requests}
    assert auth == {"Bearer sk_test_secret123"}


async def test_machine_key_alone_is_enough(server: RecordingServer, monkeypatch: Any) -> None:
    monkeypatch.delenv("CLERK_SECRET_KEY", raising=False)
    server.reply(201, m2m_token_json(token="t"))
    async with Clerk(base_url=server.url, machine_secret_key="ak_only", rate_limit=None) as clerk:
        await clerk.m2m.create_token()
        with pytest.raises(ClerkValidationError) as info:
            await clerk.machines.get(MID)
    assert info.value.field == "secret_key"
    assert [r.headers["Authorization"] for r in server.requests] == ["Bearer ak_only"]


async def _reply_token(request: Any) -> Any:
    from aiohttp import web

    if request.method == "GET" and request.path.startswith("/v1/m2m_tokens"):
        return web.json_response({"m2m_tokens": [], "total_count": 0})
    if request.path.startswith("/v1/machines"):
        return web.json_response(machine_json())
    return web.json_response(m2m_token_json(token="t"))


# --- retries: verify and revoke are safe to repeat, create is not ----------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.m2m.verify_token("t"),
        lambda c: c.m2m.revoke_token(TID),
        lambda c: c.api_keys.verify("s"),
        lambda c: c.api_keys.revoke(AKID),
    ],
    ids=["m2m.verify_token", "m2m.revoke_token", "api_keys.verify", "api_keys.revoke"],
)
async def test_idempotent_posts_are_retried(
    clerk: Clerk, server: RecordingServer, call: Callable[[Clerk], Awaitable[Any]]
) -> None:
    server.reply(503, {"errors": []})
    server.default = _reply_any
    await call(clerk)
    assert len(server.requests) == 2


async def _reply_any(request: Any) -> Any:
    from aiohttp import web

    if request.method == "GET" and request.path == "/v1/api_keys":
        return web.json_response({"data": [api_key_json()], "total_count": 1})
    if "api_keys" in request.path:
        return web.json_response(api_key_json())
    return web.json_response(m2m_token_json())


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.m2m.create_token(machine_secret_key="ak_m"),
        lambda c: c.api_keys.create(name="svc", subject=UID),
    ],
    ids=["m2m.create_token", "api_keys.create"],
)
async def test_creates_are_not_retried_once_sent(
    clerk: Clerk, server: RecordingServer, call: Callable[[Clerk], Awaitable[Any]]
) -> None:
    server.reply(503, {"errors": []}, times=3)
    with pytest.raises(InternalServerError):
        await call(clerk)
    assert len(server.requests) == 1


# --- validation before any I/O ---------------------------------------------------------

HEX32 = "0" * 32
W27 = "a" * 27

INVALID: list[tuple[str, Callable[[Clerk], Any], str]] = [
    # machines.list
    ("limit-0", lambda c: c.machines.list(limit=0), "limit"),
    ("limit-501", lambda c: c.machines.list(limit=501), "limit"),
    ("offset-neg", lambda c: c.machines.list(offset=-1), "offset"),
    ("order_by", lambda c: c.machines.list(order_by="id"), "order_by"),
    # m2m.create_token
    (
        "token_format",
        lambda c: c.m2m.create_token(token_format="paseto", machine_secret_key="ak"),
        "token_format",
    ),
    (
        "seconds-0",
        lambda c: c.m2m.create_token(seconds_until_expiration=0, machine_secret_key="ak"),
        "seconds_until_expiration",
    ),
    (
        "seconds-str",
        lambda c: c.m2m.create_token(seconds_until_expiration="60", machine_secret_key="ak"),
        "seconds_until_expiration",
    ),
    (
        "min-ttl-neg",
        lambda c: c.m2m.create_token(min_remaining_ttl_seconds=-1, machine_secret_key="ak"),
        "min_remaining_ttl_seconds",
    ),
    (
        "min-ttl-null",
        lambda c: c.m2m.create_token(min_remaining_ttl_seconds=None, machine_secret_key="ak"),
        "min_remaining_ttl_seconds",
    ),
    (
        "min-ttl-not-below-lifetime",
        lambda c: c.m2m.create_token(
            seconds_until_expiration=60, min_remaining_ttl_seconds=60, machine_secret_key="ak"
        ),
        "min_remaining_ttl_seconds",
    ),
    (
        "claims-not-json",
        lambda c: c.m2m.create_token(claims={"a": object()}, machine_secret_key="ak"),
        "claims.a",
    ),
    (
        "unknown-field",
        lambda c: c.m2m.create_token({"scopes": []}, machine_secret_key="ak"),
        "scopes",
    ),
    # m2m.list_tokens
    ("subject-missing", lambda c: c.m2m.list_tokens(), "subject"),
    ("subject-pattern", lambda c: c.m2m.list_tokens("user_" + W27), "subject"),
    ("subject-short", lambda c: c.m2m.list_tokens("mch_abc"), "subject"),
    ("m2m-limit-101", lambda c: c.m2m.list_tokens(MID, limit=101), "limit"),
    ("m2m-revoked-str", lambda c: c.m2m.list_tokens(MID, revoked="yes"), "revoked"),
    ("m2m-offset-neg", lambda c: c.m2m.list_tokens(MID, offset=-5), "offset"),
    # m2m.revoke_token / verify_token
    ("token-id-missing", lambda c: c.m2m.revoke_token({}), "m2m_token_id"),
    ("token-id-pattern", lambda c: c.m2m.revoke_token("mt_xyz"), "m2m_token_id"),
    ("token-id-upper-prefix", lambda c: c.m2m.revoke_token("MT_" + HEX32), "m2m_token_id"),
    (
        "revocation-reason-int",
        lambda c: c.m2m.revoke_token(TID, revocation_reason=5),
        "revocation_reason",
    ),
    ("verify-missing", lambda c: c.m2m.verify_token(), "token"),
    ("verify-empty", lambda c: c.m2m.verify_token(""), "token"),
    ("verify-null", lambda c: c.m2m.verify_token({"token": None}), "token"),
    # api_keys.list
    ("ak-subject-missing", lambda c: c.api_keys.list(), "subject"),
    ("ak-subject-pattern", lambda c: c.api_keys.list("team_" + W27), "subject"),
    ("ak-type-short", lambda c: c.api_keys.list(UID, type="ak"), "type"),
    ("ak-include-invalid", lambda c: c.api_keys.list(UID, include_invalid="1"), "include_invalid"),
    ("ak-limit-101", lambda c: c.api_keys.list(UID, limit=101), "limit"),
    ("ak-limit-bool", lambda c: c.api_keys.list(UID, limit=True), "limit"),
    # api_keys.create
    ("name-missing", lambda c: c.api_keys.create(subject=UID), "name"),
    ("subject-missing-create", lambda c: c.api_keys.create(name="svc"), "subject"),
    ("name-short", lambda c: c.api_keys.create(name="ab", subject=UID), "name"),
    ("name-spaces", lambda c: c.api_keys.create(name=" svc ", subject=UID), "name"),
    ("name-null", lambda c: c.api_keys.create(name=None, subject=UID), "name"),
    ("type-long", lambda c: c.api_keys.create(name="svc", subject=UID, type="t" * 26), "type"),
    (
        "description-long",
        lambda c: c.api_keys.create(name="svc", subject=UID, description="d" * 256),
        "description",
    ),
    (
        "created-by-org",
        lambda c: c.api_keys.create(name="svc", subject=UID, created_by="org_" + W27),
        "created_by",
    ),
    (
        "scopes-str",
        lambda c: c.api_keys.create(name="svc", subject=UID, scopes="read"),
        "scopes",
    ),
    (
        "scopes-item",
        lambda c: c.api_keys.create(name="svc", subject=UID, scopes=["read", 1]),
        "scopes[1]",
    ),
    (
        "scopes-null",
        lambda c: c.api_keys.create(name="svc", subject=UID, scopes=None),
        "scopes",
    ),
    (
        "ak-seconds-neg",
        lambda c: c.api_keys.create(name="svc", subject=UID, seconds_until_expiration=-1),
        "seconds_until_expiration",
    ),
    # api key ids
    ("ak-id-missing", lambda c: c.api_keys.get({}), "api_key_id"),
    ("ak-id-pattern", lambda c: c.api_keys.get("ak_123"), "api_key_id"),
    ("ak-id-nonhex", lambda c: c.api_keys.delete("ak_" + "g" * 32), "api_key_id"),
    ("ak-id-int", lambda c: c.api_keys.get_secret(123), "api_key_id"),
    ("ak-update-subject", lambda c: c.api_keys.update(AKID, subject="mch_x"), "subject"),
    ("ak-update-subject-null", lambda c: c.api_keys.update(AKID, subject=None), "subject"),
    (
        "ak-update-description-long",
        lambda c: c.api_keys.update(AKID, description="d" * 256),
        "description",
    ),
    ("ak-revoke-id", lambda c: c.api_keys.revoke("api_key_xyz"), "api_key_id"),
    ("ak-verify-missing", lambda c: c.api_keys.verify(), "secret"),
]


@pytest.mark.parametrize(
    ("call", "field"), [(c, f) for _, c, f in INVALID], ids=[i for i, _, _ in INVALID]
)
async def test_invalid_input_never_reaches_the_server(
    clerk: Clerk, server: RecordingServer, call: Callable[[Clerk], Any], field: str
) -> None:
    with pytest.raises(ClerkValidationError) as info:
        await _call(clerk, call)
    assert info.value.field == field
    assert server.requests == []


async def _call(clerk: Clerk, call: Callable[[Clerk], Any]) -> Any:
    result = call(clerk)
    return await result if hasattr(result, "__await__") else result


async def test_list_methods_validate_when_awaited_not_when_called(
    clerk: Clerk, server: RecordingServer
) -> None:
    # Bad input fails on await or on the walk's first step, never at the call (DESIGN.md).
    pagers = [clerk.machines.list(limit=0), clerk.m2m.list_tokens("nope")]
    pagers.append(clerk.api_keys.list("nope"))
    for pager in pagers:
        with pytest.raises(ClerkValidationError):
            await pager
    with pytest.raises(ClerkValidationError, match="limit"):
        async for _ in clerk.machines.list(limit=0):
            pass
    assert server.requests == []


async def test_valid_edge_values_pass(clerk: Clerk, server: RecordingServer) -> None:
    server.default = _reply_any
    await clerk.api_keys.get("api_key_" + "A" * 32)  # the spec's older prefix, upper-case hex
    await clerk.api_keys.list("scim_" + "_" * 27, limit=100)
    await clerk.api_keys.create(name="a b", subject="org_" + W27, created_by=None)
    await clerk.m2m.revoke_token("mt_" + "aBcDeF0123456789" * 2)
    await clerk.m2m.create_token(
        seconds_until_expiration=0.5, min_remaining_ttl_seconds=0, machine_secret_key="ak"
    )
    assert len(server.requests) == 5


# --- secrets stay out of repr ----------------------------------------------------------


def test_secrets_are_not_in_repr() -> None:
    from clerk_async import VerifyAPIKeyParams, VerifyM2MTokenParams

    values = [
        attrs.evolve(TOKEN, token="mt_SECRETVALUE"),
        attrs.evolve(API_KEY, secret="ak_SECRETVALUE"),
        APIKeySecret(secret="ak_SECRETVALUE"),
        MachineSecretKey(secret="ak_SECRETVALUE"),
        MachineCreated(**attrs.asdict(MACHINE, recurse=False), secret_key="ak_SECRETVALUE"),
        VerifyM2MTokenParams(token="mt_SECRETVALUE"),
        VerifyAPIKeyParams(secret="ak_SECRETVALUE"),
    ]
    for value in values:
        assert "SECRETVALUE" not in repr(value), type(value).__name__


async def test_a_short_secret_is_not_echoed_in_errors(clerk: Clerk) -> None:
    with pytest.raises(ClerkValidationError) as info:
        await clerk.m2m.verify_token({"token": 12345})
    assert "12345" not in str(info.value)


# --- hostile ids -----------------------------------------------------------------------

HOSTILE = ["../users", "a/b", "%2e%2e", "..%2F..%2Fusers", "a?b=c", "a#b"]


@pytest.mark.parametrize("hostile", HOSTILE)
async def test_hostile_machine_ids_stay_one_escaped_segment(
    clerk: Clerk, server: RecordingServer, hostile: str
) -> None:
    # Machine ids have no pattern in the spec, so they go out; escaped, as one segment.
    from urllib.parse import quote, unquote

    server.default = _reply_any_machine
    await clerk.machines.get(hostile)
    await clerk.machines.delete_scope(MID, other_machine_id=hostile)
    paths = [r.raw_path for r in server.requests]
    assert paths == [
        f"/v1/machines/{quote(hostile, safe='')}",
        f"/v1/machines/{MID}/scopes/{quote(hostile, safe='')}",
    ]
    assert unquote(paths[0].rsplit("/", 1)[1]) == hostile


async def _reply_any_machine(request: Any) -> Any:
    from aiohttp import web

    if "/scopes/" in request.raw_path:
        return web.json_response(
            {
                "object": "machine_scope",
                "from_machine_id": MID,
                "to_machine_id": "x",
                "deleted": True,
            }
        )
    return web.json_response(machine_json())


@pytest.mark.parametrize("hostile", HOSTILE)
@pytest.mark.parametrize(
    "call",
    [
        lambda c, i: c.m2m.revoke_token(i),
        lambda c, i: c.api_keys.get(i),
        lambda c, i: c.api_keys.update(i, description="x"),
        lambda c, i: c.api_keys.delete(i),
        lambda c, i: c.api_keys.get_secret(i),
        lambda c, i: c.api_keys.revoke(i),
    ],
    ids=["m2m.revoke", "ak.get", "ak.update", "ak.delete", "ak.get_secret", "ak.revoke"],
)
async def test_hostile_token_and_key_ids_are_refused(
    clerk: Clerk, server: RecordingServer, call: Any, hostile: str
) -> None:
    # These ids have a pattern in the spec: anything else is refused before any I/O.
    with pytest.raises(ClerkValidationError):
        await call(clerk, hostile)
    assert server.requests == []


async def test_services_are_cached(clerk: Clerk) -> None:
    assert clerk.m2m is clerk.m2m
    assert clerk.api_keys is clerk.api_keys
