"""The pytest plugin: the README's five-line test in both pytest-asyncio modes, and its
import cost for projects that never use it. Each run is a pytest subprocess in a temporary
directory with an ini file of its own, so this project's configuration does not leak in."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests._pytest_run import passed, run_pytest

ROOT = Path(__file__).resolve().parent.parent


def readme_fixture_example() -> str:
    """The README's five-line example, as written there."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", readme, re.DOTALL)
    found = [b for b in blocks if b.startswith("async def test_rename(fake_clerk):")]
    assert len(found) == 1, "the README's fake_clerk example is gone or doubled"
    return found[0]


@pytest.mark.parametrize("mode", ["strict", "auto"])
def test_readme_example_runs_as_written(tmp_path: Path, mode: str) -> None:
    (tmp_path / "test_readme.py").write_text(readme_fixture_example(), encoding="utf-8")
    assert passed(run_pytest(tmp_path, "-o", f"asyncio_mode={mode}")) == 1


def test_an_explicit_asyncio_marker_is_kept(tmp_path: Path) -> None:
    (tmp_path / "test_marked.py").write_text(
        "import asyncio, pytest\n"
        "pytestmark = pytest.mark.asyncio(loop_scope='module')\n"
        "loops = []\n"
        "async def test_one(fake_clerk):\n"
        "    loops.append(asyncio.get_running_loop())\n"
        "async def test_two(fake_clerk):\n"
        "    loops.append(asyncio.get_running_loop())\n"
        "    assert loops[0] is loops[1]  # the module's loop, not one per test\n",
        encoding="utf-8",
    )
    assert passed(run_pytest(tmp_path, "-o", "asyncio_mode=strict")) == 2


def test_the_plugin_imports_clerk_async_only_when_a_fixture_is_used(tmp_path: Path) -> None:
    # Loading the plugin module itself imports nothing of clerk_async (nor aiohttp).
    check = (
        "import sys, _clerk_async_pytest; "
        "ours = ('clerk_async', 'aiohttp', 'attrs', 'cattrs'); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ours))"
    )
    out = subprocess.run(
        [sys.executable, "-c", check], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"
    # A whole pytest run of a project that never asks for the fixtures.
    (tmp_path / "test_other.py").write_text(
        "import sys\n"
        "def test_nothing_of_ours_is_loaded(pytestconfig):\n"
        "    assert pytestconfig.pluginmanager.hasplugin('clerk_async')\n"
        "    assert 'clerk_async' not in sys.modules\n"
        "def test_the_fixture_loads_it(fake_clerk_sync):\n"
        "    assert 'clerk_async' in sys.modules\n",
        encoding="utf-8",
    )
    assert passed(run_pytest(tmp_path, "-p", "no:aiohttp")) == 2
