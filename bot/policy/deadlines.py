"""When a ticket is due (per level) and when human agents are available (business hours)."""

from __future__ import annotations

from datetime import datetime

from bot.policy.model import Policy
from bot.tickets.models import Deadlines


def ticket_deadlines(policy: Policy, level: int, opened_at: datetime) -> Deadlines:
    """Compute a ticket's deadlines.

    Args:
        policy: The service policy.
        level: Ticket level (1 = major incident ... 3 = general enquiry).
        opened_at: When the ticket was opened.

    Returns:
        The deadlines; ``escalate_by`` / ``update_after`` are None when the level has none.

    Raises:
        ValueError: An unknown level.
    """
    try:
        rules = policy.tickets[level]
    except KeyError:
        raise ValueError(f"unknown ticket level {level!r}; known: {sorted(policy.tickets)}") from None
    return Deadlines(
        respond_by=opened_at + rules.respond_within,
        resolve_by=opened_at + rules.resolve_within,
        escalate_by=None if rules.escalate_within is None else opened_at + rules.escalate_within,
        update_after=None if rules.update_if_open_after is None else opened_at + rules.update_if_open_after,
    )


def in_business_hours(policy: Policy, moment: datetime) -> bool:
    """Tell whether human agents are available at a moment.

    Args:
        policy: The service policy.
        moment: A time-zone-aware moment.

    Returns:
        True when the local time is within opening hours on a service day.

    Raises:
        ValueError: A naive datetime (its zone would be a guess).
    """
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("moment must be time-zone aware")
    hours = policy.business_hours
    local = moment.astimezone(hours.timezone)
    return local.isoweekday() in hours.days and hours.opens <= local.time().replace(tzinfo=None) < hours.closes
