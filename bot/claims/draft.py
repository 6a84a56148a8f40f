"""What a claim holds: the parcel's facts from the carrier's record and the customer's answers.

Plain Python, no Rasa. Which record wins: the *insured* value and the freight come from the
carrier's record (the customer cannot raise them by typing); the value the customer gives
is the declared value of the goods (capped by :mod:`bot.claims.offer`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from bot.tracking import Shipment, Status

CLAIMABLE = frozenset({Status.DELIVERED, Status.DAMAGED})
"""Statuses a damage claim can be filed for: the parcel reached the customer (or the
courier recorded the damage)."""


def ineligible_reason(status: Status) -> str | None:
    """Why a parcel in ``status`` cannot get a damage claim, or ``None`` when it can."""
    if status in CLAIMABLE:
        return None
    if status is Status.LOST:
        return "lost"
    if status is Status.RETURNED:
        return "returned"
    return "not_delivered"


INELIGIBLE_REASONS = ("not_delivered", "lost", "returned")
"""Every reason :func:`ineligible_reason` can give."""


@dataclass(frozen=True)
class ParcelFacts:
    """What the claim needs from the carrier's record, kept in the ``claim_parcel`` slot."""

    waybill: str
    carrier: str
    status: str
    freight: Decimal | None
    declared_value: Decimal | None
    insured_value: Decimal | None

    @classmethod
    def from_shipment(cls, shipment: Shipment) -> ParcelFacts:
        """Copy the facts from a looked-up shipment."""
        return cls(
            shipment.waybill,
            shipment.carrier,
            shipment.status.value,
            shipment.freight,
            shipment.declared_value,
            shipment.insured_value,
        )

    def to_slot(self) -> dict[str, Any]:
        """A JSON-safe dict for the tracker (amounts as strings, never floats)."""

        def amount(value: Decimal | None) -> str | None:
            return None if value is None else str(value)

        return {
            "waybill": self.waybill,
            "carrier": self.carrier,
            "status": self.status,
            "freight": amount(self.freight),
            "declared_value": amount(self.declared_value),
            "insured_value": amount(self.insured_value),
        }

    @classmethod
    def from_slot(cls, value: Any) -> ParcelFacts | None:
        """Read :meth:`to_slot`'s dict back; ``None`` for anything else."""
        if not isinstance(value, Mapping) or not isinstance(value.get("waybill"), str):
            return None

        def amount(key: str) -> Decimal | None:
            raw = value.get(key)
            try:
                return None if raw is None else Decimal(str(raw))
            except ArithmeticError:
                return None

        return cls(
            value["waybill"],
            str(value.get("carrier") or ""),
            str(value.get("status") or ""),
            amount("freight"),
            amount("declared_value"),
            amount("insured_value"),
        )


@dataclass(frozen=True)
class ClaimDraft:
    """Everything the customer told the claim form."""

    parcel: ParcelFacts
    part: str | None = None
    description: str | None = None
    photos_outer: tuple[str, ...] = field(default_factory=tuple)
    photos_contents: tuple[str, ...] = field(default_factory=tuple)
    extent: str | None = None
    value: Decimal | None = None
    packaging_kept: bool | None = None

    @property
    def has_photos(self) -> bool:
        """Whether both sides are photographed."""
        return bool(self.photos_outer) and bool(self.photos_contents)

    @classmethod
    def from_slots(cls, slots: Mapping[str, Any]) -> ClaimDraft | None:
        """The claim collected so far in the form's slots, or ``None`` before the parcel is known."""
        parcel = ParcelFacts.from_slot(slots.get("claim_parcel"))
        if parcel is None:
            return None
        value = slots.get("claim_value")
        try:
            amount = Decimal(str(value)) if value is not None else None
        except ArithmeticError:
            amount = None
        return cls(
            parcel=parcel,
            part=slots.get("claim_part"),
            description=slots.get("claim_description"),
            photos_outer=tuple(p["sha256"] for p in slots.get("claim_photos_outer") or []),
            photos_contents=tuple(p["sha256"] for p in slots.get("claim_photos_contents") or []),
            extent=slots.get("claim_extent"),
            value=amount,
            packaging_kept=slots.get("claim_packaging_kept"),
        )
