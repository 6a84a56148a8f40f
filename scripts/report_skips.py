"""Print what the test run skipped, one line per group, at the end of `make test`.

Usage: python scripts/report_skips.py results/pytest-skips.json [results/anger-skips.json ...]

Each file maps a skip reason to a count: ``tests/conftest.py`` writes the pytest one at the
end of every session, and each gate script that can skip writes its own. Exit code 1 when
a file is missing (its step did not finish), else 0: a skip is a warning here; with
``CI=true`` the tests and gates themselves fail on missing shared data.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main(paths: list[Path]) -> int:
    """Print the skipped groups of every report; non-zero when a report is missing."""
    skipped: dict[str, int] = {}
    for path in paths:
        if not path.is_file():
            print(f"error: {path} not found: the step that writes it did not finish", file=sys.stderr)
            return 1
        for reason, count in json.loads(path.read_text(encoding="utf-8")).items():
            skipped[reason] = skipped.get(reason, 0) + count
    if not skipped:
        print("skipped: nothing")
        return 0
    print(f"skipped: {len(skipped)} group(s), {sum(skipped.values())} test(s) or module(s) in all")
    for reason, count in sorted(skipped.items()):
        print(f"  WARNING {reason} ({count})")
    return 0


if __name__ == "__main__":
    sys.exit(main([Path(arg) for arg in sys.argv[1:]] or [Path("results/pytest-skips.json")]))
