"""Agent accounts and login sessions for the agent console (SQLAlchemy Core, SQLite or PostgreSQL).

Passwords are stored as scrypt hashes (``scrypt$n$r$p$salt_b64$hash_b64``); session tokens are
handed out once and only their SHA-256 is stored. After ``MAX_FAILURES`` failed logins for a
username within ``FAILURE_WINDOW`` every further attempt fails until the window passes; the
attempts live in ``agent_login_failures`` so the limit holds across processes.

Environment (``store_from_env``): ``AGENTS_DB_URL``, else ``TICKETS_DB_URL``, else
``sqlite:///<project>/var/tickets.db`` (the ticket store's default file).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import os
import re
import secrets
import threading
import unicodedata
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

import sqlalchemy as sa
from sqlalchemy import delete, func, insert, or_, select, update
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.pool import StaticPool

from bot.tickets.models import ensure_utc
from bot.tickets.store import PROJECT_ROOT, UTCDateTime

USERNAME_RE = re.compile(r"[a-z0-9._-]{3,64}")
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1024
MAX_FAILURES = 5
FAILURE_WINDOW = timedelta(minutes=15)
SCRYPT_N, SCRYPT_R, SCRYPT_P, SCRYPT_DKLEN, SALT_BYTES = 2**14, 8, 1, 32, 16
_SCRYPT_MAXMEM = 64 * 1024 * 1024
_PG_LOCK_KEY = 7_420_318_002  # arbitrary, identifies "agent schema creation"

metadata = sa.MetaData()

agents = sa.Table(
    "agents", metadata,
    sa.Column("username", sa.String(64), primary_key=True),
    sa.Column("display_name", sa.String(128), nullable=False),
    sa.Column("password_hash", sa.String(255), nullable=False),
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

agent_sessions = sa.Table(
    "agent_sessions", metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("username", sa.String(64), sa.ForeignKey("agents.username"), nullable=False, index=True),
    sa.Column("csrf_token", sa.String(128), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False),
    sa.Column("last_seen_at", UTCDateTime, nullable=False),
)

agent_login_failures = sa.Table(
    "agent_login_failures", metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("username", sa.String(64), nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Index("ix_agent_login_failures_username_at", "username", "at"),
)


@dataclass(frozen=True)
class Agent:
    """An agent account (never carries the password hash)."""

    username: str
    display_name: str
    active: bool
    created_at: datetime


@dataclass(frozen=True)
class AgentSession:
    """A valid login session, as returned by :meth:`AgentStore.session`."""

    username: str
    display_name: str
    csrf_token: str = field(repr=False)
    created_at: datetime
    expires_at: datetime
    last_seen_at: datetime


@dataclass(frozen=True)
class NewSession:
    """A session just started: the raw token exists only here (the database keeps its hash)."""

    token: str = field(repr=False)
    csrf_token: str = field(repr=False)
    username: str
    expires_at: datetime


def normalise_username(username: str) -> str:
    """Return the stored form of a username (stripped, lower case).

    Raises:
        ValueError: Not 3-64 characters of ASCII letters, digits, ``.``, ``_`` or ``-``.
    """
    name = (username or "").strip().lower() if isinstance(username, str) else ""
    if not USERNAME_RE.fullmatch(name):
        raise ValueError("username must be 3-64 characters: letters, digits, '.', '_' or '-'")
    return name


def hash_password(password: str) -> str:
    """Return ``scrypt$n$r$p$salt_b64$hash_b64`` for ``password`` with a fresh random salt."""
    salt = secrets.token_bytes(SALT_BYTES)
    digest = _scrypt(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P, SCRYPT_DKLEN)
    b64 = base64.b64encode
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${b64(salt).decode()}${b64(digest).decode()}"


def verify_password(password: str, encoded: str) -> bool:
    """Return whether ``password`` matches an ``encoded`` hash (constant-time comparison)."""
    try:
        scheme, n, r, p, salt_b64, hash_b64 = encoded.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(hash_b64, validate=True)
        actual = _scrypt(password, base64.b64decode(salt_b64, validate=True), int(n), int(r), int(p), len(expected))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int, dklen: int) -> bytes:
    data = unicodedata.normalize("NFC", password).encode("utf-8")
    return hashlib.scrypt(data, salt=salt, n=n, r=r, p=p, dklen=dklen, maxmem=_SCRYPT_MAXMEM)


@functools.lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return hash_password(secrets.token_urlsafe(16))


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _check_password(password: str, username: str) -> str:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"password must be at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise ValueError(f"password must be at most {MAX_PASSWORD_LENGTH} characters")
    if password.strip().lower() == username:
        raise ValueError("password must not be the username")
    return password


def _check_display_name(display_name: str) -> str:
    name = (display_name or "").strip() if isinstance(display_name, str) else ""
    if not name or len(name) > 128:
        raise ValueError("display name must be 1-128 characters")
    if any(unicodedata.category(ch).startswith("C") for ch in name):
        raise ValueError("display name must not contain control characters")
    return name


class AgentStore:
    """Agent accounts, login throttling and sessions in a SQL database; thread-safe.

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
        _dummy_hash()  # computed now, so the first login for an unknown username is not slower

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

        @sa.event.listens_for(engine, "begin")
        def _on_begin(conn: Connection) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")  # read-then-write transactions wait instead of failing

        return engine

    def close(self) -> None:
        """Close every pooled connection."""
        self._engine.dispose()

    def __enter__(self) -> AgentStore:
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
                self._schema_ready = True
        with self._engine.begin() as conn:
            yield conn

    def _now(self) -> datetime:
        return ensure_utc(self._clock(), "clock()")

    # -- accounts ---------------------------------------------------------------------------------

    def create_agent(self, username: str, display_name: str, password: str) -> Agent:
        """Create an active agent.

        Raises:
            ValueError: Bad username, display name or password, or the username is taken.
        """
        name = normalise_username(username)
        display = _check_display_name(display_name)
        encoded = hash_password(_check_password(password, name))
        now = self._now()
        try:
            with self._begin() as conn:
                conn.execute(
                    insert(agents).values(
                        username=name, display_name=display, password_hash=encoded, active=True, created_at=now
                    )
                )
        except IntegrityError:
            raise ValueError(f"agent {name!r} already exists") from None
        return Agent(username=name, display_name=display, active=True, created_at=now)

    def set_password(self, username: str, password: str) -> None:
        """Replace an agent's password, end all their sessions and clear their failed logins.

        Raises:
            ValueError: Unknown agent or unacceptable password.
        """
        name = normalise_username(username)
        encoded = hash_password(_check_password(password, name))
        with self._begin() as conn:
            changed = conn.execute(update(agents).where(agents.c.username == name).values(password_hash=encoded))
            if changed.rowcount != 1:
                raise ValueError(f"unknown agent {name!r}")
            conn.execute(delete(agent_sessions).where(agent_sessions.c.username == name))
            conn.execute(delete(agent_login_failures).where(agent_login_failures.c.username == name))

    def deactivate(self, username: str) -> None:
        """Deactivate an agent: no more logins, and their sessions are ended.

        Raises:
            ValueError: Unknown agent.
        """
        name = normalise_username(username)
        with self._begin() as conn:
            if conn.execute(update(agents).where(agents.c.username == name).values(active=False)).rowcount != 1:
                raise ValueError(f"unknown agent {name!r}")
            conn.execute(delete(agent_sessions).where(agent_sessions.c.username == name))

    def list_agents(self) -> list[Agent]:
        """Return every agent, active or not, by username."""
        with self._begin() as conn:
            rows = conn.execute(select(agents).order_by(agents.c.username)).all()
        return [Agent(r.username, r.display_name, bool(r.active), r.created_at) for r in rows]

    def authenticate(self, username: str, password: str) -> Agent | None:
        """Check a login; ``None`` for a wrong password, unknown or inactive agent, or while throttled.

        Unknown usernames cost the same scrypt work as known ones and are throttled alike, so
        neither timing nor throttling tells which usernames exist. A success clears the failures.
        """
        try:
            name = normalise_username(username)
        except ValueError:
            verify_password(str(password), _dummy_hash())
            return None
        now = self._now()
        failures = agent_login_failures.c
        with self._begin() as conn:
            recent = conn.execute(
                select(func.count()).where(failures.username == name, failures.at > now - FAILURE_WINDOW)
            ).scalar_one()
            if recent >= MAX_FAILURES:
                return None
            # Counted as a failure from the start, so parallel guesses are throttled too; cleared on success.
            conn.execute(insert(agent_login_failures).values(username=name, at=now))
            row = conn.execute(select(agents).where(agents.c.username == name)).first()
        ok = verify_password(password, row.password_hash if row is not None else _dummy_hash())
        if not (ok and row is not None and row.active):
            return None
        with self._begin() as conn:
            conn.execute(delete(agent_login_failures).where(failures.username == name))
        return Agent(row.username, row.display_name, True, row.created_at)

    # -- sessions ---------------------------------------------------------------------------------

    def start_session(self, username: str) -> NewSession:
        """Start a session for an active agent (call after :meth:`authenticate`).

        Raises:
            ValueError: Unknown or inactive agent.
        """
        name = normalise_username(username)
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        now = self._now()
        expires = now + self.session_ttl
        with self._begin() as conn:
            active = conn.execute(select(agents.c.active).where(agents.c.username == name)).scalar_one_or_none()
            if not active:
                raise ValueError(f"unknown or inactive agent {name!r}")
            values = {"username": name, "csrf_token": csrf, "created_at": now, "expires_at": expires}
            conn.execute(insert(agent_sessions).values(token_hash=_token_hash(token), last_seen_at=now, **values))
        return NewSession(token=token, csrf_token=csrf, username=name, expires_at=expires)

    def session(self, token: str) -> AgentSession | None:
        """Return the valid session for ``token`` and mark it used, or ``None``.

        ``None`` when the token is unknown, past ``session_ttl``, idle for ``idle_timeout``, or
        the agent is deactivated; such a session is deleted.
        """
        if not isinstance(token, str) or not token:
            return None
        key = _token_hash(token)
        now = self._now()
        with self._begin() as conn:
            row = conn.execute(
                select(agent_sessions, agents.c.display_name, agents.c.active)
                .join(agents, agents.c.username == agent_sessions.c.username)
                .where(agent_sessions.c.token_hash == key)
            ).first()
            if row is None:
                return None
            if not row.active or now >= row.expires_at or now - row.last_seen_at >= self.idle_timeout:
                conn.execute(delete(agent_sessions).where(agent_sessions.c.token_hash == key))
                return None
            conn.execute(update(agent_sessions).where(agent_sessions.c.token_hash == key).values(last_seen_at=now))
        return AgentSession(row.username, row.display_name, row.csrf_token, row.created_at, row.expires_at, now)

    def end_session(self, token: str) -> bool:
        """Log out: delete the session; return whether there was one."""
        if not isinstance(token, str) or not token:
            return False
        with self._begin() as conn:
            result = conn.execute(delete(agent_sessions).where(agent_sessions.c.token_hash == _token_hash(token)))
        return result.rowcount > 0

    def check_csrf(self, token: str, csrf: str) -> bool:
        """Return whether ``csrf`` is the CSRF token of the valid session ``token`` (constant time)."""
        current = self.session(token)
        if current is None or not isinstance(csrf, str):
            return False
        return hmac.compare_digest(current.csrf_token.encode("utf-8"), csrf.encode("utf-8"))

    def purge_expired(self) -> int:
        """Delete expired or idle sessions and failed logins older than the window; return the sessions deleted."""
        now = self._now()
        s = agent_sessions.c
        with self._begin() as conn:
            stale = or_(s.expires_at <= now, s.last_seen_at <= now - self.idle_timeout)
            count = conn.execute(delete(agent_sessions).where(stale)).rowcount
            conn.execute(delete(agent_login_failures).where(agent_login_failures.c.at <= now - FAILURE_WINDOW))
        return count


def store_from_env(env: Mapping[str, str] = os.environ) -> AgentStore:
    """Return the store ``AGENTS_DB_URL``, else ``TICKETS_DB_URL``, else ``<project>/var/tickets.db`` names.

    No database work happens here.
    """
    url = (
        (env.get("AGENTS_DB_URL") or "").strip()
        or (env.get("TICKETS_DB_URL") or "").strip()
        or f"sqlite:///{PROJECT_ROOT / 'var' / 'tickets.db'}"
    )
    return AgentStore(url)
