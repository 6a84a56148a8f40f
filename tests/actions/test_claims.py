"""Damage claims: the claim form's extraction, validation, re-asks and pauses."""

from __future__ import annotations

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.claims import (
    ActionAskClaimConfirmed,
    ActionAskClaimOfferAccepted,
    ActionAskClaimPackagingKept,
    ActionStartDamageClaim,
    ValidateDamageClaimForm,
)
from tests.support import ROOT
from tests.support.actions import DELIVERED, run, slot


def claim_tracker(
    text: str,
    requested: str,
    intent: str = "report_damage",
    confidence: float = 0.95,
    slots: dict | None = None,
    metadata: dict | None = None,
) -> Tracker:
    latest = {"text": text, "intent": {"name": intent, "confidence": confidence}, "entities": []}
    all_slots = {
        "language": "zh",
        "requested_slot": requested,
        "claim_photos_outer": None,
        "claim_photos_contents": None,
        "claim_paused": None,
    }
    all_slots.update(slots or {})
    events = [{"event": "user", "text": text, "metadata": metadata or {}}]
    return Tracker("claimant", all_slots, latest, events, False, None, {"name": "damage_claim_form"}, "action_listen")


async def extract(method: str, tracker_: Tracker):
    dispatcher = CollectingDispatcher()
    result = await getattr(ValidateDamageClaimForm(), method)(dispatcher, tracker_, {})
    return result, [m.get("text") for m in dispatcher.messages]


@pytest.mark.parametrize(
    ("text", "intent", "confidence", "expected"),
    [
        ("都有破损", "report_damage", 0.95, {"claim_part": "both"}),
        ("算了", "deny", 0.95, {"claim_paused": True}),  # stop: the form ends, answers kept
        ("不想弄了", "deny", 0.95, {"claim_paused": True}),  # a clear no to a non yes/no question
        ("运费怎么算", "faq", 0.95, {}),  # another request: left to the rules
        ("转人工", "request_human", 0.95, {}),
        ("蓝色的", "out_of_scope", 0.95, {"claim_part": None, "claim_attempts": 1}),  # answers nothing: asked again
        ("外包装没坏，里面碎了", "deny", 0.95, {"claim_part": "contents"}),  # read first, whatever the intent
        ("里面的杯子", "track_waybill", 0.95, {"claim_part": "contents"}),
        ("运费呢", "faq", 0.5, {"claim_part": None, "claim_attempts": 1}),  # NLU unsure, nothing asked outright
        ("运费怎么算", "faq", 0.5, {}),  # unsure, but it asks outright: left to the rules
        ("看看 SF1648547086646", "track_waybill", 0.5, {}),  # names another parcel
    ],
)
async def test_claim_answers_interruptions_and_stops(text, intent, confidence, expected):
    result, said = await extract("extract_claim_part", claim_tracker(text, "claim_part", intent, confidence))
    assert result == expected
    if result.get("claim_part", "") is None:
        assert said == []  # the ask action asks again, saying what is understood and what is missing


async def test_claim_description_takes_free_text_unless_nlu_is_sure_it_is_another_request():
    result, _ = await extract(
        "extract_claim_description", claim_tracker("快递员扔的，箱子都变形了", "claim_description", "complain_delay")
    )
    assert result == {"claim_description": "快递员扔的，箱子都变形了"}
    result, _ = await extract(
        "extract_claim_description", claim_tracker("我要找人工客服", "claim_description", "request_human", 0.97)
    )
    assert result == {}


async def test_claim_photo_errors_keep_what_was_there_and_say_why():
    kept = [{"sha256": "a" * 64, "size": 10, "content_type": "image/png"}]
    metadata = {"attachments": [{"kind": "image", "error": "too_large"}]}
    t = claim_tracker(
        "/send_photo", "claim_photos_contents", "send_photo", slots={"claim_photos_outer": kept}, metadata=metadata
    )
    result, said = await extract("extract_claim_photos_contents", t)
    assert result == {"claim_photos_contents": None, "claim_attempts": 1} and "太大" in said[0]
    result, _ = await extract("extract_claim_photos_outer", t)
    assert result == {}  # the packaging photos are untouched


async def test_paused_claim_requires_nothing_more():
    form = ValidateDamageClaimForm()
    t = claim_tracker("算了", "claim_part", "deny", slots={"claim_paused": True})
    assert await form.required_slots([], CollectingDispatcher(), t, {}) == []


CLAIM_DOMAIN = yaml.safe_load((ROOT / "domain" / "claims.yml").read_text(encoding="utf-8"))


PARCEL = {"waybill": DELIVERED, "carrier": "SF", "status": "delivered", "freight": "21", "declared_value": "680",
          "insured_value": "680"}  # fmt: skip


PHOTO = [{"sha256": "a" * 64, "size": 10, "content_type": "image/png"}]


UP_TO_PACKAGING = {
    "claim_waybill": DELIVERED, "claim_owner": True, "claim_parcel": PARCEL, "claim_part": "outer",
    "claim_description": "箱子压坏了",
    "claim_photos_outer": PHOTO, "claim_photos_contents": PHOTO, "claim_extent": "share:0.3000",
    "claim_value": "2000.00", "claim_attempts": 0,
}  # fmt: skip


async def form_turn(text: str, requested: str, slots: dict, intent: str = "out_of_scope", lang: str = "zh"):
    """One customer reply through the whole validation action, as Rasa runs it."""
    t = claim_tracker(text, requested, intent, slots={**slots, "language": lang})
    dispatcher = CollectingDispatcher()
    events = await ValidateDamageClaimForm().run(dispatcher, t, CLAIM_DOMAIN)
    slots = {e["name"]: e["value"] for e in events if e.get("event") == "slot"}
    return slots, [m.get("text") for m in dispatcher.messages]


async def ask(action, slots: dict, lang: str = "zh"):
    t = claim_tracker("", slots.get("requested_slot") or "claim_packaging_kept", slots={**slots, "language": lang})
    dispatcher = CollectingDispatcher()
    await action.run(dispatcher, t, CLAIM_DOMAIN)
    return dispatcher.messages


@pytest.mark.parametrize("intent", ["report_damage", "track_waybill", "affirm", "deny", "nlu_fallback", "faq"])
async def test_kept_packaging_in_own_words_is_read_whatever_the_intent(intent):
    # the observed failure: "包装还留着" got "请回复'是'或'否'" again and again
    slots, said = await form_turn("包装还留着", "claim_packaging_kept", UP_TO_PACKAGING, intent)
    assert slots["claim_packaging_kept"] is True and slots["requested_slot"] == "claim_confirmed"
    assert said == []
    slots, _ = await form_turn("nope, threw it away", "claim_packaging_kept", UP_TO_PACKAGING, intent, "en")
    assert slots["claim_packaging_kept"] is False


async def test_reask_says_what_is_understood_and_what_is_missing():
    slots, said = await form_turn("蓝色的", "claim_packaging_kept", UP_TO_PACKAGING)
    assert slots == {"claim_packaging_kept": None, "requested_slot": "claim_packaging_kept", "claim_attempts": 1}
    assert said == []
    state = {**UP_TO_PACKAGING, **slots}
    [message] = await ask(ActionAskClaimPackagingKept(), state)
    text = message["text"]
    assert "我记下了：" in text and "外包装破损" in text and "价值 2000 元" in text and "约 30% 损坏" in text
    assert text.endswith("还需要确认：外包装和填充物是否还保留着？请回复“留着”或“扔了”。")
    assert [b["payload"] for b in message["buttons"]] == ["留着", "扔了"]
    [message] = await ask(ActionAskClaimPackagingKept(), state, "en")
    assert "So far I have:" in message["text"] and "outer packaging damaged" in message["text"]
    assert "value ¥2000" in message["text"] and "Still needed: Do you still have the outer packaging" in message["text"]
    assert '"箱子压坏了"' in message["text"]  # the customer's own words, quoted as they were
    assert not any("\u4e00" <= ch <= "\u9fff" for ch in message["text"].replace("箱子压坏了", ""))
    # the first time, the domain's own question
    [message] = await ask(ActionAskClaimPackagingKept(), UP_TO_PACKAGING)
    assert message["response"] == "utter_ask_claim_packaging_kept"


async def test_no_question_is_asked_more_than_three_times():
    state = dict(UP_TO_PACKAGING)
    asked = 1  # the first question
    for turn in range(3):
        slots, said = await form_turn("蓝色的", "claim_packaging_kept", state)
        state.update(slots)
        if slots.get("claim_paused"):
            break
        [message] = await ask(ActionAskClaimPackagingKept(), state)
        asked += 1
        assert ("转人工" in message["text"]) is (turn == 1)  # the last try offers a person too
    assert asked == 3 and turn == 2
    assert slots == {"claim_paused": True, "requested_slot": None}
    assert "理赔先暂停" in said[0] and "转人工" in said[0] and "外包装破损" in said[0] and "继续理赔" in said[0]
    # resuming starts the count afresh
    texts, events = await run(ActionStartDamageClaim(), "继续理赔", slots={**state, "claim_attempts": 2})
    assert slot(events, "claim_attempts") == 0 and slot(events, "claim_paused") is None


async def test_an_answer_resets_the_count():
    slots, _ = await form_turn("扔了", "claim_packaging_kept", {**UP_TO_PACKAGING, "claim_attempts": 2})
    assert slots["claim_packaging_kept"] is False and slots["claim_attempts"] == 0


@pytest.mark.parametrize(
    ("requested", "text", "expected"),
    [
        ("claim_value", "两千出头", "2000.00"),
        ("claim_value", "around 2k", "2000.00"),
        ("claim_extent", "七八成吧", "share:0.7000"),
        ("claim_part", "箱子好好的，杯子碎了", "contents"),
    ],
)
async def test_other_answers_in_own_words(requested, text, expected):
    before = {**UP_TO_PACKAGING, requested: None}
    slots, _ = await form_turn(text, requested, before, "track_waybill")
    assert slots[requested] == expected


async def test_summary_and_offer_reasks_name_the_answer_expected():
    done = {**UP_TO_PACKAGING, "claim_packaging_kept": True, "claim_attempts": 1}
    [message] = await ask(ActionAskClaimConfirmed(), {**done, "requested_slot": "claim_confirmed"})
    assert "包装已保留" in message["text"] and "请回复“对”提交，或“不对”重新填写" in message["text"]
    assert [b["payload"] for b in message["buttons"]] == ["对", "不对"]
    confirmed = {**done, "claim_confirmed": True, "requested_slot": "claim_offer_accepted"}
    [message] = await ask(ActionAskClaimOfferAccepted(), confirmed)
    assert "您是否接受赔付 204.00 元的方案？" in message["text"]  # 30 % of the 680 on record
    [message] = await ask(ActionAskClaimOfferAccepted(), confirmed, "en")
    assert "Do you accept ¥204.00 in compensation?" in message["text"]
    slots, _ = await form_turn("太少了", "claim_offer_accepted", confirmed)
    assert slots["claim_offer_accepted"] is False
