"""The tracking use case: lookups within the deadline, and the answer that depends on who asks."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest

from bot import services
from bot.tickets.service import Requester
from bot.tracking import ProviderError, Shipment
from bot.tracking import service as tracking
from bot.tracking.waybill import find_waybills
from tests.support.actions import DELIVERED, LOST, NOW
from tests.support.actions import LATE_IN_TRANSIT as LATE

pytestmark = pytest.mark.usefixtures("demo_services")


async def shipment(number: str) -> Shipment:
    found = await tracking.lookup(find_waybills(number)[0])
    assert found is not None
    return found


def prove(number: str, sender: str = "c") -> None:
    services.tickets().record_proof(sender, number, "", "phone_last4", timedelta(days=30))


def test_remember_keeps_the_newest_without_repeats() -> None:
    assert tracking.remember(["a", "b"], ["b", "c"]) == ["a", "b", "c"]
    many = tracking.remember([str(n) for n in range(30)], ["x"])
    assert len(many) == tracking.OWN_NUMBERS_KEPT and many[-1] == "x"


async def test_a_slow_provider_is_a_provider_error(monkeypatch: pytest.MonkeyPatch) -> None:
    class Slow:
        async def get(self, *args: Any) -> None:
            await asyncio.sleep(10)

        async def find_by_phone(self, *args: Any) -> list[Shipment]:
            await asyncio.sleep(10)
            return []

    monkeypatch.setattr(tracking, "LOOKUP_DEADLINE", 0.01)
    monkeypatch.setattr(services, "provider", lambda: Slow())
    with pytest.raises(ProviderError):
        await tracking.lookup(find_waybills(LATE)[0])
    with pytest.raises(ProviderError):
        await tracking.find_by_phone("13912342846", "张伟")
    assert tracking.safe_reason(ProviderError("timed out")) == "timed out"
    assert tracking.safe_reason(ValueError("139****2846")) == "ValueError"


async def test_a_stranger_hears_the_public_status_and_is_asked_for_proof() -> None:
    answer = await tracking.answer(Requester("c"), await shipment(LATE), "zh", NOW, reported_missing=False)
    assert answer.check is not None and answer.check.purpose == "delay"
    assert answer.ticket_id is None and answer.choice is None and answer.quick_replies("zh") == []
    assert "元" not in answer.text and "后四位" in answer.text
    delivered = await tracking.answer(Requester("c"), await shipment(DELIVERED), "zh", NOW, reported_missing=False)
    assert delivered.check is not None and delivered.check.purpose == "details" and "签收人：" not in delivered.text
    lost = await tracking.answer(Requester("c"), await shipment(LOST), "zh", NOW, reported_missing=True)
    assert lost.check is not None and lost.check.purpose == "missing"


async def test_an_owner_gets_the_offer_and_the_choices() -> None:
    prove(LATE)
    answer = await tracking.answer(Requester("c"), await shipment(LATE), "zh", NOW, reported_missing=False)
    assert answer.check is None and answer.ticket_id and "补偿运费券" in answer.text
    assert answer.choice == {"ticket_id": answer.ticket_id, "waybill": LATE, "options": list(answer.options)}
    assert [b["payload"] for b in answer.quick_replies("zh")] == ["优先派送", "改派地址", "继续等待"]


async def test_an_owner_reporting_a_delivered_parcel_gets_a_missing_ticket() -> None:
    prove(DELIVERED)
    answer = await tracking.answer(Requester("c"), await shipment(DELIVERED), "zh", NOW, reported_missing=True)
    assert answer.ticket_id and f"已为您登记丢件/未收到工单 {answer.ticket_id}" in answer.text
    assert "签收人：前台" in answer.text and answer.check is None
