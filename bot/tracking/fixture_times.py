"""Times and hashes of the demo shipment fixtures: time specs, receiver-name hashes, check digits.

Times in ``fixtures/shipments.yml`` are kept as *specs* until a clock is known:
``now``, a relative offset (``-2d3h``, ``+1d``, ``-45m``, ``-1w2d``: units ``w``, ``d``,
``h``, ``m`` in that order) or an absolute ISO 8601 time (China time without an offset).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from datetime import date, datetime, timedelta
from pathlib import Path

from bot.common.clock import CHINA_TZ

_RELATIVE = re.compile(r"^([+-])(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?$")


def china_now() -> datetime:
    """Return the current time in China (UTC+8), timezone-aware."""
    return datetime.now(CHINA_TZ)


def aware(value: datetime) -> datetime:
    """The time itself when it has a zone, else the same wall time in China."""
    return value if value.tzinfo is not None else value.replace(tzinfo=CHINA_TZ)


def parse_time_spec(value: object) -> str:
    """Validate a time as written in the file and return its canonical spec.

    Args:
        value: ``"now"``, a relative offset such as ``"-2d3h"``, an ISO 8601
            string, or a ``datetime`` (YAML parses unquoted timestamps).

    Returns:
        ``"now"``, the offset without spaces, or an ISO 8601 string with offset.

    Raises:
        ValueError: The value is not a valid time.
    """
    if isinstance(value, datetime):
        return aware(value).isoformat()
    if isinstance(value, date):
        raise ValueError(f"{value.isoformat()} is a date without a time; add one, e.g. T18:00:00+08:00")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        raise ValueError(f"{value!r} has no unit; write e.g. -2d3h, +1d, -45m or now")
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{value!r} is not a time; write now, -2d3h, +1d or 2026-11-20T14:30:00+08:00")
    text = "".join(value.split())
    if text.lower() == "now":
        return "now"
    if text[0] in "+-":
        match = _RELATIVE.match(text)
        if match is None or not any(match.groups()[1:]):
            raise ValueError(
                f"{value!r} is not a relative time; write e.g. -2d3h, +1d, -45m (units w, d, h, m in that order)"
            )
        return text
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{value!r} is not a time; write now, -2d3h, +1d or 2026-11-20T14:30:00+08:00") from None
    return aware(parsed).isoformat()


def resolve_time(spec: str, now: datetime) -> datetime:
    """Turn a canonical time spec into an aware datetime.

    Args:
        spec: A spec as returned by :func:`parse_time_spec`.
        now: The reference time for ``now`` and relative offsets.

    Returns:
        The absolute time; relative ones are in China time.

    Raises:
        ValueError: ``spec`` is not a valid spec.
    """
    now = aware(now).astimezone(CHINA_TZ)
    if spec == "now":
        return now
    match = _RELATIVE.match(spec)
    if match is not None:
        sign, weeks, days, hours, minutes = match.groups()
        delta = timedelta(weeks=int(weeks or 0), days=int(days or 0), hours=int(hours or 0), minutes=int(minutes or 0))
        return now + delta if sign == "+" else now - delta
    return aware(datetime.fromisoformat(spec))


def is_relative(spec: str) -> bool:
    """Whether a canonical spec depends on the clock (``now`` or an offset)."""
    return spec == "now" or spec[0] in "+-"


def hash_name(name: str) -> str:
    """SHA-256 (hex) of a receiver name as stored in ``receiver_name_sha256``.

    Args:
        name: The full name, e.g. ``"张伟"``.

    Returns:
        The hash of the NFKC-normalised name with all whitespace removed.
    """
    cleaned = "".join(unicodedata.normalize("NFKC", name).split())
    return hashlib.sha256(cleaned.encode("utf-8")).hexdigest()


def s10_check_digit(serial: str) -> int:
    """UPU S10 check digit of an 8-digit serial number.

    Args:
        serial: The eight digits between the two-letter prefix and the digit.

    Returns:
        The check digit (0-9).
    """
    total = sum(int(d) * w for d, w in zip(serial, (8, 6, 4, 2, 3, 5, 9, 7), strict=True))
    rest = total % 11
    return 5 if rest == 0 else 0 if rest == 1 else 11 - rest


def file_sha256(path: str | Path) -> str:
    """SHA-256 (hex) of a file's bytes."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
