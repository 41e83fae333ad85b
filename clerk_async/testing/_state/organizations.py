"""Organizations, their memberships, invitations and domains, and the roles members hold.

Clerk's semantics, and the choices made where the spec and Clerk's docs are silent:

- ``GET /organizations/{id}`` takes an id or a slug. A slug is unique (422
  ``form_identifier_exists``); without one, it is made from the name (lowercase letters,
  digits and dashes), with a random suffix if that is taken.
- ``created_by`` names a user who becomes the organization's first ``org:admin``.
  ``max_allowed_memberships`` defaults to 0, which the fake reads as "no limit" (a real
  instance's default depends on its plan); a positive limit refuses the membership past it
  with 403 ``organization_membership_quota_exceeded``.
- ``members_count`` and ``pending_invitations_count`` are always in the answer and follow
  the memberships and invitations.
- Roles are the instance's (``roles.py``: ``org:admin``, ``org:member`` and custom ones); a
  role that does not exist is a 422 ``form_param_value_invalid`` on ``role``. Seeding with
  ``fake.add_organization(members={uid: "org:editor"})`` creates such a role (without
  permissions) on the way.
- A membership for a user who is already a member: 422 ``already_a_member_in_organization``.
  Deleting a membership answers the deleted membership (the spec's answer).
- Invitations are ``pending`` until revoked (``revoked``); a second pending invitation to
  the same address in one organization is a 422 ``duplicate_record``. Without
  ``inviter_user_id`` the answer's ``public_inviter_data`` is null (Clerk's answer; the spec
  marks it required, so such an answer is the one place this module is off the spec).
- Deleting an organization deletes its memberships, invitations and domains, and sessions
  whose active organization it was have none afterwards.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from clerk_async.testing._state._base import (
    Record,
    bulk,
    deep_merge,
    handler,
    identifier_exists,
    invalid,
    listed,
    not_found,
    ordered,
    parse_time,
    signed_ids,
    word,
)
from clerk_async.testing._state.users import check_email
from clerk_async.testing._store import FakeError

if TYPE_CHECKING:
    from clerk_async.testing._state import State
    from clerk_async.testing._state.users import UserRecord, Users

__all__ = [
    "MembershipRecord",
    "OrganizationDomainRecord",
    "OrganizationInvitationRecord",
    "OrganizationRecord",
    "Organizations",
]

DEFAULT_LOGO = "https://img.clerk.com/eyJ0eXBlIjoiZGVmYXVsdCIsInNyYyI6Im9yZyJ9"


class OrganizationRecord(Record):
    """An organization (``fake.organizations[oid]``)."""

    _computed = ("members_count", "pending_invitations_count")
    _orgs: Organizations

    @property
    def members_count(self) -> int:
        return len(self._orgs.by_org.get(self.id, ()))

    @property
    def pending_invitations_count(self) -> int:
        return sum(1 for i in self._orgs.invitations_of(self.id) if i.status == "pending")

    @property
    def memberships(self) -> dict[str, MembershipRecord]:
        """Its memberships by user id (not a wire field: a view for tests)."""
        return self._orgs.by_org.get(self.id, {})

    def __repr__(self) -> str:
        return f"OrganizationRecord(id={self.id!r}, slug={self.slug!r})"


class MembershipRecord(Record):
    """A membership: ``role_name``, ``permissions``, ``organization`` and
    ``public_user_data`` follow the role, the organization and the user as they change."""

    _computed = ("role_name", "permissions", "organization", "public_user_data")
    _orgs: Organizations
    _org_id: str
    _user_id: str

    @property
    def role_name(self) -> str:
        return str(self._orgs.state.roles.for_key(self.role).name)

    @property
    def permissions(self) -> list[str]:
        return self._orgs.state.roles.for_key(self.role).permission_keys

    @property
    def organization(self) -> OrganizationRecord:
        return self._orgs.records[self._org_id]

    @property
    def public_user_data(self) -> dict[str, Any]:
        users = self._orgs.state.users
        user = users.records[self._user_id]
        return {
            "user_id": user.id,
            "first_name": user.first_name,
            "last_name": user.last_name,
            "profile_image_url": user.profile_image_url,
            "image_url": user.image_url,
            "has_image": user.has_image,
            "identifier": _identifier(users, user),
            "username": user.username,
            "banned": user.banned,
        }


class OrganizationInvitationRecord(Record):
    """An invitation to join an organization (``orginv_…``)."""

    _orgs: Organizations

    @property
    def public_organization_data(self) -> dict[str, Any]:
        org = self._orgs.records.get(self.organization_id)
        if org is None:
            return {"id": self.organization_id, "name": "", "slug": "", "has_image": False}
        return _public_org(org)


class OrganizationDomainRecord(Record):
    """A domain of an organization (``orgdmn_…``)."""

    _computed = ("public_organization_data",)
    _orgs: Organizations

    @property
    def public_organization_data(self) -> dict[str, Any] | None:
        org = self._orgs.records.get(self.organization_id)
        return None if org is None else _public_org(org)


def _public_org(org: OrganizationRecord) -> dict[str, Any]:
    return {
        "id": org.id,
        "name": org.name,
        "slug": org.slug,
        "image_url": org.image_url,
        "has_image": org.has_image,
    }


def _identifier(users: Users, user: UserRecord) -> str | None:
    found: str | None = users.primary_email(user) or users.primary_phone(user) or user.username
    return found


ENROLLMENT_MODES = frozenset(
    {"manual_invitation", "automatic_invitation", "automatic_suggestion", "enterprise_sso"}
)


def _domain_verification(verified: bool, strategy: str = "email_code") -> dict[str, Any]:
    """An affiliation (or, with ``strategy="dns_record"``, ownership) verification; the
    spec keeps ``verified_at`` for ownership and makes it null on affiliation."""
    return {
        "status": "verified" if verified else "unverified",
        "strategy": strategy,
        "attempts": None,
        "expire_at": None,
        "verified_at": None,
    }


def _enrollment_mode(value: str) -> str:
    if value not in ENROLLMENT_MODES:
        raise invalid(
            "enrollment_mode", f"enrollment_mode must be one of {sorted(ENROLLMENT_MODES)}"
        )
    return value


class Organizations:
    """Organizations and what hangs from them, with membership indexes both ways."""

    def __init__(self, state: State) -> None:
        self.state = state
        self.records: dict[str, OrganizationRecord] = {}
        self.by_slug: dict[str, OrganizationRecord] = {}
        self.by_org: dict[str, dict[str, MembershipRecord]] = {}  # org id -> user id -> m
        self.by_user: dict[str, dict[str, MembershipRecord]] = {}  # user id -> org id -> m
        self.invitations: dict[str, OrganizationInvitationRecord] = {}
        self._invitations_by_org: dict[str, dict[str, OrganizationInvitationRecord]] = {}
        self.domains: dict[str, OrganizationDomainRecord] = {}

    # -- organizations -----------------------------------------------------------------

    def get(self, id_or_slug: str) -> OrganizationRecord:
        org = self.records.get(id_or_slug) or self.by_slug.get(id_or_slug)
        if org is None:
            raise not_found("organization", id_or_slug)
        return org

    def _free_slug(self, name: str) -> str:
        base = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "organization"
        slug = base
        while slug in self.by_slug:
            slug = f"{base}-{word(self.state.rng)[:6].lower()}"
        return slug

    def create(self, p: dict[str, Any]) -> OrganizationRecord:
        slug = p.get("slug")
        if slug is not None and slug in self.by_slug:
            raise identifier_exists("slug")
        creator = p.get("created_by")
        if creator is not None and creator not in self.state.users.records:
            # A 422 on the field: the spec declares no 404 here.
            raise invalid("created_by", f"No user was found with id {creator}")
        now = self.state.now()
        created_at = parse_time("created_at", p["created_at"]) if p.get("created_at") else now
        org = OrganizationRecord(
            object="organization",
            id=self.state.new_id("org"),
            name=p["name"],
            slug=slug if slug is not None else self._free_slug(p["name"]),
            image_url=DEFAULT_LOGO,
            has_image=False,
            max_allowed_memberships=p.get("max_allowed_memberships") or 0,
            admin_delete_enabled=True,
            public_metadata=dict(p.get("public_metadata") or {}),
            private_metadata=dict(p.get("private_metadata") or {}),
            created_at=created_at,
            updated_at=now,
            role_set_key=p.get("role_set_key"),
        )
        if creator is not None:
            org.created_by = creator
        org._orgs = self
        self.records[org.id] = org
        self.by_slug[org.slug] = org
        self.by_org[org.id] = {}
        self._invitations_by_org[org.id] = {}
        if creator is not None:
            self.add_member(org.id, {"user_id": creator, "role": "org:admin"})
        return org

    def update(self, org_id: str, p: dict[str, Any]) -> OrganizationRecord:
        org = self.get(org_id)
        slug = p.get("slug")
        if slug is not None and slug != org.slug and slug in self.by_slug:
            raise identifier_exists("slug")
        created_at = parse_time("created_at", p["created_at"]) if p.get("created_at") else None
        if slug is not None and slug != org.slug:
            del self.by_slug[org.slug]
            org.slug = slug
            self.by_slug[slug] = org
        for field in ("name", "max_allowed_memberships", "admin_delete_enabled", "role_set_key"):
            if p.get(field) is not None:
                setattr(org, field, p[field])
        if created_at is not None:
            org.created_at = created_at
        self.state.users.touch(org)
        return org

    def delete(self, org_id: str) -> dict[str, Any]:
        org = self.get(org_id)
        for user_id in list(self.by_org.get(org.id, ())):
            self._drop_member(org.id, user_id)
        del self.by_org[org.id]
        for invitation_id in self._invitations_by_org.pop(org.id, {}):
            del self.invitations[invitation_id]
        self.domains = {k: d for k, d in self.domains.items() if d.organization_id != org.id}
        self.state.sessions.forget_org(org.id)
        del self.records[org.id]
        del self.by_slug[org.slug]
        return {"object": "organization", "id": org.id, "slug": org.slug, "deleted": True}

    def set_metadata(self, org_id: str, p: dict[str, Any], *, merge: bool) -> OrganizationRecord:
        org = self.get(org_id)
        for field in ("public_metadata", "private_metadata"):
            if field in p:
                changes = p[field] or {}
                value = deep_merge(getattr(org, field), changes) if merge else dict(changes)
                setattr(org, field, value)
        self.state.users.touch(org)
        return org

    def search(self, p: dict[str, Any]) -> list[OrganizationRecord]:
        found: Iterable[OrganizationRecord] = self.records.values()
        if "user_id" in p:
            include, exclude = signed_ids(p["user_id"])
            if include:
                ids = {o for u in include for o in self.by_user.get(u, ())}
                found = [self.records[i] for i in ids]
            if exclude:
                excluded = {o for u in exclude for o in self.by_user.get(u, ())}
                found = [o for o in found if o.id not in excluded]
        if "organization_id" in p:
            include, exclude = signed_ids(p["organization_id"])
            found = [o for o in found if (not include or o.id in include) and o.id not in exclude]
        query = p.get("query")
        if query:
            folded = query.casefold()
            found = [
                o
                for o in found
                if o.id == query or folded in o.name.casefold() or folded in o.slug.casefold()
            ]
        keys: dict[str, Callable[[OrganizationRecord], Any]] = {
            "name": lambda o: o.name,
            "members_count": lambda o: o.members_count,
        }
        return ordered(found, p.get("order_by") or "-created_at", keys)

    def set_logo(self, org_id: str, has_image: bool) -> OrganizationRecord:
        org = self.get(org_id)
        org.has_image = has_image
        org.image_url = (
            f"https://img.clerk.com/{self.state.new_id('img')}" if has_image else DEFAULT_LOGO
        )
        self.state.users.touch(org)
        return org

    # -- memberships ---------------------------------------------------------------------

    def member_ids(self, org_id: str) -> Iterable[str]:
        return self.by_org.get(org_id, {}).keys()

    def membership(self, org_id: str, user_id: str) -> MembershipRecord:
        org = self.get(org_id)
        found = self.by_org[org.id].get(user_id)
        if found is None:
            raise FakeError.one(
                404,
                "resource_not_found",
                "not found",
                f"No membership of user {user_id} in organization {org.id}",
            )
        return found

    def add_member(self, org_id: str, p: dict[str, Any]) -> MembershipRecord:
        org = self.get(org_id)
        user = self.state.users.get(p["user_id"])
        self.state.roles.for_key(p["role"])
        members = self.by_org[org.id]
        if user.id in members:
            raise FakeError.one(
                422,
                "already_a_member_in_organization",
                "already a member",
                f"User {user.id} is already a member of organization {org.id}",
            )
        if org.max_allowed_memberships and len(members) >= org.max_allowed_memberships:
            raise FakeError.one(
                403,
                "organization_membership_quota_exceeded",
                "Membership quota exceeded",
                f"Organization {org.id} has reached its {org.max_allowed_memberships} memberships",
            )
        now = self.state.now()
        m = MembershipRecord(
            id=self.state.new_id("orgmem"),
            object="organization_membership",
            role=p["role"],
            public_metadata=dict(p.get("public_metadata") or {}),
            private_metadata=dict(p.get("private_metadata") or {}),
            created_at=now,
            updated_at=now,
        )
        m._orgs, m._org_id, m._user_id = self, org.id, user.id
        members[user.id] = m
        self.by_user.setdefault(user.id, {})[org.id] = m
        return m

    def update_member(self, org_id: str, user_id: str, role: str) -> MembershipRecord:
        m = self.membership(org_id, user_id)
        self.state.roles.for_key(role)
        m.role = role
        self.state.users.touch(m)
        return m

    def _drop_member(self, org_id: str, user_id: str) -> MembershipRecord:
        m = self.by_org[org_id].pop(user_id)
        mine = self.by_user.get(user_id, {})
        mine.pop(org_id, None)
        if not mine:
            self.by_user.pop(user_id, None)
        return m

    def remove_member(self, org_id: str, user_id: str) -> dict[str, Any]:
        m = self.membership(org_id, user_id)
        body = m.json()  # with its organization and user, before they part
        self._drop_member(m._org_id, user_id)
        self.state.sessions.leave_org(user_id, m._org_id)
        return body

    def forget_user(self, user_id: str) -> None:
        """A deleted user's memberships go with them."""
        for org_id in list(self.by_user.get(user_id, ())):
            self._drop_member(org_id, user_id)

    def memberships(self, p: dict[str, Any], org_id: str | None) -> list[MembershipRecord]:
        users = self.state.users
        if org_id is None:
            found: Iterable[MembershipRecord] = [
                m for members in self.by_org.values() for m in members.values()
            ]
        else:
            found = self.by_org[self.get(org_id).id].values()
        user_filter = {
            k: v for k, v in p.items() if k not in ("role", "order_by", "limit", "offset")
        }
        if user_filter:
            allowed = users.find(user_filter)
            if allowed is not None:
                allowed_ids = {u.id for u in allowed}
                found = [m for m in found if m._user_id in allowed_ids]
        if p.get("role"):
            roles = set(p["role"])
            found = [m for m in found if m.role in roles]

        def of_user(field: Callable[[UserRecord], Any]) -> Callable[[MembershipRecord], Any]:
            return lambda m: field(users.records[m._user_id])

        keys: dict[str, Callable[[MembershipRecord], Any]] = {
            "first_name": of_user(lambda u: u.first_name),
            "last_name": of_user(lambda u: u.last_name),
            "username": of_user(lambda u: u.username),
            "email_address": of_user(users.primary_email),
            "phone_number": of_user(users.primary_phone),
        }
        return ordered(found, p.get("order_by") or "-created_at", keys)

    # -- invitations -----------------------------------------------------------------------

    def invitations_of(self, org_id: str) -> Iterable[OrganizationInvitationRecord]:
        return self._invitations_by_org.get(org_id, {}).values()

    def invite(self, org_id: str, p: dict[str, Any]) -> OrganizationInvitationRecord:
        org = self.get(org_id)
        name = self.state.roles.for_key(p["role"]).name
        address = p["email_address"]
        check_email(address)
        inviter = p.get("inviter_user_id")
        if inviter is not None:
            self.state.users.get(inviter)
        member = self.state.users.by_email(address)
        if member is not None and member.id in self.by_org[org.id]:
            raise FakeError.one(
                422,
                "already_a_member_in_organization",
                "already a member",
                f"{address} is already a member of organization {org.id}",
            )
        for other in self.invitations_of(org.id):
            if other.status == "pending" and other.email_address.casefold() == address.casefold():
                raise FakeError.one(
                    422,
                    "duplicate_record",
                    "duplicate invitation",
                    f"There is already a pending invitation for {address}",
                )
        now = self.state.now()
        days = p.get("expires_in_days") or 30
        invitation = OrganizationInvitationRecord(
            object="organization_invitation",
            id=self.state.new_id("orginv"),
            email_address=address,
            role=p["role"],
            role_name=name,
            organization_id=org.id,
            inviter_id=inviter,
            public_inviter_data=self._inviter_data(inviter),
            status="pending",
            public_metadata=dict(p.get("public_metadata") or {}),
            private_metadata=dict(p.get("private_metadata") or {}),
            url=None,
            expires_at=now + days * 86_400_000,
            created_at=now,
            updated_at=now,
        )
        invitation._orgs = self
        self.invitations[invitation.id] = invitation
        self._invitations_by_org[org.id][invitation.id] = invitation
        return invitation

    def _inviter_data(self, user_id: str | None) -> dict[str, Any] | None:
        if user_id is None:
            return None
        users = self.state.users
        user = users.get(user_id)
        return {
            "user_id": user.id,
            "first_name": user.first_name,
            "last_name": user.last_name,
            "image_url": user.image_url,
            "has_image": user.has_image,
            "identifier": _identifier(users, user) or user.id,
        }

    def invitation(self, org_id: str, invitation_id: str) -> OrganizationInvitationRecord:
        org = self.get(org_id)
        found = self._invitations_by_org[org.id].get(invitation_id)
        if found is None:
            raise not_found("organization invitation", invitation_id)
        return found

    def list_invitations(
        self, p: dict[str, Any], found: Iterable[OrganizationInvitationRecord]
    ) -> list[OrganizationInvitationRecord]:
        if p.get("status"):
            found = [i for i in found if i.status == p["status"]]
        if p.get("email_address"):
            folded = p["email_address"].casefold()
            found = [i for i in found if i.email_address.casefold() == folded]
        if p.get("query"):
            folded = p["query"].casefold()
            found = [i for i in found if folded in i.email_address.casefold()]
        keys: dict[str, Callable[[OrganizationInvitationRecord], Any]] = {
            "email_address": lambda i: i.email_address
        }
        return ordered(found, p.get("order_by") or "-created_at", keys)

    # -- domains -----------------------------------------------------------------------

    def add_domain(self, org_id: str, p: dict[str, Any]) -> OrganizationDomainRecord:
        org = self.get(org_id)
        name = p.get("name")
        if not name:
            raise FakeError.one(
                422, "form_param_missing", "is missing", "name must be included.", param_name="name"
            )
        if any(d.name == name for d in self.domains.values()):
            raise identifier_exists("name")
        now = self.state.now()
        verified = p.get("verified") is not False
        mode = _enrollment_mode(p.get("enrollment_mode") or "manual_invitation")
        domain = OrganizationDomainRecord(
            object="organization_domain",
            id=self.state.new_id("orgdmn"),
            organization_id=org.id,
            name=name,
            enrollment_mode=mode,
            affiliation_email_address=None,
            affiliation_verification=_domain_verification(verified),
            # Ownership is proven by a DNS record, which the fake never sees.
            ownership_verification=_domain_verification(False, "dns_record"),
            verification=_domain_verification(verified),
            total_pending_invitations=0,
            total_pending_suggestions=0,
            created_at=now,
            updated_at=now,
        )
        domain._orgs = self
        self.domains[domain.id] = domain
        return domain

    def domain(self, org_id: str, domain_id: str) -> OrganizationDomainRecord:
        org = self.get(org_id)
        found = self.domains.get(domain_id)
        if found is None or found.organization_id != org.id:
            raise not_found("organization domain", domain_id)
        return found

    def list_domains(
        self, p: dict[str, Any], found: Iterable[OrganizationDomainRecord]
    ) -> list[OrganizationDomainRecord]:
        if p.get("verified") in ("true", "false"):
            wanted = "verified" if p["verified"] == "true" else "unverified"
            found = [d for d in found if d.verification["status"] == wanted]
        modes = p.get("enrollment_mode")
        if modes:
            include, exclude = signed_ids([modes] if isinstance(modes, str) else modes)
            found = [
                d
                for d in found
                if (not include or d.enrollment_mode in include)
                and d.enrollment_mode not in exclude
            ]
        if p.get("domains"):
            names = set(p["domains"])
            found = [d for d in found if d.name in names]
        query = p.get("query")
        if query:
            if query.startswith("org_"):
                found = [d for d in found if d.organization_id == query]
            else:
                found = [d for d in found if query.casefold() in d.name.casefold()]
        keys: dict[str, Callable[[OrganizationDomainRecord], Any]] = {"name": lambda d: d.name}
        return ordered(found, p.get("order_by") or "-created_at", keys)


# -- handlers --------------------------------------------------------------------------------


@handler("CreateOrganization")
def _create(st: State, p: dict[str, Any]) -> Any:
    return st.orgs.create(p).json()


@handler("GetOrganization")
def _get(st: State, p: dict[str, Any]) -> Any:
    return st.orgs.get(p["organization_id"]).json()


@handler("ListOrganizations")
def _list(st: State, p: dict[str, Any]) -> Any:
    return listed(st.orgs.search(p), p)


@handler("UpdateOrganization")
def _update(st: State, p: dict[str, Any]) -> Any:
    return st.orgs.update(p.pop("organization_id"), p).json()


@handler("DeleteOrganization")
def _delete(st: State, p: dict[str, Any]) -> Any:
    return st.orgs.delete(p["organization_id"])


@handler("MergeOrganizationMetadata")
def _merge_metadata(st: State, p: dict[str, Any]) -> Any:
    return st.orgs.set_metadata(p.pop("organization_id"), p, merge=True).json()


@handler("ReplaceOrganizationMetadata")
def _replace_metadata(st: State, p: dict[str, Any]) -> Any:
    return st.orgs.set_metadata(p.pop("organization_id"), p, merge=False).json()


@handler("UploadOrganizationLogo")
def _upload_logo(st: State, p: dict[str, Any]) -> Any:
    return st.orgs.set_logo(p["organization_id"], True).json()


@handler("DeleteOrganizationLogo")
def _delete_logo(st: State, p: dict[str, Any]) -> Any:
    return st.orgs.set_logo(p["organization_id"], False).json()


@handler("CreateOrganizationMembership")
def _add_member(st: State, p: dict[str, Any]) -> Any:
    return st.orgs.add_member(p.pop("organization_id"), p).json()


@handler("ListOrganizationMemberships")
def _list_members(st: State, p: dict[str, Any]) -> Any:
    return listed(st.orgs.memberships(p, p.pop("organization_id")), p)


@handler("InstanceGetOrganizationMemberships")
def _all_memberships(st: State, p: dict[str, Any]) -> Any:
    return listed(st.orgs.memberships(p, None), p)


@handler("UsersGetOrganizationMemberships")
def _user_memberships(st: State, p: dict[str, Any]) -> Any:
    # An unknown user has no memberships (the spec declares no 404 here).
    found = ordered(st.orgs.by_user.get(p["user_id"], {}).values(), "-created_at", {})
    return listed(found, p)


@handler("UpdateOrganizationMembership")
def _update_member(st: State, p: dict[str, Any]) -> Any:
    return st.orgs.update_member(p["organization_id"], p["user_id"], p["role"]).json()


@handler("UpdateOrganizationMembershipMetadata")
def _member_metadata(st: State, p: dict[str, Any]) -> Any:
    m = st.orgs.membership(p["organization_id"], p["user_id"])
    for field in ("public_metadata", "private_metadata"):
        if field in p:
            setattr(m, field, deep_merge(getattr(m, field), p[field] or {}))
    st.users.touch(m)
    return m.json()


@handler("DeleteOrganizationMembership")
def _remove_member(st: State, p: dict[str, Any]) -> Any:
    return st.orgs.remove_member(p["organization_id"], p["user_id"])


@handler("CreateOrganizationInvitation")
def _invite(st: State, p: dict[str, Any]) -> Any:
    return st.orgs.invite(p.pop("organization_id"), p).json()


@handler("CreateOrganizationInvitationBulk")
def _invite_many(st: State, p: dict[str, Any]) -> Any:
    """All or none: an item Clerk refuses undoes the ones made before it."""
    org = st.orgs.get(p["organization_id"])
    made: list[OrganizationInvitationRecord] = []
    try:
        for item in bulk(p, "CreateOrganizationInvitation", 10):
            made.append(st.orgs.invite(org.id, item))
    except FakeError:
        for invitation in made:
            del st.orgs.invitations[invitation.id]
            del st.orgs._invitations_by_org[org.id][invitation.id]
        raise
    return {"data": [i.json() for i in made], "total_count": len(made)}


@handler("GetOrganizationInvitation")
def _get_invitation(st: State, p: dict[str, Any]) -> Any:
    return st.orgs.invitation(p["organization_id"], p["invitation_id"]).json()


@handler("ListOrganizationInvitations")
def _list_invitations(st: State, p: dict[str, Any]) -> Any:
    org = st.orgs.get(p["organization_id"])
    return listed(st.orgs.list_invitations(p, st.orgs.invitations_of(org.id)), p)


@handler("ListPendingOrganizationInvitations")
def _list_pending(st: State, p: dict[str, Any]) -> Any:
    org = st.orgs.get(p["organization_id"])
    found = st.orgs.list_invitations({"status": "pending"}, st.orgs.invitations_of(org.id))
    return listed(found, p)


def _with_org(invitations: list[OrganizationInvitationRecord], p: dict[str, Any]) -> Any:
    body = listed(invitations, p)
    by_id = {i.id: i for i in invitations}
    for item in body["data"]:
        item["public_organization_data"] = by_id[item["id"]].public_organization_data
    return body


@handler("ListInstanceOrganizationInvitations")
def _list_all_invitations(st: State, p: dict[str, Any]) -> Any:
    return _with_org(st.orgs.list_invitations(p, st.orgs.invitations.values()), p)


@handler("UsersGetOrganizationInvitations")
def _user_invitations(st: State, p: dict[str, Any]) -> Any:
    user = st.users.get(p["user_id"])
    addresses = {e.email_address.casefold() for e in user.email_addresses}
    mine = [i for i in st.orgs.invitations.values() if i.email_address.casefold() in addresses]
    return _with_org(st.orgs.list_invitations({"status": p.get("status")}, mine), p)


@handler("RevokeOrganizationInvitation")
def _revoke_invitation(st: State, p: dict[str, Any]) -> Any:
    invitation = st.orgs.invitation(p["organization_id"], p["invitation_id"])
    if invitation.status != "pending":
        raise FakeError.one(
            400,
            "organization_invitation_not_pending",
            "not pending",
            f"The invitation is {invitation.status}, only pending invitations can be revoked",
        )
    invitation.status = "revoked"
    st.users.touch(invitation)
    return invitation.json()


@handler("CreateOrganizationDomain")
def _add_domain(st: State, p: dict[str, Any]) -> Any:
    return st.orgs.add_domain(p.pop("organization_id"), p).json()


@handler("ListOrganizationDomains")
def _list_domains(st: State, p: dict[str, Any]) -> Any:
    org = st.orgs.get(p["organization_id"])
    mine = [d for d in st.orgs.domains.values() if d.organization_id == org.id]
    return listed(st.orgs.list_domains(p, mine), p)


@handler("ListAllOrganizationDomains")
def _list_all_domains(st: State, p: dict[str, Any]) -> Any:
    found: Iterable[OrganizationDomainRecord] = st.orgs.domains.values()
    if p.get("organization_id"):
        found = [d for d in found if d.organization_id == p["organization_id"]]
    return listed(st.orgs.list_domains(p, found), p)


@handler("UpdateOrganizationDomain")
def _update_domain(st: State, p: dict[str, Any]) -> Any:
    domain = st.orgs.domain(p["organization_id"], p["domain_id"])
    if p.get("enrollment_mode") is not None:
        domain.enrollment_mode = _enrollment_mode(p["enrollment_mode"])
    if p.get("verified") is not None:
        domain.verification = _domain_verification(p["verified"])
        domain.affiliation_verification = _domain_verification(p["verified"])
    st.users.touch(domain)
    return domain.json()


@handler("DeleteOrganizationDomain")
def _delete_domain(st: State, p: dict[str, Any]) -> Any:
    domain = st.orgs.domain(p["organization_id"], p["domain_id"])
    del st.orgs.domains[domain.id]
    return {"object": "organization_domain", "id": domain.id, "deleted": True}
