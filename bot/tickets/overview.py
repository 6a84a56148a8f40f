"""What a customer may read about tickets: their conversation's own, or a proven parcel's.

The store is read off the event loop. ``None`` means the ticket database did not answer
(logged); the caller says the tickets are unavailable, never "no tickets".
"""

from __future__ import annotations

import asyncio
import logging

from bot import services
from bot.tickets import messages as ticket_messages

logger = logging.getLogger(__name__)


async def conversation_tickets(conversation_id: str, lang: str) -> str | None:
    """The conversation's own tickets with status and deadline, or ``None`` when the store is down."""
    try:
        tickets = await asyncio.to_thread(services.tickets().for_conversation, conversation_id)
    except Exception as exc:  # a database outage must not leave the customer without an answer
        logger.error("ticket lookup failed: %s", type(exc).__name__)
        return None
    return ticket_messages.tickets_overview(tickets, lang)


async def parcel_tickets(waybill: str, lang: str) -> str | None:
    """Every ticket about the parcel, whoever opened it (only after a proof); ``None`` when the store is down."""
    try:
        tickets = await asyncio.to_thread(services.tickets().for_waybill, waybill)
    except Exception as exc:
        logger.error("ticket lookup failed: %s", type(exc).__name__)
        return None
    return ticket_messages.parcel_tickets(waybill, tickets, lang)
