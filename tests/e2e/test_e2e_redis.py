"""Production stores: endpoints.production.yml against the real Redis on 127.0.0.1:6379."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import redis

from tests.support.e2e_servers import ROOT, Servers

pytestmark = pytest.mark.e2e

REDIS_START = "redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save '' --appendonly no"
DELIVERED = "SF1873662042955"


@pytest.fixture(scope="module")
def redis_client() -> Iterator[redis.Redis]:
    client = redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.ConnectionError:
        pytest.fail(f"Redis is not running on 127.0.0.1:6379. Start it with: {REDIS_START}")
    yield client
    client.close()


@pytest.fixture(scope="module")
def prefix(redis_client) -> Iterator[str]:
    value = "lcstest" + uuid.uuid4().hex[:12]
    yield value
    keys = list(redis_client.scan_iter(match=f"{value}:*"))
    if keys:
        redis_client.delete(*keys)


def test_conversations_survive_a_rasa_restart_in_redis(tmp_path, redis_client, prefix):
    servers = Servers(tmp_path)
    env = {
        "REDIS_HOST": "127.0.0.1",
        "REDIS_PORT": "6379",
        "REDIS_DB": "0",
        "REDIS_PASSWORD": "",
        "REDIS_KEY_PREFIX": prefix,
        "TRACKER_RETENTION_SECONDS": "600",
    }
    try:
        servers.start_actions()
        env["ACTION_ENDPOINT_URL"] = f"http://127.0.0.1:{servers.action_port}/webhook"
        servers.start_rasa(ROOT / "endpoints.production.yml", **env)
        replies = servers.say("redis-customer", f"帮我查下 {DELIVERED}")
        assert DELIVERED in replies[0]

        keys = {k.decode() for k in redis_client.scan_iter(match=f"{prefix}:*")}
        assert f"{prefix}:tracker:redis-customer" in keys
        ttl = redis_client.ttl(f"{prefix}:tracker:redis-customer")
        assert 0 < ttl <= 600

        servers.start_rasa(ROOT / "endpoints.production.yml", **env)
        slots = servers.tracker("redis-customer")["slots"]
        assert slots["my_waybills"] == [DELIVERED]
        typo = DELIVERED[:-1] + "0"
        replies = servers.say("redis-customer", f"查一下 {typo}")
        assert any(f"您是不是要查 {DELIVERED}" in r for r in replies)
    finally:
        servers.stop()
