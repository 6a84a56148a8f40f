"""Anger scorer (bot.handoff.anger): signals in Chinese and English, negatives, conversations, data sets."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.handoff import anger_lexicon as lex
from bot.handoff.anger import DEFAULT, REASON_ORDER, AngerConfig, AngerResult, conversation_score, normalise, score
from tests.support import ROOT
from tests.support.shared_data import SHARED_DATA, require

SMP2020_DEV = SHARED_DATA / "smp2020-ewect" / "dev.tsv"
LOGISTICS = ROOT / "bench" / "data" / "anger_logistics.tsv"

# (text, reason that must be present, legal)
ANGRY = [
    # insults
    ("什么破快递，三天了还没到", "insult", False),
    ("你们客服是SB吧", "insult", False),
    ("ＳＢ快递员", "insult", False),  # full-width, NFKC
    ("傻逼快递员不送上门", "insult", False),
    ("一群废物，地址都能送错", "insult", False),
    ("你们就是骗子，收钱不发货", "insult", False),
    ("You are useless idiots", "insult", False),
    ("This company is a scam", "insult", False),
    # profanity
    ("卧槽，箱子全压扁了", "profanity", False),
    ("妈的，又没送到", "profanity", False),
    ("tmd什么时候才到", "profanity", False),
    ("f**k, missed delivery again", "profanity", False),
    ("What the hell is your driver doing", "profanity", False),
    # threats to complain
    ("我要投诉你们", "threat_complaint", False),
    ("再不处理我就打12315", "threat_complaint", False),
    ("我要去消费者协会反映", "threat_complaint", False),
    ("不投诉不行了", "threat_complaint", False),  # 不…不行 undoes the negation
    ("I will report you to consumer protection", "threat_complaint", False),
    ("I want to file a complaint against your driver", "threat_complaint", False),
    # threats to go public
    ("我要发微博曝光你们", "threat_public", False),
    ("必须给你们差评", "threat_public", False),
    ("I'm leaving a bad review everywhere", "threat_public", False),
    # legal threats
    ("我要找律师起诉你们", "legal_threat", True),
    ("信不信我去法院告你们", "legal_threat", True),
    ("I will sue you", "legal_threat", True),
    ("See you in court.", "legal_threat", True),
    # words of anger, emoji, accusations
    ("气死了，又没送到", "anger_word", False),
    ("I'm not angry, I'm FURIOUS", "anger_word", False),  # the second clause is not negated
    ("你们是不是不想干了", "anger_word", False),  # 是不是 asks, it does not negate
    ("😡", "anger_emoji", False),
    # intensity next to frustration, shouting
    ("到底什么时候到？？？", "intensity_punctuation", False),
    ("啊啊啊啊啊啊我的快递到底在哪里", "repeated_chars", False),
    ("WHERE IS MY PACKAGE???", "all_caps", False),
    ("Seriously?! Lost AGAIN?!", "frustration", False),
    # traditional Chinese is read as simplified
    ("這什麼爛服務！！！", "insult", False),
    ("我要投訴你們", "threat_complaint", False),
]

# (text, reasons expected exactly)
CALM = [
    ("请问我的快递为什么还没到，麻烦帮忙看一下", ()),
    ("有点着急", ()),
    ("急用，能快点吗", ()),
    ("I'm a bit worried", ()),
    ("Could you please check where my parcel is?", ()),
    ("帮我查一下我妈的快递", ()),  # 妈的 inside 我妈的 is not profanity
    ("包裹一星期了还在转运中", ()),  # 一星期 is not 一星 (one star)
    ("SF1231500000 到哪了", ()),  # 12315 inside a waybill number
    ("哈哈哈哈终于到了", ()),  # laughter is not repeated_chars
    ("有人冒充快递员让我点链接理赔，是诈骗吗？", ()),  # a scam report, not an insult
    ("我要寄一份材料到市中级人民法院，多久能到", ()),  # shipping to a court
    ("我要寄一个律师函给对方公司", ()),
    ("Please deliver to 4 Oak Court, Main Street", ()),
    ("I'm sending contracts to my lawyer, can you deliver by 9am?", ()),
    # negation
    ("我不生气，慢慢查", ("negated",)),
    ("我没有生气，只是问问进度", ("negated",)),
    ("我一点也不生气", ("negated",)),
    ("I'm not angry, just asking", ("negated",)),
    ("我不是要投诉，只是问一下什么时候到", ("negated",)),
    ("I don't want to complain, the driver was just late", ("negated",)),
    ("我不想给差评，但希望改进一下", ("negated",)),
    # asking about complaining is not a threat
    ("投诉电话是多少", ("complaint_enquiry",)),
    ("请问有没有投诉的邮箱", ("complaint_enquiry",)),
    ("我要投诉的话需要提供什么材料", ("complaint_enquiry",)),
    ("How do I file a complaint?", ("complaint_enquiry",)),
    # excitement is not anger
    ("谢谢！！！太快了", ("intensity_punctuation",)),
    ("THANK YOU SO MUCH!!!", ("intensity_punctuation", "all_caps")),
    ("AMAZING SERVICE, ARRIVED IN ONE DAY!!!", ("intensity_punctuation", "all_caps")),
]

ODD_INPUTS = [
    "",
    " ",
    "\x00\x01\x02",
    "\u202e\u200b\u200d",
    "\ud800",  # lone surrogate
    "e\u0301" * 500,
    "😡" * 10_000,
    "a" * 100_000,
    "！" * 5_000,
    "垃圾" * 3_000,
    "ＷＨＥＲＥ　ＩＳ　ＭＹ　ＰＡＲＣＥＬ？？？",
    "\uffff\ufffe\U0010ffff",
    "يا\u0644\u0644\u0647 !!!",
    "Z̸̢̛a̷l̶g̵o̴ ̸t̷e̵x̶t̴",
]


@pytest.mark.parametrize(("text", "reason", "legal"), ANGRY)
def test_angry_messages(text: str, reason: str, legal: bool) -> None:
    result = score(text)
    assert result.angry, result
    assert result.score >= DEFAULT.threshold
    assert reason in result.reasons
    assert result.legal is legal


@pytest.mark.parametrize(("text", "reasons"), CALM)
def test_calm_messages(text: str, reasons: tuple[str, ...]) -> None:
    result = score(text)
    assert not result.angry, result
    assert result.score < DEFAULT.threshold
    assert result.reasons == reasons
    assert result.legal is False


def test_asking_for_the_hotline_scores_below_a_threat() -> None:
    enquiry, threat = score("投诉电话是多少"), score("我要投诉，电话是多少")
    assert 0 < enquiry.score < DEFAULT.threshold <= threat.score
    assert threat.reasons == ("threat_complaint",)


def test_negated_legal_word_is_not_a_legal_threat() -> None:
    assert score("我不会起诉你们的，放心").legal is False
    assert score("I won't sue, just find my parcel").legal is False


def test_intensity_alone_is_not_anger_but_amplifies_a_signal() -> None:
    plain, loud = score("到底什么时候到"), score("到底什么时候到！！！")
    assert not plain.angry and loud.angry
    assert score("！！！").score < DEFAULT.threshold
    assert score("快递到了吗？！").score < DEFAULT.threshold


def test_politeness_softens_frustration() -> None:
    assert score("请问到底什么时候到？？麻烦了").score < score("到底什么时候到？？").score


@pytest.mark.parametrize("text", ODD_INPUTS, ids=range(len(ODD_INPUTS)))
def test_odd_input_never_raises_and_stays_in_bounds(text: str) -> None:
    result = score(text)
    assert 0.0 <= result.score <= 1.0
    assert result.angry == (result.score >= DEFAULT.threshold)
    assert set(result.reasons) <= set(REASON_ORDER)


def test_non_string_input_scores_zero() -> None:
    assert score(None) == AngerResult(0.0, False)  # type: ignore[arg-type]


def test_bounds_and_reason_order_over_the_logistics_set() -> None:
    for _, text in _load(LOGISTICS):
        result = score(text)
        assert 0.0 <= result.score <= 1.0
        assert list(result.reasons) == sorted(result.reasons, key=REASON_ORDER.index)


def test_long_message_keeps_its_closing_threat() -> None:
    text = "我的快递" + "还没到" * 2_000 + "，我要起诉你们"
    assert score(text).legal is True


def test_threshold_comes_from_the_config() -> None:
    text = "什么破快递"
    assert score(text).angry
    assert not score(text, AngerConfig(threshold=0.95)).angry
    assert score(text, AngerConfig(insult=0.9)).score > score(text).score


def test_config_from_mapping_checks_keys_and_values() -> None:
    assert AngerConfig.from_mapping({"threshold": 0.6, "rising_window": 4}).rising_window == 4
    with pytest.raises(ValueError, match="unknown anger settings: treshold"):
        AngerConfig.from_mapping({"treshold": 0.6})
    with pytest.raises(ValueError, match="insult"):
        AngerConfig(insult=-0.1)
    with pytest.raises(ValueError, match="threshold"):
        AngerConfig(threshold=1.5)
    with pytest.raises(ValueError, match="rising_window"):
        AngerConfig(rising_window=0)


# -- conversations -----------------------------------------------------------------------


def test_rising_frustration_is_boosted() -> None:
    messages = ["请问快递到哪了", "怎么还没到", "到底什么时候到！！"]
    result = conversation_score(messages)
    assert "rising" in result.reasons
    assert result.score > score(messages[-1]).score
    assert result.angry


def test_repeated_complaints_are_boosted() -> None:
    messages = ["又没送到", "都三天了还没到", "这次又没送到"]
    latest = score(messages[-1])
    result = conversation_score(messages)
    assert not latest.angry
    assert "repeated_complaint" in result.reasons
    assert result.angry


def test_asking_the_same_thing_again_and_again_counts() -> None:
    result = conversation_score(["我的快递呢", "我的快递呢？", "我的快递呢？？"])
    assert "repeated_message" in result.reasons
    assert result.angry
    assert not conversation_score(["我的快递呢"]).angry


def test_calm_conversation_stays_calm() -> None:
    result = conversation_score(["你好", "帮我查一下单号SF1648547086646", "好的谢谢"])
    assert result == AngerResult(0.0, False)


def test_the_latest_message_governs_when_the_customer_calms_down() -> None:
    result = conversation_score(["气死了！！！", "好的，谢谢你们"])
    assert not result.angry
    assert "rising" not in result.reasons


def test_legal_threat_anywhere_in_the_window_is_kept() -> None:
    assert conversation_score(["我要找律师", "单号是SF1648547086646"]).legal is True
    old = ["我要起诉你们", "a", "b", "c"]
    assert conversation_score(old).legal is False  # outside the default window of 3
    assert conversation_score(old, AngerConfig(rising_window=4)).legal is True


def test_conversation_edge_cases() -> None:
    assert conversation_score([]) == AngerResult(0.0, False)
    many = conversation_score(["垃圾！！！我要投诉！！！"] * 10)
    assert many.score == 1.0 and many.angry
    assert 0.0 <= conversation_score(ODD_INPUTS).score <= 1.0


# -- lexicon hygiene ---------------------------------------------------------------------

_REGEX_META = re.compile(r"[\\()\[\]{}?*+|^$]")
_LISTS = {name: value for name, value in vars(lex).items() if name.isupper() and isinstance(value, tuple)}
_LITERAL_LISTS = {
    "SCAM_REPORT_CONTEXT",
    "COMPLAINT_QUESTION",
    "COMPLAINT_THREAT",
    "COMPLAINT_INTENT",
    "HYPOTHETICAL",
    "POLITE",
    "POSITIVE",
    "EXCLUSIONS",
    "NEGATION_EXCEPTIONS_AFTER",
    "ANGER_EMOJI",
}


@pytest.mark.parametrize("name", sorted(_LISTS))
def test_lexicon_entries_survive_normalisation(name: str) -> None:
    """Text is NFKC, simplified and lower-cased before matching: an entry that changes could never match."""
    for entry in _LISTS[name]:
        if name not in _LITERAL_LISTS and _REGEX_META.search(entry):
            re.compile(entry)
            continue
        assert normalise(entry).lower() == entry, f"{name}: {entry!r}"


# -- data sets ---------------------------------------------------------------------------


def _load(path: Path) -> list[tuple[int, str]]:
    with path.open(encoding="utf-8") as handle:
        header = next(handle).rstrip("\n")
        assert header.split("\t") == ["label", "text"] or header.split("\t") == ["label", "text_a"]
        rows = []
        for line in handle:
            label, _, text = line.rstrip("\n").partition("\t")
            rows.append((int(label), text))
    return rows


def _prf(rows: list[tuple[int, str]]) -> tuple[float, float]:
    tp = fp = fn = 0
    for label, text in rows:
        predicted, gold = score(text).angry, label == 1
        tp += predicted and gold
        fp += predicted and not gold
        fn += gold and not predicted
    return tp / (tp + fp), tp / (tp + fn)


def test_logistics_set_is_well_formed() -> None:
    rows = _load(LOGISTICS)
    assert len(rows) >= 150
    assert {label for label, _ in rows} == {0, 1}
    assert 0.35 <= sum(label for label, _ in rows) / len(rows) <= 0.45
    texts = [text for _, text in rows]
    assert len(set(texts)) == len(texts) and all(texts)
    assert any(re.search(r"[\u4e00-\u9fff]", t) for t in texts) and any(re.fullmatch(r"[ -~]+", t) for t in texts)


def test_logistics_set_quality_floor() -> None:
    # Measured: precision 1.000, recall 0.837, F1 0.911 (the set was partly used to tune the lexicon).
    precision, recall = _prf(_load(LOGISTICS))
    assert precision >= 0.95
    assert recall >= 0.78


def test_smp2020_dev_quality_floor() -> None:
    require(SMP2020_DEV, "anger scorer on SMP2020-EWECT")
    # General Weibo posts, read in place; label 1 (angry) against every other label.
    # Measured: precision 0.819, recall 0.392 (F1 0.531); the keyword baseline gets 0.779 / 0.150.
    precision, recall = _prf(_load(SMP2020_DEV))
    assert precision >= 0.75
    assert recall >= 0.33
