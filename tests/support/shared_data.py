"""Third-party data in ``../shared/data``, read in place: present, skipped with a reason, or failed in CI.

A new user without ``../shared`` beside the clone gets a green run with the skipped group
listed at the end of ``make test``. CI always has it, so with ``CI=true`` a missing file
is a failure, never a silent skip.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support import ROOT

SHARED_DATA = ROOT.parent / "shared" / "data"


def in_ci() -> bool:
    """True when ``CI`` is set to a true value (``.ci/run`` sets ``CI=true``)."""
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def require(path: Path, group: str, *, module: bool = False) -> Path:
    """``path`` if it exists; otherwise skip (or, with ``CI=true``, fail) naming ``group``.

    Args:
        path: A file or folder under :data:`SHARED_DATA`.
        group: What is skipped, for the end-of-run list (e.g. "carrier check-digit vectors").
        module: Skip the whole module (call at import time).
    """
    if path.exists():
        return path
    where = os.path.relpath(path, ROOT)
    if in_ci():
        pytest.fail(f"{group}: {where} not found, and CI=true needs ../shared beside the clone", pytrace=False)
    pytest.skip(f"{group}: skipped, {where} not found", allow_module_level=module)
    raise AssertionError("unreachable")  # pytest.skip raises
