"""The delay use case on the demo data: the policy's offer, one ticket per parcel, the customer's choice."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot import services
from bot.delay import service as delay
from bot.tickets import TicketStatus, TicketType
from bot.tickets.service import Requester
from tests.support.actions import DELIVERED, LOST, NOW, shipment
from tests.support.actions import LATE_IN_TRANSIT as LATE

pytestmark = pytest.mark.usefixtures("demo_services")


async def test_a_late_parcel_has_an_offer_and_a_lost_one_none() -> None:
    found = delay.late_offer(await shipment(LATE), NOW)
    assert found is not None
    offer, late_by, _ = found
    assert offer.kind == "coupon" and offer.amount > 0 and late_by > timedelta(0)
    assert delay.late_offer(await shipment(LOST), NOW) is None


async def test_compensation_opens_one_ticket_per_parcel_whoever_asks() -> None:
    parcel = await shipment(LATE)
    first = await delay.compensate(Requester("first", "rest"), parcel, "zh", NOW)
    assert first.ticket_id and first.options == ("priority", "redirect", "keep_waiting")
    assert any(f"已为您登记工单 {first.ticket_id}" in line for line in first.lines)
    assert first.choice_slot(LATE) == {"ticket_id": first.ticket_id, "waybill": LATE, "options": list(first.options)}
    ticket = services.tickets().get(first.ticket_id)
    assert ticket is not None and ticket.type is TicketType.DELAY and ticket.channel == "rest"
    assert ticket.resolve_by > NOW  # the policy's deadlines, from now

    second = await delay.compensate(Requester("second", "telegram"), parcel, "en", NOW)
    assert second.ticket_id == first.ticket_id
    assert any("already registered in ticket" in line for line in second.lines)
    assert services.tickets().for_conversation("second") == []


async def test_no_offer_no_ticket() -> None:
    found = await delay.compensate(Requester("c"), await shipment(DELIVERED), "zh", NOW)
    assert found == delay.Compensation([]) and found.choice_slot(DELIVERED) is None


async def test_a_choice_is_noted_once_and_confirmed_with_a_deadline() -> None:
    found = await delay.compensate(Requester("c"), await shipment(LATE), "zh", NOW)
    assert found.ticket_id
    ticket = await delay.record_choice(found.ticket_id, "priority", LATE)
    assert ticket is not None
    assert services.tickets().history(ticket.id)[-1].note == f"customer chose: priority ({LATE})"
    text = delay.confirmation(ticket, "priority", LATE, "zh", NOW)
    assert text.startswith(f"已为包裹 {LATE} 申请优先派送") and ticket.id in text
    services.tickets().transition(ticket.id, TicketStatus.IN_PROGRESS, actor="agent")
    services.tickets().transition(ticket.id, TicketStatus.RESOLVED, actor="agent")
    assert await delay.record_choice(ticket.id, "priority", LATE) is None
    assert await delay.record_choice("TK-00000000-0000", "priority", LATE) is None
