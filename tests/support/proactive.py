"""Proactive tests' set-up: a settable clock, a temp copy of the fixtures, services over it.

The demo provider reads a copy of ``fixtures/shipments.yml`` in the test's folder; editing
that copy (:func:`edit`) is how a test, like a user, makes a parcel change.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from bot import services
from bot.policy.model import Policy
from bot.proactive import watches
from bot.proactive.store import ProactiveStore
from bot.tickets import TicketStore
from bot.tracking.demo import DemoProvider
from tests.support import ROOT


class Clock:
    """A clock the test sets: ``clock.now = ...``."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def fixtures_copy(folder: Path) -> Path:
    """A copy of the shipped fixtures file in ``folder``."""
    copy = folder / "shipments.yml"
    copy.write_text((ROOT / "fixtures" / "shipments.yml").read_text(encoding="utf-8"), encoding="utf-8")
    return copy


def edit(path: Path, waybill: str, **fields: Any) -> None:
    """Change one parcel's fields in a fixtures file."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    [record] = [r for r in data["shipments"] if r["waybill"] == waybill]
    record.update(fields)
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")


@contextmanager
def proactive_services(
    folder: Path, fixtures: Path, clock: Clock
) -> Iterator[tuple[DemoProvider, ProactiveStore, TicketStore]]:
    """Services over the fixtures copy, a SQLite ticket store in ``folder`` and the proactive
    store that follows it; everything closed and reset afterwards."""
    provider = DemoProvider(folder / "demo.db", fixtures, now=clock)
    tickets = TicketStore(f"sqlite:///{folder / 'tickets.db'}")
    services.configure(tracking=provider, clock=clock, ticket_store=tickets, service_policy=Policy.load())
    try:
        yield provider, watches.store(), tickets
    finally:
        watches.store().close()
        watches.configure(None)
        provider.close()
        tickets.close()
        services.reset()


@contextmanager
def outbox_services(url: str, now: datetime) -> Iterator[ProactiveStore]:
    """A ticket store and the proactive store on ``url`` as the services' stores, the clock at ``now``."""
    tickets, proactive = TicketStore(url), ProactiveStore(url)
    services.configure(clock=lambda: now, ticket_store=tickets, service_policy=Policy.load())
    watches.configure(proactive)
    try:
        yield proactive
    finally:
        watches.configure(None)
        proactive.close()
        tickets.close()
        services.reset()
