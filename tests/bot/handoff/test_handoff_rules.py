"""Handoff rules in bot/: triggers and levels from the policy file, waits, opening hours, notices.

And how ``action_assess_handoff`` reads the loop signals (offers, form questions, what each
message asks) from a conversation's events.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.handoff import ActionAssessHandoff, ActionOfferHandoff
from bot.common.clock import CHINA_TZ
from bot.handoff.notices import customer_notice
from bot.handoff.rules import (
    Signals,
    Trigger,
    decide,
    expected_wait,
    fallbacks_in_a_row,
    find_triggers,
    loop_trigger,
    next_opening,
    offer_answer,
    request_key,
    same_request_in_a_row,
    similar,
    times_asked,
)
from bot.policy.model import DEFAULT_POLICY_PATH, Policy


@pytest.fixture(scope="module")
def policy() -> Policy:
    return Policy.load(DEFAULT_POLICY_PATH)


@pytest.mark.parametrize(
    ("signals", "expected"),
    [
        (Signals(intents=["track_waybill"], texts=["查快递"]), None),
        (Signals(intents=["request_human"], texts=["转人工"]), Trigger("explicit_request", 3)),
        # off-topic or unclear twice in a row: a person is offered first
        (Signals(intents=["nlu_fallback", "nlu_fallback"]), Trigger("fallbacks", 3, "2 in a row", offer=True)),
        (Signals(intents=["out_of_scope", "nlu_fallback"]), Trigger("fallbacks", 3, "2 in a row", offer=True)),
        (Signals(intents=["nlu_fallback", "greet", "nlu_fallback"]), None),
        (Signals(anger=0.59), None),
        (Signals(anger=0.6), Trigger("anger", 2, "score 0.60")),
        (Signals(anger=0.9), Trigger("anger", 1, "score 0.90")),
        (Signals(legal_threat=True), Trigger("legal_threat", 1)),
        (Signals(claim_reason="damage_above_cap"), Trigger("above_cap", 2)),
        (Signals(claim_reason="damage_offer_rejected"), Trigger("offer_rejected", 2)),
        (Signals(claim_reason="damage_fast_track"), None),
        (Signals(ticket_levels=[3, 1]), Trigger("incident", 1)),
        (Signals(ticket_levels=[3, 2]), None),
        (
            Signals(texts=["我的快递怎么还没到", "你好", "我的快递怎么还没到？", "我的快递怎么还没到啊"]),
            Trigger("stuck", 3, "same question 3 times", offer=True),
        ),
        (Signals(texts=["我的快递怎么还没到", "我的快递怎么还没到"]), None),
        # the most urgent wins: a legal threat beats a polite request for a human
        (Signals(intents=["request_human"], legal_threat=True, anger=0.7), Trigger("legal_threat", 1)),
        # equal levels: the policy's reason order breaks the tie (anger before offer_rejected)
        (Signals(anger=0.7, claim_reason="damage_offer_rejected"), Trigger("anger", 2, "score 0.70")),
    ],
)
def test_decide(policy: Policy, signals: Signals, expected: Trigger | None) -> None:
    assert decide(signals, policy) == expected


def test_every_trigger_is_listed_most_urgent_first(policy: Policy) -> None:
    signals = Signals(intents=["nlu_fallback", "nlu_fallback", "request_human"], anger=0.7, legal_threat=True)
    assert [t.reason for t in find_triggers(signals, policy)] == ["legal_threat", "anger", "explicit_request"]


def test_thresholds_and_levels_come_from_the_policy_file(tmp_path: Path, policy: Policy) -> None:
    data = yaml.safe_load(DEFAULT_POLICY_PATH.read_text(encoding="utf-8"))
    data["handoff"].update(anger_threshold=0.4, fallbacks_in_a_row=3, same_question_times=2)
    data["handoff"]["levels"]["explicit_request"] = 2
    path = tmp_path / "policy.yml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    edited = Policy.load(path)
    assert decide(Signals(anger=0.5), policy) is None
    assert decide(Signals(anger=0.5), edited) == Trigger("anger", 2, "score 0.50")
    two_misses = Signals(intents=["nlu_fallback", "nlu_fallback"])
    assert decide(two_misses, policy) is not None and decide(two_misses, edited) is None
    assert decide(Signals(texts=["运费多少", "运费多少？"]), edited) == Trigger("stuck", 3, "same question 2 times",
                                                                               offer=True)  # fmt: skip
    assert decide(Signals(intents=["request_human"]), edited) == Trigger("explicit_request", 2)


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("anger_threshold", 1.5, "handoff.anger_threshold"),
        ("anger_level_1_threshold", 0.3, "handoff.anger_level_1_threshold"),
        ("fallbacks_in_a_row", 0, "handoff.fallbacks_in_a_row"),
        ("same_question_times", 2.5, "handoff.same_question_times"),
        ("expected_minutes_per_waiting_chat", 0, "handoff.expected_minutes_per_waiting_chat"),
        ("surprise", 1, "handoff.surprise"),
    ],
)
def test_bad_handoff_settings_name_the_key(tmp_path: Path, key: str, value: object, message: str) -> None:
    data = yaml.safe_load(DEFAULT_POLICY_PATH.read_text(encoding="utf-8"))
    data["handoff"][key] = value
    with pytest.raises(ValueError, match=message):
        Policy.from_mapping(data)


def test_missing_reason_level_names_the_key() -> None:
    data = yaml.safe_load(DEFAULT_POLICY_PATH.read_text(encoding="utf-8"))
    del data["handoff"]["levels"]["anger"]
    with pytest.raises(ValueError, match="handoff.levels.anger"):
        Policy.from_mapping(data)


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("我的快递怎么还没到", "我的快递怎么还没到？？", True),
        ("SF1648547086646 到哪了", "SF1648547086646到哪了？", True),
        ("帮我查下 SF1648547086646", "帮我查下 SF1873662042955", False),  # another parcel, another question
        ("WHERE IS MY PARCEL", "where is my parcel?", True),
        ("运费怎么算", "网点在哪里", False),
        ("", "", False),
        ("！！！", "？？？", False),
    ],
)
def test_similar(a: str, b: str, same: bool) -> None:
    assert similar(a, b) is same


def test_counters() -> None:
    assert times_asked([]) == 0
    assert times_asked(["a问题一", "别的", "a问题一"]) == 2
    assert fallbacks_in_a_row([]) == 0
    assert fallbacks_in_a_row(["nlu_fallback", "greet", "nlu_fallback", "nlu_fallback"]) == 2
    assert fallbacks_in_a_row(["nlu_fallback", "out_of_scope"]) == 2  # off-topic counts too
    assert same_request_in_a_row([]) == 0
    assert same_request_in_a_row(["faq/outlet", "faq/shipping_fee", "faq/shipping_fee"]) == 2
    assert same_request_in_a_row(["affirm", "affirm", "affirm"]) == 0  # "好的" three times asks for nothing
    assert same_request_in_a_row(["out_of_scope"] * 3) == 0  # that is the fallback rule's business


def test_request_key() -> None:
    assert request_key("track_waybill", ["sf 1648-5470", "SF16485470"]) == "track_waybill SF16485470"
    assert request_key("faq/outlet") == "faq/outlet"
    assert request_key(None, ["SF1"]) is None


@pytest.mark.parametrize(
    ("text", "intent", "answer"),
    [
        ("转人工", "request_human", "accept"),  # the offer's button
        ("好的", "affirm", "accept"),
        ("human agent", "out_of_scope", "accept"),  # the English button, whatever NLU made of it
        ("不用了，继续", "deny", "decline"),  # the other button
        ("继续", "out_of_scope", "decline"),
        ("no thanks, continue", "affirm", "decline"),
        ("不用", "deny", "decline"),
        ("运费多少", "faq", None),
    ],
)
def test_offer_answer(text: str, intent: str, answer: str | None) -> None:
    assert offer_answer(text, intent) == answer


# --- stuck: the conversation goes round in circles ------------------------------------

STUCK = Trigger("stuck", 3, "", offer=True)


def stuck(signals: Signals, policy: Policy) -> Trigger | None:
    """The loop trigger without its detail."""
    found = loop_trigger(signals, policy)
    return found if found is None else Trigger(found.reason, found.level, "", found.offer)


@pytest.mark.parametrize(
    ("signals", "expected"),
    [
        # a customer rephrasing the same thing: same intent and FAQ question, three times in a row
        (
            Signals(
                intents=["faq"] * 3, texts=["运费怎么算", "寄一件多少钱", "到底运费多少"], keys=["faq/shipping_fee"] * 3
            ),
            STUCK,
        ),
        (Signals(intents=["faq"] * 2, texts=["运费怎么算", "寄一件多少钱"], keys=["faq/shipping_fee"] * 2), None),
        # the same words about three parcels are three questions
        (
            Signals(
                intents=["track_waybill"] * 3,
                texts=["查SF1", "查SF2", "查SF3"],
                keys=["track_waybill SF1", "track_waybill SF2", "track_waybill SF3"],
            ),
            None,
        ),
        (
            Signals(
                intents=["track_waybill"] * 3,
                texts=["SF1 到哪了", "SF1现在在哪", "还是问 SF1"],
                keys=["track_waybill SF1"] * 3,
            ),
            STUCK,
        ),
        # "好的" three times, and the same greeting, ask for nothing
        (Signals(intents=["affirm"] * 3, texts=["好的", "好的", "好的"]), None),
        # a form was asking: its own re-ask limit applies
        (
            Signals(
                intents=["complain_delay"] * 3,
                texts=["还没到", "怎么还没到", "到底什么时候到"],
                in_form=[False, True, True],
            ),
            None,
        ),
        (Signals(intents=["out_of_scope", "out_of_scope"], texts=["蓝色的", "红的"], in_form=[True, True]), None),
        # a form question asked three times and the reply still answers nothing
        (Signals(intents=["track_waybill", "nlu_fallback"], texts=["查快递", "嗯那个"], form_asks=3), STUCK),
        (Signals(intents=["track_waybill", "no_waybill"], texts=["查快递", "没有单号"], form_asks=3), None),
        # only the stretch after an offer that was not taken counts; the next loop hands over at once
        (
            Signals(
                intents=["nlu_fallback", "nlu_fallback", "deny", "faq"],
                texts=["啊", "哦", "继续", "运费"],
                since=2,
                offered_before=True,
            ),
            None,
        ),
        (
            Signals(
                intents=["nlu_fallback", "nlu_fallback", "deny", "out_of_scope", "nlu_fallback"],
                texts=["啊", "哦", "继续", "讲个笑话", "嗯"],
                since=2,
                offered_before=True,
            ),
            Trigger("fallbacks", 3, "", offer=False),
        ),
    ],
)
def test_stuck(policy: Policy, signals: Signals, expected: Trigger | None) -> None:
    assert stuck(signals, policy) == expected


ACCEPTED = "2 in a row; accepted the offer of a person"


@pytest.mark.parametrize(
    ("text", "intent", "key", "expected"),
    [
        ("转人工", "request_human", "request_human", Trigger("fallbacks", 3, ACCEPTED)),
        ("好的", "affirm", "affirm", Trigger("fallbacks", 3, ACCEPTED)),
        ("不用了，继续", "deny", "deny", None),
        # ignoring the offer while still getting nowhere: handed over as stuck, whatever NLU said
        (
            "讲个笑话",
            "out_of_scope",
            "out_of_scope",
            Trigger("stuck", 3, "no progress after the offer of a person (fallbacks)"),
        ),
        ("天气怎么样", "track_waybill", "track_waybill", None),  # a new request: carry on
        ("天气怎么样", "faq", "faq/outlet", Trigger("stuck", 3, "no progress after the offer of a person (fallbacks)")),
    ],
)
def test_reply_to_an_offer(policy: Policy, text: str, intent: str, key: str, expected: Trigger | None) -> None:
    signals = Signals(
        intents=["faq", "out_of_scope", "nlu_fallback", intent], texts=["网点在哪", "啊啊", "哦哦", text],
        keys=["faq/outlet", "out_of_scope", "nlu_fallback", key],
        offer=Trigger("fallbacks", 3, "2 in a row", offer=True),
    )  # fmt: skip
    assert loop_trigger(signals, policy) == expected
    assert decide(signals, policy) == expected


def test_accepting_by_asking_for_a_human_keeps_the_reason(policy: Policy) -> None:
    offer = Trigger("stuck", 3, "same question 3 times", offer=True)
    signals = Signals(intents=["faq"] * 3 + ["request_human"], texts=["运费", "运费", "运费", "转人工"], offer=offer)
    assert [t.reason for t in find_triggers(signals, policy)] == ["stuck", "explicit_request"]
    assert decide(signals, policy) == Trigger("stuck", 3, "same question 3 times; accepted the offer of a person")


def test_an_urgent_trigger_beats_an_offer(policy: Policy) -> None:
    signals = Signals(intents=["nlu_fallback", "nlu_fallback"], texts=["啊", "气死了！！！"], anger=0.7)
    assert decide(signals, policy) == Trigger("anger", 2, "score 0.70")


def test_expected_wait(policy: Policy) -> None:
    assert expected_wait(0, policy) == timedelta(minutes=4)
    assert expected_wait(5, policy) == timedelta(minutes=24)
    assert expected_wait(-3, policy) == timedelta(minutes=4)


@pytest.mark.parametrize(
    ("moment", "opening"),
    [
        (datetime(2026, 11, 23, 10, 0, tzinfo=CHINA_TZ), datetime(2026, 11, 23, 10, 0, tzinfo=CHINA_TZ)),
        (datetime(2026, 11, 23, 23, 30, tzinfo=CHINA_TZ), datetime(2026, 11, 24, 8, 0, tzinfo=CHINA_TZ)),
        (datetime(2026, 11, 23, 6, 0, tzinfo=CHINA_TZ), datetime(2026, 11, 23, 8, 0, tzinfo=CHINA_TZ)),
    ],
)
def test_next_opening(policy: Policy, moment: datetime, opening: datetime) -> None:
    assert next_opening(policy, moment) == opening


def test_next_opening_skips_days_without_service(tmp_path: Path) -> None:
    data = yaml.safe_load(DEFAULT_POLICY_PATH.read_text(encoding="utf-8"))
    data["business_hours"]["days"] = ["mon", "tue", "wed", "thu", "fri"]
    weekdays = Policy.from_mapping(data)
    friday_night = datetime(2026, 11, 27, 23, 0, tzinfo=CHINA_TZ)
    assert next_opening(weekdays, friday_night) == datetime(2026, 11, 30, 8, 0, tzinfo=CHINA_TZ)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_customer_notice(lang: str) -> None:
    now = datetime(2026, 11, 23, 10, 0, tzinfo=CHINA_TZ)
    open_now = customer_notice("TK-20261123-0007", timedelta(minutes=8), now, now, lang)
    assert "TK-20261123-0007" in open_now and "8" in open_now
    later = datetime(2026, 11, 24, 8, 0, tzinfo=CHINA_TZ)
    closed = customer_notice("TK-20261123-0007", timedelta(minutes=8), later, now, lang)
    assert "TK-20261123-0007" in closed and ("24 Nov 08:00" in closed if lang == "en" else "11月24日 08:00" in closed)


# --- the action: loop signals from the conversation's events --------------------------


def user(text: str, intent: str, key: str | None = None, waybills: tuple[str, ...] = ()) -> dict:
    entities = [{"entity": "waybill", "value": waybill} for waybill in waybills]
    parse = {"intent": {"name": intent, "confidence": 0.9}, "entities": entities}
    if key:
        parse["response_selector"] = {"faq": {"response": {"intent_response_key": key}}}
    return {"event": "user", "text": text, "parse_data": parse}


def did(action: str, *said: str) -> list[dict]:
    return [{"event": "action", "name": action}, *({"event": "bot", "text": text} for text in said)]


LISTEN = did("action_listen")
OFFERED_FALLBACKS = {"reason": "fallbacks", "level": 3, "detail": "2 in a row", "offer": True}


async def assess(events: list[dict], slots: dict | None = None) -> dict:
    latest = events[-1]
    state = {"language": "zh", "handoff_due": None, "handoff_offer_due": None, "handoff_trigger": None, **(slots or {})}
    loop = {"name": slots["loop"]} if slots and slots.get("loop") else {}
    tracker = Tracker("loop-1", state, {"text": latest["text"], **latest["parse_data"]}, events, False, None, loop,
                      "action_listen")  # fmt: skip
    found = await ActionAssessHandoff().run(CollectingDispatcher(), tracker, {})
    return {event["name"]: event["value"] for event in found}


async def test_off_topic_twice_in_a_row_offers_a_person(ticket_services) -> None:
    once = [user("讲个笑话", "out_of_scope")]
    assert await assess(once) == {}
    twice = [*once, *did("utter_out_of_scope", "抱歉，这个我帮不上忙。"), *LISTEN, user("打开相机", "out_of_scope")]
    assert await assess(twice) == {
        "handoff_offer_due": True,
        "handoff_trigger": {"reason": "fallbacks", "level": 3, "detail": "2 in a row", "offer": True},
    }


OFFER_MADE = [user("讲个笑话", "out_of_scope"), *did("utter_out_of_scope", "帮不上忙"), *LISTEN,
              user("打开相机", "out_of_scope"), *did("action_offer_handoff", "需要转人工吗？"), *LISTEN]  # fmt: skip


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        (
            user("转人工", "request_human"),
            {"reason": "fallbacks", "level": 3, "detail": "2 in a row; accepted the offer of a person"},
        ),
        (user("不用了，继续", "deny"), None),
        (
            user("今天几号", "out_of_scope"),
            {"reason": "stuck", "level": 3, "detail": "no progress after the offer of a person (fallbacks)"},
        ),
        (user("SF1648547086646 到哪了", "track_waybill", waybills=("SF1648547086646",)), None),
    ],
)
async def test_the_reply_to_the_offer(ticket_services, reply: dict, expected: dict | None) -> None:
    found = await assess([*OFFER_MADE, reply], {"handoff_offer_due": True, "handoff_trigger": OFFERED_FALLBACKS})
    if expected is None:
        assert found == {"handoff_offer_due": False}
    else:
        assert found == {"handoff_offer_due": False, "handoff_due": True, "handoff_trigger": expected}


async def test_after_an_offer_not_taken_the_next_loop_hands_over_at_once(ticket_services) -> None:
    events = [*OFFER_MADE, user("不用了，继续", "deny"), *did("utter_anything_else", "还有什么可以帮您的吗？"), *LISTEN,
              user("你几岁了", "out_of_scope"), *did("utter_out_of_scope", "帮不上忙"), *LISTEN]  # fmt: skip
    assert await assess([*events, user("你喜欢什么", "out_of_scope")]) == {
        "handoff_due": True, "handoff_trigger": {"reason": "fallbacks", "level": 3, "detail": "2 in a row"},
    }  # fmt: skip


async def test_a_customer_rephrasing_the_same_faq(ticket_services) -> None:
    events = []
    for text in ("运费怎么算", "寄一件要多少钱"):
        events += [user(text, "faq", "faq/shipping_fee"), *did("action_answer_faq", "首重12元…"), *LISTEN]
    found = await assess([*events, user("所以到底运费多少", "faq", "faq/shipping_fee")])
    assert found["handoff_offer_due"] is True
    assert found["handoff_trigger"]["reason"] == "stuck" and "faq/shipping_fee" in found["handoff_trigger"]["detail"]
    other = await assess([*events, user("网点在哪", "faq", "faq/outlet")])
    assert other == {}


def form_run(*said: str, requested: str | None = "waybill") -> list[dict]:
    return [{"event": "action", "name": "waybill_form"}, {"event": "active_loop", "name": "waybill_form"},
            {"event": "slot", "name": "requested_slot", "value": requested},
            *({"event": "bot", "text": text} for text in said)]  # fmt: skip


async def test_a_form_question_asked_three_times_is_not_asked_a_fourth(ticket_services) -> None:
    events = [user("查快递", "track_waybill"), *form_run("请告诉我运单号"), *LISTEN]
    for text in ("不知道", "忘了"):
        events += [user(text, "track_waybill"), *form_run("这看起来不像有效的运单号", "请告诉我运单号"), *LISTEN]
    # inside the form, its own re-ask limit applies
    assert await assess([*events, user("找不到", "track_waybill")], {"loop": "waybill_form"}) == {}
    events += [user("找不到", "track_waybill"), {"event": "action", "name": "waybill_form"},
               {"event": "active_loop", "name": None},
               *did("action_track_waybill", "还是没能识别出单号…"), *LISTEN]  # fmt: skip
    found = await assess([*events, user("我要查快递", "track_waybill")])
    detail = "a question asked 3 times, still not answered"
    assert found == {"handoff_offer_due": True,
                     "handoff_trigger": {"reason": "stuck", "level": 3, "detail": detail, "offer": True}}  # fmt: skip
    assert await assess([*events, user("没有单号", "no_waybill")]) == {}  # another way forward


async def test_a_hand_back_starts_afresh(ticket_services) -> None:
    events = [*OFFER_MADE, user("转人工", "request_human"), *did("action_handoff", "正在为您转接"),
              {"event": "pause"}, {"event": "resume"}, *did("utter_welcome_back", "您好"), *LISTEN]  # fmt: skip
    assert await assess([*events, user("讲个笑话", "out_of_scope")]) == {}


@pytest.mark.parametrize(("reason", "response"), [("fallbacks", "utter_offer_human_fallbacks"),
                                                  ("stuck", "utter_offer_human_stuck")])  # fmt: skip
async def test_the_offer_says_why(reason: str, response: str) -> None:
    dispatcher = CollectingDispatcher()
    tracker = Tracker("loop-1", {"handoff_trigger": {"reason": reason, "level": 3, "offer": True}}, {}, [], False,
                      None, {}, "action_listen")  # fmt: skip
    assert await ActionOfferHandoff().run(dispatcher, tracker, {}) == []
    assert [m["response"] for m in dispatcher.messages] == [response]
