"""The SQL databases' common part: one engine factory and one base class (SQLite or PostgreSQL).

The ticket store (:mod:`bot.tickets`), the agents' store (:mod:`bot.agents`) and the
proactive store (:mod:`bot.proactive`) are all :class:`SqlDatabase` subclasses: a pooled
engine from :func:`make_engine`, the schema installed on first use (each store's
:meth:`SqlDatabase._install`), an injectable clock, and ``close``/context-manager use.
Nothing touches the database in ``__init__``.
"""

from __future__ import annotations

import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from sqlalchemy import create_engine, event
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.pool import StaticPool

from bot.common.files import owner_only_file

if TYPE_CHECKING:  # typing_extensions is only needed by the type checker on Python 3.10
    from typing_extensions import Self


def utcnow() -> datetime:
    """The current time in UTC (the default clock of the stores)."""
    return datetime.now(timezone.utc)


def make_engine(url: str | URL, what: str = "database") -> Engine:
    """Return a pooled engine for a database URL (SQLite or PostgreSQL).

    SQLite files are created owner-only (and narrowed to 0600 if they exist), connections
    enforce foreign keys and every transaction takes the write lock at ``BEGIN`` (so a writer
    waits instead of failing with "database is locked").

    Raises:
        ValueError: Another backend (the message names ``what``).
    """
    url = make_url(url)
    backend = url.get_backend_name()
    if backend == "postgresql":
        return create_engine(url, future=True, pool_pre_ping=True)
    if backend != "sqlite":
        raise ValueError(f"unsupported {what} {backend!r}; use sqlite or postgresql")
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
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


class SqlDatabase:
    """A database: its engine, its schema (installed on first use) and its clock; thread-safe.

    Args:
        url: SQLAlchemy URL; ``sqlite:///path`` (parent directory created) or
            ``postgresql+psycopg2://...``.
        clock: Returns "now" (aware); injectable for tests.
        auto_schema: Install the schema on first use.
    """

    WHAT = "database"
    """What the engine factory's error message calls this database."""

    def __init__(
        self, url: str | URL, *, clock: Callable[[], datetime] | None = None, auto_schema: bool = True
    ) -> None:
        self.url = make_url(url)
        self._clock = clock or utcnow
        self._auto_schema = auto_schema
        self._schema_ready = False
        self._schema_lock = threading.Lock()
        self._engine = make_engine(self.url, self.WHAT)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.url!r})"

    def close(self) -> None:
        """Close every pooled connection."""
        self._engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _install(self, conn: Connection) -> Any:
        """Create or migrate this database's tables inside ``conn``'s transaction (idempotent)."""
        raise NotImplementedError

    def create_schema(self) -> Any:
        """Install the schema now (idempotent); returns what :meth:`_install` returns."""
        with self._engine.begin() as conn:
            result = self._install(conn)
        self._schema_ready = True
        return result

    def _ensure_schema(self) -> None:
        if self._schema_ready or not self._auto_schema:
            return
        with self._schema_lock:
            if not self._schema_ready:
                self.create_schema()
