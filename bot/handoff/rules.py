"""When to hand a conversation to a human, at which level, and when agents are there.

Plain Python: the handoff action gathers :class:`Signals` from the conversation
(recent intents and texts, the anger score, the latest claim decision, ticket
levels) and :func:`decide` applies the policy file's ``handoff`` section. Every
threshold and level comes from the policy; what triggered a handoff is returned
as a :class:`Trigger` so it can be recorded on the ticket.

A conversation that goes round in circles is first *offered* a person
(``Trigger.offer``), then handed over (:func:`loop_trigger`): off-topic or unclear
messages in a row (``fallbacks``), or no progress (``stuck``: the same question
again, the same request rephrased, a form question asked too often and still not
answered). Accepting the offer hands over with its reason; ignoring it while still
making no progress hands over as ``stuck``, whatever NLU made of the message.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from bot.policy.deadlines import in_business_hours
from bot.policy.model import HANDOFF_REASONS, Policy

EXPLICIT_INTENTS = frozenset({"request_human"})
FALLBACK_INTENTS = frozenset({"nlu_fallback", "out_of_scope"})
"""Messages the bot could not act on: not understood, or about something it does not handle."""
NO_REQUEST_INTENTS = frozenset({"greet", "goodbye", "thank", "affirm", "deny", "bot_challenge", "send_photo",
                                "choose_delay_option"})  # fmt: skip
"""Messages that ask for nothing by themselves: saying them again is not a request rephrased."""
ACCEPT_PHRASES = frozenset({"转人工", "人工", "人工客服", "转接人工", "要人工", "好的转人工", "humanagent", "human",
                            "agent", "yes", "yesplease", "ok"})  # fmt: skip
"""Replies to an offer of a person that take it (normalised like :func:`similar`), besides affirm/request_human."""
DECLINE_PHRASES = frozenset({"不用了继续", "继续", "继续吧", "不用", "不用了", "不用转人工", "不转人工", "不转",
                             "nothankscontinue", "continue", "nothanks", "no", "keepgoing", "notnow"})  # fmt: skip
"""Replies to an offer of a person that turn it down, besides deny. The offer's buttons send 转人工 / 不用了，继续."""
SIMILAR = 0.8
"""Character-bigram Dice similarity at or above which two messages are the same question."""
_NOISE = re.compile(r"[\s\W_]+", re.UNICODE)


@dataclass(frozen=True)
class Trigger:
    """Why a conversation goes to a human, and the level of its ticket.

    ``offer``: ask the customer first whether they want a person (buttons 转人工 / 继续),
    instead of handing over at once.
    """

    reason: str
    level: int
    detail: str = ""
    offer: bool = False


@dataclass(frozen=True)
class Signals:
    """What the conversation shows, newest last.

    Attributes:
        intents: Intents of the customer's recent messages (``nlu_fallback`` included).
        texts: The customer's recent messages.
        anger: Anger score of the conversation, 0..1: the anger model's per-message scores
            through the lexicon's conversation rules (:func:`bot.handoff.anger.conversation_score`).
        legal_threat: Whether the customer threatened legal action.
        claim_reason: Reason code of the latest claim decision (``damage_above_cap``,
            ``damage_offer_rejected``…), if any.
        ticket_levels: Levels of the tickets open in this conversation.
        keys: What each message asks, aligned with ``intents``: the intent (an FAQ with its
            question, ``faq/outlet``) and the entity values, e.g. ``track_waybill SF1648547086646``.
            Empty: the intents alone.
        in_form: Whether a form was asking when each message came, aligned with ``intents``.
        since: Index of the first message of the current stretch: the loop rules look at
            ``intents[since:]`` (a person offered earlier and not taken ends a stretch).
        form_asks: The most times one form question was asked in the current stretch.
        offer: The person the bot offered in reply to the previous message, if it did.
        offered_before: A person was offered earlier in this stretch of the conversation
            (since the last hand-back) and not taken: a new loop hands over at once.
    """

    intents: Sequence[str | None] = ()
    texts: Sequence[str] = ()
    anger: float = 0.0
    legal_threat: bool = False
    claim_reason: str | None = None
    ticket_levels: Sequence[int] = ()
    keys: Sequence[str | None] = ()
    in_form: Sequence[bool] = ()
    since: int = 0
    form_asks: int = 0
    offer: Trigger | None = None
    offered_before: bool = False


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


def request_key(intent: str | None, entity_values: Sequence[object] = ()) -> str | None:
    """What a message asks, for spotting the same request rephrased: ``"track_waybill SF1648547086646"``.

    Args:
        intent: The intent, an FAQ with its question (``faq/outlet``).
        entity_values: Entity values (waybill numbers): case, spaces and dashes do not count.
    """
    if not intent:
        return None
    values = sorted({re.sub(r"[\s\-]", "", str(value)).upper() for value in entity_values if value})
    return " ".join([intent, *values])


def fallbacks_in_a_row(intents: Sequence[str | None]) -> int:
    """How many of the latest messages in a row the bot could not act on (unclear or off-topic)."""
    count = 0
    for intent in reversed(intents):
        if intent not in FALLBACK_INTENTS:
            break
        count += 1
    return count


def same_request_in_a_row(keys: Sequence[str | None]) -> int:
    """How many of the latest messages in a row ask the same thing (same intent, same entities).

    Messages that ask for nothing by themselves (:data:`NO_REQUEST_INTENTS`) and unclear
    ones (:data:`FALLBACK_INTENTS`) are never a request rephrased.
    """
    if not keys or not keys[-1] or keys[-1].split(" ")[0] in NO_REQUEST_INTENTS | FALLBACK_INTENTS:
        return 0
    count = 0
    for key in reversed(keys):
        if key != keys[-1]:
            break
        count += 1
    return count


def offer_answer(text: str, intent: str | None) -> str | None:
    """``"accept"`` or ``"decline"`` for a reply to an offer of a person, else ``None``."""
    key = _key(text)
    if key in DECLINE_PHRASES or (intent == "deny" and key not in ACCEPT_PHRASES):
        return "decline"
    if key in ACCEPT_PHRASES or intent in ("affirm", "request_human"):
        return "accept"
    return None


@dataclass(frozen=True)
class _Stretch:
    """The current stretch of the conversation (``signals.since`` on), lists aligned, newest last."""

    intents: list[str | None]
    texts: list[str]
    keys: list[str | None]
    in_form: list[bool]

    @classmethod
    def of(cls, signals: Signals) -> _Stretch:
        size = max(len(signals.intents), len(signals.texts))

        def aligned(values: Sequence[Any], empty: Any) -> list[Any]:
            return [empty] * (size - len(values)) + list(values)[-size:] if size else []

        intents = aligned(signals.intents, None)
        keys = aligned(signals.keys, None) if signals.keys else list(intents)
        since = min(max(signals.since, 0), size)
        return cls(intents[since:], aligned(signals.texts, "")[since:], keys[since:],
                   aligned(signals.in_form, False)[since:])  # fmt: skip

    def repeats_itself(self) -> bool:
        """Whether the latest message asks what an earlier one in the stretch asked (or says nothing clear)."""
        latest = self.intents[-1]
        if latest in FALLBACK_INTENTS:
            return True
        again = self.keys[-1] is not None and self.keys[-1] in self.keys[:-1] and latest not in NO_REQUEST_INTENTS
        return again or times_asked(self.texts) >= 2


def _stuck(stretch: _Stretch, form_asks: int, times: int) -> str | None:
    """Why the stretch makes no progress (the ticket's detail), or ``None``."""
    if stretch.intents[-1] not in NO_REQUEST_INTENTS:
        asked = times_asked(stretch.texts)
        if asked >= times:
            return f"same question {asked} times"
    requests = [None if form else key for key, form in zip(stretch.keys, stretch.in_form, strict=True)]
    rephrased = same_request_in_a_row(requests)
    if rephrased >= times:
        return f"same request {rephrased} times in a row: {stretch.keys[-1]}"
    if form_asks >= times and stretch.repeats_itself():
        return f"a question asked {form_asks} times, still not answered"
    return None


def loop_trigger(signals: Signals, policy: Policy) -> Trigger | None:
    """The conversation goes round in circles: offer a person, or hand over if already offered.

    * The bot offered a person in reply to the previous message (``signals.offer``):
      accepting hands over with the offer's reason; declining carries on; anything
      else that still makes no progress (unclear, off-topic, the same request again)
      hands over as ``stuck``, whatever its intent.
    * Otherwise, ``fallbacks_in_a_row`` unclear or off-topic messages in a row
      (``fallbacks``), or no progress (``stuck``): the same question asked
      ``same_question_times`` times, the same request (intent and entities) that many
      times in a row, or a form question asked that many times and still not answered.
      The first time a person is offered; after an offer that was not taken, the
      next loop hands over at once.

    Messages that come while a form is asking are left to the form's own re-ask limit
    (and break a streak: the form took them).
    """
    rules = policy.handoff
    levels = rules.levels
    stretch = _Stretch.of(signals)
    if not stretch.intents:
        return None
    offer = signals.offer
    if offer is not None:
        answer = offer_answer(stretch.texts[-1], stretch.intents[-1])
        if answer == "accept":
            detail = "; ".join(part for part in (offer.detail, "accepted the offer of a person") if part)
            return Trigger(offer.reason, offer.level, detail)
        if answer is None and stretch.repeats_itself():
            return Trigger("stuck", levels["stuck"], f"no progress after the offer of a person ({offer.reason})")
        return None
    if stretch.in_form[-1]:
        return None
    found = None
    taken = zip(stretch.intents, stretch.in_form, strict=True)
    misses = fallbacks_in_a_row(["form" if form else intent for intent, form in taken])
    if misses >= rules.fallbacks_in_a_row:
        found = Trigger("fallbacks", levels["fallbacks"], f"{misses} in a row")
    else:
        stuck = _stuck(stretch, signals.form_asks, rules.same_question_times)
        if stuck:
            found = Trigger("stuck", levels["stuck"], stuck)
    if found is None or signals.offered_before:
        return found
    return replace(found, offer=True)


def find_triggers(signals: Signals, policy: Policy) -> list[Trigger]:
    """Every reason the conversation should go to a human now, most urgent first.

    Args:
        signals: What the conversation shows.
        policy: The service policy (its ``handoff`` section).

    Returns:
        Triggers ordered by level, hand-overs before offers, then by
        :data:`bot.policy.model.HANDOFF_REASONS`.
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
    loop = loop_trigger(signals, policy)
    if loop is not None:
        found.append(loop)
    if signals.intents and signals.intents[-1] in EXPLICIT_INTENTS:
        found.append(Trigger("explicit_request", levels["explicit_request"]))
    return sorted(found, key=lambda t: (t.level, t.offer, HANDOFF_REASONS.index(t.reason)))


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
