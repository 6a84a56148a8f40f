"""SQL ticket store (SQLAlchemy Core) for SQLite and PostgreSQL.

``TicketStore`` is synchronous and thread-safe: every call takes its own pooled
connection and transaction. Async callers wrap calls in ``asyncio.to_thread``.
Nothing touches the database until the first call; the schema is created (or
migrated) then, or explicitly with :meth:`TicketStore.create_schema`.

Ticket ids look like ``TK-20261123-0042``: the day (in ``id_timezone``,
Beijing time by default) and a per-day sequence allocated from the
``ticket_counters`` table in the same transaction as the insert, so ids stay
unique and gap-free across threads, processes and replicas.

Environment (``store_from_env``):

* ``TICKETS_DB_URL``: SQLAlchemy URL, e.g. ``postgresql+psycopg2://user@host/db``;
  default ``sqlite:///<project>/var/tickets.db``.
"""

from __future__ import annotations

import builtins
import csv
import os
import threading
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, TextIO
from zoneinfo import ZoneInfo

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
    create_engine,
    delete,
    event,
    insert,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Dialect, Engine, Row, make_url
from sqlalchemy.pool import StaticPool
from sqlalchemy.types import TypeDecorator, TypeEngine

from bot.common.redaction import mask_phones
from bot.settings import PROJECT_ROOT as PROJECT_ROOT  # re-exported: tests import it from here
from bot.settings import Settings
from bot.tickets.models import (
    LEVELS,
    Action,
    DeadlinesLike,
    Decision,
    EvidenceItem,
    HistoryEntry,
    Ticket,
    TicketClosed,
    TicketNotFound,
    TicketStatus,
    TicketType,
    check_transition,
    ensure_utc,
)

DEFAULT_URL = "sqlite:///var/tickets.db"
_CSV_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

#: Version the code expects; bump it and add a function to ``MIGRATIONS``.
SCHEMA_VERSION = 2
_PG_LOCK_KEY = 7_420_318_001  # arbitrary, identifies "ticket schema migration"
_CENT = Decimal("0.01")


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
        value = value.quantize(_CENT)
        return str(value) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:  # noqa: D102
        if value is None:
            return None
        return Decimal(str(value)).quantize(_CENT)


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


#: ``version -> migration``; each runs once, after ``create_all``, inside the schema transaction.
MIGRATIONS: dict[int, Callable[[Connection], None]] = {1: _v1_history_append_only, 2: _v2_identity_proofs}


def _migrate(conn: Connection) -> int:
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


def owner_only_file(path: Path) -> None:
    """Create ``path`` (and its parent) readable by the owner only, before SQLite opens it.

    SQLite gives its journal and WAL files the database file's permissions, so they are
    owner-only too. An existing file keeps its content and is narrowed to mode 0600.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    try:
        if os.fstat(fd).st_mode & 0o077:
            os.fchmod(fd, 0o600)
    finally:
        os.close(fd)


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _text(value: str, name: str, max_len: int) -> str:
    value = (value or "").strip()
    if not value:
        raise ValueError(f"{name} must not be empty")
    if len(value) > max_len:
        raise ValueError(f"{name} is longer than {max_len} characters")
    return value


class TicketStore:
    """Tickets, their evidence, decisions and append-only history in a SQL database.

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
        self._engine = self._make_engine()

    def __repr__(self) -> str:
        return f"TicketStore({self.url!r})"

    def _make_engine(self) -> Engine:
        backend = self.url.get_backend_name()
        if backend == "postgresql":
            return create_engine(self.url, future=True, pool_pre_ping=True)
        if backend != "sqlite":
            raise ValueError(f"unsupported ticket database {backend!r}; use sqlite or postgresql")
        database = self.url.database or ""
        memory = database in ("", ":memory:")
        file = None if memory or database.startswith("file:") else Path(database).expanduser()
        engine = create_engine(
            self.url,
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

    def close(self) -> None:
        """Close every pooled connection."""
        self._engine.dispose()

    def __enter__(self) -> TicketStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- schema -------------------------------------------------------------------------------

    def create_schema(self) -> int:
        """Create missing tables and run pending migrations; idempotent.

        Returns:
            The schema version now in the database.
        """
        with self._engine.begin() as conn:
            version = _migrate(conn)
        self._schema_ready = True
        return version

    def _ensure_schema(self) -> None:
        if self._schema_ready or not self._auto_schema:
            return
        with self._schema_lock:
            if not self._schema_ready:
                self.create_schema()

    # -- writes -------------------------------------------------------------------------------

    def open(
        self,
        *,
        type: TicketType | str,
        level: int,
        conversation_id: str,
        channel: str,
        summary: str,
        deadlines: DeadlinesLike,
        waybill: str | None = None,
        actor: str = "bot",
        note: str = "",
    ) -> Ticket:
        """Open a new ticket and record its creation in the history.

        Args:
            type: A :class:`TicketType` or its value.
            level: 1 (major incident), 2 (urgent) or 3 (general enquiry).
            conversation_id: The customer's sender id; only they see the ticket.
            channel: Channel the customer uses (``wechat``, ``telegram``, ``web``...).
            summary: Short description for agents.
            deadlines: SLA deadlines from the policy engine (aware datetimes).
            waybill: Waybill number, if the ticket is about a shipment.
            actor: Who opens it (history).
            note: History note.

        Returns:
            The stored ticket, status ``open``.

        Raises:
            ValueError: Unknown type, bad level, empty fields or naive deadlines.
        """
        self._ensure_schema()
        with self._engine.begin() as conn:
            ticket_id = self._insert(
                conn, type=type, level=level, conversation_id=conversation_id, channel=channel,
                summary=summary, deadlines=deadlines, waybill=waybill, actor=actor, note=note,
            )  # fmt: skip
            return self._load(conn, ticket_id)

    @staticmethod
    def _values(
        *,
        type: TicketType | str,
        level: int,
        conversation_id: str,
        channel: str,
        summary: str,
        deadlines: DeadlinesLike,
        waybill: str | None = None,
        actor: str = "bot",
        note: str = "",
    ) -> tuple[dict[str, Any], str, str]:
        """Check the fields of a new ticket: its column values, the actor and the history note."""
        ticket_type = TicketType(type)
        if level not in LEVELS:
            raise ValueError(f"level must be one of {LEVELS}, got {level!r}")
        values = {
            "type": ticket_type.value,
            "level": level,
            "status": TicketStatus.OPEN.value,
            "conversation_id": _text(conversation_id, "conversation_id", 255),
            "channel": _text(channel, "channel", 64),
            "waybill": (waybill or "").strip() or None,
            "summary": mask_phones(_text(summary, "summary", 10_000)),  # agents and exports never see a full number
            "respond_by": ensure_utc(deadlines.respond_by, "respond_by"),
            "resolve_by": ensure_utc(deadlines.resolve_by, "resolve_by"),
            "escalate_by": None if deadlines.escalate_by is None else ensure_utc(deadlines.escalate_by, "escalate_by"),
            "update_after": (
                None if deadlines.update_after is None else ensure_utc(deadlines.update_after, "update_after")
            ),
        }
        return values, _text(actor, "actor", 128), note

    def _insert(self, conn: Connection, **fields: Any) -> str:
        """Insert a ticket inside the caller's transaction (fields as for :meth:`open`); returns its id."""
        values, actor, note = self._values(**fields)
        now = self._now()
        ticket_id = self._allocate_id(conn, now)
        conn.execute(insert(tickets).values(id=ticket_id, created_at=now, updated_at=now, **values))
        self._log(conn, ticket_id, now, actor, Action.CREATED, None, TicketStatus.OPEN, note)
        return ticket_id

    def transition(self, ticket_id: str, new_status: TicketStatus | str, actor: str, note: str = "") -> Ticket:
        """Move a ticket to ``new_status`` if the state machine allows it.

        Raises:
            TicketNotFound: Unknown id.
            InvalidTransition: The change is not allowed (nothing is written).
            ValueError: ``new_status`` is not a status at all.
        """
        target = TicketStatus(new_status)
        actor = _text(actor, "actor", 128)
        self._ensure_schema()
        with self._engine.begin() as conn:
            row = self._lock_row(conn, ticket_id)
            current = TicketStatus(row.status)
            check_transition(ticket_id, current, target)
            now = self._now()
            conn.execute(update(tickets).where(tickets.c.id == ticket_id).values(status=target.value, updated_at=now))
            self._log(conn, ticket_id, now, actor, Action.STATUS_CHANGED, current, target, note)
            return self._load(conn, ticket_id)

    def add_evidence(self, ticket_id: str, item: EvidenceItem, actor: str, note: str = "") -> Ticket:
        """Attach a piece of evidence; the same content (sha256) twice is a no-op.

        Raises:
            TicketNotFound: Unknown id.
            TicketClosed: The ticket is closed.
        """
        actor = _text(actor, "actor", 128)
        self._ensure_schema()
        with self._engine.begin() as conn:
            row = self._lock_writable_row(conn, ticket_id)
            known = conn.execute(
                select(ticket_evidence.c.id).where(
                    ticket_evidence.c.ticket_id == ticket_id, ticket_evidence.c.sha256 == item.sha256
                )
            ).first()
            if known is None:
                now = self._now()
                conn.execute(
                    insert(ticket_evidence).values(
                        ticket_id=ticket_id,
                        sha256=item.sha256,
                        kind=item.kind,
                        path=item.path,
                        size=item.size,
                        content_type=item.content_type,
                        added_at=now,
                    )
                )
                conn.execute(update(tickets).where(tickets.c.id == ticket_id).values(updated_at=now))
                status = TicketStatus(row.status)
                detail = f"{item.kind} {item.sha256[:12]} {item.size} B" + (f": {note}" if note else "")
                self._log(conn, ticket_id, now, actor, Action.EVIDENCE_ADDED, status, status, detail)
            return self._load(conn, ticket_id)

    def set_decision(self, ticket_id: str, decision: Decision, actor: str, note: str = "") -> Ticket:
        """Record (or replace) the policy decision of a ticket.

        Raises:
            TicketNotFound: Unknown id.
            TicketClosed: The ticket is closed.
        """
        actor = _text(actor, "actor", 128)
        self._ensure_schema()
        with self._engine.begin() as conn:
            self._decide(conn, ticket_id, decision, actor, note)
            return self._load(conn, ticket_id)

    def _decide(self, conn: Connection, ticket_id: str, decision: Decision, actor: str, note: str) -> None:
        """Write a decision inside the caller's transaction."""
        row = self._lock_writable_row(conn, ticket_id)
        now = self._now()
        conn.execute(
            update(tickets)
            .where(tickets.c.id == ticket_id)
            .values(
                decision_kind=decision.kind,
                decision_amount=decision.amount,
                decision_reason_code=decision.reason_code,
                updated_at=now,
            )
        )
        status = TicketStatus(row.status)
        detail = f"{decision.kind} {decision.amount.quantize(_CENT)} {decision.reason_code}"
        detail += f": {note}" if note else ""
        self._log(conn, ticket_id, now, actor, Action.DECISION_SET, status, status, detail)

    # -- reads --------------------------------------------------------------------------------

    def add_note(self, ticket_id: str, note: str, actor: str) -> Ticket:
        """Append a note to the ticket's history (e.g. the customer's choice); the status stays.

        Raises:
            TicketNotFound: Unknown id.
            TicketClosed: The ticket is closed.
            ValueError: An empty note.
        """
        note = mask_phones(_text(note, "note", 10_000))
        actor = _text(actor, "actor", 128)
        self._ensure_schema()
        with self._engine.begin() as conn:
            row = self._lock_writable_row(conn, ticket_id)
            now = self._now()
            conn.execute(update(tickets).where(tickets.c.id == ticket_id).values(updated_at=now))
            status = TicketStatus(row.status)
            self._log(conn, ticket_id, now, actor, Action.NOTE_ADDED, status, status, note)
            return self._load(conn, ticket_id)

    def get(self, ticket_id: str, *, conversation_id: str | None = None) -> Ticket | None:
        """Return a ticket, or ``None`` if unknown (or, with ``conversation_id``, not theirs)."""
        self._ensure_schema()
        with self._engine.connect() as conn:
            ticket = self._find(conn, ticket_id)
        if ticket is None or (conversation_id is not None and ticket.conversation_id != conversation_id):
            return None
        return ticket

    def for_conversation(self, conversation_id: str) -> builtins.list[Ticket]:
        """Return the tickets of one conversation (customer), newest first."""
        query = select(tickets).where(tickets.c.conversation_id == conversation_id)
        return self._query(query.order_by(tickets.c.created_at.desc(), tickets.c.id.desc()))

    def find_unresolved(self, conversation_id: str, type: TicketType | str, waybill: str | None) -> Ticket | None:
        """Return the conversation's newest ticket of this type and waybill that is not resolved or closed."""
        wanted = TicketType(type)
        for ticket in self.for_conversation(conversation_id):
            if (
                ticket.type is wanted
                and ticket.waybill == waybill
                and ticket.status not in (TicketStatus.RESOLVED, TicketStatus.CLOSED)
            ):
                return ticket
        return None

    def for_waybill(self, waybill: str, type: TicketType | str | None = None) -> builtins.list[Ticket]:
        """Every ticket about one parcel, whichever conversation opened it, newest first.

        Only for a customer who proved the parcel is theirs (``bot.identity.proof``) and for agents.
        """
        query = select(tickets).where(tickets.c.waybill == waybill)
        if type is not None:
            query = query.where(tickets.c.type == TicketType(type).value)
        return self._query(query.order_by(tickets.c.created_at.desc(), tickets.c.id.desc()))

    def open_once_per_parcel(
        self,
        *,
        type: TicketType | str,
        waybill: str,
        decision: Decision | None = None,
        **fields: Any,
    ) -> tuple[Ticket, bool]:
        """Open a ticket for a parcel unless one of this type already exists for it, from anyone.

        The check and the insert share one transaction (SQLite: the write lock taken at
        BEGIN; PostgreSQL: an advisory lock on the parcel), so two conversations asking at
        the same moment still get one ticket: one compensation per parcel, whoever asks.

        Args:
            type: The ticket type.
            waybill: The parcel (required).
            decision: The policy decision recorded with a new ticket.
            **fields: The other arguments of :meth:`open`.

        Returns:
            The ticket, and ``True`` when it was opened now (``False``: it existed).
        """
        ticket_type = TicketType(type)
        waybill = _text(waybill, "waybill", 64)
        self._ensure_schema()
        with self._engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:a, hashtext(:w))"), {"a": 7_420, "w": waybill})
            existing = conn.execute(
                select(tickets.c.id)
                .where(tickets.c.waybill == waybill, tickets.c.type == ticket_type.value)
                .order_by(tickets.c.created_at.desc(), tickets.c.id.desc())
                .limit(1)
            ).scalar_one_or_none()
            if existing is not None:
                return self._load(conn, existing), False
            ticket_id = self._insert(conn, type=ticket_type, waybill=waybill, **fields)
            if decision is not None:
                self._decide(conn, ticket_id, decision, fields.get("actor", "bot"), "")
            return self._load(conn, ticket_id), True

    def record_proof(
        self, conversation_id: str, waybill: str, phone_mask: str, method: str, valid_for: timedelta
    ) -> None:
        """Remember that a conversation proved a parcel (and its receiver phone) is theirs.

        Args:
            conversation_id: The customer's conversation.
            waybill: The parcel proven.
            phone_mask: The receiver phone as masked in the tracking data (``139****2846``), or ``""``.
            method: How: ``phone_last4`` or ``phone_lookup``.
            valid_for: How long the proof counts.
        """
        if "*" not in phone_mask and phone_mask:
            raise ValueError("phone_mask must be masked (139****2846), never a full number")
        self._ensure_schema()
        with self._engine.begin() as conn:
            now = self._now()
            conn.execute(
                insert(identity_proofs).values(
                    conversation_id=_text(conversation_id, "conversation_id", 255),
                    waybill=_text(waybill, "waybill", 64),
                    phone_mask=phone_mask,
                    method=_text(method, "method", 32),
                    proved_at=now,
                    expires_at=now + valid_for,
                )
            )

    def has_proof(self, conversation_id: str, waybill: str, phone_mask: str = "") -> bool:
        """Whether the conversation proved this parcel, or its receiver phone, and the proof is still valid."""
        condition = identity_proofs.c.waybill == waybill
        if phone_mask:
            condition = or_(condition, identity_proofs.c.phone_mask == phone_mask)
        self._ensure_schema()
        with self._engine.connect() as conn:
            row = conn.execute(
                select(identity_proofs.c.id)
                .where(
                    identity_proofs.c.conversation_id == conversation_id,
                    identity_proofs.c.expires_at > self._now(),
                    condition,
                )
                .limit(1)
            ).first()
        return row is not None

    def forget_expired_proofs(self) -> int:
        """Delete proofs past their expiry; returns how many (run it from a periodic job or the CLI)."""
        self._ensure_schema()
        with self._engine.begin() as conn:
            result = conn.execute(delete(identity_proofs).where(identity_proofs.c.expires_at <= self._now()))
        return int(result.rowcount or 0)

    def history(self, ticket_id: str) -> builtins.list[HistoryEntry]:
        """Return a ticket's history, oldest first.

        Raises:
            TicketNotFound: Unknown id.
        """
        self._ensure_schema()
        with self._engine.connect() as conn:
            if conn.execute(select(tickets.c.id).where(tickets.c.id == ticket_id)).first() is None:
                raise TicketNotFound(ticket_id)
            rows = conn.execute(
                select(ticket_history).where(ticket_history.c.ticket_id == ticket_id).order_by(ticket_history.c.id)
            ).all()
        return [
            HistoryEntry(
                id=r.id,
                ticket_id=r.ticket_id,
                at=r.at,
                actor=r.actor,
                action=Action(r.action),
                from_status=None if r.from_status is None else TicketStatus(r.from_status),
                to_status=None if r.to_status is None else TicketStatus(r.to_status),
                note=r.note,
            )
            for r in rows
        ]

    def list(
        self,
        status: TicketStatus | str | None = None,
        type: TicketType | str | None = None,
        limit: int | None = 100,
    ) -> builtins.list[Ticket]:
        """Return tickets, newest first, optionally filtered by status and type.

        Args:
            status: Only this status.
            type: Only this type.
            limit: At most this many (``None``: all).
        """
        query = select(tickets)
        if status is not None:
            query = query.where(tickets.c.status == TicketStatus(status).value)
        if type is not None:
            query = query.where(tickets.c.type == TicketType(type).value)
        query = query.order_by(tickets.c.created_at.desc(), tickets.c.id.desc())
        if limit is not None:
            query = query.limit(limit)
        return self._query(query)

    def export_csv(
        self,
        fileobj: TextIO,
        *,
        status: TicketStatus | str | None = None,
        type: TicketType | str | None = None,
    ) -> int:
        """Write tickets (oldest first) as CSV with a header row; return the number of tickets.

        Cells a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@``...) get a leading ``'``.
        """
        rows = list(reversed(self.list(status=status, type=type, limit=None)))
        writer = csv.writer(fileobj)
        writer.writerow(CSV_COLUMNS)
        for t in rows:
            d = t.decision
            writer.writerow(
                _csv_cell(v)
                for v in (
                    t.id, t.type.value, t.level, t.status.value, t.conversation_id, t.channel, t.waybill,
                    t.summary, t.respond_by, t.resolve_by, t.escalate_by, t.update_after,
                    d and d.kind, d and d.amount, d and d.reason_code, len(t.evidence), t.created_at, t.updated_at,
                )
            )  # fmt: skip
        return len(rows)

    # -- internals ----------------------------------------------------------------------------

    def _now(self) -> datetime:
        return ensure_utc(self._clock(), "clock()")

    def _allocate_id(self, conn: Connection, now: datetime) -> str:
        day = now.astimezone(self._id_tz).strftime("%Y%m%d")
        dialect_insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
        conn.execute(dialect_insert(ticket_counters).values(day=day, last=0).on_conflict_do_nothing())
        # The UPDATE row-locks the day's counter until commit, so concurrent opens queue here.
        conn.execute(
            update(ticket_counters).where(ticket_counters.c.day == day).values(last=ticket_counters.c.last + 1)
        )
        seq = conn.execute(select(ticket_counters.c.last).where(ticket_counters.c.day == day)).scalar_one()
        return f"TK-{day}-{seq:04d}"

    def _lock_writable_row(self, conn: Connection, ticket_id: str) -> Row:
        """Lock a ticket's row for a change that a closed ticket refuses.

        Raises:
            TicketNotFound: Unknown id.
            TicketClosed: The ticket is closed.
        """
        row = self._lock_row(conn, ticket_id)
        if row.status == TicketStatus.CLOSED.value:
            raise TicketClosed(ticket_id)
        return row

    @staticmethod
    def _lock_row(conn: Connection, ticket_id: str) -> Row:
        row = conn.execute(select(tickets).where(tickets.c.id == ticket_id).with_for_update()).first()
        if row is None:
            raise TicketNotFound(ticket_id)
        return row

    @staticmethod
    def _log(
        conn: Connection,
        ticket_id: str,
        at: datetime,
        actor: str,
        action: Action,
        from_status: TicketStatus | None,
        to_status: TicketStatus | None,
        note: str,
    ) -> None:
        conn.execute(
            insert(ticket_history).values(
                ticket_id=ticket_id,
                at=at,
                actor=actor,
                action=action.value,
                from_status=None if from_status is None else from_status.value,
                to_status=None if to_status is None else to_status.value,
                note=note or "",
            )
        )

    def _load(self, conn: Connection, ticket_id: str) -> Ticket:
        ticket = self._find(conn, ticket_id)
        if ticket is None:
            raise TicketNotFound(ticket_id)
        return ticket

    def _find(self, conn: Connection, ticket_id: str) -> Ticket | None:
        row = conn.execute(select(tickets).where(tickets.c.id == ticket_id)).first()
        return None if row is None else _build([row], self._evidence(conn, [ticket_id]))[0]

    def _query(self, query: Any) -> builtins.list[Ticket]:
        self._ensure_schema()
        with self._engine.connect() as conn:
            rows = conn.execute(query).all()
            evidence = self._evidence(conn, [r.id for r in rows])
        return _build(rows, evidence)

    @staticmethod
    def _evidence(conn: Connection, ticket_ids: Iterable[str]) -> dict[str, builtins.list[EvidenceItem]]:
        ids = builtins.list(ticket_ids)
        found: dict[str, builtins.list[EvidenceItem]] = {i: [] for i in ids}
        for start in range(0, len(ids), 500):
            rows = conn.execute(
                select(ticket_evidence)
                .where(ticket_evidence.c.ticket_id.in_(ids[start : start + 500]))
                .order_by(ticket_evidence.c.id)
            )
            for r in rows:
                found[r.ticket_id].append(
                    EvidenceItem(sha256=r.sha256, kind=r.kind, path=r.path, size=r.size, content_type=r.content_type)
                )
        return found


CSV_COLUMNS = (
    "id", "type", "level", "status", "conversation_id", "channel", "waybill", "summary",
    "respond_by", "resolve_by", "escalate_by", "update_after",
    "decision_kind", "decision_amount", "decision_reason_code", "evidence_count", "created_at", "updated_at",
)  # fmt: skip


def _csv_cell(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str) and value.startswith(_CSV_FORMULA_PREFIXES):
        return "'" + value
    return value


def _build(rows: Iterable[Row], evidence: Mapping[str, builtins.list[EvidenceItem]]) -> builtins.list[Ticket]:
    result = []
    for r in rows:
        decision = None
        if r.decision_kind is not None:
            decision = Decision(kind=r.decision_kind, amount=r.decision_amount, reason_code=r.decision_reason_code)
        result.append(
            Ticket(
                id=r.id,
                type=TicketType(r.type),
                level=r.level,
                status=TicketStatus(r.status),
                conversation_id=r.conversation_id,
                channel=r.channel,
                waybill=r.waybill,
                summary=r.summary,
                respond_by=r.respond_by,
                resolve_by=r.resolve_by,
                escalate_by=r.escalate_by,
                update_after=r.update_after,
                decision=decision,
                created_at=r.created_at,
                updated_at=r.updated_at,
                evidence=tuple(evidence.get(r.id, ())),
            )
        )
    return result


def store_from_env(env: Mapping[str, str] | None = None) -> TicketStore:
    """Build the ticket store the environment asks for; no database work happens here.

    Args:
        env: Environment variables (default: the process's), read by
            :meth:`bot.settings.Settings.from_env`: ``TICKETS_DB_URL``.

    Returns:
        A :class:`TicketStore`; the default is SQLite at ``<project>/var/tickets.db``.
    """
    return TicketStore(Settings.from_env(env).tickets_db_url)
