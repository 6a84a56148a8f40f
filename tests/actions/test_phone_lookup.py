"""Looking parcels up by phone: the phone lookup form, its extraction and ActionLookupByPhone."""

from __future__ import annotations

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.phone_lookup import ActionLookupByPhone, ValidatePhoneLookupForm, clean_name, extract_mobile
from tests.support.actions import LATE_IN_TRANSIT, run, slot, tracker


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("13912342846", "13912342846"),
        ("139 1234 2846", "13912342846"),
        ("１３９１２３４２８４６", "13912342846"),
        ("电话是139-1234-2846", "13912342846"),
        ("12345", None),
        ("", None),
    ],
)
def test_extract_mobile(text, expected):
    assert extract_mobile(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("王芳", "王芳"), ("收件人是王芳", "王芳"), ("my name is Li Ming", "Li Ming"), ("123", None), ("", None)],
)
def test_clean_name(text, expected):
    assert clean_name(text) == expected


async def test_phone_form_validation_messages():
    dispatcher = CollectingDispatcher()
    form = ValidatePhoneLookupForm()
    assert await form.validate_phone("不知道", dispatcher, tracker("不知道"), {}) == {"phone": None}
    assert dispatcher.messages[-1]["response"] == "utter_invalid_phone"
    assert await form.validate_receiver_name("王芳", dispatcher, tracker("王芳"), {}) == {"receiver_name": "王芳"}


async def test_phone_lookup_finds_only_matching_shipments():
    texts, events = await run(ActionLookupByPhone(), "王芳", slots={"phone": "13912342846", "receiver_name": "王芳"})
    assert texts[0] == "为您查到 3 个包裹："
    assert LATE_IN_TRANSIT in "".join(texts)
    assert "13912342846" not in "".join(texts)
    assert LATE_IN_TRANSIT in slot(events, "my_waybills")
    assert slot(events, "phone") is None


async def test_phone_lookup_with_wrong_name_reveals_nothing():
    texts, events = await run(ActionLookupByPhone(), "张三", slots={"phone": "13912342846", "receiver_name": "张三"})
    assert texts == ["utter_phone_no_match"]
    assert not any(e.get("name") == "my_waybills" for e in events)


def form_tracker(text: str, intent: str, requested: str) -> Tracker:
    latest = {"text": text, "intent": {"name": intent}, "entities": []}
    slots = {"language": "zh", "requested_slot": requested, "phone": None, "receiver_name": None}
    return Tracker("c", slots, latest, [], False, None, {"name": "phone_lookup_form"}, "action_listen")


@pytest.mark.parametrize(
    ("text", "intent", "expected"),
    [
        ("13912342846", "goodbye", {"phone": "13912342846"}),
        ("我的手机是139 1234 2846", "no_waybill", {"phone": "13912342846"}),
        ("不知道", "out_of_scope", {"phone": "不知道"}),
        ("算了不查了", "deny", {}),
        ("转人工", "request_human", {}),
    ],
)
async def test_phone_is_taken_whatever_the_intent(text, intent, expected):
    asked = form_tracker(text, intent, "phone")
    result = await ValidatePhoneLookupForm().extract_phone(CollectingDispatcher(), asked, {})
    assert result == expected


async def test_name_only_extracted_when_asked_for():
    form = ValidatePhoneLookupForm()
    assert await form.extract_receiver_name(CollectingDispatcher(), form_tracker("王芳", "greet", "phone"), {}) == {}
    asked = form_tracker("王芳", "greet", "receiver_name")
    assert await form.extract_receiver_name(CollectingDispatcher(), asked, {}) == {"receiver_name": "王芳"}
