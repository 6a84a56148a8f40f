"""Handing a conversation to a human: deciding when, opening the ticket, pausing the bot.

``action_assess_handoff`` is the custom slot mapping of ``handoff_due``: it runs on
every customer message and applies :func:`bot.handoff.decide` (anger, legal
threats, fallbacks in a row, the same question again, a claim above the cap or a
refused offer, a level-1 incident, an explicit request). A rule then runs
``action_handoff``, which opens or updates the conversation's ``handoff`` ticket
with a summary for the agent, tells the customer what happens next, and pauses
the bot (``ConversationPaused``); the agent console takes it from there.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from typing import Any, Dict, List

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, ConversationPaused, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import services
from actions.language import language_of
from bot.anger import conversation_score
from bot.handoff import Signals, Trigger, customer_notice, decide, expected_wait, next_opening
from bot.handoff_summary import HandoffContext, agent_summary
from bot.policy import ticket_deadlines
from bot.tickets import Ticket, TicketStatus, TicketType

logger = logging.getLogger(__name__)

RECENT = 10
"""Customer messages (and bot replies) the rules and the summary look at."""
SHOWN_SLOTS = ("waybill", "claim_waybill", "claim_part", "claim_description", "claim_extent", "claim_value",
               "claim_packaging_kept", "ticket_id", "language")  # fmt: skip
CLOSED = (TicketStatus.RESOLVED, TicketStatus.CLOSED)


def _recent(tracker: Tracker) -> tuple[list[str | None], list[str], list[str]]:
    """Intents and texts of the customer's recent messages and the bot's recent replies, oldest first."""
    intents: list[str | None] = []
    texts: list[str] = []
    bot: list[str] = []
    for event in tracker.events or []:
        if event.get("event") == "user":
            text = event.get("text") or ""
            if text.startswith("/"):
                continue  # channel commands such as /send_photo are not things the customer said
            intents.append(((event.get("parse_data") or {}).get("intent") or {}).get("name"))
            texts.append(text)
        elif event.get("event") == "bot" and event.get("text"):
            bot.append(event["text"])
    return intents[-RECENT:], texts[-RECENT:], bot[-RECENT:]


def _open_tickets(sender_id: str) -> list[Ticket]:
    return [t for t in services.tickets().for_conversation(sender_id) if t.status not in CLOSED]


async def signals_of(tracker: Tracker) -> tuple[Signals, list[Ticket]]:
    """What the conversation shows, for :func:`bot.handoff.decide`, and its open tickets."""
    intents, texts, _ = _recent(tracker)
    anger = conversation_score(texts) if texts else None
    try:
        tickets = await asyncio.to_thread(_open_tickets, tracker.sender_id)
    except Exception as exc:  # tickets unavailable: decide on the conversation alone
        logger.error("handoff: tickets unavailable: %s", type(exc).__name__)
        tickets = []
    claims = [t for t in tickets if t.type is TicketType.DAMAGE_CLAIM and t.decision is not None]
    signals = Signals(
        intents=intents,
        texts=texts,
        anger=anger.score if anger else 0.0,
        legal_threat=bool(anger and anger.legal),
        claim_reason=claims[-1].decision.reason_code if claims else None,
        ticket_levels=[t.level for t in tickets if t.type is not TicketType.HANDOFF],
    )
    return signals, tickets


class ActionAssessHandoff(Action):
    """Custom slot mapping of ``handoff_due``: whether this message should go to a human."""

    def name(self) -> str:
        """Action name used in the domain."""
        return "action_assess_handoff"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[Dict[str, Any]]:
        """Sets ``handoff_due`` (and ``handoff_trigger``) from the policy's rules."""
        text = tracker.latest_message.get("text") or ""
        if text.startswith("/") or tracker.is_paused():
            return []
        signals, _ = await signals_of(tracker)
        # claim outcomes hand over right when the claim is filed (action_submit_damage_claim), not later
        trigger = decide(replace(signals, claim_reason=None), services.policy())
        if trigger is None or trigger.reason == "explicit_request":
            # an explicit request is routed by its intent; nothing else is due
            return [] if not tracker.get_slot("handoff_due") else [SlotSet("handoff_due", False)]
        value = {"reason": trigger.reason, "level": trigger.level, "detail": trigger.detail}
        return [SlotSet("handoff_due", True), SlotSet("handoff_trigger", value)]


def _record(tracker: Tracker, trigger: Trigger, summary: str, tickets: list[Ticket]) -> Ticket:
    """Open the conversation's handoff ticket, or note the new trigger on the open one (blocking)."""
    store = services.tickets()
    existing = next((t for t in tickets if t.type is TicketType.HANDOFF), None)
    if existing is not None:
        return store.add_note(existing.id, f"handed over again: {trigger.reason}\n{summary}", actor="bot")
    now = services.now()
    waybill = tracker.get_slot("claim_waybill") or tracker.get_slot("waybill")
    return store.open(
        type=TicketType.HANDOFF,
        level=trigger.level,
        conversation_id=tracker.sender_id,
        channel=tracker.get_latest_input_channel() or "rest",
        summary=summary,
        deadlines=ticket_deadlines(services.policy(), trigger.level, now),
        waybill=waybill if isinstance(waybill, str) and waybill != "-" else None,
        note=f"trigger: {trigger.reason} {trigger.detail}".strip(),
    )


class ActionHandoff(Action):
    """Opens the handoff ticket, tells the customer what happens next, and pauses the bot."""

    def name(self) -> str:
        """Action name used in the domain."""
        return "action_handoff"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[Dict[str, Any]]:
        """Hands the conversation over; on a ticket-store failure the customer is still told and paused."""
        lang = language_of(tracker)
        policy = services.policy()
        signals, tickets = await signals_of(tracker)
        due = tracker.get_slot("handoff_trigger")
        if isinstance(due, dict) and due.get("reason") and tracker.get_slot("handoff_due"):
            trigger = Trigger(str(due["reason"]), int(due.get("level") or 3), str(due.get("detail") or ""))
        else:
            trigger = decide(signals, policy) or Trigger("explicit_request", policy.handoff.levels["explicit_request"])
        intents, texts, bot_texts = _recent(tracker)
        slots = {name: tracker.get_slot(name) for name in SHOWN_SLOTS}
        context = HandoffContext(
            trigger=trigger, anger=signals.anger, intents=intents, customer_texts=texts, bot_texts=bot_texts,
            waybill=slots.get("claim_waybill") or slots.get("waybill"), slots=slots, tickets=tickets,
        )  # fmt: skip
        summary = agent_summary(context)
        now = services.now()
        try:
            ticket = await asyncio.to_thread(_record, tracker, trigger, summary, tickets)
            ticket_id = ticket.id
        except Exception as exc:  # the customer is still handed over; agents see the conversation
            logger.error("handoff: could not record the ticket: %s", type(exc).__name__)
            ticket_id = "-"
        # The console's queue gives the real position; here every handoff counts as first in line.
        notice = customer_notice(ticket_id, expected_wait(0, policy), next_opening(policy, now), now, lang)
        dispatcher.utter_message(text=notice)
        handoff = {
            "ticket_id": ticket_id, "reason": trigger.reason, "level": trigger.level, "detail": trigger.detail,
            "anger": round(signals.anger, 3), "summary": summary, "at": now.isoformat(),
        }  # fmt: skip
        leave_form = [ActiveLoop(None), SlotSet("requested_slot", None)] if tracker.active_loop_name else []
        return [
            *leave_form,
            SlotSet("handoff", handoff),
            SlotSet("handoff_due", False),
            SlotSet("handoff_trigger", None),
            SlotSet("ticket_id", ticket_id if ticket_id != "-" else tracker.get_slot("ticket_id")),
            ConversationPaused(),
        ]
