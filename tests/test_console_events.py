"""The console's event feed: broker events become queue entries and live updates; the outbox."""

from __future__ import annotations

import asyncio

import pytest

from bot.handoff_queue import InMemoryHandoffQueue
from connectors import live, senders
from connectors.events import ConsoleEventBroker


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
            "c1", "telegram", "TK-20261123-0009", 1, "anger")
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
        for junk in ({}, {"event": "pause"}, {"sender_id": 5, "event": "user"},
                     {"sender_id": "c3", "event": "slot", "name": "handoff", "value": {"level": "x"}}):
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
