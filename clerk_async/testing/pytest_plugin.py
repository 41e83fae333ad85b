"""The pytest plugin (entry point ``pytest11``): the ``fake_clerk`` fixture.

``fake_clerk`` yields a started :class:`~clerk_async.testing.FakeClerk` with the rate limit
off, one per test. Other options go through a marker::

    @pytest.mark.fake_clerk(rate_limit=RateLimit(5, 0.5), faults=Faults(error_rate=0.1))
    async def test_retries(fake_clerk): ...
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import pytest

from clerk_async.testing import FakeClerk

# pytest_asyncio.fixture works in its strict mode as well as in auto mode; without
# pytest-asyncio the fixture still loads (pytest then needs another async plugin).
if TYPE_CHECKING:
    from pytest_asyncio import fixture as async_fixture
else:
    try:
        from pytest_asyncio import fixture as async_fixture
    except ImportError:
        async_fixture = pytest.fixture


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "fake_clerk(**options): FakeClerk options for the fake_clerk fixture"
    )


@async_fixture
async def fake_clerk(request: pytest.FixtureRequest) -> AsyncIterator[FakeClerk]:
    options: dict[str, Any] = {"rate_limit": None}
    marker = request.node.get_closest_marker("fake_clerk")
    if marker is not None:
        options.update(marker.kwargs)
    async with FakeClerk(**options) as fake:
        yield fake
