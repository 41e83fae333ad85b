"""One rate limit shared by every process that uses a secret key, kept in Redis.

``RateLimit(requests, per_seconds, redis_url=...)`` gives each client a :class:`RedisLimiter`
instead of the local :class:`~clerk_async._ratelimit.Limiter`. The semantics are the local
limiter's, moved to Redis so that all processes and hosts count in one window:

- A slot is held from the moment a request is let through until ``per_seconds`` after its
  answer. Redis keeps, per window, a sorted set of slots in flight (scored by when their lease
  runs out, so a crashed process cannot hold them for ever) and one of answered slots (scored
  by when they free). Every time is Redis's own (``TIME`` inside the scripts), so hosts whose
  clocks disagree still count in one window; a client only ever sleeps for durations.
- Each decision is one Lua script, atomic in Redis, one round trip. When the window is full,
  the script *reserves* the slot that frees first: the caller sleeps until then and sends,
  without asking again (so N processes waiting on one window do not poll it in a herd).
  Each process has at most one such sleeper (its line, ``_turn``); with slots free, one ask
  also takes those its other waiters need.
- A 429 pauses that endpoint for every process: the pause is a Redis key the acquire script
  reads; each process also keeps it locally for ``pause_remaining``.
- Per-object limits (Clerk's 10 per 10 s per user, organization or membership) are a second
  window the same script checks: a busy object's requests wait outside the line, so they hold
  up no other request.

Why a Lua script and not the ``limits`` library: ``limits`` counts a hit when it is taken and
forgets it; it cannot hold a slot until ``per_seconds`` after the answer (it never hears of
the answer), reserve the next free slot, share a pause, or lease slots of a crashed process.

When Redis fails (refused, reset, an error reply, slower than ``timeout``, restarted empty), no
call waits for it and none is lost: the limiter logs one WARNING and paces to this process's
share of the limit, with its own recent requests still in its window. The share is the limit
divided by the processes: ``RateLimit.processes`` if given, else those Redis last counted. With
neither (Redis failed from the start), the process assumes ``UNKNOWN_PROCESSES`` and learns:
each window it paces without a 429 it takes a little more, until a 429 says that more
processes share the limit than it assumed: from then on it assumes one more than that, and one
more at each later 429, and takes no more. A background probe brings it back to Redis when
Redis answers again, first telling Redis of the requests made meanwhile (and, if Redis
restarted empty, of all this process's recent ones).

Set-up is paid once: a new connection's connect and handshake, and a script Redis lacks (sent
whole once per Redis server, then run by its SHA), each get their own ``timeout``, so a Redis
far away (a round trip just under ``timeout``) is used. A reply that comes too late is dropped
with its connection, and every slot it may have granted is given back. See README, "Running
many workers".
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import logging
import math
import os
import time
import uuid
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

from redis.exceptions import NoScriptError, RedisError

from clerk_async._ratelimit import PER_OBJECT, Limiter, RateLimit, redact_url

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = ["RedisLimiter", "key_prefix"]

log = logging.getLogger("clerk_async")

GRANTED: Final = 0  # wait = seconds until the (reserved) slot is ours; 0 for now
PAUSED: Final = 1  # wait = seconds left of the endpoint's pause
OBJECT_BUSY: Final = 2  # wait = seconds until the object's window frees a slot (-1: unknown)
FULL: Final = 3  # every slot of the window is in flight: ask again soon
# A process counts towards the fallback's share while it asked Redis in the last minute.
PROCS_TTL: Final = 60.0
# Pacing alone with no count of the processes (Redis failed from the start, no
# RateLimit.processes): assume this many, then learn. Until the first 429, each window paced
# without one takes SPEED_UP of the share (about 11 % more of the limit); a 429 at a share of
# 1/s means more than s processes: floor(s) + 1 from then on (one more at each later 429).
# Below 10 processes that is their exact count (8, 7.2, 6.5, ...: each step's share is more
# than one process below the last).
UNKNOWN_PROCESSES: Final = 8
SPEED_UP: Final = 0.9

# Shared by the scripts: the time on Redis's clock, in seconds.
_NOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
"""

# KEYS: procs, epoch, pause, flight, done [, object flight, object done]
# ARGV: slot id, process id, lease, procs ttl, requests, per_seconds, extra
# [, object requests, per]. Up to ``extra`` more slots are taken at once for the process's
# other waiters (ids "<slot id>:1".. "<slot id>:<got>"; the reply's last items: their count
# and a list of the seconds until each is theirs), the free ones first, then reservations.
ACQUIRE: Final = (
    _NOW
    + """
local id, lease, procs_ttl = ARGV[1], tonumber(ARGV[3]), tonumber(ARGV[4])
redis.call('ZADD', KEYS[1], now, ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - procs_ttl)
redis.call('PEXPIRE', KEYS[1], math.ceil(procs_ttl * 1000))
local procs = redis.call('ZCARD', KEYS[1])
local epoch = redis.call('GET', KEYS[2])
if not epoch then
  epoch = t[1] .. '.' .. t[2]
  redis.call('SET', KEYS[2], epoch)
end
local function reply(code, wait, waits)
  return {code, tostring(wait), procs, epoch, waits and #waits or 0, waits or {}}
end
local paused = tonumber(redis.call('GET', KEYS[3]) or '0')
if paused > now then return reply(1, paused - now) end
local function used(flight, done)
  redis.call('ZREMRANGEBYSCORE', flight, '-inf', now)
  redis.call('ZREMRANGEBYSCORE', done, '-inf', now)
  return redis.call('ZCARD', flight) + redis.call('ZCARD', done)
end
local object = #KEYS > 5
if object and used(KEYS[6], KEYS[7]) >= tonumber(ARGV[8]) then
  local first = redis.call('ZRANGE', KEYS[7], 0, 0, 'WITHSCORES')
  return reply(2, first[2] and (tonumber(first[2]) - now) or -1)
end
local want = 1
if not object then want = want + tonumber(ARGV[7]) end
local starts = {}
for j = 1, math.min(want, tonumber(ARGV[5]) - used(KEYS[4], KEYS[5])) do starts[j] = now end
if #starts < want then
  -- Reserve the slots that free first: ours from then on, nobody else's.
  local first = redis.call('ZRANGE', KEYS[5], 0, want - #starts - 1, 'WITHSCORES')
  for j = 1, #first, 2 do
    redis.call('ZREM', KEYS[5], first[j])
    table.insert(starts, tonumber(first[j + 1]))
  end
end
if #starts == 0 then return reply(3, -1) end
local ttl = math.ceil((lease + tonumber(ARGV[6]) * 2) * 1000)
redis.call('ZADD', KEYS[4], starts[1] + lease, id)
local waits = {}
for j = 2, #starts do
  redis.call('ZADD', KEYS[4], starts[j] + lease, id .. ':' .. (j - 1))
  table.insert(waits, tostring(starts[j] - now))
end
redis.call('PEXPIRE', KEYS[4], ttl)
redis.call('PEXPIRE', KEYS[5], ttl)
if object then
  ttl = math.ceil((lease + tonumber(ARGV[9]) * 2) * 1000)
  redis.call('ZADD', KEYS[6], starts[1] + lease, id)
  redis.call('PEXPIRE', KEYS[6], ttl)
  redis.call('PEXPIRE', KEYS[7], ttl)
end
return reply(0, starts[1] - now, waits)
"""
)

# KEYS: flight, done pairs, one per window. ARGV: lease, then per window its per_seconds,
# then per release: slot id, seconds since the answer (-1: not sent), window index, object
# window index (0: none). An answered slot frees per_seconds after the answer: "now - ago" is
# no earlier than the answer on Redis's clock, since the client measured "ago" before sending.
# A slot not sent frees at once, unless it was reserved for later: then it gives the
# reserved slot back as it was (freeing when it would have).
RELEASE: Final = (
    _NOW
    + """
local lease = tonumber(ARGV[1])
local windows = #KEYS / 2
local i = 2 + windows
while i + 3 <= #ARGV do
  local id, ago = ARGV[i], tonumber(ARGV[i + 1])
  for _, w in ipairs({tonumber(ARGV[i + 2]), tonumber(ARGV[i + 3])}) do
    if w > 0 then
      local flight, done = KEYS[2 * w - 1], KEYS[2 * w]
      local held = redis.call('ZSCORE', flight, id)
      redis.call('ZREM', flight, id)
      local frees = nil
      if ago >= 0 then
        frees = now - ago + tonumber(ARGV[1 + w])
      elseif held and tonumber(held) - lease > now then
        frees = tonumber(held) - lease
      end
      if frees then
        redis.call('ZADD', done, frees, id)
        redis.call('PEXPIRE', done, math.ceil((lease + tonumber(ARGV[1 + w]) * 2) * 1000))
      end
    end
  end
  i = i + 4
end
return 1
"""
)

# Tell Redis what this process did while it was away. KEYS: epoch, then flight, done pairs.
# ARGV: the epoch this process last saw, lease, then two lists, each a count followed by
# (window index, 'f' or 'd', slot id, seconds until it frees) entries: Redis takes the first
# if it still has that epoch (it kept our earlier requests), the second if it restarted empty.
# Then: a count of placeholders, their id prefix, seconds, and this process's own share: the
# other processes may still pace locally until their own probe finds Redis; placeholders hold
# their shares in the instance window (window 1) until then. The first process back puts them
# there; each one back after it takes its own share of them out, its requests now in Redis.
RESYNC: Final = (
    _NOW
    + """
local epoch = redis.call('GET', KEYS[1])
if not epoch then
  epoch = t[1] .. '.' .. t[2]
  redis.call('SET', KEYS[1], epoch)
end
local lease = tonumber(ARGV[2])
local second = 4 + 4 * tonumber(ARGV[3])
local i = 3
if epoch ~= ARGV[1] then i = second end
for j = 0, tonumber(ARGV[i]) - 1 do
  local k = i + 1 + 4 * j
  local w, id = tonumber(ARGV[k]), ARGV[k + 2]
  local flight, done = KEYS[2 * w], KEYS[2 * w + 1]
  if ARGV[k + 1] == 'f' then
    redis.call('ZADD', flight, now + lease, id)
  else
    redis.call('ZADD', done, now + tonumber(ARGV[k + 3]), id)
  end
  redis.call('PEXPIRE', flight, math.ceil(lease * 3000))
  redis.call('PEXPIRE', done, math.ceil(lease * 3000))
end
local p = second + 1 + 4 * tonumber(ARGV[second])
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
local standing = {}
for _, member in ipairs(redis.call('ZRANGE', KEYS[3], 0, -1)) do
  if string.sub(member, 1, 12) == 'placeholder:' then table.insert(standing, member) end
end
if #standing == 0 then
  for j = 1, tonumber(ARGV[p]) do
    redis.call('ZADD', KEYS[3], now + tonumber(ARGV[p + 2]), ARGV[p + 1] .. j)
  end
else
  for j = 1, math.min(#standing, tonumber(ARGV[p + 3])) do
    redis.call('ZREM', KEYS[3], standing[j])
  end
end
redis.call('PEXPIRE', KEYS[3], math.ceil(lease * 3000))
return epoch
"""
)

# KEYS: the endpoint's pause. ARGV: seconds.
PAUSE: Final = (
    _NOW
    + """
local untl = now + tonumber(ARGV[1])
if untl > tonumber(redis.call('GET', KEYS[1]) or '0') then
  redis.call('SET', KEYS[1], tostring(untl), 'PX', math.ceil(tonumber(ARGV[1]) * 1000) + 1000)
end
return 1
"""
)


def key_prefix(secret_key: str) -> str:
    """Where a key's windows live: a hash of the key, never the key.

    The braces make it a Redis Cluster hash tag: all of a key's windows sit in one slot,
    as a script touching several of them requires.
    """
    digest = hashlib.sha256(b"clerk-async rate limit\0" + secret_key.encode()).hexdigest()
    return "clerk_async:{" + digest[:32] + "}"


class _Down(Exception):
    """Internal: Redis did not answer in time, or answered with an error."""


class _Script:
    """A Lua script, run by its SHA. Redis lacks it only the first time (or after a restart):
    it is then sent whole, which loads it, in the same call; never a SCRIPT LOAD per probe."""

    def __init__(self, body: str) -> None:
        self.body = body
        self.sha = hashlib.sha1(body.encode()).hexdigest()  # Redis names scripts so

    async def __call__(self, redis: Any, keys: list[str], args: list[Any]) -> Any:
        try:
            return await redis.evalsha(self.sha, len(keys), *keys, *args)
        except NoScriptError:
            return await redis.eval(self.body, len(keys), *keys, *args)


# An entry of a resync list: window index, 'f' (in flight) or 'd' (done), slot id, seconds
# until it frees (done entries only).
_Entry = tuple[int, str, str, float]


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _connect(url: str, timeout: float) -> Redis:
    from redis.asyncio import Redis
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff

    # No retries inside redis-py: a failed call falls back at once, and the probe retries.
    # Each read (and the connect) may take ``timeout``: a new connection's handshake is a
    # round trip of its own, and must not count against the script's.
    return Redis.from_url(
        url,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        retry=Retry(NoBackoff(), 0),
        protocol=2,  # RESP2: the fewest round trips to set a connection up (no HELLO)
    )


class _Windows:
    """The windows one script call touches: their keys in KEYS order, numbered from 1."""

    def __init__(self, limiter: RedisLimiter, keys: list[str]) -> None:
        self._limiter = limiter
        self.keys = keys
        self.pers: list[float] = []
        self._index: dict[str | None, int] = {}

    def __call__(self, bucket: str | None) -> int:
        """The number of ``bucket``'s window (None: the instance's)."""
        index = self._index.get(bucket)
        if index is None:
            index = self._index[bucket] = len(self._index) + 1
            self.keys += self._limiter._window_keys(bucket)
            self.pers.append(self._limiter._per(bucket))
        return index


class RedisLimiter:
    """A :class:`Limiter` whose window is in Redis; a local one is its fallback.

    ``lease``: how long a slot may stay in flight without an answer before Redis frees it
    (so a crashed process's slots come back); ``per_seconds`` is added to it. The client
    passes its attempt timeout. ``timeout``: the longest a Redis call may take before this
    process goes on without Redis (per round trip: a call that must also connect, or load
    its script, gets one ``timeout`` for each); ``retry_every``: how often it then tries Redis
    again.
    """

    def __init__(
        self,
        limit: RateLimit,
        secret_key: str,
        *,
        lease: float = 60.0,
        timeout: float = 0.5,
        retry_every: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        per_object: RateLimit = PER_OBJECT,
        redis: Redis | None = None,
    ) -> None:
        if redis is None:
            if limit.redis_url is None:
                raise ValueError("RedisLimiter needs a RateLimit with a redis_url")
            redis = _connect(limit.redis_url, timeout)
        self.limit = limit
        self.per_object = per_object
        self.lease = lease + limit.per_seconds
        self.timeout = timeout
        self.retry_every = retry_every
        self.round_trips = 0  # Redis calls made (benchmarks report them per request)
        self._clock = clock
        self._url = redact_url(limit.redis_url or "redis://")
        self._redis = redis
        self._acquire_script = _Script(ACQUIRE)
        self._release_script = _Script(RELEASE)
        self._resync_script = _Script(RESYNC)
        self._pause_script = _Script(PAUSE)
        # The local limiter counts this process's own requests in both modes: that history
        # is what the fallback paces with and what a resync tells Redis.
        self._local = Limiter(limit, clock=clock, per_object=per_object)
        self._prefix = key_prefix(secret_key)
        self._pid = f"{os.getpid()}-{uuid.uuid4().hex[:12]}"
        self._serial = itertools.count()
        self._epoch = ""  # Redis's epoch when we last heard from it ("": never)
        self._procs = 0  # processes Redis last counted (0: never)
        # Pacing alone with no count: when the share may grow next; a 429's last cut (once
        # one came, the share never grows again).
        self._grow_at = 0.0
        self._cut_at = -math.inf
        self._turn = asyncio.Lock()  # one acquire (and one reserved sleeper) at a time
        self._waiting = 0  # tasks in line for _turn (for slots of the instance only)
        # Slots Redis granted ahead for those in line, and when each is ours (the clock's
        # time), earliest first.
        self._spare: deque[tuple[str, float]] = deque()
        # Slots this process holds, by object bucket: Redis's slot ids, None if granted locally.
        self._held: dict[str | None, list[str | None]] = {}
        # Releases not yet in Redis: slot, when answered (None: not sent), object bucket.
        self._outbox: list[tuple[str, float | None, str | None]] = []
        self._unsynced: deque[tuple[str | None, float]] = deque()  # answered while down
        self._flushing: asyncio.Task[None] | None = None
        self._pausing: set[asyncio.Task[None]] = set()
        self._probing: asyncio.Task[None] | None = None
        self._down = False
        self._closing = False

    # -- the Limiter interface ---------------------------------------------------------

    @property
    def shared(self) -> bool:
        """True while Redis answers; False while pacing locally to this process's share."""
        return not self._down

    def pause(self, route: str, seconds: float) -> None:
        """Pause ``route`` here at once, and for every process through Redis."""
        self._local.pause(route, seconds)
        if self._down:
            self._shrink()
        else:
            task = asyncio.ensure_future(self._send_pause(route, seconds))
            self._pausing.add(task)
            task.add_done_callback(self._pausing.discard)

    def pause_remaining(self, route: str) -> float:
        return self._local.pause_remaining(route)

    def try_acquire(self, route: str, key: str | None = None) -> bool:
        """A local decision, only while Redis is down; otherwise ``acquire`` asks Redis."""
        if self._down and self._local.try_acquire(route, key):
            self._held.setdefault(key, []).append(None)
            return True
        return False

    async def acquire(self, route: str, key: str | None = None) -> None:
        local = self._local
        while True:
            if self._down:
                self._grow()  # its share is all in use: the moment to take more, if it may
                await local.acquire(route, key)
                if self._down:
                    self._held.setdefault(key, []).append(None)
                    return
                local.release(sent=False, key=key)  # Redis came back meanwhile: ask it
                continue
            pause = local.pause_remaining(route)
            if pause:
                await asyncio.sleep(pause)
                continue
            if key is None:
                self._waiting += 1
            try:
                code, wait = await self._in_line(route, key)
            finally:
                if key is None:
                    self._waiting -= 1
                    if not self._waiting and self._spare:  # nobody left to use them
                        for spare, _ in self._spare:
                            self._post(spare, None, None)
                        self._spare.clear()
            if code == GRANTED:
                return
            if code == PAUSED:
                local.pause(route, wait)
            elif code == OBJECT_BUSY:  # wait out of the line, so that other requests go on
                await asyncio.sleep(wait if wait > 0 else self._poll)

    async def _in_line(self, route: str, key: str | None) -> tuple[int, float]:
        """One turn in the line: a slot (GRANTED), or why not; -1 if Redis failed."""
        async with self._turn:
            if self._down:
                return -1, 0.0
            if key is None and self._spare:  # granted ahead with an earlier ask
                slot, at = self._spare.popleft()
                await self._until_ours(slot, at - self._clock(), None)
                return GRANTED, 0.0
            extra = self._waiting - 1 if key is None else 0
            try:
                code, wait, slot = await self._ask(route, key, extra)
                while code == FULL:  # all in flight: an answer will free one soon
                    await asyncio.sleep(self._poll)
                    code, wait, slot = await self._ask(route, key, extra)
            except _Down:
                return -1, 0.0
            if code == GRANTED:
                await self._until_ours(slot, wait, key)
            return code, wait

    async def _until_ours(self, slot: str, wait: float, key: str | None) -> None:
        """Sleep until a reserved slot frees (in line: one sleeper per process), then hold it."""
        if wait > 0:
            try:
                await asyncio.sleep(wait)
            except asyncio.CancelledError:
                self._post(slot, None, key)  # given back as it was reserved
                raise
        self._local.take(key)
        self._held.setdefault(key, []).append(slot)

    def release(self, *, sent: bool = True, key: str | None = None) -> None:
        held = self._held[key]
        slot = held.pop()
        if not held and key is not None:
            del self._held[key]  # one list per object would grow with every user updated
        self._local.release(sent=sent, key=key)
        if slot is not None:
            self._post(slot, self._clock() if sent else None, key)
        elif sent:
            now = self._clock()
            unsynced = self._unsynced
            unsynced.append((key, now))
            horizon = now - max(self.limit.per_seconds, self.per_object.per_seconds)
            while unsynced[0][1] < horizon:  # out of every window: nothing to tell Redis
                unsynced.popleft()

    async def aclose(self) -> None:
        """Send the releases still queued (within one call's budget); close the connections."""
        if self._probing is not None:
            self._probing.cancel()
        if self._flushing is not None and not self._flushing.done():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(self._flushing), 4 * self.timeout)
        self._closing = True  # a call cut short by closing is no failure of Redis
        await self._redis.aclose()

    # -- Redis -------------------------------------------------------------------------

    @property
    def _poll(self) -> float:
        """How soon to ask again when Redis can name no time (every slot is in flight)."""
        return min(0.05, max(0.005, self.limit.per_seconds / self.limit.requests))

    def _window_keys(self, key: str | None) -> list[str]:
        name = "i" if key is None else "o:" + key
        return [f"{self._prefix}:{name}:flight", f"{self._prefix}:{name}:done"]

    def _per(self, key: str | None) -> float:
        return self.limit.per_seconds if key is None else self.per_object.per_seconds

    def _new_id(self) -> str:
        return f"{self._pid}-{next(self._serial)}"

    async def _call(self, script: _Script, keys: list[str], args: list[Any]) -> Any:
        """Run one script; _Down if Redis fails. Each round trip may take ``timeout`` (redis-py
        bounds each read): connect, the handshake and loading the script, when they are due,
        and the script's own; this bounds the whole."""
        self.round_trips += 1
        try:
            return await asyncio.wait_for(script(self._redis, keys, args), 4 * self.timeout)
        except (asyncio.TimeoutError, OSError, RedisError) as exc:
            self._went_down(exc)
            raise _Down from None

    async def _ask(self, route: str, key: str | None, extra: int = 0) -> tuple[int, float, str]:
        """Ask Redis for a slot (and ``extra`` more, kept in ``_spare``)."""
        slot = self._new_id()
        limit = self.limit
        keys = [
            self._prefix + ":procs",
            self._prefix + ":epoch",
            self._prefix + ":pause:" + route,
            *self._window_keys(None),
        ]
        args: list[Any] = [slot, self._pid, self.lease, PROCS_TTL, limit.requests]
        args += [limit.per_seconds, extra]
        if key is not None:
            keys += self._window_keys(key)
            args += [self.per_object.requests, self.per_object.per_seconds]
        try:
            reply = await self._call(self._acquire_script, keys, args)
        except BaseException:
            # Timed out or cancelled: Redis may have granted the slot all the same, and spare
            # ones with it. Free them all (releasing a slot never granted changes nothing).
            self._post(slot, None, key)
            for j in range(1, extra + 1):
                self._post(f"{slot}:{j}", None, None)
            raise
        code, wait = int(reply[0]), float(_text(reply[1]))
        now = self._clock()
        self._spare += [(f"{slot}:{j}", now + float(_text(w))) for j, w in enumerate(reply[5], 1)]
        self._procs = max(1, int(reply[2]))
        epoch = _text(reply[3])
        if epoch != self._epoch:
            if self._epoch:  # Redis restarted empty: tell it what this process holds
                log.warning("clerk_async: Redis at %s lost the rate-limit window", self._url)
                try:
                    await self._resync()
                except BaseException:
                    self._post(slot, None, key)
                    raise
            self._epoch = epoch
        return code, wait, slot

    def _post(self, slot: str, answered: float | None, key: str | None) -> None:
        """Queue a release; one task sends all that queued up in one call."""
        self._outbox.append((slot, answered, key))
        if not self._down and (self._flushing is None or self._flushing.done()):
            self._flushing = asyncio.ensure_future(self._flush())

    async def _flush(self) -> None:
        while self._outbox and not self._down:
            batch, self._outbox = self._outbox, []
            window = _Windows(self, [])
            releases: list[Any] = []
            now = self._clock()
            for slot, answered, key in batch:
                ago = -1.0 if answered is None else max(0.0, now - answered)
                releases += [slot, ago, window(None), 0 if key is None else window(key)]
            args = [self.lease, *window.pers, *releases]
            try:
                await self._call(self._release_script, window.keys, args)
            except _Down:
                self._outbox[:0] = batch  # sent after the resync

    async def _send_pause(self, route: str, seconds: float) -> None:
        with contextlib.suppress(_Down):
            await self._call(self._pause_script, [self._prefix + ":pause:" + route], [seconds])

    def _went_down(self, exc: BaseException) -> None:
        if self._down or self._closing:
            return
        self._down = True
        known = max(self._procs, self.limit.processes or 0)
        local = self._local
        local.share = known or UNKNOWN_PROCESSES
        self._grow_at = self._clock() + self.limit.per_seconds
        if self._epoch:
            # The shared window may be full, and others may have had more of it than their
            # share: for one window, send only as this process's own requests free slots,
            # by counting the rest of its share as answered just now.
            own = sum(1 for bucket, _ in local.recent() if bucket is None)
            own += sum(len(slots) for slots in self._held.values())
            for _ in range(math.floor(self.limit.requests / local.share) - own):
                local.take()
                local.release()
        log.warning(
            "clerk_async: Redis at %s failed (%s); pacing to this process's share of the "
            "rate limit (1/%d%s) until it answers again",
            self._url,
            type(exc).__name__,
            self._local.share,
            "" if known else ", as no count of the processes is known; less after a 429",
        )
        self._probing = asyncio.ensure_future(self._probe())

    def _grow(self) -> None:
        """Pacing alone with no count of the processes: after each window without a 429,
        take a little more of the limit, until the first 429."""
        if self._procs or self.limit.processes or self._cut_at > -math.inf:
            return  # a known or learnt count: its share it is
        now = self._clock()
        if now >= self._grow_at:
            local = self._local
            if local.share > 1:
                local.share = max(1.0, local.share * SPEED_UP)
            self._grow_at = now + self.limit.per_seconds

    def _shrink(self) -> None:
        """A 429 while pacing alone: more processes share the limit than this one assumed."""
        now = self._clock()
        # The other 429s of one burst say nothing more.
        if now - self._cut_at >= self.limit.per_seconds:
            self._cut_at = now
            self._local.share = math.floor(self._local.share) + 1

    async def _probe(self) -> None:
        while True:
            await asyncio.sleep(self.retry_every)
            try:
                await self._resync()
            except _Down:
                continue
            log.warning("clerk_async: Redis at %s is back; sharing the rate limit again", self._url)
            return

    async def _resync(self) -> None:
        """Tell Redis of the slots and answers it does not know of, then use it again."""
        window = _Windows(self, [self._prefix + ":epoch"])
        window(None)  # the instance's is window 1: the placeholders go there

        missed: list[_Entry] = []  # what Redis lacks if it kept its state
        everything: list[_Entry] = []  # what it lacks if it restarted empty
        renamed: set[str] = set()
        for bucket, slots in self._held.items():
            for i, held in enumerate(slots):
                slot = held or self._new_id()
                entries = [(window(None), "f", slot, 0.0)]
                if bucket is not None:
                    entries.append((window(bucket), "f", slot, 0.0))
                everything += entries
                if held is None:  # granted locally: Redis never saw it
                    slots[i] = slot
                    renamed.add(slot)
                    missed += entries
        everything += [(window(None), "f", slot, 0.0) for slot, _ in self._spare]
        now = self._clock()
        unsynced = len(self._unsynced)
        for bucket, answered in list(self._unsynced):
            for b in (None, bucket) if bucket is not None else (None,):
                missed.append((window(b), "d", self._new_id(), self._per(b) - (now - answered)))
        for bucket, ago in self._local.recent():
            everything.append((window(bucket), "d", self._new_id(), self._per(bucket) - ago))
        args: list[Any] = [self._epoch, self.lease]
        for entries in (missed, everything):
            live = [e for e in entries if e[1] == "f" or e[3] > 0]
            args.append(len(live))
            for entry in live:
                args += entry
        # What the others may send while they pace alone: the rest of the limit, as this
        # process reckons its own share (what a count of the processes gives it, or learnt).
        requests = self.limit.requests
        share = self._local.share if self._down else max(1, self._procs)
        own = max(1, math.floor(requests / share))
        args += [requests - own, f"placeholder:{self._new_id()}:", 2 * self.retry_every, own]
        try:
            epoch = await self._call(self._resync_script, window.keys, args)
        except _Down:
            for slots in self._held.values():  # still known only here
                for i, held in enumerate(slots):
                    if held in renamed:
                        slots[i] = None
            raise
        self._epoch = _text(epoch)
        for _ in range(unsynced):
            self._unsynced.popleft()
        self._local.share = 1
        self._down = False
        if self._outbox and (self._flushing is None or self._flushing.done()):
            self._flushing = asyncio.ensure_future(self._flush())
