"""China Standard Time: the clock customers and carriers read, and how times are shown."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

CHINA_TZ = timezone(timedelta(hours=8), "CST")
"""Times are shown in China Standard Time, as customers and carriers use it."""


def format_time(moment: datetime, lang: str) -> str:
    """Show a time in China Standard Time, the way a customer reads it.

    Args:
        moment: An aware datetime (naive ones are taken as China time).
        lang: ``"zh"`` or ``"en"``.

    Returns:
        ``11月20日 14:30`` or ``20 Nov 14:30``.
    """
    local = moment.replace(tzinfo=CHINA_TZ) if moment.tzinfo is None else moment.astimezone(CHINA_TZ)
    if lang == "en":
        return local.strftime("%d %b %H:%M").lstrip("0")
    return f"{local.month}月{local.day}日 {local:%H:%M}"


def format_duration(delta: timedelta, lang: str) -> str:
    """Say how long a delay is, rounded to what a customer cares about.

    Args:
        delta: A positive duration.
        lang: ``"zh"`` or ``"en"``.

    Returns:
        ``2天5小时`` / ``2 days 5 hours``, or hours only under a day.
    """
    hours = max(1, int(delta.total_seconds() // 3600))
    days, hours = divmod(hours, 24)
    if lang == "en":
        parts = []
        if days:
            parts.append(f"{days} day{'s' if days != 1 else ''}")
        if hours:
            parts.append(f"{hours} hour{'s' if hours != 1 else ''}")
        return " ".join(parts)
    return (f"{days}天" if days else "") + (f"{hours}小时" if hours else "")


def now_in_china() -> datetime:
    """The current time in China Standard Time."""
    return datetime.now(CHINA_TZ)
