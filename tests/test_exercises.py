"""Every exercise check of the course (mmsim.exercises.EXERCISES), against three references.

* its solution file (notebooks/solutions/NN-exK.py, run with runpy): the answer it computes passes;
* the semantics reference: where a table or rule of docs/semantics.md gives the answer
  (tests/exercise_cases.EXPECTED, transcribed there), that answer passes and equals the solution's;
* the typical wrong answers (exercise_cases.WRONG): each fails with its own hint (Feedback.reason).

And the mechanism: a check returns a Feedback that is true iff right, prints nothing, shows one ✔/✘ line, and
never raises on a malformed answer.
"""

from __future__ import annotations

import os
import runpy
from pathlib import Path
from typing import Any

os.environ.setdefault("MPLBACKEND", "Agg")

import pytest  # noqa: E402
from exercise_cases import EXPECTED, MALFORMED, WRONG  # noqa: E402

from mmsim.exercises import EXERCISES, Feedback  # noqa: E402
from mmsim.exercises.feedback import as_int_set, as_str_set  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = ROOT / "notebooks" / "solutions"
NAMES = sorted(EXERCISES)

_ran: dict[str, dict[str, Any]] = {}


def solution_namespace(name: str) -> dict[str, Any]:
    """The namespace the solution file of exercise ``name`` leaves (run once per session, in course order, so
    that 09-ex3 sees 09-ex2's ``mine`` as it would in the notebook)."""
    if name not in _ran:
        init: dict[str, Any] = {}
        if name == "09-ex3":
            init["mine"] = solution_namespace("09-ex2")["mine"]
        _ran[name] = runpy.run_path(str(SOLUTIONS / f"{name}.py"), init_globals=init, run_name="__solution__")
    return _ran[name]


def run_check(name: str, answer: Any) -> Feedback:
    extra = [solution_namespace("09-ex2")["mine"]] if name == "09-ex3" else []
    return EXERCISES[name](answer, *extra)


def normal(value: Any) -> Any:
    """Answers compared as the checks read them: collections as sets, dicts with normalised values."""
    if isinstance(value, dict):
        return {k: normal(v) for k, v in value.items()}
    if isinstance(value, (set, frozenset, list, range)) and not isinstance(value, tuple):
        return as_int_set(value) if as_int_set(value) is not None else as_str_set(value)
    return value


def test_every_exercise_has_a_solution_file_and_back() -> None:
    files = {p.stem for p in SOLUTIONS.glob("*.py")}
    assert files == set(EXERCISES)


@pytest.mark.parametrize("name", NAMES)
def test_the_solution_passes(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    ns = solution_namespace(name)
    assert "answer" in ns, f"{name}.py defines no `answer`"
    capsys.readouterr()
    fb = run_check(name, ns["answer"])
    assert isinstance(fb, Feedback) and fb and fb.reason == "right", fb
    assert capsys.readouterr().out == "", "a check prints nothing: its Feedback displays itself"
    assert repr(fb).startswith("✔ ") and "\n" not in repr(fb)


@pytest.mark.parametrize("name", NAMES)
def test_the_solution_file_ends_with_its_check(name: str) -> None:
    """So that ``%load solutions/NN-exK.py`` run as a cell shows the verdict once, as its last line."""
    last = [ln for ln in (SOLUTIONS / f"{name}.py").read_text().splitlines() if ln.strip()][-1]
    assert last.startswith(EXERCISES[name].__name__ + "(answer"), last


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_the_semantics_answer_passes_and_equals_the_solution(name: str) -> None:
    expected, source = EXPECTED[name]
    fb = run_check(name, expected)
    assert fb, f"{name}: the answer from semantics {source} is refused: {fb}"
    assert normal(solution_namespace(name)["answer"]) == normal(expected), source


@pytest.mark.parametrize("name, wrong, reason",
                         [(n, w, r) for n in sorted(WRONG) for w, r in WRONG[n]],
                         ids=[f"{n}-{r}" for n in sorted(WRONG) for _, r in WRONG[n]])
def test_a_typical_wrong_answer_gets_its_hint(name: str, wrong: Any, reason: str,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    if name in EXPECTED:
        assert normal(wrong) != normal(EXPECTED[name][0])
    fb = run_check(name, wrong)
    assert not fb and fb.reason == reason, (name, wrong, fb.reason, fb)
    assert repr(fb).startswith("✘ ") and "\n" not in repr(fb)
    assert capsys.readouterr().out == ""


def test_every_exercise_anticipates_wrong_answers() -> None:
    """Each exercise whose answer is a number, set or dict has at least two typical wrong answers with hints,
    and the hints of one exercise differ (not one message for every mistake)."""
    for name in NAMES:
        if name.startswith("09") or name in ("06-ex1", "06-ex3", "07-ex3", "08-ex2"):
            continue  # own tests: test_capstone.py, and the catalogue-wide sets and rates below
        assert len(WRONG.get(name, [])) >= 2, name
        assert len({r for _, r in WRONG[name]}) >= 2, name


@pytest.mark.parametrize("name", NAMES)
def test_malformed_answers_fail_without_raising(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    for bad in MALFORMED:
        fb = run_check(name, bad)
        assert isinstance(fb, Feedback) and not fb, (name, bad)
        assert fb.reason != "right" and repr(fb).startswith("✘ ")
    assert run_check(name, None).reason == "no_answer"
    assert capsys.readouterr().out == ""


# ---- other forms of the same answer ----------------------------------------------------------------------


def test_whole_numbers_in_any_form() -> None:
    import numpy as np

    for form in (3, 3.0, "3", " 3 ", np.int64(3)):
        assert EXERCISES["01-ex1"](form), form
    assert not EXERCISES["01-ex1"](3.5) and not EXERCISES["01-ex1"](True)


def test_sets_in_any_form() -> None:
    import numpy as np
    import pandas as pd

    right = [1, 2, 3, 4]
    for form in (set(right), right, tuple(right), range(1, 5), pd.Series(right), np.array(right), "1, 2, 3, 4"):
        assert EXERCISES["04-ex1"](form), form
    assert EXERCISES["05-ex3"](5), "a bare number is a set of one"


def test_pairs_keep_their_order() -> None:
    assert EXERCISES["03-ex1"]([0, 1]) and EXERCISES["03-ex1"]("0, 1")
    assert EXERCISES["03-ex1"]({0, 1}).reason == "bad_shape"


def test_the_rate_accepts_what_its_message_prints() -> None:
    """06-ex1: the success line prints the rate to 0.1 %; the answer typed from it passes, as a fraction or as a
    percentage; a count, the rate with partial failures and the complement get their own hints."""
    from mmsim.experiments import false_positive_rate, sweep

    df = sweep(None, kernels="5.1", free_slots=range(0, 11), progress=False)
    rate = float(false_positive_rate(df)["5.1"])
    with_partial = float(false_positive_rate(df, include_partial=True)["5.1"])
    n_fp = int((df["outcome"] == "FALSE_POSITIVE").sum())
    check = EXERCISES["06-ex1"]
    ok = check(rate)
    printed = ok.message.split("Right: ")[1].split("%")[0]  # e.g. "9.1"
    assert check(round(float(printed) / 100, 3)) and check(float(printed)) and check(f"{printed} %")
    assert check(rate * 100)
    assert not check(rate + 0.002)
    assert check(n_fp).reason == "count_not_share"
    assert check(1 - rate).reason == "complement"
    if abs(with_partial - rate) > 0.001:
        assert check(with_partial).reason == "incl_partial"
    assert check(1.7).reason in ("too_many", "too_few")  # 1.7 % read as a percentage
    assert check(250).reason == "bad_shape"


def test_catalogue_sets_hint_at_their_typical_mistakes() -> None:
    from mmsim.experiments import sweep
    from mmsim.scenarios import CATALOGUE

    df = sweep(None, kernels=["5.1", "5.1-alt"], free_slots=range(0, 11), progress=False)
    fp = df[df["outcome"] == "FALSE_POSITIVE"]
    fp51 = set(fp.loc[fp["kernel"] == "5.1", "scenario"])
    assert EXERCISES["06-ex3"](fp51).reason == "all_of_51"
    assert EXERCISES["06-ex3"]({"no-such-scenario"}).reason == "unknown_name"
    right07 = solution_namespace("07-ex3")["answer"]
    assert EXERCISES["07-ex3"](set(right07) | {"mprotect-3way"}).reason == "not_mremap"
    right08 = solution_namespace("08-ex2")["answer"]
    assert EXERCISES["08-ex2"](set(right08) | {"grow-in-place"}).reason == "no_check_in_place"
    assert EXERCISES["08-ex2"]({"mprotect-3way"}).reason == "unknown_name"  # not one of the mremap candidates
    assert "seed-W" in CATALOGUE


def test_dicts_name_their_wrong_entries() -> None:
    good = dict(EXPECTED["06-ex2"][0])  # type: ignore[call-overload]
    good["5.1"] = 5
    fb = EXERCISES["06-ex2"](good)
    assert not fb and "5.1: 5" in fb.message
    assert EXERCISES["06-ex2"]({"5.0": 2}).reason == "bad_key"
    assert EXERCISES["08-ex1"]({"5": "enomem", "6": "ok"}), "keys and errno names are normalised"


# ---- computed when the check runs ---------------------------------------------------------------------------


def test_expected_values_are_computed_when_the_check_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """A check asks the model each time: change what the model says and the verdict follows."""
    import mmsim.exercises.basics as B

    assert EXERCISES["00-ex2"](1)
    monkeypatch.setattr(B, "min_free_slots", lambda *a, **k: 4)
    assert EXERCISES["00-ex2"](4) and not EXERCISES["00-ex2"](1)
    monkeypatch.setattr(B, "MMAP_CEILING_MAX", 20)
    assert EXERCISES["02-ex2"](21)


# ---- the notebooks use them as documented -------------------------------------------------------------


def test_the_package_still_exports_the_notebooks_names() -> None:
    """Everything notebooks 00-08 import from mmsim.exercises today is still there (and the tables are the
    ones of mmsim.experiments)."""
    import mmsim.exercises as ex
    import mmsim.experiments as exp

    for name in ("MMAP_CEILING_MAX", "EXERCISE_RELEASES", "course_outline", "mremap_explorer", "solution"):
        assert hasattr(ex, name), name
    for name in ("vma_table", "min_free_slots", "slots_needed", "limits_table", "path_table", "unmapped_ranges"):
        assert getattr(ex, name) is getattr(exp, name), name
    for check in EXERCISES.values():
        assert getattr(ex, check.__name__) is check
    from mmsim.exercises import mremap_explorer  # noqa: F401 - the path notebook 03 imports
