"""FakeClerk, over real HTTP on loopback, with a bare aiohttp client."""

from __future__ import annotations

import asyncio
import re
import sys
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import attrs
import pytest

from clerk_async import RateLimit
from clerk_async.testing import FakeClerk, FakeError, Faults

MACHINE_KEYS = {
    "object",
    "id",
    "name",
    "instance_id",
    "created_at",
    "updated_at",
    "default_token_ttl",
    "scoped_machines",
}
TOKEN_KEYS = {
    "object",
    "id",
    "subject",
    "claims",
    "scopes",
    "revoked",
    "revocation_reason",
    "expired",
    "expiration",
    "last_used_at",
    "created_at",
    "updated_at",
}
UNKNOWN_MACHINE = "mch_" + "x" * 27


@attrs.frozen
class Answer:
    status: int
    body: Any
    headers: Any


class Api:
    """A bare aiohttp client for the fake: sends the instance key unless told otherwise."""

    def __init__(self, session: aiohttp.ClientSession, fake: FakeClerk) -> None:
        self.session = session
        self.fake = fake

    async def __call__(
        self, method: str, path: str, *, key: str | None = None, **kwargs: Any
    ) -> Answer:
        headers = kwargs.pop("headers", {})
        headers.setdefault("Authorization", f"Bearer {key or self.fake.secret_key}")
        async with self.session.request(
            method, self.fake.url + path, headers=headers, **kwargs
        ) as resp:
            body = await resp.json() if resp.content_type == "application/json" else None
            return Answer(resp.status, body, resp.headers)

    async def machine(self, name: str = "worker", **fields: Any) -> dict[str, Any]:
        answer = await self("POST", "/machines", json={"name": name, **fields})
        assert answer.status == 200, answer.body
        return dict(answer.body)


@pytest.fixture
async def api(fake_clerk: FakeClerk) -> AsyncIterator[Api]:
    async with aiohttp.ClientSession() as session:
        yield Api(session, fake_clerk)


def error_of(answer: Answer) -> dict[str, Any]:
    assert set(answer.body) == {"errors", "clerk_trace_id"}
    assert re.fullmatch(r"[0-9a-f]{32}", answer.body["clerk_trace_id"])
    (error,) = answer.body["errors"]
    assert {"message", "long_message", "code", "meta"} <= set(error)
    return dict(error)


# -- machines ---------------------------------------------------------------------------


async def test_machine_crud(api: Api, fake_clerk: FakeClerk) -> None:
    created = await api.machine("billing", default_token_ttl=60)
    assert set(created) == MACHINE_KEYS | {"secret_key"}
    assert re.fullmatch(r"mch_\w{27}", created["id"])
    assert re.fullmatch(r"ak_[0-9a-f]{32}", created["secret_key"])
    assert created["instance_id"] == fake_clerk.instance_id
    assert created["object"] == "machine"
    assert created["default_token_ttl"] == 60
    assert created["scoped_machines"] == []
    assert created["created_at"] == created["updated_at"]
    assert abs(created["created_at"] - time.time() * 1000) < 60_000  # milliseconds

    machine_id = created["id"]
    got = await api("GET", f"/machines/{machine_id}")
    assert got.status == 200
    assert got.body == {k: v for k, v in created.items() if k != "secret_key"}

    patched = await api("PATCH", f"/machines/{machine_id}", json={"name": "ledger"})
    assert patched.status == 200
    assert patched.body["name"] == "ledger"
    assert patched.body["default_token_ttl"] == 60  # only the given field changes
    assert patched.body["updated_at"] > created["updated_at"]
    empty = await api("PATCH", f"/machines/{machine_id}")  # the body is optional
    assert (empty.status, empty.body["name"]) == (200, "ledger")
    assert fake_clerk.machines[machine_id].name == "ledger"

    deleted = await api("DELETE", f"/machines/{machine_id}")
    assert deleted.body == {"object": "machine", "id": machine_id, "deleted": True}
    for method in ("GET", "PATCH", "DELETE"):
        gone = await api(method, f"/machines/{machine_id}")
        assert gone.status == 404
        assert error_of(gone)["code"] == "resource_not_found"


async def test_list_machines_orders_pages_and_queries(api: Api) -> None:
    names = ["delta", "Alpha", "charlie", "bravo", "alphabet"]
    ids = [(await api.machine(name))["id"] for name in names]

    async def listed(query: str) -> tuple[list[str], int]:
        answer = await api("GET", "/machines" + query)
        assert answer.status == 200, answer.body
        assert set(answer.body) == {"data", "total_count"}
        return [m["name"] for m in answer.body["data"]], answer.body["total_count"]

    assert await listed("") == (names[::-1], 5)  # newest first by default
    assert await listed("?order_by=%2Bcreated_at") == (names, 5)
    assert await listed("?order_by=name") == (sorted(names), 5)
    assert await listed("?order_by=-name") == (sorted(names, reverse=True), 5)
    assert await listed("?order_by=created_at&limit=2&offset=1") == (names[1:3], 5)
    assert await listed("?offset=10") == ([], 5)
    assert await listed("?query=ALPHA&order_by=name") == (["Alpha", "alphabet"], 2)
    assert await listed(f"?query={ids[2]}") == (["charlie"], 1)
    assert await listed(f"?query={ids[2][:-1]}") == ([], 0)  # ids match exactly only
    assert await listed("?query=") == (names[::-1], 5)


async def test_scopes(api: Api) -> None:
    a, b, c = [await api.machine(name) for name in "abc"]
    scope = await api("POST", f"/machines/{a['id']}/scopes", json={"to_machine_id": b["id"]})
    assert scope.status == 200
    assert set(scope.body) == {"object", "from_machine_id", "to_machine_id", "created_at"}
    assert scope.body["object"] == "machine_scope"
    assert (scope.body["from_machine_id"], scope.body["to_machine_id"]) == (a["id"], b["id"])

    again = await api("POST", f"/machines/{a['id']}/scopes", json={"to_machine_id": b["id"]})
    assert again.status == 409
    unknown = await api("POST", f"/machines/{a['id']}/scopes", json={"to_machine_id": "mch_1"})
    assert (unknown.status, error_of(unknown)["code"]) == (404, "resource_not_found")
    no_source = await api(
        "POST", f"/machines/{UNKNOWN_MACHINE}/scopes", json={"to_machine_id": b["id"]}
    )
    assert no_source.status == 404
    await api("POST", f"/machines/{a['id']}/scopes", json={"to_machine_id": c["id"]})

    got = (await api("GET", f"/machines/{a['id']}")).body
    nested = got["scoped_machines"]
    assert [m["id"] for m in nested] == [b["id"], c["id"]]
    assert set(nested[0]) == MACHINE_KEYS - {"scoped_machines"}

    removed = await api("DELETE", f"/machines/{a['id']}/scopes/{b['id']}")
    assert removed.body == {
        "object": "machine_scope",
        "from_machine_id": a["id"],
        "to_machine_id": b["id"],
        "deleted": True,
    }
    assert (await api("DELETE", f"/machines/{a['id']}/scopes/{b['id']}")).status == 404

    await api("DELETE", f"/machines/{c['id']}")  # a deleted machine leaves every scope
    assert (await api("GET", f"/machines/{a['id']}")).body["scoped_machines"] == []

    created = await api.machine("d", scoped_machines=[a["id"], b["id"]])
    assert [m["id"] for m in created["scoped_machines"]] == [a["id"], b["id"]]
    dangling = await api("POST", "/machines", json={"name": "e", "scoped_machines": ["mch_no"]})
    assert dangling.status == 404


async def test_secret_key_get_and_rotate(api: Api) -> None:
    m = await api.machine()
    secret = await api("GET", f"/machines/{m['id']}/secret_key")
    assert secret.body == {"object": "machine_secret_key", "secret": m["secret_key"]}

    rotate = f"/machines/{m['id']}/secret_key/rotate"
    graceful = await api("POST", rotate, json={"previous_token_ttl": 60})
    assert graceful.status == 200
    assert graceful.body["object"] == "machine_secret_key"
    new_key = graceful.body["secret"]
    assert new_key != m["secret_key"]
    for key in (m["secret_key"], new_key):  # the previous key lasts previous_token_ttl
        assert (await api("POST", "/m2m_tokens", json={}, key=key)).status == 201

    abrupt = await api("POST", rotate, json={"previous_token_ttl": 0})
    assert (await api("POST", "/m2m_tokens", json={}, key=new_key)).status == 401
    assert (await api("POST", "/m2m_tokens", json={}, key=abrupt.body["secret"])).status == 201

    assert error_of(await api("POST", rotate))["code"] == "request_body_invalid"
    too_long = await api("POST", rotate, json={"previous_token_ttl": 28_801})
    assert (too_long.status, error_of(too_long)["code"]) == (422, "form_param_value_invalid")


# -- M2M tokens -------------------------------------------------------------------------


async def test_m2m_token_lifecycle(api: Api, fake_clerk: FakeClerk) -> None:
    target = await api.machine("target")
    caller = await api.machine("caller", scoped_machines=[target["id"]], default_token_ttl=120)
    key = caller["secret_key"]

    created = await api("POST", "/m2m_tokens", json={"claims": {"role": "reader"}}, key=key)
    assert created.status == 201
    token = created.body
    assert set(token) == TOKEN_KEYS | {"token"}
    assert re.fullmatch(r"mt_[0-9a-f]{32}", token["id"])
    assert re.fullmatch(r"mt_[0-9a-f]{32}", token["token"])
    assert token["subject"] == caller["id"]
    assert token["scopes"] == [target["id"]]
    assert token["expiration"] - token["created_at"] == 120_000
    assert (token["revoked"], token["expired"], token["claims"]) == (
        False,
        False,
        {"role": "reader"},
    )

    instance_key = await api("POST", "/m2m_tokens", json={})
    assert (instance_key.status, error_of(instance_key)["code"]) == (401, "authentication_invalid")

    listed = await api("GET", f"/m2m_tokens?subject={caller['id']}")
    assert listed.status == 200
    assert listed.body["total_count"] == 1
    assert listed.body["m2m_tokens"] == [{k: v for k, v in token.items() if k != "token"}]
    by_machine = await api("GET", f"/m2m_tokens?subject={caller['id']}", key=key)
    assert by_machine.body["total_count"] == 1
    others = await api("GET", f"/m2m_tokens?subject={target['id']}", key=key)
    assert others.status == 403

    verified = await api("POST", "/m2m_tokens/verify", json={"token": token["token"]})
    assert verified.status == 200
    assert verified.body["last_used_at"] is not None
    by_scoped = await api(
        "POST", "/m2m_tokens/verify", json={"token": token["token"]}, key=target["secret_key"]
    )
    assert by_scoped.status == 200  # the token grants access to target
    by_subject = await api("POST", "/m2m_tokens/verify", json={"token": token["token"]}, key=key)
    assert by_subject.status == 404  # ... but not to its own subject
    by_id = await api("POST", "/m2m_tokens/verify", json={"token": token["id"]})
    assert by_id.status == 404

    revoked = await api(
        "POST", f"/m2m_tokens/{token['id']}/revoke", json={"revocation_reason": "leaked"}, key=key
    )
    assert revoked.status == 200
    assert (revoked.body["revoked"], revoked.body["revocation_reason"]) == (True, "leaked")
    dead = await api("POST", "/m2m_tokens/verify", json={"token": token["token"]})
    assert (dead.status, error_of(dead)["code"]) == (404, "resource_not_found")
    query = f"/m2m_tokens?subject={caller['id']}"
    assert (await api("GET", query)).body["total_count"] == 0
    assert (await api("GET", query + "&revoked=true")).body["total_count"] == 1

    unknown = await api("POST", f"/m2m_tokens/mt_{'0' * 32}/revoke", json={})
    assert unknown.status == 404
    bad_id = await api("POST", "/m2m_tokens/mt_123/revoke", json={})
    assert (bad_id.status, error_of(bad_id)["meta"]) == (400, {"param_name": "m2m_token_id"})

    short = fake_clerk.add_m2m_token(caller["id"], seconds_until_expiration=5)
    fake_clerk.advance_time(6)
    expired = await api("POST", "/m2m_tokens/verify", json={"token": short.token})
    assert expired.status == 404
    with_expired = await api("GET", query + "&expired=true")
    assert [t["expired"] for t in with_expired.body["m2m_tokens"]] == [True]


async def test_m2m_token_reuse_and_jwt(api: Api, fake_clerk: FakeClerk) -> None:
    key = (await api.machine(default_token_ttl=600))["secret_key"]
    body = {"min_remaining_ttl_seconds": 300, "claims": {"a": 1}}
    first = await api("POST", "/m2m_tokens", json=body, key=key)
    second = await api("POST", "/m2m_tokens", json=body, key=key)
    assert first.body["id"] == second.body["id"]  # reused: same claims, enough lifetime
    other = await api("POST", "/m2m_tokens", json={**body, "claims": {"a": 2}}, key=key)
    assert other.body["id"] != first.body["id"]
    too_long = await api("POST", "/m2m_tokens", json={"min_remaining_ttl_seconds": 600}, key=key)
    assert (too_long.status, error_of(too_long)["meta"]["param_name"]) == (
        400,
        "min_remaining_ttl_seconds",
    )

    jwt = await api("POST", "/m2m_tokens", json={"token_format": "jwt"}, key=key)
    assert jwt.status == 201
    assert jwt.body["token"].count(".") == 2
    assert jwt.body["id"] not in fake_clerk.m2m_tokens  # JWT-format tokens are not stored


# -- API keys ---------------------------------------------------------------------------


async def test_api_key_lifecycle(api: Api) -> None:
    subject = "user_" + "a" * 27
    created = await api(
        "POST",
        "/api_keys",
        json={"name": "ci-key", "subject": subject, "scopes": ["read"], "claims": {"x": 1}},
    )
    assert created.status == 200, created.body
    key = created.body
    assert re.fullmatch(r"ak_[0-9a-f]{32}", key["id"])
    assert (key["object"], key["type"], key["secret"][:3]) == ("api_key", "api_key", "ak_")
    assert (key["revoked"], key["expired"], key["expiration"]) == (False, False, None)

    path = f"/api_keys/{key['id']}"
    got = await api("GET", path)
    assert got.body == {k: v for k, v in key.items() if k != "secret"}
    assert (await api("GET", path + "/secret")).body == {"secret": key["secret"]}

    listed = await api("GET", f"/api_keys?subject={subject}")
    assert [k["id"] for k in listed.body["data"]] == [key["id"]]
    assert listed.body["total_count"] == 1
    assert (await api("GET", f"/api_keys?subject={subject}&query=CI-")).body["total_count"] == 1
    assert (await api("GET", f"/api_keys?subject={subject}&query=nope")).body["total_count"] == 0

    patched = await api(
        "PATCH", path, json={"description": "for CI", "seconds_until_expiration": 3600}
    )
    assert patched.body["description"] == "for CI"
    assert patched.body["scopes"] == ["read"]
    assert patched.body["expiration"] is not None

    verified = await api("POST", "/api_keys/verify", json={"secret": key["secret"]})
    assert (verified.status, verified.body["id"]) == (200, key["id"])
    assert verified.body["last_used_at"] is not None

    revoked = await api("POST", path + "/revoke", json={"revocation_reason": "rotated"})
    assert (revoked.body["revoked"], revoked.body["revocation_reason"]) == (True, "rotated")
    assert (await api("POST", "/api_keys/verify", json={"secret": key["secret"]})).status == 404
    assert (await api("GET", f"/api_keys?subject={subject}")).body["total_count"] == 0
    with_invalid = await api("GET", f"/api_keys?subject={subject}&include_invalid=true")
    assert with_invalid.body["total_count"] == 1

    deleted = await api("DELETE", path)
    assert deleted.body == {"id": key["id"], "object": "api_key", "deleted": True}
    assert (await api("GET", path)).status == 404
    bad_id = await api("GET", "/api_keys/not-an-id")
    assert (bad_id.status, error_of(bad_id)["code"]) == (400, "form_param_format_invalid")


async def test_proxied_endpoints_are_also_served_without_v1(api: Api) -> None:
    key = (await api.machine())["secret_key"]
    root = api.fake.url.removesuffix("/v1")
    headers = {"Authorization": f"Bearer {key}"}
    async with api.session.post(f"{root}/m2m_tokens", json={}, headers=headers) as resp:
        assert resp.status == 201
    async with api.session.get(f"{root}/machines", headers=headers) as resp:
        assert resp.status == 404  # machines live under /v1 only


# -- errors -----------------------------------------------------------------------------

MACHINE = "/machines/{machine}"
INVALID_BODIES = [
    # (method, path, body, status, code, param_name)
    ("POST", "/machines", {}, 422, "form_param_missing", "name"),
    ("POST", "/machines", {"name": ""}, 422, "form_param_min_length_exceeded", "name"),
    ("POST", "/machines", {"name": "x" * 256}, 422, "form_param_max_length_exceeded", "name"),
    ("POST", "/machines", {"name": 5}, 422, "form_param_type_invalid", "name"),
    ("POST", "/machines", {"name": None}, 422, "form_param_type_invalid", "name"),
    (
        "POST",
        "/machines",
        {"name": "a", "scoped_machines": ["m"] * 151},
        422,
        "form_param_array_size_exceeded",
        "scoped_machines",
    ),
    (
        "POST",
        "/machines",
        {"name": "a", "scoped_machines": "mch_1"},
        422,
        "form_param_type_invalid",
        "scoped_machines",
    ),
    (
        "PATCH",
        MACHINE,
        {"default_token_ttl": "60"},
        422,
        "form_param_type_invalid",
        "default_token_ttl",
    ),
    (
        "PATCH",
        MACHINE,
        {"default_token_ttl": True},
        422,
        "form_param_type_invalid",
        "default_token_ttl",
    ),
    (
        "PATCH",
        MACHINE,
        {"default_token_ttl": 60.0},
        422,
        "form_param_type_invalid",
        "default_token_ttl",
    ),
    (
        "PATCH",
        MACHINE,
        {"default_token_ttl": 0},
        422,
        "form_param_value_invalid",
        "default_token_ttl",
    ),
    (
        "PATCH",
        MACHINE,
        {"default_token_ttl": 315_360_001},
        422,
        "form_param_value_invalid",
        "default_token_ttl",
    ),
    ("PATCH", MACHINE, {"name": None}, 422, "form_param_type_invalid", "name"),
    (
        "POST",
        MACHINE + "/secret_key/rotate",
        {"previous_token_ttl": -1},
        422,
        "form_param_value_invalid",
        "previous_token_ttl",
    ),
    ("POST", MACHINE + "/scopes", {}, 422, "form_param_missing", "to_machine_id"),
    ("POST", "/api_keys", {"name": "abc"}, 400, "form_param_missing", "subject"),
    (
        "POST",
        "/api_keys",
        {"name": " abc", "subject": "user_" + "a" * 27},
        400,
        "form_param_format_invalid",
        "name",
    ),
    (
        "POST",
        "/api_keys",
        {"name": "abc", "subject": "usr_1"},
        400,
        "form_param_format_invalid",
        "subject",
    ),
    (
        "POST",
        "/api_keys",
        {"name": "abc", "subject": "user_" + "a" * 27, "extra": 1},
        400,
        "form_param_unknown",
        "extra",
    ),
    (
        "POST",
        "/api_keys",
        {"name": "abc", "subject": "user_" + "a" * 27, "seconds_until_expiration": 0},
        400,
        "form_param_value_invalid",
        "seconds_until_expiration",
    ),
    ("POST", "/api_keys/verify", {}, 400, "form_param_missing", "secret"),
    ("POST", "/m2m_tokens/verify", {"token": 1}, 400, "form_param_type_invalid", "token"),
]


@pytest.mark.parametrize(("method", "path", "body", "status", "code", "param"), INVALID_BODIES)
async def test_invalid_bodies(
    api: Api, method: str, path: str, body: Any, status: int, code: str, param: str
) -> None:
    machine = await api.machine()
    answer = await api(method, path.format(machine=machine["id"]), json=body)
    assert answer.status == status, answer.body
    error = error_of(answer)
    assert error["code"] == code
    assert error["meta"] == {"param_name": param}
    assert (await api("GET", f"/machines/{machine['id']}")).body == {
        k: v for k, v in machine.items() if k != "secret_key"
    }  # nothing changed


async def test_invalid_m2m_bodies_and_queries(api: Api) -> None:
    key = (await api.machine())["secret_key"]
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"token_format": "paseto"}, "form_param_value_invalid", "token_format"),
        ({"seconds_until_expiration": 0}, "form_param_value_invalid", "seconds_until_expiration"),
        (
            {"min_remaining_ttl_seconds": 1.5},
            "form_param_type_invalid",
            "min_remaining_ttl_seconds",
        ),
        ({"secret": "x"}, "form_param_unknown", "secret"),
    ]
    for body, code, param in cases:
        answer = await api("POST", "/m2m_tokens", json=body, key=key)
        assert answer.status == 400, body
        assert (error_of(answer)["code"], error_of(answer)["meta"]["param_name"]) == (code, param)

    missing = await api("GET", "/m2m_tokens")
    assert (error_of(missing)["code"], error_of(missing)["meta"]) == (
        "form_param_missing",
        {"param_name": "subject"},
    )
    for query, param in [
        ("?limit=0", "limit"),
        ("?limit=501", "limit"),
        ("?limit=ten", "limit"),
        ("?offset=-1", "offset"),
        ("?order_by=size", "order_by"),
    ]:
        answer = await api("GET", "/machines" + query)
        assert answer.status == 422, query
        assert error_of(answer)["meta"] == {"param_name": param}

    both = await api("POST", "/api_keys", json={"subject": "bad", "oops": 1})
    assert both.status == 400
    assert {e["meta"]["param_name"] for e in both.body["errors"]} == {"oops", "name", "subject"}


@pytest.mark.parametrize(
    ("body", "message"),
    [(b"{not json", "not valid JSON"), (b"[1, 2]", "JSON object"), (b"null", "JSON object")],
)
async def test_malformed_bodies(api: Api, body: bytes, message: str) -> None:
    answer = await api("POST", "/machines", data=body, headers={"Content-Type": "application/json"})
    assert answer.status == 400
    error = error_of(answer)
    assert error["code"] == "request_body_invalid"
    assert message in error["long_message"]


async def test_authentication(api: Api, fake_clerk: FakeClerk) -> None:
    machine = await api.machine()
    for authorization in ("", "Bearer", "Basic abc", f"Token {fake_clerk.secret_key}"):
        answer = await api("GET", "/machines", headers={"Authorization": authorization})
        assert (answer.status, error_of(answer)["code"]) == (401, "authentication_invalid")
    async with api.session.get(fake_clerk.url + "/machines") as resp:  # no header at all
        assert resp.status == 401
    assert (await api("GET", "/machines", key="sk_test_wrong")).status == 401
    # A machine secret key opens the M2M token endpoints only.
    assert (await api("GET", "/machines", key=machine["secret_key"])).status == 401
    # API key secrets share the ak_ shape but authenticate nothing.
    api_key = fake_clerk.add_api_key("user_" + "a" * 27)
    assert (await api("POST", "/m2m_tokens", json={}, key=api_key.secret)).status == 401
    assert fake_clerk.stats.statuses[401] == 8


async def test_api_version_header(api: Api) -> None:
    ok = await api("GET", "/machines", headers={"Clerk-API-Version": "2025-11-10"})
    assert ok.status == 200
    bad = await api("GET", "/machines", headers={"Clerk-API-Version": "2099-01-01"})
    assert (bad.status, error_of(bad)["code"]) == (400, "api_version_invalid")


async def test_unknown_route(api: Api, fake_clerk: FakeClerk) -> None:
    answer = await api("PUT", "/machines", json={"name": "a"})
    assert (answer.status, error_of(answer)["code"]) == (404, "resource_not_found")
    assert fake_clerk.stats.requests["PUT", "*"] == 1
    assert (fake_clerk.requests[-1].path, fake_clerk.requests[-1].json) == (
        "/v1/machines",
        {"name": "a"},
    )


# -- rate limit -------------------------------------------------------------------------


@pytest.mark.fake_clerk(rate_limit=RateLimit(5, 1.0))
async def test_rate_limit_is_a_sliding_window(api: Api, fake_clerk: FakeClerk) -> None:
    async def statuses(n: int) -> list[int]:
        return [(await api("GET", "/machines")).status for _ in range(n)]

    start = time.monotonic()
    assert await statuses(3) == [200] * 3
    await asyncio.sleep(0.4 - (time.monotonic() - start))
    assert await statuses(2) == [200] * 2
    refused = await api("GET", "/machines")
    assert refused.status == 429
    assert refused.headers["Retry-After"] == "1"
    error = error_of(refused)
    assert (error["code"], error["meta"]) == ("too_many_requests", {"ResetsIn": 1})

    # One window after the first three, they have left it; the last two are still in it,
    # so three more fit and the fourth does not (a fixed window would take five).
    await asyncio.sleep(1.05 - (time.monotonic() - start))
    assert await statuses(4) == [200, 200, 200, 429]
    assert fake_clerk.stats.rate_limited == 2
    assert fake_clerk.stats.statuses[429] == 2


@pytest.mark.fake_clerk(secret_key="sk_live_abc", rate_limit="auto")
async def test_rate_limit_follows_the_key(fake_clerk: FakeClerk) -> None:
    assert fake_clerk.rate_limit == RateLimit(1000, 10.0)
    assert FakeClerk("sk_test_abc").rate_limit == RateLimit(100, 10.0)
    fake_clerk.rate_limit = None
    assert fake_clerk.rate_limit is None


# -- faults -----------------------------------------------------------------------------


async def run_updates(api: Api, n: int) -> list[int]:
    machine = api.fake.add_machine("target")
    statuses = []
    for i in range(n):
        answer = await api("PATCH", f"/machines/{machine.id}", json={"name": f"n{i}"})
        statuses.append(answer.status)
    return statuses


async def test_faults_are_reproducible_and_counted(api: Api, fake_clerk: FakeClerk) -> None:
    fake_clerk.faults = Faults(seed=7, error_rate=0.4, error_statuses=(500, 503))
    first = await run_updates(api, 30)
    stats = fake_clerk.stats
    injected = stats.faults["error_before"] + stats.faults["error_after"]
    assert injected == sum(s >= 500 for s in first) > 0
    assert stats.faults["error_before"] > 0
    assert stats.faults["error_after"] > 0
    assert set(first) == {200, 500, 503}
    assert stats.requests["PATCH", "/v1/machines/{machine_id}"] == 30
    assert sum(stats.statuses.values()) == 30

    fake_clerk.reset()
    assert stats.total_requests == 0
    assert not stats.faults
    assert fake_clerk.machines == {}
    assert await run_updates(api, 30) == first

    fake_clerk.faults = Faults(seed=8, error_rate=0.4)
    assert await run_updates(api, 30) != first


async def test_errors_before_and_after_the_change(api: Api, fake_clerk: FakeClerk) -> None:
    fake_clerk.faults = Faults(error_rate=1.0, error_after_apply_fraction=0.0)
    before = await api("POST", "/machines", json={"name": "a"})
    assert before.status in (500, 502, 503)
    assert error_of(before)["code"] == "internal_clerk_error"
    assert fake_clerk.machines == {}  # refused before it took effect

    fake_clerk.faults = Faults(error_rate=1.0, error_after_apply_fraction=1.0)
    after = await api("POST", "/machines", json={"name": "a"})
    assert after.status >= 500
    assert len(fake_clerk.machines) == 1  # the write happened; a blind retry duplicates it
    assert fake_clerk.stats.faults == {"error_before": 1, "error_after": 1}


async def test_connection_reset(api: Api, fake_clerk: FakeClerk) -> None:
    fake_clerk.faults = Faults(reset_rate=1.0, error_after_apply_fraction=1.0)
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await api("POST", "/machines", json={"name": "a"})
    assert len(fake_clerk.machines) == 1
    fake_clerk.faults = Faults(reset_rate=1.0, error_after_apply_fraction=0.0)
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await api("POST", "/machines", json={"name": "b"})
    assert len(fake_clerk.machines) == 1
    fake_clerk.faults = Faults()
    assert (await api("GET", "/machines")).status == 200  # the client reconnects
    assert fake_clerk.stats.faults == {"reset_after": 1, "reset_before": 1}
    assert sum(fake_clerk.stats.statuses.values()) == 1  # a reset answers nothing


async def test_non_json_and_delay(api: Api, fake_clerk: FakeClerk) -> None:
    fake_clerk.faults = Faults(non_json_rate=1.0)
    async with api.session.get(
        fake_clerk.url + "/machines",
        headers={"Authorization": f"Bearer {fake_clerk.secret_key}"},
    ) as resp:
        assert (resp.status, resp.content_type) == (502, "text/html")
        assert "Bad Gateway" in await resp.text()

    fake_clerk.faults = Faults(delay_rate=1.0, delay_seconds=0.2)
    start = time.monotonic()
    assert (await api("GET", "/machines")).status == 200
    assert time.monotonic() - start >= 0.2
    assert fake_clerk.stats.faults == {"non_json": 1, "delay": 1}


def test_faults_are_validated() -> None:
    with pytest.raises(ValueError, match="between 0 and 1"):
        Faults(error_rate=1.5)
    with pytest.raises(ValueError, match="must not exceed 1"):
        Faults(error_rate=0.6, reset_rate=0.6)
    with pytest.raises(ValueError, match="5xx"):
        Faults(error_statuses=(404,))


# -- inspection and seeding -------------------------------------------------------------


async def test_requests_are_recorded_without_the_key(api: Api, fake_clerk: FakeClerk) -> None:
    machine = fake_clerk.add_machine("a")
    await api(
        "PATCH",
        f"/machines/{machine.id}?x=1",
        json={"name": "b"},
        headers={"Clerk-API-Version": "2026-05-12"},
    )
    (recorded,) = fake_clerk.requests
    assert (recorded.method, recorded.path, recorded.query) == (
        "PATCH",
        f"/v1/machines/{machine.id}",
        {"x": "1"},
    )
    assert recorded.json == {"name": "b"}
    assert recorded.headers["clerk-api-version"] == "2026-05-12"
    assert "Authorization" not in recorded.headers
    assert fake_clerk.secret_key not in repr(recorded)


async def test_seeding_helpers(fake_clerk: FakeClerk) -> None:
    a = fake_clerk.add_machine("a")
    b = fake_clerk.add_machine("b", default_token_ttl=5, scoped_machines=[a.id])
    assert list(b.scopes) == [a.id]
    assert a.secret_key not in repr(a)
    token = fake_clerk.add_m2m_token(b.id, claims={"k": "v"})
    assert fake_clerk.m2m_tokens[token.id].scopes == [a.id]
    assert token.expiration == token.created_at + 5000
    with pytest.raises(FakeError) as invalid:
        fake_clerk.add_machine("")
    assert (invalid.value.status, invalid.value.code) == (422, "form_param_min_length_exceeded")
    with pytest.raises(FakeError, match="404 resource_not_found"):
        fake_clerk.add_machine("c", scoped_machines=["mch_nope"])


def test_seed_makes_ids_reproducible() -> None:
    ids = [FakeClerk("sk_test_x", seed=3).add_machine("a").id for _ in range(2)]
    assert ids[0] == ids[1]


async def test_client_talks_to_the_fake(fake_clerk: FakeClerk) -> None:
    machine = fake_clerk.add_machine("a")
    async with fake_clerk.client() as clerk:
        updated = await clerk.machines.update(machine.id, name="b", default_token_ttl=60)
    assert (updated.id, updated.name, updated.default_token_ttl) == (machine.id, "b", 60)
    assert fake_clerk.requests[-1].json == {"name": "b", "default_token_ttl": 60}


async def test_url_requires_start() -> None:
    fake = FakeClerk()
    with pytest.raises(RuntimeError, match="not started"):
        _ = fake.url
    async with fake:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/v1", fake.url)
        assert fake.port != 0


async def test_command_line_server() -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "clerk_async.testing",
        "--port",
        "0",
        "--secret-key",
        "sk_test_cli",
        "--rate-limit",
        "10/1",
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        banner = (await asyncio.wait_for(proc.stdout.readline(), 10)).decode()
        url = re.search(r"http://\S+/v1", banner)
        assert url is not None, banner
        assert (await proc.stdout.readline()).decode().startswith("CLERK_API_URL=http://")
        assert (await proc.stdout.readline()).decode().strip() == "CLERK_SECRET_KEY=sk_test_cli"
        async with (
            aiohttp.ClientSession() as session,
            session.get(
                url.group() + "/machines", headers={"Authorization": "Bearer sk_test_cli"}
            ) as resp,
        ):
            assert resp.status == 200
            assert await resp.json() == {"data": [], "total_count": 0}
    finally:
        proc.terminate()
        assert await asyncio.wait_for(proc.wait(), 10) == 0
