"""One scan end to end: the demo provider on a temp copy of the fixtures, a real store, real ownership.

A customer asks about a parcel (the tracking answer starts the watch), the fixtures file
changes (as a user simulates an update), one scan queues exactly one notice in the
customer's language, the next scan queues nothing.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot import services
from bot.common.clock import CHINA_TZ
from bot.proactive import watches
from bot.proactive.__main__ import main
from bot.proactive.scan import scan_once
from bot.proactive.store import ProactiveStore
from bot.tickets.service import Requester
from bot.tracking import ProviderError, Shipment
from bot.tracking import service as tracking
from bot.tracking.demo import DemoProvider
from tests.support.proactive import Clock, edit, fixtures_copy, proactive_services

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=CHINA_TZ)
ON_TIME = "YT7366118571491"  # in transit, on time
DELIVERED = "SF1873662042955"
FULL_PHONE_DIGITS = "13912342846"


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def fixtures(tmp_path: Path) -> Path:
    return fixtures_copy(tmp_path)


@pytest.fixture
def env(tmp_path: Path, fixtures: Path, clock: Clock) -> Iterator[tuple[DemoProvider, ProactiveStore]]:
    """Services over the temp fixtures; the proactive store follows the ticket store (tmp)."""
    with proactive_services(tmp_path, fixtures, clock) as (provider, store, _):
        yield provider, store


async def ask(number: str, conversation: str, lang: str, channel: str = "rest") -> str:
    found = await services.provider().get(number)
    assert found is not None
    answer = await tracking.answer(
        Requester(conversation, channel), found, lang, services.now(), reported_missing=False
    )
    return answer.text


async def test_a_parcel_turning_held_is_told_once_in_the_customers_language(
    env: tuple[DemoProvider, ProactiveStore], fixtures: Path, clock: Clock
) -> None:
    provider, store = env
    await ask(ON_TIME, "en-customer", "en")
    await ask(ON_TIME, "zh-customer", "zh", channel="telegram")
    [watch, _] = store.active_watches(NOW)
    assert (watch.conversation_id, watch.channel, watch.language, watch.waybill) == (
        "en-customer",
        "rest",
        "en",
        ON_TIME,
    )
    clock.now = NOW + timedelta(minutes=10)
    assert await scan_once(store, provider, services.policy(), clock.now) == []  # nothing changed

    edit(fixtures, ON_TIME, status="held", hold_reason="address_problem")
    clock.now = NOW + timedelta(minutes=20)  # relative fixture times move with the clock
    queued = await scan_once(store, provider, services.policy(), clock.now)
    by_who = {n.conversation_id: n for n in queued}
    assert sorted(by_who) == ["en-customer", "zh-customer"]
    en, zh = by_who["en-customer"], by_who["zh-customer"]
    assert (en.kind, en.channel, en.waybill, en.due_at) == ("held", "rest", ON_TIME, clock.now)
    assert "on hold" in en.text and "correct address" in en.text and "stop updates" in en.text
    assert zh.channel == "telegram" and "暂时滞留" in zh.text and "不用通知我" in zh.text
    assert FULL_PHONE_DIGITS not in en.text + zh.text
    assert [n.id for n in store.due(clock.now)] == sorted(n.id for n in queued)

    clock.now = NOW + timedelta(minutes=30)
    assert await scan_once(store, provider, services.policy(), clock.now) == []
    assert len(store.notices_of("en-customer")) == 1


async def test_delivery_shows_the_signer_only_to_a_proven_owner_and_ends_the_watch(
    env: tuple[DemoProvider, ProactiveStore], fixtures: Path, clock: Clock
) -> None:
    provider, store = env
    await ask(ON_TIME, "owner", "en")
    await ask(ON_TIME, "stranger", "en")
    services.tickets().record_proof("owner", ON_TIME, "", "phone_last4", timedelta(days=30))
    edit(fixtures, ON_TIME, status="delivered", eta=None, delivered_at="-5m", signed_by="前台")
    queued = {n.conversation_id: n for n in await scan_once(store, provider, services.policy(), clock.now)}
    assert "Signed for by 前台" in queued["owner"].text
    assert "前台" not in queued["stranger"].text and "Delivered at" in queued["stranger"].text
    assert store.active_watches(clock.now) == []
    assert await scan_once(store, provider, services.policy(), clock.now) == []


async def test_a_delivered_parcel_is_not_watched_and_quiet_hours_hold_notices(
    env: tuple[DemoProvider, ProactiveStore], fixtures: Path, clock: Clock
) -> None:
    provider, store = env
    await ask(DELIVERED, "c", "zh")
    await ask(ON_TIME, "c", "zh")
    assert [w.waybill for w in store.active_watches(NOW)] == [ON_TIME]
    edit(fixtures, ON_TIME, status="out_for_delivery")
    clock.now = datetime(2026, 11, 23, 23, 0, tzinfo=CHINA_TZ)
    [notice] = await scan_once(store, provider, services.policy(), clock.now)
    assert notice.kind == "out_for_delivery"
    assert notice.due_at == datetime(2026, 11, 24, 8, 0, tzinfo=CHINA_TZ)
    assert store.due(clock.now) == []


async def test_opted_out_and_failing_lookups_are_skipped(
    env: tuple[DemoProvider, ProactiveStore], fixtures: Path, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    _, store = env
    await ask(ON_TIME, "quiet", "zh")
    await ask(ON_TIME, "broken", "zh")
    assert await watches.set_updates("quiet", False)
    assert not await watches.updates_enabled("quiet")

    class Down:
        async def get(self, waybill: str, carriers: Any = ()) -> Shipment | None:
            raise ProviderError("tracking provider unavailable")

        async def find_by_phone(self, phone: str, receiver_name: str) -> list[Shipment]:
            return []

    edit(fixtures, ON_TIME, status="held", hold_reason="weather")
    assert await scan_once(store, Down(), services.policy(), clock.now) == []
    assert "tracking provider unavailable" in caplog.text and ON_TIME not in caplog.text
    queued = await scan_once(store, env[0], services.policy(), clock.now)
    assert [n.conversation_id for n in queued] == ["broken"]


async def test_a_store_failure_never_breaks_the_answer(
    env: tuple[DemoProvider, ProactiveStore], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "blocked").write_text("a file where a folder should be", encoding="utf-8")
    watches.configure(ProactiveStore(f"sqlite:///{tmp_path / 'blocked' / 'x.db'}"))
    text = await ask(ON_TIME, "c", "en")
    assert ON_TIME in text
    assert "could not watch a parcel" in caplog.text


async def test_command_line_scan_and_pending(
    env: tuple[DemoProvider, ProactiveStore], fixtures: Path, clock: Clock
) -> None:
    await ask(ON_TIME, "cli-customer", "en")
    edit(fixtures, ON_TIME, status="held", hold_reason="weather")
    out = io.StringIO()
    assert await _run(main, ["scan"], out) == 0
    [line] = out.getvalue().splitlines()
    assert line.split("\t")[1:6] == ["cli-customer", "rest", ON_TIME, "held", "pending"]
    out = io.StringIO()
    assert await _run(main, ["pending"], out) == 0
    assert out.getvalue() == f"{line}\n"
    out = io.StringIO()
    assert await _run(main, ["scan"], out) == 0 and out.getvalue() == ""


async def _run(command: Any, argv: list[str], out: io.StringIO) -> int:
    import asyncio

    return await asyncio.to_thread(command, argv, out)  # the command runs its own event loop
