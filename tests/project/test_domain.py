"""Every reply exists in Chinese and English, and the domain matches the NLU contract."""

import pytest
import yaml

from tests.support import ROOT
from tests.support.contract import CORE_INTENTS, FAQ_KEYS


def load_domain() -> dict:
    merged: dict = {"responses": {}, "intents": [], "actions": []}
    for path in sorted((ROOT / "domain").glob("*.yml")):
        part = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        merged["responses"].update(part.get("responses") or {})
        merged["intents"].extend(part.get("intents") or [])
        merged["actions"].extend(part.get("actions") or [])
    return merged


DOMAIN = load_domain()


@pytest.mark.parametrize("name", sorted(DOMAIN["responses"]))
def test_response_has_chinese_default_and_english_variation(name):
    variations = DOMAIN["responses"][name]
    defaults = [v for v in variations if not v.get("condition")]
    english = [
        v
        for v in variations
        if any(c.get("name") == "language" and c.get("value") == "en" for c in v.get("condition") or [])
    ]
    assert defaults, f"{name} has no default (Chinese) variation"
    assert english, f"{name} has no English variation"
    assert any("\u4e00" <= ch <= "\u9fff" for ch in defaults[0]["text"]), f"{name} default is not Chinese"
    assert not any("\u4e00" <= ch <= "\u9fff" for ch in english[0]["text"]), f"{name} English text has Chinese"


CONTRACT_INTENTS = [*CORE_INTENTS, "faq"]


def test_contract_intents_declared():
    assert set(CONTRACT_INTENTS) <= set(DOMAIN["intents"])


@pytest.mark.parametrize("key", FAQ_KEYS)
def test_every_faq_has_a_response(key):
    assert f"utter_faq/{key}" in DOMAIN["responses"]


@pytest.mark.parametrize("name", ["utter_offer_human_fallbacks", "utter_offer_human_stuck"])
def test_offer_of_a_person_has_buttons_the_handoff_rules_understand(name):
    """The buttons' payloads are read as taking / declining the offer whatever NLU makes of them."""
    from bot.handoff.rules import offer_answer

    for variation in DOMAIN["responses"][name]:
        answers = [offer_answer(button["payload"], None) for button in variation.get("buttons") or []]
        assert answers == ["accept", "decline"], variation


@pytest.mark.parametrize("name", ["utter_out_of_scope", "utter_default"])
def test_off_topic_answers_say_what_the_assistant_can_do(name):
    for variation in DOMAIN["responses"][name]:
        text = variation["text"].lower()
        assert ("快递" in text and "延误" in text) or ("track" in text and "delay" in text), text
