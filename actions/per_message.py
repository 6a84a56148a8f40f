"""The one action Rasa runs on every customer message, before anything else.

Both per-message slots, ``language`` and ``handoff_due``, name this action as their
custom mapping; Rasa calls a mapping action once per message however many slots
use it, so the language check and the handoff check cost one action-server round
trip together instead of two. The checks are the same as ``action_detect_language``
(:func:`bot.common.text.detect_language`) and ``action_assess_handoff``
(:func:`bot.handoff.service.due_slots`).
"""

from __future__ import annotations

import asyncio
from typing import Any, Dict, List

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from bot.common.text import detect_language
from bot.handoff import service
from bot.handoff.conversation import Conversation


class ActionReadMessage(Action):
    """Sets ``language`` and ``handoff_due`` (and ``handoff_trigger``) from the latest message."""

    def name(self) -> str:
        """Action name used in the domain."""
        return "action_read_message"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict[str, Any]]:
        """Runs the language and handoff checks."""
        events: List[Dict[str, Any]] = []
        current = tracker.get_slot("language")
        text = tracker.latest_message.get("text") or ""
        if not text.startswith("/"):  # a channel's own command (e.g. /send_photo): no language in it
            detected = detect_language(text, current)
            if detected != current:
                events.append(SlotSet("language", detected))
        changes = await asyncio.to_thread(service.due_slots, Conversation.of(tracker), tracker.is_paused())
        return [*events, *(SlotSet(name, value) for name, value in changes.items())]
