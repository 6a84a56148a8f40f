"""What in a watched parcel is worth a notice: pure functions from two observations to changes.

A watch keeps a :class:`Snapshot` of the last state its customer saw or was told. A new
look-up gives a :class:`~bot.tracking.models.Shipment`; :func:`changes` compares the two
and returns the :class:`Change` s to tell, and :func:`snapshot` the next state to keep.

Rules (each kind switched on or off in the policy's ``proactive.notify``):

* ``held``: the parcel becomes held, or held for another reason.
* ``exception``: it becomes lost, damaged or returned to sender.
* ``delivery_failed``: a delivery attempt fails.
* ``out_for_delivery``: the courier sets out with it.
* ``delivered``: it is signed for.
* ``late``: it is not yet delivered and its ETA (or, without one, the current time) is past
  the promise by more than ``late_grace_minutes``: announced as soon as the ETA moves
  past the promise, before the promise itself has passed.

Only *transitions* count: a parcel still held for the same reason gives nothing on the
next scan. The key of a change (:attr:`Change.change_key`) is the kind, its detail (the
hold reason, the status) and a mark of the parcel's scan history at that moment (scan count
and a short hash of the latest scan's place and text), so the same situation gives the
same key on every scan (the outbox refuses a key twice) and a new episode (held again
after moving, a second failed attempt) a new one. The key holds no times on purpose: the
demo fixtures use times relative to "now", and a carrier may re-estimate its ETA on every
read, so times would give a new key on every scan.

First observation (``previous`` is ``None``): it sets the baseline and says nothing,
because a watch started by a look-up already carries what the customer was shown. The
exception: a watch started without that (e.g. from a ticket) announces the states that
need the customer's action or attention: held, exception, delivery failed.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

from bot.policy.model import Policy
from bot.tracking.models import Shipment, Status

EXCEPTION_STATUSES = frozenset({Status.LOST, Status.DAMAGED, Status.RETURNED})
"""Statuses told as an ``exception`` notice."""

NOT_LATE_STATUSES = frozenset({Status.DELIVERED, *EXCEPTION_STATUSES})
"""Statuses for which lateness is no longer news (delivered, or an exception told on its own)."""

_STATUS_KIND = {
    Status.HELD: "held",
    Status.DELIVERY_FAILED: "delivery_failed",
    Status.OUT_FOR_DELIVERY: "out_for_delivery",
    Status.DELIVERED: "delivered",
    **{status: "exception" for status in EXCEPTION_STATUSES},
}
_FIRST_SIGHT_KINDS = frozenset({"held", "exception", "delivery_failed"})


@dataclass(frozen=True)
class Snapshot:
    """What a watcher last saw of a parcel (kept as JSON in the watch's ``last_seen``).

    Attributes:
        status: The status value.
        hold_reason: The hold reason value, or ``None``.
        mark: Scan count and a short hash of the latest scan (see the module docstring).
        late: Whether it was late (or expected late) then.
    """

    status: str
    hold_reason: str | None
    mark: str
    late: bool

    def to_json(self) -> str:
        """The snapshot as compact JSON (the store's ``last_seen``)."""
        return json.dumps(
            {"status": self.status, "hold_reason": self.hold_reason, "mark": self.mark, "late": self.late},
            separators=(",", ":"),
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, value: str | None) -> Snapshot | None:
        """Read a stored snapshot; ``None`` for none or for one this code cannot read (a new baseline)."""
        if not value:
            return None
        try:
            data = json.loads(value)
            return cls(str(data["status"]), data.get("hold_reason"), str(data["mark"]), bool(data["late"]))
        except (ValueError, KeyError, TypeError):
            return None


@dataclass(frozen=True)
class Change:
    """One thing to tell the watcher.

    Attributes:
        kind: One of :data:`bot.policy.model.PROACTIVE_KINDS`.
        change_key: Stable identity of this change (see the module docstring).
    """

    kind: str
    change_key: str


def scan_mark(shipment: Shipment) -> str:
    """The scan count and a short hash of the latest scan's place and text (no times)."""
    latest = shipment.latest
    if latest is None:
        return "0"
    digest = hashlib.sha256(f"{latest.location}\x1f{latest.description}".encode()).hexdigest()[:8]
    return f"{len(shipment.events)}-{digest}"


def is_late(shipment: Shipment, now: datetime, policy: Policy) -> bool:
    """Whether an undelivered parcel is, or is expected to be, past its promise beyond the grace."""
    if shipment.status in NOT_LATE_STATUSES or shipment.promised_at is None:
        return False
    reference = max(now, shipment.eta) if shipment.eta is not None else now
    return reference - shipment.promised_at > policy.proactive.late_grace


def snapshot(shipment: Shipment, now: datetime, policy: Policy) -> Snapshot:
    """The state of a parcel to keep as the watcher's ``last_seen``."""
    reason = shipment.hold_reason.value if shipment.hold_reason and shipment.status is Status.HELD else None
    return Snapshot(shipment.status.value, reason, scan_mark(shipment), is_late(shipment, now, policy))


def changes(previous: Snapshot | None, shipment: Shipment, now: datetime, policy: Policy) -> list[Change]:
    """The changes between what the watcher saw and the parcel now, in the order to tell them.

    Args:
        previous: The watch's last snapshot; ``None`` when it has none (see the module docstring).
        shipment: The parcel as the provider reports it now.
        now: The current time (aware).
        policy: The policy (its ``proactive`` section switches kinds and sets the grace).

    Returns:
        The changes; empty when nothing new (or only switched-off kinds) happened.
    """
    current = snapshot(shipment, now, policy)
    found: list[Change] = []
    kind = _STATUS_KIND.get(shipment.status)
    if kind is not None and _status_changed(previous, current):
        if previous is not None or kind in _FIRST_SIGHT_KINDS:
            found.append(Change(kind, _status_key(kind, current)))
    if current.late and previous is not None and not previous.late:
        found.append(Change("late", f"late:{current.mark}"))
    return [change for change in found if policy.proactive.sends(change.kind)]


def _status_changed(previous: Snapshot | None, current: Snapshot) -> bool:
    if previous is None:
        return True
    return previous.status != current.status or previous.hold_reason != current.hold_reason


def _status_key(kind: str, current: Snapshot) -> str:
    if kind == "delivered":
        return "delivered"  # once per parcel and watcher, whatever the scans say
    if kind == "held":
        return f"held:{current.hold_reason or '-'}:{current.mark}"
    if kind == "exception":
        return f"exception:{current.status}:{current.mark}"
    return f"{kind}:{current.mark}"
