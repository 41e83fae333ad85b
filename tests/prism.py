"""Run the Prism mock server on Clerk's OpenAPI spec, for conformance tests.

Prism (``@stoplight/prism-cli``, pinned in ``package.json``) serves every operation of
``spec/clerk-bapi-2026-05-12.yml`` on loopback and validates each request against the
spec: a request that does not fit gets a 4xx and an ``sl-violations`` header. See
``tests/PRISM.md`` for what it checks and what it does not.

Usage::

    with run_prism() as server:
        # server.url is e.g. "http://127.0.0.1:41234"; Prism serves the spec's paths
        # without the server's "/v1" prefix, so a client's base URL is server.url.
        ...

Prism runs in its own process group under a tiny watchdog, so that it is stopped on
exit, on Ctrl-C, and also when the test process dies without cleaning up (the
watchdog sees its stdin pipe close and stops Prism).
"""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
SPEC_PATH = REPO_ROOT / "spec" / "clerk-bapi-2026-05-12.yml"
PRISM_BIN = REPO_ROOT / "node_modules" / ".bin" / "prism"
HOST = "127.0.0.1"

# Prism needs 2.5-5.5 s to load the 738 KB spec on this 2-core machine; leave room for
# a busy CI box.
STARTUP_TIMEOUT = 90.0
# The readiness probe asks for a path the spec does not have: Prism answers 404 with a
# problem+json body naming this error, which also proves that the port is Prism's.
_PROBE_PATH = "/__prism_readiness_probe__"
_PROBE_MARKER = b"NO_PATH_MATCHED_ERROR"
_PORT_ATTEMPTS = 3

# Runs as the direct child, in a new session: starts Prism, forwards SIGTERM/SIGINT/
# SIGHUP to it, stops it when stdin reaches EOF (the test process is gone), reaps it,
# and exits with its status. Uses only os-level calls, so no lock is re-entered from a
# signal handler.
_WATCHDOG = r"""
import os, select, signal, sys, time

argv = sys.argv[1:]
devnull = [(os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0)]
pid = os.posix_spawnp(argv[0], argv, os.environ, file_actions=devnull)
kill_at = None

def stop(*_):
    global kill_at
    if kill_at is None:
        kill_at = time.monotonic() + 5.0
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass

for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
    signal.signal(sig, stop)

stdin_open = True
while True:
    done, status = os.waitpid(pid, os.WNOHANG)
    if done:
        break
    if kill_at is not None and time.monotonic() > kill_at:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    if stdin_open:
        ready, _, _ = select.select([0], [], [], 0.2)
        if ready and not os.read(0, 4096):
            stdin_open = False
            stop()
    else:
        time.sleep(0.05)
sys.exit(os.waitstatus_to_exitcode(status))
"""


class PrismError(RuntimeError):
    """Prism could not be found or started."""


class PrismNotInstalled(PrismError):
    """``node_modules/.bin/prism`` is missing: ``npm ci`` has not been run."""


class PrismStartupError(PrismError):
    """Prism exited or did not answer in time; the message ends with its log's tail."""


@dataclass(frozen=True)
class PrismServer:
    """A running Prism: ``url`` is the base URL a client should use (no ``/v1``)."""

    url: str
    port: int
    pid: int
    log_path: Path
    dynamic: bool

    def log_tail(self, lines: int = 40) -> str:
        return _tail(self.log_path, lines)


def find_prism() -> Path:
    """Return the path of the pinned Prism binary, or raise `PrismNotInstalled`."""
    if not os.access(PRISM_BIN, os.X_OK):
        raise PrismNotInstalled(
            f"Prism is not installed: {PRISM_BIN} is missing. Run `npm ci` in "
            f"{REPO_ROOT} (or `make node`) to install the version pinned in package.json."
        )
    return PRISM_BIN


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def require_prism() -> Path:
    """Like `find_prism`, but skips the calling test outside CI when Prism is missing.

    In CI (env var ``CI`` set) a missing Prism is an error, so that conformance tests
    can never be skipped silently there.
    """
    try:
        return find_prism()
    except PrismNotInstalled as exc:
        if in_ci():
            raise
        pytest.skip(str(exc))


def free_port(host: str = HOST) -> int:
    """A port that was free a moment ago (Prism binds it right after)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def run_prism(
    spec: Path = SPEC_PATH,
    *,
    dynamic: bool = False,
    prism: Path | None = None,
    startup_timeout: float = STARTUP_TIMEOUT,
    extra_args: Sequence[str] = (),
) -> Iterator[PrismServer]:
    """Start ``prism mock`` on a free loopback port, wait until it answers, yield it.

    ``dynamic=True`` starts Prism with ``--dynamic`` (random schema-valid responses);
    the usual way is a static instance and a ``Prefer: dynamic=true`` request header.
    Prism's output goes to a temp file (``PrismServer.log_path``), which is removed on
    a clean exit and kept, with its tail in the error, when startup fails.
    """
    binary = prism if prism is not None else find_prism()
    fd, name = tempfile.mkstemp(prefix="prism-", suffix=".log")
    os.close(fd)
    log_path = Path(name)
    started = False
    try:
        for attempt in range(1, _PORT_ATTEMPTS + 1):
            port = free_port()
            args = [
                str(binary),
                "mock",
                "--host",
                HOST,
                "--port",
                str(port),
                *(["--dynamic"] if dynamic else []),
                *extra_args,
                str(spec),
            ]
            proc = _spawn(args, log_path)
            try:
                _wait_ready(proc, port, log_path, startup_timeout)
            except PrismStartupError:
                _stop(proc)
                if attempt < _PORT_ATTEMPTS and "EADDRINUSE" in _tail(log_path, 20):
                    continue  # lost the race for the port: try another one
                raise
            started = True
            try:
                yield PrismServer(
                    url=f"http://{HOST}:{port}",
                    port=port,
                    pid=proc.pid,
                    log_path=log_path,
                    dynamic=dynamic,
                )
            finally:
                _stop(proc)
            return
    finally:
        if started:
            log_path.unlink(missing_ok=True)


def _spawn(args: list[str], log_path: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "FORCE_COLOR": "0", "NO_COLOR": "1"}
    with log_path.open("ab") as log:
        return subprocess.Popen(
            [sys.executable, "-c", _WATCHDOG, *args],
            stdin=subprocess.PIPE,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=REPO_ROOT,
            env=env,
            start_new_session=True,
        )


def _wait_ready(proc: subprocess.Popen[bytes], port: int, log_path: Path, timeout: float) -> None:
    started = time.monotonic()
    deadline = started + timeout
    while True:
        code = proc.poll()
        if code is not None:
            raise PrismStartupError(
                f"Prism exited with status {code} during startup.\n"
                f"Last lines of {log_path}:\n{_tail(log_path, 40)}"
            )
        if _answers(port):
            return
        if time.monotonic() > deadline:
            raise PrismStartupError(
                f"Prism did not answer on {HOST}:{port} within {timeout:.0f} s.\n"
                f"Last lines of {log_path}:\n{_tail(log_path, 40)}"
            )
        time.sleep(0.1)


def _answers(port: int) -> bool:
    conn = http.client.HTTPConnection(HOST, port, timeout=2.0)
    try:
        conn.request("GET", _PROBE_PATH)
        response = conn.getresponse()
        return response.status == 404 and _PROBE_MARKER in response.read()
    except (OSError, http.client.HTTPException):
        return False
    finally:
        conn.close()


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop the watchdog and Prism (one process group) and reap the watchdog."""
    try:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
    finally:
        if proc.stdin is not None:
            with contextlib.suppress(OSError):
                proc.stdin.close()


def _tail(path: Path, lines: int) -> str:
    try:
        with path.open("rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 64 * 1024))
            data = f.read()
    except OSError as exc:
        return f"<cannot read {path}: {exc}>"
    return "\n".join(data.decode("utf-8", "replace").splitlines()[-lines:])
