"""Fail when the NLU evaluation on the held-out split drops below the bar.

Bars: intent macro-F1 >= 0.95 overall *and* in each language (Chinese: any Chinese
character; English: the rest), waybill entity F1 >= 0.98.

The per-language figures come from the per-message predictions: ``intent_errors.json``
and, when ``rasa test nlu`` ran with ``--successes``, ``intent_successes.json``. Without
the successes file, every message of the held-out split (``--nlu``, default
``tests/nlu``) that is not among the errors counts as predicted right. Like Rasa's own
report, a fallback prediction counts as the intent it fell back from, and macro-F1 is
taken over the intents present in that language's gold labels or predictions.

Usage: python scripts/check_nlu.py results/nlu [--nlu tests/nlu]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterable
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
INTENT_MACRO_F1 = 0.95
WAYBILL_F1 = 0.98
CJK = re.compile(r"[\u4e00-\u9fff]")
ANNOTATION = re.compile(r"\[([^\]]+)\]\((\w+)\)")


def language(text: str) -> str:
    """``zh`` for any Chinese character, else ``en``."""
    return "zh" if CJK.search(text) else "en"


def read_examples(paths: Iterable[Path]) -> list[tuple[str, str]]:
    """``(intent, text)`` of every example in Rasa NLU YAML files, annotations removed."""
    rows = []
    for path in paths:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for block in data.get("nlu") or []:
            if "intent" not in block:
                continue
            for raw in str(block.get("examples") or "").splitlines():
                raw = raw.strip()
                if raw.startswith("- "):
                    rows.append((block["intent"], ANNOTATION.sub(r"\1", raw[2:].strip())))
    return rows


def held_out(folder: Path) -> list[tuple[str, str]]:
    """``(text, intent)`` of every example in the split, annotations removed, retrieval intents to base."""
    return [(text, intent.split("/")[0]) for intent, text in read_examples(sorted(folder.glob("*.yml")))]


def predictions(results: Path, split: Path) -> list[tuple[str, str, str]]:
    """``(text, gold, predicted)`` for every evaluated message."""
    errors = json.loads((results / "intent_errors.json").read_text(encoding="utf-8"))
    rows = [(e["text"], e["intent"], (e.get("intent_prediction") or {}).get("name") or "") for e in errors]
    successes = results / "intent_successes.json"
    if successes.exists():
        done = json.loads(successes.read_text(encoding="utf-8"))
        return rows + [(s["text"], s["intent"], (s.get("intent_prediction") or {}).get("name") or "") for s in done]
    wrong = {(text, gold) for text, gold, _ in rows}
    return rows + [(text, gold, gold) for text, gold in held_out(split) if (text, gold) not in wrong]


def macro_f1(pairs: Iterable[tuple[str, str]]) -> tuple[float, dict[str, float]]:
    """Macro-F1 over every label among gold and predicted, and each label's F1."""
    pairs = list(pairs)
    labels = sorted({gold for gold, _ in pairs} | {predicted for _, predicted in pairs})
    scores = {}
    for label in labels:
        tp = sum(1 for gold, predicted in pairs if gold == label and predicted == label)
        fp = sum(1 for gold, predicted in pairs if gold != label and predicted == label)
        fn = sum(1 for gold, predicted in pairs if gold == label and predicted != label)
        scores[label] = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
    return (sum(scores.values()) / len(scores) if scores else 0.0), scores


def main(results: Path, split: Path) -> int:
    """Print the figures and return a non-zero exit code below the bar."""
    intents = json.loads((results / "intent_report.json").read_text(encoding="utf-8"))
    macro = intents["macro avg"]["f1-score"]
    entity_report = results / "WaybillEntityExtractor_report.json"
    if not entity_report.exists():
        print(f"error: {entity_report} missing: was the waybill extractor evaluated?")
        return 1
    entities = json.loads(entity_report.read_text(encoding="utf-8"))
    if "waybill" not in entities:
        print("error: the test split contains no waybill entity")
        return 1
    waybill = entities["waybill"]["f1-score"]
    print(f"intent macro-F1 {macro:.4f} (bar {INTENT_MACRO_F1})")
    ok = macro >= INTENT_MACRO_F1
    rows = predictions(results, split)
    for lang in ("zh", "en"):
        subset = [(gold, predicted) for text, gold, predicted in rows if language(text) == lang]
        lang_macro, scores = macro_f1(subset)
        ok = ok and lang_macro >= INTENT_MACRO_F1
        print(f"intent macro-F1 ({lang}, {len(subset)} messages) {lang_macro:.4f} (bar {INTENT_MACRO_F1})")
        for name, f1 in sorted(scores.items()):
            if f1 < 0.9:
                print(f"  weak intent ({lang}) {name}: F1 {f1:.3f}")
    print(f"waybill entity F1 {waybill:.4f} (bar {WAYBILL_F1}, support {entities['waybill']['support']})")
    ok = ok and waybill >= WAYBILL_F1
    print("NLU bar: passed" if ok else "NLU bar: FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("results", nargs="?", type=Path, default=Path("results/nlu"))
    parser.add_argument("--nlu", type=Path, default=ROOT / "tests" / "nlu", help="the held-out split")
    args = parser.parse_args()
    sys.exit(main(args.results, args.nlu))
