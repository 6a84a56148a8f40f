"""The customer's own tickets: "what's happening with my claim"."""

from __future__ import annotations

import logging
from typing import Any, Dict, List

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from bot.common.i18n import language
from bot.identity import ownership
from bot.identity import proof as identity
from bot.identity.proof import OwnerCheck
from bot.tickets import overview
from bot.tracking import ProviderError, messages
from bot.tracking import service as tracking
from bot.tracking.waybill import WaybillMatch, find_waybills

logger = logging.getLogger(__name__)


class ActionCheckTicket(Action):
    """Lists the tickets of this conversation; a parcel's tickets only to a customer who proved it is theirs."""

    def name(self) -> str:
        """Action name used in the domain."""
        return "action_check_ticket"

    async def run(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> List[Dict[str, Any]]:
        """Shows status and deadline of each of the customer's tickets, or of the parcel named."""
        lang = language(tracker.get_slot("language"))
        found = find_waybills(tracker.latest_message.get("text") or "")
        if found:
            return await self._about_parcel(dispatcher, tracker, found[0], lang)
        text = await overview.conversation_tickets(tracker.sender_id, lang)
        if text is None:
            dispatcher.utter_message(response="utter_tickets_unavailable")
        else:
            dispatcher.utter_message(text=text)
        return []

    @staticmethod
    async def _about_parcel(
        dispatcher: CollectingDispatcher, tracker: Tracker, match: WaybillMatch, lang: str
    ) -> List[Dict[str, Any]]:
        """The parcel's ticket history after a proof; otherwise the request for the phone's last digits."""
        try:
            shipment = await tracking.lookup(match)
        except ProviderError as exc:
            logger.warning("ticket lookup: tracking failed: %s", exc)
            dispatcher.utter_message(text=messages.provider_down(lang))
            return []
        if shipment is None:
            dispatcher.utter_message(text=messages.not_found(match.raw, lang))
            return []
        if await ownership.proven(tracker.sender_id, shipment):
            text = await overview.parcel_tickets(shipment.waybill, lang)
            if text is None:
                dispatcher.utter_message(response="utter_tickets_unavailable")
            else:
                dispatcher.utter_message(text=text)
            return []
        check = OwnerCheck(shipment.waybill, "tickets")
        dispatcher.utter_message(text=identity.ask_text(check.purpose, lang))
        return [SlotSet("owner_check", check.to_slot())]
