"""Handing a conversation to a human: deciding when, and recording it for the agents.

:func:`assess` runs on every customer message: it reads the conversation
(:mod:`bot.handoff.conversation`), scores its anger (the model's per-message scores from
the parse data through the lexicon's conversation rules, :func:`bot.handoff.anger.conversation_score`),
looks at the conversation's open tickets and applies :func:`bot.handoff.rules.decide`.

:func:`hand_over` does the handoff itself: it takes the trigger the assessment left in
the ``handoff_trigger`` slot (or decides one now), writes the agent's summary, opens the
conversation's ``handoff`` ticket (:func:`bot.tickets.service.open_for`) or notes the new
trigger on the open one, and checks the shared handoff queue. If the queue is full
(``handoff.max_waiting`` in ``policy/limits.yml``) the bot keeps the conversation: the
ticket gets a note for the agents and the customer hears that every agent is busy.
Otherwise the customer hears what happens next and the caller pauses the bot; the queue
entry itself is made by the Rasa server when it sees the pause
(:mod:`connectors.console.events`). With the embedded in-memory queue the action server
cannot see the Rasa server's queue, so the check only bites when the queue is shared
through Redis (``HANDOFF_REDIS_URL``).

Blocking (ticket database, Redis): call through ``asyncio.to_thread`` from async code.
A ticket store or a queue that fails never stops a handoff: the customer is handed over
all the same (ticket ``-``) and agents see the conversation.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from bot import services
from bot.handoff.anger import conversation_score
from bot.handoff.conversation import Conversation, loop_signals, recent
from bot.handoff.notices import busy_notice, customer_notice
from bot.handoff.queue import HandoffQueue, queue_from_env
from bot.handoff.rules import Signals, Trigger, decide, expected_wait, next_opening
from bot.handoff.summary import HandoffContext, agent_summary
from bot.tickets import Ticket, TicketStatus, TicketType
from bot.tickets.service import Requester, open_for

logger = logging.getLogger(__name__)

SHOWN_SLOTS = ("waybill", "claim_waybill", "claim_part", "claim_description", "claim_extent", "claim_value",
               "claim_packaging_kept", "ticket_id", "language")  # fmt: skip
"""Slots the agent's summary shows."""
CLOSED = (TicketStatus.RESOLVED, TicketStatus.CLOSED)
NO_TICKET = "-"
"""The ticket id told and recorded when the ticket store failed."""
BUSY_NOTE = "handoff queue full: the bot kept the conversation; follow up"

_queue: HandoffQueue | None = None


def handoff_queue() -> HandoffQueue:
    """The handoff queue (built from the environment on first use, never at import)."""
    global _queue
    if _queue is None:
        _queue = queue_from_env()
    return _queue


def set_handoff_queue(queue: HandoffQueue | None) -> None:
    """Replace the handoff queue (tests); ``None`` rebuilds it from the environment on next use."""
    global _queue
    _queue = queue


def queue_full(conversation_id: str) -> bool:
    """Whether the queue would refuse this conversation; an unreachable queue counts as not full."""
    try:
        queue = handoff_queue()
        return queue.is_full() and queue.get(conversation_id) is None
    except Exception as exc:  # queue unreachable: hand over as usual, agents see the ticket
        logger.error("handoff: queue unavailable: %s", type(exc).__name__)
        return False


def open_tickets(conversation_id: str) -> list[Ticket]:
    """The conversation's tickets that are not resolved or closed."""
    return [t for t in services.tickets().for_conversation(conversation_id) if t.status not in CLOSED]


def signals_of(conversation: Conversation) -> tuple[Signals, list[Ticket]]:
    """What the conversation shows, for :func:`bot.handoff.rules.decide`, and its open tickets."""
    seen = recent(conversation)
    # the model's per-message scores (parse data) with the lexicon's conversation rules and legal threats;
    # a message without a model score (older model, text injected by a channel) is read by the lexicon
    anger = conversation_score(seen.texts, scores=seen.scores) if seen.texts else None
    try:
        tickets = open_tickets(conversation.conversation_id)
    except Exception as exc:  # tickets unavailable: decide on the conversation alone
        logger.error("handoff: tickets unavailable: %s", type(exc).__name__)
        tickets = []
    decisions = [t.decision for t in tickets if t.type is TicketType.DAMAGE_CLAIM and t.decision is not None]
    signals = Signals(
        intents=seen.intents,
        texts=seen.texts,
        anger=anger.score if anger else 0.0,
        legal_threat=bool(anger and anger.legal),
        claim_reason=decisions[-1].reason_code if decisions else None,
        ticket_levels=[t.level for t in tickets if t.type is not TicketType.HANDOFF],
        **loop_signals(conversation, services.policy()),
    )
    return signals, tickets


def assess(conversation: Conversation) -> Trigger | None:
    """Whether this message should go to a human (or be offered one): the trigger, or ``None``.

    Claim outcomes are left out: they hand over right when the claim is filed, not later.
    """
    signals, _ = signals_of(conversation)
    return decide(replace(signals, claim_reason=None), services.policy())


def due_slots(conversation: Conversation, paused: bool = False) -> dict[str, Any]:
    """The slots the assessment of the latest message changes, in the order to set them.

    ``handoff_due`` (hand over now) or ``handoff_offer_due`` (offer a person first, a loop:
    :func:`bot.handoff.rules.loop_trigger`) with ``handoff_trigger``; a flag left from an
    earlier message is cleared. Nothing for a channel command (``/send_photo``) or while
    the bot is paused; an explicit request is routed by its intent, so it sets nothing.
    """
    text = conversation.latest_message.get("text") or ""
    if text.startswith("/") or paused:
        return {}
    trigger = assess(conversation)
    stale = {name: False for name in ("handoff_due", "handoff_offer_due") if conversation.slot(name)}
    if trigger is None or trigger.reason == "explicit_request":
        return stale
    value: dict[str, Any] = {"reason": trigger.reason, "level": trigger.level, "detail": trigger.detail}
    if trigger.offer:
        due = "handoff_offer_due"
        value["offer"] = True
    else:
        due = "handoff_due"
    changes: dict[str, Any] = {name: flag for name, flag in stale.items() if name != due}
    changes[due] = True
    changes["handoff_trigger"] = value
    return changes


def trigger_of(conversation: Conversation, signals: Signals) -> Trigger:
    """The trigger of this handoff: the one the assessment left in ``handoff_trigger``, else decided now.

    With nothing else due the customer asked for a person (``explicit_request``).
    """
    policy = services.policy()
    due = conversation.slot("handoff_trigger")
    if isinstance(due, dict) and due.get("reason") and conversation.slot("handoff_due"):
        return Trigger(str(due["reason"]), int(due.get("level") or 3), str(due.get("detail") or ""))
    return decide(signals, policy) or Trigger("explicit_request", policy.handoff.levels["explicit_request"])


def record(
    conversation: Conversation, trigger: Trigger, summary: str, tickets: list[Ticket], lang: str = "zh"
) -> Ticket:
    """Open the handoff ticket (its parcel watched in ``lang``), or note the new trigger on the open one."""
    existing = next((t for t in tickets if t.type is TicketType.HANDOFF), None)
    if existing is not None:
        return services.tickets().add_note(existing.id, f"handed over again: {trigger.reason}\n{summary}", actor="bot")
    waybill = conversation.slot("claim_waybill") or conversation.slot("waybill")
    return open_for(
        Requester(conversation.conversation_id, conversation.channel, lang),
        type=TicketType.HANDOFF,
        level=trigger.level,
        summary=summary,
        waybill=waybill if isinstance(waybill, str) and waybill != "-" else None,
        note=f"trigger: {trigger.reason} {trigger.detail}".strip(),
    )


@dataclass(frozen=True)
class Handoff:
    """A handoff as recorded: what the customer is told, and whether the bot pauses.

    Attributes:
        ticket_id: The handoff ticket (:data:`NO_TICKET` when the store failed).
        trigger: Why the conversation went to a human.
        anger: The conversation's anger score.
        summary: The agent's summary.
        at: When it happened.
        notice: What the customer is told.
        busy: The queue was full: the bot keeps the conversation (no pause).
    """

    ticket_id: str
    trigger: Trigger
    anger: float
    summary: str
    at: datetime
    notice: str
    busy: bool = False

    @property
    def has_ticket(self) -> bool:
        """Whether a ticket was recorded."""
        return self.ticket_id != NO_TICKET

    def as_slot(self) -> dict[str, Any]:
        """The value of the ``handoff`` slot (the console reads it)."""
        return {
            "ticket_id": self.ticket_id, "reason": self.trigger.reason, "level": self.trigger.level,
            "detail": self.trigger.detail, "anger": round(self.anger, 3), "summary": self.summary,
            "at": self.at.isoformat(),
        }  # fmt: skip


def _note_busy(ticket_id: str) -> None:
    """Tell the agents on the ticket that the bot kept the conversation (the ticket stays all the same)."""
    try:
        services.tickets().add_note(ticket_id, BUSY_NOTE, actor="bot")
    except Exception as exc:  # the ticket is there all the same
        logger.error("handoff: could not note the full queue: %s", type(exc).__name__)


def hand_over(conversation: Conversation, lang: str) -> Handoff:
    """Record the handoff (ticket with the agent's summary) and compose what the customer is told.

    Args:
        conversation: The conversation going to a human.
        lang: The customer's language (``en``, else Chinese).
    """
    policy = services.policy()
    signals, tickets = signals_of(conversation)
    trigger = trigger_of(conversation, signals)
    seen = recent(conversation)
    slots = {name: conversation.slot(name) for name in SHOWN_SLOTS}
    context = HandoffContext(
        trigger=trigger, anger=signals.anger, intents=seen.intents, customer_texts=seen.texts,
        bot_texts=seen.bot_texts, waybill=slots.get("claim_waybill") or slots.get("waybill"), slots=slots,
        tickets=tickets,
    )  # fmt: skip
    summary = agent_summary(context)
    now = services.now()
    try:
        ticket_id = record(conversation, trigger, summary, tickets, lang).id
    except Exception as exc:  # the customer is still handed over; agents see the conversation
        logger.error("handoff: could not record the ticket: %s", type(exc).__name__)
        ticket_id = NO_TICKET
    if queue_full(conversation.conversation_id):
        logger.warning("handoff: queue full, the bot keeps the conversation")
        if ticket_id != NO_TICKET:
            _note_busy(ticket_id)
        return Handoff(ticket_id, trigger, signals.anger, summary, now, busy_notice(ticket_id, lang), busy=True)
    # The console's queue gives the real position; here every handoff counts as first in line.
    notice = customer_notice(ticket_id, expected_wait(0, policy), next_opening(policy, now), now, lang)
    return Handoff(ticket_id, trigger, signals.anger, summary, now, notice)
