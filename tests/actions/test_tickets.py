"""Checking tickets: ActionCheckTicket shows a customer their own tickets only."""

from __future__ import annotations

from rasa_sdk.executor import CollectingDispatcher

from actions.tickets import ActionCheckTicket
from actions.tracking import ActionTrackWaybill
from bot import services
from tests.support.actions import LATE_IN_TRANSIT, prove, run, tracker


async def test_check_ticket_shows_only_the_customers_own_tickets():
    prove(LATE_IN_TRANSIT)
    await run(ActionTrackWaybill(), LATE_IN_TRANSIT)
    dispatcher = CollectingDispatcher()
    await ActionCheckTicket().run(dispatcher, tracker("我的工单怎么样了"), {})
    own = dispatcher.messages[0]["text"]
    ticket = services.tickets().for_conversation("customer-1")[0]
    assert own.startswith("您的工单：") and ticket.id in own and "延误补偿" in own and "已受理" in own
    dispatcher = CollectingDispatcher()
    await ActionCheckTicket().run(dispatcher, tracker("my ticket?", slots={"language": "en"}, sender="other"), {})
    other = dispatcher.messages[0]["text"]
    assert ticket.id not in other and other.startswith("You have no tickets")
