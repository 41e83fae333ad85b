"""Run a FakeClerk until interrupted: ``python -m clerk_async.testing --port 8787``."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
from collections.abc import Sequence
from typing import Literal

from clerk_async._ratelimit import RateLimit
from clerk_async.testing import FakeClerk, Faults


def _rate_limit(text: str) -> RateLimit | Literal["auto"] | None:
    if text in ("off", "auto"):
        return None if text == "off" else "auto"
    requests, _, seconds = text.partition("/")
    try:
        return RateLimit(int(requests), float(seconds))
    except (ValueError, TypeError):
        raise argparse.ArgumentTypeError(
            f"expected N/SECONDS, 'auto' or 'off', got {text!r}"
        ) from None


def seeded_machine_id(index: int) -> str:
    """The id of the ``index``-th machine seeded by ``--machines``: ``mch_`` + 27 digits."""
    return f"mch_{index:027d}"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m clerk_async.testing",
        description="Serve a fake Clerk Backend API (machines, M2M tokens, API keys).",
    )
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8787, help="0 picks a free port")
    p.add_argument("--secret-key", help="the instance secret key (default: a random sk_test_)")
    p.add_argument(
        "--rate-limit",
        type=_rate_limit,
        default="auto",
        help="N/SECONDS, 'off', or 'auto' (Clerk's limit for the key; the default)",
    )
    p.add_argument("--seed", type=int, help="make ids, secrets and faults reproducible")
    p.add_argument(
        "--machines",
        type=int,
        default=0,
        metavar="N",
        help="seed N machines with the ids seeded_machine_id(0..N-1), e.g. for benchmarks",
    )
    faults = p.add_argument_group("faults (see clerk_async.testing.Faults)")
    faults.add_argument("--error-rate", type=float, default=0.0)
    faults.add_argument("--error-after-apply-fraction", type=float, default=0.5)
    faults.add_argument("--reset-rate", type=float, default=0.0)
    faults.add_argument("--non-json-rate", type=float, default=0.0)
    faults.add_argument("--delay-rate", type=float, default=0.0)
    faults.add_argument("--delay-seconds", type=float, default=0.0)
    return p


async def _serve(args: argparse.Namespace) -> None:
    faults = Faults(
        seed=args.seed or 0,
        error_rate=args.error_rate,
        error_after_apply_fraction=args.error_after_apply_fraction,
        reset_rate=args.reset_rate,
        non_json_rate=args.non_json_rate,
        delay_rate=args.delay_rate,
        delay_seconds=args.delay_seconds,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):  # Windows has no signal handlers
            loop.add_signal_handler(sig, stop.set)
    async with FakeClerk(
        args.secret_key,
        rate_limit=args.rate_limit,
        faults=faults,
        seed=args.seed,
        host=args.host,
        port=args.port,
    ) as fake:
        for index in range(args.machines):
            fake.add_machine(f"machine-{index}", machine_id=seeded_machine_id(index))
        print(f"FakeClerk serving Clerk's Backend API at {fake.url}")
        for name, value in fake.env.items():
            print(f"{name}={value}", flush=True)
        await stop.wait()


def main(argv: Sequence[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    try:
        import uvloop  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        asyncio.run(_serve(args))
    else:  # the faster event loop, when the `speedups` extra is installed
        uvloop.run(_serve(args))


if __name__ == "__main__":
    main()
