"""clerk.batch: any bound operation over ids, params, mappings and (id, fields) pairs,
against a FakeClerk over loopback HTTP (the machines' update_many is the same engine)."""

from __future__ import annotations

import pytest

from clerk_async import Clerk, ClerkValidationError
from clerk_async.batch import BatchProgress
from clerk_async.testing import FakeClerk


@pytest.fixture
async def fake() -> FakeClerk:
    async with FakeClerk(rate_limit=None) as fake:
        yield fake


async def _users(clerk: Clerk, n: int) -> list[str]:
    return [(await clerk.users.create(email_address=[f"u{i}@example.com"])).id for i in range(n)]


async def test_metadata_of_many_users_in_every_input_form(fake: FakeClerk) -> None:
    async with fake.client() as clerk:
        (user_id,) = set(await _users(clerk, 1))
        inputs = [
            (user_id, {"public_metadata": {"plan": "pro"}}),  # an (id, fields) pair
            {"userId": user_id, "privateMetadata": {"crm": 1}},  # Clerk's camelCase
            {"user_id": user_id, "unsafe_metadata": {"theme": "dark"}},  # snake_case
        ]
        progress: list[BatchProgress] = []
        sent_before = len(fake.requests)
        results = await clerk.batch(
            clerk.users.update_metadata, inputs, concurrency=2, on_progress=progress.append
        ).collect()
    assert [r.index for r in results] == [0, 1, 2]
    assert all(r.ok for r in results), [r.error for r in results]
    sent = list(fake.requests)[sent_before:]
    assert sorted(r.method for r in sent) == ["PATCH"] * 3
    assert {r.path for r in sent} == {f"/v1/users/{user_id}/metadata"}
    assert sorted(map(str, (r.json for r in sent))) == sorted(
        map(
            str,
            [
                {"public_metadata": {"plan": "pro"}},
                {"private_metadata": {"crm": 1}},
                {"unsafe_metadata": {"theme": "dark"}},
            ],
        )
    )
    assert (progress[-1].done, progress[-1].total) == (3, 3)


async def test_ids_alone_and_a_bad_input_fails_alone(fake: FakeClerk) -> None:
    async with fake.client() as clerk:
        org = await clerk.organizations.create(name="Acme")
        inputs = iter(
            [
                (org.id, {"name": "Acme Inc"}),
                (org.id, {"nmae": "typo"}),  # not a field: that input fails, before any request
                (org.id, "not a mapping"),
                42,
                {"organization_id": org.id, "max_allowed_memberships": 5},
            ]
        )
        sent_before = len(fake.requests)
        results = await clerk.batch(clerk.organizations.update, inputs).collect()
        assert [r.ok for r in results] == [True, False, False, False, True]
        assert all(isinstance(r.error, ClerkValidationError) for r in results if not r.ok)
        assert "nmae" in str(results[1].error)
        assert len(fake.requests) - sent_before == 2  # the bad ones sent nothing
        deleted = await clerk.batch(clerk.organizations.delete, [org.id]).collect()
        assert [r.ok for r in deleted] == [True]
        assert fake.requests[-1].method == "DELETE"


async def test_per_call_options_are_checked_once(fake: FakeClerk) -> None:
    async with fake.client() as clerk:
        with pytest.raises(ClerkValidationError, match="unexpected keyword argument"):
            clerk.batch(clerk.users.update_metadata, [], max_retrys=1)  # type: ignore[call-arg]
        results = await clerk.batch(
            clerk.users.delete, (f"user_{i}" for i in range(5)), max_retries=0, concurrency=2
        ).collect()
    assert len(results) == 5


async def test_fail_fast_takes_no_new_input(fake: FakeClerk) -> None:
    async with fake.client() as clerk:
        batch = clerk.batch(
            clerk.users.update_metadata,
            [("user_1", {"public_metadata": 3})] + [("user_2", {"public_metadata": {}})] * 10,
            concurrency=1,
            fail_fast=True,
        )
        results = [r async for r in batch]
    assert [r.ok for r in results] == [False]


async def test_input_errors_fail_their_item_and_a_bug_stops_the_batch(fake: FakeClerk) -> None:
    """What the params cannot be built from (ClerkValidationError, or TypeError/ValueError
    while building them) fails that input alone; anything else is a bug, and the batch
    raises it instead of reporting it as a bad input."""
    async with fake.client() as clerk:
        org = await clerk.organizations.create(name="Acme")

        async def rename(item: dict[str, str]) -> object:  # the caller's own operation
            return await clerk.organizations.update(org.id, max_allowed_memberships=int(item["n"]))

        results = await clerk.batch(rename, [{"n": "5"}, {"n": "five"}, {"n": "7"}]).collect()
        assert [r.ok for r in results] == [True, False, True]
        assert isinstance(results[1].error, ClerkValidationError)
        assert isinstance(results[1].error.__cause__, ValueError)

        sent_before = len(fake.requests)
        with pytest.raises(KeyError, match="n"):
            await clerk.batch(rename, [{"m": "5"}], concurrency=1).collect()

        async def buggy(item: str) -> object:
            return await clerk.organizations.get(item.organization_id)  # type: ignore[attr-defined]

        batch = clerk.batch(buggy, iter([org.id, org.id]), concurrency=1)
        with pytest.raises(AttributeError, match="organization_id"):
            async for _ in batch:
                pass
        assert len(fake.requests) == sent_before  # the bugs sent nothing
