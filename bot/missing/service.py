"""Missing parcels: a "not received" report on a lost or delivered parcel finds or opens a ticket."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any, Protocol

from bot import services
from bot.common.clock import format_time
from bot.tickets import Ticket, TicketType
from bot.tickets import messages as ticket_messages
from bot.tickets.service import Requester, open_for
from bot.tracking import Shipment, Status

logger = logging.getLogger(__name__)

MISSING_STATUSES = frozenset({Status.DELIVERED, Status.LOST})
"""A report on a parcel still moving is a delay, not a missing parcel."""


class Conversation(Protocol):
    """What :func:`flow_intent` reads of a conversation (a Rasa tracker has both)."""

    @property
    def events(self) -> Sequence[Mapping[str, Any]]:
        """The conversation's events, oldest first."""

    @property
    def latest_message(self) -> Mapping[str, Any]:
        """The latest user message's parse data."""


def flow_intent(conversation: Conversation) -> str | None:
    """The intent of the message that started the current waybill lookup.

    When the customer said "签收了但没收到" and then gave the number in a second
    message, the latest intent is ``track_waybill``; the case is still a missing
    parcel. That is the user message just before the last activation of
    ``waybill_form`` (or the latest message when the form was not needed).
    """
    events: list[Mapping[str, Any]] = list(conversation.events or [])
    end = len(events)
    for index in range(len(events) - 1, -1, -1):
        event = events[index]
        if event.get("event") == "active_loop" and event.get("name") == "waybill_form":
            end = index
            break
    for event in reversed(events[:end]):
        if event.get("event") == "user":
            return ((event.get("parse_data") or {}).get("intent") or {}).get("name")
    return (conversation.latest_message.get("intent") or {}).get("name")


def summary_of(shipment: Shipment) -> str:
    """The ticket summary an agent reads first (English, no personal data beyond the signer)."""
    if shipment.status is Status.DELIVERED:
        when = format_time(shipment.delivered_at, "en") if shipment.delivered_at else "unknown time"
        return f"customer reports not received; signed by {shipment.signed_by or '?'} at {when}"
    return "customer reports a lost parcel"


def _record(requester: Requester, shipment: Shipment, summary: str) -> Ticket:
    """Reuse this conversation's open missing ticket for the parcel, or open one (blocking)."""
    existing = services.tickets().find_unresolved(requester.conversation_id, TicketType.MISSING, shipment.waybill)
    if existing is not None:
        return existing
    return open_for(
        requester,
        type=TicketType.MISSING,
        level=services.policy().missing_ticket_level,
        summary=summary,
        waybill=shipment.waybill,
    )


async def report_missing(requester: Requester, shipment: Shipment, lang: str) -> tuple[list[str], str | None]:
    """Open (or find) the missing-parcel ticket for a lost or delivered parcel.

    Args:
        requester: The conversation (it owns the ticket) and its channel.
        shipment: The parcel the customer reports.
        lang: ``"zh"`` or ``"en"``.

    Returns:
        Lines to add to the answer and the ticket id; nothing when the parcel is
        still moving or the ticket could not be stored.
    """
    if shipment.status not in MISSING_STATUSES:
        return [], None
    try:
        ticket = await asyncio.to_thread(_record, replace(requester, language=lang), shipment, summary_of(shipment))
    except Exception as exc:  # the customer still gets the delivery record; agents see the log
        logger.error("could not record the missing-parcel ticket: %s", type(exc).__name__)
        return [], None
    return [ticket_messages.missing_ticket_opened(ticket, lang)], ticket.id
