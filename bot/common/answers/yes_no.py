"""Yes or no answers, read with the words of the question's topic (kept? correct? accepted?)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.common.answers.reading import UNSURE, alternation, clauses, is_stop, normalise
from bot.common.answers.reading import en_words as _en
from bot.common.answers.reading import zh_words as _zh

KEPT = "kept"
"""Topic of "do you still have the packaging and padding?"."""
CONFIRM = "confirm"
"""Topic of "is this summary correct?"."""
ACCEPT = "accept"
"""Topic of "do you accept this offer?"."""
ANY = "any"
"""Every topic's words at once, for a yes/no question with no particular topic."""


_NEG_ZH = (
    r"(?:并没有|并没|还没有|还没|从来没有?|从没有?|都没有?|没有|没|不是|不能|不会|不想|不用|不要|不必|不再|"
    r"没法|无法|未|别|不)"
)
_GAP_ZH = r"(?:把(?:它们?|箱子|盒子|包装|东西)?|给|什么|啥|舍得|太|再)?"
_NEG_EN = (
    r"\b(?:didn'?t|did not|haven'?t|have not|hasn'?t|has not|never|not|don'?t|do not|won'?t|will not|wasn'?t|"
    r"was not|isn'?t|is not|nothing|no need to|no longer)\s+(?:\w+\s+)?"
)
_NEUTRAL = _zh("还是 就是 要是 只是 于是 好像 好几 好多 还好 有点 有些 好不容易 一定 改天 不在家")
"""Words holding 是 / 好 / 有 / 改 that say neither yes nor no."""


@dataclass(frozen=True)
class _Topic:
    """The words of one yes/no topic: verbs can be negated ("没扔"), phrases are taken as they are."""

    yes_verbs: tuple[str, ...] = ()
    no_verbs: tuple[str, ...] = ()
    yes_verbs_en: tuple[str, ...] = ()
    no_verbs_en: tuple[str, ...] = ()
    yes_phrases: tuple[str, ...] = ()
    no_phrases: tuple[str, ...] = ()

    def __or__(self, other: _Topic) -> _Topic:
        return _Topic(*(a + b for a, b in zip(self.__dict__.values(), other.__dict__.values(), strict=True)))


# Phrase tables laid out by hand, several entries a line.
# fmt: off
_TOPICS = {
    KEPT: _Topic(
        yes_verbs=_zh("保留 保存 留着 留了 留下 留起来 留 存着 存 收着 收起来", "放着 搁着 攒着 还在 都在 在"),
        no_verbs=_zh("扔 丢 处理掉 处理了 卖了 卖掉 卖废品 回收 烧了 撕了"),
        yes_verbs_en=("keep", "kept", "keeping", "have", "has", "had", "got", "save", "saved", "hold", "held"),
        no_verbs_en=("throw", "threw", "thrown", "toss", "tossed", "bin", "binned", "discard", "discarded", "dump",
                     "dumped", "recycle", "recycled", "get rid", "got rid", "trash", "trashed"),
        yes_phrases=(
            *_zh("舍不得扔 忘了扔 放在家 放家里 在家里 在家 还有 都有"),
            *_en(("still (?:have|got|has|here|there|around|keep)", "i (?:still )?(?:have|got) (?:it|them|the \\w+)",
                  "have it", "hung on", "held on", "it'?s (?:still )?(?:here|with me|at home)", "i do")),
        ),
        no_phrases=(
            *_zh("不要了 早不要 没了 不见了 找不到 找不着 当垃圾", "(?:在|进了?)?垃圾(?:桶|箱|堆|站)"),
            *_en(("in the (?:trash|bin|garbage|rubbish)", "no longer", "not any ?more", "gone", "lost (?:it|them)",
                  "can'?t find", "throw (?:it|them) (?:away|out)")),
        ),
    ),
    CONFIRM: _Topic(
        yes_verbs=_zh("正确 准确 无误 确认 提交 都对 全对 对的"),
        no_verbs=_zh("错 有误 改 修改 重填 重新 漏 少了 问题 不一样 不符"),
        yes_verbs_en=("correct", "right", "accurate", "fine", "good", "ok", "okay"),
        no_verbs_en=("wrong", "incorrect", "inaccurate", "mistakes?", "errors?", "change", "changes", "fix", "edit",
                     "typo", "missing"),
        yes_phrases=(
            *_zh("没毛病 就这样 可以提交"),
            *_en(("looks (?:good|fine|right|ok|okay)", "all good", "that'?s (?:it|right|correct)", "spot on",
                  "go ahead", "perfect", "no (?:changes|mistakes|errors|problems?)", "confirm(?:ed)?", "submit")),
        ),
        no_phrases=(*_zh("不是这样 不太对 不对 不准"), *_en(("not (?:quite )?right",))),
    ),
    ACCEPT: _Topic(
        yes_verbs=_zh("接受 同意 认可 满意 成交 按这个 就这样 认了"),
        no_verbs=_zh("拒绝 复核 申诉 嫌少 太少 少了 太低 低了 意见"),
        yes_verbs_en=("accept", "accepted", "agree", "agreed", "happy", "fine", "ok", "okay", "good", "take it"),
        no_verbs_en=("reject", "rejected", "decline", "declined", "refuse", "refused", "review", "dispute", "appeal"),
        yes_phrases=(
            *_zh("行吧 好吧 可以的"),
            *_en(("deal", "sounds good", "that works", "works for me", "i'?ll take it", "go ahead", "fair enough")),
        ),
        no_phrases=(
            *_zh("人工 专员 多赔 再多 再高 加点 不够"),
            *_en(("too (?:low|little|small)", "not enough", "want more", "more money", "a person", "human",
                  "specialist", "agent")),
        ),
    ),
}
_TOPICS[ANY] = _TOPICS[KEPT] | _TOPICS[CONFIRM] | _TOPICS[ACCEPT]

_GENERIC_YES_NEGATED = _zh("没错 没问题 没毛病")
"""Yes words that start like a no ("没…"): tried before 没."""
_GENERIC_YES = (
    *_zh("是的 是啊 是呀 是滴 是 对的 对啊 对呀 对 嗯嗯 嗯 恩 好的 好啊 好滴 好",
         "行 可以 有的 有 当然 确定 确实 必须的"),
    *_en(("yes", "yeah", "yep", "yup", "yea", "ya", "sure", "ok", "okay", "of course", "absolutely", "definitely",
          "certainly", "indeed", "correct", "right", "true", "affirmative", "uh[- ]?huh", "y", "please do")),
)
_GENERIC_NO = (
    *_zh("不是 不对 不行 不可以 不用 不要 不 否 没有 没 无 错了"),
    *_en(("no", "nope", "nah", "not really", "negative", "never", "n", "not", "no thanks", "no way", "not at all",
          "absolutely not", "of course not", "certainly not", "definitely not")),
    r"\bi (?:don'?t|do not|haven'?t|have not|didn'?t|did not)\b(?!\s+\w)",
)
# fmt: on


def _yes_no_pattern(topic: _Topic) -> re.Pattern[str]:
    """One scanner for a topic; at each position the first matching group, in this order, wins."""
    verb_yes, verb_no = alternation(topic.yes_verbs), alternation(topic.no_verbs)
    en_yes, en_no = alternation(topic.yes_verbs_en), alternation(topic.no_verbs_en)
    groups = (
        ("neutral", alternation(_NEUTRAL)),
        ("g_yes", "不错"),  # "not bad": a bare yes, not a negated 错 ("今天天气不错" answers nothing)
        ("t_yes_negated", rf"{_NEG_ZH}{_GAP_ZH}(?:{verb_no})|{_NEG_EN}(?:{en_no})\b"),
        ("t_no_negated", rf"{_NEG_ZH}{_GAP_ZH}(?:{verb_yes})|{_NEG_EN}(?:{en_yes})\b"),
        ("t_no", alternation(topic.no_phrases)),
        ("t_yes", alternation(topic.yes_phrases)),
        ("t_no_verb", rf"{verb_no}|\b(?:{en_no})\b"),
        ("t_yes_verb", rf"{verb_yes}|\b(?:{en_yes})\b"),
        ("g_yes_late", alternation(_GENERIC_YES_NEGATED)),
        ("g", alternation((*_GENERIC_YES, *_GENERIC_NO))),
    )
    return re.compile("|".join(f"(?P<{name}>{body})" for name, body in groups))


_YES_NO = {name: _yes_no_pattern(topic) for name, topic in _TOPICS.items()}
_GENERIC_NO_RE = re.compile(rf"^(?:{alternation(_GENERIC_NO)})$")


_FILLER = re.compile(
    r"(?:[\s,，.。~～!！]|我们|我觉得|我|嗯+|哦|噢|啊|呃|额|那个|那|应该|了|的|呀|吧|呢|啦|哈+|嘛|谢谢|"
    r"\b(?:i think|i guess|i|we|oh|well|um+|uh|ah|hm+|thanks|thank you|please|thing|then)\b)*"
)
"""What may come with a bare yes or no ("嗯，是的", "我没有", "well, no", "好的谢谢"): in a
sentence that says more, "不错" or "不" answers nothing ("今天天气不错", "我不在家")."""


_HESITATION = re.compile(r"^(?:嗯|呃|额|唔|em|hm|um|uh|er)+[\s,，]*(?:\.{2,}|。{2,})[\s.。~～]*$")
"""A trailing-off "嗯……" / "hmm..." is thinking aloud, not the "嗯" that means yes."""


def _one(values: set[bool]) -> bool | None:
    return next(iter(values)) if len(values) == 1 else None


def read_yes_no(text: str | None, topic: str = ANY) -> bool | None:
    """Read a yes or no answer about ``topic``.

    Args:
        text: The customer's reply.
        topic: :data:`KEPT`, :data:`CONFIRM`, :data:`ACCEPT` or :data:`ANY`.

    Returns:
        ``True`` or ``False``; ``None`` when the reply is neither, is unsure, asks
        something back, says "stop" (unless the topic reads it: "不要了" to "kept?"
        is no), or says yes and no at once.
    """
    norm = normalise(text)
    if not norm or _HESITATION.match(norm):
        return None
    scanner = _YES_NO[topic]
    said: set[bool] = set()
    generic: set[bool] = set()
    for clause in clauses(norm, polar=True):
        bare: set[bool] = set()
        rest = list(clause)
        for match in scanner.finditer(clause):
            kind = match.lastgroup or "neutral"
            if kind.startswith("t_"):
                said.add(kind in ("t_yes", "t_yes_negated", "t_yes_verb"))
            elif kind != "neutral":
                bare.add(kind != "g" or not _GENERIC_NO_RE.match(match.group(0)))
                rest[match.start() : match.end()] = " " * (match.end() - match.start())
        if bare and _FILLER.fullmatch("".join(rest)):
            generic |= bare  # a bare yes / no counts when the clause says nothing else ("我不在家" does)
    if said:
        return _one(said)
    if is_stop(norm) or UNSURE.search(norm):
        return None
    return _one(generic)
