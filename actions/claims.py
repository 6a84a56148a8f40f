"""The damage-claim form: slots in, ``bot.claims.service`` decides, the customer is told, slots out.

The form (``damage_claim_form``) asks for the waybill, the receiver phone's last four digits
(unless proven), what is damaged, a description, photos of the packaging and the contents, the
extent, the value, whether the packaging is kept, the summary and (when the policy makes one)
the offer. Every slot has an ``extract_*`` method, so answers count whatever intent NLU gives
them; :func:`bot.claims.replies.read_answer` says what a reply means (an answer, "stop",
another request, or nothing readable: asked again, the claim pausing at the third).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Awaitable, Callable, Dict, List

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from bot.claims import answers, replies, wording
from bot.claims import service as claims
from bot.claims.attachments import references
from bot.claims.draft import ClaimDraft, ParcelFacts
from bot.common import i18n
from bot.common.i18n import language
from bot.identity import proof as identity
from bot.tickets.service import Requester
from bot.tracking.service import remember
from bot.tracking.waybill import find_waybills

logger = logging.getLogger(__name__)

Dispatcher = CollectingDispatcher
Slots = Dict[str, Any]
Events = List[Dict[str, Any]]

FORM = "damage_claim_form"
PHOTO_SLOTS = ("claim_photos_outer", "claim_photos_contents")
ANSWER_SLOTS = ("claim_part", "claim_description", "claim_extent", "claim_value", "claim_packaging_kept")
"""Answers asked again when the customer says the summary is wrong (photos are kept)."""
CLAIM_SLOTS = (
    "claim_waybill", "claim_owner", "claim_parcel", *ANSWER_SLOTS, *PHOTO_SLOTS, "claim_confirmed",
    "claim_offer_accepted", "claim_attempts", "claim_paused",
)  # fmt: skip
"""Every slot of a claim; all are cleared once the ticket is open."""
REQUIRED = (
    "claim_waybill", "claim_owner", "claim_part", "claim_description", *PHOTO_SLOTS, "claim_extent",
    "claim_value", "claim_packaging_kept", "claim_confirmed",
)  # fmt: skip
PAUSED = "claim_paused"
"""Set when the customer stops mid-claim: the form ends, the answers stay for a later resume."""
ATTEMPTS = "claim_attempts"
"""Failed answers to the question being asked (reset by an answer); at the third the claim pauses."""
SIDE_SLOTS = (PAUSED, ATTEMPTS)
"""Slots the extractors set besides the form's own (the SDK returns only validated form slots)."""


def _latest_metadata(tracker: Tracker) -> Any:
    """Metadata of the customer's latest message (where channels put attachment references)."""
    return next((e.get("metadata") for e in reversed(tracker.events or []) if e.get("event") == "user"), None)


def _lang(tracker: Tracker) -> str:
    return language(tracker.get_slot("language"))


def _reply(tracker: Tracker) -> replies.Reply:
    intent = tracker.latest_message.get("intent") or {}
    text = tracker.latest_message.get("text") or ""
    return replies.Reply(text, intent.get("name"), float(intent.get("confidence") or 0.0))


def _answered(tracker: Tracker) -> Slots:
    """Reset the failed-answer count once a question is answered."""
    return {ATTEMPTS: 0} if tracker.get_slot(ATTEMPTS) else {}


TEXT_ANSWERS: Dict[str, Callable[[str], Any]] = {
    "claim_part": answers.parse_part,  # outer packaging, contents or both
    "claim_description": answers.parse_description,  # the customer's own words
    "claim_extent": answers.parse_extent,  # a damaged share, a repair estimate or "don't know"
    "claim_value": answers.parse_value_slot,  # yuan, kept as a string: money is never a float
    "claim_packaging_kept": answers.parse_yes_no_for("claim_packaging_kept"),
    "claim_confirmed": answers.parse_yes_no_for("claim_confirmed"),  # no: the answers are asked again
    "claim_offer_accepted": answers.parse_yes_no_for("claim_offer_accepted"),  # no: a specialist reviews it
}
"""The questions answered in words, and how each reply is read."""


def _extractor(slot: str) -> Callable[..., Awaitable[Slots]]:
    """The ``extract_<slot>`` method of a photo question or of a question in :data:`TEXT_ANSWERS`."""

    async def extract(form: ValidateDamageClaimForm, dispatcher: Dispatcher, tracker: Tracker, _: DomainDict) -> Slots:
        if slot in PHOTO_SLOTS:
            return form._photos(dispatcher, tracker, slot)
        return form._answer(dispatcher, tracker, slot, TEXT_ANSWERS[slot])

    extract.__doc__ = f"The reply (or photos) as ``{slot}`` when that is what it answers."
    return extract


class _NamedAction(Action):
    """An action whose domain name is the class attribute ``action_name``."""

    action_name = ""

    def name(self) -> str:
        """Action name used in the domain."""
        return self.action_name


class ValidateDamageClaimForm(FormValidationAction):
    """Extracts and checks every answer of the damage-claim form."""

    def name(self) -> str:
        """Action name used in the domain."""
        return "validate_damage_claim_form"

    async def required_slots(
        self, domain_slots: List[str], dispatcher: Dispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[str]:
        """The fixed questions, plus "do you accept?" when the policy makes an offer; none once paused."""
        if tracker.get_slot(PAUSED):
            return []
        slots = list(REQUIRED)
        if tracker.get_slot("claim_confirmed") is True and claims.asks_offer(ClaimDraft.from_slots(tracker.slots)):
            slots.append("claim_offer_accepted")
        return slots

    async def run(self, dispatcher: Dispatcher, tracker: Tracker, domain: DomainDict) -> Events:
        """Validates as usual, returning too the pause and failed-answer count an extractor set.

        The SDK returns only validated form slots, and Rasa rejects a form turn that sets none:
        ``claim_paused`` makes "stop" a valid answer that ends the form.
        """
        before = {name: tracker.get_slot(name) for name in SIDE_SLOTS}
        events = await super().run(dispatcher, tracker, domain)
        returned = {e.get("name") for e in events if e.get("event") == "slot"}
        for name in SIDE_SLOTS:
            value = tracker.get_slot(name)
            if value != before[name] and name not in returned:
                events.append(SlotSet(name, value))
        return events

    def _answer(self, dispatcher: Dispatcher, tracker: Tracker, slot: str, parse: Callable[[str], Any]) -> Slots:
        """The reply as the value of ``slot`` when it is the question being asked (see ``read_answer``)."""
        if tracker.active_loop_name != FORM or tracker.get_slot("requested_slot") != slot:
            return {}
        reading = replies.read_answer(slot, _reply(tracker), parse)
        return self._after(dispatcher, tracker, slot, reading.verdict, reading.value)

    def _after(
        self, dispatcher: Dispatcher, tracker: Tracker, slot: str, verdict: replies.Verdict, value: Any = None
    ) -> Slots:
        lang = _lang(tracker)
        if verdict is replies.Verdict.ANSWER:
            return {slot: value, **_answered(tracker)}
        if verdict is replies.Verdict.STOP:
            dispatcher.utter_message(text=i18n.text("claims.form.paused", lang))
            return {PAUSED: True}  # the form ends, the answers stay; the submit action files nothing
        if verdict is replies.Verdict.ELSEWHERE:
            return {}
        return self._failed(dispatcher, tracker, slot, lang)

    @staticmethod
    def _failed(dispatcher: Dispatcher, tracker: Tracker, slot: str, lang: str) -> Slots:
        """One more reply that answered nothing: ask again, or pause after the third and offer a person."""
        attempts, last = replies.failed_once_more(tracker.get_slot(ATTEMPTS))
        if last:
            dispatcher.utter_message(text=wording.gave_up_text(ClaimDraft.from_slots(tracker.slots), lang))
            return {PAUSED: True}  # resuming starts the count afresh
        if slot == "claim_waybill":
            dispatcher.utter_message(text=i18n.text("claims.form.waybill_hint", lang))
        return {slot: None, ATTEMPTS: attempts}

    async def extract_claim_waybill(self, dispatcher: Dispatcher, tracker: Tracker, domain: DomainDict) -> Slots:
        """A number in the message; at the start, the parcel just looked up."""
        if tracker.get_slot("claim_waybill") or tracker.get_slot("requested_slot") not in (None, "claim_waybill"):
            return {}
        found = find_waybills(_reply(tracker).text)
        if found:
            return {"claim_waybill": found[0].number}
        if tracker.get_slot("requested_slot") is None:
            recent = tracker.get_slot("waybill")
            numbers = find_waybills(recent) if isinstance(recent, str) else []
            return {"claim_waybill": numbers[0].number} if numbers else {}
        return self._answer(dispatcher, tracker, "claim_waybill", lambda _: None) or {}

    extract_claim_part = _extractor("claim_part")
    extract_claim_description = _extractor("claim_description")
    extract_claim_extent = _extractor("claim_extent")
    extract_claim_value = _extractor("claim_value")
    extract_claim_packaging_kept = _extractor("claim_packaging_kept")
    extract_claim_confirmed = _extractor("claim_confirmed")

    async def extract_claim_offer_accepted(self, dispatcher: Dispatcher, tracker: Tracker, domain: DomainDict) -> Slots:
        """Yes (accept) or no (a specialist reviews it)."""
        if tracker.get_slot("requested_slot") == "claim_offer_accepted" and answers.is_stop(_reply(tracker).text):
            return {"claim_offer_accepted": False, **_answered(tracker)}  # "算了" to an offer is a refusal
        return self._answer(dispatcher, tracker, "claim_offer_accepted", TEXT_ANSWERS["claim_offer_accepted"])

    extract_claim_photos_outer = _extractor("claim_photos_outer")  # or the first side still missing
    extract_claim_photos_contents = _extractor("claim_photos_contents")  # or when the packaging has some

    def _photos(self, dispatcher: Dispatcher, tracker: Tracker, slot: str) -> Slots:
        if tracker.active_loop_name != FORM:
            return {}
        refs = references(_latest_metadata(tracker))
        requested = tracker.get_slot("requested_slot")
        if not refs:
            if requested != slot:
                return {}
            return self._after(dispatcher, tracker, slot, replies.read_without_photo(_reply(tracker)))
        if claims.photo_target(requested, bool(tracker.get_slot("claim_photos_outer"))) != slot:
            return {}
        lang = _lang(tracker)
        for text in claims.refusals(refs, lang):
            dispatcher.utter_message(text=text)
        good = [ref for ref in refs if ref.error is None]
        if not good:
            if requested != slot:
                return {slot: tracker.get_slot(slot) or None}  # sent while another question is asked
            return self._failed(dispatcher, tracker, slot, lang)
        dispatcher.utter_message(text=i18n.text("claims.form.photo_ok", lang, count=len(good)))
        return {slot: claims.with_photos(tracker.get_slot(slot), good), **_answered(tracker)}

    async def validate_claim_waybill(
        self, slot_value: Any, dispatcher: Dispatcher, tracker: Tracker, domain: DomainDict
    ) -> Slots:
        """The parcel must exist, be claimable, and not have an open claim already."""
        if not slot_value:
            return {"claim_waybill": None}
        known = ParcelFacts.from_slot(tracker.get_slot("claim_parcel"))
        if known is not None and known.waybill == slot_value:
            return {"claim_waybill": slot_value}  # resuming: checked when it was given
        check = await claims.check_parcel(
            tracker.sender_id, str(slot_value), tracker.get_slot(ATTEMPTS), _lang(tracker)
        )
        if check.verdict is claims.ParcelVerdict.NO_NUMBER:
            dispatcher.utter_message(response="utter_invalid_waybill")
        for text in check.messages:
            dispatcher.utter_message(text=text)
        result: Slots = {PAUSED: True} if check.paused else {}
        if check.attempts is not None:
            result[ATTEMPTS] = check.attempts
        if check.shipment is None:
            return {"claim_waybill": None, **result}
        own = list(tracker.get_slot("my_waybills") or [])
        return {
            "claim_waybill": check.shipment.waybill,
            "claim_parcel": ParcelFacts.from_shipment(check.shipment).to_slot(),
            "my_waybills": remember(own, [check.shipment.waybill]),
            "claim_owner": True if check.proven else None,  # else asked next: the receiver phone's last four digits
            **result,
        }

    async def extract_claim_owner(self, dispatcher: Dispatcher, tracker: Tracker, domain: DomainDict) -> Slots:
        """Four digits in the reply, whatever the intent (a wrong answer is counted by the validator)."""
        if tracker.active_loop_name != FORM or tracker.get_slot("requested_slot") != "claim_owner":
            return {}
        digits = identity.last_four(_reply(tracker).text)
        if digits is not None:
            return {"claim_owner": digits}
        return self._answer(dispatcher, tracker, "claim_owner", lambda _: None)

    async def validate_claim_owner(
        self, slot_value: Any, dispatcher: Dispatcher, tracker: Tracker, domain: DomainDict
    ) -> Slots:
        """The receiver phone's last four digits prove the parcel is the customer's; three wrong answers pause."""
        if slot_value is True or slot_value is None:
            return {"claim_owner": slot_value}
        parcel = ParcelFacts.from_slot(tracker.get_slot("claim_parcel"))
        check = await claims.check_owner(
            tracker.sender_id, parcel, str(slot_value), tracker.get_slot(ATTEMPTS), _lang(tracker)
        )
        result: Dict[str, Any] = {"claim_owner": True if check.verdict is claims.OwnerVerdict.PROVEN else None}
        if check.verdict is claims.OwnerVerdict.PAUSED:
            dispatcher.utter_message(text=check.message)
            result[PAUSED] = True
        if check.attempts is not None:
            result[ATTEMPTS] = check.attempts
        return result

    async def validate_claim_confirmed(
        self, slot_value: Any, dispatcher: Dispatcher, tracker: Tracker, domain: DomainDict
    ) -> Slots:
        """A "no" to the summary asks the answers again; the parcel and photos are kept."""
        if slot_value is False:
            dispatcher.utter_message(text=i18n.text("claims.form.redo", _lang(tracker)))
            return {"claim_confirmed": None, **{slot: None for slot in ANSWER_SLOTS}}
        return {"claim_confirmed": slot_value}


class _ActionAskClaim(Action):
    """Asks one claim question: the domain's ``utter_ask_<slot>`` first, then what ``bot.claims.service`` composes."""

    slot = ""

    def name(self) -> str:
        """Action name used in the domain (the form finds it as ``action_ask_<slot>``)."""
        return f"action_ask_{self.slot}"

    async def run(self, dispatcher: Dispatcher, tracker: Tracker, domain: DomainDict) -> Events:
        """Utters the question, the summary or offer, or the re-ask after a reply that answered nothing."""
        message = claims.question(tracker.slots, self.slot, _lang(tracker))
        if message is claims.DOMAIN_QUESTION:
            dispatcher.utter_message(response=f"utter_ask_{self.slot}")
        elif message is not None:
            dispatcher.utter_message(text=message.text, buttons=list(message.buttons))
        return []


def _ask_action(slot: str, doc: str) -> type[_ActionAskClaim]:
    """The ``action_ask_<slot>`` action of one question (they differ only by the slot)."""
    name = "ActionAsk" + "".join(word.title() for word in slot.split("_"))
    return type(name, (_ActionAskClaim,), {"slot": slot, "__doc__": doc, "__module__": __name__})


ActionAskClaimOwner = _ask_action("claim_owner", "The receiver phone's last four digits, or the tries left.")
ActionAskClaimPart = _ask_action("claim_part", "What is damaged.")
ActionAskClaimDescription = _ask_action("claim_description", "A few words on the damage.")
ActionAskClaimPhotosOuter = _ask_action("claim_photos_outer", "Photos of the packaging.")
ActionAskClaimPhotosContents = _ask_action("claim_photos_contents", "Photos of the contents.")
ActionAskClaimExtent = _ask_action("claim_extent", "How much is damaged.")
ActionAskClaimValue = _ask_action("claim_value", "What the goods are worth.")
ActionAskClaimPackagingKept = _ask_action("claim_packaging_kept", "Whether the packaging is kept.")
ActionAskClaimConfirmed = _ask_action("claim_confirmed", "The summary, to confirm.")
ActionAskClaimOfferAccepted = _ask_action("claim_offer_accepted", "The policy's offer, to accept or not.")


class ActionStartDamageClaim(_NamedAction):
    """Opens (or resumes) a claim: an apology and the evidence checklist, or where we left off."""

    action_name = "action_start_damage_claim"

    async def run(self, dispatcher: Dispatcher, tracker: Tracker, domain: DomainDict) -> Events:
        """Utters the opening; the form follows. A different parcel in the message starts afresh."""
        waybill = tracker.get_slot("claim_waybill")
        if replies.resumes(waybill, _reply(tracker).text):
            dispatcher.utter_message(text=i18n.text("claims.form.resume", _lang(tracker), waybill=waybill))
            return [SlotSet(PAUSED, None), SlotSet(ATTEMPTS, 0)]
        dispatcher.utter_message(response="utter_sorry_damage")
        return [SlotSet(slot, 0 if slot == ATTEMPTS else None) for slot in CLAIM_SLOTS]


class ActionSubmitDamageClaim(_NamedAction):
    """Files a confirmed claim: the policy's outcome, a ticket with photos and decision."""

    action_name = "action_submit_damage_claim"

    async def run(self, dispatcher: Dispatcher, tracker: Tracker, domain: DomainDict) -> Events:
        """Files the claim; always says whether a human takes over next (slot ``handoff_due``)."""
        events = await self._submit(dispatcher, tracker)
        handoff = any(e.get("name") == "handoff_due" for e in events)
        return events if handoff else [*events, SlotSet("handoff_due", False)]

    async def _submit(self, dispatcher: Dispatcher, tracker: Tracker) -> Events:
        """Opens the ticket and tells the customer; does nothing for a paused claim."""
        if tracker.get_slot("claim_confirmed") is not True:
            return [SlotSet(PAUSED, None)]  # paused or refused: the form already said why
        draft = ClaimDraft.from_slots(tracker.slots)
        if draft is None:
            return [SlotSet("claim_confirmed", None)]
        lang = _lang(tracker)
        offer, accepted = claims.decide(draft, tracker.get_slot("claim_offer_accepted"))
        requester = Requester(tracker.sender_id, tracker.get_latest_input_channel() or "rest", lang)
        try:
            photos = claims.photos_of(tracker.slots)
            ticket = await asyncio.to_thread(
                claims.file_claim, requester, draft, offer, accepted=accepted, photos=photos
            )
        except Exception as exc:  # the answers stay in the slots; the customer can submit again
            logger.error("could not record the damage claim: %s", type(exc).__name__)
            dispatcher.utter_message(text=i18n.text("claims.form.save_failed", lang))
            return [SlotSet("claim_confirmed", None), SlotSet("claim_offer_accepted", None)]
        dispatcher.utter_message(text=wording.outcome_text(ticket, offer, lang))
        cleared = [SlotSet(slot, 0 if slot == ATTEMPTS else None) for slot in CLAIM_SLOTS]
        trigger = claims.handoff_for(offer)
        handoff = [] if trigger is None else [SlotSet("handoff_due", True), SlotSet("handoff_trigger", trigger)]
        return [SlotSet("ticket_id", ticket.id), *cleared, *handoff]


class ActionPhotoOutsideClaim(_NamedAction):
    """A photo with no claim going on: say what it is for."""

    action_name = "action_photo_outside_claim"

    async def run(self, dispatcher: Dispatcher, tracker: Tracker, domain: DomainDict) -> Events:
        """Reports refused files; otherwise offers to start a damage claim."""
        refs = references(_latest_metadata(tracker))
        for text in claims.refusals(refs, _lang(tracker)):
            dispatcher.utter_message(text=text)
        if any(ref.error is None for ref in refs) or not any(ref.error for ref in refs):
            dispatcher.utter_message(response="utter_photo_outside_claim")
        return []
