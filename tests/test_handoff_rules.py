"""Handoff rules in bot/: triggers and levels from the policy file, waits, opening hours, notices."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
import yaml

from bot.handoff import (
    Signals,
    Trigger,
    customer_notice,
    decide,
    expected_wait,
    fallbacks_in_a_row,
    find_triggers,
    next_opening,
    similar,
    times_asked,
)
from bot.policy import DEFAULT_POLICY_PATH, Policy
from bot.tracking.fixtures import CHINA_TZ


@pytest.fixture(scope="module")
def policy() -> Policy:
    return Policy.load(DEFAULT_POLICY_PATH)


@pytest.mark.parametrize(
    ("signals", "expected"),
    [
        (Signals(intents=["track_waybill"], texts=["查快递"]), None),
        (Signals(intents=["request_human"], texts=["转人工"]), Trigger("explicit_request", 3)),
        (Signals(intents=["nlu_fallback", "nlu_fallback"]), Trigger("fallbacks", 3, "2 in a row")),
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
        (Signals(texts=["我的快递怎么还没到", "你好", "我的快递怎么还没到？", "我的快递怎么还没到啊"]),
         Trigger("repeated_question", 3, "asked 3 times")),
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
    assert decide(Signals(texts=["运费多少", "运费多少？"]), edited) == Trigger("repeated_question", 3, "asked 2 times")
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
