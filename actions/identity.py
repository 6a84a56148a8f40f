"""The last four digits of the receiver's phone: check them, then do what they were asked for."""

from __future__ import annotations

import logging
from typing import Any, Dict, List

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from bot import services
from bot.common.i18n import language
from bot.delay import options as delay_options
from bot.delay import service as delay
from bot.identity import ownership
from bot.identity import proof as identity
from bot.identity.proof import OwnerCheck
from bot.tickets import overview
from bot.tickets.service import Requester
from bot.tracking import ProviderError, Shipment, messages
from bot.tracking import service as tracking
from bot.tracking.waybill import find_waybills

logger = logging.getLogger(__name__)


class ActionVerifyOwner(Action):
    """Checks the phone digits the customer sent against the parcel asked about, then carries on."""

    def name(self) -> str:
        """Action name used in the domain."""
        return "action_verify_owner"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict[str, Any]]:
        """A right answer keeps the proof and does what was asked; wrong ones count, three end the check."""
        lang = language(tracker.get_slot("language"))
        check = OwnerCheck.from_slot(tracker.get_slot("owner_check"))
        if check is None:
            dispatcher.utter_message(response="utter_no_owner_check")
            return []
        digits = identity.last_four(tracker.latest_message.get("text") or "")
        if digits is None:
            dispatcher.utter_message(text=identity.not_digits_text(lang))
            return []
        done = [SlotSet("owner_check", None)]
        if await ownership.locked(check.waybill):
            dispatcher.utter_message(text=identity.locked_text(lang))
            return done
        try:
            shipment = await tracking.lookup(find_waybills(check.waybill)[0])
        except (ProviderError, IndexError) as exc:
            logger.warning("proof: tracking failed: %s", type(exc).__name__)
            dispatcher.utter_message(text=messages.provider_down(lang))
            return []
        if shipment is None:
            dispatcher.utter_message(text=messages.not_found(check.waybill, lang))
            return done
        matched = await ownership.match(shipment, digits)
        if matched is None:
            dispatcher.utter_message(text=identity.uncheckable_text(lang))
            return done
        if not matched:
            return self._wrong(dispatcher, check, lang, await ownership.count_failure(check.waybill))
        await ownership.remember(tracker.sender_id, shipment, "phone_last4")
        return done + await self._carry_on(dispatcher, tracker, check, shipment, lang)

    @staticmethod
    def _wrong(dispatcher: CollectingDispatcher, check: OwnerCheck, lang: str, locked: bool) -> List[Dict[str, Any]]:
        tries = check.tries + 1
        if locked:
            dispatcher.utter_message(text=identity.locked_text(lang))
        elif tries >= identity.MAX_TRIES:
            dispatcher.utter_message(text=identity.gave_up_text(lang))
        else:
            dispatcher.utter_message(text=identity.wrong_text(check.waybill, identity.MAX_TRIES - tries, lang))
            return [SlotSet("owner_check", OwnerCheck(check.waybill, check.purpose, tries).to_slot())]
        logger.info("proof refused after %d wrong answers", tries)
        return [SlotSet("owner_check", None)]

    @staticmethod
    async def _carry_on(
        dispatcher: CollectingDispatcher, tracker: Tracker, check: OwnerCheck, shipment: Shipment, lang: str
    ) -> List[Dict[str, Any]]:
        """Do what the proof was asked for: compensation, delivery details, a missing report, the tickets."""
        now = services.now()
        if check.purpose == "tickets":
            dispatcher.utter_message(text=identity.verified_text(lang))
            text = await overview.parcel_tickets(shipment.waybill, lang)
            if text is None:
                dispatcher.utter_message(response="utter_tickets_unavailable")
            else:
                dispatcher.utter_message(text=text)
            return []
        requester = Requester(tracker.sender_id, tracker.get_latest_input_channel() or "rest")
        if check.purpose == "delay":
            found = await delay.compensate(requester, shipment, lang, now)
            if found.lines and found.ticket_id:
                text = "\n".join([identity.verified_text(lang), *found.lines])
                choice = found.choice_slot(shipment.waybill)
                if choice:
                    dispatcher.utter_message(text=text, buttons=delay_options.buttons(found.options, lang))
                    return [SlotSet("ticket_id", found.ticket_id), SlotSet("delay_choice", choice)]
                dispatcher.utter_message(text=text)
                return [SlotSet("ticket_id", found.ticket_id)]
        dispatcher.utter_message(text=identity.verified_text(lang))
        answer = await tracking.answer(requester, shipment, lang, now, reported_missing=check.purpose == "missing")
        dispatcher.utter_message(text=answer.text, buttons=answer.quick_replies(lang))
        events: List[Dict[str, Any]] = [SlotSet("ticket_id", answer.ticket_id)] if answer.ticket_id else []
        return events + ([SlotSet("delay_choice", answer.choice)] if answer.choice else [])
