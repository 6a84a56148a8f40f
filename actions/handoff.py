"""Handing a conversation to a human: the actions (the work is :mod:`bot.handoff.service`).

``action_assess_handoff`` is the custom slot mapping of ``handoff_due``: it runs on
every customer message and applies :func:`bot.handoff.service.assess` (anger, legal
threats, a claim above the cap or a refused offer, a level-1 incident, an explicit
request, and loops: off-topic or unclear messages in a row, no progress). A loop
first sets ``handoff_offer_due``, and ``action_offer_handoff`` offers a person
(buttons 转人工 / 继续); the next message takes it (handed over with the loop's
reason), declines it, or, still getting nowhere, is handed over as ``stuck``. A rule
then runs ``action_handoff``, which records the handoff
(:func:`bot.handoff.service.hand_over`: the ticket with the agent's summary), tells the
customer what happens next, and pauses the bot (``ConversationPaused``); the agent
console takes it from there. If the handoff queue is full the bot does not pause: the
customer is told that every agent is busy and that the ticket will be followed up.
"""

from __future__ import annotations

import asyncio
from typing import Any, Dict, List

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, ConversationPaused, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from bot.common.i18n import language
from bot.handoff import service
from bot.handoff.conversation import OFFER_ACTION, Conversation


class ActionAssessHandoff(Action):
    """Custom slot mapping of ``handoff_due``: whether this message should go to a human.

    Also of ``handoff_offer_due``: whether the bot should offer a person first (a loop,
    :func:`bot.handoff.rules.loop_trigger`); ``handoff_trigger`` then holds the offer, which
    the next message accepts, declines or ignores.
    """

    def name(self) -> str:
        """Action name used in the domain."""
        return "action_assess_handoff"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict[str, Any]]:
        """Sets ``handoff_due`` or ``handoff_offer_due`` (and ``handoff_trigger``) from the policy's rules."""
        changes = await asyncio.to_thread(service.due_slots, Conversation.of(tracker), tracker.is_paused())
        return [SlotSet(name, value) for name, value in changes.items()]


class ActionOfferHandoff(Action):
    """Offers the customer a person (buttons 转人工 / 继续), saying why; the next message answers it."""

    def name(self) -> str:
        """Action name used in the domain."""
        return OFFER_ACTION

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict[str, Any]]:
        """Utters the offer for the trigger's reason (off-topic/unclear, or no progress)."""
        due = tracker.get_slot("handoff_trigger")
        reason = due.get("reason") if isinstance(due, dict) else None
        response = "utter_offer_human_fallbacks" if reason == "fallbacks" else "utter_offer_human_stuck"
        dispatcher.utter_message(response=response)
        return []


class ActionHandoff(Action):
    """Records the handoff, tells the customer what happens next, and pauses the bot."""

    def name(self) -> str:
        """Action name used in the domain."""
        return "action_handoff"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict[str, Any]]:
        """Hands the conversation over; on a ticket-store failure the customer is still told and paused."""
        handoff = await asyncio.to_thread(
            service.hand_over, Conversation.of(tracker), language(tracker.get_slot("language"))
        )
        dispatcher.utter_message(text=handoff.notice)
        leave_form = [ActiveLoop(None), SlotSet("requested_slot", None)] if tracker.active_loop_name else []
        ticket_id = handoff.ticket_id if handoff.has_ticket else tracker.get_slot("ticket_id")
        if handoff.busy:  # the queue is full: no pause, the ticket will be followed up
            return [*leave_form, SlotSet("handoff_due", False), SlotSet("handoff_trigger", None),
                    SlotSet("ticket_id", ticket_id)]  # fmt: skip
        return [
            *leave_form,
            SlotSet("handoff", handoff.as_slot()),
            SlotSet("handoff_due", False),
            SlotSet("handoff_trigger", None),
            SlotSet("ticket_id", ticket_id),
            ConversationPaused(),
        ]
