"""What an agent does to a chat from the console: take, reply, transfer, hand back, close; and the chat view.

Each verb is ``async (agent, session, cid, body, entry) -> (status, payload)``; the console
checks the session, the CSRF token and :func:`connectors.console.access.may_act` first
(``claim`` only needs a waiting chat). ``agent`` is Rasa's ``Agent`` (tracker and lock store).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timezone
from typing import Any, Awaitable, Callable

from rasa.core.channels.channel import CollectingOutputChannel
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.events import ActionExecuted, BotUttered, ConversationResumed

from bot.agents.models import AgentSession
from bot.agents.store import AgentStore
from bot.agents.store import store_from_env as agents_from_env
from bot.common.clock import now_in_china
from bot.common.redaction import mask_phones
from bot.handoff.queue import QueueEntry
from bot.tickets import InvalidTransition, TicketStatus, TicketStore, TicketType
from bot.tickets import store_from_env as tickets_from_env
from bot.tracking import provider_from_env
from bot.tracking.messages import describe_shipment
from connectors.common.senders import deliver
from connectors.console import live

logger = logging.getLogger(__name__)

MAX_REPLY = 2000
TRANSCRIPT_EVENTS = 200

Verb = Callable[[Any, AgentSession, str, dict, "QueueEntry | None"], Awaitable[tuple[int, dict]]]


class Services:
    """Stores the console uses, built on first use (after Rasa has loaded); tests may set them."""

    agents: AgentStore | None = None
    tickets: TicketStore | None = None

    @classmethod
    def agent_store(cls) -> AgentStore:
        """The agents database (accounts, sessions, audit)."""
        if cls.agents is None:
            cls.agents = agents_from_env()
        return cls.agents

    @classmethod
    def ticket_store(cls) -> TicketStore:
        """The tickets database."""
        if cls.tickets is None:
            cls.tickets = tickets_from_env()
        return cls.tickets


def entry_view(entry: QueueEntry, now: datetime) -> dict[str, Any]:
    """A queue entry as the console shows it (summary with phones masked)."""
    return {
        "conversation_id": entry.conversation_id, "channel": entry.channel, "ticket_id": entry.ticket_id,
        "level": entry.level, "anger": entry.anger, "reason": entry.reason, "summary": mask_phones(entry.summary),
        "agent": entry.agent, "waiting_seconds": int((now - entry.enqueued_at).total_seconds()),
        "enqueued_at": entry.enqueued_at.isoformat(),
    }  # fmt: skip


def _ticket(ticket: Any) -> dict[str, Any]:
    return {
        "id": ticket.id, "type": ticket.type.value, "level": ticket.level, "status": ticket.status.value,
        "waybill": ticket.waybill, "summary": ticket.summary, "respond_by": ticket.respond_by.isoformat(),
        "resolve_by": ticket.resolve_by.isoformat(),
        "decision": None if ticket.decision is None else {
            "kind": ticket.decision.kind, "amount": str(ticket.decision.amount), "reason": ticket.decision.reason_code},
        "evidence": [{"sha256": e.sha256, "kind": e.kind, "content_type": e.content_type} for e in ticket.evidence],
    }  # fmt: skip


async def chat_view(agent: Any, cid: str, entry: QueueEntry | None) -> dict[str, Any] | None:
    """Everything the chat page shows, unmasked (the caller masks); ``None`` if there is no such conversation."""
    tracker = await agent.tracker_store.retrieve(cid)
    if tracker is None:
        return None
    transcript = []
    for event in list(tracker.events)[-TRANSCRIPT_EVENTS:]:
        if isinstance(event, BotUttered) or event.type_name == "user":
            metadata = getattr(event, "metadata", None) or {}
            author = "customer" if event.type_name == "user" else ("agent" if metadata.get("agent") else "bot")
            transcript.append({"author": author, "agent": metadata.get("agent"), "text": event.text or "",
                               "at": datetime.fromtimestamp(event.timestamp, tz=timezone.utc).isoformat()})  # fmt: skip
    tickets = await asyncio.to_thread(Services.ticket_store().for_conversation, cid)
    handoff = tracker.get_slot("handoff") if "handoff" in tracker.slots else None
    waybill = tracker.get_slot("claim_waybill") or tracker.get_slot("waybill")
    return {
        "conversation_id": cid, "paused": tracker.is_paused(),
        "queue": entry and entry_view(entry, datetime.now(timezone.utc)), "handoff": handoff,
        "transcript": transcript, "tickets": [_ticket(t) for t in tickets], "tracking": await _tracking_card(waybill),
    }  # fmt: skip


async def _tracking_card(waybill: Any) -> str | None:
    if not isinstance(waybill, str) or not waybill or waybill == "-":
        return None
    try:
        shipment = await asyncio.wait_for(provider_from_env().get(waybill, ()), 3)
    except Exception as exc:  # the card is a convenience: the chat still opens
        logger.warning("console: tracking card unavailable: %s", type(exc).__name__)
        return None
    return describe_shipment(shipment, "zh", now_in_china()) if shipment else None


async def _append(agent: Any, cid: str, *events: Any) -> Any:
    async with agent.lock_store.lock(cid):
        tracker = await agent.processor.get_tracker(cid)
        for event in events:
            tracker.update(event)
        await agent.tracker_store.save(tracker)
        return tracker


async def claim(agent: Any, session: AgentSession, cid: str, body: dict, entry: QueueEntry | None) -> tuple[int, dict]:
    """Take a waiting chat."""
    taken = await asyncio.to_thread(live.queue().claim, cid, session.username)
    if taken is None:
        return 409, {"error": "this chat is not waiting: another agent may have taken it"}
    if taken.ticket_id.startswith("TK-"):
        try:
            await asyncio.to_thread(Services.ticket_store().transition, taken.ticket_id, TicketStatus.IN_PROGRESS,
                                    f"agent:{session.username}", "taken over in the console")  # fmt: skip
        except (InvalidTransition, LookupError):
            pass  # already in progress (taken over before): nothing to change
    live.hub().publish({"type": "queue", "conversation_id": cid, "change": "claimed", "agent": session.username})
    return 200, {"ok": True, "agent": session.username}


async def reply(agent: Any, session: AgentSession, cid: str, body: dict, entry: QueueEntry | None) -> tuple[int, dict]:
    """Send the customer a message on their own channel, recorded as the agent's."""
    assert entry is not None  # may_act refused chats outside the queue
    text = body.get("text")
    if not isinstance(text, str) or not text.strip() or len(text) > MAX_REPLY:
        return 400, {"error": f"text must be 1-{MAX_REPLY} characters"}
    text = text.strip()
    said = BotUttered(text, metadata={"agent": session.username, "agent_name": session.display_name})
    await _append(agent, cid, said)
    await deliver(entry.channel, cid, [{"recipient_id": cid, "text": text, "agent": session.display_name}])
    return 200, {"ok": True}


async def transfer(
    agent: Any, session: AgentSession, cid: str, body: dict, entry: QueueEntry | None
) -> tuple[int, dict]:
    """Give the chat to another active agent (a supervisor may also assign a waiting chat)."""
    assert entry is not None
    to = body.get("to")
    if not isinstance(to, str) or not to.strip():
        return 400, {"error": "say who to transfer to"}
    to = to.strip().lower()
    agents = await asyncio.to_thread(Services.agent_store().list_agents)
    if not any(a.username == to and a.active for a in agents):
        return 404, {"error": "no such active agent"}
    try:
        if entry.agent is None:
            moved = await asyncio.to_thread(live.queue().claim, cid, to)
        else:
            moved = await asyncio.to_thread(live.queue().transfer, cid, entry.agent, to)
    except ValueError as exc:
        return 400, {"error": str(exc)}
    if moved is None:
        return 409, {"error": "the chat changed hands meanwhile: reload"}
    live.hub().publish({"type": "queue", "conversation_id": cid, "change": "transferred", "agent": moved.agent})
    return 200, {"ok": True, "agent": moved.agent}


async def handback(
    agent: Any, session: AgentSession, cid: str, body: dict, entry: QueueEntry | None
) -> tuple[int, dict]:
    """Resume the bot: the customer hears it is back, and the chat leaves the queue."""
    assert entry is not None
    await _append(agent, cid, ConversationResumed())
    await asyncio.to_thread(live.queue().release, cid)
    collector = CollectingOutputChannel()
    async with agent.lock_store.lock(cid):
        await agent.execute_action(cid, "utter_welcome_back", collector, None, 1.0)
    # the bot now waits for the customer, exactly as after any reply of its own
    await _append(agent, cid, ActionExecuted(ACTION_LISTEN_NAME))
    await deliver(entry.channel, cid, collector.messages)
    live.hub().publish({"type": "queue", "conversation_id": cid, "change": "handed_back"})
    return 200, {"ok": True}


async def close(agent: Any, session: AgentSession, cid: str, body: dict, entry: QueueEntry | None) -> tuple[int, dict]:
    """Resolve the handoff ticket with a resolution, then hand the chat back."""
    assert entry is not None
    resolution = body.get("resolution")
    if not isinstance(resolution, str) or not resolution.strip():
        return 400, {"error": "write the resolution"}
    store = Services.ticket_store()
    ticket = await asyncio.to_thread(store.get, entry.ticket_id) if entry.ticket_id.startswith("TK-") else None
    if ticket is not None and ticket.type is TicketType.HANDOFF:
        actor = f"agent:{session.username}"
        if ticket.status is TicketStatus.OPEN:
            await asyncio.to_thread(store.transition, ticket.id, TicketStatus.IN_PROGRESS, actor)
        await asyncio.to_thread(store.transition, ticket.id, TicketStatus.RESOLVED, actor, resolution.strip()[:2000])
    return await handback(agent, session, cid, body, entry)


ACTS: dict[str, Verb] = {"reply": reply, "transfer": transfer, "handback": handback, "close": close}
"""Verbs that need :func:`connectors.console.access.may_act` (``claim`` needs only a waiting chat)."""
