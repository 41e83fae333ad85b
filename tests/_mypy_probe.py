"""Running mypy on a probe of user code, for the typing tests: each line ending in
``# error`` is a deliberate mistake mypy must report, and no other line may be reported."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def check_probe(source: str, tmp_path: Path, mistakes: int) -> None:
    """mypy --strict reports exactly the ``# error`` lines of ``source``, ``mistakes`` of them."""
    probe = tmp_path / "probe.py"
    probe.write_text(source)
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--no-pretty", str(probe)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    reported = {int(m.group(1)) for m in re.finditer(r"probe\.py:(\d+): error:", done.stdout)}
    expected = {n for n, line in enumerate(source.splitlines(), 1) if line.endswith("# error")}
    assert len(expected) == mistakes
    assert reported == expected, done.stdout
