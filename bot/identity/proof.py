"""Proof that a parcel is the customer's own, before money and personal data.

Who may see what:

* Anyone who knows a waybill number sees its **public** status: the status, the place
  and time of the last scan, the ETA and whether it is late.
* Compensation offers, claims, delivery details (who signed) and the ticket history of
  a parcel need **proof**: the last four digits of the receiver's phone, or a
  conversation that already proved it (for this parcel, or for any parcel of the same
  receiver phone) within :data:`PROOF_DAYS`. The phone-and-name lookup is also a proof
  for the parcels it finds.

The proofs live in the ticket database (:meth:`bot.tickets.TicketStore.record_proof`),
so every replica sees them. Failed guesses are counted per parcel with the shared rate
limiter (``rates.owner_proof_failures_per_parcel`` in ``policy/limits.yml``), so rotating
sender ids does not buy more than a handful of guesses at a receiver's four digits.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Mapping

from bot.common.i18n import text

PROOF_DAYS = 30
"""How long a conversation stays proven for a parcel and its receiver phone."""
MAX_TRIES = 3
"""Wrong answers in one conversation before the check ends and a person is offered."""
FAILURE_RATE = "owner_proof_failures_per_parcel"
"""Name of the rate (``policy/limits.yml``) that caps wrong answers per parcel, whoever sends them."""

PURPOSES = ("delay", "details", "missing", "tickets", "claim")
"""What a proof is asked for: delay compensation, delivery details, a missing-parcel report,
the ticket history of a parcel, a damage claim."""

_DIGITS = re.compile(r"(?<!\d)(\d{4})(?!\d)")
_MASKED = re.compile(r"^\d{3}\*{4}(\d{4})$")


def proof_lifetime() -> timedelta:
    """How long a proof is kept."""
    return timedelta(days=PROOF_DAYS)


def last_four(text: str) -> str | None:
    """The four digits of an answer: ``"2846"``, ``"尾号2846"``, ``"２８４６"``, ``"ends in 2846"``.

    Spaces and dashes inside the number are ignored ("28 46"); an answer holding no group
    of exactly four digits, or several different ones, is ``None``.
    """
    flat = re.sub(r"(?<=\d)[\s\-]+(?=\d)", "", unicodedata.normalize("NFKC", text or ""))
    found = {m.group(1) for m in _DIGITS.finditer(flat)}
    return found.pop() if len(found) == 1 else None


def phone_mask(phone: str) -> str:
    """A phone in the masked shape the tracking data uses (``139****2846``); ``""`` if it is not one.

    Accepts a full 11-digit mobile (it is masked here, never stored) or an already masked one.
    """
    value = unicodedata.normalize("NFKC", phone or "").strip()
    value = re.sub(r"[\s\-]", "", value)
    if value.startswith("+86"):
        value = value[3:]
    if re.fullmatch(r"1\d{10}", value):
        return f"{value[:3]}****{value[-4:]}"
    return value if _MASKED.match(value) else ""


def matches(receiver_phone: str, digits: str) -> bool | None:
    """Whether ``digits`` are the last four of a (masked) receiver phone.

    Returns:
        ``True``/``False``; ``None`` when the phone is unknown (the provider gives none),
        so the answer cannot be checked here.
    """
    mask = phone_mask(receiver_phone)
    if not mask:
        return None
    return mask[-4:] == digits


@dataclass(frozen=True)
class OwnerCheck:
    """A pending request for proof, kept in the ``owner_check`` slot.

    Attributes:
        waybill: The parcel the proof is for.
        purpose: One of :data:`PURPOSES`.
        tries: Wrong answers so far in this conversation.
    """

    waybill: str
    purpose: str
    tries: int = 0

    def to_slot(self) -> dict[str, Any]:
        """The slot value (plain JSON)."""
        return {"waybill": self.waybill, "purpose": self.purpose, "tries": self.tries}

    @classmethod
    def from_slot(cls, value: Any) -> OwnerCheck | None:
        """Read the slot; ``None`` for anything malformed (a customer cannot set slots, but be strict)."""
        if not isinstance(value, Mapping):
            return None
        waybill, purpose, tries = value.get("waybill"), value.get("purpose"), value.get("tries", 0)
        if not isinstance(waybill, str) or not waybill or purpose not in PURPOSES:
            return None
        if not isinstance(tries, int) or isinstance(tries, bool) or tries < 0:
            return None
        return cls(waybill, purpose, tries)


OFFER_KINDS = ("coupon", "refund", "compensate")
"""Decision kinds named with their amount (``identity.offer_kind.<kind>``); others went to a specialist."""


def ask_text(purpose: str, lang: str) -> str:
    """The request for the last four digits, saying what they are for (``identity.ask.<purpose>``)."""
    return text(f"identity.ask.{purpose}", lang)


def wrong_text(waybill: str, left: int, lang: str) -> str:
    """Digits that do not match, with the tries left."""
    return text("identity.wrong", lang, waybill=waybill, left=left)


def gave_up_text(lang: str) -> str:
    """The last wrong answer: no more tries here, a person is offered."""
    return text("identity.gave_up", lang)


def locked_text(lang: str) -> str:
    """Too many wrong answers for this parcel from anyone: checks paused, a person offered."""
    return text("identity.locked", lang)


def uncheckable_text(lang: str) -> str:
    """The provider gives no receiver phone to check against."""
    return text("identity.uncheckable", lang)


def not_digits_text(lang: str) -> str:
    """An answer without four digits."""
    return text("identity.not_digits", lang)


def verified_text(lang: str) -> str:
    """The proof is accepted."""
    return text("identity.verified", lang)


def already_offered_text(waybill: str, ticket_id: str, kind: str, amount: Any, lang: str) -> str:
    """A second verified asker: the offer made before and its ticket (no new offer).

    Args:
        waybill: The parcel.
        ticket_id: The delay ticket that holds the offer.
        kind: The decision's kind (``coupon``, ``refund``...).
        amount: The decision's amount (a ``Decimal``).
        lang: ``"zh"`` or ``"en"``.
    """
    if kind in OFFER_KINDS:
        offer = text(f"identity.offer_kind.{kind}", lang, amount=f"{amount:.2f}")
    else:
        offer = text("identity.offer_kind.review", lang)
    return text("identity.already_offered", lang, waybill=waybill, ticket=ticket_id, offer=offer)
