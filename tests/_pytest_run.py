"""pytest in a subprocess, in a directory with an ini file of its own, so that this project's
configuration (auto mode, filterwarnings) and environment (CLERK_*) do not leak in."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path


def run_pytest(
    directory: Path, *args: str, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    (directory / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CLERK_", "PYTEST_"))}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        cwd=directory,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def passed(result: subprocess.CompletedProcess[str]) -> int:
    """How many tests passed, asserting that the run as a whole did."""
    assert result.returncode == 0, result.stdout + result.stderr
    found = re.search(r"(\d+) passed", result.stdout)
    assert found, result.stdout
    return int(found.group(1))
