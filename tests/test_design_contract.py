"""The public contract of /work/shared/DESIGN.md, name by name, over real HTTP.

"Public surface", "Authenticating requests" and "FakeClerk anywhere": every name the
design lists is imported here as it writes it, and each behaviour it states is checked
against FakeClerk on loopback (or FastAPI under its TestClient). A rename, or a
behaviour that drifts from the design, fails here first.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import os
from collections.abc import AsyncIterator
from typing import Any

import attrs
import pytest
from multidict import CIMultiDict

# The design's import lines, as written.
from clerk_async import UNSET, Clerk, Machine, UpdateMachineParams
from clerk_async.auth import (
    APIKeyAuth,
    M2MAuth,
    OAuthAuth,
    RequestState,
    SessionAuth,
    TokenVerificationError,
)
from clerk_async.testing import FakeClerk

USER = "user_2GIpXOEpVyJw51rkZn9Kmnc6Sxr"


@pytest.fixture
async def fake() -> AsyncIterator[FakeClerk]:
    async with FakeClerk(rate_limit=None) as started:
        yield started


@pytest.fixture
async def clerk(fake: FakeClerk) -> AsyncIterator[Clerk]:
    async with Clerk(secret_key=fake.secret_key, base_url=fake.url, rate_limit=None) as client:
        yield client


# --- Public surface -----------------------------------------------------------------------


def test_the_error_names_are_importable_from_clerk_async_with_their_statuses() -> None:
    import clerk_async

    by_status = {
        "BadRequestError": 400,
        "AuthenticationError": 401,
        "PermissionDeniedError": 403,
        "NotFoundError": 404,
        "ConflictError": 409,
        "UnprocessableEntityError": 422,
        "RateLimitError": 429,
        "InternalServerError": 500,
    }
    root = clerk_async.ClerkError
    for name, status in by_status.items():
        cls = getattr(clerk_async, name)
        assert issubclass(cls, clerk_async.ClerkAPIError)
        assert cls.status == status
    for name in ("ClerkAPIError", "ClerkConnectionError", "ClerkTimeoutError"):
        assert issubclass(getattr(clerk_async, name), root)
    assert issubclass(clerk_async.ClerkValidationError, root)
    assert issubclass(TokenVerificationError, root)


async def test_update_takes_the_four_forms_and_sends_snake_case_without_unset(
    fake: FakeClerk, clerk: Clerk
) -> None:
    machine_id = fake.add_machine("old").id
    m = await clerk.machines.update(
        machine_id=machine_id, name="New Machine Name", default_token_ttl=3600
    )
    assert isinstance(m, Machine)
    assert attrs.has(Machine)
    assert (m.name, m.default_token_ttl) == ("New Machine Name", 3600)
    assert fake.requests[-1].json == {"name": "New Machine Name", "default_token_ttl": 3600}

    m = await clerk.machines.update(machine_id, name="positional")  # the id positional
    assert fake.requests[-1].json == {"name": "positional"}  # UNSET fields left out

    params = UpdateMachineParams(machine_id=machine_id, default_token_ttl=60)
    assert params.name is UNSET
    m = await clerk.machines.update(params)
    assert fake.requests[-1].json == {"default_token_ttl": 60}

    m = await clerk.machines.update({"machineId": machine_id, "defaultTokenTtl": 3600})
    assert fake.requests[-1].json == {"default_token_ttl": 3600}  # camelCase in, snake out
    assert (fake.requests[-1].method, fake.requests[-1].path) == (
        "PATCH",
        f"/v1/machines/{machine_id}",
    )
    # Models keep the wire's names; timestamps stay int epoch milliseconds.
    assert m.default_token_ttl == 3600
    assert type(m.created_at) is int
    assert type(m.updated_at) is int


async def test_base_url_and_the_key_come_from_the_environment(
    fake: FakeClerk, monkeypatch: pytest.MonkeyPatch
) -> None:
    machine_id = fake.add_machine("env").id
    with fake.setenv() as env:  # CLERK_API_URL (no /v1) and CLERK_SECRET_KEY
        assert not env["CLERK_API_URL"].endswith("/v1")
        async with Clerk(rate_limit=None) as clerk:
            assert clerk.base_url == env["CLERK_API_URL"] + "/v1"
            assert (await clerk.machines.get(machine_id)).id == machine_id
    monkeypatch.delenv("CLERK_API_URL", raising=False)
    assert Clerk(secret_key="sk_test_x").base_url == "https://api.clerk.com/v1"


async def test_a_missing_secret_key_fails_at_the_first_request_not_before(
    fake: FakeClerk, monkeypatch: pytest.MonkeyPatch
) -> None:
    import clerk_async

    monkeypatch.delenv("CLERK_SECRET_KEY", raising=False)
    client = Clerk(base_url=fake.url)  # no error here
    async with client:
        with pytest.raises(clerk_async.ClerkValidationError) as caught:
            await client.machines.list()
    assert caught.value.field == "secret_key"
    assert len(fake.requests) == 0


def test_services_and_their_methods_are_named_as_the_design_says() -> None:
    clerk = Clerk(secret_key="sk_test_x")
    names = {
        "machines": "list get create update delete get_secret_key rotate_secret_key "
        "create_scope delete_scope update_many",
        "m2m": "create_token list_tokens revoke_token verify_token token_source",
        "api_keys": "list create get update delete get_secret revoke verify",
    }
    for service, methods in names.items():
        for method in methods.split():
            assert callable(getattr(getattr(clerk, service), method)), f"{service}.{method}"
    # Everything after the resource's own id is keyword-only, options included.
    update = inspect.signature(clerk.machines.update)
    kinds = {p.name: p.kind for p in update.parameters.values()}
    assert kinds.get("name") is inspect.Parameter.KEYWORD_ONLY
    verify = inspect.signature(clerk.verify_token)
    assert [p for p in verify.parameters.values() if p.kind is not p.KEYWORD_ONLY] == [
        verify.parameters["token"]
    ]
    assert {
        k: verify.parameters[k].default
        for k in ("accepts_token", "authorized_parties", "audience", "clock_skew")
    } == {
        "accepts_token": "session_token",
        "authorized_parties": None,
        "audience": None,
        "clock_skew": 5.0,
    }


async def test_per_call_options_are_keywords_that_reach_the_wire(
    fake: FakeClerk, clerk: Clerk
) -> None:
    machine = fake.add_machine("caller")
    token = await clerk.m2m.create_token(
        machine_secret_key=machine.secret_key,
        timeout=10,
        max_retries=0,
        deadline=20,
        extra_headers={"X-Request-Id": "req-1"},
    )
    assert token.token is not None
    assert token.subject == machine.id
    assert fake.requests[-1].headers["X-Request-Id"] == "req-1"


def test_pacing_and_pool_defaults_follow_the_design() -> None:
    from clerk_async import RateLimit

    assert Clerk(secret_key="sk_live_x").rate_limit == RateLimit(1000, 10)
    assert Clerk(secret_key="sk_test_x").rate_limit == RateLimit(100, 10)
    assert Clerk(secret_key="sk_test_x", rate_limit=None).rate_limit is None
    assert Clerk(secret_key="sk_test_x", rate_limit=RateLimit(5, 1.0)).rate_limit == RateLimit(
        5, 1.0
    )
    assert Clerk(secret_key="sk_test_x").max_connections == 100
    assert Clerk(secret_key="sk_test_x", max_connections=7).max_connections == 7


def test_rate_limit_takes_a_redis_url_and_never_shows_its_password() -> None:
    from clerk_async import RateLimit

    assert RateLimit(100, 10.0, redis_url=None) == RateLimit(100, 10.0)
    shared = RateLimit(100, 10.0, redis_url="redis://:hunter2-secret@127.0.0.1:6379/0")
    assert shared.redis_url is not None
    assert "hunter2-secret" not in repr(shared)


async def test_an_api_error_carries_what_the_design_lists(fake: FakeClerk, clerk: Clerk) -> None:
    import clerk_async

    with pytest.raises(clerk_async.NotFoundError) as caught:
        await clerk.machines.get("mch_missing")
    error = caught.value
    assert error.status == 404
    assert error.errors
    assert error.errors[0].code == "resource_not_found"
    assert {"code", "message", "long_message", "meta"} <= set(attrs.asdict(error.errors[0]))
    assert error.clerk_trace_id
    assert error.retry_after is None
    assert error.headers["Content-Type"].startswith("application/json")
    assert json.loads(error.body)["errors"][0]["code"] == "resource_not_found"
    assert fake.secret_key not in str(error) + repr(error)


async def test_the_escape_hatch_takes_the_same_path_and_answers_json(
    fake: FakeClerk, clerk: Clerk
) -> None:
    fake.add_machine("a")
    page = await clerk.request("GET", "/machines", query={"limit": 1})
    assert isinstance(page, dict)
    assert len(page["data"]) == 1
    assert fake.requests[-1].query == {"limit": "1"}


# --- Authenticating requests ----------------------------------------------------------


async def test_verify_token_networkless_with_jwt_key(fake: FakeClerk) -> None:
    token = fake.session_token(user_id=USER, org_id="org_1", org_role="admin")
    async with Clerk(base_url=fake.url, jwt_key=fake.jwt_key, rate_limit=None) as clerk:
        auth = await clerk.verify_token(token)
    assert isinstance(auth, SessionAuth)
    assert auth.token_type == "session_token"
    assert (auth.user_id, auth.org_id, auth.org_role) == (USER, "org_1", "org:admin")
    assert auth.session_id == auth.claims["sid"]
    assert auth.azp == "http://localhost:3000"
    assert auth.org_permissions == []
    assert len(fake.requests) == 0  # no JWKS, no secret key needed


async def test_jwt_key_comes_from_clerk_jwt_key(
    fake: FakeClerk, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLERK_JWT_KEY", fake.jwt_key.replace("\n", "\\n"))  # as in a .env
    async with Clerk(base_url=fake.url, rate_limit=None) as clerk:
        assert (await clerk.verify_token(fake.session_token(user_id=USER))).user_id == USER
    assert len(fake.requests) == 0


async def test_every_token_type_verifies_to_its_auth_object(fake: FakeClerk, clerk: Clerk) -> None:
    caller, receiver = fake.add_machine("caller"), fake.add_machine("receiver")
    caller.scopes[receiver.id] = 0
    session = await clerk.verify_token(fake.session_token(user_id=USER))  # via GET /jwks
    assert isinstance(session, SessionAuth)
    assert session.user_id == USER
    assert [r.path for r in fake.requests] == ["/v1/jwks"]

    m2m_jwt = await clerk.verify_token(fake.m2m_jwt(caller.id), accepts_token="m2m_token")
    assert isinstance(m2m_jwt, M2MAuth)
    assert m2m_jwt.token_type == "m2m_token"
    assert (m2m_jwt.machine_id, m2m_jwt.scopes) == (caller.id, [receiver.id])
    assert m2m_jwt.token_id.startswith("mt_")

    opaque = fake.add_m2m_token(caller.id).token
    m2m = await clerk.verify_token(opaque, accepts_token=["m2m_token", "api_key"])
    assert isinstance(m2m, M2MAuth)
    assert m2m.machine_id == caller.id
    assert m2m.token_id

    key = fake.add_api_key(USER, name="ci-key", scopes=["read"])
    api_key = await clerk.verify_token(key.secret, accepts_token="any")
    assert isinstance(api_key, APIKeyAuth)
    assert api_key.token_type == "api_key"
    assert (api_key.id, api_key.subject, api_key.name, api_key.scopes) == (
        key.id,
        USER,
        "ci-key",
        ["read"],
    )
    assert isinstance(api_key.claims, dict)

    oat = fake.add_oauth_token(USER, client_id="client_1", scopes=["email"])
    oauth = await clerk.verify_token(oat.token, accepts_token="oauth_token")
    assert isinstance(oauth, OAuthAuth)
    assert oauth.token_type == "oauth_token"
    assert (oauth.user_id, oauth.client_id, oauth.scopes) == (USER, "client_1", ["email"])


@pytest.mark.parametrize(
    ("make", "options", "reason"),
    [
        (lambda f: f.session_token(user_id=USER, expires_in=-60), {}, "token-expired"),
        (lambda f: "not-a-token", {}, "token-invalid"),
        (
            lambda f: f.sign_jwt({"sub": USER, "exp": 2**40}, {"alg": "RS512"}),
            {},
            "token-invalid-algorithm",
        ),
        (
            lambda f: f.session_token(user_id=USER),
            {"accepts_token": "m2m_token"},
            "token-type-mismatch",
        ),
        (
            lambda f: f.session_token(user_id=USER),
            {"authorized_parties": ["https://app.test"]},
            "token-invalid-authorized-parties",
        ),
        (lambda f: f.sign_jwt({"sub": USER}, {"kid": "ins_other"}), {}, "jwk-kid-mismatch"),
    ],
)
async def test_a_refused_token_raises_token_verification_error_with_a_reason(
    fake: FakeClerk, clerk: Clerk, make: Any, options: dict[str, Any], reason: str
) -> None:
    token = make(fake)
    with pytest.raises(TokenVerificationError) as caught:
        await clerk.verify_token(token, **options)
    assert caught.value.reason == reason
    assert token not in str(caught.value)
    # authenticate_request never raises for a bad token: it says why.
    state = await clerk.authenticate_request({"Authorization": f"Bearer {token}"}, **options)
    assert isinstance(state, RequestState)
    assert (state.is_authenticated, state.auth, state.reason) == (False, None, reason)


async def test_authenticate_request_reads_any_mapping_the_bearer_and_the_cookie(
    fake: FakeClerk, clerk: Clerk
) -> None:
    from starlette.datastructures import Headers

    token = fake.session_token(user_id=USER)
    for headers in (
        {"authorization": f"Bearer {token}"},
        CIMultiDict({"Authorization": f"Bearer {token}"}),
        Headers({"authorization": f"Bearer {token}"}),
        {"Cookie": f"theme=dark; __session={token}"},
    ):
        state = await clerk.authenticate_request(headers)
        assert state.is_authenticated
        assert state.token_type == "session_token"
        assert isinstance(state.auth, SessionAuth)
        assert state.auth.user_id == USER
    machine = fake.add_machine("m")
    state = await clerk.authenticate_request(
        {"Authorization": f"Bearer {fake.add_m2m_token(machine.id).token}"},
        accepts_token=("m2m_token", "api_key"),
    )
    assert state.is_authenticated
    assert state.token_type == "m2m_token"
    assert (await clerk.authenticate_request({})).is_authenticated is False


async def test_the_token_source_hands_out_one_token_until_it_nears_expiry(
    fake: FakeClerk,
) -> None:
    machine = fake.add_machine("caller")
    async with fake.client(machine_secret_key=machine.secret_key) as clerk:
        source = clerk.m2m.token_source()
        first, second = await asyncio.gather(source.token(), source.token())
        assert first == second == await source.token()
        assert (await clerk.verify_token(first, accepts_token="m2m_token")).machine_id == (
            machine.id
        )
    assert fake.stats.requests["POST", "/v1/m2m_tokens"] == 1


def test_webhooks_verify_returns_a_typed_event(monkeypatch: pytest.MonkeyPatch) -> None:
    from clerk_async import webhooks

    secret = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = json.dumps(
        {
            "type": "user.deleted",
            "object": "event",
            "timestamp": 1654012591835,
            "instance_id": "ins_123",
            "data": {"id": USER, "object": "user", "deleted": True},
        }
    )
    monkeypatch.setenv("CLERK_WEBHOOK_SIGNING_SECRET", secret)  # secret=None reads it
    event = webhooks.verify(body, webhooks.sign(body, secret=secret))
    assert type(event).__name__ == "UserDeletedEvent"
    assert event.type == "user.deleted"
    with pytest.raises(webhooks.WebhookVerificationError):
        webhooks.verify(body, webhooks.sign(body + " ", secret=secret), secret=secret)


# --- FakeClerk anywhere, and require_auth under FastAPI --------------------------------


def test_fake_clerk_from_sync_code_serves_a_fastapi_app_under_testclient() -> None:
    from fastapi import Depends, FastAPI
    from fastapi.testclient import TestClient

    from clerk_async.fastapi import clerk_lifespan, require_auth

    with FakeClerk(rate_limit=None) as fake:  # its own thread and loop
        assert fake.url.startswith("http://127.0.0.1:")
        assert fake.url.endswith("/v1")
        assert fake.secret_key.startswith("sk_test_")
        receiver, caller = fake.add_machine("receiver"), fake.add_machine("caller")
        caller.scopes[receiver.id] = 0
        app = FastAPI(lifespan=clerk_lifespan(secret_key=fake.secret_key, base_url=fake.url))

        session_auth = Depends(require_auth())
        m2m_auth = Depends(require_auth(accepts_token="m2m_token", scopes=receiver.id))

        @app.get("/me")
        async def me(auth: SessionAuth = session_auth) -> dict[str, str]:
            return {"user_id": auth.user_id}

        @app.get("/reports")
        async def reports(auth: M2MAuth = m2m_auth) -> dict[str, str]:
            return {"machine_id": auth.machine_id}

        with TestClient(app) as http:  # the app in yet another thread and loop
            ok = http.get("/me", headers={"Authorization": f"Bearer {fake.session_token()}"})
            assert (ok.status_code, ok.json()) == (200, {"user_id": USER})
            for headers in ({}, {"Authorization": "Bearer not-a-token"}):
                refused = http.get("/me", headers=headers)
                assert refused.status_code == 401
                assert refused.headers["WWW-Authenticate"].startswith("Bearer")
            allowed = http.get(
                "/reports", headers={"Authorization": f"Bearer {fake.m2m_jwt(caller.id)}"}
            )
            assert (allowed.status_code, allowed.json()) == (200, {"machine_id": caller.id})
            outsider = fake.add_machine("outsider")  # valid, but not scoped to the receiver
            denied = http.get(
                "/reports", headers={"Authorization": f"Bearer {fake.m2m_jwt(outsider.id)}"}
            )
            assert denied.status_code == 403
    with pytest.raises(RuntimeError, match="not started"):
        _ = fake.url  # stopped with the block


def test_fake_clerk_from_sync_code_serves_a_script_in_another_loop() -> None:
    with FakeClerk(rate_limit=None) as fake:

        async def script() -> tuple[Any, Any]:
            async with Clerk(secret_key=fake.secret_key, base_url=fake.url) as clerk:
                jwks = await clerk.request("GET", "/jwks")
                machine = await clerk.machines.create(name="from a script")
                return jwks, machine

        jwks, machine = asyncio.run(script())
        assert fake.machines[machine.id].name == "from a script"
    # Tokens like Clerk's: RS256 under an RSA instance key served at GET /jwks.
    (key,) = jwks["keys"]
    assert (key["kty"], key["alg"], key["use"], key["kid"]) == (
        "RSA",
        "RS256",
        "sig",
        fake.instance_id,
    )
    session = fake.session_token(user_id="user_x")
    header = json.loads(_b64(session.split(".")[0]))
    assert (header["alg"], header["kid"]) == ("RS256", fake.instance_id)
    assert json.loads(_b64(session.split(".")[1]))["sub"] == "user_x"
    assert os.environ.get("CLERK_SECRET_KEY") != fake.secret_key  # nothing left behind


def _b64(segment: str) -> bytes:
    import base64

    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
