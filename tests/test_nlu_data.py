"""The NLU data keeps its contract: volume per language, clean test split, exact waybill spans."""

import re
from collections import Counter
from pathlib import Path

import pytest
import yaml

from bot.waybill import find_waybills

ROOT = Path(__file__).resolve().parents[1]
ANNOTATION = re.compile(r"\[([^\]]+)\]\((\w+)\)")
CJK = re.compile(r"[\u4e00-\u9fff]")

MAIN_INTENTS = [
    "greet", "goodbye", "thank", "affirm", "deny", "bot_challenge", "out_of_scope", "track_waybill",
    "complain_delay", "report_damage", "report_missing", "request_human", "check_ticket",
]
FAQ_INTENTS = [
    "faq/shipping_fee", "faq/outlet", "faq/prohibited_items", "faq/insurance", "faq/claim_policy",
    "faq/business_hours", "faq/change_address",
]


def parse_example(line: str) -> tuple[str, list[tuple[int, int, str]]]:
    """Plain text and (start, end, entity) spans of an annotated example."""
    text, spans, pos = "", [], 0
    for match in ANNOTATION.finditer(line):
        text += line[pos:match.start()]
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


@pytest.mark.parametrize("split", ["train", "test"])
def test_waybill_annotations_match_the_parser(split):
    rows = TRAIN if split == "train" else TEST
    mismatched = []
    for intent, text, spans in rows:
        annotated = {(s, e) for s, e, entity in spans if entity == "waybill"}
        found = {(m.start, m.end) for m in find_waybills(text)}
        if annotated != found:
            mismatched.append((intent, text, sorted(annotated), sorted(found)))
    assert mismatched == []


def test_data_has_numbers_of_many_carriers():
    carriers = Counter()
    for _, text, _ in TRAIN:
        for match in find_waybills(text):
            carriers.update(match.carriers[:1])
    assert len(carriers) >= 10, carriers
