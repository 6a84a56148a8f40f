"""Fixtures shared by several test modules."""

from __future__ import annotations

import json
import secrets
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from tests.support.pg_server import PG_HOST, PG_PORT, pg_admin
from tests.support.redis_server import connect_redis


@pytest.fixture(scope="module")
def redis_client() -> Iterator[redis.Redis]:
    """The real Redis (the test fails with the start command when it is down)."""
    client = connect_redis()
    yield client
    client.close()


@pytest.fixture
def redis_prefix(redis_client: redis.Redis) -> Iterator[str]:
    """A key prefix of this test's own; every key under it is deleted afterwards."""
    prefix = f"lcs-test-{secrets.token_hex(6)}"
    yield prefix
    keys = list(redis_client.scan_iter(match=f"{prefix}:*", count=500))
    if keys:
        redis_client.delete(*keys)


@pytest.fixture(autouse=True)
def fresh_limits() -> Iterator[None]:
    """Each test starts with empty in-process rate windows and the shipped limits file.

    The limiter is in process whatever the environment says (a developer's ``HANDOFF_REDIS_URL``
    must not make tests share windows); a test that wants Redis sets its own.
    """
    from bot.common.ratelimit import MemoryRateLimiter, set_limiter
    from bot.policy.limits import set_limits

    set_limiter(MemoryRateLimiter())
    set_limits(None)
    yield
    set_limiter(None)
    set_limits(None)


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    """A PostgreSQL database of this module's own (``lcs_test_<hex>``), dropped afterwards."""
    admin, user = pg_admin()
    name = f"lcs_test_{secrets.token_hex(6)}"
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg2://{user}@{PG_HOST}:{PG_PORT}/{name}"
    finally:
        with admin.cursor() as cur:
            cur.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                (name,),
            )
            cur.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.close()


# --- what was skipped, and why: listed at the end of the run and of `make test` -------------------

SKIP_REPORT = Path(__file__).resolve().parents[1] / "results" / "pytest-skips.json"
_skipped: Counter[str] = Counter()


def _skip_reason(report: pytest.CollectReport | pytest.TestReport) -> str:
    longrepr = report.longrepr
    reason = longrepr[2] if isinstance(longrepr, tuple) and len(longrepr) == 3 else str(longrepr)
    return reason.removeprefix("Skipped: ").strip() or "no reason given"


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped and not hasattr(report, "wasxfail"):
        _skipped[_skip_reason(report)] += 1


def pytest_collectreport(report: pytest.CollectReport) -> None:
    if report.skipped:
        _skipped[f"{_skip_reason(report)} (whole module {report.nodeid})"] += 1


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    SKIP_REPORT.parent.mkdir(parents=True, exist_ok=True)
    SKIP_REPORT.write_text(json.dumps(dict(_skipped), ensure_ascii=False, indent=1), encoding="utf-8")


def pytest_terminal_summary(terminalreporter: Any) -> None:
    for reason, count in sorted(_skipped.items()):
        terminalreporter.write_line(f"skipped ({count}): {reason}", yellow=True)
