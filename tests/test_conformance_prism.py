"""Conformance: every Machines, M2M token and API key operation against Prism.

Prism serves Clerk's own OpenAPI spec and validates each request against it: a request
that does not fit gets a 4xx, which ``clerk_async`` raises, and the test fails. So what
we send is checked by a tool we did not write. In dynamic mode (``Prefer: dynamic=true``)
Prism answers with random spec-valid bodies; each operation runs many times to show that
every such body structures into our models, with the types our annotations promise.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import aiohttp
import attrs
import pytest

from clerk_async import (
    APIKey,
    APIKeyDeleted,
    APIKeySecret,
    Clerk,
    M2MToken,
    Machine,
    MachineCreated,
    MachineDeleted,
    MachineScope,
    MachineScopeDeleted,
    MachineSecretKey,
    Page,
)

pytestmark = pytest.mark.prism

# Runs of each operation in dynamic mode: 21 x 15 requests take a few seconds.
DYNAMIC_RUNS = 15

# Ids that match the spec's patterns.
MID = "mch_2xhFjEI5X2qWRvtV13BzSj8H6Dk"
MID2 = "mch_2yGkLpQ7Y3rXSwtU24CzTk9I7Em"
TID = "mt_f7f0ba8c3b4843ce7d85fcdd5e71853e"
AKID = "ak_3beecc9c60adb5f9b850e91a8ee1e992"
UID = "user_2xhFjEI5X2qWRvtV13BzSj8H6Dk"


@attrs.frozen
class Op:
    call: Callable[[Clerk], Awaitable[Any]]
    returns: type
    item: type | None = None  # for list operations: the type of each item


OPS: dict[str, Op] = {
    "machines.list": Op(
        lambda c: c.machines.list(limit=5, offset=0, query="billing", order_by="-created_at"),
        Page,
        Machine,
    ),
    "machines.create": Op(
        lambda c: c.machines.create(
            name="billing-worker", scoped_machines=[MID2], default_token_ttl=3600
        ),
        MachineCreated,
    ),
    "machines.get": Op(lambda c: c.machines.get(MID), Machine),
    "machines.update": Op(
        lambda c: c.machines.update(MID, name="New Machine Name", default_token_ttl=60), Machine
    ),
    "machines.delete": Op(lambda c: c.machines.delete(MID), MachineDeleted),
    "machines.get_secret_key": Op(lambda c: c.machines.get_secret_key(MID), MachineSecretKey),
    "machines.rotate_secret_key": Op(
        lambda c: c.machines.rotate_secret_key(MID, previous_token_ttl=300), MachineSecretKey
    ),
    "machines.create_scope": Op(
        lambda c: c.machines.create_scope(MID, to_machine_id=MID2), MachineScope
    ),
    "machines.delete_scope": Op(
        lambda c: c.machines.delete_scope(MID, other_machine_id=MID2), MachineScopeDeleted
    ),
    "m2m.create_token": Op(
        lambda c: c.m2m.create_token(
            token_format="opaque",
            seconds_until_expiration=3600,
            claims={"important_metadata": "Some useful data"},
            min_remaining_ttl_seconds=240,
        ),
        M2MToken,
    ),
    "m2m.list_tokens": Op(
        lambda c: c.m2m.list_tokens(MID, revoked=True, expired=False, limit=100, offset=0),
        Page,
        M2MToken,
    ),
    "m2m.revoke_token": Op(
        lambda c: c.m2m.revoke_token(TID, revocation_reason="Revoked by user"), M2MToken
    ),
    "m2m.verify_token": Op(lambda c: c.m2m.verify_token("mt_" + "X" * 32), M2MToken),
    "api_keys.list": Op(
        lambda c: c.api_keys.list(
            UID, type="api_key", include_invalid=False, limit=100, offset=0, query="svc"
        ),
        Page,
        APIKey,
    ),
    "api_keys.create": Op(
        lambda c: c.api_keys.create(
            name="MY_SERVICE_API_KEY",
            subject=MID,
            type="api_key",
            description="This is my API Key",
            claims={"foo": "bar"},
            scopes=["read", "write"],
            created_by=UID,
            seconds_until_expiration=86400,
        ),
        APIKey,
    ),
    "api_keys.get": Op(lambda c: c.api_keys.get(AKID), APIKey),
    "api_keys.update": Op(
        lambda c: c.api_keys.update(
            AKID,
            claims=None,
            scopes=["read"],
            description=None,
            subject=UID,
            seconds_until_expiration=None,
        ),
        APIKey,
    ),
    "api_keys.delete": Op(lambda c: c.api_keys.delete(AKID), APIKeyDeleted),
    "api_keys.get_secret": Op(lambda c: c.api_keys.get_secret(AKID), APIKeySecret),
    "api_keys.revoke": Op(lambda c: c.api_keys.revoke(AKID, revocation_reason=None), APIKey),
    "api_keys.verify": Op(lambda c: c.api_keys.verify("ak_" + "X" * 32), APIKey),
}


def test_every_operation_is_here() -> None:
    assert len(OPS) == 21


def _clerk(prism_url: str, headers: dict[str, str] | None = None) -> Clerk:
    # No retries: a 4xx from Prism's request validation must fail the test at once.
    return Clerk(
        "sk_test_prism",
        base_url=prism_url,
        machine_secret_key="ak_prism",
        rate_limit=None,
        max_retries=0,
        default_headers=headers,
    )


# --- checking that a structured value has the types its annotations promise ------------


def _check(value: Any, hint: Any, where: str) -> None:
    if hint is Any or isinstance(hint, typing.TypeVar):  # Page[T]: items checked by the caller
        return
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        errors = []
        for option in typing.get_args(hint):
            try:
                _check(value, option, where)
            except AssertionError as exc:
                errors.append(str(exc))
            else:
                return
        raise AssertionError(f"{where}: {value!r} fits none of {hint}: {errors}")
    if hint is type(None):
        assert value is None, f"{where}: expected None, got {value!r}"
        return
    if origin is list:
        assert isinstance(value, list), f"{where}: expected a list, got {value!r}"
        (item,) = typing.get_args(hint)
        for index, element in enumerate(value):
            _check(element, item, f"{where}[{index}]")
        return
    if attrs.has(origin or hint):
        assert isinstance(value, origin or hint), f"{where}: expected {hint}, got {value!r}"
        _check_model(value, where)
        return
    if hint is int:  # bool is an int, and never a timestamp
        assert type(value) is int, f"{where}: expected an int, got {value!r}"
        return
    if origin is typing.Literal:  # Prism answers from the spec: one of its values
        assert value in typing.get_args(hint), f"{where}: expected {hint}, got {value!r}"
        return
    assert isinstance(value, hint), f"{where}: expected {hint}, got {value!r}"


def _check_model(model: Any, where: str = "$") -> None:
    hints = typing.get_type_hints(type(model))
    for field in attrs.fields(type(model)):
        _check(getattr(model, field.name), hints[field.name], f"{where}.{field.name}")


def _check_result(op: Op, result: Any) -> None:
    assert isinstance(result, op.returns), result
    _check_model(result)
    if op.item is not None:
        assert isinstance(result.data, list)
        assert isinstance(result.total_count, int)
        for index, item in enumerate(result.data):
            _check(item, op.item, f"$.data[{index}]")


# --- the tests -------------------------------------------------------------------------


async def test_prism_rejects_a_request_that_does_not_fit_the_spec(prism_url: str) -> None:
    # What makes the other tests mean something: Prism does validate our requests.
    async with aiohttp.ClientSession() as session:
        async with session.get(
            f"{prism_url}/m2m_tokens",
            params={"subject": "not-a-machine"},
            headers={"Authorization": "Bearer sk_test_prism"},
        ) as response:
            assert 400 <= response.status < 500
        async with session.post(
            f"{prism_url}/api_keys/verify",
            json={"unexpected": True},
            headers={"Authorization": "Bearer sk_test_prism"},
        ) as response:
            assert 400 <= response.status < 500


@pytest.mark.parametrize("name", list(OPS))
async def test_operation_conforms(prism_url: str, name: str) -> None:
    op = OPS[name]
    async with _clerk(prism_url) as clerk:
        _check_result(op, await op.call(clerk))


@pytest.mark.parametrize("name", list(OPS))
async def test_dynamic_responses_fit_our_models(prism_url: str, name: str) -> None:
    op = OPS[name]
    async with _clerk(prism_url, {"Prefer": "dynamic=true"}) as clerk:
        for _ in range(DYNAMIC_RUNS):
            _check_result(op, await op.call(clerk))


def _list_calls() -> Iterator[tuple[str, Callable[[Clerk], Any]]]:
    yield "machines", lambda c: c.machines.list()
    yield "m2m", lambda c: c.m2m.list_tokens(MID)
    yield "api_keys", lambda c: c.api_keys.list(UID)


@pytest.mark.parametrize(
    "call", [call for _, call in _list_calls()], ids=[name for name, _ in _list_calls()]
)
async def test_walking_every_item_conforms(prism_url: str, call: Callable[[Clerk], Any]) -> None:
    # The page size is the endpoint's maximum, which Prism checks against the spec; the
    # random totals are whatever they are, and the walk still ends.
    async with _clerk(prism_url, {"Prefer": "dynamic=true"}) as clerk:
        for _ in range(5):
            async for item in call(clerk):
                _check_model(item)
