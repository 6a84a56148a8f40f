"""Reading a reply to a claim question: an answer, "stop", another request, or nothing readable.

Plain Python, no Rasa. The customer's own words are read first, whatever intent NLU gave
them ("还在" classified as ``track_waybill`` still answers "kept?"); a reply that answers
nothing counts as a failed answer, and the third pauses the claim (:data:`MAX_ATTEMPTS`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any

from bot.claims import answers
from bot.tracking.waybill import find_waybills

MAX_ATTEMPTS = 3
"""Failed answers to one question before the claim pauses and a person is offered."""
INTERRUPTS = frozenset(
    {"faq", "check_ticket", "request_human", "goodbye", "track_waybill", "complain_delay", "report_missing"}
)
"""Intents that leave a question unanswered to the dialogue rules, when the reply answers nothing
and NLU is sure (or the reply asks something outright, or names a parcel)."""
STRONG_INTERRUPTS = frozenset({"faq", "check_ticket", "request_human", "goodbye"})
"""For free-text answers (the description), only these interrupt, and only when NLU is sure."""
INTERRUPT_CONFIDENCE = 0.8
"""How sure NLU must be of another request (or of a "no") for it to count without other signs."""


@dataclass(frozen=True)
class Reply:
    """The customer's latest message as NLU read it."""

    text: str
    intent: str | None = None
    confidence: float = 0.0


class Verdict(Enum):
    """What a reply to a claim question means."""

    ANSWER = "answer"
    """It answers the question (:attr:`Reading.value`)."""
    STOP = "stop"
    """The customer wants to stop: the claim pauses, the answers are kept."""
    ELSEWHERE = "elsewhere"
    """Another request (or a photo-only message): left to the dialogue rules."""
    UNREADABLE = "unreadable"
    """It answers nothing: one more failed answer."""


@dataclass(frozen=True)
class Reading:
    """A reply read as the answer to one question."""

    verdict: Verdict
    value: Any = None


def is_other_request(reply: Reply) -> bool:
    """Whether an unreadable reply is another request for the dialogue rules, not a failed answer."""
    if reply.intent not in INTERRUPTS:
        return False
    return (
        reply.confidence >= INTERRUPT_CONFIDENCE or answers.is_question(reply.text) or bool(find_waybills(reply.text))
    )


def read_answer(slot: str, reply: Reply, parse: Callable[[str], Any]) -> Reading:
    """Read ``reply`` as the answer to ``slot``: its own words first, whatever the intent.

    "还在" classified as ``track_waybill`` still answers "kept?". A free-text question
    (the description) gives way only to another request NLU is sure of.
    """
    if reply.intent == "send_photo":
        return Reading(Verdict.ELSEWHERE)
    strong = reply.intent in STRONG_INTERRUPTS and reply.confidence >= INTERRUPT_CONFIDENCE
    if slot == "claim_description" and strong:
        return Reading(Verdict.ELSEWHERE)
    value = parse(reply.text)
    if value is not None:
        return Reading(Verdict.ANSWER, value)
    if answers.is_stop(reply.text):
        return Reading(Verdict.STOP)
    sure_no = reply.intent == "deny" and reply.confidence >= INTERRUPT_CONFIDENCE
    if sure_no and not answers.is_unsure(reply.text):
        return Reading(Verdict.STOP)
    if is_other_request(reply):
        return Reading(Verdict.ELSEWHERE)
    return Reading(Verdict.UNREADABLE)


def read_without_photo(reply: Reply) -> Verdict:
    """A message with no photo while photos are asked for: stop, another request, or unreadable."""
    if answers.is_stop(reply.text) or (reply.intent == "deny" and not answers.is_unsure(reply.text)):
        return Verdict.STOP
    if is_other_request(reply):
        return Verdict.ELSEWHERE
    return Verdict.UNREADABLE


def failed_once_more(attempts: int | None) -> tuple[int, bool]:
    """The failed-answer count after one more, and whether that is the last (the claim pauses)."""
    count = int(attempts or 0) + 1
    return count, count >= MAX_ATTEMPTS


def asked_last_time(attempts: int | None) -> bool:
    """Whether a question asked again now is asked for the last time (a person is offered too)."""
    return int(attempts or 0) >= MAX_ATTEMPTS - 1


def resumes(waybill: str | None, text: str) -> bool:
    """Whether "继续理赔" goes on with the paused claim of ``waybill`` (no other parcel named)."""
    mentioned = [match.number for match in find_waybills(text)]
    return bool(waybill) and (not mentioned or waybill in mentioned)
