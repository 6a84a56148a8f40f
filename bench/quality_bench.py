"""The model's quality figures, printed next to the previous model's (part of ``make bench``).

The same figures ``make test`` gates on, measured on the held-out splits (never trained
on) with the newest model in ``models/``: intent macro-F1 per language (``tests/nlu``; a
fallback counts as the intent it fell back from, as in Rasa's own report), the off-topic
shares (``tests/ood``: core intent, any in-domain answer), and the anger model's F1 on its
held-out split and, when present, on SMP2020-EWECT dev (read in place). The previous
model's figures are the ones this script stored last time in
``bench/results/quality.json`` (kept in the repository); this run replaces them.

Usage: python bench/quality_bench.py [--model models/x.tar.gz]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for folder in (ROOT, ROOT / "scripts"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

import check_anger  # noqa: E402
import check_nlu  # noqa: E402
import check_ood  # noqa: E402

from bot.handoff import anger_model  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "quality.json"
FIGURES = [
    ("intent macro-F1, zh (tests/nlu)", "intent_f1_zh", "≥ 0.95", "{:.4f}"),
    ("intent macro-F1, en (tests/nlu)", "intent_f1_en", "≥ 0.95", "{:.4f}"),
    ("off-topic → core intent, zh (tests/ood)", "ood_core_zh", "≤ 3 %", "{:.1%}"),
    ("off-topic → core intent, en (tests/ood)", "ood_core_en", "≤ 3 %", "{:.1%}"),
    ("off-topic → any in-domain answer, zh", "ood_in_domain_zh", "≤ 10 %", "{:.1%}"),
    ("off-topic → any in-domain answer, en", "ood_in_domain_en", "≤ 10 %", "{:.1%}"),
    ("anger F1, own held-out split", "anger_f1_held_out", "≥ 0.85", "{:.3f}"),
    ("anger F1, SMP2020-EWECT dev", "anger_f1_smp2020", "≥ 0.60", "{:.3f}"),
]


def intent_after_fallback(parse: dict) -> str:
    """The intent, or for ``nlu_fallback`` the intent it fell back from."""
    name = (parse.get("intent") or {}).get("name") or ""
    if name != "nlu_fallback":
        return name
    others = [r.get("name") for r in parse.get("intent_ranking") or [] if r.get("name") != "nlu_fallback"]
    return others[0] if others else name


def measure(model: Path) -> dict[str, float]:
    """Every figure of :data:`FIGURES` for ``model`` (SMP2020 left out when the file is absent)."""
    labelled = check_nlu.held_out(ROOT / "tests" / "nlu")
    ood = [(path.stem, text) for path in sorted(check_ood.HELD_OUT.glob("*.txt"))
           for text in check_ood.read_lines(path)]  # fmt: skip
    texts = [text for text, _ in labelled] + [text for _, text in ood]
    parses = asyncio.run(check_ood.parse_all(model, texts))
    figures: dict[str, float] = {}
    for lang in ("zh", "en"):
        pairs = [(gold, intent_after_fallback(parse)) for (text, gold), parse in zip(labelled, parses, strict=False)
                 if check_nlu.language(text) == lang]  # fmt: skip
        figures[f"intent_f1_{lang}"] = check_nlu.macro_f1(pairs)[0]
    shares: dict[str, check_ood.Shares] = {}
    for (lang, text), parse in zip(ood, parses[len(labelled) :], strict=True):
        shares.setdefault(lang, check_ood.Shares()).add(text, check_ood.intent_of(parse), 0.0)
    for lang, share in shares.items():
        figures[f"ood_core_{lang}"] = share.core_share
        figures[f"ood_in_domain_{lang}"] = share.in_domain_share
    anger = anger_model.from_archive(model)
    if anger is not None:
        for key, path in (("anger_f1_held_out", check_anger.HELD_OUT), ("anger_f1_smp2020", check_anger.SMP2020_DEV)):
            if path.is_file():
                figures[key] = check_anger.evaluate(anger, anger_model.load_labelled(path)).f1
    return figures


def table(current: dict[str, float], previous: dict[str, float], model: str, before: str) -> str:
    """A Markdown table of this model's figures next to the previous model's."""
    rows = [
        f"| figure | this model ({model}) | previous model ({before}) | bar in `make test` |",
        "|---|---:|---:|---|",
    ]
    for label, key, bar, fmt in FIGURES:
        now = fmt.format(current[key]) if key in current else "–"
        then = fmt.format(previous[key]) if key in previous else "–"
        rows.append(f"| {label} | {now} | {then} | {bar} |")
    return "\n".join(rows)


def run(model: Path | None = None) -> str:
    """Measure, print-ready table; stores this run as the next run's "previous"."""
    archive = model or check_ood.latest_model(ROOT / "models")
    if archive is None:
        raise SystemExit("quality_bench: no model in models/ (run `make model`)")
    stored = json.loads(RESULTS.read_text(encoding="utf-8")) if RESULTS.is_file() else {}
    current = measure(archive)
    result = table(current, stored.get("figures", {}), archive.name, stored.get("model", "none stored"))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"model": archive.name, "measured": time.strftime("%Y-%m-%d %H:%M"),
                                   "figures": current}, indent=1) + "\n", encoding="utf-8")  # fmt: skip
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="a Rasa model archive (default: the newest in models/)")
    print(run(parser.parse_args().model))
    return 0


if __name__ == "__main__":
    sys.exit(main())
