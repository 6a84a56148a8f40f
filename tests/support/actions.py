"""The action server's services on the demo data, for tests that run actions directly.

Besides :func:`demo_action_services`, the trackers, runners and parcels the action tests share:
the fixed clock :data:`NOW`, the demo parcels, :func:`tracker` / :func:`convo` to build a
``Tracker``, :func:`run` to run an action, :func:`prove` and :func:`slot`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot import services
from bot.common.clock import CHINA_TZ
from bot.policy.model import Policy
from bot.tickets import TicketStore
from bot.tracking import Shipment
from bot.tracking.demo import DemoProvider
from bot.tracking.outlets import OutletDirectory
from tests.support import ROOT

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=CHINA_TZ)
LATE_IN_TRANSIT = "SF1648547086646"
DELIVERED = "SF1873662042955"
HELD_WEATHER = "SF1851694749757"
UNKNOWN = "SF9999999999999"
LOST = "73505720976359"


@contextmanager
def demo_action_services(workdir: Path, now: datetime) -> Iterator[DemoProvider]:
    """Configure ``bot.services`` with the demo provider, outlets, policy and a ticket store in ``workdir``.

    The clock is fixed at ``now``. Everything is closed and the services reset on exit.
    """
    provider = DemoProvider(workdir / "demo.db", ROOT / "fixtures" / "shipments.yml", now=lambda: now)
    provider.seed()  # now, not inside a test's 2.5 s look-up deadline (a loaded machine is slow to seed)
    tickets = TicketStore(f"sqlite:///{workdir / 'tickets.db'}")
    services.configure(
        tracking=provider,
        outlet_directory=OutletDirectory.from_yaml(ROOT / "fixtures" / "outlets.yml"),
        clock=lambda: now,
        ticket_store=tickets,
        service_policy=Policy.load(),
    )
    try:
        yield provider
    finally:
        provider.close()
        tickets.close()
        services.reset()


async def shipment(number: str) -> Shipment:
    """The demo provider's shipment ``number`` (it must exist)."""
    found = await services.provider().get(number)
    assert found is not None
    return found


def tracker(
    text: str,
    slots: dict | None = None,
    response_key: str | None = None,
    loop: str | None = None,
    sender: str = "customer-1",
    events: list | None = None,
):
    latest = {"text": text, "intent": {"name": "track_waybill"}, "entities": []}
    if response_key:
        latest["response_selector"] = {"faq": {"response": {"intent_response_key": response_key}}}
    all_slots = {"language": "zh", "waybill": None, "waybill_attempts": 0, "my_waybills": None}
    all_slots.update(slots or {})
    loop_state = {"name": loop} if loop else {}
    return Tracker(sender, all_slots, latest, events or [], False, None, loop_state, "action_listen")


async def run(action, text: str, **kwargs):
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, tracker(text, **kwargs), {})
    return [m.get("text") or m.get("response") for m in dispatcher.messages], events


def prove(*numbers: str, sender: str = "customer-1") -> None:
    """The conversation proved these parcels are the customer's (as the phone's last four digits do)."""
    for number in numbers:
        services.tickets().record_proof(sender, number, "", "phone_last4", timedelta(days=30))


def slot(events, name):
    values = [e["value"] for e in events if e.get("event") == "slot" and e.get("name") == name]
    assert values, f"slot {name} not set"
    return values[-1]


def convo(*turns: tuple[str, str], slots: dict | None = None, loop: str | None = None) -> Tracker:
    events = []
    for author, text in turns:
        if author == "user":
            events.append({"event": "user", "text": text, "parse_data": {"intent": {"name": "complain_delay"}}})
        else:
            events.append({"event": "bot", "text": text})
    latest = {"text": turns[-1][1], "intent": {"name": "complain_delay", "confidence": 0.9}, "entities": []}
    all_slots = {"language": "zh", "handoff_due": None, "handoff_trigger": None, "waybill": LATE_IN_TRANSIT}
    all_slots.update(slots or {})
    return Tracker("angry-1", all_slots, latest, events, False, None, {"name": loop} if loop else {}, "action_listen")
