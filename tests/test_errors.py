"""The error tree: built by a pure function, raised over real HTTP, never leaking the key."""

from __future__ import annotations

import asyncio
import logging
import traceback

import pytest
from multidict import CIMultiDict

from clerk_async import (
    AuthenticationError,
    BadRequestError,
    Clerk,
    ClerkAPIError,
    ClerkConnectionError,
    ClerkError,
    ClerkTimeoutError,
    ConflictError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    UnprocessableEntityError,
)
from clerk_async.errors import error_from_response, parse_retry_after
from tests._recorder import RecordingServer, clerk_errors
from tests.conftest import FAST_RETRY

MID = "mch_2xhFjEI5X2qWRvtV13BzSj8H6Dk"
BODY = (
    b'{"errors":[{"code":"resource_not_found","message":"not found",'
    b'"long_message":"Machine not found","meta":{"param_name":"id"}}],"clerk_trace_id":"abc123"}'
)


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (409, ConflictError),
        (422, UnprocessableEntityError),
        (429, RateLimitError),
        (500, InternalServerError),
        (502, InternalServerError),
        (503, InternalServerError),
        (418, ClerkAPIError),
    ],
)
def test_status_maps_to_class(status: int, cls: type[ClerkAPIError]) -> None:
    error = error_from_response(status, CIMultiDict(), BODY)
    assert type(error) is cls
    assert error.status == status
    assert isinstance(error, ClerkError)


def test_clerk_errors_body_is_parsed() -> None:
    error = error_from_response(404, CIMultiDict({"Retry-After": "7"}), BODY)
    assert error.code == "resource_not_found"
    assert error.errors[0].long_message == "Machine not found"
    assert error.errors[0].meta == {"param_name": "id"}
    assert error.clerk_trace_id == "abc123"
    assert error.retry_after == 7.0
    assert error.body == BODY
    assert (
        str(error)
        == "404 resource_not_found: not found (Machine not found) [retry after 7s] [trace abc123]"
    )


@pytest.mark.parametrize(
    "body",
    [
        b"<html><body><h1>502 Bad Gateway</h1></body></html>",
        b"",
        b"null",
        b"[1,2]",
        b'{"errors": "nope"}',
        b'{"errors": [1, {"code": null}]}',
        b"\xff\xfe garbage",
    ],
)
def test_any_body_is_tolerated(body: bytes) -> None:
    error = error_from_response(502, CIMultiDict({"cf-ray": "ray-1"}), body)
    assert isinstance(error, InternalServerError)
    assert error.status == 502
    assert error.clerk_trace_id == "ray-1"  # falls back to Cloudflare's ray id
    assert str(error).startswith("502")


def test_a_body_that_is_not_clerks_is_described_not_quoted() -> None:
    # A proxy's page may echo the request (its Authorization header): never quoted.
    page = b"<html><h1>502 Bad Gateway</h1><pre>Authorization: Bearer sk_live_x</pre></html>"
    error = error_from_response(502, CIMultiDict({"Content-Type": "text/html"}), page)
    assert str(error) == (
        f"502 (a {len(page)}-byte body that is not Clerk's error JSON: text/html)"
    )
    assert "sk_live" not in repr(error)
    assert error.errors == []
    assert error.body == page


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("3", 3.0),
        ("1.5", 1.5),
        ("-4", 0.0),
        ("Wed, 21 Oct 2015 07:28:10 GMT", 10.0),
        ("Wed, 21 Oct 2015 07:27:00 GMT", 0.0),
        ("soon", None),
        ("", None),
        (None, None),
        ("nan", None),
        ("inf", None),
    ],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    now = 1445412480.0  # Wed, 21 Oct 2015 07:28:00 GMT
    assert parse_retry_after(value, now=now) == expected


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (409, ConflictError),
        (422, UnprocessableEntityError),
    ],
)
async def test_api_errors_over_http(
    clerk: Clerk, server: RecordingServer, status: int, cls: type[ClerkAPIError]
) -> None:
    server.reply(status, clerk_errors("some_code", "it failed", trace=f"trace-{status}"))
    with pytest.raises(cls) as info:
        await clerk.machines.update(MID, name="x")
    assert info.value.status == status
    assert info.value.code == "some_code"
    assert info.value.clerk_trace_id == f"trace-{status}"
    assert len(server.requests) == 1  # 4xx (other than 429) is never retried


async def test_html_502_from_a_proxy(server: RecordingServer) -> None:
    server.reply(502, text="<html><h1>502 Bad Gateway</h1></html>")
    async with Clerk(
        "sk_test_secret123", base_url=server.url, rate_limit=None, max_retries=0
    ) as clerk:
        with pytest.raises(InternalServerError, match=r"not Clerk's error JSON: text/") as info:
            await clerk.machines.update(MID, name="x")
    assert info.value.status == 502
    assert info.value.body == b"<html><h1>502 Bad Gateway</h1></html>"


async def test_connection_refused_is_a_connection_error() -> None:
    async with Clerk(
        "sk_test_k", base_url="http://127.0.0.1:9/v1", rate_limit=None, max_retries=0
    ) as clerk:
        with pytest.raises(ClerkConnectionError):
            await clerk.machines.update(MID, name="x")


async def test_timeout_is_a_timeout_error(server: RecordingServer) -> None:
    server.reply(200, {}, delay=1.0)
    async with Clerk(
        "sk_test_k", base_url=server.url, rate_limit=None, max_retries=0, timeout=0.2
    ) as clerk:
        with pytest.raises(ClerkTimeoutError, match=r"0\.2s"):
            await clerk.machines.update(MID, name="x")


async def test_the_secret_key_never_leaks(
    server: RecordingServer, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "sk_live_SUPERSECRETvalue42"
    caplog.set_level(logging.DEBUG, logger="clerk_async")
    server.reply(503, clerk_errors("internal_clerk_error", "boom"), times=2)
    server.reply(401, clerk_errors("authentication_invalid", "bad key"))
    async with Clerk(secret, base_url=server.url, rate_limit=None, retry=FAST_RETRY) as clerk:
        assert secret not in repr(clerk)
        assert "SUPERSECRET" not in repr(clerk._transport)
        with pytest.raises(AuthenticationError) as info:
            await clerk.machines.update(MID, name="x", deadline=30)
    exc = info.value
    rendered = "".join(traceback.format_exception(exc)) + repr(exc) + str(exc) + repr(exc.headers)
    assert "SUPERSECRET" not in rendered
    assert "SUPERSECRET" not in caplog.text
    assert "retrying PATCH /machines/{machine_id}" in caplog.text  # retries were logged


async def test_missing_secret_key_is_a_clear_error_at_first_request(
    monkeypatch: pytest.MonkeyPatch, server: RecordingServer
) -> None:
    from clerk_async import ClerkConfigError, ClerkValidationError

    monkeypatch.delenv("CLERK_SECRET_KEY", raising=False)
    async with Clerk(base_url=server.url) as clerk:  # constructing is fine
        with pytest.raises(ClerkValidationError, match="CLERK_SECRET_KEY") as info:
            await clerk.machines.update(MID, name="x")
    assert info.value.field == "secret_key"
    assert isinstance(info.value, ClerkConfigError)  # the program's configuration, not its input
    assert server.requests == []


async def test_no_secret_in_the_chain_of_a_malformed_response() -> None:
    """aiohttp's errors carry the request headers; ours must not chain them."""

    async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: nope\r\n\r\n{}")
        await writer.drain()
        writer.close()

    secret = "sk_live_CHAINSECRET99"
    tcp = await asyncio.start_server(garbage, "127.0.0.1", 0)
    port = tcp.sockets[0].getsockname()[1]
    try:
        async with Clerk(
            secret, base_url=f"http://127.0.0.1:{port}/v1", rate_limit=None, max_retries=0
        ) as clerk:
            with pytest.raises(ClerkConnectionError) as info:
                await clerk.machines.update(MID, name="x")
    finally:
        tcp.close()
        await tcp.wait_closed()
    exc: BaseException | None = info.value
    seen = []
    while exc is not None:
        seen.append(repr(exc) + str(exc) + repr(vars(exc)))
        exc = exc.__cause__ or exc.__context__
    rendered = "".join(traceback.format_exception(info.value)) + "".join(seen)
    assert "CHAINSECRET" not in rendered
