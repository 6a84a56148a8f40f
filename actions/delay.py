"""Delay compensation: what the policy grants a late parcel, recorded in a ticket."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Dict, List, cast

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.language import language_of
from bot import services
from bot.common.clock import format_duration
from bot.delay import options as delay_options
from bot.identity import proof as identity
from bot.policy.model import Offer, OfferKind, delay_offer, ticket_deadlines
from bot.tickets import Decision, Ticket, TicketStatus, TicketType
from bot.tickets import messages as service_messages
from bot.tracking import Shipment, Status

logger = logging.getLogger(__name__)

NOT_A_DELAY = frozenset({Status.LOST, Status.DAMAGED, Status.RETURNED})
"""Lost, damaged and returned parcels are claims, not delays."""


def _record(tracker: Tracker, shipment: Shipment, offer: Offer, summary: str, now: datetime) -> tuple[Ticket, bool]:
    """The parcel's delay ticket, opened now unless any conversation already has one (blocking).

    One compensation per parcel and delay, whoever asks: the check and the insert share one
    transaction (:meth:`bot.tickets.TicketStore.open_once_per_parcel`).

    Returns:
        The ticket and whether it was opened now.
    """
    return services.tickets().open_once_per_parcel(
        type=TicketType.DELAY,
        waybill=shipment.waybill,
        decision=Decision(offer.kind, offer.amount, offer.reason_code),
        level=offer.ticket_level,
        conversation_id=tracker.sender_id,
        channel=tracker.get_latest_input_channel() or "rest",
        summary=summary,
        deadlines=ticket_deadlines(services.policy(), offer.ticket_level, now),
    )


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


async def compensate(
    tracker: Tracker, shipment: Shipment, lang: str, now: datetime
) -> tuple[list[str], str | None, tuple[str, ...]]:
    """The policy's offer for a late shipment, and the delay ticket that records it.

    Call it only for a customer who proved the parcel is theirs (``bot.identity.ownership``).
    The first asker gets the offer and a new ticket; anyone asking later (another
    conversation or channel) is told the offer already made and its ticket, and no
    second offer is recorded.

    Args:
        tracker: The conversation (its sender id owns a new ticket).
        shipment: A shipment that has been looked up.
        lang: ``"zh"`` or ``"en"``.
        now: The current time.

    Returns:
        Lines to add to the shipment's answer, the ticket id (``None`` when the
        parcel is not late, not a delay case, or the ticket could not be stored),
        and the choices the customer may make for the parcel (only with a ticket).
    """
    found = late_offer(shipment, now)
    if found is None:
        return [], None, ()
    offer, delay, held_only = found
    policy = services.policy()
    lines = [delay_options.stale_line(shipment, now, policy, lang)] if held_only else []
    cause = "no scan beyond the hold threshold" if held_only else "past the promised time"
    summary = f"{shipment.carrier} parcel late by {format_duration(delay, 'en')} ({cause}): {offer.reason_code}"
    try:
        ticket, new = await asyncio.to_thread(_record, tracker, shipment, offer, summary, now)
    except Exception as exc:  # no ticket, no promise: agents see the log
        logger.error("could not record the delay ticket: %s", type(exc).__name__)
        return lines, None, ()
    if new or ticket.conversation_id == tracker.sender_id:
        lines.append(service_messages.delay_offer_line(_offer_of(ticket, offer), lang))
        lines.append(service_messages.ticket_opened(ticket, lang))
    else:
        given = ticket.decision
        lines.append(identity.already_offered_text(
            shipment.waybill, ticket.id, given.kind if given else offer.kind, given.amount if given else offer.amount,
            lang,
        ))  # fmt: skip
    if ticket.status in (TicketStatus.RESOLVED, TicketStatus.CLOSED):
        return lines, ticket.id, ()
    options = delay_options.options_for(shipment)
    if options:
        lines.append(delay_options.prompt(options, lang))
    return lines, ticket.id, options


def _offer_of(ticket: Ticket, fallback: Offer) -> Offer:
    """The offer the ticket records (the one made first), else the policy's offer now."""
    if ticket.decision is None:
        return fallback
    kind = cast(OfferKind, ticket.decision.kind)  # the ticket recorded an Offer's kind
    return replace(fallback, kind=kind, amount=ticket.decision.amount)


def _note_choice(ticket_id: str, option: str, waybill: str) -> Ticket | None:
    """Record the customer's choice on the delay ticket (blocking); ``None`` if it is gone or closed."""
    store = services.tickets()
    ticket = store.get(ticket_id)
    if ticket is None or ticket.status in (TicketStatus.RESOLVED, TicketStatus.CLOSED):
        return None
    return store.add_note(ticket_id, f"customer chose: {option} ({waybill})", actor="customer")


MAX_ASKS = 3
"""Replies to the choice that could not be read before the offer is dropped and a person offered."""
WITHOUT_OFFER = {delay_options.PICKUP: "utter_faq/change_address", delay_options.REDIRECT: "utter_faq/change_address"}
"""With no offer pending, a wish to collect or redirect gets the change-of-address answer."""


class ActionRecordDelayChoice(Action):
    """Records "keep waiting / priority / pickup / redirect" on the delay ticket it was offered with."""

    def name(self) -> str:
        """Action name used in the domain."""
        return "action_record_delay_choice"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict[str, Any]]:
        """Reads the choice (exact phrase, own words or a number), writes it to the ticket, says what happens next."""
        lang = language_of(tracker)
        offered = tracker.get_slot("delay_choice")
        text = tracker.latest_message.get("text") or ""
        if not isinstance(offered, dict):
            option = delay_options.parse_choice(text)
            dispatcher.utter_message(response=WITHOUT_OFFER.get(option or "", "utter_no_delay_choice"))
            return []
        options = [o for o in offered.get("options") or [] if o in delay_options.OPTIONS]
        ticket_id, waybill = str(offered.get("ticket_id") or ""), str(offered.get("waybill") or "")
        option = delay_options.parse_choice(text, options)
        if option is None:
            return self._ask_again(dispatcher, offered, options, lang)
        if option not in options:
            dispatcher.utter_message(text=delay_options.not_offered(options, lang))
            return []
        try:
            ticket = await asyncio.to_thread(_note_choice, ticket_id, option, waybill)
        except Exception as exc:  # the customer is told; nothing half-written
            logger.error("could not record the delay choice: %s", type(exc).__name__)
            dispatcher.utter_message(response="utter_tickets_unavailable")
            return []
        if ticket is None:
            dispatcher.utter_message(response="utter_no_delay_choice")
            return [SlotSet("delay_choice", None)]
        now = services.now()
        by = ticket.respond_by if ticket.respond_by > now else max(ticket.resolve_by, now)
        dispatcher.utter_message(text=delay_options.confirmation(option, waybill, ticket.id, by, lang))
        return [SlotSet("delay_choice", None)]

    @staticmethod
    def _ask_again(
        dispatcher: CollectingDispatcher, offered: Dict[str, Any], options: List[str], lang: str
    ) -> List[Dict[str, Any]]:
        """Ask the choice again (what is known, what is missing), at most three times in all."""
        ticket_id, waybill = str(offered.get("ticket_id") or ""), str(offered.get("waybill") or "")
        failed = int(offered.get("failed") or 0) + 1
        if failed >= MAX_ASKS or not options:
            dispatcher.utter_message(text=delay_options.gave_up(waybill, ticket_id, lang))
            return [SlotSet("delay_choice", None)]
        dispatcher.utter_message(
            text=delay_options.ask_again(options, waybill, ticket_id, lang, last=failed == MAX_ASKS - 1),
            buttons=delay_options.buttons(options, lang),
        )
        return [SlotSet("delay_choice", {**offered, "failed": failed})]
