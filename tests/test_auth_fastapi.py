"""require_auth and examples/m2m_service.py under real uvicorn, in front of FakeClerk.

No ``from __future__ import annotations``: FastAPI reads the path operations' annotations,
some of which name dependencies local to a test.
"""

import importlib.util
from collections.abc import AsyncIterator
from pathlib import Path
from types import ModuleType
from typing import Annotated, Any

import httpx
import pytest
from fastapi import Depends, FastAPI

from clerk_async import ClerkValidationError
from clerk_async.auth import Auth, SessionAuth
from clerk_async.fastapi import clerk_lifespan, require_auth
from clerk_async.testing import FakeClerk, Faults
from tests.test_fastapi import serve_in_process

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "m2m_service.py"
USER = "user_2GIpXOEpVyJw51rkZn9Kmnc6Sxr"
INVALID = 'Bearer error="invalid_token"'


def _load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("m2m_service_example", EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
async def fake() -> AsyncIterator[FakeClerk]:
    async with FakeClerk(rate_limit=None) as started:
        yield started


async def _client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with serve_in_process(app) as url, httpx.AsyncClient(base_url=url, timeout=15) as http:
        yield http


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_unauthorized(response: httpx.Response, challenge: str, token: str = "") -> None:
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == challenge
    assert response.json() == {"detail": "Unauthorized"}  # nothing about the token or why
    if token:
        assert token not in response.text


async def test_the_m2m_example_service(fake: FakeClerk) -> None:
    receiver = fake.add_machine("reports")
    caller = fake.add_machine("billing")
    stranger = fake.add_machine("stranger")
    caller.scopes[receiver.id] = 0
    app = _load_example().create_app(
        receiver.id, secret_key=fake.secret_key, base_url=fake.url, max_retries=0
    )
    async for http in _client(app):
        assert (await http.get("/health")).json() == {"status": "ok"}
        assert_unauthorized(await http.get("/reports/r1"), INVALID)

        # The caller mints its token with its own machine secret key, as in the docstring.
        async with fake.client(machine_secret_key=caller.secret_key) as as_caller:
            jwt = (await as_caller.m2m.create_token(token_format="jwt")).token
            opaque = (await as_caller.m2m.create_token()).token
        assert jwt is not None
        assert opaque is not None
        for token in (jwt, opaque, jwt):
            answer = await http.get("/reports/r1", headers=bearer(token))
            assert answer.json() == {"report_id": "r1", "called_by": caller.id}
        assert fake.stats.requests["GET", "/v1/jwks"] == 1  # JWTs: one JWKS fetch, then none
        assert fake.stats.requests["POST", "/v1/m2m_tokens/verify"] == 1  # opaque: one each

        # A machine that was not granted access to this one: valid, but not allowed.
        denied = await http.get("/reports/r1", headers=bearer(fake.m2m_jwt(stranger.id)))
        assert denied.status_code == 403
        assert denied.headers["WWW-Authenticate"] == (
            f'Bearer error="insufficient_scope", scope="{receiver.id}"'
        )
        # Anything else is a 401 with invalid_token.
        fake.advance_time(-3600)
        expired = fake.m2m_jwt(caller.id, expires_in=60)
        fake.advance_time(3600)
        other = FakeClerk()
        refused = {
            "garbage": "garbage.token.here",
            "expired": expired,
            "badly signed": jwt[:-4] + ("AAAA" if not jwt.endswith("AAAA") else "BBBB"),
            "a session token": fake.session_token(USER),
            "an API key": fake.add_api_key(USER).secret,
            "another instance's": other.m2m_jwt(other.add_machine("intruder").id),
            "revoked": opaque,
        }
        fake.m2m_tokens[next(iter(fake.m2m_tokens))].revoked = True
        for token in refused.values():
            assert_unauthorized(
                await http.get("/reports/r1", headers=bearer(token)), INVALID, token
            )

        # Clerk down: not the caller's fault, so not a 401.
        fake.faults = Faults(error_rate=1.0, error_after_apply_fraction=0.0)
        async with fake.client(machine_secret_key=caller.secret_key) as as_caller:
            fake.faults = Faults()
            fresh = (await as_caller.m2m.create_token()).token
            fake.faults = Faults(error_rate=1.0, error_after_apply_fraction=0.0)
        assert fresh is not None
        down = await http.get("/reports/r1", headers=bearer(fresh))
        assert (down.status_code, down.json()) == (503, {"detail": "Authentication is unavailable"})


async def test_sessions_from_header_or_cookie_with_jwt_key(fake: FakeClerk) -> None:
    app = FastAPI(lifespan=clerk_lifespan(jwt_key=fake.jwt_key, base_url=fake.url))
    User = Annotated[Auth, Depends(require_auth(authorized_parties=["https://app.test"]))]

    @app.get("/me")
    async def me(auth: User) -> dict[str, Any]:
        assert isinstance(auth, SessionAuth)
        return {"user_id": auth.user_id, "org_id": auth.org_id}

    good = fake.session_token(USER, org_id="org_1", azp="https://app.test")
    async for http in _client(app):
        assert (await http.get("/me", headers=bearer(good))).json() == {
            "user_id": USER,
            "org_id": "org_1",
        }
        assert (await http.get("/me", headers={"Cookie": f"__session={good}"})).status_code == 200
        evil = fake.session_token(USER, azp="https://evil.test")
        assert_unauthorized(await http.get("/me", headers=bearer(evil)), INVALID, evil)
        expired = fake.session_token(USER, azp="https://app.test", expires_in=-60)
        assert_unauthorized(
            await http.get("/me", headers={"Cookie": f"__session={expired}"}), INVALID
        )
        assert_unauthorized(await http.get("/me"), INVALID)
    assert len(fake.requests) == 0  # networkless: not one request to Clerk


async def test_scopes_on_api_keys_and_sessions(fake: FakeClerk) -> None:
    app = FastAPI(lifespan=clerk_lifespan(secret_key=fake.secret_key, base_url=fake.url))
    Reader = Annotated[
        Auth, Depends(require_auth(["api_key", "session_token"], scopes=["read:reports"]))
    ]

    @app.get("/reports")
    async def reports(auth: Reader) -> dict[str, str]:
        return {"token_type": auth.token_type}

    reader = fake.add_api_key(USER, scopes=["read:reports", "write:reports"]).secret
    writer = fake.add_api_key(USER, scopes=["write:reports"]).secret
    async for http in _client(app):
        assert (await http.get("/reports", headers=bearer(reader))).json() == {
            "token_type": "api_key"
        }
        assert (await http.get("/reports", headers=bearer(writer))).status_code == 403
        # Sessions carry no scopes: a valid one is not enough here.
        session = fake.session_token(USER)
        assert (await http.get("/reports", headers=bearer(session))).status_code == 403


async def test_role_permission_feature_and_plan_answer_403(fake: FakeClerk) -> None:
    app = FastAPI(lifespan=clerk_lifespan(jwt_key=fake.jwt_key, base_url=fake.url))
    Admin = Annotated[SessionAuth, Depends(require_auth(role="admin"))]
    Reader = Annotated[SessionAuth, Depends(require_auth(permission="org:invoices:read"))]
    Pro = Annotated[SessionAuth, Depends(require_auth(plan="u:pro", feature="export"))]
    Any_ = Annotated[Auth, Depends(require_auth("any", role="org:admin"))]

    @app.get("/admin")
    async def admin(auth: Admin) -> str:
        return auth.user_id

    @app.get("/invoices")
    async def invoices(auth: Reader) -> str:
        return auth.user_id

    @app.get("/export")
    async def export(auth: Pro) -> str:
        return auth.user_id

    @app.get("/any")
    async def any_(auth: Any_) -> str:
        return auth.token_type

    forbidden = 'Bearer error="insufficient_scope"'
    admin_token = fake.session_token(
        USER, org_id="org_1", org_role="org:admin", org_permissions=["org:invoices:read"]
    )
    member = fake.session_token(USER, org_id="org_1", org_role="member")
    no_org = fake.session_token(USER)
    pro = fake.session_token(USER, claims={"pla": "u:pro", "fea": "u:export,o:reports"})
    async for http in _client(app):
        assert (await http.get("/admin", headers=bearer(admin_token))).json() == USER
        assert (await http.get("/invoices", headers=bearer(admin_token))).json() == USER
        for path, token in (
            ("/admin", member),
            ("/admin", no_org),
            ("/invoices", member),
            ("/export", admin_token),
            ("/any", member),
        ):
            denied = await http.get(path, headers=bearer(token))
            assert denied.status_code == 403, path
            assert denied.headers["WWW-Authenticate"] == forbidden
            assert denied.json() == {"detail": "Forbidden"}
        assert (await http.get("/export", headers=bearer(pro))).json() == USER
        assert (await http.get("/any", headers=bearer(admin_token))).json() == "session_token"
        # A machine passes no has() check, however valid (JS: has() is false for machines).
        receiver = fake.add_machine("api")
        caller = fake.add_machine("caller")
        caller.scopes[receiver.id] = 0
        async with fake.client(machine_secret_key=caller.secret_key) as as_caller:
            jwt = (await as_caller.m2m.create_token(token_format="jwt")).token
        assert jwt is not None
        assert (await http.get("/any", headers=bearer(jwt))).status_code == 403
        assert_unauthorized(await http.get("/admin"), INVALID)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"accepts_token": "m2m"}, "accepts_token"),
        ({"scopes": [""]}, "scopes"),
        ({"clock_skew": -5}, "clock_skew"),
        ({"role": ""}, "role"),
        ({"permission": 3}, "permission"),
        ({"plan": "::"}, "plan"),
        ({"reverification": "sometimes"}, "reverification"),
        ({"reverification": {"level": "second_factor", "after_minutes": 0}}, "reverification"),
    ],
)
def test_require_auth_checks_its_options_when_the_app_is_defined(
    kwargs: dict[str, Any], field: str
) -> None:
    with pytest.raises(ClerkValidationError) as caught:
        require_auth(**kwargs)
    assert caught.value.field == field
