"""FakeClerk checks requests as deep as the spec does (issue 19 item 2).

Each request below breaks the spec below the top level of its body (inside an array's
items, inside a nested object), or a format, an int64 range or a multipart body's file;
FakeClerk answers Clerk's 4xx naming the field, where it used to accept it. The requests
are sent raw (our client would refuse most of them before any I/O).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from clerk_async.testing import FakeClerk


@pytest.fixture
async def fake() -> AsyncIterator[FakeClerk]:
    async with FakeClerk(rate_limit=None, seed=5) as server:
        yield server


async def _send(
    fake: FakeClerk,
    method: str,
    path: str,
    *,
    key: str | None = "",
    headers: dict[str, str] | None = None,
    **kwargs: Any,
) -> tuple[int, Any]:
    headers = dict(headers or {})
    if key is not None:
        headers["Authorization"] = f"Bearer {key or fake.secret_key}"
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, fake.url + path, headers=headers, **kwargs) as response,
    ):
        text = await response.text()
        return response.status, json.loads(text) if text.startswith(("{", "[")) else text


MAPPING = {"directory_group_id": "g1", "role_id": "org:member", "precedence": 1}
CREDIT = {"action": "increase", "idempotency_key": "k1"}
DIRECTORY = {"enterprise_connection_id": "entc_1", "name": "d", "provider": "okta"}
# (method, path, body, the param_name refused): each body breaks the spec in one place.
BROKEN: list[tuple[str, str, dict[str, Any], str]] = [
    # a required field inside an array's items
    (
        "POST",
        "/directories",
        {**DIRECTORY, "group_role_mappings": [MAPPING, {"directory_group_id": "g2"}]},
        "group_role_mappings[1].role_id",
    ),
    # a minimum inside an array's items
    (
        "POST",
        "/directories",
        {**DIRECTORY, "group_role_mappings": [{**MAPPING, "precedence": 0}]},
        "group_role_mappings[0].precedence",
    ),
    (
        "PUT",
        "/directories/dir_1/group_role_mappings",
        {"mappings": [{"directory_group_id": "g1"}]},
        "mappings[0].role_id",
    ),
    # an enum inside an array
    (
        "POST",
        "/users",
        {"email_address": ["a@example.com"], "email_address_identification_status": ["bogus"]},
        "email_address_identification_status[0]",
    ),
    # an enum inside a nested object
    (
        "PATCH",
        "/saml_connections/samlc_1",
        {"login_hint": {"mode": "sometimes"}},
        "login_hint.mode",
    ),
    # a pattern inside an array's items
    (
        "PATCH",
        "/instance/communication",
        {"blocked_country_codes": ["US", "not a code"]},
        "blocked_country_codes[1]",
    ),
    # a date-time format
    (
        "POST",
        "/billing/subscription_items/csi_1/extend_free_trial",
        {"extend_to": "next tuesday"},
        "extend_to",
    ),
    # a date-time with a minute past 59 (Schemathesis' negative mode)
    (
        "POST",
        "/billing/subscription_items/csi_1/extend_free_trial",
        {"extend_to": "2024-01-01T12:99:00Z"},
        "extend_to",
    ),
    # an int64 beyond its range (what Go's decoder refuses)
    ("POST", "/users/user_1/billing/credits", {**CREDIT, "amount": 2**63}, "amount"),
]


@pytest.mark.parametrize(("method", "path", "body", "param"), BROKEN, ids=[b[3] for b in BROKEN])
async def test_a_request_broken_below_the_top_level_is_a_4xx_naming_the_field(
    fake: FakeClerk, method: str, path: str, body: dict[str, Any], param: str
) -> None:
    status, answer = await _send(fake, method, path, json=body)
    assert status in (400, 422), answer
    assert param in [e["meta"]["param_name"] for e in answer["errors"]], answer
    assert {"code", "message", "long_message"} <= set(answer["errors"][0])


async def test_the_same_requests_made_valid_are_accepted(fake: FakeClerk) -> None:
    valid = [
        ("POST", "/directories", {**DIRECTORY, "group_role_mappings": [MAPPING]}),
        ("PUT", "/directories/dir_1/group_role_mappings", {"mappings": [{"role_id": "r"}]}),
        ("PATCH", "/saml_connections/samlc_1", {"login_hint": {"mode": "email_address"}}),
        ("PATCH", "/instance/communication", {"blocked_country_codes": ["US", "FR"]}),
        (
            "POST",
            "/billing/subscription_items/csi_1/extend_free_trial",
            {"extend_to": "2026-06-01T00:00:00Z"},
        ),
        ("POST", "/users/user_1/billing/credits", {**CREDIT, "amount": 2**63 - 1}),
    ]
    for method, path, body in valid:
        status, answer = await _send(fake, method, path, json=body)
        assert 200 <= status < 300, (path, answer)


async def test_a_multipart_body_without_its_required_file_is_refused(fake: FakeClerk) -> None:
    org = fake.add_organization("Acme")
    without = aiohttp.FormData(default_to_multipart=True)
    without.add_field("uploader_user_id", "user_1")
    status, answer = await _send(fake, "PUT", f"/organizations/{org.id}/logo", data=without)
    assert status == 400
    assert answer["errors"][0]["meta"]["param_name"] == "file"
    with_file = aiohttp.FormData()
    with_file.add_field("file", b"\x89PNG\r\n", filename="logo.png")
    status, answer = await _send(fake, "PUT", f"/organizations/{org.id}/logo", data=with_file)
    assert status == 200, answer


async def test_a_body_that_says_multipart_but_is_not_is_refused(fake: FakeClerk) -> None:
    status, answer = await _send(
        fake,
        "PUT",
        "/organizations/org_1/logo",
        data=b"just text",
        headers={"Content-Type": "multipart/form-data; boundary=xyz"},
    )
    assert status == 400
    assert answer["errors"][0]["code"] == "request_body_invalid"


async def test_the_interstitial_needs_no_key_as_the_spec_says(fake: FakeClerk) -> None:
    status, _ = await _send(fake, "GET", "/public/interstitial", key=None)
    assert status == 200
    status, _ = await _send(fake, "GET", "/users", key=None)  # others still do
    assert status == 401


async def test_a_body_s_any_of_required_sets_is_checked(fake: FakeClerk) -> None:
    """CreateSAMLConnection's body: anyOf [{required: [domain]}, {required: [domains]}]."""
    body = {"name": "Okta", "provider": "saml_okta"}
    status, answer = await _send(fake, "POST", "/saml_connections", json=body)
    assert status in (400, 422)
    assert answer["errors"][0]["meta"]["param_name"] == "domains"
    for given in ({"domain": "acme.test"}, {"domains": ["acme.test"]}):
        status, answer = await _send(fake, "POST", "/saml_connections", json={**body, **given})
        assert status == 200, answer


async def test_a_body_of_a_vertical_tab_is_not_json_nor_no_body(fake: FakeClerk) -> None:
    """JSON's whitespace is space, tab, CR and LF; Python's bytes.strip() also took \\x0b
    and \\x0c, so such a body passed as an empty PATCH (Schemathesis' negative mode)."""
    status, answer = await _send(
        fake,
        "PATCH",
        "/instance/organization_settings",
        data=b"\x0b",
        headers={"Content-Type": "application/json"},
    )
    assert status == 400
    assert answer["errors"][0]["code"] == "request_body_invalid"
