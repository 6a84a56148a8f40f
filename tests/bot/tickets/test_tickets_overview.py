"""What a customer reads about tickets: their own conversation's, a parcel's, or "unavailable"."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from bot import services
from bot.common.clock import CHINA_TZ
from bot.tickets import TicketType, overview
from bot.tickets.service import Requester, open_for
from tests.support.actions import demo_action_services

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=CHINA_TZ)


@pytest.fixture(autouse=True)
def demo(tmp_path: Path) -> Iterator[None]:
    with demo_action_services(tmp_path, NOW):
        yield


async def test_own_tickets_and_a_parcels_tickets() -> None:
    assert await overview.conversation_tickets("c", "en") == (
        "You have no tickets with us in this conversation. Tell me what happened and I'll help."
    )
    ticket = open_for(Requester("c"), type=TicketType.MISSING, level=2, summary="s", waybill="SF1")
    own = await overview.conversation_tickets("c", "zh")
    assert own is not None and own.startswith("您的工单：\n") and f"{ticket.id}｜丢件/未收到 SF1｜已受理，" in own
    parcel = await overview.parcel_tickets("SF1", "en")
    assert parcel is not None and parcel.startswith("Tickets about parcel SF1:\n") and ticket.id in parcel
    assert await overview.parcel_tickets("SF2", "zh") == "包裹 SF2 目前没有工单记录。"


async def test_a_store_outage_is_none_not_an_empty_list(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken() -> None:
        raise RuntimeError("database down")

    monkeypatch.setattr(services, "tickets", broken)
    assert await overview.conversation_tickets("c", "zh") is None
    assert await overview.parcel_tickets("SF1", "zh") is None
