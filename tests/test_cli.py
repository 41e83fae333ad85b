"""The clerk-async command, over real HTTP against a FakeClerk.

``main(argv)`` runs in-process (it calls ``asyncio.run``, so these tests are sync and the
FakeClerk runs on its own event loop in a thread); a few runs go through a subprocess to
prove the entry point, the environment and Ctrl-C.
"""

from __future__ import annotations

import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from clerk_async.cli import main
from clerk_async.testing import FakeClerk, Faults, MachineRecord

KEY = "sk_test_cli_0123456789abcdef"
USER_ID = "user_2xhFjEI5X2qWRvtV13BzSj8H6Dk"
ROOT = Path(__file__).resolve().parent.parent
T = TypeVar("T")


class ThreadedFake:
    """A FakeClerk serving from its own thread and loop (``with FakeClerk()``), for sync tests."""

    def __init__(self, fake: FakeClerk) -> None:
        self.fake = fake

    @property
    def api_url(self) -> str:
        return self.fake.env["CLERK_API_URL"]

    def add(self, name: str, ttl: int = 3600) -> MachineRecord:
        return self.fake.add_machine(name, default_token_ttl=ttl)

    def machine(self, machine_id: str) -> MachineRecord:
        return self.fake.machines[machine_id]

    def exists(self, machine_id: str) -> bool:
        return machine_id in self.fake.machines


@pytest.fixture(scope="module")
def server() -> Iterator[ThreadedFake]:
    with FakeClerk(KEY, rate_limit=None) as fake:
        yield ThreadedFake(fake)


@pytest.fixture
def fake(server: ThreadedFake) -> Iterator[ThreadedFake]:
    server.fake.reset()
    yield server
    server.fake.faults = Faults()


def run(fake: ThreadedFake, *argv: str) -> int:
    return main(["--secret-key", KEY, "--api-url", fake.api_url, *argv])


def out_json(capsys: pytest.CaptureFixture[str]) -> Any:
    return json.loads(capsys.readouterr().out)


def write_jsonl(path: Path, items: list[Any]) -> Path:
    path.write_text("".join(json.dumps(item) + "\n" for item in items), encoding="utf-8")
    return path


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def read_report(path: Path) -> list[dict[str, Any]]:
    """The items of a --report, without its last line (``_run``: how far the input was read)."""
    lines = read_jsonl(path)
    assert set(lines[-1]) == {"_run"}
    return lines[:-1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


# --- machines list/get/create/update/delete ----------------------------------------------


def test_create_get_list_update_delete(
    fake: ThreadedFake, capsys: pytest.CaptureFixture[str]
) -> None:
    other = fake.add("other")
    assert run(fake, "machines", "create", "--name", "worker", "--default-token-ttl", "60",
               "--scoped-machine", other.id) == 0  # fmt: skip
    created = out_json(capsys)
    assert created["name"] == "worker"
    assert created["default_token_ttl"] == 60
    assert [m["id"] for m in created["scoped_machines"]] == [other.id]
    assert "secret_key" not in created  # never printed unless asked

    machine_id = created["id"]
    assert run(fake, "machines", "get", machine_id) == 0
    assert out_json(capsys)["name"] == "worker"

    assert run(fake, "machines", "list", "--limit", "1", "--order-by", "name") == 0
    page = out_json(capsys)
    assert page["total_count"] == 2
    assert [m["name"] for m in page["data"]] == ["other"]
    assert run(fake, "machines", "list", "--query", "work") == 0
    assert [m["id"] for m in out_json(capsys)["data"]] == [machine_id]

    assert run(fake, "machines", "update", machine_id, "--name", "renamed") == 0
    updated = out_json(capsys)
    assert (updated["name"], updated["default_token_ttl"]) == ("renamed", 60)
    assert fake.machine(machine_id).name == "renamed"

    assert run(fake, "machines", "delete", machine_id) == 0
    assert out_json(capsys) == {"id": machine_id, "object": "machine", "deleted": True}
    assert not fake.exists(machine_id)

    assert run(fake, "machines", "get", machine_id) == 1  # 404: the call failed
    err = capsys.readouterr().err
    assert "404" in err
    assert "resource_not_found" in err


def test_create_shows_the_secret_only_when_asked(
    fake: ThreadedFake, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(fake, "machines", "create", "--name", "m", "--show-secret") == 0
    created = out_json(capsys)
    assert created["secret_key"] == fake.machine(created["id"]).secret_key


def test_usage_errors_exit_2(
    fake: ThreadedFake, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CLERK_SECRET_KEY", raising=False)
    assert main(["machines", "get", "mch_1"]) == 2
    assert "no secret key" in capsys.readouterr().err
    assert run(fake, "machines", "update", "mch_1") == 2  # nothing to change
    assert "nothing to change" in capsys.readouterr().err
    assert run(fake, "machines", "update", "mch_1", "--name", "") == 2  # refused before I/O
    assert "name" in capsys.readouterr().err
    assert run(fake, "--rate-limit", "fast", "machines", "list") == 2
    assert "N/T" in capsys.readouterr().err
    assert main(["machines"]) == 2
    assert fake.fake.stats.total_requests == 0


def test_bad_key_exits_3(fake: ThreadedFake, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--secret-key", "sk_test_wrong", "--api-url", fake.api_url, "machines", "list"]
    assert main(argv) == 3
    assert "401" in capsys.readouterr().err


def test_unreachable_api_exits_4(capsys: pytest.CaptureFixture[str]) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    argv = ["--secret-key", KEY, "--api-url", url, "--max-retries", "0", "machines", "get", "m"]
    assert main(argv) == 4
    assert "cannot reach the API" in capsys.readouterr().err


# --- update-many --------------------------------------------------------------------------


def test_update_many_jsonl(
    fake: ThreadedFake, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b, c = fake.add("a"), fake.add("b"), fake.add("c", ttl=100)
    source = write_jsonl(
        tmp_path / "in.jsonl",
        [
            {"machineId": a.id, "name": "a2", "defaultTokenTtl": 60},  # camelCase
            {"machine_id": b.id, "name": "b2", "_note": "ignored"},  # snake_case, _ key
            {"machine_id": "mch_missing", "name": "x"},  # 404
            {"machine_id": c.id, "name": ""},  # refused before any request
        ],
    )
    with source.open("a") as f:
        f.write("\n")  # a blank line is skipped
    report = tmp_path / "failures.jsonl"
    assert run(fake, "machines", "update-many", str(source), "--report", str(report)) == 1
    assert "2 succeeded, 2 failed" in capsys.readouterr().out
    assert (fake.machine(a.id).name, fake.machine(a.id).default_token_ttl) == ("a2", 60)
    assert fake.machine(b.id).name == "b2"
    assert fake.machine(c.id).name == "c"

    failures = {line["machine_id"]: line for line in read_report(report)}
    assert failures.keys() == {c.id, "mch_missing"}
    bad_name, missing = failures[c.id], failures["mch_missing"]
    assert bad_name["name"] == ""
    assert bad_name["_error"]["code"] == "invalid_input"
    assert bad_name["_error"]["status"] is None
    assert missing["_error"]["status"] == 404
    assert missing["_error"]["code"] == "resource_not_found"
    assert missing["_error"]["trace_id"]


def test_update_many_csv(fake: ThreadedFake, tmp_path: Path) -> None:
    a, b, c = fake.add("a", ttl=100), fake.add("b", ttl=100), fake.add("c", ttl=100)
    source = tmp_path / "in.csv"
    source.write_text(
        "machine_id,name,default_token_ttl,_comment\n"
        f"{a.id},a2,60,\n"
        f"{b.id},,70,ttl only\n"  # an empty cell is not given
        f'{c.id},"c, the third",,\n',
        encoding="utf-8",
    )
    assert run(fake, "machines", "update-many", str(source), "--concurrency", "2") == 0
    got = {m.id: (m.name, m.default_token_ttl) for m in map(fake.machine, (a.id, b.id, c.id))}
    assert got == {a.id: ("a2", 60), b.id: ("b", 70), c.id: ("c, the third", 100)}


def test_the_report_fed_back_as_input(
    fake: ThreadedFake, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    machines = [fake.add(f"m{i}") for i in range(40)]
    source = write_jsonl(
        tmp_path / "in.jsonl", [{"machineId": m.id, "name": f"{m.name}-v2"} for m in machines]
    )
    # Server trouble before the write, and no retries: some updates fail with a 5xx.
    fake.fake.faults = Faults(seed=3, error_rate=0.5, error_after_apply_fraction=0.0)
    report = tmp_path / "failures.jsonl"
    argv = ["--max-retries", "0", "machines", "update-many", str(source), "--report", str(report)]
    assert run(fake, *argv) == 1
    failures = read_report(report)
    assert 0 < len(failures) < 40
    assert all(f["_error"]["status"] >= 500 for f in failures)
    capsys.readouterr()

    fake.fake.faults = Faults()  # the trouble is over: feed the failures back
    again = tmp_path / "again.jsonl"
    assert run(fake, "machines", "update-many", str(report), "--report", str(again)) == 0
    assert f"{len(failures)} succeeded, 0 failed" in capsys.readouterr().out
    assert read_report(again) == []
    assert all(fake.machine(m.id).name == f"m{i}-v2" for i, m in enumerate(machines))


def test_a_malformed_line_is_reported_and_skipped_with_exit_5(
    fake: ThreadedFake, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good, later = fake.add("good"), fake.add("later")
    source = tmp_path / "in.jsonl"
    lines = [
        json.dumps({"machine_id": good.id, "name": "good2"}),
        json.dumps({"machine_id": "mch_missing", "name": "x"}),
        '{"machine_id": "mch_x", "name": ',  # line 3: not JSON
        "[1, 2]",  # line 4: not an object
        json.dumps({"machine_id": later.id, "name": "later2"}),  # still applied
    ]
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = tmp_path / "failures.jsonl"
    assert run(fake, "machines", "update-many", str(source), "--report", str(report)) == 5
    captured = capsys.readouterr()
    assert f"{source}:3: invalid JSON" in captured.err
    assert f"{source}:4: expected a JSON object, got list (skipped)" in captured.err
    assert "2 succeeded, 1 failed in" in captured.out
    assert "2 malformed lines skipped; 3 written to" in captured.out
    assert (fake.machine(good.id).name, fake.machine(later.id).name) == ("good2", "later2")
    items = sorted(read_report(report), key=lambda item: item["_line"])
    assert [(i["_line"], i.get("_input"), i["_error"]["code"]) for i in items] == [
        (2, None, "resource_not_found"),
        (3, lines[2], "invalid_line"),
        (4, "[1, 2]", "invalid_line"),
    ]


def test_malformed_csv_rows_and_bytes_are_skipped(
    fake: ThreadedFake, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = fake.add("a"), fake.add("b")
    source = tmp_path / "in.csv"
    source.write_bytes(
        f"machine_id,name\n{a.id},a2\nmch_1,x,y\n\xff\xfe\n{b.id},b2\n".encode("latin-1")
    )
    assert run(fake, "machines", "update-many", str(source)) == 5
    err = capsys.readouterr().err
    assert "in.csv:3: expected 2 cells, found 3 (skipped)" in err
    assert "in.csv:4: not UTF-8 text" in err
    assert (fake.machine(a.id).name, fake.machine(b.id).name) == ("a2", "b2")


def test_stdin_defaults_to_json_lines(
    fake: ThreadedFake, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    machine = fake.add("piped")
    data = json.dumps({"machineId": machine.id, "name": "from-stdin"}) + "\n"
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data.encode())))
    assert run(fake, "machines", "update-many", "-") == 0
    assert "1 succeeded, 0 failed" in capsys.readouterr().out
    assert fake.machine(machine.id).name == "from-stdin"


def test_resume_continues_after_a_stop(
    fake: ThreadedFake, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    machines = [fake.add(f"m{i}") for i in range(30)]
    items = [{"machine_id": m.id, "name": f"m{i}-v2"} for i, m in enumerate(machines)]
    items[3]["machine_id"] = "mch_missing"  # fails with 404: goes to the report
    source = write_jsonl(tmp_path / "in.jsonl", items)
    report = tmp_path / "first.jsonl"
    # --fail-fast stops the run at the 404, part of the way through the file.
    argv = ["machines", "update-many", str(source), "--concurrency", "1", "--fail-fast"]
    assert run(fake, *argv, "--report", str(report)) == 1
    err = capsys.readouterr().err
    assert f"input read up to line 4; continue with --resume {report}" in err
    first = read_jsonl(report)
    assert first[-1] == {"_run": {"input": str(source.resolve()), "read_to_line": 4}}
    assert [m.name for m in machines[4:]] == [f"m{i}" for i in range(4, 30)]  # untouched

    # Fix the failed line in the report, then resume: it, then the file after line 4.
    failed = read_report(report)
    assert [f["_line"] for f in failed] == [4]
    fixed = [{**f, "machine_id": machines[3].id} for f in failed]
    report.write_text("".join(json.dumps(x) + "\n" for x in [*fixed, first[-1]]))
    second = tmp_path / "second.jsonl"
    resume = ["machines", "update-many", str(source), "--resume", str(report)]
    assert run(fake, *resume, "--report", str(second), "--json") == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["succeeded"] == 27  # the fixed line, then lines 5..30
    assert summary["read_to_line"] == 30
    assert all(m.name == f"m{i}-v2" for i, m in enumerate(machines))
    assert read_report(second) == []

    # A report of another file, or --report over the one being resumed, is refused.
    other = write_jsonl(tmp_path / "other.jsonl", items)
    assert run(fake, "machines", "update-many", str(other), "--resume", str(report)) == 2
    assert "not " + str(other.resolve()) in capsys.readouterr().err
    assert run(fake, *resume, "--report", str(report)) == 2
    assert "would overwrite --resume" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("in.csv", "id,name\nmch_1,x\n", "in.csv:1: unknown column 'id'"),
        ("in.csv", "name\nx\n", "in.csv:1: the header has no machine_id column"),
        ("in.csv", b"machine_id,\xffname\n", "in.csv:1: invalid CSV header: not UTF-8"),
        ("in.txt", "", "cannot tell the format"),
    ],
)
def test_bad_input_files_exit_2(
    fake: ThreadedFake,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    name: str,
    content: str | bytes,
    message: str,
) -> None:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    assert run(fake, "machines", "update-many", str(path)) == 2
    assert message in capsys.readouterr().err
    assert fake.fake.stats.total_requests == 0


def test_missing_file_and_report_over_input_exit_2(
    fake: ThreadedFake, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(fake, "machines", "update-many", str(tmp_path / "nope.jsonl")) == 2
    assert "No such file" in capsys.readouterr().err
    source = write_jsonl(tmp_path / "in.jsonl", [{"machine_id": "mch_1", "name": "x"}])
    assert run(fake, "machines", "update-many", str(source), "--report", str(source)) == 2
    assert "would overwrite the input" in capsys.readouterr().err
    assert read_jsonl(source) == [{"machine_id": "mch_1", "name": "x"}]


def test_update_many_with_a_bad_key_stops_early_with_exit_3(
    fake: ThreadedFake, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    items = [{"machine_id": f"mch_{i}", "name": "x"} for i in range(500)]
    source = write_jsonl(tmp_path / "in.jsonl", items)
    report = tmp_path / "failures.jsonl"
    argv = ["--secret-key", "sk_test_wrong", "--api-url", fake.api_url, "machines"]
    argv += ["update-many", str(source), "--concurrency", "4", "--report", str(report)]
    assert main(argv) == 3
    assert "401" in capsys.readouterr().err
    assert fake.fake.stats.statuses[401] < 50  # stopped early
    assert len(read_report(report)) < 50


def test_update_many_unreachable_exits_4(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write_jsonl(tmp_path / "in.jsonl", [{"machine_id": "mch_1", "name": "x"}] * 100)
    url = f"http://127.0.0.1:{free_port()}"
    argv = ["--secret-key", KEY, "--api-url", url, "--max-retries", "0", "machines"]
    assert main([*argv, "update-many", str(source)]) == 4
    assert "cannot reach the API" in capsys.readouterr().err


def test_fail_fast(fake: ThreadedFake, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    items = [{"machine_id": "mch_missing", "name": "x"}] * 200
    source = write_jsonl(tmp_path / "in.jsonl", items)
    assert run(fake, "machines", "update-many", str(source), "--fail-fast") == 1
    assert "--fail-fast" in capsys.readouterr().err
    assert fake.fake.stats.total_requests < 100


def test_progress_lines_and_verbose_logging(
    fake: ThreadedFake,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("clerk_async.cli.PROGRESS_INTERVAL", 0.0)  # a line per result
    m = fake.add("m")
    source = write_jsonl(tmp_path / "in.jsonl", [{"machine_id": m.id, "name": "x"}] * 3)
    assert run(fake, "machines", "update-many", str(source)) == 0
    err = capsys.readouterr().err
    assert "update-many: 100% of input, 3 done, 0 failed" in err
    assert run(fake, "-v", "machines", "update-many", str(source), "--no-progress") == 0
    err = capsys.readouterr().err
    assert "% of input" not in err
    assert err.count("DEBUG clerk_async: PATCH /machines/{machine_id} -> 200") == 3
    assert KEY not in err


def test_fake_update_many_seeds_the_machines_it_names(capsys: pytest.CaptureFixture[str]) -> None:
    for example in ("machines.jsonl", "machines.csv"):
        assert main(["--fake", "machines", "update-many", str(ROOT / "examples" / example)]) == 0
        assert "4 succeeded, 0 failed" in capsys.readouterr().out


# --- subprocesses: the entry point, the environment, Ctrl-C -------------------------------


def cli(*argv: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "clerk_async", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
        cwd=ROOT,
    )


def test_demo_runs_as_a_module() -> None:
    proc = cli("demo", "--machines", "200", "--concurrency", "16")
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "update_many: 200 succeeded, 0 failed" in out
    assert "200 with the new name" in out
    assert "demo: ok" in out


def test_update_many_as_a_module_with_the_key_from_the_environment(
    fake: ThreadedFake, tmp_path: Path
) -> None:
    machines = [fake.add(f"m{i}") for i in range(20)]
    source = tmp_path / "in.csv"
    source.write_text(
        "machine_id,default_token_ttl\n" + "".join(f"{m.id},77\n" for m in machines),
        encoding="utf-8",
    )
    env = {"CLERK_SECRET_KEY": KEY, "CLERK_API_URL": fake.api_url}
    proc = cli("machines", "update-many", str(source), env=env)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "20 succeeded, 0 failed" in out
    assert all(fake.machine(m.id).default_token_ttl == 77 for m in machines)


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child process")
def test_ctrl_c_stops_cleanly_with_a_partial_report(fake: ThreadedFake, tmp_path: Path) -> None:
    machines = [fake.add(f"m{i}") for i in range(300)]
    source = write_jsonl(
        tmp_path / "in.jsonl", [{"machine_id": m.id, "name": "x"} for m in machines]
    )
    report = tmp_path / "failures.jsonl"
    # The client paces itself to 20 requests a second: 300 updates would take 15 s.
    proc = cli(
        "--secret-key", KEY, "--api-url", fake.api_url, "--rate-limit", "20/1",
        "machines", "update-many", str(source), "--concurrency", "8", "--report", str(report),
    )  # fmt: skip
    deadline = time.monotonic() + 20
    while fake.fake.stats.total_requests < 10:  # it is running
        assert time.monotonic() < deadline, proc.stderr.read() if proc.stderr else ""
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 130, err
    assert "interrupted" in err
    assert "succeeded" in out
    assert "cancelled in flight" in out
    unfinished = read_report(report)
    assert unfinished
    assert all(line["_error"]["code"] == "not_completed" for line in unfinished)
    updated = sum(fake.machine(m.id).name == "x" for m in machines)
    assert updated < 300


# --- m2m, api-keys and --json ---------------------------------------------------------------


def test_m2m_create_list_verify_revoke(
    fake: ThreadedFake, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    machine = fake.add("caller")
    # create needs only the machine's key: no instance key in the environment or argv.
    monkeypatch.delenv("CLERK_SECRET_KEY", raising=False)
    monkeypatch.setenv("CLERK_MACHINE_SECRET_KEY", machine.secret_key)
    argv = ["--api-url", fake.api_url, "--json", "m2m", "create"]
    assert main([*argv, "--seconds-until-expiration", "600", "--claims", '{"env": "ci"}']) == 0
    created = json.loads(capsys.readouterr().out)
    assert (created["subject"], created["claims"]) == (machine.id, {"env": "ci"})
    assert created["token"] == fake.fake.m2m_tokens[created["id"]].token

    assert run(fake, "--json", "m2m", "list", machine.id) == 0
    assert [t["id"] for t in json.loads(capsys.readouterr().out)["data"]] == [created["id"]]
    monkeypatch.setattr(sys, "stdin", io.StringIO(created["token"] + "\n"))
    assert run(fake, "m2m", "verify", "-") == 0  # the token from stdin, not argv
    out = capsys.readouterr().out
    assert json.loads(out)["id"] == created["id"]
    assert created["token"] not in out  # verifying does not print the token back
    assert run(fake, "m2m", "revoke", created["id"], "--reason", "rotated") == 0
    assert json.loads(capsys.readouterr().out)["revocation_reason"] == "rotated"
    assert run(fake, "--json", "m2m", "verify", created["token"]) == 1  # revoked: 404
    failure = json.loads(capsys.readouterr().out)
    assert (failure["exit_code"], failure["error"]["status"]) == (1, 404)

    monkeypatch.delenv("CLERK_MACHINE_SECRET_KEY")
    assert run(fake, "m2m", "create") == 2
    assert "CLERK_MACHINE_SECRET_KEY" in capsys.readouterr().err


def test_api_keys_create_list_verify_revoke(
    fake: ThreadedFake, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["api-keys", "create", "--name", "ci-key", "--subject", USER_ID, "--scope", "read"]
    assert run(fake, *argv) == 0
    created = out_json(capsys)
    assert "secret" not in created  # only with --show-secret
    assert run(fake, *argv, "--show-secret", "--json") == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["secret"] == fake.fake.api_keys[shown["id"]].secret
    assert shown["scopes"] == ["read"]

    assert run(fake, "api-keys", "list", USER_ID, "--limit", "1", "--json") == 0
    page = json.loads(capsys.readouterr().out)
    assert (len(page["data"]), page["total_count"]) == (1, 2)
    assert run(fake, "api-keys", "verify", shown["secret"]) == 0
    verified = out_json(capsys)
    assert verified["id"] == shown["id"]
    assert "secret" not in verified
    assert run(fake, "api-keys", "revoke", shown["id"], "--reason", "leaked") == 0
    assert out_json(capsys)["revoked"] is True
    assert run(fake, "api-keys", "verify", shown["secret"]) == 1


def test_json_output_is_one_compact_document(
    fake: ThreadedFake, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    machine = fake.add("one")
    assert run(fake, "--json", "machines", "get", machine.id) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    assert json.loads(out)["id"] == machine.id

    assert main(["--json", "machines", "frobnicate"]) == 2  # argparse's own usage error
    captured = capsys.readouterr()
    assert json.loads(captured.out)["error"]["code"] == "usage_error"
    assert "invalid choice: 'frobnicate'" in captured.err

    assert run(fake, "--json", "machines", "update", machine.id) == 2  # nothing to change
    usage = json.loads(capsys.readouterr().out)
    assert (usage["exit_code"], usage["error"]["code"]) == (2, "usage_error")

    source = write_jsonl(tmp_path / "in.jsonl", [{"machine_id": machine.id, "name": "two"}])
    assert run(fake, "machines", "update-many", str(source), "--json") == 0
    captured = capsys.readouterr()
    summary = json.loads(captured.out)
    assert {k: summary[k] for k in ("succeeded", "failed", "skipped_lines", "exit_code")} == {
        "succeeded": 1,
        "failed": 0,
        "skipped_lines": 0,
        "exit_code": 0,
    }
    assert "update-many: 1 succeeded" in captured.err  # the human line goes to stderr

    assert main(["--json", "demo", "--machines", "5", "--no-progress"]) == 0
    demo = json.loads(capsys.readouterr().out)
    assert (demo["ok"], demo["updated"], demo["renamed"]) == (True, 5, 5)


def test_api_url_ending_in_v1_is_refused(
    fake: ThreadedFake, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--secret-key", KEY, "--api-url", fake.api_url + "/v1", "machines", "list"]) == 2
    assert f"write {fake.api_url!r}" in capsys.readouterr().err


def test_a_resumed_run_that_stops_keeps_what_it_did_not_reach(
    fake: ThreadedFake, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write_jsonl(
        tmp_path / "in.jsonl", [{"machine_id": f"mch_gone{i}", "name": "x"} for i in range(3)]
    )
    report = tmp_path / "first.jsonl"
    assert run(fake, "machines", "update-many", str(source), "--report", str(report)) == 1
    assert len(read_report(report)) == 3  # all 404
    second = tmp_path / "second.jsonl"
    argv = ["machines", "update-many", str(source), "--resume", str(report), "--report"]
    assert run(fake, *argv, str(second), "--concurrency", "1", "--fail-fast") == 1
    assert "1 failed" in capsys.readouterr().out
    items = read_report(second)
    assert sorted(i["_error"]["code"] for i in items) == [
        "not_completed",
        "not_completed",
        "resource_not_found",
    ]
    assert sorted(i["_line"] for i in items) == [1, 2, 3]  # nothing is lost
