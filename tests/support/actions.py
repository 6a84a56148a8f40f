"""The action server's services on the demo data, for tests that run actions directly."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from bot import services
from bot.policy.model import Policy
from bot.tickets import TicketStore
from bot.tracking.demo import DemoProvider
from bot.tracking.outlets import OutletDirectory
from tests.support import ROOT


@contextmanager
def demo_action_services(workdir: Path, now: datetime) -> Iterator[DemoProvider]:
    """Configure ``bot.services`` with the demo provider, outlets, policy and a ticket store in ``workdir``.

    The clock is fixed at ``now``. Everything is closed and the services reset on exit.
    """
    provider = DemoProvider(workdir / "demo.db", ROOT / "fixtures" / "shipments.yml", now=lambda: now)
    tickets = TicketStore(f"sqlite:///{workdir / 'tickets.db'}")
    services.configure(
        tracking=provider,
        outlet_directory=OutletDirectory.from_yaml(ROOT / "fixtures" / "outlets.yml"),
        clock=lambda: now,
        ticket_store=tickets,
        service_policy=Policy.load(),
    )
    try:
        yield provider
    finally:
        provider.close()
        tickets.close()
        services.reset()
