"""bot.common.kv: the same contract table against the memory store and a real Redis.

Memory expiry runs on an injected clock; Redis expiry is real (short TTLs, waited for by
polling the key, never by a fixed sleep). The last section checks what each channel does
when the shared store is down: the store raises, the caller decides.
"""

from __future__ import annotations

import asyncio
import socket
import time
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable

import pytest
import redis

from bot.common.kv import KeyValueStore, MemoryStore, RedisStore, StoreUnavailable, first_delivery, open_store
from connectors.common import senders
from tests.support.redis_server import REDIS_URL


class FakeClock:
    """Monotonic seconds that only move when a test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Backend:
    """One implementation under test: how to build a store and how to let a TTL run out."""

    name: str
    make: Callable[[str], KeyValueStore]  # suffix -> store; different suffixes = different prefixes
    expire: Callable[[KeyValueStore, str, float], Awaitable[None]]  # (store, key, ttl): wait until it is gone
    opened: list[KeyValueStore] = field(default_factory=list)

    def store(self, suffix: str = "a") -> KeyValueStore:
        store = self.make(suffix)
        self.opened.append(store)
        return store


@pytest.fixture(params=["memory", "redis"])
async def backend(request: pytest.FixtureRequest) -> Any:
    if request.param == "memory":
        clock = FakeClock()
        stores: dict[str, MemoryStore] = {}

        def make_memory(suffix: str) -> KeyValueStore:
            return stores.setdefault(suffix, MemoryStore(clock=clock))

        async def advance(_: KeyValueStore, __: str, ttl: float) -> None:
            clock.now += ttl

        chosen = Backend("memory", make_memory, advance)
    else:
        client: redis.Redis = request.getfixturevalue("redis_client")
        prefix: str = request.getfixturevalue("redis_prefix")

        async def real_expiry(store: KeyValueStore, key: str, ttl: float) -> None:
            assert isinstance(store, RedisStore)
            full = f"{store.prefix}:{key}"
            deadline = time.monotonic() + ttl + 5
            while client.exists(full):
                assert time.monotonic() < deadline, f"{full} outlived its TTL of {ttl} s"
                await asyncio.sleep(0.02)

        chosen = Backend("redis", lambda suffix: RedisStore(REDIS_URL, f"{prefix}:{suffix}"), real_expiry)
    yield chosen
    for store in chosen.opened:
        await store.aclose()


# --------------------------------------------------------------------------- the contract table


async def test_get_set_and_replace(backend: Backend) -> None:
    store = backend.store()
    assert await store.get("missing") is None
    await store.set("k", "一", 30)
    assert await store.get("k") == "一"
    await store.set("k", "two", 30)
    assert await store.get("k") == "two"


async def test_add_only_if_absent(backend: Backend) -> None:
    store = backend.store()
    assert await store.add("once", "first", 30) is True
    assert await store.add("once", "second", 30) is False
    assert await store.get("once") == "first"
    await store.set("taken", "x", 30)
    assert await store.add("taken", "y", 30) is False and await store.get("taken") == "x"


async def test_ttl_in_seconds_expires_and_frees_the_key_for_add(backend: Backend) -> None:
    store = backend.store()
    assert await store.add("dedup", "1", 0.3)
    await store.set("value", "v", 0.3)
    assert await store.get("dedup") == "1" and await store.get("value") == "v"
    assert await store.add("dedup", "again", 0.3) is False
    await backend.expire(store, "dedup", 0.3)
    await backend.expire(store, "value", 0.3)
    assert await store.get("dedup") is None and await store.get("value") is None
    assert await store.pop("value") is None
    assert await store.add("dedup", "again", 30) is True and await store.get("dedup") == "again"


async def test_pop_reads_and_deletes(backend: Backend) -> None:
    store = backend.store()
    await store.set("buttons", "a\x1fb", 30)
    assert await store.pop("buttons") == "a\x1fb"
    assert await store.pop("buttons") is None and await store.get("buttons") is None


async def test_delete_and_delete_only_if_owner(backend: Backend) -> None:
    store = backend.store()
    await store.set("plain", "v", 30)
    await store.delete("plain")
    assert await store.get("plain") is None
    await store.delete("never-there")  # no error
    assert await store.add("lock", "holder-1", 30)
    await store.delete("lock", only_if="holder-2")  # someone else's lock stays
    assert await store.get("lock") == "holder-1"
    await store.delete("lock", only_if="holder-1")
    assert await store.get("lock") is None


async def test_stores_with_different_prefixes_never_see_each_others_keys(backend: Backend) -> None:
    one, other = backend.store("a"), backend.store("b")
    await one.set("k", "from a", 30)
    assert await other.get("k") is None
    assert await other.add("k", "from b", 30) is True
    assert await one.get("k") == "from a" and await other.get("k") == "from b"
    await other.delete("k")
    assert await one.get("k") == "from a"


async def test_close_releases_and_the_store_stays_usable(backend: Backend) -> None:
    store = backend.store()
    await store.set("k", "v", 30)
    await store.aclose()
    await store.aclose()  # twice is fine
    assert await store.get("k") == "v"  # reconnects on next use
    await store.aclose()


# --------------------------------------------------------------------------- implementation details


async def test_memory_ttl_is_exact_on_the_injected_clock() -> None:
    clock = FakeClock()
    store = MemoryStore(clock=clock)
    await store.set("k", "v", 0.25)
    clock.now += 0.249
    assert await store.get("k") == "v"
    clock.now += 0.001
    assert await store.get("k") is None


async def test_memory_store_is_bounded_dropping_expired_keys_then_the_oldest() -> None:
    clock = FakeClock()
    store = MemoryStore(max_items=10, clock=clock)
    for n in range(3):
        await store.set(f"short{n}", "x", 1)
    for n in range(7):
        await store.set(f"k{n}", str(n), 60)
    clock.now += 2  # the three short keys have expired
    await store.set("k7", "7", 60)  # 11th key: expired keys go first, which is enough
    assert [await store.get(f"k{n}") for n in range(8)] == [str(n) for n in range(8)]
    await store.set("k8", "8", 60)
    await store.set("k9", "9", 60)
    await store.set("k10", "10", 60)  # over the bound with nothing expired: oldest writes go, down to 90 %
    assert [await store.get(f"k{n}") for n in range(11)] == [None, None] + [str(n) for n in range(2, 11)]
    await store.set("k2", "2 again", 60)  # a rewrite counts as the newest
    await store.set("k11", "11", 60)
    await store.set("k12", "12", 60)  # 11 keys again: k3 and k4 are now the oldest
    assert await store.get("k2") == "2 again" and await store.get("k3") is None and await store.get("k4") is None
    with pytest.raises(ValueError):
        MemoryStore(max_items=0)


async def test_redis_keys_carry_the_prefix_and_a_millisecond_ttl(redis_client: redis.Redis, redis_prefix: str) -> None:
    store = RedisStore(REDIS_URL, f"{redis_prefix}:tg")
    try:
        await store.add("update:7", "1", 1.5)
        await store.set("token:app", "t", 7200)
        pttl = redis_client.pttl(f"{redis_prefix}:tg:update:7")
        assert 1000 < pttl <= 1500
        assert 7000_000 < redis_client.pttl(f"{redis_prefix}:tg:token:app") <= 7200_000
        assert redis_client.get(f"{redis_prefix}:tg:token:app") == b"t"
        assert "redis://" not in repr(store)
    finally:
        await store.aclose()
    with pytest.raises(ValueError):
        RedisStore(REDIS_URL, "")


async def test_open_store_picks_redis_only_with_a_url() -> None:
    assert isinstance(open_store(None, "p"), MemoryStore) and isinstance(open_store("", "p"), MemoryStore)
    assert open_store(None, "p") is not open_store(None, "p")  # each owner gets its own
    redis_store = open_store(REDIS_URL, "p")
    assert isinstance(redis_store, RedisStore) and redis_store.prefix == "p"


async def test_first_delivery_remembers_an_id_for_its_ttl(backend: Backend) -> None:
    store = backend.store()
    assert await first_delivery(store, "update:1", 0.3, "test") is True
    assert await first_delivery(store, "update:1", 0.3, "test") is False
    assert await first_delivery(store, "update:2", 0.3, "test") is True
    await backend.expire(store, "update:1", 0.3)
    assert await first_delivery(store, "update:1", 0.3, "test") is True


# --------------------------------------------------------------------------- when Redis is down


def dead_redis_url() -> str:
    """A Redis URL (with a password) where nothing listens."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"redis://:hunter2-redis-password@127.0.0.1:{port}/0"


async def test_redis_down_raises_store_unavailable_without_the_url() -> None:
    url = dead_redis_url()
    store = RedisStore(url, "down", timeout=0.5)
    calls: list[Callable[[], Awaitable[Any]]] = [
        lambda: store.get("k"),
        lambda: store.set("k", "v", 1),
        lambda: store.add("k", "v", 1),
        lambda: store.pop("k"),
        lambda: store.delete("k"),
        lambda: store.delete("k", only_if="v"),
    ]
    for call in calls:
        with pytest.raises(StoreUnavailable) as caught:
            await call()
        assert "hunter2" not in str(caught.value) and "127.0.0.1" not in str(caught.value)
        assert caught.value.__cause__ is None and caught.value.__suppress_context__
    await store.aclose()


async def test_telegram_keeps_serving_when_redis_is_down(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from connectors.telegram.buttons import ButtonCodec
    from connectors.telegram.channel import TelegramInput
    from connectors.telegram.config import TelegramConfig

    monkeypatch.setattr(senders, "_senders", dict(senders._senders))
    down = RedisStore(dead_redis_url(), "down", timeout=0.5)
    codec = ButtonCodec("webhook-secret-0123456789", down)
    data = await codec.encode(42, "/inform" + "x" * 80)  # too long to travel inline: kept in the store
    assert data.startswith("k")  # the button is still shown ...
    assert await codec.decode(42, data) is None  # ... and tapping it says it expired
    short = await codec.encode(42, "/affirm")
    assert await codec.decode(42, short) == "/affirm"  # inline payloads need no store
    config = TelegramConfig("123456789:AAE-test_Token-0123456789abcdefghij", "webhook-secret-0123456789")
    channel = TelegramInput(config)
    channel._store = down
    assert await channel._first_delivery(1) and await channel._first_delivery(1)  # de-duplication fails open
    assert "telegram: de-duplication store unavailable (Redis unavailable (ConnectionError))" in caplog.text


async def test_wechat_keeps_serving_when_redis_is_down_but_never_fetches_tokens_blindly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from connectors.wechat.api import WeChatError
    from connectors.wechat.buttons import ButtonMemory
    from connectors.wechat.channel import WeChatInput

    monkeypatch.setattr(senders, "_senders", dict(senders._senders))
    channel = WeChatInput("wx0123456789abcdef", "app-secret-0123456789abcdef", "token-abc", redis_url=dead_redis_url())
    assert await channel._first_delivery("msg:1") and await channel._first_delivery("msg:1")  # processed anyway
    buttons = ButtonMemory(channel.store, "buttons:wx0123456789abcdef")
    await buttons.remember("openid-1", ["/affirm", "/deny"])  # logged, not raised
    assert await buttons.take("openid-1") == []  # options then only work by their text
    with pytest.raises(WeChatError, match="token store unavailable"):
        await channel.api.access_token()  # one replica fetching blindly would invalidate the others' token
    await channel.api.aclose()
