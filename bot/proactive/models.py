"""The proactive store's records: watches and the notices of the outbox (plain dataclasses).

Every datetime here is timezone-aware UTC, as the store returns it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

NOTICE_STATUSES: Final = ("pending", "sent", "undeliverable", "cancelled")
"""A notice waits (``pending``) until a channel sends it (``sent``) or cannot
(``undeliverable``, shown to agents); turning updates off cancels the waiting ones."""


@dataclass(frozen=True)
class Watch:
    """A parcel watched for one conversation.

    Attributes:
        id: Row id (order of creation; scans page by it).
        conversation_id: Who is told (the Rasa sender id).
        channel: Their channel (``rest``, ``telegram``, ``wechat``, ...).
        waybill: The parcel's normalised number.
        language: ``zh`` or ``en``: the language notices are written in.
        created_at: When it was first watched.
        expires_at: When it stops being watched unless asked about again.
        last_seen: The last state the customer saw or was told
            (:meth:`bot.proactive.triggers.Snapshot.to_json`), or ``None``.
        ended_at: When the watch ended (delivered, expired), or ``None`` while active.
    """

    id: int
    conversation_id: str
    channel: str
    waybill: str
    language: str
    created_at: datetime
    expires_at: datetime
    last_seen: str | None
    ended_at: datetime | None = None


@dataclass(frozen=True)
class NewNotice:
    """A notice to put in the outbox.

    Attributes:
        conversation_id: Who is told.
        channel: Through which channel.
        waybill: About which parcel.
        kind: One of :data:`bot.policy.model.PROACTIVE_KINDS`.
        change_key: The change's stable key (:class:`bot.proactive.triggers.Change`); a
            conversation gets one notice per parcel and key, ever.
        language: ``zh`` or ``en``.
        text: The message, ready to send.
        created_at: When the change was found.
        due_at: When it may go out (later than ``created_at`` when held by quiet hours or the cap).
    """

    conversation_id: str
    channel: str
    waybill: str
    kind: str
    change_key: str
    language: str
    text: str
    created_at: datetime
    due_at: datetime


@dataclass(frozen=True)
class QueuedNotice(NewNotice):
    """A notice in the outbox.

    Attributes:
        id: Row id.
        status: One of :data:`NOTICE_STATUSES`.
        sent_at: When it was sent (``sent``) or given up (``undeliverable``).
        detail: Why it could not be delivered, or was cancelled (no personal data).
    """

    id: int = 0
    status: str = "pending"
    sent_at: datetime | None = None
    detail: str | None = None
