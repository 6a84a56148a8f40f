"""Cutting a reply into messages a channel accepts, each channel counting length its own way.

Telegram counts UTF-16 code units (4096 per message), WeChat's customer-service API UTF-8
bytes (2048; we send at most 2000). :func:`split_text` takes the limit and the
:data:`Measure` and applies one rule for every channel: a text that fits is sent as it is;
a longer one is cut at the last line break that keeps the piece within the limit (or, in a
line longer than the limit, at the limit itself), and pieces lose the whitespace around
the cut. Blank pieces are dropped.
"""

from __future__ import annotations

from typing import Callable

Measure = Callable[[str], int]
"""The length of a string in a channel's unit."""


def utf16_units(text: str) -> int:
    """Length in UTF-16 code units (Telegram's measure: a character outside the BMP counts 2)."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def utf8_bytes(text: str) -> int:
    """Length in UTF-8 bytes (WeChat's measure)."""
    return len(text.encode("utf-8"))


def characters(text: str) -> int:
    """Length in code points."""
    return len(text)


def split_text(text: str, limit: int, measure: Measure) -> list[str]:
    """Cut ``text`` into pieces of at most ``limit`` (in ``measure``'s unit), at line breaks where possible.

    Args:
        text: The reply.
        limit: Largest piece; at least the width of any single character.
        measure: :func:`utf16_units`, :func:`utf8_bytes`, :func:`characters` or any such function.

    Returns:
        The non-blank pieces, in order; ``[text]`` unchanged when it fits.

    Raises:
        ValueError: ``limit`` is smaller than one character of ``text``.
    """
    if measure(text) <= limit:
        return [text] if text.strip() else []
    pieces: list[str] = []
    start = 0
    while start < len(text):
        size, end, last_break = 0, start, -1
        while end < len(text):
            width = measure(text[end])
            if size + width > limit:
                break
            if text[end] == "\n":
                last_break = end
            size += width
            end += 1
        if end == start:
            raise ValueError(f"limit {limit} is narrower than one character")
        if end < len(text) and last_break >= start:
            end = last_break + 1  # keep whole lines together
        pieces.append(text[start:end])
        start = end
    return [piece.strip() for piece in pieces if piece.strip()]
