"""The course notebooks as files: stripped, one kernelspec, numbered, with the parts every notebook has."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))


def _load(path: Path) -> dict:
    return json.loads(path.read_text())


def test_there_is_a_course() -> None:
    assert NOTEBOOKS, "notebooks/ holds no notebook"
    assert NOTEBOOKS[0].name == "00-start-here.ipynb"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_stripped(path: Path) -> None:
    """No outputs, no execution counts, no widget state: nbstripout's form (README: contributing)."""
    nb = _load(path)
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] == "code":
            assert cell.get("outputs") == [], f"cell {i} has outputs"
            assert cell.get("execution_count") is None, f"cell {i} has an execution count"
        assert "widgets" not in cell.get("metadata", {}), f"cell {i} carries widget metadata"
    assert "widgets" not in nb["metadata"], "notebook metadata carries widget state"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_uses_the_python3_kernelspec(path: Path) -> None:
    spec = _load(path)["metadata"].get("kernelspec", {})
    assert spec.get("name") == "python3", spec
    assert _load(path)["nbformat"] == 4


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_name_is_numbered(path: Path) -> None:
    assert re.fullmatch(r"\d\d-[a-z0-9-]+\.ipynb", path.name), path.name


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_has_the_course_structure(path: Path) -> None:
    """Title, overview, objectives, prerequisites, time; exercises; summary, resources and what's next, as numbered
    sections; a link to the glossary (the course issues)."""
    text = "\n".join("".join(c["source"]) for c in _load(path)["cells"] if c["cell_type"] == "markdown")
    lower = text.lower()
    assert text.lstrip().startswith("# "), "the first markdown cell starts with a title"
    for part in ("overview", "objectives", "prerequisites", "time", "exercise", "summary", "resources",
                 "what's next"):
        assert part in lower, f"{path.name} has no '{part}' section"
    for part in ("summary", "resources", "what's next"):
        assert re.search(rf"^## \d+\. {part}", lower, re.M), f"{path.name}: '{part}' is not a numbered section"
    assert "](../docs/glossary.md" in text, f"{path.name} does not link the glossary"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_points_nowhere_outside_the_repository(path: Path) -> None:
    """Kernel claims cite docs/semantics.md (or the kernel source), never a spec outside the repository."""
    text = "\n".join("".join(c["source"]) for c in _load(path)["cells"])
    for pattern in (r"shared/", r"kernel-semantics", r"\bspec\b", r"\bspec's\b"):
        assert not re.search(pattern, text), f"{path.name} mentions {pattern!r}"
    for target, anchor in re.findall(r"\]\((\.\./[^)#\s]+)(?:#([^)\s]+))?\)", text):
        page = (path.parent / target).resolve()
        assert page.is_file(), f"{path.name}: {target} does not exist"
        if anchor:
            assert f'<a id="{anchor}"></a>' in page.read_text(), f"{path.name}: {target} has no anchor #{anchor}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_the_first_code_cell_installs_mmsim_where_it_is_missing(path: Path) -> None:
    """Colab and other hosted Jupyter: the first code cell installs mmsim from the repository, and only if missing."""
    code = next("".join(c["source"]) for c in _load(path)["cells"] if c["cell_type"] == "code")
    assert 'importlib.util.find_spec("mmsim") is None' in code and "%pip install" in code, code[:200]
