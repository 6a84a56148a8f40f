"""The out-of-domain data keeps its contract: enough of it, varied, and the held-out split kept apart.

Training examples of ``out_of_scope`` live in ``data/nlu/`` (mostly ``out_of_scope.yml``);
the held-out split ``tests/ood/{zh,en}.txt`` is what ``scripts/check_ood.py`` measures and
must never be trained on, nor be a near copy of a training line.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter

import pytest
import yaml

from bot.handoff.rules import SIMILAR, similar
from bot.tracking.waybill import find_waybills
from tests.support import ROOT

CJK = re.compile(r"[\u4e00-\u9fff]")
ANNOTATION = re.compile(r"\[([^\]]+)\]\((\w+)\)")
HELD_OUT = {"zh": ROOT / "tests" / "ood" / "zh.txt", "en": ROOT / "tests" / "ood" / "en.txt"}
HELD_OUT_MIN = 400
TRAIN_MIN = 500
"""``out_of_scope`` training examples per language (647 zh, 543 en when this was written)."""
SECTIONS_MIN = 25
"""Topics (``#`` headings) per held-out file: other domains, commands, chit-chat, vague messages."""


def lang(text: str) -> str:
    return "zh" if CJK.search(text) else "en"


def training_examples() -> list[tuple[str, str]]:
    rows = []
    for path in sorted((ROOT / "data" / "nlu").glob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for block in data.get("nlu") or []:
            if "intent" in block:
                for raw in str(block["examples"]).splitlines():
                    raw = raw.strip()
                    if raw.startswith("- "):
                        rows.append((block["intent"], ANNOTATION.sub(r"\1", raw[2:].strip())))
    return rows


def held_out(language: str) -> list[str]:
    lines = (line.strip() for line in HELD_OUT[language].read_text(encoding="utf-8").splitlines())
    return [line for line in lines if line and not line.startswith("#")]


TRAIN = training_examples()
OOD_TRAIN = [text for intent, text in TRAIN if intent == "out_of_scope"]


def bigrams(text: str) -> frozenset[str]:
    """Character bigrams of a message without case, spaces or punctuation (as :func:`bot.handoff.rules.similar`)."""
    flat = re.sub(r"[\s\W_]+", "", unicodedata.normalize("NFKC", text).lower())
    return frozenset(flat[i : i + 2] for i in range(len(flat) - 1)) or frozenset({flat})


TRAIN_BIGRAMS = {text: bigrams(text) for _, text in TRAIN}
_BY_BIGRAM: dict[str, set[str]] = {}
for _text, _grams in TRAIN_BIGRAMS.items():
    for _gram in _grams:
        _BY_BIGRAM.setdefault(_gram, set()).add(_text)


def near_copies(line: str) -> list[str]:
    """Training lines that :func:`bot.handoff.rules.similar` would call the same message as ``line``."""
    grams = bigrams(line)
    shared = Counter(text for gram in grams for text in _BY_BIGRAM.get(gram, ()))
    near = [text for text, n in shared.items() if 2 * n / (len(grams) + len(TRAIN_BIGRAMS[text])) >= SIMILAR]
    return [text for text in near if similar(line, text)]


@pytest.mark.parametrize("language", ["zh", "en"])
def test_held_out_split_is_large_and_in_its_language(language: str) -> None:
    lines = held_out(language)
    assert len(lines) >= HELD_OUT_MIN, len(lines)
    letters = re.compile(r"[a-zA-Z\u4e00-\u9fff]")
    assert [line for line in lines if letters.search(line) and lang(line) != language] == []
    assert [line for line, n in Counter(lines).items() if n > 1] == []


@pytest.mark.parametrize("language", ["zh", "en"])
def test_held_out_split_spans_many_topics(language: str) -> None:
    headings = [line for line in HELD_OUT[language].read_text(encoding="utf-8").splitlines() if line.startswith("#")]
    assert len(headings) >= SECTIONS_MIN, headings


@pytest.mark.parametrize("language", ["zh", "en"])
def test_held_out_split_never_trained_on(language: str) -> None:
    """Not a training line of any intent, nor a near copy of one (character-bigram similarity)."""
    train = {text.lower() for _, text in TRAIN}
    lines = held_out(language)
    assert [line for line in lines if line.lower() in train] == []
    near = [(line, text) for line in lines for text in near_copies(line)]
    assert near == []


@pytest.mark.parametrize("language", ["zh", "en"])
def test_out_of_scope_training_volume(language: str) -> None:
    assert sum(lang(text) == language for text in OOD_TRAIN) >= TRAIN_MIN


def test_out_of_scope_training_has_no_waybill_numbers() -> None:
    """A number the parser reads as a waybill would make an off-topic line look like tracking."""
    assert [text for text in OOD_TRAIN if find_waybills(text)] == []


def test_held_out_split_is_off_topic() -> None:
    """No line mentions the assistant's own business (parcels, waybills, couriers)."""
    words = re.compile(r"快递|包裹|运单|单号|物流|寄件|派件|签收|驿站|parcel|package|tracking|courier|waybill|shipment")
    lines = held_out("zh") + held_out("en")
    assert [line for line in lines if words.search(line.lower())] == []
