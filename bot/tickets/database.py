"""The ticket database connection: engine per backend, lazy schema, the store's clock.

:class:`TicketDatabase` is the base of :class:`bot.tickets.store.TicketStore`: it owns
the pooled engine (SQLite or PostgreSQL), creates or migrates the schema on first use
and reads "now" from an injectable clock. Nothing touches the database in ``__init__``.
"""

from __future__ import annotations

import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable
from zoneinfo import ZoneInfo

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.pool import StaticPool

from bot.common.files import owner_only_file
from bot.tickets.models import ensure_utc
from bot.tickets.schema import migrate

if TYPE_CHECKING:  # typing_extensions is only needed by the type checker on Python 3.10
    from typing_extensions import Self

DEFAULT_URL = "sqlite:///var/tickets.db"


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


def make_engine(url: Any) -> Engine:
    """Return a pooled engine for a ticket database URL (SQLite or PostgreSQL).

    SQLite files are created owner-only, connections enforce foreign keys and every
    transaction takes the write lock at ``BEGIN`` (so a writer waits instead of failing).

    Raises:
        ValueError: Another backend.
    """
    url = make_url(url)
    backend = url.get_backend_name()
    if backend == "postgresql":
        return create_engine(url, future=True, pool_pre_ping=True)
    if backend != "sqlite":
        raise ValueError(f"unsupported ticket database {backend!r}; use sqlite or postgresql")
    database = url.database or ""
    memory = database in ("", ":memory:")
    file = None if memory or database.startswith("file:") else Path(database).expanduser()
    engine = create_engine(
        url,
        future=True,
        connect_args={"timeout": 30, "check_same_thread": False},
        **({"poolclass": StaticPool} if memory else {}),
    )

    @event.listens_for(engine, "do_connect")
    def _before_connect(*_args: Any) -> None:
        if file is not None:
            owner_only_file(file)  # created owner-only before SQLite would create it world-readable

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # pysqlite must not BEGIN on its own; see _on_begin
        dbapi_conn.execute("PRAGMA foreign_keys = ON")

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # Take the write lock up front: a deferred transaction that reads and then writes
        # fails at once with "database is locked" instead of waiting for the other writer.
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


class TicketDatabase:
    """A ticket database: its engine, its schema (created on first use) and its clock.

    Args:
        url: SQLAlchemy URL; ``sqlite:///path`` (parent directory created) or
            ``postgresql+psycopg2://...``.
        id_timezone: Timezone whose calendar day goes into ticket ids.
        clock: Returns "now" (aware); injectable for tests.
        auto_schema: Create/migrate the schema on first use.
    """

    def __init__(
        self,
        url: str = DEFAULT_URL,
        *,
        id_timezone: str = "Asia/Shanghai",
        clock: Callable[[], datetime] = _utcnow,
        auto_schema: bool = True,
    ) -> None:
        self.url = make_url(url)
        self._id_tz = ZoneInfo(id_timezone)
        self._clock = clock
        self._auto_schema = auto_schema
        self._schema_ready = False
        self._schema_lock = threading.Lock()
        self._engine = make_engine(self.url)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.url!r})"

    def close(self) -> None:
        """Close every pooled connection."""
        self._engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def create_schema(self) -> int:
        """Create missing tables and run pending migrations; idempotent.

        Returns:
            The schema version now in the database.
        """
        with self._engine.begin() as conn:
            version = migrate(conn)
        self._schema_ready = True
        return version

    def _ensure_schema(self) -> None:
        if self._schema_ready or not self._auto_schema:
            return
        with self._schema_lock:
            if not self._schema_ready:
                self.create_schema()

    def _now(self) -> datetime:
        return ensure_utc(self._clock(), "clock()")
