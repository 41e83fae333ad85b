"""Clerk's own JS SDK (``@clerk/backend``, an npm devDependency) against FakeClerk over HTTP.

``tests/js/lifecycle.mjs`` drives users, organizations, the 7 membership methods and
invitations through ``createClerkClient({apiUrl})`` and prints what the SDK gave back, step
by step; this test runs it with ``node`` against a FakeClerk served from its own thread and
checks every step. The SDK deserializes every answer into its own classes, so an answer
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
    assert steps["users.getCount"]["value"] >= 1
