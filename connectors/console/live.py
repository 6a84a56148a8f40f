"""What the agent console needs live: the queue, live updates and the outbox.

* :class:`Hub`: publish/subscribe of console events. The event broker publishes
  every customer, bot and agent message and every queue change; each open console
  page (a server-sent-events stream) holds a subscription.
* :class:`Outbox`: agent replies waiting for customers whose channel cannot be
  pushed to (the REST channel answers only when asked); the customer's next
  request, or a poll, collects them.
* :func:`queue`: the handoff queue.

With ``HANDOFF_REDIS_URL`` set, all three live in Redis and work across Rasa
replicas: hub events go through a Redis pub/sub channel that every replica
relays to its own pages, and the outbox is a Redis list per customer. Without it
everything stays in this process (the embedded default of ``make run``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections import defaultdict, deque
from collections.abc import Mapping
from typing import Any

import redis
import redis.asyncio as aioredis

from bot.handoff.queue import DEFAULT_PREFIX, HandoffQueue, queue_from_env
from bot.settings import Settings

logger = logging.getLogger(__name__)

MAX_PENDING = 50
"""Agent messages kept per customer until they are collected."""
OUTBOX_TTL_SECONDS = 7 * 24 * 3600
SUBSCRIBER_BUFFER = 200


class Hub:
    """Fan-out of console events to the open console pages, optionally across replicas via Redis."""

    def __init__(self, redis_url: str | None = None, prefix: str = DEFAULT_PREFIX) -> None:
        """A hub; with ``redis_url`` events travel through the ``{prefix}:console:events`` channel."""
        self._subscribers: set[asyncio.Queue[dict[str, Any]]] = set()
        self._url = redis_url
        self._channel = f"{prefix}:console:events"
        self._client = redis.Redis.from_url(redis_url, socket_timeout=5) if redis_url else None
        self._relay: asyncio.Task[None] | None = None

    def subscribe(self) -> asyncio.Queue[dict[str, Any]]:
        """A new subscription (call inside the event loop); :meth:`unsubscribe` when the page goes away."""
        subscription: asyncio.Queue[dict[str, Any]] = asyncio.Queue(SUBSCRIBER_BUFFER)
        self._subscribers.add(subscription)
        if self._url and (self._relay is None or self._relay.done()):
            self._relay = asyncio.get_running_loop().create_task(self._relay_from_redis(self._url))
        return subscription

    def unsubscribe(self, subscription: asyncio.Queue[dict[str, Any]]) -> None:
        """Stop delivering to a subscription."""
        self._subscribers.discard(subscription)

    def publish(self, event: dict[str, Any]) -> None:
        """Deliver an event to every page: through Redis when configured, else directly."""
        if self._client is not None:
            try:
                self._client.publish(self._channel, json.dumps(event, ensure_ascii=False))
                return
            except redis.RedisError as exc:  # fall back to this replica's pages
                logger.error("console hub: redis publish failed: %s", type(exc).__name__)
        self._deliver(event)

    def _deliver(self, event: dict[str, Any]) -> None:
        for subscription in list(self._subscribers):
            if subscription.full():
                subscription.get_nowait()  # a stalled page loses its oldest event, never blocks the others
            subscription.put_nowait(event)

    async def _relay_from_redis(self, url: str) -> None:
        """Relay the Redis channel at ``url`` to this replica's pages while any page is open."""
        client = aioredis.Redis.from_url(url)
        pubsub = client.pubsub()
        try:
            await pubsub.subscribe(self._channel)
            while self._subscribers:
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                if message and isinstance(message.get("data"), (bytes, str)):
                    try:
                        self._deliver(json.loads(message["data"]))
                    except ValueError:
                        logger.error("console hub: malformed event on the redis channel")
        except (redis.RedisError, OSError) as exc:
            logger.error("console hub: redis relay stopped: %s", type(exc).__name__)
        finally:
            await pubsub.close()
            await client.close()


class Outbox:
    """Agent messages waiting to be collected by customers on pull-only channels."""

    def __init__(self, redis_url: str | None = None, prefix: str = DEFAULT_PREFIX) -> None:
        """An outbox in this process, or in Redis lists ``{prefix}:outbox:{conversation}``."""
        self._pending: dict[str, deque[dict[str, Any]]] = defaultdict(lambda: deque(maxlen=MAX_PENDING))
        self._lock = threading.Lock()
        self._prefix = prefix
        self._client = redis.Redis.from_url(redis_url, socket_timeout=5) if redis_url else None

    def _key(self, conversation_id: str) -> str:
        return f"{self._prefix}:outbox:{conversation_id}"

    def put(self, conversation_id: str, message: dict[str, Any]) -> None:
        """Keep a message for a customer (the oldest go beyond :data:`MAX_PENDING`)."""
        if self._client is not None:
            key = self._key(conversation_id)
            pipe = self._client.pipeline(transaction=True)
            pipe.rpush(key, json.dumps(message, ensure_ascii=False))
            pipe.ltrim(key, -MAX_PENDING, -1)
            pipe.expire(key, OUTBOX_TTL_SECONDS)
            pipe.execute()
            return
        with self._lock:
            self._pending[conversation_id].append(message)

    def take(self, conversation_id: str) -> list[dict[str, Any]]:
        """Every message waiting for a customer, oldest first; they are removed (atomically)."""
        if self._client is not None:
            key = self._key(conversation_id)
            pipe = self._client.pipeline(transaction=True)
            pipe.lrange(key, 0, -1)
            pipe.delete(key)
            raw, _ = pipe.execute()
            return [json.loads(item) for item in raw]
        with self._lock:
            pending = self._pending.pop(conversation_id, None)
        return list(pending or [])


def _settings(env: Mapping[str, str] | None = None) -> tuple[str | None, str]:
    configured = Settings.from_env(env)
    return configured.handoff_redis_url, configured.handoff_redis_prefix


_hub: Hub | None = None
_outbox: Outbox | None = None
_queue: HandoffQueue | None = None


def hub() -> Hub:
    """The process's hub, built from the environment on first use."""
    global _hub
    if _hub is None:
        _hub = Hub(*_settings())
    return _hub


def outbox() -> Outbox:
    """The process's outbox, built from the environment on first use."""
    global _outbox
    if _outbox is None:
        _outbox = Outbox(*_settings())
    return _outbox


def queue() -> HandoffQueue:
    """The handoff queue, built from the environment on first use."""
    global _queue
    if _queue is None:
        _queue = queue_from_env()
    return _queue
