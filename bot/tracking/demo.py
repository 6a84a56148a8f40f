"""Demo tracking provider: the fixtures file served from a SQLite database.

The database (one table for shipments, one for scan events, one ``meta`` table)
is seeded from the fixtures file when it is created and again whenever the
file's content hash differs from the one kept in ``meta``, so editing the file
while the bot runs takes effect on the next lookup. Times are stored as specs
(``-2d3h``, ISO 8601, ``now``) and resolved against the injected clock on every
read, so relative times stay relative.

Command line (validate a file and load it into a database)::

    python -m bot.tracking.demo load fixtures/shipments.yml [--db var/demo.db]

A running bot reseeds from *its own* fixtures file (``TRACKING_FIXTURES``), so
point that variable at the same file.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import re
import sqlite3
import sys
import threading
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable, Sequence, TypeVar

from bot.common.clock import CHINA_TZ
from bot.settings import PROJECT_ROOT
from bot.tracking.fixture_records import EventRecord, ShipmentRecord
from bot.tracking.fixture_times import china_now, file_sha256, hash_name
from bot.tracking.fixtures import load_records
from bot.tracking.models import HoldReason, ProviderError, Shipment, Status

logger = logging.getLogger(__name__)
_T = TypeVar("_T")

DEFAULT_FIXTURES = PROJECT_ROOT / "fixtures" / "shipments.yml"
DEFAULT_DB = PROJECT_ROOT / "var" / "demo.db"

_SCHEMA_VERSION = "1"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS shipments (
    waybill TEXT PRIMARY KEY,
    carrier TEXT NOT NULL,
    status TEXT NOT NULL,
    origin TEXT NOT NULL,
    destination TEXT NOT NULL,
    promised_at TEXT,
    eta TEXT,
    delivered_at TEXT,
    signed_by TEXT,
    hold_reason TEXT,
    note TEXT,
    freight TEXT,
    declared_value TEXT,
    insured_value TEXT,
    sender_phone TEXT NOT NULL,
    receiver_phone TEXT NOT NULL,
    receiver_name TEXT NOT NULL,
    receiver_name_sha256 TEXT NOT NULL,
    phone_prefix TEXT NOT NULL,
    phone_suffix TEXT NOT NULL,
    extra TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS shipments_by_phone
    ON shipments (phone_prefix, phone_suffix, receiver_name_sha256);
CREATE TABLE IF NOT EXISTS events (
    waybill TEXT NOT NULL REFERENCES shipments (waybill) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    time TEXT NOT NULL,
    location TEXT NOT NULL,
    description TEXT NOT NULL,
    PRIMARY KEY (waybill, seq)
);
"""
_COLUMNS = (
    "waybill", "carrier", "status", "origin", "destination", "promised_at", "eta",
    "delivered_at", "signed_by", "hold_reason", "note", "freight", "declared_value",
    "insured_value", "sender_phone", "receiver_phone", "receiver_name",
    "receiver_name_sha256", "phone_prefix", "phone_suffix", "extra",
)  # fmt: skip


def normalise_number(raw: str) -> str:
    """Upper-case a waybill and drop spaces and hyphens."""
    return re.sub(r"[\s-]", "", raw).upper()


def normalise_phone(raw: str) -> str | None:
    """Return the 11-digit mainland mobile number in ``raw``, or ``None``.

    Accepts spaces, hyphens and a ``+86``/``0086``/``86`` prefix.
    """
    digits = re.sub(r"[\s()+-]", "", raw)
    for prefix in ("0086", "86"):
        if len(digits) == 11 + len(prefix) and digits.startswith(prefix):
            digits = digits[len(prefix) :]
    return digits if re.fullmatch(r"1\d{10}", digits) else None


class DemoProvider:
    """Tracking provider over the demo fixtures, stored in SQLite.

    Args:
        db_path: SQLite file (its folder is created), or ``":memory:"``.
        fixtures_path: The YAML fixtures file to seed from.
        now: Clock used to resolve relative times (default: China time now).
    """

    def __init__(
        self,
        db_path: str | Path = ":memory:",
        fixtures_path: str | Path = DEFAULT_FIXTURES,
        now: Callable[[], datetime] = china_now,
    ) -> None:
        self.db_path = str(db_path)
        self.fixtures_path = Path(fixtures_path)
        self._now = now
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()
        self._seen_stat: tuple[int, int] | None = None

    # ---------------------------------------------------------------- public

    async def get(self, waybill: str, carriers: Sequence[str] = ()) -> Shipment | None:
        """Look a waybill up; with ``carriers``, only shipments of those carriers.

        Args:
            waybill: The waybill number (normalised again here, to be safe).
            carriers: Candidate carrier codes; empty means "any".

        Returns:
            The shipment, or ``None`` when the fixtures do not hold it.

        Raises:
            ProviderError: The database or the fixtures file is unusable.
        """
        return await asyncio.to_thread(self._guarded, self._get_sync, waybill, tuple(carriers))

    async def find_by_phone(self, phone: str, receiver_name: str) -> list[Shipment]:
        """Shipments whose receiver phone and name both match, newest first.

        The fixtures only hold masked phones (``139****2846``), so the first
        three and last four digits of the typed number must match, and the
        hash of the typed name must equal ``receiver_name_sha256``.

        Args:
            phone: The 11-digit phone the customer typed (``+86`` allowed).
            receiver_name: The receiver's full name the customer typed.

        Returns:
            The matching shipments (masked data only); empty when either fails.

        Raises:
            ProviderError: The database or the fixtures file is unusable.
        """
        return await asyncio.to_thread(self._guarded, self._find_sync, phone, receiver_name)

    def seed(self, force: bool = False) -> int:
        """Validate the fixtures file and (re)load it when needed.

        Args:
            force: Reload even when the stored hash matches the file.

        Returns:
            The number of shipments in the database afterwards.

        Raises:
            ValueError: The fixtures file is missing or invalid.
        """
        with self._lock:
            self._seed_locked(force=force)
            return self._count()

    def close(self) -> None:
        """Close the database connection (a later lookup reopens it)."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
                self._seen_stat = None

    async def aclose(self) -> None:
        """Async alias of :meth:`close`."""
        await asyncio.to_thread(self.close)

    # -------------------------------------------------------------- internals

    def _guarded(self, func: Callable[..., _T], *args: Any) -> _T:
        with self._lock:
            try:
                self._ensure_seeded()
                return func(*args)
            except sqlite3.Error as exc:
                logger.exception("demo tracking database error")
                raise ProviderError(f"demo tracking database error ({exc.__class__.__name__})") from None

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            if self.db_path != ":memory:":
                from bot.common.files import owner_only_file

                owner_only_file(Path(self.db_path))  # masked phones and name hashes: owner-only
            conn = sqlite3.connect(self.db_path, timeout=10, check_same_thread=False, isolation_level=None)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA foreign_keys = ON")
            version = None
            if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'meta'").fetchone():
                row = conn.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
                version = row[0] if row else None
            if version != _SCHEMA_VERSION:
                conn.executescript(
                    "DROP TABLE IF EXISTS events; DROP TABLE IF EXISTS shipments; DROP TABLE IF EXISTS meta;"
                )
            conn.executescript(_SCHEMA)
            conn.execute("INSERT OR REPLACE INTO meta VALUES ('schema', ?)", (_SCHEMA_VERSION,))
            self._conn = conn
        return self._conn

    def _count(self) -> int:
        return int(self._connection().execute("SELECT COUNT(*) FROM shipments").fetchone()[0])

    def _ensure_seeded(self) -> None:
        """Reseed when the file changed; keep serving old data if it broke."""
        try:
            stat = self.fixtures_path.stat()
        except OSError:
            stat_key = (-1, -1)  # missing: complain once, not on every lookup
        else:
            stat_key = (stat.st_mtime_ns, stat.st_size)
        if stat_key == self._seen_stat:
            return
        try:
            self._seed_locked(force=False)
        except ValueError as exc:
            if self._count():
                logger.error("demo fixtures invalid, still serving the previous data:\n%s", exc)
                self._seen_stat = stat_key
                return
            logger.error("demo fixtures invalid:\n%s", exc)
            raise ProviderError(
                "demo fixtures file is missing or invalid; run `python -m bot.tracking.demo load FILE` to see why"
            ) from None

    def _seed_locked(self, force: bool) -> None:
        stat = self.fixtures_path.stat() if self.fixtures_path.exists() else None
        try:
            digest = file_sha256(self.fixtures_path)
        except OSError:
            raise ValueError(f"{self.fixtures_path}: cannot read the fixtures file") from None
        conn = self._connection()
        row = conn.execute("SELECT value FROM meta WHERE key = 'fixtures_sha256'").fetchone()
        if force or row is None or row[0] != digest:
            records = load_records(self.fixtures_path)  # ValueError when invalid
            conn.execute("BEGIN IMMEDIATE")
            try:
                row = conn.execute("SELECT value FROM meta WHERE key = 'fixtures_sha256'").fetchone()
                if force or row is None or row[0] != digest:  # another process may have won
                    self._write(conn, records, digest)
                    logger.info("demo tracking: seeded %d shipments", len(records))
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        if stat is not None:
            self._seen_stat = (stat.st_mtime_ns, stat.st_size)

    @staticmethod
    def _write(conn: sqlite3.Connection, records: Sequence[ShipmentRecord], digest: str) -> None:
        conn.execute("DELETE FROM events")
        conn.execute("DELETE FROM shipments")
        placeholders = ", ".join("?" * len(_COLUMNS))
        for r in records:
            values = (
                r.waybill, r.carrier, r.status.value, r.origin, r.destination, r.promised_at,
                r.eta, r.delivered_at, r.signed_by, r.hold_reason.value if r.hold_reason else None,
                r.note, str(r.freight), str(r.declared_value), str(r.insured_value),
                r.sender_phone, r.receiver_phone, r.receiver_name, r.receiver_name_sha256,
                r.receiver_phone[:3], r.receiver_phone[-4:], json.dumps(r.extra, ensure_ascii=False),
            )  # fmt: skip
            conn.execute(f"INSERT INTO shipments ({', '.join(_COLUMNS)}) VALUES ({placeholders})", values)
            conn.executemany(
                "INSERT INTO events (waybill, seq, time, location, description) VALUES (?, ?, ?, ?, ?)",
                [(r.waybill, i, e.time, e.location, e.description) for i, e in enumerate(r.events)],
            )
        conn.execute("INSERT OR REPLACE INTO meta VALUES ('fixtures_sha256', ?)", (digest,))

    def _record(self, row: sqlite3.Row) -> ShipmentRecord:
        conn = self._connection()
        events = conn.execute(
            "SELECT time, location, description FROM events WHERE waybill = ? ORDER BY seq",
            (row["waybill"],),
        ).fetchall()
        return ShipmentRecord(
            waybill=row["waybill"],
            carrier=row["carrier"],
            status=Status(row["status"]),
            origin=row["origin"],
            destination=row["destination"],
            promised_at=row["promised_at"],
            freight=Decimal(row["freight"]),
            declared_value=Decimal(row["declared_value"]),
            insured_value=Decimal(row["insured_value"]),
            sender_phone=row["sender_phone"],
            receiver_phone=row["receiver_phone"],
            receiver_name=row["receiver_name"],
            receiver_name_sha256=row["receiver_name_sha256"],
            events=tuple(EventRecord(e["time"], e["location"], e["description"]) for e in events),
            eta=row["eta"],
            delivered_at=row["delivered_at"],
            signed_by=row["signed_by"],
            hold_reason=HoldReason(row["hold_reason"]) if row["hold_reason"] else None,
            note=row["note"],
            extra=json.loads(row["extra"]),
        )

    def _get_sync(self, waybill: str, carriers: tuple[str, ...]) -> Shipment | None:
        row = (
            self._connection()
            .execute("SELECT * FROM shipments WHERE waybill = ?", (normalise_number(waybill),))
            .fetchone()
        )
        if row is None:
            return None
        if carriers and row["carrier"] not in {c.upper() for c in carriers}:
            return None
        return self._record(row).to_shipment(self._now())

    def _find_sync(self, phone: str, receiver_name: str) -> list[Shipment]:
        digits = normalise_phone(phone)
        if digits is None or not receiver_name.strip():
            return []
        rows = (
            self._connection()
            .execute(
                "SELECT * FROM shipments WHERE phone_prefix = ? AND phone_suffix = ? AND receiver_name_sha256 = ?",
                (digits[:3], digits[-4:], hash_name(receiver_name)),
            )
            .fetchall()
        )
        now = self._now()
        shipments = [self._record(row).to_shipment(now) for row in rows]
        shipments.sort(key=_recency, reverse=True)
        return shipments


def _recency(shipment: Shipment) -> datetime:
    latest = shipment.latest
    if latest is not None:
        return latest.time
    return shipment.promised_at or datetime.min.replace(tzinfo=CHINA_TZ)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``load FILE [--db DB]`` validates a file and loads it.

    Args:
        argv: Arguments without the program name (default: ``sys.argv[1:]``).

    Returns:
        The exit status: 0 when loaded, 1 when the file is invalid.
    """
    parser = argparse.ArgumentParser(prog="python -m bot.tracking.demo", description="Demo tracking data tools.")
    commands = parser.add_subparsers(dest="command", required=True)
    load = commands.add_parser("load", help="validate a fixtures file and load it into the database")
    load.add_argument("path", help="the YAML fixtures file")
    load.add_argument("--db", default=str(DEFAULT_DB), help=f"SQLite file (default: {DEFAULT_DB})")
    args = parser.parse_args(argv)
    provider = DemoProvider(db_path=args.db, fixtures_path=args.path)
    try:
        count = provider.seed(force=True)
    except ValueError as exc:
        print(f"invalid fixtures file, nothing loaded:\n{exc}", file=sys.stderr)
        return 1
    except sqlite3.Error as exc:
        print(f"cannot write the database {args.db}: {exc}", file=sys.stderr)
        return 1
    finally:
        provider.close()
    print(f"loaded {count} shipments from {args.path} into {args.db}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
