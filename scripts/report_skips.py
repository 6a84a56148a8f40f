"""Print what the test run skipped, one line per group, at the end of `make test`.

Usage: python scripts/report_skips.py results/pytest-skips.json

The file is written by ``tests/conftest.py`` at the end of every pytest session.
Exit code 1 when the file is missing (pytest did not finish), else 0: a skip is a
warning here; with ``CI=true`` the tests themselves fail on missing shared data.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main(path: Path) -> int:
    """Print the skipped groups; non-zero when there is no report to read."""
    if not path.is_file():
        print(f"error: {path} not found: pytest did not finish", file=sys.stderr)
        return 1
    skipped: dict[str, int] = json.loads(path.read_text(encoding="utf-8"))
    if not skipped:
        print("skipped: nothing")
        return 0
    print(f"skipped: {len(skipped)} group(s), {sum(skipped.values())} test(s) or module(s) in all")
    for reason, count in sorted(skipped.items()):
        print(f"  WARNING {reason} ({count})")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "results/pytest-skips.json")))
