"""One worker process of the shared rate-limit tests: updates machines, prints one JSON line.

python -m tests._redis_worker BASE_URL SECRET_KEY REDIS_URL REQUESTS PER_SECONDS ID... [--skew S]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import time

from clerk_async import Clerk, RateLimit, RetryPolicy
from clerk_async._redis_limit import RedisLimiter


async def run(args: argparse.Namespace) -> dict[str, object]:
    limit = RateLimit(args.requests, args.per_seconds, redis_url=args.redis_url)
    retry = RetryPolicy(max_retries=5, max_retry_after=10.0)
    async with Clerk(args.secret_key, base_url=args.base_url, rate_limit=limit, retry=retry) as c:
        limiter = c._transport.limiter
        assert isinstance(limiter, RedisLimiter)
        if args.skew:  # this "host's" clock is off by args.skew seconds
            await limiter.aclose()
            clock = time.monotonic
            limiter = RedisLimiter(limit, args.secret_key, clock=lambda: clock() + args.skew)
            c._transport.limiter = limiter
        results = await asyncio.gather(
            *(c.machines.update(mid, name="shared") for mid in args.ids), return_exceptions=True
        )
        failed = [repr(r) for r in results if isinstance(r, BaseException)]
        return {
            "ok": len(results) - len(failed),
            "failed": failed,
            "round_trips": limiter.round_trips,
            "shared": limiter.shared,
        }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("base_url")
    parser.add_argument("secret_key")
    parser.add_argument("redis_url")
    parser.add_argument("requests", type=int)
    parser.add_argument("per_seconds", type=float)
    parser.add_argument("ids", nargs="+")
    parser.add_argument("--skew", type=float, default=0.0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    print(json.dumps(asyncio.run(run(args))), flush=True)


if __name__ == "__main__":
    main()
