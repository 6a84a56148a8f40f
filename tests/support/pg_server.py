"""The real PostgreSQL on 127.0.0.1:5432 for tests: log in, or fail saying how to fix it."""

from __future__ import annotations

import getpass

import psycopg2
import pytest

PG_HOST, PG_PORT = "127.0.0.1", 5432
PG_START = "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"
AUTH_WORDS = ("password authentication failed", "no password supplied", "authentication failed", "pg_hba.conf")


def pg_admin() -> tuple[psycopg2.extensions.connection, str]:
    """An autocommit connection to ``postgres`` (as ``postgres`` or the current user) and the user name.

    Fails the test (never skips): with the start command when the server is down, and with
    what to change when it answers but refuses a password-less login.
    """
    errors = []
    for user in dict.fromkeys(("postgres", getpass.getuser())):
        try:
            conn = psycopg2.connect(host=PG_HOST, port=PG_PORT, user=user, dbname="postgres", connect_timeout=3)
        except psycopg2.OperationalError as exc:
            errors.append(f"{user}: {str(exc).strip()}")
            continue
        conn.autocommit = True
        return conn, user
    detail = "; ".join(errors)
    if any(word in detail for word in AUTH_WORDS):
        pytest.fail(
            f"PostgreSQL on {PG_HOST}:{PG_PORT} refuses a login without a password ({detail}).\n"
            "The tests need trust authentication on 127.0.0.1: add 'host all all 127.0.0.1/32 trust' to "
            "pg_hba.conf and reload PostgreSQL.",
            pytrace=False,
        )
    pytest.fail(
        f"PostgreSQL is not reachable on {PG_HOST}:{PG_PORT} ({detail}).\nStart it with:  {PG_START}", pytrace=False
    )
