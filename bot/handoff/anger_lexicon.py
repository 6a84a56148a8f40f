r"""Word lists for :mod:`bot.handoff.anger`, Chinese and English.

Every list holds regular-expression fragments matched against *normalised* text:
NFKC (full-width ``！`` becomes ``!``), simplified Chinese, lower case. Chinese
fragments match anywhere. English fragments match whole words only: :mod:`bot.handoff.anger`
puts an ASCII word boundary before them and forbids a letter or digit after them, so
they also match right next to Chinese characters (``我要sue你们``).

The categories are the reason codes of :class:`bot.handoff.anger.AngerResult`; their weights
live in :class:`bot.handoff.anger.AngerConfig`, not here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Final

# Word tables laid out by hand, several entries a line.
# fmt: off
INSULT_ZH: tuple[str, ...] = (
    "垃圾", "废物", "骗子", "骗人", "骗钱", "诈骗", "什么破", "破公司", "破快递", "破服务", "破系统", "破网站",
    "破app", "破玩意", "破地方", "什么烂", "烂公司", "烂快递", "烂服务", "傻逼", "傻b", "傻比", "傻x", "煞笔",
    "沙比", "傻叉", "白痴", "智障", "脑残", "弱智", "蠢货", "蠢猪", "猪脑", "饭桶", "混蛋", "王八", "流氓", "强盗",
    "土匪", "人渣", "狗东西", "畜生", "禽兽", "败类", "无赖", "无耻", "不要脸", "黑心", "无良", "奸商",
    "听不懂人话", "骗鬼", "糊弄鬼", "是个笑话", "天大的笑话", "聋了", "瞎了", "眼瞎", "一点用都没有", "一点用没有",
    "有什么用", "要你们何用", "抢钱", "抢劫",
)
"""Insults aimed at the company, its staff or its service."""

INSULT_EN: tuple[str, ...] = (
    r"idiots?", "idiotic", "stupid", "useless", r"scam(?:s|mers?)?", r"fraud(?:s|sters?|ulent)?", "thief",
    "thieves", r"liars?", "incompetent", "pathetic", r"morons?", "moronic", r"clowns?", "dumb", "garbage", "trash",
    "rubbish", "worthless", r"crooks?", r"losers?", r"disgrace(?:ful)?", "shameful", "what a joke", r"a joke",
    "joke of a", "clueless", "hopeless", "you people",
)

SCAM_WORDS_ZH: tuple[str, ...] = ("骗子", "骗人", "骗钱", "诈骗")
SCAM_WORDS_EN: tuple[str, ...] = (r"scam(?:s|mers?)?", r"fraud(?:s|sters?|ulent)?")
"""Insult fragments that are not insults when a customer reports a scam call or text."""

SCAM_REPORT_CONTEXT: tuple[str, ...] = (
    "冒充", "假冒", "自称", "陌生", "诈骗电话", "诈骗短信", "骗子电话", "骗子短信", "是诈骗吗", "是不是诈骗",
    "是骗子吗", "是不是骗子", "is this a scam", "is it a scam", "is that a scam", "scam call", "scam text",
    "pretend", "claiming to be", "someone called", "someone texted", "got a text", "received a text", "got a call",
    "received a call",
)
"""Words showing that a scam word describes a third party's call or message."""

PROFANITY_ZH: tuple[str, ...] = (
    "卧槽", "我槽", "卧草", "握草", "我擦", "我艹", "我靠", "我操", "操你", "草泥马", "艹",
    r"(?<![我你他她老姑舅姥奶妈爸大后])妈的", r"他妈(?!妈)", r"她妈(?!妈)", r"你妈(?!妈)", "尼玛", "你妹", "妈蛋",
    "特么", "tm的", "踏马的", "他喵的", "日了狗", "日你", "去死吧", "你去死", "去死!", "狗屎", "狗屁", "放屁",
    "屁话", "滚蛋", "给我滚", "滚!", "见鬼了", "真见鬼", "活见鬼", "该死", "他娘的", "麻痹", "妈逼", "靠!", "靠靠",
    "我去你",
)

PROFANITY_EN: tuple[str, ...] = (
    r"f+[u*@#$%!.]*c*k+(?:ing|in|ed|er|ers|s)?", r"f\*{2,}(?:ing|in)?", r"f[*u]cking", "effing", "fking",
    r"sh[i1!*]+t+(?:ty|s)?", "bullshit", "damn", "dammit", "goddamn", r"god damn(?:ed)?", "wtf", "wth", "the hell",
    "hell", "crap", "crappy", "piss(?:ed)?(?: off)?", r"bastards?", r"assholes?", r"bitch(?:es)?", "stfu", "tmd",
    "nmd", "cnm", "nmsl", "mlgb", "nnd", "screw you", "screw this", "bloody", "omfg",
)

SB_PATTERN = r"(?<![a-z])sb(?![a-z])"
"""``SB`` (傻逼); only an insult in text with Chinese or when typed in capitals."""

THREAT_COMPLAINT_ZH: tuple[str, ...] = (
    "投诉", r"(?<!\d)12315(?!\d)", r"(?<!\d)12305(?!\d)", "消协", "消费者协会", "消保委", "市场监管", "工商局",
    "邮政管理局", "邮管局", "举报", "黑猫",
)
"""Complaint words; 12315 is the consumer hotline, 12305 the postal regulator's appeal line."""

THREAT_COMPLAINT_EN: tuple[str, ...] = (
    r"complain(?:t|ts|ing|ed)?", "consumer protection", r"report(?:ing)? (?:you|your|this to|them)",
    r"(?:i'm|i am|i will|i'll) (?:be )?report(?:ing)? (?:this|it)", "ombudsman", "better business bureau",
    "trading standards",
)

THREAT_PUBLIC_ZH: tuple[str, ...] = (
    "曝光", "发微博", "上微博", "微博曝光", "发到微博", "发到网上", "发朋友圈", "发抖音", "发小红书", "发到小红书",
    "找媒体", "联系媒体", "告诉媒体", "媒体曝光", "记者", "上新闻", "差评", r"一星(?!期)", "告诉所有人",
    "让大家都知道", "朋友都别用", "告诉朋友",
)

THREAT_PUBLIC_EN: tuple[str, ...] = (
    r"bad reviews?", r"negative reviews?", r"(?:1|one|zero|0)[- ]stars?", "go public", "social media",
    r"on (?:twitter|facebook|tiktok|instagram|weibo)", "tweet", "the news", "the press", "journalist", "trustpilot",
    "yelp", "tell everyone", "warn everyone", "warn others", r"tell(?:ing)? (?:all )?my friends",
    r"post(?:ing)? (?:this|it) (?:online|on)",
)

LEGAL_ZH: tuple[str, ...] = (
    "律师", "起诉", "法院", "告你们", "告你", "告到", "打官司", "法律途径", "法律手段", "法律责任", "走法律",
    "诉讼", "仲裁", "报警",
)

LEGAL_EN: tuple[str, ...] = (
    r"sue (?:you|your|the|them|this|for)", r"(?:will|going to|gonna|i'll|i will) sue", r"suing", "lawsuit",
    r"lawyers?", r"(?:call|calling|report (?:this|it|you) to) the police", r"attorneys?", r"solicitors?",
    "legal action", "take legal", r"(?:to|in) court", "court case", "small claims",
)

ANGER_WORD_ZH: tuple[str, ...] = (
    "生气", "气死", "气炸", "气疯", "愤怒", "火大", "恼火", "发火", "受够", "忍无可忍", "太过分", "过分",
    "欺人太甚", "岂有此理", r"恶心(?!想吐|反胃|头晕)", "不可理喻", "火冒三丈", "可恶", "气人", "怒了", "暴躁",
    "什么态度", "态度恶劣", "态度极差", "态度太差", "态度差", "服务太差", "太差劲", "差劲", "极差", "最差", "烂透",
    "失望透顶", "太离谱", "离谱", "无法接受", "不能接受", "接受不了", "耍我", "搞什么", "什么玩意", "有病",
    "凭什么", "还做不做生意", "服了你们", "烦死", "不想干了", "想不想干", "就这服务", "就这态度", "就这效率",
    "就这水平", "这事没完", "跟你们没完", "真有你们的", "讲不讲道理", "不讲道理", "不讲理", "欺负人", "气出病",
    "气得", "气坏", "急眼", "要疯了", "没耐心", "耐心用完", "耐心已经", "最后一遍", "怎么还没倒闭", "早点倒闭",
    "赶紧倒闭", "倒闭算了", "不干人事", "干点人事", "长点心", "长点脑子", "没脑子", "有没有脑子", "赔得起",
    "不要信誉", "要不要信誉", "没信誉", "被狗吃了", "爱要不要", "什么服务", "什么鬼", "开什么玩笑", "开玩笑吗",
    "逗我", "忍不了", "受不了", "一肚子火", "怒火", "气愤", "愤慨", "不像话", "像话吗", "有完没完", "没完没了",
    "还有脸", "好意思说", "脸呢", "几个意思", "什么意思啊", "想怎样", "算怎么回事",
)

ANGER_WORD_EN: tuple[str, ...] = (
    "angry", "furious", "pissed", "outraged", "outrageous", "livid", "fuming", r"infuriat\w*", "unacceptable",
    "not acceptable", "disgusting", "disgusted", "ridiculous", "absurd", "fed up", r"sick of", "sick and tired",
    "had enough", "worst", "terrible", "horrible", "awful", "appalling", "atrocious", r"sucks?", "how dare",
    r"nightmares?", "unbelievable", r"(?:i've|i have) had it", "had it with",
    r"(?:lost|losing|out of) (?:my )?patience", "enough is enough", "last straw", "shambles", "disaster",
    "nonsense", r"what kind of (?:service|company|joke)", "you call this", "shame on you", "total waste",
    "waste of time", "so-called", "are you kidding", "kidding me", "insane", "madness",
)

ANGER_EMOJI: tuple[str, ...] = ("😡", "🤬", "😠", "💢", "👿", "😤", "🖕")

ACCUSATION_ZH: tuple[str, ...] = (
    "敷衍", "踢皮球", "推来推去", "推卸", "推脱", "甩锅", "不负责", "不作为", "不管不顾", "不理不睬", "爱答不理",
    "没人管", "没人理", "没人回", "不理人", "坑人", "坑爹", "忽悠", "糊弄", "欺骗", "霸王条款", "吞了", "私吞",
    "偷东西", "监守自盗", "说话不算话", "机器人吗", "耍人", "必须负责", "必须给我", "给个说法", "给我个说法",
    "给我一个说法", "负全责", "找你们领导", "叫你们领导", "找你们经理", "叫你们经理", "你们领导呢", "复制粘贴",
    "套话", "话术", "车轱辘话", "模板回复", "不认账", "私自", "擅自", "伪造", "冒签", "骂人", "吼我", "凶我",
    "没礼貌",
)
"""Accusations of bad faith, evasion or neglect, and demands for redress or a manager."""

ACCUSATION_EN: tuple[str, ...] = (
    r"lied", "lying", r"stole", "excuses", "you promised", "fobbing", "stolen by", "nobody cares", "you don't care",
    "don't even care", "copy-paste", "copy paste", "fobbed", "run around", "runaround", "ignoring me", "ignored me",
    "passing the buck", "rip-off", "ripoff", "ripped off", "rude", "shouted at", "yelled at", "swore at",
    "i demand", r"(?:refund|compensation|money back) now", "want my money back",
)

THREAT_LEAVE_ZH: tuple[str, ...] = (
    "再也不用", "再也不会用", "再也不寄", "再也不买", "以后再也不", "换一家", "换别家", "最后一次用", "拉黑你们",
    "打死也不", "不会再用", "取消合作",
)
"""Threats to stop using the company."""

THREAT_LEAVE_EN: tuple[str, ...] = (
    r"never (?:use|using) (?:you|your)", "last time i use", "last time i'm using", "never again", "done with you",
    "i'm done", r"avoid (?:you|your|this company)", "take my business elsewhere",
    r"won't (?:use|be using) (?:you|your)", "switching to another",
)

FRUSTRATION_ZH: tuple[str, ...] = (
    "到底", "究竟", "几次了", "第几次", "多少次", "多少遍", "又是", "又没", "又被", "再三", "三番五次", "每次都",
    "一次又一次", "还要等多久", "要等到什么时候", "有没有人", "人呢", "有人管吗", "能不能给个", "烦人", "无语",
    "崩溃", "抓狂", "郁闷", "心累", "服了", "醉了", "呵呵", "失望", "不满", "不爽", "急死", "怎么搞的", "搞什么鬼",
    "什么情况啊", "有没有人管", "打不通", "没人接", "折腾", r"第[二三四五六七八九十\d]+次",
    r"(?:压|等|拖|卡|放)了(?:整整)?[一二两三四五六七八九十几半\d]+(?:个)?(?:天|周|星期|礼拜|月)",
    r"都(?:已经)?[一二两三四五六七八九十几半\d]+(?:个)?(?:天|周|星期|礼拜|月|小时)了",
    r"(?:说|问|打|催|找)了[一二两三四五六七八九十几好多\d]+(?:次|遍)",
)
"""Impatience and exasperation: weak alone, strong next to intensity."""

FRUSTRATION_EN: tuple[str, ...] = (
    "again", "still", "how many times", "seriously", "what is going on", "what's going on", "every time", "nobody",
    "no one", "no response", "no reply", "how much longer", "come on", "disappointed", "disappointing", "not happy",
    "unhappy", "annoyed", "annoying", "frustrated", "frustrating", "upset", "poor service", "bad service",
    "waste of", "for the last time", r"(?:third|fourth|fifth|\d+th) time",
)

NEGATION_EXCEPTIONS_AFTER: tuple[str, ...] = ("不行", "才怪", "不可", "不成")
"""After a negated word, these undo the negation: 不投诉不行了 is still a threat."""

COMPLAINT_QUESTION: tuple[str, ...] = (
    "电话", "热线", "号码", "渠道", "方式", "流程", "入口", "在哪", "哪里", "怎么", "如何", "多少", "吗", "什么",
    "?", "处理得", "进度", "结果", "有没有", "邮箱", "是否", "能否", "可以", "how", "what", "where", "which",
    "number", "hotline", "phone", "email", "process", "procedure", "can i", "could i", "is there", "status",
)
"""Words that make a complaint word part of a question about complaining."""

COMPLAINT_THREAT: tuple[str, ...] = (
    "一定", "必须", "马上", "立刻", "立即", "等着", "直接", "肯定", "再不", "不然", "否则", "投诉你", "投诉他",
    "投诉她", "投诉快递员", "投诉那个", "投诉这个", "已经投诉", "投诉了", "投诉过", "i will", "i'll", "i am going",
    "i'm going", "gonna", "already", "otherwise", "or else", "unless", "against", "about you", "about your",
)
"""Words that make a complaint word a threat even inside a question."""

COMPLAINT_INTENT: tuple[str, ...] = (
    "我要", "我会", "我就", "就去", "要去", "去投诉", "想投诉", "i want to file", "i want to make",
    "i'd like to make", "i would like to make", "i want to complain", "i'd like to complain",
)
"""Words of intent: a threat, unless the question is hypothetical (我要投诉的话……)."""

HYPOTHETICAL: tuple[str, ...] = ("的话", "如果", "假如", "万一", "if i", "if we", "in case")

POLITE: tuple[str, ...] = (
    "请问", "麻烦", "劳驾", "请帮", "请您", "请你", "谢谢", "辛苦", "您好", "你好", "不好意思", "please",
    "could you", "would you", "kindly", "thanks", "thank you", "appreciate",
)

POSITIVE: tuple[str, ...] = (
    "谢谢", "感谢", "多谢", "太好了", "好评", "赞", "辛苦了", "给力", "thank", "thanks", "thx", "great", "awesome",
    "amazing", "love", "perfect", "excellent", "appreciate", "happy", "yay",
)
"""Gratitude and joy: exclamation marks next to them are excitement, not anger."""

EXCLUSIONS: tuple[str, ...] = (
    "垃圾桶", "垃圾袋", "垃圾分类", "垃圾短信", "垃圾邮件", "律师事务所", "律所", "人民法院", "法院路", "法院街",
    "court road", "courtyard", "courthouse", "trash bag", "garbage bag", "收垃圾", "扔垃圾", "倒垃圾", "垃圾站",
    "垃圾车", "垃圾堆", "分类垃圾", "still life", "lawyer's office", "law office", "寄给律师", "寄到律师",
    "送到律师",
)
"""Phrases that contain a signal word but are not a signal; masked before matching."""

EXCLUSION_PATTERNS: tuple[str, ...] = (
    r"寄[^,.!?，。！？]{0,8}(?:律师函|律师|法院|起诉书|诉状|判决书)",
    r"(?:send|sending|deliver|delivering|ship|shipping)[^,.!?]{0,40}to (?:a|my|the|our) (?:lawyer|solicitor|court)",
)
"""Regular expressions for sending legal papers, which is shipping, not a legal threat."""

CAPS_ALLOWED: frozenset[str] = frozenset(
    {
        "EMS", "DHL", "UPS", "USPS", "FEDEX", "TNT", "ETA", "SMS", "COD", "FAQ", "APP", "API", "USA", "PRC",
        "CEO", "VIP", "PDF", "JPG", "PNG", "GPS", "ASAP", "EUR", "USD", "CNY", "RMB", "ZTO", "YTO", "STO",
        "JDL", "DPD", "GLS", "SAT", "SUN", "MON", "TUE", "WED", "THU", "FRI", "AM", "PM", "URL",
        "POD", "AWB", "HAWB", "DDP", "DDU", "EXW", "FOB", "CIF", "UTC", "GMT", "CST", "POS", "NFC", "OTP",
        "PIN", "SIM", "LCD", "TV", "IKEA", "USB", "ETD", "RTS", "HKG", "PVG", "PEK", "CAN", "SZX", "LAX",
    }
)
"""Capitalised words that are names or acronyms, not shouting."""
# fmt: on

LAUGH_CHARS: frozenset[str] = frozenset("哈嘻嘿呵嘛6wxi.。…-_=~*")
"""Characters whose long runs are laughter, masks or layout, not anger."""

NEGATION_ZH: Final = re.compile(
    r"(?:并没有|没有|并不|并非|绝不|从不|从没|不用|不必|不需要|无意|没打算|不打算|不想|不会|不是|不算|不|没)"
    r"(?:是|要|想|会|太|很|再|在|去|给|打算|准备|那么|真的|真|有|的|一点也|一点都)?(?:要|想|会|去)?$"
)
"""A negation (and up to two filler characters) right before a Chinese signal word: 不生气, 我不是要投诉."""
A_NOT_A: Final = re.compile(r"(\w)[不没]\1(?:要|想|会|去|给)?$")
"""A-not-A questions (是不是, 有没有, 讲不讲) ask; they do not negate."""
# fmt: off
NEGATORS_EN: Final = frozenset(
    {"not", "never", "no", "don't", "dont", "didn't", "didnt", "won't", "wont", "isn't", "isnt", "aren't",
     "arent", "wasn't", "wasnt", "doesn't", "doesnt", "nothing", "without", "nor", "neither"}
)
"""English negators, looked for among the four words before a signal in the same clause."""
CONNECTORS_EN: Final = frozenset(
    {"and", "so", "but", "then", "or", "because", "if", "unless", "otherwise", "when", "since", "yet", "which",
     "that", "now"}
)
"""Clause connectors: a negation before them belongs to another clause (not arrived, so I'll complain)."""
# fmt: on


class Matcher:
    """A list's Chinese and English fragments, compiled apart.

    Python's ``re`` skips quickly over text that cannot start a match only when every
    alternative starts with a plain character, so mixing Chinese literals with the
    word-boundary guards of English words makes one pattern three to four times slower.
    English alternatives use ``re.ASCII`` word boundaries, which also hold next to Chinese.
    """

    __slots__ = ("patterns",)

    def __init__(self, zh: Iterable[str] = (), en: Iterable[str] = ()) -> None:
        zh, en = tuple(zh), tuple(en)
        patterns = []
        if zh:
            patterns.append(re.compile("|".join(zh)))
        if en:
            patterns.append(re.compile(r"\b(?:" + "|".join(en) + r")(?![a-z0-9])", re.ASCII))
        self.patterns: tuple[re.Pattern[str], ...] = tuple(patterns)

    @classmethod
    def literals(cls, phrases: Iterable[str]) -> Matcher:
        """Matcher for literal phrases; those starting with a Latin letter or digit match whole words."""
        zh: list[str] = []
        en: list[str] = []
        for phrase in sorted(phrases, key=len, reverse=True):
            part = re.escape(phrase)
            if phrase[-1].isascii() and phrase[-1].isalnum():
                part += r"(?![a-z0-9])"
            (en if phrase[0].isascii() and phrase[0].isalnum() else zh).append(part)
        return cls(zh, en)

    def finditer(self, text: str) -> Iterator[re.Match[str]]:
        """Every match of every pattern."""
        for pattern in self.patterns:
            yield from pattern.finditer(text)

    def search(self, text: str) -> bool:
        """Whether anything matches."""
        return any(pattern.search(text) for pattern in self.patterns)

    def mask(self, text: str) -> str:
        """Replace what matches with NULs, so positions stay the same."""
        for pattern in self.patterns:
            text = pattern.sub(lambda m: "\0" * len(m.group()), text)
        return text
