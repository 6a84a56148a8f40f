"""One key-value store with expiry: in this process (:class:`MemoryStore`) or in Redis (:class:`RedisStore`).

Channels keep in it what several replicas must agree on: message ids already seen
(de-duplication), WeChat's access token and the lock that lets one replica refresh it,
and button payloads. Without a Redis URL everything stays in this process, which is
right for one server only.

The contract, the same for both implementations (``tests/bot/common/test_kv.py`` checks it against
each):

* **Keys** are strings; a :class:`RedisStore` puts ``<prefix>:`` in front of every key,
  so stores with different prefixes never see each other's keys. Values are strings.
* **TTLs** are in seconds, floats allowed (``0.25`` is 250 ms); a TTL below one
  millisecond counts as one millisecond. Every write sets one: nothing lives forever.
* **Failures**: :class:`MemoryStore` never fails. :class:`RedisStore` raises
  :class:`StoreUnavailable` (and nothing else) when Redis cannot be reached or answers
  with an error. The store does not decide what a failure means: each caller does, and
  says so where it catches it (de-duplication lets the message through, a button store
  forgets the button, WeChat's token cache refuses to fetch tokens blindly);
  :func:`first_delivery` is the de-duplication every channel shares, and it fails open.
* **Closing**: :meth:`KeyValueStore.aclose` releases connections; the store stays usable
  and reconnects on next use.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import weakref
from typing import Callable, Protocol

import redis
import redis.asyncio

logger = logging.getLogger(__name__)

DEFAULT_MAX_ITEMS = 100_000
"""How many keys a :class:`MemoryStore` holds before it drops expired ones, then the oldest."""


class StoreUnavailable(Exception):
    """The shared store could not be reached or refused a command; the message names no URL or secret."""


class KeyValueStore(Protocol):
    """Expiring string keys; TTLs in seconds; :class:`StoreUnavailable` on failure."""

    async def get(self, key: str) -> str | None:
        """The value of ``key``, or ``None`` when it is absent or expired."""
        ...

    async def set(self, key: str, value: str, ttl: float) -> None:
        """Store ``value`` under ``key`` (replacing any value) for ``ttl`` seconds."""
        ...

    async def add(self, key: str, value: str, ttl: float) -> bool:
        """Store ``value`` for ``ttl`` seconds only if ``key`` is absent (``SET NX``); whether it was stored."""
        ...

    async def pop(self, key: str) -> str | None:
        """Read and delete ``key`` in one step; ``None`` when it was absent or expired."""
        ...

    async def delete(self, key: str, only_if: str | None = None) -> None:
        """Delete ``key``; with ``only_if``, only while it still holds that value (a lock's owner)."""
        ...

    async def aclose(self) -> None:
        """Release connections (the store reconnects if used again)."""
        ...


def _ttl_ms(ttl: float) -> int:
    return max(1, int(ttl * 1000))


class MemoryStore:
    """:class:`KeyValueStore` in this process (one server, or tests); it never raises.

    Args:
        max_items: Beyond this many keys, expired keys are dropped, then the oldest writes
            until 90 % of ``max_items`` are left (so the sweep runs once per 10 % of new keys).
        clock: Monotonic seconds (injectable for tests).
    """

    def __init__(self, max_items: int = DEFAULT_MAX_ITEMS, clock: Callable[[], float] = time.monotonic) -> None:
        if max_items < 1:
            raise ValueError("max_items must be at least 1")
        self._items: dict[str, tuple[str, float]] = {}  # insertion order = write order
        self._max_items = max_items
        self._clock = clock
        self._lock = threading.Lock()  # the store may be shared by event loops in several threads

    def _live(self, key: str, now: float) -> str | None:
        item = self._items.get(key)
        if item is None:
            return None
        if item[1] <= now:
            del self._items[key]
            return None
        return item[0]

    def _put(self, key: str, value: str, ttl: float, now: float) -> None:
        self._items.pop(key, None)
        self._items[key] = (value, now + _ttl_ms(ttl) / 1000)
        if len(self._items) > self._max_items:
            for stale in [k for k, (_, expires) in self._items.items() if expires <= now]:
                del self._items[stale]
            excess = len(self._items) - int(self._max_items * 0.9)
            for oldest in list(self._items)[: max(excess, 0)]:
                del self._items[oldest]

    async def get(self, key: str) -> str | None:
        """The value of ``key``, or ``None`` when it is absent or expired."""
        with self._lock:
            return self._live(key, self._clock())

    async def set(self, key: str, value: str, ttl: float) -> None:
        """Store ``value`` under ``key`` for ``ttl`` seconds."""
        with self._lock:
            self._put(key, value, ttl, self._clock())

    async def add(self, key: str, value: str, ttl: float) -> bool:
        """Store ``value`` for ``ttl`` seconds only if ``key`` is absent; whether it was stored."""
        with self._lock:
            now = self._clock()
            if self._live(key, now) is not None:
                return False
            self._put(key, value, ttl, now)
            return True

    async def pop(self, key: str) -> str | None:
        """Read and delete ``key`` in one step."""
        with self._lock:
            value = self._live(key, self._clock())
            self._items.pop(key, None)
            return value

    async def delete(self, key: str, only_if: str | None = None) -> None:
        """Delete ``key``; with ``only_if``, only while it still holds that value."""
        with self._lock:
            if only_if is None or self._live(key, self._clock()) == only_if:
                self._items.pop(key, None)

    async def aclose(self) -> None:
        """Nothing to release."""


_DELETE_IF_EQUAL = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
_FAILURES = (redis.RedisError, OSError, asyncio.TimeoutError)


class RedisStore:
    """:class:`KeyValueStore` in Redis, shared by every replica (``redis.asyncio``).

    One client per event loop, created on first use: nothing connects at construction.

    Args:
        url: e.g. ``redis://127.0.0.1:6379/0`` (never logged: it may hold a password).
        prefix: Put ``<prefix>:`` in front of every key.
        timeout: Socket connect and read timeout, in seconds.
    """

    def __init__(self, url: str, prefix: str, timeout: float = 2.0) -> None:
        if not prefix:
            raise ValueError("a RedisStore needs a key prefix")
        self._url = url
        self.prefix = prefix
        self._timeout = timeout
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, redis.asyncio.Redis] = (
            weakref.WeakKeyDictionary()
        )

    def __repr__(self) -> str:
        return f"RedisStore(prefix={self.prefix!r})"

    def _client(self) -> redis.asyncio.Redis:
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            client = redis.asyncio.from_url(
                self._url,
                socket_timeout=self._timeout,
                socket_connect_timeout=self._timeout,
                decode_responses=True,
            )
            self._clients[loop] = client
        return client

    def _key(self, key: str) -> str:
        return f"{self.prefix}:{key}"

    async def get(self, key: str) -> str | None:
        """``GET``; the value, or ``None`` when absent or expired."""
        try:
            value = await self._client().get(self._key(key))
        except _FAILURES as exc:
            raise StoreUnavailable(f"Redis unavailable ({type(exc).__name__})") from None
        return None if value is None else str(value)

    async def set(self, key: str, value: str, ttl: float) -> None:
        """``SET key value PX ttl``."""
        try:
            await self._client().set(self._key(key), value, px=_ttl_ms(ttl))
        except _FAILURES as exc:
            raise StoreUnavailable(f"Redis unavailable ({type(exc).__name__})") from None

    async def add(self, key: str, value: str, ttl: float) -> bool:
        """``SET key value NX PX ttl``; whether it was stored."""
        try:
            return bool(await self._client().set(self._key(key), value, px=_ttl_ms(ttl), nx=True))
        except _FAILURES as exc:
            raise StoreUnavailable(f"Redis unavailable ({type(exc).__name__})") from None

    async def pop(self, key: str) -> str | None:
        """``GET`` and ``DEL`` in one transaction."""
        try:
            async with self._client().pipeline(transaction=True) as pipe:
                pipe.get(self._key(key))
                pipe.delete(self._key(key))
                value, _ = await pipe.execute()
        except _FAILURES as exc:
            raise StoreUnavailable(f"Redis unavailable ({type(exc).__name__})") from None
        return None if value is None else str(value)

    async def delete(self, key: str, only_if: str | None = None) -> None:
        """``DEL``; with ``only_if``, a Lua script deletes only while the key holds that value."""
        try:
            if only_if is None:
                await self._client().delete(self._key(key))
            else:
                await self._client().eval(_DELETE_IF_EQUAL, 1, self._key(key), only_if)
        except _FAILURES as exc:
            raise StoreUnavailable(f"Redis unavailable ({type(exc).__name__})") from None

    async def aclose(self) -> None:
        """Close the client of the running event loop (clients of other loops go with their loop)."""
        client = self._clients.pop(asyncio.get_running_loop(), None)
        if client is not None:
            await client.close()
            await client.connection_pool.disconnect()  # from_url pools are not closed by close() in redis 4.6


def open_store(redis_url: str | None, prefix: str) -> KeyValueStore:
    """A :class:`RedisStore` under ``prefix`` when ``redis_url`` is set, else a fresh :class:`MemoryStore`.

    Args:
        redis_url: The shared Redis, or ``None``/empty for this process only.
        prefix: Key prefix in Redis (a memory store is private to its owner anyway).

    Returns:
        The store.
    """
    return RedisStore(redis_url, prefix) if redis_url else MemoryStore()


async def first_delivery(store: KeyValueStore, key: str, ttl: float, channel: str) -> bool:
    """Whether a message is delivered for the first time: de-duplication of a channel's retries.

    Fails open: when the store is unavailable the message counts as new (and the outage is
    logged), because a rare duplicate reply costs less than a customer's lost message.

    Args:
        store: The channel's store.
        key: The message's id in the store (e.g. ``update:<id>``).
        ttl: How long the id is remembered, in seconds (longer than the sender retries).
        channel: The channel's name, for the log.

    Returns:
        ``False`` only when the store says the key was already there.
    """
    try:
        return await store.add(key, "1", ttl)
    except StoreUnavailable as exc:
        logger.error("%s: de-duplication store unavailable (%s): processing anyway", channel, exc)
        return True
