"""The layout's rules, checked on the code itself (README "Architecture", docs/architecture.md).

* ``bot/`` is plain Python: it never imports Rasa, the Rasa SDK or Sanic.
* Actions are thin and never import another actions module.
* ``bot/settings.py`` is the only reader of the environment in the product's code.
* A test module never imports another test module; ``bench/`` imports only
  ``tests.support`` and ``tests.fakes``.
* No module is over 400 lines unless its docstring says why (``Long because: ...``).
* ``tests/`` mirrors the package: every capability of ``bot/`` and every channel of
  ``connectors/`` has its test folder.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import ROOT

PRODUCT = ("bot", "actions", "connectors", "components")
MAX_LINES = 400
LONG_REASON = "Long because:"


def _modules(*folders: str) -> Iterator[Path]:
    for folder in folders:
        yield from sorted(path for path in (ROOT / folder).rglob("*.py") if "__pycache__" not in path.parts)


def _imports(path: Path) -> set[str]:
    """Every module name a file imports (``from a.b import c`` gives ``a.b`` and ``a.b.c``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


def test_bot_never_imports_rasa_or_sanic() -> None:
    banned = ("rasa", "rasa_sdk", "sanic")
    found = {
        _rel(path): sorted(name for name in _imports(path) if name.split(".")[0] in banned) for path in _modules("bot")
    }
    assert {path: names for path, names in found.items() if names} == {}


def test_actions_never_import_each_other() -> None:
    found = {
        _rel(path): sorted(name for name in _imports(path) if name == "actions" or name.startswith("actions."))
        for path in _modules("actions")
    }
    assert {path: names for path, names in found.items() if names} == {}


def test_only_settings_reads_the_environment() -> None:
    readers = []
    for path in _modules(*PRODUCT):
        if _rel(path) == "bot/settings.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in {"environ", "getenv"}:
                if isinstance(node.value, ast.Name) and node.value.id == "os":
                    readers.append(f"{_rel(path)}:{node.lineno}")
    assert readers == []


def test_no_test_module_imports_another() -> None:
    found = {}
    for path in _modules("tests", "bench"):
        names = sorted(
            name
            for name in _imports(path)
            if name.startswith("tests.") and not name.startswith(("tests.support", "tests.fakes"))
        )
        if names:
            found[_rel(path)] = names
    assert found == {}


def test_long_modules_say_why() -> None:
    unexplained = {}
    for path in _modules(*PRODUCT):
        text = path.read_text(encoding="utf-8")
        lines = text.count("\n")
        if lines > MAX_LINES and LONG_REASON not in (ast.get_docstring(ast.parse(text)) or ""):
            unexplained[_rel(path)] = lines
    assert unexplained == {}, f"over {MAX_LINES} lines without '{LONG_REASON}' in the module docstring"


@pytest.mark.parametrize(
    ("package", "tests"),
    [("bot", "tests/bot"), ("connectors", "tests/connectors")],
)
def test_tests_mirror_the_package(package: str, tests: str) -> None:
    parts = sorted(
        path.name
        for path in (ROOT / package).iterdir()
        if path.is_dir() and (path / "__init__.py").exists() and any(path.glob("*.py"))
    )
    missing = [part for part in parts if not any((ROOT / tests / part).glob("test_*.py"))]
    assert parts, f"{package}/ has no sub-packages"
    assert missing == []
