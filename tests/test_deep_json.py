"""JSON nested far too deep, or containing itself, with either codec (issue 23, item 10).

The stdlib decoder and encoder raise RecursionError on such values; orjson raises its own
errors. Whatever the codec, an answer nested 100,000 deep is a ClerkResponseValidationError
(2xx) or the status's typed error (non-2xx), and a cyclic or very deep ``json=`` argument to
``clerk.request`` is a ClerkValidationError naming ``json``, sent to nobody.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from clerk_async import (
    BadRequestError,
    Clerk,
    ClerkResponseValidationError,
    ClerkValidationError,
    _json,
)
from tests._recorder import RecordingServer

DEEP = b"[" * 100_000 + b"]" * 100_000
MID = "mch_2xhFjEI5X2qWRvtV13BzSj8H6Dk"


@pytest.fixture(params=["default", "stdlib"])
def codec(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The installed codec (orjson here), and the default install's stdlib one."""
    if request.param == "stdlib":  # what CLERK_ASYNC_PURE_JSON=1 selects at import
        monkeypatch.setattr(_json, "loads", json.loads)
        monkeypatch.setattr(_json, "dumps", _json._stdlib_dumps)
    return str(request.param)


def _deep_list(depth: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(depth):
        value = [value]
    return value


async def _answer(server: RecordingServer, status: int, body: bytes) -> None:
    from aiohttp import web

    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response(status=status, body=body, content_type="application/json")

    server.script.append(handler)


async def test_a_deep_2xx_answer(codec: str, clerk: Clerk, server: RecordingServer) -> None:
    await _answer(server, 200, DEEP)
    with pytest.raises(ClerkResponseValidationError) as caught:
        await clerk.machines.get(MID)
    assert caught.value.status == 200
    await _answer(server, 200, DEEP)
    with pytest.raises(ClerkResponseValidationError):
        await clerk.request("GET", "/anything")


async def test_a_deep_error_answer(codec: str, clerk: Clerk, server: RecordingServer) -> None:
    await _answer(server, 400, DEEP)
    with pytest.raises(BadRequestError) as caught:
        await clerk.machines.get(MID)
    assert caught.value.errors == []
    assert caught.value.body == DEEP


@pytest.mark.parametrize("shape", ["cycle", "deep list", "deep dict"])
async def test_a_cyclic_or_deep_json_argument(
    codec: str, clerk: Clerk, server: RecordingServer, shape: str
) -> None:
    value: Any
    if shape == "cycle":
        value = {"a": []}
        value["a"].append(value)
    elif shape == "deep list":
        value = _deep_list(100_000)
    else:
        value = {}
        inner = value
        for _ in range(100_000):
            inner["k"] = {}
            inner = inner["k"]
    with pytest.raises(ClerkValidationError) as caught:
        await clerk.request("POST", "/anything", json=value)
    assert caught.value.field == "json"
    assert server.requests == []
