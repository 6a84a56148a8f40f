"""The proactive loop: rounds on schedule under a lock, the outbox drained once per notice.

Real stores (SQLite), the demo provider on a temp copy of the fixtures, the shipped policy;
only the channel send is a recorder (the process boundary).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from bot import services
from bot.common.clock import CHINA_TZ
from bot.common.kv import MemoryStore
from bot.policy.deadlines import ticket_deadlines
from bot.proactive import watches
from bot.proactive.models import NewNotice
from bot.proactive.store import ProactiveStore
from bot.tickets import TicketStore, TicketType
from connectors.proactive.runner import LOCK_KEY, ProactiveRunner, drain
from tests.support.proactive import Clock, edit, fixtures_copy, proactive_services

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=CHINA_TZ)
ON_TIME = "YT7366118571491"  # in transit, on time


class Recorder:
    """The channels' side: what was sent to whom; ``refuse`` makes a channel raise."""

    def __init__(self, refuse: str = "") -> None:
        self.sent: list[tuple[str, str, str]] = []
        self.refuse = refuse

    async def __call__(self, channel: str, conversation_id: str, messages: list[dict[str, str]]) -> None:
        if channel == self.refuse:
            raise ConnectionError("channel refused")
        self.sent.extend((channel, conversation_id, m["text"]) for m in messages)


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def fixtures(tmp_path: Path) -> Path:
    return fixtures_copy(tmp_path)


@pytest.fixture
def stores(tmp_path: Path, fixtures: Path, clock: Clock) -> Iterator[tuple[ProactiveStore, TicketStore]]:
    with proactive_services(tmp_path, fixtures, clock) as (_, store, tickets):
        yield store, tickets


def notice(conversation: str, channel: str, key: str, due: datetime) -> NewNotice:
    return NewNotice(conversation_id=conversation, channel=channel, waybill=ON_TIME, kind="held", change_key=key,
                     language="zh", text=f"notice {key}", created_at=NOW, due_at=due)  # fmt: skip


async def test_drain_sends_each_due_notice_once_and_marks_refusals(
    stores: tuple[ProactiveStore, TicketStore],
) -> None:
    store, _ = stores
    store.add(notice("c-1", "rest", "a", NOW))
    store.add(notice("c-2", "wechat", "b", NOW))
    store.add(notice("c-3", "rest", "c", NOW + timedelta(hours=9)))  # held by quiet hours
    recorder = Recorder(refuse="wechat")
    assert await drain(store, NOW, recorder) == (1, 1)
    assert recorder.sent == [("rest", "c-1", "notice a")]
    assert [n.status for n in store.notices_of("c-1")] == ["sent"]
    [refused] = store.notices_of("c-2")
    assert (refused.status, refused.detail) == ("undeliverable", "ConnectionError")
    assert await drain(store, NOW + timedelta(minutes=1), recorder) == (0, 0)  # never twice
    assert await drain(store, NOW + timedelta(hours=9), recorder) == (1, 0)
    assert recorder.sent[-1] == ("rest", "c-3", "notice c")


async def test_a_round_runs_on_the_policys_schedule_and_the_notice_arrives_once(
    stores: tuple[ProactiveStore, TicketStore], fixtures: Path, clock: Clock
) -> None:
    store, _ = stores
    shipment = await services.provider().get(ON_TIME)
    assert shipment is not None
    assert await watches.watch_parcel("tg-42", "telegram", ON_TIME, "en", shipment)
    recorder = Recorder()
    runner = ProactiveRunner(locks=MemoryStore(), clock=clock, send=recorder)
    await runner.tick()  # first round: nothing changed
    assert recorder.sent == []

    edit(fixtures, ON_TIME, status="held", hold_reason="weather")
    clock.now = NOW + timedelta(minutes=1)
    await runner.tick()  # the round is not due yet (scan_interval)
    assert recorder.sent == []
    clock.now = NOW + services.policy().proactive.scan_interval
    await runner.tick()
    [(channel, conversation, text)] = recorder.sent
    assert (channel, conversation) == ("telegram", "tg-42")
    assert "on hold" in text and "stop updates" in text
    clock.now += services.policy().proactive.scan_interval
    await runner.tick()
    assert len(recorder.sent) == 1


async def test_a_held_lock_means_another_replica_does_the_work(
    stores: tuple[ProactiveStore, TicketStore],
) -> None:
    store, _ = stores
    store.add(notice("c-1", "rest", "a", NOW))
    locks = MemoryStore()
    assert await locks.add(LOCK_KEY, "other-replica", 60)
    recorder = Recorder()
    await ProactiveRunner(locks=locks, clock=lambda: NOW, send=recorder).tick()
    assert recorder.sent == []
    assert [n.status for n in store.notices_of("c-1")] == ["pending"]
    await locks.delete(LOCK_KEY)
    await ProactiveRunner(locks=locks, clock=lambda: NOW, send=recorder).tick()
    assert recorder.sent == [("rest", "c-1", "notice a")]
    assert await locks.get(LOCK_KEY) is None  # released after the work


async def test_a_long_open_ticket_gets_its_progress_message_through_the_outbox(
    stores: tuple[ProactiveStore, TicketStore], clock: Clock
) -> None:
    _, tickets = stores
    opened = NOW - timedelta(hours=49)
    ticket = tickets.open(type=TicketType.GENERAL, level=3, conversation_id="w-7", channel="rest",
                          summary="question", deadlines=ticket_deadlines(services.policy(), 3, opened))  # fmt: skip
    recorder = Recorder()
    await ProactiveRunner(locks=MemoryStore(), clock=clock, send=recorder).tick()
    [(channel, conversation, text)] = recorder.sent
    assert (channel, conversation) == ("rest", "w-7")
    assert ticket.id in text and "仍在处理中" in text
