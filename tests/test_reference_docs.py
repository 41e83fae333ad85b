"""The generated API reference (docs/reference/services/): current, and complete against the
operation table: every operation of the spec is on its service's page, with one signature."""

from __future__ import annotations

import re

from clerk_async import Clerk
from clerk_async.services.spec import OPERATIONS
from codegen import reference


def test_pages_are_current() -> None:
    wanted = reference.pages()
    on_disk = {p.name: p.read_text() for p in reference.OUT.glob("*.md")}
    assert set(on_disk) == set(wanted), "run `make generate`"
    stale = sorted(name for name, text in wanted.items() if on_disk[name] != text)
    assert not stale, f"run `make generate`: {stale}"


def test_every_operation_once_with_one_signature() -> None:
    pages = reference.pages()
    by_service: dict[str, set[str]] = {}
    for op in OPERATIONS.values():
        by_service.setdefault(op.service, set()).add(op.method)
    assert set(pages) == {f"{service}.md" for service in by_service} | {"index.md"}
    for service, methods in by_service.items():
        assert hasattr(Clerk, service), service  # the page is named after the attribute
        page = pages[f"{service}.md"]
        headings = re.findall(r"^## (\w+)$", page, flags=re.MULTILINE)
        assert sorted(headings) == sorted(set(headings)), service  # each method once
        assert methods <= set(headings), (service, methods - set(headings))
        signatures = re.findall(r"^(?:async )?def (\w+)\(", page, flags=re.MULTILINE)
        assert sorted(signatures) == sorted(headings), service  # one signature a method
        assert f"(#{sorted(methods)[0]})" in page  # the summary table links the section
        assert f"]({service}.md)" in pages["index.md"]
