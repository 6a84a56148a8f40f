"""The README and docs/ name only things that exist: files, ``python -m`` modules, dotted
names in our packages, links and their anchors."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

from tests.support import ROOT

TOP = {"bot", "actions", "connectors", "components", "domain", "data", "policy", "fixtures", "tests", "bench",
       "scripts", "docs", "nlu_dict", ".ci"}  # fmt: skip
RUNTIME = ("var/", "results/", "models/")
PATH = re.compile(r"(?<![\w./-])((?:\.\./)?[\w.-]+(?:/[\w.*{}<>,-]*)+)")
DOTTED = re.compile(r"`((?:bot|connectors|components|actions)(?:\.[A-Za-z_]\w*)+)")
LINK = re.compile(r"\]\(([^)#\s]*)(?:#([^)\s]+))?\)")


def _documents() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def _slug(heading: str) -> str:
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    return {_slug(h) for h in re.findall(r"^#+ (.*)$", path.read_text(encoding="utf-8"), re.M)}


def _path_problems(text: str) -> list[str]:
    problems = []
    for match in PATH.finditer(text):
        path = match.group(1).rstrip(".,:;")
        if path.startswith("../shared") or "://" in text[max(0, match.start() - 8) : match.end()]:
            continue
        if path.split("/")[0] not in TOP or path.startswith(RUNTIME):
            continue
        if any(c in path for c in "<{*"):
            pattern = re.sub(r"<[^>]+>|\{[^}]+\}", "*", path).rstrip("/")
            if not list(ROOT.glob(pattern)) and not list(ROOT.glob(pattern + "*")):
                problems.append(f"pattern {path}")
        elif not (ROOT / path).exists():
            problems.append(f"path {path}")
    return problems


def _name_problems(text: str) -> list[str]:
    problems = []
    for module in re.findall(r"python -m ([\w.]+)", text):
        if importlib.util.find_spec(module) is None:
            problems.append(f"module {module}")
    for dotted in DOTTED.findall(text):
        parts = dotted.split(".")
        for i in range(len(parts), 0, -1):
            base = ROOT.joinpath(*parts[:i])
            source = base.with_suffix(".py") if base.with_suffix(".py").is_file() else base / "__init__.py"
            if source.is_file():
                rest = parts[i:]
                if rest:
                    name = re.escape(rest[0])
                    defined = re.compile(rf"\b(def|class)\s+{name}\b|^{name}\s*[:=]", re.M)
                    if not defined.search(source.read_text(encoding="utf-8")):
                        problems.append(f"name {dotted}")
                break
        else:
            problems.append(f"dotted {dotted}")
    return problems


def _link_problems(doc: Path, text: str) -> list[str]:
    problems = []
    for target, anchor in LINK.findall(text):
        if target.startswith("http"):
            continue
        linked = (doc.parent / target).resolve() if target else doc
        if not linked.exists():
            problems.append(f"link {target}")
        elif anchor and linked.suffix == ".md" and anchor not in _anchors(linked):
            problems.append(f"anchor {target}#{anchor}")
    return problems


def test_there_is_a_readme_and_docs() -> None:
    docs = _documents()
    assert docs[0].is_file()
    assert len(docs) > 5


def test_everything_the_docs_name_exists() -> None:
    problems = {}
    for doc in _documents():
        text = doc.read_text(encoding="utf-8")
        found = _path_problems(text) + _name_problems(text) + _link_problems(doc, text)
        if found:
            problems[str(doc.relative_to(ROOT))] = found
    assert problems == {}


def test_the_readme_names_every_capability_and_channel_folder() -> None:
    """The README's picture and folder table tell the same story as the folders."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    picture = readme.split("## Architecture", 1)[1].split("```", 2)[1]
    rows = {line.split("|")[1].strip(): line for line in readme.splitlines() if line.startswith("| `")}
    missing = []
    for package in ("bot", "connectors"):
        for folder in sorted(p.name for p in (ROOT / package).iterdir() if (p / "__init__.py").is_file()):
            if f"`{package}/{folder}/`" not in rows and f"`{folder}/`" not in rows.get(f"`{package}/`", ""):
                missing.append(f"table: {package}/{folder}/")
            if f"{folder}/" not in picture:
                missing.append(f"picture: {package}/{folder}/")
    assert missing == []
