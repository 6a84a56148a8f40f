"""The one action Rasa runs on every customer message, before anything else.

Both per-message slots, ``language`` and ``handoff_due``, name this action as their
custom mapping; Rasa calls a mapping action once per message however many slots
use it, so the language check and the handoff check cost one action-server round
trip together instead of two.
"""

from __future__ import annotations

from typing import Any, Dict, List

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.handoff import ActionAssessHandoff
from actions.language import ActionDetectLanguage


class ActionReadMessage(Action):
    """Sets ``language`` and ``handoff_due`` (and ``handoff_trigger``) from the latest message."""

    def name(self) -> str:
        """Action name used in the domain."""
        return "action_read_message"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[Dict[str, Any]]:
        """Runs the language and handoff checks."""
        language = await ActionDetectLanguage().run(dispatcher, tracker, domain)
        handoff = await ActionAssessHandoff().run(dispatcher, tracker, domain)
        return [*language, *handoff]
