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

import re
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Mapping

from bot.messages import format_time, in_language
from bot.money import parse_amount, parse_share
from bot.policy import Offer, Policy, damage_offer, money
from bot.tickets import Ticket
from bot.tracking import Shipment, Status

PARTS = ("outer", "contents", "both")
"""What can be damaged: the outer packaging, the contents, or both."""

MAX_DESCRIPTION = 500
"""Longest description kept (characters)."""

CLAIMABLE = frozenset({Status.DELIVERED, Status.DAMAGED})
"""Statuses a damage claim can be filed for: the parcel reached the customer (or the
courier recorded the damage)."""

_STOP = re.compile(
    r"^(?:算了|不弄了|不填了|不要了|不用了|不办了|不理赔了|先不(?:弄|填|办)了?|取消|退出|停|停止|暂停|"
    r"stop|cancel|quit|never ?mind|forget it)[\s!！。.,，~～]*(?:吧|啦|了)?[\s!！。.]*$",
    re.IGNORECASE,
)
_YES_FIRST = ("没问题", "没错", "不错", "不客气")
_NO_ZH = ("不是", "不对", "不", "否", "没有", "没", "拒绝", "错了", "扔了", "丢了")
_NO_ANYWHERE = ("扔了", "丢了", "没留", "没保留", "不接受", "不同意")
_YES_ZH = (
    "是", "对", "好", "可以", "行", "嗯", "确认", "同意", "接受", "有", "留着", "留了", "保留", "还在", "在的", "当然",
)  # fmt: skip
_YES_EN = re.compile(
    r"^(?:ok|okay|yes|yep|yeah|sure|correct|right|confirm(?:ed)?|accept(?:ed)?|agreed?|kept|i kept it|"
    r"still have it|y|of course|fine)\b",
    re.IGNORECASE,
)
_NO_EN = re.compile(r"^(?:no|nope|not|wrong|incorrect|reject(?:ed)?|decline[d]?|n|threw it away)\b", re.IGNORECASE)
_UNKNOWN = re.compile(r"不知道|不清楚|说不好|不好说|没法估|估不出|无法估|don'?t know|not sure|no idea|unknown", re.I)
_SHARE_WORDS = (
    (re.compile(r"\b(?:total loss|all of it|completely|entirely|everything)\b", re.I), Decimal(1)),
    (re.compile(r"\bthree quarters\b", re.I), Decimal("0.75")),
    (re.compile(r"\b(?:half|50-50)\b", re.I), Decimal("0.5")),
    (re.compile(r"\b(?:a|one) third\b", re.I), Decimal("0.3333")),
    (re.compile(r"\b(?:a|one) quarter\b", re.I), Decimal("0.25")),
    (re.compile(r"\b(?:a little|slightly|minor|a bit)\b", re.I), Decimal("0.05")),
)
"""English ways to say a share that :func:`bot.money.parse_share` (numbers, Chinese) does not read."""
_REPAIR = re.compile(r"修|repair|fix", re.IGNORECASE)
_OUTER = re.compile(r"外包装|包装|外箱|纸箱|箱子|盒子|外盒|快递袋|袋子|packag|box|carton|outside|outer", re.I)
_CONTENTS = re.compile(r"里面|内物|内件|物品|东西|商品|货物|产品|本身|contents?|item|goods|product|inside", re.I)
_BOTH = re.compile(r"都|两个|两者|全部|全都|both|all", re.IGNORECASE)
_NUMBERED = {"1": "outer", "2": "contents", "3": "both"}


def _norm(text: str | None) -> str:
    return unicodedata.normalize("NFKC", text or "").strip()


def is_stop(text: str | None) -> bool:
    """Whether the customer wants to stop the claim ("算了", "stop", "取消")."""
    return bool(_STOP.match(_norm(text)))


def is_unsure(text: str | None) -> bool:
    """Whether the reply says "I don't know" (an answer, not a wish to stop)."""
    return bool(_UNKNOWN.search(_norm(text)))


def parse_yes_no(text: str | None) -> bool | None:
    """A yes or no answer, or ``None`` when the reply is neither.

    Negations are checked before "是": "不是", "不对", "不接受" are no, while
    "没问题" and "不错" are yes.
    """
    norm = _norm(text).lower()
    if not norm or is_stop(norm):
        return None
    if norm.startswith(_YES_FIRST):
        return True
    if norm.startswith(_NO_ZH) or any(word in norm for word in _NO_ANYWHERE) or _NO_EN.match(norm):
        return False
    if norm.startswith(_YES_ZH) or _YES_EN.match(norm):
        return True
    return None


def parse_part(text: str | None) -> str | None:
    """What is damaged: ``outer``, ``contents`` or ``both``; also the numbers 1/2/3."""
    norm = _norm(text).lower()
    if norm.rstrip(".。") in _NUMBERED:
        return _NUMBERED[norm.rstrip(".。")]
    outer, contents = bool(_OUTER.search(norm)), bool(_CONTENTS.search(norm))
    if (outer and contents) or _BOTH.search(norm):
        return "both"
    if outer:
        return "outer"
    if contents:
        return "contents"
    return None


def parse_description(text: str | None) -> str | None:
    """The customer's description, whitespace collapsed; ``None`` when it says nothing (< 2 characters)."""
    norm = " ".join((text or "").split())  # the customer's own words, not NFKC-folded
    if len(norm) < 2 or is_stop(norm):
        return None
    return norm[:MAX_DESCRIPTION]


def parse_extent(text: str | None) -> str | None:
    """How bad the damage is, as a slot value.

    Returns:
        ``"share:0.3"`` for a damaged share, ``"repair:350.00"`` for a repair
        estimate in yuan, ``"unknown"`` when the customer cannot say, or ``None``
        when the reply holds none of these.
    """
    norm = _norm(text)
    if not norm:
        return None
    amount = parse_amount(norm)
    share = parse_share(norm)
    if share is None:
        share = next((value for pattern, value in _SHARE_WORDS if pattern.search(norm)), None)
    if amount is not None and (share is None or _REPAIR.search(norm)):
        return f"repair:{amount}"
    if share is not None:
        return f"share:{share}"
    if _UNKNOWN.search(norm):
        return "unknown"
    return None


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
    """The goods' value in yuan ("两千块", "2,000元", "¥2000", "2k"); ``None`` if absent or 0."""
    amount = parse_amount(_norm(text))
    return amount if amount is not None and amount > 0 else None


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
        The offer (never more than :func:`bot.policy.damage_offer` allows).
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
        "Say \"my parcel is lost\" and I'll open a missing-parcel ticket.",
    ),
    "returned": (
        "包裹 {waybill} 已退回寄件人，破损理赔需由寄件人发起。如需帮助请回复“转人工”。",
        "Parcel {waybill} was returned to the sender, who has to file any damage claim. "
        "Say \"human agent\" if you need help.",
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
    question = ("Do you accept this? (yes / no — if not, a claims specialist will review your case)"
                if lang == "en" else "您是否接受这个方案？（是 / 否，不接受的话由理赔专员为您复核）")
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
            return (f"I've opened claim {ticket.id}. Because {reason}, a claims specialist will review it and "
                    f"contact you by {respond}; it will be settled by {by}. Your photos are attached to the claim.")
        return (f"已为您登记理赔工单 {ticket.id}。由于{reason}，理赔专员会在 {respond} 前联系您，"
                f"并在 {by} 前处理完毕。您的照片已附在工单中。")
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
