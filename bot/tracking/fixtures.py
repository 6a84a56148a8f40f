"""Demo shipment fixtures: load and validate the YAML file, resolve its times.

The file (``fixtures/shipments.yml``) is meant to be edited by people, so every
problem is reported as a :class:`ValueError` that names the shipment (its index
and waybill) and the field. Times are kept as *specs* until a clock is known:

* ``now``
* a relative offset from now: ``-2d3h``, ``+1d``, ``-45m``, ``-1w2d`` (units
  ``w`` weeks, ``d`` days, ``h`` hours, ``m`` minutes, in that order);
* an absolute ISO 8601 time: ``2026-11-20T14:30:00+08:00`` (without an offset
  the time is taken as China time, UTC+8).

Relative specs are resolved against an injectable ``now`` each time the data
is read, so the demo never goes stale.

Receiver names are stored only masked (``张*``) plus ``receiver_name_sha256``,
the SHA-256 of the NFKC-normalised name with all whitespace removed. Print the
hash for a name with::

    python -m bot.tracking.fixtures hash-name 张伟
"""

from __future__ import annotations

import argparse
import re
import sys
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Mapping, Sequence

import yaml

from bot.common.clock import CHINA_TZ
from bot.tracking.fixture_records import EventRecord, ShipmentRecord
from bot.tracking.fixture_times import (
    china_now,
    hash_name,
    is_relative,
    parse_time_spec,
    resolve_time,
    s10_check_digit,
)
from bot.tracking.models import HoldReason, Shipment, Status

_MASKED_PHONE = re.compile(r"^1\d{2}\*{4}\d{4}$")
_FULL_PHONE = re.compile(r"^\+?[\d\s-]{7,}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")

#: Normalised waybill formats of the carriers the demo data uses. Carriers not
#: listed here only need an upper-case alphanumeric number of 8-32 characters.
WAYBILL_FORMATS: dict[str, re.Pattern[str]] = {
    "SF": re.compile(r"^SF\d{13}$"),
    "JD": re.compile(r"^JD[A-Z0-9]{2}\d{11}$"),
    "YTO": re.compile(r"^YT\d{13}$"),
    "ZTO": re.compile(r"^7[3-68]\d{12}$"),
    "STO": re.compile(r"^77\d{12}$"),
    "YUNDA": re.compile(r"^[34]\d{14}$"),
    "EMS": re.compile(r"^9\d{12}$"),
    "JT": re.compile(r"^JT\d{13}$"),
    "DEPPON": re.compile(r"^DPK\d{12}$"),
    "CAINIAO": re.compile(r"^621\d{12}$"),
    "S10": re.compile(r"^[A-Z]{2}\d{9}[A-Z]{2}$"),
}
KNOWN_CARRIERS: frozenset[str] = frozenset([*WAYBILL_FORMATS, "UPS", "FEDEX", "DHL", "USPS", "YUNEXPRESS"])
_GENERIC_WAYBILL = re.compile(r"^[A-Z0-9]{8,32}$")

_ACTIVE = {
    Status.PICKED_UP,
    Status.IN_TRANSIT,
    Status.AT_SORTING_CENTRE,
    Status.OUT_FOR_DELIVERY,
    Status.HELD,
    Status.DELIVERY_FAILED,
}
_NEEDS_NOTE = {Status.DELIVERY_FAILED, Status.RETURNED, Status.LOST, Status.DAMAGED}

_REQUIRED = (
    "waybill",
    "carrier",
    "status",
    "origin",
    "destination",
    "promised_at",
    "freight",
    "declared_value",
    "insured_value",
    "sender_phone",
    "receiver_phone",
    "receiver_name",
    "receiver_name_sha256",
    "events",
)
_OPTIONAL = ("eta", "delivered_at", "signed_by", "hold_reason", "note", "extra")
_EVENT_KEYS = ("time", "location", "description")


class _Problem(Exception):
    """A validation problem inside one shipment (internal)."""


def _text(value: object, name: str) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise _Problem(f"field {name!r}: expected text, got {value!r}")
    text = str(value).strip()
    if not text:
        raise _Problem(f"field {name!r}: must not be empty")
    return text


def _money(value: object, name: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise _Problem(f"field {name!r}: expected an amount in yuan, got {value!r}")
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise _Problem(f"field {name!r}: {value!r} is not an amount in yuan") from None
    if not amount.is_finite() or amount < 0:
        raise _Problem(f"field {name!r}: {value!r} must be a non-negative amount")
    return amount.quantize(Decimal("0.01"))


def _time(value: object, name: str) -> str:
    try:
        return parse_time_spec(value)
    except ValueError as exc:
        raise _Problem(f"field {name!r}: {exc}") from None


def _phone(value: object, name: str) -> str:
    text = _text(value, name)
    if _MASKED_PHONE.match(text):
        return text
    if _FULL_PHONE.match(text):
        raise _Problem(f"field {name!r}: looks like a full phone number; store it masked like 138****5678")
    raise _Problem(f"field {name!r}: {text!r} is not a masked mobile number like 138****5678")


def _enum(value: object, name: str, enum: type[Status] | type[HoldReason]) -> Any:
    allowed = ", ".join(member.value for member in enum)
    try:
        return enum(str(value).strip().lower())
    except ValueError:
        raise _Problem(f"field {name!r}: unknown value {value!r}; expected one of: {allowed}") from None


def _waybill(value: object, carrier: str) -> str:
    number = re.sub(r"[\s-]", "", _text(value, "waybill")).upper()
    pattern = WAYBILL_FORMATS.get(carrier, _GENERIC_WAYBILL)
    if not pattern.match(number):
        raise _Problem(f"field 'waybill': {number!r} is not a valid {carrier} number")
    if carrier == "S10" and int(number[10]) != s10_check_digit(number[2:10]):
        raise _Problem(f"field 'waybill': {number!r} has a wrong S10 check digit")
    return number


def _events(value: object) -> tuple[EventRecord, ...]:
    if not isinstance(value, list) or not value:
        raise _Problem("field 'events': expected a non-empty list of scans, oldest first")
    events: list[EventRecord] = []
    for j, item in enumerate(value):
        where = f"events[{j}]"
        if not isinstance(item, Mapping):
            raise _Problem(f"field {where!r}: expected a mapping with time, location, description")
        unknown = sorted(set(map(str, item)) - set(_EVENT_KEYS))
        if unknown:
            raise _Problem(f"field {where!r}: unknown key(s) {', '.join(unknown)}")
        for key in _EVENT_KEYS:
            if key not in item:
                raise _Problem(f"field '{where}.{key}': missing")
        events.append(
            EventRecord(
                time=_time(item["time"], f"{where}.time"),
                location=_text(item["location"], f"{where}.location"),
                description=_text(item["description"], f"{where}.description"),
            )
        )
    specs = [e.time for e in events]
    kinds = {is_relative(s) for s in specs}
    if len(kinds) == 1:  # ordering of mixed absolute/relative times depends on "now"
        reference = datetime(2000, 1, 1, tzinfo=CHINA_TZ)
        times = [resolve_time(s, reference) for s in specs]
        for j in range(1, len(times)):
            if times[j] < times[j - 1]:
                raise _Problem(f"field 'events[{j}].time': earlier than the scan before it (oldest first)")
    return tuple(events)


def _record(raw: object) -> ShipmentRecord:
    if not isinstance(raw, Mapping):
        raise _Problem(f"expected a mapping of fields, got {type(raw).__name__}")
    keys = set(map(str, raw))
    unknown = sorted(keys - set(_REQUIRED) - set(_OPTIONAL))
    if unknown:
        raise _Problem(f"unknown field(s) {', '.join(unknown)}")
    missing = [key for key in _REQUIRED if raw.get(key) is None]
    if missing:
        raise _Problem(f"missing field(s) {', '.join(missing)}")

    carrier = _text(raw["carrier"], "carrier").upper()
    if carrier not in KNOWN_CARRIERS:
        allowed = ", ".join(sorted(KNOWN_CARRIERS))
        raise _Problem(f"field 'carrier': unknown carrier {carrier!r}; expected one of: {allowed}")
    status: Status = _enum(raw["status"], "status", Status)

    def optional_text(name: str) -> str | None:
        value = raw.get(name)
        return None if value is None else _text(value, name)

    def optional_time(name: str) -> str | None:
        value = raw.get(name)
        return None if value is None else _time(value, name)

    receiver_name = _text(raw["receiver_name"], "receiver_name")
    if "*" not in receiver_name:
        raise _Problem(
            "field 'receiver_name': must be masked like 张*; put the full name's hash in receiver_name_sha256"
        )
    name_hash = _text(raw["receiver_name_sha256"], "receiver_name_sha256").lower()
    if not _SHA256.match(name_hash):
        raise _Problem(
            "field 'receiver_name_sha256': expected 64 hex digits (python -m bot.tracking.fixtures hash-name NAME)"
        )
    hold_value = raw.get("hold_reason")
    extra = raw.get("extra") or {}
    if not isinstance(extra, Mapping):
        raise _Problem("field 'extra': expected a mapping of text to text")

    record = ShipmentRecord(
        waybill=_waybill(raw["waybill"], carrier),
        carrier=carrier,
        status=status,
        origin=_text(raw["origin"], "origin"),
        destination=_text(raw["destination"], "destination"),
        promised_at=_time(raw["promised_at"], "promised_at"),
        freight=_money(raw["freight"], "freight"),
        declared_value=_money(raw["declared_value"], "declared_value"),
        insured_value=_money(raw["insured_value"], "insured_value"),
        sender_phone=_phone(raw["sender_phone"], "sender_phone"),
        receiver_phone=_phone(raw["receiver_phone"], "receiver_phone"),
        receiver_name=receiver_name,
        receiver_name_sha256=name_hash,
        events=_events(raw["events"]),
        eta=optional_time("eta"),
        delivered_at=optional_time("delivered_at"),
        signed_by=optional_text("signed_by"),
        hold_reason=None if hold_value is None else _enum(hold_value, "hold_reason", HoldReason),
        note=optional_text("note"),
        extra={str(k): str(v) for k, v in extra.items()},
    )
    _check_status_rules(record)
    return record


def _check_status_rules(r: ShipmentRecord) -> None:
    status = r.status.value
    if r.status is Status.DELIVERED:
        for name in ("delivered_at", "signed_by"):
            if getattr(r, name) is None:
                raise _Problem(f"field {name!r}: required when status is delivered")
        if r.eta is not None:
            raise _Problem("field 'eta': not allowed when status is delivered (use delivered_at)")
    else:
        for name in ("delivered_at", "signed_by"):
            if getattr(r, name) is not None:
                raise _Problem(f"field {name!r}: only allowed when status is delivered, not {status}")
    if r.status is Status.HELD and r.hold_reason is None:
        raise _Problem("field 'hold_reason': required when status is held")
    if r.status is not Status.HELD and r.hold_reason is not None:
        raise _Problem(f"field 'hold_reason': only allowed when status is held, not {status}")
    if r.status in _ACTIVE and r.eta is None:
        raise _Problem(f"field 'eta': required when status is {status}")
    if r.status in _NEEDS_NOTE and r.note is None:
        raise _Problem(f"field 'note': required when status is {status} (say what went wrong)")
    if r.insured_value > r.declared_value:
        raise _Problem("field 'insured_value': larger than declared_value")


# ------------------------------------------------------------------ loading


def parse_shipments(data: object, source: str = "<fixtures>") -> list[ShipmentRecord]:
    """Validate already-parsed YAML data.

    Args:
        data: The parsed document: a mapping with a ``shipments`` list.
        source: Name used in error messages (usually the file path).

    Returns:
        The validated records, in file order.

    Raises:
        ValueError: One line per broken shipment, naming index, waybill, field.
    """
    if not isinstance(data, Mapping) or not isinstance(data.get("shipments"), list):
        raise ValueError(f"{source}: expected a top-level 'shipments:' list")
    unknown = sorted(set(map(str, data)) - {"shipments", "version"})
    if unknown:
        raise ValueError(f"{source}: unknown top-level key(s) {', '.join(unknown)}")
    records: list[ShipmentRecord] = []
    problems: list[str] = []
    seen: dict[str, int] = {}
    for i, raw in enumerate(data["shipments"]):
        label = f"shipments[{i}]"
        if isinstance(raw, Mapping) and raw.get("waybill") is not None:
            label += f" ({raw['waybill']})"
        try:
            record = _record(raw)
        except _Problem as exc:
            problems.append(f"{source}: {label}: {exc}")
            continue
        if record.waybill in seen:
            problems.append(f"{source}: {label}: field 'waybill': duplicate of shipments[{seen[record.waybill]}]")
            continue
        seen[record.waybill] = i
        records.append(record)
    if problems:
        raise ValueError("\n".join(problems))
    if not records:
        raise ValueError(f"{source}: the 'shipments:' list is empty")
    return records


def load_records(path: str | Path) -> list[ShipmentRecord]:
    """Read and validate a fixtures file.

    Args:
        path: The YAML file.

    Returns:
        The validated records, in file order.

    Raises:
        ValueError: The file is missing, is not YAML or holds invalid data.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: cannot read the fixtures file ({exc.__class__.__name__})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: not valid YAML: {exc}") from None
    return parse_shipments(data, str(path))


def load_shipments(path: str | Path, now: datetime | None = None) -> list[Shipment]:
    """Read, validate and resolve a fixtures file.

    Args:
        path: The YAML file.
        now: Reference time for relative specs (default: the current time).

    Returns:
        The shipments, in file order.

    Raises:
        ValueError: The file is missing or invalid.
    """
    reference = china_now() if now is None else now
    return [record.to_shipment(reference) for record in load_records(path)]


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``hash-name NAME`` or ``check FILE``.

    Args:
        argv: Arguments without the program name (default: ``sys.argv[1:]``).

    Returns:
        The exit status.
    """
    parser = argparse.ArgumentParser(
        prog="python -m bot.tracking.fixtures", description="Demo shipment fixtures tools."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    hashing = commands.add_parser("hash-name", help="print receiver_name_sha256 for a full name")
    hashing.add_argument("name")
    checking = commands.add_parser("check", help="validate a fixtures file")
    checking.add_argument("path")
    args = parser.parse_args(argv)
    if args.command == "hash-name":
        print(hash_name(args.name))
        return 0
    try:
        records = load_records(args.path)
    except ValueError as exc:
        print(f"invalid fixtures file:\n{exc}", file=sys.stderr)
        return 1
    print(f"{len(records)} shipments OK in {args.path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
