"""The customer's own tickets: "what's happening with my claim"."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Dict, List

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import services
from actions.language import language_of
from bot import service_messages

logger = logging.getLogger(__name__)


class ActionCheckTicket(Action):
    """Lists the tickets of this conversation, never anyone else's."""

    def name(self) -> str:
        """Action name used in the domain."""
        return "action_check_ticket"

    async def run(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: Dict[str, Any],
    ) -> List[Dict[str, Any]]:
        """Shows status and deadline of each of the customer's tickets."""
        lang = language_of(tracker)
        try:
            tickets = await asyncio.to_thread(services.tickets().for_conversation, tracker.sender_id)
        except Exception as exc:  # a database outage must not leave the customer without an answer
            logger.error("ticket lookup failed: %s", type(exc).__name__)
            dispatcher.utter_message(response="utter_tickets_unavailable")
            return []
        dispatcher.utter_message(text=service_messages.tickets_overview(tickets, lang))
        return []
