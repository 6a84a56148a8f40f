"""The real Redis on 127.0.0.1:6379 for tests: connect, or fail saying how to start it."""

from __future__ import annotations

import pytest
import redis

REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
REDIS_URL = f"redis://{REDIS_HOST}:{REDIS_PORT}/0"
REDIS_START = (
    "redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save '' --appendonly no"
    "   (or: service redis-server start)"
)


def connect_redis(host: str = REDIS_HOST, port: int = REDIS_PORT) -> redis.Redis:
    """A client to the test Redis; fails the test (never skips) when Redis is not running."""
    client = redis.Redis(host=host, port=port, socket_connect_timeout=2, socket_timeout=10)
    try:
        client.ping()
    except (redis.ConnectionError, redis.TimeoutError) as exc:
        client.close()
        pytest.fail(f"Redis is not reachable on {host}:{port} ({exc}).\nStart it with:  {REDIS_START}", pytrace=False)
    return client
