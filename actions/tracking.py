"""Where-is-my-parcel: the waybill form's validation and the lookup itself."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Dict, List

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from bot import services
from bot.common.i18n import language
from bot.identity.proof import OwnerCheck
from bot.missing.service import flow_intent
from bot.tickets.service import Requester
from bot.tracking import messages
from bot.tracking import service as tracking
from bot.tracking.suggest import suggest_own_number
from bot.tracking.waybill import WaybillMatch, find_waybills

logger = logging.getLogger(__name__)

GAVE_UP = tracking.GAVE_UP
"""Value of the ``waybill`` slot when the customer could not give a number."""


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
        if attempts >= tracking.MAX_ATTEMPTS:
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
        lang = language(tracker.get_slot("language"))
        reset = [SlotSet("waybill", None), SlotSet("waybill_attempts", 0)]
        found = numbers_in(tracker)
        if not found:
            gave_up = tracker.get_slot("waybill") == GAVE_UP
            dispatcher.utter_message(response="utter_waybill_give_up" if gave_up else "utter_ask_waybill")
            return reset

        limit = tracking.MAX_NUMBERS_PER_MESSAGE
        if len(found) > 1:
            dispatcher.utter_message(text=messages.several_numbers(len(found), lang, limit))
        found = found[:limit]
        results = await asyncio.gather(*(tracking.lookup(match) for match in found), return_exceptions=True)
        own: List[str] = list(tracker.get_slot("my_waybills") or [])
        now = services.now()
        requester = Requester(tracker.sender_id, tracker.get_latest_input_channel() or "rest")
        reported = flow_intent(tracker) == "report_missing"
        seen: List[str] = []
        ticket_id: str | None = None
        choice: Dict[str, Any] | None = None
        check: OwnerCheck | None = None
        failed = False
        for match, result in zip(found, results, strict=True):
            if isinstance(result, BaseException):
                failed = True
                logger.warning("tracking lookup failed: %s", tracking.safe_reason(result))
                continue
            if result is None:
                suggestion = suggest_own_number(match.number, own)
                dispatcher.utter_message(text=messages.not_found(match.raw, lang, suggestion))
                continue
            seen.append(result.waybill)
            answer = await tracking.answer(requester, result, lang, now, reported_missing=reported)
            dispatcher.utter_message(text=answer.text, buttons=answer.quick_replies(lang))
            ticket_id, choice, check = answer.ticket_id or ticket_id, answer.choice or choice, answer.check or check
        if failed:
            dispatcher.utter_message(text=messages.provider_down(lang))
        events = reset
        if seen:
            events.append(SlotSet("my_waybills", tracking.remember(own, seen)))
        if ticket_id:
            events.append(SlotSet("ticket_id", ticket_id))
        if choice:
            events.append(SlotSet("delay_choice", choice))
        if check:
            events.append(SlotSet("owner_check", check.to_slot()))
        return events
