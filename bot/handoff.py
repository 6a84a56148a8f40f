"""When to hand a conversation to a human, at which level, and what the customer is told.

Plain Python: the handoff action gathers :class:`Signals` from the conversation
(recent intents and texts, the anger score, the latest claim decision, ticket
levels) and :func:`decide` applies the policy file's ``handoff`` section. Every
threshold and level comes from the policy; what triggered a handoff is returned
as a :class:`Trigger` so it can be recorded on the ticket.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.messages import format_duration, format_time, in_language
from bot.policy import HANDOFF_REASONS, Policy, in_business_hours

EXPLICIT_INTENTS = frozenset({"request_human"})
FALLBACK_INTENTS = frozenset({"nlu_fallback"})
SIMILAR = 0.8
"""Character-bigram Dice similarity at or above which two messages are the same question."""
_NOISE = re.compile(r"[\s\W_]+", re.UNICODE)


@dataclass(frozen=True)
class Signals:
    """What the conversation shows, newest last.

    Attributes:
        intents: Intents of the customer's recent messages (``nlu_fallback`` included).
        texts: The customer's recent messages.
        anger: Anger score of the conversation, 0..1.
        legal_threat: Whether the customer threatened legal action.
        claim_reason: Reason code of the latest claim decision (``damage_above_cap``,
            ``damage_offer_rejected``…), if any.
        ticket_levels: Levels of the tickets open in this conversation.
    """

    intents: Sequence[str | None] = ()
    texts: Sequence[str] = ()
    anger: float = 0.0
    legal_threat: bool = False
    claim_reason: str | None = None
    ticket_levels: Sequence[int] = ()


@dataclass(frozen=True)
class Trigger:
    """Why a conversation goes to a human, and the level of its ticket."""

    reason: str
    level: int
    detail: str = ""


def _key(text: str) -> str:
    """A message reduced to what makes it a question: no case, spaces or punctuation.

    Waybill numbers stay: the same words about another parcel are a new question.
    """
    return _NOISE.sub("", unicodedata.normalize("NFKC", text or "").lower())


def _bigrams(text: str) -> set[str]:
    return {text[i : i + 2] for i in range(len(text) - 1)} or {text}


def similar(a: str, b: str) -> bool:
    """Whether two customer messages ask the same thing (Dice similarity of character bigrams)."""
    ka, kb = _key(a), _key(b)
    if not ka or not kb:
        return False
    if ka == kb:
        return True
    ba, bb = _bigrams(ka), _bigrams(kb)
    return 2 * len(ba & bb) / (len(ba) + len(bb)) >= SIMILAR


def times_asked(texts: Sequence[str]) -> int:
    """How many of the recent messages ask the same as the latest one (the latest included)."""
    if not texts or not _key(texts[-1]):
        return 0
    latest = texts[-1]
    return sum(1 for text in texts if similar(text, latest))


def fallbacks_in_a_row(intents: Sequence[str | None]) -> int:
    """How many of the latest messages in a row the bot did not understand."""
    count = 0
    for intent in reversed(intents):
        if intent not in FALLBACK_INTENTS:
            break
        count += 1
    return count


def find_triggers(signals: Signals, policy: Policy) -> list[Trigger]:
    """Every reason the conversation should go to a human now, most urgent first.

    Args:
        signals: What the conversation shows.
        policy: The service policy (its ``handoff`` section).

    Returns:
        Triggers ordered by level, then by :data:`bot.policy.HANDOFF_REASONS`.
    """
    rules = policy.handoff
    levels = rules.levels
    found: list[Trigger] = []
    if signals.legal_threat:
        found.append(Trigger("legal_threat", levels["legal_threat"]))
    if 1 in signals.ticket_levels:
        found.append(Trigger("incident", levels["incident"]))
    if signals.anger >= rules.anger_threshold:
        level = 1 if signals.anger >= rules.anger_level_1_threshold else levels["anger"]
        found.append(Trigger("anger", level, f"score {signals.anger:.2f}"))
    if signals.claim_reason == "damage_above_cap":
        found.append(Trigger("above_cap", levels["above_cap"]))
    if signals.claim_reason == "damage_offer_rejected":
        found.append(Trigger("offer_rejected", levels["offer_rejected"]))
    misses = fallbacks_in_a_row(signals.intents)
    if misses >= rules.fallbacks_in_a_row:
        found.append(Trigger("fallbacks", levels["fallbacks"], f"{misses} in a row"))
    asked = times_asked(signals.texts)
    if asked >= rules.same_question_times:
        found.append(Trigger("repeated_question", levels["repeated_question"], f"asked {asked} times"))
    if signals.intents and signals.intents[-1] in EXPLICIT_INTENTS:
        found.append(Trigger("explicit_request", levels["explicit_request"]))
    return sorted(found, key=lambda t: (t.level, HANDOFF_REASONS.index(t.reason)))


def decide(signals: Signals, policy: Policy) -> Trigger | None:
    """The trigger that decides the handoff (the most urgent), or ``None`` to stay with the bot."""
    found = find_triggers(signals, policy)
    return found[0] if found else None


def expected_wait(chats_ahead: int, policy: Policy) -> timedelta:
    """What to tell the customer about the wait: (chats ahead + 1) × the policy's minutes per chat."""
    return policy.handoff.wait_per_chat * (max(chats_ahead, 0) + 1)


def next_opening(policy: Policy, moment: datetime) -> datetime:
    """When agents are next available: ``moment`` itself in business hours, else the next opening.

    Raises:
        ValueError: A naive ``moment``.
    """
    if in_business_hours(policy, moment):
        return moment
    hours = policy.business_hours
    local = moment.astimezone(hours.timezone)
    for days_ahead in range(8):
        day = (local + timedelta(days=days_ahead)).date()
        opening = datetime.combine(day, hours.opens, tzinfo=hours.timezone)
        if opening > local and opening.isoweekday() in hours.days:
            return opening
    raise ValueError("business_hours has no opening day")  # unreachable: days is never empty


def customer_notice(ticket_id: str, wait: timedelta, opening: datetime, now: datetime, lang: str) -> str:
    """What happens next, told to the customer when the conversation goes to a human.

    Args:
        ticket_id: The handoff ticket.
        wait: Expected wait within business hours (:func:`expected_wait`).
        opening: :func:`next_opening` for ``now``.
        now: The current time.
        lang: ``"zh"`` or ``"en"``.
    """
    if opening <= now:
        if wait >= timedelta(hours=1):
            span = format_duration(wait, lang)
        else:
            minutes = max(1, int(wait.total_seconds() // 60))
            span = f"{minutes} minutes" if lang == "en" else f"{minutes} 分钟"
        if lang == "en":
            return (f"I'm passing you to a colleague now, with everything we've discussed, so you won't need to "
                    f"repeat yourself. Expected wait: about {span}. Your ticket is {ticket_id}.")
        return (f"正在为您转接人工客服，我们的对话记录会一并转给同事，您不用重复说明。"
                f"预计等待约 {span}，工单号 {ticket_id}。")
    when = format_time(opening, lang)
    return in_language(
        (
            f"人工客服现在不在线（服务时间外）。您的问题已登记为工单 {ticket_id} 并完整保留，"
            f"同事会在 {when} 上班后第一时间回复您，您不用重复说明。",
            f"Our agents are offline right now. Your case is saved as ticket {ticket_id} with our whole "
            f"conversation, and a colleague will reply as soon as we open at {when}; "
            "you won't need to repeat yourself.",
        ),
        lang,
    )
