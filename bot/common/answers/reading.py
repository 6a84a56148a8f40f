"""Reading a reply's shape: normalised text, its clauses, questions back, "stop", "I don't know".

The building blocks of every ``read_*`` function in :mod:`bot.common.answers`, and the
phrase-table helpers (:func:`alternation`, :func:`zh_words`, :func:`en_words`) they share.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from zhconv import convert

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u00b4": "'"})


def normalise(text: str | None) -> str:
    """NFKC, simplified Chinese, lower case, straight quotes, single spaces."""
    norm = unicodedata.normalize("NFKC", text or "").translate(_QUOTES)
    if _CJK.search(norm):
        norm = convert(norm, "zh-cn")
    return " ".join(norm.lower().split())


def alternation(phrases: Iterable[str]) -> str:
    """One regex alternative per phrase, longest first (so "不错" is tried before "不")."""
    unique = sorted(set(phrases), key=len, reverse=True)
    return "|".join(unique) if unique else r"(?!x)x"


def zh_words(*chunks: str) -> tuple[str, ...]:
    """Chinese words (or regexes without spaces) written space-separated."""
    return tuple(word for chunk in chunks for word in chunk.split())


def en_words(words: Iterable[str]) -> tuple[str, ...]:
    """English words and phrases as whole-word regexes."""
    return tuple(rf"\b(?:{word})\b" for word in words)


_STOP = re.compile(
    r"^(?:算了|不弄了|不填了|不要了|不用了|不办了|不理赔了|先不(?:弄|填|办)了?|取消|退出|停|停止|暂停|"
    r"stop|cancel|quit|never ?mind|forget it)[\s!！。.,，~～]*(?:吧|啦|了)?[\s!！。.]*$"
)
UNSURE = re.compile(
    r"不知道|不清楚|不确定|不一定|说不好|不好说|说不准|不记得|记不清|记不得|忘了吧|没法估|估不出|无法估|想想|考虑一下|"
    r"再看看|don'?t know|do not know|dunno|not sure|no idea|unknown|can'?t remember|don'?t remember|can'?t tell|"
    r"\bmaybe\b|\bperhaps\b"
)
"""Words saying "I don't know" (searched in a normalised reply)."""
_WH_ZH = re.compile(r"(?<!没)什么|(?<!没)啥|怎么|怎样|咋|为什么|为啥|哪|多少|多久|几时|何时|谁|意思")
_WH_EN = re.compile(
    r"^(?:what|why|how|which|where|when|who|pardon|huh|come again|excuse me|meaning)\b|^(?:sorry|eh)\s*\??$"
    r"|\b(?:what|why|how|which|where|when|who)\b.*\?$|\bwhat do you mean\b"
)
_POLAR = re.compile(
    r"(?:吗|么|嘛)[\s~～]*[?？]?$|是不是|有没有|要不要|能不能|可不可以|行不行|对不对|好不好|需不需要|用不用|在不在|"
    r"留不留|是否|^(?:do|does|did|is|are|was|were|should|shall|can|could|will|would|must|may|have|has)\b|\?$"
)
_ABOUT_TERMS = re.compile(r"钱|费|收费|免费|多久|几天|\b(?:cost|fee|charge|price|pay|extra|free|long)\b")
_CLAUSE = re.compile(
    r"[，、;；。!！\n]+|(?<!\d),|,(?!\d)|[?？]+|(?<!\d)\.(?!\d)|但是|不过|可是|然而|\bbut\b|\bhowever\b|\bthough\b"
)


def is_stop(text: str | None) -> bool:
    """Whether the whole reply says "stop" ("算了", "不弄了", "stop", "取消")."""
    return bool(_STOP.match(normalise(text)))


def is_unsure(text: str | None) -> bool:
    """Whether the reply says "I don't know" (an answer of its own, not a wish to stop)."""
    return bool(UNSURE.search(normalise(text)))


def _asks(clause: str, polar: bool) -> bool:
    """Whether a clause asks something back.

    A wh-question always does. A yes/no question does when ``polar``; otherwise
    ("能加急吗？" is a polite request) only when it asks about cost or time
    ("优先派送要加钱吗？").
    """
    if _WH_ZH.search(clause) or _WH_EN.search(clause):
        return True
    if not _POLAR.search(clause):
        return False
    return polar or bool(_ABOUT_TERMS.search(clause))


def split_clauses(norm: str) -> list[tuple[str, bool]]:
    """A normalised reply cut into clauses, each with whether a question mark ended it."""
    out: list[tuple[str, bool]] = []
    start = 0
    for match in [*_CLAUSE.finditer(norm), None]:
        end = match.start() if match else len(norm)
        clause = norm[start:end].strip()
        start = match.end() if match else len(norm)
        if clause:
            out.append((clause, match is not None and match.group(0)[:1] in "?？"))
    return out


def clauses(norm: str, polar: bool) -> list[str]:
    """The clauses of a normalised reply that state something; the ones asking back are left out."""
    return [clause for clause, marked in split_clauses(norm) if not _asks(clause + ("?" if marked else ""), polar)]


def is_question(text: str | None) -> bool:
    """Whether the reply only asks something back ("什么意思？", "what?", "要留着吗？")."""
    norm = normalise(text)
    return bool(norm) and not clauses(norm, polar=True)


def asks(text: str | None) -> bool:
    """Whether any part of the reply asks something ("好的，能加急吗？" does)."""
    norm = normalise(text)
    return len(clauses(norm, polar=True)) < len(split_clauses(norm))


_DECIDED = re.compile(
    r"^(?:请|麻烦)?(?:帮我|给我|我们|我|那就|就|那)|吧[\s。.!！~～]*$|我(?:自己|去|来|就|再|要|想)|"
    r"\b(?:i'?ll|i will|i'?d like|i want|let'?s|we'?ll|we will|just)\b"
)


def is_decision(text: str | None) -> bool:
    """Whether the reply is worded as the customer's own decision ("帮我加急", "换个地址吧", "I'll wait")."""
    norm = normalise(text)
    return not asks(norm) and bool(_DECIDED.search(norm))
