"""What the agent console needs live, shared inside one Rasa server process.

* :class:`Hub`: in-process publish/subscribe. The event broker publishes every
  customer, bot and agent message and every queue change; each console page that
  is open (a server-sent-events stream) holds a subscription.
* :class:`Outbox`: agent replies waiting for customers whose channel cannot be
  pushed to (the REST channel answers only when asked): they ride along with the
  customer's next request, or are fetched by polling.
* :func:`queue`: the handoff queue (Redis when ``HANDOFF_REDIS_URL`` is set, else in
  this process).

Several Rasa replicas need the Redis queue; live updates then reach the consoles
served by the replica that handled the message (documented limitation).
"""

from __future__ import annotations

import asyncio
import threading
from collections import defaultdict, deque
from typing import Any

from bot.handoff_queue import HandoffQueue, queue_from_env

MAX_PENDING = 50
"""Agent messages kept per customer until they are collected."""
SUBSCRIBER_BUFFER = 200


class Hub:
    """Fan-out of console events to the open console pages (asyncio queues)."""

    def __init__(self) -> None:
        """An empty hub."""
        self._subscribers: set[asyncio.Queue[dict[str, Any]]] = set()

    def subscribe(self) -> asyncio.Queue[dict[str, Any]]:
        """A new subscription; call :meth:`unsubscribe` when the page goes away."""
        subscription: asyncio.Queue[dict[str, Any]] = asyncio.Queue(SUBSCRIBER_BUFFER)
        self._subscribers.add(subscription)
        return subscription

    def unsubscribe(self, subscription: asyncio.Queue[dict[str, Any]]) -> None:
        """Stop delivering to a subscription."""
        self._subscribers.discard(subscription)

    def publish(self, event: dict[str, Any]) -> None:
        """Deliver an event to every subscriber (a full, stalled subscriber loses its oldest event)."""
        for subscription in list(self._subscribers):
            if subscription.full():
                subscription.get_nowait()
            subscription.put_nowait(event)


class Outbox:
    """Agent messages waiting to be collected by customers on pull-only channels."""

    def __init__(self) -> None:
        """An empty outbox."""
        self._pending: dict[str, deque[dict[str, Any]]] = defaultdict(lambda: deque(maxlen=MAX_PENDING))
        self._lock = threading.Lock()

    def put(self, conversation_id: str, message: dict[str, Any]) -> None:
        """Keep a message for a customer."""
        with self._lock:
            self._pending[conversation_id].append(message)

    def take(self, conversation_id: str) -> list[dict[str, Any]]:
        """Every message waiting for a customer, oldest first; they are removed."""
        with self._lock:
            pending = self._pending.pop(conversation_id, None)
        return list(pending or [])


_hub = Hub()
_outbox = Outbox()
_queue: HandoffQueue | None = None


def hub() -> Hub:
    """The process's hub."""
    return _hub


def outbox() -> Outbox:
    """The process's outbox."""
    return _outbox


def queue() -> HandoffQueue:
    """The handoff queue, built from the environment on first use."""
    global _queue
    if _queue is None:
        _queue = queue_from_env()
    return _queue
