"""The ticket CLI, run as a real subprocess against a SQLite file."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from bot.settings import PROJECT_ROOT
from bot.tickets import Deadlines, Decision, TicketStatus, TicketStore

NOW = datetime.now(timezone.utc)
UNKNOWN = "TK-20000101-0001"


@pytest.fixture
def db(tmp_path: Path) -> tuple[str, list[str]]:
    url = f"sqlite:///{tmp_path / 'tickets.db'}"
    store = TicketStore(url)
    deadlines = Deadlines(NOW + timedelta(minutes=15), NOW + timedelta(hours=8), NOW + timedelta(hours=2))
    claim = store.open(type="damage_claim", level=2, conversation_id="wx:alice", channel="wechat",
                       summary="外箱破损", deadlines=deadlines, waybill="SF1234567890123")  # fmt: skip
    store.set_decision(claim.id, Decision("pay_insured_value", Decimal("199.90"), "damage_over_5pct"), actor="bot")
    delay = store.open(type="delay", level=3, conversation_id="tg:bob", channel="telegram",
                       summary="三天没更新", deadlines=deadlines)  # fmt: skip
    store.close()
    return url, [claim.id, delay.id]


def cli(url: str | None, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), **(env or {})}
    db_args = ["--db", url] if url else []
    return subprocess.run(
        [sys.executable, "-m", "bot.tickets.cli", *db_args, *args],
        capture_output=True, text=True, timeout=60, cwd=PROJECT_ROOT, env=full_env,
    )  # fmt: skip


def test_list_and_filters(db: tuple[str, list[str]]) -> None:
    url, (claim, delay) = db
    result = cli(url, "list")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert [line.split()[0] for line in lines] == [delay, claim]
    assert "wx:alice" in lines[1] and "SF1234567890123" in lines[1]
    only_delay = cli(url, "list", "--type", "delay", "--status", "open")
    assert only_delay.returncode == 0 and only_delay.stdout.split()[0] == delay
    assert len(only_delay.stdout.splitlines()) == 1
    assert cli(url, "list", "--status", "closed").stdout == ""
    bad = cli(url, "list", "--status", "done")
    assert bad.returncode == 2 and "invalid choice" in bad.stderr


def test_show(db: tuple[str, list[str]]) -> None:
    url, (claim, _) = db
    result = cli(url, "show", claim)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert f"id:           {claim}" in out
    assert "pay_insured_value 199.90 (damage_over_5pct)" in out
    assert "created" in out and "decision_set" in out and "外箱破损" in out


def test_status_change_and_refusal(db: tuple[str, list[str]]) -> None:
    url, (claim, _) = db
    ok = cli(url, "status", claim, "in_progress", "--note", "taking it", "--actor", "agent:li")
    assert ok.returncode == 0, ok.stderr
    assert f"{claim} is now in_progress" in ok.stdout
    refused = cli(url, "status", claim, "closed")
    assert refused.returncode == 4
    assert "cannot go from in_progress to closed" in refused.stderr
    store = TicketStore(url)
    try:
        assert store.get(claim).status is TicketStatus.IN_PROGRESS
        last = store.history(claim)[-1]
        assert (last.actor, last.note, last.to_status) == ("agent:li", "taking it", TicketStatus.IN_PROGRESS)
    finally:
        store.close()


@pytest.mark.parametrize("args", [("show", UNKNOWN), ("status", UNKNOWN, "in_progress")])
def test_unknown_id_exits_non_zero_with_message(db: tuple[str, list[str]], args: tuple[str, ...]) -> None:
    result = cli(db[0], *args)
    assert result.returncode == 3
    assert f"unknown ticket '{UNKNOWN}'" in result.stderr
    assert result.stdout == ""


def test_export_csv_to_stdout_and_file(db: tuple[str, list[str]], tmp_path: Path) -> None:
    url, (claim, delay) = db
    result = cli(url, "export-csv")
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [r["id"] for r in rows] == [claim, delay]
    assert rows[0]["decision_amount"] == "199.90" and rows[1]["type"] == "delay"

    target = tmp_path / "out" / "tickets.csv"
    target.parent.mkdir()
    to_file = cli(url, "export-csv", str(target))
    assert to_file.returncode == 0 and "exported 2 tickets" in to_file.stderr
    assert target.read_text(encoding="utf-8") == result.stdout


def test_db_url_from_environment(db: tuple[str, list[str]]) -> None:
    url, (claim, _) = db
    result = cli(None, "show", claim, env={"TICKETS_DB_URL": url})
    assert result.returncode == 0, result.stderr
    assert claim in result.stdout


def test_unreachable_database_is_a_clean_error(tmp_path: Path) -> None:
    result = cli("postgresql+psycopg2://nobody@127.0.0.1:1/none", "list")
    assert result.returncode == 1
    assert result.stderr.startswith("error: OperationalError") and "Traceback" not in result.stderr


def test_forget_proofs_deletes_only_expired_ones(db: tuple[str, list[str]]) -> None:
    url, _ = db
    store = TicketStore(url)
    store.record_proof("wx:alice", "SF1234567890123", "139****2846", "phone_last4", timedelta(days=30))
    store.record_proof("tg:bob", "SF1234567890123", "", "phone_last4", timedelta(seconds=-1))
    store.close()
    result = cli(url, "forget-proofs")
    assert result.returncode == 0 and result.stdout.strip() == "deleted 1 expired proofs", result.stderr
    store = TicketStore(url)
    assert store.has_proof("wx:alice", "SF1234567890123") and not store.has_proof("tg:bob", "SF1234567890123")
    store.close()
