"""When a notice may go out: quiet hours (China time) and the per-customer daily cap.

* **Quiet hours** (``proactive.quiet_hours``): a notice due inside them is held until they
  end (its ``due_at`` is the end); the window may span midnight (22:00-08:00).
* **Daily cap** (``proactive.max_notices_per_day``): notices are counted per conversation
  and China calendar day of their ``due_at``. Beyond the cap, a notice the customer needs
  to act on or must hear about (:data:`POSTPONED_KINDS`: late, held, exception, delivery
  failed) moves to the first allowed moment of the next day with room; an informational
  one (out for delivery, delivered) is dropped, because it would be stale by then.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time, timedelta

from bot.common.clock import CHINA_TZ
from bot.policy.model import Policy

POSTPONED_KINDS = frozenset({"late", "held", "exception", "delivery_failed"})
"""Kinds that wait for the next day when the cap is reached; the others are dropped."""

MAX_DAYS_AHEAD = 7
"""How many days ahead a postponed notice may look for room before it is dropped."""


def in_quiet_hours(moment: datetime, policy: Policy) -> bool:
    """Whether ``moment`` (aware) falls in the quiet hours, China time."""
    start, end = policy.proactive.quiet_start, policy.proactive.quiet_end
    local = moment.astimezone(CHINA_TZ).time()
    if start == end:
        return False
    if start < end:
        return start <= local < end
    return local >= start or local < end


def quiet_until(moment: datetime, policy: Policy) -> datetime:
    """``moment`` itself outside quiet hours, else the moment they end (China time)."""
    if not in_quiet_hours(moment, policy):
        return moment
    local = moment.astimezone(CHINA_TZ)
    end = datetime.combine(local.date(), policy.proactive.quiet_end, tzinfo=CHINA_TZ)
    if end <= local:
        end += timedelta(days=1)
    return end


def day_start(moment: datetime) -> datetime:
    """Midnight China time of ``moment``'s China calendar day."""
    return datetime.combine(moment.astimezone(CHINA_TZ).date(), time(0), tzinfo=CHINA_TZ)


def schedule(kind: str, now: datetime, policy: Policy, counted: Callable[[datetime], int]) -> datetime | None:
    """When a new notice of ``kind`` is due, or ``None`` when the cap drops it.

    Args:
        kind: The notice's kind.
        now: The current time (aware).
        policy: The policy (quiet hours, cap).
        counted: Notices the conversation already has for the China day of a given moment
            (:meth:`bot.proactive.store.ProactiveStore.sent_today`).

    Returns:
        The ``due_at`` to queue the notice with (``now``, or later), or ``None``.
    """
    due = quiet_until(now, policy)
    cap = policy.proactive.max_notices_per_day
    for _ in range(MAX_DAYS_AHEAD + 1):
        if counted(due) < cap:
            return due
        if kind not in POSTPONED_KINDS:
            return None
        due = quiet_until(day_start(due) + timedelta(days=1), policy)
    return None
