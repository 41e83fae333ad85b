"""ARCHITECTURE.md stays true: what it names exists, and it names every top-level module.

The tree is read at run time: a new module (``clerk_async/sync``, an integration...) only
needs its line in ARCHITECTURE.md.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEXT = (ROOT / "ARCHITECTURE.md").read_text()
# A path in backquotes: `clerk_async/_transport.py`, `codegen/spec.py`, `clerk_async/auth/`.
NAMED = set(re.findall(r"`((?:clerk_async|codegen)/[\w/.<>]*)`", TEXT))


def test_every_module_it_names_exists() -> None:
    missing = [name for name in sorted(NAMED) if "<" not in name and not (ROOT / name).exists()]
    assert missing == []


def test_every_top_level_module_of_the_package_is_named() -> None:
    package = ROOT / "clerk_async"
    modules = [
        f"clerk_async/{p.name}" + ("/" if p.is_dir() else "")
        for p in sorted(package.iterdir())
        if (p.suffix == ".py" or (p.is_dir() and (p / "__init__.py").exists()))
    ]
    assert len(modules) > 20
    unnamed = [m for m in modules if m not in NAMED and m.rstrip("/") not in NAMED]
    assert unnamed == []


def test_every_generator_module_is_named() -> None:
    modules = [f"codegen/{p.name}" for p in sorted((ROOT / "codegen").glob("*.py"))]
    unnamed = [m for m in modules if m != "codegen/__init__.py" and m not in NAMED]
    assert unnamed == []
