"""AgentStore against both real backends (SQLite in tmp_path, PostgreSQL on 127.0.0.1:5432) and the agent CLI.

The PostgreSQL tests create their own database ``lcs_test_<hex>`` for this module
and drop it afterwards. If the server is not running they FAIL (never skip).
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa

import bot.agents.passwords
import bot.agents.schema
from bot.agents import cli as agents_cli
from bot.agents.models import Agent
from bot.agents.store import AgentStore, store_from_env
from bot.settings import PROJECT_ROOT
from bot.tickets.schema import UTCDateTime
from tests.support.stores import BACKENDS, backend_url

T0 = datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc)
PASSWORD = "correct horse battery"
HASH_RE = re.compile(r"^scrypt\$16384\$8\$1\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$")


class Clock:
    """Fake clock that stands still until moved."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return backend_url(request, tmp_path / "nested" / "agents.db")


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(db_url: str, clock: Clock) -> Iterator[AgentStore]:
    with AgentStore(db_url, clock=clock) as s:
        yield s


@pytest.fixture
def alice(store: AgentStore) -> Agent:
    return store.create_agent("Alice", "李客服", PASSWORD)


def _raw_rows(url: str) -> dict[str, list[tuple]]:
    """Every row of every table, read behind the store's back."""
    engine = sa.create_engine(url, future=True)
    meta = sa.MetaData()
    meta.reflect(engine)
    with engine.connect() as conn:
        rows = {name: [tuple(r) for r in conn.execute(sa.select(table))] for name, table in meta.tables.items()}
    engine.dispose()
    return rows


def _raw_values(url: str) -> str:
    return "\n".join(repr(v) for table in _raw_rows(url).values() for row in table for v in row)


# -- accounts -----------------------------------------------------------------------------------


def test_create_and_list_agents(store: AgentStore, alice: Agent, clock: Clock) -> None:
    assert alice == Agent(username="alice", display_name="李客服", active=True, created_at=T0, role="agent")
    store.create_agent("  bob.wang_2-x ", " Bob ", "another long password")
    assert [(a.username, a.display_name, a.active) for a in store.list_agents()] == [
        ("alice", "李客服", True),
        ("bob.wang_2-x", "Bob", True),
    ]
    assert store.list_agents()[0].created_at == T0 and store.list_agents()[0].created_at.tzinfo == timezone.utc


def test_duplicate_usernames_are_refused_case_insensitively(store: AgentStore, alice: Agent) -> None:
    for name in ("alice", "ALICE", " Alice "):
        with pytest.raises(ValueError, match="already exists"):
            store.create_agent(name, "Other", "other long password")
    assert len(store.list_agents()) == 1


@pytest.mark.parametrize("username", ["", "ab", "a" * 65, "li lei", "张三", "alice!", "a/b", "ali\nce", None])
def test_bad_usernames_are_refused(store: AgentStore, username: str) -> None:
    with pytest.raises(ValueError, match="username"):
        store.create_agent(username, "Name", PASSWORD)
    assert store.list_agents() == []


def test_username_limits_are_inclusive(store: AgentStore) -> None:
    assert store.create_agent("abc", "Short", PASSWORD).username == "abc"
    assert store.create_agent("a" * 64, "Long", PASSWORD).username == "a" * 64


def test_bad_passwords_and_display_names_are_refused(store: AgentStore) -> None:
    with pytest.raises(ValueError, match="at least 10"):
        store.create_agent("alice", "Alice", "123456789")
    with pytest.raises(ValueError, match="not be the username"):
        store.create_agent("alice.wang", "Alice", "Alice.Wang")
    for name in ("", "   ", "x" * 129, "evil\x1b[31m"):
        with pytest.raises(ValueError, match="display name"):
            store.create_agent("alice", name, PASSWORD)
    assert store.list_agents() == []
    assert store.create_agent("alice", "Alice", "1234567890").username == "alice"  # exactly 10 is enough


def test_password_is_stored_as_salted_scrypt_and_never_in_clear(store: AgentStore, db_url: str) -> None:
    store.create_agent("alice", "Alice", PASSWORD)
    store.create_agent("bob", "Bob", PASSWORD)
    rows = _raw_rows(db_url)
    hashes = [row[2] for row in rows["agents"]]
    assert len(hashes) == 2 and hashes[0] != hashes[1]  # per-user random salt
    for encoded in hashes:
        match = HASH_RE.match(encoded)
        assert match, encoded
        salt, digest = (base64.b64decode(part) for part in match.groups())
        assert len(salt) == 16 and len(digest) == 32
        assert digest == hashlib.scrypt(PASSWORD.encode(), salt=salt, n=2**14, r=8, p=1, dklen=32)
    assert PASSWORD not in _raw_values(db_url)


def test_set_password(store: AgentStore, alice: Agent, clock: Clock) -> None:
    live = store.start_session("alice")
    store.set_password("ALICE", "a brand new secret")
    assert store.authenticate("alice", PASSWORD) is None
    assert store.authenticate("alice", "a brand new secret") == alice
    assert store.session(live.token) is None  # a password change logs every session out
    with pytest.raises(ValueError, match="unknown agent"):
        store.set_password("nobody", "a brand new secret")
    with pytest.raises(ValueError, match="at least 10"):
        store.set_password("alice", "short")


def test_deactivate(store: AgentStore, alice: Agent) -> None:
    store.deactivate("alice")
    assert store.list_agents() == [Agent("alice", "李客服", False, T0)]
    with pytest.raises(ValueError, match="unknown agent"):
        store.deactivate("nobody")


# -- authentication -----------------------------------------------------------------------------


def test_authenticate(store: AgentStore, alice: Agent) -> None:
    assert store.authenticate("alice", PASSWORD) == alice
    assert store.authenticate(" ALICE ", PASSWORD) == alice
    assert store.authenticate("alice", PASSWORD.upper()) is None
    assert store.authenticate("alice", PASSWORD + " ") is None
    assert store.authenticate("alice", "") is None
    assert store.authenticate("nobody", PASSWORD) is None
    assert store.authenticate("not a username!", PASSWORD) is None
    store.deactivate("alice")
    assert store.authenticate("alice", PASSWORD) is None


def test_unknown_username_costs_one_scrypt_like_a_known_one(
    store: AgentStore, alice: Agent, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []
    real = hashlib.scrypt

    def counting(*args: object, **kwargs: object) -> bytes:
        calls.append(kwargs["n"])  # type: ignore[arg-type]
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(bot.agents.passwords.hashlib, "scrypt", counting)
    for username in ("alice", "nobody", "bad name!"):
        calls.clear()
        assert store.authenticate(username, "wrong password") is None
        assert calls == [2**14], username


def test_wrong_passwords_never_lock_an_account(store: AgentStore, alice: Agent) -> None:
    # the old store refused even the right password after five failures: anyone could lock anyone out
    # (the rate of guesses is limited at the console's edge instead, see test_security_console.py)
    for _ in range(20):
        assert store.authenticate("alice", "wrong password") is None
    assert store.authenticate("alice", PASSWORD) == alice


# -- roles --------------------------------------------------------------------------------------


def test_roles_default_to_agent_and_can_be_changed(store: AgentStore, alice: Agent) -> None:
    assert alice.role == "agent"
    boss = store.create_agent("boss", "Boss", PASSWORD, role="supervisor")
    assert boss.role == "supervisor" and store.authenticate("boss", PASSWORD).role == "supervisor"
    with pytest.raises(ValueError, match="role must be one of"):
        store.create_agent("carol", "Carol", PASSWORD, role="admin")
    mine = store.start_session("alice")
    assert store.session(mine.token).role == "agent" and not store.session(mine.token).supervisor
    store.set_role("ALICE", "supervisor")
    assert store.session(mine.token) is None  # the session of the old role is ended
    again = store.start_session("alice")
    assert store.session(again.token).supervisor
    assert [(a.username, a.role) for a in store.list_agents()] == [("alice", "supervisor"), ("boss", "supervisor")]
    with pytest.raises(ValueError, match="role must be one of"):
        store.set_role("alice", "root")
    with pytest.raises(ValueError, match="unknown agent"):
        store.set_role("nobody", "agent")


def test_a_database_from_before_roles_is_migrated(db_url: str, clock: Clock) -> None:
    old = sa.MetaData()  # the schema as the previous version created it, with an agent and a failed login
    old_agents = sa.Table(
        "agents", old, sa.Column("username", sa.String(64), primary_key=True),
        sa.Column("display_name", sa.String(128), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False), sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )  # fmt: skip
    failures = sa.Table(
        "agent_login_failures", old, sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("username", sa.String(64), nullable=False), sa.Column("at", UTCDateTime, nullable=False),
    )  # fmt: skip
    if db_url.startswith("sqlite:///"):
        Path(db_url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(db_url, future=True)
    with engine.begin() as conn:
        old.create_all(conn)
        hashed = bot.agents.passwords.hash_password(PASSWORD)
        conn.execute(old_agents.insert().values(username="old", display_name="Old", password_hash=hashed,
                                                active=True, created_at=T0))  # fmt: skip
        conn.execute(failures.insert().values(username="old", at=T0))
    engine.dispose()
    with AgentStore(db_url, clock=clock) as store:
        assert store.authenticate("old", PASSWORD).role == "agent"
        store.set_role("old", "supervisor")
        assert store.list_agents()[0].role == "supervisor"
    tables = _raw_rows(db_url)
    assert "agent_login_failures" not in tables and "agent_access_log" in tables


# -- access audit -------------------------------------------------------------------------------


def test_access_audit_records_who_saw_what_and_when(store: AgentStore, alice: Agent, clock: Clock) -> None:
    store.create_agent("boss", "Boss", PASSWORD, role="supervisor")
    store.record_access("alice", "agent", "widget:abc", "transcript")
    clock.advance(minutes=1)
    store.record_access("alice", "agent", "widget:abc", "photo", "a" * 64)
    clock.advance(minutes=1)
    store.record_access("boss", "supervisor", "rest:other", "reveal")
    rows = store.access_log()
    assert [(r.username, r.role, r.conversation_id, r.kind, r.detail, r.at) for r in rows] == [
        ("boss", "supervisor", "rest:other", "reveal", None, T0 + timedelta(minutes=2)),
        ("alice", "agent", "widget:abc", "photo", "a" * 64, T0 + timedelta(minutes=1)),
        ("alice", "agent", "widget:abc", "transcript", None, T0),
    ]
    assert [r.kind for r in store.access_log(conversation_id="widget:abc")] == ["photo", "transcript"]
    assert [r.kind for r in store.access_log(username="BOSS")] == ["reveal"]
    assert len(store.access_log(limit=1)) == 1
    for bad in ({"kind": "download"}, {"role": "admin"}, {"conversation_id": ""}):
        args = {"username": "alice", "role": "agent", "conversation_id": "c", "kind": "transcript", **bad}
        with pytest.raises(ValueError):
            store.record_access(**args)
    assert len(store.access_log()) == 3


def test_sqlite_database_file_is_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "agents.db"
    with AgentStore(f"sqlite:///{path}") as store:
        store.create_agent("alice", "Alice", PASSWORD)
    assert path.stat().st_mode & 0o777 == 0o600
    path.chmod(0o644)  # e.g. created by an older version: tightened at the next connection
    with AgentStore(f"sqlite:///{path}") as store:
        assert store.list_agents()
    assert path.stat().st_mode & 0o777 == 0o600


# -- sessions -----------------------------------------------------------------------------------


def test_session_stores_only_the_token_hash(store: AgentStore, alice: Agent, db_url: str, clock: Clock) -> None:
    new = store.start_session("Alice")
    assert new.username == "alice" and new.expires_at == T0 + timedelta(hours=12)
    assert len(new.token) >= 40 and new.token != new.csrf_token
    assert new.token not in repr(new) and new.csrf_token not in repr(new)
    (row,) = _raw_rows(db_url)["agent_sessions"]
    assert row[0] == hashlib.sha256(new.token.encode()).hexdigest()
    assert new.token not in _raw_values(db_url)
    clock.advance(minutes=5)
    current = store.session(new.token)
    assert current is not None and current.username == "alice" and current.display_name == "李客服"
    assert current.csrf_token == new.csrf_token and current.created_at == T0
    assert current.last_seen_at == T0 + timedelta(minutes=5) and current.csrf_token not in repr(current)
    assert store.session(row[0]) is None  # the stored hash is not a token
    assert store.session("") is None and store.session("x" * 43) is None


def test_start_session_needs_an_active_agent(store: AgentStore, alice: Agent) -> None:
    with pytest.raises(ValueError, match="unknown or inactive"):
        store.start_session("nobody")
    store.deactivate("alice")
    with pytest.raises(ValueError, match="unknown or inactive"):
        store.start_session("alice")


def test_session_expires_after_ttl_even_when_used(db_url: str, alice: Agent, clock: Clock) -> None:
    with AgentStore(db_url, clock=clock, session_ttl=timedelta(hours=3), idle_timeout=timedelta(hours=2)) as store:
        token = store.start_session("alice").token
        for _ in range(5):
            clock.advance(minutes=35)
            assert store.session(token) is not None
        clock.now = T0 + timedelta(hours=3) - timedelta(seconds=1)
        assert store.session(token) is not None
        clock.now = T0 + timedelta(hours=3)
        assert store.session(token) is None
        clock.now = T0  # gone for good, not just outside the window
        assert store.session(token) is None


def test_session_expires_when_idle(store: AgentStore, alice: Agent, clock: Clock) -> None:
    token = store.start_session("alice").token
    clock.advance(hours=1, minutes=59)
    assert store.session(token) is not None  # touching it restarts the idle clock
    clock.advance(hours=1, minutes=59)
    assert store.session(token) is not None
    clock.advance(hours=2)
    assert store.session(token) is None


def test_end_session(store: AgentStore, alice: Agent) -> None:
    first, second = store.start_session("alice"), store.start_session("alice")
    assert store.end_session(first.token) is True
    assert store.session(first.token) is None and store.session(second.token) is not None
    assert store.end_session(first.token) is False


def test_deactivated_agents_sessions_become_invalid(store: AgentStore, alice: Agent, db_url: str) -> None:
    token = store.start_session("alice").token
    store.deactivate("alice")
    assert store.session(token) is None
    # Even if a session row survives (e.g. written concurrently), an inactive agent's session is refused.
    store.set_password("alice", "a brand new secret")
    engine = sa.create_engine(db_url, future=True)
    with engine.begin() as conn:
        conn.execute(sa.update(bot.agents.schema.agents).values(active=True))
    token = store.start_session("alice").token
    assert store.session(token) is not None
    with engine.begin() as conn:
        conn.execute(sa.update(bot.agents.schema.agents).values(active=False))
    engine.dispose()
    assert store.session(token) is None


def test_check_csrf(store: AgentStore, alice: Agent, clock: Clock) -> None:
    store.create_agent("bob", "Bob", PASSWORD)
    mine, theirs = store.start_session("alice"), store.start_session("bob")
    assert store.check_csrf(mine.token, mine.csrf_token) is True
    assert store.check_csrf(mine.token, theirs.csrf_token) is False  # another session's token
    assert store.check_csrf(theirs.token, mine.csrf_token) is False
    assert store.check_csrf(mine.token, mine.csrf_token[:-1]) is False
    assert store.check_csrf(mine.token, "") is False and store.check_csrf(mine.token, "令牌") is False
    assert store.check_csrf("unknown", mine.csrf_token) is False
    store.end_session(mine.token)
    assert store.check_csrf(mine.token, mine.csrf_token) is False


def test_purge_expired(store: AgentStore, alice: Agent, clock: Clock, db_url: str) -> None:
    idle = store.start_session("alice")
    clock.advance(hours=1)
    busy = store.start_session("alice")
    clock.advance(hours=1, minutes=30)  # idle's 2 h are up, busy's are not
    assert store.purge_expired() == 1
    assert store.session(busy.token) is not None and store.session(idle.token) is None
    for _ in range(10):  # busy is kept in use, so only its 12 h lifetime can end it
        clock.advance(hours=1)
        assert store.session(busy.token) is not None
    assert store.purge_expired() == 0
    clock.now = busy.expires_at
    assert store.purge_expired() == 1
    assert _raw_rows(db_url)["agent_sessions"] == []
    assert store.purge_expired() == 0


def test_naive_clock_is_refused(db_url: str) -> None:
    with AgentStore(db_url, clock=lambda: datetime(2026, 1, 1)) as store:
        with pytest.raises(ValueError, match="timezone-aware"):
            store.create_agent("alice", "Alice", PASSWORD)


# -- configuration (no database needed) ---------------------------------------------------------


def test_store_from_env(tmp_path: Path) -> None:
    agents_db, tickets_db = tmp_path / "a" / "agents.db", tmp_path / "t.db"
    both = {"AGENTS_DB_URL": f"sqlite:///{agents_db}", "TICKETS_DB_URL": f"sqlite:///{tickets_db}"}
    with store_from_env(both) as store:
        assert store.url.database == str(agents_db) and not agents_db.exists()  # no database work yet
    with store_from_env({"AGENTS_DB_URL": " ", "TICKETS_DB_URL": f"sqlite:///{tickets_db}"}) as store:
        assert store.url.database == str(tickets_db)
    with store_from_env({}) as store:
        assert store.url.database == str(PROJECT_ROOT / "var" / "tickets.db")
    with pytest.raises(ValueError, match="unsupported"):
        AgentStore("mysql://localhost/x")


# -- CLI ----------------------------------------------------------------------------------------


def cli(url: str, *args: str, password: str | None = PASSWORD) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("AGENTS_DB_URL", "TICKETS_DB_URL", "AGENT_PASSWORD")}
    env.update({"PYTHONPATH": str(PROJECT_ROOT), "AGENTS_DB_URL": url})
    if password is not None:
        env["AGENT_PASSWORD"] = password
    return subprocess.run(
        [sys.executable, "-m", "bot.agents.cli", *args],
        capture_output=True, text=True, timeout=60, cwd=PROJECT_ROOT, env=env, stdin=subprocess.DEVNULL,
    )  # fmt: skip


def test_cli_create_list_deactivate(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'agents.db'}"
    created = cli(url, "create", "Li.Kefu", "--name", "李客服")
    assert created.returncode == 0, created.stderr
    assert "li.kefu" in created.stdout and PASSWORD not in created.stdout + created.stderr
    assert cli(url, "create", "wang", "--name", "王客服").returncode == 0
    listed = cli(url, "list", password=None)
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert [line.split()[:3] for line in lines] == [["li.kefu", "agent", "active"], ["wang", "agent", "active"]]
    assert lines[0].endswith("李客服")
    deactivated = cli(url, "deactivate", "wang", password=None)
    assert deactivated.returncode == 0, deactivated.stderr
    assert cli(url, "list", password=None).stdout.splitlines()[1].split()[:3] == ["wang", "agent", "inactive"]
    with AgentStore(url) as store:
        assert store.authenticate("li.kefu", PASSWORD) is not None
        assert store.authenticate("wang", PASSWORD) is None


def test_cli_roles_and_audit(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'agents.db'}"
    created = cli(url, "create", "zhang", "--name", "张主管", "--role", "supervisor")
    assert created.returncode == 0 and "supervisor zhang" in created.stdout, created.stderr
    assert cli(url, "create", "li.kefu", "--name", "李客服").returncode == 0
    assert cli(url, "role", "li.kefu", "supervisor", password=None).returncode == 0
    assert cli(url, "role", "zhang", "agent", password=None).returncode == 0
    listed = [line.split()[:2] for line in cli(url, "list", password=None).stdout.splitlines()]
    assert listed == [["li.kefu", "supervisor"], ["zhang", "agent"]]
    bad = cli(url, "role", "li.kefu", "admin", password=None)
    assert bad.returncode == 2 and "invalid choice" in bad.stderr
    with AgentStore(url) as store:
        store.record_access("li.kefu", "supervisor", "widget:c1", "reveal")
        store.record_access("zhang", "agent", "widget:c2", "photo", "f" * 64)
    audit = cli(url, "audit", "--agent", "li.kefu", password=None)
    assert audit.returncode == 0, audit.stderr
    (line,) = audit.stdout.splitlines()
    assert "li.kefu (supervisor)" in line and "reveal" in line and "widget:c1" in line
    assert "widget:c2" in cli(url, "audit", "--conversation", "widget:c2", password=None).stdout


def test_cli_passwd(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'agents.db'}"
    assert cli(url, "create", "alice", "--name", "Alice").returncode == 0
    changed = cli(url, "passwd", "alice", password="a brand new secret")
    assert changed.returncode == 0, changed.stderr
    with AgentStore(url) as store:
        assert store.authenticate("alice", "a brand new secret") is not None
        assert store.authenticate("alice", PASSWORD) is None


@pytest.mark.parametrize(
    ("args", "password", "message"),
    [
        (["create", "alice", "--name", "Again"], PASSWORD, "already exists"),
        (["create", "x", "--name", "X"], PASSWORD, "username must be"),
        (["create", "bob", "--name", "Bob"], "short", "at least 10"),
        (["create", "bob", "--name", "Bob"], "", "at least 10"),
        (["create", "bob", "--name", " "], PASSWORD, "display name"),
        (["create", "bob"], PASSWORD, "--name"),
        (["create", "bob", "--name", "Bob", "--password", PASSWORD], None, "unrecognized arguments"),
        (["deactivate", "nobody"], None, "unknown agent"),
        (["passwd", "nobody"], PASSWORD, "unknown agent"),
        (["role", "nobody", "supervisor"], None, "unknown agent"),
        (["remove", "alice"], None, "invalid choice"),
    ],
)
def test_cli_bad_input_exits_2(tmp_path: Path, args: list[str], password: str | None, message: str) -> None:
    url = f"sqlite:///{tmp_path / 'agents.db'}"
    with AgentStore(url) as store:
        store.create_agent("alice", "Alice", PASSWORD)
    result = cli(url, *args, password=password)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert message in result.stderr
    if "--password" not in args:  # argparse echoes unrecognised arguments; everything else must not
        assert PASSWORD not in result.stdout + result.stderr
    with AgentStore(url) as store:
        assert [a.username for a in store.list_agents()] == ["alice"]
        assert store.authenticate("alice", PASSWORD) is not None


def test_cli_prompts_twice_without_the_environment_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'agents.db'}"
    monkeypatch.delenv("AGENT_PASSWORD", raising=False)
    answers = iter([PASSWORD, PASSWORD + "x", PASSWORD, PASSWORD])
    prompts: list[str] = []
    monkeypatch.setattr(agents_cli.getpass, "getpass", lambda prompt: prompts.append(prompt) or next(answers))
    assert agents_cli.main(["--db", url, "create", "alice", "--name", "Alice"]) == 2
    assert "do not match" in capsys.readouterr().err
    assert agents_cli.main(["--db", url, "create", "alice", "--name", "Alice"]) == 0
    assert prompts == ["Password: ", "Repeat password: "] * 2
    with AgentStore(url) as store:
        assert store.authenticate("alice", PASSWORD) is not None
