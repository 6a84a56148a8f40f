"""The agent tables (SQLAlchemy Core) and the migration of databases made by older versions."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from bot.agents.models import MAX_ID
from bot.tickets.schema import UTCDateTime

metadata = sa.MetaData()

agents = sa.Table(
    "agents",
    metadata,
    sa.Column("username", sa.String(64), primary_key=True),
    sa.Column("display_name", sa.String(128), nullable=False),
    sa.Column("password_hash", sa.String(255), nullable=False),
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("role", sa.String(16), nullable=False, server_default="agent"),
)

agent_sessions = sa.Table(
    "agent_sessions",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("username", sa.String(64), sa.ForeignKey("agents.username"), nullable=False, index=True),
    sa.Column("csrf_token", sa.String(128), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False),
    sa.Column("last_seen_at", UTCDateTime, nullable=False),
)

agent_access_log = sa.Table(
    "agent_access_log",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("username", sa.String(64), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("conversation_id", sa.String(MAX_ID), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("detail", sa.String(128), nullable=True),
    sa.Index("ix_agent_access_log_at", "at"),
    sa.Index("ix_agent_access_log_conversation_at", "conversation_id", "at"),
)


def migrate(conn: Connection) -> None:
    """Bring a database created by an older version up to date (inside the schema transaction)."""
    inspector = sa.inspect(conn)
    if "role" not in {column["name"] for column in inspector.get_columns("agents")}:
        conn.exec_driver_sql("ALTER TABLE agents ADD COLUMN role VARCHAR(16) DEFAULT 'agent' NOT NULL")
    if inspector.has_table("agent_login_failures"):  # the old lock-after-five-failures table
        conn.exec_driver_sql("DROP TABLE agent_login_failures")
