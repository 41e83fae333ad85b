"""The README's "Calling another service with M2M tokens" and "Receiving Clerk webhooks"
examples, run as written: read from README.md.

The caller's ``main()`` calls examples/m2m_service.py under real uvicorn, in front of a
FakeClerk; the webhook app is served by real uvicorn (its test block runs in test_docs.py).
"""

import json
import re

import httpx
import pytest

from clerk_async.testing import FakeClerk
from clerk_async.webhooks import sign
from tests._webhook_corpus import example
from tests.test_auth_fastapi import _load_example
from tests.test_fastapi import serve_in_process
from tests.test_readme_auth import README, run_block


def section_blocks(title: str) -> list[str]:
    text = README.read_text()
    section = text[text.index(f"## {title}\n") :]
    section = section[: section.index("\n## ", 1)]
    return re.findall(r"```python\n(.*?)```", section, re.DOTALL)


async def test_the_readme_caller(
    fake_clerk: FakeClerk, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    receiver = fake_clerk.add_machine("reports")
    caller = fake_clerk.add_machine("billing")
    caller.scopes[receiver.id] = 0
    service = _load_example().create_app(
        receiver.id, secret_key=fake_clerk.secret_key, base_url=fake_clerk.url, max_retries=0
    )
    async with serve_in_process(service) as url:
        monkeypatch.setenv("REPORTS_URL", url)
        monkeypatch.setenv("CLERK_MACHINE_SECRET_KEY", caller.secret_key)
        monkeypatch.setenv("CLERK_API_URL", fake_clerk.url.removesuffix("/v1"))
        monkeypatch.delenv("CLERK_SECRET_KEY", raising=False)
        (block,) = section_blocks("Calling another service with M2M tokens")
        await run_block(block)["main"]()
    printed = capsys.readouterr().out.splitlines()
    assert printed == [
        str({"report_id": "r1", "called_by": caller.id}),
        str({"report_id": "r2", "called_by": caller.id}),
    ]
    assert fake_clerk.stats.requests["POST", "/v1/m2m_tokens"] == 1  # one token, both clients


async def test_the_readme_webhook_app(monkeypatch: pytest.MonkeyPatch) -> None:
    """The app block under uvicorn; its test block runs in tests/test_docs.py."""
    app_block, test_block = section_blocks("Receiving Clerk webhooks")
    app_namespace = run_block(app_block)
    found = re.search(r'^SECRET = "(whsec_\w+)"', test_block, re.MULTILINE)
    assert found is not None
    secret = found.group(1)
    monkeypatch.setenv("CLERK_WEBHOOK_SIGNING_SECRET", secret)
    async with (
        serve_in_process(app_namespace["app"]) as url,
        httpx.AsyncClient(base_url=url, timeout=15) as http,
    ):
        user = example("user.created")["data"]  # Clerk's User JSON
        ada = json.dumps({**user, "id": "user_1", "first_name": "Ada"}).encode()
        nameless = json.dumps({**user, "id": "user_2", "first_name": None}).encode()
        for body, users in [
            (ada, {"user_1": "Ada"}),
            (nameless, {"user_1": "Ada", "user_2": None}),
            (b'{"id": "user_1", "object": "user", "deleted": true}', {"user_2": None}),
        ]:
            kind = "user.deleted" if b"deleted" in body else "user.created"
            event = (
                b'{"type": "%s", "object": "event", "timestamp": 1, "instance_id": "i", "data": %s}'
            )
            signed = event % (kind.encode(), body)
            answer = await http.post(
                "/webhooks/clerk", content=signed, headers=sign(signed, secret=secret)
            )
            assert answer.json() == {"received": kind}
            assert app_namespace["users"] == users
