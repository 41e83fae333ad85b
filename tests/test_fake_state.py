"""FakeClerk keeps state like Clerk for users, organizations, memberships, invitations,
sessions and their tokens: lifecycles driven through our client over HTTP, seeding and
inspection through the contract names (DESIGN.md, "FakeClerk anywhere")."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from clerk_async import AuthenticationError, Clerk, NotFoundError, UnprocessableEntityError
from clerk_async.auth import SessionAuth
from clerk_async.models.spec import Token
from clerk_async.testing import FakeClerk

pytest.importorskip("cryptography")


@pytest.fixture
async def fake() -> AsyncIterator[FakeClerk]:
    async with FakeClerk(rate_limit=None) as server:
        yield server


@pytest.fixture
async def clerk(fake: FakeClerk) -> AsyncIterator[Clerk]:
    async with fake.client(max_retries=0) as client:
        yield client


async def test_user_lifecycle(fake: FakeClerk, clerk: Clerk) -> None:
    created = await clerk.users.create(
        email_address=["ada@example.com"],
        username="ada",
        first_name="Ada",
        external_id="ext-1",
        password="correct horse",
        public_metadata={"plan": {"tier": "pro", "seats": 3}},
    )
    assert created.id.startswith("user_")
    assert (created.banned, created.locked, created.password_enabled) == (False, False, True)
    assert created.primary_email_address_id == created.email_addresses[0].id
    assert created.email_addresses[0].verification is not None
    assert created.created_at > 1_600_000_000_000  # milliseconds

    got = await clerk.users.get(created.id)
    assert (got.first_name, got.username, got.external_id) == ("Ada", "ada", "ext-1")

    updated = await clerk.users.update(created.id, last_name="Lovelace")
    assert updated.last_name == "Lovelace"
    assert updated.updated_at > created.updated_at
    assert fake.users[created.id].last_name == "Lovelace"

    merged = await clerk.users.update_metadata(
        created.id, public_metadata={"plan": {"seats": None, "trial": True}, "beta": 1}
    )
    assert merged.public_metadata == {"plan": {"tier": "pro", "trial": True}, "beta": 1}
    replaced = await clerk.users.replace_metadata(created.id, public_metadata={"only": 1})
    assert replaced.public_metadata == {"only": 1}

    assert (await clerk.users.verify_password(created.id, password="correct horse")).verified
    with pytest.raises(UnprocessableEntityError) as wrong:
        await clerk.users.verify_password(created.id, password="wrong horse")
    assert wrong.value.errors[0].code == "incorrect_password"

    found = await clerk.users.list(email_address=["ADA@example.com"])
    assert [u.id for u in found.data] == [created.id]
    assert [u.id for u in (await clerk.users.list(query="lovel")).data] == [created.id]
    assert (await clerk.users.count(username=["ada"])).total_count == 1

    deleted = await clerk.users.delete(created.id)
    assert (deleted.id, deleted.deleted) == (created.id, True)
    with pytest.raises(NotFoundError) as missing:
        await clerk.users.get(created.id)
    assert missing.value.errors[0].code == "resource_not_found"
    assert (await clerk.users.count()).total_count == 0
    # Its identifiers are free again.
    await clerk.users.create(email_address=["ada@example.com"], username="ada")


async def test_identifiers_are_unique(fake: FakeClerk, clerk: Clerk) -> None:
    fake.add_user(
        "ada@example.com", username="ada", external_id="e1", phone_number=["+15555550100"]
    )
    for fields, param in (
        ({"email_address": ["Ada@Example.com"]}, "email_address"),
        ({"username": "ADA"}, "username"),
        ({"external_id": "e1"}, "external_id"),
        ({"phone_number": ["+15555550100"]}, "phone_number"),
    ):
        with pytest.raises(UnprocessableEntityError) as taken:
            await clerk.users.create(**fields)
        assert taken.value.errors[0].code == "form_identifier_exists"
        assert taken.value.errors[0].meta["param_name"] == param
    assert len(fake.users) == 1  # nothing half-made


async def test_list_filters_order_and_paging(fake: FakeClerk, clerk: Clerk) -> None:
    users = [
        fake.add_user(f"u{i}@example.com", first_name=name, username=f"user{i}")
        for i, name in enumerate(["Cy", "Ann", "Bo", "Di", "Ed"])
    ]
    org = fake.add_organization(
        "Acme", members={users[1].id: "org:member", users[3].id: "org:admin"}
    )
    newest_first = [u.id for u in reversed(users)]
    assert [u.id for u in (await clerk.users.list()).data] == newest_first
    page = await clerk.users.list(limit=2, offset=1, order_by="+created_at")
    assert [u.id for u in page.data] == [users[1].id, users[2].id]
    names = await clerk.users.list(order_by="first_name")
    assert [u.first_name for u in names.data] == ["Ann", "Bo", "Cy", "Di", "Ed"]
    members = await clerk.users.list(organization_id=[org.id], order_by="+created_at")
    assert [u.id for u in members.data] == [users[1].id, users[3].id]
    not_members = await clerk.users.list(organization_id=[f"-{org.id}"], order_by="+created_at")
    assert [u.id for u in not_members.data] == [users[0].id, users[2].id, users[4].id]
    excluded = await clerk.users.list(user_id=[f"-{users[0].id}"])
    assert users[0].id not in [u.id for u in excluded.data]
    assert len(excluded.data) == 4
    both = await clerk.users.list(
        email_address=["u0@example.com", "u4@example.com"], username=["user4"]
    )
    assert [u.id for u in both.data] == [users[4].id]
    after = await clerk.users.list(starting_after=users[1].id, order_by="+created_at", limit=2)
    assert [u.id for u in after.data] == [users[2].id, users[3].id]
    await clerk.users.ban(users[2].id)
    assert [u.id for u in (await clerk.users.list(banned=True)).data] == [users[2].id]
    assert (await clerk.users.count(banned=False)).total_count == 4
    everyone = [u.id async for u in clerk.users.list(limit=2)]
    assert everyone == newest_first


async def test_email_addresses_and_phone_numbers_follow_their_user(clerk: Clerk) -> None:
    user = await clerk.users.create(email_address=["a@example.com"])
    second = await clerk.email_addresses.create(
        user_id=user.id, email_address="b@example.com", verified=True, primary=True
    )
    assert second.id is not None
    got = await clerk.users.get(user.id)
    assert got.primary_email_address_id == second.id
    assert [e.email_address for e in got.email_addresses] == ["a@example.com", "b@example.com"]
    assert (await clerk.email_addresses.get(second.id)).email_address == "b@example.com"
    await clerk.email_addresses.delete(second.id)
    got = await clerk.users.get(user.id)
    assert got.primary_email_address_id == got.email_addresses[0].id
    phone = await clerk.phone_numbers.create(user_id=user.id, phone_number="+15555550100")
    assert (await clerk.users.get(user.id)).primary_phone_number_id == phone.id
    with pytest.raises(UnprocessableEntityError):
        await clerk.users.create(phone_number=["+15555550100"])
    with pytest.raises(NotFoundError):
        await clerk.email_addresses.get(second.id)


async def test_ban_lock_and_profile_image(clerk: Clerk) -> None:
    user = await clerk.users.create(first_name="Ada")
    session = await clerk.sessions.create(user_id=user.id)
    banned = await clerk.users.ban(user.id)
    assert banned.banned
    assert (await clerk.sessions.get(session.id)).status == "revoked"
    assert not (await clerk.users.unban(user.id)).banned
    locked = await clerk.users.lock(user.id)
    assert (locked.locked, locked.verification_attempts_remaining) == (True, 0)
    assert not (await clerk.users.unlock(user.id)).locked
    with_image = await clerk.users.set_profile_image(user.id, file=b"\x89PNG fake")
    assert with_image.has_image
    assert not (await clerk.users.delete_profile_image(user.id)).has_image


async def test_second_factors(clerk: Clerk) -> None:
    user = await clerk.users.create(
        first_name="Ada", totp_secret="JBSWY3DPEHPK3PXP", backup_codes=["a1b2c3"]
    )
    assert (user.two_factor_enabled, user.totp_enabled, user.backup_code_enabled) == (
        True,
        True,
        True,
    )
    await clerk.users.delete_totp(user.id)
    assert (await clerk.users.get(user.id)).two_factor_enabled  # backup codes are left
    await clerk.users.delete_backup_codes(user.id)
    after = await clerk.users.get(user.id)
    assert not after.two_factor_enabled
    assert after.mfa_disabled_at is not None


async def test_organization_lifecycle(fake: FakeClerk, clerk: Clerk) -> None:
    owner = fake.add_user("owner@example.com", first_name="Olga")
    member = fake.add_user("member@example.com", first_name="Max", username="max")
    org = await clerk.organizations.create(name="Acme Inc", created_by=owner.id)
    assert (org.slug, org.members_count) == ("acme-inc", 1)
    assert (await clerk.organizations.get("acme-inc")).id == org.id

    added = await clerk.organization_memberships.create(
        org.id, user_id=member.id, role="org:member"
    )
    assert added.id.startswith("orgmem_")
    assert added.public_user_data is not None
    assert (added.public_user_data.user_id, added.public_user_data.identifier) == (
        member.id,
        "member@example.com",
    )
    assert (await clerk.organizations.get(org.id)).members_count == 2
    with pytest.raises(UnprocessableEntityError):
        await clerk.organization_memberships.create(org.id, user_id=member.id, role="org:member")

    listed = await clerk.organization_memberships.list(org.id, order_by="first_name")
    assert [m.public_user_data.first_name for m in listed.data if m.public_user_data] == [
        "Max",
        "Olga",
    ]
    assert listed.total_count == 2
    promoted = await clerk.organization_memberships.update(org.id, member.id, role="org:admin")
    assert promoted.role == "org:admin"
    assert "org:sys_memberships:manage" in promoted.permissions
    mine = await clerk.users.get_organization_memberships(member.id)
    assert [m.organization.id for m in mine.data] == [org.id]

    renamed = await clerk.organizations.update(org.id, name="Acme Corp")
    assert renamed.name == "Acme Corp"
    merged = await clerk.organizations.merge_metadata(org.id, public_metadata={"a": {"b": 1}})
    assert merged.public_metadata == {"a": {"b": 1}}
    found = await clerk.organizations.list(query="corp")
    assert [o.id for o in found.data] == [org.id]
    assert found.total_count == 1
    by_member = await clerk.organizations.list(user_id=[member.id])
    assert [o.id for o in by_member.data] == [org.id]

    await clerk.organization_memberships.delete(org.id, member.id)
    assert (await clerk.organizations.get(org.id)).members_count == 1
    assert fake.organizations[org.id].members_count == 1

    invitation = await clerk.organization_invitations.create(
        org.id, email_address="new@example.com", role="org:member", inviter_user_id=owner.id
    )
    assert invitation.status == "pending"
    assert (await clerk.organizations.get(org.id)).pending_invitations_count == 1
    pending = await clerk.organization_invitations.list(org.id, status="pending")
    assert [i.id for i in pending.data] == [invitation.id]
    revoked = await clerk.organization_invitations.revoke(org.id, invitation.id)
    assert revoked.status == "revoked"

    deleted = await clerk.organizations.delete(org.id)
    assert deleted.deleted
    with pytest.raises(NotFoundError):
        await clerk.organizations.get(org.id)
    assert (await clerk.users.get_organization_memberships(owner.id)).total_count == 0


async def test_deleting_a_user_ends_sessions_and_memberships(fake: FakeClerk, clerk: Clerk) -> None:
    user = fake.add_user("ada@example.com")
    other = fake.add_user("bob@example.com")
    org = fake.add_organization("Acme", members={user.id: "org:admin", other.id: "org:member"})
    session = fake.add_session(user.id, org_id=org.id)
    await clerk.users.delete(user.id)
    assert fake.sessions[session.id].status == "removed"
    assert fake.organizations[org.id].members_count == 1
    members = await clerk.organization_memberships.list(org.id)
    assert [m.public_user_data.user_id for m in members.data if m.public_user_data] == [other.id]


async def test_session_tokens_verify_with_organization_claims(
    fake: FakeClerk, clerk: Clerk
) -> None:
    user = fake.add_user("ada@example.com", first_name="Ada")
    org = fake.add_organization("Acme", members={user.id: "org:admin"})
    session = await clerk.sessions.create(user_id=user.id, active_organization_id=org.id)
    assert session.status == "active"
    assert session.last_active_organization_id == org.id
    assert [s.id for s in (await clerk.sessions.list(user_id=user.id)).data] == [session.id]
    client = await clerk.clients.get(session.client_id)
    assert (client.session_ids, client.last_active_session_id) == ([session.id], session.id)

    token = await clerk.sessions.create_token(session.id)
    assert token.jwt is not None
    auth = await clerk.verify_token(token.jwt)
    assert isinstance(auth, SessionAuth)
    assert (auth.user_id, auth.session_id, auth.org_id) == (user.id, session.id, org.id)
    assert (auth.org_role, auth.org_slug) == ("org:admin", "acme")

    await clerk.jwt_templates.create(
        name="hasura",
        claims={"uid": "{{user.id}}", "org": "{{org.slug}}", "who": "{{user.first_name}}!"},
    )
    templated = await clerk.sessions.create_token_from_template(session.id, "hasura")
    assert templated.jwt is not None
    claims = await clerk.verify_token(templated.jwt)
    assert isinstance(claims, SessionAuth)
    assert claims.user_id == user.id

    seeded = fake.session_token(user.id, org_id=org.id)
    seeded_auth = await clerk.verify_token(seeded)
    assert isinstance(seeded_auth, SessionAuth)
    assert (seeded_auth.org_id, seeded_auth.org_role, seeded_auth.org_slug) == (
        org.id,
        "org:admin",
        "acme",
    )
    assert fake.sessions[str(seeded_auth.session_id)].user_id == user.id
    # A token of a session the fake knows carries that session's active organization.
    of_session = await clerk.verify_token(fake.session_token(user.id, session_id=session.id))
    assert isinstance(of_session, SessionAuth)
    assert (of_session.session_id, of_session.org_id) == (session.id, org.id)

    refreshed = await clerk.sessions.refresh(
        session.id,
        expired_token=token.jwt,
        refresh_token="from-the-cookie",
        request_origin="http://localhost:3000",
    )
    assert isinstance(refreshed, Token)
    assert refreshed.jwt is not None
    assert (await clerk.verify_token(refreshed.jwt)).session_id == session.id  # type: ignore[union-attr]
    with pytest.raises(AuthenticationError):  # a token of another session: the spec's 401
        await clerk.sessions.refresh(
            session.id,
            expired_token=seeded,
            refresh_token="from-the-cookie",
            request_origin="http://localhost:3000",
        )

    await clerk.sessions.revoke(session.id)
    with pytest.raises(NotFoundError):
        await clerk.sessions.create_token(session.id)


async def test_custom_permissions_reach_memberships_and_tokens(
    fake: FakeClerk, clerk: Clerk
) -> None:
    edit = await clerk.organization_permissions.create(name="Edit posts", key="org:posts:edit")
    read = await clerk.organization_permissions.create(name="Read posts", key="org:posts:read")
    editor = await clerk.organization_roles.create(
        name="Editor", key="org:editor", permissions=[edit.id]
    )
    user = fake.add_user("ada@example.com")
    org = fake.add_organization("Acme", members={user.id: "org:editor"})
    await clerk.organization_roles.assign_permission(editor.id, read.id)
    members = await clerk.organization_memberships.list(org.id)
    assert members.data[0].permissions == ["org:posts:edit", "org:posts:read"]
    assert members.data[0].role_name == "Editor"
    auth = await clerk.verify_token(fake.session_token(user.id, org_id=org.id))
    assert isinstance(auth, SessionAuth)
    assert auth.org_role == "org:editor"
    assert sorted(auth.org_permissions) == ["org:posts:edit", "org:posts:read"]
    with pytest.raises(UnprocessableEntityError) as in_use:
        await clerk.organization_roles.delete(editor.id)
    assert in_use.value.errors[0].code == "organization_role_in_use"
    await clerk.organization_permissions.delete(read.id)
    assert (await clerk.organization_roles.get(editor.id)).permissions[0].key == "org:posts:edit"
    listed = await clerk.organization_roles.list(query="org:")
    assert {r.key for r in listed.data} == {"org:admin", "org:member", "org:editor"}


async def test_instance_lists(clerk: Clerk) -> None:
    invitation = await clerk.invitations.create(email_address="new@example.com")
    assert [i.id for i in (await clerk.invitations.list()).data] == [invitation.id]
    with pytest.raises(UnprocessableEntityError):
        await clerk.invitations.create(email_address="new@example.com")
    assert (await clerk.invitations.revoke(invitation.id)).status == "revoked"
    allowed = await clerk.allowlist_identifiers.create(identifier="ok@example.com")
    assert allowed.identifier_type == "email_address"
    assert allowed.id is not None
    assert [a.id for a in (await clerk.allowlist_identifiers.list()).data] == [allowed.id]
    await clerk.allowlist_identifiers.delete(allowed.id)
    assert (await clerk.allowlist_identifiers.list()).data == []
    with pytest.raises(UnprocessableEntityError):  # the second repeats the first: none made
        await clerk.invitations.bulk_create(
            request_body=[{"email_address": "b1@example.com"}, {"email_address": "b1@example.com"}]
        )
    assert (await clerk.invitations.list(query="b1@")).data == []
    made = await clerk.invitations.bulk_create(
        request_body=[{"email_address": "b1@example.com"}, {"email_address": "b2@example.com"}]
    )
    assert [i.email_address for i in made] == ["b1@example.com", "b2@example.com"]
    entry = await clerk.waitlist_entries.create(email_address="wait@example.com")
    again = await clerk.waitlist_entries.create(email_address="wait@example.com")
    assert again.id == entry.id
    assert (await clerk.waitlist_entries.invite(entry.id)).status == "invited"


def test_seeding_and_inspection_from_a_threaded_fake() -> None:
    with FakeClerk(rate_limit=None) as fake:
        user = fake.add_user(["ada@example.com", "ada@work.example"], first_name="Ada")
        org = fake.add_organization("Acme", members={user.id: "org:admin"})

        async def rename() -> str | None:
            async with fake.client() as clerk:
                await clerk.organization_memberships.create(
                    org.id, user_id=fake.add_user().id, role="org:member"
                )
                return (await clerk.users.update(user.id, first_name="Augusta")).first_name

        assert asyncio.run(rename()) == "Augusta"
        assert fake.users[user.id].first_name == "Augusta"
        assert [e.email_address for e in fake.users[user.id].email_addresses] == [
            "ada@example.com",
            "ada@work.example",
        ]
        assert fake.organizations[org.id].members_count == 2
