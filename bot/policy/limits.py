"""Abuse limits (sizes, rates, caps) from one human-editable file, ``policy/limits.yml``.

Code asks for a value by name and gets a checked number::

    limits().number("body_bytes.server")      # 16777216
    limits().rate("rest_per_sender")          # Rate(count=20, seconds=60.0)

A name that the file does not define raises :class:`KeyError` naming it, and
:meth:`Limits.load` refuses a file whose numbers are missing, not numbers, or not
positive, so a typo stops the assistant at start-up instead of switching a limit off.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import yaml

from bot.common.ratelimit import Rate
from bot.settings import PROJECT_ROOT, Settings

DEFAULT_FILE = PROJECT_ROOT / "policy" / "limits.yml"
SECTIONS = ("body_bytes", "metadata", "rates", "handoff", "console")
"""Top-level sections of the file; any other key is refused (a misspelt section would be ignored otherwise)."""


class LimitsError(ValueError):
    """The limits file is missing, malformed, or holds a value that is not a positive number."""


def _positive(value: Any, where: str) -> int | float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise LimitsError(f"{where} must be a positive number, got {value!r}")
    return value


@dataclass(frozen=True)
class Limits:
    """Checked limits: numbers by dotted name, rates by name (section ``rates``)."""

    numbers: Mapping[str, int | float]
    rates: Mapping[str, Rate]
    source: str = ""

    @classmethod
    def from_mapping(cls, data: Any, source: str = "<mapping>") -> Limits:
        """Check a parsed limits document.

        Args:
            data: The parsed YAML.
            source: Where it came from, for error messages.

        Raises:
            LimitsError: With the offending key.
        """
        if not isinstance(data, Mapping):
            raise LimitsError(f"{source}: must be a mapping of sections")
        unknown = sorted(set(data) - set(SECTIONS))
        if unknown:
            raise LimitsError(f"{source}: unknown section(s) {', '.join(map(str, unknown))}")
        numbers: dict[str, int | float] = {}
        rates: dict[str, Rate] = {}
        for section in SECTIONS:
            body = data.get(section) or {}
            if not isinstance(body, Mapping):
                raise LimitsError(f"{source}: {section} must be a mapping")
            for key, value in body.items():
                where = f"{section}.{key}"
                if section == "rates":
                    if not isinstance(value, Mapping) or set(value) != {"count", "seconds"}:
                        raise LimitsError(f"{source}: {where} must be {{count: N, seconds: S}}")
                    count = _positive(value["count"], f"{where}.count")
                    if not isinstance(count, int):
                        raise LimitsError(f"{source}: {where}.count must be a whole number")
                    rates[str(key)] = Rate(count, float(_positive(value["seconds"], f"{where}.seconds")))
                else:
                    numbers[where] = _positive(value, where)
        return cls(numbers=numbers, rates=rates, source=source)

    @classmethod
    def load(cls, path: str | Path | None = None) -> Limits:
        """Read and check a limits file (default ``policy/limits.yml``)."""
        file = Path(path or DEFAULT_FILE)
        try:
            data = yaml.safe_load(file.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise LimitsError(f"cannot read limits file {file}: {exc}") from exc
        return cls.from_mapping(data, str(file))

    def number(self, name: str) -> int | float:
        """A size, count or duration by dotted name, e.g. ``"handoff.max_waiting"``."""
        try:
            return self.numbers[name]
        except KeyError:
            raise KeyError(f"limit {name!r} is not defined in {self.source or 'the limits file'}") from None

    def rate(self, name: str) -> Rate:
        """A rate from section ``rates`` by name, e.g. ``"rest_per_sender"``."""
        try:
            return self.rates[name]
        except KeyError:
            raise KeyError(f"rate {name!r} is not defined in {self.source or 'the limits file'}") from None


_lock = threading.Lock()
_current: Limits | None = None


def limits(env: Mapping[str, str] | None = None) -> Limits:
    """The process's limits, loaded once from ``LIMITS_FILE`` (default ``policy/limits.yml``)."""
    global _current
    with _lock:
        if _current is None:
            _current = Limits.load(Settings.from_env(env).limits_file)
        return _current


def set_limits(value: Limits | None) -> None:
    """Replace the process's limits (tests); ``None`` reloads from the file on next use."""
    global _current
    with _lock:
        _current = value
