"""Cleaning customer text before it reaches NLU, and telling its language.

Every channel calls :func:`prepare_customer_text` on what the customer typed, so the
rules are the same whether a message came over REST, WeChat or Telegram.
"""

from __future__ import annotations

import re
import unicodedata

from bot.tracking.waybill import find_waybills

MAX_MESSAGE_CHARS = 1000
"""Longest text handed to NLU; the rest is cut off (a 10,000-character paste still gets an answer).

NLU runs on the Rasa server's event loop and its cost grows faster than the length: a
2,000-character message held every other customer up for 0.3-0.5 s, a 1,000-character one
for about a tenth of a second (issue 11). A thousand characters is two screens of chat."""
PRE_CUT_FACTOR = 4
"""Text is cut to ``PRE_CUT_FACTOR * max_chars`` *before* the character-by-character cleaning, so the
work per message is bounded whatever a client sends (the rest could not reach NLU anyway)."""

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ebef]")
_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
_SPACES = re.compile(r"[ \t\u00a0\u3000]+")


def strip_control(text: str) -> str:
    """Remove control and format characters, keeping line breaks and emoji joiners.

    Args:
        text: Raw text as received from a channel.

    Returns:
        The text without C0/C1 control characters, bidi overrides or zero-width
        characters (ZWJ used inside emoji is kept).
    """
    out = []
    for ch in text:
        if ch in "\n\t" or ch == "\u200d":
            out.append(ch)
            continue
        category = unicodedata.category(ch)
        if category in ("Cc", "Cf", "Cs", "Co", "Cn"):
            continue
        out.append(ch)
    return "".join(out)


def neutralise_command(text: str) -> str:
    """Stop customer text from being read as a Rasa intent command.

    Rasa treats a message starting with ``/`` (after stripping) as ``/intent{...}``
    and runs it directly, so ``/restart`` typed by a customer would wipe the
    conversation. The leading slash becomes a full-width ``／``, which NLU reads as
    ordinary punctuation.

    Args:
        text: Customer text.

    Returns:
        The same text, with a leading ``/`` replaced.
    """
    stripped = text.lstrip()
    if stripped.startswith("/"):
        return "／" + stripped[1:]
    return text


def prepare_customer_text(text: str | None, max_chars: int = MAX_MESSAGE_CHARS) -> str:
    """Clean one customer message for NLU.

    Args:
        text: What the channel received (may be ``None``).
        max_chars: Longest text kept.

    Returns:
        Text without control characters, collapsed runs of spaces, cut to
        ``max_chars`` and never starting with ``/``; empty when nothing is left.
        The input is first cut to ``PRE_CUT_FACTOR * max_chars`` characters, so a
        30 MB paste costs no more than an 8,000-character one.
    """
    if not text:
        return ""
    cleaned = strip_control(str(text)[: max_chars * PRE_CUT_FACTOR])
    cleaned = _SPACES.sub(" ", cleaned).strip()
    cleaned = cleaned[:max_chars].strip()
    return neutralise_command(cleaned)


def detect_language(text: str, current: str | None = None) -> str:
    """Guess whether the customer writes Chinese or English.

    Any Chinese character makes it Chinese (customers mix in English words and
    numbers); Latin words without Chinese make it English; anything else
    (emoji, digits only, a bare waybill number) keeps the conversation's
    ``current`` language, or Chinese when there is none yet.

    Args:
        text: Customer text.
        current: The conversation's language so far, if any.

    Returns:
        ``"zh"`` or ``"en"``.
    """
    if _CJK.search(text or ""):
        return "zh"
    without_numbers = text or ""
    for match in reversed(find_waybills(without_numbers)):
        without_numbers = without_numbers[: match.start] + " " + without_numbers[match.end :]
    if _LATIN_WORD.search(without_numbers):
        return "en"
    return current if current in ("zh", "en") else "zh"
