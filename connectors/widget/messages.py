"""What the widget shows: messages in its shape, the history of a conversation, live pushes, and the body it posts."""

from __future__ import annotations

import asyncio
from typing import Any, Mapping, Sequence

from connectors.common.http import PayloadError as HttpPayloadError
from connectors.common.inbound import PHOTO_INTENT
from connectors.console import live

MAX_TEXT_CHARS = 4000
HISTORY_EVENTS = 300


def to_widget(message: Mapping[str, Any]) -> dict[str, Any]:
    """A Rasa output message (or an outbox item) in the widget's shape.

    Returns:
        ``{"from": "bot"|"agent", "text": str, "buttons": [{"title", "payload"}], "agent": name|None}``.
    """
    buttons = []
    for button in message.get("buttons") or []:
        if isinstance(button, Mapping) and isinstance(button.get("payload"), str):
            buttons.append({"title": str(button.get("title") or button["payload"]), "payload": button["payload"]})
    agent = message.get("agent")
    return {"from": "agent" if agent else "bot", "text": str(message.get("text") or ""), "buttons": buttons,
            "agent": str(agent) if agent else None}  # fmt: skip


def history_of(events: Sequence[Any]) -> list[dict[str, Any]]:
    """Customer, bot and agent messages of a tracker's events, oldest first.

    Args:
        events: Rasa events (``UserUttered``/``BotUttered`` are kept, the rest skipped).

    Returns:
        Widget messages; customer photos show as ``{"from": "customer", "photos": n}``.
    """
    shown: list[dict[str, Any]] = []
    for event in list(events)[-HISTORY_EVENTS:]:
        kind = getattr(event, "type_name", "")
        metadata = getattr(event, "metadata", None) or {}
        if kind == "user":
            text = event.text or ""
            attachments = metadata.get("attachments") if isinstance(metadata, Mapping) else None
            photos = len(attachments) if isinstance(attachments, list) else 0
            shown.append({"from": "customer", "text": "" if text == PHOTO_INTENT else text, "photos": photos})
        elif kind == "bot":
            data = getattr(event, "data", None) or {}
            agent = metadata.get("agent_name") or metadata.get("agent") if isinstance(metadata, Mapping) else None
            shown.append(to_widget({"text": event.text, "buttons": data.get("buttons"), "agent": agent}))
    return shown


class Subscribers:
    """Open event streams per conversation (this process only); messages for nobody go to the outbox."""

    def __init__(self) -> None:
        self._queues: dict[str, set[asyncio.Queue[dict[str, Any]]]] = {}

    def subscribe(self, conversation_id: str) -> asyncio.Queue[dict[str, Any]]:
        """A queue receiving the conversation's pushed messages."""
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(live.SUBSCRIBER_BUFFER)
        self._queues.setdefault(conversation_id, set()).add(queue)
        return queue

    def unsubscribe(self, conversation_id: str, queue: asyncio.Queue[dict[str, Any]]) -> None:
        """Stop a stream; anything it had not sent yet goes back to the outbox."""
        queues = self._queues.get(conversation_id)
        if queues is not None:
            queues.discard(queue)
            if not queues:
                del self._queues[conversation_id]
        while not queue.empty():
            left = queue.get_nowait()
            if not self._queues.get(conversation_id):
                live.outbox().put(conversation_id, left)

    async def push(self, conversation_id: str, messages: Sequence[dict[str, Any]]) -> None:
        """The widget's sender (:func:`connectors.common.senders.register`): open streams, else the outbox."""
        queues = self._queues.get(conversation_id)
        for message in messages:
            if not queues:
                live.outbox().put(conversation_id, dict(message))
                continue
            for queue in queues:
                if queue.full():
                    queue.get_nowait()
                queue.put_nowait(to_widget(message))


class PayloadError(HttpPayloadError):
    """The widget message body is not valid."""


def parse_message(body: Any) -> tuple[str, dict[str, Any] | None]:
    """Check a ``/message`` body.

    Args:
        body: The decoded JSON body.

    Returns:
        ``(raw_text, metadata)``; ``metadata`` is ``{"attachments": [...]}`` or ``None``.

    Raises:
        PayloadError: With a reason fit to send back to the client.
    """
    if not isinstance(body, dict):
        raise PayloadError("body must be a JSON object")
    text = body.get("text", "")
    if text is None:
        text = ""
    if not isinstance(text, str):
        raise PayloadError("'text' must be a string")
    if len(text) > MAX_TEXT_CHARS:
        raise PayloadError(f"'text' must be at most {MAX_TEXT_CHARS} characters")
    attachments = body.get("attachments")
    if attachments is None or attachments == []:
        return text, None
    if not isinstance(attachments, list):
        raise PayloadError("'attachments' must be a list")
    # the items themselves are checked by content in bot.claims.attachments.ingest (polite answers, not 400s)
    return text, {"attachments": attachments}
