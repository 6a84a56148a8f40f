"""Damage claims: reading the customer's answers, deciding the offer, wording the replies.

Plain Python, no Rasa. The claim form in ``actions/claims.py`` asks the questions;
this module turns each free-text answer into a value (or ``None`` when it cannot),
decides whether a parcel can be claimed on, computes the policy's offer from the
collected answers and the carrier's record, and writes the summary and outcome
texts in Chinese and English.

Which record wins: the *insured* value and the freight come from the carrier's
record (the customer cannot raise them by typing); the value the customer gives is
the declared value of the goods, capped at the value declared when the parcel was
sent when the record has one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Mapping

from bot.common import answers
from bot.common.clock import format_time
from bot.common.i18n import in_language
from bot.policy.model import Offer, Policy, damage_offer, money
from bot.tickets import Ticket
from bot.tracking import Shipment, Status

PARTS = ("outer", "contents", "both")
"""What can be damaged: the outer packaging, the contents, or both."""

MAX_DESCRIPTION = 500
"""Longest description kept (characters)."""
_SHORT_QUESTION = 12
"""A reply this short that only asks something back is not a description."""

CLAIMABLE = frozenset({Status.DELIVERED, Status.DAMAGED})
"""Statuses a damage claim can be filed for: the parcel reached the customer (or the
courier recorded the damage)."""


def is_stop(text: str | None) -> bool:
    """Whether the customer wants to stop the claim ("算了", "stop", "取消")."""
    return answers.is_stop(text)


def is_unsure(text: str | None) -> bool:
    """Whether the reply says "I don't know" (an answer, not a wish to stop)."""
    return answers.is_unsure(text)


def is_question(text: str | None) -> bool:
    """Whether the reply only asks something back ("什么意思？", "what?")."""
    return answers.is_question(text)


def parse_yes_no(text: str | None, topic: str = answers.ANY) -> bool | None:
    """A yes or no answer about ``topic`` (see :func:`bot.common.answers.read_yes_no`), or ``None``.

    "包装还留着", "没扔", "I kept it" are yes to :data:`bot.common.answers.KEPT`; "早扔了",
    "nope, threw it away", "不要了" are no; "不是", "不对", "不接受" are no and
    "没问题", "不错" yes whatever the topic.
    """
    return answers.read_yes_no(text, topic)


def parse_part(text: str | None) -> str | None:
    """What is damaged: ``outer``, ``contents`` or ``both``; also the numbers 1/2/3."""
    return answers.read_part(text)


def parse_description(text: str | None) -> str | None:
    """The customer's description, whitespace collapsed; ``None`` when it says nothing (< 2 characters)."""
    norm = " ".join((text or "").split())  # the customer's own words, not NFKC-folded
    if len(norm) < 2 or is_stop(norm) or (len(norm) <= _SHORT_QUESTION and is_question(norm)):
        return None  # nothing, "stop", or a question back ("什么意思？", "what?")
    return norm[:MAX_DESCRIPTION]


def parse_extent(text: str | None) -> str | None:
    """How bad the damage is, as a slot value.

    Returns:
        ``"share:0.3000"`` for a damaged share, ``"repair:350.00"`` for a repair
        estimate in yuan, ``"unknown"`` when the customer cannot say, or ``None``
        when the reply holds none of these (see :func:`bot.common.answers.read_extent`).
    """
    return answers.read_extent(text)


def split_extent(value: str | None) -> tuple[Decimal | None, Decimal | None]:
    """Turn a slot value from :func:`parse_extent` into ``(damaged_share, repair_estimate)``."""
    if not value or ":" not in value:
        return None, None
    kind, _, number = value.partition(":")
    try:
        amount = Decimal(number)
    except ArithmeticError:
        return None, None
    if kind == "share" and Decimal(0) <= amount <= 1:
        return amount, None
    if kind == "repair" and amount >= 0:
        return None, amount
    return None, None


def parse_value(text: str | None) -> Decimal | None:
    """The goods' value in yuan ("两千块", "2,000元", "两千出头", "around 2k"); ``None`` if absent or 0."""
    return answers.read_amount(text)


def ineligible_reason(status: Status) -> str | None:
    """Why a parcel in ``status`` cannot get a damage claim, or ``None`` when it can."""
    if status in CLAIMABLE:
        return None
    if status is Status.LOST:
        return "lost"
    if status is Status.RETURNED:
        return "returned"
    return "not_delivered"


@dataclass(frozen=True)
class ParcelFacts:
    """What the claim needs from the carrier's record, kept in the ``claim_parcel`` slot."""

    waybill: str
    carrier: str
    status: str
    freight: Decimal | None
    declared_value: Decimal | None
    insured_value: Decimal | None

    @classmethod
    def from_shipment(cls, shipment: Shipment) -> ParcelFacts:
        """Copy the facts from a looked-up shipment."""
        return cls(
            shipment.waybill,
            shipment.carrier,
            shipment.status.value,
            shipment.freight,
            shipment.declared_value,
            shipment.insured_value,
        )

    def to_slot(self) -> dict[str, Any]:
        """A JSON-safe dict for the tracker (amounts as strings, never floats)."""

        def amount(value: Decimal | None) -> str | None:
            return None if value is None else str(value)

        return {
            "waybill": self.waybill,
            "carrier": self.carrier,
            "status": self.status,
            "freight": amount(self.freight),
            "declared_value": amount(self.declared_value),
            "insured_value": amount(self.insured_value),
        }

    @classmethod
    def from_slot(cls, value: Any) -> ParcelFacts | None:
        """Read :meth:`to_slot`'s dict back; ``None`` for anything else."""
        if not isinstance(value, Mapping) or not isinstance(value.get("waybill"), str):
            return None

        def amount(key: str) -> Decimal | None:
            raw = value.get(key)
            try:
                return None if raw is None else Decimal(str(raw))
            except ArithmeticError:
                return None

        return cls(
            value["waybill"],
            str(value.get("carrier") or ""),
            str(value.get("status") or ""),
            amount("freight"),
            amount("declared_value"),
            amount("insured_value"),
        )


@dataclass(frozen=True)
class ClaimDraft:
    """Everything the customer told the claim form."""

    parcel: ParcelFacts
    part: str | None = None
    description: str | None = None
    photos_outer: tuple[str, ...] = field(default_factory=tuple)
    photos_contents: tuple[str, ...] = field(default_factory=tuple)
    extent: str | None = None
    value: Decimal | None = None
    packaging_kept: bool | None = None

    @property
    def has_photos(self) -> bool:
        """Whether both sides are photographed."""
        return bool(self.photos_outer) and bool(self.photos_contents)


def claim_offer(policy: Policy, draft: ClaimDraft) -> Offer:
    """The policy's offer for a claim.

    The declared value is what the customer says the goods are worth, capped at
    the declared value on the carrier's record when there is one; the insured
    value and freight come only from the record. With neither insurance nor a
    known freight, nothing can be computed and an agent decides.

    Args:
        policy: The service policy.
        draft: The collected answers.

    Returns:
        The offer (never more than :func:`bot.policy.model.damage_offer` allows).
    """
    parcel = draft.parcel
    share, repair = split_extent(draft.extent)
    insured = parcel.insured_value if parcel.insured_value and parcel.insured_value > 0 else None
    if insured is None and parcel.freight is None:
        return Offer("human_review", money(0), "damage_freight_unknown", policy.damage.ticket_level_unknown_extent)
    declared = draft.value
    if declared is not None and parcel.declared_value and parcel.declared_value > 0:
        declared = min(declared, parcel.declared_value)
    return damage_offer(
        policy,
        damaged_share=share,
        repair_estimate=repair,
        declared_value=declared,
        insured_value=insured,
        freight=parcel.freight or Decimal(0),
        has_photos=draft.has_photos,
    )


def needs_answer(offer: Offer) -> bool:
    """Whether the customer is asked to accept the offer (an agent decides the rest)."""
    return offer.kind != "human_review"


def rejected(offer: Offer, policy: Policy) -> Offer:
    """The case after the customer turned ``offer`` down: a human reviews it."""
    return Offer("human_review", money(0), "damage_offer_rejected", policy.above_cap_ticket_level)


_PART_TEXT = {
    "outer": ("外包装", "outer packaging"),
    "contents": ("内件物品", "contents"),
    "both": ("外包装和内件物品", "packaging and contents"),
}
_INELIGIBLE = {
    "not_delivered": (
        "包裹 {waybill} 还没有签收，暂时不能登记破损理赔。派送时请当面检查外包装，如有破损可以拒收，"
        "并请快递员在面单上注明；签收后发现破损，再来找我登记即可。",
        "Parcel {waybill} has not been delivered yet, so a damage claim cannot be filed. When it "
        "arrives, please check the packaging in front of the courier: you may refuse a damaged parcel "
        "and ask the courier to note it. If you find damage after signing, come back and I'll register it.",
    ),
    "lost": (
        "包裹 {waybill} 记录为丢失，这属于丢件理赔，不是破损。请回复“包裹丢了”，我为您登记丢件工单。",
        "Parcel {waybill} is recorded as lost: that is a missing-parcel case, not damage. "
        'Say "my parcel is lost" and I\'ll open a missing-parcel ticket.',
    ),
    "returned": (
        "包裹 {waybill} 已退回寄件人，破损理赔需由寄件人发起。如需帮助请回复“转人工”。",
        "Parcel {waybill} was returned to the sender, who has to file any damage claim. "
        'Say "human agent" if you need help.',
    ),
}


def ineligible_text(reason: str, waybill: str, lang: str) -> str:
    """Why this parcel cannot get a damage claim, and what to do instead."""
    return in_language(_INELIGIBLE[reason], lang).format(waybill=waybill)


def _extent_text(extent: str | None, lang: str) -> str:
    share, repair = split_extent(extent)
    if share is not None:
        percent = f"{(share * 100).normalize():f}"
        return f"about {percent}% damaged" if lang == "en" else f"约 {percent}% 损坏"
    if repair is not None:
        return f"repair estimate ¥{repair:.2f}" if lang == "en" else f"维修估价 {repair:.2f} 元"
    return "not known" if lang == "en" else "暂不清楚"


def summary_text(draft: ClaimDraft, lang: str) -> str:
    """The claim as the customer will confirm it."""
    part = in_language(_PART_TEXT.get(draft.part or "", ("—", "—")), lang)
    photos = len(draft.photos_outer) + len(draft.photos_contents)
    value = f"{draft.value:.2f}" if draft.value is not None else "—"
    if lang == "en":
        kept = {True: "yes", False: "no", None: "—"}[draft.packaging_kept]
        return (
            "Please check your claim:\n"
            f"• Parcel: {draft.parcel.waybill}\n"
            f"• Damaged: {part}\n"
            f"• What happened: {draft.description or '—'}\n"
            f"• Photos: {photos} ({len(draft.photos_outer)} of the packaging, "
            f"{len(draft.photos_contents)} of the contents)\n"
            f"• Extent: {_extent_text(draft.extent, lang)}\n"
            f"• Value of the goods: ¥{value}\n"
            f"• Packaging kept: {kept}\n"
            "Is this correct? (yes / no)"
        )
    kept = {True: "是", False: "否", None: "—"}[draft.packaging_kept]
    return (
        "请核对您的理赔信息：\n"
        f"• 运单号：{draft.parcel.waybill}\n"
        f"• 破损部位：{part}\n"
        f"• 情况描述：{draft.description or '—'}\n"
        f"• 照片：{photos} 张（外包装 {len(draft.photos_outer)} 张，内件 {len(draft.photos_contents)} 张）\n"
        f"• 损坏程度：{_extent_text(draft.extent, lang)}\n"
        f"• 物品价值：{value} 元\n"
        f"• 是否保留包装：{kept}\n"
        "信息无误吗？（是 / 否）"
    )


def offer_text(offer: Offer, lang: str) -> str:
    """The policy's offer and the question whether the customer accepts it."""
    amount = f"{offer.amount:.2f}"
    texts = {
        "fast_track": (
            f"您的理赔符合快速理赔条件：我们可以立即为您赔付 {amount} 元，无需等待审核。",
            f"Your claim qualifies for fast-track settlement: we can pay you ¥{amount} right away, with no review.",
        ),
        "compensate": (
            f"按我们的理赔标准，这次可以为您赔付 {amount} 元（理赔专员核实后付款）。",
            f"Under our claims policy we can pay you ¥{amount} (paid once a claims officer has checked the case).",
        ),
        "reship": (
            "损坏比例较小，按我们的标准将为您免费补寄一份同样的物品。",
            "The damage is minor, so under our policy we will send a replacement free of charge.",
        ),
    }
    question = (
        "Do you accept this? (yes / no — if not, a claims specialist will review your case)"
        if lang == "en"
        else "您是否接受这个方案？（是 / 否，不接受的话由理赔专员为您复核）"
    )
    return in_language(texts[offer.kind], lang) + "\n" + question


_REVIEW_REASONS = {
    "damage_above_cap": ("金额超出自动理赔上限", "the amount is above what I may settle"),
    "damage_extent_unknown": ("损坏程度需要核定", "the extent of the damage needs assessing"),
    "damage_freight_unknown": ("需要核实运费和保价信息", "the freight and insurance need checking"),
    "damage_offer_rejected": ("您希望复核方案", "you asked for a review of the offer"),
}


def outcome_text(ticket: Ticket, offer: Offer, lang: str) -> str:
    """What was decided, the ticket id, and what happens next by when."""
    by = format_time(ticket.resolve_by, lang)
    respond = format_time(ticket.respond_by, lang)
    amount = f"{offer.amount:.2f}"
    if offer.kind == "human_review":
        reason = in_language(_REVIEW_REASONS.get(offer.reason_code, ("需要人工审核", "it needs a person")), lang)
        if lang == "en":
            return (
                f"I've opened claim {ticket.id}. Because {reason}, a claims specialist will review it and "
                f"contact you by {respond}; it will be settled by {by}. Your photos are attached to the claim."
            )
        return (
            f"已为您登记理赔工单 {ticket.id}。由于{reason}，理赔专员会在 {respond} 前联系您，"
            f"并在 {by} 前处理完毕。您的照片已附在工单中。"
        )
    if offer.kind == "reship":
        if lang == "en":
            return f"Done: claim {ticket.id} is registered and the free replacement will be arranged by {by}."
        return f"已为您登记理赔工单 {ticket.id}，我们会在 {by} 前安排免费补寄。"
    if offer.kind == "fast_track":
        if lang == "en":
            return f"Done: claim {ticket.id} is approved. ¥{amount} will be paid to you by {by}."
        return f"已为您登记并批准理赔工单 {ticket.id}，{amount} 元将在 {by} 前赔付给您。"
    if lang == "en":
        return f"Done: claim {ticket.id} is registered for ¥{amount}; a claims officer will confirm and pay by {by}."
    return f"已为您登记理赔工单 {ticket.id}，赔付金额 {amount} 元，理赔专员核实后将在 {by} 前付款。"


# ---------------------------------------------------------------- asking again
_QUESTIONS = {
    "part": ("确认：哪部分破损了？请回复“外包装”、“里面的东西”或“都有”（也可以回复 1、2、3）。",
             "What is damaged? Please answer \"the box\", \"the contents\" or \"both\" (or 1, 2, 3)."),
    "description": ("：一两句话描述破损情况，例如：纸箱一角压塌，里面两个杯子碎了。",
                    "a few words on the damage, e.g. \"one corner of the box crushed, two cups broken\"."),
    "photos_outer": ("：外包装（含面单）的照片，请直接发送图片。暂时不方便拍照可以回复“算了”，稍后再继续。",
                     "a photo of the outer packaging with the label: please send an image. If you can't take one "
                     "now, say \"stop\" and continue later."),
    "photos_contents": ("：内件物品的照片，请直接发送图片（能看清破损处最好）。"
                        "暂时不方便拍照可以回复“算了”，稍后再继续。",
                        "a photo of the contents, showing the damage if you can: please send an image. If you can't "
                        "take one now, say \"stop\" and continue later."),
    "extent": ("确认：损坏大约占物品价值的多少？请回复比例（例如 30%、一半）或维修费用（例如 维修 300 元），"
               "不清楚请回复“不知道”。",
               "Roughly what share of the goods is damaged? Please answer with a share (e.g. 30%, half) or a "
               "repair cost (e.g. repair 300 yuan), or \"don't know\"."),
    "value": ("确认：物品大约值多少钱？请回复金额，例如 2000 元、两千左右。",
              "What are the goods worth? Please answer with an amount, e.g. 2000 yuan or about 2k."),
    "packaging_kept": ("确认：外包装和填充物是否还保留着？请回复“留着”或“扔了”。",
                       "Do you still have the outer packaging and padding? Please answer \"kept\" or \"thrown away\"."),
    "confirmed": ("确认：以上信息是否无误？请回复“对”提交，或“不对”重新填写。",
                  "Is all of this correct? Please answer \"correct\" to submit, or \"not correct\" to change it."),
    "offer_accepted": ("确认：您是否接受{offer}？请回复“接受”，或“不接受”由理赔专员复核。",
                       "Do you accept {offer}? Please answer \"accept\", or \"don't accept\" to have a claims "
                       "specialist review it."),
}  # fmt: skip
"""What a re-asked question says is still needed, and how to answer it."""
_Buttons = tuple[tuple[str, str], ...]
"""Quick replies as ``(title, payload)`` pairs."""
_BUTTONS: dict[str, tuple[_Buttons, _Buttons]] = {
    "part": ((("1 外包装", "外包装"), ("2 内件物品", "内件物品"), ("3 都有破损", "都有破损")),
             (("1 Packaging", "packaging"), ("2 Contents", "contents"), ("3 Both", "both"))),
    "packaging_kept": ((("留着", "留着"), ("扔了", "扔了")),
                       (("Kept it", "kept it"), ("Threw it away", "threw it away"))),
    "confirmed": ((("对", "对"), ("不对", "不对")), (("Correct", "correct"), ("Not correct", "not correct"))),
    "offer_accepted": ((("接受", "接受"), ("不接受", "不接受")),
                       (("Accept", "accept"), ("Don't accept", "don't accept"))),
}  # fmt: skip
QUESTIONS = tuple(_QUESTIONS)
"""The claim's questions that can be asked again (slot names without ``claim_``)."""


def _yuan(amount: Decimal) -> str:
    """2000 rather than 2000.00; cents only when there are some."""
    return f"{amount:.0f}" if amount == amount.to_integral_value() else f"{amount:.2f}"


def understood(draft: ClaimDraft, lang: str) -> str:
    """What the customer has told the claim so far, in one line ("运单 SF…、外包装破损、价值 2000 元")."""
    en = lang == "en"
    items = [f"parcel {draft.parcel.waybill}" if en else f"运单 {draft.parcel.waybill}"]
    if draft.part in _PART_TEXT:
        part = in_language(_PART_TEXT[draft.part], lang)
        items.append(f"{part} damaged" if en else f"{part}破损")
    if draft.description:
        short = draft.description if len(draft.description) <= 20 else draft.description[:20] + "…"
        items.append(f'"{short}"' if en else f"“{short}”")
    photos = len(draft.photos_outer) + len(draft.photos_contents)
    if photos:
        items.append(f"{photos} photo(s)" if en else f"照片 {photos} 张")
    if draft.extent:
        items.append(
            _extent_text(draft.extent, lang)
            if draft.extent != "unknown"
            else ("extent not known" if en else "损坏程度待核定")
        )
    if draft.value is not None:
        items.append(f"value ¥{_yuan(draft.value)}" if en else f"价值 {_yuan(draft.value)} 元")
    if draft.packaging_kept is not None:
        kept = {True: ("包装已保留", "packaging kept"), False: ("包装未保留", "packaging not kept")}
        items.append(in_language(kept[draft.packaging_kept], lang))
    return (", " if en else "、").join(items)


def _offer_words(offer: Offer | None, lang: str) -> str:
    if offer is None:
        return "this offer" if lang == "en" else "这个方案"
    if offer.kind == "reship":
        return "a free replacement" if lang == "en" else "免费补寄的方案"
    amount = f"{offer.amount:.2f}"
    return f"¥{amount} in compensation" if lang == "en" else f"赔付 {amount} 元的方案"


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
    asked = in_language(_QUESTIONS[question], lang).format(offer=_offer_words(offer, lang))
    known = understood(draft, lang) if draft is not None else ""
    if lang == "en":
        text = "Sorry, I couldn't read an answer in that. "
        text += f"So far I have: {known}. " if known else ""
        text += f"Still needed: {asked}"
        return text + (' You can also say "human agent" and a person will help.' if last else "")
    text = "抱歉，我没能从您的回复里读出答案。"
    text += f"我记下了：{known}。" if known else ""
    text += f"还需要{asked}"
    return text + ("也可以回复“转人工”，由人工客服帮您。" if last else "")


def reask_buttons(question: str, lang: str) -> list[dict[str, str]]:
    """Quick replies for a question asked again (plain-text payloads); none for free answers."""
    pairs = _BUTTONS.get(question)
    if pairs is None:
        return []
    return [{"title": title, "payload": payload} for title, payload in in_language(pairs, lang)]


def gave_up_text(draft: ClaimDraft | None, lang: str) -> str:
    """The claim paused after three answers that could not be read, with a person offered."""
    known = understood(draft, lang) if draft is not None else ""
    if lang == "en":
        kept = f" So far I have: {known}." if known else ""
        return (
            "Sorry, I still couldn't read your answer, so I've paused the claim and kept everything you told "
            f'me.{kept} Say "continue my claim" any time to go on, or "human agent" and a person will help '
            "you finish it."
        )
    kept = f"我已记下：{known}。" if known else ""
    return (
        f"抱歉，我还是没能读懂您的回答，理赔先暂停一下，您提供的信息都保留着。{kept}"
        "随时回复“继续理赔”接着办理，或回复“转人工”，由人工客服帮您完成。"
    )
