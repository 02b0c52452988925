"""The tables the course shows (now in mmsim.experiments, re-exported by mmsim.exercises), the mremap explorer,
the course outline, and how the notebooks use the exercises (a check and a %load per exercise)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

os.environ.setdefault("MPLBACKEND", "Agg")

import pytest  # noqa: E402

from mmsim import experiments as X  # noqa: E402
from mmsim.exercises import EXERCISES, course_outline, mremap_explorer  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb"))


def test_min_free_slots() -> None:
    # semantics §4: munmap whole is never refused; mmap's lenient check; mprotect 3-way needs 2 (ideal too)
    assert X.min_free_slots("munmap-whole", "6.18") == -1
    assert X.min_free_slots("mmap-new", "6.18") == 0
    assert X.min_free_slots("mprotect-3way", "ideal") == 2
    assert X.min_free_slots("seed-W", "5.0", free_slots=range(0, 4)) is None  # fails at the most free slots tried


def test_slots_needed_and_limits_table() -> None:
    t = X.slots_needed(["munmap-punch", "mprotect-3way"], kernels=("5.0", "ideal"))
    assert t.loc["munmap-punch"].tolist() == [1, 1] and t.loc["mprotect-3way"].tolist() == [2, 2]
    lim = X.limits_table(["munmap-whole", "mprotect-3way"])
    assert lim.loc["munmap-whole", "free slots needed"] == "any"
    row = lim.loc["mprotect-3way"]
    assert (row["free slots needed"], row["with one slot fewer"], row["refused by"]) == (2, "PARTIAL_FAIL",
                                                                                         "split_limit")
    assert row["Δ map_count"] == 2


def test_path_table() -> None:
    t = X.path_table(["grow-merge", "dontunmap"], "6.18")
    assert t.loc["grow-merge", "Δ map_count"] == -1 and t.loc["grow-merge", "steps"].endswith("extend")
    old = X.path_table(["grow-merge", "dontunmap"], "5.0")
    assert old.loc["grow-merge", "Δ map_count"] == 0
    assert (old.loc["dontunmap", "outcome"], old.loc["dontunmap", "errno"]) == ("CLEAN_FAIL", "EINVAL")


def test_vma_table_shows_hidden_state() -> None:
    import mmsim

    P = mmsim.PAGE_SIZE
    mm = mmsim.AddressSpace("6.18")
    a = mm.mmap(0, 10 * P, mmsim.PROT_READ, mmsim.MAP_PRIVATE | mmsim.MAP_ANONYMOUS)
    mm.mprotect(a + 2 * P, P, mmsim.PROT_READ | mmsim.PROT_WRITE)
    mm.touch(a + 2 * P)
    mm.mprotect(a + 2 * P, P, mmsim.PROT_READ)
    t = X.vma_table(mm)
    assert t["perms"].tolist() == ["r--p"] * 3
    assert t["VM_ACCOUNT"].tolist() == [False, True, False]
    assert t["anon_vma"].tolist()[0] is None and t["anon_vma"].tolist()[1] == 1
    assert (t["start"].tolist(), t["end"].tolist()) == ([0, 2, 3], [2, 3, 10])


def test_unmapped_ranges() -> None:
    from mmsim.scenarios import get

    sc = get("seed-W")
    _, before, after = X.Runner().before_after(sc, "5.0", 3)
    # semantics §7.1: the tail [O+5P, O+8P) and the destination [D+2P, D+5P) (D at page 12) are gone
    assert X.unmapped_ranges(before, after, sc.window) == [(5, 8), (14, 17)]
    assert X.unmapped_ranges(before, before, sc.window) == []


def test_mremap_explorer_reports_its_last_run() -> None:
    ex = mremap_explorer("6.18")
    assert ex.last_run["outcome"].ok and "MAYMOVE" in ex.info.value
    ex.controls["kernel"].value = "5.0"
    ex.controls["dontunmap"].value = True
    ex.controls["new_size"].value = 2
    o = ex.last_run["outcome"]
    assert (o.kernel, o.kind, o.errname) == ("5.0", "CLEAN_FAIL", "EINVAL")
    assert "EINVAL" in ex.info.value and ex.last_figure is not None


def test_course_outline(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    nb = {"cells": [{"cell_type": "code", "source": "# not a title"},
                    {"cell_type": "markdown", "source": ["# 07 · A title\n", "text"]}]}
    (tmp_path / "07-x.ipynb").write_text(json.dumps(nb))
    (tmp_path / "08-broken.ipynb").write_text("{not json")
    (tmp_path / "notes.ipynb").write_text(json.dumps(nb))  # not a numbered notebook: left out
    assert course_outline(tmp_path) == [("07-x.ipynb", "07 · A title"),
                                        ("08-broken.ipynb", "(unreadable: JSONDecodeError)")]
    assert "07 · A title" in capsys.readouterr().out


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_each_notebook_exercise_has_a_check_and_a_solution(path: Path) -> None:
    """Every check a notebook calls is the check of one of its own exercises, and every one has its %load."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    text = "\n".join("".join(c["source"]) for c in cells)
    stem = path.name[:2]
    loads = {Path(p).stem for p in re.findall(r"%load (solutions/\d\d-ex\d+\.py)", text)}
    by_name = {fn.__name__: ex for ex, fn in EXERCISES.items()}
    called = {by_name[c] for c in re.findall(r"\b(check_\w+)\(", text) if c in by_name}
    assert len(called) >= 2, f"{path.name}: fewer than two exercises"
    assert called == loads, f"{path.name}: checks {sorted(called)} vs %load {sorted(loads)}"
    assert all(name.startswith(stem) for name in loads)
