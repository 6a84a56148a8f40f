"""Fixtures shared by the use-case tests of ``bot/``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot import services
from bot.policy.model import Policy
from bot.tickets import TicketStore
from tests.support.actions import NOW, demo_action_services


@pytest.fixture
def demo_services(tmp_path: Path) -> Iterator[None]:
    """The demo provider, outlets, policy and a ticket store in ``tmp_path``; the clock fixed at ``NOW``."""
    with demo_action_services(tmp_path, NOW):
        yield


@pytest.fixture
def ticket_services(tmp_path: Path) -> Iterator[None]:
    """Only a SQLite ticket store in ``tmp_path`` and the shipped policy (no tracking provider)."""
    store = TicketStore(f"sqlite:///{tmp_path / 'tickets.db'}")
    services.configure(ticket_store=store, service_policy=Policy.load())
    yield
    store.close()
    services.reset()
