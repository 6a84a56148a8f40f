"""Reading a claim answer: the customer's free text turned into a slot value, or ``None``.

Plain Python, no Rasa. Each ``parse_*`` reads one question's answer in the customer's own
words (through :mod:`bot.common.answers`), whatever intent NLU gave the message; ``None``
means the reply answers nothing and the question is asked again.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from bot.common import answers

PARTS = ("outer", "contents", "both")
"""What can be damaged: the outer packaging, the contents, or both."""

MAX_DESCRIPTION = 500
"""Longest description kept (characters)."""
_SHORT_QUESTION = 12
"""A reply this short that only asks something back is not a description."""

TOPICS = {
    "claim_packaging_kept": answers.KEPT,
    "claim_confirmed": answers.CONFIRM,
    "claim_offer_accepted": answers.ACCEPT,
}
"""What each yes/no question is about, so "还留着" / "没问题" / "太少了" are read in context."""


def is_stop(text: str | None) -> bool:
    """Whether the customer wants to stop the claim ("算了", "stop", "取消")."""
    return answers.is_stop(text)


def is_unsure(text: str | None) -> bool:
    """Whether the reply says "I don't know" (an answer, not a wish to stop)."""
    return answers.is_unsure(text)


def is_question(text: str | None) -> bool:
    """Whether the reply only asks something back ("什么意思？", "what?")."""
    return answers.is_question(text)


def parse_yes_no(text: str | None, topic: str = answers.ANY) -> bool | None:
    """A yes or no answer about ``topic`` (see :func:`bot.common.answers.read_yes_no`), or ``None``.

    "包装还留着", "没扔", "I kept it" are yes to :data:`bot.common.answers.KEPT`; "早扔了",
    "nope, threw it away", "不要了" are no; "不是", "不对", "不接受" are no and
    "没问题", "不错" yes whatever the topic.
    """
    return answers.read_yes_no(text, topic)


def parse_part(text: str | None) -> str | None:
    """What is damaged: ``outer``, ``contents`` or ``both``; also the numbers 1/2/3."""
    return answers.read_part(text)


def parse_description(text: str | None) -> str | None:
    """The customer's description, whitespace collapsed; ``None`` when it says nothing (< 2 characters)."""
    norm = " ".join((text or "").split())  # the customer's own words, not NFKC-folded
    if len(norm) < 2 or is_stop(norm) or (len(norm) <= _SHORT_QUESTION and is_question(norm)):
        return None  # nothing, "stop", or a question back ("什么意思？", "what?")
    return norm[:MAX_DESCRIPTION]


def parse_extent(text: str | None) -> str | None:
    """How bad the damage is, as a slot value.

    Returns:
        ``"share:0.3000"`` for a damaged share, ``"repair:350.00"`` for a repair
        estimate in yuan, ``"unknown"`` when the customer cannot say, or ``None``
        when the reply holds none of these (see :func:`bot.common.answers.read_extent`).
    """
    return answers.read_extent(text)


def split_extent(value: str | None) -> tuple[Decimal | None, Decimal | None]:
    """Turn a slot value from :func:`parse_extent` into ``(damaged_share, repair_estimate)``."""
    if not value or ":" not in value:
        return None, None
    kind, _, number = value.partition(":")
    try:
        amount = Decimal(number)
    except ArithmeticError:
        return None, None
    if kind == "share" and Decimal(0) <= amount <= 1:
        return amount, None
    if kind == "repair" and amount >= 0:
        return None, amount
    return None, None


def parse_value(text: str | None) -> Decimal | None:
    """The goods' value in yuan ("两千块", "2,000元", "两千出头", "around 2k"); ``None`` if absent or 0."""
    return answers.read_amount(text)


def parse_value_slot(text: str | None) -> str | None:
    """:func:`parse_value` as the ``claim_value`` slot keeps it: a string (money is never a float)."""
    value = parse_value(text)
    return None if value is None else str(value)


def parse_yes_no_for(slot: str) -> Callable[[str | None], bool | None]:
    """The yes/no reader of a claim question (``claim_packaging_kept``, ``claim_confirmed``, ...)."""
    topic = TOPICS[slot]
    return lambda text: parse_yes_no(text, topic)
