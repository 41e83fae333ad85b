"""FakeClerk from sync code: ``with FakeClerk()`` in its own thread and loop, env helpers,
and the fixtures of the pytest plugin."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from clerk_async import Clerk, ClerkConfigError
from clerk_async.fastapi import ClerkDep, clerk_lifespan
from clerk_async.testing import FakeClerk


def _rename_app() -> FastAPI:
    app = FastAPI(lifespan=clerk_lifespan())

    @app.patch("/machines/{machine_id}")
    async def rename(machine_id: str, name: str, clerk: ClerkDep) -> dict[str, str]:
        machine = await clerk.machines.update(machine_id, name=name)
        return {"id": machine.id, "name": machine.name}

    return app


def test_with_serves_from_its_own_thread_to_other_loops() -> None:
    with FakeClerk(rate_limit=None) as fake:
        (thread,) = [t for t in threading.enumerate() if t.name == f"FakeClerk-{id(fake):x}"]
        assert thread.daemon
        assert thread is not threading.current_thread()
        machine = fake.add_machine("billing-worker")

        async def rename(name: str) -> str:
            async with fake.client() as clerk:
                return (await clerk.machines.update(machine.id, name=name)).name

        # Two event loops in turn, neither of them the fake's.
        assert asyncio.run(rename("one")) == "one"
        assert asyncio.run(rename("two")) == "two"
        assert fake.machines[machine.id].name == "two"
        assert [r.json for r in fake.requests] == [{"name": "one"}, {"name": "two"}]
        url = fake.url
    assert not thread.is_alive()  # the thread has ended
    with pytest.raises(RuntimeError, match="not started"):
        fake.url  # noqa: B018
    assert url.startswith("http://127.0.0.1:")


def test_lifecycle_misuse_is_a_clear_error() -> None:
    fake = FakeClerk()
    with fake:
        with pytest.raises(RuntimeError, match="already started"), fake:
            pass
        with pytest.raises(RuntimeError, match="with block"):
            asyncio.run(fake.close())


def test_testclient_against_a_threaded_fake() -> None:
    app = _rename_app()
    with FakeClerk(rate_limit=None) as fake:
        machine = fake.add_machine("billing-worker")
        with fake.setenv(), TestClient(app) as client:
            response = client.patch(f"/machines/{machine.id}", params={"name": "ledger"})
        assert response.json() == {"id": machine.id, "name": "ledger"}
        assert fake.machines[machine.id].name == "ledger"


def test_env_and_setenv(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLERK_SECRET_KEY", "sk_test_before")
    monkeypatch.delenv("CLERK_API_URL", raising=False)
    with FakeClerk() as fake:
        assert fake.env == {
            "CLERK_API_URL": fake.url.removesuffix("/v1"),
            "CLERK_SECRET_KEY": fake.secret_key,
        }
        with fake.setenv() as env:
            assert env == fake.env
            assert os.environ["CLERK_SECRET_KEY"] == fake.secret_key
            assert Clerk().base_url == fake.url  # Clerk() reads the environment
        assert os.environ["CLERK_SECRET_KEY"] == "sk_test_before"  # restored
        assert "CLERK_API_URL" not in os.environ  # removed again
        # A subprocess in any language gets the same two variables.
        script = "import os; print(os.environ['CLERK_API_URL'])"
        out = subprocess.run(
            [sys.executable, "-c", script],
            env={**os.environ, **fake.env},
            capture_output=True,
            text=True,
            check=True,
        )
        assert out.stdout.strip() == fake.env["CLERK_API_URL"]


def test_fastapi_app_without_a_secret_key_fails_at_startup(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("CLERK_SECRET_KEY", raising=False)
    app = _rename_app()
    with pytest.raises(ClerkConfigError, match="CLERK_SECRET_KEY") as caught, TestClient(app):
        pass
    assert caught.value.field == "secret_key"


def test_clerk_api_url_ending_in_v1_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLERK_API_URL", "https://api.clerk.com/v1/")
    with pytest.raises(ClerkConfigError) as caught:
        Clerk("sk_test_k")
    assert caught.value.field == "CLERK_API_URL"
    assert "'https://api.clerk.com'" in str(caught.value)  # what to write instead
    assert "base_url='https://api.clerk.com/v1'" in str(caught.value)
    # base_url= keeps /v1, as documented: the two conventions stay apart.
    assert Clerk("sk_test_k", base_url="https://api.clerk.com/v1").base_url.endswith("/v1")


def test_fake_clerk_sync_fixture(fake_clerk_sync: FakeClerk) -> None:
    app = _rename_app()
    machine = fake_clerk_sync.add_machine("billing-worker")
    assert fake_clerk_sync.rate_limit is None
    with fake_clerk_sync.setenv(), TestClient(app) as client:
        assert client.patch(f"/machines/{machine.id}", params={"name": "x"}).status_code == 200
    assert fake_clerk_sync.machines[machine.id].name == "x"


@pytest.mark.fake_clerk(secret_key="sk_test_from_marker")
def test_marker_options_reach_the_sync_fixture(fake_clerk_sync: FakeClerk) -> None:
    assert fake_clerk_sync.secret_key == "sk_test_from_marker"


def test_tokens_minted_from_several_threads_at_once_share_one_key() -> None:
    # The instance key is made on first use, and a threaded fake is used from two threads
    # at least (its own serving GET /jwks, the test's minting): a key made twice at once
    # would sign some tokens with a key the JWKS does not serve.
    user = "user_2GIpXOEpVyJw51rkZn9Kmnc6Sxr"
    with FakeClerk(rate_limit=None) as fake:
        start = threading.Barrier(4)
        tokens: list[str] = []

        def mint() -> None:
            start.wait()
            tokens.append(fake.session_token(user_id=user))

        threads = [threading.Thread(target=mint) for _ in range(3)]
        for thread in threads:
            thread.start()

        async def verify_all() -> list[str]:
            async with fake.client() as clerk:
                start.wait()
                await clerk.request("GET", "/jwks")  # the fake's thread needs the key too
                for thread in threads:
                    thread.join()
                return [(await clerk.verify_token(t)).user_id for t in tokens]

        assert asyncio.run(verify_all()) == [user] * 3
