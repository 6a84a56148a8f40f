"""The ticket database's tables, column types and migrations (SQLAlchemy Core).

The schema is created (or migrated) by :func:`migrate`, run once per store by
:class:`bot.tickets.database.TicketDatabase`. ``schema_version`` holds the version the
database is at; :data:`MIGRATIONS` brings it to :data:`SCHEMA_VERSION`.
"""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from typing import Any, Callable

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    insert,
    inspect,
    select,
    text,
    update,
)
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

from bot.tickets.models import ensure_utc

#: Version the code expects; bump it and add a function to ``MIGRATIONS``.
SCHEMA_VERSION = 3
_PG_LOCK_KEY = 7_420_318_001  # arbitrary, identifies "ticket schema migration"
CENT = Decimal("0.01")


class UTCDateTime(TypeDecorator):
    """Aware UTC datetimes on every backend (SQLite stores them naive, as UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:  # noqa: D102
        if value is None:
            return None
        value = ensure_utc(value)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:  # noqa: D102
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


class Money(TypeDecorator):
    """Exact yuan amounts: NUMERIC(14, 2) where supported, decimal text on SQLite."""

    impl = Numeric(14, 2)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:  # noqa: D102
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(32))
        return dialect.type_descriptor(Numeric(14, 2, asdecimal=True))

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:  # noqa: D102
        if value is None:
            return None
        value = value.quantize(CENT)
        return str(value) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:  # noqa: D102
        if value is None:
            return None
        return Decimal(str(value)).quantize(CENT)


_BigId = BigInteger().with_variant(Integer(), "sqlite")  # SQLite only autoincrements INTEGER PRIMARY KEY

metadata = MetaData()

schema_version = Table(
    "schema_version",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("version", Integer, nullable=False),
)

ticket_counters = Table(
    "ticket_counters",
    metadata,
    Column("day", String(8), primary_key=True),
    Column("last", Integer, nullable=False),
)

tickets = Table(
    "tickets",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("type", String(32), nullable=False),
    Column("level", SmallInteger, nullable=False),
    Column("status", String(32), nullable=False),
    Column("conversation_id", String(255), nullable=False),
    Column("channel", String(64), nullable=False),
    Column("waybill", String(64), nullable=True),
    Column("summary", Text, nullable=False),
    Column("respond_by", UTCDateTime, nullable=False),
    Column("resolve_by", UTCDateTime, nullable=False),
    Column("escalate_by", UTCDateTime, nullable=True),
    Column("update_after", UTCDateTime, nullable=True),
    Column("decision_kind", String(64), nullable=True),
    Column("decision_amount", Money, nullable=True),
    Column("decision_reason_code", String(64), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    # what bot/tickets/escalation.py did, each set once (progress: the latest update sent)
    Column("overdue_at", UTCDateTime, nullable=True),
    Column("escalated_at", UTCDateTime, nullable=True),
    Column("progress_updated_at", UTCDateTime, nullable=True),
    Index("ix_tickets_conversation", "conversation_id", "created_at"),
    Index("ix_tickets_status", "status", "created_at"),
)

ticket_evidence = Table(
    "ticket_evidence",
    metadata,
    Column("id", _BigId, primary_key=True, autoincrement=True),
    Column("ticket_id", String(32), ForeignKey("tickets.id"), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("kind", String(64), nullable=False),
    Column("path", String(1024), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("content_type", String(128), nullable=False),
    Column("added_at", UTCDateTime, nullable=False),
    UniqueConstraint("ticket_id", "sha256", name="uq_ticket_evidence_sha256"),
)

ticket_history = Table(
    "ticket_history",
    metadata,
    Column("id", _BigId, primary_key=True, autoincrement=True),
    Column("ticket_id", String(32), ForeignKey("tickets.id"), nullable=False, index=True),
    Column("at", UTCDateTime, nullable=False),
    Column("actor", String(128), nullable=False),
    Column("action", String(32), nullable=False),
    Column("from_status", String(32), nullable=True),
    Column("to_status", String(32), nullable=True),
    Column("note", Text, nullable=False),
)


identity_proofs = Table(
    "identity_proofs",
    metadata,
    Column("id", _BigId, primary_key=True, autoincrement=True),
    Column("conversation_id", String(255), nullable=False),
    Column("waybill", String(64), nullable=False),
    Column("phone_mask", String(16), nullable=False),
    Column("method", String(32), nullable=False),
    Column("proved_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Index("ix_identity_proofs_conversation", "conversation_id", "expires_at"),
)
"""Conversations that proved a parcel is theirs (bot/identity/proof.py). ``phone_mask`` is the
receiver phone as the tracking data shows it (``139****2846``), never a full number."""


def _v1_history_append_only(conn: Connection) -> None:
    """Make ``ticket_history`` refuse UPDATE and DELETE at the database level."""
    if conn.dialect.name == "sqlite":
        for event in ("UPDATE", "DELETE"):
            conn.exec_driver_sql(
                f"CREATE TRIGGER IF NOT EXISTS ticket_history_no_{event.lower()} BEFORE {event} ON ticket_history "
                "BEGIN SELECT RAISE(ABORT, 'ticket_history is append-only'); END"
            )
    elif conn.dialect.name == "postgresql":
        conn.exec_driver_sql(
            "CREATE OR REPLACE FUNCTION ticket_history_append_only() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'ticket_history is append-only'; END $$"
        )
        conn.exec_driver_sql("DROP TRIGGER IF EXISTS ticket_history_append_only ON ticket_history")
        conn.exec_driver_sql(
            "CREATE TRIGGER ticket_history_append_only BEFORE UPDATE OR DELETE ON ticket_history "
            "FOR EACH ROW EXECUTE FUNCTION ticket_history_append_only()"
        )


def _v2_identity_proofs(conn: Connection) -> None:
    """``identity_proofs`` is created by ``create_all``; nothing else changes."""


ESCALATION_COLUMNS = ("overdue_at", "escalated_at", "progress_updated_at")
"""The ``tickets`` columns version 3 added (:mod:`bot.tickets.escalation`)."""


def _v3_escalation_columns(conn: Connection) -> None:
    """Add the escalation columns to a ``tickets`` table created by an older version.

    A fresh database already has them (``create_all`` ran first), so only missing ones are added.
    """
    present = {column["name"] for column in inspect(conn).get_columns("tickets")}
    for name in ESCALATION_COLUMNS:
        if name not in present:
            kind = tickets.c[name].type.compile(dialect=conn.dialect)
            conn.exec_driver_sql(f"ALTER TABLE tickets ADD COLUMN {name} {kind} NULL")


#: ``version -> migration``; each runs once, after ``create_all``, inside the schema transaction.
MIGRATIONS: dict[int, Callable[[Connection], None]] = {
    1: _v1_history_append_only,
    2: _v2_identity_proofs,
    3: _v3_escalation_columns,
}


def migrate(conn: Connection) -> int:
    """Create missing tables and run pending migrations; safe to call any number of times.

    Args:
        conn: A connection inside a transaction (``engine.begin()``).

    Returns:
        The schema version after the call.

    Raises:
        RuntimeError: The database was migrated by newer code than this.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
    metadata.create_all(conn, checkfirst=True)
    current = conn.execute(select(schema_version.c.version).where(schema_version.c.id == 1)).scalar_one_or_none()
    if current is None:
        conn.execute(insert(schema_version).values(id=1, version=0))
        current = 0
    if current > SCHEMA_VERSION:
        raise RuntimeError(f"ticket database schema is version {current}, newer than this code ({SCHEMA_VERSION})")
    for version in range(current + 1, SCHEMA_VERSION + 1):
        MIGRATIONS[version](conn)
    if current != SCHEMA_VERSION:
        conn.execute(update(schema_version).where(schema_version.c.id == 1).values(version=SCHEMA_VERSION))
    return SCHEMA_VERSION
