"""Rasa event broker that feeds the agent console: the queue and the live views.

Configured in ``endpoints.yml``::

    event_broker:
      type: connectors.console.events.ConsoleEventBroker

Rasa publishes every tracker event here, in order, from the server's event loop.
When the handoff action pauses a conversation (slot ``handoff`` then a ``pause``
event) the conversation is put in the handoff queue; a ``resume`` takes it out.
Customer, bot and agent messages and queue changes go to the live hub, which
streams them to open console pages. Nothing here raises into Rasa: a failure is
logged (without message text) and the event is skipped.
"""

from __future__ import annotations

import logging
from asyncio import AbstractEventLoop
from datetime import datetime, timezone
from typing import Any, Dict

from rasa.core.brokers.broker import EventBroker
from rasa.utils.endpoints import EndpointConfig

from bot.handoff.queue import QueueEntry, QueueFull
from connectors.console import expiry as handoff_expiry
from connectors.console import live

logger = logging.getLogger(__name__)

MESSAGE_EVENTS = ("user", "bot")


def _when(event: Dict[str, Any]) -> datetime:
    stamp = event.get("timestamp")
    if isinstance(stamp, (int, float)):
        return datetime.fromtimestamp(stamp, tz=timezone.utc)
    return datetime.now(timezone.utc)


class ConsoleEventBroker(EventBroker):
    """Turns tracker events into queue entries and live console updates."""

    def __init__(self) -> None:
        """A broker with no pending handoffs."""
        self._handoffs: dict[str, dict[str, Any]] = {}
        self._channels: dict[str, str] = {}

    @classmethod
    async def from_endpoint_config(
        cls, broker_config: EndpointConfig, event_loop: AbstractEventLoop | None = None
    ) -> ConsoleEventBroker:
        """Built by Rasa from ``endpoints.yml``; takes no settings."""
        return cls()

    def is_ready(self) -> bool:
        """Always ready: everything is in process (or a Redis call away)."""
        return True

    def publish(self, event: Dict[str, Any]) -> None:
        """Handle one tracker event (never raises)."""
        try:
            self._handle(event)
        except Exception as exc:  # the conversation must not fail because the console did
            logger.error("console broker: %s on a %s event", type(exc).__name__, event.get("event"))

    def _handle(self, event: Dict[str, Any]) -> None:
        sender = event.get("sender_id")
        kind = event.get("event")
        if not isinstance(sender, str):
            return
        if kind == "slot" and event.get("name") == "handoff" and isinstance(event.get("value"), dict):
            self._handoffs[sender] = event["value"]
        elif kind == "pause":
            self._enqueue(sender, event)
        elif kind == "resume":
            self._handoffs.pop(sender, None)
            live.queue().release(sender)
            live.hub().publish({"type": "queue", "conversation_id": sender, "change": "resumed"})
        elif kind in MESSAGE_EVENTS:
            if kind == "user" and isinstance(event.get("input_channel"), str):
                self._channels[sender] = event["input_channel"]
            metadata = event.get("metadata") or {}
            author = "customer" if kind == "user" else ("agent" if metadata.get("agent") else "bot")
            live.hub().publish({
                "type": "message", "conversation_id": sender, "author": author, "agent": metadata.get("agent"),
                "text": event.get("text") or "", "at": _when(event).isoformat(),
            })  # fmt: skip

    def _enqueue(self, sender: str, event: Dict[str, Any]) -> None:
        handoff = self._handoffs.pop(sender, {})
        channel = self._channels.get(sender) or "rest"
        level = handoff.get("level")
        entry = QueueEntry(
            conversation_id=sender,
            channel=channel,
            ticket_id=str(handoff.get("ticket_id") or "-"),
            level=level if level in (1, 2, 3) else 3,
            enqueued_at=_when(event),
            anger=float(handoff.get("anger") or 0.0),
            reason=str(handoff.get("reason") or "paused"),
            summary=str(handoff.get("summary") or "")[:4000],
            agent=None,
            claimed_at=None,
        )
        try:
            live.queue().enqueue(entry)
        except QueueFull:  # the action saw room, the queue did not: never leave the customer paused alone
            logger.warning("console broker: handoff queue full, handoff refused")
            handoff_expiry.schedule_refused(entry)
            return
        live.hub().publish({"type": "queue", "conversation_id": sender, "change": "waiting"})
