"""RetryPolicy: when to try again and how long to wait. Pure: no I/O, no clock.

The transport describes what happened to an attempt as an :class:`Outcome`, and
``RetryPolicy.decide`` answers with a delay in seconds, or None to stop and raise.

What is retried (see README "Retries, rate limits and timeouts"):
- a connection that failed before the request was sent, for any method: the server
  never saw it;
- 429, for any method: Clerk did not process the request. Its ``Retry-After`` is
  honoured up to ``max_retry_after``; asking for longer raises ``RateLimitError``.
  A 429 does not count against ``max_retries`` (unless it is 0: no retries at all): the
  call waits out the pause and tries again for as long as its deadline allows, so that a
  burst of 429s (processes pacing alone while Redis fails) loses no call.
  A ``Retry-After`` on a retried 5xx (a 503) is honoured the same way, and a
  ``Retry-After`` of 0 never makes a retry sooner than the backoff;
- 5xx, timeouts and connections dropped after sending, only where repeating the
  operation is safe (GET, PATCH, DELETE and naturally idempotent POSTs such as verify
  and revoke). A ``create`` that failed this way may have happened: retrying could make
  a duplicate, so the error is raised for the caller to decide.
"""

from __future__ import annotations

import random
from collections.abc import Callable

import attrs

__all__ = ["Outcome", "RetryPolicy"]

RETRYABLE_STATUSES = frozenset({408, 500, 502, 503, 504})


@attrs.frozen
class Outcome:
    """What happened to one attempt, as far as retrying is concerned."""

    status: int | None  # None: no response (connection error or timeout)
    sent: bool = True  # False only when the request provably never left
    idempotent: bool = True  # repeating the operation cannot change the result
    retry_after: float | None = None  # the server's Retry-After, in seconds


def _non_negative(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if value < 0:
        raise ValueError(f"{attribute.name} must be >= 0, got {value}")


@attrs.frozen(kw_only=True)
class RetryPolicy:
    """Exponential backoff with jitter, bounded in count and in time.

    The delay before retry ``n`` (0-based) is ``min(max_delay, initial_delay * 2**n)``,
    scaled by a random factor in ``[1 - jitter, 1]`` so that clients that failed
    together do not retry together.
    """

    max_retries: int = attrs.field(default=3, validator=attrs.validators.ge(0))
    initial_delay: float = attrs.field(default=0.5, validator=_non_negative)
    max_delay: float = attrs.field(default=8.0, validator=_non_negative)
    jitter: float = attrs.field(
        default=0.25, validator=attrs.validators.and_(_non_negative, attrs.validators.le(1.0))
    )
    # The longest Retry-After we wait out; beyond it RateLimitError is raised at once.
    max_retry_after: float = attrs.field(default=60.0, validator=_non_negative)

    def backoff(self, attempt: int, rand: float) -> float:
        """The delay before retry ``attempt`` (0-based), with ``rand`` in [0, 1)."""
        base = min(self.max_delay, self.initial_delay * (2.0**attempt))
        return base * (1.0 - self.jitter * rand)

    def decide(
        self, attempt: int, outcome: Outcome, rand: Callable[[], float] = random.random
    ) -> float | None:
        """Seconds to wait before retry ``attempt`` (0-based), or None to give up."""
        status = outcome.status
        if attempt >= self.max_retries and not (status == 429 and self.max_retries):
            return None  # (the deadline bounds a 429's retries)
        if status is None:
            retryable = not outcome.sent or outcome.idempotent
        else:
            retryable = status == 429 or (status in RETRYABLE_STATUSES and outcome.idempotent)
        if not retryable:
            return None
        backoff = self.backoff(attempt, rand())
        retry_after = outcome.retry_after
        if retry_after is None:
            return backoff
        if retry_after > self.max_retry_after:
            return None
        # A Retry-After of 0 (or in the past) would retry at once: never sooner than backoff.
        return max(retry_after, backoff)

    def pause_after_429(
        self,
        attempt: int,
        retry_after: float | None,
        delay: float | None,
        rand: Callable[[], float] = random.random,
    ) -> float:
        """How long a 429 pauses its endpoint: the retry's delay, else what Clerk asked for
        (even beyond ``max_retry_after``: later calls then fail at once), else backoff."""
        if delay is not None:
            return delay
        backoff = self.backoff(attempt, rand())
        return backoff if retry_after is None else max(retry_after, backoff)
