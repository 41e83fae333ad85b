"""Pytest plugin: session-scoped Prism mock server fixtures.

Loaded from ``tests/conftest.py`` via ``pytest_plugins``. One Prism instance serves the
whole session; ask for dynamic (random, schema-valid) responses per request with the
``Prefer: dynamic=true`` header rather than starting a second ``--dynamic`` instance.

Tests that use these fixtures get the ``prism`` marker automatically, so
``pytest -m "not prism"`` deselects them.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator

import pytest

from tests.prism import PrismServer, require_prism, run_prism

_PRISM_FIXTURES = frozenset({"prism_server", "prism_url"})


@pytest.fixture(scope="session")
def prism_server() -> Iterator[PrismServer]:
    """A running Prism on the vendored spec (skipped outside CI if not installed)."""
    prism = require_prism()
    with run_prism(prism=prism) as server:
        yield server


@pytest.fixture(scope="session")
def prism_url(prism_server: PrismServer) -> str:
    """Base URL for a client, e.g. ``http://127.0.0.1:41234`` (no ``/v1`` prefix)."""
    return prism_server.url


def pytest_configure(config: pytest.Config) -> None:
    # Also declared in pyproject.toml; repeated so that the plugin works on its own.
    config.addinivalue_line(
        "markers", "prism: runs against the Prism mock server serving Clerk's OpenAPI spec"
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if _PRISM_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.prism)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """On a failed Prism test, attach the tail of Prism's log (it names the violation)."""
    report = yield
    if report.failed and call.when == "call":
        server = getattr(item, "funcargs", {}).get("prism_server")
        if isinstance(server, PrismServer):
            report.sections.append(("prism log (tail)", server.log_tail(30)))
    return report
