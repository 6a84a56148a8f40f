"""A Kuaidi100 push applied to the watches: signature, decoding, and the scan's own decision.

Real stores on both backends (SQLite in tmp_path, PostgreSQL on 127.0.0.1:5432; the
PostgreSQL cases FAIL when the server is down), the real ownership check, the shipped policy.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from bot import services
from bot.common.clock import CHINA_TZ
from bot.proactive import watches
from bot.proactive.push import Push, PushError, apply_push, parse_push, push_sign, verify
from bot.proactive.store import ProactiveStore
from bot.tracking.models import HoldReason, Status
from tests.support.proactive import outbox_services
from tests.support.stores import BACKENDS, backend_url

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=CHINA_TZ)
WAYBILL = "YT7366118571491"
OTHER = "SF1234567890123"
SALT = "s4lt-from-the-subscription"

TRANSIT = [
    {"time": "2026-11-23 09:00:00", "context": "快件已从杭州转运中心发出", "areaName": "浙江,杭州市"},
    {"time": "2026-11-22 18:00:00", "context": "快递员已揽收", "areaName": "浙江,杭州市"},
]
HELD = {"time": "2026-11-23 11:30:00", "context": "因天气原因，快件暂时滞留在上海转运中心", "areaName": "上海"}
FAILED = {"time": "2026-11-23 11:40:00", "context": "派件异常：收件人电话无人接听", "areaName": "上海"}
SIGNED = {"time": "2026-11-23 11:50:00", "context": "已签收，签收人：前台", "areaName": "上海"}


def param(state: str, scans: list[dict[str, str]], nu: str = WAYBILL, status: str = "polling") -> str:
    """A push's ``param`` as Kuaidi100 sends it (scans newest first)."""
    last = {"message": "ok", "state": state, "status": "200", "condition": "F00", "ischeck": "0",
            "com": "yuantong", "nu": nu, "data": scans}  # fmt: skip
    return json.dumps({"status": status, "message": "", "lastResult": last}, ensure_ascii=False)


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ProactiveStore]:
    with outbox_services(backend_url(request, tmp_path / "tickets.db"), NOW) as proactive:
        yield proactive


async def watch(conversation: str, language: str, waybill: str = WAYBILL) -> None:
    """The customer asked and was shown the parcel in transit (the watch's baseline)."""
    shown = parse_push(param("0", TRANSIT, nu=waybill)).shipment
    assert shown is not None and shown.status is not Status.HELD
    assert await watches.watch_parcel(conversation, "rest", waybill, language, shown)


def test_the_signature_is_md5_of_param_and_salt_upper_case() -> None:
    body = param("0", TRANSIT)
    good = push_sign(body, SALT)
    assert good == good.upper() and len(good) == 32
    assert verify(body, good, SALT) and verify(body, good.lower(), SALT)
    assert not verify(body, good, "other-salt")
    assert not verify(body + " ", good, SALT)
    assert not verify(body, "", SALT)
    assert not verify(body, push_sign(body, ""), "")  # no salt configured: nothing verifies


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("not json", "not JSON"),
        ("[1, 2]", "not a JSON object"),
        (json.dumps({"status": "weird", "lastResult": {}}), "no known status"),
        (json.dumps({"status": "polling"}), "no lastResult"),
        (param("0", TRANSIT, nu=""), "no usable waybill"),
        (param("0", TRANSIT, nu="X" * 65), "no usable waybill"),
        (param("0", [{"time": "yesterday", "context": "x"}]), "lastResult unusable"),
        (json.dumps({"status": "polling", "lastResult": {"nu": WAYBILL, "status": "200"}}), "lastResult unusable"),
    ],
)
def test_malformed_pushes_are_refused(body: str, reason: str) -> None:
    with pytest.raises(PushError, match=reason):
        parse_push(body)


def test_a_push_is_read_by_the_query_parser() -> None:
    push = parse_push(param("2", [HELD, *TRANSIT], nu=" yt7366118571491 "))
    assert (push.status, push.waybill) == ("polling", WAYBILL)
    assert push.shipment is not None
    assert (push.shipment.status, push.shipment.hold_reason) == (Status.HELD, HoldReason.WEATHER)
    assert push.shipment.carrier == "YTO" and len(push.shipment.events) == 3
    # Kuaidi100 gave up on a number it never found: nothing to tell, not an error
    gave_up = json.dumps({"status": "abort", "message": "3天查询无记录", "lastResult": {"nu": WAYBILL}})
    assert parse_push(gave_up) == Push("abort", WAYBILL, None)


@pytest.mark.parametrize(
    ("state", "scan", "kind", "words"),
    [("2", HELD, "held", "on hold"), ("204", FAILED, "delivery_failed", "stop updates")],
)
async def test_a_pushed_change_queues_one_notice_per_watcher_once(
    store: ProactiveStore, state: str, scan: dict[str, str], kind: str, words: str
) -> None:
    await watch("en-customer", "en")
    await watch("zh-customer", "zh")
    await watch("bystander", "en", waybill=OTHER)
    push = parse_push(param(state, [scan, *TRANSIT]))
    queued = await apply_push(store, push, services.policy(), NOW)
    by_who = {n.conversation_id: n for n in queued}
    assert sorted(by_who) == ["en-customer", "zh-customer"]
    en = by_who["en-customer"]
    assert (en.kind, en.channel, en.waybill, en.due_at) == (kind, "rest", WAYBILL, NOW)
    assert words in en.text and "不用通知我" in by_who["zh-customer"].text
    assert [n.id for n in store.due(NOW)] == sorted(n.id for n in queued)

    assert await apply_push(store, push, services.policy(), NOW) == []  # the same push again
    assert len(store.notices_of("en-customer")) == 1
    assert store.notices_of("bystander") == []


async def test_a_push_about_an_unwatched_parcel_does_nothing(store: ProactiveStore) -> None:
    await watch("c", "en", waybill=OTHER)
    assert await apply_push(store, parse_push(param("2", [HELD, *TRANSIT])), services.policy(), NOW) == []
    assert store.pending() == []
    [kept] = store.active_watches(NOW)
    assert kept.waybill == OTHER


async def test_a_pushed_delivery_is_told_once_and_ends_the_watch(store: ProactiveStore) -> None:
    await watch("c", "en")
    push = parse_push(param("3", [SIGNED, *TRANSIT], status="shutdown"))
    [notice] = await apply_push(store, push, services.policy(), NOW)
    assert notice.kind == "delivered" and "前台" not in notice.text  # not proven: public status only
    assert store.active_watches(NOW) == []
    assert await apply_push(store, push, services.policy(), NOW) == []
