"""TicketStore against both real backends: SQLite in tmp_path and PostgreSQL on 127.0.0.1:5432.

The PostgreSQL tests create their own database ``lcs_test_<hex>`` for this module
and drop it afterwards. If the server is not running they FAIL (never skip).
"""

from __future__ import annotations

import csv
import hashlib
import io
import itertools
import re
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
import sqlalchemy as sa

from bot.settings import PROJECT_ROOT
from bot.tickets import (
    Action,
    Deadlines,
    Decision,
    EvidenceItem,
    InvalidTransition,
    TicketClosed,
    TicketNotFound,
    TicketStatus,
    TicketStore,
    TicketType,
    store_from_env,
)
from bot.tickets.export import CSV_COLUMNS
from bot.tickets.schema import SCHEMA_VERSION
from tests.support.stores import SteppingClock

ID_RE = re.compile(r"^TK-\d{8}-\d{4}$")
T0 = datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc)  # 10:00 in Beijing

S = TicketStatus
# The state machine as specified: the chain plus in_progress <-> waiting_customer and reopen.
ALLOWED = {
    (S.OPEN, S.IN_PROGRESS),
    (S.IN_PROGRESS, S.WAITING_CUSTOMER),
    (S.IN_PROGRESS, S.RESOLVED),
    (S.WAITING_CUSTOMER, S.IN_PROGRESS),
    (S.WAITING_CUSTOMER, S.RESOLVED),
    (S.RESOLVED, S.CLOSED),
    (S.RESOLVED, S.IN_PROGRESS),
}
PATH_TO = {
    S.OPEN: [],
    S.IN_PROGRESS: [S.IN_PROGRESS],
    S.WAITING_CUSTOMER: [S.IN_PROGRESS, S.WAITING_CUSTOMER],
    S.RESOLVED: [S.IN_PROGRESS, S.WAITING_CUSTOMER, S.RESOLVED],
    S.CLOSED: [S.IN_PROGRESS, S.WAITING_CUSTOMER, S.RESOLVED, S.CLOSED],
}


def _reset_pg(url: str) -> None:
    engine = sa.create_engine(url, future=True)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP SCHEMA public CASCADE")
        conn.exec_driver_sql("CREATE SCHEMA public")
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'nested' / 'tickets.db'}"
    url = request.getfixturevalue("pg_url")
    _reset_pg(url)  # every test starts from an empty database
    return url


@pytest.fixture
def clock() -> SteppingClock:
    return SteppingClock(T0)


@pytest.fixture
def store(db_url: str, clock: SteppingClock) -> Iterator[TicketStore]:
    s = TicketStore(db_url, clock=clock)
    yield s
    s.close()


def _deadlines(level: int = 3) -> Deadlines:
    return Deadlines(
        respond_by=T0 + timedelta(minutes=30),
        resolve_by=T0 + timedelta(hours=24),
        escalate_by=T0 + timedelta(hours=2) if level < 3 else None,
        update_after=T0 + timedelta(hours=48) if level == 3 else None,
    )


def _open(store: TicketStore, conversation_id: str = "wx:alice", **kw: object):
    args: dict = {
        "type": TicketType.DAMAGE_CLAIM,
        "level": 2,
        "conversation_id": conversation_id,
        "channel": "wechat",
        "summary": "外箱破损，内物碎裂",
        "deadlines": _deadlines(2),
        "waybill": "SF1234567890123",
    }
    args.update(kw)
    return store.open(**args)


def _evidence(content: bytes, kind: str = "outer_packaging") -> EvidenceItem:
    digest = hashlib.sha256(content).hexdigest()
    return EvidenceItem(sha256=digest, kind=kind, path=f"var/evidence/{digest}.jpg", size=len(content),
                        content_type="image/jpeg")  # fmt: skip


# -- ids ----------------------------------------------------------------------------------------


def test_open_returns_stored_ticket_with_formatted_sequential_ids(store: TicketStore) -> None:
    first = _open(store)
    assert ID_RE.match(first.id)
    assert first.id == "TK-20261123-0001"
    assert [_open(store).id for _ in range(2)] == ["TK-20261123-0002", "TK-20261123-0003"]
    assert first.status is S.OPEN and first.type is TicketType.DAMAGE_CLAIM and first.level == 2
    assert first.respond_by == T0 + timedelta(minutes=30) and first.respond_by.tzinfo == timezone.utc
    assert first.escalate_by == T0 + timedelta(hours=2) and first.update_after is None
    assert first.created_at.tzinfo == timezone.utc and first.created_at == first.updated_at
    assert store.get(first.id) == first


def test_id_day_is_beijing_calendar_day_and_sequence_restarts(store: TicketStore, clock: SteppingClock) -> None:
    clock.now = datetime(2026, 11, 23, 15, 58, tzinfo=timezone.utc)  # 23:58 Beijing
    assert _open(store).id == "TK-20261123-0001"
    clock.now = datetime(2026, 11, 23, 16, 1, tzinfo=timezone.utc)  # 00:01 next day in Beijing
    assert _open(store).id == "TK-20261124-0001"
    assert _open(store).id == "TK-20261124-0002"


def test_concurrent_opens_from_threads_get_unique_gapless_ids(store: TicketStore) -> None:
    store.create_schema()
    threads, per_thread = 8, 6
    barrier = threading.Barrier(threads)
    ids: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def work(n: int) -> None:
        try:
            barrier.wait()
            for _ in range(per_thread):
                ticket = _open(store, conversation_id=f"tg:{n}")
                with lock:
                    ids.append(ticket.id)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    workers = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
    assert not errors
    assert len(ids) == len(set(ids)) == threads * per_thread
    assert sorted(int(i.rsplit("-", 1)[1]) for i in ids) == list(range(1, threads * per_thread + 1))
    assert len(store.list(limit=None)) == threads * per_thread


# -- state machine ------------------------------------------------------------------------------


@pytest.mark.parametrize(("start", "target"), list(itertools.product(S, S)), ids=lambda s: s.value)
def test_transition_table(store: TicketStore, start: TicketStatus, target: TicketStatus) -> None:
    ticket = _open(store)
    for step in PATH_TO[start]:
        store.transition(ticket.id, step, actor="agent:li")
    assert store.get(ticket.id).status is start
    before = store.history(ticket.id)
    if (start, target) in ALLOWED:
        moved = store.transition(ticket.id, target, actor="agent:li", note="why")
        assert moved.status is target and store.get(ticket.id).status is target
        last = store.history(ticket.id)[-1]
        assert (last.action, last.from_status, last.to_status, last.actor, last.note) == (
            Action.STATUS_CHANGED, start, target, "agent:li", "why",
        )  # fmt: skip
    else:
        with pytest.raises(InvalidTransition, match=f"from {start.value} to {target.value}"):
            store.transition(ticket.id, target, actor="agent:li")
        assert store.get(ticket.id).status is start
        assert store.history(ticket.id) == before


def test_transition_accepts_strings_and_rejects_unknown(store: TicketStore) -> None:
    ticket = _open(store)
    assert store.transition(ticket.id, "in_progress", actor="agent").status is S.IN_PROGRESS
    with pytest.raises(ValueError):
        store.transition(ticket.id, "done", actor="agent")
    with pytest.raises(TicketNotFound):
        store.transition("TK-20000101-0001", S.IN_PROGRESS, actor="agent")


# -- history ------------------------------------------------------------------------------------


def test_history_is_complete_and_append_only(store: TicketStore, db_url: str) -> None:
    ticket = _open(store, actor="bot", note="opened from chat")
    h1 = store.history(ticket.id)
    store.add_evidence(ticket.id, _evidence(b"photo-1"), actor="customer")
    store.set_decision(ticket.id, Decision("pay_insured_value", Decimal("380.00"), "damage_over_5pct"), actor="bot")
    store.transition(ticket.id, S.IN_PROGRESS, actor="agent:wang", note="taking it")
    h2 = store.history(ticket.id)
    assert h2[: len(h1)] == h1
    assert [(h.action, h.from_status, h.to_status, h.actor) for h in h2] == [
        (Action.CREATED, None, S.OPEN, "bot"),
        (Action.EVIDENCE_ADDED, S.OPEN, S.OPEN, "customer"),
        (Action.DECISION_SET, S.OPEN, S.OPEN, "bot"),
        (Action.STATUS_CHANGED, S.OPEN, S.IN_PROGRESS, "agent:wang"),
    ]
    assert h2[0].note == "opened from chat" and h2[-1].note == "taking it"
    assert "380.00" in h2[2].note and "damage_over_5pct" in h2[2].note
    assert [h.at for h in h2] == sorted(h.at for h in h2) and all(h.ticket_id == ticket.id for h in h2)
    store.transition(ticket.id, S.WAITING_CUSTOMER, actor="agent:wang")
    assert store.history(ticket.id)[: len(h2)] == h2

    engine = sa.create_engine(db_url, future=True)
    try:
        for statement in ("UPDATE ticket_history SET note = 'tampered'", "DELETE FROM ticket_history"):
            with pytest.raises(sa.exc.DatabaseError, match="append-only"), engine.begin() as conn:
                conn.exec_driver_sql(statement)
    finally:
        engine.dispose()
    assert store.history(ticket.id)[: len(h2)] == h2
    with pytest.raises(TicketNotFound):
        store.history("TK-20000101-0001")


# -- isolation ----------------------------------------------------------------------------------


def test_customer_only_sees_their_own_tickets(store: TicketStore) -> None:
    a1 = _open(store, "wx:alice")
    b1 = _open(store, "tg:bob", type="delay", level=3, deadlines=_deadlines(3))
    a2 = _open(store, "wx:alice", type="complaint")
    assert [t.id for t in store.for_conversation("wx:alice")] == [a2.id, a1.id]
    assert [t.id for t in store.for_conversation("tg:bob")] == [b1.id]
    assert store.for_conversation("wx:mallory") == []
    assert store.get(b1.id, conversation_id="wx:alice") is None
    assert store.get(a1.id, conversation_id="wx:alice") == a1
    assert store.get("TK-20000101-0001") is None


# -- evidence and decision ----------------------------------------------------------------------


def test_evidence_and_decision_round_trip_exactly(store: TicketStore, db_url: str, clock: SteppingClock) -> None:
    ticket = _open(store)
    e1, e2 = _evidence(b"outer box"), _evidence(b"broken vase", kind="contents")
    store.add_evidence(ticket.id, e1, actor="customer")
    store.add_evidence(ticket.id, e2, actor="customer")
    again = store.add_evidence(ticket.id, e1, actor="customer")  # same content: no-op
    assert again.evidence == (e1, e2)
    assert sum(h.action is Action.EVIDENCE_ADDED for h in store.history(ticket.id)) == 2

    amount = Decimal("1234567890.12")
    store.set_decision(ticket.id, Decision("pay_insured_value", amount, "damage_over_5pct"), actor="bot")
    fresh = TicketStore(db_url, clock=clock)  # a second process/replica sees the same
    try:
        got = fresh.get(ticket.id)
    finally:
        fresh.close()
    assert got.evidence == (e1, e2)
    assert got.decision == Decision("pay_insured_value", amount, "damage_over_5pct")
    assert isinstance(got.decision.amount, Decimal) and str(got.decision.amount) == "1234567890.12"

    replaced = store.set_decision(ticket.id, Decision("freight_coupon", Decimal("0.1"), "delay_le_3d"), actor="bot")
    assert str(replaced.decision.amount) == "0.10" and replaced.decision.kind == "freight_coupon"
    with pytest.raises(ValueError, match="two decimal places"):
        Decision("refund", Decimal("1.005"), "x")

    for status in (S.IN_PROGRESS, S.WAITING_CUSTOMER, S.RESOLVED, S.CLOSED):
        store.transition(ticket.id, status, actor="agent")
    with pytest.raises(TicketClosed):
        store.add_evidence(ticket.id, _evidence(b"late photo"), actor="customer")
    with pytest.raises(TicketClosed):
        store.set_decision(ticket.id, Decision("refund", Decimal("1"), "x"), actor="bot")
    with pytest.raises(TicketNotFound):
        store.add_evidence("TK-20000101-0001", e1, actor="customer")


# -- schema, listing, export --------------------------------------------------------------------


def test_create_schema_is_idempotent(store: TicketStore, db_url: str) -> None:
    assert store.create_schema() == SCHEMA_VERSION
    ticket = _open(store)
    assert store.create_schema() == SCHEMA_VERSION
    other = TicketStore(db_url)
    try:
        assert other.create_schema() == SCHEMA_VERSION
        assert other.get(ticket.id) == ticket
    finally:
        other.close()
    engine = sa.create_engine(db_url, future=True)
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT id, version FROM schema_version").all() == [(1, SCHEMA_VERSION)]
    finally:
        engine.dispose()


def test_list_filters_and_limits(store: TicketStore) -> None:
    t1 = _open(store)
    t2 = _open(store, type="delay", level=3, deadlines=_deadlines(3))
    t3 = _open(store, type="delay", level=3, deadlines=_deadlines(3))
    store.transition(t3.id, S.IN_PROGRESS, actor="agent")
    assert [t.id for t in store.list()] == [t3.id, t2.id, t1.id]
    assert [t.id for t in store.list(type="delay")] == [t3.id, t2.id]
    assert [t.id for t in store.list(status=S.OPEN, type=TicketType.DELAY)] == [t2.id]
    assert [t.id for t in store.list(limit=1)] == [t3.id]


def test_export_csv(store: TicketStore) -> None:
    t1 = _open(store, summary='=HYPERLINK("http://evil")')
    store.add_evidence(t1.id, _evidence(b"x"), actor="customer")
    store.set_decision(t1.id, Decision("reship", Decimal("0"), "damage_le_5pct"), actor="bot")
    t2 = _open(store, "tg:bob", type="general", level=3, deadlines=_deadlines(3), waybill=None, summary="问运费")
    out = io.StringIO()
    assert store.export_csv(out) == 2
    out.seek(0)
    reader = csv.DictReader(out)
    assert tuple(reader.fieldnames) == CSV_COLUMNS
    rows = list(reader)
    assert [r["id"] for r in rows] == [t1.id, t2.id]
    first, second = rows
    assert first["summary"] == '\'=HYPERLINK("http://evil")'
    assert (first["type"], first["level"], first["status"], first["conversation_id"], first["channel"]) == (
        "damage_claim", "2", "open", "wx:alice", "wechat",
    )  # fmt: skip
    assert (first["decision_kind"], first["decision_amount"], first["decision_reason_code"]) == (
        "reship", "0.00", "damage_le_5pct",
    )  # fmt: skip
    assert first["evidence_count"] == "1" and first["waybill"] == "SF1234567890123"
    assert datetime.fromisoformat(first["respond_by"]) == T0 + timedelta(minutes=30)
    assert first["update_after"] == "" and first["escalate_by"] != ""
    assert second["summary"] == "问运费" and second["waybill"] == "" and second["decision_kind"] == ""
    filtered = io.StringIO()
    assert store.export_csv(filtered, type="general") == 1


def test_open_validates_input(store: TicketStore) -> None:
    with pytest.raises(ValueError):
        _open(store, type="lost_cat")
    with pytest.raises(ValueError, match="level"):
        _open(store, level=4)
    with pytest.raises(ValueError, match="timezone-aware"):
        _open(store, deadlines=Deadlines(datetime(2026, 1, 1), datetime(2026, 1, 2)))
    with pytest.raises(ValueError, match="conversation_id"):
        _open(store, conversation_id=" ")
    assert store.list() == []


# -- configuration (no database needed) ---------------------------------------------------------


def test_store_from_env(tmp_path) -> None:
    path = tmp_path / "sub" / "t.db"
    store = store_from_env({"TICKETS_DB_URL": f"sqlite:///{path}"})
    assert store.url.database == str(path) and not path.exists()  # no database work until first use
    store.close()
    default = store_from_env({})
    assert default.url.database == str(PROJECT_ROOT / "var" / "tickets.db")
    default.close()
    with pytest.raises(ValueError, match="unsupported"):
        TicketStore("mysql://localhost/x")


def test_find_unresolved_is_per_conversation_type_and_waybill(store: TicketStore) -> None:
    ticket = _open(store, "wx:alice", type=TicketType.DELAY, waybill="SF1234567890123")
    assert store.find_unresolved("wx:alice", TicketType.DELAY, "SF1234567890123").id == ticket.id
    assert store.find_unresolved("wx:alice", "delay", "SF1234567890123").id == ticket.id
    assert store.find_unresolved("wx:bob", TicketType.DELAY, "SF1234567890123") is None
    assert store.find_unresolved("wx:alice", TicketType.MISSING, "SF1234567890123") is None
    assert store.find_unresolved("wx:alice", TicketType.DELAY, "SF9999999999999") is None
    for status in (TicketStatus.IN_PROGRESS, TicketStatus.RESOLVED):
        store.transition(ticket.id, status, actor="agent:li")
    assert store.find_unresolved("wx:alice", TicketType.DELAY, "SF1234567890123") is None


def test_notes_go_to_the_history_and_closed_tickets_refuse_them(store: TicketStore, clock: SteppingClock) -> None:
    ticket = _open(store)
    clock.now += timedelta(minutes=3)
    noted = store.add_note(ticket.id, "customer chose: priority", actor="customer")
    assert noted.status is TicketStatus.OPEN and noted.updated_at > ticket.updated_at
    last = store.history(ticket.id)[-1]
    assert (last.action, last.actor, last.note) == (Action.NOTE_ADDED, "customer", "customer chose: priority")
    with pytest.raises(ValueError):
        store.add_note(ticket.id, "   ", actor="customer")
    with pytest.raises(TicketNotFound):
        store.add_note("TK-20990101-0001", "x", actor="bot")
    for status in ("in_progress", "resolved", "closed"):
        store.transition(ticket.id, status, actor="agent")
    with pytest.raises(TicketClosed):
        store.add_note(ticket.id, "too late", actor="customer")
