"""Rate limits: in process and in the real Redis, the same contract."""

from __future__ import annotations

import asyncio
from typing import Iterator

import pytest
import redis

from bot.common.ratelimit import MemoryRateLimiter, Rate, RateLimiter, RedisRateLimiter, limiter_from_env, retry_after
from tests.support.redis_server import REDIS_URL


class Clock:
    """A hand-moved monotonic clock."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture()
def redis_limiter(redis_client: redis.Redis, redis_prefix: str) -> Iterator[RedisRateLimiter]:
    limiter = RedisRateLimiter(REDIS_URL, f"{redis_prefix}:limits:")
    yield limiter
    limiter.clear()
    limiter.close()


def test_memory_allows_the_count_then_refuses_until_the_window_ends() -> None:
    clock = Clock()
    limiter = MemoryRateLimiter(clock=clock)
    rate = Rate(3, 60)
    assert [limiter.hit_sync("r", "alice", rate) for _ in range(3)] == [0.0, 0.0, 0.0]
    clock.now += 20
    assert limiter.hit_sync("r", "alice", rate) == pytest.approx(40.0)
    assert limiter.hit_sync("r", "bob", rate) == 0.0, "another key has its own window"
    assert limiter.hit_sync("other", "alice", rate) == 0.0, "another name has its own window"
    clock.now += 40
    assert limiter.hit_sync("r", "alice", rate) == 0.0, "a new window starts when the old one ends"


def test_memory_reset_and_cost() -> None:
    limiter = MemoryRateLimiter(clock=Clock())
    rate = Rate(10, 60)
    assert limiter.hit_sync("img", "alice", rate, cost=10) == 0.0
    assert limiter.hit_sync("img", "alice", rate) > 0
    asyncio.run(limiter.reset("img", "alice"))
    assert limiter.hit_sync("img", "alice", rate) == 0.0


def test_redis_counts_across_limiter_instances(redis_limiter: RedisRateLimiter, redis_prefix: str) -> None:
    other_replica = RedisRateLimiter(REDIS_URL, f"{redis_prefix}:limits:")
    rate = Rate(2, 30)
    try:
        assert asyncio.run(redis_limiter.hit("rest", "1.2.3.4", rate)) == 0.0
        assert other_replica.hit_sync("rest", "1.2.3.4", rate) == 0.0
        wait = redis_limiter.hit_sync("rest", "1.2.3.4", rate)
        assert 29.0 < wait <= 30.0, "the third hit, on either replica, waits for the shared window"
        asyncio.run(other_replica.reset("rest", "1.2.3.4"))
        assert redis_limiter.hit_sync("rest", "1.2.3.4", rate) == 0.0
    finally:
        other_replica.close()


def test_redis_keys_hold_no_raw_identifier(
    redis_limiter: RedisRateLimiter, redis_client: redis.Redis, redis_prefix: str
) -> None:
    redis_limiter.hit_sync("rest", "13812345678", Rate(5, 60))
    keys = [k.decode() for k in redis_client.scan_iter(match=f"{redis_prefix}:limits:*")]
    assert len(keys) == 1 and keys[0].startswith(f"{redis_prefix}:limits:rest:")
    assert "13812345678" not in keys[0]
    assert 0 < redis_client.pttl(keys[0]) <= 60_000, "every window expires on its own"


def test_redis_down_lets_requests_through_and_logs(caplog: pytest.LogCaptureFixture) -> None:
    limiter = RedisRateLimiter("redis://127.0.0.1:1/0")
    try:
        assert limiter.hit_sync("rest", "alice", Rate(1, 60)) == 0.0
        assert limiter.hit_sync("rest", "alice", Rate(1, 60)) == 0.0
    finally:
        limiter.close()
    assert any("Redis unavailable" in r.getMessage() for r in caplog.records)


def test_limiter_from_env_picks_the_store() -> None:
    memory: RateLimiter = limiter_from_env({})
    assert isinstance(memory, MemoryRateLimiter)
    shared = limiter_from_env({"HANDOFF_REDIS_URL": REDIS_URL})
    assert isinstance(shared, RedisRateLimiter)
    shared.close()


def test_rate_and_retry_after_are_checked() -> None:
    with pytest.raises(ValueError):
        Rate(0, 10)
    with pytest.raises(ValueError):
        Rate(1, 0)
    assert retry_after(0.2) == "1" and retry_after(30.01) == "31"
