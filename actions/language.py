"""Keeps the ``language`` slot in step with what the customer writes."""

from __future__ import annotations

from typing import Any, Dict, List

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from bot.common.i18n import language
from bot.common.text import detect_language


def language_of(tracker: Tracker) -> str:
    """The conversation's language (``"zh"`` or ``"en"``)."""
    return language(tracker.get_slot("language"))


class ActionDetectLanguage(Action):
    """Custom slot mapping for ``language``, run on every customer message."""

    def name(self) -> str:
        """Action name used in the domain."""
        return "action_detect_language"

    async def run(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> List[Dict[str, Any]]:
        """Sets ``language`` when the latest message shows a different one."""
        current = tracker.get_slot("language")
        text = tracker.latest_message.get("text") or ""
        if text.startswith("/"):
            return []  # a channel's own command (e.g. /send_photo for a photo): no language in it
        detected = detect_language(text, current)
        return [] if detected == current else [SlotSet("language", detected)]
