"""machines.update end to end over loopback HTTP: every form, validation, hostile ids."""

from __future__ import annotations

import json
from typing import Any

import pytest

from clerk_async import (
    UNSET,
    Clerk,
    ClerkValidationError,
    Machine,
    ScopedMachine,
    UpdateMachineParams,
)
from tests._recorder import RecordingServer

MID = "mch_2xhFjEI5X2qWRvtV13BzSj8H6Dk"


def sent(server: RecordingServer) -> tuple[str, str, dict[str, Any]]:
    req = server.requests[-1]
    return req.method, req.raw_path, json.loads(req.body)


@pytest.mark.parametrize(
    ("call", "body"),
    [
        (
            lambda m: m.update(machine_id=MID, name="New Machine Name", default_token_ttl=3600),
            {"name": "New Machine Name", "default_token_ttl": 3600},
        ),
        (lambda m: m.update(MID, name="New Machine Name"), {"name": "New Machine Name"}),
        (
            lambda m: m.update(UpdateMachineParams(machine_id=MID, default_token_ttl=60)),
            {"default_token_ttl": 60},
        ),
        (
            lambda m: m.update({"machineId": MID, "defaultTokenTtl": 3600}),
            {"default_token_ttl": 3600},
        ),
        (lambda m: m.update({"machine_id": MID, "name": "n"}), {"name": "n"}),
    ],
    ids=[
        "keywords",
        "positional-id",
        "params-object",
        "camelCase-mapping",
        "snake-mapping",
    ],
)
async def test_every_form_sends_the_same_patch(
    clerk: Clerk, server: RecordingServer, call: Any, body: dict[str, Any]
) -> None:
    machine = await call(clerk.machines)
    assert sent(server) == ("PATCH", f"/v1/machines/{MID}", body)
    assert isinstance(machine, Machine)
    assert machine.id == MID
    assert machine.default_token_ttl == 3600
    assert machine.scoped_machines == [
        ScopedMachine(
            id="mch_3yhFjEI5X2qWRvtV13BzSj8H6Dk",
            name="ledger",
            instance_id="ins_2xhFjEI5X2qWRvtV13BzSj8H6Dk",
            created_at=1754938436732,
            updated_at=1754938436732,
            default_token_ttl=3600,
        )
    ]


@pytest.mark.parametrize(
    "call",
    [
        lambda m: m.update(MID),
        lambda m: m.update(machine_id=MID),
        lambda m: m.update(UpdateMachineParams(machine_id=MID)),
        lambda m: m.update({"machineId": MID}),
    ],
    ids=["positional-id", "keyword-id", "params-object", "mapping"],
)
async def test_an_update_with_nothing_to_change_is_refused(
    clerk: Clerk, server: RecordingServer, call: Any
) -> None:
    with pytest.raises(ClerkValidationError, match="machine_id: nothing to change") as caught:
        await call(clerk.machines)
    assert "name, default_token_ttl" in str(caught.value)
    assert server.requests == []


async def test_headers(clerk: Clerk, server: RecordingServer) -> None:
    await clerk.machines.update(MID, name="x")
    headers = server.requests[-1].headers
    assert headers["Authorization"] == "Bearer sk_test_secret123"
    assert headers["Clerk-API-Version"] == "2026-05-12"
    assert headers["Content-Type"] == "application/json"
    assert headers["User-Agent"].startswith("clerk-async/")
    assert "Python/" in headers["User-Agent"]
    assert "aiohttp/" in headers["User-Agent"]


async def test_unknown_response_fields_are_ignored(clerk: Clerk, server: RecordingServer) -> None:
    from tests._recorder import machine_json

    server.reply(
        200, machine_json(MID, brand_new_field={"x": 1}, default_token_ttl=None) | {"extra": 1}
    )
    machine = await clerk.machines.update(MID, name="x")
    assert machine.default_token_ttl is None


async def test_missing_default_token_ttl_reads_as_none(
    clerk: Clerk, server: RecordingServer
) -> None:
    from tests._recorder import machine_json

    body = machine_json(MID)
    del body["default_token_ttl"]
    server.reply(200, body)
    assert (await clerk.machines.update(MID, name="x")).default_token_ttl is None


@pytest.mark.parametrize(
    ("kwargs", "field", "reason"),
    [
        ({"machine_id": ""}, "machine_id", "non-empty"),
        ({"machine_id": "   "}, "machine_id", "non-empty"),
        ({"machine_id": None}, "machine_id", "required"),
        ({"machine_id": 123}, "machine_id", "expected a string"),
        ({"machine_id": "."}, "machine_id", "not a valid id"),
        ({"machine_id": ".."}, "machine_id", "not a valid id"),
        ({"machine_id": "a\x00b"}, "machine_id", "not a valid id"),
        ({"machine_id": "x" * 10_000_000}, "machine_id", "characters long"),
        ({"machine_id": MID, "name": ""}, "name", "empty"),
        ({"machine_id": MID, "name": "x" * 256}, "name", "at most 255"),
        ({"machine_id": MID, "name": "x" * 10_000_000}, "name", "at most 255"),
        ({"machine_id": MID, "name": "a\x00b"}, "name", "NUL"),
        ({"machine_id": MID, "name": 5}, "name", "expected a string"),
        ({"machine_id": MID, "name": None}, "name", "expected a string"),
        ({"machine_id": MID, "default_token_ttl": 0}, "default_token_ttl", ">= 1"),
        ({"machine_id": MID, "default_token_ttl": -5}, "default_token_ttl", ">= 1"),
        (
            {"machine_id": MID, "default_token_ttl": 315_360_001},
            "default_token_ttl",
            "<= 315360000",
        ),
        (
            {"machine_id": MID, "default_token_ttl": "60"},
            "default_token_ttl",
            "expected an integer",
        ),
        (
            {"machine_id": MID, "default_token_ttl": 60.0},
            "default_token_ttl",
            "expected an integer",
        ),
        (
            {"machine_id": MID, "default_token_ttl": True},
            "default_token_ttl",
            "expected an integer",
        ),
    ],
)
async def test_bad_input_is_rejected_before_any_request(
    clerk: Clerk, server: RecordingServer, kwargs: dict[str, Any], field: str, reason: str
) -> None:
    with pytest.raises(ClerkValidationError) as info:
        await clerk.machines.update(**kwargs)
    assert info.value.field == field
    assert reason in str(info.value)
    assert str(info.value).startswith(f"{field}:")
    assert len(str(info.value)) < 300  # a 10 MB value is not echoed back
    assert server.requests == []


async def test_limits_are_inclusive(clerk: Clerk, server: RecordingServer) -> None:
    await clerk.machines.update(MID, name="x" * 255, default_token_ttl=315_360_000)
    await clerk.machines.update(MID, name="y", default_token_ttl=1)
    assert [json.loads(r.body) for r in server.requests] == [
        {"name": "x" * 255, "default_token_ttl": 315_360_000},
        {"name": "y", "default_token_ttl": 1},
    ]


@pytest.mark.parametrize(
    ("given", "field"),
    [
        ({"machineId": MID, "nmae": "typo"}, "nmae"),
        ({"machineId": MID, "machine_id": MID}, "machine_id"),
        ({"name": "no id"}, "machine_id"),
        ({1: "x"}, "1"),
    ],
)
async def test_bad_mappings(clerk: Clerk, server: RecordingServer, given: Any, field: str) -> None:
    with pytest.raises(ClerkValidationError) as info:
        await clerk.machines.update(given)
    assert info.value.field == field
    assert server.requests == []


async def test_mixing_params_and_keywords_is_an_error(
    clerk: Clerk, server: RecordingServer
) -> None:
    with pytest.raises(ClerkValidationError, match="not both"):
        await clerk.machines.update(UpdateMachineParams(machine_id=MID), name="x")
    with pytest.raises(ClerkValidationError, match="not both"):
        await clerk.machines.update({"machineId": MID}, default_token_ttl=5)
    assert server.requests == []


def test_params_object_validates_on_construction() -> None:
    with pytest.raises(ClerkValidationError, match="default_token_ttl"):
        UpdateMachineParams(machine_id=MID, default_token_ttl=0)
    params = UpdateMachineParams(machine_id=MID)
    assert params.name is UNSET
    assert repr(UNSET) == "UNSET"


@pytest.mark.parametrize(
    ("machine_id", "raw_path"),
    [
        ("../users", "/v1/machines/..%2Fusers"),
        ("a/b", "/v1/machines/a%2Fb"),
        ("%2e%2e", "/v1/machines/%252e%252e"),
        ("../../v1/users?x=1#f", "/v1/machines/..%2F..%2Fv1%2Fusers%3Fx%3D1%23f"),
        ("mch 1", "/v1/machines/mch%201"),
        ("ünïcode", "/v1/machines/%C3%BCn%C3%AFcode"),
    ],
)
async def test_hostile_ids_stay_one_escaped_segment(
    clerk: Clerk, server: RecordingServer, machine_id: str, raw_path: str
) -> None:
    await clerk.machines.update(machine_id, name="x")
    request = server.requests[-1]
    assert request.raw_path == raw_path
    assert request.query == {}


@pytest.mark.parametrize(
    ("kwargs", "field", "message"),
    [
        ({"nmae": "typo"}, "nmae", "unexpected keyword argument"),
        ({"defaultTokenTtl": 60}, "defaultTokenTtl", "did you mean 'default_token_ttl'"),
        ({"timout": 1.0}, "timout", "unexpected keyword argument"),
    ],
)
async def test_unknown_keyword_arguments_are_refused(
    clerk: Clerk, server: RecordingServer, kwargs: dict[str, Any], field: str, message: str
) -> None:
    with pytest.raises(ClerkValidationError, match=message) as info:
        await clerk.machines.update(MID, **kwargs)
    assert info.value.field == field
    with pytest.raises(ClerkValidationError, match=message):
        clerk.machines.update_many([(MID, {"name": "x"})], **kwargs)
    assert server.requests == []


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"deadline": None}, "deadline"),
        ({"deadline": 0}, "deadline"),
        ({"max_retries": -1}, "max_retries"),
        ({"timeout": "5"}, "timeout"),
        ({"retry": 3}, "retry"),
        ({"extra_headers": {"X-A": 1}}, "extra_headers"),
        ({"machine_secret_key": ""}, "machine_secret_key"),
    ],
)
async def test_bad_per_call_options_are_configuration_errors(
    clerk: Clerk, server: RecordingServer, kwargs: dict[str, Any], field: str
) -> None:
    from clerk_async import ClerkConfigError

    with pytest.raises(ClerkConfigError) as info:
        await clerk.machines.update(MID, name="x", **kwargs)
    assert info.value.field == field
    assert server.requests == []


async def test_default_and_per_call_headers(server: RecordingServer) -> None:
    async with Clerk(
        "sk_test_k", base_url=server.url, rate_limit=None, default_headers={"X-Team": "infra"}
    ) as clerk:
        await clerk.machines.update(MID, name="x", extra_headers={"X-Request-Id": "r-1"})
        await clerk.machines.update(MID, name="y")
    first, second = (r.headers for r in server.requests)
    assert (first["X-Team"], first["X-Request-Id"]) == ("infra", "r-1")
    assert first["Authorization"] == "Bearer sk_test_k"
    assert second["X-Team"] == "infra"
    assert "X-Request-Id" not in second  # per call means per call


async def test_per_call_timeout_overrides_the_clients(server: RecordingServer) -> None:
    from clerk_async import ClerkTimeoutError

    server.reply(200, {}, delay=0.5)
    async with Clerk("sk_test_k", base_url=server.url, rate_limit=None, max_retries=0) as clerk:
        with pytest.raises(ClerkTimeoutError):
            await clerk.machines.update(MID, name="x", timeout=0.1)
