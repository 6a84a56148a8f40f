"""The ticket store's parts on their own: the opening fields, CSV cells, owner-only files."""

from __future__ import annotations

import io
import stat
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from bot.common.files import owner_only_file
from bot.tickets import Deadlines, Decision, NewTicket, Ticket, TicketStatus, TicketStore, TicketType
from bot.tickets.export import CSV_COLUMNS, csv_cell, write_csv
from bot.tickets.models import required_text
from bot.tickets.store import ticket_columns

T0 = datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc)


def _fields(**changes: object) -> dict[str, object]:
    fields: dict[str, object] = {
        "type": "delay",
        "level": 3,
        "conversation_id": " wx:alice ",
        "channel": "wechat",
        "summary": "call 13912342846",
        "deadlines": Deadlines(respond_by=T0, resolve_by=T0 + timedelta(hours=1)),
    }
    fields.update(changes)
    return fields


def test_new_ticket_names_every_opening_field() -> None:
    assert set(NewTicket.__annotations__) == {
        "type", "level", "conversation_id", "channel", "summary", "deadlines", "waybill", "actor", "note",
    }  # fmt: skip
    assert NewTicket.__required_keys__ == {"type", "level", "conversation_id", "channel", "summary", "deadlines"}


def test_ticket_columns_checks_and_defaults_the_fields() -> None:
    values, actor, note = ticket_columns(_fields())
    assert values["type"] == "delay" and values["status"] == "open" and values["level"] == 3
    assert values["conversation_id"] == "wx:alice" and values["waybill"] is None
    assert "13912342846" not in values["summary"]
    assert values["escalate_by"] is None and values["update_after"] is None
    assert (actor, note) == ("bot", "")
    _, actor, note = ticket_columns(_fields(actor=" agent:li ", note="hi", waybill=" SF1 "))
    assert (actor, note) == ("agent:li", "hi")


@pytest.mark.parametrize(
    ("changes", "error", "match"),
    [
        ({"colour": "red"}, TypeError, "no field 'colour'"),
        ({"level": 4}, ValueError, "level must be one of"),
        ({"type": "parcel"}, ValueError, "parcel"),
        ({"channel": "  "}, ValueError, "channel must not be empty"),
        ({"deadlines": Deadlines(respond_by=datetime(2026, 1, 1), resolve_by=T0)}, ValueError, "respond_by"),
    ],
)
def test_ticket_columns_refuses_bad_fields(changes: dict[str, object], error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        ticket_columns(_fields(**changes))


def test_ticket_columns_refuses_missing_fields() -> None:
    fields = _fields()
    del fields["summary"]
    with pytest.raises(TypeError, match="summary"):
        ticket_columns(fields)


def test_open_refuses_an_unknown_field_before_touching_the_database(tmp_path: Path) -> None:
    store = TicketStore(f"sqlite:///{tmp_path / 'tickets.db'}")
    with pytest.raises(TypeError):
        store.open(**_fields(colour="red"))  # type: ignore[arg-type]
    assert not (tmp_path / "tickets.db").exists()
    store.close()


def test_required_text() -> None:
    assert required_text("  a b ", "name", 3) == "a b"
    with pytest.raises(ValueError, match="name must not be empty"):
        required_text(" ", "name", 3)
    with pytest.raises(ValueError, match="name is longer than 3 characters"):
        required_text("abcd", "name", 3)


def test_csv_cell() -> None:
    assert csv_cell(None) == ""
    assert csv_cell(T0) == "2026-11-23T02:00:00+00:00"
    cells = [csv_cell(v) for v in ("=1+1", "+1", "-1", "@A", "\tx", "ok")]
    assert cells == ["'=1+1", "'+1", "'-1", "'@A", "'\tx", "ok"]
    assert csv_cell(3) == 3


def test_write_csv_keeps_the_given_order() -> None:
    def ticket(ticket_id: str) -> Ticket:
        return Ticket(
            id=ticket_id, type=TicketType.DELAY, level=3, status=TicketStatus.OPEN, conversation_id="c", channel="rest",
            waybill=None, summary="=cmd", respond_by=T0, resolve_by=T0, escalate_by=None, update_after=None,
            decision=Decision("coupon", Decimal("5.00"), "delay_coupon"), created_at=T0, updated_at=T0,
        )  # fmt: skip

    out = io.StringIO()
    assert write_csv(iter([ticket("TK-2"), ticket("TK-1")]), out) == 2
    lines = out.getvalue().splitlines()
    assert lines[0] == ",".join(CSV_COLUMNS)
    assert [line.split(",")[0] for line in lines[1:]] == ["TK-2", "TK-1"]
    assert ",'=cmd," in lines[1] and ",coupon,5.00,delay_coupon,0," in lines[1]


def test_owner_only_file_creates_and_narrows(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "data.db"
    owner_only_file(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    path.write_text("kept")
    path.chmod(0o644)
    owner_only_file(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and path.read_text() == "kept"
