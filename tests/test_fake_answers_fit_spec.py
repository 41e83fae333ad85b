"""Every answer FakeClerk gives to a valid call fits the spec, by a validator nobody here wrote.

Each of the 249 operations is called through clerk_async with valid arguments (as in
tests/test_fake_every_operation.py); a middleware on FakeClerk's aiohttp app keeps each raw
answer as it goes on the wire (status, content type, bytes), and openapi-core validates it
against ``spec/clerk-bapi-2026-05-12.yml``: every required field, types, formats
(``email``, ``date-time``, ``uri``), enums, patterns, ``oneOf``/``anyOf`` and
discriminators. Our own models are not the judge here: they accepted off-spec answers.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp import web
from openapi_core import OpenAPI
from openapi_core.testing import MockRequest, MockResponse
from yarl import URL

from clerk_async import Clerk
from clerk_async.services.spec import OPERATIONS
from clerk_async.testing import FakeClerk
from tests.test_fake_every_operation import valid_call

ROOT = Path(__file__).resolve().parent.parent
API = OpenAPI.from_dict(yaml.safe_load((ROOT / "spec" / "clerk-bapi-2026-05-12.yml").read_text()))
SERVER = "https://api.clerk.com"  # the spec's server; paths below it start with /v1

Answer = tuple[str, URL, int, str | None, bytes]  # method, url, status, content type, body


@pytest.fixture
def answers() -> list[Answer]:
    return []


@pytest.fixture
async def fake(answers: list[Answer]) -> AsyncIterator[FakeClerk]:
    server = FakeClerk(rate_limit=None, seed=7)

    @web.middleware
    async def keep(request: web.Request, handler: Any) -> web.StreamResponse:
        response: web.StreamResponse = await handler(request)
        body = response.body if isinstance(response, web.Response) else None
        assert isinstance(body, bytes | None)
        answers.append(
            (request.method, request.url, response.status, response.content_type, body or b"")
        )
        return response

    server.app.middlewares.append(keep)  # before the app starts (and freezes)
    async with server:
        yield server


@pytest.fixture
async def clerk(fake: FakeClerk) -> AsyncIterator[Clerk]:
    async with fake.client(max_retries=0) as client:
        yield client


def off_spec(answer: Answer) -> list[str]:
    """What openapi-core finds wrong with ``answer``, as readable lines (empty: it fits)."""
    method, url, status, content_type, body = answer
    path = url.path if url.path.startswith("/v1/") else "/v1" + url.path
    request = MockRequest(SERVER, method.lower(), path, args=dict(url.query))
    response = MockResponse(
        body, status_code=status, content_type=content_type or "application/json"
    )
    try:
        API.validate_response(request, response)
    except Exception as error:  # openapi-core's errors: the cause holds the schema errors
        cause = error.__cause__
        found = getattr(cause, "schema_errors", None) or [cause or error]
        return [
            f"{method} {path} {status}: {getattr(e, 'json_path', '$')} {getattr(e, 'message', e)}"[
                :300
            ]
            for e in found
        ]
    return []


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize("op_id", sorted(OPERATIONS))
async def test_every_answer_fits_the_spec(
    fake: FakeClerk, clerk: Clerk, answers: list[Answer], op_id: str
) -> None:
    await (await valid_call(fake, clerk, op_id))  # a pager: its first page
    assert answers, "no request reached FakeClerk"
    assert all(200 <= a[2] < 300 for a in answers), [(a[0], a[1], a[2]) for a in answers]
    assert [line for a in answers for line in off_spec(a)] == []


async def test_the_validator_refuses_an_answer_off_the_spec() -> None:
    """The check above can fail: a user without its required fields, an email that is not
    one, and a verification without its discriminator are each found."""
    user = {"object": "user", "id": "user_1", "email_addresses": [], "banned": "no"}
    bad = off_spec(("GET", URL(SERVER + "/v1/users/user_1"), 200, None, json.dumps(user).encode()))
    assert any("'phone_numbers' is a required property" in line for line in bad)
    assert any("banned" in line for line in bad)
    invitation = {
        "object": "invitation",
        "id": "inv_1",
        "email_address": "value",
        "public_metadata": {},
        "status": "pending",
        "created_at": 1,
        "updated_at": 1,
    }
    bad = off_spec(
        ("POST", URL(SERVER + "/v1/invitations"), 200, None, json.dumps(invitation).encode())
    )
    assert any("is not a 'email'" in line for line in bad)


async def test_a_path_id_comes_back_in_the_answer(clerk: Clerk) -> None:
    """A stateless ``GET /x/{id}`` answers the object with that id, as Clerk would."""
    connection = await clerk.enterprise_connections.get("entc_31fWQ0mX7l3bUqkH5rOJZbPyCqv")
    assert connection.id == "entc_31fWQ0mX7l3bUqkH5rOJZbPyCqv"
    application = await clerk.oauth_applications.update("oa_2", name="Ledger")
    assert application.id == "oa_2"
    directory = await clerk.directories.get("dir_9")
    assert directory.id == "dir_9"
