"""Finding a customer's parcels without a waybill number: phone plus receiver name."""

from __future__ import annotations

import logging
import re
import unicodedata
from typing import Any, Dict, List

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from bot import services
from bot.common.i18n import language
from bot.identity import ownership
from bot.missing.service import flow_intent
from bot.tickets.service import Requester
from bot.tracking import ProviderError, messages
from bot.tracking import service as tracking

logger = logging.getLogger(__name__)

MOBILE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
NAME = re.compile(r"^[\w·・.\- ]{1,30}$")
STOP_INTENTS = frozenset({"deny", "goodbye", "request_human", "faq"})
"""Intents that leave the form to the dialogue rules instead of filling a slot."""


def extract_mobile(text: str) -> str | None:
    """The first Chinese mobile number in ``text`` (spaces, dashes, full-width allowed)."""
    flat = re.sub(r"[\s\-]", "", unicodedata.normalize("NFKC", text or ""))
    found = MOBILE.search(flat)
    return found.group(0) if found else None


def clean_name(text: str) -> str | None:
    """A plausible person's name from the customer's reply, or ``None``."""
    name = unicodedata.normalize("NFKC", text or "").strip()
    for prefix in ("收件人是", "收件人叫", "收件人", "我叫", "名字是", "姓名", "name is", "my name is"):
        if name.lower().startswith(prefix):
            name = name[len(prefix) :].strip(" :：")
    if not name or any(ch.isdigit() for ch in name) or not NAME.match(name):
        return None
    return name


def _reply_for(tracker: Tracker, slot: str, recognise: Any) -> Dict[str, Any]:
    """The customer's reply as the value of the slot being asked for.

    Args:
        tracker: The conversation.
        slot: The slot this extraction fills.
        recognise: Returns a value found in the text whatever its intent, or ``None``.

    Returns:
        ``{slot: value}``, or ``{}`` when the slot is not being asked for or the
        customer wants out (then the dialogue rules take over).
    """
    if tracker.get_slot("requested_slot") != slot or tracker.active_loop_name != "phone_lookup_form":
        return {}
    text = tracker.latest_message.get("text") or ""
    found = recognise(text)
    if found:
        return {slot: found}
    intent = (tracker.latest_message.get("intent") or {}).get("name")
    if intent in STOP_INTENTS:
        return {}
    return {slot: text}


class ValidatePhoneLookupForm(FormValidationAction):
    """Validates the phone number and receiver name."""

    def name(self) -> str:
        """Action name used in the domain."""
        return "validate_phone_lookup_form"

    async def extract_phone(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        """Takes the reply as the phone, unless the customer is leaving or asking something else."""
        return _reply_for(tracker, "phone", extract_mobile)

    async def extract_receiver_name(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        """Takes the reply as the receiver's name, unless the customer is leaving."""
        return _reply_for(tracker, "receiver_name", lambda _: None)

    async def validate_phone(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> Dict[str, Any]:
        """Accepts an 11-digit mainland mobile number."""
        phone = extract_mobile(str(slot_value or ""))
        if phone is None:
            dispatcher.utter_message(response="utter_invalid_phone")
        return {"phone": phone}

    async def validate_receiver_name(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> Dict[str, Any]:
        """Accepts a name of letters (any script), without digits."""
        name = clean_name(str(slot_value or ""))
        if name is None:
            dispatcher.utter_message(response="utter_invalid_receiver_name")
        return {"receiver_name": name}


class ActionLookupByPhone(Action):
    """Lists the parcels whose receiver phone and name both match."""

    def name(self) -> str:
        """Action name used in the domain."""
        return "action_lookup_by_phone"

    async def run(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> List[Dict[str, Any]]:
        """Looks the shipments up and explains each one."""
        lang = language(tracker.get_slot("language"))
        phone = tracker.get_slot("phone") or ""
        name = tracker.get_slot("receiver_name") or ""
        forget = [SlotSet("phone", None), SlotSet("receiver_name", None)]
        try:
            shipments = await tracking.find_by_phone(phone, name)
        except ProviderError as exc:
            logger.warning("phone lookup failed: %s", type(exc).__name__)
            dispatcher.utter_message(text=messages.provider_down(lang))
            return forget
        if not shipments:
            dispatcher.utter_message(response="utter_phone_no_match")
            return forget
        dispatcher.utter_message(text=messages.several_found(len(shipments), lang))
        now = services.now()
        requester = Requester(tracker.sender_id, tracker.get_latest_input_channel() or "rest")
        reported = flow_intent(tracker) == "report_missing"
        ticket_id: str | None = None
        choice: Dict[str, Any] | None = None
        for shipment in shipments:  # phone and name both matched: a proof for each parcel found
            await ownership.remember(tracker.sender_id, shipment, "phone_lookup", phone)
            answer = await tracking.answer(requester, shipment, lang, now, reported_missing=reported)
            dispatcher.utter_message(text=answer.text, buttons=answer.quick_replies(lang))
            ticket_id, choice = answer.ticket_id or ticket_id, answer.choice or choice
        own = list(tracker.get_slot("my_waybills") or [])
        events = forget + [SlotSet("my_waybills", tracking.remember(own, [s.waybill for s in shipments]))]
        events += [SlotSet("ticket_id", ticket_id)] if ticket_id else []
        return events + ([SlotSet("delay_choice", choice)] if choice else [])


class ActionStopLookup(Action):
    """Ends a tracking form the customer no longer wants to fill in."""

    def name(self) -> str:
        """Action name used in the domain."""
        return "action_stop_lookup"

    async def run(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> List[Dict[str, Any]]:
        """Clears the form's slots and says so."""
        dispatcher.utter_message(response="utter_lookup_stopped")
        return [
            SlotSet("waybill", None),
            SlotSet("waybill_attempts", 0),
            SlotSet("phone", None),
            SlotSet("receiver_name", None),
        ]
