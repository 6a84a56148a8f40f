"""Notice texts: per kind and language, only what the watcher may see."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from bot.common.clock import CHINA_TZ
from bot.proactive.wording import notice_text
from bot.tracking.models import ScanEvent, Shipment, Status

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=CHINA_TZ)
H = timedelta(hours=1)
EVENTS = (ScanEvent(NOW - H, "广州市", "【广州市】已签收，签收人：前台"),)
DELIVERED = Shipment("SF1234567890123", "SF", Status.DELIVERED, EVENTS, delivered_at=NOW - H, signed_by="前台")
LATE = Shipment("SF1234567890123", "SF", Status.IN_TRANSIT, EVENTS, promised_at=NOW + 2 * H, eta=NOW + 30 * H)


def test_delivery_details_only_for_a_proven_owner() -> None:
    assert "Signed for by 前台" in notice_text("delivered", DELIVERED, "en", NOW, owner=True)
    public = notice_text("delivered", DELIVERED, "en", NOW, owner=False)
    assert "前台" not in public and "Delivered at" in public and public.startswith("Update on your parcel")
    assert "签收人：前台" not in notice_text("delivered", DELIVERED, "zh", NOW, owner=False)


def test_late_is_the_public_line_ahead_or_overdue() -> None:
    ahead = notice_text("late", LATE, "zh", NOW, owner=True)
    assert "可能无法在承诺时间" in ahead and "元" not in ahead
    overdue = notice_text("late", LATE, "en", NOW + 40 * H, owner=False)
    assert "past its promised time" in overdue and "1 day 14 hours" in overdue


def test_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown notice kind"):
        notice_text("gossip", LATE, "en", NOW, owner=False)
