"""Missing parcels: a "not received" report on a lost or delivered parcel opens a ticket."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Any

from rasa_sdk import Tracker

from bot import services
from bot.common.clock import format_time
from bot.policy.model import ticket_deadlines
from bot.tickets import Ticket, TicketType
from bot.tickets import messages as service_messages
from bot.tracking import Shipment, Status

logger = logging.getLogger(__name__)

MISSING_STATUSES = frozenset({Status.DELIVERED, Status.LOST})
"""A report on a parcel still moving is a delay, not a missing parcel."""


def flow_intent(tracker: Tracker) -> str | None:
    """The intent of the message that started the current waybill lookup.

    When the customer said "签收了但没收到" and then gave the number in a second
    message, the latest intent is ``track_waybill``; the case is still a missing
    parcel. That is the user message just before the last activation of
    ``waybill_form`` (or the latest message when the form was not needed).
    """
    events: list[dict[str, Any]] = list(tracker.events or [])
    end = len(events)
    for index in range(len(events) - 1, -1, -1):
        event = events[index]
        if event.get("event") == "active_loop" and event.get("name") == "waybill_form":
            end = index
            break
    for event in reversed(events[:end]):
        if event.get("event") == "user":
            return ((event.get("parse_data") or {}).get("intent") or {}).get("name")
    return (tracker.latest_message.get("intent") or {}).get("name")


def _record(tracker: Tracker, shipment: Shipment, summary: str, now: datetime) -> Ticket:
    """Reuse this conversation's open missing ticket for the parcel, or open one (blocking)."""
    store = services.tickets()
    existing = store.find_unresolved(tracker.sender_id, TicketType.MISSING, shipment.waybill)
    if existing is not None:
        return existing
    policy = services.policy()
    level = policy.missing_ticket_level
    return store.open(
        type=TicketType.MISSING,
        level=level,
        conversation_id=tracker.sender_id,
        channel=tracker.get_latest_input_channel() or "rest",
        summary=summary,
        deadlines=ticket_deadlines(policy, level, now),
        waybill=shipment.waybill,
    )


async def report_missing(
    tracker: Tracker, shipment: Shipment, lang: str, now: datetime
) -> tuple[list[str], str | None]:
    """Open (or find) the missing-parcel ticket for a lost or delivered parcel.

    Args:
        tracker: The conversation (its sender id owns the ticket).
        shipment: The parcel the customer reports.
        lang: ``"zh"`` or ``"en"``.
        now: The current time.

    Returns:
        Lines to add to the answer and the ticket id; nothing when the parcel is
        still moving or the ticket could not be stored.
    """
    if shipment.status not in MISSING_STATUSES:
        return [], None
    if shipment.status is Status.DELIVERED:
        when = format_time(shipment.delivered_at, "en") if shipment.delivered_at else "unknown time"
        summary = f"customer reports not received; signed by {shipment.signed_by or '?'} at {when}"
    else:
        summary = "customer reports a lost parcel"
    try:
        ticket = await asyncio.to_thread(_record, tracker, shipment, summary, now)
    except Exception as exc:  # the customer still gets the delivery record; agents see the log
        logger.error("could not record the missing-parcel ticket: %s", type(exc).__name__)
        return [], None
    return [service_messages.missing_ticket_opened(ticket, lang)], ticket.id
