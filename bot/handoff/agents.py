"""Agent accounts, login sessions and the access audit of the agent console (SQLAlchemy Core).

Passwords are stored as scrypt hashes (``scrypt$n$r$p$salt_b64$hash_b64``); session tokens are
handed out once and only their SHA-256 is stored. Every agent has a role: ``agent`` (sees the
queue and the chats they hold) or ``supervisor`` (sees everything, and the audit). Every view of
a transcript or a photo and every phone reveal is recorded in ``agent_access_log`` (who, when,
which conversation, what). Guessing passwords is slowed down at the HTTP edge
(``connectors.console.auth``, rates in ``policy/limits.yml``), not by locking accounts here: a
lock that anyone can trigger would let any stranger keep an agent out.

Databases created before roles existed are migrated on first use (``role`` column added with
``agent`` for everybody; the old ``agent_login_failures`` table is dropped).

Environment (``store_from_env``): ``AGENTS_DB_URL``, else ``TICKETS_DB_URL``, else
``sqlite:///<project>/var/tickets.db`` (the ticket store's default file).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import re
import secrets
import threading
import unicodedata
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

import sqlalchemy as sa
from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.pool import StaticPool

from bot.settings import Settings
from bot.tickets.models import ensure_utc
from bot.tickets.store import UTCDateTime

USERNAME_RE = re.compile(r"[a-z0-9._-]{3,64}")
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1024
ROLES = ("agent", "supervisor")
"""``agent``: the queue (summaries) and the chats they hold; ``supervisor``: everything, and the audit."""
ACCESS_KINDS = ("transcript", "photo", "reveal")
"""What an audit row records: a transcript view, a photo view, an explicit reveal of phone numbers."""
MAX_ID = 255
SCRYPT_N, SCRYPT_R, SCRYPT_P, SCRYPT_DKLEN, SALT_BYTES = 2**14, 8, 1, 32, 16
_SCRYPT_MAXMEM = 64 * 1024 * 1024
_PG_LOCK_KEY = 7_420_318_002  # arbitrary, identifies "agent schema creation"

metadata = sa.MetaData()

agents = sa.Table(
    "agents",
    metadata,
    sa.Column("username", sa.String(64), primary_key=True),
    sa.Column("display_name", sa.String(128), nullable=False),
    sa.Column("password_hash", sa.String(255), nullable=False),
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("role", sa.String(16), nullable=False, server_default="agent"),
)

agent_sessions = sa.Table(
    "agent_sessions",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("username", sa.String(64), sa.ForeignKey("agents.username"), nullable=False, index=True),
    sa.Column("csrf_token", sa.String(128), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False),
    sa.Column("last_seen_at", UTCDateTime, nullable=False),
)

agent_access_log = sa.Table(
    "agent_access_log",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("username", sa.String(64), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("conversation_id", sa.String(MAX_ID), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("detail", sa.String(128), nullable=True),
    sa.Index("ix_agent_access_log_at", "at"),
    sa.Index("ix_agent_access_log_conversation_at", "conversation_id", "at"),
)


@dataclass(frozen=True)
class Agent:
    """An agent account (never carries the password hash)."""

    username: str
    display_name: str
    active: bool
    created_at: datetime
    role: str = "agent"


@dataclass(frozen=True)
class AgentSession:
    """A valid login session, as returned by :meth:`AgentStore.session`."""

    username: str
    display_name: str
    csrf_token: str = field(repr=False)
    created_at: datetime
    expires_at: datetime
    last_seen_at: datetime
    role: str = "agent"

    @property
    def supervisor(self) -> bool:
        """Whether this session's agent is a supervisor."""
        return self.role == "supervisor"


@dataclass(frozen=True)
class AccessRecord:
    """One audit row: ``username`` (``role``) saw ``kind`` of ``conversation_id`` at ``at``."""

    at: datetime
    username: str
    role: str
    conversation_id: str
    kind: str
    detail: str | None


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


def check_role(role: str) -> str:
    """Return ``role`` if it is one of :data:`ROLES`.

    Raises:
        ValueError: Any other value.
    """
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}, got {role!r}")
    return role


def _check_display_name(display_name: str) -> str:
    name = (display_name or "").strip() if isinstance(display_name, str) else ""
    if not name or len(name) > 128:
        raise ValueError("display name must be 1-128 characters")
    if any(unicodedata.category(ch).startswith("C") for ch in name):
        raise ValueError("display name must not contain control characters")
    return name


class AgentStore:
    """Agent accounts, roles, sessions and the access audit in a SQL database; thread-safe.

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
            if not memory and not database.startswith("file:"):
                _owner_only(Path(database).expanduser())

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
                    _migrate(conn)
                self._schema_ready = True
        with self._engine.begin() as conn:
            yield conn

    def _now(self) -> datetime:
        return ensure_utc(self._clock(), "clock()")

    # -- accounts ---------------------------------------------------------------------------------

    def create_agent(self, username: str, display_name: str, password: str, role: str = "agent") -> Agent:
        """Create an active agent with a role (``agent`` or ``supervisor``).

        Raises:
            ValueError: Bad username, display name, password or role, or the username is taken.
        """
        name = normalise_username(username)
        display = _check_display_name(display_name)
        check_role(role)
        encoded = hash_password(_check_password(password, name))
        now = self._now()
        try:
            with self._begin() as conn:
                values = {"display_name": display, "password_hash": encoded, "created_at": now, "role": role}
                conn.execute(insert(agents).values(username=name, active=True, **values))
        except IntegrityError:
            raise ValueError(f"agent {name!r} already exists") from None
        return Agent(username=name, display_name=display, active=True, created_at=now, role=role)

    def set_role(self, username: str, role: str) -> None:
        """Change an agent's role; their sessions are ended so the new role applies at the next login.

        Raises:
            ValueError: Unknown agent or role.
        """
        name = normalise_username(username)
        check_role(role)
        with self._begin() as conn:
            if conn.execute(update(agents).where(agents.c.username == name).values(role=role)).rowcount != 1:
                raise ValueError(f"unknown agent {name!r}")
            conn.execute(delete(agent_sessions).where(agent_sessions.c.username == name))

    def set_password(self, username: str, password: str) -> None:
        """Replace an agent's password and end all their sessions.

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
        return [Agent(r.username, r.display_name, bool(r.active), r.created_at, r.role) for r in rows]

    def authenticate(self, username: str, password: str) -> Agent | None:
        """Check a login; ``None`` for a wrong password, or an unknown or inactive agent.

        Unknown usernames cost the same scrypt work as known ones, so timing does not tell
        which usernames exist. Nothing is locked here: the console's edge limits the rate of
        guesses per address and per account (:mod:`connectors.console.auth`).
        """
        try:
            name = normalise_username(username)
        except ValueError:
            verify_password(str(password), _dummy_hash())
            return None
        with self._begin() as conn:
            row = conn.execute(select(agents).where(agents.c.username == name)).first()
        ok = verify_password(password, row.password_hash if row is not None else _dummy_hash())
        if not (ok and row is not None and row.active):
            return None
        return Agent(row.username, row.display_name, True, row.created_at, row.role)

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

    def session(self, token: str, *, touch: bool = True) -> AgentSession | None:
        """Return the valid session for ``token`` and (unless ``touch`` is false) mark it used, or ``None``.

        ``None`` when the token is unknown, past ``session_ttl``, idle for ``idle_timeout``, or
        the agent is deactivated; such a session is deleted. ``touch=False`` checks without
        counting as use (an open live feed must not keep an abandoned session alive).
        """
        if not isinstance(token, str) or not token:
            return None
        key = _token_hash(token)
        now = self._now()
        with self._begin() as conn:
            row = conn.execute(
                select(agent_sessions, agents.c.display_name, agents.c.active, agents.c.role)
                .join(agents, agents.c.username == agent_sessions.c.username)
                .where(agent_sessions.c.token_hash == key)
            ).first()
            if row is None:
                return None
            if not row.active or now >= row.expires_at or now - row.last_seen_at >= self.idle_timeout:
                conn.execute(delete(agent_sessions).where(agent_sessions.c.token_hash == key))
                return None
            if touch:
                conn.execute(update(agent_sessions).where(agent_sessions.c.token_hash == key).values(last_seen_at=now))
        seen = now if touch else row.last_seen_at
        return AgentSession(
            row.username, row.display_name, row.csrf_token, row.created_at, row.expires_at, seen, row.role
        )

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
        """Delete expired or idle sessions; return how many."""
        now = self._now()
        s = agent_sessions.c
        with self._begin() as conn:
            stale = or_(s.expires_at <= now, s.last_seen_at <= now - self.idle_timeout)
            return conn.execute(delete(agent_sessions).where(stale)).rowcount

    # -- access audit -----------------------------------------------------------------------------

    def record_access(
        self, username: str, role: str, conversation_id: str, kind: str, detail: str | None = None
    ) -> AccessRecord:
        """Record that ``username`` saw ``kind`` (see :data:`ACCESS_KINDS`) of a conversation, now.

        Raises:
            ValueError: Unknown kind or role, or an empty conversation id.
        """
        if kind not in ACCESS_KINDS:
            raise ValueError(f"kind must be one of {', '.join(ACCESS_KINDS)}, got {kind!r}")
        if not isinstance(conversation_id, str) or not conversation_id:
            raise ValueError("conversation_id must be a non-empty string")
        record = AccessRecord(
            at=self._now(), username=normalise_username(username), role=check_role(role),
            conversation_id=conversation_id[:MAX_ID], kind=kind, detail=None if detail is None else detail[:128],
        )  # fmt: skip
        with self._begin() as conn:
            conn.execute(insert(agent_access_log).values(**asdict(record)))
        return record

    def access_log(
        self, *, conversation_id: str | None = None, username: str | None = None, limit: int = 200
    ) -> list[AccessRecord]:
        """The newest audit rows first, optionally of one conversation and/or one agent (at most ``limit``)."""
        c = agent_access_log.c
        query = select(agent_access_log).order_by(c.at.desc(), c.id.desc()).limit(max(1, min(int(limit), 5000)))
        if conversation_id:
            query = query.where(c.conversation_id == conversation_id[:MAX_ID])
        if username:
            query = query.where(c.username == username.strip().lower())
        with self._begin() as conn:
            rows = conn.execute(query).all()
        return [AccessRecord(r.at, r.username, r.role, r.conversation_id, r.kind, r.detail) for r in rows]


def _migrate(conn: Connection) -> None:
    """Bring a database created by an older version up to date (inside the schema transaction)."""
    inspector = sa.inspect(conn)
    if "role" not in {column["name"] for column in inspector.get_columns("agents")}:
        conn.exec_driver_sql("ALTER TABLE agents ADD COLUMN role VARCHAR(16) DEFAULT 'agent' NOT NULL")
    if inspector.has_table("agent_login_failures"):  # the old lock-after-five-failures table
        conn.exec_driver_sql("DROP TABLE agent_login_failures")


def _owner_only(path: Path) -> None:
    """Make a database file readable by its owner only (it holds password hashes and sessions)."""
    try:
        if path.exists() and path.stat().st_mode & 0o077:
            path.chmod(0o600)
    except OSError:  # not ours to change (e.g. owned by another user): leave it
        pass


def store_from_env(env: Mapping[str, str] | None = None) -> AgentStore:
    """Return the store ``AGENTS_DB_URL``, else ``TICKETS_DB_URL``, else ``<project>/var/tickets.db`` names.

    No database work happens here.
    """
    return AgentStore(Settings.from_env(env).agents_db_url)
