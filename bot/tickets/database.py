"""The ticket database connection: engine per backend, lazy schema, the store's clock.

:class:`TicketDatabase` is the base of :class:`bot.tickets.store.TicketStore`: it owns
the pooled engine (SQLite or PostgreSQL), creates or migrates the schema on first use
and reads "now" from an injectable clock. Nothing touches the database in ``__init__``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Callable
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Connection

from bot.common.sql import SqlDatabase, utcnow
from bot.tickets.models import ensure_utc
from bot.tickets.schema import migrate

DEFAULT_URL = "sqlite:///var/tickets.db"


class TicketDatabase(SqlDatabase):
    """A ticket database: its engine, its schema (created on first use) and its clock.

    Args:
        url: SQLAlchemy URL; ``sqlite:///path`` (parent directory created) or
            ``postgresql+psycopg2://...``.
        id_timezone: Timezone whose calendar day goes into ticket ids.
        clock: Returns "now" (aware); injectable for tests.
        auto_schema: Create/migrate the schema on first use.
    """

    WHAT = "ticket database"

    def __init__(
        self,
        url: str = DEFAULT_URL,
        *,
        id_timezone: str = "Asia/Shanghai",
        clock: Callable[[], datetime] = utcnow,
        auto_schema: bool = True,
    ) -> None:
        super().__init__(url, clock=clock, auto_schema=auto_schema)
        self._id_tz = ZoneInfo(id_timezone)

    def _install(self, conn: Connection) -> int:
        """Create missing tables and run pending migrations; returns the schema version."""
        return migrate(conn)

    def create_schema(self) -> int:
        """Create missing tables and run pending migrations; idempotent.

        Returns:
            The schema version now in the database.
        """
        return int(super().create_schema())

    def _now(self) -> datetime:
        return ensure_utc(self._clock(), "clock()")
