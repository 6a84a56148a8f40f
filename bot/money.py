"""Reading amounts of money and damaged shares from what customers type.

Customers write amounts as Arabic numbers (``2,000元``, ``¥2000``, ``￥1999.5``,
``RMB 300``, ``300 yuan``, full-width ``３００``), with a multiplier (``2k``, ``1.5万``,
``5w``, ``2千``), in Chinese numerals (``三百八十元``, ``一千零五``) or colloquially with
the last unit left out (``两千五`` = 2500, ``一万二`` = 12000, ``三块五`` = 3.5).

Numbers that are clearly something else are skipped: counts and durations
(``3个``, ``等了5天``, ``10%``), phone and waybill numbers (long digit runs, digits
glued to letters such as ``SF123…``), weights (``2kg``).
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
_MULTIPLIERS = {"k": 1000, "千": 1000, "w": 10_000, "万": 10_000, "百": 100}

_MONEY_AFTER = ("元", "块", "圆", "yuan", "rmb", "cny", "kuai", "钱")
_MONEY_BEFORE = ("¥", "$", "rmb", "cny")
# Words after a number that make it a count, a duration, a share or a weight, not money.
_NOT_MONEY_AFTER = (
    "%", "成", "个", "件", "次", "天", "日", "号", "小时", "分", "秒", "周", "星期", "月", "年", "岁",
    "斤", "公斤", "克", "g", "kg", "箱", "包", "台", "点", "楼", "层", "米", "cm", "km", "单", "张",
)  # fmt: skip

_ARABIC = re.compile(r"(?<![a-z0-9.])(\d+(?:\.\d+)?)(\s*(?:k|w|千|万|百)(?![a-z]))?")
_CHINESE = re.compile(f"[{_CN_CHARS}]+")
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
_MAX_INTEGER_DIGITS = 9
_CENT = Decimal("0.01")


def _normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower()
    text = _THOUSANDS.sub("", text)
    return re.sub(r"(rmb|cny|¥|\$)", r" \1 ", text)


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
        if rest[:1].isalpha() and rest[:1].isascii() and not rest.startswith(_MONEY_AFTER):
            continue  # 123abc
        try:
            value = Decimal(match.group(1))
        except InvalidOperation:  # pragma: no cover - the regex only lets digits through
            continue
        unit = (match.group(2) or "").strip()
        if unit:
            value *= _MULTIPLIERS[unit]
            tail = re.match(r"(\d)(?![\d.])", rest)
            if tail and unit in "千万百":
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


def parse_share(text: str) -> Decimal | None:
    """Read a damaged share (a fraction from 0 to 1) from a customer's message.

    Understands ``5%``, ``百分之十``, ``三分之一``, ``三成`` (0.3), ``一半`` / ``半`` (0.5),
    ``全部`` / ``全坏了`` (1), and a bare number: up to 1 it is a fraction (``0.2``), up
    to 100 a percent (``20``).

    Args:
        text: What the customer typed.

    Returns:
        The share rounded to 0.0001, or None when there is none or it is above 100 %.
    """
    if not text:
        return None
    norm = unicodedata.normalize("NFKC", text).lower().strip()
    num = rf"(\d+(?:\.\d+)?|[{_CN_CHARS}]+)"
    share: Decimal | None = None
    if match := re.search(rf"{num}\s*分之\s*{num}", norm):
        whole, part = _number(match.group(1)), _number(match.group(2))
        share = None if not whole or part is None else part / whole
    elif match := re.search(r"(\d+(?:\.\d+)?)\s*(?:%|percent)", norm):
        share = Decimal(match.group(1)) / 100
    elif match := re.search(rf"{num}\s*成(半)?", norm):
        tenths = _number(match.group(1))
        if tenths is not None:
            share = (tenths + (Decimal("0.5") if match.group(2) else 0)) / 10
    elif "半" in norm:
        share = Decimal("0.5")
    elif re.search(r"全部|全坏|全都|都坏|全损|\ball\b", norm):
        share = Decimal(1)
    elif match := re.fullmatch(r"(?:约|大概|大约)?\s*(\d+(?:\.\d+)?)\s*(?:左右)?", norm):
        value = Decimal(match.group(1))
        share = value if value <= 1 else value / 100
    if share is None or not Decimal(0) <= share <= 1:
        return None
    return share.quantize(Decimal("0.0001"))
