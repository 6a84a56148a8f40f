"""The customer's own tickets: "what's happening with my claim"."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Dict, List

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.language import language_of
from actions.tracking import lookup
from bot import services
from bot.identity import ownership
from bot.identity import proof as identity
from bot.identity.proof import OwnerCheck
from bot.tickets import messages as service_messages
from bot.tracking import ProviderError, Shipment, messages
from bot.tracking.waybill import find_waybills

logger = logging.getLogger(__name__)


async def tell_parcel_tickets(dispatcher: CollectingDispatcher, shipment: Shipment, lang: str) -> None:
    """Every ticket about the parcel, whoever opened it (only after a proof)."""
    try:
        tickets = await asyncio.to_thread(services.tickets().for_waybill, shipment.waybill)
    except Exception as exc:
        logger.error("ticket lookup failed: %s", type(exc).__name__)
        dispatcher.utter_message(response="utter_tickets_unavailable")
        return
    dispatcher.utter_message(text=service_messages.parcel_tickets(shipment.waybill, tickets, lang))


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
        lang = language_of(tracker)
        found = find_waybills(tracker.latest_message.get("text") or "")
        if found:
            return await self._about_parcel(dispatcher, tracker, found[0], lang)
        try:
            tickets = await asyncio.to_thread(services.tickets().for_conversation, tracker.sender_id)
        except Exception as exc:  # a database outage must not leave the customer without an answer
            logger.error("ticket lookup failed: %s", type(exc).__name__)
            dispatcher.utter_message(response="utter_tickets_unavailable")
            return []
        dispatcher.utter_message(text=service_messages.tickets_overview(tickets, lang))
        return []

    @staticmethod
    async def _about_parcel(
        dispatcher: CollectingDispatcher, tracker: Tracker, match: Any, lang: str
    ) -> List[Dict[str, Any]]:
        """The parcel's ticket history after a proof; otherwise the request for the phone's last digits."""
        try:
            shipment = await lookup(match)
        except ProviderError as exc:
            logger.warning("ticket lookup: tracking failed: %s", exc)
            dispatcher.utter_message(text=messages.provider_down(lang))
            return []
        if shipment is None:
            dispatcher.utter_message(text=messages.not_found(match.raw, lang))
            return []
        if await ownership.proven(tracker.sender_id, shipment):
            await tell_parcel_tickets(dispatcher, shipment, lang)
            return []
        check = OwnerCheck(shipment.waybill, "tickets")
        dispatcher.utter_message(text=identity.ask_text(check.purpose, lang))
        return [SlotSet("owner_check", check.to_slot())]
