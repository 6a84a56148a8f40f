"""The agents' database: SQLite or PostgreSQL, schema created on first use, one transaction per call."""

from __future__ import annotations

import threading
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.pool import StaticPool

from bot.agents.passwords import dummy_hash
from bot.agents.schema import metadata, migrate
from bot.tickets.models import ensure_utc

if TYPE_CHECKING:  # typing_extensions is only needed by the type checker on Python 3.10
    from typing_extensions import Self

_PG_LOCK_KEY = 7_420_318_002  # arbitrary, identifies "agent schema creation"


class AgentDatabase:
    """The agents' SQL database: engine, schema on first use, transactions, the clock; thread-safe.

    Args:
        url: SQLAlchemy URL; ``sqlite:///path`` (parent directory created) or ``postgresql+psycopg2://...``.
        clock: Returns "now" (aware); injectable for tests.
        session_ttl: Absolute lifetime of a session.
        idle_timeout: A session unused for this long is no longer valid.
    """

    def __init__(
        self,
        url: str,
        clock: Callable[[], datetime] | None = None,
        session_ttl: timedelta = timedelta(hours=12),
        idle_timeout: timedelta = timedelta(hours=2),
    ) -> None:
        self.url = make_url(url)
        self._clock = clock or (lambda: datetime.now(timezone.utc))
        self.session_ttl = session_ttl
        self.idle_timeout = idle_timeout
        self._schema_ready = False
        self._schema_lock = threading.Lock()
        self._engine = self._make_engine()
        dummy_hash()  # computed now, so the first login for an unknown username is not slower

    def _make_engine(self) -> Engine:
        backend = self.url.get_backend_name()
        if backend == "postgresql":
            return sa.create_engine(self.url, future=True, pool_pre_ping=True)
        if backend != "sqlite":
            raise ValueError(f"unsupported agent database {backend!r}; use sqlite or postgresql")
        database = self.url.database or ""
        memory = database in ("", ":memory:")
        if not memory and not database.startswith("file:"):
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(
            self.url,
            future=True,
            connect_args={"timeout": 30, "check_same_thread": False},
            **({"poolclass": StaticPool} if memory else {}),
        )

        @sa.event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # pysqlite must not BEGIN on its own; see _on_begin
            dbapi_conn.execute("PRAGMA foreign_keys = ON")
            if not memory and not database.startswith("file:"):
                _owner_only(Path(database).expanduser())

        @sa.event.listens_for(engine, "begin")
        def _on_begin(conn: Connection) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")  # read-then-write transactions wait instead of failing

        return engine

    def close(self) -> None:
        """Close every pooled connection."""
        self._engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _begin(self) -> Iterator[Connection]:
        """Yield a connection inside a transaction; the first call creates the missing tables."""
        with self._schema_lock:
            if not self._schema_ready:
                with self._engine.begin() as conn:
                    if conn.dialect.name == "postgresql":
                        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
                    metadata.create_all(conn, checkfirst=True)
                    migrate(conn)
                self._schema_ready = True
        with self._engine.begin() as conn:
            yield conn

    def _now(self) -> datetime:
        return ensure_utc(self._clock(), "clock()")


def _owner_only(path: Path) -> None:
    """Make a database file readable by its owner only (it holds password hashes and sessions)."""
    try:
        if path.exists() and path.stat().st_mode & 0o077:
            path.chmod(0o600)
    except OSError:  # not ours to change (e.g. owned by another user): leave it
        pass
