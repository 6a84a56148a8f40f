"""Handing over to a person: ActionAssessHandoff and ActionHandoff (a ticket with a summary, then a pause)."""

from __future__ import annotations

from rasa_sdk.executor import CollectingDispatcher

from actions.handoff import ActionAssessHandoff, ActionHandoff
from bot import services
from bot.tickets import TicketType
from tests.support.actions import LATE_IN_TRANSIT, convo, slot


async def test_assess_marks_an_angry_message_and_ignores_a_calm_one():
    calm = await ActionAssessHandoff().run(CollectingDispatcher(), convo(("user", "请问我的快递到哪了")), {})
    assert calm == []
    angry = convo(("user", "你好"), ("bot", "您好"), ("user", "什么破快递！！！我要去12315投诉你们"))
    events = await ActionAssessHandoff().run(CollectingDispatcher(), angry, {})
    assert slot(events, "handoff_due") is True and slot(events, "handoff_trigger")["reason"] == "anger"
    legal = convo(("user", "再不处理我就找律师起诉你们"))
    events = await ActionAssessHandoff().run(CollectingDispatcher(), legal, {})
    assert slot(events, "handoff_trigger") == {"reason": "legal_threat", "level": 1, "detail": ""}


async def test_handoff_opens_a_ticket_with_a_summary_and_pauses():
    tracker_ = convo(("user", "查 SF1648547086646"), ("bot", "运输中，已超时"), ("user", "什么破快递！！！我要投诉"),
                     slots={"handoff_due": True,
                            "handoff_trigger": {"reason": "anger", "level": 1, "detail": "score 0.92"}},
                     loop="waybill_form")  # fmt: skip
    dispatcher = CollectingDispatcher()
    events = await ActionHandoff().run(dispatcher, tracker_, {})
    assert events[0] == {"event": "active_loop", "name": None, "timestamp": None}
    assert events[-1]["event"] == "pause"
    handoff = slot(events, "handoff")
    ticket = services.tickets().get(handoff["ticket_id"])
    assert ticket.type is TicketType.HANDOFF and ticket.level == 1 and ticket.waybill == LATE_IN_TRANSIT
    for part in (
        "Handoff: anger (score 0.92), level 1",
        "Parcel: SF1648547086646",
        "  > 什么破快递！！！我要投诉",
        "  < 运输中，已超时",
    ):
        assert part in ticket.summary  # fmt: skip
    assert handoff["ticket_id"] in dispatcher.messages[0]["text"]
    again = await ActionHandoff().run(CollectingDispatcher(), tracker_, {})
    assert slot(again, "handoff")["ticket_id"] == ticket.id  # one handoff ticket per conversation
    assert services.tickets().history(ticket.id)[-1].note.startswith("handed over again: anger")
