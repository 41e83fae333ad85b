"""clerk-async's pytest plugin (entry point ``pytest11``, name ``clerk_async``): FakeClerk fixtures.

- ``fake_clerk``: a started ``FakeClerk`` in the test's event loop,
  for ``async def`` tests (it needs pytest-asyncio; a test that asks for it runs as an
  asyncio test in strict mode too, as if marked ``@pytest.mark.asyncio``).
- ``fake_clerk_sync``: one served from a thread and event loop of its own, for sync tests
  and code that runs in other loops, such as FastAPI's ``TestClient``.

Both have the rate limit off and are new for each test. Other options go through a marker:

    @pytest.mark.fake_clerk(rate_limit=RateLimit(5, 0.5), faults=Faults(error_rate=0.1))
    async def test_retries(fake_clerk): ...

This module sits outside the ``clerk_async`` package, and imports it only inside the
fixtures, so that installing clerk-async costs other projects' pytest runs next to nothing
(importing ``clerk_async`` loads aiohttp, attrs and cattrs).
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from clerk_async.testing import FakeClerk

# pytest_asyncio.fixture works in strict mode as well as in auto mode. pytest has already
# imported pytest_asyncio when it is installed, so this import costs nothing more.
if TYPE_CHECKING:
    from pytest_asyncio import fixture as async_fixture
else:
    try:
        from pytest_asyncio import fixture as async_fixture
    except ImportError:
        async_fixture = pytest.fixture

ASYNC_FIXTURES = frozenset({"fake_clerk"})


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "fake_clerk(**options): FakeClerk options for the fake_clerk fixtures"
    )


@pytest.hookimpl(tryfirst=True)
def pytest_pycollect_makeitem(collector: pytest.Collector, name: str, obj: object) -> None:
    """Mark ``async def`` tests that take ``fake_clerk`` as asyncio tests.

    pytest-asyncio's strict mode runs only marked tests; this lets a test that asks for
    ``fake_clerk`` run as written in both modes. A marker of the test's own (or its module's
    or class's, with a ``loop_scope``) is kept as it is.
    """
    if not inspect.iscoroutinefunction(obj) or not collector.config.pluginmanager.hasplugin(
        "asyncio"
    ):
        return
    if collector.get_closest_marker("asyncio") is not None:
        return
    if any(mark.name == "asyncio" for mark in getattr(obj, "pytestmark", ())):
        return
    try:
        parameters = inspect.signature(obj).parameters
    except (TypeError, ValueError):
        return
    if ASYNC_FIXTURES.intersection(parameters):
        pytest.mark.asyncio(obj)


def _options(request: pytest.FixtureRequest) -> dict[str, Any]:
    options: dict[str, Any] = {"rate_limit": None}
    marker = request.node.get_closest_marker("fake_clerk")
    if marker is not None:
        options.update(marker.kwargs)
    return options


@async_fixture
async def fake_clerk(request: pytest.FixtureRequest) -> AsyncIterator[FakeClerk]:
    """A FakeClerk served in the test's event loop, for ``async def`` tests."""
    from clerk_async.testing import FakeClerk

    async with FakeClerk(**_options(request)) as fake:
        yield fake


@pytest.fixture
def fake_clerk_sync(request: pytest.FixtureRequest) -> Iterator[FakeClerk]:
    """A FakeClerk served from its own thread and event loop, for sync tests (TestClient)."""
    from clerk_async.testing import FakeClerk

    with FakeClerk(**_options(request)) as fake:
        yield fake
