"""Proactive notices end to end: real Rasa and action servers, the shipped credentials, the CLI.

A REST customer asks about a parcel (the action server starts watching it), the parcel's
fixture changes to held (how a user simulates an update), one ``python -m bot.proactive
scan`` queues exactly one notice, the Rasa server's proactive loop delivers it, and
``GET /webhooks/rest/poll`` returns it once, in the customer's language. A second scan
queues nothing and nothing is left pending.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.support import ROOT
from tests.support.e2e_servers import Servers, http, running_servers

pytestmark = pytest.mark.e2e

ON_TIME = "YT7366118571491"  # in transit, on time, in fixtures/shipments.yml


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Servers, Path]]:
    workdir = tmp_path_factory.mktemp("e2e-proactive")
    fixtures = workdir / "shipments.yml"
    fixtures.write_text((ROOT / "fixtures" / "shipments.yml").read_text(encoding="utf-8"), encoding="utf-8")
    with running_servers(workdir, both={"TRACKING_FIXTURES": str(fixtures)}) as servers:
        yield servers, fixtures


def cli(servers: Servers, fixtures: Path, *args: str) -> list[str]:
    env = servers._env({"TRACKING_FIXTURES": str(fixtures)})
    done = subprocess.run([sys.executable, "-m", "bot.proactive", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return [line for line in done.stdout.splitlines() if line.strip()]


def poll(servers: Servers, sender: str, seconds: float = 30) -> list[str]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        status, messages = http("GET", f"{servers.base}/webhooks/rest/poll?sender={sender}")
        assert status == 200
        if messages:
            return [m.get("text", "") for m in messages]
        time.sleep(0.5)
    return []


def test_a_parcel_turning_held_reaches_the_customer_who_asked_exactly_once(stack: tuple[Servers, Path]) -> None:
    servers, fixtures = stack
    replies = servers.say("proactive-en", f"where is my parcel {ON_TIME}")
    assert any(ON_TIME in r for r in replies), replies
    assert cli(servers, fixtures, "scan") == []  # nothing changed since the customer looked

    data = yaml.safe_load(fixtures.read_text(encoding="utf-8"))
    [record] = [r for r in data["shipments"] if r["waybill"] == ON_TIME]
    record.update(status="held", hold_reason="weather")
    fixtures.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")

    [queued] = cli(servers, fixtures, "scan")
    assert "proactive-en" in queued and ON_TIME in queued and "held" in queued
    [notice] = poll(servers, "proactive-en")
    assert "on hold" in notice and "weather" in notice and "stop updates" in notice
    assert "暂时滞留" not in notice and "不用通知我" not in notice, notice  # in the customer's language

    assert cli(servers, fixtures, "scan") == []  # the same change is never queued twice
    assert cli(servers, fixtures, "pending") == []  # and nothing is left to send
    assert http("GET", f"{servers.base}/webhooks/proactive/") == (200, {"status": "ok", "pending_notices": 0})
