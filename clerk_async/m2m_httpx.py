"""An ``httpx.Auth`` that sends M2M tokens from a ``M2MTokenSource``.

Needs httpx (``pip install httpx``), which clerk-async does not depend on:

    source = clerk.m2m.token_source()
    async with httpx.AsyncClient(auth=M2MBearerAuth(source)) as http:
        await http.get("https://reports.internal/reports/r1")
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Generator

try:
    import httpx
except ImportError as exc:  # pragma: no cover - exercised in a subprocess
    raise ImportError(
        "clerk_async.m2m_httpx needs httpx: install it with pip install httpx"
    ) from exc

from clerk_async.m2m_source import M2MTokenSource

__all__ = ["M2MBearerAuth"]


class M2MBearerAuth(httpx.Auth):
    """``Authorization: Bearer <token>`` on every request; on a 401, one refreshed token and
    one retry. For ``httpx.AsyncClient`` only: the source mints on the event loop."""

    def __init__(self, source: M2MTokenSource) -> None:
        self._source = source

    def __repr__(self) -> str:
        return f"<M2MBearerAuth {self._source!r}>"

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response]:
        raise TypeError("M2MBearerAuth works with httpx.AsyncClient, not httpx.Client")

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        token = await self._source.token()
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401:
            request.headers["Authorization"] = f"Bearer {await self._source.refresh(token)}"
            yield request
