"""Recognising waybill (tracking) numbers in what customers type.

Long because: the layout tables and the tokeniser that joins and trims pieces are tuned together.

Chinese carriers print numbers without check digits, so their layouts are
heuristics and an all-digit number often fits several carriers: every candidate is
returned, most likely first. International layouts (UPS, FedEx, DHL, USPS, UPU S10)
live in :mod:`bot.tracking.waybill_intl` and are checked with their check digits.

Customers type numbers in many ways, and all of these are understood: full-width
characters (``ＳＦ１２３…``), lower case, spaces or dashes inside the number
(``SF 1234-5678-9012 3``), and the letter O typed for 0 or I/l typed for 1 in
places where the layout requires a digit. Other numbers in the same message are
kept out: Chinese mobile numbers (``1[3-9]`` and nine more digits, with or without
``86``), landlines typed with their area code (``021-62345678``), 400/800 service
hotlines (``400-811-1111``) and the assistant's own ticket numbers
(``TK-20261123-0042``) are never waybills; no number is cut out of a
dash-joined identifier such as an order number (``112-1234567-1234567``); stray
digits typed next to a Chinese carrier's number are not joined to it
(``77999759850677 2件``); and digits typed straight before a Chinese date or counter
word belong to that word (``SF127327544379211月18日`` holds ``SF1273275443792``).

:func:`find_waybills` is what the NLU pipeline uses: the span it reports (``raw``,
``start``, ``end``) is exactly how the entity is annotated in the training data.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from bot.tracking.waybill_intl import DIGITS, INTL_FORMATS, LETTERS, NumberFormat, make_format

CARRIERS: dict[str, tuple[str, str]] = {
    "SF": ("顺丰速运", "SF Express"),
    "JD": ("京东物流", "JD Logistics"),
    "YTO": ("圆通速递", "YTO Express"),
    "ZTO": ("中通快递", "ZTO Express"),
    "STO": ("申通快递", "STO Express"),
    "YUNDA": ("韵达快递", "Yunda Express"),
    "EMS": ("中国邮政EMS", "China Post EMS"),
    "JT": ("极兔速递", "J&T Express"),
    "DEPPON": ("德邦快递", "Deppon Express"),
    "CAINIAO": ("菜鸟", "Cainiao"),
    "YUNEXPRESS": ("云途物流", "YunExpress"),
    "S10": ("国际邮政挂号件", "International Post (UPU S10)"),
    "UPS": ("UPS快递", "UPS"),
    "FEDEX": ("联邦快递", "FedEx"),
    "DHL": ("DHL快递", "DHL"),
    "USPS": ("美国邮政", "USPS"),
}
"""Carrier code -> (Chinese name, English name)."""

_CHINA_FORMATS: tuple[NumberFormat, ...] = (
    make_format("sf", "SF", r"SF[0-9]{12,13}", (14, 15), "S", fixes=((2, 0),)),
    make_format("jd", "JD", r"JD[A-Z0-9]{2}[0-9]{11}", (15, 15), "J", fixes=((4, 0),)),
    make_format("yto", "YTO", r"YT[0-9]{13}", (15, 15), "Y", fixes=((2, 0),)),
    make_format("yunexpress", "YUNEXPRESS", r"YT[0-9]{16}", (18, 18), "Y", fixes=((2, 0),)),
    make_format("jt", "JT", r"JT[0-9]{13}", (15, 15), "J", fixes=((2, 0),)),
    make_format("deppon", "DEPPON", r"DPK[0-9]{12}", (15, 15), "D", fixes=((3, 0),)),
    make_format("ems_p", "EMS", r"P[A-Z][0-9]{11}", (13, 13), "P", fixes=((2, 0),)),
    # All-digit layouts overlap: the more specific prefix comes first.
    make_format("zto", "ZTO", r"7[3-68][0-9]{12}", (14, 14), "7"),
    make_format("sto", "STO", r"(?:77|43)[0-9]{12,15}", (14, 17), "74"),
    make_format("cainiao", "CAINIAO", r"621[0-9]{12}", (15, 15), "6"),
    make_format("yunda", "YUNDA", r"[34][0-9]{14}|5[0-9]{12}", (13, 15), "345"),
    make_format("ems", "EMS", r"[981][0-9]{12}", (13, 13), "981"),
)

_FORMATS: tuple[NumberFormat, ...] = _CHINA_FORMATS + INTL_FORMATS
"""Every layout, in the order carriers are offered (Chinese carriers first)."""

MIN_LENGTH = 10
"""Shorter numbers are never waybills (too easy to confuse with other numbers)."""

MAX_LENGTH = max(fmt.max_len for fmt in _FORMATS)
"""Longest waybill number of any layout, after normalisation."""

_BUCKETS: dict[tuple[int, str], tuple[NumberFormat, ...]] = {
    (length, first): tuple(fmt for fmt in _FORMATS if fmt.min_len <= length <= fmt.max_len and first in fmt.first)
    for length in range(MIN_LENGTH, MAX_LENGTH + 1)
    for first in DIGITS + LETTERS
}
"""Layouts that can match a number, by (length, first character)."""

_STARTS = frozenset(key for key, formats in _BUCKETS.items() if formats) | {
    (length, letter) for length in range(MIN_LENGTH, MAX_LENGTH + 1) for letter in "OIL"
}
"""(length, first character) pairs some layout may match, O/I/L read as digits included."""

_STRICT_STARTS = frozenset(key for key, formats in _BUCKETS.items() if any(not fmt.loose for fmt in formats)) | {
    (length, letter) for length in range(MIN_LENGTH, MAX_LENGTH + 1) for letter in "OIL"
}
"""The same pairs, for layouts other than the loose ones."""

_PHONE = re.compile(r"(?:0086|86)?1[3-9][0-9]{9}|[48]00[0-9]{7}")
"""A Chinese mobile number (optionally with the country code) or a 400/800 service
hotline (``400-811-1111``, ten digits): never a waybill."""

_PHONE_LENGTHS = (10, 11, 13, 15)

_DOMESTIC = frozenset(_CHINA_FORMATS)
"""Layouts of Chinese carriers: a piece of digits that fits one is a number on its own."""

_DOMESTIC_MIN_LENGTH = min(fmt.min_len for fmt in _CHINA_FORMATS)

_TICKET = re.compile(r"(?<![0-9A-Za-z])TK[-\uff0d][0-9]{8}[-\uff0d][0-9]{4,}(?![0-9A-Za-z])", re.IGNORECASE)
"""The assistant's own ticket numbers (``TK-20261123-0042``, see ``bot.tickets``): never waybills."""

_UNITS = "年月日号號点點时時分秒元块塊件个個天周週次箱"
"""Chinese date and counter words that customers type straight after a number."""

_MAX_LEFT_OFF = 2
"""A dash-joined group of digits is cut only to leave off this many characters or fewer
(a parcel counter as in ``JDVA…-1-1``)."""

_MISTYPED_DIGITS = str.maketrans("OIL", "011")
_MAX_FIXES = 4
"""At most this many O/I/L letters are read as digits in one number."""

_MAX_OIL = _MAX_FIXES + 4
"""More O/I/L letters than this make a word, not a mistyped number (S10 and JD keep 4 letters)."""

_FIXES = tuple(dict.fromkeys(fix for fmt in _FORMATS for fix in fmt.fixes))
"""Every way of correcting O/I/L that some layout allows, in layout order."""

_STRIP = re.compile(r"[\s\-_\u2010-\u2015\u2212]+")
_TOKEN = re.compile(r"[0-9A-Za-z\uff10-\uff19\uff21-\uff3a\uff41-\uff5a]+")
_GAP_CHARS = " \t\u00a0\u3000"
_GAP = f"[{_GAP_CHARS}]"
_JOINER = re.compile(rf"{_GAP}{{1,3}}|{_GAP}?[-_\u2010-\u2015\u2212\uff0d\uff3f]{_GAP}?")
"""What may separate two groups of one number: up to three spaces, or one dash."""


@dataclass(frozen=True)
class WaybillMatch:
    """A waybill number found in a message.

    Attributes:
        raw: The number exactly as typed: ``text[start:end]``. It starts at the
            first character of the number and ends at its last, keeping spaces or
            dashes typed inside it.
        start: Offset of ``raw`` in the message.
        end: Offset just past ``raw``.
        number: Normalised number: upper-case ASCII without spaces or dashes, with
            O/I/l corrected to 0/1 where the layout requires a digit.
        carriers: Candidate carrier codes (keys of :data:`CARRIERS`), most likely
            first; never empty.
    """

    raw: str
    start: int
    end: int
    number: str
    carriers: tuple[str, ...]


def normalise(raw: str) -> str:
    """Normalise a number as typed: full-width to ASCII, upper case, no separators.

    Spaces, dashes and underscores are removed. Letters typed for digits (O for 0,
    I/l for 1) are *not* corrected here, since only a layout knows where a digit is.

    Args:
        raw: Text of one number, e.g. ``"ｓｆ 1234-5678"``.

    Returns:
        The normalised text, e.g. ``"SF12345678"``.
    """
    if not isinstance(raw, str):
        return ""
    return _STRIP.sub("", unicodedata.normalize("NFKC", raw).upper())


def carriers_for(number: str) -> tuple[str, ...]:
    """List the carriers whose layout an already-normalised number fits.

    This is a pure check of the given string: it neither normalises it nor
    corrects letters typed for digits (use :func:`normalise` first). Chinese
    mobile numbers and anything shorter than :data:`MIN_LENGTH` are never waybills.

    Args:
        number: Normalised number, e.g. ``"SF1234567890123"``.

    Returns:
        Candidate carrier codes, most likely first; empty if it is not a waybill.
    """
    if not isinstance(number, str):
        return ()
    return _codes(_formats_for(number))


def find_waybills(text: str) -> list[WaybillMatch]:
    """Find every waybill number in a free-text message.

    The message is cut into runs of letters and digits (ASCII or full-width) that
    may be joined by up to three spaces or one dash; Chinese characters, line
    breaks and other punctuation end a run. In each run the longest group of
    consecutive pieces that forms a waybill number wins, then the search goes on
    after it. A piece never gets split, so no number is taken from the middle of
    a longer run of digits, and letters typed next to a number stay out of it.

    Args:
        text: The customer's message; any string is accepted.

    Returns:
        The numbers in the order they appear, each normalised number only once.
    """
    if not isinstance(text, str) or not text:
        return []
    found: list[WaybillMatch] = []
    seen: set[str] = set()
    for run in _runs(text):
        for start, end, number, formats in _scan_run(run):
            if number not in seen:
                seen.add(number)
                found.append(WaybillMatch(text[start:end], start, end, number, _codes(formats)))
    return found


def is_waybill(text: str) -> bool:
    """Tell whether a whole message (stripped) is exactly one waybill number.

    Args:
        text: The customer's message.

    Returns:
        True if the stripped text is one waybill number and nothing else.
    """
    if not isinstance(text, str):
        return False
    stripped = text.strip()
    matches = find_waybills(stripped)
    return len(matches) == 1 and matches[0].start == 0 and matches[0].end == len(stripped)


# --- matching a normalised number -----------------------------------------------------


def _codes(formats: tuple[NumberFormat, ...]) -> tuple[str, ...]:
    """Carrier codes of some layouts, without repeats, in layout order."""
    return tuple(dict.fromkeys(fmt.carrier for fmt in formats))


def _formats_for(number: str) -> tuple[NumberFormat, ...]:
    """Layouts a normalised number fits exactly (no O/I correction)."""
    if not MIN_LENGTH <= len(number) <= MAX_LENGTH or _PHONE.fullmatch(number):
        return ()
    return tuple(fmt for fmt in _BUCKETS.get((len(number), number[0]), ()) if fmt.accepts(number))


def _fix_digits(number: str, lead: int, tail: int) -> str | None:
    """Read O/I/L as 0/1 between ``lead`` and ``tail`` kept characters.

    Returns:
        The corrected number, or ``None`` if nothing changed, the corrected part
        is not all digits, or too many letters would have to be corrected.
    """
    end = len(number) - tail
    if lead >= end:
        return None
    part = number[lead:end]
    letters = part.count("O") + part.count("I") + part.count("L")
    if not 0 < letters <= _MAX_FIXES:
        return None
    fixed = part.translate(_MISTYPED_DIGITS)
    if not (fixed.isascii() and fixed.isdigit()):
        return None
    return number[:lead] + fixed + number[end:]


@lru_cache(maxsize=4096)
def _analyse(number: str) -> tuple[str, tuple[NumberFormat, ...]]:
    """Match a normalised number, correcting O/I/L typed for digits if needed.

    Returns:
        The (possibly corrected) number and the layouts it fits; the layouts are
        empty when it is no waybill number.
    """
    formats = _formats_for(number)
    if formats or not MIN_LENGTH <= len(number) <= MAX_LENGTH:
        return number, formats
    if not 0 < sum(map(number.count, "OIL")) <= _MAX_OIL:
        return number, ()  # nothing to correct, or too many letters to be a typo
    for fix in _FIXES:
        fixed = _fix_digits(number, *fix)
        if fixed is not None:
            formats = _formats_for(fixed)
            if any(fix in fmt.fixes for fmt in formats):
                return fixed, formats
    return number, ()


# --- scanning free text ---------------------------------------------------------------

_Token = tuple[int, int, str, bool]
"""One piece of a run: start offset, end offset, normalised text, and whether a dash
(rather than spaces) joins it to the previous piece."""

_Found = tuple[int, int, str, tuple[NumberFormat, ...]]
"""A number found in a run: start offset, end offset, number, layouts."""


def _runs(text: str) -> list[list[_Token]]:
    """Cut a message into runs of letter/digit pieces joined by spaces or dashes.

    Ticket numbers are left out, and end a run. A piece typed straight before a
    Chinese date or counter word loses the digits that belong to that word (see
    :func:`_unglue`).
    """
    runs: list[list[_Token]] = []
    current: list[_Token] = []
    tickets = [match.span() for match in _TICKET.finditer(text)] if "-" in text or "\uff0d" in text else []
    for match in _TOKEN.finditer(text):
        if any(start <= match.start() < end for start, end in tickets):
            if current:
                runs.append(current)
                current = []
            continue
        piece = match.group()
        if not piece.isascii():
            piece = unicodedata.normalize("NFKC", piece)
        piece = piece.upper()
        end = match.end()
        if end < len(text) and text[end] in _UNITS:
            glued = _unglue(piece, text[end])
            piece, end = piece[: len(piece) - glued], end - glued
        dashed = False
        if current:
            joiner = _JOINER.fullmatch(text, current[-1][1], match.start())
            if joiner is None:
                runs.append(current)
                current = []
            else:
                dashed = bool(joiner.group().strip(_GAP_CHARS))
        current.append((match.start(), end, piece, dashed))
    if current:
        runs.append(current)
    return runs


def _unglue(piece: str, unit: str) -> int:
    """How many final digits of ``piece`` belong to the date or counter word after it.

    ``SF127327544379211月18日`` is ``SF1273275443792`` sent in the 11th month: when a
    piece that starts with letters is no number as typed, its last one or two digits
    (four or two before 年, a year) are left to the word if the rest is a number of a
    layout with a letter prefix (SF, YT, JT, JD, DPK...). All-digit pieces are never
    cut: some cut of them may fit another layout by chance.

    Returns:
        The number of digits to leave off; 0 to keep the piece whole.
    """
    if not piece[:1].isalpha() or not piece[-1:].isdigit() or _analyse(piece)[1]:
        return 0
    for glued in (4, 2) if unit == "年" else (1, 2):
        if not piece[-glued:].isdigit():
            continue
        formats = _analyse(piece[:-glued])[1]
        if any(not fmt.loose for fmt in formats):
            return glued
    return 0


def _scan_run(tokens: list[_Token]) -> list[_Found]:
    """Find the numbers in one run, longest first, from left to right."""
    found: list[_Found] = []
    i = 0
    while i < len(tokens):
        best = None if _left_off_before(tokens, i) > _MAX_LEFT_OFF else _longest(tokens, i)
        trimmed = _trim_loose(tokens, i, *best) if best else None
        if trimmed is None:
            i += 1
            continue
        first, last, number, formats = trimmed
        found.append((tokens[first][0], tokens[last][1], number, formats))
        i = last + 1
    return found


def _joined(tokens: list[_Token], first: int, last: int) -> str:
    """Normalised text of the pieces ``first`` to ``last`` (inclusive)."""
    return "".join(token[2] for token in tokens[first : last + 1])


def _longest(tokens: list[_Token], first: int) -> tuple[int, str, tuple[NumberFormat, ...]] | None:
    """Longest group of pieces starting at ``first`` that is a waybill number.

    Returns:
        Index of the group's last piece, the number and its layouts, or ``None``.
    """
    pieces: list[str] = []
    ends: list[int] = []  # length of the joined text after each piece
    word_at = 0  # index of the first word (letters only) after the first piece
    total = 0
    for last in range(first, len(tokens)):
        piece = tokens[last][2]
        total += len(piece)
        if total > MAX_LENGTH:
            break
        if not word_at and last > first and piece.isalpha():
            word_at = last - first
        pieces.append(piece)
        ends.append(total)
    text = "".join(pieces)
    for count in range(len(ends), 0, -1):
        size = ends[count - 1]
        if size < MIN_LENGTH:
            break
        with_word = 0 < word_at < count
        if (size, text[0]) not in (_STRICT_STARTS if with_word else _STARTS):
            continue  # no layout of this length starts with this character
        last = first + count - 1
        if _left_off_after(tokens, last) > _MAX_LEFT_OFF:
            continue  # the number would end inside a dash-joined group of digits
        candidate = text[:size]
        if (
            count > 1
            and candidate.isdigit()
            and (
                _holds_phone(candidate, ends[:count])
                or _typed_as_landline(tokens, first, last)
                or _holds_domestic(tokens, first, last)
            )
        ):
            continue
        number, formats = _analyse(candidate)
        if formats and with_word:
            # A word after the first piece: only a strict layout may contain it.
            formats = tuple(fmt for fmt in formats if not fmt.loose)
        if formats:
            return first + count - 1, number, formats
    return None


def _digit_junction(tokens: list[_Token], index: int) -> bool:
    """Tell whether piece ``index`` is joined to the previous one by a dash, digit to digit."""
    return (
        0 < index < len(tokens)
        and tokens[index][3]
        and tokens[index - 1][2][-1].isdigit()
        and tokens[index][2][0].isdigit()
    )


def _left_off_before(tokens: list[_Token], first: int) -> int:
    """Characters of a dash-joined group of digits left off when a number starts at ``first``.

    ``112-1234567-1234567`` is one identifier (an order number): no number starts at
    its second group. Zero when piece ``first`` does not continue such a group.
    """
    size = 0
    while _digit_junction(tokens, first):
        first -= 1
        size += len(tokens[first][2])
    return size


def _left_off_after(tokens: list[_Token], last: int) -> int:
    """Characters of a dash-joined group of digits left off when a number ends at ``last``."""
    size = 0
    while _digit_junction(tokens, last + 1):
        last += 1
        size += len(tokens[last][2])
    return size


def _typed_as_landline(tokens: list[_Token], first: int, last: int) -> bool:
    """Tell whether pieces ``first`` to ``last`` are a Chinese landline typed with its area code.

    ``021-62345678`` or ``0755 8600 1234``: an area code (0 and two or three more
    digits) typed apart, then seven or eight digits. Without the gap the number is
    left to the layouts (DHL Express and FedEx take 11 and 12 digits).
    """
    area = tokens[first][2]
    rest = _joined(tokens, first + 1, last)
    return last - first <= 2 and 3 <= len(area) <= 4 and area[0] == "0" and area[1] != "0" and 7 <= len(rest) <= 8


def _holds_domestic(tokens: list[_Token], first: int, last: int) -> bool:
    """Tell whether one of the pieces ``first`` to ``last`` is a Chinese carrier's number.

    A customer types ``77999759850677 2件`` or ``2026-11-23 78892822123917``: the
    14 digits are a number on their own, and joining the stray digits to them would
    make a different (and often valid-looking) number. Long numbers typed in groups,
    such as ``420 22153 9101026837331000039521``, are not affected: no Chinese layout
    is that long.
    """
    for token in tokens[first : last + 1]:
        piece = token[2]
        if len(piece) >= _DOMESTIC_MIN_LENGTH and piece.isdigit():
            if any(fmt in _DOMESTIC for fmt in _formats_for(piece)):
                return True
    return False


def _holds_phone(digits: str, ends: list[int]) -> bool:
    """Tell whether a mobile number is typed as its own group inside ``digits``.

    ``13812345678 2`` or ``138 1234 5678 2`` is a phone number and a stray digit,
    not a 12-digit number, so a group of digits whose first or last pieces are
    typed like a phone number (in at most four pieces of two digits or more) is
    refused. A number typed digit by digit is not mistaken for one.

    Args:
        digits: The joined digits of a group of pieces.
        ends: Offset in ``digits`` where each piece ends (the last is ``len(digits)``).
    """
    head = ends[:4]  # a phone number at the start ends within the first four pieces
    tail = ends[-5:-1]  # ... or, at the end, starts after one of the last four cuts
    for length in _PHONE_LENGTHS:
        if length in head:
            index = ends.index(length)
            if _typed_as_phone(digits[:length], ends[: index + 1], 0):
                return True
        cut = len(digits) - length
        if cut in tail:
            index = ends.index(cut)
            if _typed_as_phone(digits[cut:], ends[index + 1 :], cut):
                return True
    return False


def _typed_as_phone(digits: str, ends: list[int], offset: int) -> bool:
    """Tell whether pieces (ending at ``ends``, from ``offset``) read like a phone number."""
    if len(ends) > 4 or not _PHONE.fullmatch(digits):
        return False
    starts = [offset, *ends[:-1]]
    return all(end - start >= 2 for start, end in zip(starts, ends, strict=True))


def _trim_loose(
    tokens: list[_Token], first: int, last: int, number: str, formats: tuple[NumberFormat, ...]
) -> tuple[int, int, str, tuple[NumberFormat, ...]] | None:
    """Keep a broad layout from swallowing a word typed before a number.

    DHL eCommerce takes a two-letter prefix such as ``MY`` or ``IN`` and anything
    after it, so ``my 1234567890123`` would otherwise be one number. When only
    such layouts match and the group starts with a word, the word is dropped if
    the rest is a number (or a phone number) on its own.

    Returns:
        The (possibly narrowed) group with its number and layouts, or ``None``
        when what remains is a phone number.
    """
    while last > first and all(fmt.loose for fmt in formats) and tokens[first][2].isalpha():
        rest = _joined(tokens, first + 1, last)
        if _PHONE.fullmatch(rest):
            return None
        rest_number, rest_formats = _analyse(rest)
        if not rest_formats:
            break
        first, number, formats = first + 1, rest_number, rest_formats
    return first, last, number, formats
