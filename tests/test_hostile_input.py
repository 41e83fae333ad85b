"""What the fuzzing found, pinned one case at a time (issue 11, items 5 and 12).

Input that passes validation never fails later with a foreign exception: each case below
escaped as a UnicodeEncodeError, orjson's TypeError, aiohttp's ValueError or a MemoryError
before. Each is refused with a ClerkValidationError or ClerkConfigError that names the
field, and no request reaches the server. FakeClerk answers what it cannot take with a 4xx.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from clerk_async import Clerk
from clerk_async.errors import BadRequestError, ClerkConfigError, ClerkValidationError
from clerk_async.testing import FakeClerk
from clerk_async.testing import _app as fake_app

SUBJECT = "user_" + "a" * 27
LONE = "\ud800"


async def refused(
    fake: FakeClerk,
    call: Callable[[], Awaitable[Any]],
    field: str,
    error: type[Exception] = ClerkValidationError,
) -> str:
    """``call()`` raises ``error`` naming ``field``, and sends nothing: its message."""
    before = fake.stats.total_requests
    with pytest.raises(error) as caught:
        await call()
    assert caught.value.field == field  # type: ignore[attr-defined]
    assert fake.stats.total_requests == before, "a request was sent"
    return str(caught.value)


@pytest.mark.parametrize(
    ("make", "field"),
    [
        (lambda c, m: c.machines.get(LONE), "machine_id"),
        (lambda c, m: c.machines.get("mch_" + LONE), "machine_id"),
        (lambda c, m: c.machines.update(m, name="a" + LONE), "name"),
        (lambda c, m: c.machines.create(name="x", scoped_machines=[LONE]), "scoped_machines[0]"),
        (lambda c, m: c.machines.list(query=LONE), "query"),
        (lambda c, m: c.api_keys.verify(LONE), "secret"),
        (lambda c, m: c.api_keys.create(name="abc", subject=SUBJECT, claims={"k": LONE}), "claims"),
        (lambda c, m: c.api_keys.create(name="abc", subject=SUBJECT, claims={LONE: 1}), "claims"),
        (lambda c, m: c.api_keys.create(name="abc", subject=SUBJECT, scopes=[LONE]), "scopes[0]"),
        (lambda c, m: c.m2m.revoke_token("mt_" + "0" * 32, revocation_reason=LONE), None),
    ],
)
async def test_a_lone_surrogate_is_refused_before_any_request(
    fake_clerk: FakeClerk, make: Callable[[Clerk, str], Awaitable[Any]], field: str | None
) -> None:
    machine = fake_clerk.add_machine("m")
    async with fake_clerk.client() as clerk:
        before = fake_clerk.stats.total_requests
        with pytest.raises(ClerkValidationError) as caught:
            await make(clerk, machine.id)
        assert caught.value.field.startswith(field or "revocation_reason")
        assert "surrogate" in str(caught.value) or "not a valid id" in str(caught.value)
        assert fake_clerk.stats.total_requests == before


async def test_integers_beyond_int64_are_refused_and_the_message_survives_5000_digits(
    fake_clerk: FakeClerk,
) -> None:
    async with fake_clerk.client() as clerk:
        message = await refused(fake_clerk, lambda: clerk.machines.list(offset=10**5000), "offset")
        assert "16610-bit integer" in message  # str() of the value itself would raise
        await refused(fake_clerk, lambda: clerk.api_keys.list(SUBJECT, offset=2**63), "offset")
        await refused(
            fake_clerk,
            lambda: clerk.m2m.create_token(
                min_remaining_ttl_seconds=2**70, machine_secret_key="ak_x"
            ),
            "min_remaining_ttl_seconds",
        )
        await refused(
            fake_clerk,
            lambda: clerk.api_keys.create(
                name="abc", subject=SUBJECT, seconds_until_expiration=2**64
            ),
            "seconds_until_expiration",
        )  # a number: floats are fine, but orjson cannot send an int beyond 64 bits
        # Options too: their messages used to repr the value, which raised ValueError.
        await refused(
            fake_clerk,
            lambda: clerk.machines.list(max_retries=-(10**5000)),
            "max_retries",
            ClerkConfigError,
        )
        await refused(
            fake_clerk,
            lambda: clerk.machines.list(deadline=-(10**5000)),
            "deadline",
            ClerkConfigError,
        )


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"extra_headers": {"X-Trace": "abc\r\nX-Injected: 1"}}, "extra_headers"),
        ({"extra_headers": {"X-Trace": "a" + LONE}}, "extra_headers"),
        ({"extra_headers": {"X Bad": "v"}}, "extra_headers"),
        ({"extra_headers": {"X-Trace": 5}}, "extra_headers"),
        ({"machine_secret_key": "ak_0123456789abcdef\n"}, "machine_secret_key"),
        ({"machine_secret_key": "ak_0123456789abcdef\x00"}, "machine_secret_key"),
    ],
)
async def test_per_call_headers_and_keys_must_be_sendable(
    fake_clerk: FakeClerk, options: dict[str, Any], field: str
) -> None:
    async with fake_clerk.client() as clerk:
        message = await refused(
            fake_clerk, lambda: clerk.machines.list(**options), field, ClerkConfigError
        )
        assert "0123456789abcdef" not in message  # no value shown
        assert "abc" not in message


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"secret_key": "KEY\n"}, "secret_key"),
        ({"secret_key": " KEY"}, "secret_key"),
        ({"secret_key": "KEY" + LONE}, "secret_key"),
        ({"secret_key": 12345}, "secret_key"),
        ({"machine_secret_key": "ak_0123456789abcdef\r\n"}, "machine_secret_key"),
        ({"default_headers": {"X-Team": "a\nb"}}, "default_headers"),
        ({"default_headers": {"": "v"}}, "default_headers"),
        ({"default_headers": ["X-Team"]}, "default_headers"),
        ({"api_version": "2026-05-12\n"}, "api_version"),
        ({"session": 3600.0}, "session"),
        ({"trace_configs": 5}, "trace_configs"),
        ({"trace_configs": ["not a TraceConfig"]}, "trace_configs"),
        ({"base_url": "http://[::1"}, "base_url"),
    ],
)
async def test_client_config_that_cannot_be_sent_is_refused_when_built(
    fake_clerk: FakeClerk, kwargs: dict[str, Any], field: str
) -> None:
    if kwargs.get("secret_key") in ("KEY\n", " KEY", "KEY" + LONE):
        kwargs["secret_key"] = kwargs["secret_key"].replace("KEY", fake_clerk.secret_key)
    config = {"secret_key": fake_clerk.secret_key, "base_url": fake_clerk.url, **kwargs}
    with pytest.raises(ClerkConfigError) as caught:
        Clerk(**config)
    assert caught.value.field == field
    assert fake_clerk.secret_key not in str(caught.value)
    assert fake_clerk.stats.total_requests == 0


def test_a_secret_key_from_a_dotenv_file_with_a_newline_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CLERK_SECRET_KEY", "sk_test_from_dotenv\n")
    with pytest.raises(ClerkConfigError, match="trailing newline") as caught:
        Clerk()
    assert caught.value.field == "secret_key"
    assert "from_dotenv" not in str(caught.value)


async def test_update_many_fails_only_the_bad_items(fake_clerk: FakeClerk) -> None:
    machines = [fake_clerk.add_machine(f"m{i}") for i in range(4)]
    updates: list[Any] = [{"machine_id": m.id, "name": f"{m.name}-v2"} for m in machines]
    updates.insert(1, {"machine_id": LONE, "name": "x"})  # used to cancel the whole batch
    updates.insert(3, (machines[0].id, {"name": "a" + LONE}))
    updates.insert(5, {"machineId": machines[1].id, "defaultTokenTtl": 10**5000})
    updates.insert(6, _Unreadable())
    async with fake_clerk.client() as clerk:
        results = await clerk.machines.update_many(updates, concurrency=3).collect()
    assert [r.ok for r in results] == [True, False, True, False, True, False, False, True]
    assert all(isinstance(r.error, ClerkValidationError) for r in results if not r.ok)
    assert [fake_clerk.machines[m.id].name for m in machines] == [
        "m0-v2",
        "m1-v2",
        "m2-v2",
        "m3-v2",
    ]


class _Unreadable(dict[str, Any]):
    """A mapping whose items cannot be read: its update fails, the others go on."""

    def items(self) -> Any:
        raise TypeError("broken mapping")


async def test_update_many_refuses_a_concurrency_it_cannot_run(fake_clerk: FakeClerk) -> None:
    async with fake_clerk.client() as clerk:
        with pytest.raises(ClerkValidationError, match="from 1 to 10000"):
            clerk.machines.update_many([], concurrency=2**63)  # was 2**63 tasks: MemoryError


def test_the_cli_reports_bad_items_and_goes_on(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from clerk_async.cli import main

    source = tmp_path / "in.jsonl"
    source.write_text(
        '{"machine_id": "\\ud800", "name": "x"}\n'
        '{"machine_id": "mch_fine", "name": "ok"}\n'
        '{"machine_id": "mch_name", "name": "\\udfff"}\n',
        encoding="utf-8",
    )
    report = tmp_path / "failures.jsonl"
    assert main(["--fake", "machines", "update-many", str(source), "--report", str(report)]) == 1
    assert "1 succeeded, 2 failed" in capsys.readouterr().out
    lines = [json.loads(line) for line in report.read_text(encoding="utf-8").splitlines()]
    lines = [line for line in lines if "_error" in line]  # not the closing "_run" line
    # The report is valid UTF-8 and gives the input back as read, surrogates included.
    assert sorted((line["machine_id"], line["name"]) for line in lines) == [
        ("mch_name", "\udfff"),
        ("\ud800", "x"),
    ]
    assert {line["_error"]["code"] for line in lines} == {"invalid_input"}
    # Without --report the failures go to stderr, and the run goes on all the same.
    assert main(["--fake", "machines", "update-many", str(source)]) == 1
    captured = capsys.readouterr()
    assert "1 succeeded, 2 failed" in captured.out
    assert "in.jsonl:1:" in captured.err
    assert "Traceback" not in captured.err


# --- FakeClerk answers 4xx, not 500 -------------------------------------------------------


async def _raw(fake: FakeClerk, method: str, path: str, body: bytes, **headers: str) -> Any:
    headers = {"Authorization": f"Bearer {fake.secret_key}", **headers}
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, fake.url + path, data=body, headers=headers) as response,
    ):
        return response.status, await response.json(content_type=None)


@pytest.mark.parametrize("seconds", [1e308, 1e300, 8e12])
async def test_fake_clerk_refuses_an_expiration_past_the_year_9999(
    fake_clerk: FakeClerk, seconds: float
) -> None:
    machine = fake_clerk.add_machine("m")
    key = fake_clerk.add_api_key(machine.id)
    body = json.dumps({"seconds_until_expiration": seconds}).encode()
    status, answer = await _raw(fake_clerk, "PATCH", f"/api_keys/{key.id}", body)
    assert status == 400
    assert answer["errors"][0]["meta"]["param_name"] == "seconds_until_expiration"
    assert fake_clerk.api_keys[key.id].expiration is None  # nothing changed
    body = json.dumps({"subject": machine.id, "name": "k", "seconds_until_expiration": seconds})
    status, _ = await _raw(fake_clerk, "POST", "/api_keys", body.encode())
    assert status == 400
    async with (
        fake_clerk.client(machine_secret_key=machine.secret_key) as clerk,
    ):
        with pytest.raises(BadRequestError, match="year 9999"):
            await clerk.m2m.create_token(seconds_until_expiration=seconds)


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
async def test_fake_clerk_answers_a_body_not_in_its_content_encoding_with_400(
    fake_clerk: FakeClerk, encoding: str
) -> None:
    status, answer = await _raw(
        fake_clerk, "POST", "/machines", b'{"name": "x"}', **{"Content-Encoding": encoding}
    )
    assert status == 400
    assert answer["errors"][0]["code"] == "request_body_invalid"
    # A body that is what it says still works.
    body = gzip.compress(b'{"name": "zipped"}')
    status, answer = await _raw(
        fake_clerk, "POST", "/machines", body, **{"Content-Encoding": "gzip"}
    )
    assert (status, answer["name"]) == (200, "zipped")


@pytest.mark.parametrize("body", [b'{"name": NaN}', b'{"name": Infinity}', b"[" * 100_000])
async def test_fake_clerk_on_the_stdlib_codec_refuses_what_json_has_not(
    fake_clerk: FakeClerk, monkeypatch: pytest.MonkeyPatch, body: bytes
) -> None:
    monkeypatch.setattr(fake_app, "CODEC", "json")  # as with CLERK_ASYNC_PURE_JSON=1
    status, answer = await _raw(fake_clerk, "POST", "/machines", body)
    assert status == 400
    assert answer["errors"][0]["code"] == "request_body_invalid"
