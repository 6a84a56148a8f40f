"""The stores' database, on either real backend: SQLite in ``tmp_path`` or the module's PostgreSQL.

A store fixture is parametrised with :data:`BACKENDS` and asks :func:`backend_url` for its URL;
the PostgreSQL database is the module's own ``pg_url`` (``tests/conftest.py``), emptied first
so that every test starts afresh. :class:`SteppingClock` is the fake clock of the stores' tests.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

BACKENDS = ["sqlite", "postgresql"]
"""The ``params`` of a store fixture: SQLite, then PostgreSQL."""


def empty_pg(url: str) -> str:
    """The PostgreSQL database at ``url`` emptied (its public schema dropped and created again)."""
    engine = sa.create_engine(url, future=True)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP SCHEMA public CASCADE")
        conn.exec_driver_sql("CREATE SCHEMA public")
    engine.dispose()
    return url


def backend_url(request: pytest.FixtureRequest, sqlite_file: Path) -> str:
    """The URL of the fixture's backend: ``sqlite_file``, or the module's PostgreSQL database emptied."""
    if request.param == "sqlite":
        return f"sqlite:///{sqlite_file}"
    return empty_pg(request.getfixturevalue("pg_url"))  # every test starts from an empty database


class SteppingClock:
    """Thread-safe fake clock that moves 1 ms per reading; ``now`` is the last reading."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            self.now += timedelta(milliseconds=1)
            return self.now
