"""Suggest which of the customer's *own* waybills a mistyped number meant.

Only the numbers handed in are considered (the same customer's recent
shipments, already known to the conversation); no store is ever consulted, so
a typo can never reveal somebody else's parcel.
"""

from __future__ import annotations

import re
from typing import Sequence

from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

MAX_DISTANCE = 2
"""Largest edit distance (insertions, deletions, substitutions) accepted."""

MIN_LENGTH = 8
"""Shorter inputs are too short for a distance of 2 to mean anything."""


def _fold(number: str) -> str:
    return re.sub(r"[\s-]", "", number).upper()


def carrier_prefix(number: str) -> str:
    """Return the part of a number that names its carrier family.

    The leading letters (``SF``, ``JD``, ``YT``, ``DPK``, ``EA`` …) or, for
    all-digit numbers, the first digit (``7`` ZTO/STO, ``3``/``4`` Yunda, …).

    Args:
        number: A normalised waybill number.

    Returns:
        The prefix, empty for an empty number.
    """
    letters = re.match(r"[A-Z]+", number)
    return letters.group(0) if letters else number[:1]


def suggest_own_number(typed: str, own_numbers: Sequence[str]) -> str | None:
    """Return the customer's own number that ``typed`` most likely meant.

    Args:
        typed: The number as typed (normalised here: upper case, no spaces).
        own_numbers: The customer's own recent waybill numbers.

    Returns:
        The single closest own number with the same carrier prefix and an edit
        distance of at most :data:`MAX_DISTANCE`; ``None`` when there is none,
        when two numbers are equally close, or when ``typed`` is too short.
        An exact match returns that number.
    """
    folded = _fold(typed)
    if len(folded) < MIN_LENGTH:
        return None
    prefix = carrier_prefix(folded)
    originals = {_fold(n): n for n in own_numbers}
    candidates = sorted(n for n in originals if carrier_prefix(n) == prefix)
    if not candidates:
        return None
    hits = process.extract(folded, candidates, scorer=Levenshtein.distance, score_cutoff=MAX_DISTANCE, limit=2)
    if not hits:
        return None
    if len(hits) > 1 and hits[1][1] == hits[0][1]:
        return None  # ambiguous: do not guess between two own parcels
    return originals[hits[0][0]]
