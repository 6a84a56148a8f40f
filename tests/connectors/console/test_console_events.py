"""The console's event feed: broker events become queue entries and live updates; the outbox."""

from __future__ import annotations

import asyncio
import secrets
import time

import pytest

from bot.handoff.queue import InMemoryHandoffQueue
from connectors.common import senders
from connectors.console import live
from connectors.console.events import ConsoleEventBroker
from tests.support.redis_server import REDIS_URL, connect_redis


@pytest.fixture(autouse=True)
def fresh_queue(monkeypatch):
    queue = InMemoryHandoffQueue()
    monkeypatch.setattr(live, "_queue", queue)
    return queue


def handoff_events(sender: str = "c1") -> list[dict]:
    return [
        {"sender_id": sender, "event": "user", "text": "什么破快递", "input_channel": "telegram",
         "timestamp": 1_700_000_000},
        {"sender_id": sender, "event": "slot", "name": "handoff", "timestamp": 1_700_000_001,
         "value": {"ticket_id": "TK-20261123-0009", "level": 1, "anger": 0.92, "reason": "anger", "summary": "S"}},
        {"sender_id": sender, "event": "pause", "timestamp": 1_700_000_002},
    ]  # fmt: skip


async def test_pause_after_the_handoff_slot_queues_the_conversation(fresh_queue) -> None:
    broker = ConsoleEventBroker()
    subscription = live.hub().subscribe()
    try:
        for event in handoff_events():
            broker.publish(event)
        (entry,) = fresh_queue.waiting()
        assert (entry.conversation_id, entry.channel, entry.ticket_id, entry.level, entry.reason) == (
            "c1",
            "telegram",
            "TK-20261123-0009",
            1,
            "anger",
        )
        assert entry.anger == pytest.approx(0.92) and entry.enqueued_at.timestamp() == 1_700_000_002
        seen = [subscription.get_nowait() for _ in range(subscription.qsize())]
        assert seen[0]["type"] == "message" and seen[0]["author"] == "customer" and seen[0]["text"] == "什么破快递"
        assert seen[-1] == {"type": "queue", "conversation_id": "c1", "change": "waiting"}
        broker.publish({"sender_id": "c1", "event": "resume"})
        assert fresh_queue.waiting() == [] and fresh_queue.get("c1") is None
    finally:
        live.hub().unsubscribe(subscription)


async def test_agent_messages_are_marked_and_garbage_never_raises(fresh_queue) -> None:
    broker = ConsoleEventBroker()
    subscription = live.hub().subscribe()
    try:
        broker.publish({"sender_id": "c2", "event": "bot", "text": "您好", "metadata": {"agent": "li"}})
        assert subscription.get_nowait()["author"] == "agent"
        for junk in (
            {},
            {"event": "pause"},
            {"sender_id": 5, "event": "user"},
            {"sender_id": "c3", "event": "slot", "name": "handoff", "value": {"level": "x"}},
        ):
            broker.publish(junk)  # fmt: skip
        broker.publish({"sender_id": "c3", "event": "pause"})
        assert fresh_queue.get("c3").level == 3  # unusable level: treated as a general enquiry
    finally:
        live.hub().unsubscribe(subscription)


async def test_hub_drops_the_oldest_event_for_a_stalled_page() -> None:
    hub = live.Hub()
    slow = hub.subscribe()
    for n in range(live.SUBSCRIBER_BUFFER + 5):
        hub.publish({"n": n})
    assert slow.qsize() == live.SUBSCRIBER_BUFFER and slow.get_nowait() == {"n": 5}
    hub.unsubscribe(slow)
    hub.publish({"n": -1})
    assert slow.qsize() == live.SUBSCRIBER_BUFFER - 1


async def test_outbox_and_senders() -> None:
    outbox = live.outbox()
    assert outbox.take("nobody") == []
    await senders.deliver("rest", "c4", [{"text": "一"}, {"text": "二"}])
    assert [m["text"] for m in outbox.take("c4")] == ["一", "二"] and outbox.take("c4") == []
    pushed: list = []

    async def push(conversation_id: str, messages) -> None:
        pushed.append((conversation_id, list(messages)))

    senders.register("fakechannel", push)
    await senders.deliver("fakechannel", "c5", [{"text": "hi"}])
    assert pushed == [("c5", [{"text": "hi"}])] and outbox.take("c5") == []
    for n in range(live.MAX_PENDING + 3):
        outbox.put("c6", {"text": str(n)})
    assert [m["text"] for m in outbox.take("c6")][0] == "3"
    await asyncio.sleep(0)


# --- across replicas: hub and outbox in the real Redis ------------------------------------


async def publish_sentinel_and_collect(publisher: live.Hub, page: asyncio.Queue, timeout: float = 5.0) -> list[dict]:
    """Publish a sentinel event and return every event the page got before it.

    Redis delivers what one subscriber receives in the order the server accepted the
    publishes, and the relay hands events to the page in that order: anything published
    before the sentinel (and meant to reach the page at all) is on the page before it.
    """
    sentinel = {"type": "sentinel", "id": secrets.token_hex(4)}
    publisher.publish(sentinel)
    before: list[dict] = []
    deadline = time.monotonic() + timeout
    while True:
        try:
            event = await asyncio.wait_for(page.get(), timeout=max(0.0, deadline - time.monotonic()))
        except asyncio.TimeoutError:
            pytest.fail(f"the sentinel event did not reach the page within {timeout} s; got before it: {before}")
        if event == sentinel:
            return before
        before.append(event)


async def stop_relay(hub: live.Hub, timeout: float = 5.0) -> bool:
    """Wait until the hub's Redis relay, whose last page is gone, has finished (cancel it if it has not)."""
    relay = hub._relay
    if relay is None:
        return True
    done, _ = await asyncio.wait({relay}, timeout=timeout)
    if not done:
        relay.cancel()
    return bool(done)


async def test_hub_events_reach_pages_on_another_replica_through_redis(redis_prefix) -> None:
    replica_a, replica_b = live.Hub(REDIS_URL, redis_prefix), live.Hub(REDIS_URL, redis_prefix)
    page_on_b = replica_b.subscribe()
    try:
        received = None
        for _ in range(50):  # the relay subscribes asynchronously: publish until it listens
            replica_a.publish({"type": "message", "conversation_id": "c7", "text": "你好"})
            try:
                received = await asyncio.wait_for(page_on_b.get(), timeout=0.2)
                break
            except asyncio.TimeoutError:
                continue
        assert received == {"type": "message", "conversation_id": "c7", "text": "你好"}
        other = live.Hub(REDIS_URL, "lcs-test-other-" + redis_prefix[-12:])
        other.publish({"type": "queue"})  # another installation's prefix never leaks in
        before = await publish_sentinel_and_collect(replica_a, page_on_b)
        assert all(event == received for event in before), before  # only leftovers of the retries above
    finally:
        replica_b.unsubscribe(page_on_b)
        relay_stopped = await stop_relay(replica_b)  # it notices within a second that no page is left
    assert relay_stopped, "replica B's Redis relay kept running after its last page went away"


def test_outbox_is_shared_between_replicas_through_redis(redis_prefix) -> None:
    writer, reader = live.Outbox(REDIS_URL, redis_prefix), live.Outbox(REDIS_URL, redis_prefix)
    writer.put("c8", {"text": "一", "agent": "李"})
    writer.put("c8", {"text": "二"})
    assert reader.take("c8") == [{"text": "一", "agent": "李"}, {"text": "二"}]
    assert writer.take("c8") == [] and reader.take("c8") == []
    for n in range(live.MAX_PENDING + 2):
        writer.put("c9", {"text": str(n)})
    pending = reader.take("c9")
    assert len(pending) == live.MAX_PENDING and pending[0]["text"] == "2"
    client = connect_redis()
    try:
        writer.put("c10", {"text": "x"})
        assert 0 < client.ttl(f"{redis_prefix}:outbox:c10") <= live.OUTBOX_TTL_SECONDS
    finally:
        client.close()


async def test_a_pause_the_full_queue_refuses_is_resumed_and_the_customer_told(monkeypatch) -> None:
    """The broker never leaves a paused customer without a queue entry: a full queue hands it back."""
    from types import SimpleNamespace

    from rasa.core.agent import Agent
    from rasa.core.lock_store import InMemoryLockStore
    from rasa.core.tracker_store import InMemoryTrackerStore
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import ConversationPaused, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    from connectors.console import expiry as handoff_expiry

    domain = Domain.load("domain")
    agent = Agent(domain=domain, tracker_store=InMemoryTrackerStore(domain), lock_store=InMemoryLockStore())
    full = InMemoryHandoffQueue(max_waiting=1)
    monkeypatch.setattr(live, "_queue", full)
    monkeypatch.setattr(handoff_expiry, "_app", SimpleNamespace(ctx=SimpleNamespace(agent=agent)))
    second = f"rest-full-{secrets.token_hex(3)}"
    paused = DialogueStateTracker.from_events(second, [UserUttered("转人工"), ConversationPaused()])
    await agent.tracker_store.save(paused)
    broker = ConsoleEventBroker()
    for sender in ("first", second):
        for event in handoff_events(sender):
            broker.publish({**event, "input_channel": "rest"} if event["event"] == "user" else event)
    assert [e.conversation_id for e in full.waiting()] == ["first"]
    await asyncio.gather(*list(handoff_expiry._pending))
    assert not (await agent.tracker_store.retrieve(second)).is_paused()
    (told,) = live.outbox().take(second)
    assert "TK-20261123-0009" in told["text"]
