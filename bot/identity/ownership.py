"""Whether this conversation proved a parcel is the customer's own (see bot/identity/proof.py).

Helpers for the actions that show money or personal data: they ask the ticket
database (where proofs are kept for ``bot.identity.proof.PROOF_DAYS``) off the event loop.
"""

from __future__ import annotations

import asyncio
import logging

from bot import services
from bot.common.ratelimit import limiter
from bot.identity import proof as identity
from bot.policy.limits import limits
from bot.tracking import ProviderError, Shipment

logger = logging.getLogger(__name__)


async def proven(conversation_id: str, shipment: Shipment) -> bool:
    """Whether the conversation proved this parcel, or its receiver phone, within the proof's lifetime.

    A database outage counts as "not proven": the customer is asked for the digits, never
    shown more than the public status.
    """
    mask = identity.phone_mask(shipment.receiver_phone)
    try:
        return await asyncio.to_thread(services.tickets().has_proof, conversation_id, shipment.waybill, mask)
    except Exception as exc:  # fail closed
        logger.error("proof lookup failed: %s", type(exc).__name__)
        return False


async def remember(conversation_id: str, shipment: Shipment, method: str, phone: str = "") -> None:
    """Keep the proof for this conversation (a masked phone only: a full number is masked first)."""
    mask = identity.phone_mask(phone or shipment.receiver_phone)
    try:
        await asyncio.to_thread(
            services.tickets().record_proof, conversation_id, shipment.waybill, mask, method,
            identity.proof_lifetime(),
        )  # fmt: skip
    except Exception as exc:  # the proof still counts for this turn; the next one asks again
        logger.error("could not record a proof: %s", type(exc).__name__)


async def locked(waybill: str) -> bool:
    """Whether wrong answers for this parcel, from anyone, have reached the limit (counts nothing)."""
    return await limiter().hit(identity.FAILURE_RATE, waybill, limits().rate(identity.FAILURE_RATE), cost=0) > 0


async def count_failure(waybill: str) -> bool:
    """Count one wrong answer for the parcel; ``True`` when that reaches the limit."""
    rate = limits().rate(identity.FAILURE_RATE)
    return await limiter().hit(identity.FAILURE_RATE, waybill, rate) > 0 or await locked(waybill)


async def match(shipment: Shipment, digits: str) -> bool | None:
    """Whether the digits are the receiver phone's last four; ``None`` when the provider gives no phone."""
    known = identity.matches(shipment.receiver_phone, digits)
    if known is not None:
        return known
    check = getattr(services.provider(), "check_receiver_digits", None)
    if check is None:
        return None
    try:
        return await check(shipment.waybill, shipment.carrier, digits)
    except ProviderError as exc:
        logger.warning("receiver digits check failed: %s", exc)
        return None
