"""What every customer channel does with an incoming message before Rasa sees it.

* :func:`store_photos`: photos checked and stored at the edge (``bot.attachments.ingest``,
  off the event loop); an evidence store that cannot be written becomes an error
  reference, so the customer hears about it and nothing else is lost.
* :func:`customer_text`: the cleaned text, or :data:`PHOTO_INTENT` for photos without text.
* :func:`is_paused`: whether an agent has the conversation (the bot stays silent then).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from bot.attachments import ingest
from bot.evidence import EvidenceStore
from bot.text import prepare_customer_text

logger = logging.getLogger(__name__)

PHOTO_INTENT = "/send_photo"
"""Text given to Rasa for a message that holds photos only (customers cannot type it)."""
STORE_FAILED = [{"kind": "image", "error": "bad_encoding"}]
"""What ``attachments`` becomes when the evidence store cannot be written."""


async def store_photos(metadata: dict[str, Any], store: EvidenceStore, channel: str) -> dict[str, Any]:
    """Check and store ``metadata["attachments"]``; never raises for a broken evidence store.

    Args:
        metadata: Message metadata with an ``attachments`` list as the channel received it.
        store: Where accepted photos go.
        channel: Channel name, for the log line.

    Returns:
        The metadata with references and error codes only.
    """
    try:
        return await asyncio.to_thread(ingest, metadata, store)
    except OSError as exc:  # evidence store not writable: say so, lose nothing else
        logger.error("%s: could not store attachments: %s", channel, type(exc).__name__)
        return {**metadata, "attachments": list(STORE_FAILED)}


async def customer_text(
    raw_text: str, metadata: dict[str, Any] | None, store: EvidenceStore, channel: str
) -> tuple[str, dict[str, Any] | None]:
    """The text and metadata to give Rasa for a customer message.

    Args:
        raw_text: What the customer typed (may be empty).
        metadata: Message metadata, possibly with photos in ``attachments``.
        store: Where accepted photos go.
        channel: Channel name, for the log line.

    Returns:
        ``(text, metadata)``: cleaned text (:data:`PHOTO_INTENT` for photos without text;
        empty when there is nothing at all) and the metadata with photo references.
    """
    text = prepare_customer_text(raw_text)
    if metadata is not None and "attachments" in metadata:
        metadata = await store_photos(metadata, store, channel)
        if not text and metadata["attachments"]:
            text = PHOTO_INTENT
    return text, metadata


async def is_paused(app: Any, sender_id: str, channel: str) -> bool:
    """Whether an agent has this conversation; unknown (tracker store down) counts as not paused.

    Args:
        app: The Sanic app Rasa runs in (``app.ctx.agent``).
        sender_id: The conversation.
        channel: Channel name, for the log line.
    """
    agent = getattr(app.ctx, "agent", None)
    try:
        tracker = await agent.tracker_store.retrieve(sender_id) if agent is not None else None
    except Exception as exc:  # unknown: answer as if the bot had failed
        logger.error("%s: tracker unavailable: %s", channel, type(exc).__name__)
        return False
    return bool(tracker is not None and tracker.is_paused())
