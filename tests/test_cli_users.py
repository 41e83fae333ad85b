"""clerk-async users and organizations: list, get, update, merge-metadata, update-many.

``main(argv)`` runs in-process against a FakeClerk serving from its own thread; the
requests it received say what the command sent.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from clerk_async.cli import main
from clerk_async.testing import FakeClerk
from clerk_async.testing._app import RecordedRequest

KEY = "sk_test_cli_users_0123456789"


@pytest.fixture(scope="module")
def server() -> Iterator[FakeClerk]:
    with FakeClerk(KEY, rate_limit=None) as fake:
        yield fake


@pytest.fixture
def fake(server: FakeClerk) -> FakeClerk:
    server.reset()
    return server


def run(fake: FakeClerk, *argv: str) -> int:
    return main(["--secret-key", KEY, "--api-url", fake.env["CLERK_API_URL"], *argv])


def users(fake: FakeClerk, n: int) -> list[str]:
    """``n`` users created through the API (the CLI's commands need ids that exist)."""

    async def create() -> list[str]:
        async with fake.client() as clerk:
            return [
                (await clerk.users.create(email_address=[f"u{i}@example.com"])).id for i in range(n)
            ]

    ids = asyncio.run(create())
    fake.requests.clear()
    return ids


def organizations(fake: FakeClerk, n: int) -> list[str]:
    async def create() -> list[str]:
        async with fake.client() as clerk:
            return [(await clerk.organizations.create(name=f"Org {i}")).id for i in range(n)]

    ids = asyncio.run(create())
    fake.requests.clear()
    return ids


def sent(fake: FakeClerk, method: str) -> list[RecordedRequest]:
    return [r for r in fake.requests if r.method == method]


def write_jsonl(path: Path, items: list[Any]) -> Path:
    path.write_text("".join(json.dumps(item) + "\n" for item in items), encoding="utf-8")
    return path


def test_users_list_with_filters_and_json(
    fake: FakeClerk, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run(
        fake,
        "--json",
        "users",
        "list",
        "--limit",
        "5",
        "--email-address",
        "a@example.com",
        "--email-address",
        "b@example.com",
        "--organization-id",
        "org_1",
        "--order-by=-created_at",
    )
    assert code == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1  # one compact document
    assert set(json.loads(out)) == {"data", "total_count"}
    (request,) = sent(fake, "GET")
    assert request.path == "/v1/users"
    # (the recorded query keeps one value per key)
    assert request.query["email_address"] in ("a@example.com", "b@example.com")
    assert (request.query["limit"], request.query["order_by"]) == ("5", "-created_at")
    assert request.query["organization_id"] == "org_1"


def test_users_get_update_and_merge_metadata(
    fake: FakeClerk, capsys: pytest.CaptureFixture[str]
) -> None:
    (uid,) = users(fake, 1)
    assert run(fake, "users", "get", uid) == 0
    assert (
        run(fake, "users", "update", uid, "--first-name", "Ada", "--fields", '{"locale": "en-GB"}')
        == 0
    )
    merge_args = ("--public", '{"plan": "pro"}', "--private", '{"trial": null}')
    assert run(fake, "users", "merge-metadata", uid, *merge_args) == 0
    (update, merge) = sent(fake, "PATCH")
    assert (update.path, update.json) == (
        f"/v1/users/{uid}",
        {"first_name": "Ada", "locale": "en-GB"},
    )
    assert merge.path == f"/v1/users/{uid}/metadata"
    assert merge.json == {"public_metadata": {"plan": "pro"}, "private_metadata": {"trial": None}}
    assert sent(fake, "GET")[0].path == f"/v1/users/{uid}"
    capsys.readouterr()
    assert run(fake, "users", "update", uid) == 2  # nothing to change
    assert "nothing to change" in capsys.readouterr().err
    assert run(fake, "users", "merge-metadata", uid, "--public", "[1]") == 2  # not an object


def test_organizations_commands(fake: FakeClerk) -> None:
    (org,) = organizations(fake, 1)
    listing = ("--query", "org", "--user-id", "user_1", "--include-members-count")
    assert run(fake, "organizations", "list", *listing) == 0
    assert run(fake, "organizations", "get", org) == 0
    changes = ("--name", "Acme Inc", "--max-allowed-memberships", "50")
    assert run(fake, "organizations", "update", org, *changes) == 0
    assert run(fake, "organizations", "merge-metadata", org, "--public", '{"seats": 10}') == 0
    (listed, got) = sent(fake, "GET")
    assert listed.path == "/v1/organizations"
    assert (listed.query["query"], listed.query["include_members_count"]) == ("org", "true")
    assert got.path == f"/v1/organizations/{org}"
    (update, merge) = sent(fake, "PATCH")
    assert update.json == {"name": "Acme Inc", "max_allowed_memberships": 50}
    assert (merge.path, merge.json) == (
        f"/v1/organizations/{org}/metadata",
        {"public_metadata": {"seats": 10}},
    )


def test_users_update_many_metadata_with_report_and_resume(
    fake: FakeClerk, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = users(fake, 4)
    lines = [
        {"user_id": ids[0], "public_metadata": {"plan": "pro"}},
        {"userId": ids[1], "publicMetadata": {"plan": "team"}},  # camelCase too
        {"user_id": ids[2], "public_metadata": "not an object"},  # fails alone
        {"user_id": ids[3], "private_metadata": {"crm": 4}},
    ]
    source = write_jsonl(tmp_path / "plans.jsonl", lines)
    report = tmp_path / "failed.jsonl"
    options = ("--metadata", "--report", str(report), "--no-progress")
    assert run(fake, "--json", "users", "update-many", str(source), *options) == 1
    summary = json.loads(capsys.readouterr().out)
    assert (summary["succeeded"], summary["failed"], summary["read_to_line"]) == (3, 1, 4)
    patches = sent(fake, "PATCH")
    expected = sorted(f"/v1/users/{ids[i]}/metadata" for i in (0, 1, 3))
    assert sorted(r.path for r in patches) == expected
    failed, run_line = [json.loads(x) for x in report.read_text().splitlines()]
    assert (failed["user_id"], failed["_line"]) == (ids[2], 3)
    assert failed["_error"]["code"] == "invalid_input"
    assert run_line["_run"]["read_to_line"] == 4

    # Fix the line in the report, resume: the fixed item, then the rest of the file (none).
    fixed = {**failed, "public_metadata": {"plan": "free"}}
    write_jsonl(report, [fixed, run_line])
    fake.requests.clear()
    again = ("--metadata", "--resume", str(report), "--report", str(tmp_path / "again.jsonl"))
    assert run(fake, "users", "update-many", str(source), *again, "--no-progress") == 0
    (patch,) = sent(fake, "PATCH")
    assert (patch.path, patch.json) == (
        f"/v1/users/{ids[2]}/metadata",
        {"public_metadata": {"plan": "free"}},
    )


def test_organizations_update_many_without_metadata_calls_update(
    fake: FakeClerk, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = organizations(fake, 20)
    lines = [{"organization_id": org, "max_allowed_memberships": n} for n, org in enumerate(ids)]
    source = write_jsonl(tmp_path / "orgs.jsonl", lines)
    options = ("--concurrency", "4", "--no-progress")
    assert run(fake, "organizations", "update-many", str(source), *options) == 0
    assert "update-many: 20 succeeded, 0 failed" in capsys.readouterr().out
    patches = sent(fake, "PATCH")
    assert sorted(r.path for r in patches) == sorted(f"/v1/organizations/{org}" for org in ids)
    assert sorted(r.json["max_allowed_memberships"] for r in patches) == list(range(20))


def test_users_update_many_reads_json_lines_only(
    fake: FakeClerk, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv = tmp_path / "users.csv"
    csv.write_text("user_id,first_name\nuser_1,Ada\n", encoding="utf-8")
    assert run(fake, "users", "update-many", str(csv)) == 2
    assert "reads JSON Lines only" in capsys.readouterr().err
    assert run(fake, "users", "update-many", str(csv), "--format", "csv") == 2  # not a choice


def test_the_command_end_to_end_as_a_subprocess(server: FakeClerk, tmp_path: Path) -> None:
    """``python -m clerk_async`` in its own process, the key and URL from the environment,
    against FakeClerk over loopback HTTP: users and organizations, list/get/update/merge,
    and a metadata migration from JSON Lines that stops at a bad line and is resumed."""
    import os
    import subprocess
    import sys

    fake = server
    fake.reset()
    ada = fake.add_user("ada@example.com", first_name="Ada")
    grace = fake.add_user("grace@example.com", first_name="Grace")
    org = fake.add_organization("Acme", members={ada.id: "org:admin"})
    env = {**os.environ, "CLERK_SECRET_KEY": KEY, "CLERK_API_URL": fake.env["CLERK_API_URL"]}
    env.pop("CLERK_LOG", None)

    def cli(*argv: str) -> tuple[int, Any]:
        done = subprocess.run(
            [sys.executable, "-m", "clerk_async", "--json", *argv],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )
        return done.returncode, json.loads(done.stdout)

    # What the command prints is Clerk's JSON: the same as FakeClerk's own record.
    assert cli("users", "get", ada.id) == (0, fake.users[ada.id].json())
    code, page = cli("users", "list", "--email-address", "grace@example.com", "--limit", "5")
    assert (code, [u["id"] for u in page["data"]]) == (0, [grace.id])
    code, user = cli("users", "merge-metadata", ada.id, "--public", '{"plan": "pro", "seats": 3}')
    assert user["public_metadata"] == {"plan": "pro", "seats": 3}
    assert (code, fake.users[ada.id].public_metadata) == (0, {"plan": "pro", "seats": 3})
    code, found = cli("organizations", "update", org.id, "--name", "Acme Inc")
    assert (code, found["name"], cli("organizations", "get", org.id)[1]) == (
        0,
        "Acme Inc",
        fake.organizations[org.id].json(),
    )

    # The migration: line 2 names no user that exists, line 3 is not JSON.
    source = tmp_path / "plans.jsonl"
    source.write_text(
        json.dumps({"user_id": ada.id, "public_metadata": {"plan": "team"}})
        + "\n"
        + json.dumps({"user_id": "user_gone", "public_metadata": {"plan": "x"}})
        + '\n{"user_id": \n'
        + json.dumps({"userId": grace.id, "publicMetadata": {"plan": "pro"}})
        + "\n",
        encoding="utf-8",
    )
    code, summary = cli("users", "update-many", "plans.jsonl", "--metadata", "--report", "r1.jsonl")
    assert code == 5  # malformed lines were skipped
    assert (summary["succeeded"], summary["failed"], summary["read_to_line"]) == (2, 1, 4)
    assert fake.users[ada.id].public_metadata == {"plan": "team", "seats": 3}  # merged
    assert fake.users[grace.id].public_metadata == {"plan": "pro"}
    report = [json.loads(line) for line in (tmp_path / "r1.jsonl").read_text().splitlines()]
    assert [(r.get("_line"), r.get("_error", {}).get("code")) for r in report] == [
        (3, "invalid_line"),
        (2, "resource_not_found"),
        (None, None),  # the _run line
    ]
    # Fix the failed item in the report (the user now exists), drop the bad line, resume.
    nova = fake.add_user("nova@example.com")
    fixed = [{**report[1], "user_id": nova.id}, report[2]]
    (tmp_path / "r1.jsonl").write_text("".join(json.dumps(r) + "\n" for r in fixed))
    code, summary = cli(
        "users", "update-many", "plans.jsonl", "--metadata", "--resume", "r1.jsonl",
        "--report", "r2.jsonl",
    )  # fmt: skip
    assert (code, summary["succeeded"], summary["failed"]) == (0, 1, 0)
    assert fake.users[nova.id].public_metadata == {"plan": "x"}

    orgs = tmp_path / "orgs.jsonl"
    orgs.write_text(json.dumps({"organization_id": org.id, "max_allowed_memberships": 9}) + "\n")
    code, summary = cli("organizations", "update-many", "orgs.jsonl")
    assert (code, summary["succeeded"], fake.organizations[org.id].max_allowed_memberships) == (
        0,
        1,
        9,
    )
