"""A choice among a few options: what is damaged, what to do with a late parcel."""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot.common.answers.reading import alternation, clauses, normalise
from bot.common.answers.reading import en_words as _en
from bot.common.answers.reading import zh_words as _zh

PARTS = ("outer", "contents", "both")
"""What can be damaged: the outer packaging, the contents, or both."""
DELAY_OPTIONS = ("keep_waiting", "priority", "pickup", "redirect")
"""What a customer can choose for a late parcel (the option ids of :mod:`bot.delay.options`)."""


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
            groups.append(f"(?P<x{index}>{alternation(explicit[option])})")
        if ruled_out.get(option):
            groups.append(f"(?P<r{index}>{alternation(ruled_out[option])})")
    for index, option in enumerate(options):
        groups.append(f"(?P<n{index}>{_NEG_CHOICE}(?:{alternation(options[option])}))")
    for index, option in enumerate(options):
        groups.append(f"(?P<p{index}>{alternation(options[option])})")
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
    for clause in clauses(norm, polar=True):
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
    for clause in clauses(norm, polar=False):
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
