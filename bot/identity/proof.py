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


_ASK = {
    "delay": (
        "如需为这次延误安排补偿，请告诉我收件人手机号的后四位，我核实后为您办理。",
        "To arrange compensation for the delay, please tell me the last four digits of the receiver's "
        "phone number so I can check the parcel is yours.",
    ),
    "details": (
        "签收人等派送详情需要核实身份后查看：请告诉我收件人手机号的后四位。",
        "Delivery details such as who signed are shown once I've checked the parcel is yours: "
        "please tell me the last four digits of the receiver's phone number.",
    ),
    "missing": (
        "为核实签收情况并登记丢件/未收到，请先告诉我收件人手机号的后四位。",
        "To check the delivery and register the missing parcel, please first tell me the last four "
        "digits of the receiver's phone number.",
    ),
    "tickets": (
        "包裹的工单记录需要核实身份后查看：请告诉我收件人手机号的后四位。",
        "A parcel's tickets are shown once I've checked the parcel is yours: please tell me the last "
        "four digits of the receiver's phone number.",
    ),
    "claim": (
        "为保护您的权益，登记理赔前需要核实身份：请告诉我这个包裹收件人手机号的后四位。",
        "To protect your claim, I need to check the parcel is yours: please tell me the last four digits "
        "of the receiver's phone number.",
    ),
}
_WRONG = (
    "手机尾号与包裹 {waybill} 的收件人不符，请核对后再发一次（还可以再试 {left} 次）。",
    "Those digits don't match the receiver of {waybill}. Please check and send them again ({left} more tries).",
)
_GAVE_UP = (
    "抱歉，手机尾号未能核实通过，出于安全考虑我无法在线办理。回复“转人工”，客服同事会帮您核实处理。",
    "Sorry, I couldn't confirm the phone digits, so for your safety I can't do this online. "
    'Say "human agent" and a colleague will check it with you.',
)
_LOCKED = (
    "这个包裹的手机尾号核对次数太多，已暂停在线核实。请稍后再试，或回复“转人工”由客服为您核实。",
    "There have been too many attempts to confirm this parcel's phone digits, so online checks are paused. "
    'Please try again later, or say "human agent" and a colleague will check it with you.',
)
_UNCHECKABLE = (
    "抱歉，这个包裹暂时无法在线核实收件人手机尾号。回复“转人工”，客服同事会帮您核实处理。",
    "Sorry, I can't check the receiver's phone digits for this parcel online. Say \"human agent\" "
    "and a colleague will check it with you.",
)
_NOT_DIGITS = (
    "请直接发送收件人手机号的后四位数字，例如“尾号1234”。",
    'Please send just the last four digits of the receiver\'s phone number, e.g. "1234".',
)
_VERIFIED = ("已核实，谢谢！", "Thanks, that's confirmed.")
_ALREADY_OFFERED = (
    "包裹 {waybill} 的延误补偿（{offer}）已在工单 {ticket} 中登记，无需重复申请，我们会按工单处理。",
    "The delay compensation for {waybill} ({offer}) is already registered in ticket {ticket}; "
    "there is no need to ask again, it is being handled there.",
)
_OFFER_KINDS = {
    "coupon": ("运费券 {amount} 元", "a ¥{amount} freight coupon"),
    "refund": ("退还运费 {amount} 元", "a ¥{amount} freight refund"),
    "compensate": ("赔付 {amount} 元", "¥{amount} compensation"),
}


def _pick(pair: tuple[str, str], lang: str) -> str:
    return pair[1] if lang == "en" else pair[0]


def ask_text(purpose: str, lang: str) -> str:
    """The request for the last four digits, saying what they are for."""
    return _pick(_ASK[purpose], lang)


def wrong_text(waybill: str, left: int, lang: str) -> str:
    """Digits that do not match, with the tries left."""
    return _pick(_WRONG, lang).format(waybill=waybill, left=left)


def gave_up_text(lang: str) -> str:
    """The last wrong answer: no more tries here, a person is offered."""
    return _pick(_GAVE_UP, lang)


def locked_text(lang: str) -> str:
    """Too many wrong answers for this parcel from anyone: checks paused, a person offered."""
    return _pick(_LOCKED, lang)


def uncheckable_text(lang: str) -> str:
    """The provider gives no receiver phone to check against."""
    return _pick(_UNCHECKABLE, lang)


def not_digits_text(lang: str) -> str:
    """An answer without four digits."""
    return _pick(_NOT_DIGITS, lang)


def verified_text(lang: str) -> str:
    """The proof is accepted."""
    return _pick(_VERIFIED, lang)


def already_offered_text(waybill: str, ticket_id: str, kind: str, amount: Any, lang: str) -> str:
    """A second verified asker: the offer made before and its ticket (no new offer).

    Args:
        waybill: The parcel.
        ticket_id: The delay ticket that holds the offer.
        kind: The decision's kind (``coupon``, ``refund``...).
        amount: The decision's amount (a ``Decimal``).
        lang: ``"zh"`` or ``"en"``.
    """
    pattern = _OFFER_KINDS.get(kind, ("专员审核", "a specialist's review"))
    offer = _pick(pattern, lang).format(amount=f"{amount:.2f}")
    return _pick(_ALREADY_OFFERED, lang).format(waybill=waybill, ticket=ticket_id, offer=offer)
