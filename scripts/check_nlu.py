"""Fail when the NLU evaluation on the held-out split drops below the bar.

Usage: python scripts/check_nlu.py results/nlu
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

INTENT_MACRO_F1 = 0.95
WAYBILL_F1 = 0.98


def main(results: Path) -> int:
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
    print(f"waybill entity F1 {waybill:.4f} (bar {WAYBILL_F1}, support {entities['waybill']['support']})")
    weak = sorted(
        (name, row["f1-score"])
        for name, row in intents.items()
        if isinstance(row, dict) and "f1-score" in row and name not in ("macro avg", "weighted avg", "micro avg")
        and row["f1-score"] < 0.9
    )
    for name, f1 in weak:
        print(f"  weak intent {name}: F1 {f1:.3f}")
    ok = macro >= INTENT_MACRO_F1 and waybill >= WAYBILL_F1
    print("NLU bar: passed" if ok else "NLU bar: FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "results/nlu")))
