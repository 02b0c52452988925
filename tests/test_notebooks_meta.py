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
    """Title, overview, objectives, prerequisites, time; summary and what's next (the course issue)."""
    text = "\n".join("".join(c["source"]) for c in _load(path)["cells"] if c["cell_type"] == "markdown")
    lower = text.lower()
    assert text.lstrip().startswith("# "), "the first markdown cell starts with a title"
    for part in ("overview", "objectives", "prerequisites", "time", "summary", "what's next"):
        assert part in lower, f"{path.name} has no '{part}' section"
