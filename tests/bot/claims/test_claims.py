"""Damage claims in bot/: reading answers, eligibility, the offer from the policy, texts."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from bot.claims import answers as reading
from bot.claims import draft as drafts
from bot.claims import offer as offers
from bot.claims import wording
from bot.common import answers
from bot.policy.model import DEFAULT_POLICY_PATH, Policy
from bot.tickets import Ticket, TicketStatus, TicketType
from bot.tracking import Status


@pytest.fixture(scope="module")
def policy() -> Policy:
    return Policy.load(DEFAULT_POLICY_PATH)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("是", True), ("是的", True), ("对，没错", True), ("好的", True), ("嗯嗯", True), ("可以", True),
        ("有保留", True), ("还在呢", True), ("没问题", True), ("不错", True), ("确认", True), ("接受", True),
        ("yes", True), ("Yes please", True), ("OK", True), ("sure", True), ("y", True), ("I kept it", True),
        ("不是", False), ("不对", False), ("否", False), ("没有", False), ("没留", False), ("不接受", False),
        ("早就扔了", False), ("包装丢了", False), ("no", False), ("No.", False), ("nope", False), ("n", False),
        ("reject", False), ("我再想想", None), ("", None), ("blue", None), ("算了", None), ("stop", None),
    ],
)  # fmt: skip
def test_yes_no(text: str, expected: bool | None) -> None:
    assert reading.parse_yes_no(text) is expected


@pytest.mark.parametrize(
    ("text", "topic", "expected"),
    [
        ("包装还留着", answers.KEPT, True), ("没扔", answers.KEPT, True), ("不要了", answers.KEPT, False),
        ("今天天气不错", answers.CONFIRM, None), ("地址写错了", answers.CONFIRM, False),
        ("太少了", answers.ACCEPT, False), ("不用复核了", answers.ACCEPT, True),
    ],
)  # fmt: skip
def test_yes_no_reads_the_question_topic(text: str, topic: str, expected: bool | None) -> None:
    assert reading.parse_yes_no(text, topic) is expected


@pytest.mark.parametrize(
    "text", ["算了", "算了吧", "算了！", "不弄了", "取消", "stop", "Stop!", "cancel", "never mind", "先不填了"]
)
def test_stop_phrases(text: str) -> None:
    assert reading.is_stop(text)


@pytest.mark.parametrize("text", ["算了算钱一共两千", "不要停", "stop sign on the box", "取消订单后又寄了"])
def test_stop_only_when_that_is_all_the_message_says(text: str) -> None:
    assert not reading.is_stop(text)


@pytest.mark.parametrize(
    ("text", "part"),
    [
        ("外包装", "outer"), ("箱子压扁了", "outer"), ("the box", "outer"), ("packaging", "outer"),
        ("内件物品", "contents"), ("里面的东西", "contents"), ("contents", "contents"), ("the item itself", "contents"),
        ("都有破损", "both"), ("箱子和里面的杯子", "both"), ("both", "both"), ("1", "outer"), ("2", "contents"),
        ("3", "both"), ("３", "both"), ("不知道", None), ("", None),
    ],
)  # fmt: skip
def test_part(text: str, part: str | None) -> None:
    assert reading.parse_part(text) == part


@pytest.mark.parametrize(
    ("text", "extent"),
    [
        ("30%", "share:0.3000"), ("大概一半", "share:0.5000"), ("三成", "share:0.3000"), ("全坏了", "share:1.0000"),
        ("20", "share:0.2000"), ("维修要300块", "repair:300.00"), ("修一下两百元", "repair:200.00"),
        ("repair 350 yuan", "repair:350.00"), ("损失800元", "repair:800.00"), ("不知道", "unknown"),
        ("not sure", "unknown"), ("about half", "share:0.5000"), ("a quarter of it", "share:0.2500"),
        ("total loss", "share:1.0000"), ("only slightly", "share:0.0500"), ("很严重", None), ("", None),
    ],
)  # fmt: skip
def test_extent(text: str, extent: str | None) -> None:
    assert reading.parse_extent(text) == extent


def test_split_extent_round_trip_and_garbage() -> None:
    assert reading.split_extent("share:0.3000") == (Decimal("0.3000"), None)
    assert reading.split_extent("repair:300.00") == (None, Decimal("300.00"))
    for junk in ("unknown", None, "", "share:2", "share:abc", "repair:-5", "other:1"):
        assert reading.split_extent(junk) == (None, None)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("两千块", "2000.00"),
        ("2,000元", "2000.00"),
        ("¥2000", "2000.00"),
        ("2k", "2000.00"),
        ("0元", None),
        ("贵", None),
    ],  # fmt: skip
)
def test_value(text: str, value: str | None) -> None:
    parsed = reading.parse_value(text)
    assert (None if parsed is None else str(parsed)) == value


def test_description_is_not_a_question_back() -> None:
    assert reading.parse_description("什么意思？") is None
    assert reading.parse_description("what?") is None
    assert reading.parse_description("箱子为什么会压成这样，里面杯子全碎了？") is not None


def test_description_is_trimmed_and_capped() -> None:
    assert reading.parse_description("  箱子   压坏了 ") == "箱子 压坏了"
    assert reading.parse_description("x") is None
    assert reading.parse_description("算了") is None
    assert len(reading.parse_description("破" * 2000) or "") == reading.MAX_DESCRIPTION


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        (Status.DELIVERED, None), (Status.DAMAGED, None), (Status.IN_TRANSIT, "not_delivered"),
        (Status.OUT_FOR_DELIVERY, "not_delivered"), (Status.HELD, "not_delivered"), (Status.LOST, "lost"),
        (Status.RETURNED, "returned"),
    ],
)  # fmt: skip
def test_eligibility(status: Status, reason: str | None) -> None:
    assert drafts.ineligible_reason(status) == reason
    if reason:
        assert "SF1" in wording.ineligible_text(reason, "SF1", "zh")
        assert "SF1" in wording.ineligible_text(reason, "SF1", "en")


def _parcel(
    freight: str | None = "21", declared: str | None = "680", insured: str | None = "680"
) -> drafts.ParcelFacts:
    def dec(value: str | None) -> Decimal | None:
        return None if value is None else Decimal(value)

    return drafts.ParcelFacts("SF1873662042955", "SF", "delivered", dec(freight), dec(declared), dec(insured))


def _draft(extent: str, value: str | None = "680", photos: bool = True, **parcel: str | None) -> drafts.ClaimDraft:
    return drafts.ClaimDraft(
        parcel=_parcel(**parcel),
        part="both",
        description="杯子碎了",
        photos_outer=("a" * 64,) if photos else (),
        photos_contents=("b" * 64,) if photos else (),
        extent=extent,
        value=None if value is None else Decimal(value),
        packaging_kept=True,
    )


@pytest.mark.parametrize(
    ("draft", "kind", "amount", "level"),
    [
        # 30 % of 680 = 204, insured 680, below 500 with photos -> approved at once
        (_draft("share:0.3"), "fast_track", "204.00", 3),
        # without photos the same claim follows the normal route
        (_draft("share:0.3", photos=False), "compensate", "204.00", 3),
        # up to 5 % -> free re-shipment
        (_draft("share:0.05"), "reship", "0.00", 3),
        # customer claims 5000 on a parcel declared at 680: capped at the record
        (_draft("share:1", value="5000"), "compensate", "680.00", 3),
        # uninsured: at most 3 x freight (3 x 21 = 63)
        (_draft("share:1", insured="0"), "fast_track", "63.00", 3),
        # no idea of the extent -> a person assesses it
        (_draft("unknown"), "human_review", "0.00", 3),
        # neither insurance nor freight on record -> a person decides
        (_draft("share:1", freight=None, insured=None), "human_review", "0.00", 3),
        # repair estimate counts as the loss
        (_draft("repair:120"), "fast_track", "120.00", 3),
        # above the 20000 cap -> level-2 human review
        (_draft("share:1", value="30000", declared="30000", insured="30000"), "human_review", "0.00", 2),
    ],
)
def test_offer(policy: Policy, draft: drafts.ClaimDraft, kind: str, amount: str, level: int) -> None:
    offer = offers.claim_offer(policy, draft)
    assert (offer.kind, f"{offer.amount:.2f}", offer.ticket_level) == (kind, amount, level)
    assert offer.amount <= policy.cap
    assert offers.needs_answer(offer) is (kind != "human_review")


def test_rejected_offer_goes_to_a_human_at_the_cap_level(policy: Policy) -> None:
    offer = offers.rejected(offers.claim_offer(policy, _draft("share:0.3")), policy)
    assert offer.kind == "human_review" and offer.ticket_level == policy.above_cap_ticket_level
    assert offer.reason_code == "damage_offer_rejected"


def test_parcel_facts_survive_the_slot() -> None:
    facts = _parcel()
    slot = facts.to_slot()
    assert slot["insured_value"] == "680" and isinstance(slot["freight"], str)
    assert drafts.ParcelFacts.from_slot(slot) == facts
    assert drafts.ParcelFacts.from_slot(None) is None
    assert drafts.ParcelFacts.from_slot({"waybill": 5}) is None
    assert drafts.ParcelFacts.from_slot({"waybill": "X", "freight": "oops"}).freight is None


def test_summary_lists_every_answer_in_both_languages() -> None:
    draft = _draft("share:0.3")
    zh = wording.summary_text(draft, "zh")
    expected = (
        "SF1873662042955",
        "外包装和内件物品",
        "杯子碎了",
        "2 张",
        "约 30% 损坏",
        "680.00 元",
        "是否保留包装：是",
    )
    for part in expected:
        assert part in zh
    en = wording.summary_text(draft, "en")
    for part in ("SF1873662042955", "packaging and contents", "about 30% damaged", "¥680.00", "Packaging kept: yes"):
        assert part in en


def _ticket() -> Ticket:
    now = datetime(2026, 11, 23, 10, 0, tzinfo=timezone.utc)
    return Ticket(
        id="TK-20261123-0001", type=TicketType.DAMAGE_CLAIM, level=3, status=TicketStatus.OPEN, conversation_id="c",
        channel="rest", waybill="SF1873662042955", summary="s", respond_by=now + timedelta(minutes=30),
        resolve_by=now + timedelta(hours=24), escalate_by=None, update_after=None, decision=None,
        created_at=now, updated_at=now,
    )  # fmt: skip


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_offer_and_outcome_texts(policy: Policy, lang: str) -> None:
    for extent, words in (("share:0.3", "204.00"), ("share:0.05", ""), ("share:1", "680.00")):
        offer = offers.claim_offer(policy, _draft(extent, photos=extent != "share:1"))
        assert words in wording.offer_text(offer, lang)
        outcome = wording.outcome_text(_ticket(), offer, lang)
        assert "TK-20261123-0001" in outcome and words in outcome
    review = offers.rejected(offers.claim_offer(policy, _draft("share:0.3")), policy)
    text = wording.outcome_text(_ticket(), review, lang)
    assert "TK-20261123-0001" in text
    assert ("review" in text) if lang == "en" else ("复核" in text or "专员" in text)


def test_understood_lists_the_answers_so_far() -> None:
    draft = drafts.ClaimDraft(parcel=_parcel(), part="outer", value=Decimal("2000"))
    assert wording.understood(draft, "zh") == "运单 SF1873662042955、外包装破损、价值 2000 元"
    assert wording.understood(draft, "en") == "parcel SF1873662042955, outer packaging damaged, value ¥2000"
    full = _draft("unknown", value="1999.5")
    zh = wording.understood(full, "zh")
    for part in ("外包装和内件物品破损", "“杯子碎了”", "照片 2 张", "损坏程度待核定", "价值 1999.50 元", "包装已保留"):
        assert part in zh


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("question", wording.QUESTIONS)
def test_every_question_can_be_asked_again(question: str, lang: str) -> None:
    draft = drafts.ClaimDraft(parcel=_parcel(), part="outer", value=Decimal("2000"))
    text = wording.reask_text(draft, question, lang)
    known = "So far I have: parcel SF1873662042955" if lang == "en" else "我记下了：运单 SF1873662042955"
    assert known in text
    assert ("Still needed: " in text) if lang == "en" else ("还需要" in text)
    assert (
        ("human agent" in wording.reask_text(draft, question, lang, last=True))
        if lang == "en"
        else ("转人工" in wording.reask_text(draft, question, lang, last=True))
    )
    for button in wording.reask_buttons(question, lang):  # every quick reply reads back as an answer
        payload = button["payload"]
        if question == "part":
            assert reading.parse_part(payload)
        else:
            topic = {"packaging_kept": answers.KEPT, "confirmed": answers.CONFIRM}.get(question, answers.ACCEPT)
            assert reading.parse_yes_no(payload, topic) is not None


def test_reask_matches_the_issue_wording() -> None:
    draft = drafts.ClaimDraft(parcel=_parcel(), part="outer", value=Decimal("2000"))
    text = wording.reask_text(draft, "packaging_kept", "zh")
    assert text.endswith(
        "我记下了：运单 SF1873662042955、外包装破损、价值 2000 元。"
        "还需要确认：外包装和填充物是否还保留着？请回复“留着”或“扔了”。"
    )
    assert "请回复“是”或“否”" not in text


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_gave_up_text_keeps_the_answers_and_offers_a_person(lang: str) -> None:
    draft = drafts.ClaimDraft(parcel=_parcel(), part="outer")
    text = wording.gave_up_text(draft, lang)
    assert "SF1873662042955" in text
    assert (
        ("human agent" in text and "continue my claim" in text)
        if lang == "en"
        else ("转人工" in text and "继续理赔" in text)
    )
    assert wording.gave_up_text(None, lang)
