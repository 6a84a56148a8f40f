"""FAQ answers: ActionAnswerFaq, with the outlet directory for outlet questions."""

from __future__ import annotations

from actions.faq import ActionAnswerFaq
from tests.support.actions import run


async def test_outlet_faq_searches_the_directory():
    texts, _ = await run(ActionAnswerFaq(), "浦东哪里有你们的网点", response_key="faq/outlet")
    assert texts[0].startswith("为您找到以下网点") and "浦东" in texts[0]


async def test_outlet_faq_without_place_gives_the_generic_answer():
    texts, _ = await run(ActionAnswerFaq(), "你们有网点吗", response_key="faq/outlet")
    assert texts == ["utter_faq/outlet"]


async def test_other_faq_uses_the_selected_response():
    texts, _ = await run(ActionAnswerFaq(), "保价怎么收费", response_key="faq/insurance")
    assert texts == ["utter_faq/insurance"]
    texts, _ = await run(ActionAnswerFaq(), "保价怎么收费")
    assert texts == ["utter_default"]
