"""Where-is-my-parcel: the waybill form's validation and the lookup itself."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Any, Dict, List, Sequence

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.delay import compensate, late_offer
from actions.language import language_of
from actions.missing import MISSING_STATUSES, flow_intent, report_missing
from bot import services
from bot.delay import options as delay_options
from bot.identity import ownership
from bot.identity import proof as identity
from bot.identity.proof import OwnerCheck
from bot.tracking import ProviderError, Shipment, Status, messages
from bot.tracking.suggest import suggest_own_number
from bot.tracking.waybill import WaybillMatch, find_waybills

logger = logging.getLogger(__name__)

LOOKUP_DEADLINE = 2.5
"""Seconds a lookup may take before the customer gets an apology (must stay under 3 s)."""

MAX_ATTEMPTS = 3
"""Invalid numbers in a row before the form stops asking."""

GAVE_UP = "-"
"""Value of the ``waybill`` slot when the customer could not give a number."""

OWN_NUMBERS_KEPT = 20

MAX_NUMBERS_PER_MESSAGE = 10
"""Numbers answered from one message; a pasted list of 200 must not flood the provider."""


def remember(own: Sequence[str], numbers: Sequence[str]) -> List[str]:
    """Add numbers to the customer's own recent list, newest last, without repeats."""
    kept = [n for n in own if n not in numbers]
    return (kept + list(numbers))[-OWN_NUMBERS_KEPT:]


async def lookup(match: WaybillMatch) -> Shipment | None:
    """Look one number up within the deadline.

    Raises:
        ProviderError: The provider failed or was too slow.
    """
    try:
        return await asyncio.wait_for(services.provider().get(match.number, match.carriers), LOOKUP_DEADLINE)
    except asyncio.TimeoutError as exc:
        raise ProviderError("tracking provider timed out") from exc


async def explain(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    shipment: Shipment,
    lang: str,
    now: datetime,
    *,
    missing: bool | None = None,
) -> tuple[str | None, Dict[str, Any] | None, OwnerCheck | None]:
    """Answer with a shipment's status, and open the ticket the case needs.

    Anyone who knows the number gets the public status. A customer who proved the
    parcel is theirs (``bot.identity.ownership``) also gets who signed, and: a "not
    received" report on a lost or delivered parcel opens a missing-parcel ticket;
    otherwise a late parcel gets the policy's delay compensation (once per parcel,
    whoever asks) and, where they exist, choices (keep waiting, priority, pickup,
    redirect) as quick replies. Anyone else is asked for the last four digits of the
    receiver's phone where the case needs them, and hears no amount.

    Args:
        dispatcher: Where the answer goes.
        tracker: The conversation.
        shipment: The shipment looked up.
        lang: ``"zh"`` or ``"en"``.
        now: The current time.
        missing: Whether the customer reports the parcel missing (default: the intent
            that started the lookup says so).

    Returns:
        The id of the ticket opened or found, if any; the value for the
        ``delay_choice`` slot when choices were offered; the proof to ask for, if any.
    """
    extra: list[str] = []
    ticket_id: str | None = None
    options: tuple[str, ...] = ()
    check: OwnerCheck | None = None
    owner = await ownership.proven(tracker.sender_id, shipment)
    reported = flow_intent(tracker) == "report_missing" if missing is None else missing
    if reported and shipment.status in MISSING_STATUSES:
        if owner:
            extra, ticket_id = await report_missing(tracker, shipment, lang, now)
        else:
            check = OwnerCheck(shipment.waybill, "missing")
    elif late_offer(shipment, now) is not None:
        if owner:
            extra, ticket_id, options = await compensate(tracker, shipment, lang, now)
        else:
            check = OwnerCheck(shipment.waybill, "delay")
    if check is None and not owner and shipment.status is Status.DELIVERED:
        check = OwnerCheck(shipment.waybill, "details")
    if check is not None:
        extra.append(identity.ask_text(check.purpose, lang))
    answer = messages.describe_shipment(shipment, lang, now, owner=owner)
    if options and ticket_id:
        dispatcher.utter_message(text="\n".join([answer, *extra]), buttons=delay_options.buttons(options, lang))
        return ticket_id, {"ticket_id": ticket_id, "waybill": shipment.waybill, "options": list(options)}, check
    dispatcher.utter_message(text="\n".join([answer, *extra]))
    return ticket_id, None, check


def numbers_in(tracker: Tracker) -> List[WaybillMatch]:
    """Waybill numbers in the latest message, or else in the ``waybill`` slot."""
    found = find_waybills(tracker.latest_message.get("text") or "")
    if not found:
        slot = tracker.get_slot("waybill")
        if isinstance(slot, str) and slot != GAVE_UP:
            found = find_waybills(slot)
    return found


class ValidateWaybillForm(FormValidationAction):
    """Accepts a waybill number in any format the parser understands."""

    def name(self) -> str:
        """Action name used in the domain."""
        return "validate_waybill_form"

    async def validate_waybill(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> Dict[str, Any]:
        """Keeps the first number found in the customer's reply, else asks again."""
        found = numbers_in(tracker)
        if not found and isinstance(slot_value, str):
            found = find_waybills(slot_value)
        if found:
            return {"waybill": found[0].raw, "waybill_attempts": 0}
        attempts = int(tracker.get_slot("waybill_attempts") or 0) + 1
        if attempts >= MAX_ATTEMPTS:
            return {"waybill": GAVE_UP, "waybill_attempts": 0}
        dispatcher.utter_message(response="utter_invalid_waybill")
        return {"waybill": None, "waybill_attempts": attempts}


class ActionTrackWaybill(Action):
    """Explains the status of every waybill number the customer sent."""

    def name(self) -> str:
        """Action name used in the domain."""
        return "action_track_waybill"

    async def run(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> List[Dict[str, Any]]:
        """Looks each number up and answers once per number."""
        lang = language_of(tracker)
        reset = [SlotSet("waybill", None), SlotSet("waybill_attempts", 0)]
        found = numbers_in(tracker)
        if not found:
            gave_up = tracker.get_slot("waybill") == GAVE_UP
            dispatcher.utter_message(response="utter_waybill_give_up" if gave_up else "utter_ask_waybill")
            return reset

        if len(found) > 1:
            dispatcher.utter_message(text=messages.several_numbers(len(found), lang, MAX_NUMBERS_PER_MESSAGE))
        found = found[:MAX_NUMBERS_PER_MESSAGE]
        results = await asyncio.gather(*(lookup(match) for match in found), return_exceptions=True)
        own: List[str] = list(tracker.get_slot("my_waybills") or [])
        now = services.now()
        seen: List[str] = []
        ticket_id: str | None = None
        choice: Dict[str, Any] | None = None
        check: OwnerCheck | None = None
        failed = False
        for match, result in zip(found, results, strict=True):
            if isinstance(result, BaseException):
                failed = True
                logger.warning("tracking lookup failed: %s", _safe_reason(result))
                continue
            if result is None:
                suggestion = suggest_own_number(match.number, own)
                dispatcher.utter_message(text=messages.not_found(match.raw, lang, suggestion))
                continue
            seen.append(result.waybill)
            opened, offered, asked = await explain(dispatcher, tracker, result, lang, now)
            ticket_id, choice, check = opened or ticket_id, offered or choice, asked or check
        if failed:
            dispatcher.utter_message(text=messages.provider_down(lang))
        events = reset
        if seen:
            events.append(SlotSet("my_waybills", remember(own, seen)))
        if ticket_id:
            events.append(SlotSet("ticket_id", ticket_id))
        if choice:
            events.append(SlotSet("delay_choice", choice))
        if check:
            events.append(SlotSet("owner_check", check.to_slot()))
        return events


def _safe_reason(error: BaseException) -> str:
    """A log-safe reason: provider errors carry no personal data by contract."""
    if isinstance(error, ProviderError):
        return str(error)
    return type(error).__name__
