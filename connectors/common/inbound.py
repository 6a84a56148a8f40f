"""What every customer channel does with an incoming message before Rasa sees it.

* :func:`store_photos`: metadata reduced to its schema (:func:`connectors.common.metadata.clean_metadata`),
  then photos checked and stored at the edge (``bot.claims.attachments.ingest``, off the event loop,
  at most ``metadata.image_decodes_at_once`` at a time), and only while the conversation's
  damage claim form is running (:func:`claim_open`): a photo sent at any other time is not
  decoded nor kept, its reference carries the error ``outside_claim`` and the bot says why.
  Photos checked per conversation and per client address are rate-limited
  (``image_per_sender``, ``image_per_address``: beyond them, error ``slow_down``). An
  evidence store that cannot be written becomes an error reference, so the customer hears
  about it and nothing else is lost.
* :func:`customer_text`: the cleaned text, or :data:`PHOTO_INTENT` for photos without text.
* :func:`is_paused`: whether an agent has the conversation (the bot stays silent then).
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from typing import Any

from bot.claims.attachments import ingest
from bot.claims.evidence import EvidenceStore
from bot.claims.limits import MAX_ATTACHMENTS
from bot.common.ratelimit import limiter
from bot.common.text import prepare_customer_text
from bot.policy.limits import limits
from connectors.common.metadata import clean_metadata

logger = logging.getLogger(__name__)

PHOTO_INTENT = "/send_photo"
"""Text given to Rasa for a message that holds photos only (customers cannot type it)."""
STORE_FAILED = [{"kind": "image", "error": "bad_encoding"}]
"""What ``attachments`` becomes when the evidence store cannot be written."""
CLAIM_FORM = "damage_claim_form"
"""The form that collects claim photos (``actions.claims.FORM``; a test keeps the two equal)."""

_decode_slots: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = weakref.WeakKeyDictionary()


def _slots() -> asyncio.Semaphore:
    """The semaphore of the running event loop that bounds concurrent image checks."""
    loop = asyncio.get_running_loop()
    slots = _decode_slots.get(loop)
    if slots is None:
        slots = _decode_slots[loop] = asyncio.Semaphore(int(limits().number("metadata.image_decodes_at_once")))
    return slots


async def claim_open(app: Any, sender_id: str, channel: str) -> bool:
    """Whether the conversation's damage claim form is running (photos are taken only then).

    Args:
        app: The Sanic app Rasa runs in (``app.ctx.agent``).
        sender_id: The conversation.
        channel: Channel name, for the log line.

    Returns:
        ``False`` too when the tracker cannot be read (the message will fail anyway).
    """
    agent = getattr(getattr(app, "ctx", None), "agent", None)
    if agent is None:
        return False
    try:
        tracker = await agent.tracker_store.retrieve(sender_id)
    except Exception as exc:  # unknown: keep nothing
        logger.error("%s: tracker unavailable: %s", channel, type(exc).__name__)
        return False
    return bool(tracker is not None and tracker.active_loop_name == CLAIM_FORM)


def _photo_count(metadata: dict[str, Any]) -> int:
    items = metadata.get("attachments")
    return min(len(items), MAX_ATTACHMENTS) if isinstance(items, list) else 0


async def _over_image_rate(count: int, sender_id: str, address: str | None) -> bool:
    numbers = limits()
    checks = [("image_per_sender", sender_id)] + ([("image_per_address", address)] if address else [])
    waits = [await limiter().hit(name, key, numbers.rate(name), count) for name, key in checks]
    return any(wait > 0 for wait in waits)


async def store_photos(
    metadata: dict[str, Any],
    store: EvidenceStore,
    channel: str,
    *,
    app: Any = None,
    sender_id: str | None = None,
    address: str | None = None,
) -> dict[str, Any]:
    """Check and store ``metadata["attachments"]``; never raises for a broken evidence store.

    Args:
        metadata: Message metadata with an ``attachments`` list as the channel received it.
        store: Where accepted photos go.
        channel: Channel name, for the log line.
        app: The Sanic app Rasa runs in; with ``sender_id``, photos are kept only while the
            claim form runs (:func:`claim_open`) and count against ``image_per_sender``.
            Without them (a caller that does neither check) photos are checked and stored.
        sender_id: The conversation.
        address: The client's address (HTTP channels): photos also count against ``image_per_address``.

    Returns:
        The metadata with references and error codes only (``{"attachments": [...]}``).
    """
    metadata = clean_metadata(metadata, channel) or {"attachments": []}
    refuse: str | None = None
    if app is not None and sender_id is not None:
        if not await claim_open(app, sender_id, channel):
            refuse = "outside_claim"
        elif await _over_image_rate(_photo_count(metadata), sender_id, address):
            logger.info("%s: photo rate exceeded; photos not checked", channel)
            refuse = "slow_down"
    try:
        if refuse is not None:  # nothing is decoded: no slot needed
            return await asyncio.to_thread(ingest, metadata, store, refuse=refuse)
        async with _slots():
            return await asyncio.to_thread(ingest, metadata, store)
    except OSError as exc:  # evidence store not writable: say so, lose nothing else
        logger.error("%s: could not store attachments: %s", channel, type(exc).__name__)
        return {**metadata, "attachments": list(STORE_FAILED)}


async def customer_text(
    raw_text: str,
    metadata: dict[str, Any] | None,
    store: EvidenceStore,
    channel: str,
    *,
    app: Any = None,
    sender_id: str | None = None,
    address: str | None = None,
) -> tuple[str, dict[str, Any] | None]:
    """The text and metadata to give Rasa for a customer message.

    Args:
        raw_text: What the customer typed (may be empty).
        metadata: Message metadata, possibly with photos in ``attachments``; anything outside
            the schema is dropped (:func:`connectors.common.metadata.clean_metadata`).
        store: Where accepted photos go.
        channel: Channel name, for the log line.
        app: See :func:`store_photos`.
        sender_id: See :func:`store_photos`.
        address: See :func:`store_photos`.

    Returns:
        ``(text, metadata)``: cleaned text (:data:`PHOTO_INTENT` for photos without text;
        empty when there is nothing at all) and the metadata with photo references, or
        ``None`` when nothing of it is left.

    Raises:
        connectors.common.metadata.MetadataError: ``metadata`` is not an object.
    """
    text = prepare_customer_text(raw_text)
    metadata = clean_metadata(metadata, channel)
    if metadata is not None and "attachments" in metadata:
        metadata = await store_photos(metadata, store, channel, app=app, sender_id=sender_id, address=address)
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
