"""Who may see and do what in the agent console, the live feed per viewer, masking and the audit.

Rules (stated in docs/security.md):

* A ``supervisor`` sees every conversation (handed over or not), its photos and the
  audit, and may act on every chat in the queue.
* An ``agent`` sees the queue (summaries only) and, in full, the chats they hold
  (claimed, or transferred to them) with their photos; they act only on those. A chat
  waiting in the queue must be taken first; another agent's chat, or a conversation
  never handed over, is refused with 403 and the reason.
* Proactive notices no channel could deliver (``GET /api/notices``) are listed for
  supervisors only, without their text (:func:`notice_view`).
* Phone numbers are masked everywhere in the console; anyone who may see a chat can
  ask to reveal them for one view, and that is recorded like every transcript and
  photo view (:meth:`bot.agents.store.AgentStore.record_access`).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from bot.agents.models import AgentSession
from bot.common.redaction import mask_phones
from bot.handoff.queue import HandoffQueue, QueueEntry
from bot.proactive.models import QueuedNotice

RECHECK_SECONDS = 5.0
"""How old a viewer's knowledge of a chat's holder may be before a message event re-checks it."""


@dataclass(frozen=True)
class Decision:
    """Whether a request is allowed; ``reason`` says why not (shown to the agent)."""

    allowed: bool
    reason: str = ""


ALLOWED = Decision(True)


def may_view(session: AgentSession, entry: QueueEntry | None) -> Decision:
    """May ``session`` read the transcript, tickets and photos of the conversation whose queue entry is ``entry``."""
    if session.supervisor:
        return ALLOWED
    if entry is None:
        return Decision(False, "this conversation is not in the handoff queue: only supervisors may open it")
    if entry.agent is None:
        return Decision(False, "take the chat first: the queue shows its summary")
    if entry.agent != session.username:
        return Decision(False, "another agent holds this chat")
    return ALLOWED


def may_act(session: AgentSession, entry: QueueEntry | None) -> Decision:
    """May ``session`` reply to, transfer, hand back or close the chat (``entry`` is its queue entry)."""
    if entry is None:
        return Decision(False, "this conversation is not in the handoff queue")
    if session.supervisor:
        return ALLOWED
    if entry.agent != session.username:
        reason = "take the chat first" if entry.agent is None else "only the agent holding the chat can do that"
        return Decision(False, reason)
    return ALLOWED


def notice_view(notice: QueuedNotice) -> dict[str, Any]:
    """An undeliverable notice as supervisors see it: who, where, which parcel and change, why, when; no text."""
    return {
        "id": notice.id,
        "conversation_id": notice.conversation_id,
        "channel": notice.channel,
        "waybill": notice.waybill,
        "kind": notice.kind,
        "status": notice.status,
        "reason": notice.detail,
        "at": notice.sent_at.isoformat() if notice.sent_at else None,
        "due_at": notice.due_at.isoformat(),
    }


def _mask(value: Any) -> Any:
    return mask_phones(value) if isinstance(value, str) else value


def masked_chat(payload: dict[str, Any]) -> dict[str, Any]:
    """A copy of a chat view with phone numbers masked in every free text an agent reads."""
    out = dict(payload)
    out["transcript"] = [{**m, "text": _mask(m.get("text"))} for m in payload.get("transcript", [])]
    out["tickets"] = [{**t, "summary": _mask(t.get("summary"))} for t in payload.get("tickets", [])]
    out["tracking"] = _mask(payload.get("tracking"))
    if isinstance(payload.get("handoff"), dict):
        out["handoff"] = {**payload["handoff"], "summary": _mask(payload["handoff"].get("summary"))}
    if isinstance(payload.get("queue"), dict):
        out["queue"] = {**payload["queue"], "summary": _mask(payload["queue"].get("summary"))}
    return out


class FeedFilter:
    """Decides, per viewer, which live events their console page receives.

    Message events reach a supervisor always, an agent only for chats they hold. Queue
    events (ids and the kind of change, no text) reach an agent for chats waiting in the
    queue or held by them, and once more when a chat leaves their view; the name of
    another agent is left out. Holders are re-read from the queue on every queue event
    and, for message events, when the last look is older than :data:`RECHECK_SECONDS`.
    """

    def __init__(self, session: AgentSession, queue: HandoffQueue) -> None:
        """A filter for one console page of ``session``."""
        self._session = session
        self._queue = queue
        self._held: set[str] = set()
        self._known: set[str] = set()
        self._checked: dict[str, float] = {}

    async def start(self) -> None:
        """Read what the viewer holds and sees in the queue now (call after subscribing to the hub)."""
        if self._session.supervisor:
            return
        held = await asyncio.to_thread(self._queue.claimed, self._session.username)
        waiting = await asyncio.to_thread(self._queue.waiting)
        now = time.monotonic()
        self._held = {e.conversation_id for e in held}
        self._known = self._held | {e.conversation_id for e in waiting}
        self._checked = dict.fromkeys(self._known, now)

    async def _refresh(self, cid: str) -> tuple[bool, bool]:
        """Re-read one chat's holder; returns (visible before, visible now)."""
        entry = await asyncio.to_thread(self._queue.get, cid)
        before = cid in self._known
        held = entry is not None and entry.agent == self._session.username
        visible = entry is not None and (entry.agent is None or held)
        (self._held.add if held else self._held.discard)(cid)
        (self._known.add if visible else self._known.discard)(cid)
        self._checked[cid] = time.monotonic()
        if len(self._checked) > 10_000:  # forget old looks, not what is held
            self._checked = {k: v for k, v in self._checked.items() if k in self._known}
        return before, visible

    async def allow(self, event: dict[str, Any]) -> dict[str, Any] | None:
        """The event as this viewer may receive it (message text with phones masked), or ``None`` to drop it."""
        if self._session.supervisor:
            return _masked_event(event)
        cid = event.get("conversation_id")
        if not isinstance(cid, str) or not cid:
            return None
        kind = event.get("type")
        if kind == "queue":
            before, now = await self._refresh(cid)
            if not (before or now):
                return None
            shown = {"type": "queue", "conversation_id": cid, "change": event.get("change")}
            if event.get("agent") == self._session.username:
                shown["agent"] = self._session.username
            return shown
        if kind == "message":
            if time.monotonic() - self._checked.get(cid, float("-inf")) > RECHECK_SECONDS:
                await self._refresh(cid)
            return _masked_event(event) if cid in self._held else None
        return None


def _masked_event(event: dict[str, Any]) -> dict[str, Any]:
    return {**event, "text": mask_phones(event["text"])} if isinstance(event.get("text"), str) else event
