"""The exercise checks of notebooks 05-08 (mmsim.exercises.advanced).

For every ``check_*`` function: the ``answer`` of its solution file (notebooks/solutions/NN-exK.py, loaded
with runpy) passes and prints ✔; wrong answers, malformed answers and the notebooks' ``None`` placeholder
fail with ✘ and never raise.
"""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest

from mmsim import KERNELS
from mmsim.exercises import advanced

SOLUTIONS = Path(__file__).resolve().parents[1] / "notebooks" / "solutions"

#: check function -> (solution file, wrong answers of the right shape)
CASES: dict[str, tuple[str, list]] = {
    "check_smaller_headroom_slack": ("05-ex1.py", [6, 2, 3, 5, 0]),
    "check_seed_w_ideal_refusals": ("05-ex2.py", [{1, 2, 3, 4, 5}, {0, 1, 2, 3, 4, 5}, set(), [5]]),
    "check_seed_s_false_positives": ("05-ex3.py", [{4, 5}, set(), {3}, {5, 6}]),
    "check_fp_rate": ("06-ex1.py", [0.0, 0.5, 1]),
    "check_k_whole_min_slack": ("06-ex2.py", [{k: 6 for k in KERNELS}, {k: 0 for k in KERNELS}]),
    "check_alt_fixes": ("06-ex3.py", [{"seed-W"}, set(), {"seed-S"}]),
    "check_v71_grow_refusals": ("07-ex1.py", [set(), {0, 1, 2}, {0, 1, 2, 3, 4, 5}]),
    "check_multi_vma_partial": ("07-ex2.py", [{"6.18": set(), "7.1": set()}, {"6.18": {6}, "7.1": {6}}]),
    "check_changed_at_slack": ("07-ex3.py", [{"seed-W"}, set(), {"grow-in-place"}]),
    "check_live_prediction": ("08-ex1.py", [{5: "OK", 6: "OK"}, {5: "ENOMEM", 6: "ENOMEM"},
                                            {5: "EFAULT", 6: "OK"}]),
    "check_fail_at_slack": ("08-ex2.py", [{"seed-W"}, set(), {"grow-in-place", "seed-W"}]),
    "check_profile_for_release": ("08-ex3.py", [{r: "6.18" for r in advanced.EXERCISE_RELEASES},
                                                {r: None for r in advanced.EXERCISE_RELEASES}]),
}

#: Answers of the wrong shape, or no answer at all: every check must reject them without raising.
MALFORMED = [None, ..., "6", 3.5, True, {"x": 1}, [None], object()]


def _solution(name: str):
    return runpy.run_path(str(SOLUTIONS / CASES[name][0]))["answer"]


def test_every_check_has_a_case() -> None:
    checks = {n for n in advanced.__all__ if n.startswith("check_")}
    assert checks == set(CASES)
    for name in checks:
        assert callable(getattr(advanced, name))


def test_the_package_exports_the_advanced_checks() -> None:
    import mmsim.exercises as ex

    for name in CASES:
        assert getattr(ex, name) is getattr(advanced, name)


@pytest.mark.parametrize("name", sorted(CASES))
def test_solution_passes(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert getattr(advanced, name)(_solution(name)) is True
    out = capsys.readouterr().out
    assert out.startswith("✔"), out


@pytest.mark.parametrize("name", sorted(CASES))
def test_wrong_answers_fail(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    check = getattr(advanced, name)
    solution = _solution(name)
    for wrong in CASES[name][1]:
        assert wrong != solution, f"{name}: the 'wrong' answer {wrong!r} is the solution"
        assert check(wrong) is False, f"{name} accepted {wrong!r}"
        out = capsys.readouterr().out
        assert out.startswith("✘") and out.count("\n") == 1, out


@pytest.mark.parametrize("name", sorted(CASES))
def test_malformed_answers_fail_without_raising(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    check = getattr(advanced, name)
    for bad in MALFORMED:
        assert check(bad) is False, f"{name} accepted {bad!r}"
        assert capsys.readouterr().out.startswith("✘")
    check(None)
    assert "No answer yet" in capsys.readouterr().out


def test_partly_wrong_dicts_name_the_wrong_entries(capsys: pytest.CaptureFixture[str]) -> None:
    good = dict(_solution("check_k_whole_min_slack"))
    good["5.1"] = good["5.1"] + 1
    assert advanced.check_k_whole_min_slack(good) is False
    assert "5.1" in capsys.readouterr().out
    releases = dict(_solution("check_profile_for_release"))
    releases["7.1.3"] = "6.18"
    assert advanced.check_profile_for_release(releases) is False
    assert "7.1.3" in capsys.readouterr().out


def test_sets_accept_any_iterable_of_ints(capsys: pytest.CaptureFixture[str]) -> None:
    import numpy as np
    import pandas as pd

    solution = _solution("check_seed_w_ideal_refusals")
    assert advanced.check_seed_w_ideal_refusals(sorted(solution))
    assert advanced.check_seed_w_ideal_refusals(pd.Series(sorted(solution), dtype="int64"))
    assert advanced.check_seed_w_ideal_refusals(np.array(sorted(solution)))


def test_fp_rate_recognises_a_percentage(capsys: pytest.CaptureFixture[str]) -> None:
    rate = _solution("check_fp_rate")
    assert advanced.check_fp_rate(rate * 100) is False
    assert "percentage" in capsys.readouterr().out
