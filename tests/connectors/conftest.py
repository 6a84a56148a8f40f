"""Fixtures shared by the channels' tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from rasa.shared.core.domain import Domain
from sanic import Sanic

from actions.claims import FORM
from tests.support import ROOT


@pytest.fixture(scope="module")
def sanic_test_mode() -> Iterator[None]:
    """Several Sanic apps in one process need test mode (touch-up runs once per app otherwise)."""
    previous = Sanic.test_mode
    Sanic.test_mode = True
    yield
    Sanic.test_mode = previous


@pytest.fixture(scope="module")
def domain() -> Domain:
    """The project's domain (``domain/``), with its damage claim form."""
    domain = Domain.load(str(ROOT / "domain"))
    assert FORM in domain.form_names  # the form the channels look for is the project's claim form
    return domain


@pytest.fixture
def evidence_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``EVIDENCE_DIR``: a folder of this test's own, where the channels store customers' photos."""
    folder = tmp_path / "evidence"
    monkeypatch.setenv("EVIDENCE_DIR", str(folder))
    return folder
