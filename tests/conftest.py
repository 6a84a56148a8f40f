"""Fixtures shared by several test modules."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest
import redis

from tests.redis_support import connect_redis


@pytest.fixture(scope="module")
def redis_client() -> Iterator[redis.Redis]:
    """The real Redis (the test fails with the start command when it is down)."""
    client = connect_redis()
    yield client
    client.close()


@pytest.fixture
def redis_prefix(redis_client: redis.Redis) -> Iterator[str]:
    """A key prefix of this test's own; every key under it is deleted afterwards."""
    prefix = f"lcs-test-{secrets.token_hex(6)}"
    yield prefix
    keys = list(redis_client.scan_iter(match=f"{prefix}:*", count=500))
    if keys:
        redis_client.delete(*keys)
