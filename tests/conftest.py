from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from clerk_async import Clerk, RetryPolicy
from tests._recorder import RecordingServer

# Fast retries so that retry tests take milliseconds, not seconds.
FAST_RETRY = RetryPolicy(max_retries=3, initial_delay=0.01, max_delay=0.05, max_retry_after=2.0)


@pytest.fixture
async def server() -> AsyncIterator[RecordingServer]:
    srv = RecordingServer()
    await srv.start()
    yield srv
    await srv.close()


@pytest.fixture
async def clerk(server: RecordingServer) -> AsyncIterator[Clerk]:
    async with Clerk(
        "sk_test_secret123", base_url=server.url, rate_limit=None, retry=FAST_RETRY
    ) as client:
        yield client


# Prism mock-server fixtures (prism_server, prism_url): see tests/PRISM.md.
pytest_plugins = ["tests.conftest_prism"]
