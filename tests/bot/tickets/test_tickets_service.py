"""Opening a ticket (bot/tickets/service.py): a ticket about a parcel watches it for the conversation.

Runs against both ticket backends: SQLite in tmp_path and the PostgreSQL on 127.0.0.1:5432
(a database of this module's own, see ``tests/conftest.py``). The proactive store is the real
one the running assistant uses (:func:`bot.proactive.watches.store`, on the ticket database).
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from bot import services
from bot.claims import service as claims
from bot.claims.draft import ClaimDraft, ParcelFacts
from bot.claims.evidence import EvidenceStore
from bot.delay import service as delay
from bot.handoff import service as handoff
from bot.handoff.conversation import Conversation
from bot.handoff.rules import Trigger
from bot.missing import service as missing
from bot.policy.model import Policy
from bot.proactive import watches
from bot.proactive.models import Watch
from bot.proactive.store import ProactiveStore
from bot.tickets import TicketStore, TicketType
from bot.tickets.service import Requester, open_for, open_once_per_parcel
from bot.tracking.demo import DemoProvider
from tests.support import ROOT
from tests.support.actions import DELIVERED, LATE_IN_TRANSIT, NOW, shipment
from tests.support.stores import BACKENDS, backend_url


@pytest.fixture(params=BACKENDS)
def tickets(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TicketStore]:
    """The demo parcels, the shipped policy, a fixed clock and a real ticket store of either backend."""
    store = TicketStore(backend_url(request, tmp_path / "tickets.db"))
    provider = DemoProvider(tmp_path / "demo.db", ROOT / "fixtures" / "shipments.yml", now=lambda: NOW)
    services.configure(tracking=provider, clock=lambda: NOW, ticket_store=store, service_policy=Policy.load())
    try:
        yield store
    finally:
        watches.store().close()
        watches.configure(None)
        provider.close()
        store.close()
        services.reset()


def watched(conversation: str) -> list[tuple[str, str, str, str | None]]:
    """The conversation's watches as (channel, waybill, language, baseline)."""
    found: list[Watch] = watches.store().watches_of(conversation)
    return [(w.channel, w.waybill, w.language, w.last_seen) for w in found]


def test_a_ticket_about_a_parcel_watches_it_in_the_requesters_language(tickets: TicketStore) -> None:
    ticket = open_for(Requester("c", "telegram", "en"), type=TicketType.MISSING, level=2, summary="s", waybill="SF1")
    assert tickets.get(ticket.id) is not None
    assert watched("c") == [("telegram", "SF1", "en", None)]  # no baseline: first scan tells held/exception only
    [watch] = watches.store().active_watches(NOW)
    assert watch.expires_at - watch.created_at == Policy.load().proactive.watch_retention


def test_the_default_language_is_chinese_and_no_waybill_watches_nothing(tickets: TicketStore) -> None:
    open_for(Requester("c"), type=TicketType.HANDOFF, level=3, summary="s")
    assert watched("c") == []
    open_for(Requester("c"), type=TicketType.MISSING, level=2, summary="s", waybill="SF2")
    assert watched("c") == [("rest", "SF2", "zh", None)]


def test_a_ticket_keeps_the_baseline_a_look_up_set(tickets: TicketStore) -> None:
    watches.store().watch("c", "rest", "SF1", "zh", NOW, last_seen='{"status":"in_transit"}')
    open_for(Requester("c", "widget", "en"), type=TicketType.MISSING, level=2, summary="s", waybill="SF1")
    assert watched("c") == [("widget", "SF1", "en", '{"status":"in_transit"}')]


def test_only_the_conversation_that_opens_a_once_per_parcel_ticket_watches(tickets: TicketStore) -> None:
    first, new = open_once_per_parcel(Requester("a", "rest", "en"), type=TicketType.DELAY, level=3, summary="s",
                                      waybill="SF1")  # fmt: skip
    again, new_again = open_once_per_parcel(Requester("b"), type=TicketType.DELAY, level=3, summary="s", waybill="SF1")
    assert (new, new_again, again.id) == (True, False, first.id)
    assert watched("a") == [("rest", "SF1", "en", None)] and watched("b") == []


def test_a_broken_proactive_store_still_opens_the_ticket(tickets: TicketStore, tmp_path: Path) -> None:
    broken = ProactiveStore(f"sqlite:///{tmp_path / 'no-such-dir' / 'tickets.db'}")  # cannot open: a real failure
    watches.configure(broken)
    try:
        ticket = open_for(Requester("c"), type=TicketType.MISSING, level=2, summary="s", waybill="SF1")
        kept, new = open_once_per_parcel(Requester("c"), type=TicketType.DELAY, level=3, summary="s", waybill="SF1")
    finally:
        watches.configure(None)
        broken.close()
    assert tickets.get(ticket.id) is not None and new and tickets.get(kept.id) is not None
    assert watched("c") == []


# --- the capabilities that open tickets pass the customer's language -------------------------


def test_a_claim_watches_its_parcel(tickets: TicketStore, tmp_path: Path) -> None:
    parcel = ParcelFacts(DELIVERED, "SF", "delivered", Decimal("21"), Decimal("680"), Decimal("680"))
    draft = ClaimDraft(parcel, part="outer", description="box crushed", photos_outer=("a" * 64,), extent="share:0.3000",
                       value=Decimal("680"), packaging_kept=True)  # fmt: skip
    offer, accepted = claims.decide(draft, True)
    claims.file_claim(Requester("c", "widget", "en"), draft, offer, accepted=accepted, photos={},
                      evidence=EvidenceStore(tmp_path / "evidence"))  # fmt: skip
    assert watched("c") == [("widget", DELIVERED, "en", None)]


async def test_a_delay_ticket_watches_its_parcel_in_the_customers_language(tickets: TicketStore) -> None:
    found = await delay.compensate(Requester("c", "telegram"), await shipment(LATE_IN_TRANSIT), "en", NOW)
    assert found.ticket_id
    assert watched("c") == [("telegram", LATE_IN_TRANSIT, "en", None)]


async def test_a_missing_ticket_watches_its_parcel_in_the_customers_language(tickets: TicketStore) -> None:
    _, ticket_id = await missing.report_missing(Requester("c", "widget"), await shipment(DELIVERED), "en")
    assert ticket_id
    assert watched("c") == [("widget", DELIVERED, "en", None)]


def test_a_handoff_about_a_parcel_watches_it(tickets: TicketStore) -> None:
    conversation = Conversation("c", "telegram", [], {}, {"waybill": LATE_IN_TRANSIT, "language": "en"})
    handoff.record(conversation, Trigger("explicit_request", 3), "summary", [], "en")
    handoff.record(Conversation("d", "rest", [], {}, {"waybill": "-"}), Trigger("explicit_request", 3), "s", [])
    assert watched("c") == [("telegram", LATE_IN_TRANSIT, "en", None)] and watched("d") == []
