"""The knobs and meters of a FakeClerk: faults, the rate-limit window, stats, the request log."""

from __future__ import annotations

import random
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

import attrs
from multidict import CIMultiDictProxy

from clerk_async._ratelimit import RateLimit

__all__ = ["FaultPlan", "Faults", "RecordedRequest", "SlidingWindow", "Stats"]


def _rate(instance: Any, attribute: attrs.Attribute[float], value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{attribute.name} must be between 0 and 1, got {value!r}")


def _statuses(value: Iterable[int]) -> tuple[int, ...]:
    return tuple(value)


def _server_errors(instance: Any, attribute: attrs.Attribute[Any], value: tuple[int, ...]) -> None:
    if not value or not all(500 <= status <= 599 for status in value):
        raise ValueError(f"error_statuses must be 5xx statuses, got {value!r}")


@attrs.frozen
class Faults:
    """What goes wrong, and how often; the same seed gives the same faults in the same order.

    Each request draws at most one of: a connection reset (``reset_rate``), an HTML 502 as
    from a proxy (``non_json_rate``) or a JSON 5xx from ``error_statuses`` (``error_rate``).
    A share ``error_after_apply_fraction`` of resets and 5xx happen *after* the request took
    effect (the write happened, the client sees a failure: blind retries then duplicate it).
    Independently, ``delay_rate`` of the answers wait ``delay_seconds`` after taking effect.
    """

    seed: int = 0
    error_rate: float = attrs.field(default=0.0, validator=_rate)
    error_statuses: tuple[int, ...] = attrs.field(
        default=(500, 502, 503), converter=_statuses, validator=_server_errors
    )
    error_after_apply_fraction: float = attrs.field(default=0.5, validator=_rate)
    reset_rate: float = attrs.field(default=0.0, validator=_rate)
    delay_rate: float = attrs.field(default=0.0, validator=_rate)
    delay_seconds: float = attrs.field(default=0.0, validator=attrs.validators.ge(0.0))
    non_json_rate: float = attrs.field(default=0.0, validator=_rate)

    def __attrs_post_init__(self) -> None:
        if self.reset_rate + self.non_json_rate + self.error_rate > 1.0:
            raise ValueError("reset_rate + non_json_rate + error_rate must not exceed 1")

    @property
    def active(self) -> bool:
        return bool(self.error_rate or self.reset_rate or self.non_json_rate or self.delay_rate)


class FaultPlan(NamedTuple):
    """The faults drawn for one request: ``kind`` is a key of ``Stats.faults``."""

    kind: str | None = None
    status: int = 0
    delay: float = 0.0


NO_FAULT = FaultPlan()


def draw(faults: Faults, rng: random.Random) -> FaultPlan:
    r = rng.random()
    kind: str | None = None
    status = 0
    if r < faults.reset_rate:
        kind = "reset"
    elif r < faults.reset_rate + faults.non_json_rate:
        kind, status = "non_json", 502
    elif r < faults.reset_rate + faults.non_json_rate + faults.error_rate:
        kind, status = "error", rng.choice(faults.error_statuses)
    if kind in ("reset", "error"):
        after = rng.random() < faults.error_after_apply_fraction
        kind = f"{kind}_after" if after else f"{kind}_before"
    delay = faults.delay_seconds if rng.random() < faults.delay_rate else 0.0
    return FaultPlan(kind, status, delay)


@attrs.define
class Stats:
    """Counters since the start or the last ``reset()``.

    - ``requests[(method, route template)]``: requests received, e.g.
      ``("PATCH", "/v1/machines/{machine_id}")``; unknown routes count as ``(method, "*")``.
    - ``statuses[status]``: answers sent (a connection reset sends none).
    - ``rate_limited``: 429s answered.
    - ``faults[kind]``: faults injected; kinds are ``reset_before``, ``reset_after``,
      ``error_before``, ``error_after``, ``non_json`` and ``delay``.
    """

    requests: Counter[tuple[str, str]] = attrs.field(factory=Counter)
    statuses: Counter[int] = attrs.field(factory=Counter)
    faults: Counter[str] = attrs.field(factory=Counter)
    rate_limited: int = 0

    @property
    def total_requests(self) -> int:
        return sum(self.requests.values())

    def clear(self) -> None:
        self.requests.clear()
        self.statuses.clear()
        self.faults.clear()
        self.rate_limited = 0


@attrs.frozen
class RecordedRequest:
    """A request as received: ``path`` is the raw (still percent-encoded) path, ``json`` the
    parsed body (None when there was none or it was not JSON), ``headers`` all but
    ``Authorization``, looked up case-insensitively."""

    method: str
    path: str
    query: dict[str, str]
    json: Any
    headers: CIMultiDictProxy[str]


class SlidingWindow:
    """At most ``limit.requests`` admitted in any ``limit.per_seconds`` (a sliding log)."""

    def __init__(self, limit: RateLimit, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self._clock = clock
        self._arrivals: deque[float] = deque()

    def admit(self) -> float:
        """Admit a request now and return 0, or return the seconds until one would be."""
        now = self._clock()
        arrivals = self._arrivals
        horizon = now - self.limit.per_seconds
        while arrivals and arrivals[0] <= horizon:
            arrivals.popleft()
        if len(arrivals) >= self.limit.requests:
            return arrivals[0] - horizon
        arrivals.append(now)
        return 0.0
