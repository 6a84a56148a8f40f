"""Late parcels: held-beyond-threshold lateness, the choices that exist, and reading the customer's pick."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.common.clock import CHINA_TZ
from bot.delay import options as d
from bot.policy.model import DEFAULT_POLICY_PATH, Policy
from bot.tracking import HoldReason, Shipment, Status
from bot.tracking.models import ScanEvent
from components.quick_replies import QuickReplyIntentClassifier, quick_reply_intent
from tests.support import ROOT

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=CHINA_TZ)


@pytest.fixture(scope="module")
def policy() -> Policy:
    return Policy.load(DEFAULT_POLICY_PATH)


def parcel(
    status: Status = Status.IN_TRANSIT,
    *,
    last_scan_ago: timedelta = timedelta(hours=2),
    promised_in: timedelta | None = timedelta(days=1),
    hold: HoldReason | None = None,
) -> Shipment:
    return Shipment(
        waybill="SF1648547086646", carrier="SF", status=status,
        events=(ScanEvent(NOW - last_scan_ago, "上海", "运输中"),),
        promised_at=None if promised_in is None else NOW + promised_in, eta=NOW + timedelta(days=1),
        hold_reason=hold, freight=Decimal("23"),
    )  # fmt: skip


@pytest.mark.parametrize(
    ("shipment", "delay", "held_only"),
    [
        # on time, recent scan: not late
        (parcel(), None, False),
        # 47 h without a scan, threshold 48 h: not late yet
        (parcel(last_scan_ago=timedelta(hours=47)), None, False),
        # 60 h without a scan: 12 h late although the promise has not passed
        (parcel(last_scan_ago=timedelta(hours=60)), timedelta(hours=12), True),
        (parcel(Status.HELD, last_scan_ago=timedelta(hours=72), hold=HoldReason.CAPACITY), timedelta(hours=24), True),
        # past the promise by 6 h, recent scan: the promise decides
        (parcel(promised_in=-timedelta(hours=6)), timedelta(hours=6), False),
        # both: the larger counts, and it is not "held only"
        (parcel(promised_in=-timedelta(hours=30), last_scan_ago=timedelta(hours=50)), timedelta(hours=30), False),
        (parcel(promised_in=-timedelta(hours=1), last_scan_ago=timedelta(hours=60)), timedelta(hours=12), False),
        # no promise known: only the hold can make it late
        (parcel(promised_in=None, last_scan_ago=timedelta(hours=49)), timedelta(hours=1), True),
        # delivered parcels are never "held"
        (parcel(Status.DELIVERED, last_scan_ago=timedelta(days=9)), None, False),
    ],
)
def test_delay_of(policy: Policy, shipment: Shipment, delay: timedelta | None, held_only: bool) -> None:
    got, only = d.delay_of(shipment, NOW, policy)
    assert (got is None) == (delay is None)
    if delay is not None:
        assert abs(got - delay) < timedelta(seconds=1)
    assert only is held_only


def test_threshold_comes_from_the_policy_file(policy: Policy) -> None:
    stricter = Policy.from_mapping({**_raw(), "delay": {**_raw()["delay"], "held_threshold_hours": 24}})
    shipment = parcel(last_scan_ago=timedelta(hours=30))
    assert d.delay_of(shipment, NOW, policy)[0] is None
    assert abs(d.delay_of(shipment, NOW, stricter)[0] - timedelta(hours=6)) < timedelta(seconds=1)


def _raw() -> dict:
    return yaml.safe_load(DEFAULT_POLICY_PATH.read_text(encoding="utf-8"))


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_stale_line_says_how_long_and_apologises(policy: Policy, lang: str) -> None:
    line = d.stale_line(parcel(last_scan_ago=timedelta(hours=60)), NOW, policy, lang)
    assert ("2 days 12 hours" in line and "sorry" in line) if lang == "en" else ("2天12小时" in line and "抱歉" in line)


@pytest.mark.parametrize(
    ("shipment", "options"),
    [
        (parcel(Status.IN_TRANSIT), (d.PRIORITY, d.REDIRECT, d.KEEP_WAITING)),
        (parcel(Status.AT_SORTING_CENTRE), (d.PRIORITY, d.REDIRECT, d.KEEP_WAITING)),
        (parcel(Status.OUT_FOR_DELIVERY), (d.PICKUP, d.KEEP_WAITING)),
        (parcel(Status.DELIVERY_FAILED), (d.REDIRECT, d.PICKUP, d.KEEP_WAITING)),
        (parcel(Status.HELD, hold=HoldReason.ADDRESS_PROBLEM), (d.REDIRECT, d.PICKUP, d.KEEP_WAITING)),
        (parcel(Status.HELD, hold=HoldReason.HOLIDAY_PEAK), (d.PRIORITY, d.PICKUP, d.KEEP_WAITING)),
        (parcel(Status.HELD, hold=HoldReason.CAPACITY), (d.PRIORITY, d.PICKUP, d.KEEP_WAITING)),
        (parcel(Status.HELD, hold=HoldReason.WEATHER), ()),
        (parcel(Status.HELD, hold=HoldReason.CUSTOMS_INSPECTION), ()),
        (parcel(Status.DELIVERED), ()),
    ],
)
def test_options_that_exist(shipment: Shipment, options: tuple[str, ...]) -> None:
    assert d.options_for(shipment) == options


@pytest.mark.parametrize(
    ("text", "option"),
    [
        ("继续等待", d.KEEP_WAITING), ("优先派送", d.PRIORITY), ("改为网点自取", d.PICKUP), ("改派地址", d.REDIRECT),
        ("Keep waiting", d.KEEP_WAITING), ("priority dispatch", d.PRIORITY), ("Collect at an outlet", d.PICKUP),
        ("Redirect to another address", d.REDIRECT), ("2 优先派送", d.PRIORITY), ("优先派送！", d.PRIORITY),
        ("  加急 ", d.PRIORITY), ("自取", d.PICKUP), ("我再等等", d.KEEP_WAITING),
        # sentences are left to NLU
        ("优先派送要加钱吗", None), ("I don't want to wait", None), ("", None), ("等", None),
    ],
)  # fmt: skip
def test_parse_option(text: str, option: str | None) -> None:
    assert d.parse_option(text) == option


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_button_payload_reads_back_as_its_option(lang: str) -> None:
    for button in d.buttons(d.OPTIONS, lang):
        assert d.parse_option(button["payload"]) is not None
        assert d.parse_option(button["title"]) is not None
    prompt = d.prompt((d.PRIORITY, d.KEEP_WAITING), lang)
    assert d.title(d.PRIORITY, lang) in prompt and d.title(d.KEEP_WAITING, lang) in prompt


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_confirmation_names_parcel_ticket_and_time(lang: str) -> None:
    for option in d.OPTIONS:
        text = d.confirmation(option, "SF1648547086646", "TK-20261123-0001", NOW, lang)
        assert "SF1648547086646" in text and "TK-20261123-0001" in text
    assert d.title(d.PICKUP, lang) in d.not_offered((d.PICKUP,), lang)
    assert d.not_offered((), lang)


def test_quick_reply_component_overrides_exact_phrases_and_plain_choices() -> None:
    diet = {"name": "complain_delay", "confidence": 0.6}
    exact = Message({TEXT: "优先派送", INTENT: diet, INTENT_RANKING_KEY: [diet]})
    own_words = Message({TEXT: "帮我加急", INTENT: diet, INTENT_RANKING_KEY: [diet]})
    sentence = Message({TEXT: "优先派送要加钱吗", INTENT: diet, INTENT_RANKING_KEY: [diet]})
    QuickReplyIntentClassifier().process([exact, own_words, sentence])
    assert exact.get(INTENT) == {"name": d.INTENT, "confidence": 1.0}
    assert [r["name"] for r in exact.get(INTENT_RANKING_KEY)] == [d.INTENT, "complain_delay"]
    assert [r["confidence"] for r in exact.get(INTENT_RANKING_KEY)] == [1.0, 0.0]
    assert own_words.get(INTENT) == {"name": d.INTENT, "confidence": 1.0}
    assert sentence.get(INTENT) == diet


@pytest.mark.parametrize(
    ("text", "predicted", "confidence", "choice"),
    [
        ("快点送", "complain_delay", 0.9, True), ("我再等等", "thank", 0.7, True),
        ("rush it", "nlu_fallback", 0.3, True),
        ("I'll wait", "goodbye", 0.6, True), ("不急，慢慢来", "affirm", 0.9, True),
        ("送到驿站我自己取", "faq", 0.9, True),  # NLU says FAQ, but it is the customer's decision
        ("换个地址吧", "faq", 0.95, True),
        ("网点地址", "faq", 0.9, False), ("改派到别的地址", "faq", 0.9, False),  # FAQ questions stay FAQ
        ("能改地址吗", "faq", 0.5, False), ("加急", "request_human", 0.95, True),  # an exact phrase always
        ("帮我加急，转人工", "request_human", 0.95, False),
        ("帮我查下 SF1648547086646 加急", "track_waybill", 0.6, False),
        ("等一下", "out_of_scope", 0.5, False), ("今天天气不错", "out_of_scope", 0.5, False),
    ],
)  # fmt: skip
def test_free_text_choice_intent(text: str, predicted: str, confidence: float, choice: bool) -> None:
    assert (quick_reply_intent(text, predicted, confidence) == d.INTENT) is choice


def _labelled(folder: Path) -> list[tuple[str, str]]:
    found = []
    for path in sorted(folder.glob("*.yml")):
        for item in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("nlu") or []:
            for line in (item.get("examples") or "").splitlines():
                text = re.sub(r"\[([^\]]+)\]\([^)]+\)", r"\1", line.strip().removeprefix("- "))
                if item.get("intent") and text:
                    found.append((text, item["intent"]))
    return found


def test_no_labelled_test_example_is_taken_for_a_choice() -> None:
    """The NLU test split keeps its labels when DIET gets them right (`make nlu-eval` is unchanged)."""
    taken = [
        (text, intent) for text, intent in _labelled(ROOT / "tests" / "nlu") if quick_reply_intent(text, intent, 0.9)
    ]
    assert taken == []


@pytest.mark.parametrize(
    ("text", "offered", "option"),
    [("优先派送", None, d.PRIORITY), ("帮我加急", None, d.PRIORITY), ("送到驿站我自己取", None, d.PICKUP),
     ("3", (d.PICKUP, d.KEEP_WAITING, d.REDIRECT), d.REDIRECT), ("3", None, None), ("你好", None, None)],
)  # fmt: skip
def test_parse_choice(text: str, offered: tuple[str, ...] | None, option: str | None) -> None:
    assert d.parse_choice(text, offered) == option


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_asking_again_says_what_is_known_and_what_is_missing(lang: str) -> None:
    text = d.ask_again((d.PRIORITY, d.KEEP_WAITING), "SF1648547086646", "TK-20261123-0001", lang)
    assert "SF1648547086646" in text and "TK-20261123-0001" in text
    assert f"1 {d.title(d.PRIORITY, lang)}" in text and f"2 {d.title(d.KEEP_WAITING, lang)}" in text
    last = d.ask_again((d.PRIORITY,), "SF1", "TK-1", lang, last=True)
    assert ("human agent" in last) if lang == "en" else ("转人工" in last)
    assert "TK-1" in d.gave_up("SF1", "TK-1", lang)


def test_a_certain_choice_is_never_an_ambiguous_fallback() -> None:
    # DIET may be just as sure of something else ("Priority dispatch" looked off-topic to it):
    # the button phrase must still survive the FallbackClassifier's ambiguity check.
    from rasa.nlu.classifiers.fallback_classifier import FallbackClassifier

    ranking = [{"name": "out_of_scope", "confidence": 0.99}, {"name": d.INTENT, "confidence": 0.01}]
    message = Message({TEXT: "Priority dispatch", INTENT: ranking[0], INTENT_RANKING_KEY: ranking})
    QuickReplyIntentClassifier().process([message])
    config = {**FallbackClassifier.get_default_config(), "threshold": 0.5, "ambiguity_threshold": 0.1}
    FallbackClassifier(config).process([message])
    assert message.get(INTENT)["name"] == d.INTENT
