"""Upgrading a ticket database of the previous schema version (2) to the current one, on both backends."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from bot.policy.deadlines import ticket_deadlines
from bot.policy.model import Policy
from bot.settings import Settings
from bot.tickets import TicketStatus, TicketStore
from bot.tickets.escalation import escalate_once
from bot.tickets.schema import ESCALATION_COLUMNS, SCHEMA_VERSION

T0 = datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc)
POLICY = Policy.load(Settings().policy_file)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'tickets.db'}"
    url = request.getfixturevalue("pg_url")
    engine = sa.create_engine(url, future=True)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP SCHEMA public CASCADE")
        conn.exec_driver_sql("CREATE SCHEMA public")
    engine.dispose()
    return url


def _columns(url: str) -> set[str]:
    engine = sa.create_engine(url, future=True)
    try:
        return {c["name"] for c in sa.inspect(engine).get_columns("tickets")}
    finally:
        engine.dispose()


def _version(url: str) -> int:
    engine = sa.create_engine(url, future=True)
    try:
        with engine.connect() as conn:
            return conn.exec_driver_sql("SELECT version FROM schema_version WHERE id = 1").scalar_one()
    finally:
        engine.dispose()


def _make_version_2(url: str) -> str:
    """A version-2 database holding one open level-1 ticket: today's schema without the v3 columns."""
    with TicketStore(url, clock=lambda: T0) as store:
        ticket = store.open(type="complaint", level=1, conversation_id="wx:alice", channel="wechat",
                            summary="包裹丢了", deadlines=ticket_deadlines(POLICY, 1, T0))  # fmt: skip
    engine = sa.create_engine(url, future=True)
    with engine.begin() as conn:
        for name in ESCALATION_COLUMNS:
            conn.exec_driver_sql(f"ALTER TABLE tickets DROP COLUMN {name}")
        conn.exec_driver_sql("UPDATE schema_version SET version = 2 WHERE id = 1")
    engine.dispose()
    return ticket.id


def test_a_fresh_database_is_at_the_current_version_with_the_escalation_columns(db_url: str) -> None:
    with TicketStore(db_url) as store:
        assert store.create_schema() == SCHEMA_VERSION == 3
    assert set(ESCALATION_COLUMNS) <= _columns(db_url)
    assert _version(db_url) == 3


def test_a_version_2_database_is_upgraded_and_keeps_its_tickets(db_url: str) -> None:
    ticket_id = _make_version_2(db_url)
    assert not set(ESCALATION_COLUMNS) & _columns(db_url) and _version(db_url) == 2

    with TicketStore(db_url, clock=lambda: T0) as store:
        ticket = store.get(ticket_id)  # the first use migrates
        assert ticket is not None and ticket.status is TicketStatus.OPEN
        assert (ticket.overdue_at, ticket.escalated_at, ticket.progress_updated_at) == (None, None, None)
        assert set(ESCALATION_COLUMNS) <= _columns(db_url) and _version(db_url) == 3

        report = escalate_once(store, T0 + timedelta(minutes=30))
        assert [e.ticket_id for e in report.escalated] == [ticket_id]
        assert store.get(ticket_id).escalated_at == T0 + timedelta(minutes=30)  # type: ignore[union-attr]
        assert store.create_schema() == 3  # idempotent after the upgrade

    with TicketStore(db_url) as again:  # a second process sees the upgraded database as it is
        assert again.create_schema() == 3
        assert again.get(ticket_id).overdue_at == T0 + timedelta(minutes=30)  # type: ignore[union-attr]
