"""HandoffQueue against both implementations: in memory and the real Redis on 127.0.0.1:6379.

Every behaviour test runs twice (``memory`` and ``redis``). Each Redis test uses its own key
prefix ``lcs-test-<hex>`` and deletes its keys afterwards (SCAN). If Redis is not running the
Redis tests FAIL (never skip).
"""

from __future__ import annotations

import socket
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone

import pytest
import redis

from bot.handoff.queue import (
    HandoffQueue,
    InMemoryHandoffQueue,
    QueueEntry,
    RedisHandoffQueue,
    queue_from_env,
)
from tests.support.redis_server import REDIS_HOST, REDIS_PORT, connect_redis
from tests.support.stores import SteppingClock as Clock

T0 = datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc)  # 10:00 in Beijing
BEIJING = timezone(timedelta(hours=8))


@pytest.fixture
def clock() -> Clock:
    return Clock(T0 + timedelta(hours=1))


@dataclass
class Backend:
    """A queue, and ``handle()`` for another handle on the same shared state.

    In memory that is the same object; for Redis it is a new ``redis.Redis`` client (its own
    connection pool, as another process would have) on the same prefix.
    """

    name: str
    queue: HandoffQueue
    handle: Callable[[], HandoffQueue]


@pytest.fixture(params=["memory", "redis"])
def backend(request: pytest.FixtureRequest, clock: Clock) -> Iterator[Backend]:
    if request.param == "memory":
        queue = InMemoryHandoffQueue(clock=clock)
        yield Backend("memory", queue, lambda: queue)
        return
    prefix = request.getfixturevalue("redis_prefix")
    clients: list[redis.Redis] = []

    def handle() -> HandoffQueue:
        clients.append(connect_redis())
        return RedisHandoffQueue(clients[-1], prefix, clock=clock)

    try:
        yield Backend("redis", handle(), handle)
    finally:
        for client in clients:
            client.close()


@pytest.fixture
def queue(backend: Backend) -> HandoffQueue:
    return backend.queue


def _entry(conversation_id: str, level: int = 3, minutes: float = 0, **kw: object) -> QueueEntry:
    args: dict = {
        "conversation_id": conversation_id,
        "channel": "rest",
        "ticket_id": "TK-20261123-0001",
        "level": level,
        "enqueued_at": T0 + timedelta(minutes=minutes),
        "anger": 0.2,
        "reason": "asked for a human",
        "summary": "包裹三天没有更新",
    }
    args.update(kw)
    return QueueEntry(**args)


def _ids(entries: list[QueueEntry]) -> list[str]:
    return [e.conversation_id for e in entries]


# -- enqueue and order ---------------------------------------------------------------------------


def test_waiting_is_ordered_by_level_then_time(queue: HandoffQueue) -> None:
    for cid, level, minutes in [
        ("l3-oldest", 3, 0),
        ("l1-newer", 1, 30),
        ("l2", 2, 10),
        ("l1-older", 1, 20),
        ("l3-newest", 3, 40),
        ("l2-older", 2, 5),
    ]:
        queue.enqueue(_entry(cid, level, minutes))
    assert _ids(queue.waiting()) == ["l1-older", "l1-newer", "l2-older", "l2", "l3-oldest", "l3-newest"]
    assert queue.claimed() == []


def test_same_millisecond_is_ordered_by_conversation_id_in_both_backends(queue: HandoffQueue) -> None:
    queue.enqueue(_entry("b", 2, enqueued_at=T0 + timedelta(microseconds=100)))
    queue.enqueue(_entry("a", 2, enqueued_at=T0 + timedelta(microseconds=900)))
    queue.enqueue(_entry("c", 2, enqueued_at=T0 - timedelta(microseconds=1)))  # the millisecond before
    assert _ids(queue.waiting()) == ["c", "a", "b"]


def test_enqueue_stores_the_entry_exactly_in_utc(queue: HandoffQueue) -> None:
    entry = _entry(
        "wechat:o6_bmjrPTlm6_2sgVt7hMZOPfL2M",
        level=1,
        enqueued_at=datetime(2026, 11, 23, 10, 0, 0, 123456, tzinfo=BEIJING),
        anger=0.7,
        channel="wechat",
        reason="anger above threshold",
        summary="外箱破损，客户要求赔偿 ¥450",
    )
    stored = queue.enqueue(entry)
    assert stored == entry
    assert stored.enqueued_at == T0 + timedelta(microseconds=123456)
    assert stored.enqueued_at.tzinfo == timezone.utc
    assert stored.agent is None and stored.claimed_at is None
    assert queue.get(entry.conversation_id) == entry
    assert queue.get("nobody") is None
    assert queue.waiting() == [entry]


def test_enqueue_again_updates_but_keeps_original_time_and_place(queue: HandoffQueue) -> None:
    queue.enqueue(_entry("a", 3, 0))
    queue.enqueue(_entry("b", 3, 5))
    queue.enqueue(_entry("c", 2, 10))

    again = queue.enqueue(_entry("a", 3, 60, anger=0.9, reason="customer angry", summary="第二次催"))
    assert again.enqueued_at == T0
    assert (again.anger, again.reason, again.summary) == (0.9, "customer angry", "第二次催")
    assert queue.get("a") == again
    assert _ids(queue.waiting()) == ["c", "a", "b"]

    raised = queue.enqueue(_entry("a", 1, 90))
    assert raised.level == 1 and raised.enqueued_at == T0
    assert _ids(queue.waiting()) == ["a", "c", "b"]

    lowered = queue.enqueue(_entry("a", 3, 120))
    assert lowered.enqueued_at == T0
    assert _ids(queue.waiting()) == ["c", "a", "b"]
    assert queue.waiting()[1] == lowered


def test_enqueue_while_claimed_stays_claimed_and_is_updated(queue: HandoffQueue) -> None:
    queue.enqueue(_entry("a", 3, 0))
    held = queue.claim("a", "alice")
    assert held is not None

    updated = queue.enqueue(_entry("a", 1, 30, anger=1.0, reason="angry again", summary="要投诉"))
    assert updated == replace(held, level=1, anger=1.0, reason="angry again", summary="要投诉")
    assert updated.agent == "alice" and updated.claimed_at == held.claimed_at and updated.enqueued_at == T0
    assert queue.waiting() == []
    assert queue.claimed("alice") == [updated]
    assert queue.claim_next("bob") is None


# -- claim ----------------------------------------------------------------------------------------


def test_claim_succeeds_once_and_the_second_claimer_gets_none(queue: HandoffQueue, clock: Clock) -> None:
    a = queue.enqueue(_entry("a", 2, 0))
    b = queue.enqueue(_entry("b", 2, 5))

    first = queue.claim("a", "alice")
    assert first == replace(a, agent="alice", claimed_at=clock.now)
    assert first is not None and first.claimed_at is not None and first.claimed_at.tzinfo == timezone.utc
    assert queue.claim("a", "bob") is None
    assert queue.claim("a", "alice") is None
    assert queue.get("a") == first
    assert queue.waiting() == [b]
    assert queue.claimed() == [first]
    assert queue.claimed("alice") == [first]
    assert queue.claimed("bob") == []


def test_claim_of_unknown_or_released_conversation_returns_none(queue: HandoffQueue) -> None:
    assert queue.claim("ghost", "alice") is None
    queue.enqueue(_entry("a"))
    queue.release("a")
    assert queue.claim("a", "alice") is None
    assert queue.claimed() == [] and queue.waiting() == []


def test_claim_next_takes_the_first_waiting_in_queue_order(queue: HandoffQueue) -> None:
    for cid, level, minutes in [("x3", 3, 0), ("y1", 1, 50), ("z2", 2, 1), ("w1", 1, 40), ("v2", 2, 0)]:
        queue.enqueue(_entry(cid, level, minutes))
    assert queue.claim("y1", "carol") is not None  # claimed out of order: claim_next skips it

    taken = []
    for agent in ["alice", "bob", "alice", "bob", "alice"]:
        entry = queue.claim_next(agent)
        taken.append(None if entry is None else (entry.conversation_id, entry.agent))
    assert taken == [("w1", "alice"), ("v2", "bob"), ("z2", "alice"), ("x3", "bob"), None]
    assert queue.waiting() == []
    assert _ids(queue.claimed("alice")) == ["w1", "z2"]
    assert _ids(queue.claimed()) == ["w1", "y1", "v2", "z2", "x3"]


# -- transfer, requeue, release -------------------------------------------------------------------


def test_only_the_holder_can_transfer(queue: HandoffQueue, clock: Clock) -> None:
    queue.enqueue(_entry("a", 2, 0))
    b = queue.enqueue(_entry("b", 2, 5))
    held = queue.claim("a", "alice")
    assert held is not None

    assert queue.transfer("a", "bob", "carol") is None
    assert queue.get("a") == held
    assert queue.transfer("b", "alice", "bob") is None  # waiting, held by nobody
    assert queue.get("b") == b
    assert queue.transfer("ghost", "alice", "bob") is None

    moved = queue.transfer("a", "alice", "bob")
    assert moved == replace(held, agent="bob", claimed_at=clock.now)
    assert moved is not None and held.claimed_at is not None and moved.claimed_at is not None
    assert moved.claimed_at > held.claimed_at
    assert queue.claimed("alice") == [] and queue.claimed("bob") == [moved]
    assert queue.transfer("a", "alice", "carol") is None  # alice no longer holds it
    assert queue.requeue("a", "alice") is None
    assert queue.get("a") == moved


def test_requeue_by_the_holder_keeps_the_original_place(queue: HandoffQueue) -> None:
    a = queue.enqueue(_entry("a", 2, 0))
    for cid, level, minutes in [("b", 2, 5), ("c", 2, 10), ("d", 3, -60)]:
        queue.enqueue(_entry(cid, level, minutes))
    assert queue.claim_next("alice") == replace(a, agent="alice", claimed_at=queue.claimed()[0].claimed_at)
    queue.enqueue(_entry("e", 2, 20))  # arrives while a is held

    assert queue.requeue("a", "bob") is None
    still = queue.get("a")
    assert still is not None and still.agent == "alice"
    back = queue.requeue("a", "alice")
    assert back == a
    assert _ids(queue.waiting()) == ["a", "b", "c", "e", "d"]
    assert queue.claimed() == []
    assert queue.requeue("a", "alice") is None  # waiting now
    assert queue.requeue("ghost", "alice") is None
    nxt = queue.claim_next("bob")
    assert nxt is not None and (nxt.conversation_id, nxt.agent) == ("a", "bob")


def test_release_removes_waiting_and_claimed_entries(queue: HandoffQueue) -> None:
    a = queue.enqueue(_entry("a", 2, 0))
    queue.enqueue(_entry("b", 1, 5))
    held_b = queue.claim("b", "alice")

    assert queue.release("a") == a
    assert queue.release("b") == held_b
    assert queue.get("a") is None and queue.get("b") is None
    assert queue.waiting() == [] and queue.claimed() == [] and queue.claimed("alice") == []
    assert queue.release("a") is None
    assert queue.release("ghost") is None
    assert queue.requeue("b", "alice") is None and queue.transfer("b", "alice", "bob") is None

    fresh = queue.enqueue(_entry("a", 3, 90))  # a new handoff, not the old one
    assert fresh.enqueued_at == T0 + timedelta(minutes=90) and fresh.level == 3
    assert queue.waiting() == [fresh]


def test_claimed_lists_per_agent_in_queue_order(queue: HandoffQueue) -> None:
    for cid, level, minutes in [("a", 3, 0), ("b", 1, 10), ("c", 2, 0), ("d", 1, 0)]:
        queue.enqueue(_entry(cid, level, minutes))
    for cid, agent in [("a", "alice"), ("b", "bob"), ("c", "alice"), ("d", "alice")]:
        assert queue.claim(cid, agent) is not None
    assert _ids(queue.claimed()) == ["d", "b", "c", "a"]
    assert _ids(queue.claimed("alice")) == ["d", "c", "a"]
    assert [e.agent for e in queue.claimed("alice")] == ["alice"] * 3
    assert _ids(queue.claimed("bob")) == ["b"]
    assert queue.claimed("nobody") == []


# -- concurrency ----------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["claim_next", "claim", "mixed"])
def test_concurrent_claims_take_every_entry_exactly_once(backend: Backend, mode: str) -> None:
    ids = [f"conv-{i:03d}" for i in range(120)]
    for i, cid in enumerate(ids):
        backend.queue.enqueue(_entry(cid, level=1 + i % 3, minutes=i))
    expected_order = _ids(backend.queue.waiting())
    handles = [backend.handle(), backend.handle()]  # two Redis clients; in memory the same queue
    n_threads = 8
    barrier = threading.Barrier(n_threads)
    results: dict[str, list[QueueEntry]] = {}
    errors: list[Exception] = []
    lock = threading.Lock()

    def work(n: int) -> None:
        q, agent = handles[(n // 2) % 2], f"agent-{n}"
        got: list[QueueEntry] = []
        try:
            barrier.wait(timeout=30)
            if mode == "claim_next" or (mode == "mixed" and n % 2 == 0):
                while (entry := q.claim_next(agent)) is not None:
                    got.append(entry)
            else:
                start = n * len(ids) // n_threads  # each claimer starts elsewhere and wraps around
                for cid in ids[start:] + ids[:start]:
                    if (entry := q.claim(cid, agent)) is not None:
                        got.append(entry)
        except Exception as exc:  # reported below
            with lock:
                errors.append(exc)
        with lock:
            results[agent] = got

    threads = [threading.Thread(target=work, args=(n,)) for n in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads)
    assert errors == []

    won = Counter(e.conversation_id for got in results.values() for e in got)
    assert [cid for cid, count in won.items() if count > 1] == []  # no chat taken twice
    assert sorted(won) == ids  # none lost
    for agent, got in results.items():
        assert all(e.agent == agent for e in got)
        if mode == "claim_next":  # each agent's successive claims follow the queue order
            positions = [expected_order.index(e.conversation_id) for e in got]
            assert positions == sorted(positions)
    assert backend.queue.waiting() == []
    holders = {e.conversation_id: e.agent for e in backend.queue.claimed()}
    assert holders == {e.conversation_id: agent for agent, got in results.items() for e in got}


# -- validation -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"level": 0}, "level"),
        ({"level": 4}, "level"),
        ({"level": True}, "level"),
        ({"level": 1.0}, "level"),
        ({"level": "1"}, "level"),
        ({"anger": -0.01}, "anger"),
        ({"anger": 1.01}, "anger"),
        ({"anger": float("nan")}, "anger"),
        ({"anger": "0.5"}, "anger"),
        ({"conversation_id": ""}, "conversation_id"),
        ({"conversation_id": "   "}, "conversation_id"),
        ({"channel": ""}, "channel"),
        ({"ticket_id": ""}, "ticket_id"),
        ({"reason": ""}, "reason"),
        ({"summary": None}, "summary"),
        ({"enqueued_at": datetime(2026, 11, 23, 2, 0)}, "enqueued_at"),
        ({"enqueued_at": "2026-11-23T02:00:00+00:00"}, "enqueued_at"),
        ({"enqueued_at": datetime(1969, 12, 31, tzinfo=timezone.utc)}, "enqueued_at"),
        ({"agent": "alice"}, "claimed_at"),
        ({"claimed_at": T0}, "agent"),
        ({"agent": "", "claimed_at": T0}, "agent"),
        ({"agent": "alice", "claimed_at": datetime(2026, 11, 23, 2, 0)}, "claimed_at"),
    ],
)
def test_entry_rejects_invalid_fields(change: dict, message: str) -> None:
    args = {"conversation_id": "a", **change}
    with pytest.raises(ValueError, match=message):
        _entry(**args)


@pytest.mark.parametrize(
    ("method", "args"),
    [
        ("enqueue", (_entry("b", agent="alice", claimed_at=T0),)),
        ("enqueue", ({"conversation_id": "b"},)),
        ("get", ("",)),
        ("claim", ("", "alice")),
        ("claim", (None, "alice")),
        ("claim", ("a", "")),
        ("claim", ("a", "  ")),
        ("claim_next", ("",)),
        ("claimed", ("",)),
        ("transfer", ("a", "alice", "alice")),
        ("transfer", ("a", "", "bob")),
        ("transfer", ("a", "alice", "")),
        ("requeue", ("a", "")),
        ("release", ("",)),
    ],
)
def test_queue_methods_reject_invalid_arguments(queue: HandoffQueue, method: str, args: tuple) -> None:
    a = queue.enqueue(_entry("a"))
    with pytest.raises(ValueError):
        getattr(queue, method)(*args)
    assert queue.waiting() == [a] and queue.claimed() == []


def test_a_clock_without_timezone_is_rejected(queue: HandoffQueue, clock: Clock) -> None:
    a = queue.enqueue(_entry("a"))
    clock.now = datetime(2026, 11, 23, 3, 0)
    with pytest.raises(ValueError, match="clock"):
        queue.claim("a", "alice")
    with pytest.raises(ValueError, match="clock"):
        queue.claim_next("alice")
    assert queue.waiting() == [a]


@pytest.mark.parametrize("prefix", ["", "lcs:handoff", "lcs*", "-lcs", "lcs test", "lcs\n", "x" * 65, "队列"])
def test_redis_queue_rejects_unsafe_prefixes(prefix: str) -> None:
    client = redis.Redis(host=REDIS_HOST, port=REDIS_PORT)  # never connects
    with pytest.raises(ValueError, match="prefix"):
        RedisHandoffQueue(client, prefix)
    client.close()


# -- Redis specifics --------------------------------------------------------------------------------


def test_redis_keys_live_under_the_prefix_and_vanish_after_release(
    redis_client: redis.Redis, redis_prefix: str, clock: Clock
) -> None:
    queue = RedisHandoffQueue(redis_client, redis_prefix, clock=clock)
    queue.enqueue(_entry("a", 2, 0))
    queue.enqueue(_entry("wx:b", 3, 1))
    queue.claim("a", "alice")

    base = f"{redis_prefix}:handoff:"
    keys = {k.decode() for k in redis_client.scan_iter(match=f"{redis_prefix}:*")}
    assert keys == {base + "waiting", base + "claimed", base + "entry:a", base + "entry:wx:b"}
    ms = (T0 + timedelta(minutes=1) - datetime(1970, 1, 1, tzinfo=timezone.utc)) // timedelta(milliseconds=1)
    assert redis_client.zscore(base + "waiting", "wx:b") == 3 * 10**13 + ms
    assert redis_client.hgetall(base + "claimed") == {b"a": b"alice"}

    queue.release("a")
    queue.release("wx:b")
    assert list(redis_client.scan_iter(match=f"{redis_prefix}:*")) == []


def test_redis_queue_works_with_a_decoding_client(redis_prefix: str, clock: Clock) -> None:
    client = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, socket_connect_timeout=2, decode_responses=True)
    try:
        queue = RedisHandoffQueue(client, redis_prefix, clock=clock)
        a = queue.enqueue(_entry("a", 1, summary="客户很生气"))
        assert queue.get("a") == a and queue.waiting() == [a]
        assert queue.claim_next("alice") == replace(a, agent="alice", claimed_at=clock.now)
        assert queue.release("a") == replace(a, agent="alice", claimed_at=clock.now)
    finally:
        client.close()


def test_unreachable_redis_fails_and_says_how_to_start_it() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        free_port = s.getsockname()[1]  # closed again: nothing listens there
    with pytest.raises(pytest.fail.Exception, match=r"redis-server --daemonize yes.*service redis-server start"):
        connect_redis(port=free_port)


# -- queue_from_env ---------------------------------------------------------------------------------


@pytest.mark.parametrize("env", [{}, {"HANDOFF_REDIS_URL": "  ", "HANDOFF_REDIS_PREFIX": "other"}])
def test_queue_from_env_without_url_is_in_memory(env: dict[str, str]) -> None:
    assert isinstance(queue_from_env(env), InMemoryHandoffQueue)


def test_queue_from_env_with_url_is_redis_under_the_prefix(redis_client: redis.Redis, redis_prefix: str) -> None:
    queue = queue_from_env(
        {"HANDOFF_REDIS_URL": f"redis://{REDIS_HOST}:{REDIS_PORT}/0", "HANDOFF_REDIS_PREFIX": redis_prefix}
    )
    assert isinstance(queue, RedisHandoffQueue) and queue.prefix == redis_prefix
    try:
        entry = queue.enqueue(_entry("a", 1))
        assert RedisHandoffQueue(redis_client, redis_prefix).get("a") == entry
        assert redis_client.exists(f"{redis_prefix}:handoff:entry:a") == 1
    finally:
        queue.client.close()


def test_queue_from_env_defaults_the_prefix_and_checks_the_url() -> None:
    queue = queue_from_env({"HANDOFF_REDIS_URL": "redis://127.0.0.1:6379/3"})
    assert isinstance(queue, RedisHandoffQueue) and queue.prefix == "lcs"
    assert queue.client.connection_pool.connection_kwargs["db"] == 3
    with pytest.raises(ValueError):
        queue_from_env({"HANDOFF_REDIS_URL": "http://127.0.0.1:6379/0"})
    with pytest.raises(ValueError, match="prefix"):
        queue_from_env({"HANDOFF_REDIS_URL": "redis://127.0.0.1:6379/0", "HANDOFF_REDIS_PREFIX": "a:b"})
