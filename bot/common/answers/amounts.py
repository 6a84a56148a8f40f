"""Amounts and extents of damage in a reply (through :mod:`bot.common.money`)."""

from __future__ import annotations

import re
from decimal import Decimal

from bot.common.answers.reading import UNSURE, clauses, normalise
from bot.common.money import parse_amount, parse_share

_REPAIR = re.compile(r"修|repair|fix")
_MINOR = re.compile(
    r"一点点|一点儿|一丁点|轻微|稍微|不严重|小问题|(?:坏|破|碎|裂|凹|损|划)了?一点|"
    r"\b(?:a little|slightly|minor|a bit|barely|a scratch|scratched)\b"
)


def _stated(text: str | None) -> str:
    """The reply's statements, joined (questions back left out); numbers are not cut at commas."""
    return " ".join(clauses(normalise(text), polar=False))


def read_amount(text: str | None) -> Decimal | None:
    """An amount of money in yuan, above zero ("两千出头" is 2000, "around 2k", "not more than 500").

    Args:
        text: The customer's reply.

    Returns:
        The amount, or ``None`` for no amount, zero, or a question back
        ("多少合适？").
    """
    amount = parse_amount(_stated(text))
    return amount if amount is not None and amount > 0 else None


def read_extent(text: str | None) -> str | None:
    """How bad the damage is.

    Returns:
        ``"share:0.3000"`` for a damaged share ("三成", "about half", "七八成" is 0.7,
        "一点点" is 0.05), ``"repair:350.00"`` for a repair estimate or loss in yuan,
        ``"unknown"`` when the customer cannot say, or ``None`` when the reply holds
        none of these.
    """
    stated = _stated(text)
    if not stated:
        return None
    amount = parse_amount(stated)
    share = parse_share(stated)
    if share is None and amount is None and _MINOR.search(stated):
        share = Decimal("0.05")
    if amount is not None and (share is None or _REPAIR.search(stated)):
        return f"repair:{amount}"
    if share is not None:
        return f"share:{share.quantize(Decimal('0.0001'))}"
    if UNSURE.search(stated):
        return "unknown"
    return None
