"""Proofs of parcel ownership, kept in the ticket database (see :mod:`bot.identity.proof`).

:class:`ProofRecords` is the part of :class:`bot.tickets.store.TicketStore` that remembers
which conversation proved which parcel (or receiver phone) is theirs, and for how long.
Only masked phones (``139****2846``) are ever stored.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, insert, or_, select

from bot.tickets.database import TicketDatabase
from bot.tickets.models import required_text
from bot.tickets.schema import identity_proofs


class ProofRecords(TicketDatabase):
    """Record, check and expire proofs of parcel ownership."""

    def record_proof(
        self, conversation_id: str, waybill: str, phone_mask: str, method: str, valid_for: timedelta
    ) -> None:
        """Remember that a conversation proved a parcel (and its receiver phone) is theirs.

        Args:
            conversation_id: The customer's conversation.
            waybill: The parcel proven.
            phone_mask: The receiver phone as masked in the tracking data (``139****2846``), or ``""``.
            method: How: ``phone_last4`` or ``phone_lookup``.
            valid_for: How long the proof counts.
        """
        if "*" not in phone_mask and phone_mask:
            raise ValueError("phone_mask must be masked (139****2846), never a full number")
        self._ensure_schema()
        with self._engine.begin() as conn:
            now = self._now()
            conn.execute(
                insert(identity_proofs).values(
                    conversation_id=required_text(conversation_id, "conversation_id", 255),
                    waybill=required_text(waybill, "waybill", 64),
                    phone_mask=phone_mask,
                    method=required_text(method, "method", 32),
                    proved_at=now,
                    expires_at=now + valid_for,
                )
            )

    def has_proof(self, conversation_id: str, waybill: str, phone_mask: str = "") -> bool:
        """Whether the conversation proved this parcel, or its receiver phone, and the proof is still valid."""
        condition = identity_proofs.c.waybill == waybill
        if phone_mask:
            condition = or_(condition, identity_proofs.c.phone_mask == phone_mask)
        self._ensure_schema()
        with self._engine.connect() as conn:
            row = conn.execute(
                select(identity_proofs.c.id)
                .where(
                    identity_proofs.c.conversation_id == conversation_id,
                    identity_proofs.c.expires_at > self._now(),
                    condition,
                )
                .limit(1)
            ).first()
        return row is not None

    def forget_expired_proofs(self) -> int:
        """Delete proofs past their expiry; returns how many (run it from a periodic job or the CLI)."""
        self._ensure_schema()
        with self._engine.begin() as conn:
            result = conn.execute(delete(identity_proofs).where(identity_proofs.c.expires_at <= self._now()))
        return int(result.rowcount or 0)
