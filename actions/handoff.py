"""Handing a conversation to a human: deciding when, opening the ticket, pausing the bot.

``action_assess_handoff`` is the custom slot mapping of ``handoff_due``: it runs on
every customer message and applies :func:`bot.handoff.rules.decide` (anger, legal
threats, a claim above the cap or a refused offer, a level-1 incident, an explicit
request, and loops: off-topic or unclear messages in a row, no progress). A loop
first sets ``handoff_offer_due``, and ``action_offer_handoff`` offers a person
(buttons 转人工 / 继续); the next message takes it (handed over with the loop's
reason), declines it, or, still getting nowhere, is handed over as ``stuck``. Anger is the trained model's
score of each recent message, read from the parse data the NLU pipeline left on the
user events (``components/anger_classifier.py``), put through the lexicon's
conversation rules (rising frustration, repeated complaints, legal threats) by
:func:`bot.handoff.anger.conversation_score`; a message without a model score is read by the
lexicon. A rule then runs
``action_handoff``, which opens or updates the conversation's ``handoff`` ticket
with a summary for the agent, tells the customer what happens next, and pauses
the bot (``ConversationPaused``); the agent console takes it from there.

If the handoff queue is full (``handoff.max_waiting`` in ``policy/limits.yml``, checked on
the shared queue of :func:`bot.handoff.queue.queue_from_env`), the bot does not pause: the
ticket is opened as always (with a note for agents), the customer is told that every agent
is busy and that the ticket will be followed up, and the bot keeps serving. With the
embedded in-memory queue the action server cannot see the Rasa server's queue, so this
check only bites when the queue is shared through Redis (``HANDOFF_REDIS_URL``).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from typing import Any, Dict, List

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, ConversationPaused, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.language import language_of
from bot import services
from bot.handoff.anger import conversation_score
from bot.handoff.queue import HandoffQueue, queue_from_env
from bot.handoff.rules import Signals, Trigger, customer_notice, decide, expected_wait, next_opening, request_key
from bot.handoff.summary import HandoffContext, agent_summary
from bot.policy.model import ticket_deadlines
from bot.tickets import Ticket, TicketStatus, TicketType

logger = logging.getLogger(__name__)

RECENT = 10
"""Customer messages (and bot replies) the rules and the summary look at."""
SHOWN_SLOTS = ("waybill", "claim_waybill", "claim_part", "claim_description", "claim_extent", "claim_value",
               "claim_packaging_kept", "ticket_id", "language")  # fmt: skip
CLOSED = (TicketStatus.RESOLVED, TicketStatus.CLOSED)
OFFER_ACTION = "action_offer_handoff"
BUSY_ZH = "抱歉，目前所有人工客服都在忙，暂时无法为您转接。{ticket}在此期间我会继续为您服务，请问还有什么可以帮您？"
BUSY_EN = (
    "Sorry, all our agents are busy right now, so I cannot transfer you at the moment. {ticket}"
    "Meanwhile I am still here for you: what else can I do?"
)
BUSY_TICKET_ZH = "您的工单 {ticket_id} 已登记，客服会尽快跟进联系您。"
BUSY_TICKET_EN = "Your ticket {ticket_id} is recorded and an agent will follow up with you as soon as possible. "
BUSY_NO_TICKET_ZH = "您的请求已记下，客服会尽快跟进。"
BUSY_NO_TICKET_EN = "Your request is noted and an agent will follow up as soon as possible. "

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


def _queue_full(conversation_id: str) -> bool:
    """Whether the queue would refuse this conversation (blocking); unknown counts as not full."""
    try:
        queue = handoff_queue()
        return queue.is_full() and queue.get(conversation_id) is None
    except Exception as exc:  # queue unreachable: hand over as usual, agents see the ticket
        logger.error("handoff: queue unavailable: %s", type(exc).__name__)
        return False


def busy_notice(ticket_id: str, lang: str) -> str:
    """What the customer hears when every agent is busy and the queue is full."""
    has_ticket = ticket_id != "-"
    if lang == "en":
        return BUSY_EN.format(ticket=BUSY_TICKET_EN.format(ticket_id=ticket_id) if has_ticket else BUSY_NO_TICKET_EN)
    return BUSY_ZH.format(ticket=BUSY_TICKET_ZH.format(ticket_id=ticket_id) if has_ticket else BUSY_NO_TICKET_ZH)


def _note_busy(ticket_id: str) -> None:
    services.tickets().add_note(ticket_id, "handoff queue full: the bot kept the conversation; follow up", actor="bot")


def model_score(parse_data: Any) -> float | None:
    """The anger model's score in a message's parse data (``components/anger_classifier.py``), if any."""
    found = parse_data.get("anger") if isinstance(parse_data, dict) else None
    value = found.get("score") if isinstance(found, dict) else None
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _recent(tracker: Tracker) -> tuple[list[str | None], list[str], list[str], list[float | None]]:
    """The customer's recent messages and the bot's recent replies, oldest first.

    Returns:
        The customer's intents, texts and anger-model scores (``None`` where the parse
        data has none), and the bot's texts.
    """
    intents: list[str | None] = []
    texts: list[str] = []
    scores: list[float | None] = []
    bot: list[str] = []
    for event in tracker.events or []:
        if event.get("event") == "user":
            text = event.get("text") or ""
            if text.startswith("/"):
                continue  # channel commands such as /send_photo are not things the customer said
            parse_data = event.get("parse_data") or {}
            intents.append((parse_data.get("intent") or {}).get("name"))
            texts.append(text)
            scores.append(model_score(parse_data))
        elif event.get("event") == "bot" and event.get("text"):
            bot.append(event["text"])
    latest = model_score(tracker.latest_message)
    if latest is not None and texts and texts[-1] == (tracker.latest_message.get("text") or ""):
        scores[-1] = latest  # the message being handled, as the NLU pipeline scored it
    return intents[-RECENT:], texts[-RECENT:], bot[-RECENT:], scores[-RECENT:]


def message_key(parse_data: Any) -> str | None:
    """What a message asks (:func:`bot.handoff.rules.request_key`): its intent, FAQ question and entities."""
    if not isinstance(parse_data, dict):
        return None
    intent = (parse_data.get("intent") or {}).get("name")
    selected = ((parse_data.get("response_selector") or {}).get(intent or "") or {}).get("response") or {}
    values = [e.get("value") for e in parse_data.get("entities") or [] if isinstance(e, dict)]
    return request_key(selected.get("intent_response_key") or intent, values)


def _loop_signals(tracker: Tracker) -> Dict[str, Any]:
    """The :class:`Signals` fields of the loop rules, aligned with :func:`_recent`'s customer messages.

    Walks the events once: what each customer message asks, whether a form was asking
    when it came, which form questions the bot asked after it, whether the bot offered
    a person after it. A hand-back by an agent (``resume``) starts afresh.
    """
    keys: list[str | None] = []
    in_form: list[bool] = []
    asks: list[list[str]] = []
    offered: list[bool] = []
    start = 0
    active = requested = action = None
    asked_in_action = False
    for event in tracker.events or []:
        kind = event.get("event")
        if kind == "user":
            if (event.get("text") or "").startswith("/"):
                continue
            keys.append(message_key(event.get("parse_data")))
            in_form.append(active is not None)
            asks.append([])
            offered.append(False)
        elif kind == "active_loop":
            active = event.get("name")
        elif kind == "slot" and event.get("name") == "requested_slot":
            requested = event.get("value")
        elif kind == "action":
            action, asked_in_action = event.get("name"), False
            if action == OFFER_ACTION and offered:
                offered[-1] = True
        elif kind == "bot" and asks and action and action == active and requested and not asked_in_action:
            asks[-1].append(f"{action}:{requested}")  # one question per run of the form
            asked_in_action = True
        elif kind == "resume":
            start = len(keys)
    cut = max(len(keys) - RECENT, 0)
    keys, in_form, asks, offered = keys[cut:], in_form[cut:], asks[cut:], offered[cut:]
    start = max(start - cut, 0)
    offers = [i for i, made in enumerate(offered) if made and i >= start]
    pending = bool(offers) and offers[-1] == len(keys) - 2
    resolved = offers[:-1] if pending else offers
    since = max(start, resolved[-1] + 1 if resolved else 0)
    counts: Dict[str, int] = {}
    for questions in asks[since:]:
        for question in questions:
            counts[question] = counts.get(question, 0) + 1
    offer = None
    if pending:
        due = tracker.get_slot("handoff_trigger")
        due = due if isinstance(due, dict) else {}
        reason = str(due.get("reason") or "stuck")
        level = int(due.get("level") or services.policy().handoff.levels.get(reason, 3))
        offer = Trigger(reason, level, str(due.get("detail") or ""))
    return {
        "keys": keys, "in_form": in_form, "since": since, "form_asks": max(counts.values(), default=0),
        "offer": offer, "offered_before": bool(resolved),
    }  # fmt: skip


def _open_tickets(sender_id: str) -> list[Ticket]:
    return [t for t in services.tickets().for_conversation(sender_id) if t.status not in CLOSED]


async def signals_of(tracker: Tracker) -> tuple[Signals, list[Ticket]]:
    """What the conversation shows, for :func:`bot.handoff.rules.decide`, and its open tickets."""
    intents, texts, _, scores = _recent(tracker)
    # the model's per-message scores (parse data) with the lexicon's conversation rules and legal threats;
    # a message without a model score (older model, text injected by a channel) is read by the lexicon
    anger = conversation_score(texts, scores=scores) if texts else None
    try:
        tickets = await asyncio.to_thread(_open_tickets, tracker.sender_id)
    except Exception as exc:  # tickets unavailable: decide on the conversation alone
        logger.error("handoff: tickets unavailable: %s", type(exc).__name__)
        tickets = []
    decisions = [t.decision for t in tickets if t.type is TicketType.DAMAGE_CLAIM and t.decision is not None]
    signals = Signals(
        intents=intents,
        texts=texts,
        anger=anger.score if anger else 0.0,
        legal_threat=bool(anger and anger.legal),
        claim_reason=decisions[-1].reason_code if decisions else None,
        ticket_levels=[t.level for t in tickets if t.type is not TicketType.HANDOFF],
        **_loop_signals(tracker),
    )
    return signals, tickets


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
        text = tracker.latest_message.get("text") or ""
        if text.startswith("/") or tracker.is_paused():
            return []
        signals, _ = await signals_of(tracker)
        # claim outcomes hand over right when the claim is filed (action_submit_damage_claim), not later
        trigger = decide(replace(signals, claim_reason=None), services.policy())
        stale = [SlotSet(name, False) for name in ("handoff_due", "handoff_offer_due") if tracker.get_slot(name)]
        if trigger is None or trigger.reason == "explicit_request":
            # an explicit request is routed by its intent; nothing else is due
            return stale
        value = {"reason": trigger.reason, "level": trigger.level, "detail": trigger.detail}
        if trigger.offer:
            due = "handoff_offer_due"
            value["offer"] = True
        else:
            due = "handoff_due"
        return [*(e for e in stale if e["name"] != due), SlotSet(due, True), SlotSet("handoff_trigger", value)]


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

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict[str, Any]]:
        """Hands the conversation over; on a ticket-store failure the customer is still told and paused."""
        lang = language_of(tracker)
        policy = services.policy()
        signals, tickets = await signals_of(tracker)
        due = tracker.get_slot("handoff_trigger")
        if isinstance(due, dict) and due.get("reason") and tracker.get_slot("handoff_due"):
            trigger = Trigger(str(due["reason"]), int(due.get("level") or 3), str(due.get("detail") or ""))
        else:
            trigger = decide(signals, policy) or Trigger("explicit_request", policy.handoff.levels["explicit_request"])
        intents, texts, bot_texts, _ = _recent(tracker)
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
        leave_form = [ActiveLoop(None), SlotSet("requested_slot", None)] if tracker.active_loop_name else []
        if await asyncio.to_thread(_queue_full, tracker.sender_id):
            return await self._busy(dispatcher, tracker, ticket_id, lang, leave_form)
        # The console's queue gives the real position; here every handoff counts as first in line.
        notice = customer_notice(ticket_id, expected_wait(0, policy), next_opening(policy, now), now, lang)
        dispatcher.utter_message(text=notice)
        handoff = {
            "ticket_id": ticket_id, "reason": trigger.reason, "level": trigger.level, "detail": trigger.detail,
            "anger": round(signals.anger, 3), "summary": summary, "at": now.isoformat(),
        }  # fmt: skip
        return [
            *leave_form,
            SlotSet("handoff", handoff),
            SlotSet("handoff_due", False),
            SlotSet("handoff_trigger", None),
            SlotSet("ticket_id", ticket_id if ticket_id != "-" else tracker.get_slot("ticket_id")),
            ConversationPaused(),
        ]

    @staticmethod
    async def _busy(
        dispatcher: CollectingDispatcher, tracker: Tracker, ticket_id: str, lang: str, leave_form: List[Dict[str, Any]]
    ) -> List[Dict[str, Any]]:
        """The queue is full: no pause; the customer hears that the ticket will be followed up."""
        logger.warning("handoff: queue full, the bot keeps the conversation")
        if ticket_id != "-":
            try:
                await asyncio.to_thread(_note_busy, ticket_id)
            except Exception as exc:  # the ticket is there all the same
                logger.error("handoff: could not note the full queue: %s", type(exc).__name__)
        dispatcher.utter_message(text=busy_notice(ticket_id, lang))
        return [
            *leave_form,
            SlotSet("handoff_due", False),
            SlotSet("handoff_trigger", None),
            SlotSet("ticket_id", ticket_id if ticket_id != "-" else tracker.get_slot("ticket_id")),
        ]
