"""Tracking a parcel: ActionTrackWaybill and the waybill form, on the demo provider and a slow HTTP upstream."""

from __future__ import annotations

import time

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.tracking import GAVE_UP, ActionTrackWaybill, ValidateWaybillForm
from bot import services
from bot.missing.service import flow_intent
from bot.policy.model import Policy
from bot.tickets import TicketStatus, TicketType
from bot.tracking.kuaidi100 import Kuaidi100Provider
from tests.fakes.tracking import SlowUpstream
from tests.support.actions import DELIVERED, HELD_WEATHER, LATE_IN_TRANSIT, LOST, UNKNOWN, prove, run, slot, tracker


async def test_late_shipment_explained_in_chinese():
    texts, events = await run(ActionTrackWaybill(), f"帮我查下 {LATE_IN_TRANSIT}")
    assert len(texts) == 1
    reply = texts[0]
    assert LATE_IN_TRANSIT in reply
    assert "最新动态" in reply and "已超时" in reply and "预计送达" in reply
    assert slot(events, "my_waybills") == [LATE_IN_TRANSIT]
    assert slot(events, "waybill") is None


async def test_late_parcel_gets_the_policy_compensation_and_a_delay_ticket():
    prove(LATE_IN_TRANSIT)
    texts, events = await run(ActionTrackWaybill(), f"帮我查下 {LATE_IN_TRANSIT}")
    reply = texts[0]
    assert "按我们的时效承诺，为您补偿运费券" in reply
    ticket_id = slot(events, "ticket_id")
    assert f"已为您登记工单 {ticket_id}" in reply
    ticket = services.tickets().get(ticket_id)
    assert ticket.type is TicketType.DELAY and ticket.status is TicketStatus.OPEN
    assert ticket.waybill == LATE_IN_TRANSIT and ticket.conversation_id == "customer-1"
    assert ticket.decision.kind == "coupon" and ticket.decision.amount > 0
    assert f"{ticket.decision.amount:.2f} 元" in reply
    again, events = await run(ActionTrackWaybill(), LATE_IN_TRANSIT)
    assert slot(events, "ticket_id") == ticket_id
    assert len(services.tickets().for_conversation("customer-1")) == 1


async def test_held_by_weather_gets_compensation_but_no_choices():
    dispatcher = CollectingDispatcher()
    events = await ActionTrackWaybill().run(dispatcher, tracker(HELD_WEATHER), {})
    assert "buttons" not in dispatcher.messages[0] or not dispatcher.messages[0]["buttons"]
    assert not any(e.get("name") == "delay_choice" for e in events)


async def test_on_time_parcel_gets_no_apology_and_no_ticket():
    texts, events = await run(ActionTrackWaybill(), DELIVERED)
    assert "抱歉" not in texts[0] and "补偿" not in texts[0]
    assert not any(e.get("name") == "ticket_id" for e in events)
    assert services.tickets().for_conversation("customer-1") == []


def user(intent: str) -> dict:
    return {"event": "user", "text": "…", "parse_data": {"intent": {"name": intent}}}


MISSING_FLOW = [
    user("report_missing"),
    {"event": "action", "name": "waybill_form"},
    {"event": "active_loop", "name": "waybill_form"},
    user("track_waybill"),
]


@pytest.mark.parametrize(
    ("events", "expected"),
    [
        (MISSING_FLOW, "report_missing"),
        (
            [
                user("greet"),
                user("complain_delay"),
                {"event": "active_loop", "name": "waybill_form"},
                user("track_waybill"),
            ],
            "complain_delay",
        ),
        ([user("track_waybill")], "track_waybill"),
        ([], "track_waybill"),
    ],
)
def test_flow_intent_is_what_started_the_lookup(events, expected):
    assert flow_intent(tracker("x", events=events)) == expected


@pytest.mark.parametrize("number", [DELIVERED, LOST])
async def test_not_received_report_opens_a_missing_ticket(number):
    prove(number)
    texts, events = await run(ActionTrackWaybill(), number, events=MISSING_FLOW)
    ticket = services.tickets().get(slot(events, "ticket_id"))
    assert ticket.type is TicketType.MISSING and ticket.level == Policy.load().missing_ticket_level
    assert ticket.waybill == number and f"已为您登记丢件/未收到工单 {ticket.id}" in texts[0]
    if number == DELIVERED:
        assert "signed by 前台" in ticket.summary
    again, events = await run(ActionTrackWaybill(), number, events=MISSING_FLOW)
    assert slot(events, "ticket_id") == ticket.id


async def test_not_received_report_on_a_moving_late_parcel_is_a_delay():
    prove(LATE_IN_TRANSIT)
    texts, events = await run(ActionTrackWaybill(), LATE_IN_TRANSIT, events=MISSING_FLOW)
    ticket = services.tickets().get(slot(events, "ticket_id"))
    assert ticket.type is TicketType.DELAY and "补偿运费券" in texts[0]


async def test_plain_lookup_of_a_delivered_parcel_opens_nothing():
    texts, events = await run(ActionTrackWaybill(), DELIVERED, events=[user("track_waybill")])
    assert not any(e.get("name") == "ticket_id" for e in events)


async def test_delivered_shipment_explained_in_english():
    prove(DELIVERED)
    texts, _ = await run(ActionTrackWaybill(), f"where is {DELIVERED}", slots={"language": "en"})
    reply = texts[0]
    assert "Signed for by" in reply and "Not received it?" in reply
    assert reply.startswith(f"SF Express {DELIVERED}: delivered.")


async def test_held_shipment_gives_its_reason():
    texts, _ = await run(ActionTrackWaybill(), HELD_WEATHER)
    assert "原因" in texts[0] and "天气" in texts[0]


async def test_one_answer_per_number():
    texts, events = await run(ActionTrackWaybill(), f"{DELIVERED}、{HELD_WEATHER} 和 {UNKNOWN}")
    assert texts[0] == "您发了 3 个单号，逐个为您查询："
    assert DELIVERED in texts[1] and HELD_WEATHER in texts[2] and UNKNOWN in texts[3]
    assert "没有查到" in texts[3]
    assert slot(events, "my_waybills") == [DELIVERED, HELD_WEATHER]


async def test_a_pasted_list_is_capped():
    numbers = [f"SF{1000000000000 + i}" for i in range(25)]
    texts, _ = await run(ActionTrackWaybill(), " ".join(numbers), slots={"language": "en"})
    assert texts[0] == "You sent 25 tracking numbers; here are the first 10, one by one:"
    assert len(texts) == 11


async def test_unknown_number_suggests_only_the_customers_own_number():
    typo = LATE_IN_TRANSIT[:-1] + "7"
    texts, _ = await run(ActionTrackWaybill(), typo, slots={"my_waybills": [LATE_IN_TRANSIT]})
    assert f"您是不是要查 {LATE_IN_TRANSIT}" in texts[0]
    texts, _ = await run(ActionTrackWaybill(), typo, slots={"my_waybills": []})
    assert LATE_IN_TRANSIT not in texts[0]
    assert "没有单号" in texts[0]


async def test_no_number_asks_for_one():
    texts, _ = await run(ActionTrackWaybill(), "我的快递到哪了")
    assert texts == ["utter_ask_waybill"]
    texts, _ = await run(ActionTrackWaybill(), "算了", slots={"waybill": GAVE_UP})
    assert texts == ["utter_waybill_give_up"]


async def test_slow_provider_gets_an_apology_within_three_seconds():
    with SlowUpstream() as upstream:
        provider = Kuaidi100Provider("customer", "key", base_url=upstream.url, timeout=10)
        services.configure(tracking=provider)
        started = time.monotonic()
        texts, events = await run(ActionTrackWaybill(), f"查 {LATE_IN_TRANSIT}")
        elapsed = time.monotonic() - started
        await provider.aclose()
    assert elapsed < 3
    assert texts == ["抱歉，物流查询系统暂时无法响应。请几分钟后再试，或回复“转人工”由客服为您查询。"]
    assert not any(e.get("name") == "my_waybills" for e in events)


async def test_provider_down_gets_an_apology():
    provider = Kuaidi100Provider("customer", "key", base_url="http://127.0.0.1:9", timeout=1)
    services.configure(tracking=provider)
    texts, _ = await run(ActionTrackWaybill(), f"where is {DELIVERED}", slots={"language": "en"})
    await provider.aclose()
    assert len(texts) == 1 and texts[0].startswith("Sorry, our tracking system is not answering")


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("好的 是 sf 1648-5470-8664 6", "sf 1648-5470-8664 6"),
        ("ＳＦ１６４８５４７０８６６４６", "ＳＦ１６４８５４７０８６６４６"),
        ("单号SF16485470866４6谢谢", "SF16485470866４6"),
    ],
)
async def test_form_accepts_numbers_in_any_format(reply, expected):
    dispatcher = CollectingDispatcher()
    result = await ValidateWaybillForm().validate_waybill(reply, dispatcher, tracker(reply), {})
    assert result == {"waybill": expected, "waybill_attempts": 0}
    assert dispatcher.messages == []


async def test_form_rejects_junk_then_gives_up():
    dispatcher = CollectingDispatcher()
    form = ValidateWaybillForm()
    first = await form.validate_waybill("12345", dispatcher, tracker("12345"), {})
    assert first == {"waybill": None, "waybill_attempts": 1}
    assert dispatcher.messages[0]["response"] == "utter_invalid_waybill"
    third = await form.validate_waybill("abc", dispatcher, tracker("abc", slots={"waybill_attempts": 2}), {})
    assert third == {"waybill": GAVE_UP, "waybill_attempts": 0}
