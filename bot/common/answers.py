"""Reading a customer's answer to a question in their own words, in Chinese or English.

Forms ask three kinds of question: yes or no ("do you still have the packaging?"),
a choice among a few options (what is damaged; what to do with a late parcel), and
an amount (what the goods are worth, how much is damaged). Customers rarely answer
with the word on the button: they say "包装还留着", "早扔了", "nope, threw it away",
"帮我加急", "送到驿站我自己取", "两千出头", "around 2k". Each ``read_*`` function here
turns such a reply into a value, or ``None`` when the reply does not answer the
question (a question back, "what?", an unrelated sentence, "I don't know"), so the
form can ask again instead of guessing.

How a reply is read:

* It is normalised (NFKC, simplified Chinese, lower case, straight quotes) and cut
  into clauses at punctuation and at "但是 / but". Clauses that ask something back
  ("什么意思？", "why?", "要留着吗？") are set aside.
* A yes/no question has a *topic* (:data:`KEPT`, :data:`CONFIRM`, :data:`ACCEPT`) with
  its own words: for "kept?" "留着 / 还在 / kept" say yes and "扔 / 丢 / threw" say
  no, and a negation right before such a verb flips it ("没扔" is yes, "没留" is no,
  "didn't throw it away" is yes). The topic's words outweigh a bare "是 / 不 / no"
  ("no, I still have it" is yes); words that disagree give ``None``.
* A choice names its options by phrases; a negated option ("外包装没坏", "not the
  box", "不想等了") is ruled out, and when that leaves one option it is the answer.
* Amounts go through :mod:`bot.common.money`: approximate words give the amount named
  ("两千出头" is 2000, "not more than 500" is 500).

Plain Python: no Rasa import, so every rule is covered by table tests.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from zhconv import convert

from bot.common.money import parse_amount, parse_share

KEPT = "kept"
"""Topic of "do you still have the packaging and padding?"."""
CONFIRM = "confirm"
"""Topic of "is this summary correct?"."""
ACCEPT = "accept"
"""Topic of "do you accept this offer?"."""
ANY = "any"
"""Every topic's words at once, for a yes/no question with no particular topic."""

PARTS = ("outer", "contents", "both")
"""What can be damaged: the outer packaging, the contents, or both."""
DELAY_OPTIONS = ("keep_waiting", "priority", "pickup", "redirect")
"""What a customer can choose for a late parcel (the option ids of :mod:`bot.delay.options`)."""

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u00b4": "'"})


def normalise(text: str | None) -> str:
    """NFKC, simplified Chinese, lower case, straight quotes, single spaces."""
    norm = unicodedata.normalize("NFKC", text or "").translate(_QUOTES)
    if _CJK.search(norm):
        norm = convert(norm, "zh-cn")
    return " ".join(norm.lower().split())


def _alternation(phrases: Iterable[str]) -> str:
    """One regex alternative per phrase, longest first (so "不错" is tried before "不")."""
    unique = sorted(set(phrases), key=len, reverse=True)
    return "|".join(unique) if unique else r"(?!x)x"


def _zh(*chunks: str) -> tuple[str, ...]:
    """Chinese words (or regexes without spaces) written space-separated."""
    return tuple(word for chunk in chunks for word in chunk.split())


def _en(words: Iterable[str]) -> tuple[str, ...]:
    """English words and phrases as whole-word regexes."""
    return tuple(rf"\b(?:{word})\b" for word in words)


# ------------------------------------------------------------------ stop, unsure, questions back
_STOP = re.compile(
    r"^(?:算了|不弄了|不填了|不要了|不用了|不办了|不理赔了|先不(?:弄|填|办)了?|取消|退出|停|停止|暂停|"
    r"stop|cancel|quit|never ?mind|forget it)[\s!！。.,，~～]*(?:吧|啦|了)?[\s!！。.]*$"
)
_UNSURE = re.compile(
    r"不知道|不清楚|不确定|不一定|说不好|不好说|说不准|不记得|记不清|记不得|忘了吧|没法估|估不出|无法估|想想|考虑一下|"
    r"再看看|don'?t know|do not know|dunno|not sure|no idea|unknown|can'?t remember|don'?t remember|can'?t tell|"
    r"\bmaybe\b|\bperhaps\b"
)
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
    return bool(_UNSURE.search(normalise(text)))


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


def _split(norm: str) -> list[tuple[str, bool]]:
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


def _clauses(norm: str, polar: bool) -> list[str]:
    """The clauses of a normalised reply that state something; the ones asking back are left out."""
    return [clause for clause, marked in _split(norm) if not _asks(clause + ("?" if marked else ""), polar)]


def is_question(text: str | None) -> bool:
    """Whether the reply only asks something back ("什么意思？", "what?", "要留着吗？")."""
    norm = normalise(text)
    return bool(norm) and not _clauses(norm, polar=True)


def asks(text: str | None) -> bool:
    """Whether any part of the reply asks something ("好的，能加急吗？" does)."""
    norm = normalise(text)
    return len(_clauses(norm, polar=True)) < len(_split(norm))


_DECIDED = re.compile(
    r"^(?:请|麻烦)?(?:帮我|给我|我们|我|那就|就|那)|吧[\s。.!！~～]*$|我(?:自己|去|来|就|再|要|想)|"
    r"\b(?:i'?ll|i will|i'?d like|i want|let'?s|we'?ll|we will|just)\b"
)


def is_decision(text: str | None) -> bool:
    """Whether the reply is worded as the customer's own decision ("帮我加急", "换个地址吧", "I'll wait")."""
    norm = normalise(text)
    return not asks(norm) and bool(_DECIDED.search(norm))


# ------------------------------------------------------------------ yes / no
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
    verb_yes, verb_no = _alternation(topic.yes_verbs), _alternation(topic.no_verbs)
    en_yes, en_no = _alternation(topic.yes_verbs_en), _alternation(topic.no_verbs_en)
    groups = (
        ("neutral", _alternation(_NEUTRAL)),
        ("g_yes", "不错"),  # "not bad": a bare yes, not a negated 错 ("今天天气不错" answers nothing)
        ("t_yes_negated", rf"{_NEG_ZH}{_GAP_ZH}(?:{verb_no})|{_NEG_EN}(?:{en_no})\b"),
        ("t_no_negated", rf"{_NEG_ZH}{_GAP_ZH}(?:{verb_yes})|{_NEG_EN}(?:{en_yes})\b"),
        ("t_no", _alternation(topic.no_phrases)),
        ("t_yes", _alternation(topic.yes_phrases)),
        ("t_no_verb", rf"{verb_no}|\b(?:{en_no})\b"),
        ("t_yes_verb", rf"{verb_yes}|\b(?:{en_yes})\b"),
        ("g_yes_late", _alternation(_GENERIC_YES_NEGATED)),
        ("g", _alternation((*_GENERIC_YES, *_GENERIC_NO))),
    )
    return re.compile("|".join(f"(?P<{name}>{body})" for name, body in groups))


_YES_NO = {name: _yes_no_pattern(topic) for name, topic in _TOPICS.items()}
_GENERIC_NO_RE = re.compile(rf"^(?:{_alternation(_GENERIC_NO)})$")


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
    for clause in _clauses(norm, polar=True):
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
    if is_stop(norm) or _UNSURE.search(norm):
        return None
    return _one(generic)


# ------------------------------------------------------------------ choices
_NEG_CHOICE = (
    r"(?:并不是|不是|不用|不要|不想|不必|不需要|没必要|没有|别|不|没|"
    r"\bnot(?: the)?\s+|\bno\s+|\bdon'?t\s+(?:want to\s+|need to\s+)?|\bisn'?t(?: the)?\s+|\bwasn'?t(?: the)?\s+)"
)


def _choice_pattern(
    options: dict[str, tuple[str, ...]], explicit: dict[str, tuple[str, ...]], ruled_out: dict[str, tuple[str, ...]]
) -> re.Pattern[str]:
    """A scanner for options: explicit phrases first, then "not X" (ruled out), then X."""
    groups: list[str] = []
    for index, option in enumerate(options):
        if explicit.get(option):
            groups.append(f"(?P<x{index}>{_alternation(explicit[option])})")
        if ruled_out.get(option):
            groups.append(f"(?P<r{index}>{_alternation(ruled_out[option])})")
    for index, option in enumerate(options):
        groups.append(f"(?P<n{index}>{_NEG_CHOICE}(?:{_alternation(options[option])}))")
    for index, option in enumerate(options):
        groups.append(f"(?P<p{index}>{_alternation(options[option])})")
    return re.compile("|".join(groups))


def _scan(pattern: re.Pattern[str], names: Sequence[str], clause: str) -> tuple[list[str], set[str]]:
    """Options named in a clause (in order) and options ruled out in it."""
    named: list[str] = []
    out: set[str] = set()
    for match in pattern.finditer(clause):
        group = match.lastgroup
        assert group is not None, "every alternative of the pattern is a named group"
        kind, index = group[0], int(group[1:])
        if kind in "xp":
            named.append(names[index])
        else:
            out.add(names[index])
    return named, out


_NUMBER = re.compile(
    r"^(?:选|选择|要|第|option|number|no\.?|#)?\s*([1-9]|一|二|两|三|四|五)\s*(?:个|项|号|种|条)?\s*(?:吧|啊)?$"
)
_NUMBER_WORDS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5}


def _numbered(norm: str) -> int | None:
    match = _NUMBER.match(norm.rstrip(".。!！ "))
    if match is None:
        return None
    raw = match.group(1)
    return int(raw) if raw.isdigit() else _NUMBER_WORDS[raw]


# What is damaged
# Phrase tables laid out by hand, several entries a line.
# fmt: off
_OUTER = (
    *_zh("外包装 包装 外箱 纸箱 箱子 盒子 外盒 快递袋 袋子 外面 外壳 面单", "填充物 泡沫 气泡膜 箱"),
    *_en(("packag\\w*", "box(?:es)?", "carton", "outside", "outer", "wrapping", "wrapper", "envelope", "mailer",
          "bag")),
)
_CONTENTS = (
    *_zh("里面 内物 内件 物品 东西 商品 货物 产品 本身 宝贝 杯子 碗 盘子 瓶子 罐子",
         "屏幕 手机 电脑 笔记本 镜子 玻璃 花瓶 衣服 鞋 零件 电器 玩具 货"),
    *_en(("contents?", "items?", "goods", "products?", "inside", "stuff", "cups?", "mugs?", "glass(?:es)?",
          "screen", "phone", "laptop", "plates?", "bottles?", "vase", "bowls?", "the thing")),
)
# fmt: on
_BOTH_EXPLICIT = re.compile(r"都有|两个都|两者都|两样都|里外都|内外都|里里外外|\bboth\b|\beverything\b")
_ALL = re.compile(r"都|全部|全都|(?<!at )\ball\b")
_WEAK_CONTENTS = re.compile(r"碎|裂开|漏了|shattered|smashed|leak")
_INTACT = re.compile(
    r"没坏|没有坏|没破|没事|没问题|完好|好好的|好着|正常|还行|还好|还可以|没大碍|没损坏|没有损坏|没受损|没变形|没有破损|没破损|"
    r"\b(?:fine|ok|okay|intact|undamaged|not damaged|in (?:good|perfect) (?:shape|condition)|no damage|alright|"
    r"unharmed)\b"
)
_PART_OPTIONS = {"outer": _OUTER, "contents": _CONTENTS}
_PART_SCAN = _choice_pattern(_PART_OPTIONS, {}, {})
_PART_NAMES = tuple(_PART_OPTIONS)


def read_part(text: str | None) -> str | None:
    """What is damaged: ``"outer"``, ``"contents"`` or ``"both"``.

    Reads the button words and numbers (1 / 2 / 3), the things named ("箱子压扁了",
    "杯子碎了", "the box"), "都 / both", and rules out what is said to be fine
    ("外包装没坏，里面碎了" is contents; "不是外包装" is contents).

    Args:
        text: The customer's reply.

    Returns:
        One of :data:`PARTS`, or ``None`` when the reply does not say.
    """
    norm = normalise(text)
    number = _numbered(norm)
    if number is not None:
        return PARTS[number - 1] if number <= len(PARTS) else None
    named: set[str] = set()
    out: set[str] = set()
    said_both = said_all = weak = False
    for clause in _clauses(norm, polar=True):
        found, negated = _scan(_PART_SCAN, _PART_NAMES, clause)
        intact = _INTACT.search(clause)
        if intact:
            before = [o for o in _scan(_PART_SCAN, _PART_NAMES, clause[: intact.start()])[0]]
            after = _scan(_PART_SCAN, _PART_NAMES, clause[intact.end() :])[0]
            fine = before[-1:] or after[:1] or (["outer", "contents"] if _ALL.search(clause) else [])
            negated |= set(fine)
            found = [o for o in found if o not in fine]
        elif _BOTH_EXPLICIT.search(clause):
            said_both = True
        elif _ALL.search(clause):
            said_all = True
        named.update(found)
        out |= negated
        weak = weak or bool(_WEAK_CONTENTS.search(clause))
    named -= out
    if said_both or named == {"outer", "contents"}:
        return "both"
    if len(named) == 1:
        return next(iter(named))
    if said_all and not out:
        return "both"
    if len(out) == 1:
        return ({"outer", "contents"} - out).pop()
    if weak and not out:
        return "contents"
    return None


# What to do with a late parcel
# Phrase tables laid out by hand, several entries a line.
# fmt: off
_DELAY_PHRASES = {
    "priority": (
        *_zh("加急 加快 快点 快一点 快些 尽快 尽早 赶紧 赶快 抓紧 催一下 催一催 帮我催 催催 催件 优先",
             "早点送 早点到 早些 急用 急着用 越快越好 马上送 立刻送 今天(?:就)?(?:要|送到?) 明天(?:就)?(?:要|送到?)"),
        *_en(("rush(?: it)?", "expedite", "priority", "prioriti[sz]e", "asap", "as soon as possible", "hurry",
              "faster", "quicker", "quickly", "speed (?:it )?up", "urgent", "sooner")),
    ),
    "pickup": (
        *_zh("自取 自提 自己(?:去)?(?:取|拿|提|领) (?:去|到)(?:网点|驿站|站点|快递点|门店|快递站)(?:取|拿|提|领)?",
             "驿站 网点 快递点 快递柜 快递站 丰巢 菜鸟 代收点 取件点"),
        *_en(("pick(?:ing)? (?:it |them )?up", "pickup", "collect", "fetch", "get it myself", "come (?:and|to) get",
              "outlet", "locker", "station", "depot", "branch")),
    ),
    "redirect": (
        *_zh("改地址 换地址 换个地址 改个地址 改一下地址 地址改 地址换 改派 转寄 改寄 改送 新地址 别的地址",
             "其他地址 另一个地址 换个地方 别的地方 其他地方 送到我?(?:公司|单位|家里|家|学校|店里|别处|另)"),
        *_en(("redirect", "forward", "reroute", "change (?:the |my )?address", "update (?:the |my )?address",
              "(?:new|different|another|other) address",
              "(?:deliver|send) (?:it )?to (?:my )?(?:office|work|another|a different)")),
    ),
    "keep_waiting": (
        *_zh("再等 继续等 等着 我等 等吧 就等 愿意等 可以等 能等 等几天 多等 等它 等就好 等待 慢慢来 慢慢送"),
        *_en(("keep waiting", "i'?ll wait", "i will wait", "i can wait", "i'?ll just wait", "wait for it",
              "happy to wait", "fine to wait", "(?:i|we) don'?t mind waiting", "wait (?:a bit )?longer")),
    ),
}
_DELAY_EXPLICIT = {
    "keep_waiting": (
        *_zh("不急 不着急 不用急 别急 不用加急 不用催 不必加急 不用那么急"),
        *_en(("no rush", "no hurry", "not in a hurry", "don'?t rush", "no need to rush", "not urgent")),
    ),
}
"""Phrases that name an option with words of another ("不用加急" is waiting)."""
_DELAY_RULED_OUT = {
    "keep_waiting": (
        *_zh("不想等 不能等 等不了 等不及 不等了 别等 没法等 不愿意等 不要等 不想再等"),
        *_en(("can'?t wait", "don'?t want to wait", "won'?t wait", "not wait", "no more waiting", "tired of waiting",
              "stop waiting", "not going to wait")),
    ),
}
"""Phrases that rule an option out."""
# fmt: on
_DELAY_SCAN = _choice_pattern({o: _DELAY_PHRASES[o] for o in DELAY_OPTIONS}, _DELAY_EXPLICIT, _DELAY_RULED_OUT)


def read_delay_option(text: str | None, offered: Sequence[str] | None = None) -> str | None:
    """What the customer wants done with a late parcel.

    Args:
        text: The reply ("帮我加急", "送到驿站我自己取", "换个地址", "我再等等", "rush it",
            "I'll wait"; a number picks from ``offered`` in order).
        offered: The options offered, in the order shown (optional).

    Returns:
        One of :data:`DELAY_OPTIONS` (maybe one not offered: the caller says so),
        or ``None`` when the reply names none, several, or asks something back.
    """
    norm = normalise(text)
    number = _numbered(norm)
    if number is not None:
        return offered[number - 1] if offered and number <= len(offered) else None
    named: set[str] = set()
    out: set[str] = set()
    for clause in _clauses(norm, polar=False):
        found, negated = _scan(_DELAY_SCAN, DELAY_OPTIONS, clause)
        named.update(found)
        out |= negated
    named -= out
    if named == {"pickup", "redirect"}:
        return "pickup"  # "送到驿站我自己取": delivered to a pickup point
    if len(named) == 1:
        return next(iter(named))
    if not named and out and offered:
        left = [o for o in offered if o not in out]
        return left[0] if len(left) == 1 else None
    return None


# ------------------------------------------------------------------ amounts
_REPAIR = re.compile(r"修|repair|fix")
_MINOR = re.compile(
    r"一点点|一点儿|一丁点|轻微|稍微|不严重|小问题|(?:坏|破|碎|裂|凹|损|划)了?一点|"
    r"\b(?:a little|slightly|minor|a bit|barely|a scratch|scratched)\b"
)


def _stated(text: str | None) -> str:
    """The reply's statements, joined (questions back left out); numbers are not cut at commas."""
    return " ".join(_clauses(normalise(text), polar=False))


def read_amount(text: str | None) -> Decimal | None:
    """An amount of money in yuan, above zero ("两千出头" is 2000, "around 2k", "not more than 500").

    Args:
        text: The customer's reply.

    Returns:
        The amount, or ``None`` for no amount, zero, or a question back
        ("多少合适？").
    """
    amount = parse_amount(_stated(text))
    return amount if amount is not None and amount > 0 else None


def read_extent(text: str | None) -> str | None:
    """How bad the damage is.

    Returns:
        ``"share:0.3000"`` for a damaged share ("三成", "about half", "七八成" is 0.7,
        "一点点" is 0.05), ``"repair:350.00"`` for a repair estimate or loss in yuan,
        ``"unknown"`` when the customer cannot say, or ``None`` when the reply holds
        none of these.
    """
    stated = _stated(text)
    if not stated:
        return None
    amount = parse_amount(stated)
    share = parse_share(stated)
    if share is None and amount is None and _MINOR.search(stated):
        share = Decimal("0.05")
    if amount is not None and (share is None or _REPAIR.search(stated)):
        return f"repair:{amount}"
    if share is not None:
        return f"share:{share.quantize(Decimal('0.0001'))}"
    if _UNSURE.search(stated):
        return "unknown"
    return None
