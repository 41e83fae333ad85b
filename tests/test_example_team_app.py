"""examples/team_app.py: a FastAPI service on users and organizations, under FastAPI's
TestClient, in front of a FakeClerk that keeps the users' and organizations' state."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from fastapi.testclient import TestClient

from clerk_async.testing import FakeClerk

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "team_app.py"


def _load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("team_app_example", EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


example = _load_example()


def test_team_app(fake_clerk_sync: FakeClerk) -> None:
    fake = fake_clerk_sync
    ada = fake.add_user("ada@example.com", first_name="Ada")
    grace = fake.add_user("grace@example.com", first_name="Grace")
    acme = fake.add_organization("Acme", members={ada.id: "org:admin", grace.id: "org:member"})
    loner = fake.add_user("alan@example.com", first_name="Alan")

    def signed_in(user_id: str, org_id: str | None = acme.id) -> dict[str, str]:
        return {"Authorization": f"Bearer {fake.session_token(user_id, org_id=org_id)}"}

    with fake.setenv(), TestClient(example.app) as client:
        assert client.get("/me").status_code == 401
        answer = client.put("/me/plan", params={"plan": "pro"}, headers=signed_in(grace.id))
        assert answer.json() == {"plan": "pro"}
        me = client.get("/me", headers=signed_in(grace.id)).json()
        assert me == {"id": grace.id, "first_name": "Grace", "plan": "pro"}

        team = client.get("/team", headers=signed_in(grace.id)).json()
        assert team == [
            {"user_id": ada.id, "role": "org:admin"},
            {"user_id": grace.id, "role": "org:member"},
        ]
        assert client.get("/team", headers=signed_in(loner.id, None)).status_code == 403

        invite = {"email_address": "alan@example.com"}
        as_member = client.post("/team/invitations", json=invite, headers=signed_in(grace.id))
        assert as_member.status_code == 403
        as_admin = client.post("/team/invitations", json=invite, headers=signed_in(ada.id))
        assert as_admin.status_code == 201
        assert as_admin.json()["status"] == "pending"

        plans = [
            {"user_id": ada.id, "plan": "team"},
            {"user_id": "user_missing", "plan": "team"},  # a 404 from Clerk: reported, no stop
            {"user_id": grace.id, "plan": "team"},
        ]
        summary = client.post("/team/plans", json=plans, headers=signed_in(ada.id)).json()
        assert (summary["total"], summary["failed"]) == (3, 1)
        assert summary["failures"][0]["index"] == 1

    assert fake.users[ada.id].public_metadata == {"plan": "team"}
    assert fake.users[grace.id].public_metadata == {"plan": "team"}
    (invited,) = [r for r in fake.requests if r.path.endswith("/invitations")]
    assert (invited.method, invited.path) == ("POST", f"/v1/organizations/{acme.id}/invitations")
    assert invited.json["email_address"] == "alan@example.com"
