"""The generated API reference (docs/reference/services/): current, and complete against the
operation table: every operation of the spec is on its service's page, with one signature,
its arguments described and the errors the spec documents for it."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from clerk_async import Clerk
from clerk_async.errors import error_from_response
from clerk_async.services.spec import OPERATIONS
from codegen import reference

SPEC = Path(__file__).resolve().parents[1] / "spec" / "clerk-bapi-2026-05-12.yml"


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


def _section(page: str, method: str) -> str:
    start = page.index(f"\n## {method}\n")
    end = page.find("\n## ", start + 1)
    return page[start : end if end != -1 else len(page)]


def test_each_method_lists_the_errors_the_spec_documents_once() -> None:
    """Read from the spec itself: each documented error status of an operation is on its
    section, as the exception class the client raises for it (404: ``NotFoundError``)."""
    spec = yaml.safe_load(SPEC.read_text())
    pages = reference.pages()
    checked = 0
    for op_id, op in OPERATIONS.items():
        declared = next(
            item[verb]
            for item in spec["paths"].values()
            for verb in ("get", "post", "put", "patch", "delete")
            if item.get(verb, {}).get("operationId") == op_id
        )
        statuses = sorted(int(s) for s in declared["responses"] if s.isdigit() and int(s) >= 400)
        expected: dict[str, list[int]] = {}
        for status in statuses:
            cls = type(error_from_response(status, {}, b"")).__name__
            expected.setdefault(cls, []).append(status)
        section = _section(pages[f"{op.service}.md"], op.method)
        errors = section.partition("**Errors**")[2]
        listed = re.findall(r"^- `(\w+)`: (.*)$", errors, re.MULTILINE)
        assert [cls for cls, _ in listed] == list(expected), (op_id, listed)
        for cls, text in listed:  # the statuses, in the words of the spec
            assert re.findall(r"\((\d{3})\)", text) == [str(s) for s in expected[cls]], op_id
        checked += bool(statuses)
    assert checked == 238  # the operations whose errors the spec documents (of 249)


def test_arguments_carry_the_spec_descriptions() -> None:
    page = reference.pages()["users.md"]
    update = _section(page, "update")
    assert "- `user_id`: The ID of the user to update." in update
    assert "- `first_name`: The first name to assign to the user." in update
    listed = _section(page, "list")
    assert "- `order_by`: Allows to return users in a particular order." in listed
