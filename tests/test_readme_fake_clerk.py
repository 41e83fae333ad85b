"""The README's five-line FakeClerk example, run as written (keep the two in step)."""

from clerk_async.testing import FakeClerk


async def test_rename(fake_clerk: FakeClerk) -> None:
    machine = fake_clerk.add_machine("billing-worker")
    async with fake_clerk.client() as clerk:
        await clerk.machines.update(machine.id, name="ledger")
    assert fake_clerk.machines[machine.id].name == "ledger"
    assert fake_clerk.requests[-1].json == {"name": "ledger"}
