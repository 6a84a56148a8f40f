"""ActionReadMessage: one action reads the language and the need for a person on every message."""

from __future__ import annotations

from rasa_sdk.executor import CollectingDispatcher

from actions.per_message import ActionReadMessage
from tests.support.actions import convo, slot


async def test_one_action_reads_language_and_handoff_per_message():
    english_and_angry = convo(("user", "THIS IS A SCAM!!! I will sue you, call my lawyer"))
    events = await ActionReadMessage().run(CollectingDispatcher(), english_and_angry, {})
    assert slot(events, "language") == "en" and slot(events, "handoff_due") is True
    assert slot(events, "handoff_trigger")["reason"] == "legal_threat"
    calm = await ActionReadMessage().run(CollectingDispatcher(), convo(("user", "请问运费怎么算")), {})
    assert calm == []
