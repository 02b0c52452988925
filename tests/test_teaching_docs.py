"""The teacher's pages: docs/teaching.md and docs/answer-key.md. Each has a title (the site build needs one) and
links only inside the repository; every literal answer of the key passes its exercise's check as the model
computes it now; the session plan covers every notebook and the key every exercise."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from mmsim.exercises import EXERCISES

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PAGES = [DOCS / "teaching.md", DOCS / "answer-key.md"]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb"))


def _key_rows() -> dict[str, str]:
    rows = {}
    for line in (DOCS / "answer-key.md").read_text().splitlines():
        m = re.match(r"\| (\d\d-ex\d) \| (.*?) \| .* \|$", line)
        if m:
            rows[m.group(1)] = m.group(2)
    return rows


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_a_title_and_no_link_outside_the_repository(page: Path) -> None:
    text = page.read_text()
    assert text.startswith("# "), "the site build needs a '# Title' first"
    assert not re.search(r"\]\((?:https?:|//|mailto:)", text) and "http://" not in text and "https://" not in text
    for target in re.findall(r"\]\(([^)#\s]+)", text):
        assert (page.parent / target).resolve().is_file(), target
        assert (page.parent / target).resolve().is_relative_to(DOCS), f"{target}: the site publishes docs/ only"


def test_the_key_covers_every_exercise() -> None:
    assert set(_key_rows()) == set(EXERCISES)


@pytest.mark.parametrize("name", sorted(EXERCISES))
def test_each_literal_answer_passes_its_check(name: str) -> None:
    cell = _key_rows()[name]
    m = re.fullmatch(r"`([^`]+)`", cell)
    if m is None:
        assert name.startswith("09"), f"{name}: only the capstone's function answers are described in words"
        return
    answer = ast.literal_eval(m.group(1))
    if name == "09-ex3":
        from mmsim.exercises import solution

        ns: dict = {}
        exec(solution("09-ex2"), ns)
        fb = EXERCISES[name](answer, ns["mine"])
    else:
        fb = EXERCISES[name](answer)
    assert fb, f"{name}: the key's answer {cell} is refused: {fb}"


def test_the_plan_names_every_notebook_and_its_measured_time() -> None:
    text = (DOCS / "teaching.md").read_text()
    for nb in NOTEBOOKS:
        assert nb.stem in text, nb.stem
    assert "answer-key.md" in text and "bench_course.py" in text
    assert re.search(r"\d+(\.\d+)? s", text), "the measured run times are in the plan"
