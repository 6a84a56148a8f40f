"""Reading and checking ``policy.yml``: one validator per section, errors naming the key.

:func:`load_policy` reads the file, :func:`policy_from_mapping` checks already-parsed data.
Every section is read key by key through :class:`_Section`, which refuses a missing, unknown
or ill-typed key with a :class:`ValueError` such as ``damage.reship_max_percent: missing``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import time, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from bot.policy.model import (
    DEFAULT_POLICY_PATH,
    HANDOFF_REASONS,
    PROACTIVE_KINDS,
    BusinessHours,
    DamagePolicy,
    DelayPolicy,
    HandoffPolicy,
    Policy,
    ProactivePolicy,
    TicketLevel,
)

_HUNDRED = Decimal(100)
_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def load_policy(path: str | Path = DEFAULT_POLICY_PATH) -> Policy:
    """Read and validate a policy file (what :meth:`Policy.load` does).

    Raises:
        OSError: The file cannot be read.
        ValueError: The file is not valid YAML or a key is missing or invalid; the message names the key.
    """
    text = Path(path).read_text(encoding="utf-8")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: not valid YAML: {exc}") from exc
    return policy_from_mapping(data)


def policy_from_mapping(data: Any) -> Policy:
    """Build a policy from already-parsed YAML data (what :meth:`Policy.from_mapping` does).

    Raises:
        ValueError: A key is missing or invalid; the message names the key.
    """
    top = _Section(data, "")
    levels = _ticket_levels(top.get("tickets"))
    level_ok = frozenset(levels)
    damage = _damage(top.get("damage"), level_ok)
    delay = _delay(top.get("delay"), level_ok)
    missing_level = _missing_level(top.get("missing"), level_ok)
    hours = _business_hours(top.get("business_hours"))
    handoff = _handoff(top.get("handoff"), level_ok)
    policy = Policy(
        currency=top.text("currency"),
        cap=top.number("cap_yuan", positive=True),
        above_cap_ticket_level=top.level("above_cap_ticket_level", level_ok),
        tickets=levels,
        damage=damage,
        delay=delay,
        business_hours=hours,
        missing_ticket_level=missing_level,
        handoff=handoff,
        proactive=_proactive(top.get("proactive")),
    )
    top.done()
    return policy


def _ticket_levels(data: Any) -> dict[int, TicketLevel]:
    tickets_raw = _Section(data, "tickets")
    levels: dict[int, TicketLevel] = {}
    for key in tickets_raw.keys():
        if isinstance(key, bool) or not isinstance(key, int) or key < 1:
            raise ValueError(f"tickets.{key}: ticket levels must be whole numbers >= 1")
        sec = _Section(tickets_raw.get(key), f"tickets.{key}")
        levels[key] = TicketLevel(
            level=key,
            name=sec.text("name"),
            respond_within=timedelta(minutes=float(sec.number("respond_within_minutes", positive=True))),
            resolve_within=timedelta(minutes=float(sec.number("resolve_within_minutes", positive=True))),
            escalate_within=sec.minutes_or_none("escalate_within_minutes"),
            update_if_open_after=sec.minutes_or_none("update_if_open_after_minutes"),
        )
        sec.done()
    if not levels:
        raise ValueError("tickets: at least one ticket level is required")
    return levels


def _damage(data: Any, level_ok: frozenset[int]) -> DamagePolicy:
    dmg = _Section(data, "damage")
    damage = DamagePolicy(
        reship_max_share=dmg.percent("reship_max_percent"),
        uninsured_freight_multiple=dmg.number("uninsured_freight_multiple"),
        fast_track_below=dmg.number("fast_track_below_yuan"),
        fast_track_requires_photos=dmg.flag("fast_track_requires_photos"),
        ticket_level_reship=dmg.level("ticket_level_reship", level_ok),
        ticket_level_compensate=dmg.level("ticket_level_compensate", level_ok),
        ticket_level_fast_track=dmg.level("ticket_level_fast_track", level_ok),
        ticket_level_unknown_extent=dmg.level("ticket_level_unknown_extent", level_ok),
    )
    dmg.done()
    return damage


def _delay(data: Any, level_ok: frozenset[int]) -> DelayPolicy:
    dly = _Section(data, "delay")
    delay = DelayPolicy(
        held_threshold=timedelta(hours=float(dly.number("held_threshold_hours"))),
        coupon_max_late=timedelta(days=float(dly.number("coupon_max_days"))),
        coupon_share_of_freight=dly.percent("coupon_percent_of_freight"),
        coupon_min=dly.number("coupon_min_yuan"),
        refund_share_per_day=dly.percent("refund_percent_per_day"),
        refund_max_share=dly.percent("refund_max_percent"),
        sla_after=timedelta(hours=float(dly.number("sla_after_hours"))),
        sla_share_of_freight=dly.percent("sla_percent_of_freight"),
        ticket_level=dly.level("ticket_level", level_ok),
    )
    dly.done()
    return delay


def _missing_level(data: Any, level_ok: frozenset[int]) -> int:
    missing = _Section(data, "missing")
    level = missing.level("ticket_level", level_ok)
    missing.done()
    return level


def _business_hours(data: Any) -> BusinessHours:
    bh = _Section(data, "business_hours")
    zone_name = bh.text("timezone")
    try:
        zone = ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"business_hours.timezone: unknown time zone {zone_name!r}") from exc
    opens, closes = bh.clock("opens"), bh.clock("closes")
    if closes <= opens:
        raise ValueError("business_hours.closes: must be later than business_hours.opens")
    days_raw = bh.get("days")
    if not isinstance(days_raw, list) or not days_raw or any(d not in _WEEKDAYS for d in days_raw):
        raise ValueError(f"business_hours.days: must be a non-empty list of {', '.join(_WEEKDAYS)}")
    hours = BusinessHours(
        timezone=zone,
        opens=opens,
        closes=closes,
        days=frozenset(_WEEKDAYS.index(d) + 1 for d in days_raw),
    )
    bh.done()
    return hours


def _handoff(data: Any, level_ok: frozenset[int]) -> HandoffPolicy:
    hand = _Section(data, "handoff")
    anger_threshold = float(hand.share("anger_threshold"))
    anger_level_1 = float(hand.share("anger_level_1_threshold"))
    if anger_level_1 < anger_threshold:
        raise ValueError("handoff.anger_level_1_threshold: must not be below handoff.anger_threshold")
    handoff_levels = _Section(hand.get("levels"), "handoff.levels")
    handoff = HandoffPolicy(
        anger_threshold=anger_threshold,
        anger_level_1_threshold=anger_level_1,
        fallbacks_in_a_row=hand.whole("fallbacks_in_a_row"),
        same_question_times=hand.whole("same_question_times"),
        levels={reason: handoff_levels.level(reason, level_ok) for reason in HANDOFF_REASONS},
        wait_per_chat=timedelta(minutes=float(hand.number("expected_minutes_per_waiting_chat", positive=True))),
    )
    handoff_levels.done()
    hand.done()
    return handoff


def _proactive(data: Any) -> ProactivePolicy:
    pro = _Section(data, "proactive")
    quiet = _Section(pro.get("quiet_hours"), "proactive.quiet_hours")
    notify = _Section(pro.get("notify"), "proactive.notify")
    proactive = ProactivePolicy(
        quiet_start=quiet.clock("start"),
        quiet_end=quiet.clock("end"),
        max_notices_per_day=pro.whole("max_notices_per_day"),
        scan_interval=timedelta(minutes=float(pro.number("scan_interval_minutes", positive=True))),
        watch_retention=timedelta(days=float(pro.number("watch_retention_days", positive=True))),
        notify={kind: notify.flag(kind) for kind in PROACTIVE_KINDS},
        late_grace=timedelta(minutes=float(pro.number("late_grace_minutes"))),
    )
    notify.done()
    quiet.done()
    pro.done()
    return proactive


class _Section:
    """One mapping of the policy file, read key by key with errors naming the key."""

    def __init__(self, data: Any, prefix: str) -> None:
        if not isinstance(data, Mapping):
            raise ValueError(f"{prefix or 'policy file'}: must be a mapping of keys to values")
        self._data = data
        self._prefix = prefix
        self._used: set[Any] = set()

    def name(self, key: Any) -> str:
        return f"{self._prefix}.{key}" if self._prefix else str(key)

    def keys(self) -> list[Any]:
        return list(self._data)

    def get(self, key: Any) -> Any:
        if key not in self._data:
            raise ValueError(f"{self.name(key)}: missing")
        self._used.add(key)
        return self._data[key]

    def done(self) -> None:
        unknown = [k for k in self._data if k not in self._used]
        if unknown:
            raise ValueError(f"{self.name(unknown[0])}: unknown key")

    def text(self, key: str) -> str:
        value = self.get(key)
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"{self.name(key)}: must be a non-empty text")
        return value

    def flag(self, key: str) -> bool:
        value = self.get(key)
        if not isinstance(value, bool):
            raise ValueError(f"{self.name(key)}: must be true or false")
        return value

    def number(self, key: str, *, positive: bool = False) -> Decimal:
        value = self.get(key)
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise ValueError(f"{self.name(key)}: must be a number")
        try:
            result = Decimal(str(value))
        except InvalidOperation as exc:
            raise ValueError(f"{self.name(key)}: must be a number, got {value!r}") from exc
        if not result.is_finite() or result < 0 or (positive and result == 0):
            raise ValueError(f"{self.name(key)}: must be a {'positive' if positive else 'non-negative'} number")
        return result

    def percent(self, key: str) -> Decimal:
        value = self.number(key)
        if value > _HUNDRED:
            raise ValueError(f"{self.name(key)}: a percent must be between 0 and 100")
        return value / _HUNDRED

    def share(self, key: str) -> Decimal:
        value = self.number(key)
        if value > 1:
            raise ValueError(f"{self.name(key)}: must be between 0 and 1, got {value}")
        return value

    def whole(self, key: str) -> int:
        value = self.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{self.name(key)}: must be a whole number >= 1, got {value!r}")
        return value

    def minutes_or_none(self, key: str) -> timedelta | None:
        if self.get(key) is None:
            return None
        return timedelta(minutes=float(self.number(key, positive=True)))

    def level(self, key: str, levels: frozenset[int]) -> int:
        value = self.get(key)
        if isinstance(value, bool) or value not in levels:
            raise ValueError(f"{self.name(key)}: must be one of the ticket levels {sorted(levels)}")
        return int(value)

    def clock(self, key: str) -> time:
        value = self.get(key)
        if not isinstance(value, str):
            raise ValueError(f'{self.name(key)}: must be a quoted "HH:MM" time')
        try:
            return time.fromisoformat(value)
        except ValueError as exc:
            raise ValueError(f'{self.name(key)}: must be a quoted "HH:MM" time, got {value!r}') from exc
