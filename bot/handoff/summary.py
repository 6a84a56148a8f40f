"""The note an agent reads first when a conversation is handed over.

Built from what the bot knows, so the customer never has to repeat themselves:
what the customer wants, the parcel and its status, the slots collected, the anger
score, what the bot already said and offered, and the evidence on file. Mobile numbers are
masked (``138****5678``): every agent who can see the queue reads the summary, while the full
number stays in the transcript for the agent holding the chat to reveal (recorded).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from bot.common.redaction import mask_phones
from bot.handoff.rules import Trigger
from bot.tickets import Ticket

_WANTS = {
    "track_waybill": "wants to know where the parcel is",
    "complain_delay": "complains about a late parcel",
    "report_damage": "reports a damaged parcel",
    "report_missing": "reports a parcel lost or not received",
    "check_ticket": "asks about a ticket",
    "request_human": "asked for a human",
    "faq": "asked a general question",
    "nlu_fallback": "wrote something the bot did not understand",
}
MAX_LINES = 8
"""Bot replies and customer messages quoted at most (newest)."""
MAX_QUOTE = 200


@dataclass(frozen=True)
class HandoffContext:
    """Everything the summary draws on.

    Attributes:
        trigger: Why the conversation is handed over.
        anger: Anger score 0..1.
        intents: Intents of the customer's messages, oldest first.
        customer_texts: The customer's recent messages, oldest first.
        bot_texts: The bot's recent replies, oldest first.
        waybill: The parcel in question, if any.
        shipment_status: One line on the parcel's status, if it was looked up.
        slots: Slots worth showing (name → value), already filtered.
        tickets: The conversation's tickets (decisions and evidence included).
    """

    trigger: Trigger
    anger: float
    intents: Sequence[str | None] = ()
    customer_texts: Sequence[str] = ()
    bot_texts: Sequence[str] = ()
    waybill: str | None = None
    shipment_status: str | None = None
    slots: Mapping[str, object] = field(default_factory=dict)
    tickets: Sequence[Ticket] = ()


def _quote(text: str) -> str:
    flat = " ".join((text or "").split())
    return flat if len(flat) <= MAX_QUOTE else flat[: MAX_QUOTE - 1] + "…"


def _wants(intents: Sequence[str | None]) -> str:
    for intent in reversed(intents):
        if intent and intent not in ("request_human", "nlu_fallback", "greet", "thank", "affirm", "deny"):
            return _WANTS.get(intent, intent.replace("_", " "))
    return _WANTS.get(intents[-1] or "", "unclear") if intents else "unclear"


def agent_summary(ctx: HandoffContext) -> str:
    """The summary an agent reads before taking over (English, plain text, no personal data beyond the case).

    Args:
        ctx: What the bot knows about the conversation.

    Returns:
        A few labelled lines, mobile numbers masked.
    """
    trigger = ctx.trigger
    lines = [
        f"Handoff: {trigger.reason}" + (f" ({trigger.detail})" if trigger.detail else "") + f", level {trigger.level}",
        f"Customer {_wants(ctx.intents)}; anger {ctx.anger:.2f}",
    ]
    if ctx.waybill:
        lines.append(f"Parcel: {ctx.waybill}" + (f" - {ctx.shipment_status}" if ctx.shipment_status else ""))
    shown = {k: v for k, v in ctx.slots.items() if v not in (None, "", [], {})}
    if shown:
        lines.append("Collected: " + "; ".join(f"{k}={_quote(str(v))}" for k, v in sorted(shown.items())))
    for ticket in ctx.tickets:
        decision = f", decided {ticket.decision.kind} {ticket.decision.amount}" if ticket.decision else ""
        evidence = f", {len(ticket.evidence)} photo(s)" if ticket.evidence else ""
        kind = f"{ticket.type.value} L{ticket.level} {ticket.status.value}"
        lines.append(f"Ticket {ticket.id}: {kind}{decision}{evidence}")
    if ctx.customer_texts:
        lines.append("Customer said:")
        lines.extend(f"  > {_quote(t)}" for t in ctx.customer_texts[-MAX_LINES:])
    if ctx.bot_texts:
        lines.append("Bot said:")
        lines.extend(f"  < {_quote(t)}" for t in ctx.bot_texts[-MAX_LINES:])
    return mask_phones("\n".join(lines))
