"""``python -m bot.tickets.cli overdue`` and ``escalate``, run as real subprocesses against SQLite."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from bot.settings import PROJECT_ROOT
from bot.tickets import Action, Deadlines, TicketStatus, TicketStore

NOW = datetime.now(timezone.utc)


@pytest.fixture
def db(tmp_path: Path) -> tuple[str, list[str]]:
    """An untaken level-1 ticket past respond_by and escalate_by, a level-3 one owed an update, a resolved one."""
    url = f"sqlite:///{tmp_path / 'tickets.db'}"
    with TicketStore(url, clock=lambda: NOW - timedelta(hours=3)) as store:
        urgent = store.open(type="complaint", level=1, conversation_id="wx:alice", channel="wechat",
                            summary="包裹丢了", deadlines=Deadlines(NOW - timedelta(hours=2), NOW + timedelta(hours=1),
                                                               escalate_by=NOW - timedelta(hours=1)))  # fmt: skip
        owed = Deadlines(NOW - timedelta(hours=2, minutes=30), NOW + timedelta(hours=5),
                         update_after=NOW - timedelta(minutes=10))  # fmt: skip
        general = store.open(type="delay", level=3, conversation_id="tg:bob", channel="telegram",
                             summary="三天没更新", deadlines=owed)  # fmt: skip
        done = store.open(type="delay", level=1, conversation_id="tg:carol", channel="telegram", summary="已解决",
                          deadlines=Deadlines(NOW - timedelta(hours=3), NOW - timedelta(hours=2),
                                              escalate_by=NOW - timedelta(hours=2)))  # fmt: skip
        store.transition(done.id, TicketStatus.IN_PROGRESS, actor="agent:li")
        store.transition(done.id, TicketStatus.RESOLVED, actor="agent:li")
    return url, [urgent.id, general.id, done.id]


def cli(url: str, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    inherited = {k: v for k, v in os.environ.items() if k != "ESCALATION_WEBHOOK_URL"}
    full_env = {**inherited, "PYTHONPATH": str(PROJECT_ROOT), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "bot.tickets.cli", "--db", url, *args],
        capture_output=True, text=True, timeout=60, cwd=PROJECT_ROOT, env=full_env,
    )  # fmt: skip


def test_overdue_lists_the_oldest_missed_deadline_first(db: tuple[str, list[str]]) -> None:
    url, (urgent, general, _) = db
    result = cli(url, "overdue")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert [line.split()[0] for line in lines] == [general, urgent]
    assert "past respond_by" in lines[0] and "(not marked)" in lines[0] and "tg:bob" in lines[0]


def test_escalate_runs_one_pass_and_a_second_does_nothing(db: tuple[str, list[str]]) -> None:
    url, (urgent, general, done) = db
    first = cli(url, "escalate", env={"ESCALATION_WEBHOOK_URL": "http://127.0.0.1:1/hook"})
    assert first.returncode == 0, first.stderr
    lines = first.stdout.splitlines()
    assert [line.split()[:2] for line in lines[:4]] == [
        ["overdue", urgent], ["overdue", general], ["escalated", urgent], ["progress", general],
    ]  # fmt: skip
    assert "L1 -> L1" in lines[2]
    assert lines[4].startswith(f"  to tg:bob (telegram): 您的工单 {general}（延误补偿）仍在处理中")
    assert lines[5] == "webhook: 3 alerts NOT posted (see log)"
    assert done not in first.stdout

    second = cli(url, "escalate")
    assert (second.returncode, second.stdout) == (0, "")

    with TicketStore(url) as store:
        assert [h.action for h in store.history(urgent)][-2:] == [Action.OVERDUE, Action.ESCALATED]
        assert store.get(general).progress_updated_at is not None  # type: ignore[union-attr]
    marked = cli(url, "overdue")
    assert "(since " in marked.stdout and "not marked" not in marked.stdout
