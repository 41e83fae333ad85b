"""The ``clerk-async`` command: machines from the shell, bulk updates from a file, a demo.

It is built on the public API only (what ``from clerk_async import ...`` gives, plus
``clerk_async.testing.FakeClerk`` for ``--fake`` and ``demo``), so it doubles as an
example of using the library.

Exit codes: 0 success; 1 some items (or the one call) failed; 2 usage error or bad input
file; 3 authentication or permission failure (401/403); 4 network trouble; 5 update-many
skipped malformed input lines; 130 Ctrl-C. ``--json`` makes every command print exactly
one JSON document on stdout, errors included.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import contextvars
import csv
import io
import json
import logging
import os
import signal
import stat
import sys
import time
from collections import deque
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Generator,
    Iterator,
    Mapping,
    Sequence,
)
from typing import IO, TYPE_CHECKING, Any, Final, NamedTuple, NoReturn

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
from clerk_async._convert import wire_names
from clerk_async.batch import Batch
from clerk_async.client import base_url_from_api_url
from clerk_async.models.common import Model
from clerk_async.pagination import Page

if TYPE_CHECKING:
    from clerk_async.testing import FakeClerk

__all__ = ["main"]

EXIT_OK: Final = 0
EXIT_FAILED: Final = 1
EXIT_USAGE: Final = 2
EXIT_AUTH: Final = 3
EXIT_NETWORK: Final = 4
EXIT_SKIPPED: Final = 5
EXIT_INTERRUPTED: Final = 130

FORMATS: Final = {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv"}
CSV_COLUMNS: Final = {
    "machine_id": "machine_id",
    "machineId": "machine_id",
    "name": "name",
    "default_token_ttl": "default_token_ttl",
    "defaultTokenTtl": "default_token_ttl",
}
# Not parser.set_defaults(): it would write these into the actions the subcommands share.
GLOBAL_DEFAULTS: Final[Mapping[str, Any]] = {
    "secret_key": None,
    "api_url": None,
    "fake": False,
    "rate_limit": "auto",
    "redis": None,
    "max_retries": None,
    "verbose": False,
    "json": False,
}
PROGRESS_INTERVAL: Final = 2.0  # seconds between plain progress lines
SHOWN_FAILURES: Final = 10  # failures echoed to stderr when there is no --report

log = logging.getLogger("clerk_async.cli")

Operation = Callable[..., Awaitable[Any]]


class _Resource(NamedTuple):
    """What the commands of one resource need: its id, its file format, its operations."""

    command: str  # "users"
    id_field: str  # "user_id"; a line may also give it in camelCase ("userId")
    csv_columns: Mapping[str, str]  # CSV header -> field; empty: JSON Lines only
    update: Callable[[Clerk], Operation]
    merge_metadata: Callable[[Clerk], Operation] | None
    # With --fake: make an id the user names exist (the fake starts empty).
    seed: Callable[[FakeClerk, str], None] | None

    @property
    def id_keys(self) -> tuple[str, str]:
        head, *rest = self.id_field.split("_")
        return self.id_field, head + "".join(word.title() for word in rest)


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


def _redis_url(text: str) -> str:
    if not text.startswith(("redis://", "rediss://", "unix://")):
        raise argparse.ArgumentTypeError("expected a redis://, rediss:// or unix:// URL")
    return text


def _shared(limit: RateLimit | None, args: argparse.Namespace) -> RateLimit | None:
    """The limit, shared through Redis with --redis."""
    if args.redis is None:
        return limit
    if limit is None:
        raise UsageError("--redis shares the rate limit, but pacing is off: give --rate-limit N/T")
    return attrs.evolve(limit, redis_url=args.redis)


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


class _ArgumentParser(argparse.ArgumentParser):
    """Usage errors also as JSON with ``--json`` (subcommands' parsers are of this class too)."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        _err(message)
        if _JSON_ARGV.get():
            error = {"status": None, "code": "usage_error", "message": message, "trace_id": None}
            _print_json(argparse.Namespace(json=True), {"error": error, "exit_code": EXIT_USAGE})
        raise SystemExit(EXIT_USAGE)


# Whether the command line asks for --json, for errors found before it is parsed.
_JSON_ARGV: contextvars.ContextVar[bool] = contextvars.ContextVar("json_argv", default=False)


def _common_options() -> _ArgumentParser:
    """The global options, accepted before or after the subcommand.

    Every parser gets them with SUPPRESS defaults, so that a later (inner) parser never
    resets an earlier value; ``main`` fills in GLOBAL_DEFAULTS after parsing.
    """
    common = _ArgumentParser(add_help=False, argument_default=argparse.SUPPRESS)
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
        help="run against an in-process FakeClerk instead of Clerk; machine ids you name exist "
        "(users and organizations start empty: Clerk makes their ids)",
    )
    common.add_argument(
        "--rate-limit",
        metavar="N/T|off",
        type=_rate_limit,
        help="client-side pacing: N requests per T seconds, or off (default: the key's "
        "documented instance limit; with --fake: off, else the fake enforces the same limit)",
    )
    common.add_argument(
        "--redis",
        metavar="URL",
        type=_redis_url,
        help="share the rate limit with every process using this key through Redis "
        "(redis://host:6379/0; needs clerk-async[redis]); see README, Running many workers",
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
    common.add_argument(
        "--json",
        action="store_true",
        help="print exactly one JSON document on stdout, compact: the result, the summary "
        'of update-many and demo, or {"error": {...}}',
    )
    return common


def _parser() -> argparse.ArgumentParser:
    common = _common_options()
    parser = _ArgumentParser(
        prog="clerk-async",
        description="Clerk's Backend API from the shell, on clerk-async (the async Python "
        "client for the whole Backend API and request authentication): users, "
        "organizations, machines, M2M tokens, API keys, bulk updates from a file, a demo. "
        "Every other operation is clerk.<service>.<method> in Python.",
        epilog="exit codes: 0 ok, 1 failures, 2 usage or bad input, 3 auth (401/403), "
        "4 network, 5 malformed input lines skipped, 130 interrupted",
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    _users_parsers(commands, common)
    _organizations_parsers(commands, common)
    _machines_parsers(commands, common)
    _m2m_parsers(commands, common)
    _api_keys_parsers(commands, common)
    _demo_parser(commands, common)
    return parser


def _machines_parsers(commands: Any, common: _ArgumentParser) -> None:
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

    _update_many_parser(
        ops,
        common,
        MACHINES,
        "Stream FILE (JSON Lines: one object per line with machine_id/machineId "
        "and name/default_token_ttl, camelCase or snake_case; or CSV with a header of "
        "machine_id,name,default_token_ttl) and update every machine.",
    )


def _update_many_parser(
    ops: Any, common: _ArgumentParser, resource: _Resource, description: str
) -> argparse.ArgumentParser:
    """The ``update-many`` subcommand of ``resource``: the same file, report and resume."""
    p: argparse.ArgumentParser = ops.add_parser(
        "update-many",
        parents=[common],
        help=f"update {resource.command} from a JSON Lines"
        + (" or CSV" if resource.csv_columns else "")
        + " file, concurrently",
        description=description + " Keys starting with _ are ignored, so a --report file "
        "can be fed back as input. FILE '-' is stdin.",
    )
    p.add_argument("file", metavar="FILE")
    p.add_argument(
        "--format",
        choices=("jsonl", "csv") if resource.csv_columns else ("jsonl",),
        help="default: from FILE's extension; JSON Lines for stdin (-)",
    )
    p.add_argument(
        "--resume",
        metavar="REPORT",
        help="continue a run that stopped: the items in REPORT (the --report of that run) "
        "again, then FILE after the line that run had read up to",
    )
    p.add_argument("--concurrency", type=_positive_int, default=32, metavar="N", help="default: 32")
    p.add_argument("--fail-fast", action="store_true", help="take no new item after a failure")
    p.add_argument(
        "--report",
        metavar="PATH",
        help="write each failed (or, when stopped early, unfinished) item as a JSON line: "
        "the input plus _line and an _error object; a malformed line as _input; last, a "
        "_run line saying how far the input was read (for --resume)",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar or lines")
    p.set_defaults(handler=_update_many_handler(resource))
    return p


def _demo_parser(commands: Any, common: _ArgumentParser) -> None:
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


# --- the client ---------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def _open(
    args: argparse.Namespace, *, needs_secret_key: bool = True
) -> AsyncIterator[tuple[Clerk, FakeClerk | None]]:
    """The client the arguments ask for, and the FakeClerk behind it with ``--fake``.

    ``needs_secret_key=False`` for calls made with a machine's key only (``m2m create``).
    """
    options: dict[str, Any] = {}
    if args.max_retries is not None:
        options["max_retries"] = args.max_retries
    if args.fake:
        from clerk_async.testing import FakeClerk

        # The fake enforces what the client paces itself to: both off unless asked.
        limit = None if args.rate_limit == "auto" else args.rate_limit
        async with (
            FakeClerk(rate_limit=limit) as fake,
            fake.client(rate_limit=_shared(limit, args), **options) as clerk,
        ):
            yield clerk, fake
        return
    key = args.secret_key or os.environ.get("CLERK_SECRET_KEY")
    if not key and needs_secret_key:
        raise UsageError("no secret key: set CLERK_SECRET_KEY or pass --secret-key (or --fake)")
    if args.api_url:
        options["base_url"] = base_url_from_api_url(args.api_url, "--api-url")
    rate_limit = args.rate_limit
    if args.redis is not None:
        auto = Clerk(key).rate_limit if rate_limit == "auto" else rate_limit  # the key's limit
        rate_limit = _shared(auto, args)
    async with Clerk(key, rate_limit=rate_limit, **options) as clerk:
        yield clerk, None


def _seed(fake: FakeClerk | None, machine_id: object) -> None:
    """With --fake, a machine the user names exists: the fake starts empty, and a run
    where every item fails with 404 would show nothing about the file or the flags."""
    if fake is None or not isinstance(machine_id, str) or machine_id in fake.machines:
        return
    fake.add_machine("seeded by clerk-async --fake", machine_id=machine_id)


MACHINES: Final = _Resource(
    "machines",
    "machine_id",
    CSV_COLUMNS,
    update=lambda clerk: clerk.machines.update,
    merge_metadata=None,
    seed=_seed,
)
USERS: Final = _Resource(
    "users",
    "user_id",
    {},
    update=lambda clerk: clerk.users.update,
    merge_metadata=lambda clerk: clerk.users.update_metadata,
    seed=None,
)
ORGANIZATIONS: Final = _Resource(
    "organizations",
    "organization_id",
    {},
    update=lambda clerk: clerk.organizations.update,
    merge_metadata=lambda clerk: clerk.organizations.merge_metadata,
    seed=None,
)


def _print_json(args: argparse.Namespace, value: Any) -> None:
    """One JSON document on stdout: indented for people, one compact line with --json."""
    indent = None if args.json else 2
    text = json.dumps(value, indent=indent, ensure_ascii=False)
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _as_json(obj: Any) -> dict[str, Any]:
    """A model as Clerk's JSON (its wire names; optional fields Clerk left out, left out)."""
    if isinstance(obj, Model):
        return obj.to_dict()
    return attrs.asdict(obj)


def _print_page(args: argparse.Namespace, page: Page[Any]) -> None:
    _print_json(args, {"data": [_as_json(x) for x in page.data], "total_count": page.total_count})


# --- machines list/get/create/update/delete --------------------------------------------


async def _machines_list(args: argparse.Namespace) -> int:
    params = {
        key: getattr(args, key)
        for key in ("limit", "offset", "query", "order_by")
        if getattr(args, key) is not None
    }
    async with _open(args) as (clerk, _):
        page = await clerk.machines.list(**params)
    _print_page(args, page)
    return EXIT_OK


async def _machines_get(args: argparse.Namespace) -> int:
    async with _open(args) as (clerk, fake):
        _seed(fake, args.machine_id)
        machine = await clerk.machines.get(args.machine_id)
    _print_json(args, _as_json(machine))
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
    _print_json(args, out)
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
    _print_json(args, _as_json(machine))
    return EXIT_OK


async def _machines_delete(args: argparse.Namespace) -> int:
    async with _open(args) as (clerk, fake):
        _seed(fake, args.machine_id)
        deleted = await clerk.machines.delete(args.machine_id)
    _print_json(args, _as_json(deleted))
    return EXIT_OK


# --- users and organizations ---------------------------------------------------------


def _json_object(text: str) -> dict[str, Any]:
    value = _json_arg(text)
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f"expected a JSON object, got {text!r}")
    return value


def _page_options(p: argparse.ArgumentParser, most: int) -> None:
    p.add_argument("--limit", type=_positive_int, help=f"page size (1..{most}; default 10)")
    p.add_argument("--offset", type=_non_negative_int)


def _get_update_metadata_parsers(
    ops: Any,
    common: _ArgumentParser,
    resource: _Resource,
    one: str,
    flags: Mapping[str, Callable[[str], Any]],
) -> None:
    """``get``, ``update`` (``flags``, plus --fields JSON) and ``merge-metadata``."""
    p = ops.add_parser("get", parents=[common], help=f"one {one}")
    p.add_argument("id", metavar="ID")
    p.set_defaults(handler=_get_handler(resource))

    p = ops.add_parser("update", parents=[common], help=f"change the {one}'s fields")
    p.add_argument("id", metavar="ID")
    for flag, parse in flags.items():
        p.add_argument(f"--{flag}", type=parse)
    p.add_argument(
        "--fields", type=_json_object, metavar="JSON", help="any other fields, a JSON object"
    )
    fields = [flag.replace("-", "_") for flag in flags]
    p.set_defaults(handler=_update_handler(resource, *fields))

    p = ops.add_parser(
        "merge-metadata",
        parents=[common],
        help=f"merge JSON into the {one}'s metadata (a deep merge; null deletes a key)",
    )
    p.add_argument("id", metavar="ID")
    kinds = ("public", "private", "unsafe") if resource is USERS else ("public", "private")
    for kind in kinds:
        p.add_argument(f"--{kind}", type=_json_object, metavar="JSON", dest=f"{kind}_metadata")
    p.set_defaults(handler=_merge_metadata_handler(resource, kinds))


def _users_parsers(commands: Any, common: _ArgumentParser) -> None:
    users = commands.add_parser(
        "users", help="users: list, get, update, merge-metadata, update-many"
    )
    ops = users.add_subparsers(dest="op", metavar="OPERATION", required=True)

    p = ops.add_parser("list", parents=[common], help="one page of users, filtered")
    _page_options(p, 500)
    p.add_argument("--query", help="part of an id, email address, phone, username or name")
    for flag, what in (
        ("email-address", "an email address"),
        ("user-id", "a user id"),
        ("external-id", "your external id"),
        ("username", "a username"),
        ("organization-id", "users in this organization"),
    ):
        p.add_argument(f"--{flag}", action="append", metavar="VALUE", help=f"{what} (repeatable)")
    p.add_argument("--order-by", help="e.g. --order-by=-created_at, last_sign_in_at, email_address")
    p.set_defaults(handler=_users_list)

    text = dict.fromkeys(("first-name", "last-name", "username", "external-id", "locale"), str)
    _get_update_metadata_parsers(ops, common, USERS, "user", text)

    p = _update_many_parser(
        ops,
        common,
        USERS,
        "Stream FILE (JSON Lines: one object per line with user_id/userId and the fields "
        "of users.update, camelCase or snake_case; with --metadata, public_metadata, "
        "private_metadata and unsafe_metadata to merge) and update every user.",
    )
    p.add_argument(
        "--metadata",
        action="store_true",
        help="merge each line's metadata (users.update_metadata) instead of users.update",
    )


def _organizations_parsers(commands: Any, common: _ArgumentParser) -> None:
    orgs = commands.add_parser(
        "organizations", help="organizations: list, get, update, merge-metadata, update-many"
    )
    ops = orgs.add_subparsers(dest="op", metavar="OPERATION", required=True)

    p = ops.add_parser("list", parents=[common], help="one page of organizations, filtered")
    _page_options(p, 500)
    p.add_argument("--query", help="part of an id, name or slug")
    p.add_argument(
        "--user-id", action="append", metavar="ID", help="organizations of this user (repeatable)"
    )
    p.add_argument("--order-by", help="e.g. --order-by=-created_at, name, members_count")
    p.add_argument("--include-members-count", action="store_true")
    p.set_defaults(handler=_organizations_list)

    flags: dict[str, Callable[[str], Any]] = {
        "name": str,
        "slug": str,
        "max-allowed-memberships": _non_negative_int,
    }
    _get_update_metadata_parsers(ops, common, ORGANIZATIONS, "organization", flags)

    p = _update_many_parser(
        ops,
        common,
        ORGANIZATIONS,
        "Stream FILE (JSON Lines: one object per line with organization_id/organizationId "
        "and the fields of organizations.update, camelCase or snake_case; with --metadata, "
        "public_metadata and private_metadata to merge) and update every organization.",
    )
    p.add_argument(
        "--metadata",
        action="store_true",
        help="merge each line's metadata (organizations.merge_metadata) instead of update",
    )


Handler = Callable[[argparse.Namespace], Awaitable[int]]


def _public_json(obj: Any) -> Any:
    """A model as Clerk's JSON, without the fields it keeps out of its repr (secrets,
    tokens: a phone number's backup codes), nested ones too."""
    out = _as_json(obj)
    _drop_secrets(obj, out)
    return out


def _drop_secrets(obj: Any, out: Any) -> None:
    if isinstance(obj, list) and isinstance(out, list):
        for item, written in zip(obj, out, strict=True):
            _drop_secrets(item, written)
    elif attrs.has(type(obj)) and isinstance(out, dict):
        names = wire_names(type(obj))
        for field in attrs.fields(type(obj)):
            key = names[field.name]
            if field.repr is False:
                out.pop(key, None)
            elif key in out:
                _drop_secrets(getattr(obj, field.name), out[key])


async def _users_list(args: argparse.Namespace) -> int:
    params = _given(
        args,
        "limit",
        "offset",
        "query",
        "order_by",
        "email_address",
        "user_id",
        "external_id",
        "username",
        "organization_id",
    )
    async with _open(args) as (clerk, _):
        page = await clerk.users.list(**params)
    _print_json(
        args, {"data": [_public_json(u) for u in page.data], "total_count": page.total_count}
    )
    return EXIT_OK


async def _organizations_list(args: argparse.Namespace) -> int:
    params = _given(
        args, "limit", "offset", "query", "order_by", "user_id", "include_members_count"
    )
    async with _open(args) as (clerk, _):
        page = await clerk.organizations.list(**params)
    _print_json(
        args, {"data": [_public_json(o) for o in page.data], "total_count": page.total_count}
    )
    return EXIT_OK


def _service(clerk: Clerk, resource: _Resource) -> Any:
    return getattr(clerk, resource.command)


def _get_handler(resource: _Resource) -> Handler:
    async def get(args: argparse.Namespace) -> int:
        async with _open(args) as (clerk, _):
            found = await _service(clerk, resource).get(args.id)
        _print_json(args, _public_json(found))
        return EXIT_OK

    return get


def _update_handler(resource: _Resource, *flags: str) -> Handler:
    async def update(args: argparse.Namespace) -> int:
        fields = {**(args.fields or {}), **_given(args, *flags)}
        if not fields:
            options = ", ".join("--" + flag.replace("_", "-") for flag in flags)
            raise UsageError(
                f"{resource.command} update: nothing to change; give {options} or --fields"
            )
        async with _open(args) as (clerk, _):
            updated = await resource.update(clerk)({resource.id_field: args.id, **fields})
        _print_json(args, _public_json(updated))
        return EXIT_OK

    return update


def _merge_metadata_handler(resource: _Resource, kinds: Sequence[str]) -> Handler:
    assert resource.merge_metadata is not None
    merge = resource.merge_metadata

    async def merge_metadata(args: argparse.Namespace) -> int:
        fields = _given(args, *(f"{kind}_metadata" for kind in kinds))
        if not fields:
            options = ", ".join(f"--{kind} JSON" for kind in kinds)
            raise UsageError(f"{resource.command} merge-metadata: nothing to merge; give {options}")
        async with _open(args) as (clerk, _):
            updated = await merge(clerk)(args.id, **fields)
        _print_json(args, _public_json(updated))
        return EXIT_OK

    return merge_metadata


# --- m2m and api-keys ----------------------------------------------------------------------


def _json_arg(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected JSON, got {text!r}: {exc}") from None


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None


def _m2m_parsers(commands: Any, common: _ArgumentParser) -> None:
    m2m = commands.add_parser("m2m", help="M2M tokens: create, list, revoke, verify")
    ops = m2m.add_subparsers(dest="op", metavar="OPERATION", required=True)

    p = ops.add_parser(
        "create",
        parents=[common],
        help="create a token for the machine whose secret key is given; prints the token",
    )
    p.add_argument(
        "--machine-secret-key",
        metavar="KEY",
        help="the machine's ak_... key (default: $CLERK_MACHINE_SECRET_KEY; with --fake, a "
        "new machine's)",
    )
    p.add_argument("--seconds-until-expiration", type=_number, metavar="SECONDS")
    p.add_argument("--claims", type=_json_arg, metavar="JSON", help="custom claims, a JSON value")
    p.add_argument("--token-format", choices=("opaque", "jwt"), help="default: opaque")
    p.set_defaults(handler=_m2m_create)

    p = ops.add_parser("list", parents=[common], help="one page of a machine's tokens")
    p.add_argument("subject", metavar="MACHINE_ID")
    p.add_argument("--revoked", action="store_true", help="include revoked tokens")
    p.add_argument("--expired", action="store_true", help="include expired tokens")
    p.add_argument("--limit", type=_positive_int, help="page size (1..100; default 10)")
    p.add_argument("--offset", type=_non_negative_int)
    p.set_defaults(handler=_m2m_list)

    p = ops.add_parser("revoke", parents=[common], help="revoke an opaque token")
    p.add_argument("m2m_token_id", metavar="TOKEN_ID")
    p.add_argument("--reason", dest="revocation_reason")
    p.set_defaults(handler=_m2m_revoke)

    p = ops.add_parser("verify", parents=[common], help="verify a token; exit 1 if invalid")
    p.add_argument("token", metavar="TOKEN", help="the token, or - to read it from stdin")
    p.set_defaults(handler=_m2m_verify)


def _api_keys_parsers(commands: Any, common: _ArgumentParser) -> None:
    keys = commands.add_parser("api-keys", help="API keys: create, list, revoke, verify")
    ops = keys.add_subparsers(dest="op", metavar="OPERATION", required=True)

    p = ops.add_parser("create", parents=[common], help="create an API key")
    p.add_argument("--name", required=True)
    p.add_argument("--subject", required=True, help="the user_, org_ or mch_ id it acts for")
    p.add_argument("--description")
    p.add_argument("--scope", action="append", dest="scopes", metavar="SCOPE", help="repeatable")
    p.add_argument("--claims", type=_json_arg, metavar="JSON", help="custom claims, a JSON value")
    p.add_argument("--seconds-until-expiration", type=_number, metavar="SECONDS")
    p.add_argument(
        "--show-secret",
        action="store_true",
        help="print the new key's secret (Clerk shows it only in this answer)",
    )
    p.set_defaults(handler=_api_keys_create)

    p = ops.add_parser("list", parents=[common], help="one page of a subject's API keys")
    p.add_argument("subject", metavar="SUBJECT")
    p.add_argument("--include-invalid", action="store_true", help="revoked and expired too")
    p.add_argument("--query", help="part of a name")
    p.add_argument("--limit", type=_positive_int, help="page size (1..100; default 10)")
    p.add_argument("--offset", type=_non_negative_int)
    p.set_defaults(handler=_api_keys_list)

    p = ops.add_parser("revoke", parents=[common], help="revoke an API key")
    p.add_argument("api_key_id", metavar="API_KEY_ID")
    p.add_argument("--reason", dest="revocation_reason")
    p.set_defaults(handler=_api_keys_revoke)

    p = ops.add_parser("verify", parents=[common], help="verify an API key; exit 1 if invalid")
    p.add_argument("secret", metavar="SECRET", help="the key's secret, or - to read it from stdin")
    p.set_defaults(handler=_api_keys_verify)


def _given(args: argparse.Namespace, *names: str) -> dict[str, Any]:
    """The options among ``names`` that were given: the rest stay UNSET (left out)."""
    return {name: getattr(args, name) for name in names if getattr(args, name) not in (None, False)}


def _secret_arg(text: str) -> str:
    """A token or secret from argv, or from stdin for ``-`` (argv is visible to ps)."""
    return sys.stdin.readline().strip() if text == "-" else text


async def _m2m_create(args: argparse.Namespace) -> int:
    fields = _given(args, "seconds_until_expiration", "claims", "token_format")
    async with _open(args, needs_secret_key=False) as (clerk, fake):
        key = args.machine_secret_key or os.environ.get("CLERK_MACHINE_SECRET_KEY")
        if not key and fake is not None:
            key = fake.add_machine("created by clerk-async --fake").secret_key
        if not key:
            raise UsageError(
                "m2m create: no machine secret key: set CLERK_MACHINE_SECRET_KEY or pass "
                "--machine-secret-key (the token is created as that machine)"
            )
        token = await clerk.m2m.create_token(**fields, machine_secret_key=key)
    _print_json(args, _as_json(token))
    return EXIT_OK


async def _m2m_list(args: argparse.Namespace) -> int:
    params = _given(args, "revoked", "expired", "limit", "offset")
    async with _open(args) as (clerk, fake):
        _seed(fake, args.subject)
        page = await clerk.m2m.list_tokens(args.subject, **params)
    _print_page(args, page)
    return EXIT_OK


async def _m2m_revoke(args: argparse.Namespace) -> int:
    async with _open(args) as (clerk, _):
        token = await clerk.m2m.revoke_token(args.m2m_token_id, **_given(args, "revocation_reason"))
    _print_json(args, _as_json(token))
    return EXIT_OK


async def _m2m_verify(args: argparse.Namespace) -> int:
    token = _secret_arg(args.token)
    async with _open(args) as (clerk, _):
        verified = await clerk.m2m.verify_token(token)
    out = _as_json(verified)
    out.pop("token", None)  # the caller has it; a terminal or a log need not
    _print_json(args, out)
    return EXIT_OK


async def _api_keys_create(args: argparse.Namespace) -> int:
    fields = _given(
        args, "name", "subject", "description", "scopes", "claims", "seconds_until_expiration"
    )
    async with _open(args) as (clerk, _):
        created = await clerk.api_keys.create(**fields)
    out = _as_json(created)
    if not args.show_secret:
        out.pop("secret", None)
    _print_json(args, out)
    return EXIT_OK


async def _api_keys_list(args: argparse.Namespace) -> int:
    params = _given(args, "include_invalid", "query", "limit", "offset")
    async with _open(args) as (clerk, _):
        page = await clerk.api_keys.list(args.subject, **params)
    _print_page(args, page)
    return EXIT_OK


async def _api_keys_revoke(args: argparse.Namespace) -> int:
    async with _open(args) as (clerk, _):
        key = await clerk.api_keys.revoke(args.api_key_id, **_given(args, "revocation_reason"))
    _print_json(args, _as_json(key))
    return EXIT_OK


async def _api_keys_verify(args: argparse.Namespace) -> int:
    secret = _secret_arg(args.secret)
    async with _open(args) as (clerk, _):
        verified = await clerk.api_keys.verify(secret)
    out = _as_json(verified)
    out.pop("secret", None)
    _print_json(args, out)
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


class _BadLine(NamedTuple):
    """A line that is not an item (malformed JSON or CSV): reported and skipped."""

    line: int
    text: str
    reason: str


class _Resume(NamedTuple):
    """What ``--resume REPORT`` carries over: the items to do again, where to go on from."""

    rows: list[_Row]
    bad_lines: list[_BadLine]
    read_to_line: int


def _run_line(source_path: str, line: int) -> dict[str, Any]:
    """The report's last line: which input it is about and how far that was read."""
    where = source_path if source_path == "-" else os.path.abspath(source_path)
    return {"_run": {"input": where, "read_to_line": line}}


def _read_resume(report_path: str, source_path: str) -> _Resume:
    """The report of an earlier run of ``source_path``, for ``--resume``."""
    try:
        with open(report_path, encoding="utf-8") as f:
            lines = [json.loads(text) for text in f if text.strip()]
    except OSError as exc:
        raise UsageError(f"--resume {report_path}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise UsageError(f"--resume {report_path}: not a report of update-many ({exc})") from None
    runs = [x["_run"] for x in lines if isinstance(x, dict) and "_run" in x]
    if not runs:
        raise UsageError(
            f"--resume {report_path}: no _run line (it ends every --report of update-many): "
            "is it a report of a run that was killed? Feed it in as FILE instead"
        )
    expected = _run_line(source_path, 0)["_run"]["input"]
    if runs[-1].get("input") != expected:
        raise UsageError(
            f"--resume {report_path}: that run read {runs[-1].get('input')}, not {expected}"
        )
    rows: list[_Row] = []
    bad: list[_BadLine] = []
    for item in lines:
        if not isinstance(item, dict) or "_run" in item:
            continue
        given = item.get("_line")
        line = given if isinstance(given, int) else 0
        if "_input" in item:
            error = item.get("_error") or {}
            bad.append(_BadLine(line, str(item["_input"]), str(error.get("message", ""))))
        else:
            rows.append(_make_row(line, item))
    return _Resume(rows, bad, int(runs[-1].get("read_to_line", 0)))


class _Source:
    """Reads FILE lazily, one line at a time, and yields a ``_Row`` per item.

    A malformed line (not JSON, not an object, a CSV row of the wrong width, not UTF-8) is
    handed to ``on_bad_line`` and skipped. Only what makes the rest unreadable (a bad CSV
    header, a read error) stops it: it then stops yielding and keeps the reason in
    ``error``, so that the items already read finish normally. ``position`` is how many
    bytes have been read (for the progress bar), ``taken`` the rows handed out whose result
    has not come back yet. With ``resume``, its rows come first, then FILE after the line
    the earlier run had read up to.
    """

    def __init__(
        self, path: str, fmt: str | None, resource: _Resource, resume: _Resume | None = None
    ) -> None:
        if fmt is None:
            ext = os.path.splitext(path)[1].lower()
            fmt = "jsonl" if path == "-" else FORMATS.get(ext)
            if fmt is None:
                raise UsageError(
                    f"{path}: cannot tell the format from the extension {ext or '(none)'!r}; "
                    "use .jsonl, .ndjson or .csv, or pass --format jsonl|csv"
                )
        if fmt == "csv" and not resource.csv_columns:
            raise UsageError(
                f"{path}: {resource.command} update-many reads JSON Lines only (.jsonl, .ndjson)"
            )
        self.resource = resource
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
        self.on_bad_line: Callable[[_BadLine], None] = lambda bad: None
        self.bad_lines = 0
        self.resume = resume
        self._carried = deque(resume.rows if resume else ())  # not yet handed out
        self._skip_to = resume.read_to_line if resume else 0
        self._rows = self._generate()

    def __iter__(self) -> Iterator[_Row]:
        return self._rows

    @property
    def read_to_line(self) -> int:
        """How far FILE has been read: every line up to here is done or in the report."""
        return max(self.line, self._skip_to)

    def unstarted(self) -> list[_Row]:
        """Rows carried over by ``--resume`` that the run never reached."""
        return list(self._carried)

    def close(self) -> None:
        self._rows.close()
        if self._file is not sys.stdin.buffer:
            self._file.close()

    def _bad(self, bad: _BadLine) -> None:
        self.bad_lines += 1
        self.on_bad_line(bad)

    def _generate(self) -> Generator[_Row, None, None]:
        try:
            if self.resume is not None:
                for bad in self.resume.bad_lines:
                    self._bad(bad)
            while self._carried:
                row = self._carried.popleft()
                self.taken[id(row)] = row
                if self.before_yield is not None:
                    self.before_yield(row)
                yield row
            rows = self._jsonl() if self.format == "jsonl" else self._csv()
            for row in rows:
                self.taken[id(row)] = row
                if self.before_yield is not None:
                    self.before_yield(row)
                yield row
        except _BadInput as exc:
            self.error = f"{self.path}:{exc.line}: {exc.reason}"
        except OSError as exc:
            self.error = f"{self.path}:{self.line + 1}: cannot read: {exc.strerror or exc}"

    def _lines(self) -> Iterator[str | _BadLine]:
        for raw in self._file:
            self.line += 1
            self.position += len(raw)
            try:
                text = raw.decode("utf-8-sig" if self.line == 1 else "utf-8")
            except UnicodeDecodeError as exc:
                text = raw.decode("utf-8", "replace").rstrip("\r\n")
                yield _BadLine(self.line, text, f"not UTF-8 text ({exc.reason})")
                continue
            yield text

    def _jsonl(self) -> Iterator[_Row]:
        for text in self._lines():
            if isinstance(text, _BadLine):
                if text.line > self._skip_to:
                    self._bad(text)
                continue
            if self.line <= self._skip_to or not text.strip():
                continue
            try:
                obj = json.loads(text)
            except ValueError as exc:
                reason = getattr(exc, "msg", str(exc))
                column = getattr(exc, "colno", None)
                where = f" at column {column}" if column else ""
                self._bad(
                    _BadLine(self.line, text.rstrip("\r\n"), f"invalid JSON: {reason}{where}")
                )
                continue
            if not isinstance(obj, dict):
                reason = f"expected a JSON object, got {type(obj).__name__}"
                self._bad(_BadLine(self.line, text.rstrip("\r\n"), reason))
                continue
            if "_run" in obj:
                continue  # the last line of a report fed back in
            if "_input" in obj:  # a malformed line of an earlier run, in its report
                self._bad(_BadLine(self.line, str(obj["_input"]), "still malformed"))
                continue
            yield _make_row(self.line, obj)

    def _csv(self) -> Iterator[_Row]:
        bad: list[_BadLine] = []

        def texts() -> Iterator[str]:
            for text in self._lines():
                if isinstance(text, _BadLine):
                    bad.append(text)
                    text = ""  # an empty line: csv skips it, the line number still counts
                yield text

        reader = csv.reader(texts(), strict=True)
        try:
            header = next(reader, None)
        except csv.Error as exc:
            raise _BadInput(reader.line_num, f"invalid CSV header: {exc}") from None
        if bad:
            raise _BadInput(bad[0].line, f"invalid CSV header: {bad[0].reason}")
        if header is None:
            return
        columns = [name.strip() for name in header]
        _check_header(reader.line_num, columns, self.resource)
        while True:
            try:
                cells = next(reader, None)
            except csv.Error as exc:
                if reader.line_num > self._skip_to:
                    self._bad(_BadLine(reader.line_num, "", f"invalid CSV: {exc}"))
                continue
            for line in bad:
                if line.line > self._skip_to:
                    self._bad(line)
            bad.clear()
            if cells is None:
                return
            if not cells or reader.line_num <= self._skip_to:
                continue  # a blank line, or one the earlier run did
            if len(cells) != len(columns):
                reason = f"expected {len(columns)} cells, found {len(cells)}"
                self._bad(_BadLine(reader.line_num, _csv_text(cells), reason))
                continue
            obj: dict[str, Any] = {}
            for column, cell in zip(columns, cells, strict=True):
                if cell == "":
                    continue  # an empty cell: not given
                if self.resource.csv_columns.get(column) == "default_token_ttl":
                    with contextlib.suppress(ValueError):
                        obj[column] = int(cell)  # else the string, refused per item
                        continue
                obj[column] = cell
            yield _make_row(reader.line_num, obj)


def _csv_text(cells: list[str]) -> str:
    out = io.StringIO()
    csv.writer(out).writerow(cells)
    return out.getvalue().rstrip("\r\n")


def _check_header(line: int, columns: list[str], resource: _Resource) -> None:
    seen: dict[str, str] = {}
    for column in columns:
        if column.startswith("_"):
            continue
        field = resource.csv_columns.get(column)
        if field is None:
            expected = ", ".join(dict.fromkeys(resource.csv_columns.values()))
            raise _BadInput(line, f"unknown column {column!r}; expected {expected}")
        if field in seen:
            raise _BadInput(line, f"columns {seen[field]!r} and {column!r} are the same field")
        seen[field] = column
    if resource.id_field not in seen:
        raise _BadInput(line, f"the header has no {resource.id_field} column")


def _make_row(line: int, obj: dict[str, Any]) -> _Row:
    row = _Row({k: v for k, v in obj.items() if not k.startswith("_")})
    row.line = line
    row.original = {k: v for k, v in obj.items() if k != "_error"}
    return row


def _row_id(row: Mapping[str, Any], resource: _Resource) -> object:
    for key in resource.id_keys:
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

    def __init__(self, path: str | None, source: _Source, resume_path: str | None) -> None:
        self.path = path
        self.count = 0
        self._source = source
        self._file: IO[str] | None = None
        if path is not None:
            for other, what in ((source.path, "the input file"), (resume_path, "--resume")):
                if other is not None and other != "-" and os.path.exists(path):
                    with contextlib.suppress(OSError):
                        if os.path.samefile(path, other):
                            raise UsageError(f"--report {path} would overwrite {what}")
            try:
                # A lone surrogate read from a JSON "\ud800" is written back as that escape.
                self._file = open(  # noqa: SIM115
                    path, "w", encoding="utf-8", errors="backslashreplace"
                )
            except OSError as exc:
                raise UsageError(f"--report {path}: {exc.strerror or exc}") from None

    def add(self, row: _Row, error: BaseException | None, echo: Callable[[str], None]) -> None:
        self.count += 1
        info = _error_info(error)
        if self._file is not None:
            self._write({**row.original, "_line": row.line, "_error": info})
        elif self.count <= SHOWN_FAILURES:
            status = info["status"] or info["code"]
            row_id = _row_id(row, self._source.resource)
            text = f"{self._source.path}:{row.line}: {row_id!s}: {status}: {info['message']}"
            # A lone surrogate in an id cannot be written to a strict stream: escape it.
            echo(text.encode("utf-8", "backslashreplace").decode("utf-8"))

    def bad_line(self, bad: _BadLine, echo: Callable[[str], None]) -> None:
        """A malformed line, skipped: always on stderr, and in the report as ``_input``."""
        self.count += 1
        echo(f"{self._source.path}:{bad.line}: {bad.reason} (skipped)")
        if self._file is not None:
            info = {"status": None, "code": "invalid_line", "message": bad.reason, "trace_id": None}
            self._write({"_line": bad.line, "_input": bad.text, "_error": info})

    def _write(self, line: dict[str, Any]) -> None:
        assert self._file is not None
        self._file.write(json.dumps(line, ensure_ascii=False) + "\n")

    def close(self) -> None:
        if self._file is not None:
            self._write(_run_line(self._source.path, self._source.read_to_line))
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


def _update_many_handler(resource: _Resource) -> Callable[[argparse.Namespace], Awaitable[int]]:
    async def update_many(args: argparse.Namespace) -> int:
        resume = _read_resume(args.resume, args.file) if args.resume else None
        source = _Source(args.file, args.format, resource, resume)
        try:
            async with _open(args) as (clerk, fake):
                seed = resource.seed
                if fake is not None and seed is not None:
                    source.before_yield = lambda row: _seed_row(seed, fake, row, resource)
                # After the key check: a usage error leaves an existing report as it was.
                report = _Report(args.report, source, args.resume)
                metadata = getattr(args, "metadata", False) and resource.merge_metadata
                operation = metadata(clerk) if metadata else resource.update(clerk)
                try:
                    return await _run_update_many(clerk, operation, args, source, report)
                finally:
                    report.close()
        finally:
            source.close()

    return update_many


def _seed_row(
    seed: Callable[[FakeClerk, str], None], fake: FakeClerk, row: _Row, resource: _Resource
) -> None:
    row_id = _row_id(row, resource)
    if isinstance(row_id, str):
        seed(fake, row_id)


class _Tally:
    """How a run went, counted as results are consumed (not with the batch's own counts:
    when the run stops early, a result the batch finished but we never saw is unfinished)."""

    def __init__(self) -> None:
        self.succeeded = 0
        self.failed = 0
        self.code = EXIT_OK
        self.stopped: str | None = None  # why the run ended early, if it did
        self.unfinished: list[_Row] = []  # handed out, no result: cancelled in flight
        self.not_started: list[_Row] = []  # carried over by --resume, never reached


async def _run_update_many(
    clerk: Clerk, operation: Operation, args: argparse.Namespace, source: _Source, report: _Report
) -> int:
    progress = _Progress("update-many", source.size, enabled=not args.no_progress)
    source.on_bad_line = lambda bad: report.bad_line(bad, progress.write)
    batch = clerk.batch(operation, source, concurrency=args.concurrency, fail_fast=args.fail_fast)
    tally = _Tally()
    started = time.monotonic()
    try:
        await _consume(batch, source, report, progress, tally)
    except asyncio.CancelledError:
        tally.stopped = "stopped"
        raise
    finally:
        progress.close()
        _settle(tally, args, source, report, progress)
        _print_summary(args, tally, source, report, time.monotonic() - started)
    return tally.code


async def _consume(
    batch: Batch[Any], source: _Source, report: _Report, progress: _Progress, tally: _Tally
) -> None:
    """Count each result, report each failure; stop at one that every item would share."""
    async with batch:
        async for result in batch:
            row: _Row = result.input
            source.taken.pop(id(row), None)
            error = result.error
            if error is None:
                tally.succeeded += 1
            else:
                tally.failed += 1
                report.add(row, error, progress.write)
                stop = _stop_for(error)
                if stop is not None:
                    tally.code, tally.stopped = stop
                    break
            progress.update(source.position, tally.succeeded + tally.failed, tally.failed)


def _stop_for(error: ClerkError) -> tuple[int, str] | None:
    """The exit code and reason to stop the run at this failure, or None to go on."""
    if isinstance(error, (AuthenticationError, PermissionDeniedError)):
        return EXIT_AUTH, f"stopped: {error} (every item would fail the same way)"
    if isinstance(error, ClerkConnectionError):
        return EXIT_NETWORK, f"stopped: cannot reach the API: {error}"
    return None


def _settle(
    tally: _Tally, args: argparse.Namespace, source: _Source, report: _Report, progress: _Progress
) -> None:
    """After the run, finished or not: report what never finished, decide the exit code."""
    tally.unfinished = sorted(source.taken.values(), key=lambda r: r.line)
    tally.not_started = source.unstarted()
    for row in (*tally.unfinished, *tally.not_started):
        report.add(row, None, progress.write)
    if source.error is not None:
        tally.code = EXIT_USAGE
        tally.stopped = f"{source.error} (the items before this line were processed)"
    elif args.fail_fast and tally.failed and tally.stopped is None:
        tally.stopped = "stopped at the first failure (--fail-fast)"
    if tally.code == EXIT_OK:
        failed = EXIT_FAILED if tally.failed else EXIT_OK
        tally.code = EXIT_SKIPPED if source.bad_lines else failed
    if tally.stopped is not None:
        how_far = f"input read up to line {source.read_to_line}"
        if report.path is not None:
            how_far += f"; continue with --resume {report.path}"
        _err(f"{tally.stopped}; {how_far}")


def _print_summary(
    args: argparse.Namespace, tally: _Tally, source: _Source, report: _Report, elapsed: float
) -> None:
    line = _summary("update-many", tally.succeeded, tally.failed, elapsed)
    if source.bad_lines:
        line += f", {source.bad_lines} malformed lines skipped"
    if tally.unfinished:
        line += f", {len(tally.unfinished)} cancelled in flight"
    if tally.not_started:
        line += f", {len(tally.not_started)} not started"
    if report.path is not None:
        line += f"; {report.count} written to {report.path}"
    elif report.count > SHOWN_FAILURES:
        line += f"; {report.count - SHOWN_FAILURES} more not shown (use --report)"
    if not args.json:
        print(line, flush=True)
        return
    _err(line)
    summary = {
        "succeeded": tally.succeeded,
        "failed": tally.failed,
        "skipped_lines": source.bad_lines,
        "cancelled": len(tally.unfinished),
        "not_started": len(tally.not_started),
        "elapsed_seconds": round(elapsed, 3),
        "read_to_line": source.read_to_line,
        "report": report.path,
        "stopped": tally.stopped,
        "exit_code": tally.code,
    }
    _print_json(args, summary)


# --- demo --------------------------------------------------------------------------------


async def _demo(args: argparse.Namespace) -> int:
    from clerk_async.testing import FakeClerk

    n, concurrency = args.machines, args.concurrency
    show = not args.no_progress
    limit = None if args.rate_limit == "auto" else args.rate_limit
    started = time.monotonic()
    out = sys.stderr if args.json else sys.stdout  # with --json, stdout has the JSON only

    def say(text: str) -> None:
        print(text, file=out, flush=True)

    shared = _shared(limit, args)
    async with FakeClerk(rate_limit=limit) as fake, fake.client(rate_limit=shared) as clerk:
        say(f"demo: a FakeClerk serves Clerk's Backend API at {fake.url}")

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
        say(_summary("create", n, 0, time.monotonic() - t0))

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
        say(_summary("update_many", batch.succeeded, batch.failed, time.monotonic() - t0))
        for failure in failures[:SHOWN_FAILURES]:
            _err(failure)

        # 3. Read them back, page by page.
        t0 = time.monotonic()
        seen = renamed = 0
        async for machine in clerk.machines.list(order_by="created_at"):
            seen += 1
            renamed += machine.name == f"{machine.id}-v2" and machine.default_token_ttl == 7200
        say(
            f"list: {seen} machines read back in {time.monotonic() - t0:.2f} s, "
            f"{renamed} with the new name and default_token_ttl=7200",
        )
    ok = not failures and seen == n and renamed == n
    elapsed = time.monotonic() - started
    say(f"demo: {'ok' if ok else 'FAILED'} in {elapsed:.2f} s")
    if args.json:
        summary = {
            "ok": ok,
            "machines": n,
            "updated": batch.succeeded,
            "failed": batch.failed,
            "read_back": seen,
            "renamed": renamed,
            "elapsed_seconds": round(elapsed, 3),
        }
        _print_json(args, summary)
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
    except (UsageError, ClerkError) as exc:
        code = _exit_code(exc)
        _err(_message(exc))
        if args.json:
            error = _error_info(exc)
            if isinstance(exc, UsageError):
                error["code"] = "usage_error"
            _print_json(args, {"error": error, "exit_code": code})
        return code
    except asyncio.CancelledError:
        if not interrupted:
            raise
        uncancel = getattr(task, "uncancel", None)  # 3.11+
        if uncancel is not None:
            uncancel()
        _err("interrupted")
        return EXIT_INTERRUPTED
    finally:
        if installed and not interrupted:
            loop.remove_signal_handler(signal.SIGINT)


def _exit_code(exc: UsageError | ClerkError) -> int:
    if isinstance(exc, (UsageError, ClerkValidationError)):
        return EXIT_USAGE
    if isinstance(exc, (AuthenticationError, PermissionDeniedError)):
        return EXIT_AUTH
    if isinstance(exc, ClerkConnectionError):
        return EXIT_NETWORK
    return EXIT_FAILED


def _message(exc: UsageError | ClerkError) -> str:
    if isinstance(exc, ClerkValidationError):
        return f"invalid input: {exc}"
    if isinstance(exc, (AuthenticationError, PermissionDeniedError)):
        return f"{exc} (check the secret key)"
    if isinstance(exc, ClerkConnectionError):
        return f"cannot reach the API: {exc}"
    return str(exc)


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
    token = _JSON_ARGV.set("--json" in (sys.argv[1:] if argv is None else argv))
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version (0) or a usage error (2), already printed
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    finally:
        _JSON_ARGV.reset(token)
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
