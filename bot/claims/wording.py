"""What a claim says to the customer: summary, offer, outcome, re-asks, in either language.

Plain Python, no Rasa. The texts live in the catalogue ``bot/texts/<lang>/claims.yml``
(:mod:`bot.common.i18n`); this module picks the keys and fills in the claim's values.
"""

from __future__ import annotations

from decimal import Decimal

from bot.claims.answers import split_extent
from bot.claims.draft import ClaimDraft
from bot.common import i18n
from bot.common.clock import format_time
from bot.policy.offers import Offer
from bot.tickets import Ticket

BLANK = "—"
"""Shown for an answer not given yet."""

QUESTIONS = (
    "part",
    "description",
    "photos_outer",
    "photos_contents",
    "extent",
    "value",
    "packaging_kept",
    "confirmed",
    "offer_accepted",
)
"""The claim's questions that can be asked again (slot names without ``claim_``); each has the
catalogue key ``claims.reask.question.<question>``."""
BUTTONS = {
    "part": ("outer", "contents", "both"),
    "packaging_kept": ("kept", "thrown"),
    "confirmed": ("correct", "wrong"),
    "offer_accepted": ("accept", "refuse"),
}
"""Quick replies of a re-asked question: ``claims.reask.button.<question>.<option>_title`` and
``..._payload`` in the catalogue; questions with free answers have none."""
REVIEW_REASONS = {
    "damage_above_cap": "claims.review_reason.damage_above_cap",
    "damage_extent_unknown": "claims.review_reason.damage_extent_unknown",
    "damage_freight_unknown": "claims.review_reason.damage_freight_unknown",
    "damage_offer_rejected": "claims.review_reason.damage_offer_rejected",
}
"""Why a person reviews the claim, by the offer's reason code (else ``claims.review_reason.other``)."""
_DESCRIPTION_SHOWN = 20
"""Characters of the description repeated back in a re-ask."""


def ineligible_text(reason: str, waybill: str, lang: str) -> str:
    """Why this parcel cannot get a damage claim (see :func:`bot.claims.draft.ineligible_reason`)."""
    if reason == "lost":
        return i18n.text("claims.ineligible.lost", lang, waybill=waybill)
    if reason == "returned":
        return i18n.text("claims.ineligible.returned", lang, waybill=waybill)
    if reason == "not_delivered":
        return i18n.text("claims.ineligible.not_delivered", lang, waybill=waybill)
    raise KeyError(reason)


def part_text(part: str | None, lang: str) -> str | None:
    """The damaged part in words, or ``None`` when it is not one of the known parts."""
    if part == "outer":
        return i18n.text("claims.part.outer", lang)
    if part == "contents":
        return i18n.text("claims.part.contents", lang)
    if part == "both":
        return i18n.text("claims.part.both", lang)
    return None


def extent_text(extent: str | None, lang: str) -> str:
    """The extent slot in words: a damaged share, a repair estimate, or "not known"."""
    share, repair = split_extent(extent)
    if share is not None:
        return i18n.text("claims.extent.share", lang, percent=f"{(share * 100).normalize():f}")
    if repair is not None:
        return i18n.text("claims.extent.repair", lang, amount=f"{repair:.2f}")
    return i18n.text("claims.extent.unknown", lang)


def summary_text(draft: ClaimDraft, lang: str) -> str:
    """The claim as the customer will confirm it."""
    kept = {
        True: i18n.text("claims.summary.kept", lang),
        False: i18n.text("claims.summary.not_kept", lang),
        None: BLANK,
    }[draft.packaging_kept]
    return i18n.text(
        "claims.summary.text",
        lang,
        waybill=draft.parcel.waybill,
        part=part_text(draft.part, lang) or BLANK,
        description=draft.description or BLANK,
        photos=len(draft.photos_outer) + len(draft.photos_contents),
        outer=len(draft.photos_outer),
        contents=len(draft.photos_contents),
        extent=extent_text(draft.extent, lang),
        value=f"{draft.value:.2f}" if draft.value is not None else BLANK,
        kept=kept,
    )


def offer_text(offer: Offer, lang: str) -> str:
    """The policy's offer and the question whether the customer accepts it."""
    amount = f"{offer.amount:.2f}"
    if offer.kind == "fast_track":
        body = i18n.text("claims.offer.fast_track", lang, amount=amount)
    elif offer.kind == "compensate":
        body = i18n.text("claims.offer.compensate", lang, amount=amount)
    elif offer.kind == "reship":
        body = i18n.text("claims.offer.reship", lang)
    else:
        raise KeyError(offer.kind)
    return body + "\n" + i18n.text("claims.offer.question", lang)


def outcome_text(ticket: Ticket, offer: Offer, lang: str) -> str:
    """What was decided, the ticket id, and what happens next by when."""
    by = format_time(ticket.resolve_by, lang)
    amount = f"{offer.amount:.2f}"
    if offer.kind == "human_review":
        reason = i18n.text(REVIEW_REASONS.get(offer.reason_code, "claims.review_reason.other"), lang)
        respond = format_time(ticket.respond_by, lang)
        return i18n.text("claims.outcome.review", lang, ticket=ticket.id, reason=reason, respond=respond, by=by)
    if offer.kind == "reship":
        return i18n.text("claims.outcome.reship", lang, ticket=ticket.id, by=by)
    if offer.kind == "fast_track":
        return i18n.text("claims.outcome.fast_track", lang, ticket=ticket.id, amount=amount, by=by)
    return i18n.text("claims.outcome.compensate", lang, ticket=ticket.id, amount=amount, by=by)


def _yuan(amount: Decimal) -> str:
    """2000 rather than 2000.00; cents only when there are some."""
    return f"{amount:.0f}" if amount == amount.to_integral_value() else f"{amount:.2f}"


def understood(draft: ClaimDraft, lang: str) -> str:
    """What the customer has told the claim so far, in one line ("运单 SF…、外包装破损、价值 2000 元")."""
    items = [i18n.text("claims.understood.parcel", lang, waybill=draft.parcel.waybill)]
    part = part_text(draft.part, lang)
    if part is not None:
        items.append(i18n.text("claims.understood.part", lang, part=part))
    if draft.description:
        short = draft.description
        if len(short) > _DESCRIPTION_SHOWN:
            short = short[:_DESCRIPTION_SHOWN] + "…"
        items.append(i18n.text("claims.understood.description", lang, said=short))
    photos = len(draft.photos_outer) + len(draft.photos_contents)
    if photos:
        items.append(i18n.text("claims.understood.photos", lang, count=photos))
    if draft.extent:
        if draft.extent != "unknown":
            items.append(extent_text(draft.extent, lang))
        else:
            items.append(i18n.text("claims.understood.extent_unknown", lang))
    if draft.value is not None:
        items.append(i18n.text("claims.understood.value", lang, value=_yuan(draft.value)))
    if draft.packaging_kept is True:
        items.append(i18n.text("claims.understood.kept", lang))
    elif draft.packaging_kept is False:
        items.append(i18n.text("claims.understood.not_kept", lang))
    return i18n.text("claims.understood.separator", lang).join(items)


def _offer_words(offer: Offer | None, lang: str) -> str:
    if offer is None:
        return i18n.text("claims.offer_words.unknown", lang)
    if offer.kind == "reship":
        return i18n.text("claims.offer_words.reship", lang)
    return i18n.text("claims.offer_words.amount", lang, amount=f"{offer.amount:.2f}")


def reask_text(
    draft: ClaimDraft | None, question: str, lang: str, *, last: bool = False, offer: Offer | None = None
) -> str:
    """A question asked again: what was understood so far, what is still missing, how to answer.

    Args:
        draft: The claim so far (``None`` before the parcel is known).
        question: One of :data:`QUESTIONS`.
        lang: ``"zh"`` or ``"en"``.
        last: Whether this is the last time it is asked (a person is offered too).
        offer: The offer, for ``offer_accepted``.

    Returns:
        E.g. "抱歉，我没能从您的回复里读出答案。我记下了：运单 SF…、外包装破损、价值 2000 元。
        还需要确认：外包装和填充物是否还保留着？请回复“留着”或“扔了”。"
    """
    if question not in QUESTIONS:
        raise KeyError(question)
    asked = i18n.text(f"claims.reask.question.{question}", lang, offer=_offer_words(offer, lang))
    known = understood(draft, lang) if draft is not None else ""
    text = i18n.text("claims.reask.sorry", lang)
    text += i18n.text("claims.reask.known", lang, known=known) if known else ""
    text += i18n.text("claims.reask.needed", lang, asked=asked)
    return text + (i18n.text("claims.reask.last", lang) if last else "")


def reask_buttons(question: str, lang: str) -> list[dict[str, str]]:
    """Quick replies for a question asked again (plain-text payloads); none for free answers."""
    prefix = f"claims.reask.button.{question}"
    return [
        {
            "title": i18n.text(f"{prefix}.{option}_title", lang),
            "payload": i18n.text(f"{prefix}.{option}_payload", lang),
        }
        for option in BUTTONS.get(question, ())
    ]


def yes_no_buttons(lang: str) -> list[dict[str, str]]:
    """Yes/no quick replies whose payload is plain text, so every channel can send it back."""
    return [
        {"title": i18n.text("claims.form.agree_title", lang), "payload": i18n.text("claims.form.agree_payload", lang)},
        {
            "title": i18n.text("claims.form.disagree_title", lang),
            "payload": i18n.text("claims.form.disagree_payload", lang),
        },
    ]


def gave_up_text(draft: ClaimDraft | None, lang: str) -> str:
    """The claim paused after three answers that could not be read, with a person offered."""
    known = understood(draft, lang) if draft is not None else ""
    kept = i18n.text("claims.gave_up.known", lang, known=known) if known else ""
    return i18n.text("claims.gave_up.text", lang, known=kept)
