"""The agents' database: SQLite or PostgreSQL, schema created on first use, one transaction per call."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Callable, Iterator

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from bot.agents.passwords import dummy_hash
from bot.agents.schema import metadata, migrate
from bot.common.sql import SqlDatabase
from bot.tickets.models import ensure_utc

_PG_LOCK_KEY = 7_420_318_002  # arbitrary, identifies "agent schema creation"


class AgentDatabase(SqlDatabase):
    """The agents' SQL database: engine, schema on first use, transactions, the clock; thread-safe.

    Args:
        url: SQLAlchemy URL; ``sqlite:///path`` (parent directory created) or ``postgresql+psycopg2://...``.
        clock: Returns "now" (aware); injectable for tests.
        session_ttl: Absolute lifetime of a session.
        idle_timeout: A session unused for this long is no longer valid.
    """

    WHAT = "agent database"

    def __init__(
        self,
        url: str,
        clock: Callable[[], datetime] | None = None,
        session_ttl: timedelta = timedelta(hours=12),
        idle_timeout: timedelta = timedelta(hours=2),
    ) -> None:
        super().__init__(url, clock=clock)
        self.session_ttl = session_ttl
        self.idle_timeout = idle_timeout
        dummy_hash()  # computed now, so the first login for an unknown username is not slower

    def _install(self, conn: Connection) -> None:
        """Create the missing tables and run pending migrations (PostgreSQL: one installer at a time)."""
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
        metadata.create_all(conn, checkfirst=True)
        migrate(conn)

    @contextmanager
    def _begin(self) -> Iterator[Connection]:
        """Yield a connection inside a transaction; the first call creates the missing tables."""
        self._ensure_schema()
        with self._engine.begin() as conn:
            yield conn

    def _now(self) -> datetime:
        return ensure_utc(self._clock(), "clock()")
