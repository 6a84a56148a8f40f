"""Replies about compensation offers and tickets, in Chinese and English.

The texts are catalogue keys (``bot/texts/<lang>/tickets.yml``, ``delay.yml``, ``missing.yml``).
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.common.clock import format_time
from bot.common.i18n import text
from bot.policy.offers import Offer
from bot.tickets import Ticket, TicketStatus, TicketType

OFFER_KINDS = ("coupon", "refund", "compensate")
"""Offer kinds with an amount (``delay.offer.<kind>``); any other kind goes to a specialist."""

_DONE = (TicketStatus.RESOLVED, TicketStatus.CLOSED)


def type_text(kind: TicketType, lang: str) -> str:
    """The ticket type in a few words (``tickets.type.<type>``)."""
    return text(f"tickets.type.{kind.value}", lang)


def status_text(status: TicketStatus, lang: str) -> str:
    """The ticket status in a few words (``tickets.status.<status>``)."""
    return text(f"tickets.status.{status.value}", lang)


def delay_offer_line(offer: Offer, lang: str) -> str:
    """What the policy grants for a delay, in one sentence.

    Args:
        offer: The policy's delay offer.
        lang: ``"zh"`` or ``"en"``.
    """
    if offer.kind in OFFER_KINDS:
        return text(f"delay.offer.{offer.kind}", lang, amount=f"{offer.amount:.2f}")
    return text("delay.offer.review", lang)


def ticket_opened(ticket: Ticket, lang: str) -> str:
    """The ticket id, what happens next and by when."""
    return text("tickets.opened", lang, ticket=ticket.id, by=format_time(ticket.resolve_by, lang))


def missing_ticket_opened(ticket: Ticket, lang: str) -> str:
    """The missing-parcel ticket: we check with the courier and answer by the deadline."""
    return text("missing.ticket_opened", lang, ticket=ticket.id, by=format_time(ticket.resolve_by, lang))


def _lines(tickets: Sequence[Ticket], lang: str) -> list[str]:
    separator = text("tickets.overview.separator", lang)
    lines = []
    for ticket in tickets:
        waybill = f" {ticket.waybill}" if ticket.waybill else ""
        kind, status = type_text(ticket.type, lang), status_text(ticket.status, lang)
        due = (
            ""
            if ticket.status in _DONE
            else text("tickets.overview.due", lang, by=format_time(ticket.resolve_by, lang))
        )
        lines.append(separator.join([ticket.id, kind + waybill, status]) + due)
    return lines


def tickets_overview(tickets: Sequence[Ticket], lang: str) -> str:
    """The customer's own tickets with status and deadline, newest first."""
    if not tickets:
        return text("tickets.overview.none", lang)
    return "\n".join([text("tickets.overview.head", lang), *_lines(tickets, lang)])


def parcel_tickets(waybill: str, tickets: Sequence[Ticket], lang: str) -> str:
    """Every ticket about one parcel (for a customer who proved it is theirs), newest first."""
    if not tickets:
        return text("tickets.parcel.none", lang, waybill=waybill)
    return "\n".join([text("tickets.parcel.head", lang, waybill=waybill), *_lines(tickets, lang)])
