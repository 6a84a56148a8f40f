"""Delay compensation: what the policy grants a late parcel, recorded in a ticket."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from rasa_sdk import Tracker

from actions import services
from bot import service_messages
from bot.messages import format_duration, lateness
from bot.policy import Offer, delay_offer, ticket_deadlines
from bot.tickets import Decision, Ticket, TicketType
from bot.tracking import Shipment, Status

logger = logging.getLogger(__name__)

NOT_A_DELAY = frozenset({Status.LOST, Status.DAMAGED, Status.RETURNED})
"""Lost, damaged and returned parcels are claims, not delays."""

def _record(tracker: Tracker, shipment: Shipment, offer: Offer, summary: str, now: datetime) -> Ticket:
    """Reuse this conversation's open delay ticket for the parcel, or open one (blocking)."""
    store = services.tickets()
    existing = store.find_unresolved(tracker.sender_id, TicketType.DELAY, shipment.waybill)
    if existing is not None:
        return existing
    ticket = store.open(
        type=TicketType.DELAY,
        level=offer.ticket_level,
        conversation_id=tracker.sender_id,
        channel=tracker.get_latest_input_channel() or "rest",
        summary=summary,
        deadlines=ticket_deadlines(services.policy(), offer.ticket_level, now),
        waybill=shipment.waybill,
    )
    decision = Decision(offer.kind, offer.amount, offer.reason_code)
    return store.set_decision(ticket.id, decision, actor="bot")


async def compensate(tracker: Tracker, shipment: Shipment, lang: str, now: datetime) -> tuple[list[str], str | None]:
    """The policy's offer for a late shipment, and the delay ticket that records it.

    Args:
        tracker: The conversation (its sender id owns the ticket).
        shipment: A shipment that has been looked up.
        lang: ``"zh"`` or ``"en"``.
        now: The current time.

    Returns:
        Lines to add to the shipment's answer, and the ticket id (``None`` when the
        parcel is not late, not a delay case, or the ticket could not be stored).
    """
    delay = lateness(shipment, now)
    if delay is None or shipment.status in NOT_A_DELAY:
        return [], None
    try:
        offer = delay_offer(services.policy(), late_by=delay, freight=shipment.freight or 0)
    except (OSError, ValueError) as exc:
        logger.error("delay policy unavailable: %s", type(exc).__name__)
        return [], None
    if offer is None:
        return [], None
    lines = [service_messages.delay_offer_line(offer, lang)]
    summary = f"{shipment.carrier} parcel late by {format_duration(delay, 'en')}: {offer.reason_code}"
    try:
        ticket = await asyncio.to_thread(_record, tracker, shipment, offer, summary, now)
    except Exception as exc:  # the customer still gets the offer; agents see the log
        logger.error("could not record the delay ticket: %s", type(exc).__name__)
        return lines, None
    lines.append(service_messages.ticket_opened(ticket, lang))
    return lines, ticket.id
