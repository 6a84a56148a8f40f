"""Rate limits shared by every public endpoint: fixed windows, in process or in Redis.

Usage at an HTTP edge::

    wait = await limiter().hit("rest_per_sender", sender_id, limits().rate("rest_per_sender"))
    if wait:
        return 429 with Retry-After: ceil(wait)

* :class:`MemoryRateLimiter`: one process (the embedded default), guarded by a lock.
* :class:`RedisRateLimiter`: shared by every replica; one Lua script per hit, so the
  count and its expiry are set atomically.

Keys are hashed before they are stored, so raw sender ids, tokens or addresses never
appear in Redis keys or in memory dumps. If Redis cannot be reached the limiter lets
the request through (and logs that, at most once a minute): a broken limiter must not
take every customer down with it.

Environment (:func:`limiter`): ``LIMITS_REDIS_URL`` (else ``HANDOFF_REDIS_URL``; unset or
empty → in process), ``LIMITS_REDIS_PREFIX`` (default ``lcs:limits:``).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import threading
import time
from dataclasses import dataclass
from typing import Callable, Mapping, Protocol

import redis

from bot.settings import Settings

logger = logging.getLogger(__name__)

DEFAULT_PREFIX = "lcs:limits:"
MEMORY_SWEEP_AT = 50_000
"""In-process windows kept before expired ones are swept (bounds memory under a flood of new keys)."""


@dataclass(frozen=True)
class Rate:
    """At most ``count`` events per ``seconds`` (a fixed window)."""

    count: int
    seconds: float

    def __post_init__(self) -> None:
        if self.count < 1 or self.seconds <= 0:
            raise ValueError("a rate needs count >= 1 and seconds > 0")


def retry_after(wait: float) -> str:
    """The ``Retry-After`` header value (whole seconds, at least 1) for a wait."""
    return str(max(1, math.ceil(wait)))


def _digest(name: str, key: str) -> str:
    return name + ":" + hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:32]


class RateLimiter(Protocol):
    """Counts events per (name, key) and says how long to wait when a rate is exceeded."""

    def hit_sync(self, name: str, key: str, rate: Rate, cost: int = 1) -> float:
        """Count ``cost`` events (blocking); 0.0 if allowed, else seconds until the window ends."""
        ...

    async def hit(self, name: str, key: str, rate: Rate, cost: int = 1) -> float:
        """Count ``cost`` events; 0.0 if allowed, else seconds until the window ends."""
        ...

    async def reset(self, name: str, key: str) -> None:
        """Forget the window of ``(name, key)`` (e.g. after a successful login)."""
        ...


class MemoryRateLimiter:
    """In-process fixed windows (one replica)."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        """Args: clock: seconds, monotonic (injectable for tests)."""
        self._clock = clock
        self._lock = threading.Lock()
        self._windows: dict[str, tuple[float, int]] = {}

    def hit_sync(self, name: str, key: str, rate: Rate, cost: int = 1) -> float:
        """See :meth:`RateLimiter.hit_sync`."""
        slot = _digest(name, key)
        now = self._clock()
        with self._lock:
            if len(self._windows) >= MEMORY_SWEEP_AT:
                self._windows = {k: v for k, v in self._windows.items() if v[0] > now}
            ends, count = self._windows.get(slot, (0.0, 0))
            if ends <= now:
                ends, count = now + rate.seconds, 0
            count += cost
            self._windows[slot] = (ends, count)
            return 0.0 if count <= rate.count else max(ends - now, 0.001)

    async def hit(self, name: str, key: str, rate: Rate, cost: int = 1) -> float:
        """See :meth:`RateLimiter.hit`."""
        return self.hit_sync(name, key, rate, cost)

    async def reset(self, name: str, key: str) -> None:
        """See :meth:`RateLimiter.reset`."""
        with self._lock:
            self._windows.pop(_digest(name, key), None)


_HIT = """
local count = redis.call('INCRBY', KEYS[1], ARGV[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  ttl = tonumber(ARGV[2])
end
return {count, ttl}
"""


class RedisRateLimiter:
    """Fixed windows in Redis, shared by every replica (fail-open when Redis is down)."""

    def __init__(self, url: str, prefix: str = DEFAULT_PREFIX, *, client: redis.Redis | None = None) -> None:
        """Args: url: ``redis://…``; prefix: key prefix; client: a ready client (tests)."""
        self._redis = client or redis.Redis.from_url(url, socket_timeout=2.0, socket_connect_timeout=2.0)
        self._prefix = prefix
        self._script = self._redis.register_script(_HIT)
        self._last_error = 0.0

    def hit_sync(self, name: str, key: str, rate: Rate, cost: int = 1) -> float:
        """See :meth:`RateLimiter.hit_sync`."""
        window_ms = max(1, int(rate.seconds * 1000))
        try:
            count, ttl = self._script(keys=[self._prefix + _digest(name, key)], args=[cost, window_ms])
        except redis.RedisError as exc:
            now = time.monotonic()
            if now - self._last_error > 60:
                self._last_error = now
                logger.error("rate limiter: Redis unavailable (%s); letting requests through", type(exc).__name__)
            return 0.0
        return 0.0 if int(count) <= rate.count else max(int(ttl), 1) / 1000.0

    async def hit(self, name: str, key: str, rate: Rate, cost: int = 1) -> float:
        """See :meth:`RateLimiter.hit` (the Redis call runs off the event loop)."""
        return await asyncio.to_thread(self.hit_sync, name, key, rate, cost)

    async def reset(self, name: str, key: str) -> None:
        """See :meth:`RateLimiter.reset`."""
        try:
            await asyncio.to_thread(self._redis.delete, self._prefix + _digest(name, key))
        except redis.RedisError as exc:
            logger.error("rate limiter: reset failed (%s)", type(exc).__name__)

    def clear(self) -> int:
        """Delete every window under this limiter's prefix (tests and operators); returns how many."""
        keys = list(self._redis.scan_iter(match=self._prefix + "*", count=500))
        return int(self._redis.delete(*keys)) if keys else 0

    def close(self) -> None:
        """Close the Redis connection pool."""
        self._redis.close()


_lock = threading.Lock()
_current: RateLimiter | None = None


def limiter_from_env(env: Mapping[str, str] | None = None) -> RateLimiter:
    """A limiter built from ``LIMITS_REDIS_URL`` / ``HANDOFF_REDIS_URL`` / ``REDIS_URL`` (Redis) or in process."""
    configured = Settings.from_env(env)
    if not configured.limits_redis_url:
        return MemoryRateLimiter()
    return RedisRateLimiter(configured.limits_redis_url, configured.limits_redis_prefix)


def limiter() -> RateLimiter:
    """The process's limiter, built from the environment on first use."""
    global _current
    with _lock:
        if _current is None:
            _current = limiter_from_env()
        return _current


def set_limiter(value: RateLimiter | None) -> None:
    """Replace the process's limiter (tests); ``None`` rebuilds it from the environment on next use."""
    global _current
    with _lock:
        _current = value
