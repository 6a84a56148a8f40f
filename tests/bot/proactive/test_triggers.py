"""Which changes of a watched parcel become notices: a table per trigger, keys stable across scans."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from bot.common.clock import CHINA_TZ
from bot.policy.model import Policy
from bot.proactive.triggers import Change, Snapshot, changes, snapshot
from bot.tracking.models import HoldReason, ScanEvent, Shipment, Status

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=CHINA_TZ)
H = timedelta(hours=1)


@pytest.fixture(scope="module")
def policy() -> Policy:
    return Policy.load()


def parcel(status: Status = Status.IN_TRANSIT, scans: int = 2, **changes: object) -> Shipment:
    events = tuple(ScanEvent(NOW - (10 - i) * H, "上海市", f"扫描 {i}") for i in range(scans))
    base = Shipment("SF1234567890123", "SF", status, events, promised_at=NOW + 24 * H, eta=NOW + 20 * H)
    return replace(base, **changes)  # type: ignore[arg-type]


MOVING = parcel()
HELD_WEATHER = parcel(Status.HELD, 3, hold_reason=HoldReason.WEATHER)
HELD_ADDRESS = parcel(Status.HELD, 3, hold_reason=HoldReason.ADDRESS_PROBLEM)
OUT = parcel(Status.OUT_FOR_DELIVERY, 3)
FAILED = parcel(Status.DELIVERY_FAILED, 4, note="无人")
FAILED_AGAIN = parcel(Status.DELIVERY_FAILED, 6, note="无人")
DELIVERED = parcel(Status.DELIVERED, 4, eta=None, delivered_at=NOW - H, signed_by="前台")
LOST = parcel(Status.LOST, 3, note="丢失")
LATE_AHEAD = parcel(eta=NOW + 30 * H)  # promise still ahead, ETA past it
LATE_OVERDUE = parcel(promised_at=NOW - 2 * H, eta=None)
JUST_LATE = parcel(eta=NOW + 24 * H + 20 * timedelta(minutes=1))  # within the 30-minute grace


def seen(shipment: Shipment, policy: Policy) -> Snapshot:
    return snapshot(shipment, NOW, policy)


@pytest.mark.parametrize(
    ("before", "after", "kinds"),
    [
        (MOVING, MOVING, []),
        (MOVING, parcel(scans=3), []),  # a new ordinary scan is not news
        (MOVING, HELD_WEATHER, ["held"]),
        (HELD_WEATHER, HELD_WEATHER, []),
        (HELD_WEATHER, replace(HELD_WEATHER, events=HELD_ADDRESS.events + (MOVING.events[0],)), []),
        (HELD_WEATHER, HELD_ADDRESS, ["held"]),  # another reason
        (MOVING, OUT, ["out_for_delivery"]),
        (OUT, FAILED, ["delivery_failed"]),
        (FAILED, FAILED_AGAIN, []),  # same status: only transitions count
        (OUT, DELIVERED, ["delivered"]),
        (MOVING, LOST, ["exception"]),
        (MOVING, parcel(Status.RETURNED, 3, note="拒收"), ["exception"]),
        (MOVING, parcel(Status.DAMAGED, 3, note="破损"), ["exception"]),
        (MOVING, LATE_AHEAD, ["late"]),
        (MOVING, LATE_OVERDUE, ["late"]),
        (LATE_AHEAD, LATE_AHEAD, []),
        (MOVING, JUST_LATE, []),
        (MOVING, replace(HELD_WEATHER, eta=NOW + 30 * H), ["held", "late"]),
        (LATE_OVERDUE, replace(LATE_OVERDUE, status=Status.DELIVERED, delivered_at=NOW), ["delivered"]),
        (MOVING, parcel(Status.AT_SORTING_CENTRE, 3), []),
    ],
)
def test_transitions(policy: Policy, before: Shipment, after: Shipment, kinds: list[str]) -> None:
    assert [c.kind for c in changes(seen(before, policy), after, NOW, policy)] == kinds


@pytest.mark.parametrize(
    ("now_seen", "kinds"),
    [
        (MOVING, []),
        (OUT, []),
        (DELIVERED, []),
        (LATE_AHEAD, []),
        (HELD_ADDRESS, ["held"]),
        (FAILED, ["delivery_failed"]),
        (LOST, ["exception"]),
    ],
)
def test_first_observation_is_a_baseline_except_what_needs_attention(
    policy: Policy, now_seen: Shipment, kinds: list[str]
) -> None:
    assert [c.kind for c in changes(None, now_seen, NOW, policy)] == kinds


def test_repeated_scan_gives_the_same_key_and_a_new_episode_a_new_one(policy: Policy) -> None:
    before = seen(MOVING, policy)
    first = changes(before, HELD_WEATHER, NOW, policy)
    # the same scan repeated later (relative times moved, nothing else): the same key
    later = changes(before, HELD_WEATHER, NOW + 3 * H, policy)
    assert first == later == [Change("held", first[0].change_key)]
    assert "weather" in first[0].change_key
    # moving again, then held again for the same reason after new scans: a new key
    moved = seen(parcel(scans=5), policy)
    again = changes(moved, parcel(Status.HELD, 6, hold_reason=HoldReason.WEATHER), NOW, policy)
    assert again[0].kind == "held" and again[0].change_key != first[0].change_key
    assert changes(seen(OUT, policy), DELIVERED, NOW, policy)[0].change_key == "delivered"


def test_switched_off_kinds_say_nothing(policy: Policy) -> None:
    quiet = replace(policy, proactive=replace(policy.proactive, notify={**policy.proactive.notify, "held": False}))
    assert changes(seen(MOVING, policy), HELD_WEATHER, NOW, quiet) == []
    assert [c.kind for c in changes(seen(MOVING, policy), OUT, NOW, quiet)] == ["out_for_delivery"]


def test_late_grace_comes_from_the_policy(policy: Policy) -> None:
    strict = replace(policy, proactive=replace(policy.proactive, late_grace=timedelta(0)))
    assert [c.kind for c in changes(seen(MOVING, strict), JUST_LATE, NOW, strict)] == ["late"]


def test_snapshot_round_trips_and_tolerates_garbage(policy: Policy) -> None:
    shot = seen(HELD_WEATHER, policy)
    assert Snapshot.from_json(shot.to_json()) == shot
    assert Snapshot.from_json(None) is None
    assert Snapshot.from_json("{not json") is None
    assert Snapshot.from_json('{"status": "held"}') is None
