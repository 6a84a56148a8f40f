"""How long one proactive scan takes over many watched parcels, and how fast the outbox drains.

Scan: :func:`bot.proactive.scan.scan_once` over N watched parcels in a temporary SQLite
ticket database, with the demo tracking provider on a copy of ``fixtures/shipments.yml``
(nothing is downloaded). The watches are written straight into the store's table, spread
over the demo parcels that are still moving (a delivered parcel is never watched), one
conversation per watch, each with the baseline a look-up leaves (what the customer was
shown). This is the steady state: every watch is read and looked up, nothing changed, so
no notice is queued and nothing is written back. The ownership check is the real one, on
the same database. The reference is the same scan over fewer watches (1,000 and 10,000 by
default) in the same run: the scan should grow linearly. The "first scan" rows run smaller
sizes without baselines (watches started by a ticket): every watch gets its baseline
written and the held / exception / failed-delivery parcels a notice, one SQLite
transaction each, so they are far slower per watch.

Outbox: N notices queued for N REST conversations, then drained with
:func:`connectors.proactive.runner.drain` (the runner's sender: the in-process REST outbox
that ``GET /webhooks/rest/poll`` empties) in batches of 100 until none is due; the
reference is a drain of 100 notices in the same run.

Usage: python bench/proactive_bench.py [--quick | --full] [--sizes ...] [--first-sizes ...]
[--notices ...]; ``run()`` returns the tables. The default run (2-3 min on 2 busy cores)
scans 1,000 / 10,000 / 100,000 watches (steady) and 100 / 1,000 (first scan) and drains
100 / 1,000 notices; ``--quick`` leaves out the 100,000-watch scan; ``--full`` adds a first
scan of 10,000 and a drain of 10,000 (several more minutes: both write one transaction per
watch or notice).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert  # noqa: E402

from bot import services  # noqa: E402
from bot.common.clock import CHINA_TZ  # noqa: E402
from bot.common.sql import make_engine  # noqa: E402
from bot.policy.model import Policy  # noqa: E402
from bot.proactive.scan import scan_once  # noqa: E402
from bot.proactive.schema import notices, watches  # noqa: E402
from bot.proactive.store import ProactiveStore  # noqa: E402
from bot.proactive.triggers import snapshot  # noqa: E402
from bot.tickets import TicketStore  # noqa: E402
from bot.tracking.demo import DemoProvider  # noqa: E402
from bot.tracking.fixtures import load_records  # noqa: E402
from bot.tracking.models import Status  # noqa: E402
from connectors.proactive.runner import drain  # noqa: E402

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=CHINA_TZ)
"""A Monday noon, China time: outside the shipped quiet hours."""

STEADY_SIZES = (1_000, 10_000, 100_000)
FIRST_SIZES = (100, 1_000)
NOTICE_SIZES = (100, 1_000)
FULL_FIRST_SIZES = (100, 1_000, 10_000)
FULL_NOTICE_SIZES = (100, 1_000, 10_000)
BATCH = 1_000


def _rows(count: int, parcels: Sequence[str], baselines: dict[str, str] | None) -> list[dict[str, Any]]:
    return [
        {
            "conversation_id": f"bench-{i:06d}",
            "channel": "rest",
            "waybill": parcels[i % len(parcels)],
            "language": "en" if i % 2 else "zh",
            "created_at": NOW,
            "expires_at": NOW + timedelta(days=14),
            "last_seen": baselines[parcels[i % len(parcels)]] if baselines is not None else None,
            "ended_at": None,
        }
        for i in range(count)
    ]


def _bulk(url: str, table: Any, rows: list[dict[str, Any]]) -> None:
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            for start in range(0, len(rows), BATCH):
                conn.execute(insert(table), rows[start : start + BATCH])
    finally:
        engine.dispose()


async def _moving_parcels(provider: DemoProvider, fixtures: Path, policy: Policy) -> dict[str, str]:
    """Each demo parcel that is not delivered, with the baseline a look-up of it leaves."""
    found: dict[str, str] = {}
    for record in load_records(fixtures):
        shipment = await provider.get(record.waybill)
        if shipment is not None and shipment.status is not Status.DELIVERED:
            found[shipment.waybill] = snapshot(shipment, NOW, policy).to_json()
    return found


async def _scan(work: Path, provider: DemoProvider, policy: Policy, count: int, baselines: dict[str, str] | None,
                parcels: Sequence[str]) -> tuple[float, int]:  # fmt: skip
    """Seconds of one scan over ``count`` fresh watches, and the notices it queued."""
    url = f"sqlite:///{work / f'scan-{count}-{baselines is None}.db'}"
    store = ProactiveStore(url)
    tickets = TicketStore(url)
    try:
        store.create_schema()
        _bulk(url, watches, _rows(count, parcels, baselines))
        services.configure(ticket_store=tickets)  # the ownership check reads proofs here
        started = time.perf_counter()
        queued = await scan_once(store, provider, policy, NOW)
        return time.perf_counter() - started, len(queued)
    finally:
        store.close()
        tickets.close()


async def _drain(work: Path, count: int) -> float:
    """Seconds to drain ``count`` due notices through the REST outbox."""
    url = f"sqlite:///{work / f'outbox-{count}.db'}"
    store = ProactiveStore(url)
    try:
        store.create_schema()
        rows = [
            {
                "conversation_id": f"bench-{i:06d}",
                "channel": "rest",
                "waybill": "SF1648547086646",
                "kind": "held",
                "change_key": f"held:weather:{i}",
                "language": "zh",
                "text": "您的包裹 SF1648547086646 因天气原因暂时滞留。回复“不用通知我”可停止提醒。",
                "created_at": NOW,
                "due_at": NOW,
                "sent_at": None,
                "status": "pending",
                "detail": None,
            }  # fmt: skip
            for i in range(count)
        ]
        _bulk(url, notices, rows)
        sent = 0
        started = time.perf_counter()
        while True:
            done, failed = await drain(store, NOW)
            if not done and not failed:
                break
            sent += done
        elapsed = time.perf_counter() - started
        if sent != count:
            raise RuntimeError(f"drained {sent} of {count} notices")
        return elapsed
    finally:
        store.close()


async def _run(steady: Sequence[int], first: Sequence[int], notice_sizes: Sequence[int]) -> str:
    work = Path(tempfile.mkdtemp(prefix="proactive-bench-"))
    fixtures = work / "shipments.yml"
    shutil.copy(ROOT / "fixtures" / "shipments.yml", fixtures)
    provider = DemoProvider(work / "demo.db", fixtures, now=lambda: NOW)
    policy = Policy.load()
    services.configure(tracking=provider, clock=lambda: NOW, service_policy=policy)
    try:
        baselines = await _moving_parcels(provider, fixtures, policy)
        parcels = sorted(baselines)
        lines = [
            f"One scan (`scan_once`) over N watched parcels: temporary SQLite, demo provider, {len(parcels)} "
            "moving demo parcels shared by N conversations (one watch each):",
            "",
            "| watches | scan | total (s) | parcels/s | notices queued |",
            "|---:|---|---:|---:|---:|",
        ]
        for label, sizes, base in (
            ("steady (baselines set)", steady, baselines),
            ("first (no baselines)", first, None),
        ):
            for count in sizes:
                print(f"scanning {count} watches, {label}…", file=sys.stderr, flush=True)
                seconds, queued = await _scan(work, provider, policy, count, base, parcels)
                lines.append(f"| {count:,} | {label} | {seconds:.1f} | {count / seconds:,.0f} | {queued:,} |")
        lines += [
            "",
            "Draining the outbox (`drain`, batches of 100) into the in-process REST outbox:",
            "",
            "| notices | total (s) | notices/s |",
            "|---:|---:|---:|",
        ]
        for count in notice_sizes:
            print(f"draining {count} notices…", file=sys.stderr, flush=True)
            seconds = await _drain(work, count)
            lines.append(f"| {count:,} | {seconds:.2f} | {count / seconds:,.0f} |")
        return "\n".join(lines)
    finally:
        provider.close()
        services.reset()
        shutil.rmtree(work, ignore_errors=True)


def run(
    steady: Sequence[int] = STEADY_SIZES, first: Sequence[int] = FIRST_SIZES, notice_sizes: Sequence[int] = NOTICE_SIZES
) -> str:
    """Measure the scans and the drains; returns the Markdown tables.

    The REST outbox is the in-process one whatever the shell says: ``HANDOFF_REDIS_URL`` and
    ``REDIS_URL`` are hidden from this process during the run and put back afterwards.
    """
    hidden = {name: os.environ.pop(name) for name in ("HANDOFF_REDIS_URL", "REDIS_URL") if name in os.environ}
    try:
        return asyncio.run(_run(steady, first, notice_sizes))
    finally:
        os.environ.update(hidden)


def main() -> int:
    """Print the tables."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="leave out the 100,000-watch scan")
    parser.add_argument("--full", action="store_true", help="add a 10,000-watch first scan and a 10,000 drain")
    parser.add_argument("--sizes", help="steady scan sizes, comma-separated (default 1000,10000,100000)")
    parser.add_argument("--first-sizes", help="first-scan sizes, comma-separated (default 1000,10000)")
    parser.add_argument("--notices", help="drain sizes, comma-separated (default 100,10000)")
    args = parser.parse_args()

    def sizes(value: str | None, default: Sequence[int]) -> list[int]:
        return [int(part) for part in value.split(",") if part.strip()] if value else list(default)

    steady = sizes(args.sizes, STEADY_SIZES)
    if args.quick:
        steady = [count for count in steady if count < 100_000]
    first = sizes(args.first_sizes, FULL_FIRST_SIZES if args.full else FIRST_SIZES)
    print(run(steady, first, sizes(args.notices, FULL_NOTICE_SIZES if args.full else NOTICE_SIZES)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
