"""The trained anger model (bot.handoff.anger_model), its Rasa component, its data and its use by the handoff."""

from __future__ import annotations

import json
import math
import re
import shutil
import unicodedata
from pathlib import Path

import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.data import is_valid_filetype
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.handoff import ActionAssessHandoff
from bot.handoff import anger_model
from bot.handoff.anger import DEFAULT, conversation_score, score
from bot.handoff.anger_model import AngerModel, TrainingSettings, lexicon_features, load_rows, ngrams, prepare
from bot.handoff.conversation import model_score
from components.anger_classifier import ANGER, AngerClassifier
from tests.support import ROOT

TRAIN = ROOT / "data" / "anger" / "train.tsv"
HELD_OUT = ROOT / "tests" / "anger" / "test.tsv"

SMALL = [
    (1, "你们是在逗我吗"), (1, "这就是你们的服务？"), (1, "今天不给说法就别想了"), (1, "垃圾快递，气死我了"),
    (1, "你们到底有没有人管？？？"), (1, "再不处理我就去12305投诉"), (1, "Are you kidding me?"),
    (1, "Fix it today or I'm done with you"), (1, "This is ridiculous"), (1, "什么玩意，离谱"),
    (1, "呵呵，真厉害，又丢件了"), (1, "受够了，再也不用你们了"),
    (0, "请问我的快递到哪了"), (0, "谢谢，收到了"), (0, "运费怎么算"), (0, "有点着急，能帮我看看吗"),
    (0, "我不生气，慢慢查"), (0, "Where is my parcel?"), (0, "Thanks, that's helpful"),
    (0, "Could you please check my order?"), (0, "你好"), (0, "可以送到公司吗"), (0, "包裹有点破，怎么理赔"),
    (0, "I'm a bit worried about customs"),
]  # fmt: skip
FAST = TrainingSettings(c_values=(10.0,), folds=3)


@pytest.fixture(scope="module")
def small_model() -> AngerModel:
    return anger_model.train(SMALL, FAST)


def _key(text: str) -> str:
    return re.sub(r"[\W_]+", "", unicodedata.normalize("NFKC", text).lower())


# -- features and training ---------------------------------------------------------------


def test_prepare_normalises_and_hides_numbers() -> None:
    assert prepare("單號ＳＦ１６４８５４７０８６６４６怎麼還沒到") == " 单号#怎么还没到 "
    assert prepare("我要打12315") == " 我要打12315 "  # short numbers (hotlines) stay
    assert prepare("") == "  " and prepare(None) == "  "  # type: ignore[arg-type]


def test_ngrams_are_two_to_four_characters_plus_single_symbols() -> None:
    grams = ngrams(prepare("气死！"), 4)
    assert "!" in grams and "气死" in grams and " 气死!" in grams
    assert "气" not in grams and " " not in grams


def test_training_on_a_small_table(small_model: AngerModel) -> None:
    assert 0.2 <= small_model.threshold <= 0.8
    assert small_model.info["messages"] == len(SMALL) and small_model.info["angry"] == 12
    assert small_model.info["C"] == 10.0 and small_model.info["cv_folds"] == 3
    assert len(small_model.lexicon_weights) == len(anger_model.LEXICON_FEATURE_NAMES)
    right = sum(small_model.assess(text).angry is bool(label) for label, text in SMALL)
    assert right >= len(SMALL) - 2


def test_training_needs_both_labels() -> None:
    with pytest.raises(ValueError, match="two angry and two calm"):
        anger_model.train([(1, "垃圾"), (1, "气死了"), (0, "你好")])


def test_too_few_rows_to_cross_validate_still_train() -> None:
    rows = [(1, "垃圾快递气死了"), (1, "气死了垃圾"), (0, "你好谢谢"), (0, "谢谢你好")]
    model = anger_model.train(rows, TrainingSettings(folds=1))
    assert model.threshold == 0.5 and model.info["cv_folds"] == 1


def test_plain_scoring_matches_scikit_learn() -> None:
    """The exported numbers give the same probability as the fitted scikit-learn objects."""
    import numpy as np

    texts = [prepare(t) for _, t in SMALL]
    lexicon = np.array([lexicon_features(score(t)) for _, t in SMALL])
    fitted = anger_model._fit(texts, lexicon, [label for label, _ in SMALL], 10.0, FAST)
    model = anger_model._export(fitted, 0.5, FAST, {})
    probes = [t for _, t in SMALL] + ["你们春节放假吗", "THIS IS A SCAM!!!", "", "单号SF1648547086646还没到？"]
    features = np.array([lexicon_features(score(t)) for t in probes])
    expected = anger_model._predict(fitted, [prepare(t) for t in probes], features)
    for text, want in zip(probes, expected, strict=True):
        assert math.isclose(model.probability(text), want, rel_tol=1e-9, abs_tol=1e-12), text


def test_scale_puts_the_threshold_on_the_lexicon_threshold(small_model: AngerModel) -> None:
    cut = small_model.threshold
    assert small_model.scale(cut) == DEFAULT.threshold
    assert small_model.scale(0.0) == 0.0 and small_model.scale(1.0) == 1.0
    assert small_model.scale(cut - 0.01) < DEFAULT.threshold < small_model.scale(cut + 0.01)


def test_assessment_keeps_the_lexicon_flags(small_model: AngerModel) -> None:
    legal = small_model.assess("我要找律师起诉你们")
    assert legal.legal and "legal_threat" in legal.reasons
    calm = small_model.assess("我不生气，慢慢查")
    assert not calm.angry and "negated" in calm.reasons
    sarcasm = small_model.assess("呵呵，真厉害，又丢件了")
    if not score("呵呵，真厉害，又丢件了").angry:
        assert sarcasm.reasons[-1:] == ("model",)
    data = sarcasm.as_parse_data()
    assert set(data) == {"score", "angry", "legal", "reasons", "lexicon"} and isinstance(data["reasons"], list)
    json.dumps(data)


@pytest.mark.parametrize("text", ["", "\x00", "😡" * 5000, "a" * 50_000, "\ud800"])
def test_odd_input_stays_in_bounds(small_model: AngerModel, text: str) -> None:
    result = small_model.assess(text)
    assert 0.0 <= result.score <= 1.0 and 0.0 <= result.probability <= 1.0


# -- persistence -------------------------------------------------------------------------


def test_save_and_load_round_trip(small_model: AngerModel, tmp_path: Path) -> None:
    path = tmp_path / "m.json"
    small_model.save(path)
    loaded = AngerModel.load(path)
    assert loaded == small_model
    for _, text in SMALL:
        assert loaded.assess(text) == small_model.assess(text)


def test_load_refuses_another_format_or_other_features(small_model: AngerModel) -> None:
    data = small_model.to_dict()
    with pytest.raises(ValueError, match="format"):
        AngerModel.from_dict({**data, "format": 99})
    with pytest.raises(ValueError, match="other lexicon features"):
        AngerModel.from_dict({**data, "lexicon_features": ["lexicon_score"]})


def test_load_rows_checks_the_file(tmp_path: Path) -> None:
    good = tmp_path / "good.tsv"
    good.write_text("label\ttext\n1\t气死了\n\n0\t你好\n", encoding="utf-8")
    assert load_rows(good) == [(1, "气死了"), (0, "你好")]
    for body in ("label\ttext\n2\t气死了\n", "label\ttext\n1 气死了\n", "text\n1\t气\n", "label\ttext\n1\t \n"):
        bad = tmp_path / "bad.tsv"
        bad.write_text(body, encoding="utf-8")
        with pytest.raises(ValueError):
            load_rows(bad)


# -- the Rasa component ------------------------------------------------------------------


def _component(tmp_path: Path, training_file: Path) -> tuple[AngerClassifier, LocalModelStorage, Resource]:
    (tmp_path / "storage").mkdir(exist_ok=True)
    storage = LocalModelStorage(tmp_path / "storage")
    resource = Resource("train_AngerClassifier0")
    config = {**AngerClassifier.get_default_config(), "training_file": str(training_file)}
    context = ExecutionContext(GraphSchema({}), "test")
    return AngerClassifier.create(config, storage, resource, context), storage, resource


def _small_file(tmp_path: Path) -> Path:
    path = tmp_path / "train.tsv"
    path.write_text("label\ttext\n" + "".join(f"{label}\t{text}\n" for label, text in SMALL), encoding="utf-8")
    return path


def test_component_trains_persists_loads_and_adds_anger_to_the_parse_output(tmp_path: Path) -> None:
    data = _small_file(tmp_path)
    component, storage, resource = _component(tmp_path, data)
    assert component.train(TrainingData([])) == resource
    config = {**AngerClassifier.get_default_config(), "training_file": str(data)}
    loaded = AngerClassifier.load(config, storage, resource, ExecutionContext(GraphSchema({}), "test"))
    assert loaded.model == component.model
    message = Message({TEXT: "你们是在逗我吗"})
    loaded.process([message])
    output = message.as_dict(only_output_properties=True)
    assert output[ANGER]["angry"] is True and 0.5 <= output[ANGER]["score"] <= 1.0
    assert set(output[ANGER]) == {"score", "angry", "legal", "reasons", "lexicon"}


def test_component_without_a_stored_model_falls_back_to_the_lexicon(tmp_path: Path) -> None:
    (tmp_path / "storage").mkdir(exist_ok=True)
    storage = LocalModelStorage(tmp_path / "storage")
    context = ExecutionContext(GraphSchema({}), "test")
    component = AngerClassifier.load({}, storage, Resource("missing"), context)
    assert component.model is None
    message = Message({TEXT: "我要找律师起诉你们"})
    component.process([message])
    lexicon = score("我要找律师起诉你们")
    assert message.get(ANGER) == {"score": lexicon.score, "angry": True, "legal": True,
                                  "reasons": list(lexicon.reasons), "lexicon": lexicon.score}  # fmt: skip


def test_fingerprint_changes_with_the_training_data(tmp_path: Path) -> None:
    data = _small_file(tmp_path)
    config = {"training_file": str(data)}
    before = AngerClassifier.fingerprint_addon(config)
    assert AngerClassifier.fingerprint_addon(config) == before
    data.write_text(data.read_text(encoding="utf-8") + "0\t好的\n", encoding="utf-8")
    assert AngerClassifier.fingerprint_addon(config) != before
    moved = tmp_path / "other.tsv"
    shutil.copy(data, moved)
    assert AngerClassifier.fingerprint_addon({"training_file": str(moved)}) == AngerClassifier.fingerprint_addon(config)


def test_default_training_file_is_the_projects_own() -> None:
    assert AngerClassifier.fingerprint_addon({}) == anger_model.fingerprint(TRAIN)


def test_model_file_is_found_in_a_rasa_archive(small_model: AngerModel, tmp_path: Path) -> None:
    import tarfile

    folder = tmp_path / "components" / "train_components.anger_classifier.AngerClassifier3"
    folder.mkdir(parents=True)
    small_model.save(folder / anger_model.MODEL_FILE)
    archive = tmp_path / "models" / "20260101-000000-test.tar.gz"
    archive.parent.mkdir()
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(tmp_path / "components", arcname="components")
    assert anger_model.newest_archive(archive.parent) == archive
    assert anger_model.from_archive(archive) == small_model
    assert anger_model.newest_archive(tmp_path / "nowhere") is None


# -- data --------------------------------------------------------------------------------


@pytest.mark.parametrize(("path", "least"), [(TRAIN, 1500), (HELD_OUT, 300)])
def test_data_sets_are_well_formed(path: Path, least: int) -> None:
    rows = load_rows(path)
    assert len(rows) >= least
    texts = [text for _, text in rows]
    assert len({_key(t) for t in texts}) == len(texts), "a message appears twice"
    chinese = [label for label, text in rows if re.search(r"[\u4e00-\u9fff]", text)]
    english = [label for label, text in rows if not re.search(r"[\u4e00-\u9fff]", text)]
    assert len(chinese) > len(english) > 0.2 * len(rows)
    for labels in (chinese, english):
        assert 0.3 <= sum(labels) / len(labels) <= 0.6


def test_held_out_split_never_appears_in_training() -> None:
    training = [text for _, text in load_rows(TRAIN)]
    keys = {_key(t) for t in training}
    leaked = [text for _, text in load_rows(HELD_OUT) if _key(text) in keys]
    assert leaked == []


def test_held_out_split_has_no_near_copies_of_training_lines() -> None:
    def bigrams(text: str) -> set[str]:
        k = _key(text)
        return {k[i : i + 2] for i in range(len(k) - 1)} or {k}

    training = [bigrams(text) for _, text in load_rows(TRAIN)]
    for _, text in load_rows(HELD_OUT):
        mine = bigrams(text)
        closest = max(2 * len(mine & other) / (len(mine) + len(other)) for other in training)
        assert closest < 0.7, text


def test_rasa_does_not_read_the_tsv_files_as_training_data() -> None:
    assert not is_valid_filetype(TRAIN)
    assert not is_valid_filetype(HELD_OUT)


# -- conversation and handoff ------------------------------------------------------------


def test_model_scores_replace_the_lexicon_per_message() -> None:
    texts = ["请问快递到哪了", "怎么还没到", "这就是你们的服务？"]
    lexicon = conversation_score(texts)
    assert not lexicon.angry
    combined = conversation_score(texts, scores=[0.1, 0.3, 0.8])
    assert combined.angry and "model" in combined.reasons and "rising" in combined.reasons
    assert combined.score > 0.8
    # a message without a model score is read by the lexicon; nonsense scores are ignored
    assert conversation_score(texts, scores=[None, None, None]) == lexicon
    assert conversation_score(texts, scores=[float("nan"), True, None]) == lexicon


def test_legal_threats_come_from_the_lexicon_even_with_a_calm_model_score() -> None:
    result = conversation_score(["我要找律师起诉你们"], scores=[0.1])
    assert result.legal and not result.angry


def test_scores_must_match_the_messages() -> None:
    with pytest.raises(ValueError, match="2 scores for 1 messages"):
        conversation_score(["你好"], scores=[0.1, 0.2])


@pytest.mark.parametrize(
    ("parse_data", "expected"),
    [({"anger": {"score": 0.7}}, 0.7), ({"anger": {"score": 1}}, 1.0), ({}, None), (None, None),
     ({"anger": {"score": "high"}}, None), ({"anger": {"score": True}}, None), ({"anger": 0.7}, None)],
)  # fmt: skip
def test_model_score_reads_the_parse_data(parse_data: object, expected: float | None) -> None:
    assert model_score(parse_data) == expected


def _tracker(texts: list[str], angers: list[dict | None]) -> Tracker:
    events = []
    for text, found in zip(texts, angers, strict=True):
        parse = {"intent": {"name": "complain_delay"}, "text": text, **({"anger": found} if found else {})}
        events.append({"event": "user", "text": text, "parse_data": parse})
    latest = events[-1]["parse_data"]
    slots = {"language": "zh", "handoff_due": None, "handoff_trigger": None}
    return Tracker("anger-1", slots, latest, events, False, None, {}, "action_listen")


async def test_assess_handoff_reads_the_model_score_from_the_parse_data(ticket_services: None) -> None:
    text = "这就是你们的服务？"
    assert not score(text).angry  # the lexicon alone misses it
    without = await ActionAssessHandoff().run(CollectingDispatcher(), _tracker([text], [None]), {})
    assert without == []
    angry = {"score": 0.9, "angry": True, "legal": False, "reasons": ["model"], "lexicon": 0.0}
    events = await ActionAssessHandoff().run(CollectingDispatcher(), _tracker([text], [angry]), {})
    trigger = next(e["value"] for e in events if e.get("name") == "handoff_trigger")
    assert trigger == {"reason": "anger", "level": 1, "detail": "score 0.90"}


async def test_assess_handoff_calm_model_score_keeps_the_bot(ticket_services: None) -> None:
    calm = {"score": 0.05, "angry": False, "legal": False, "reasons": [], "lexicon": 0.0}
    tracker = _tracker(["请问运费怎么算", "好的谢谢"], [calm, calm])
    assert await ActionAssessHandoff().run(CollectingDispatcher(), tracker, {}) == []


def test_evaluation_files_are_read_with_any_label_set(tmp_path: Path) -> None:
    path = tmp_path / "dev.tsv"
    path.write_text("label\ttext_a\n1\t气死了\n2\t好开心\n0\t\n5\t一般般\n", encoding="utf-8")
    assert anger_model.load_labelled(path) == [(True, "气死了"), (False, "好开心"), (False, "一般般")]
    assert anger_model.load_labelled(path, angry_label="2") == [(False, "气死了"), (True, "好开心"), (False, "一般般")]
