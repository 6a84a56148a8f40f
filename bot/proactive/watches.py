"""Watching parcels and turning updates on or off, for the other layers (look-ups, dialogues).

Both helpers are coroutines that run the store off the event loop and never raise on a
store failure: it is logged (no personal data) and reported as ``False``, so a tracking
answer or an opt-out reply never breaks because the proactive store is down. The time is
``services.now()``; the store is built lazily on the database of ``services.tickets()``
(``TICKETS_DB_URL``, or the ticket store a test configured; rebuilt when that changes) and
is replaceable with :func:`configure` (tests), like :mod:`bot.services`.
"""

from __future__ import annotations

import asyncio
import logging

from bot import services
from bot.proactive.store import DEFAULT_RETENTION, ProactiveStore
from bot.proactive.triggers import snapshot
from bot.tracking.models import Shipment, Status

logger = logging.getLogger(__name__)

_store: ProactiveStore | None = None
_configured = False


def store() -> ProactiveStore:
    """The proactive store: the configured one, else one on the ticket store's database."""
    global _store
    if _configured and _store is not None:
        return _store
    url = services.tickets().url
    if _store is None or _store.url != url:
        if _store is not None:
            _store.close()
        _store = ProactiveStore(url)
    return _store


def configure(proactive_store: ProactiveStore | None) -> None:
    """Replace the store (tests, an embedding application); ``None`` follows the ticket store again."""
    global _store, _configured
    _store, _configured = proactive_store, proactive_store is not None


async def watch_parcel(
    conversation_id: str, channel: str, waybill: str, language: str, shown: Shipment | None = None
) -> bool:
    """Watch a parcel for a conversation (or refresh the watch); ``False`` when not stored.

    Args:
        conversation_id: The conversation to tell.
        channel: Its channel.
        waybill: The parcel.
        language: ``zh`` or ``en``.
        shown: The parcel as the customer was just shown it: it becomes the watch's baseline,
            so only later changes are told. A parcel shown as delivered is not watched.
    """
    if shown is not None and shown.status is Status.DELIVERED:
        return False
    now = services.now()
    try:
        policy = services.policy()
        retention = policy.proactive.watch_retention
        seen = snapshot(shown, now, policy).to_json() if shown is not None else None
    except (OSError, ValueError) as exc:
        logger.error("proactive policy unavailable: %s", type(exc).__name__)
        retention, seen = DEFAULT_RETENTION, None
    try:
        await asyncio.to_thread(
            store().watch, conversation_id, channel, waybill, language, now, retention=retention, last_seen=seen
        )
    except Exception as exc:  # never break the answer
        logger.error("could not watch a parcel: %s", type(exc).__name__)
        return False
    return True


async def set_updates(conversation_id: str, enabled: bool) -> bool:
    """Turn a conversation's parcel updates on or off; ``False`` when the store failed."""
    try:
        await asyncio.to_thread(store().set_updates, conversation_id, enabled, services.now())
    except Exception as exc:
        logger.error("could not change update preferences: %s", type(exc).__name__)
        return False
    return True


async def updates_enabled(conversation_id: str) -> bool:
    """Whether the conversation gets updates (``True`` when the store cannot tell)."""
    try:
        return await asyncio.to_thread(store().updates_enabled, conversation_id)
    except Exception as exc:
        logger.error("could not read update preferences: %s", type(exc).__name__)
        return True
