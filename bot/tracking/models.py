"""Shipment data model shared by every tracking provider.

Plain dataclasses: providers build them, ``bot.tracking.messages`` turns them into words.
Personal data is stored already masked (``138****5678``, ``张*``); nothing in
this module ever holds a full phone number.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Protocol, Sequence


class Status(str, Enum):
    """Where a shipment is in its life, in the words a customer understands."""

    PICKED_UP = "picked_up"
    IN_TRANSIT = "in_transit"
    AT_SORTING_CENTRE = "at_sorting_centre"
    OUT_FOR_DELIVERY = "out_for_delivery"
    DELIVERED = "delivered"
    HELD = "held"
    DELIVERY_FAILED = "delivery_failed"
    RETURNED = "returned"
    LOST = "lost"
    DAMAGED = "damaged"


class HoldReason(str, Enum):
    """Why a shipment is held (only meaningful with ``Status.HELD``)."""

    WEATHER = "weather"
    HOLIDAY_PEAK = "holiday_peak"
    ADDRESS_PROBLEM = "address_problem"
    CUSTOMS_INSPECTION = "customs_inspection"
    CAPACITY = "capacity"


@dataclass(frozen=True)
class ScanEvent:
    """One scan in a shipment's history."""

    time: datetime
    location: str
    description: str


@dataclass(frozen=True)
class Shipment:
    """A shipment as the assistant sees it.

    Attributes:
        waybill: Normalised waybill number (upper case, no spaces).
        carrier: Carrier code, e.g. ``"SF"`` (see ``bot.tracking.waybill.CARRIERS``).
        status: Current status.
        events: Scan history, oldest first; the last one is the latest scan.
        origin: Origin city.
        destination: Destination city.
        promised_at: Delivery time promised to the customer, if known.
        eta: Current estimate of delivery, if known and not delivered.
        delivered_at: When it was signed for (``DELIVERED`` only).
        signed_by: Who signed, e.g. ``"本人"``, ``"前台"``, ``"丰巢快递柜"``.
        hold_reason: Why it is held (``HELD`` only).
        note: Free-text detail for exceptions (failed delivery, return, damage).
        freight: Freight paid, in yuan.
        declared_value: Declared value of the goods, in yuan.
        insured_value: Insured value, in yuan (0 when uninsured).
        sender_phone: Masked sender phone, e.g. ``"139****0001"``.
        receiver_phone: Masked receiver phone.
        receiver_name: Masked receiver name, e.g. ``"张*"``.
    """

    waybill: str
    carrier: str
    status: Status
    events: tuple[ScanEvent, ...] = ()
    origin: str = ""
    destination: str = ""
    promised_at: datetime | None = None
    eta: datetime | None = None
    delivered_at: datetime | None = None
    signed_by: str | None = None
    hold_reason: HoldReason | None = None
    note: str | None = None
    freight: Decimal | None = None
    declared_value: Decimal | None = None
    insured_value: Decimal | None = None
    sender_phone: str = ""
    receiver_phone: str = ""
    receiver_name: str = ""
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def latest(self) -> ScanEvent | None:
        """The latest scan, or ``None`` when there is no scan yet."""
        return self.events[-1] if self.events else None


class ProviderError(Exception):
    """The tracking provider could not answer (down, slow, malformed reply).

    The message never contains personal data or the waybill number, so it can
    be logged as is.
    """


class TrackingProvider(Protocol):
    """What every tracking backend offers the assistant."""

    async def get(self, waybill: str, carriers: Sequence[str] = ()) -> Shipment | None:
        """Look one normalised waybill up.

        Args:
            waybill: Normalised number (``bot.tracking.waybill.normalise``).
            carriers: Candidate carrier codes; empty means "any".

        Returns:
            The shipment, or ``None`` when the provider does not know it.

        Raises:
            ProviderError: The provider is unreachable, slow or answered nonsense.
        """
        ...

    async def find_by_phone(self, phone: str, receiver_name: str) -> list[Shipment]:
        """Shipments whose receiver phone and receiver name both match.

        Args:
            phone: The 11-digit phone the customer typed.
            receiver_name: The receiver's name the customer typed.

        Returns:
            Matching shipments, newest first; empty when either check fails.

        Raises:
            ProviderError: The provider is unreachable or answered nonsense.
        """
        ...
