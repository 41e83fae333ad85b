"""clerk_async.sync.Clerk: the async client driven from code without an event loop.

Against FakeClerk over real HTTP (its own thread): the generated surface, pages, batches,
16 threads at once, a caller inside a running loop, the loop thread itself, fork and spawn.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import signal
import threading
from collections.abc import Iterator
from typing import Any
from unittest import mock

import pytest

from clerk_async import errors
from clerk_async.auth import TokenVerificationError
from clerk_async.models.spec import User
from clerk_async.services.spec import OPERATIONS
from clerk_async.sync import Clerk, SyncPager
from clerk_async.sync._runner import LoopThread
from clerk_async.testing import FakeClerk


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeClerk]:
    with FakeClerk(rate_limit=None) as started:
        yield started


@pytest.fixture
def clerk(fake: FakeClerk) -> Iterator[Clerk]:
    with Clerk(fake.secret_key, base_url=fake.url, rate_limit=None) as client:
        yield client


def test_every_operation_is_a_sync_method_with_the_async_ones_parameters(fake: FakeClerk) -> None:
    import inspect

    from clerk_async import Clerk as AsyncClerk

    sync = Clerk(fake.secret_key, base_url=fake.url)
    aclerk = AsyncClerk(fake.secret_key, base_url=fake.url)
    for op in OPERATIONS.values():
        method = getattr(getattr(sync, op.service), op.method)
        amethod = getattr(getattr(aclerk, op.service), op.method)
        assert not inspect.iscoroutinefunction(method), op
        assert inspect.signature(method).parameters == inspect.signature(amethod).parameters, op
    assert len(OPERATIONS) == 249
    assert sync._loop_thread is None  # nothing started by looking
    sync.close()


def test_calls_answer_models_and_raise_typed_errors(fake: FakeClerk, clerk: Clerk) -> None:
    ada = fake.add_user("ada.sync@example.com", first_name="Ada")
    user = clerk.users.get(ada.id)
    assert isinstance(user, User)
    assert user.first_name == "Ada"
    updated = clerk.users.update(ada.id, first_name="Augusta")
    assert updated.first_name == "Augusta"
    with pytest.raises(errors.NotFoundError):
        clerk.users.get("user_missing")
    with pytest.raises(errors.ClerkValidationError) as refused:  # before any request
        clerk.users.get("")
    assert "user_id" in str(refused.value)
    assert clerk.request("GET", f"/users/{ada.id}")["first_name"] == "Augusta"
    raw = clerk.with_raw_response.users.get(ada.id)
    assert raw.status == 200
    assert raw.attempts == 1
    assert raw.parse().first_name == "Augusta"
    with pytest.raises(errors.NotFoundError):
        clerk.with_raw_response.users.get("user_missing")


def test_pages_items_and_one_page(fake: FakeClerk, clerk: Clerk) -> None:
    for i in range(7):
        fake.add_user(f"paged{i}@sync.example.com")
    pager = clerk.users.list(email_address_query="@sync.example.com", limit=3)
    assert isinstance(pager, SyncPager)
    first = pager.page()
    assert len(first.data) == 3
    assert first.total_count is None  # GET /users answers a bare array
    assert [len(p.data) for p in pager.pages()] == [3, 3, 1]
    emails = {u.email_addresses[0].email_address for u in pager}
    assert emails == {f"paged{i}@sync.example.com" for i in range(7)}
    with pytest.raises(errors.ClerkValidationError):  # on first use, as the async pager
        clerk.users.list(limit=0).page()


def test_update_many_and_batch_are_sync_iterators(fake: FakeClerk, clerk: Clerk) -> None:
    machines = [fake.add_machine(f"m{i}") for i in range(5)]
    results = list(
        clerk.machines.update_many((m.id, {"name": f"n{i}"}) for i, m in enumerate(machines))
    )
    assert sorted(r.value.name for r in results if r.value is not None) == [
        f"n{i}" for i in range(5)
    ]
    users = [fake.add_user(f"batch{i}@example.com") for i in range(4)]
    batch = clerk.batch(
        clerk.users.update_metadata,
        [(u.id, {"public_metadata": {"n": i}}) for i, u in enumerate(users)]
        + [("user_missing", {"public_metadata": {}})],
        concurrency=2,
    )
    collected = batch.collect()
    assert [r.ok for r in collected] == [True] * 4 + [False]
    assert isinstance(collected[4].error, errors.NotFoundError)
    # A generator of inputs may call the client: it is read off the loop thread.
    listed = clerk.batch(
        clerk.users.update_metadata,
        ((u.id, {"private_metadata": {"seen": True}}) for u in clerk.users.list(limit=2)),
    )
    with listed:
        assert {r.ok for r in listed} == {True}
    assert listed.succeeded == len(list(clerk.users.list()))
    with pytest.raises(errors.ClerkValidationError):
        clerk.batch(len, [])


def test_sixteen_threads_share_one_client(fake: FakeClerk, clerk: Clerk) -> None:
    ada = fake.add_user("threads@example.com")
    before = sum(1 for r in fake.requests if r.path.endswith(f"/users/{ada.id}"))
    barrier = threading.Barrier(16)
    answers: list[str] = []
    failures: list[BaseException] = []

    def worker() -> None:
        barrier.wait()
        for _ in range(25):
            try:
                answers.append(clerk.users.get(ada.id).id)
            except BaseException as exc:
                failures.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert answers == [ada.id] * 400
    assert sum(1 for r in fake.requests if r.path.endswith(f"/users/{ada.id}")) == before + 400
    assert threading.active_count() >= 2  # FakeClerk's thread and this client's one loop
    names = [t.name for t in threading.enumerate() if t.name.startswith("clerk-async-sync-")]
    assert len(names) == 1


async def test_inside_a_running_loop_as_a_notebook(fake: FakeClerk, clerk: Clerk) -> None:
    # This coroutine's loop is blocked while the call runs on the client's own loop.
    ada = fake.add_user("notebook@example.com")
    assert clerk.users.get(ada.id).id == ada.id
    assert asyncio.get_running_loop() is not clerk.loop


def test_from_its_own_loop_thread_is_a_clear_error(fake: FakeClerk, clerk: Clerk) -> None:
    ada = fake.add_user("inside@example.com")

    async def inside() -> None:
        clerk.users.get(ada.id)

    future = asyncio.run_coroutine_threadsafe(inside(), clerk.loop)
    with pytest.raises(errors.ClientStateError, match="own loop thread"):
        future.result(timeout=60)


def test_an_interrupted_wait_cancels_the_call_on_the_loop() -> None:
    # Ctrl-C in a script waiting on a call: the call must not run on, unwatched.
    runner = LoopThread("interrupted")
    started = threading.Event()
    cancelled = threading.Event()

    async def slow() -> None:
        started.set()
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    def send(started: threading.Event) -> None:
        if started.wait(60):
            # To the waiting thread itself: a process-wide signal the kernel hands to
            # another thread leaves the main thread's lock wait uninterrupted (the test
            # hung so under load).
            signal.pthread_kill(waiting, signal.SIGUSR1)

    waiting = threading.get_ident()
    previous = signal.signal(signal.SIGUSR1, interrupt)
    try:
        sender = threading.Thread(target=send, args=(started,))
        sender.start()
        with pytest.raises(KeyboardInterrupt):
            runner.run(slow())
        sender.join()
        assert cancelled.wait(60)
    finally:
        signal.signal(signal.SIGUSR1, previous)
        runner.stop()


def test_closed_is_a_clear_error_and_close_is_idempotent(fake: FakeClerk) -> None:
    client = Clerk(fake.secret_key, base_url=fake.url)
    client.users.list().page()
    thread = client._loop_thread
    assert thread is not None
    client.close()
    client.close()
    assert client.closed
    assert client.async_client.closed
    assert not thread._thread.is_alive()
    with pytest.raises(errors.ClientStateError, match="closed"):
        client.users.get("user_1")


def test_bad_configuration_fails_at_construction() -> None:
    with pytest.raises(errors.ClerkConfigError, match="base_url"):
        Clerk("sk_test_x", base_url="nowhere")
    with pytest.raises(errors.ClerkConfigError, match="session"):
        Clerk("sk_test_x", session=object())  # type: ignore[call-arg]


def test_networkless_verification_takes_no_thread_hop(fake: FakeClerk) -> None:
    token = fake.session_token("user_2GIpXOEpVyJw51rkZn9Kmnc6Sxr")
    with Clerk(jwt_key=fake.jwt_key) as keyed:
        assert keyed.verify_token(token).user_id == "user_2GIpXOEpVyJw51rkZn9Kmnc6Sxr"
        state = keyed.authenticate_request({"Authorization": f"Bearer {token}"})
        assert state.is_authenticated
        assert keyed._loop_thread is None  # never started
    with Clerk(fake.secret_key, base_url=fake.url) as client:
        assert client.verify_token(token).session_id  # fetches the JWKS on its loop
        with mock.patch.object(LoopThread, "run", side_effect=AssertionError("hop")):
            for _ in range(5):
                assert client.verify_token(token).session_id
                assert client.authenticate_request(
                    {"Cookie": f"__session={token}"}
                ).is_authenticated
        with pytest.raises(TokenVerificationError):
            client.verify_token("a.b.c")


def _forked_child(client: Clerk, user_id: str, answer: multiprocessing.Queue[object]) -> None:
    before = client._loop_thread
    got = client.users.get(user_id).id
    answer.put((got, client._loop_thread is not before, client._loop_thread is not None))
    client.close()


def _spawned_child(
    url: str, secret_key: str, user_id: str, answer: multiprocessing.Queue[object]
) -> None:
    with Clerk(secret_key, base_url=url) as client:
        answer.put((client.users.get(user_id).id, True, True))


@pytest.mark.filterwarnings("ignore:.*fork.*:DeprecationWarning")
@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_fork_and_spawn(fake: FakeClerk, clerk: Clerk, method: str) -> None:
    ada = fake.add_user(f"{method}@example.com")
    assert clerk.users.get(ada.id).id == ada.id  # the parent's loop thread is running
    parent = (clerk._loop_thread, clerk.async_client)
    context: Any = multiprocessing.get_context(method)
    answer: multiprocessing.Queue[object] = context.Queue()
    if method == "fork":
        child = context.Process(target=_forked_child, args=(clerk, ada.id, answer))
    else:
        child = context.Process(
            target=_spawned_child, args=(fake.url, fake.secret_key, ada.id, answer)
        )
    child.start()
    result = answer.get(timeout=120)
    child.join(timeout=60)
    assert child.exitcode == 0
    assert result == (ada.id, True, True)
    assert (clerk._loop_thread, clerk.async_client) == parent  # the parent's is untouched
    assert clerk.users.get(ada.id).id == ada.id
