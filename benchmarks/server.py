"""A small, fast HTTP/1.1 server that plays Clerk's ``PATCH /v1/machines/{id}`` for benchmarks.

It runs in its own process (``python benchmarks/server.py [--port N]``) so that its CPU time
can be read apart from the client's (``/proc/<pid>/stat``), and it is written to stay far
from being the bottleneck: a raw :class:`asyncio.Protocol` (on uvloop when installed) that
parses only what simple keep-alive requests need (the request line, ``Content-Length``,
``Connection: close``), skips the body, and answers with one pre-built response.

- ``PATCH /v1/machines/{id}`` -> 200 with a spec-shaped Machine (one scoped machine), ~400 bytes.
- ``GET /v1/users/{id}`` -> 200 with one realistic User (``user.json``: two email addresses,
  metadata), ~2 kB; ``GET /v1/users?...`` -> 200 with ten of them (the big-model benchmarks).
- anything else -> 404 with a Clerk-shaped error body.

Pipelined requests are answered in order. Chunked request bodies are not supported (no
client under test sends them): such a request gets a 400 and the connection is closed.
On start it prints ``PORT <n>`` on stdout, then serves until SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from pathlib import Path
from typing import Any, Final, cast

__all__ = ["MACHINE", "MACHINE_BODY", "USER", "USER_ID", "serve"]

MACHINE_ID: Final = "mch_2xhFjEI5X2qWRvtV13BzSj8H6Dk"
MACHINE: Final = {
    "object": "machine",
    "id": MACHINE_ID,
    "name": "billing-worker",
    "instance_id": "ins_2xhFjEI5X2qWRvtV13BzSj8H6Dk",
    "created_at": 1754938436732,
    "updated_at": 1754938436999,
    "default_token_ttl": 3600,
    "scoped_machines": [
        {
            "object": "machine",
            "id": "mch_2yLedgerAAAAAAAAAAAAAAAAAAA",
            "name": "ledger",
            "instance_id": "ins_2xhFjEI5X2qWRvtV13BzSj8H6Dk",
            "created_at": 1754938436732,
            "updated_at": 1754938436732,
            "default_token_ttl": 3600,
        }
    ],
}
MACHINE_BODY: Final = json.dumps(MACHINE, separators=(",", ":")).encode()
USER: Final[dict[str, Any]] = json.loads(Path(__file__).with_name("user.json").read_text())
USER_ID: Final[str] = USER["id"]
USER_BODY: Final = json.dumps(USER, separators=(",", ":")).encode()
USERS_BODY: Final = json.dumps(
    [{**USER, "id": f"{USER_ID[:-2]}{i:02d}"} for i in range(10)], separators=(",", ":")
).encode()
NOT_FOUND_BODY: Final = json.dumps(
    {
        "errors": [
            {
                "message": "not found",
                "long_message": "No route matches this request",
                "code": "resource_not_found",
                "meta": {},
            }
        ],
        "clerk_trace_id": "bench",
    },
    separators=(",", ":"),
).encode()


def _response(status: str, body: bytes, *, close: bool = False) -> bytes:
    head = (
        f"HTTP/1.1 {status}\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n"
        f"Connection: {'close' if close else 'keep-alive'}\r\n"
        "\r\n"
    )
    return head.encode("ascii") + body


OK: Final = _response("200 OK", MACHINE_BODY)
OK_CLOSE: Final = _response("200 OK", MACHINE_BODY, close=True)
# The answers by route: (request line prefix, keep-alive answer, closing answer).
ROUTES: Final = (
    (b"PATCH /v1/machines/", OK, OK_CLOSE),
    (b"GET /v1/users/", _response("200 OK", USER_BODY), _response("200 OK", USER_BODY, close=True)),
    (
        b"GET /v1/users?",
        _response("200 OK", USERS_BODY),
        _response("200 OK", USERS_BODY, close=True),
    ),
)
NOT_FOUND: Final = _response("404 Not Found", NOT_FOUND_BODY)
NOT_FOUND_CLOSE: Final = _response("404 Not Found", NOT_FOUND_BODY, close=True)
BAD_REQUEST: Final = _response("400 Bad Request", b'{"errors":[]}', close=True)

_MAX_HEAD: Final = 64 * 1024


class _Stats:
    requests = 0


class HTTPProtocol(asyncio.Protocol):
    """One connection: a byte buffer, a state of how many body bytes to skip, and writes."""

    __slots__ = ("_buf", "_skip", "_transport")

    def __init__(self) -> None:
        self._buf = b""
        self._skip = 0  # body bytes of the current request still to discard
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports do not subclass asyncio.Transport: cast, do not check.
        self._transport = cast("asyncio.Transport", transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None

    def data_received(self, data: bytes) -> None:
        transport = self._transport
        if transport is None:
            return
        if self._skip:
            if len(data) <= self._skip:
                self._skip -= len(data)
                return
            data = data[self._skip :]
            self._skip = 0
        buf = self._buf + data if self._buf else data
        out: list[bytes] = []
        while True:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                if len(buf) > _MAX_HEAD:
                    transport.write(BAD_REQUEST)
                    transport.close()
                    return
                break
            head = buf[:end].lower()
            length = 0
            close = False
            i = head.find(b"\r\ncontent-length:")
            if i >= 0:
                j = head.find(b"\r\n", i + 17)
                length = int(head[i + 17 : j if j >= 0 else len(head)])
            if b"\r\nconnection: close" in head:
                close = True
            if b"\r\ntransfer-encoding:" in head:
                transport.write(b"".join(out) + BAD_REQUEST)
                transport.close()
                return
            answer, answer_close = NOT_FOUND, NOT_FOUND_CLOSE
            for prefix, keep, closing in ROUTES:
                if buf.startswith(prefix):
                    answer, answer_close = keep, closing
                    break
            _Stats.requests += 1
            if close:
                out.append(answer_close)
                transport.write(b"".join(out))
                transport.close()
                self._buf = b""
                return
            out.append(answer)
            start = end + 4 + length
            if start > len(buf):  # the body has not all arrived: skip the rest later
                self._skip = start - len(buf)
                buf = b""
                break
            buf = buf[start:]
            if not buf:
                break
        self._buf = buf
        if out:
            transport.write(out[0] if len(out) == 1 else b"".join(out))


async def serve(host: str, port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(HTTPProtocol, host, port, backlog=4096, reuse_address=True)
    sockets = server.sockets
    bound = sockets[0].getsockname()[1] if sockets else port
    print(f"PORT {bound}", flush=True)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()
    print(f"served {_Stats.requests} requests", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port (printed)")
    parser.add_argument("--no-uvloop", action="store_true", help="use the stdlib event loop")
    args = parser.parse_args(argv)
    loop_factory = None
    if not args.no_uvloop:
        try:
            import uvloop
        except ImportError:
            pass
        else:
            loop_factory = uvloop.new_event_loop
    if sys.version_info >= (3, 11):
        with asyncio.Runner(loop_factory=loop_factory) as runner:
            runner.run(serve(args.host, args.port))
    else:  # pragma: no cover - 3.10
        if loop_factory is not None:
            asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
        asyncio.run(serve(args.host, args.port))


if __name__ == "__main__":
    main()
