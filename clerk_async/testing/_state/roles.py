"""Organization roles and permissions, the instance's custom access model.

Clerk's semantics, and the choices made where the spec and Clerk's docs are silent:

- An instance starts with Clerk's system permissions (``org:sys_profile:manage``,
  ``org:sys_profile:delete``, ``org:sys_memberships:read``/``manage``,
  ``org:sys_domains:read``/``manage``, ``type: "system"``) and its two default roles,
  ``org:admin`` (all of them, creator-eligible) and ``org:member`` (reading memberships).
- A role's or permission's ``key`` is unique (422 ``form_identifier_exists``); system
  permissions cannot be changed or deleted (403 ``authorization_invalid``), nor can a role
  that members hold be deleted (422 ``organization_role_in_use``, like Clerk's
  "role assigned to members" refusal). Deleting a permission takes it off every role.
- Memberships show the permissions their role has now: changing a role changes what
  ``GET .../memberships`` and new session tokens say (``per``/``fpm`` carry the custom
  permissions; system ones never go in tokens, as at Clerk).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from clerk_async.testing._state._base import (
    Record,
    handler,
    identifier_exists,
    invalid,
    listed,
    not_found,
    ordered,
)
from clerk_async.testing._store import FakeError

if TYPE_CHECKING:
    from clerk_async.testing._state import State

__all__ = ["PermissionRecord", "RoleRecord", "Roles"]

SYSTEM_PERMISSIONS = {
    "org:sys_profile:manage": "Manage organization",
    "org:sys_profile:delete": "Delete organization",
    "org:sys_memberships:read": "Read members",
    "org:sys_memberships:manage": "Manage members",
    "org:sys_domains:read": "Read domains",
    "org:sys_domains:manage": "Manage domains",
}


class PermissionRecord(Record):
    """A permission (``perm_…``); ``type`` is ``system`` or ``user``."""


class RoleRecord(Record):
    """A role (``role_…``); ``permissions`` holds its live ``PermissionRecord``."""

    @property
    def permission_keys(self) -> list[str]:
        return [p.key for p in self.permissions]


def _check_key(key: str, param: str, parts: int) -> None:
    segments = key.split(":")
    if len(segments) != parts or segments[0] != "org" or not all(segments[1:]):
        shape = "org:<key>" if parts == 2 else "org:<feature>:<action>"
        raise invalid(param, f"{param} must look like {shape}")


class Roles:
    def __init__(self, state: State) -> None:
        self.state = state
        self.permissions: dict[str, PermissionRecord] = {}
        self.records: dict[str, RoleRecord] = {}
        self.by_key: dict[str, RoleRecord] = {}
        for key, name in SYSTEM_PERMISSIONS.items():
            self._add_permission(key, name, f"{name} (a system permission)", "system")
        system = list(self.permissions.values())
        self.create(
            {"key": "org:admin", "name": "Admin", "description": "Role with elevated permissions"},
            permissions=system,
            creator=True,
        )
        member = [p for p in system if p.key == "org:sys_memberships:read"]
        self.create({"key": "org:member", "name": "Member"}, permissions=member)

    # -- permissions -------------------------------------------------------------------

    def _add_permission(self, key: str, name: str, description: str, kind: str) -> PermissionRecord:
        now = self.state.now()
        permission = PermissionRecord(
            object="permission",
            id=self.state.new_id("perm"),
            name=name,
            key=key,
            description=description,
            type=kind,
            created_at=now,
            updated_at=now,
        )
        self.permissions[permission.id] = permission
        return permission

    def permission(self, permission_id: str) -> PermissionRecord:
        found = self.permissions.get(permission_id)
        if found is None:
            raise not_found("permission", permission_id)
        return found

    def _custom(self, permission_id: str) -> PermissionRecord:
        found = self.permission(permission_id)
        if found.type == "system":
            raise FakeError.one(
                403,
                "authorization_invalid",
                "Unauthorized request",
                "System permissions cannot be changed or deleted",
            )
        return found

    def create_permission(self, p: dict[str, Any]) -> PermissionRecord:
        _check_key(p["key"], "key", 3)
        if any(x.key == p["key"] for x in self.permissions.values()):
            raise identifier_exists("key")
        return self._add_permission(p["key"], p["name"], p.get("description") or "", "user")

    def update_permission(self, permission_id: str, p: dict[str, Any]) -> PermissionRecord:
        permission = self._custom(permission_id)
        key = p.get("key")
        if key is not None and key != permission.key:
            _check_key(key, "key", 3)
            if any(x.key == key for x in self.permissions.values()):
                raise identifier_exists("key")
            permission.key = key
        for field in ("name", "description"):
            if p.get(field) is not None:
                setattr(permission, field, p[field])
        self.state.users.touch(permission)
        return permission

    def delete_permission(self, permission_id: str) -> dict[str, Any]:
        permission = self._custom(permission_id)
        for role in self.records.values():
            if permission in role.permissions:
                role.permissions.remove(permission)
        del self.permissions[permission.id]
        return {"object": "permission", "id": permission.id, "deleted": True}

    # -- roles ---------------------------------------------------------------------------

    def role(self, role_id: str) -> RoleRecord:
        found = self.records.get(role_id)
        if found is None:
            raise not_found("organization role", role_id)
        return found

    def for_key(self, key: str) -> RoleRecord:
        """The role a membership or invitation names, or Clerk's 422 on ``role``."""
        found = self.by_key.get(key)
        if found is None:
            raise invalid("role", f"{key} is not a role of this instance")
        return found

    def ensure(self, key: str) -> RoleRecord:
        """The role ``key``, created without permissions if missing (seeding)."""
        found = self.by_key.get(key)
        if found is None:
            name = key.removeprefix("org:").replace("_", " ").title()
            found = self.create({"key": key, "name": name})
        return found

    def _permissions(self, ids: Iterable[str]) -> list[PermissionRecord]:
        return [self.permission(i) for i in dict.fromkeys(ids)]

    def create(
        self,
        p: dict[str, Any],
        *,
        permissions: list[PermissionRecord] | None = None,
        creator: bool = False,
    ) -> RoleRecord:
        _check_key(p["key"], "key", 2)
        if p["key"] in self.by_key:
            raise identifier_exists("key")
        if permissions is None:
            permissions = self._permissions(p.get("permissions") or ())
        now = self.state.now()
        role = RoleRecord(
            object="role",
            id=self.state.new_id("role"),
            name=p["name"],
            key=p["key"],
            description=p.get("description"),
            is_creator_eligible=creator,
            permissions=permissions,
            created_at=now,
            updated_at=now,
        )
        self.records[role.id] = role
        self.by_key[role.key] = role
        return role

    def update(self, role_id: str, p: dict[str, Any]) -> RoleRecord:
        role = self.role(role_id)
        key = p.get("key")
        permissions = None if p.get("permissions") is None else self._permissions(p["permissions"])
        if key is not None and key != role.key:
            _check_key(key, "key", 2)
            if key in self.by_key:
                raise identifier_exists("key")
            if self._holders(role.key):
                raise _in_use(role.key)
            del self.by_key[role.key]
            role.key = key
            self.by_key[key] = role
        for field in ("name", "description"):
            if p.get(field) is not None:
                setattr(role, field, p[field])
        if permissions is not None:
            role.permissions = permissions
        self.state.users.touch(role)
        return role

    def _holders(self, key: str) -> bool:
        orgs = self.state.orgs
        return any(m.role == key for members in orgs.by_org.values() for m in members.values())

    def delete(self, role_id: str) -> dict[str, Any]:
        role = self.role(role_id)
        if self._holders(role.key):
            raise _in_use(role.key)
        del self.records[role.id]
        del self.by_key[role.key]
        return {"object": "role", "id": role.id, "deleted": True}

    def search(
        self, p: dict[str, Any], found: Iterable[Any], keys: dict[str, Callable[[Any], Any]]
    ) -> list[Any]:
        query = p.get("query")
        if query:
            folded = query.casefold()
            found = [
                r
                for r in found
                if r.id == query or folded in r.name.casefold() or folded in r.key.casefold()
            ]
        return ordered(found, p.get("order_by") or "-created_at", keys)


def _in_use(key: str) -> FakeError:
    return FakeError.one(
        422,
        "organization_role_in_use",
        "role in use",
        f"The role {key} is assigned to members; assign them another role first",
    )


_ORDER: dict[str, Callable[[Any], Any]] = {"name": lambda r: r.name, "key": lambda r: r.key}


@handler("ListOrganizationRoles")
def _list_roles(st: State, p: dict[str, Any]) -> Any:
    return listed(st.roles.search(p, st.roles.records.values(), _ORDER), p)


@handler("CreateOrganizationRole")
def _create_role(st: State, p: dict[str, Any]) -> Any:
    return st.roles.create(p).json()


@handler("GetOrganizationRole")
def _get_role(st: State, p: dict[str, Any]) -> Any:
    return st.roles.role(p["organization_role_id"]).json()


@handler("UpdateOrganizationRole")
def _update_role(st: State, p: dict[str, Any]) -> Any:
    return st.roles.update(p.pop("organization_role_id"), p).json()


@handler("DeleteOrganizationRole")
def _delete_role(st: State, p: dict[str, Any]) -> Any:
    return st.roles.delete(p["organization_role_id"])


@handler("AssignPermissionToOrganizationRole")
def _assign(st: State, p: dict[str, Any]) -> Any:
    role = st.roles.role(p["organization_role_id"])
    permission = st.roles.permission(p["permission_id"])
    if permission not in role.permissions:
        role.permissions.append(permission)
        st.users.touch(role)
    return role.json()


@handler("RemovePermissionFromOrganizationRole")
def _remove(st: State, p: dict[str, Any]) -> Any:
    role = st.roles.role(p["organization_role_id"])
    permission = st.roles.permission(p["permission_id"])
    if permission not in role.permissions:
        raise not_found("permission of this role", permission.id)
    role.permissions.remove(permission)
    st.users.touch(role)
    return role.json()


@handler("ListOrganizationPermissions")
def _list_permissions(st: State, p: dict[str, Any]) -> Any:
    return listed(st.roles.search(p, st.roles.permissions.values(), _ORDER), p)


@handler("CreateOrganizationPermission")
def _create_permission(st: State, p: dict[str, Any]) -> Any:
    return st.roles.create_permission(p).json()


@handler("GetOrganizationPermission")
def _get_permission(st: State, p: dict[str, Any]) -> Any:
    return st.roles.permission(p["permission_id"]).json()


@handler("UpdateOrganizationPermission")
def _update_permission(st: State, p: dict[str, Any]) -> Any:
    return st.roles.update_permission(p.pop("permission_id"), p).json()


@handler("DeleteOrganizationPermission")
def _delete_permission(st: State, p: dict[str, Any]) -> Any:
    return st.roles.delete_permission(p["permission_id"])
