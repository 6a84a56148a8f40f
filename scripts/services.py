"""Make sure the Redis and PostgreSQL servers `make test` uses are up, starting them if needed.

Usage: python scripts/services.py

Each server is checked with a real connection (a Redis PING, a PostgreSQL login without a
password as the tests do). A server that does not answer is started with the documented
command when that command exists on this machine; otherwise, or when it still does not
answer, the script stops with one line naming the command. A PostgreSQL that answers but
refuses a password-less login gets a message about authentication instead.
"""

from __future__ import annotations

import getpass
import glob
import shutil
import subprocess
import sys
import time
from collections.abc import Callable

import psycopg2
import redis

REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
PG_HOST, PG_PORT = "127.0.0.1", 5432
REDIS_START = [
    "redis-server",
    "--daemonize",
    "yes",
    "--bind",
    "127.0.0.1",
    "-::1",
    "--port",
    str(REDIS_PORT),
    "--save",
    "",
    "--appendonly",
    "no",
]
REDIS_START_TEXT = "redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save '' --appendonly no"
PG_START_TEXT = "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"
AUTH_WORDS = (
    "password authentication failed",
    "no password supplied",
    "authentication failed",
    'role "',
    "pg_hba.conf",
)
WAIT_SECONDS = 20


def redis_up() -> bool:
    """True when Redis answers PING on 127.0.0.1:6379."""
    client = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, socket_connect_timeout=2, socket_timeout=5)
    try:
        return bool(client.ping())
    except (redis.ConnectionError, redis.TimeoutError):
        return False
    finally:
        client.close()


def pg_login() -> str | None:
    """``None`` when a password-less login works (as ``postgres`` or the current user), else the errors."""
    errors = []
    for user in dict.fromkeys(("postgres", getpass.getuser())):
        try:
            psycopg2.connect(host=PG_HOST, port=PG_PORT, user=user, dbname="postgres", connect_timeout=3).close()
            return None
        except psycopg2.OperationalError as exc:
            errors.append(f"{user}: {str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__}")
    return "; ".join(errors)


def refused_login(errors: str) -> bool:
    """True when PostgreSQL answered but refused the login (as opposed to not running)."""
    return any(word in errors for word in AUTH_WORDS)


def wait(check: Callable[[], bool], seconds: float = WAIT_SECONDS) -> bool:
    """Poll ``check`` until it is true or ``seconds`` have passed."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.5)
    return bool(check())


def ensure_redis() -> str | None:
    """Start Redis if it is down; the error line, or ``None`` when it answers."""
    if redis_up():
        return None
    if shutil.which("redis-server") is None:
        return (
            f"Redis is not running on {REDIS_HOST}:{REDIS_PORT} and redis-server is not installed: "
            f"apt-get install redis-server, then {REDIS_START_TEXT}"
        )
    print(f"Redis is not running on {REDIS_HOST}:{REDIS_PORT}: starting it ({REDIS_START_TEXT})")
    done = subprocess.run(REDIS_START, capture_output=True, text=True, timeout=30, check=False)
    if done.returncode != 0 or not wait(redis_up):
        return f"Redis did not start ({(done.stderr or done.stdout).strip()[:200]}); start it with:  {REDIS_START_TEXT}"
    return None


def pg_running() -> bool:
    """True when something answers as PostgreSQL on 127.0.0.1:5432 (a refused login counts)."""
    errors = pg_login()
    return errors is None or refused_login(errors)


def ensure_postgres() -> str | None:
    """Start PostgreSQL if it is down and check the password-less login; the error line or ``None``."""
    errors = pg_login()
    if errors is None:
        return None
    if not refused_login(errors):
        clusters = sorted(glob.glob("/etc/postgresql/*"))
        if shutil.which("pg_ctlcluster") is None or not clusters:
            return f"PostgreSQL is not running on {PG_HOST}:{PG_PORT} ({errors}); start it with:  {PG_START_TEXT}"
        version = clusters[-1].rsplit("/", 1)[-1]
        print(f"PostgreSQL is not running on {PG_HOST}:{PG_PORT}: starting it ({PG_START_TEXT})")
        done = subprocess.run(
            ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if not wait(pg_running):
            detail = (done.stderr or done.stdout).strip()[:200]
            return f"PostgreSQL did not start ({detail or errors}); start it with:  {PG_START_TEXT}"
        errors = pg_login()
        if errors is None:
            return None
    return (
        f"PostgreSQL on {PG_HOST}:{PG_PORT} refuses a login without a password ({errors}). The tests log in as "
        "'postgres' (or your user) with trust authentication: add 'host all all 127.0.0.1/32 trust' to "
        "pg_hba.conf and reload PostgreSQL."
    )


def main() -> int:
    """Check both servers; print one line per problem and return non-zero if any remains."""
    problems = [p for p in (ensure_redis(), ensure_postgres()) if p]
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
