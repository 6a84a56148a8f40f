"""Reading amounts of money and damaged shares from what customers type.

Customers write amounts as Arabic numbers (``2,000元``, ``¥2000``, ``￥1999.5``,
``RMB 300``, ``300 yuan``, full-width ``３００``), with a multiplier (``2k``, ``1.5万``,
``5w``, ``2千``), in Chinese numerals (``三百八十元``, ``一千零五``) or colloquially with
the last unit left out (``两千五`` = 2500, ``一万二`` = 12000, ``三块五`` = 3.5).

Approximate answers give the amount they name: ``两千出头``, ``一千五左右``,
``三百来块``, ``around 2k``, ``2000ish``, ``not more than 500``; a range of neighbouring
digits gives its lower end (``五六百`` = 500, ``一千二三`` = 1200), as do ``万把块`` /
``千把块`` (10000 / 1000). English number words count when they name a scale or
money (``two thousand``, ``fifteen hundred``, ``a grand``, ``twenty yuan``), and
``2 grand`` / ``3 thousand`` multiply like ``2k``.

Numbers that are clearly something else are skipped: counts and durations
(``3个``, ``等了5天``, ``2 weeks``, ``10%``), phone and waybill numbers (long digit
runs, digits glued to letters such as ``SF123…``), weights (``2kg``).
"""

from __future__ import annotations

import re
import unicodedata
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

__all__ = ["parse_amount", "parse_share"]

_CN_DIGITS = {
    "零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9,
}  # fmt: skip
_CN_UNITS = {"十": 10, "百": 100, "千": 1000}
_CN_BIG = {"万": 10_000, "亿": 100_000_000}
_CN_DIGIT_CHARS = "".join(_CN_DIGITS)
_CN_CHARS = _CN_DIGIT_CHARS + "".join(_CN_UNITS) + "".join(_CN_BIG)
_MULTIPLIERS = {
    "k": 1000, "千": 1000, "w": 10_000, "万": 10_000, "百": 100, "thousand": 1000, "grand": 1000, "hundred": 100,
}  # fmt: skip

_MONEY_AFTER = ("元", "块", "圆", "yuan", "rmb", "cny", "kuai", "钱")
_MONEY_BEFORE = ("¥", "$", "rmb", "cny")
# Words after a number that make it a count, a duration, a share or a weight, not money.
_NOT_MONEY_AFTER = (
    "%", "成", "个", "件", "次", "天", "日", "号", "小时", "分", "秒", "周", "星期", "月", "年", "岁",
    "斤", "公斤", "克", "g", "kg", "箱", "包", "台", "点", "楼", "层", "米", "cm", "km", "单", "张",
)  # fmt: skip

# English words after a number that make it a count, a duration, a weight or a time.
_NOT_MONEY_AFTER_EN = re.compile(
    r"\s*(?:days?|weeks?|months?|years?|yrs?|hours?|hrs?|minutes?|mins?|seconds?|secs?|times?|pieces?|pcs|"
    r"items?|boxes?|parcels?|packages?|cups?|kgs?|grams?|lbs?|cm|mm|km|meters?|metres?|percent|people|persons?|"
    r"orders?|floors?|am|pm|o'?clock|st|nd|rd|th)\b"
)
_MONEY_AFTER_EN = ("yuan", "rmb", "cny", "kuai", "bucks", "dollars", "ish")

_ARABIC = re.compile(r"(?<![a-z0-9.])(\d+(?:\.\d+)?)(\s*(?:thousand|grand|hundred|k|w|千|万|百)(?![a-z]))?")
_CHINESE = re.compile(f"[{_CN_CHARS}]+")
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
_MAX_INTEGER_DIGITS = 9
_CENT = Decimal("0.01")


_RANGE_DIGITS = "一二两三四五六七八九"
_RANGE_BEFORE_UNIT = re.compile(f"([{_RANGE_DIGITS}])([{_RANGE_DIGITS}])(?=[十百千万成])")
_RANGE_AFTER_UNIT = re.compile(f"(?<=[十百千万])([{_RANGE_DIGITS}])([{_RANGE_DIGITS}])(?![{_CN_CHARS}])")
_ROUND_UNIT = re.compile(f"(?<![{_CN_CHARS}0-9])([百千万])(?=[把来])")
_EN_SMALL = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16,
    "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50,
    "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90,
}  # fmt: skip
_EN_SCALES = {"hundred": 100, "thousand": 1000, "grand": 1000}
_EN_WORD = "|".join(sorted((*_EN_SMALL, *_EN_SCALES), key=len, reverse=True))
_EN_NUMBER = re.compile(rf"\b(?:an?[\s-]+)?(?:{_EN_WORD})(?:[\s-]+(?:and[\s-]+)?(?:{_EN_WORD}))*\b")


def _neighbours(first: str, second: str) -> bool:
    return _CN_DIGITS[second] == _CN_DIGITS[first] + 1


def _collapse_ranges(text: str) -> str:
    """五六百 -> 五百, 一千二三 -> 一千二, 七八成 -> 七成, 万把 -> 一万: the lower end of a spoken range."""
    text = _RANGE_BEFORE_UNIT.sub(lambda m: m.group(1) if _neighbours(m.group(1), m.group(2)) else m.group(0), text)
    text = _RANGE_AFTER_UNIT.sub(lambda m: m.group(1) if _neighbours(m.group(1), m.group(2)) else m.group(0), text)
    return _ROUND_UNIT.sub(r"一\1", text)


def _normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower()
    text = _THOUSANDS.sub("", text)
    text = _collapse_ranges(text)
    return re.sub(r"(rmb|cny|¥|\$)", r" \1 ", text)


def _en_value(words: str) -> int | None:
    """Value of English number words ("two thousand five hundred", "a grand"); None if malformed."""
    total = current = 0
    tokens = [t for t in re.split(r"[\s-]+", words) if t and t != "and"]
    if not tokens or tokens[0] in _EN_SCALES:
        return None  # "a couple hundred", "a few thousand": no number said
    for index, token in enumerate(tokens):
        if token in ("a", "an"):
            if index != 0 or len(tokens) < 2 or tokens[1] not in _EN_SCALES:
                return None
            current = 1
        elif token in _EN_SMALL:
            current += _EN_SMALL[token]
        elif token == "hundred":
            current = (current or 1) * 100
        else:
            total += (current or 1) * _EN_SCALES[token]
            current = 0
    return total + current


def _cn_to_int(numeral: str) -> int | None:
    """Value of a Chinese numeral such as 三百八十 or 两千五; None if malformed."""
    total = section = 0
    number: int | None = None
    last_unit = 0
    after_zero = False
    for ch in numeral:
        if ch in _CN_DIGITS:
            if number is not None and number != 0:
                return None  # 一二: a digit string, not a numeral
            digit = _CN_DIGITS[ch]
            after_zero = after_zero or digit == 0
            number = digit
        elif ch in _CN_UNITS:
            unit = _CN_UNITS[ch]
            if number is None:
                if unit != 10 or section or total:
                    return None
                number = 1  # 十五 = 15
            if last_unit and unit >= last_unit:
                return None  # 百千, 十十
            section += number * unit
            number, last_unit, after_zero = None, unit, False
        else:
            big = _CN_BIG[ch]
            section += number or 0
            if section == 0:
                return None
            total += section * big
            section, number, last_unit, after_zero = 0, None, big, False
    if number is not None:
        # 两千五 / 一万二: a trailing digit right after a unit stands for the next lower unit.
        section += number * (last_unit // 10 if last_unit and not after_zero else 1)
    return total + section


def _followed_by(rest: str, words: tuple[str, ...]) -> bool:
    return rest.lstrip().startswith(words)


def _decimal_part(rest: str) -> tuple[Decimal, int]:
    """The 五 in 三块五 (0.5 yuan) and how many characters it used."""
    match = re.match(rf"\s*(?:元|块|圆)\s*([0-9{_CN_DIGIT_CHARS}])(?![0-9{_CN_CHARS}])", rest)
    if match is None:
        return Decimal(0), 0
    ch = match.group(1)
    digit = int(ch) if ch.isdigit() else _CN_DIGITS[ch]
    return Decimal(digit) / 10, match.end()


def _candidates(text: str) -> list[tuple[int, Decimal]]:
    found: list[tuple[int, Decimal]] = []
    for match in _ARABIC.finditer(text):
        integer = match.group(1).split(".")[0]
        rest = text[match.end() :]
        if len(integer) > _MAX_INTEGER_DIGITS or _followed_by(rest, _NOT_MONEY_AFTER):
            continue
        if not match.group(2) and _NOT_MONEY_AFTER_EN.match(rest):
            continue  # 2 weeks, 3 pieces
        if rest[:1].isalpha() and rest[:1].isascii() and not rest.startswith((*_MONEY_AFTER, *_MONEY_AFTER_EN)):
            continue  # 123abc
        try:
            value = Decimal(match.group(1))
        except InvalidOperation:  # pragma: no cover - the regex only lets digits through
            continue
        unit = (match.group(2) or "").strip()
        if unit:
            value *= _MULTIPLIERS[unit]
            tail = re.match(r"(\d)(?![\d.])", rest)
            if tail and unit in ("千", "万", "百"):
                value += int(tail.group(1)) * _MULTIPLIERS[unit] // 10  # 2千5 = 2500
        else:
            value += _decimal_part(rest)[0]
        found.append((match.start(), value))
    for match in _CHINESE.finditer(text):
        numeral = match.group(0)
        rest = text[match.end() :]
        before = text[: match.start()].rstrip()
        parsed = _cn_to_int(numeral)
        if parsed is None or _followed_by(rest, _NOT_MONEY_AFTER):
            continue
        money_context = _followed_by(rest, _MONEY_AFTER) or before.endswith(_MONEY_BEFORE)
        has_unit = any(ch in _CN_UNITS or ch in _CN_BIG for ch in numeral)
        alone = not re.sub(r"[\s,.!?。，！？]", "", text.replace(numeral, "", 1))
        if not (money_context or has_unit or alone):
            continue  # 一下, 一个: a lone digit word is not an amount
        found.append((match.start(), Decimal(parsed) + _decimal_part(rest)[0]))
    for match in _EN_NUMBER.finditer(text):
        parsed = _en_value(match.group(0))
        rest = text[match.end() :].lstrip()
        before = text[: match.start()].rstrip()
        scaled = any(scale in match.group(0) for scale in _EN_SCALES)
        money_context = rest.startswith((*_MONEY_AFTER, *_MONEY_AFTER_EN)) or before.endswith(_MONEY_BEFORE)
        if parsed is None or not (scaled or money_context) or _NOT_MONEY_AFTER_EN.match(rest):
            continue  # "five" alone, "two weeks": not an amount
        found.append((match.start(), Decimal(parsed)))
    return found


def parse_amount(text: str) -> Decimal | None:
    """Read the first amount of money in a customer's message.

    Args:
        text: What the customer typed.

    Returns:
        The amount in yuan, or None when the text holds no amount.
    """
    if not text:
        return None
    found = _candidates(_normalise(text))
    if not found:
        return None
    amount = min(found, key=lambda item: item[0])[1]
    return amount.quantize(_CENT, rounding=ROUND_HALF_UP)


def _number(token: str) -> Decimal | None:
    """An Arabic or Chinese number; 百 / 千 alone count as 100 / 1000 (as in 百分之)."""
    if re.fullmatch(r"\d+(?:\.\d+)?", token):
        return Decimal(token)
    value = _cn_to_int("一" + token if token in ("百", "千", "万") else token)
    return None if value is None else Decimal(value)


_SHARE_WORDS_EN = (
    (re.compile(r"\b(?:total loss|all of it|completely|entirely|everything|fully|totally|whole thing)\b"), Decimal(1)),
    (re.compile(r"\bthree quarters\b"), Decimal("0.75")),
    (re.compile(r"\btwo thirds\b"), Decimal(2) / 3),
    (re.compile(r"\b(?:half|50-50)\b"), Decimal("0.5")),
    (re.compile(r"\b(?:a|one) third\b"), Decimal(1) / 3),
    (re.compile(r"\b(?:a|one) quarter\b"), Decimal("0.25")),
)
"""English ways to say a share."""
_ABOUT = r"(?:约|大约|大概|差不多|估计|应该|around|about|roughly|approximately|approx\.?|maybe|like|~)?"
_ABOUT_AFTER = r"(?:左右|上下|的样子|吧|ish|or so)?"


def parse_share(text: str) -> Decimal | None:
    """Read a damaged share (a fraction from 0 to 1) from a customer's message.

    Understands ``5%``, ``百分之十``, ``三分之一``, ``三成`` (0.3), ``一半`` / ``半`` (0.5),
    ``全部`` / ``全坏了`` (1), English words (``half``, ``a third``, ``three quarters``,
    ``total loss``), and a bare number, maybe with "about": up to 1 it is a fraction
    (``0.2``), up to 100 a percent (``20``, ``about 30``). A spoken range gives its
    lower end (``七八成`` = 0.7).

    Args:
        text: What the customer typed.

    Returns:
        The share rounded to 0.0001, or None when there is none or it is above 100 %.
    """
    if not text:
        return None
    norm = _collapse_ranges(unicodedata.normalize("NFKC", text).lower().strip())
    num = rf"(\d+(?:\.\d+)?|[{_CN_CHARS}]+)"
    share: Decimal | None = None
    if match := re.search(rf"{num}\s*分之\s*{num}", norm):
        whole, part = _number(match.group(1)), _number(match.group(2))
        share = None if not whole or part is None else part / whole
    elif match := re.search(r"(\d+(?:\.\d+)?)\s*(?:%|percent|per cent)", norm):
        share = Decimal(match.group(1)) / 100
    elif match := re.search(rf"{num}\s*成(半)?", norm):
        tenths = _number(match.group(1))
        if tenths is not None:
            share = (tenths + (Decimal("0.5") if match.group(2) else 0)) / 10
    elif "半" in norm:
        share = Decimal("0.5")
    elif re.search(r"全部|全坏|全都|都坏|全损|(?<!at )\ball\b", norm):
        share = Decimal(1)
    elif word := next((value for pattern, value in _SHARE_WORDS_EN if pattern.search(norm)), None):
        share = word
    elif match := re.fullmatch(rf"{_ABOUT}\s*(\d+(?:\.\d+)?)\s*{_ABOUT_AFTER}[\s.。!！]*", norm):
        value = Decimal(match.group(1))
        share = value if value <= 1 else value / 100
    if share is None or not Decimal(0) <= share <= 1:
        return None
    return share.quantize(Decimal("0.0001"))
