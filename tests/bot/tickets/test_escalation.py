"""Ticket promises kept (bot/tickets/escalation.py) on real SQLite and real PostgreSQL.

Deadlines come from the shipped policy file (``ticket_deadlines``), opened at ``T0``;
the store's clock is fixed so ``created_at`` is exactly ``T0``.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from aiohttp import web

from bot.policy.deadlines import ticket_deadlines
from bot.policy.model import Policy
from bot.settings import Settings
from bot.tickets import Action, Ticket, TicketStatus, TicketStore, TicketType
from bot.tickets.escalation import (
    Alert,
    Escalation,
    escalate_once,
    find_due,
    overdue,
    post_alerts,
    update_interval,
)
from bot.tickets.store import ESCALATION_ACTOR

T0 = datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc)  # 10:00 in Beijing
SECOND = timedelta(seconds=1)
POLICY = Policy.load(Settings().policy_file)


class FixedClock:
    """The store's clock: stays where the test puts it."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'tickets.db'}"
    url = request.getfixturevalue("pg_url")
    engine = sa.create_engine(url, future=True)
    with engine.begin() as conn:  # every test starts from an empty database
        conn.exec_driver_sql("DROP SCHEMA public CASCADE")
        conn.exec_driver_sql("CREATE SCHEMA public")
    engine.dispose()
    return url


@pytest.fixture
def store(db_url: str) -> Iterator[TicketStore]:
    s = TicketStore(db_url, clock=FixedClock())
    yield s
    s.close()


def _open(store: TicketStore, level: int, *, status: TicketStatus = TicketStatus.OPEN, who: str = "wx:alice") -> Ticket:
    ticket = store.open(type=TicketType.DELAY, level=level, conversation_id=who, channel="wechat",
                        summary="三天没更新", deadlines=ticket_deadlines(POLICY, level, T0))  # fmt: skip
    path = {
        TicketStatus.OPEN: [],
        TicketStatus.IN_PROGRESS: [TicketStatus.IN_PROGRESS],
        TicketStatus.WAITING_CUSTOMER: [TicketStatus.IN_PROGRESS, TicketStatus.WAITING_CUSTOMER],
        TicketStatus.RESOLVED: [TicketStatus.IN_PROGRESS, TicketStatus.RESOLVED],
    }[status]
    for step in path:
        store.transition(ticket.id, step, actor="agent:li")
    return store.get(ticket.id)  # type: ignore[return-value]


def _nothing(store: TicketStore, now: datetime) -> None:
    assert not find_due(store, now)
    report = escalate_once(store, now)
    assert report.lines() == [] and report.alerts == ()


def test_the_shipped_policy_escalates_levels_1_and_2_and_updates_level_3() -> None:
    deadlines = {level: ticket_deadlines(POLICY, level, T0) for level in (1, 2, 3)}
    assert deadlines[1].escalate_by == T0 + timedelta(minutes=30)
    assert deadlines[2].escalate_by == T0 + timedelta(hours=2)
    assert deadlines[3].escalate_by is None and deadlines[3].update_after == T0 + timedelta(hours=48)


def test_level_1_is_escalated_exactly_at_escalate_by_and_once(store: TicketStore) -> None:
    ticket = _open(store, 1, status=TicketStatus.IN_PROGRESS)  # responded: only escalation is due
    escalate_by = T0 + timedelta(minutes=30)
    assert ticket.escalate_by == escalate_by

    _nothing(store, escalate_by - SECOND)
    assert store.get(ticket.id).escalated_at is None  # type: ignore[union-attr]

    report = escalate_once(store, escalate_by)
    assert report.escalated == (Escalation(ticket.id, 1, 1, escalate_by),)
    assert report.alerts == (Alert(ticket.id, 1, "escalated", escalate_by),)
    assert report.overdue == () and report.progress == ()
    after = store.get(ticket.id)
    assert after is not None and after.escalated_at == escalate_by and after.level == 1
    assert after.updated_at == ticket.updated_at  # not an agent's change
    last = store.history(ticket.id)[-1]
    assert (last.action, last.actor, last.at) == (Action.ESCALATED, ESCALATION_ACTOR, escalate_by)
    assert last.to_status is TicketStatus.IN_PROGRESS and "level 1 -> 1" in last.note

    _nothing(store, escalate_by)
    _nothing(store, escalate_by + timedelta(minutes=20))
    assert [h.action for h in store.history(ticket.id)].count(Action.ESCALATED) == 1


def test_level_2_is_raised_to_level_1(store: TicketStore) -> None:
    ticket = _open(store, 2, status=TicketStatus.IN_PROGRESS)
    report = escalate_once(store, T0 + timedelta(hours=2))
    assert report.escalated == (Escalation(ticket.id, 2, 1, T0 + timedelta(hours=2)),)
    assert report.alerts[0].level == 1
    assert store.get(ticket.id).level == 1  # type: ignore[union-attr]


def test_an_untaken_ticket_is_overdue_at_respond_by_once_then_escalated(store: TicketStore) -> None:
    ticket = _open(store, 1)
    respond_by = T0 + timedelta(minutes=5)
    _nothing(store, respond_by - SECOND)

    report = escalate_once(store, respond_by)
    assert [(m.ticket.id, m.deadline, m.due_at) for m in report.overdue] == [(ticket.id, "respond_by", respond_by)]
    assert report.alerts == (Alert(ticket.id, 1, "overdue:respond_by", respond_by),)
    assert store.get(ticket.id).overdue_at == respond_by  # type: ignore[union-attr]
    assert store.history(ticket.id)[-1].note.startswith("overdue: past respond_by")
    _nothing(store, respond_by + timedelta(minutes=1))

    # at escalate_by it is escalated, and not marked overdue a second time
    report = escalate_once(store, T0 + timedelta(minutes=30))
    assert report.overdue == () and [e.ticket_id for e in report.escalated] == [ticket.id]


def test_a_taken_ticket_is_overdue_only_at_resolve_by(store: TicketStore) -> None:
    ticket = _open(store, 3, status=TicketStatus.IN_PROGRESS)
    resolve_by = T0 + timedelta(hours=24)
    _nothing(store, resolve_by - SECOND)
    report = escalate_once(store, resolve_by)
    assert [(m.deadline, m.due_at) for m in report.overdue] == [("resolve_by", resolve_by)]
    assert report.lines() == [f"overdue    {ticket.id}  L3  past resolve_by 2026-11-24T02:00:00+00:00"]


def test_level_3_gets_one_progress_update_per_interval(store: TicketStore) -> None:
    ticket = _open(store, 3)
    update_after = T0 + timedelta(hours=48)
    assert update_interval(ticket) == timedelta(hours=48)
    escalate_once(store, T0 + timedelta(hours=24))  # overdue (respond_by) marked on the way
    _nothing(store, update_after - SECOND)

    report = escalate_once(store, update_after)
    assert report.overdue == report.escalated == report.alerts == ()
    (update,) = report.progress
    assert (update.ticket_id, update.conversation_id, update.channel, update.language) == (
        ticket.id, "wx:alice", "wechat", "zh",
    )  # fmt: skip
    assert update.text.startswith(f"您的工单 {ticket.id}（延误补偿）仍在处理中")
    assert store.get(ticket.id).progress_updated_at == update_after  # type: ignore[union-attr]
    assert store.history(ticket.id)[-1].action is Action.PROGRESS_UPDATE

    _nothing(store, update_after)
    _nothing(store, update_after + timedelta(hours=48) - SECOND)
    second = escalate_once(store, update_after + timedelta(hours=48), language_of={"wx:alice": "en"}.get)
    assert [(p.ticket_id, p.language) for p in second.progress] == [(ticket.id, "en")]
    assert second.progress[0].text.startswith(f"Your ticket {ticket.id} (delay compensation) is still being worked on")
    assert [h.action for h in store.history(ticket.id)].count(Action.PROGRESS_UPDATE) == 2


def test_no_progress_update_while_waiting_for_the_customer(store: TicketStore) -> None:
    ticket = _open(store, 3, status=TicketStatus.WAITING_CUSTOMER)
    report = escalate_once(store, T0 + timedelta(hours=49))
    assert report.progress == ()
    assert [m.ticket.id for m in report.overdue] == [ticket.id]  # its resolve_by still counts


@pytest.mark.parametrize("level", [1, 2, 3])
def test_resolved_and_closed_tickets_never_get_anything(store: TicketStore, level: int) -> None:
    resolved = _open(store, level, status=TicketStatus.RESOLVED)
    closed = _open(store, level, status=TicketStatus.RESOLVED)
    store.transition(closed.id, TicketStatus.CLOSED, actor="agent:li")
    for hours in (0.5, 2, 24, 48, 200):
        _nothing(store, T0 + timedelta(hours=hours))
    assert overdue(store, T0 + timedelta(hours=200)) == []
    assert store.get(resolved.id).overdue_at is None  # type: ignore[union-attr]


def test_overdue_lists_oldest_missed_deadline_first(store: TicketStore) -> None:
    l3_open = _open(store, 3)  # respond_by T0+30min
    l1_open = _open(store, 1)  # respond_by T0+5min
    l2_taken = _open(store, 2, status=TicketStatus.IN_PROGRESS)  # resolve_by T0+8h
    _open(store, 1, status=TicketStatus.RESOLVED)
    _open(store, 3, status=TicketStatus.IN_PROGRESS)  # resolve_by T0+24h: not yet
    now = T0 + timedelta(hours=9)
    found = overdue(store, now)
    assert [(m.ticket.id, m.deadline) for m in found] == [
        (l1_open.id, "respond_by"), (l3_open.id, "respond_by"), (l2_taken.id, "resolve_by"),
    ]  # fmt: skip
    escalate_once(store, now)
    assert [m.ticket.id for m in overdue(store, now)] == [m.ticket.id for m in found]  # marked ones stay listed


def test_concurrent_passes_record_each_step_once(store: TicketStore) -> None:
    tickets = [_open(store, 1, who=f"wx:{i}") for i in range(3)]
    now = T0 + timedelta(minutes=30)
    reports = []
    barrier = threading.Barrier(4)

    def run() -> None:
        barrier.wait()
        reports.append(escalate_once(store, now))

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(e.ticket_id for r in reports for e in r.escalated) == sorted(t.id for t in tickets)
    assert sorted(m.ticket.id for r in reports for m in r.overdue) == sorted(t.id for t in tickets)
    for t in tickets:
        actions = [h.action for h in store.history(t.id)]
        assert actions.count(Action.ESCALATED) == actions.count(Action.OVERDUE) == 1


# --- the supervisor webhook: a real local HTTP server ------------------------------------------

ALERTS = [Alert("TK-20261123-0001", 1, "escalated", T0 + timedelta(minutes=30))]


@pytest.fixture
async def webhook() -> AsyncIterator[tuple[str, list[object]]]:
    received: list[object] = []

    async def ok(request: web.Request) -> web.Response:
        received.append(await request.json())
        return web.Response(status=204)

    async def broken(_request: web.Request) -> web.Response:
        return web.Response(status=500)

    async def slow(_request: web.Request) -> web.Response:
        await asyncio.sleep(5)
        return web.Response()

    app = web.Application()
    app.router.add_post("/hook/secret-token", ok)
    app.router.add_post("/broken/secret-token", broken)
    app.router.add_post("/slow/secret-token", slow)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"http://127.0.0.1:{port}", received
    await runner.cleanup()


async def test_post_alerts_posts_json(webhook: tuple[str, list[object]]) -> None:
    base, received = webhook
    assert await post_alerts(f"{base}/hook/secret-token", ALERTS) is True
    assert received == [
        {"alerts": [{"ticket_id": "TK-20261123-0001", "level": 1, "reason": "escalated",
                     "due_at": "2026-11-23T02:30:00+00:00"}]}
    ]  # fmt: skip
    assert await post_alerts(f"{base}/hook/secret-token", []) is True
    assert len(received) == 1  # nothing to post: nothing posted


@pytest.mark.parametrize("path", ["/broken/secret-token", "/slow/secret-token", "/missing/secret-token"])
async def test_post_alerts_never_raises_and_logs_no_secrets(
    webhook: tuple[str, list[object]], path: str, caplog: pytest.LogCaptureFixture
) -> None:
    base, received = webhook
    with caplog.at_level(logging.WARNING, logger="bot.tickets.escalation"):
        assert await post_alerts(base + path, ALERTS, timeout=0.3) is False
    assert received == []
    assert "127.0.0.1" in caplog.text and "secret-token" not in caplog.text and "TK-" not in caplog.text


async def test_post_alerts_to_a_closed_port_is_false() -> None:
    assert await post_alerts("http://127.0.0.1:1/hook", ALERTS, timeout=1.0) is False
