"""FakeClerk never answers 5xx unless a fault is asked for (issue 23 item 11).

Each case is one a hostile review or Schemathesis found answering 500; each is now a 4xx
with Clerk's error body naming the field, or (the M2M token) a 200.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from clerk_async import _json
from clerk_async.testing import FakeClerk
from clerk_async.testing import _app as fake_app
from clerk_async.testing._spec import OPERATIONS as TABLES


@pytest.fixture
async def fake() -> AsyncIterator[FakeClerk]:
    async with FakeClerk(rate_limit=None, seed=3) as server:
        yield server


@pytest.fixture
def stdlib_codec(monkeypatch: pytest.MonkeyPatch) -> None:
    """FakeClerk as under ``CLERK_ASYNC_PURE_JSON=1``: the stdlib codec both ways."""
    monkeypatch.setattr(fake_app, "CODEC", "json")
    monkeypatch.setattr(fake_app, "dumps", _json._stdlib_dumps)


async def _raw(
    fake: FakeClerk, method: str, path: str, body: bytes | None = None, **headers: str
) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {fake.secret_key}", **headers}
    if body is not None:
        headers.setdefault("Content-Type", "application/json")
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, fake.url + path, data=body, headers=headers) as response,
    ):
        text = await response.read()
        return response.status, json.loads(text) if text else None


def _integer_queries() -> list[tuple[str, str, str]]:
    """(operation, path, query parameter) for every integer query parameter of a GET."""
    found = []
    for op_id, op in TABLES.items():
        if op.method != "GET" or op.query is None or "{" in op.path:
            continue
        found += [(op_id, op.path, f.name) for f in op.query.fields if f.kind == "integer"]
    return found


INTEGER_QUERIES = _integer_queries()


def test_there_are_integer_query_parameters_to_try() -> None:
    assert len(INTEGER_QUERIES) >= 36


# 22 digits: past int64, where the stateful lists sliced by an offset Python cannot index
# (Schemathesis found GET /organization_memberships?offset=32589158477190044731 a 500).
@pytest.mark.parametrize("digits", [22, 4301, 8000])  # 8,190 bytes: aiohttp's line limit
async def test_integer_query_text_of_any_length_is_a_4xx(fake: FakeClerk, digits: int) -> None:
    statuses: dict[int, list[str]] = {}
    for op_id, path, name in INTEGER_QUERIES:
        status, answer = await _raw(fake, "GET", f"{path}?{name}={'9' * digits}")
        statuses.setdefault(status, []).append(op_id)
        assert answer["errors"][0]["meta"]["param_name"] == name, (op_id, status)
    assert set(statuses) <= {400, 422}, statuses


async def test_an_offset_past_int64_on_a_user_s_memberships_is_a_4xx(fake: FakeClerk) -> None:
    user = fake.add_user("ada@example.com")
    path = f"/users/{user.id}/organization_memberships?offset={10**21}"
    status, answer = await _raw(fake, "GET", path)
    assert status in (400, 422)
    assert answer["errors"][0]["meta"]["param_name"] == "offset"
    status, answer = await _raw(fake, "GET", f"/sessions?user_id={user.id}&offset={2**63}")
    assert status in (400, 422)
    status, _ = await _raw(fake, "GET", f"/sessions?user_id={user.id}&offset={2**63 - 1}")
    assert status == 200  # the largest int64 is an offset past the end: an empty page


async def test_a_null_where_an_object_is_required_is_a_4xx(fake: FakeClerk) -> None:
    body = json.dumps({"dest_role_set_key": "b", "reassignment_mappings": None}).encode()
    status, answer = await _raw(fake, "POST", "/role_sets/a/replace", body)
    assert status == 422
    assert answer["errors"][0]["meta"]["param_name"] == "reassignment_mappings"


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/clients/verify", b'{"token": "t", "\\ud800": 1}'),  # an unknown key
        ("/machines", b'{"name": "m", "scoped_machines": "\\udfff"}'),  # the wrong type
    ],
)
@pytest.mark.usefixtures("stdlib_codec")
async def test_a_lone_surrogate_in_a_refused_body_is_a_4xx_on_the_stdlib_codec(
    fake: FakeClerk, path: str, body: bytes
) -> None:
    status, answer = await _raw(fake, "POST", path, body)
    assert status in (400, 422)
    assert answer["errors"], answer


@pytest.mark.usefixtures("stdlib_codec")
async def test_a_lone_surrogate_as_an_enum_value_is_a_4xx_on_the_stdlib_codec(
    fake: FakeClerk,
) -> None:
    status, answer = await _raw(fake, "GET", "/machines?order_by=%ED%A0%80")
    assert status in (400, 422)
    assert answer["errors"][0]["meta"]["param_name"] == "order_by"
    status, answer = await _raw(
        fake,
        "POST",
        "/invitations",
        b'{"email_address": "a@example.com", "template_slug": "\\ud800"}',
    )
    assert status in (400, 422)
    assert answer["errors"][0]["meta"]["param_name"] == "template_slug"


async def test_the_m2m_token_body_schemathesis_sent_after_some_state_is_answered(
    fake: FakeClerk,
) -> None:
    """The review's stateful-phase case, after state like the one Schemathesis builds
    (scopes, a deleted scoped machine, a rotated key, reused opaque tokens). It did not fail
    alone; tests/test_fake_schemathesis.py runs the stateful phase itself."""
    other = fake.add_machine("other")
    machine = fake.add_machine("m", scoped_machines=[other.id], default_token_ttl=1)
    status, _ = await _raw(fake, "DELETE", f"/machines/{other.id}")
    assert status == 200
    status, rotated = await _raw(
        fake, "POST", f"/machines/{machine.id}/secret_key/rotate", b'{"previous_token_ttl": 5}'
    )
    assert status == 200
    body = {"min_remaining_ttl_seconds": 276600937, "seconds_until_expiration": 1.0}
    for key in (machine.secret_key, rotated["secret"]):
        for token_format in ("jwt", "opaque", "jwt"):
            status, answer = await _raw(
                fake,
                "POST",
                "/m2m_tokens",
                json.dumps({**body, "token_format": token_format}).encode(),
                Authorization=f"Bearer {key}",
            )
            assert status < 500, answer
            assert status == (201 if token_format == "jwt" else 400), answer
