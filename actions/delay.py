"""Delay choices: "keep waiting / priority / pickup / redirect" on the delay ticket they were offered with."""

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

logger = logging.getLogger(__name__)

WITHOUT_OFFER = {delay_options.PICKUP: "utter_faq/change_address", delay_options.REDIRECT: "utter_faq/change_address"}
"""With no offer pending, a wish to collect or redirect gets the change-of-address answer."""


class ActionRecordDelayChoice(Action):
    """Records "keep waiting / priority / pickup / redirect" on the delay ticket it was offered with."""

    def name(self) -> str:
        """Action name used in the domain."""
        return "action_record_delay_choice"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict[str, Any]]:
        """Reads the choice (exact phrase, own words or a number), writes it to the ticket, says what happens next."""
        lang = language(tracker.get_slot("language"))
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
            ticket = await delay.record_choice(ticket_id, option, waybill)
        except Exception as exc:  # the customer is told; nothing half-written
            logger.error("could not record the delay choice: %s", type(exc).__name__)
            dispatcher.utter_message(response="utter_tickets_unavailable")
            return []
        if ticket is None:
            dispatcher.utter_message(response="utter_no_delay_choice")
            return [SlotSet("delay_choice", None)]
        dispatcher.utter_message(text=delay.confirmation(ticket, option, waybill, lang, services.now()))
        return [SlotSet("delay_choice", None)]

    @staticmethod
    def _ask_again(
        dispatcher: CollectingDispatcher, offered: Dict[str, Any], options: List[str], lang: str
    ) -> List[Dict[str, Any]]:
        """Ask the choice again (what is known, what is missing), at most three times in all."""
        ticket_id, waybill = str(offered.get("ticket_id") or ""), str(offered.get("waybill") or "")
        failed = int(offered.get("failed") or 0) + 1
        if failed >= delay.MAX_ASKS or not options:
            dispatcher.utter_message(text=delay_options.gave_up(waybill, ticket_id, lang))
            return [SlotSet("delay_choice", None)]
        dispatcher.utter_message(
            text=delay_options.ask_again(options, waybill, ticket_id, lang, last=failed == delay.MAX_ASKS - 1),
            buttons=delay_options.buttons(options, lang),
        )
        return [SlotSet("delay_choice", {**offered, "failed": failed})]
