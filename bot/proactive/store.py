"""The proactive store: watched parcels, who opted out, and the outbox of notices.

``ProactiveStore`` is synchronous and thread-safe like :class:`bot.tickets.TicketStore`:
every call takes its own pooled connection and transaction; async callers wrap calls in
``asyncio.to_thread``. Nothing touches the database until the first call; the tables
(:mod:`bot.proactive.schema`) are created then.

Where it lives: in the ticket database (``TICKETS_DB_URL``, SQLite or PostgreSQL), with an
engine of its own built by :func:`bot.common.sql.make_engine` (same SQLite pragmas
and locking as the ticket store). The store does not share the ticket store's engine so
that it can be built, closed and tested on its own; both point at the same database.

The outbox: :meth:`ProactiveStore.queue` refuses a second notice for the same
conversation, parcel and change key (a unique constraint, so racing scanners or a push
and a scan can never queue one change twice). The delivery step reads
:meth:`ProactiveStore.due` and records the outcome with :meth:`ProactiveStore.mark_sent`
or :meth:`ProactiveStore.mark_undeliverable` (both only move a ``pending`` notice, so two
senders cannot both claim one).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from bot.common.sql import SqlDatabase
from bot.proactive import schema
from bot.proactive.models import NewNotice, QueuedNotice, Watch
from bot.proactive.quiet import day_start
from bot.proactive.schema import notices, preferences, watches
from bot.settings import Settings
from bot.tickets.models import ensure_utc

if TYPE_CHECKING:
    pass

DEFAULT_RETENTION = timedelta(days=14)
"""How long a watch lasts when the caller gives no retention (the policy's default)."""

_COUNTED = ("pending", "sent")


def _dialect_insert(conn: Connection, table: Any) -> Any:
    return (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(table)


def _text(value: str, name: str, limit: int) -> str:
    value = (value or "").strip()
    if not value or len(value) > limit:
        raise ValueError(f"{name} must be 1 to {limit} characters")
    return value


class ProactiveStore(SqlDatabase):
    """Watches, preferences and the notice outbox in a SQL database (SQLite or PostgreSQL).

    Args:
        url: SQLAlchemy URL, normally the ticket database's (``TICKETS_DB_URL``).
        auto_schema: Create the tables on first use.
    """

    WHAT = "proactive database"

    def _install(self, conn: Connection) -> None:
        """Create the missing tables (idempotent)."""
        schema.create_tables(conn)

    # --- watches ------------------------------------------------------------------------------

    def watch(
        self,
        conversation_id: str,
        channel: str,
        waybill: str,
        language: str,
        now: datetime,
        *,
        retention: timedelta = DEFAULT_RETENTION,
        last_seen: str | None = None,
    ) -> None:
        """Watch a parcel for a conversation; again: refresh its expiry, channel and language.

        Watching an ended watch starts it again. ``last_seen`` (what the customer was just
        shown) replaces the stored one when given; without it the stored one is kept.
        """
        now = ensure_utc(now, "now")
        values = {
            "conversation_id": _text(conversation_id, "conversation_id", 255),
            "channel": _text(channel, "channel", 64),
            "waybill": _text(waybill, "waybill", 64),
            "language": _text(language, "language", 8),
            "created_at": now,
            "expires_at": now + retention,
            "last_seen": last_seen,
            "ended_at": None,
        }
        self._ensure_schema()
        with self._engine.begin() as conn:
            stmt = _dialect_insert(conn, watches).values(**values)
            refreshed = {
                "channel": stmt.excluded.channel,
                "language": stmt.excluded.language,
                "expires_at": stmt.excluded.expires_at,
                "ended_at": None,
                "last_seen": func.coalesce(stmt.excluded.last_seen, watches.c.last_seen),
            }
            conn.execute(stmt.on_conflict_do_update(index_elements=["conversation_id", "waybill"], set_=refreshed))

    def active_watches(
        self, now: datetime, limit: int | None = None, after: int = 0, waybill: str | None = None
    ) -> list[Watch]:
        """Watches not ended nor expired, of conversations that did not turn updates off.

        Args:
            now: The current time.
            limit: At most this many (``None``: all).
            after: Only watches with an id above this (to page through: the last id seen).
            waybill: Only the watches of this parcel (a provider's push), ``None``: all.

        Returns:
            The watches, by id.
        """
        now = ensure_utc(now, "now")
        self._ensure_schema()
        query = (
            select(watches)
            .outerjoin(preferences, preferences.c.conversation_id == watches.c.conversation_id)
            .where(
                watches.c.ended_at.is_(None),
                watches.c.expires_at > now,
                watches.c.id > after,
                or_(preferences.c.updates_enabled.is_(None), preferences.c.updates_enabled.is_(True)),
            )
            .order_by(watches.c.id)
        )
        if waybill is not None:
            query = query.where(watches.c.waybill == waybill)
        if limit is not None:
            query = query.limit(limit)
        with self._engine.connect() as conn:
            return [_watch(row._mapping) for row in conn.execute(query)]

    def watches_of(self, conversation_id: str) -> list[Watch]:
        """Every watch of a conversation, active or ended, by id."""
        self._ensure_schema()
        query = select(watches).where(watches.c.conversation_id == conversation_id).order_by(watches.c.id)
        with self._engine.connect() as conn:
            return [_watch(row._mapping) for row in conn.execute(query)]

    def end_watch(self, watch: Watch | int, now: datetime) -> None:
        """End a watch (delivered, or no longer wanted); asking about the parcel again restarts it."""
        watch_id = watch.id if isinstance(watch, Watch) else watch
        now = ensure_utc(now, "now")
        self._ensure_schema()
        with self._engine.begin() as conn:
            conn.execute(
                update(watches).where(watches.c.id == watch_id, watches.c.ended_at.is_(None)).values(ended_at=now)
            )

    def end_expired(self, now: datetime) -> int:
        """End every watch whose expiry has passed; returns how many."""
        now = ensure_utc(now, "now")
        self._ensure_schema()
        with self._engine.begin() as conn:
            result = conn.execute(
                update(watches)
                .where(watches.c.ended_at.is_(None), watches.c.expires_at <= now)
                .values(ended_at=watches.c.expires_at)
            )
            return int(result.rowcount or 0)

    def record_seen(self, watch: Watch | int, fingerprint: str) -> None:
        """Keep the state the watcher has now been told about (the next baseline)."""
        watch_id = watch.id if isinstance(watch, Watch) else watch
        self._ensure_schema()
        with self._engine.begin() as conn:
            conn.execute(update(watches).where(watches.c.id == watch_id).values(last_seen=fingerprint))

    # --- preferences --------------------------------------------------------------------------

    def set_updates(self, conversation_id: str, enabled: bool, now: datetime) -> None:
        """Turn a conversation's updates on or off; off also cancels its waiting notices."""
        now = ensure_utc(now, "now")
        conversation_id = _text(conversation_id, "conversation_id", 255)
        self._ensure_schema()
        with self._engine.begin() as conn:
            stmt = _dialect_insert(conn, preferences).values(
                conversation_id=conversation_id, updates_enabled=bool(enabled), changed_at=now
            )
            conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=["conversation_id"],
                    set_={"updates_enabled": stmt.excluded.updates_enabled, "changed_at": stmt.excluded.changed_at},
                )
            )
            if not enabled:
                conn.execute(
                    update(notices)
                    .where(notices.c.conversation_id == conversation_id, notices.c.status == "pending")
                    .values(status="cancelled", sent_at=now, detail="updates turned off")
                )

    def updates_enabled(self, conversation_id: str) -> bool:
        """Whether the conversation gets updates (yes unless it turned them off)."""
        self._ensure_schema()
        query = select(preferences.c.updates_enabled).where(preferences.c.conversation_id == conversation_id)
        with self._engine.connect() as conn:
            value = conn.execute(query).scalar_one_or_none()
        return True if value is None else bool(value)

    # --- the outbox ---------------------------------------------------------------------------

    def add(self, notice: NewNotice) -> QueuedNotice | None:
        """Queue a notice; ``None`` when this conversation already has one for that parcel and change."""
        values = {
            "conversation_id": _text(notice.conversation_id, "conversation_id", 255),
            "channel": _text(notice.channel, "channel", 64),
            "waybill": _text(notice.waybill, "waybill", 64),
            "kind": _text(notice.kind, "kind", 32),
            "change_key": _text(notice.change_key, "change_key", 255),
            "language": _text(notice.language, "language", 8),
            "text": _text(notice.text, "text", 10_000),
            "created_at": ensure_utc(notice.created_at, "created_at"),
            "due_at": ensure_utc(notice.due_at, "due_at"),
            "status": "pending",
        }
        self._ensure_schema()
        with self._engine.begin() as conn:
            stmt = _dialect_insert(conn, notices).values(**values).on_conflict_do_nothing()
            if not conn.execute(stmt).rowcount:
                return None
            row = conn.execute(
                select(notices).where(
                    notices.c.conversation_id == values["conversation_id"],
                    notices.c.waybill == values["waybill"],
                    notices.c.change_key == values["change_key"],
                )
            ).one()
            return _notice(row._mapping)

    def queue(self, notice: NewNotice) -> bool:
        """Queue a notice; ``False`` when that change was already queued for this conversation."""
        return self.add(notice) is not None

    def due(self, now: datetime, limit: int = 100) -> list[QueuedNotice]:
        """Pending notices whose time has come, oldest due first."""
        now = ensure_utc(now, "now")
        query = (
            select(notices)
            .where(notices.c.status == "pending", notices.c.due_at <= now)
            .order_by(notices.c.due_at, notices.c.id)
            .limit(limit)
        )
        return self._notices(query)

    def pending(self, limit: int = 100) -> list[QueuedNotice]:
        """Every pending notice, due or held by quiet hours, oldest due first."""
        query = select(notices).where(notices.c.status == "pending").order_by(notices.c.due_at, notices.c.id)
        return self._notices(query.limit(limit))

    def pending_count(self) -> int:
        """How many notices are pending (due or held by quiet hours): one count, no rows read."""
        self._ensure_schema()
        with self._engine.connect() as conn:
            return int(conn.execute(select(func.count()).where(notices.c.status == "pending")).scalar_one())

    def undeliverable(self, limit: int = 100) -> list[QueuedNotice]:
        """Notices no channel could deliver, newest first (for agents)."""
        query = select(notices).where(notices.c.status == "undeliverable")
        return self._notices(query.order_by(notices.c.sent_at.desc(), notices.c.id.desc()).limit(limit))

    def notices_of(self, conversation_id: str) -> list[QueuedNotice]:
        """Every notice of a conversation, in any status, by id."""
        query = select(notices).where(notices.c.conversation_id == conversation_id).order_by(notices.c.id)
        return self._notices(query)

    def mark_sent(self, notice_id: int, now: datetime) -> bool:
        """Record a pending notice as sent; ``False`` when it was not pending (someone else took it)."""
        return self._finish(notice_id, now, "sent", None)

    def mark_undeliverable(self, notice_id: int, reason: str, now: datetime) -> bool:
        """Record that no channel could deliver a pending notice (``reason``: no personal data)."""
        return self._finish(notice_id, now, "undeliverable", _text(reason, "reason", 1000))

    def sent_today(self, conversation_id: str, now: datetime) -> int:
        """Notices counted against the daily cap on ``now``'s China day: pending or sent, by ``due_at``."""
        start = ensure_utc(day_start(ensure_utc(now, "now")), "now")
        query = select(func.count()).where(
            notices.c.conversation_id == conversation_id,
            notices.c.status.in_(_COUNTED),
            and_(notices.c.due_at >= start, notices.c.due_at < start + timedelta(days=1)),
        )
        self._ensure_schema()
        with self._engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def _finish(self, notice_id: int, now: datetime, status: str, detail: str | None) -> bool:
        now = ensure_utc(now, "now")
        self._ensure_schema()
        with self._engine.begin() as conn:
            result = conn.execute(
                update(notices)
                .where(notices.c.id == notice_id, notices.c.status == "pending")
                .values(status=status, sent_at=now, detail=detail)
            )
            return bool(result.rowcount)

    def _notices(self, query: Any) -> list[QueuedNotice]:
        self._ensure_schema()
        with self._engine.connect() as conn:
            return [_notice(row._mapping) for row in conn.execute(query)]


def _watch(row: Mapping[str, Any]) -> Watch:
    return Watch(**{key: row[key] for key in Watch.__dataclass_fields__})


def _notice(row: Mapping[str, Any]) -> QueuedNotice:
    return QueuedNotice(**{key: row[key] for key in QueuedNotice.__dataclass_fields__})


def store_from_env(env: Mapping[str, str] | None = None) -> ProactiveStore:
    """The store in the ticket database the environment names (``TICKETS_DB_URL``); no I/O here."""
    return ProactiveStore(Settings.from_env(env).tickets_db_url)
