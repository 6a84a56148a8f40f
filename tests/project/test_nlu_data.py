"""The NLU data keeps its contract: volume per language, clean test split, exact waybill spans.

Training examples (data/nlu) are annotated exactly as ``bot.tracking.waybill`` finds numbers,
so the training data and the entity extractor agree. The held-out test split
(tests/nlu) is hand-annotated ground truth: its waybill spans are what a person
means, whatever the parser says, so the NLU evaluation can measure the parser. It is
only checked for well-formed annotations and for enough hard cases.
"""

import re
import unicodedata
from collections import Counter
from pathlib import Path

import pytest
import yaml

from bot.tracking.waybill import find_waybills
from tests.support import ROOT
from tests.support.contract import CORE_INTENTS, FAQ_KEYS

ANNOTATION = re.compile(r"\[([^\]]+)\]\((\w+)\)")
CJK = re.compile(r"[\u4e00-\u9fff]")

MAIN_INTENTS = [*CORE_INTENTS, "phone_last_digits"]
FAQ_INTENTS = [f"faq/{key}" for key in FAQ_KEYS]


def parse_example(line: str) -> tuple[str, list[tuple[int, int, str]]]:
    """Plain text and (start, end, entity) spans of an annotated example."""
    text, spans, pos = "", [], 0
    for match in ANNOTATION.finditer(line):
        text += line[pos : match.start()]
        start = len(text)
        text += match.group(1)
        spans.append((start, len(text), match.group(2)))
        pos = match.end()
    return text + line[pos:], spans


def load_examples(folder: Path) -> list[tuple[str, str, list]]:
    rows = []
    for path in sorted(folder.glob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for block in data.get("nlu") or []:
            if "intent" not in block:
                continue
            for raw in block["examples"].splitlines():
                raw = raw.strip()
                if raw.startswith("- "):
                    text, spans = parse_example(raw[2:].strip())
                    rows.append((block["intent"], text, spans))
    return rows


TRAIN = load_examples(ROOT / "data" / "nlu")
TEST = load_examples(ROOT / "tests" / "nlu")


def lang(text: str) -> str:
    return "zh" if CJK.search(text) else "en"


@pytest.mark.parametrize("intent", MAIN_INTENTS)
def test_main_intent_volume(intent):
    counts = Counter(lang(text) for name, text, _ in TRAIN if name == intent)
    assert counts["zh"] >= 40, counts
    assert counts["en"] >= 20, counts


@pytest.mark.parametrize("intent", FAQ_INTENTS)
def test_faq_volume(intent):
    counts = Counter(lang(text) for name, text, _ in TRAIN if name == intent)
    assert counts["zh"] >= 20, counts
    assert counts["en"] >= 10, counts


@pytest.mark.parametrize("intent", MAIN_INTENTS + FAQ_INTENTS)
def test_test_split_covers_intent_in_both_languages(intent):
    counts = Counter(lang(text) for name, text, _ in TEST if name == intent)
    assert counts["zh"] >= 3 and counts["en"] >= 2, counts


def test_test_split_never_used_for_training():
    train_texts = {text.strip().lower() for _, text, _ in TRAIN}
    leaked = [text for _, text, _ in TEST if text.strip().lower() in train_texts]
    assert leaked == []


def test_no_duplicate_training_examples():
    counts = Counter(text for _, text, _ in TRAIN)
    assert [t for t, n in counts.items() if n > 1] == []


def test_training_waybill_annotations_match_the_parser():
    """Training data only: the test split is hand-annotated and must stay free to disagree."""
    mismatched = []
    for intent, text, spans in TRAIN:
        annotated = {(s, e) for s, e, entity in spans if entity == "waybill"}
        found = {(m.start, m.end) for m in find_waybills(text)}
        if annotated != found:
            mismatched.append((intent, text, sorted(annotated), sorted(found)))
    assert mismatched == []


# --- the held-out test split: hand-written ground truth -------------------------------

TEST_MIN_WAYBILLS = 140
"""Waybill annotations the test split must keep (143 when this was written)."""

TEST_MIN_TRICKY = 60
"""Annotated examples that also hold a number which is not a waybill (65 when written)."""

TEST_MIN_TYPED = 35
"""Annotations typed unlike the printed number: spaces, dashes, lower case, full-width
characters, or O/I/l for 0/1 (39 when written)."""

DISTRACTOR = re.compile(r"[0-9](?:[0-9 ,.:/\-]*[0-9])?")
"""A number in a message: digits, maybe grouped by spaces, commas, dots, colons, slashes or dashes."""

MISTYPED_DIGIT = re.compile(r"[0-9][OIl]|[OIl][0-9]")

FULL_WIDTH_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")


def distractors(text: str, spans: list) -> list[str]:
    """Numbers of three digits or more outside the waybill annotations (phones, amounts, dates, ids)."""
    masked = list(text)
    for start, end, entity in spans:
        if entity == "waybill":
            masked[start:end] = ["\n"] * (end - start)
    numbers = DISTRACTOR.findall("".join(masked).translate(FULL_WIDTH_DIGITS))
    return [number for number in numbers if sum(char.isdigit() for char in number) >= 3]


def typed_unlike_print(value: str) -> bool:
    """Whether a number is typed with spaces, dashes, lower case, full-width characters or O/I/l."""
    return (
        not value.isascii()
        or any(char in " -" for char in value)
        or value != value.upper()
        or MISTYPED_DIGIT.search(value) is not None
    )


TEST_WAYBILLS = [
    (intent, text, text[start:end])
    for intent, text, spans in TEST
    for start, end, entity in spans
    if entity == "waybill"
]


def test_test_split_annotations_are_well_formed():
    problems = []
    for _, text, spans in TEST:
        previous_end = 0
        for start, end, entity in spans:
            value = text[start:end]
            if entity != "waybill":
                problems.append((text, entity, "unknown entity"))
            if not 0 <= start < end <= len(text) or start < previous_end:
                problems.append((text, value, "empty, outside the text or overlapping"))
            if value != value.strip() or not value[:1].isalnum() or not value[-1:].isalnum():
                problems.append((text, value, "span starts or ends with a space or punctuation"))
            previous_end = end
    assert problems == []


@pytest.mark.parametrize(("intent", "text", "value"), TEST_WAYBILLS, ids=[v for _, _, v in TEST_WAYBILLS])
def test_test_split_waybill_looks_like_a_number(intent, text, value):
    """A hand annotation covers a whole tracking number, not a word or a fragment."""
    compact = re.sub(r"[\s\-]", "", unicodedata.normalize("NFKC", value))
    assert compact.isascii() and compact.isalnum(), value
    assert 10 <= len(compact) <= 40, value
    assert sum(char.isdigit() for char in compact) >= 8, value


def test_test_split_has_enough_waybills_and_hard_cases():
    tricky = [
        text
        for _, text, spans in TEST
        if any(entity == "waybill" for _, _, entity in spans) and distractors(text, spans)
    ]
    typed = [value for _, _, value in TEST_WAYBILLS if typed_unlike_print(value)]
    assert len(TEST_WAYBILLS) >= TEST_MIN_WAYBILLS, len(TEST_WAYBILLS)
    assert len(tricky) >= TEST_MIN_TRICKY, len(tricky)
    assert len(typed) >= TEST_MIN_TYPED, len(typed)
    for language in ("zh", "en"):
        assert sum(lang(text) == language for text in tricky) >= 10, language


def test_test_split_has_distractors_without_any_waybill():
    """Messages with phone or order numbers but no waybill: a person annotates nothing."""
    bare = [text for _, text, spans in TEST if not spans and distractors(text, spans)]
    assert len(bare) >= 5, bare


def test_distractor_helpers():
    spans = [(0, 15, "waybill")]
    assert distractors("SF1648547086646，电话13812345678，11月23日，¥1,280", spans) == ["13812345678", "1,280"]
    assert distractors("2026-11-23 到 14:05", []) == ["2026-11-23", "14:05"]
    assert distractors("３点到，２件", []) == []
    assert distractors("电话１３８１２３４５６７８", []) == ["13812345678"]
    assert typed_unlike_print("SF 1648 5470 8664 6") and typed_unlike_print("SF1648547O86646")
    assert typed_unlike_print("sf1648547086646") and typed_unlike_print("ＳＦ１６４８５４７０８６６４６")
    assert not typed_unlike_print("SF1648547086646") and not typed_unlike_print("EA030383286CN")


def test_data_has_numbers_of_many_carriers():
    carriers = Counter()
    for _, text, _ in TRAIN:
        for match in find_waybills(text):
            carriers.update(match.carriers[:1])
    assert len(carriers) >= 10, carriers
