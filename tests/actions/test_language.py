"""The conversation's language: ActionDetectLanguage follows the customer."""

from __future__ import annotations

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.language import ActionDetectLanguage
from tests.support.actions import DELIVERED, tracker


@pytest.mark.parametrize(
    ("text", "current", "events"),
    [
        ("where is my parcel", "zh", [{"event": "slot", "timestamp": None, "name": "language", "value": "en"}]),
        ("我的快递", "zh", []),
        (DELIVERED, "en", []),
    ],
)
async def test_language_follows_the_customer(text, current, events):
    dispatcher = CollectingDispatcher()
    result = await ActionDetectLanguage().run(dispatcher, tracker(text, slots={"language": current}), {})
    assert result == events
