"""The damage-claim form: validation of each answer, the summary and offer questions, the ticket.

The form (``damage_claim_form``) asks, in order: waybill, what is damaged, a
description, photos of the outer packaging and of the contents, the extent, the
goods' value, whether the packaging is kept, then the summary to confirm and, when
the policy makes an offer, whether the customer accepts it. Every slot is filled by
an ``extract_*`` method here, so answers count whatever intent NLU gives them.

Answers are read by :mod:`bot.common.answers` (through ``bot.claims.offer.parse_*``) in the
customer's own words, whatever intent NLU gave them. A reply that answers nothing
counts as a failed answer (``claim_attempts``) and the question is asked again by
this form's ``action_ask_*`` actions, saying what was understood so far and what
is missing; after the third failed answer the claim pauses and a person is offered,
so no question is asked more than three times. "算了 / stop" pauses the claim
(answers are kept and "继续理赔" resumes it); a request about something else (FAQ,
tickets, a human, another parcel) rejects the form so the dialogue rules can answer
it, when NLU is sure of it or the reply asks it outright.
"""

from __future__ import annotations

import asyncio
import logging
from decimal import Decimal
from typing import Any, Callable, Dict, List

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.language import language_of
from actions.tracking import MAX_ATTEMPTS, lookup, remember
from bot import services
from bot.claims import offer as claims
from bot.claims.attachments import PhotoRef, references
from bot.claims.evidence import store_from_env
from bot.common import answers, i18n
from bot.common.redaction import mask_phones
from bot.identity import ownership
from bot.identity import proof as identity
from bot.policy.model import Offer, ticket_deadlines
from bot.tickets import Decision, EvidenceItem, Ticket, TicketType
from bot.tracking import ProviderError, messages
from bot.tracking.waybill import find_waybills

logger = logging.getLogger(__name__)

FORM = "damage_claim_form"
PHOTO_SLOTS = ("claim_photos_outer", "claim_photos_contents")
ANSWER_SLOTS = (
    "claim_part",
    "claim_description",
    "claim_extent",
    "claim_value",
    "claim_packaging_kept",
)
"""Answers asked again when the customer says the summary is wrong (photos are kept)."""
CLAIM_SLOTS = (
    "claim_waybill",
    "claim_owner",
    "claim_parcel",
    *ANSWER_SLOTS,
    *PHOTO_SLOTS,
    "claim_confirmed",
    "claim_offer_accepted",
    "claim_attempts",
    "claim_paused",
)
"""Every slot of a claim; all are cleared once the ticket is open."""
REQUIRED = (
    "claim_waybill",
    "claim_owner",
    "claim_part",
    "claim_description",
    *PHOTO_SLOTS,
    "claim_extent",
    "claim_value",
    "claim_packaging_kept",
    "claim_confirmed",
)
INTERRUPTS = frozenset(
    {"faq", "check_ticket", "request_human", "goodbye", "track_waybill", "complain_delay", "report_missing"}
)
"""Intents that leave a question unanswered to the dialogue rules, when the reply answers nothing
and NLU is sure (or the reply asks something outright, or names a parcel)."""
STRONG_INTERRUPTS = frozenset({"faq", "check_ticket", "request_human", "goodbye"})
"""For free-text answers (the description), only these interrupt, and only when NLU is sure."""
INTERRUPT_CONFIDENCE = 0.8
PHOTO_KINDS = {"claim_photos_outer": "outer_packaging", "claim_photos_contents": "contents"}

PAUSED = "claim_paused"
"""Set when the customer stops mid-claim: the form ends, the answers stay for a later resume."""
ATTEMPTS = "claim_attempts"
"""Failed answers to the question being asked (reset by an answer); at ``MAX_ATTEMPTS`` the claim pauses."""
SIDE_SLOTS = (PAUSED, ATTEMPTS)
"""Slots the extractors set besides the form's own (the SDK returns only validated form slots)."""
TOPICS = {
    "claim_packaging_kept": answers.KEPT,
    "claim_confirmed": answers.CONFIRM,
    "claim_offer_accepted": answers.ACCEPT,
}
"""What each yes/no question is about, so "还留着" / "没问题" / "太少了" are read in context."""

_WAYBILL_HINT = (
    "请发送需要理赔的运单号（面单上的快递单号）。",
    "Please send the tracking number of the damaged parcel.",
)
_PAUSED = (
    "好的，理赔登记先暂停，您已提供的信息我都记下了。随时回复“继续理赔”接着办理。",
    'OK, I\'ve paused the claim and kept everything you told me. Say "continue my claim" any time to go on.',
)
_ACCEPTED_WAYBILL = ("好的，为 {waybill} 登记破损理赔。", "OK, let's file a damage claim for {waybill}.")
_EXISTING = (
    "包裹 {waybill} 已有理赔工单 {ticket}，正在处理中，无需重复登记。回复“查询工单”可查看进度。",
    "Parcel {waybill} already has claim {ticket} in progress, so there is no need to file it again. "
    'Ask "check my ticket" to see where it stands.',
)
_GIVE_UP = (
    "还是没能找到这个运单。理赔先暂停，核对单号后回复“继续理赔”，或回复“转人工”。",
    "I still couldn't find that parcel. I've paused the claim: check the number and say \"continue my "
    'claim", or say "human agent".',
)
_PHOTO_OK = ("收到 {count} 张照片。", "Got {count} photo(s).")
_RESUME = (
    "我们继续为 {waybill} 登记理赔，还差几项信息。",
    "Let's continue your claim for {waybill}; a few details are left.",
)
_SAVE_FAILED = (
    "抱歉，理赔工单暂时保存失败，您提供的信息都还在。请稍后回复“继续理赔”再提交一次，或回复“转人工”。",
    "Sorry, I couldn't save the claim just now, but nothing you told me is lost. Say \"continue my "
    'claim" in a moment to submit it again, or "human agent".',
)


def _pair(text: Callable[[str], str]) -> tuple[str, str]:
    """A message of :mod:`bot.identity.proof` in both languages, for :func:`_pause`."""
    return text("zh"), text("en")


def _latest_metadata(tracker: Tracker) -> Any:
    """Metadata of the customer's latest message (where channels put attachment references)."""
    for event in reversed(tracker.events or []):
        if event.get("event") == "user":
            return event.get("metadata")
    return None


def _intent(tracker: Tracker) -> tuple[str | None, float]:
    intent = tracker.latest_message.get("intent") or {}
    return intent.get("name"), float(intent.get("confidence") or 0.0)


def _text(tracker: Tracker) -> str:
    return tracker.latest_message.get("text") or ""


def _pause(dispatcher: CollectingDispatcher, lang: str, pair: tuple[str, str] = _PAUSED) -> Dict[str, Any]:
    """End the form now, keeping the answers; the submit action then files nothing."""
    dispatcher.utter_message(text=i18n.in_language(pair, lang))
    return {PAUSED: True}


def _interrupts(intent: str | None, confidence: float, text: str) -> bool:
    """Whether an unreadable reply is another request for the dialogue rules, not a failed answer."""
    if intent not in INTERRUPTS:
        return False
    return confidence >= INTERRUPT_CONFIDENCE or claims.is_question(text) or bool(find_waybills(text))


def _answered(tracker: Tracker) -> Dict[str, Any]:
    """Reset the failed-answer count once a question is answered."""
    return {ATTEMPTS: 0} if tracker.get_slot(ATTEMPTS) else {}


def draft_of(tracker: Tracker) -> claims.ClaimDraft | None:
    """The claim collected so far, or ``None`` before the parcel is known."""
    parcel = claims.ParcelFacts.from_slot(tracker.get_slot("claim_parcel"))
    if parcel is None:
        return None
    value = tracker.get_slot("claim_value")
    try:
        amount = Decimal(str(value)) if value is not None else None
    except ArithmeticError:
        amount = None
    return claims.ClaimDraft(
        parcel=parcel,
        part=tracker.get_slot("claim_part"),
        description=tracker.get_slot("claim_description"),
        photos_outer=tuple(p["sha256"] for p in tracker.get_slot("claim_photos_outer") or []),
        photos_contents=tuple(p["sha256"] for p in tracker.get_slot("claim_photos_contents") or []),
        extent=tracker.get_slot("claim_extent"),
        value=amount,
        packaging_kept=tracker.get_slot("claim_packaging_kept"),
    )


def offer_of(tracker: Tracker) -> Offer | None:
    """The policy's offer for the claim collected so far."""
    draft = draft_of(tracker)
    return None if draft is None else claims.claim_offer(services.policy(), draft)


class ValidateDamageClaimForm(FormValidationAction):
    """Extracts and checks every answer of the damage-claim form."""

    def name(self) -> str:
        """Action name used in the domain."""
        return "validate_damage_claim_form"

    async def required_slots(
        self,
        domain_slots: List[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> List[str]:
        """The fixed questions, plus "do you accept?" when the policy makes an offer; none once paused."""
        if tracker.get_slot(PAUSED):
            return []
        slots = list(REQUIRED)
        if tracker.get_slot("claim_confirmed") is True:
            offer = offer_of(tracker)
            if offer is not None and claims.needs_answer(offer):
                slots.append("claim_offer_accepted")
        return slots

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict[str, Any]]:
        """Validates as usual; the pause and the failed-answer count set by an extractor are returned too.

        The SDK returns only validated form slots, and Rasa rejects a form turn that
        sets none: the ``claim_paused`` event makes "stop" a valid answer that ends
        the form, and ``claim_attempts`` tells the ask actions a question is asked again.
        """
        before = {name: tracker.get_slot(name) for name in SIDE_SLOTS}
        events = await super().run(dispatcher, tracker, domain)
        returned = {e.get("name") for e in events if e.get("event") == "slot"}
        for name in SIDE_SLOTS:
            value = tracker.get_slot(name)
            if value != before[name] and name not in returned:
                events.append(SlotSet(name, value))
        return events

    # ------------------------------------------------------------------ helpers
    def _answer(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        slot: str,
        parse: Callable[[str], Any],
    ) -> Dict[str, Any]:
        """The reply as the value of ``slot`` when it is the question being asked.

        The reply is read first, whatever its intent ("还在" classified as
        ``track_waybill`` still answers "kept?").

        Returns:
            ``{slot: value}``; ``{slot: None}`` with one more failed answer when the
            reply answers nothing (the ask action then asks again); ``{"claim_paused":
            True}`` to pause on "stop" or after the third failed answer; ``{}`` to let
            the dialogue rules handle another request (or a photo-only message).
        """
        if tracker.active_loop_name != FORM or tracker.get_slot("requested_slot") != slot:
            return {}
        lang = language_of(tracker)
        text = _text(tracker)
        intent, confidence = _intent(tracker)
        if intent == "send_photo":
            return {}
        strong = intent in STRONG_INTERRUPTS and confidence >= INTERRUPT_CONFIDENCE
        if slot == "claim_description" and strong:
            return {}
        value = parse(text)
        if value is not None:
            return {slot: value, **_answered(tracker)}
        if claims.is_stop(text):
            return _pause(dispatcher, lang)
        if intent == "deny" and confidence >= INTERRUPT_CONFIDENCE and not claims.is_unsure(text):
            return _pause(dispatcher, lang)
        if _interrupts(intent, confidence, text):
            return {}
        return self._failed(dispatcher, tracker, slot, lang)

    @staticmethod
    def _failed(dispatcher: CollectingDispatcher, tracker: Tracker, slot: str, lang: str) -> Dict[str, Any]:
        """One more reply that answered nothing: ask again, or pause after the third and offer a person."""
        attempts = int(tracker.get_slot(ATTEMPTS) or 0) + 1
        if attempts >= MAX_ATTEMPTS:
            dispatcher.utter_message(text=claims.gave_up_text(draft_of(tracker), lang))
            return {PAUSED: True}  # resuming starts the count afresh
        if slot == "claim_waybill":
            dispatcher.utter_message(text=i18n.in_language(_WAYBILL_HINT, lang))
        return {slot: None, ATTEMPTS: attempts}

    @staticmethod
    def _yes_no(slot: str) -> Callable[[str], bool | None]:
        return lambda text: claims.parse_yes_no(text, TOPICS[slot])

    # --------------------------------------------------------------- extractors
    async def extract_claim_waybill(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        """A number in the message; at the start, the parcel just looked up."""
        if tracker.get_slot("claim_waybill") or tracker.get_slot("requested_slot") not in (None, "claim_waybill"):
            return {}
        found = find_waybills(_text(tracker))
        if found:
            return {"claim_waybill": found[0].number}
        if tracker.get_slot("requested_slot") is None:
            recent = tracker.get_slot("waybill")
            numbers = find_waybills(recent) if isinstance(recent, str) else []
            return {"claim_waybill": numbers[0].number} if numbers else {}
        return self._answer(dispatcher, tracker, "claim_waybill", lambda _: None) or {}

    async def extract_claim_part(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        """Outer packaging, contents or both."""
        return self._answer(dispatcher, tracker, "claim_part", claims.parse_part)

    async def extract_claim_description(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        """The customer's own words."""
        return self._answer(dispatcher, tracker, "claim_description", claims.parse_description)

    async def extract_claim_extent(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        """A damaged share, a repair estimate or "don't know"."""
        return self._answer(dispatcher, tracker, "claim_extent", claims.parse_extent)

    async def extract_claim_value(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        """The goods' value in yuan (kept as a string: money is never a float)."""
        return self._answer(
            dispatcher, tracker, "claim_value", lambda text: None if (v := claims.parse_value(text)) is None else str(v)
        )

    async def extract_claim_packaging_kept(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        """Yes or no."""
        return self._answer(dispatcher, tracker, "claim_packaging_kept", self._yes_no("claim_packaging_kept"))

    async def extract_claim_confirmed(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        """Yes (file it) or no (ask the answers again)."""
        return self._answer(dispatcher, tracker, "claim_confirmed", self._yes_no("claim_confirmed"))

    async def extract_claim_offer_accepted(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        """Yes (accept) or no (a specialist reviews it)."""
        if tracker.get_slot("requested_slot") == "claim_offer_accepted" and claims.is_stop(_text(tracker)):
            return {"claim_offer_accepted": False, **_answered(tracker)}  # "算了" to an offer is a refusal
        return self._answer(dispatcher, tracker, "claim_offer_accepted", self._yes_no("claim_offer_accepted"))

    async def extract_claim_photos_outer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        """Photos sent now: to the packaging when asked for it, else to the first side still missing."""
        return self._photos(dispatcher, tracker, "claim_photos_outer")

    async def extract_claim_photos_contents(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        """Photos sent now when the contents are asked for, or the packaging already has some."""
        return self._photos(dispatcher, tracker, "claim_photos_contents")

    def _photo_target(self, tracker: Tracker) -> str:
        requested = tracker.get_slot("requested_slot")
        if requested in PHOTO_SLOTS:
            return requested
        return "claim_photos_contents" if tracker.get_slot("claim_photos_outer") else "claim_photos_outer"

    def _photos(self, dispatcher: CollectingDispatcher, tracker: Tracker, slot: str) -> Dict[str, Any]:
        if tracker.active_loop_name != FORM:
            return {}
        refs = references(_latest_metadata(tracker))
        requested = tracker.get_slot("requested_slot")
        if not refs:
            if requested != slot:
                return {}
            lang = language_of(tracker)
            text = _text(tracker)
            intent, confidence = _intent(tracker)
            if claims.is_stop(text) or (intent == "deny" and not claims.is_unsure(text)):
                return _pause(dispatcher, lang)
            if _interrupts(intent, confidence, text):
                return {}
            return self._failed(dispatcher, tracker, slot, lang)
        if self._photo_target(tracker) != slot:
            return {}
        lang = language_of(tracker)
        good = [ref for ref in refs if ref.error is None]
        for problem in {ref.error: ref.problem() for ref in refs if ref.error}.values():
            if problem is not None:
                dispatcher.utter_message(text=problem.message(lang))
        if not good:
            if requested != slot:
                return {slot: tracker.get_slot(slot) or None}  # sent while another question is asked
            return self._failed(dispatcher, tracker, slot, lang)
        kept = list(tracker.get_slot(slot) or [])
        known = {item["sha256"] for item in kept}
        kept += [ref.to_slot() for ref in good if ref.sha256 not in known]
        dispatcher.utter_message(text=i18n.in_language(_PHOTO_OK, lang).format(count=len(good)))
        return {slot: kept, **_answered(tracker)}

    # --------------------------------------------------------------- validators
    async def validate_claim_waybill(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        """The parcel must exist, be claimable, and not have an open claim already."""
        if not slot_value:
            return {"claim_waybill": None}
        known = claims.ParcelFacts.from_slot(tracker.get_slot("claim_parcel"))
        if known is not None and known.waybill == slot_value:
            return {"claim_waybill": slot_value}  # resuming: checked when it was given
        lang = language_of(tracker)
        found = find_waybills(str(slot_value))
        attempts = int(tracker.get_slot("claim_attempts") or 0) + 1
        if not found:
            dispatcher.utter_message(response="utter_invalid_waybill")
            return self._retry(dispatcher, lang, attempts)
        try:
            shipment = await lookup(found[0])
        except ProviderError as exc:
            logger.warning("claim lookup failed: %s", type(exc).__name__)
            return {
                **_pause(dispatcher, lang, (messages.provider_down("zh"), messages.provider_down("en"))),
                "claim_waybill": None,
            }
        if shipment is None:
            dispatcher.utter_message(text=messages.not_found(found[0].raw, lang))
            return self._retry(dispatcher, lang, attempts)
        reason = claims.ineligible_reason(shipment.status)
        if reason is not None:
            dispatcher.utter_message(text=claims.ineligible_text(reason, shipment.waybill, lang))
            return {"claim_waybill": None, "claim_attempts": 0, PAUSED: True}
        existing = await asyncio.to_thread(
            services.tickets().find_unresolved, tracker.sender_id, TicketType.DAMAGE_CLAIM, shipment.waybill
        )
        if existing is not None:
            dispatcher.utter_message(
                text=i18n.in_language(_EXISTING, lang).format(waybill=shipment.waybill, ticket=existing.id)
            )
            return {"claim_waybill": None, "claim_attempts": 0, PAUSED: True}
        dispatcher.utter_message(text=i18n.in_language(_ACCEPTED_WAYBILL, lang).format(waybill=shipment.waybill))
        own = list(tracker.get_slot("my_waybills") or [])
        proven = await ownership.proven(tracker.sender_id, shipment)
        return {
            "claim_waybill": shipment.waybill,
            "claim_parcel": claims.ParcelFacts.from_shipment(shipment).to_slot(),
            "claim_attempts": 0,
            "my_waybills": remember(own, [shipment.waybill]),
            "claim_owner": True if proven else None,  # else asked next: the receiver phone's last four digits
        }

    async def extract_claim_owner(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        """Four digits in the reply, whatever the intent (a wrong answer is counted by the validator)."""
        if tracker.active_loop_name != FORM or tracker.get_slot("requested_slot") != "claim_owner":
            return {}
        digits = identity.last_four(_text(tracker))
        if digits is not None:
            return {"claim_owner": digits}
        return self._answer(dispatcher, tracker, "claim_owner", lambda _: None)

    async def validate_claim_owner(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        """The receiver phone's last four digits prove the parcel is the customer's; three wrong answers pause."""
        if slot_value is True or slot_value is None:
            return {"claim_owner": slot_value}
        lang = language_of(tracker)
        parcel = claims.ParcelFacts.from_slot(tracker.get_slot("claim_parcel"))
        found = find_waybills(parcel.waybill) if parcel is not None else []
        if parcel is None or not found:
            return {"claim_owner": None}
        if await ownership.locked(parcel.waybill):
            return {**_pause(dispatcher, lang, _pair(identity.locked_text)), "claim_owner": None, ATTEMPTS: 0}
        try:
            shipment = await lookup(found[0])
        except ProviderError as exc:
            logger.warning("claim proof lookup failed: %s", type(exc).__name__)
            return {
                **_pause(dispatcher, lang, (messages.provider_down("zh"), messages.provider_down("en"))),
                "claim_owner": None,
            }
        matched = None if shipment is None else await ownership.match(shipment, str(slot_value))
        if shipment is None or matched is None:
            return {**_pause(dispatcher, lang, _pair(identity.uncheckable_text)), "claim_owner": None, ATTEMPTS: 0}
        if matched:
            await ownership.remember(tracker.sender_id, shipment, "phone_last4")
            return {"claim_owner": True, ATTEMPTS: 0}
        attempts = int(tracker.get_slot(ATTEMPTS) or 0) + 1
        if await ownership.count_failure(parcel.waybill):
            return {**_pause(dispatcher, lang, _pair(identity.locked_text)), "claim_owner": None, ATTEMPTS: 0}
        if attempts >= MAX_ATTEMPTS:
            return {**_pause(dispatcher, lang, _pair(identity.gave_up_text)), "claim_owner": None, ATTEMPTS: 0}
        return {"claim_owner": None, ATTEMPTS: attempts}

    @staticmethod
    def _retry(dispatcher: CollectingDispatcher, lang: str, attempts: int) -> Dict[str, Any]:
        if attempts >= MAX_ATTEMPTS:
            return {**_pause(dispatcher, lang, _GIVE_UP), "claim_waybill": None, "claim_attempts": 0}
        return {"claim_waybill": None, "claim_attempts": attempts}

    async def validate_claim_confirmed(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        """A "no" to the summary asks the answers again; the parcel and photos are kept."""
        if slot_value is False:
            lang = language_of(tracker)
            dispatcher.utter_message(
                text=i18n.in_language(
                    (
                        "好的，我们重新确认一下几项信息（照片已保留）。",
                        "OK, let's go over the details again (your photos are kept).",
                    ),
                    lang,
                )
            )
            return {"claim_confirmed": None, **{slot: None for slot in ANSWER_SLOTS}}
        return {"claim_confirmed": slot_value}


def _asked_again(tracker: Tracker) -> int:
    """How many failed answers the question being asked has had (0: it is asked for the first time)."""
    return int(tracker.get_slot(ATTEMPTS) or 0)


def _reask(dispatcher: CollectingDispatcher, tracker: Tracker, slot: str, offer: Offer | None = None) -> None:
    """Ask ``slot`` again: what was understood, what is missing, how to answer (a person offered the last time)."""
    lang = language_of(tracker)
    question = slot.removeprefix("claim_")
    last = _asked_again(tracker) >= MAX_ATTEMPTS - 1
    text = claims.reask_text(draft_of(tracker), question, lang, last=last, offer=offer)
    dispatcher.utter_message(text=text, buttons=claims.reask_buttons(question, lang))


class _ActionAskClaimSlot(Action):
    """Asks one claim question: the domain's ``utter_ask_<slot>`` first, then the re-ask from bot.claims.offer."""

    slot = ""

    def name(self) -> str:
        """Action name used in the domain (the form finds it as ``action_ask_<slot>``)."""
        return f"action_ask_{self.slot}"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict[str, Any]]:
        """Utters the question, or the re-ask after a reply that answered nothing."""
        if _asked_again(tracker) and draft_of(tracker) is not None:
            _reask(dispatcher, tracker, self.slot)
        else:
            dispatcher.utter_message(response=f"utter_ask_{self.slot}")
        return []


class ActionAskClaimOwner(Action):
    """Asks for the receiver phone's last four digits, or again (with the tries left) after a wrong answer."""

    def name(self) -> str:
        """Action name used in the domain."""
        return "action_ask_claim_owner"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict[str, Any]]:
        """Utters the question."""
        lang = language_of(tracker)
        failed = _asked_again(tracker)
        parcel = claims.ParcelFacts.from_slot(tracker.get_slot("claim_parcel"))
        if failed and parcel is not None:
            dispatcher.utter_message(text=identity.wrong_text(parcel.waybill, MAX_ATTEMPTS - failed, lang))
        else:
            dispatcher.utter_message(response="utter_ask_claim_owner")
        return []


class ActionAskClaimPart(_ActionAskClaimSlot):
    """What is damaged."""

    slot = "claim_part"


class ActionAskClaimDescription(_ActionAskClaimSlot):
    """A few words on the damage."""

    slot = "claim_description"


class ActionAskClaimPhotosOuter(_ActionAskClaimSlot):
    """Photos of the packaging."""

    slot = "claim_photos_outer"


class ActionAskClaimPhotosContents(_ActionAskClaimSlot):
    """Photos of the contents."""

    slot = "claim_photos_contents"


class ActionAskClaimExtent(_ActionAskClaimSlot):
    """How much is damaged."""

    slot = "claim_extent"


class ActionAskClaimValue(_ActionAskClaimSlot):
    """What the goods are worth."""

    slot = "claim_value"


class ActionAskClaimPackagingKept(_ActionAskClaimSlot):
    """Whether the packaging is kept."""

    slot = "claim_packaging_kept"


class ActionAskClaimConfirmed(Action):
    """Shows the summary and asks the customer to confirm it."""

    def name(self) -> str:
        """Action name used in the domain."""
        return "action_ask_claim_confirmed"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict[str, Any]]:
        """Utters the summary (the form then waits for the answer), or the short re-ask."""
        draft = draft_of(tracker)
        if draft is None:
            return []
        if _asked_again(tracker):
            _reask(dispatcher, tracker, "claim_confirmed")
            return []
        dispatcher.utter_message(
            text=claims.summary_text(draft, language_of(tracker)),
            buttons=_yes_no(language_of(tracker)),
        )
        return []


class ActionAskClaimOfferAccepted(Action):
    """Tells the customer the policy's offer and asks whether they accept it."""

    def name(self) -> str:
        """Action name used in the domain."""
        return "action_ask_claim_offer_accepted"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict[str, Any]]:
        """Utters the offer, or the re-ask with the offer named."""
        offer = offer_of(tracker)
        if offer is not None and claims.needs_answer(offer):
            lang = language_of(tracker)
            if _asked_again(tracker):
                _reask(dispatcher, tracker, "claim_offer_accepted", offer)
            else:
                dispatcher.utter_message(text=claims.offer_text(offer, lang), buttons=_yes_no(lang))
        return []


def _yes_no(lang: str) -> List[Dict[str, str]]:
    """Quick replies whose payload is plain text, so every channel can send it back."""
    if lang == "en":
        return [{"title": "Yes", "payload": "yes"}, {"title": "No", "payload": "no"}]
    return [{"title": "是", "payload": "是"}, {"title": "否", "payload": "否"}]


class ActionStartDamageClaim(Action):
    """Opens (or resumes) a claim: an apology and the evidence checklist, or where we left off."""

    def name(self) -> str:
        """Action name used in the domain."""
        return "action_start_damage_claim"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict[str, Any]]:
        """Utters the opening; the form follows. A different parcel in the message starts afresh."""
        waybill = tracker.get_slot("claim_waybill")
        mentioned = [match.number for match in find_waybills(_text(tracker))]
        if waybill and (not mentioned or waybill in mentioned):
            text = i18n.in_language(_RESUME, language_of(tracker)).format(waybill=waybill)
            dispatcher.utter_message(text=text)
            return [SlotSet(PAUSED, None), SlotSet(ATTEMPTS, 0)]
        dispatcher.utter_message(response="utter_sorry_damage")
        return [SlotSet(slot, 0 if slot == "claim_attempts" else None) for slot in CLAIM_SLOTS]


def _record(tracker: Tracker, draft: claims.ClaimDraft, offer: Offer, accepted: bool | None) -> Ticket:
    """Open the claim ticket with its evidence and decision (blocking)."""
    policy = services.policy()
    store = services.tickets()
    evidence = store_from_env()
    share, repair = claims.split_extent(draft.extent)
    answer = {True: "accepted", False: "rejected", None: "not asked"}[accepted]
    summary = (
        f"damage claim: {draft.part}; described: {mask_phones(draft.description or '')}; "
        f"share={share} repair={repair} value={draft.value} packaging_kept={draft.packaging_kept}; "
        f"offer {offer.kind} {offer.amount} ({offer.reason_code}), customer {answer}"
    )
    if offer.kind == "human_review":
        summary = "NEEDS HUMAN REVIEW - " + summary
    ticket = store.open(
        type=TicketType.DAMAGE_CLAIM,
        level=offer.ticket_level,
        conversation_id=tracker.sender_id,
        channel=tracker.get_latest_input_channel() or "rest",
        summary=summary,
        deadlines=ticket_deadlines(policy, offer.ticket_level, services.now()),
        waybill=draft.parcel.waybill,
    )
    for slot, kind in PHOTO_KINDS.items():
        for photo in tracker.get_slot(slot) or []:
            ref = PhotoRef(photo["sha256"], int(photo["size"]), photo["content_type"])
            path = evidence.path_for(ref.sha256)
            if path is None:
                logger.error("claim %s: evidence %s missing from the store", ticket.id, ref.sha256[:12])
                continue
            item = EvidenceItem(ref.sha256, kind, str(path), ref.size, ref.content_type)
            ticket = store.add_evidence(ticket.id, item, actor="bot")
    return store.set_decision(ticket.id, Decision(offer.kind, offer.amount, offer.reason_code), actor="bot")


class ActionSubmitDamageClaim(Action):
    """Files a confirmed claim: the policy's outcome, a ticket with photos and decision."""

    def name(self) -> str:
        """Action name used in the domain."""
        return "action_submit_damage_claim"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict[str, Any]]:
        """Files the claim; always says whether a human takes over next (slot ``handoff_due``)."""
        events = await self._submit(dispatcher, tracker)
        if not any(e.get("name") == "handoff_due" for e in events):
            events.append(SlotSet("handoff_due", False))
        return events

    async def _submit(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> List[Dict[str, Any]]:
        """Opens the ticket and tells the customer; does nothing for a paused claim."""
        if tracker.get_slot("claim_confirmed") is not True:
            return [SlotSet(PAUSED, None)]  # paused or refused: the form already said why
        draft = draft_of(tracker)
        if draft is None:
            return [SlotSet("claim_confirmed", None)]
        lang = language_of(tracker)
        policy = services.policy()
        offer = claims.claim_offer(policy, draft)
        accepted = tracker.get_slot("claim_offer_accepted") if claims.needs_answer(offer) else None
        if accepted is False:
            offer = claims.rejected(offer, policy)
        try:
            ticket = await asyncio.to_thread(_record, tracker, draft, offer, accepted)
        except Exception as exc:  # the answers stay in the slots; the customer can submit again
            logger.error("could not record the damage claim: %s", type(exc).__name__)
            dispatcher.utter_message(text=i18n.in_language(_SAVE_FAILED, lang))
            return [SlotSet("claim_confirmed", None), SlotSet("claim_offer_accepted", None)]
        dispatcher.utter_message(text=claims.outcome_text(ticket, offer, lang))
        cleared = [SlotSet(slot, 0 if slot == "claim_attempts" else None) for slot in CLAIM_SLOTS]
        return [SlotSet("ticket_id", ticket.id), *cleared, *_handoff_for(offer, policy)]


HANDOFF_REASONS = {"damage_above_cap": "above_cap", "damage_offer_rejected": "offer_rejected"}
"""Claim outcomes that go to a human now (the policy's handoff rules), not only by ticket."""


def _handoff_for(offer: Offer, policy: Any) -> List[Dict[str, Any]]:
    """Slot events that make the dialogue hand the conversation over after a claim a person must decide."""
    reason = HANDOFF_REASONS.get(offer.reason_code)
    if reason is None:
        return []
    trigger = {"reason": reason, "level": policy.handoff.levels[reason], "detail": offer.reason_code}
    return [SlotSet("handoff_due", True), SlotSet("handoff_trigger", trigger)]


class ActionPhotoOutsideClaim(Action):
    """A photo with no claim going on: say what it is for."""

    def name(self) -> str:
        """Action name used in the domain."""
        return "action_photo_outside_claim"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict[str, Any]]:
        """Reports refused files; otherwise offers to start a damage claim."""
        lang = language_of(tracker)
        refs = references(_latest_metadata(tracker))
        problems = {ref.error: ref.problem() for ref in refs if ref.error}
        for problem in problems.values():
            if problem is not None:
                dispatcher.utter_message(text=problem.message(lang))
        if any(ref.error is None for ref in refs) or not problems:
            dispatcher.utter_message(response="utter_photo_outside_claim")
        return []
