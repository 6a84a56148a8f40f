"""bot.identity.proof (reading the proof) and the proofs and once-per-parcel tickets of the ticket store."""

from __future__ import annotations

import stat
import threading
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Iterator

import pytest

from bot.identity import proof as identity
from bot.identity.proof import OwnerCheck
from bot.tickets import Deadlines, Decision, TicketStore, TicketType
from bot.tracking.demo import DemoProvider
from tests.support import ROOT
from tests.support.stores import BACKENDS, backend_url

T0 = datetime(2026, 11, 23, 4, 0, tzinfo=timezone.utc)
WAYBILL = "SF1648547086646"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2846", "2846"), ("尾号2846", "2846"), ("手机尾号是 2846 谢谢", "2846"), ("２８４６", "2846"),
        ("尾号２８４６", "2846"), ("后四位：28 46", "2846"), ("the last four digits are 2846", "2846"),
        ("it ends in 0012", "0012"), ("28466", None), ("284", None), ("尾号", None), ("", None),
        ("1234 还是 5678", None), ("2846，就是2846", "2846"), ("13912342846", None),
    ],
)  # fmt: skip
def test_last_four_reads_the_answer_in_any_form(text, expected):
    assert identity.last_four(text) == expected


@pytest.mark.parametrize(
    ("phone", "mask"),
    [("13912342846", "139****2846"), ("+86 139-1234-2846", "139****2846"), ("１３９１２３４２８４６", "139****2846"),
     ("139****2846", "139****2846"), ("", ""), ("2846", ""), ("010-12345678", "")],
)  # fmt: skip
def test_phone_mask_never_keeps_a_full_number(phone, mask):
    assert identity.phone_mask(phone) == mask


def test_matches_compares_the_last_four_digits_and_knows_when_it_cannot():
    assert identity.matches("139****2846", "2846") is True
    assert identity.matches("139****2846", "2845") is False
    assert identity.matches("", "2846") is None


@pytest.mark.parametrize(
    "value",
    [None, "x", {"waybill": WAYBILL}, {"waybill": WAYBILL, "purpose": "coupon"}, {"waybill": "", "purpose": "delay"},
     {"waybill": WAYBILL, "purpose": "delay", "tries": -1}, {"waybill": WAYBILL, "purpose": "delay", "tries": True}],
)  # fmt: skip
def test_owner_check_slot_is_read_strictly(value):
    assert OwnerCheck.from_slot(value) is None


def test_owner_check_slot_round_trip():
    check = OwnerCheck(WAYBILL, "delay", 2)
    assert OwnerCheck.from_slot(check.to_slot()) == check


def test_texts_exist_in_both_languages():
    for purpose in identity.PURPOSES:
        assert "后四位" in identity.ask_text(purpose, "zh") and "last four digits" in identity.ask_text(purpose, "en")
    offered = identity.already_offered_text(WAYBILL, "TK-20261123-0001", "coupon", Decimal("5"), "zh")
    assert "TK-20261123-0001" in offered and "5.00" in offered


# -- the store ------------------------------------------------------------------------------------


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path) -> Iterator[TicketStore]:
    url = backend_url(request, tmp_path / "tickets.db")
    now = [T0]
    s = TicketStore(url, clock=lambda: now[0])
    s.now = now  # type: ignore[attr-defined]  # the test moves the clock
    yield s
    s.close()


def _fields(conversation: str) -> dict:
    deadlines = Deadlines(respond_by=T0 + timedelta(minutes=30), resolve_by=T0 + timedelta(hours=24))
    return {"level": 3, "conversation_id": conversation, "channel": "rest", "summary": "late", "deadlines": deadlines}


def test_a_proof_counts_for_its_parcel_and_receiver_phone_until_it_expires(store: TicketStore) -> None:
    assert not store.has_proof("alice", WAYBILL, "139****2846")
    store.record_proof("alice", WAYBILL, "139****2846", "phone_last4", timedelta(days=30))
    assert store.has_proof("alice", WAYBILL)
    assert store.has_proof("alice", "YT7366118571491", "139****2846")  # another parcel for the same phone
    assert not store.has_proof("alice", "YT7366118571491", "139****0000")
    assert not store.has_proof("bob", WAYBILL, "139****2846")  # per conversation
    store.now[0] = T0 + timedelta(days=30, seconds=1)  # type: ignore[attr-defined]
    assert not store.has_proof("alice", WAYBILL, "139****2846")
    assert store.forget_expired_proofs() == 1


def test_a_proof_never_holds_a_full_phone_number(store: TicketStore) -> None:
    with pytest.raises(ValueError, match="masked"):
        store.record_proof("alice", WAYBILL, "13912342846", "phone_lookup", timedelta(days=30))


def test_one_delay_ticket_per_parcel_whoever_asks(store: TicketStore) -> None:
    decision = Decision("coupon", Decimal("5.00"), "delay_le_3d")
    first, new = store.open_once_per_parcel(type=TicketType.DELAY, waybill=WAYBILL, decision=decision, **_fields("a"))
    assert new and first.decision == decision and first.conversation_id == "a"
    again, new = store.open_once_per_parcel(type=TicketType.DELAY, waybill=WAYBILL, decision=decision, **_fields("b"))
    assert not new and again.id == first.id
    assert [t.id for t in store.for_waybill(WAYBILL)] == [first.id]


def test_concurrent_askers_get_one_ticket(store: TicketStore) -> None:
    decision = Decision("coupon", Decimal("5.00"), "delay_le_3d")
    store.create_schema()
    results: list = []
    start = threading.Barrier(6)

    def ask(who: str) -> None:
        start.wait()
        results.append(store.open_once_per_parcel(type="delay", waybill=WAYBILL, decision=decision, **_fields(who)))

    threads = [threading.Thread(target=ask, args=(f"c{i}",)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(new for _, new in results) == 1
    assert len({ticket.id for ticket, _ in results}) == 1
    assert len(store.for_waybill(WAYBILL, TicketType.DELAY)) == 1


def test_summaries_and_notes_never_keep_a_full_phone_number(store: TicketStore) -> None:
    ticket = store.open(type="general", waybill=WAYBILL, **{**_fields("a"), "summary": "call me on 139 1234 2846"})
    assert ticket.summary == "call me on 139****2846"
    store.add_note(ticket.id, "customer says +86 13912342846", actor="bot")
    assert store.history(ticket.id)[-1].note == "customer says 139****2846"


async def test_sqlite_files_are_owner_only(tmp_path) -> None:
    tickets = TicketStore(f"sqlite:///{tmp_path / 'var' / 'tickets.db'}")
    tickets.create_schema()
    tickets.close()
    demo = DemoProvider(tmp_path / "var" / "demo.db", ROOT / "fixtures" / "shipments.yml")
    assert await demo.get(WAYBILL) is not None
    demo.close()
    for name in ("tickets.db", "demo.db"):
        assert stat.S_IMODE((tmp_path / "var" / name).stat().st_mode) == 0o600, name


def test_an_existing_world_readable_database_is_narrowed(tmp_path) -> None:
    path = tmp_path / "tickets.db"
    path.touch(mode=0o644)
    path.chmod(0o644)
    tickets = TicketStore(f"sqlite:///{path}")
    tickets.create_schema()
    tickets.close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
