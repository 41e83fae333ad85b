"""The ``clerk-async`` command: machines from the shell, bulk updates from a file, a demo.

It is built on the public API only (what ``from clerk_async import ...`` gives, plus
``clerk_async.testing.FakeClerk`` for ``--fake`` and ``demo``), so it doubles as an
example of using the library.

Exit codes: 0 success; 1 some items (or the one call) failed; 2 usage error or bad input
file; 3 authentication or permission failure (401/403); 4 network trouble; 130 Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import json
import logging
import os
import signal
import stat
import sys
import time
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Generator,
    Iterator,
    Mapping,
    Sequence,
)
from typing import IO, TYPE_CHECKING, Any, Final

import attrs

from clerk_async import (
    AuthenticationError,
    Clerk,
    ClerkAPIError,
    ClerkConnectionError,
    ClerkError,
    ClerkResponseValidationError,
    ClerkTimeoutError,
    ClerkValidationError,
    PermissionDeniedError,
    RateLimit,
    __version__,
)
from clerk_async.client import base_url_from_api_url

if TYPE_CHECKING:
    from clerk_async.testing import FakeClerk

__all__ = ["main"]

EXIT_OK: Final = 0
EXIT_FAILED: Final = 1
EXIT_USAGE: Final = 2
EXIT_AUTH: Final = 3
EXIT_NETWORK: Final = 4
EXIT_INTERRUPTED: Final = 130

FORMATS: Final = {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv"}
CSV_COLUMNS: Final = {
    "machine_id": "machine_id",
    "machineId": "machine_id",
    "name": "name",
    "default_token_ttl": "default_token_ttl",
    "defaultTokenTtl": "default_token_ttl",
}
ID_KEYS: Final = ("machine_id", "machineId")
# Not parser.set_defaults(): it would write these into the actions the subcommands share.
GLOBAL_DEFAULTS: Final[Mapping[str, Any]] = {
    "secret_key": None,
    "api_url": None,
    "fake": False,
    "rate_limit": "auto",
    "max_retries": None,
    "verbose": False,
}
PROGRESS_INTERVAL: Final = 2.0  # seconds between plain progress lines
SHOWN_FAILURES: Final = 10  # failures echoed to stderr when there is no --report

log = logging.getLogger("clerk_async.cli")


class UsageError(Exception):
    """Bad arguments or a bad input file: the message is printed, the exit code is 2."""


def _err(message: str) -> None:
    print(f"clerk-async: {message}", file=sys.stderr, flush=True)


# --- arguments ---------------------------------------------------------------------------


def _rate_limit(text: str) -> RateLimit | str | None:
    """``N/T`` (N requests per T seconds), ``off``, or ``auto`` (the key's documented limit)."""
    if text in ("off", "none"):
        return None
    if text == "auto":
        return "auto"
    requests, sep, seconds = text.partition("/")
    try:
        if not sep:
            raise ValueError
        return RateLimit(int(requests), float(seconds))
    except (ValueError, TypeError):
        raise argparse.ArgumentTypeError(
            f"expected N/T (N requests per T seconds, e.g. 100/10), off or auto; got {text!r}"
        ) from None


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}")
    return value


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}")
    return value


def _parser() -> argparse.ArgumentParser:
    # The global options are accepted before or after the subcommand: every parser gets
    # them with SUPPRESS defaults, so a later (inner) parser never resets an earlier value.
    common = argparse.ArgumentParser(add_help=False, argument_default=argparse.SUPPRESS)
    common.add_argument(
        "--secret-key",
        metavar="KEY",
        help="Clerk secret key (default: $CLERK_SECRET_KEY; the environment is safer than argv)",
    )
    common.add_argument(
        "--api-url",
        metavar="URL",
        help="API root, without /v1 (default: $CLERK_API_URL or https://api.clerk.com)",
    )
    common.add_argument(
        "--fake",
        action="store_true",
        help="run against an in-process FakeClerk instead of Clerk; machine ids you name exist",
    )
    common.add_argument(
        "--rate-limit",
        metavar="N/T|off",
        type=_rate_limit,
        help="client-side pacing: N requests per T seconds, or off (default: the key's "
        "documented instance limit; with --fake: off, else the fake enforces the same limit)",
    )
    common.add_argument(
        "--max-retries",
        metavar="N",
        type=_non_negative_int,
        help="retries of a failed request when safe (default: 3)",
    )
    common.add_argument(
        "-v", "--verbose", action="store_true", help="log every request (DEBUG) to stderr"
    )

    parser = argparse.ArgumentParser(
        prog="clerk-async",
        description="Clerk's Backend API from the shell: machines, bulk updates, a demo.",
        epilog="exit codes: 0 ok, 1 failures, 2 usage or bad input, 3 auth (401/403), "
        "4 network, 130 interrupted",
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    machines = commands.add_parser("machines", help="machines: list, get, create, update, ...")
    ops = machines.add_subparsers(dest="op", metavar="OPERATION", required=True)

    p = ops.add_parser("list", parents=[common], help="one page of machines")
    p.add_argument("--limit", type=_positive_int, help="page size (1..500; default 10)")
    p.add_argument("--offset", type=_non_negative_int)
    p.add_argument("--query", help="a machine id, or part of a name")
    p.add_argument("--order-by", help="name or created_at, optionally +/- prefixed")
    p.set_defaults(handler=_machines_list)

    p = ops.add_parser("get", parents=[common], help="one machine")
    p.add_argument("machine_id", metavar="ID")
    p.set_defaults(handler=_machines_get)

    p = ops.add_parser("create", parents=[common], help="create a machine")
    p.add_argument("--name", required=True)
    p.add_argument("--default-token-ttl", type=_positive_int, metavar="SECONDS")
    p.add_argument(
        "--scoped-machine",
        action="append",
        metavar="ID",
        dest="scoped_machines",
        help="a machine this one may reach (repeatable)",
    )
    p.add_argument(
        "--show-secret",
        action="store_true",
        help="print the new machine's secret key (Clerk shows it only once)",
    )
    p.set_defaults(handler=_machines_create)

    p = ops.add_parser("update", parents=[common], help="change a machine's name or token TTL")
    p.add_argument("machine_id", metavar="ID")
    p.add_argument("--name")
    p.add_argument("--default-token-ttl", type=_positive_int, metavar="SECONDS")
    p.set_defaults(handler=_machines_update)

    p = ops.add_parser("delete", parents=[common], help="delete a machine")
    p.add_argument("machine_id", metavar="ID")
    p.set_defaults(handler=_machines_delete)

    p = ops.add_parser(
        "update-many",
        parents=[common],
        help="update machines from a JSON Lines or CSV file, concurrently",
        description="Stream FILE (JSON Lines: one object per line with machine_id/machineId "
        "and name/default_token_ttl, camelCase or snake_case; or CSV with a header of "
        "machine_id,name,default_token_ttl) and update every machine. Keys starting with _ "
        "are ignored, so a --report file can be fed back as input. FILE '-' is stdin.",
    )
    p.add_argument("file", metavar="FILE")
    p.add_argument("--format", choices=("jsonl", "csv"), help="default: from FILE's extension")
    p.add_argument("--concurrency", type=_positive_int, default=32, metavar="N", help="default: 32")
    p.add_argument("--fail-fast", action="store_true", help="take no new item after a failure")
    p.add_argument(
        "--report",
        metavar="PATH",
        help="write each failed (or, when stopped early, unfinished) item as a JSON line: "
        "the input plus an _error object",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar or lines")
    p.set_defaults(handler=_machines_update_many)

    p = commands.add_parser(
        "demo",
        parents=[common],
        help="create and update many machines on an embedded FakeClerk",
        description="Start a FakeClerk in-process, create N machines concurrently, then "
        "update them all with machines.update_many and verify with machines.list.",
    )
    p.add_argument("--machines", type=_positive_int, default=2000, metavar="N")
    p.add_argument("--concurrency", type=_positive_int, default=64, metavar="N")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(handler=_demo)
    return parser


# --- the client ---------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def _open(args: argparse.Namespace) -> AsyncIterator[tuple[Clerk, FakeClerk | None]]:
    """The client the arguments ask for, and the FakeClerk behind it with ``--fake``."""
    options: dict[str, Any] = {}
    if args.max_retries is not None:
        options["max_retries"] = args.max_retries
    if args.fake:
        from clerk_async.testing import FakeClerk

        # The fake enforces what the client paces itself to: both off unless asked.
        limit = None if args.rate_limit == "auto" else args.rate_limit
        async with (
            FakeClerk(rate_limit=limit) as fake,
            fake.client(rate_limit=limit, **options) as clerk,
        ):
            yield clerk, fake
        return
    key = args.secret_key or os.environ.get("CLERK_SECRET_KEY")
    if not key:
        raise UsageError("no secret key: set CLERK_SECRET_KEY or pass --secret-key (or --fake)")
    if args.api_url:
        options["base_url"] = base_url_from_api_url(args.api_url, "--api-url")
    async with Clerk(key, rate_limit=args.rate_limit, **options) as clerk:
        yield clerk, None


def _seed(fake: FakeClerk | None, machine_id: object) -> None:
    """With --fake, a machine the user names exists: the fake starts empty, and a run
    where every item fails with 404 would show nothing about the file or the flags."""
    if fake is None or not isinstance(machine_id, str) or machine_id in fake.machines:
        return
    fake.add_machine("seeded by clerk-async --fake", machine_id=machine_id)


def _print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def _as_json(obj: Any) -> dict[str, Any]:
    return attrs.asdict(obj)


# --- machines list/get/create/update/delete --------------------------------------------


async def _machines_list(args: argparse.Namespace) -> int:
    params = {
        key: getattr(args, key)
        for key in ("limit", "offset", "query", "order_by")
        if getattr(args, key) is not None
    }
    async with _open(args) as (clerk, _):
        page = await clerk.machines.list(**params)
    _print_json({"data": [_as_json(m) for m in page.data], "total_count": page.total_count})
    return EXIT_OK


async def _machines_get(args: argparse.Namespace) -> int:
    async with _open(args) as (clerk, fake):
        _seed(fake, args.machine_id)
        machine = await clerk.machines.get(args.machine_id)
    _print_json(_as_json(machine))
    return EXIT_OK


async def _machines_create(args: argparse.Namespace) -> int:
    fields: dict[str, Any] = {"name": args.name}
    if args.default_token_ttl is not None:
        fields["default_token_ttl"] = args.default_token_ttl
    if args.scoped_machines:
        fields["scoped_machines"] = args.scoped_machines
    async with _open(args) as (clerk, fake):
        for machine_id in args.scoped_machines or ():
            _seed(fake, machine_id)
        created = await clerk.machines.create(**fields)
    out = _as_json(created)
    if not args.show_secret:
        out.pop("secret_key", None)
    _print_json(out)
    return EXIT_OK


async def _machines_update(args: argparse.Namespace) -> int:
    fields: dict[str, Any] = {}
    if args.name is not None:
        fields["name"] = args.name
    if args.default_token_ttl is not None:
        fields["default_token_ttl"] = args.default_token_ttl
    if not fields:
        raise UsageError(
            "machines update: nothing to change; give --name and/or --default-token-ttl"
        )
    async with _open(args) as (clerk, fake):
        _seed(fake, args.machine_id)
        machine = await clerk.machines.update(args.machine_id, **fields)
    _print_json(_as_json(machine))
    return EXIT_OK


async def _machines_delete(args: argparse.Namespace) -> int:
    async with _open(args) as (clerk, fake):
        _seed(fake, args.machine_id)
        deleted = await clerk.machines.delete(args.machine_id)
    _print_json(_as_json(deleted))
    return EXIT_OK


# --- update-many: the input file ---------------------------------------------------------


class _Row(dict[str, Any]):
    """One item for ``update()``: the mapping without ``_`` keys, plus where it came from."""

    __slots__ = ("line", "original")

    line: int
    original: dict[str, Any]  # what the report writes back: the input as read, minus _error


class _BadInput(Exception):
    def __init__(self, line: int, reason: str) -> None:
        super().__init__(reason)
        self.line = line
        self.reason = reason


class _Source:
    """Reads FILE lazily, one line at a time, and yields a :class:`_Row` per item.

    It never raises into the batch: at the first bad line it stops yielding and keeps the
    reason in ``error``, so that the items already read finish normally. ``position`` is
    how many bytes have been read (for the progress bar), ``taken`` the rows handed out
    whose result has not come back yet.
    """

    def __init__(self, path: str, fmt: str | None) -> None:
        if fmt is None:
            ext = os.path.splitext(path)[1].lower()
            fmt = FORMATS.get(ext)
            if fmt is None:
                raise UsageError(
                    f"{path}: cannot tell the format from the extension {ext or '(none)'!r}; "
                    "use .jsonl, .ndjson or .csv, or pass --format jsonl|csv"
                )
        self.path = path
        self.format = fmt
        self.size: int | None = None
        self._file: IO[bytes]
        if path == "-":
            self._file = sys.stdin.buffer
        else:
            try:
                self._file = open(path, "rb")  # noqa: SIM115 (closed by close())
            except OSError as exc:
                raise UsageError(f"{path}: {exc.strerror or exc}") from None
            info = os.fstat(self._file.fileno())
            if stat.S_ISREG(info.st_mode):
                self.size = info.st_size
        self.position = 0
        self.line = 0  # the last line read
        self.error: str | None = None
        self.taken: dict[int, _Row] = {}
        self.before_yield: Callable[[_Row], None] | None = None
        self._rows = self._generate()

    def __iter__(self) -> Iterator[_Row]:
        return self._rows

    def close(self) -> None:
        self._rows.close()
        if self._file is not sys.stdin.buffer:
            self._file.close()

    def _generate(self) -> Generator[_Row, None, None]:
        try:
            rows = self._jsonl() if self.format == "jsonl" else self._csv()
            for row in rows:
                self.taken[row.line] = row
                if self.before_yield is not None:
                    self.before_yield(row)
                yield row
        except _BadInput as exc:
            self.error = f"{self.path}:{exc.line}: {exc.reason}"
        except OSError as exc:
            self.error = f"{self.path}:{self.line + 1}: cannot read: {exc.strerror or exc}"

    def _lines(self) -> Iterator[str]:
        for raw in self._file:
            self.line += 1
            self.position += len(raw)
            try:
                text = raw.decode("utf-8-sig" if self.line == 1 else "utf-8")
            except UnicodeDecodeError as exc:
                raise _BadInput(self.line, f"not UTF-8 text ({exc.reason})") from None
            yield text

    def _jsonl(self) -> Iterator[_Row]:
        for text in self._lines():
            if not text.strip():
                continue
            try:
                obj = json.loads(text)
            except ValueError as exc:
                reason = getattr(exc, "msg", str(exc))
                column = getattr(exc, "colno", None)
                where = f" at column {column}" if column else ""
                raise _BadInput(self.line, f"invalid JSON: {reason}{where}") from None
            if not isinstance(obj, dict):
                raise _BadInput(self.line, f"expected a JSON object, got {type(obj).__name__}")
            yield _make_row(self.line, obj)

    def _csv(self) -> Iterator[_Row]:
        reader = csv.reader(self._lines(), strict=True)
        try:
            header = next(reader, None)
            if header is None:
                return
            columns = [name.strip() for name in header]
            _check_header(reader.line_num, columns)
            for cells in reader:
                if not cells:
                    continue  # a blank line
                if len(cells) != len(columns):
                    raise _BadInput(
                        reader.line_num, f"expected {len(columns)} cells, found {len(cells)}"
                    )
                obj: dict[str, Any] = {}
                for column, cell in zip(columns, cells, strict=True):
                    if cell == "":
                        continue  # an empty cell: not given
                    if CSV_COLUMNS.get(column) == "default_token_ttl":
                        with contextlib.suppress(ValueError):
                            obj[column] = int(cell)  # else the string, refused per item
                            continue
                    obj[column] = cell
                yield _make_row(reader.line_num, obj)
        except csv.Error as exc:
            raise _BadInput(reader.line_num, f"invalid CSV: {exc}") from None


def _check_header(line: int, columns: list[str]) -> None:
    seen: dict[str, str] = {}
    for column in columns:
        if column.startswith("_"):
            continue
        field = CSV_COLUMNS.get(column)
        if field is None:
            raise _BadInput(
                line, f"unknown column {column!r}; expected machine_id, name, default_token_ttl"
            )
        if field in seen:
            raise _BadInput(line, f"columns {seen[field]!r} and {column!r} are the same field")
        seen[field] = column
    if "machine_id" not in seen:
        raise _BadInput(line, "the header has no machine_id column")


def _make_row(line: int, obj: dict[str, Any]) -> _Row:
    row = _Row({k: v for k, v in obj.items() if not k.startswith("_")})
    row.line = line
    row.original = {k: v for k, v in obj.items() if k != "_error"}
    return row


def _row_id(row: Mapping[str, Any]) -> object:
    for key in ID_KEYS:
        if key in row:
            return row[key]
    return None


# --- update-many: the report, progress and summary ------------------------------------


def _error_info(exc: BaseException | None) -> dict[str, Any]:
    """The ``_error`` object of a report line."""
    status: int | None = None
    code: str | None
    trace_id: str | None = None
    message = str(exc)
    if isinstance(exc, ClerkAPIError):
        status, code, trace_id = exc.status, exc.code, exc.clerk_trace_id
        if exc.errors:
            message = exc.errors[0].long_message or exc.errors[0].message
    elif isinstance(exc, ClerkValidationError):
        code = "invalid_input"
    elif isinstance(exc, ClerkTimeoutError):
        code = "timeout"
    elif isinstance(exc, ClerkConnectionError):
        code = "connection_failed"
    elif isinstance(exc, ClerkResponseValidationError):
        status, code = exc.status, "invalid_response"
    elif exc is None:
        code = "not_completed"
        message = "the run stopped before this update finished; it may or may not have been applied"
    else:
        code = "client_error"
    return {"status": status, "code": code, "message": message, "trace_id": trace_id}


class _Report:
    """The failures: JSON lines in ``--report``, else the first few on stderr."""

    def __init__(self, path: str | None, source: _Source) -> None:
        self.path = path
        self.count = 0
        self._source = source
        self._file: IO[str] | None = None
        if path is not None:
            if source.path != "-" and os.path.exists(path):
                with contextlib.suppress(OSError):
                    if os.path.samefile(path, source.path):
                        raise UsageError(f"--report {path} would overwrite the input file")
            try:
                self._file = open(path, "w", encoding="utf-8")  # noqa: SIM115
            except OSError as exc:
                raise UsageError(f"--report {path}: {exc.strerror or exc}") from None

    def add(self, row: _Row, error: BaseException | None, echo: Callable[[str], None]) -> None:
        self.count += 1
        info = _error_info(error)
        if self._file is not None:
            line = {**row.original, "_error": info}
            self._file.write(json.dumps(line, ensure_ascii=False) + "\n")
        elif self.count <= SHOWN_FAILURES:
            status = info["status"] or info["code"]
            echo(f"{self._source.path}:{row.line}: {_row_id(row)!s}: {status}: {info['message']}")

    def close(self) -> None:
        if self._file is not None:
            self._file.close()


class _Progress:
    """A tqdm bar when tqdm is installed and stderr is a terminal, else a line every 2 s.

    ``total`` and ``position`` are in the units of what is known up front: bytes of the
    input file for update-many (a stream has no item count), items for the demo.
    """

    def __init__(self, label: str, total: int | None, *, enabled: bool) -> None:
        self.label = label
        self.total = total
        self.enabled = enabled
        self._started = time.monotonic()
        self._last_line = self._started
        self._bar: Any = None
        self._position = 0
        if enabled and sys.stderr.isatty():
            try:
                from tqdm import tqdm
            except ImportError:
                pass
            else:
                fmt = (
                    "{desc} {percentage:3.0f}%|{bar}| [{elapsed}<{remaining}{postfix}]"
                    if total
                    else "{desc} [{elapsed}{postfix}]"
                )
                self._bar = tqdm(
                    total=total or None, desc=label, bar_format=fmt, file=sys.stderr, leave=True
                )

    def write(self, text: str) -> None:
        """A message that does not garble the bar."""
        if self._bar is not None:
            self._bar.write(text, file=sys.stderr)
        else:
            print(text, file=sys.stderr, flush=True)

    def update(self, position: int, done: int, failed: int) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        rate = done / max(now - self._started, 1e-9)
        status = f"{done} done, {failed} failed, {rate:.0f}/s"
        if self._bar is not None:
            self._bar.set_postfix_str(status, refresh=False)
            self._bar.update(position - self._position)
            self._position = position
        elif now - self._last_line >= PROGRESS_INTERVAL:
            self._last_line = now
            share = f" {100 * position / self.total:.0f}% of input," if self.total else ""
            self.write(f"{self.label}:{share} {status}, {now - self._started:.0f} s")

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def _summary(label: str, succeeded: int, failed: int, elapsed: float) -> str:
    rate = (succeeded + failed) / elapsed if elapsed > 0 else 0.0
    return (
        f"{label}: {succeeded} succeeded, {failed} failed in {elapsed:.2f} s "
        f"({rate:.0f} requests/s)"
    )


# --- update-many: the run -----------------------------------------------------------------


async def _machines_update_many(args: argparse.Namespace) -> int:
    source = _Source(args.file, args.format)
    try:
        async with _open(args) as (clerk, fake):
            if fake is not None:
                source.before_yield = lambda row: _seed(fake, _row_id(row))
            report = _Report(args.report, source)  # after the key check: a usage error keeps it
            try:
                return await _run_update_many(clerk, args, source, report)
            finally:
                report.close()
    finally:
        source.close()


async def _run_update_many(
    clerk: Clerk, args: argparse.Namespace, source: _Source, report: _Report
) -> int:
    progress = _Progress("update-many", source.size, enabled=not args.no_progress)
    batch = clerk.machines.update_many(
        source, concurrency=args.concurrency, fail_fast=args.fail_fast
    )
    code = EXIT_OK
    stopped: str | None = None
    # Counted here, as results are consumed, not with batch.succeeded/failed: when the
    # run stops early, a result the batch finished but we never saw is "unfinished".
    succeeded = failed = 0
    started = time.monotonic()
    try:
        async with batch:
            async for result in batch:
                row: _Row = result.input
                source.taken.pop(row.line, None)
                error = result.error
                if error is None:
                    succeeded += 1
                else:
                    failed += 1
                    report.add(row, error, progress.write)
                    if isinstance(error, (AuthenticationError, PermissionDeniedError)):
                        code = EXIT_AUTH
                        stopped = f"stopped: {error} (every item would fail the same way)"
                        break
                    if isinstance(error, ClerkConnectionError):
                        code = EXIT_NETWORK
                        stopped = f"stopped: cannot reach the API: {error}"
                        break
                progress.update(source.position, succeeded + failed, failed)
    except asyncio.CancelledError:
        stopped = "stopped"
        raise
    finally:
        progress.close()
        elapsed = time.monotonic() - started
        # Rows handed out whose result never came back: cancelled in flight.
        unfinished = sorted(source.taken.values(), key=lambda r: r.line)
        for row in unfinished:
            report.add(row, None, progress.write)
        if source.error is not None:
            code = EXIT_USAGE
            _err(f"{source.error} (the items before this line were processed)")
        elif code == EXIT_OK and failed:
            code = EXIT_FAILED
        if stopped is not None:
            _err(f"{stopped}; input read up to line {source.line}")
        elif args.fail_fast and failed:
            _err(f"stopped at the first failure (--fail-fast); input read up to line {source.line}")
        line = _summary("update-many", succeeded, failed, elapsed)
        if unfinished:
            line += f", {len(unfinished)} cancelled in flight"
        if report.path is not None:
            line += f"; {report.count} written to {report.path}"
        elif report.count > SHOWN_FAILURES:
            line += f"; {report.count - SHOWN_FAILURES} more not shown (use --report)"
        print(line, flush=True)
    return code


# --- demo --------------------------------------------------------------------------------


async def _demo(args: argparse.Namespace) -> int:
    from clerk_async.testing import FakeClerk

    n, concurrency = args.machines, args.concurrency
    show = not args.no_progress
    limit = None if args.rate_limit == "auto" else args.rate_limit
    started = time.monotonic()
    async with FakeClerk(rate_limit=limit) as fake, fake.client(rate_limit=limit) as clerk:
        print(f"demo: a FakeClerk serves Clerk's Backend API at {fake.url}", flush=True)

        # 1. Create N machines, at most `concurrency` requests at a time.
        progress = _Progress("create", n, enabled=show)
        ids: list[str] = [""] * n
        t0 = time.monotonic()
        done = 0

        async def create(i: int) -> None:
            nonlocal done
            created = await clerk.machines.create(name=f"demo-{i:05d}", default_token_ttl=3600)
            ids[i] = created.id
            done += 1
            progress.update(done, done, 0)

        try:
            await _bounded(range(n), create, concurrency)
        finally:
            progress.close()
        print(_summary("create", n, 0, time.monotonic() - t0), flush=True)

        # 2. Update them all: the README's main job.
        progress = _Progress("update_many", n, enabled=show)
        updates = ({"machineId": mid, "name": f"{mid}-v2", "defaultTokenTtl": 7200} for mid in ids)
        batch = clerk.machines.update_many(updates, concurrency=concurrency)
        t0 = time.monotonic()
        failures: list[str] = []
        try:
            async with batch:
                async for result in batch:
                    if result.error is not None:
                        failures.append(f"{result.input['machineId']}: {result.error}")
                    progress.update(batch.done, batch.done, batch.failed)
        finally:
            progress.close()
        print(_summary("update_many", batch.succeeded, batch.failed, time.monotonic() - t0))
        for failure in failures[:SHOWN_FAILURES]:
            _err(failure)

        # 3. Read them back, page by page.
        t0 = time.monotonic()
        seen = renamed = 0
        async for machine in clerk.machines.list(order_by="created_at"):
            seen += 1
            renamed += machine.name == f"{machine.id}-v2" and machine.default_token_ttl == 7200
        print(
            f"list: {seen} machines read back in {time.monotonic() - t0:.2f} s, "
            f"{renamed} with the new name and default_token_ttl=7200",
            flush=True,
        )
    ok = not failures and seen == n and renamed == n
    print(f"demo: {'ok' if ok else 'FAILED'} in {time.monotonic() - started:.2f} s", flush=True)
    return EXIT_OK if ok else EXIT_FAILED


async def _bounded(
    items: Sequence[int], call: Callable[[int], Awaitable[None]], concurrency: int
) -> None:
    """Run ``call`` on every item, ``concurrency`` at a time; the first error cancels the rest."""
    pending = iter(items)

    async def worker() -> None:
        for item in pending:  # a shared iterator: each worker takes the next item
            await call(item)

    tasks = [asyncio.ensure_future(worker()) for _ in range(min(concurrency, len(items)))]
    try:
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


# --- main ----------------------------------------------------------------------------------


async def _amain(args: argparse.Namespace) -> int:
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    assert task is not None
    interrupted = False

    def on_sigint() -> None:
        # Cancel the run: it stops cleanly (partial report, summary). A second Ctrl-C
        # gets Python's default handler back: KeyboardInterrupt, a hard stop.
        nonlocal interrupted
        interrupted = True
        loop.remove_signal_handler(signal.SIGINT)
        task.cancel()

    # Inside the running loop, so that it works alike on 3.10 (asyncio.run installs no
    # SIGINT handler) and 3.11+ (where ours replaces the runner's for this run).
    try:
        loop.add_signal_handler(signal.SIGINT, on_sigint)
        installed = True
    except (NotImplementedError, RuntimeError, ValueError):  # Windows, or not the main thread
        installed = False

    try:
        handler: Callable[[argparse.Namespace], Awaitable[int]] = args.handler
        return await handler(args)
    except asyncio.CancelledError:
        if not interrupted:
            raise
        uncancel = getattr(task, "uncancel", None)  # 3.11+
        if uncancel is not None:
            uncancel()
        _err("interrupted")
        return EXIT_INTERRUPTED
    except UsageError as exc:
        _err(str(exc))
        return EXIT_USAGE
    except ClerkValidationError as exc:
        _err(f"invalid input: {exc}")
        return EXIT_USAGE
    except (AuthenticationError, PermissionDeniedError) as exc:
        _err(f"{exc} (check the secret key)")
        return EXIT_AUTH
    except ClerkConnectionError as exc:
        _err(f"cannot reach the API: {exc}")
        return EXIT_NETWORK
    except ClerkError as exc:
        _err(str(exc))
        return EXIT_FAILED
    finally:
        if installed and not interrupted:
            loop.remove_signal_handler(signal.SIGINT)


def _verbose_logging() -> Callable[[], None]:
    logger = logging.getLogger("clerk_async")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    previous = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)

    def undo() -> None:
        logger.removeHandler(handler)
        logger.setLevel(previous)

    return undo


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; returns the exit code (the console script exits with it)."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version (0) or a usage error (2), already printed
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    for name, default in GLOBAL_DEFAULTS.items():
        if not hasattr(args, name):
            setattr(args, name, default)
    undo = _verbose_logging() if args.verbose else None
    try:
        return asyncio.run(_amain(args))
    except KeyboardInterrupt:  # before the handler was installed, or a second Ctrl-C
        _err("interrupted")
        return EXIT_INTERRUPTED
    finally:
        if undo is not None:
            undo()
