"""The company's service policy, as read from ``policy/policy.yml``: one dataclass per section.

Every number lives in the policy file; :meth:`Policy.load` reads it and
:mod:`bot.policy.loader` checks it, naming the offending key in a :class:`ValueError`.
What the policy decides lives next to it: offers for damaged and late parcels in
:mod:`bot.policy.offers`, ticket deadlines and business hours in :mod:`bot.policy.deadlines`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot.settings import PROJECT_ROOT

DEFAULT_POLICY_PATH = PROJECT_ROOT / "policy" / "policy.yml"
"""Where the repository keeps the policy file."""


@dataclass(frozen=True)
class TicketLevel:
    """Deadlines of one ticket level."""

    level: int
    name: str
    respond_within: timedelta
    resolve_within: timedelta
    escalate_within: timedelta | None
    update_if_open_after: timedelta | None


@dataclass(frozen=True)
class DamagePolicy:
    """Rules for damaged shipments (shares are fractions, 0.05 = 5 %)."""

    reship_max_share: Decimal
    uninsured_freight_multiple: Decimal
    fast_track_below: Decimal
    fast_track_requires_photos: bool
    ticket_level_reship: int
    ticket_level_compensate: int
    ticket_level_fast_track: int
    ticket_level_unknown_extent: int


@dataclass(frozen=True)
class DelayPolicy:
    """Rules for late shipments (percentages as fractions, 0.2 = 20 %)."""

    held_threshold: timedelta
    coupon_max_late: timedelta
    coupon_share_of_freight: Decimal
    coupon_min: Decimal
    refund_share_per_day: Decimal
    refund_max_share: Decimal
    sla_after: timedelta
    sla_share_of_freight: Decimal
    ticket_level: int


@dataclass(frozen=True)
class BusinessHours:
    """When human agents are available: ``opens <= local time < closes`` on ``days``."""

    timezone: ZoneInfo
    opens: time
    closes: time
    days: frozenset[int]
    """ISO weekdays, 1 = Monday ... 7 = Sunday."""


HANDOFF_REASONS = (
    "legal_threat", "incident", "anger", "above_cap", "offer_rejected", "fallbacks", "stuck", "explicit_request",
)  # fmt: skip
"""Why a conversation goes to a human; the order breaks ties between equally urgent reasons."""


@dataclass(frozen=True)
class HandoffPolicy:
    """When the bot hands a conversation to a human, and at which ticket level.

    Attributes:
        anger_threshold: Anger score (0..1) at or above which a customer is handed over.
        anger_level_1_threshold: Anger score at or above which the ticket is level 1.
        fallbacks_in_a_row: Unclear or off-topic messages in a row after which a person is offered.
        same_question_times: The same question, the same request rephrased, or a form question
            asked this many times without progress: the conversation is ``stuck`` and a person offered.
        levels: Ticket level per reason in :data:`HANDOFF_REASONS` (``anger`` below the level-1 threshold).
        wait_per_chat: Expected handling time per waiting chat, for the wait the customer is told.
    """

    anger_threshold: float
    anger_level_1_threshold: float
    fallbacks_in_a_row: int
    same_question_times: int
    levels: Mapping[str, int]
    wait_per_chat: timedelta


PROACTIVE_KINDS = ("late", "held", "exception", "delivery_failed", "out_for_delivery", "delivered")
"""Kinds of proactive notice, each switchable in the policy's ``proactive.notify``."""


@dataclass(frozen=True)
class ProactivePolicy:
    """Notices the assistant sends before the customer asks (``proactive:`` in the policy file).

    Attributes:
        quiet_start: Quiet hours begin (China time, inclusive); notices wait until they end.
        quiet_end: Quiet hours end (China time, exclusive); may be earlier than ``quiet_start``
            (the quiet hours then span midnight). Equal to ``quiet_start``: no quiet hours.
        max_notices_per_day: Notices one conversation may get per China calendar day.
        scan_interval: Time between two scans of the watched parcels.
        watch_retention: How long a parcel stays watched after the customer last asked about it.
        notify: Whether each kind in :data:`PROACTIVE_KINDS` is sent.
        late_grace: How far past its promise a parcel must be (or be expected) to count as late.
    """

    quiet_start: time
    quiet_end: time
    max_notices_per_day: int
    scan_interval: timedelta
    watch_retention: timedelta
    notify: Mapping[str, bool]
    late_grace: timedelta

    def sends(self, kind: str) -> bool:
        """Whether notices of this kind are switched on."""
        return self.notify.get(kind, False)


@dataclass(frozen=True)
class Policy:
    """The whole service policy, as read from ``policy.yml``."""

    currency: str
    cap: Decimal
    above_cap_ticket_level: int
    tickets: Mapping[int, TicketLevel]
    damage: DamagePolicy
    delay: DelayPolicy
    business_hours: BusinessHours
    missing_ticket_level: int
    handoff: HandoffPolicy
    proactive: ProactivePolicy

    @classmethod
    def load(cls, path: str | Path = DEFAULT_POLICY_PATH) -> Policy:
        """Read and validate a policy file.

        Args:
            path: The YAML file.

        Returns:
            The policy.

        Raises:
            OSError: The file cannot be read.
            ValueError: The file is not valid YAML or a key is missing or invalid;
                the message names the key.
        """
        from bot.policy.loader import load_policy  # the loader builds this class: imported when used

        return load_policy(path)

    @classmethod
    def from_mapping(cls, data: Any) -> Policy:
        """Build a policy from already-parsed YAML data.

        Args:
            data: The mapping of the policy file's top level.

        Returns:
            The policy.

        Raises:
            ValueError: A key is missing or invalid; the message names the key.
        """
        from bot.policy.loader import policy_from_mapping  # the loader builds this class: imported when used

        return policy_from_mapping(data)
