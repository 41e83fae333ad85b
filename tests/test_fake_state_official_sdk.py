"""Clerk's official Python SDK (``clerk-backend-api``, Speakeasy-generated, httpx + pydantic)
drives the user and organization lifecycles against FakeClerk over HTTP.

Nobody here wrote that client: its pydantic models refuse answers that break the spec's
required fields and types, and its error classes read Clerk's error bodies. It talks to
``server_url=fake.url`` with its own ``httpx.AsyncClient``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from clerk_async import Clerk
from clerk_async.auth import SessionAuth
from clerk_async.testing import FakeClerk

clerk_backend_api = pytest.importorskip("clerk_backend_api")
httpx = pytest.importorskip("httpx")
models = clerk_backend_api.models
# The SDK's own request models read their deprecated fields when they serialize a list
# request (last_active_at_since...); that warning is the SDK's, not ours.
pytestmark = pytest.mark.filterwarnings("ignore:.*DEPRECATED.*:DeprecationWarning")


@pytest.fixture
async def fake() -> AsyncIterator[FakeClerk]:
    async with FakeClerk(rate_limit=None) as server:
        yield server


@pytest.fixture
async def sdk(fake: FakeClerk) -> AsyncIterator[Any]:
    async with httpx.AsyncClient() as http:
        yield clerk_backend_api.Clerk(
            bearer_auth=fake.secret_key, server_url=fake.url, async_client=http
        )


def _code(error: Any) -> str:
    return str(error.data.errors[0].code)


async def test_user_lifecycle(fake: FakeClerk, sdk: Any) -> None:
    user = await sdk.users.create_async(
        email_address=["ada@example.com"],
        first_name="Ada",
        username="ada",
        password="correct horse",
        public_metadata={"plan": {"tier": "pro", "seats": 3}},
    )
    assert user.id is not None
    assert user.id.startswith("user_")
    assert (user.banned, user.locked) == (False, False)

    got = await sdk.users.get_async(user_id=user.id)
    assert (got.first_name, got.username) == ("Ada", "ada")
    assert got.email_addresses[0].email_address == "ada@example.com"

    updated = await sdk.users.update_async(user_id=user.id, last_name="Lovelace")
    assert updated.last_name == "Lovelace"

    listed = await sdk.users.list_async(request={"email_address": ["ada@example.com"]})
    assert [u.id for u in listed] == [user.id]
    assert [u.id for u in await sdk.users.list_async(request={"query": "lovel"})] == [user.id]
    count = await sdk.users.count_async(request={"username": ["ada"]})
    assert count.total_count == 1

    merged = await sdk.users.update_metadata_async(
        user_id=user.id, public_metadata={"plan": {"seats": None}, "beta": True}
    )
    assert merged.public_metadata == {"plan": {"tier": "pro"}, "beta": True}
    verified = await sdk.users.verify_password_async(user_id=user.id, password="correct horse")
    assert verified.verified is True

    with pytest.raises(models.ClerkErrors) as taken:
        await sdk.users.create_async(email_address=["ADA@example.com"])
    assert _code(taken.value) == "form_identifier_exists"
    assert taken.value.raw_response.status_code == 422

    deleted = await sdk.users.delete_async(user_id=user.id)
    assert (deleted.id, deleted.deleted) == (user.id, True)
    with pytest.raises(models.ClerkErrors) as missing:
        await sdk.users.get_async(user_id=user.id)
    assert missing.value.raw_response.status_code == 404
    assert _code(missing.value) == "resource_not_found"
    assert fake.users == {}


async def test_organization_lifecycle(fake: FakeClerk, sdk: Any) -> None:
    owner = fake.add_user("owner@example.com", first_name="Olga")
    member = fake.add_user("member@example.com", first_name="Max")
    org = await sdk.organizations.create_async(request={"name": "Acme Inc", "created_by": owner.id})
    assert org.slug == "acme-inc"
    assert (await sdk.organizations.get_async(organization_id="acme-inc")).id == org.id

    membership = await sdk.organization_memberships.create_async(
        organization_id=org.id, user_id=member.id, role="org:member"
    )
    assert membership.public_user_data is not None
    assert membership.public_user_data.user_id == member.id
    listed = await sdk.organization_memberships.list_async(organization_id=org.id)
    assert listed.total_count == 2
    assert {m.public_user_data.user_id for m in listed.data} == {owner.id, member.id}
    assert (await sdk.organizations.get_async(organization_id=org.id)).members_count == 2

    promoted = await sdk.organization_memberships.update_async(
        organization_id=org.id, user_id=member.id, role="org:admin"
    )
    assert promoted.role == "org:admin"
    updated = await sdk.organizations.update_async(organization_id=org.id, name="Acme Corp")
    assert updated.name == "Acme Corp"
    found = await sdk.organizations.list_async(query="corp")
    assert [o.id for o in found.data] == [org.id]

    invitation = await sdk.organization_invitations.create_async(
        organization_id=org.id,
        email_address="new@example.com",
        role="org:member",
        inviter_user_id=owner.id,
    )
    assert invitation.status == "pending"

    await sdk.organization_memberships.delete_async(organization_id=org.id, user_id=member.id)
    assert (await sdk.organizations.get_async(organization_id=org.id)).members_count == 1

    deleted = await sdk.organizations.delete_async(organization_id=org.id)
    assert deleted.deleted is True
    with pytest.raises(models.ClerkErrors) as missing:
        await sdk.organizations.get_async(organization_id=org.id)
    assert _code(missing.value) == "resource_not_found"


async def test_session_tokens_from_the_sdk_verify_with_our_client(
    fake: FakeClerk, sdk: Any
) -> None:
    user = fake.add_user("ada@example.com")
    org = fake.add_organization("Acme", members={user.id: "org:admin"})
    session = await sdk.sessions.create_async(
        request={"user_id": user.id, "active_organization_id": org.id}
    )
    assert session.status == "active"
    token = await sdk.sessions.create_token_async(session_id=session.id)
    async with fake.client() as clerk:
        auth = await clerk.verify_token(token.jwt)
    assert isinstance(auth, SessionAuth)
    assert (auth.user_id, auth.session_id, auth.org_id, auth.org_role) == (
        user.id,
        session.id,
        org.id,
        "org:admin",
    )
    revoked = await sdk.sessions.revoke_async(session_id=session.id)
    assert revoked.status == "revoked"


async def test_both_clients_see_one_state(fake: FakeClerk, sdk: Any) -> None:
    user = await sdk.users.create_async(email_address=["ada@example.com"], first_name="Ada")
    async with fake.client() as clerk:
        assert isinstance(clerk, Clerk)
        await clerk.users.update(user.id, first_name="Augusta")
    assert (await sdk.users.get_async(user_id=user.id)).first_name == "Augusta"
