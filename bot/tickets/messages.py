"""Replies about compensation offers and tickets, in Chinese and English."""

from __future__ import annotations

from collections.abc import Sequence

from bot.common.clock import format_time
from bot.common.i18n import in_language
from bot.policy.model import Offer
from bot.tickets import Ticket, TicketStatus, TicketType

_TYPES = {
    TicketType.DAMAGE_CLAIM: ("破损理赔", "damage claim"),
    TicketType.MISSING: ("丢件/未收到", "missing parcel"),
    TicketType.DELAY: ("延误补偿", "delay compensation"),
    TicketType.COMPLAINT: ("投诉", "complaint"),
    TicketType.HANDOFF: ("人工服务", "agent follow-up"),
    TicketType.GENERAL: ("一般咨询", "general enquiry"),
}

_STATUSES = {
    TicketStatus.OPEN: ("已受理", "open"),
    TicketStatus.IN_PROGRESS: ("处理中", "in progress"),
    TicketStatus.WAITING_CUSTOMER: ("等待您的回复", "waiting for your reply"),
    TicketStatus.RESOLVED: ("已解决", "resolved"),
    TicketStatus.CLOSED: ("已关闭", "closed"),
}


def delay_offer_line(offer: Offer, lang: str) -> str:
    """What the policy grants for a delay, in one sentence.

    Args:
        offer: The policy's delay offer.
        lang: ``"zh"`` or ``"en"``.
    """
    amount = f"{offer.amount:.2f}"
    en = lang == "en"
    if offer.kind == "coupon":
        return (
            f"For the delay we are giving you a freight coupon worth ¥{amount}."
            if en
            else f"按我们的时效承诺，为您补偿运费券 {amount} 元。"
        )
    if offer.kind == "refund":
        return (
            f"For the delay we will refund ¥{amount} of the freight."
            if en
            else f"按我们的时效承诺，将为您退还运费 {amount} 元。"
        )
    if offer.kind == "compensate":
        return (
            f"Under your service agreement we will pay ¥{amount} in compensation."
            if en
            else f"按服务协议，将为您赔付 {amount} 元。"
        )
    return (
        "This case is above what I may settle myself; a claims specialist will review it."
        if en
        else "这一情况超出了我可以自动处理的范围，将由理赔专员为您审核。"
    )


def ticket_opened(ticket: Ticket, lang: str) -> str:
    """The ticket id, what happens next and by when."""
    by = format_time(ticket.resolve_by, lang)
    if lang == "en":
        return f"I've registered this as ticket {ticket.id}; it will be settled by {by}."
    return f"已为您登记工单 {ticket.id}，我们会在 {by} 前处理完毕。"


def missing_ticket_opened(ticket: Ticket, lang: str) -> str:
    """The missing-parcel ticket: we check with the courier and answer by the deadline."""
    by = format_time(ticket.resolve_by, lang)
    if lang == "en":
        return (
            f"I've opened ticket {ticket.id} for the missing parcel. We will check the delivery "
            f"with the courier and get back to you by {by}."
        )
    return f"已为您登记丢件/未收到工单 {ticket.id}，我们会联系派件员核实，并在 {by} 前给您答复。"


def tickets_overview(tickets: Sequence[Ticket], lang: str) -> str:
    """The customer's own tickets with status and deadline, newest first."""
    if not tickets:
        if lang == "en":
            return "You have no tickets with us in this conversation. Tell me what happened and I'll help."
        return "您在这里还没有工单。请告诉我遇到了什么问题，我来帮您处理。"
    lines = ["Your tickets:" if lang == "en" else "您的工单："]
    for ticket in tickets:
        kind = in_language(_TYPES[ticket.type], lang)
        status = in_language(_STATUSES[ticket.status], lang)
        by = format_time(ticket.resolve_by, lang)
        waybill = f" {ticket.waybill}" if ticket.waybill else ""
        if lang == "en":
            done = ticket.status in (TicketStatus.RESOLVED, TicketStatus.CLOSED)
            due = "" if done else f", due {by}"
            lines.append(f"{ticket.id} · {kind}{waybill} · {status}{due}")
        else:
            due = "" if ticket.status in (TicketStatus.RESOLVED, TicketStatus.CLOSED) else f"，{by} 前处理完毕"
            lines.append(f"{ticket.id}｜{kind}{waybill}｜{status}{due}")
    return "\n".join(lines)


def parcel_tickets(waybill: str, tickets: Sequence[Ticket], lang: str) -> str:
    """Every ticket about one parcel (for a customer who proved it is theirs), newest first."""
    if not tickets:
        if lang == "en":
            return f"There are no tickets about parcel {waybill}."
        return f"包裹 {waybill} 目前没有工单记录。"
    head = f"Tickets about parcel {waybill}:" if lang == "en" else f"包裹 {waybill} 的工单记录："
    return head + "\n" + tickets_overview(tickets, lang).split("\n", 1)[1]
