"""The exercise mechanism itself (mmsim.exercises.feedback): the Feedback verdict, how it displays, and the one
family of answer normalisers every check uses."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from mmsim.exercises.feedback import (
    Feedback,
    Hint,
    as_errname,
    as_int,
    as_int_pair,
    as_int_set,
    as_number,
    as_str_set,
    judge,
    judge_mapping,
    judge_share,
)


def test_feedback_is_its_verdict_and_one_line() -> None:
    good, bad = Feedback(True, "Right: 3.", "right"), Feedback(False, "2 is too few.", "too_few")
    assert bool(good) and not bool(bad)
    assert repr(good) == str(good) == "✔ Right: 3." and repr(bad) == "✘ 2 is too few."
    assert "✔ Right: 3." in good._repr_html_() and "<div" in bad._repr_html_()
    with pytest.raises(AssertionError):
        assert bad


def test_in_ipython_a_feedback_displays_once_as_text_and_html() -> None:
    """What a notebook cell whose last line is ``check_x(answer)`` shows: the one line, no 'Out: False'."""
    from IPython.core.formatters import DisplayFormatter

    data, _ = DisplayFormatter().format(Feedback(False, "2 is too few.", "too_few"))
    assert data["text/plain"] == "✘ 2 is too few."
    assert "✘ 2 is too few." in data["text/html"] and "False" not in data["text/plain"]


def test_in_an_ipython_cell_nothing_else_is_printed(capsys: pytest.CaptureFixture[str]) -> None:
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    result = shell.run_cell("from mmsim.exercises import check_split_count\ncheck_split_count(2)")
    out = capsys.readouterr().out
    assert result.success and repr(result.result).startswith("✘")
    assert out.count("✘") == 1 and "False" not in out


@pytest.mark.parametrize("answer, want", [
    (3, 3), (3.0, 3), ("3", 3), (" +3 ", 3), ("-2", -2), (np.int64(3), 3), ("3.0", 3),
    (3.5, None), (True, None), (False, None), ("three", None), (None, None), (..., None), (float("nan"), None),
    ([3], None), ("9" * 40, None),
])
def test_as_int(answer: object, want: int | None) -> None:
    assert as_int(answer) == want


def test_as_number_reads_fractions_and_percentages() -> None:
    assert as_number(0.25) == (0.25, False) and as_number("9.1%") == (9.1, True)
    assert as_number(" 9.1 % ") == (9.1, True) and as_number(np.float64(0.5)) == (0.5, False)
    assert as_number(True) is None and as_number(float("inf")) is None and as_number("x%") is None


def test_as_int_set_reads_every_collection() -> None:
    forms = ({3, 4}, [4, 3], (3, 4), range(3, 5), pd.Series([3, 4]), np.array([3, 4]), "3, 4", "{3, 4}", [3.0, 4])
    for form in forms:
        assert as_int_set(form) == {3, 4}, form
    assert as_int_set(5) == {5} and as_int_set(set()) == frozenset()
    assert as_int_set([1.5]) is None and as_int_set({"a": 1}) is None and as_int_set(["x"]) is None


def test_as_str_set_and_pairs_and_errnames() -> None:
    assert as_str_set(["a", " b "]) == {"a", "b"} and as_str_set("a") == {"a"} and as_str_set([1]) is None
    assert as_int_pair((0, 1)) == (0, 1) and as_int_pair([0.0, "1"]) == (0, 1)
    assert as_int_pair({0, 1}) is None and as_int_pair((1,)) is None
    assert as_errname("enomem") == "ENOMEM" and as_errname(-12) == "ENOMEM" and as_errname("ok") == "OK"
    assert as_errname("FALSE_POSITIVE") == "FALSE_POSITIVE" and as_errname("nope") is None


def test_judge_picks_the_first_matching_hint_then_falls_back() -> None:
    hints = [Hint(lambda g, w: g == w - 1, "off_by_one", "one short."),
             Hint(lambda g, w: 1 / 0, "broken", "never shown")]  # a hint that raises does not apply
    assert judge(2, 3, as_int, "n", "Right.", hints=hints).reason == "off_by_one"
    assert judge(9, 3, as_int, "n", "Right.", hints=hints).reason == "too_many"
    assert judge("x", 3, as_int, "a whole number", "Right.").reason == "bad_shape"
    gap = judge({1, 9}, frozenset({1, 2}), as_int_set, "s", "Right.", what="count(s)")
    assert gap.reason == "missing_and_extra" and "1 count(s) missing" in gap.message and "{9}" in gap.message
    dynamic = Hint(lambda g, w: True, "dyn", lambda g, w: f"you said {g}, I wanted {w}")
    assert "you said 2, I wanted 3" in judge(2, 3, as_int, "n", "Right.", hints=[dynamic]).message


def test_judge_share_tolerance_is_what_the_message_prints() -> None:
    want = 1 / 11  # printed as 9.1 %
    for ok in (want, 0.091, 0.0909, 9.1, "9.1 %", "9.09%", 0.0905):
        assert judge_share(ok, want, "Right."), ok
    for bad in (0.0904, 0.0916, 8.9, 0.1):
        assert not judge_share(bad, want, "Right."), bad
    small = 0.004  # 0.4 %: a value below 1 that only fits as a percentage is read as one
    assert "read as 0.4 %" in judge_share(0.4, small, "Right.").message
    assert judge_share(-0.1, want, "Right.").reason == "bad_shape"
    assert judge_share(None, want, "R").reason == "no_answer"
    assert math.isclose(want, 0.0909, rel_tol=1e-3)


def test_judge_mapping_checks_keys_and_each_entry() -> None:
    want = {"a": 1, "b": None}
    kw = dict(key=lambda k: k if k in want else None, value=as_int, shape="a dict", right="Right.")
    assert judge_mapping({"a": "1", "b": None}, want, **kw)
    assert judge_mapping({"a": 1}, want, **kw).reason == "bad_key"
    assert judge_mapping({"a": 1, "z": 2}, want, **kw).reason == "bad_key"
    assert judge_mapping({"a": 1, "b": "x"}, want, **kw).reason == "wrong_entry"  # a value where None is right
    fb = judge_mapping({"a": 2, "b": None}, want, hints={"a": [Hint(lambda g, w: g == 2, "two", "not two")]}, **kw)
    assert fb.reason == "two" and "a: 2 (not two)" in fb.message
    assert judge_mapping([1], want, **kw).reason == "bad_shape"


def test_judge_mapping_says_what_is_wrong_with_an_entry_no_hint_covers() -> None:
    """#25: a dict answer's wrong entry is never only "Not quite": without a matching hint the message still
    says what is missing or extra (sets) or too few/many (numbers), without printing the expected value."""
    want = {"x": frozenset({4, 6}), "n": 3}
    kw = dict(key=lambda k: k if k in want else None, shape="a dict", right="Right.",
              value=lambda v: as_int_set(v) if isinstance(v, set) else as_int(v))
    fb = judge_mapping({"x": {4, 5}, "n": 3}, want, **kw)
    assert fb.reason == "missing_and_extra", fb
    assert "1 value(s) missing" in fb.message and "should not be there: {5}" in fb.message
    assert "6" not in fb.message.replace("value(s)", "")
    fb = judge_mapping({"x": {4, 6}, "n": 5}, want, **kw)
    assert fb.reason == "too_many" and "n: 5 (too many)" in fb.message
