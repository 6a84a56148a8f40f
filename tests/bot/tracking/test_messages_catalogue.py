"""Every per-member text key of the tracking, ticket, delay and identity messages exists in both languages."""

from __future__ import annotations

import pytest

from bot.common.i18n import LANGUAGES, catalogue
from bot.delay import options as delay_options
from bot.identity import proof
from bot.tickets import TicketStatus, TicketType
from bot.tickets import messages as ticket_messages
from bot.tracking import HoldReason, Status
from bot.tracking import messages as tracking_messages

DYNAMIC_KEYS = [
    *(f"tracking.status.{s.value}" for s in Status),
    *(f"tracking.next.{s.value}" for s in tracking_messages.NEXT_STATUSES),
    *(f"tracking.hold.{r.value}" for r in HoldReason),
    *(f"tracking.hold_next.{r.value}" for r in tracking_messages.HOLD_NEXT_REASONS),
    *(f"tickets.type.{t.value}" for t in TicketType),
    *(f"tickets.status.{s.value}" for s in TicketStatus),
    *(f"delay.offer.{kind}" for kind in ticket_messages.OFFER_KINDS),
    *(f"delay.option.{option}" for option in delay_options.OPTIONS),
    *(f"delay.confirm.{option}" for option in delay_options.OPTIONS),
    *(f"identity.ask.{purpose}" for purpose in proof.PURPOSES),
    *(f"identity.offer_kind.{kind}" for kind in proof.OFFER_KINDS),
]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_member_has_its_key(lang: str) -> None:
    missing = [key for key in DYNAMIC_KEYS if key not in catalogue(lang)]
    assert missing == []


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_status_has_a_text(lang: str) -> None:
    assert all(tracking_messages.status_text(status, lang) for status in Status)
    assert all(ticket_messages.type_text(kind, lang) for kind in TicketType)
    assert all(ticket_messages.status_text(status, lang) for status in TicketStatus)
