"""Clerk's own JS SDK (``@clerk/backend``, an npm devDependency) against FakeClerk over HTTP.

``tests/js/lifecycle.mjs`` drives users, organizations, the 7 membership methods and
invitations through ``createClerkClient({apiUrl})`` and prints what the SDK gave back, step
by step; this test runs it with ``node`` against a FakeClerk served from its own thread and
checks every step, and that the state behaves as Clerk's (what was created comes back, an
update shows in the next read and the lists, a deleted user or organization is a 404). The
SDK deserializes every answer into its own classes, so an answer
missing what Clerk always sends (a membership's ``public_user_data`` crashed all 7
membership methods) fails here even where the spec calls the field optional.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from clerk_async.testing import FakeClerk

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "tests" / "js" / "lifecycle.mjs"
NODE = shutil.which("node")
SDK = ROOT / "node_modules" / "@clerk" / "backend" / "package.json"

pytestmark = pytest.mark.skipif(
    NODE is None or not SDK.exists(), reason="needs node and `make node` (@clerk/backend)"
)

MEMBERSHIP_METHODS = [
    "organizations.createOrganizationMembership",
    "organizations.getOrganizationMembershipList",
    "organizations.getInstanceOrganizationMembershipList",
    "organizations.updateOrganizationMembership",
    "organizations.updateOrganizationMembershipMetadata",
    "users.getOrganizationMembershipList",
    "organizations.deleteOrganizationMembership",
]


def run_lifecycles(fake: FakeClerk) -> dict[str, dict[str, Any]]:
    """Each step of lifecycle.mjs against ``fake``, by name."""
    assert NODE is not None
    env = {
        **os.environ,
        "CLERK_API_URL": fake.url.removesuffix("/v1"),  # the SDK adds /v1 itself
        "CLERK_SECRET_KEY": fake.secret_key,
    }
    done = subprocess.run(
        [NODE, str(SCRIPT)], env=env, capture_output=True, text=True, cwd=ROOT, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    steps = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    return {s["step"]: s for s in steps}


@pytest.fixture(scope="module")
def steps() -> dict[str, dict[str, Any]]:
    with FakeClerk(rate_limit=None, seed=19) as fake:
        return run_lifecycles(fake)


def test_every_step_of_the_lifecycles_runs_through_the_js_sdk(
    steps: dict[str, dict[str, Any]],
) -> None:
    assert len(steps) >= 28
    failed = {
        name: (s.get("status"), s.get("error", "")[:200])
        for name, s in steps.items()
        if not s["ok"] and not name.endswith("(deleted)")
    }
    assert failed == {}


def value(steps: dict[str, dict[str, Any]], name: str) -> Any:
    assert steps[name]["ok"], steps[name]
    return steps[name]["value"]


def test_a_user_lives_as_at_clerk(steps: dict[str, dict[str, Any]]) -> None:
    created = value(steps, "users.createUser")
    assert created["emails"] == ["ada@example.com"]
    assert created["primaryEmail"] == "ada@example.com"
    assert value(steps, "users.getUser") == created  # what was created comes back
    updated = value(steps, "users.updateUser")
    assert (updated["id"], updated["firstName"]) == (created["id"], "Augusta")
    assert value(steps, "users.updateUserMetadata")["publicMetadata"] == {"plan": "pro"}
    found = value(steps, "users.getUserList")
    assert found["totalCount"] == 1
    assert [u["id"] for u in found["data"]] == [created["id"]]
    assert found["data"][0]["firstName"] == "Augusta"
    assert value(steps, "users.getCount") == 1  # bob is created after the count
    assert value(steps, "users.deleteUser") == {"id": created["id"], "deleted": True}
    gone = steps["users.getUser(deleted)"]
    assert (gone["ok"], gone["status"], gone["code"]) == (False, 404, "resource_not_found")


def test_an_organization_and_its_memberships_live_as_at_clerk(
    steps: dict[str, dict[str, Any]],
) -> None:
    ada = value(steps, "users.createUser")["id"]
    bob = value(steps, "users.createUser(bob)")["id"]
    acme = value(steps, "organizations.createOrganization")
    assert (acme["name"], acme["membersCount"]) == ("Acme", 1)  # its creator is a member
    assert value(steps, "organizations.getOrganization") == acme
    assert value(steps, "organizations.updateOrganization")["name"] == "Acme Corp"
    listed = value(steps, "organizations.getOrganizationList")
    assert [o["id"] for o in listed["data"]] == [acme["id"]]
    joined = value(steps, "organizations.createOrganizationMembership")
    assert (joined["userId"], joined["role"]) == (bob, "org:member")
    members = value(steps, "organizations.getOrganizationMembershipList")
    assert members["totalCount"] == 2
    assert {(m["userId"], m["role"]) for m in members["data"]} == {
        (ada, "org:admin"),
        (bob, "org:member"),
    }
    promoted = value(steps, "organizations.updateOrganizationMembership")
    assert (promoted["id"], promoted["role"]) == (joined["id"], "org:admin")
    tagged = value(steps, "organizations.updateOrganizationMembershipMetadata")
    assert tagged["publicMetadata"] == {"team": "core"}
    bobs = value(steps, "users.getOrganizationMembershipList")
    assert [m["id"] for m in bobs["data"]] == [joined["id"]]
    assert value(steps, "organizations.deleteOrganizationMembership")["id"] == joined["id"]
    assert value(steps, "organizations.deleteOrganization") == {"id": acme["id"], "deleted": True}
    gone = steps["organizations.getOrganization(deleted)"]
    assert (gone["ok"], gone["status"]) == (False, 404)


def test_invitations_live_as_at_clerk(steps: dict[str, dict[str, Any]]) -> None:
    invited = value(steps, "invitations.createInvitation")
    assert (invited["emailAddress"], invited["status"]) == ("cy@example.com", "pending")
    # The spec answers GET /invitations as a plain array: the SDK gives that array back.
    assert [i["id"] for i in value(steps, "invitations.getInvitationList")["data"]] == [
        invited["id"]
    ]
    assert value(steps, "invitations.revokeInvitation")["status"] == "revoked"
    org_invited = value(steps, "organizations.createOrganizationInvitation")
    assert (org_invited["emailAddress"], org_invited["status"]) == ("dee@example.com", "pending")
    assert value(steps, "organizations.getOrganizationInvitation") == org_invited
    listed = value(steps, "organizations.getOrganizationInvitationList")
    assert [i["id"] for i in listed["data"]] == [org_invited["id"]]
    assert value(steps, "organizations.revokeOrganizationInvitation")["status"] == "revoked"


def test_the_7_membership_methods_read_public_user_data(
    steps: dict[str, dict[str, Any]],
) -> None:
    for name in MEMBERSHIP_METHODS:
        assert steps[name]["ok"], steps[name]
        value = steps[name]["value"]
        for membership in value.get("data", [value]):
            assert membership["userId"].startswith("user_"), (name, membership)
            assert membership["organizationId"].startswith("org_"), (name, membership)


def test_users_come_back_realistic(steps: dict[str, dict[str, Any]]) -> None:
    created = steps["users.createUser"]["value"]
    assert created["banned"] is False
    assert created["locked"] is False
    assert created["verification"] == "verified"
    assert all("@" in e for e in created["emails"])
    assert created["primaryEmail"] is not None  # primary_email_address_id names one of them
