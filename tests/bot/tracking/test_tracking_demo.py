"""The demo fixtures, their loader and the SQLite-backed DemoProvider."""

from __future__ import annotations

import asyncio
import os
import re
import sqlite3
import subprocess
import sys
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml

from bot.common.clock import CHINA_TZ
from bot.tracking import HoldReason, ProviderError, Status, provider_from_env
from bot.tracking.demo import DemoProvider
from bot.tracking.fixture_times import hash_name, parse_time_spec, resolve_time, s10_check_digit
from bot.tracking.fixtures import load_records, parse_shipments
from bot.tracking.kuaidi100 import Kuaidi100Provider
from tests.support import ROOT

FIXTURES = ROOT / "fixtures" / "shipments.yml"
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=CHINA_TZ)

# The demo customer who has several parcels (documented in the fixtures file).
SHARED_PHONE = "13912342846"
SHARED_NAME = "王芳"

FULL_PHONE = re.compile(r"(?<![0-9A-Za-z])1[3-9][0-9]{9}(?![0-9A-Za-z])")


def clock(at: datetime = NOW):
    return lambda: at


@pytest.fixture(scope="module")
def records():
    return load_records(FIXTURES)


@pytest.fixture
async def provider(tmp_path):
    demo = DemoProvider(tmp_path / "demo.db", FIXTURES, now=clock())
    yield demo
    await demo.aclose()


def shipment(**changes):
    """A minimal valid fixture shipment; ``None`` in ``changes`` drops a field."""
    base = {
        "waybill": "SF1234567890123",
        "carrier": "SF",
        "status": "in_transit",
        "origin": "深圳",
        "destination": "上海",
        "promised_at": "+1d",
        "eta": "+20h",
        "freight": "23.00",
        "declared_value": 100,
        "insured_value": 0,
        "sender_phone": "138****0001",
        "receiver_phone": "139****0002",
        "receiver_name": "张*",
        "receiver_name_sha256": hash_name("张伟"),
        "events": [
            {"time": "-1d", "location": "深圳市", "description": "【深圳市】顺丰速运 已收取快件"},
            {"time": "-2h", "location": "深圳市", "description": "快件在【深圳宝安集散中心】完成分拣"},
        ],
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def write_fixtures(path: Path, *shipments: dict) -> Path:
    path.write_text(yaml.safe_dump({"shipments": list(shipments)}, allow_unicode=True), encoding="utf-8")
    return path


# ------------------------------------------------------------ the demo data


def test_fixture_file_is_large_and_covers_every_status(records):
    assert len(records) >= 60
    statuses = Counter(r.status for r in records)
    assert set(statuses) == set(Status)
    assert all(count >= 3 for count in statuses.values()), statuses
    reasons = Counter(r.hold_reason for r in records if r.status is Status.HELD)
    assert set(reasons) == set(HoldReason)
    assert all(count >= 2 for count in reasons.values()), reasons


def test_fixture_file_mixes_carriers_and_international_mail(records):
    carriers = Counter(r.carrier for r in records)
    for code in ("SF", "JD", "YTO", "ZTO", "STO", "YUNDA", "EMS", "JT", "DEPPON", "CAINIAO"):
        assert carriers[code] >= 2, code
    s10 = [r.waybill for r in records if r.carrier == "S10"]
    assert len(s10) >= 2
    for number in s10:
        assert int(number[10]) == s10_check_digit(number[2:10])
        assert number[-2:] in {"CN", "JP", "DE", "GB", "US", "FR", "KR", "AU", "CA"}


def test_fixture_file_has_late_and_on_time_parcels(records):
    late = on_time = 0
    for record in records:
        shipment_ = record.to_shipment(NOW)
        done = shipment_.delivered_at or shipment_.eta
        if done is None or shipment_.promised_at is None:
            continue
        if done > shipment_.promised_at:
            late += 1
        else:
            on_time += 1
    assert late >= 5 and on_time >= 5
    late_in_transit = [r for r in records if r.status is Status.IN_TRANSIT and resolve_time(r.promised_at, NOW) < NOW]
    assert late_in_transit


def test_fixture_delivered_parcels_say_who_signed(records):
    signers = {r.signed_by for r in records if r.status is Status.DELIVERED}
    assert {"本人", "前台", "门卫", "丰巢快递柜", "菜鸟驿站"} <= signers


def test_fixture_file_holds_no_plain_personal_data(records):
    text = FIXTURES.read_text(encoding="utf-8")
    assert not FULL_PHONE.search(text)
    for record in records:
        assert re.fullmatch(r"1\d\d\*{4}\d{4}", record.receiver_phone)
        assert re.fullmatch(r"1\d\d\*{4}\d{4}", record.sender_phone)
        assert "*" in record.receiver_name
    assert SHARED_NAME not in text


def test_fixture_file_uses_both_time_styles(records):
    specs = [e.time for r in records for e in r.events]
    assert any(s.startswith("-") for s in specs)
    assert any(s[:4].isdigit() for s in specs)


def test_every_fixture_waybill_is_detected_with_its_carrier(records):
    from bot.tracking.waybill import find_waybills

    missed = []
    for record in records:
        matches = find_waybills(f"帮我查一下快递 {record.waybill} 到哪了")
        if not any(m.number == record.waybill and record.carrier in m.carriers for m in matches):
            missed.append((record.waybill, record.carrier, [(m.number, m.carriers) for m in matches]))
    assert not missed


# ------------------------------------------------------------- time specs


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("now", NOW),
        ("-2d3h", NOW - timedelta(days=2, hours=3)),
        ("+1d", NOW + timedelta(days=1)),
        ("-45m", NOW - timedelta(minutes=45)),
        ("-1w2d", NOW - timedelta(days=9)),
        (" - 1d 2h ", NOW - timedelta(days=1, hours=2)),
        ("2026-11-20T14:30:00+08:00", datetime(2026, 11, 20, 14, 30, tzinfo=CHINA_TZ)),
        ("2026-11-20T06:30:00Z", datetime(2026, 11, 20, 14, 30, tzinfo=CHINA_TZ)),
        ("2026-11-20 14:30", datetime(2026, 11, 20, 14, 30, tzinfo=CHINA_TZ)),
        (datetime(2026, 11, 20, 6, 30, tzinfo=timezone.utc), datetime(2026, 11, 20, 14, 30, tzinfo=CHINA_TZ)),
        (datetime(2026, 11, 20, 14, 30), datetime(2026, 11, 20, 14, 30, tzinfo=CHINA_TZ)),
    ],
)
def test_time_specs_resolve_against_now(raw, expected):
    resolved = resolve_time(parse_time_spec(raw), NOW)
    assert resolved == expected
    assert resolved.tzinfo is not None


@pytest.mark.parametrize("raw", ["-2x", "yesterday", "-", "+d", "-1h2d", 45, "", None, True])
def test_bad_time_specs_are_rejected(raw):
    with pytest.raises(ValueError):
        parse_time_spec(raw)


def test_a_date_without_time_is_rejected_with_a_hint():
    with pytest.raises(ValueError, match="without a time"):
        parse_time_spec(datetime(2026, 11, 20).date())


# ------------------------------------------------------- invalid fixtures


def _drop(key):
    return {key: None}


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"status": "flying"}, ["status", "flying", "in_transit"]),
        ({"receiver_phone": "13812345678"}, ["receiver_phone", "masked"]),
        ({"sender_phone": "138-1234"}, ["sender_phone"]),
        ({"receiver_name": "张伟"}, ["receiver_name", "masked"]),
        ({"receiver_name_sha256": "abc"}, ["receiver_name_sha256", "hash-name"]),
        ({"status": "held"}, ["hold_reason", "required"]),
        ({"hold_reason": "weather"}, ["hold_reason", "only allowed"]),
        ({"status": "held", "hold_reason": "aliens"}, ["hold_reason", "aliens", "customs_inspection"]),
        ({"status": "delivered", "eta": None, "delivered_at": "-1h"}, ["signed_by", "required"]),
        ({"status": "delivered", "signed_by": "本人", "delivered_at": "-1h"}, ["eta", "not allowed"]),
        ({"status": "lost", "eta": None}, ["note", "lost"]),
        ({"eta": None}, ["eta", "required"]),
        ({"promised_at": "-2x"}, ["promised_at", "-2x"]),
        ({"promised_at": None}, ["missing", "promised_at"]),
        ({"waybill": "SF123"}, ["waybill", "SF123", "SF"]),
        ({"carrier": "JD"}, ["waybill", "JD"]),
        ({"carrier": "XYZ"}, ["carrier", "XYZ"]),
        ({"carrier": "S10", "waybill": "EA123456784CN"}, ["waybill", "check digit"]),
        ({"freight": "lots"}, ["freight", "lots"]),
        ({"freight": -3}, ["freight", "non-negative"]),
        ({"insured_value": 500}, ["insured_value", "declared_value"]),
        ({"hold_reson": "weather"}, ["unknown field", "hold_reson"]),
        ({"events": []}, ["events", "non-empty"]),
        ({"events": [{"time": "-1h", "location": "深圳市"}]}, ["events[0].description", "missing"]),
        (
            {
                "events": [
                    {"time": "-1h", "location": "深圳", "description": "b"},
                    {"time": "-2h", "location": "深圳", "description": "a"},
                ]
            },
            ["events[1].time", "oldest first"],
        ),
        ({"events": [{"time": "soon", "location": "x", "description": "y"}]}, ["events[0].time", "soon"]),
    ],
)
def test_invalid_shipments_name_index_waybill_and_field(changes, expected):
    good = shipment(waybill="JDVA12345678901", carrier="JD")
    broken = shipment(**changes)
    with pytest.raises(ValueError) as excinfo:
        parse_shipments({"shipments": [good, broken]}, "my.yml")
    message = str(excinfo.value)
    assert message.startswith("my.yml: shipments[1]")
    for part in expected:
        assert part in message


def test_every_broken_shipment_is_reported_at_once():
    data = {"shipments": [shipment(status="x"), shipment(waybill="SF1234567890124"), shipment(freight="?")]}
    with pytest.raises(ValueError) as excinfo:
        parse_shipments(data)
    lines = str(excinfo.value).splitlines()
    assert len(lines) == 2
    assert "shipments[0]" in lines[0] and "shipments[2]" in lines[1]


def test_duplicate_waybills_are_rejected():
    with pytest.raises(ValueError, match=r"shipments\[1\].*duplicate of shipments\[0\]"):
        parse_shipments({"shipments": [shipment(), shipment()]})


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ([], "top-level 'shipments:'"),
        ({"shipments": "none"}, "top-level 'shipments:'"),
        ({"shipments": []}, "empty"),
        ({"shipments": [shipment()], "extra": 1}, "unknown top-level"),
        ({"shipments": ["text"]}, "shipments[0]: expected a mapping"),
    ],
)
def test_invalid_documents(data, expected):
    with pytest.raises(ValueError) as excinfo:
        parse_shipments(data)
    assert expected in str(excinfo.value)


def test_unreadable_or_non_yaml_files(tmp_path):
    with pytest.raises(ValueError, match="cannot read"):
        load_records(tmp_path / "missing.yml")
    bad = tmp_path / "bad.yml"
    bad.write_text("shipments: [\n  - {waybill: [}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="not valid YAML"):
        load_records(bad)


# ------------------------------------------------------------------ lookups


async def test_lookup_hit_returns_a_resolved_shipment(provider, records):
    record = next(r for r in records if r.status is Status.DELIVERED and r.events[0].time.startswith("-"))
    found = await provider.get(record.waybill)
    assert found is not None
    assert found.waybill == record.waybill
    assert found.carrier == record.carrier
    assert found.status is Status.DELIVERED
    assert found.signed_by == record.signed_by
    assert found.delivered_at == resolve_time(record.delivered_at, NOW)
    assert [e.description for e in found.events] == [e.description for e in record.events]
    times = [e.time for e in found.events]
    assert times == sorted(times) and times[-1] <= NOW
    assert found.latest == found.events[-1]
    assert found.receiver_phone == record.receiver_phone


async def test_lookup_normalises_the_number(provider, records):
    number = next(r.waybill for r in records if r.waybill.startswith("SF"))
    spaced = f" {number[:2].lower()} {number[2:6]}-{number[6:]} "
    found = await provider.get(spaced)
    assert found is not None and found.waybill == number


async def test_lookup_miss_returns_none(provider):
    assert await provider.get("SF0000000000000") is None
    assert await provider.get("") is None


async def test_lookup_with_carrier_filter(provider, records):
    record = next(r for r in records if r.carrier == "ZTO")
    assert (await provider.get(record.waybill, ["ZTO"])) is not None
    assert (await provider.get(record.waybill, ("STO", "ZTO"))) is not None
    assert (await provider.get(record.waybill, ["zto"])) is not None
    assert await provider.get(record.waybill, ["STO", "YUNDA"]) is None


async def test_held_parcels_have_reasons(provider, records):
    for record in records:
        if record.status is Status.HELD:
            found = await provider.get(record.waybill)
            assert found is not None and found.hold_reason is record.hold_reason


async def test_relative_times_follow_the_injected_clock(tmp_path, records):
    record = next(r for r in records if r.status is Status.IN_TRANSIT and r.events[0].time.startswith("-"))
    absolute = next(r for r in records if r.events[0].time[:4].isdigit())
    early = DemoProvider(tmp_path / "demo.db", FIXTURES, now=clock(NOW))
    later = DemoProvider(tmp_path / "demo.db", FIXTURES, now=clock(NOW + timedelta(days=3)))
    try:
        first, second = await early.get(record.waybill), await later.get(record.waybill)
        assert first is not None and second is not None
        for a, b in zip(first.events, second.events, strict=True):
            assert b.time - a.time == timedelta(days=3)
        assert second.eta - first.eta == timedelta(days=3)
        assert first.promised_at == resolve_time(record.promised_at, NOW)
        old_a, old_b = await early.get(absolute.waybill), await later.get(absolute.waybill)
        assert old_a.events == old_b.events
    finally:
        await early.aclose()
        await later.aclose()


async def test_in_memory_database_by_default(records):
    demo = DemoProvider(fixtures_path=FIXTURES, now=clock())
    assert demo.db_path == ":memory:"
    try:
        assert await demo.get(records[0].waybill) is not None
    finally:
        await demo.aclose()


async def test_concurrent_lookups(provider, records):
    found = await asyncio.gather(*(provider.get(r.waybill) for r in records))
    assert [s.waybill for s in found] == [r.waybill for r in records]


# --------------------------------------------------------------- reseeding


def _bump(path: Path) -> None:
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))


async def test_reseeds_when_the_file_changes(tmp_path):
    path = write_fixtures(tmp_path / "shipments.yml", shipment())
    db = tmp_path / "demo.db"
    demo = DemoProvider(db, path, now=clock())
    try:
        assert await demo.get("SF1234567890123") is not None
        write_fixtures(path, shipment(waybill="JDVA12345678901", carrier="JD", status="picked_up"))
        _bump(path)
        assert await demo.get("SF1234567890123") is None
        found = await demo.get("JDVA12345678901")
        assert found is not None and found.status is Status.PICKED_UP
    finally:
        await demo.aclose()
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT COUNT(*) FROM shipments").fetchone()[0] == 1
        stored = conn.execute("SELECT value FROM meta WHERE key = 'fixtures_sha256'").fetchone()[0]
    import hashlib

    assert stored == hashlib.sha256(path.read_bytes()).hexdigest()


async def test_an_unchanged_file_is_not_reloaded(tmp_path, monkeypatch):
    path = write_fixtures(tmp_path / "shipments.yml", shipment())
    db = tmp_path / "demo.db"
    first = DemoProvider(db, path, now=clock())
    assert first.seed() == 1
    first.close()

    def fail(_path):
        raise AssertionError("reloaded although the hash did not change")

    monkeypatch.setattr("bot.tracking.demo.load_records", fail)
    second = DemoProvider(db, path, now=clock())
    try:
        assert await second.get("SF1234567890123") is not None
    finally:
        await second.aclose()


async def test_a_broken_or_deleted_file_keeps_the_previous_data(tmp_path):
    path = write_fixtures(tmp_path / "shipments.yml", shipment())
    demo = DemoProvider(tmp_path / "demo.db", path, now=clock())
    try:
        assert await demo.get("SF1234567890123") is not None
        write_fixtures(path, shipment(status="broken"))
        _bump(path)
        assert await demo.get("SF1234567890123") is not None
        path.unlink()
        assert await demo.get("SF1234567890123") is not None
    finally:
        await demo.aclose()


async def test_a_broken_file_and_no_data_is_a_provider_error(tmp_path):
    path = write_fixtures(tmp_path / "shipments.yml", shipment(receiver_phone="13800000000"))
    demo = DemoProvider(tmp_path / "demo.db", path, now=clock())
    try:
        with pytest.raises(ProviderError) as excinfo:
            await demo.get("SF1234567890123")
        assert "13800000000" not in str(excinfo.value)
        assert "SF1234567890123" not in str(excinfo.value)
        with pytest.raises(ValueError, match="receiver_phone"):
            demo.seed()
    finally:
        await demo.aclose()


# ------------------------------------------------------------ phone lookup


@pytest.mark.parametrize(
    "phone",
    [SHARED_PHONE, "139 1234 2846", "139-1234-2846", "+86 139 1234 2846", "008613912342846", "13900002846"],
)
async def test_phone_lookup_finds_the_customers_parcels(provider, phone):
    found = await provider.find_by_phone(phone, SHARED_NAME)
    assert len(found) >= 2
    recency = [s.latest.time for s in found]
    assert recency == sorted(recency, reverse=True)
    for item in found:
        assert item.receiver_phone == "139****2846"
        assert item.receiver_name == "王*"
        assert SHARED_PHONE not in repr(item)
        assert SHARED_NAME not in repr(item)


async def test_phone_lookup_accepts_spaces_in_the_name(provider):
    assert len(await provider.find_by_phone(SHARED_PHONE, " 王 芳 ")) >= 2


@pytest.mark.parametrize(
    ("phone", "name"),
    [
        (SHARED_PHONE, "王方"),
        (SHARED_PHONE, "王"),
        (SHARED_PHONE, ""),
        ("13912342847", SHARED_NAME),
        ("13812342846", SHARED_NAME),
        ("1391234284", SHARED_NAME),
        ("23912342846", SHARED_NAME),
        ("139****2846", SHARED_NAME),
        ("", SHARED_NAME),
    ],
)
async def test_phone_lookup_needs_both_phone_and_name(provider, phone, name):
    assert await provider.find_by_phone(phone, name) == []


# --------------------------------------------------------------------- CLI


def _run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )


def test_load_cli_loads_a_good_file(tmp_path):
    db = tmp_path / "sub" / "demo.db"
    result = _run("bot.tracking.demo", "load", str(FIXTURES), "--db", str(db))
    assert result.returncode == 0, result.stderr
    match = re.search(r"loaded (\d+) shipments", result.stdout)
    assert match and int(match.group(1)) >= 60
    assert "Warning" not in result.stderr
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT COUNT(*) FROM shipments").fetchone()[0] == int(match.group(1))


def test_load_cli_rejects_a_broken_file(tmp_path):
    path = write_fixtures(tmp_path / "broken.yml", shipment(), shipment(waybill="SF1234567890124", status="lost"))
    db = tmp_path / "demo.db"
    result = _run("bot.tracking.demo", "load", str(path), "--db", str(db))
    assert result.returncode != 0
    assert "shipments[1] (SF1234567890124)" in result.stderr
    assert "note" in result.stderr
    assert "loaded" not in result.stdout
    if db.exists():
        with sqlite3.connect(db) as conn:
            assert conn.execute("SELECT COUNT(*) FROM shipments").fetchone()[0] == 0


def test_load_cli_rejects_a_missing_file(tmp_path):
    result = _run("bot.tracking.demo", "load", str(tmp_path / "nope.yml"), "--db", str(tmp_path / "d.db"))
    assert result.returncode != 0
    assert "cannot read" in result.stderr


def test_hash_name_cli():
    result = _run("bot.tracking.fixtures", "hash-name", "张伟")
    assert result.returncode == 0
    assert result.stdout.strip() == hash_name("张伟") == hash_name(" 张 伟 ") == hash_name("张伟\u3000")


def test_check_cli():
    result = _run("bot.tracking.fixtures", "check", str(FIXTURES))
    assert result.returncode == 0 and "OK" in result.stdout


# ----------------------------------------------------------------- factory


def test_factory_defaults_to_the_demo_provider():
    demo = provider_from_env({})
    assert isinstance(demo, DemoProvider)
    assert Path(demo.db_path) == ROOT / "var" / "demo.db"
    assert demo.fixtures_path == FIXTURES


def test_factory_resolves_relative_paths_from_the_project_root(tmp_path):
    demo = provider_from_env(
        {"TRACKING_PROVIDER": "Demo", "TRACKING_DB": "var/x.db", "TRACKING_FIXTURES": str(tmp_path / "f.yml")}
    )
    assert isinstance(demo, DemoProvider)
    assert Path(demo.db_path) == ROOT / "var" / "x.db"
    assert demo.fixtures_path == tmp_path / "f.yml"


def test_factory_builds_kuaidi100():
    api = provider_from_env(
        {
            "TRACKING_PROVIDER": "kuaidi100",
            "KUAIDI100_CUSTOMER": "C",
            "KUAIDI100_KEY": "K",
            "KUAIDI100_URL": "http://127.0.0.1:9/",
            "TRACKING_TIMEOUT": "1.5",
        }
    )
    assert isinstance(api, Kuaidi100Provider)
    assert api.timeout == 1.5 and api.base_url == "http://127.0.0.1:9"
    assert "K" not in repr(api).replace("Kuaidi100", "")


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"TRACKING_PROVIDER": "fedex"}, "unknown TRACKING_PROVIDER"),
        ({"TRACKING_PROVIDER": "kuaidi100"}, "KUAIDI100_CUSTOMER and KUAIDI100_KEY"),
        ({"TRACKING_PROVIDER": "kuaidi100", "KUAIDI100_CUSTOMER": "C"}, "KUAIDI100_KEY"),
        (
            {
                "TRACKING_PROVIDER": "kuaidi100",
                "KUAIDI100_CUSTOMER": "C",
                "KUAIDI100_KEY": "K",
                "TRACKING_TIMEOUT": "x",
            },
            "TRACKING_TIMEOUT",
        ),
        (
            {
                "TRACKING_PROVIDER": "kuaidi100",
                "KUAIDI100_CUSTOMER": "C",
                "KUAIDI100_KEY": "K",
                "TRACKING_TIMEOUT": "0",
            },
            "TRACKING_TIMEOUT",
        ),
    ],
)
def test_factory_rejects_bad_settings(env, expected):
    with pytest.raises(ValueError, match=expected):
        provider_from_env(env)
