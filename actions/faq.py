"""FAQ answers chosen by the ResponseSelector, with a live outlet search."""

from __future__ import annotations

from typing import Any, Dict, List

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from bot import services
from bot.common.i18n import language, text
from bot.tracking.outlets import Outlet

OUTLET_KEY = "faq/outlet"


def selected_faq(tracker: Tracker) -> str | None:
    """The FAQ key (``faq/outlet`` …) the ResponseSelector chose for the latest message."""
    selector = tracker.latest_message.get("response_selector") or {}
    response = (selector.get("faq") or {}).get("response") or {}
    key = response.get("intent_response_key")
    return key if isinstance(key, str) and key.startswith("faq/") else None


def format_outlets(found: List[Outlet], lang: str) -> str:
    """A short list of outlets with address, hours and phone."""
    lines = [text("tracking.outlets.head", lang)]
    for outlet in found:
        lines.append(outlet.describe(lang))
    return "\n".join(lines)


class ActionAnswerFaq(Action):
    """Answers an FAQ; for outlets, searches the directory by the place named."""

    def name(self) -> str:
        """Action name used in the domain."""
        return "action_answer_faq"

    async def run(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> List[Dict[str, Any]]:
        """Utters the selected FAQ response, or the outlets matching the message."""
        key = selected_faq(tracker)
        if key is None:
            dispatcher.utter_message(response="utter_default")
            return []
        if key == OUTLET_KEY:
            found = services.outlets().find(tracker.latest_message.get("text") or "")
            if found:
                dispatcher.utter_message(text=format_outlets(found, language(tracker.get_slot("language"))))
                return []
        dispatcher.utter_message(response=f"utter_{key}")
        return []
