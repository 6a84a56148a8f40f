"""Masking personal data in text that people other than the customer read (summaries, tickets).

:func:`mask_phones` turns Chinese mobile numbers into the shape the demo data already
uses (``138****5678``), however they were typed: with spaces or dashes, in full-width
digits, with ``+86``/``0086``/``86`` in front. Landlines, 400/800 hotlines, waybill
numbers and amounts are left alone.
"""

from __future__ import annotations

import re
import unicodedata

_SEP = r"[ \-\u00a0\u3000]?"
_MOBILE = re.compile(
    r"(?<![0-9A-Za-z])"
    r"(?:(?:\+|00)?86" + _SEP + r")?"
    r"(1[3-9][0-9])" + _SEP + r"([0-9]{4})" + _SEP + r"([0-9]{4})"
    r"(?![0-9])"
)


def _fold_digits(text: str) -> str:
    """Full-width digits and plus signs to ASCII, one character for one (positions unchanged)."""
    return "".join(unicodedata.normalize("NFKC", ch) if ch in "０１２３４５６７８９＋" else ch for ch in text)


def mask_phones(text: str) -> str:
    """``text`` with every Chinese mobile number masked to ``1xx****xxxx``.

    Args:
        text: Free text (a summary, a ticket note, a transcript line).

    Returns:
        The same text; each mobile (and any country code before it) replaced by
        its first three and last four digits around ``****``.
    """
    if not text:
        return text
    folded = _fold_digits(text)
    out: list[str] = []
    last = 0
    for found in _MOBILE.finditer(folded):
        out.append(text[last : found.start()])
        out.append(f"{found.group(1)}****{found.group(3)}")
        last = found.end()
    out.append(text[last:])
    return "".join(out)
