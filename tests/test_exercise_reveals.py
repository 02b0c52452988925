"""No exercise prints its own answer (#25): run each notebook and look at every output before an exercise's
check cell. Two kinds of reveal fail the test:

* the answer itself in the form Python prints it (a set or list of two or more numbers or names, sorted, in
  braces or brackets; a set of names also as ``a, b``; each entry of a dict answer the same way), from
  tests/exercise_cases.EXPECTED (the semantics reference) or, where it has none, the solution file;
* for the exercises of ``REVEALS``, a table of the asked scenario's outcome classes under the asked kernel.

Slow: it executes every notebook once (nbclient, the python3 kernel)."""

from __future__ import annotations

import html
import re
import runpy
from pathlib import Path
from typing import Any

import pytest
from exercise_cases import EXPECTED, REVEALS

from mmsim.exercises import EXERCISES

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
CLASSES = re.compile(r"\b(OK|CLEAN|PARTIAL|FP|FALSE_POSITIVE|CLEAN_FAIL|PARTIAL_FAIL)\b")


def _answer(name: str) -> Any:
    if name in EXPECTED:
        return EXPECTED[name][0]
    if name in ("09-ex1", "09-ex2", "09-ex3"):
        return None  # a function, a profile, and a set that depends on the learner's profile
    ns = runpy.run_path(str(NOTEBOOKS / "solutions" / f"{name}.py"), run_name="__solution__")
    return ns.get("answer")


def _forms(value: Any) -> list[str]:
    """The printed forms of an answer that are specific enough to count as a reveal."""
    if isinstance(value, dict):
        return [f for v in value.values() for f in _forms(v)]
    if isinstance(value, (set, frozenset, list, tuple, range)) and len(value) >= 2:
        items = sorted(value, key=str)
        if all(isinstance(v, int) for v in items):
            body = ", ".join(map(str, sorted(items)))
            return ["{" + body + "}", "[" + body + "]"]
        if all(isinstance(v, str) for v in items):
            body = ", ".join(items)
            quoted = ", ".join(repr(v) for v in items)
            return [body, "{" + quoted + "}", "[" + quoted + "]"]
    return []


def _text(output: dict) -> str:
    if output.get("output_type") == "stream":
        return output.get("text", "")
    data = output.get("data", {})
    if "text/plain" in data:
        return data["text/plain"] if isinstance(data["text/plain"], str) else "".join(data["text/plain"])
    if "text/html" in data:
        raw = data["text/html"] if isinstance(data["text/html"], str) else "".join(data["text/html"])
        return html.unescape(re.sub(r"<[^>]+>", " ", raw))
    return ""


def _shows_table(text: str, scenario: str, kernel: str | None) -> bool:
    if not re.search(rf"(?<![\w-]){re.escape(scenario)}(?![\w-])", text):
        return False
    if kernel is None:
        return True
    return bool(re.search(rf"(?<![\w.-]){re.escape(kernel)}(?![\w.-])", text)) and bool(CLASSES.search(text))


_executed: dict[Path, list[dict]] = {}


def _run(path: Path) -> list[dict]:
    if path not in _executed:
        import nbformat
        from nbclient import NotebookClient

        nb = nbformat.read(path, as_version=4)
        NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}},
                       allow_errors=True).execute()
        _executed[path] = nb.cells
    return _executed[path]


CASES = [(name, nb) for name in EXERCISES for nb in sorted(NOTEBOOKS.glob(f"{name[:2]}-*.ipynb"))]


@pytest.mark.parametrize("name, path", CASES, ids=[n for n, _ in CASES])
def test_no_output_before_an_exercise_shows_its_answer(name: str, path: Path) -> None:
    cells = _run(path)
    call = EXERCISES[name].__name__ + "("
    at = next((i for i, c in enumerate(cells) if c.cell_type == "code" and call in c.source), None)
    assert at is not None, f"{path.name} has no cell that calls {call}...)"
    forms = _forms(_answer(name))
    scenario, kernel = REVEALS.get(name, ("", None))
    for i, cell in enumerate(cells[:at]):
        if cell.cell_type != "code":
            continue
        for out in cell.get("outputs", []):
            text = _text(out)
            for form in forms:
                assert form not in text, f"{name}: cell {i} of {path.name} prints the answer {form!r}"
            if scenario:
                assert not _shows_table(text, scenario, kernel), (
                    f"{name}: cell {i} of {path.name} shows {scenario} under {kernel or 'any kernel'}: {text[:300]}")
