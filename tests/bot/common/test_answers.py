"""Answers in the customer's own words (bot/common/answers/): one table per question type, both languages.

Each table holds at least 30 phrasings, with the replies that must not be read
(``None``): a question back, "what?", "I don't know", an unrelated sentence.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from bot.common import answers
from bot.common.answers import ACCEPT, CONFIRM, KEPT
from bot.delay import options as delay_options

NOT_ANSWERS = [
    "什么？",
    "what?",
    "啥意思",
    "蓝色的",
    "今天天气不错",
    "my parcel is late",
    "",
    "hmm",
    "why?",
    "嗯……",
    "hmm...",
    "嗯？",
]
"""Replies that answer no question at all."""

# ------------------------------------------------------------------ yes / no
KEPT_TABLE = [
    # yes: kept
    ("包装还留着", True), ("还留着呢", True), ("在呢", True), ("还在", True), ("没扔", True), ("留着", True),
    ("都还在", True), ("箱子还在，泡沫也在", True), ("有", True), ("有的", True), ("是的，还留着", True),
    ("嗯，在家放着", True), ("没丢", True), ("还没扔", True), ("我没把它扔掉", True), ("舍不得扔", True),
    ("外包装和填充物都保留着", True), ("保留了", True), ("存着呢", True), ("還留著", True), ("I kept it", True),
    ("kept", True), ("yes, kept it", True), ("still got the box", True), ("still have it", True),
    ("I still have the box", True), ("I didn't throw it away", True), ("haven't thrown it out", True),
    ("yes I do", True), ("it's still here", True), ("yeah I kept everything", True), ("no, I still have it", True),
    ("对，留着", True),
    # no: thrown away
    ("扔了", False), ("早扔了", False), ("早就扔了", False), ("丢了", False), ("包装丢了", False), ("扔掉了", False),
    ("被我扔了", False), ("没留", False), ("没有保留", False), ("不在了", False), ("没了", False), ("找不到了", False),
    ("不要了", False), ("早不要了", False), ("在垃圾桶里", False), ("当垃圾扔了", False), ("都扔了", False),
    ("卖废品了", False), ("没有", False), ("不是", False), ("否", False), ("nope, threw it away", False),
    ("threw it away", False), ("I threw it out", False), ("no", False), ("No.", False), ("nah", False),
    ("I don't have it anymore", False), ("not anymore", False), ("it's gone", False), ("tossed it", False),
    ("binned it", False), ("I didn't keep it", False), ("recycled it", False), ("no longer have it", False),
    # not an answer
    ("要留着吗？", None), ("为什么要留包装", None), ("不知道", None), ("不记得了", None), ("我再想想", None),
    ("算了", None), ("stop", None), ("留了箱子，泡沫扔了", None), ("maybe", None), ("2000", None),
    ("do I need to keep it?", None), ("SF1648547086646", None), ("我不在家", None),
]  # fmt: skip
CONFIRM_TABLE = [
    ("对", True), ("是的", True), ("没错", True), ("没问题", True), ("信息无误", True), ("都对", True),
    ("对的，提交吧", True), ("确认", True), ("确认无误", True), ("没什么问题", True), ("可以", True), ("提交", True),
    ("就这样", True), ("嗯对", True), ("正确", True), ("不错", True), ("没毛病", True), ("全对", True),
    ("yes", True), ("correct", True), ("that's right", True), ("looks good", True), ("all good", True),
    ("confirm", True), ("yep, submit it", True), ("nothing wrong", True), ("no changes", True), ("OK", True),
    ("perfect", True), ("sure", True),
    ("不对", False), ("错了", False), ("不是", False), ("地址写错了", False), ("有问题", False), ("要改一下", False),
    ("价值写错了", False), ("照片少了一张", False), ("需要修改", False), ("不正确", False), ("有误", False),
    ("否", False), ("重新填", False), ("不确认", False), ("数字不对", False), ("不是这样", False), ("no", False),
    ("wrong", False), ("not right", False), ("that's wrong", False), ("incorrect", False),
    ("I need to change something", False), ("there's a mistake", False), ("nope", False),
    ("No, the value is wrong", False), ("not correct", False), ("something is wrong", False),
    ("这是什么意思", None), ("不知道", None), ("我再看看", None), ("算了", None), ("多久能赔？", None),
    ("I'm not sure", None), ("maybe", None), ("sure thing", True), ("absolutely not", False),
]  # fmt: skip
ACCEPT_TABLE = [
    ("接受", True), ("同意", True), ("可以", True), ("行", True), ("好的", True), ("好吧", True), ("行吧", True),
    ("没问题", True), ("没意见", True), ("就这样吧", True), ("我接受", True), ("可以接受", True), ("满意", True),
    ("成交", True), ("是", True), ("嗯", True), ("不用复核了", True), ("yes", True), ("accept", True),
    ("I accept", True), ("ok", True), ("fine", True), ("deal", True), ("sounds good", True), ("that works", True),
    ("sure", True), ("agreed", True), ("fair enough", True), ("I'll take it", True), ("yes please", True),
    ("不接受", False), ("不同意", False), ("不行", False), ("太少了", False), ("少了点", False), ("不满意", False),
    ("我要复核", False), ("不能接受", False), ("无法接受", False), ("转人工", False), ("找专员", False),
    ("拒绝", False), ("否", False), ("不", False), ("有意见", False), ("申诉", False), ("不够", False), ("no", False),
    ("reject", False), ("too low", False), ("not enough", False), ("I want a review", False),
    ("I don't accept", False), ("not happy", False), ("no thanks", False), ("decline", False),
    ("I want more money", False), ("nope", False), ("no way", False), ("of course not", False),
    ("多久到账？", None), ("怎么赔？", None), ("不知道", None), ("我再想想", None), ("能不能多赔点", None),
    ("why so little?", None), ("how long does it take?", None), ("maybe", None),
]  # fmt: skip


@pytest.mark.parametrize(("text", "expected"), KEPT_TABLE)
def test_packaging_kept(text: str, expected: bool | None) -> None:
    assert answers.read_yes_no(text, KEPT) is expected


@pytest.mark.parametrize(("text", "expected"), CONFIRM_TABLE)
def test_summary_confirmed(text: str, expected: bool | None) -> None:
    assert answers.read_yes_no(text, CONFIRM) is expected


@pytest.mark.parametrize(("text", "expected"), ACCEPT_TABLE)
def test_offer_accepted(text: str, expected: bool | None) -> None:
    assert answers.read_yes_no(text, ACCEPT) is expected


@pytest.mark.parametrize("topic", [KEPT, CONFIRM, ACCEPT, answers.ANY])
@pytest.mark.parametrize("text", NOT_ANSWERS)
def test_yes_no_not_answers(topic: str, text: str) -> None:
    assert answers.read_yes_no(text, topic) is None


def test_yes_no_tables_are_big_enough() -> None:
    for table in (KEPT_TABLE, CONFIRM_TABLE, ACCEPT_TABLE):
        assert len(table) >= 30
        assert {expected for _, expected in table} == {True, False, None}
        texts = [text for text, _ in table]
        assert any(t.isascii() for t in texts) and any(not t.isascii() for t in texts)


def test_stop_words_are_read_by_topic() -> None:
    # "不要了" to "do you still have it?" says it is gone; to other questions it means "stop"
    assert answers.read_yes_no("不要了", KEPT) is False
    assert answers.read_yes_no("不要了", CONFIRM) is None
    assert answers.is_stop("不要了") and answers.is_stop("Stop!") and not answers.is_stop("不要停")


# ------------------------------------------------------------------ what is damaged
PART_TABLE = [
    ("外包装", "outer"), ("packaging", "outer"), ("1", "outer"), ("option 1", "outer"), ("箱子压扁了", "outer"),
    ("纸箱一角压塌了", "outer"), ("外面", "outer"), ("box", "outer"), ("The carton is crushed", "outer"),
    ("only the box", "outer"), ("里面没事，箱子破了", "outer"), ("包装破了一点，里面没事", "outer"),
    ("内件物品", "contents"), ("contents", "contents"), ("2", "contents"), ("选2", "contents"),
    ("里面的东西", "contents"), ("the item itself", "contents"), ("外包装没坏，里面碎了", "contents"),
    ("箱子好好的，杯子碎了", "contents"), ("不是外包装，是里面", "contents"), ("不是外包装", "contents"),
    ("杯子都碎了", "contents"), ("碎了", "contents"), ("手机屏幕碎了", "contents"), ("my cups are broken", "contents"),
    ("the box is fine but the item is broken", "contents"), ("not the box, the stuff inside", "contents"),
    ("just the contents", "contents"), ("箱子没坏杯子碎了", "contents"),
    ("外包装还行，主要是里面的东西坏了", "contents"),
    ("都有破损", "both"), ("both", "both"), ("3", "both"), ("３", "both"), ("第三个", "both"), ("都坏了", "both"),
    ("箱子和里面的杯子", "both"), ("里外都坏了", "both"), ("两个都坏了", "both"), ("全部", "both"),
    ("both of them", "both"), ("everything", "both"), ("box and contents", "both"),
    ("都没坏", None), ("不知道", None), ("外包装是什么", None), ("4", None), ("你是机器人吗", None),
    ("not at all", None), ("sure thing", None),
]  # fmt: skip


@pytest.mark.parametrize(("text", "expected"), PART_TABLE)
def test_part(text: str, expected: str | None) -> None:
    assert answers.read_part(text) == expected


@pytest.mark.parametrize("text", NOT_ANSWERS)
def test_part_not_answers(text: str) -> None:
    assert answers.read_part(text) is None


# ------------------------------------------------------------------ what to do with a late parcel
OFFERED = ("priority", "redirect", "keep_waiting")
DELAY_TABLE = [
    ("帮我加急", "priority"), ("快点送", "priority"), ("优先派送", "priority"), ("能加急吗？", "priority"),
    ("能不能快点", "priority"), ("越快越好", "priority"), ("我明天就要用", "priority"), ("催一下", "priority"),
    ("不想等了，帮我加急", "priority"), ("选1", "priority"), ("rush it", "priority"), ("priority dispatch", "priority"),
    ("can you expedite it", "priority"), ("hurry up please", "priority"),
    ("送到驿站我自己取", "pickup"), ("改为网点自取", "pickup"), ("我去网点取", "pickup"), ("放快递柜吧", "pickup"),
    ("Collect at an outlet", "pickup"), ("I'll pick it up myself", "pickup"),
    ("换个地址", "redirect"), ("改派地址", "redirect"), ("送到我公司", "redirect"), ("地址改一下", "redirect"),
    ("2", "redirect"), ("Redirect to another address", "redirect"), ("change the address please", "redirect"),
    ("deliver it to my office instead", "redirect"), ("send it to a different address", "redirect"),
    ("我再等等", "keep_waiting"), ("继续等待", "keep_waiting"), ("不急", "keep_waiting"),
    ("不着急，慢慢来", "keep_waiting"), ("不用加急", "keep_waiting"), ("算了，等着吧", "keep_waiting"),
    ("不用改地址，我等着", "keep_waiting"), ("I'll wait", "keep_waiting"), ("Keep waiting", "keep_waiting"),
    ("no rush", "keep_waiting"), ("I can wait", "keep_waiting"),
    ("不想等了", None), ("等不及了", None), ("不用改地址", None), ("I don't want to wait", None),
    ("优先派送要加钱吗", None), ("改地址怎么弄", None), ("等", None), ("等一下", None), ("稍等", None),
    ("等等", None), ("我要投诉", None), ("转人工", None), ("7", None),
]  # fmt: skip


@pytest.mark.parametrize(("text", "expected"), DELAY_TABLE)
def test_delay_option(text: str, expected: str | None) -> None:
    assert answers.read_delay_option(text, OFFERED) == expected


@pytest.mark.parametrize("text", NOT_ANSWERS)
def test_delay_option_not_answers(text: str) -> None:
    assert answers.read_delay_option(text, OFFERED) is None


def test_delay_option_ruled_out_leaves_the_only_other_offer() -> None:
    assert answers.read_delay_option("不想等了", ("priority", "keep_waiting")) == "priority"
    assert answers.read_delay_option("不想等了", OFFERED) is None  # two left: ask again
    assert answers.read_delay_option("2") is None  # a number means nothing without the offer


def test_delay_option_ids_are_the_delay_module_ids() -> None:
    assert set(answers.DELAY_OPTIONS) == set(delay_options.OPTIONS)


# ------------------------------------------------------------------ amounts
AMOUNT_TABLE = [
    ("两千出头", "2000"), ("around 2k", "2000"), ("一千五左右", "1500"), ("大概三百来块", "300"),
    ("about 1,200 yuan", "1200"), ("not more than 500", "500"), ("2000", "2000"), ("¥2000", "2000"),
    ("2,000元", "2000"), ("两千块", "2000"), ("大概两千吧", "2000"), ("two thousand", "2000"), ("2 grand", "2000"),
    ("2000ish", "2000"), ("差不多八百", "800"), ("八百多点", "800"), ("1.2万", "12000"), ("小两千", "2000"),
    ("不到两千", "2000"), ("一两千", "1000"), ("五六百", "500"), ("一千二三", "1200"), ("万把块", "10000"),
    ("价值两千左右", "2000"), ("大概多少？两千吧", "2000"), ("2个杯子，一共三百", "300"), ("I paid 350 for it", "350"),
    ("about 2 weeks ago, 500 yuan", "500"), ("roughly 1.5k", "1500"), ("approximately ¥800", "800"),
    ("less than a thousand", "1000"), ("fifteen hundred yuan", "1500"), ("a grand", "1000"), ("兩千塊", "2000"),
    ("what?", None), ("多少合适？", None), ("不知道", None), ("贵", None), ("0元", None), ("SF1234567890123", None),
    ("13812345678", None), ("等了3天", None), ("两个杯子", None), ("a couple hundred", None), ("five", None),
]  # fmt: skip


@pytest.mark.parametrize(("text", "expected"), AMOUNT_TABLE)
def test_amount(text: str, expected: str | None) -> None:
    assert answers.read_amount(text) == (None if expected is None else Decimal(expected))


@pytest.mark.parametrize("text", NOT_ANSWERS)
def test_amount_not_answers(text: str) -> None:
    assert answers.read_amount(text) is None


EXTENT_TABLE = [
    ("30%", "share:0.3000"), ("大概一半", "share:0.5000"), ("三成", "share:0.3000"), ("全坏了", "share:1.0000"),
    ("20", "share:0.2000"), ("七八成", "share:0.7000"), ("about 30", "share:0.3000"), ("坏了一点", "share:0.0500"),
    ("一点点", "share:0.0500"), ("大概三成左右", "share:0.3000"), ("百分之二三十", "share:0.2000"),
    ("two thirds", "share:0.6667"), ("about half", "share:0.5000"), ("a quarter of it", "share:0.2500"),
    ("total loss", "share:1.0000"), ("only slightly", "share:0.0500"), ("around 40%", "share:0.4000"),
    ("維修要三百", "repair:300.00"), ("维修要300块", "repair:300.00"), ("修一下两百元", "repair:200.00"),
    ("repair 350 yuan", "repair:350.00"), ("损失800元", "repair:800.00"), ("修的话三百来块", "repair:300.00"),
    ("fixing it costs about 2k", "repair:2000.00"), ("不知道", "unknown"), ("not sure", "unknown"),
    ("说不好", "unknown"), ("no idea", "unknown"), ("很严重", None), ("what?", None), ("怎么算？", None),
    ("not at all", None),
]  # fmt: skip


@pytest.mark.parametrize(("text", "expected"), EXTENT_TABLE)
def test_extent(text: str, expected: str | None) -> None:
    assert answers.read_extent(text) == expected


def test_amount_tables_are_big_enough() -> None:
    for table in (PART_TABLE, DELAY_TABLE, AMOUNT_TABLE, EXTENT_TABLE):
        assert len(table) >= 30
        assert any(expected is None for _, expected in table)
        assert any(text.isascii() and text.strip(" ?0123456789") for text, _ in table)


# ------------------------------------------------------------------ questions back, decisions
@pytest.mark.parametrize(
    ("text", "question"),
    [
        ("什么？", True), ("what?", True), ("什么意思", True), ("要留着吗？", True), ("why do you need it?", True),
        ("do I need to keep it", True), ("还在", False), ("I kept it", False), ("还在，要寄回去吗？", False),
        ("", False),
    ],
)  # fmt: skip
def test_is_question(text: str, question: bool) -> None:
    assert answers.is_question(text) is question


@pytest.mark.parametrize(
    ("text", "decided"),
    [
        ("送到驿站我自己取", True), ("帮我加急", True), ("换个地址吧", True), ("I'll wait", True), ("网点地址", False),
        ("改派到别的地址", False), ("能改地址吗", False), ("change my address please", False),
    ],
)  # fmt: skip
def test_is_decision(text: str, decided: bool) -> None:
    assert answers.is_decision(text) is decided
