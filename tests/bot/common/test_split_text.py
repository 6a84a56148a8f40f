"""bot.common.text_split: one splitter, each channel's measure (Telegram UTF-16 units, WeChat UTF-8 bytes)."""

from __future__ import annotations

import pytest

from bot.common.text_split import characters, split_text, utf8_bytes, utf16_units
from connectors.telegram.support import MAX_TEXT_UNITS
from connectors.wechat.api import MAX_TEXT_BYTES


@pytest.mark.parametrize(
    ("text", "utf16", "utf8", "chars"),
    [("", 0, 0, 0), ("abc", 3, 3, 3), ("包裹", 2, 6, 2), ("📦", 2, 4, 1), ("a📦包", 4, 8, 3)],
)
def test_measures(text: str, utf16: int, utf8: int, chars: int) -> None:
    assert (utf16_units(text), utf8_bytes(text), characters(text)) == (utf16, utf8, chars)


def test_long_replies_are_split_under_the_byte_limit() -> None:  # moved from test_wechat_channel.py
    text = "\n".join(f"第{n}行：包裹已到达转运中心，正在分拣。" for n in range(200))
    pieces = split_text(text, MAX_TEXT_BYTES, utf8_bytes)
    assert MAX_TEXT_BYTES == 2000
    assert len(pieces) > 1
    assert all(len(p.encode()) <= 2000 for p in pieces)
    assert "\n".join(pieces) == text


def test_telegram_counts_utf16_units_and_never_cuts_a_surrogate_pair() -> None:
    assert MAX_TEXT_UNITS == 4096
    text = "📦" * 3000  # 6000 UTF-16 units, no line break: cut at the limit itself
    pieces = split_text(text, MAX_TEXT_UNITS, utf16_units)
    assert [utf16_units(p) for p in pieces] == [4096, 6000 - 4096]
    assert "".join(pieces) == text
    odd = "a" + "📦" * 3000  # the pair that would straddle the limit moves to the next piece whole
    pieces = split_text(odd, MAX_TEXT_UNITS, utf16_units)
    assert [utf16_units(p) for p in pieces] == [4095, 6001 - 4095] and "".join(pieces) == odd


def test_a_text_that_fits_is_sent_as_it_is_and_blank_text_not_at_all() -> None:
    assert split_text("  您好\n", 10, characters) == ["  您好\n"]
    assert split_text("   \n ", 10, characters) == []
    assert split_text("", 10, characters) == []


def test_cuts_at_the_last_line_break_that_fits_and_drops_blank_pieces() -> None:
    text = "line one\nline two\n\n\n\n\nthree"
    assert split_text(text, 12, characters) == ["line one", "line two", "three"]
    assert split_text("abcdefghij\nk", 4, characters) == ["abcd", "efgh", "ij\nk"]  # the rest fits whole


def test_multibyte_characters_at_the_edge_never_push_a_piece_over_the_limit() -> None:
    text = "\n" + "包" * 3 + "📦" + "包" * 20  # bytes: 1, 9, then 4 that do not fit in 10 with them
    pieces = split_text(text, 10, utf8_bytes)
    assert all(utf8_bytes(p) <= 10 for p in pieces) and "".join(pieces) == text.strip()


def test_a_limit_narrower_than_one_character_is_an_error() -> None:
    with pytest.raises(ValueError, match="narrower"):
        split_text("📦📦", 3, utf8_bytes)
