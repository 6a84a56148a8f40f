"""The proactive tables (SQLAlchemy Core), kept in the ticket database next to the tickets.

Three tables, all prefixed ``proactive_`` so they never collide with the ticket schema:
watches, preferences (opting out of updates) and notices (the outbox). They are created
with ``CREATE TABLE IF NOT EXISTS`` semantics on first use (:func:`create_tables`);
PostgreSQL replicas serialise that with an advisory lock.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Connection

from bot.tickets.schema import UTCDateTime

_PG_LOCK_KEY = 7_420_318_013  # arbitrary, identifies "proactive schema creation"
_ID = BigInteger().with_variant(Integer(), "sqlite")  # SQLite autoincrements INTEGER PRIMARY KEY only

metadata = MetaData()

watches = Table(
    "proactive_watches",
    metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("conversation_id", String(255), nullable=False),
    Column("channel", String(64), nullable=False),
    Column("waybill", String(64), nullable=False),
    Column("language", String(8), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
    Column("last_seen", Text(), nullable=True),
    Column("ended_at", UTCDateTime(), nullable=True),
    UniqueConstraint("conversation_id", "waybill", name="uq_proactive_watch"),
    Index("ix_proactive_watches_active", "ended_at", "expires_at"),
)

preferences = Table(
    "proactive_preferences",
    metadata,
    Column("conversation_id", String(255), primary_key=True),
    Column("updates_enabled", Boolean(), nullable=False),
    Column("changed_at", UTCDateTime(), nullable=False),
)

notices = Table(
    "proactive_notices",
    metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("conversation_id", String(255), nullable=False),
    Column("channel", String(64), nullable=False),
    Column("waybill", String(64), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("change_key", String(255), nullable=False),
    Column("language", String(8), nullable=False),
    Column("text", Text(), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("due_at", UTCDateTime(), nullable=False),
    Column("sent_at", UTCDateTime(), nullable=True),
    Column("status", String(16), nullable=False),
    Column("detail", Text(), nullable=True),
    UniqueConstraint("conversation_id", "waybill", "change_key", name="uq_proactive_notice"),
    Index("ix_proactive_notices_due", "status", "due_at"),
    Index("ix_proactive_notices_day", "conversation_id", "due_at"),
)


def create_tables(conn: Connection) -> None:
    """Create the missing proactive tables and indexes (idempotent, safe across replicas)."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_LOCK_KEY})")
    metadata.create_all(conn, checkfirst=True)
