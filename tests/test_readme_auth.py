"""The README's "Authenticating requests" examples, run as written: read from README.md.

The FastAPI app is executed from the README's first code block of that section and
served by real uvicorn in front of a FakeClerk; the test function of the section's last
code block is executed and run with the ``fake_clerk`` fixture.
"""

import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from clerk_async.testing import FakeClerk
from tests.test_fastapi import serve_in_process

README = Path(__file__).resolve().parents[1] / "README.md"
MACHINE_ID = "mch_2xhFjEI5X2qWRvtV13BzSj8H6Dk"  # the one the README's example names


def section_blocks() -> list[str]:
    text = README.read_text()
    section = text[text.index("## Authenticating requests") :]
    section = section[: section.index("\n## ", 1)]
    return re.findall(r"```python\n(.*?)```", section, re.DOTALL)


def run_block(code: str) -> dict[str, Any]:
    namespace: dict[str, Any] = {"__name__": "readme_example"}
    exec(compile(code, str(README), "exec"), namespace)
    return namespace


async def test_the_readme_app(fake_clerk: FakeClerk, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLERK_SECRET_KEY", fake_clerk.secret_key)
    monkeypatch.setenv("CLERK_API_URL", fake_clerk.url.removesuffix("/v1"))
    monkeypatch.delenv("CLERK_JWT_KEY", raising=False)
    app = run_block(section_blocks()[0])["app"]
    service = fake_clerk.add_machine("reports", machine_id=MACHINE_ID)
    caller = fake_clerk.add_machine("billing")
    caller.scopes[service.id] = 0
    stranger = fake_clerk.add_machine("stranger")
    user = fake_clerk.session_token("user_1", org_id="org_1", azp="https://app.example.com")
    async with serve_in_process(app) as url, httpx.AsyncClient(base_url=url) as http:
        token = fake_clerk.m2m_jwt(caller.id)
        answer = await http.get("/internal/reports", headers={"Authorization": f"Bearer {token}"})
        assert answer.json() == {"called_by": caller.id}
        token = fake_clerk.m2m_jwt(stranger.id)
        answer = await http.get("/internal/reports", headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 403
        answer = await http.get("/me", headers={"Authorization": f"Bearer {user}"})
        assert answer.json() == {"user_id": "user_1", "org_id": "org_1"}
        answer = await http.get("/internal/reports", headers={"Authorization": f"Bearer {user}"})
        assert answer.status_code == 401
        assert (await http.get("/me")).headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'


async def test_the_readme_test(fake_clerk: FakeClerk) -> None:
    await run_block(section_blocks()[-1])["test_me"](fake_clerk)
