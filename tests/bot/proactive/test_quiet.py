"""Quiet hours (China time, across midnight) and the per-customer daily cap."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, time, timedelta, timezone

import pytest

from bot.common.clock import CHINA_TZ
from bot.policy.model import Policy
from bot.proactive.quiet import in_quiet_hours, quiet_until, schedule


@pytest.fixture(scope="module")
def policy() -> Policy:
    return Policy.load()


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=CHINA_TZ)


@pytest.mark.parametrize(
    ("moment", "due"),
    [
        (at(20, 12), at(20, 12)),
        (at(20, 21, 59), at(20, 21, 59)),
        (at(20, 22), at(21, 8)),
        (at(20, 23, 30), at(21, 8)),
        (at(21, 3), at(21, 8)),
        (at(21, 7, 59), at(21, 8)),
        (at(21, 8), at(21, 8)),
    ],
)
def test_quiet_hours_span_midnight(policy: Policy, moment: datetime, due: datetime) -> None:
    assert quiet_until(moment, policy) == due
    assert quiet_until(moment.astimezone(timezone.utc), policy) == due  # any zone


def test_daytime_window_and_no_window(policy: Policy) -> None:
    lunch = replace(policy, proactive=replace(policy.proactive, quiet_start=time(12), quiet_end=time(14)))
    assert in_quiet_hours(at(20, 13), lunch) and not in_quiet_hours(at(20, 23), lunch)
    assert quiet_until(at(20, 13), lunch) == at(20, 14)
    never = replace(policy, proactive=replace(policy.proactive, quiet_start=time(8), quiet_end=time(8)))
    assert not in_quiet_hours(at(20, 3), never)


def test_cap_postpones_what_matters_and_drops_the_rest(policy: Policy) -> None:
    counts = {at(20, 0).date(): 5, at(21, 0).date(): 5}

    def counted(moment: datetime) -> int:
        return counts.get(moment.astimezone(CHINA_TZ).date(), 0)

    assert schedule("held", at(20, 12), policy, counted) == at(22, 8)
    assert schedule("out_for_delivery", at(20, 12), policy, counted) is None
    assert schedule("delivered", at(23, 12), policy, counted) == at(23, 12)
    assert schedule("late", at(20, 23), policy, lambda _m: 0) == at(21, 8)
    assert schedule("held", at(20, 12), policy, lambda _m: 99) is None  # no room within a week
    assert (at(22, 8) - at(20, 12)) < timedelta(days=3)
