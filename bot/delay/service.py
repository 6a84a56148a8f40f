"""Delay compensation: what the policy grants a late parcel, recorded once per parcel in a ticket.

Blocking work (the ticket database) runs in a thread; the functions here are called from
the actions with the customer's :class:`~bot.tickets.service.Requester`.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, cast

from bot import services
from bot.common.clock import format_duration
from bot.delay import options as delay_options
from bot.identity import proof as identity
from bot.policy.offers import Offer, OfferKind, delay_offer
from bot.tickets import Decision, Ticket, TicketStatus, TicketType
from bot.tickets import messages as ticket_messages
from bot.tickets.service import Requester, open_once_per_parcel
from bot.tracking import Shipment, Status

logger = logging.getLogger(__name__)

NOT_A_DELAY = frozenset({Status.LOST, Status.DAMAGED, Status.RETURNED})
"""Lost, damaged and returned parcels are claims, not delays."""

MAX_ASKS = 3
"""Replies to the choice that could not be read before the offer is dropped and a person offered."""

_DONE = (TicketStatus.RESOLVED, TicketStatus.CLOSED)


@dataclass(frozen=True)
class Compensation:
    """What :func:`compensate` adds to a shipment's answer.

    Attributes:
        lines: Lines to add to the answer.
        ticket_id: The delay ticket (``None``: not late, not a delay case, or not stored).
        options: The choices the customer may make for the parcel (only with a ticket).
    """

    lines: list[str]
    ticket_id: str | None = None
    options: tuple[str, ...] = ()

    def choice_slot(self, waybill: str) -> dict[str, Any] | None:
        """The ``delay_choice`` slot value when choices were offered, else ``None``."""
        if not (self.options and self.ticket_id):
            return None
        return {"ticket_id": self.ticket_id, "waybill": waybill, "options": list(self.options)}


def late_offer(shipment: Shipment, now: datetime) -> tuple[Offer, timedelta, bool] | None:
    """The policy's offer for a late shipment, how late it is and whether only the missing scans make it late.

    Late means past the promised time, or held without a scan for longer than the
    policy's ``held_threshold_hours`` (:func:`bot.delay.options.delay_of`). ``None`` when
    the parcel is not late, not a delay case (lost, damaged, returned) or the policy is unreadable.
    """
    if shipment.status in NOT_A_DELAY:
        return None
    try:
        policy = services.policy()
        delay, held_only = delay_options.delay_of(shipment, now, policy)
        offer = None if delay is None else delay_offer(policy, late_by=delay, freight=shipment.freight or Decimal(0))
    except (OSError, ValueError) as exc:
        logger.error("delay policy unavailable: %s", type(exc).__name__)
        return None
    if offer is None or delay is None:
        return None
    return offer, delay, held_only


def _record(requester: Requester, shipment: Shipment, offer: Offer, summary: str) -> tuple[Ticket, bool]:
    """The parcel's delay ticket, opened now unless any conversation already has one (blocking).

    One compensation per parcel and delay, whoever asks: the check and the insert share one
    transaction (:meth:`bot.tickets.TicketStore.open_once_per_parcel`).
    """
    return open_once_per_parcel(
        requester,
        type=TicketType.DELAY,
        level=offer.ticket_level,
        summary=summary,
        waybill=shipment.waybill,
        decision=Decision(offer.kind, offer.amount, offer.reason_code),
    )


async def compensate(requester: Requester, shipment: Shipment, lang: str, now: datetime) -> Compensation:
    """The policy's offer for a late shipment, and the delay ticket that records it.

    Call it only for a customer who proved the parcel is theirs (``bot.identity.ownership``).
    The first asker gets the offer and a new ticket; anyone asking later (another
    conversation or channel) is told the offer already made and its ticket, and no
    second offer is recorded.

    Args:
        requester: The conversation (it owns a new ticket) and its channel.
        shipment: A shipment that has been looked up.
        lang: ``"zh"`` or ``"en"``.
        now: The current time.
    """
    found = late_offer(shipment, now)
    if found is None:
        return Compensation([])
    offer, delay, held_only = found
    policy = services.policy()
    lines = [delay_options.stale_line(shipment, now, policy, lang)] if held_only else []
    cause = "no scan beyond the hold threshold" if held_only else "past the promised time"
    summary = f"{shipment.carrier} parcel late by {format_duration(delay, 'en')} ({cause}): {offer.reason_code}"
    try:
        ticket, new = await asyncio.to_thread(_record, replace(requester, language=lang), shipment, offer, summary)
    except Exception as exc:  # no ticket, no promise: agents see the log
        logger.error("could not record the delay ticket: %s", type(exc).__name__)
        return Compensation(lines)
    if new or ticket.conversation_id == requester.conversation_id:
        lines.append(ticket_messages.delay_offer_line(_offer_of(ticket, offer), lang))
        lines.append(ticket_messages.ticket_opened(ticket, lang))
    else:
        given = ticket.decision
        lines.append(identity.already_offered_text(
            shipment.waybill, ticket.id, given.kind if given else offer.kind, given.amount if given else offer.amount,
            lang,
        ))  # fmt: skip
    if ticket.status in _DONE:
        return Compensation(lines, ticket.id)
    options = delay_options.options_for(shipment)
    if options:
        lines.append(delay_options.prompt(options, lang))
    return Compensation(lines, ticket.id, options)


def _offer_of(ticket: Ticket, fallback: Offer) -> Offer:
    """The offer the ticket records (the one made first), else the policy's offer now."""
    if ticket.decision is None:
        return fallback
    kind = cast(OfferKind, ticket.decision.kind)  # the ticket recorded an Offer's kind
    return replace(fallback, kind=kind, amount=ticket.decision.amount)


def _note_choice(ticket_id: str, option: str, waybill: str) -> Ticket | None:
    store = services.tickets()
    ticket = store.get(ticket_id)
    if ticket is None or ticket.status in _DONE:
        return None
    return store.add_note(ticket_id, f"customer chose: {option} ({waybill})", actor="customer")


async def record_choice(ticket_id: str, option: str, waybill: str) -> Ticket | None:
    """Record the customer's choice on the delay ticket; ``None`` if it is gone or closed.

    Raises:
        Exception: The ticket database failed (nothing was written).
    """
    return await asyncio.to_thread(_note_choice, ticket_id, option, waybill)


def confirmation(ticket: Ticket, option: str, waybill: str, lang: str, now: datetime) -> str:
    """What happens after the choice, and by when: the first response if still ahead, else the resolution."""
    by = ticket.respond_by if ticket.respond_by > now else max(ticket.resolve_by, now)
    return delay_options.confirmation(option, waybill, ticket.id, by, lang)
