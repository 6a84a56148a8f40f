"""Reading a conversation for the handoff: its recent messages and where it goes round in circles.

A :class:`Conversation` is the plain view of a Rasa tracker the handoff needs (its events
as dictionaries, the latest message, the slots); the action builds it, so nothing here
knows Rasa. :func:`recent` gives the customer's recent messages and the bot's replies,
:func:`loop_signals` the fields of :class:`bot.handoff.rules.Signals` the loop rules read.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.handoff.rules import Trigger, request_key
from bot.policy.model import Policy

RECENT = 10
"""Customer messages (and bot replies) the rules and the summary look at."""
OFFER_ACTION = "action_offer_handoff"
"""The action that offers the customer a person (its runs mark the offers in the history)."""


@dataclass(frozen=True)
class Conversation:
    """What the handoff reads of a conversation.

    Attributes:
        conversation_id: The conversation (Rasa's sender id).
        channel: The channel the latest message came in on.
        events: The tracker's events, oldest first, as Rasa serialises them.
        latest_message: The parse data of the message being handled.
        slots: The slots' current values.
    """

    conversation_id: str
    channel: str = "rest"
    events: Sequence[Mapping[str, Any]] = ()
    latest_message: Mapping[str, Any] = field(default_factory=dict)
    slots: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, tracker: Any) -> Conversation:
        """The view of a Rasa SDK tracker (read through its attributes: nothing here imports Rasa)."""
        return cls(
            conversation_id=tracker.sender_id,
            channel=tracker.get_latest_input_channel() or "rest",
            events=tracker.events or [],
            latest_message=tracker.latest_message or {},
            slots=tracker.slots,
        )

    def slot(self, name: str) -> Any:
        """A slot's value (``None`` when unset)."""
        return self.slots.get(name)


@dataclass(frozen=True)
class Recent:
    """The customer's recent messages and the bot's recent replies, oldest first.

    Attributes:
        intents: The customer's intents.
        texts: The customer's texts.
        bot_texts: The bot's texts.
        scores: The anger model's score of each customer message (``None`` where the parse data has none).
    """

    intents: list[str | None]
    texts: list[str]
    bot_texts: list[str]
    scores: list[float | None]


def model_score(parse_data: Any) -> float | None:
    """The anger model's score in a message's parse data (``components/anger_classifier.py``), if any."""
    found = parse_data.get("anger") if isinstance(parse_data, Mapping) else None
    value = found.get("score") if isinstance(found, Mapping) else None
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def message_key(parse_data: Any) -> str | None:
    """What a message asks (:func:`bot.handoff.rules.request_key`): its intent, FAQ question and entities."""
    if not isinstance(parse_data, Mapping):
        return None
    intent = (parse_data.get("intent") or {}).get("name")
    selected = ((parse_data.get("response_selector") or {}).get(intent or "") or {}).get("response") or {}
    values = [e.get("value") for e in parse_data.get("entities") or [] if isinstance(e, Mapping)]
    return request_key(selected.get("intent_response_key") or intent, values)


def recent(conversation: Conversation) -> Recent:
    """The last :data:`RECENT` customer messages and bot replies (channel commands such as ``/send_photo`` left out)."""
    intents: list[str | None] = []
    texts: list[str] = []
    scores: list[float | None] = []
    bot: list[str] = []
    for event in conversation.events or []:
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
    latest = model_score(conversation.latest_message)
    if latest is not None and texts and texts[-1] == (conversation.latest_message.get("text") or ""):
        scores[-1] = latest  # the message being handled, as the NLU pipeline scored it
    return Recent(intents[-RECENT:], texts[-RECENT:], bot[-RECENT:], scores[-RECENT:])


def loop_signals(conversation: Conversation, policy: Policy) -> dict[str, Any]:
    """The :class:`bot.handoff.rules.Signals` fields of the loop rules, aligned with :func:`recent`'s messages.

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
    for event in conversation.events or []:
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
    counts: dict[str, int] = {}
    for questions in asks[since:]:
        for question in questions:
            counts[question] = counts.get(question, 0) + 1
    offer = None
    if pending:
        due = conversation.slot("handoff_trigger")
        due = due if isinstance(due, Mapping) else {}
        reason = str(due.get("reason") or "stuck")
        level = int(due.get("level") or policy.handoff.levels.get(reason, 3))
        offer = Trigger(reason, level, str(due.get("detail") or ""))
    return {
        "keys": keys, "in_form": in_form, "since": since, "form_asks": max(counts.values(), default=0),
        "offer": offer, "offered_before": bool(resolved),
    }  # fmt: skip
