"""The missing-parcel use case: which intent started the lookup, and the find-or-open ticket."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from bot import services
from bot.missing import service as missing
from bot.policy.model import Policy
from bot.tickets import TicketType
from bot.tickets.service import Requester
from tests.support.actions import DELIVERED, LOST, NOW, shipment
from tests.support.actions import LATE_IN_TRANSIT as LATE

pytestmark = pytest.mark.usefixtures("demo_services")


@dataclass
class Conversation:
    events: list[dict[str, Any]] = field(default_factory=list)
    latest_message: dict[str, Any] = field(default_factory=dict)


def user(intent: str) -> dict[str, Any]:
    return {"event": "user", "parse_data": {"intent": {"name": intent}}}


def test_flow_intent_reads_any_conversation() -> None:
    started = [user("report_missing"), {"event": "active_loop", "name": "waybill_form"}, user("track_waybill")]
    assert missing.flow_intent(Conversation(started)) == "report_missing"
    assert missing.flow_intent(Conversation([], {"intent": {"name": "greet"}})) == "greet"


async def test_a_report_finds_or_opens_one_ticket_per_conversation() -> None:
    parcel = await shipment(DELIVERED)
    lines, ticket_id = await missing.report_missing(Requester("c", "widget"), parcel, "en")
    assert ticket_id and lines == [lines[0]] and f"I've opened ticket {ticket_id}" in lines[0]
    ticket = services.tickets().get(ticket_id)
    assert ticket is not None and ticket.type is TicketType.MISSING and ticket.channel == "widget"
    assert ticket.level == Policy.load().missing_ticket_level and ticket.resolve_by > NOW
    assert "signed by 前台" in ticket.summary
    again = await missing.report_missing(Requester("c", "widget"), parcel, "en")
    assert again[1] == ticket_id
    other = await missing.report_missing(Requester("d"), parcel, "zh")
    assert other[1] != ticket_id


async def test_a_lost_parcel_is_reported_and_a_moving_one_is_not() -> None:
    lost = await shipment(LOST)
    assert missing.summary_of(lost) == "customer reports a lost parcel"
    assert (await missing.report_missing(Requester("c"), lost, "zh"))[1]
    assert await missing.report_missing(Requester("c"), await shipment(LATE), "zh") == ([], None)
