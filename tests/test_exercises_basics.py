"""The exercise checks of notebooks 00-04 (mmsim.exercises.basics) and the tables they compute with.

Every ``check_...`` function must return False, without raising, on wrong or malformed answers, and True
on the answer its solution file (notebooks/solutions/NN-exK.py) computes.
"""

from __future__ import annotations

import json
import os
import re
import runpy
from pathlib import Path

os.environ.setdefault("MPLBACKEND", "Agg")

import pytest  # noqa: E402

from mmsim.exercises import basics as B  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
SOLUTIONS = NOTEBOOKS / "solutions"
OWN_NOTEBOOKS = sorted(NOTEBOOKS.glob("0[0-4]-*.ipynb"))

#: check function -> its solution file.
SOLUTION_OF = {
    "check_profile_count": "00-ex1.py",
    "check_punch_min_slots": "00-ex2.py",
    "check_split_count": "01-ex1.py",
    "check_remerge_count": "01-ex2.py",
    "check_hidden_state_count": "01-ex3.py",
    "check_mprotect_3way_slots": "02-ex1.py",
    "check_mmap_ceiling": "02-ex2.py",
    "check_partial_split_vmas": "02-ex3.py",
    "check_grow_or_move": "03-ex1.py",
    "check_dontunmap_delta": "03-ex2.py",
    "check_fixed_delta": "03-ex3.py",
    "check_bug_slots": "04-ex1.py",
    "check_lost_pages": "04-ex2.py",
    "check_fixed_min_slots": "04-ex3.py",
}
CHECKS = sorted(n for n in B.__all__ if n.startswith("check_"))
MALFORMED = [None, "nonsense", "", [1, "a"], {"x": 1}, object(), 3.5, True, float("nan")]

_answers: dict[str, object] = {}


def solution_answer(name: str) -> object:
    """``answer`` as the solution file of check ``name`` computes it (run once per test session)."""
    if name not in _answers:
        ns = runpy.run_path(str(SOLUTIONS / SOLUTION_OF[name]), run_name="__solution__")
        assert "answer" in ns, f"{SOLUTION_OF[name]} defines no `answer`"
        _answers[name] = ns["answer"]
    return _answers[name]


def near_misses(right: object) -> list[object]:
    """Wrong answers close to the right one: off by one, one element missing or extra."""
    if isinstance(right, int):
        return [right + 1, right - 1, -right - 7]
    if isinstance(right, tuple):
        return [(right[0] + 1, right[1]), (right[0], right[1] - 1), tuple(reversed(right)) + (0,),
                (right[0],)]
    if isinstance(right, (list, set, range)):
        items = sorted(set(right))
        return [items[1:], items + [max(items) + 1], [min(items) - 1] + items, [], str(items)]
    raise AssertionError(f"unexpected answer type {type(right).__name__}")


def test_every_check_has_a_solution_file():
    assert set(CHECKS) == set(SOLUTION_OF)
    for name, file in SOLUTION_OF.items():
        assert (SOLUTIONS / file).is_file(), f"{name}: missing {file}"


@pytest.mark.parametrize("name", CHECKS)
def test_check_passes_on_the_solution(name, capsys):
    answer = solution_answer(name)
    capsys.readouterr()
    assert getattr(B, name)(answer) is True
    assert capsys.readouterr().out.startswith("✔")


@pytest.mark.parametrize("name", CHECKS)
def test_check_fails_on_wrong_answers(name, capsys):
    check = getattr(B, name)
    right = solution_answer(name)
    for wrong in near_misses(right) + MALFORMED:
        if wrong == right and not isinstance(wrong, bool):
            continue
        capsys.readouterr()
        assert check(wrong) is False, f"{name} accepted {wrong!r}"
        out = capsys.readouterr().out
        assert out.startswith("✘") and out.count("\n") == 1, out


def test_none_is_reported_as_no_answer(capsys):
    assert B.check_split_count(None) is False
    assert "No answer yet" in capsys.readouterr().out


def test_answers_in_other_forms_are_accepted(capsys):
    n = solution_answer("check_split_count")
    assert B.check_split_count(str(n)) is True
    assert B.check_split_count(float(n)) is True
    assert B.check_bug_slots(set(solution_answer("check_bug_slots"))) is True
    assert B.check_grow_or_move(list(solution_answer("check_grow_or_move"))) is True


# ---- the table builders ---------------------------------------------------------------------------------


def test_min_free_slots():
    assert B.min_free_slots("munmap-whole", "6.18") == -1  # never refused
    assert B.min_free_slots("mmap-new", "6.18") == 0  # mmap's lenient check
    assert B.min_free_slots("mprotect-3way", "ideal") == 2
    assert B.min_free_slots("seed-W", "5.0", slacks=range(0, 4)) is None  # fails at the largest slack tried


def test_slots_needed_and_limits_table():
    t = B.slots_needed(["munmap-punch", "mprotect-3way"], kernels=("5.0", "ideal"))
    assert t.loc["munmap-punch"].tolist() == [1, 1] and t.loc["mprotect-3way"].tolist() == [2, 2]
    lim = B.limits_table(["munmap-whole", "mprotect-3way"])
    assert lim.loc["munmap-whole", "free slots needed"] == "any"
    row = lim.loc["mprotect-3way"]
    assert (row["free slots needed"], row["with one slot fewer"], row["refused by"]) == (2, "PARTIAL_FAIL",
                                                                                         "split_limit")
    assert row["Δ map_count"] == 2


def test_path_table():
    t = B.path_table(["grow-merge", "dontunmap"], "6.18")
    assert t.loc["grow-merge", "Δ map_count"] == -1 and t.loc["grow-merge", "steps"].endswith("extend")
    old = B.path_table(["grow-merge", "dontunmap"], "5.0")
    assert old.loc["grow-merge", "Δ map_count"] == 0
    assert (old.loc["dontunmap", "outcome"], old.loc["dontunmap", "errno"]) == ("CLEAN_FAIL", "EINVAL")


def test_vma_table_shows_hidden_state():
    import mmsim

    P = mmsim.PAGE_SIZE
    mm = mmsim.AddressSpace("6.18")
    a = mm.mmap(0, 10 * P, mmsim.PROT_READ, mmsim.MAP_PRIVATE | mmsim.MAP_ANONYMOUS)
    mm.mprotect(a + 2 * P, P, mmsim.PROT_READ | mmsim.PROT_WRITE)
    mm.touch(a + 2 * P)
    mm.mprotect(a + 2 * P, P, mmsim.PROT_READ)
    t = B.vma_table(mm)
    assert t["perms"].tolist() == ["r--p"] * 3
    assert t["VM_ACCOUNT"].tolist() == [False, True, False]
    assert t["anon_vma"].tolist()[0] is None and t["anon_vma"].tolist()[1] == 1
    assert (t["start"].tolist(), t["end"].tolist()) == ([0, 2, 3], [2, 3, 10])


def test_unmapped_ranges():
    from mmsim.experiments import Runner
    from mmsim.scenarios import get

    sc = get("seed-W")
    _, before, after = Runner().before_after(sc, "5.0", 3)
    assert B.unmapped_ranges(before, after, sc.window) == [(5, 8), (14, 17)]
    assert B.unmapped_ranges(before, before, sc.window) == []


def test_mremap_explorer_reports_its_last_run():
    ex = B.mremap_explorer("6.18")
    assert ex.last_run["outcome"].ok and "MAYMOVE" in ex.info.value
    ex.controls["kernel"].value = "5.0"
    ex.controls["dontunmap"].value = True
    ex.controls["new_size"].value = 2
    o = ex.last_run["outcome"]
    assert (o.kernel, o.kind, o.errname) == ("5.0", "CLEAN_FAIL", "EINVAL")
    assert "EINVAL" in ex.info.value and ex.last_figure is not None


def test_course_outline(tmp_path, capsys):
    nb = {"cells": [{"cell_type": "code", "source": "# not a title"},
                    {"cell_type": "markdown", "source": ["# 07 · A title\n", "text"]}]}
    (tmp_path / "07-x.ipynb").write_text(json.dumps(nb))
    (tmp_path / "08-broken.ipynb").write_text("{not json")
    (tmp_path / "notes.ipynb").write_text(json.dumps(nb))  # not a numbered notebook: left out
    assert B.course_outline(tmp_path) == [("07-x.ipynb", "07 · A title"),
                                          ("08-broken.ipynb", "(unreadable: JSONDecodeError)")]
    assert "07 · A title" in capsys.readouterr().out


# ---- the notebooks use them as documented -------------------------------------------------------------


@pytest.mark.parametrize("path", OWN_NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_exercises_and_solutions_match(path):
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    text = "\n".join("".join(c["source"]) for c in cells)
    stem = path.name[:2]
    loads = re.findall(r"%load (solutions/\d\d-ex\d+\.py)", text)
    called = set(re.findall(r"\b(check_\w+)\(answer\)", text))
    assert len(called) >= 2, f"{path.name}: fewer than two exercises"
    assert called <= set(CHECKS)
    assert {SOLUTION_OF[c] for c in called} == {Path(p).name for p in loads}
    assert all(Path(p).name.startswith(stem) for p in loads)
    for c in cells:
        assert c.get("outputs", []) == [] and c.get("execution_count") is None, f"{path.name}: not stripped"
