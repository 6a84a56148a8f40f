"""A late parcel's choices (priority, redirect, keep waiting): ActionRecordDelayChoice on the demo provider."""

from __future__ import annotations

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.delay import ActionRecordDelayChoice
from actions.tracking import ActionTrackWaybill
from bot import services
from tests.support.actions import LATE_IN_TRANSIT, prove, run, slot, tracker


async def test_late_parcel_offers_choices_and_records_the_one_picked():
    prove(LATE_IN_TRANSIT)
    dispatcher = CollectingDispatcher()
    events = await ActionTrackWaybill().run(dispatcher, tracker(f"帮我查下 {LATE_IN_TRANSIT}"), {})
    reply = dispatcher.messages[0]
    assert "您希望我们怎么处理" in reply["text"]
    assert [b["payload"] for b in reply["buttons"]] == ["优先派送", "改派地址", "继续等待"]
    offered = slot(events, "delay_choice")
    assert offered["waybill"] == LATE_IN_TRANSIT and offered["options"] == ["priority", "redirect", "keep_waiting"]

    texts, events = await run(ActionRecordDelayChoice(), "改为网点自取", slots={"delay_choice": offered})
    assert "暂时不能这样处理" in texts[0] and "优先派送" in texts[0] and events == []
    texts, events = await run(ActionRecordDelayChoice(), "优先派送", slots={"delay_choice": offered})
    assert "已为包裹 SF1648547086646 申请优先派送" in texts[0] and offered["ticket_id"] in texts[0]
    assert slot(events, "delay_choice") is None
    history = services.tickets().history(offered["ticket_id"])
    assert history[-1].actor == "customer" and history[-1].note == f"customer chose: priority ({LATE_IN_TRANSIT})"


async def test_a_choice_without_an_offer_asks_for_the_parcel():
    texts, events = await run(ActionRecordDelayChoice(), "优先派送")
    assert texts == ["utter_no_delay_choice"] and events == []
    # a wish to collect or redirect, with no late parcel on the table: how changing the address works
    texts, events = await run(ActionRecordDelayChoice(), "送到驿站我自己取")
    assert texts == ["utter_faq/change_address"] and events == []


async def offer_choices() -> dict:
    prove(LATE_IN_TRANSIT)
    events = await ActionTrackWaybill().run(CollectingDispatcher(), tracker(f"帮我查下 {LATE_IN_TRANSIT}"), {})
    return slot(events, "delay_choice")


@pytest.mark.parametrize(
    ("text", "option"),
    [("帮我加急", "priority"), ("rush it", "priority"), ("换个地址吧", "redirect"), ("我再等等", "keep_waiting"),
     ("I'll wait", "keep_waiting"), ("2", "redirect")],
)  # fmt: skip
async def test_a_choice_in_own_words_is_recorded(text, option):
    offered = await offer_choices()
    texts, events = await run(ActionRecordDelayChoice(), text, slots={"delay_choice": offered})
    assert offered["ticket_id"] in texts[0] and slot(events, "delay_choice") is None
    assert services.tickets().history(offered["ticket_id"])[-1].note.startswith(f"customer chose: {option} ")


async def test_an_unreadable_choice_is_asked_again_at_most_three_times():
    offered = await offer_choices()
    dispatcher = CollectingDispatcher()
    events = await ActionRecordDelayChoice().run(dispatcher, tracker("嗯？", slots={"delay_choice": offered}), {})
    said = dispatcher.messages[0]
    assert f"包裹 {LATE_IN_TRANSIT} 延误" in said["text"] and offered["ticket_id"] in said["text"]
    assert "还需要确认：您希望怎么处理？" in said["text"] and "1 优先派送" in said["text"]
    assert [b["payload"] for b in said["buttons"]] == ["优先派送", "改派地址", "继续等待"]
    again = slot(events, "delay_choice")
    assert again["failed"] == 1
    texts, events = await run(ActionRecordDelayChoice(), "嗯？", slots={"delay_choice": again})
    assert "转人工" in texts[0]  # the last try offers a person
    texts, events = await run(ActionRecordDelayChoice(), "嗯？", slots={"delay_choice": slot(events, "delay_choice")})
    assert "继续跟进" in texts[0] and "转人工" in texts[0] and slot(events, "delay_choice") is None
