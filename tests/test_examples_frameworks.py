"""The example apps of examples/ (Starlette, Litestar, aiohttp, Flask), each with its
framework's own test client in front of FakeClerk; Django's is in test_integration_django."""

from __future__ import annotations

import asyncio
import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from clerk_async.testing import FakeClerk
from tests._frameworks import USER, assert_forbidden, assert_unauthorized, bearer

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"{name}_example", EXAMPLES / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # Litestar resolves the handlers' annotations there
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeClerk]:
    with FakeClerk(rate_limit=None) as started:
        yield started


def test_starlette_example(fake: FakeClerk) -> None:
    from starlette.testclient import TestClient

    user = fake.add_user("ada@example.com", first_name="Ada")
    admin = fake.session_token(user.id, org_id="org_1", org_role="admin")
    member = fake.session_token(user.id, org_id="org_1", org_role="member")
    app = load("starlette_app").create_app(secret_key=fake.secret_key, base_url=fake.url)
    with TestClient(app) as http:
        assert http.get("/me", headers=bearer(admin)).json() == {
            "user_id": user.id,
            "first_name": "Ada",
        }
        assert_unauthorized(http.get("/me"))
        assert http.get("/admin", headers=bearer(admin)).json() == {"org_id": "org_1"}
        assert http.get("/admin", headers=bearer(member)).status_code == 403


def test_litestar_example(fake: FakeClerk) -> None:
    from litestar.testing import TestClient

    module = load("litestar_app")
    user = fake.add_user("grace@example.com", first_name="Grace")
    reader = fake.session_token(user.id, org_id="org_1", org_permissions=["org:invoices:read"])
    member = fake.session_token(user.id, org_id="org_1", org_role="member")
    service = fake.add_machine("service", machine_id=module.SERVICE)
    caller = fake.add_machine("caller")
    caller.scopes[service.id] = 0
    with TestClient(module.create_app(secret_key=fake.secret_key, base_url=fake.url)) as http:
        assert http.get("/me", headers=bearer(member)).json() == {
            "user_id": user.id,
            "first_name": "Grace",
        }
        assert http.get("/invoices", headers=bearer(reader)).json() == {
            "org_id": "org_1",
            "invoices": [],
        }
        assert_forbidden(http.get("/invoices", headers=bearer(member)))
        jwt = fake.m2m_jwt(caller.id)
        assert http.get("/internal", headers=bearer(jwt)).json() == {"called_by": caller.id}
        assert_unauthorized(http.get("/me", headers=bearer(jwt)))  # a machine is not a user
        opaque = fake.add_m2m_token(fake.add_machine("stranger").id).token
        assert_forbidden(
            http.get("/internal", headers=bearer(opaque)),
            f'Bearer error="insufficient_scope", scope="{module.SERVICE}"',
        )


def test_aiohttp_example(fake: FakeClerk) -> None:
    from aiohttp.test_utils import TestClient, TestServer

    module = load("aiohttp_app")
    user = fake.add_user("alan@example.com", first_name="Alan")
    admin = fake.session_token(user.id, org_id="org_1", org_role="admin")
    member = fake.session_token(user.id, org_id="org_1", org_role="member")
    key = fake.add_api_key(user.id, name="ci-bot", scopes=["read:reports"]).secret

    async def scenario() -> dict[str, Any]:
        app = module.create_app(secret_key=fake.secret_key, base_url=fake.url)
        async with TestClient(TestServer(app)) as http:
            return {
                "me": await (await http.get("/me", headers=bearer(member))).json(),
                "admin": (await http.get("/admin", headers=bearer(admin))).status,
                "member": (await http.get("/admin", headers=bearer(member))).status,
                "keys": await (await http.get("/keys", headers=bearer(key))).json(),
                "anonymous": (await http.get("/me")).status,
            }

    assert asyncio.run(scenario()) == {
        "me": {"user_id": user.id, "first_name": "Alan"},
        "admin": 200,
        "member": 403,
        "keys": {"key": "ci-bot", "subject": user.id},
        "anonymous": 401,
    }


def test_flask_example(fake: FakeClerk) -> None:
    from flask import Flask

    module = load("flask_app")
    app: Flask = module.create_app({"CLERK_JWT_KEY": fake.jwt_key})
    http = app.test_client()
    pro = fake.session_token(USER, claims={"pla": "u:pro", "fea": "u:export"})
    free = fake.session_token(USER, org_id="org_1", org_role="admin")
    before = len(fake.requests)
    assert http.get("/me", headers=bearer(free)).json == {"user_id": USER, "org_id": "org_1"}
    assert http.get("/export", headers=bearer(pro)).json == {"user_id": USER, "rows": []}
    assert_forbidden(http.get("/export", headers=bearer(free)))
    assert http.get("/admin", headers=bearer(free)).json == {"org_id": "org_1"}
    assert_forbidden(http.get("/admin", headers=bearer(pro)))
    assert_unauthorized(http.get("/me"))
    assert len(fake.requests) == before  # CLERK_JWT_KEY: networkless
    module.ClerkAuth.close(app)
    # /profile calls Clerk's API through the extension's clerk_async.sync.Clerk.
    app = module.create_app(secret_key=fake.secret_key, base_url=fake.url)
    grace = fake.add_user("grace.flask@example.com", first_name="Grace")
    token = fake.session_token(grace.id)
    answer = app.test_client().get("/profile", headers=bearer(token))
    assert answer.json == {"first_name": "Grace", "emails": 1}
    assert_unauthorized(app.test_client().get("/profile"))
    module.ClerkAuth.close(app)
