"""One validated shipment of the demo fixtures, its times still specs until a clock is known."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from bot.tracking.fixture_times import resolve_time
from bot.tracking.models import HoldReason, ScanEvent, Shipment, Status


@dataclass(frozen=True)
class EventRecord:
    """One scan as written in the file, its time still a spec."""

    time: str
    location: str
    description: str


@dataclass(frozen=True)
class ShipmentRecord:
    """One validated shipment of the fixtures file; times are still specs.

    Attributes mirror :class:`bot.tracking.models.Shipment`, except that times
    are specs (:mod:`bot.tracking.fixture_times`) and ``receiver_name_sha256`` holds the
    hash used by the phone lookup.
    """

    waybill: str
    carrier: str
    status: Status
    origin: str
    destination: str
    promised_at: str
    freight: Decimal
    declared_value: Decimal
    insured_value: Decimal
    sender_phone: str
    receiver_phone: str
    receiver_name: str
    receiver_name_sha256: str
    events: tuple[EventRecord, ...]
    eta: str | None = None
    delivered_at: str | None = None
    signed_by: str | None = None
    hold_reason: HoldReason | None = None
    note: str | None = None
    extra: dict[str, str] = field(default_factory=dict)

    def to_shipment(self, now: datetime) -> Shipment:
        """Build the shipment, resolving every time spec against ``now``.

        Args:
            now: The current time (naive values are taken as China time).

        Returns:
            The shipment with absolute, timezone-aware times.
        """

        def opt(spec: str | None) -> datetime | None:
            return None if spec is None else resolve_time(spec, now)

        return Shipment(
            waybill=self.waybill,
            carrier=self.carrier,
            status=self.status,
            events=tuple(ScanEvent(resolve_time(e.time, now), e.location, e.description) for e in self.events),
            origin=self.origin,
            destination=self.destination,
            promised_at=opt(self.promised_at),
            eta=opt(self.eta),
            delivered_at=opt(self.delivered_at),
            signed_by=self.signed_by,
            hold_reason=self.hold_reason,
            note=self.note,
            freight=self.freight,
            declared_value=self.declared_value,
            insured_value=self.insured_value,
            sender_phone=self.sender_phone,
            receiver_phone=self.receiver_phone,
            receiver_name=self.receiver_name,
            extra=dict(self.extra),
        )
