"""The custom NLU components on real Rasa messages tokenized by Jieba."""

from __future__ import annotations

import pytest
from rasa.nlu.constants import TOKENS_NAMES
from rasa.nlu.tokenizers.jieba_tokenizer import JiebaTokenizer
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from components.normaliser import WAYBILL_TOKEN, TokenNormaliser
from components.waybill_extractor import WaybillEntityExtractor


@pytest.fixture(scope="module")
def tokenizer() -> JiebaTokenizer:
    return JiebaTokenizer({**JiebaTokenizer.get_default_config(), "dictionary_path": None}, None, None)


def parse(tokenizer: JiebaTokenizer, text: str) -> Message:
    message = Message({TEXT: text})
    tokenizer.process([message])
    WaybillEntityExtractor().process([message])
    TokenNormaliser().process([message])
    return message


def test_every_number_becomes_an_entity_as_typed(tokenizer):
    message = parse(tokenizer, "帮我查下 sf 1648-5470-8664 6 和 JDVC42984325214 谢谢")
    entities = [(e["entity"], e["value"], e["extractor"]) for e in message.get(ENTITIES)]
    assert entities == [
        ("waybill", "sf 1648-5470-8664 6", "WaybillEntityExtractor"),
        ("waybill", "JDVC42984325214", "WaybillEntityExtractor"),
    ]


def test_numbers_become_one_placeholder_and_words_are_normalised(tokenizer):
    message = parse(tokenizer, "單號ＳＦ１６４８５４７０８６６４６怎麼還沒到 Please")
    lemmas = [t.lemma for t in message.get(TOKENS_NAMES[TEXT])]
    assert WAYBILL_TOKEN in lemmas
    assert not any(ch.isdigit() for lemma in lemmas for ch in lemma)
    joined = "".join(lemmas)
    assert "单号" in joined and "怎么" in joined and "please" in joined
    assert message.get(TEXT) == "單號ＳＦ１６４８５４７０８６６４６怎麼還沒到 Please"


@pytest.mark.parametrize(
    "text",
    [
        "我的件 SF 1648 5470 8664 6 一直没动，电话13812345678",
        "單號ＳＦ１６４８５４７０８６６４６怎麼還沒到",
        "sf-1648-5470-8664-6 arrived broken",
        "JDVC 2538 6443 033 到哪了",
    ],
)
def test_one_waybill_gives_exactly_one_placeholder_token(tokenizer, text):
    message = parse(tokenizer, text)
    [entity] = message.get(ENTITIES)
    tokens = message.get(TOKENS_NAMES[TEXT])
    lemmas = [t.lemma for t in tokens]
    assert lemmas.count(WAYBILL_TOKEN) == 1
    [placeholder] = [t for t in tokens if t.lemma == WAYBILL_TOKEN]
    assert placeholder.start <= entity["start"] and placeholder.end >= entity["end"]
    assert placeholder.text == text[placeholder.start : placeholder.end]
    # Offsets stay ordered and non-overlapping, and no token outside the span is lost.
    assert all(a.end <= b.start for a, b in zip(tokens, tokens[1:], strict=False))
    outside = "".join(t.text for t in tokens if t.lemma != WAYBILL_TOKEN)
    assert outside == text[: placeholder.start] + text[placeholder.end :]
    assert message.get(TEXT) == text


def test_two_waybills_give_two_placeholders(tokenizer):
    message = parse(tokenizer, "查 sf 1648 5470 8664 6 和 ＪＤＶＣ２５３８６４４３０３３")
    lemmas = [t.lemma for t in message.get(TOKENS_NAMES[TEXT]) if t.lemma.strip()]
    assert lemmas == ["查", WAYBILL_TOKEN, "和", WAYBILL_TOKEN]


def test_grouped_number_reads_like_a_plain_one(tokenizer):
    """The featurizers see the same lemmas whatever way the number was typed."""
    typed = [t.lemma for t in parse(tokenizer, "单号 SF 1648-5470-8664 6 破损了").get(TOKENS_NAMES[TEXT])]
    plain = [t.lemma for t in parse(tokenizer, "单号 SF1648547086646 破损了").get(TOKENS_NAMES[TEXT])]
    assert typed == plain


def test_no_number_no_entity(tokenizer):
    message = parse(tokenizer, "我的快递到哪了")
    assert message.get(ENTITIES, []) == []


def test_training_examples_keep_their_annotations(tokenizer):
    example = Message(
        {
            TEXT: "查 SF1648547086646",
            ENTITIES: [{"entity": "waybill", "start": 2, "end": 17, "value": "SF1648547086646"}],
        }
    )
    tokenizer.process([example])
    data = TrainingData([example])
    WaybillEntityExtractor().process_training_data(data)
    TokenNormaliser().process_training_data(data)
    assert example.get(ENTITIES) == [{"entity": "waybill", "start": 2, "end": 17, "value": "SF1648547086646"}]
    assert [t.lemma for t in example.get(TOKENS_NAMES[TEXT])][-1] == WAYBILL_TOKEN


def test_action_responses_are_still_validated():
    from jsonschema import ValidationError
    from rasa.core.actions.action import RemoteAction

    import components  # noqa: F401  (applies the patch, as loading a model does)
    from components.rasa_patches import _validate_action_result

    assert RemoteAction._validate_action_result is _validate_action_result
    action = RemoteAction("action_x", None)
    good = {"events": [{"event": "slot", "name": "language", "value": "en"}], "responses": [{"text": "hi"}]}
    assert action._validate_action_result(good) is True
    with pytest.raises(ValidationError, match="Failed to validate Action server response"):
        action._validate_action_result({"events": [{"event": "no_such_event"}], "responses": []})
    with pytest.raises(ValidationError):
        action._validate_action_result({"events": "not a list"})
