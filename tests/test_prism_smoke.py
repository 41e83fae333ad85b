"""Smoke tests for the Prism harness, and a record of how Prism validates requests.

These use raw aiohttp, not ``clerk_async``, so that they show what Prism itself does
with Clerk's spec. Conformance tests rely on the behaviour pinned here; if an upgrade
of Prism or of the spec changes it, these tests say what changed (and ``PRISM.md``
needs the same update).
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from tests.prism import PrismServer

pytestmark = pytest.mark.prism

MID = "mch_2xhFjEI5X2qWRvtV13BzSj8H6Dk"
AUTH = {"Authorization": "Bearer sk_test_x"}
DYNAMIC = {"Prefer": "dynamic=true"}
MACHINE_KEYS = {"object", "id", "name", "instance_id", "created_at", "updated_at"}
M2M_TOKEN_KEYS = {
    "object",
    "id",
    "subject",
    "token",
    "revoked",
    "revocation_reason",
    "expired",
    "expiration",
    "last_used_at",
    "created_at",
    "updated_at",
}


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    # A malformed request must never hang a test run: keep timeouts short.
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15)) as session:
        yield session


def violations(resp: aiohttp.ClientResponse) -> list[dict[str, Any]]:
    """Prism's ``sl-violations`` header, decoded (empty when the request was valid)."""
    raw = resp.headers.get("sl-violations")
    return [] if raw is None else list(json.loads(raw))


def assert_machine(body: Any, *, with_scoped: bool = True) -> None:
    assert isinstance(body, dict)
    assert body.keys() >= MACHINE_KEYS | ({"scoped_machines"} if with_scoped else set())
    assert body["object"] == "machine"
    for key in ("id", "name", "instance_id"):
        assert isinstance(body[key], str)
    for key in ("created_at", "updated_at"):
        assert isinstance(body[key], int)
    if "default_token_ttl" in body:
        assert isinstance(body["default_token_ttl"], int)
    if with_scoped:
        assert isinstance(body["scoped_machines"], list)
        for scoped in body["scoped_machines"]:
            assert_machine(scoped, with_scoped=False)


# --- the harness ------------------------------------------------------------------


def test_base_url_is_loopback_without_v1(prism_url: str, prism_server: PrismServer) -> None:
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", prism_url)
    assert prism_server.url == prism_url
    assert prism_server.log_path.exists()
    assert "Prism is listening on" in prism_server.log_path.read_text()


async def test_paths_are_served_without_the_servers_v1_prefix(
    http: aiohttp.ClientSession, prism_url: str
) -> None:
    async with http.get(f"{prism_url}/machines/{MID}", headers=AUTH) as resp:
        assert resp.status == 200
    # The spec's server is https://api.clerk.com/v1, but Prism mounts paths at "/".
    async with http.get(f"{prism_url}/v1/machines/{MID}", headers=AUTH) as resp:
        assert resp.status == 404
        assert resp.content_type == "application/problem+json"
        assert "NO_PATH_MATCHED_ERROR" in (await resp.json(content_type=None))["type"]


# --- PATCH /machines/{id} -----------------------------------------------------------


async def test_valid_update_machine(http: aiohttp.ClientSession, prism_url: str) -> None:
    async with http.patch(
        f"{prism_url}/machines/{MID}", headers=AUTH, json={"name": "x", "default_token_ttl": 60}
    ) as resp:
        assert resp.status == 200
        assert "sl-violations" not in resp.headers
        assert resp.content_type == "application/json"
        assert_machine(await resp.json())


@pytest.mark.parametrize(
    ("body", "location", "code"),
    [
        (
            {"name": "x", "default_token_ttl": 0},
            ["request", "body", "default_token_ttl"],
            "minimum",
        ),
        ({"default_token_ttl": 315360001}, ["request", "body", "default_token_ttl"], "maximum"),
        ({"default_token_ttl": "60"}, ["request", "body", "default_token_ttl"], "type"),
        ({"default_token_ttl": 1.5}, ["request", "body", "default_token_ttl"], "type"),
        ({"name": ""}, ["request", "body", "name"], "minLength"),
        ({"name": "a" * 256}, ["request", "body", "name"], "maxLength"),
        ({"name": None}, ["request", "body", "name"], "type"),
        ([1], ["request", "body"], "type"),
    ],
    ids=[
        "ttl-0",
        "ttl-above-max",
        "ttl-string",
        "ttl-float",
        "name-empty",
        "name-256-chars",
        "name-null",
        "body-not-object",
    ],
)
async def test_invalid_update_machine_body_is_422(
    http: aiohttp.ClientSession, prism_url: str, body: Any, location: list[str], code: str
) -> None:
    async with http.patch(f"{prism_url}/machines/{MID}", headers=AUTH, json=body) as resp:
        # UpdateMachine declares a 422 response, so Prism answers a violation with it.
        assert resp.status == 422
        found = violations(resp)
        assert [(v["location"], v["code"], v["severity"]) for v in found] == [
            (location, code, "Error")
        ]
        # The body is the spec's 422 example/schema (ClerkErrors), not Prism's own error.
        assert "errors" in await resp.json()


async def test_every_violation_is_listed(http: aiohttp.ClientSession, prism_url: str) -> None:
    body = {"name": "", "default_token_ttl": 0}
    async with http.patch(f"{prism_url}/machines/{MID}", headers=AUTH, json=body) as resp:
        assert resp.status == 422
        assert {v["code"] for v in violations(resp)} == {"minLength", "minimum"}


async def test_unknown_body_field_is_accepted_when_schema_allows_it(
    http: aiohttp.ClientSession, prism_url: str
) -> None:
    # UpdateMachine's body schema does not say additionalProperties: false, so an
    # unknown field is valid JSON Schema. (Prism does reject unknown fields where the
    # spec forbids them; see the m2m token quirk below for an exception.)
    body = {"name": "x", "bogus": 1}
    async with http.patch(f"{prism_url}/machines/{MID}", headers=AUTH, json=body) as resp:
        assert resp.status == 200
        assert violations(resp) == []


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Basic Zm9vOmJhcg=="},
        {"Authorization": "sk_test_x"},
        {"Authorization": "bearer sk_test_x"},
        {"Authorization": "Bearer "},
    ],
    ids=["none", "basic", "no-scheme", "lowercase-bearer", "empty-token"],
)
async def test_missing_or_wrong_auth_is_401(
    http: aiohttp.ClientSession, prism_url: str, headers: dict[str, str]
) -> None:
    async with http.patch(
        f"{prism_url}/machines/{MID}", headers=headers, json={"name": "x"}
    ) as resp:
        assert resp.status == 401
        assert violations(resp) == [
            {
                "location": ["request"],
                "severity": "Error",
                "code": 401,
                "message": "Invalid security scheme used",
            }
        ]


async def test_wrong_content_type_is_rejected(http: aiohttp.ClientSession, prism_url: str) -> None:
    async with http.patch(
        f"{prism_url}/machines/{MID}",
        headers={**AUTH, "Content-Type": "text/plain"},
        data=b'{"name": "x"}',
    ) as resp:
        assert resp.status == 422
        [found] = violations(resp)
        assert found["code"] == 415


async def test_body_on_a_body_less_operation_is_rejected(
    http: aiohttp.ClientSession, prism_url: str
) -> None:
    # DeleteMachine has no requestBody: even "{}" is a violation, so a client must
    # not send a body (or a JSON content type with one) on such operations.
    async with http.delete(f"{prism_url}/machines/{MID}", headers=AUTH, json={}) as resp:
        assert resp.status == 422
        [found] = violations(resp)
        assert found["code"] == 415
    async with http.delete(f"{prism_url}/machines/{MID}", headers=AUTH) as resp:
        assert resp.status == 200
        assert (await resp.json())["deleted"] is True


async def test_malformed_json_is_400(http: aiohttp.ClientSession, prism_url: str) -> None:
    # Prism 5.16.0 on Node 20 never answers this request (it waits for the request
    # stream to end a second time); 5.14.2 answers at once.
    async with http.patch(
        f"{prism_url}/machines/{MID}",
        headers={**AUTH, "Content-Type": "application/json"},
        data=b"{not json",
    ) as resp:
        assert resp.status == 400
        assert await resp.json() == {"error": {"code": "invalid_json", "message": "Invalid JSON"}}


# --- query parameters -----------------------------------------------------------------


@pytest.mark.parametrize(("limit", "code"), [("501", "maximum"), ("0", "minimum"), ("abc", "type")])
async def test_list_machines_limit_out_of_range_is_422(
    http: aiohttp.ClientSession, prism_url: str, limit: str, code: str
) -> None:
    async with http.get(f"{prism_url}/machines", headers=AUTH, params={"limit": limit}) as resp:
        assert resp.status == 422
        assert [(v["location"], v["code"]) for v in violations(resp)] == [
            (["request", "query", "limit"], code)
        ]


async def test_list_machines_valid_query(http: aiohttp.ClientSession, prism_url: str) -> None:
    params = {"limit": "500", "offset": "0", "query": "x", "order_by": "-created_at"}
    async with http.get(f"{prism_url}/machines", headers=AUTH, params=params) as resp:
        assert resp.status == 200
        body = await resp.json()
        assert isinstance(body["total_count"], int)
        for item in body["data"]:
            assert_machine(item)
    # Unknown query parameters are not a violation.
    async with http.get(f"{prism_url}/machines", headers=AUTH, params={"bogus": "1"}) as resp:
        assert resp.status == 200


async def test_list_m2m_tokens_without_subject_is_400(
    http: aiohttp.ClientSession, prism_url: str
) -> None:
    async with http.get(f"{prism_url}/m2m_tokens", headers=AUTH) as resp:
        # getM2MTokens declares no 422, so Prism falls back to its 400 response.
        assert resp.status == 400
        assert violations(resp) == [
            {
                "location": ["request", "query"],
                "severity": "Error",
                "code": "required",
                "message": "Request query must have required property 'subject'",
            }
        ]
    async with http.get(f"{prism_url}/m2m_tokens", headers=AUTH, params={"subject": MID}) as resp:
        assert resp.status == 200
        body = await resp.json()
        assert isinstance(body["m2m_tokens"], list)


async def test_query_pattern_is_checked(http: aiohttp.ClientSession, prism_url: str) -> None:
    # GET /api_keys: subject must match ^(user|org|mch|scim)_\w{27}$
    async with http.get(f"{prism_url}/api_keys", headers=AUTH, params={"subject": "x"}) as resp:
        assert resp.status == 400
        [found] = violations(resp)
        assert (found["location"], found["code"]) == (["request", "query", "subject"], "pattern")


# --- POST /m2m_tokens -----------------------------------------------------------------


async def test_create_m2m_token(http: aiohttp.ClientSession, prism_url: str) -> None:
    body = {"seconds_until_expiration": 3600, "claims": {"role": "worker"}}
    headers = {"Authorization": "Bearer ak_machine_secret"}
    async with http.post(f"{prism_url}/m2m_tokens", headers=headers, json=body) as resp:
        assert resp.status == 201
        assert violations(resp) == []
        token = await resp.json()
        assert token.keys() >= M2M_TOKEN_KEYS
        assert token["object"] == "machine_to_machine_token"


async def test_create_m2m_token_requires_a_body(
    http: aiohttp.ClientSession, prism_url: str
) -> None:
    async with http.post(f"{prism_url}/m2m_tokens", headers=AUTH) as resp:
        assert resp.status == 400
        [found] = violations(resp)
        assert (found["code"], found["message"]) == ("required", "Body parameter is required")


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("POST", "/m2m_tokens", 201),
        ("POST", "/api_keys", 200),
        ("PATCH", "/api_keys/ak_3beecc9c60adb5f9b850e91a8ee1e992", 200),
    ],
)
@pytest.mark.parametrize(
    "body",
    [[1], {"bogus": 1}, {"token_format": "paseto", "seconds_until_expiration": 0}],
    ids=["array", "unknown-field", "bad-enum-and-range"],
)
async def test_bodies_with_untyped_nullable_claims_are_not_validated(
    http: aiohttp.ClientSession, prism_url: str, method: str, path: str, status: int, body: Any
) -> None:
    """A Prism quirk that conformance tests must know about.

    These three operations' body schemas contain ``claims: {nullable: true}`` with no
    ``type``. Ajv refuses to compile such a schema ("nullable" needs "type"), and Prism
    swallows the compile error and treats the body as valid, whatever it is: even
    though the m2m schema says ``additionalProperties: false``, has an enum and an
    exclusive minimum. Only the presence of a required body and auth are checked.
    """
    async with http.request(method, f"{prism_url}{path}", headers=AUTH, json=body) as resp:
        assert resp.status == status
        assert violations(resp) == []


# --- response modes ---------------------------------------------------------------------


async def test_static_responses_are_fixed(http: aiohttp.ClientSession, prism_url: str) -> None:
    bodies = []
    for _ in range(3):
        async with http.get(f"{prism_url}/machines/{MID}", headers=AUTH) as resp:
            assert resp.status == 200
            bodies.append(await resp.json())
    assert bodies[0] == bodies[1] == bodies[2]
    # No examples in the spec for Machine: Prism fills in "string" and the smallest
    # safe integer.
    assert bodies[0]["id"] == "string"
    assert bodies[0]["created_at"] == -(2**53 - 1)


async def test_dynamic_responses_vary_and_fit_the_schema(
    http: aiohttp.ClientSession, prism_url: str
) -> None:
    bodies = []
    for _ in range(20):
        async with http.get(f"{prism_url}/machines/{MID}", headers={**AUTH, **DYNAMIC}) as resp:
            assert resp.status == 200
            assert violations(resp) == []
            body = await resp.json()
            assert_machine(body)
            bodies.append(body)
    assert len({b["id"] for b in bodies}) > 10
    assert len({len(b["scoped_machines"]) for b in bodies}) > 1


async def test_dynamic_mode_still_validates_requests(
    http: aiohttp.ClientSession, prism_url: str
) -> None:
    body = {"default_token_ttl": 0}
    async with http.patch(
        f"{prism_url}/machines/{MID}", headers={**AUTH, **DYNAMIC}, json=body
    ) as resp:
        assert resp.status == 422
        assert violations(resp)[0]["code"] == "minimum"


async def test_prefer_code_selects_a_documented_response(
    http: aiohttp.ClientSession, prism_url: str
) -> None:
    headers = {**AUTH, "Prefer": "code=404"}
    async with http.get(f"{prism_url}/machines/{MID}", headers=headers) as resp:
        assert resp.status == 404
        assert "errors" in await resp.json()
    # A status the operation does not document is Prism's own 404 problem.
    headers = {**AUTH, "Prefer": "code=418"}
    async with http.get(f"{prism_url}/machines/{MID}", headers=headers) as resp:
        assert resp.status == 404
        assert resp.content_type == "application/problem+json"
