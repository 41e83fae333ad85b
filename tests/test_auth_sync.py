"""SyncAuthenticator: verification for sync frameworks, with no event loop of the caller's.

A JWT whose key is at hand verifies in the caller's thread (no hop to the loop thread);
only the JWKS fetch and opaque tokens use the private loop; many threads at once share
one JWKS fetch; a forked worker gets a fresh client and loop; the core imports no framework.
"""

from __future__ import annotations

import multiprocessing
import subprocess
import sys
import threading
from collections.abc import Iterator
from unittest import mock

import pytest

from clerk_async.auth._guard import requirement
from clerk_async.auth._sync import SyncAuthenticator
from clerk_async.sync._runner import LoopThread
from clerk_async.testing import FakeClerk

USER = "user_2GIpXOEpVyJw51rkZn9Kmnc6Sxr"
SESSION = requirement("session_token").options
ANY = requirement("any").options


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeClerk]:
    with FakeClerk(rate_limit=None) as started:
        yield started


def jwks_fetches(fake: FakeClerk) -> int:
    return sum(1 for r in fake.requests if r.path.endswith("/jwks"))


def test_jwt_key_never_starts_the_loop_thread(fake: FakeClerk) -> None:
    auth = SyncAuthenticator(jwt_key=fake.jwt_key)
    token = fake.session_token(USER)
    for _ in range(50):
        state = auth.authenticate({"Authorization": f"Bearer {token}"}, SESSION)
        assert state.is_authenticated
    assert not auth.authenticate({"Authorization": "Bearer a.b.c"}, SESSION).is_authenticated
    assert auth.sync_client._loop_thread is None
    auth.close()


def test_a_cached_jwks_takes_no_hop_and_sixteen_threads_share_one_fetch(fake: FakeClerk) -> None:
    auth = SyncAuthenticator(secret_key=fake.secret_key, base_url=fake.url)
    token = fake.session_token(USER)
    before = jwks_fetches(fake)
    results: list[bool] = []
    barrier = threading.Barrier(16)

    def worker() -> None:
        barrier.wait()
        for _ in range(10):
            state = auth.authenticate({"Cookie": f"__session={token}"}, SESSION)
            results.append(state.is_authenticated)

    threads = [threading.Thread(target=worker) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [True] * 160
    assert jwks_fetches(fake) == before + 1  # concurrent misses share one fetch
    real_run = LoopThread.run
    with mock.patch.object(LoopThread, "run", autospec=True, side_effect=real_run) as run:
        for _ in range(20):
            assert auth.authenticate({"Authorization": f"Bearer {token}"}, SESSION).is_authenticated
    assert run.call_count == 0  # in the caller's thread: no hop, no I/O
    auth.close()


def test_opaque_tokens_go_through_the_private_loop(fake: FakeClerk) -> None:
    auth = SyncAuthenticator(secret_key=fake.secret_key, base_url=fake.url)
    machine = fake.add_machine("sync-caller")
    opaque = fake.add_m2m_token(machine.id).token
    state = auth.authenticate({"Authorization": f"Bearer {opaque}"}, ANY)
    assert state.auth is not None
    assert state.auth.token_type == "m2m_token"
    assert auth.sync_client._loop_thread is not None
    auth.close()
    assert auth.clerk.closed


async def test_from_a_coroutine_in_another_loop(fake: FakeClerk) -> None:
    auth = SyncAuthenticator(secret_key=fake.secret_key, base_url=fake.url)
    key = fake.add_api_key(USER, scopes=["a"]).secret
    state = await auth.authenticate_async({"Authorization": f"Bearer {key}"}, ANY)
    assert state.auth is not None
    assert state.auth.token_type == "api_key"
    auth.close()


def _child(auth: SyncAuthenticator, token: str, answer: multiprocessing.Queue[object]) -> None:
    state = auth.authenticate({"Authorization": f"Bearer {token}"}, ANY)
    answer.put((state.is_authenticated, state.token_type, auth.clerk is not None))
    auth.close()


@pytest.mark.filterwarnings("ignore:.*fork.*:DeprecationWarning")
def test_a_forked_worker_gets_its_own_client_and_loop(fake: FakeClerk) -> None:
    auth = SyncAuthenticator(secret_key=fake.secret_key, base_url=fake.url)
    machine = fake.add_machine("forked")
    warm = fake.add_m2m_token(machine.id).token
    assert auth.authenticate({"Authorization": f"Bearer {warm}"}, ANY).is_authenticated
    parent_clerk = auth.clerk
    context = multiprocessing.get_context("fork")
    answer: multiprocessing.Queue[object] = context.Queue()
    child = context.Process(
        target=_child, args=(auth, fake.add_m2m_token(machine.id).token, answer)
    )
    child.start()
    result = answer.get(timeout=60)
    child.join(timeout=60)
    assert child.exitcode == 0
    assert result == (True, "m2m_token", True)
    assert auth.clerk is parent_clerk  # the parent's is untouched
    auth.close()


def test_the_core_imports_no_framework(fake: FakeClerk) -> None:
    script = f"""
import asyncio, sys
import clerk_async, clerk_async.auth
from clerk_async import Clerk

async def main():
    async with Clerk(jwt_key={fake.jwt_key!r}) as clerk:
        headers = {{"Authorization": "Bearer {fake.session_token(USER)}"}}
        state = await clerk.authenticate_request(headers)
        assert state.is_authenticated

asyncio.run(main())
frameworks = (
    "django", "flask", "werkzeug", "litestar", "starlette", "quart", "rest_framework", "fastapi"
)
print(sorted(name for name in frameworks if name in sys.modules))
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
