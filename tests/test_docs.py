"""Every ```python block of the guides (docs/*.md) and the README runs here, so they cannot rot.

How a page runs (the same rules are written for authors in docs/contributing-docs.md):

- One FakeClerk per page (``with FakeClerk("sk_live_...")``: the docs' placeholder key is
  the fake's key), with ``CLERK_SECRET_KEY`` and ``CLERK_API_URL`` set to it, and the machines
  of ``SEEDED`` in it.
- The blocks of a page run in order, in one namespace that starts with ``clerk``, an open
  ``Clerk()`` for that fake; top-level ``await`` / ``async with`` / ``async for`` run in one
  event loop per page.
- A block whose first line is ``# NAME.py`` is a file, not run inline: it is written to
  NAME.py, and so is any block that defines ``test_`` functions (as test_<page>_<n>.py).
  Those files then run under pytest, in a subprocess, in pytest-asyncio's strict mode and in
  its auto mode.
- In the guides (not the README), each ``$ clerk-async ...`` line of a ```console block runs
  too, in page order with the Python blocks, in the page's working directory (a temporary
  one): ``clerk_async.cli.main`` with those arguments must exit 0, or N where the line ends
  with ``# exit N``. Other shell lines (``pip install``...) are not run.
"""

from __future__ import annotations

import ast
import asyncio
import inspect
import re
import shlex
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from clerk_async import Clerk
from clerk_async.cli import main
from clerk_async.testing import FakeClerk
from tests._pytest_run import passed, run_pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
FENCE = re.compile(r"^```(python|console)\n(.*?)^```", re.MULTILINE | re.DOTALL)
COMMAND = re.compile(r"^\$ clerk-async (.*?)(?:\s+# exit (\d+))?$", re.MULTILINE)
FILE_NAME = re.compile(r"# ([A-Za-z_][\w]*\.py)\n")
TEST_FUNCTION = re.compile(r"^(async )?def test_", re.MULTILINE)
DOCS_KEY = "sk_live_..."
SEEDED = {
    "mch_123": "billing-worker",
    "mch_456": "ledger",
    "mch_2xhFjEI5X2qWRvtV13BzSj8H6Dk": "billing-api",  # an id in Clerk's format
}


class Block(NamedTuple):
    line: int  # of the code's first line in the page
    code: str
    command: bool = False  # a `$ clerk-async ...` line, not Python


def blocks(page: Path) -> list[Block]:
    """The page's Python blocks and, in the guides, its clerk-async command lines, in order."""
    text = page.read_text(encoding="utf-8")
    found = []
    for fence in FENCE.finditer(text):
        line = text.count("\n", 0, fence.start(2)) + 1
        if fence.group(1) == "python":
            found.append(Block(line, fence.group(2)))
        elif page.parent.name == "docs":
            for command in COMMAND.finditer(fence.group(2)):
                offset = fence.group(2).count("\n", 0, command.start())
                found.append(Block(line + offset, command.group(0), command=True))
    return found


def _run_command(page: Path, block: Block) -> None:
    found = COMMAND.fullmatch(block.code)
    assert found, block
    expected = int(found.group(2) or 0)
    code = main(shlex.split(found.group(1)))
    assert code == expected, f"{page}:{block.line}: {block.code!r} exited {code}"


def page_id(page: Path) -> str:
    return str(page.relative_to(ROOT))


def test_every_guide_has_examples_that_run() -> None:
    not_guides = ("index.md", "contributing-docs.md")
    guides = [p for p in PAGES if p.parent.name == "docs" and p.name not in not_guides]
    assert guides, "docs/ is missing"
    assert all(blocks(p) for p in guides), [page_id(p) for p in guides if not blocks(p)]


def _run_inline(page: Path, inline: list[Block]) -> None:
    loop = asyncio.new_event_loop()
    clerk = Clerk()
    namespace: dict[str, Any] = {"__name__": f"docs_{page.stem}", "clerk": clerk}
    try:
        loop.run_until_complete(clerk.__aenter__())
        for block in inline:
            if block.command:
                _run_command(page, block)
                continue
            # Padded so that a traceback names the line of the page.
            source = "\n" * (block.line - 1) + block.code
            code = compile(
                source, str(page), "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT, dont_inherit=True
            )
            result = eval(code, namespace)
            if inspect.iscoroutine(result):
                loop.run_until_complete(result)
    finally:
        loop.run_until_complete(clerk.aclose())
        for value in namespace.values():  # clients a page opened and left open
            if isinstance(value, Clerk) and not value.closed and value._sessions.loop is loop:
                loop.run_until_complete(value.aclose())
        loop.close()


def _run_files(page: Path, files: dict[str, str], directory: Path) -> int:
    for name, code in files.items():
        (directory / name).write_text(code, encoding="utf-8")
    counts = set()
    for mode in ("strict", "auto"):
        result = run_pytest(directory, "-o", f"asyncio_mode={mode}", "-W", "error::ResourceWarning")
        assert result.returncode == 0, f"{page_id(page)} ({mode} mode):\n{result.stdout}"
        counts.add(passed(result))
    (count,) = counts
    return count


@pytest.mark.parametrize("page", [p for p in PAGES if blocks(p)], ids=page_id)
def test_page_examples_run(page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    inline: list[Block] = []
    files: dict[str, str] = {}
    for n, block in enumerate(blocks(page)):
        named = FILE_NAME.match(block.code)
        if block.command:
            inline.append(block)
        elif named:
            files[named.group(1)] = block.code
        elif TEST_FUNCTION.search(block.code):
            files[f"test_{page.stem.lower().replace('-', '_')}_{n}.py"] = block.code
        else:
            inline.append(block)
    with FakeClerk(DOCS_KEY, rate_limit=None) as fake, fake.setenv():
        for machine_id, name in SEEDED.items():
            fake.add_machine(name, machine_id=machine_id)
        _run_inline(page, inline)
    if files:
        tests = sum(len(TEST_FUNCTION.findall(code)) for code in files.values())
        assert _run_files(page, files, tmp_path) == tests
