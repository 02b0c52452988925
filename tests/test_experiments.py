"""Tests of mmsim.experiments: sweep(), the rate summaries, settled() and the Runner."""

from __future__ import annotations

import pandas as pd
import pytest
import semantics_tables as T

from mmsim import KERNELS, OUTCOMES, classify
from mmsim import experiments as X
from mmsim import scenarios as S
from mmsim.scenarios import CATALOGUE

SMALL = ["seed-W", "mprotect-3way", "dontunmap"]


@pytest.fixture(scope="module")
def catalogue_sweep() -> pd.DataFrame:
    return X.sweep(progress=False)


def test_sweep_shape_columns_and_types(catalogue_sweep: pd.DataFrame) -> None:
    df = catalogue_sweep
    assert list(df.columns) == list(X.COLUMNS) == [
        "scenario", "family", "kernel", "max_map_count", "free_slots", "outcome", "errno", "check", "where",
        "mc_before", "mc_after", "peak", "fp", "ideal_ok", "steps"]
    assert len(df) == len(CATALOGUE) * len(KERNELS) * 17
    assert set(df["outcome"]) <= set(OUTCOMES)
    assert (df["max_map_count"] == 65530).all()
    assert (df["mc_before"] == 65530 - df["free_slots"]).all()
    assert df["fp"].dtype == bool and df["ideal_ok"].dtype == bool
    assert (df["peak"] >= df[["mc_before", "mc_after"]].min(axis=1)).all()
    assert not df.duplicated(["scenario", "kernel", "free_slots"]).any()


def test_sweep_ordering_is_scenario_kernel_free_slots(catalogue_sweep: pd.DataFrame) -> None:
    df = catalogue_sweep
    assert list(dict.fromkeys(df["scenario"])) == list(CATALOGUE)
    first = df[df["scenario"] == "seed-W"]
    assert list(first["kernel"]) == [k for k in KERNELS for _ in range(17)]
    assert list(first["free_slots"][:17]) == list(range(17))
    df2 = X.sweep(SMALL, ["7.1", "5.0"], free_slots=[5, 0, 3], progress=False)
    assert list(df2["kernel"][:3]) == ["7.1"] * 3 and list(df2["free_slots"][:3]) == [5, 0, 3]


def test_sweep_is_deterministic(catalogue_sweep: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(catalogue_sweep, X.sweep(progress=False))


def test_sweep_rows_match_single_runs() -> None:
    df = X.sweep(["seed-W"], ["5.0"], free_slots=[3], progress=False)
    row = df.iloc[0]
    o = S.get("seed-W").run("5.0", 3)
    assert (row["outcome"], row["errno"], row["check"], row["where"]) == (o.kind, "ENOMEM", o.check, o.where)
    assert (row["mc_before"], row["mc_after"], row["peak"], row["fp"], row["steps"]) == (
        o.mc_before, o.mc_after, o.peak, o.fp, o.steps)


def test_small_max_shortcut_equals_exact_runs() -> None:
    """The rows of a sweep are those of real 65530-VMA runs (module docstring: only the free slots matters)."""
    scs = [CATALOGUE[n] for n in ("seed-W", "seed-S", "multi-vma", "k-whole-3", "mmap-new")]
    scs += S.random_scenarios(8, seed=2)
    kw = {"kernels": ["5.0", "6.18", "7.1", "ideal"], "free_slots": [-1, 0, 1, 3, 5, 6, 9], "progress": False}
    pd.testing.assert_frame_equal(X.sweep(scs, **kw), X.sweep(scs, exact=True, **kw))


def test_reusing_settled_outcomes_changes_nothing(catalogue_sweep: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(catalogue_sweep, X.sweep(progress=False, reuse=False))
    rs = S.random_scenarios(60, seed=9)
    pd.testing.assert_frame_equal(X.sweep(rs, free_slots=range(-1, 12), progress=False),
                                  X.sweep(rs, free_slots=range(-1, 12), progress=False, reuse=False))


def test_settled() -> None:
    sc = CATALOGUE["seed-W"]
    assert X.settled(sc.run("5.0", 7, 100))          # OK, every check passed, ideal fits
    assert not X.settled(sc.run("5.0", 3, 100))      # failed at a check
    assert not X.settled(sc.run("ideal", 2, 100))    # failed at the commit rule R3
    efault = CATALOGUE["multi-vma"].run("5.0", 9, 100)
    assert efault.kind == "PARTIAL_FAIL" and X.settled(efault)  # a validation failure: same at any count
    assert X.settled(CATALOGUE["dontunmap"].run("5.0", 0, 100))   # EINVAL


def test_sweep_over_max_map_counts() -> None:
    df = X.sweep(["mprotect-3way"], ["6.18", "ideal"], max_map_counts=range(0, 5), progress=False)
    assert len(df) == 10
    assert list(df["max_map_count"][:5]) == [0, 1, 2, 3, 4]
    assert list(df["free_slots"][:5]) == [-1, 0, 1, 2, 3]  # the layout has one VMA
    assert list(df["outcome"][:5]) == ["CLEAN_FAIL", "CLEAN_FAIL", "PARTIAL_FAIL", "OK", "OK"]
    assert (df["mc_before"] == 1).all()
    mm = CATALOGUE["mprotect-3way"].build("6.18", 2)
    assert classify(mm, "mprotect", *CATALOGUE["mprotect-3way"].args).mc_after == df["mc_after"].iloc[2]


def test_sweep_argument_errors() -> None:
    with pytest.raises(ValueError, match="not both"):
        X.sweep(SMALL, free_slots=[1], max_map_counts=[5])
    with pytest.raises(ValueError, match="unknown kernel"):
        X.sweep(SMALL, ["4.19"])
    with pytest.raises(KeyError, match="unknown scenario"):
        X.sweep(["nope"])
    with pytest.raises(ValueError, match=">= -1"):
        X.sweep(SMALL, free_slots=[-2])
    with pytest.raises(ValueError, match="no free_slots given"):
        X.sweep(SMALL, free_slots=[])
    with pytest.raises(ValueError, match="cannot have"):
        X.sweep(["multi-vma"], free_slots=[3], max_map_count=5)
    with pytest.raises(ValueError):
        X.sweep(SMALL, max_map_counts=[-1])


def test_single_names_and_scenario_objects() -> None:
    a = X.sweep("seed-W", "5.0", 3, progress=False)
    b = X.sweep([CATALOGUE["seed-W"]], ["5.0"], [3], progress=False)
    pd.testing.assert_frame_equal(a, b)
    assert len(a) == 1


def test_progress_bar(capsys: pytest.CaptureFixture[str]) -> None:
    X.sweep(SMALL, free_slots=[0, 1], progress=False)
    assert "sweep" not in capsys.readouterr().err
    X.sweep(SMALL, free_slots=[0, 1], progress=True)
    assert "sweep" in capsys.readouterr().err
    X.sweep(SMALL, free_slots=[0, 1])  # 36 cases: below the threshold, no bar
    assert "sweep" not in capsys.readouterr().err


# ---- summaries against a hand-counted frame ----------------------------------------------------------


@pytest.fixture
def hand() -> pd.DataFrame:
    rows = [
        # kernel, outcome, fp
        ("5.0", "OK", False), ("5.0", "PARTIAL_FAIL", True), ("5.0", "PARTIAL_FAIL", False),
        ("5.0", "CLEAN_FAIL", False),
        ("5.1", "FALSE_POSITIVE", True), ("5.1", "CLEAN_FAIL", False), ("5.1", "OK", False),
        ("5.1", "OK", False), ("5.1", "OK", False),
        ("ideal", "OK", False), ("ideal", "CLEAN_FAIL", False),
    ]
    return pd.DataFrame(rows, columns=["kernel", "outcome", "fp"])


def test_rates_by_hand(hand: pd.DataFrame) -> None:
    fp = X.false_positive_rate(hand)
    assert list(fp.index) == ["5.0", "5.1", "ideal"] and fp.name == "false_positive_rate"
    assert fp.tolist() == [0.0, 1 / 5, 0.0]
    assert X.false_positive_rate(hand, include_partial=True).tolist() == [1 / 4, 1 / 5, 0.0]
    pf = X.partial_failure_rate(hand)
    assert pf.tolist() == [2 / 4, 0.0, 0.0] and pf.name == "partial_failure_rate"


def test_outcome_counts_by_hand(hand: pd.DataFrame) -> None:
    c = X.outcome_counts(hand)
    assert list(c.columns) == [*OUTCOMES, "total"]
    assert list(c.index) == ["5.0", "5.1", "ideal"]
    assert c.loc["5.0"].tolist() == [1, 0, 1, 2, 4]
    assert c.loc["5.1"].tolist() == [3, 1, 1, 0, 5]
    assert c.loc["ideal"].tolist() == [1, 0, 1, 0, 2]


def test_summaries_reject_other_frames() -> None:
    with pytest.raises(ValueError, match="missing"):
        X.outcome_counts(pd.DataFrame({"kernel": ["5.0"]}))
    with pytest.raises(ValueError, match="missing"):
        X.false_positive_rate(pd.DataFrame({"x": [1]}))


def test_summaries_of_the_catalogue(catalogue_sweep: pd.DataFrame) -> None:
    fp = X.false_positive_rate(catalogue_sweep)
    assert list(fp.index) == list(KERNELS)
    assert fp["ideal"] == 0.0 and fp["5.1"] > 0  # ideal can have no false positive (semantics §6)
    assert X.partial_failure_rate(catalogue_sweep)["ideal"] == 0.0
    counts = X.outcome_counts(catalogue_sweep)
    assert (counts["total"] == len(CATALOGUE) * 17).all()
    by_scenario = X.false_positive_rate(catalogue_sweep, by="scenario")
    assert list(by_scenario.index) == list(CATALOGUE)


def test_free_slots_table(catalogue_sweep: pd.DataFrame) -> None:
    t = X.free_slots_table(catalogue_sweep[catalogue_sweep["scenario"] == "seed-W"])
    assert list(t.columns) == list(KERNELS)
    # the whole semantics §7.1 table in its own notation (class and map_count; the check is not shown)
    for s, row in T.SEED_W.items():
        for k in KERNELS:
            assert t.loc[("seed-W", s), k] == " ".join(row[k].split()[:2]), (s, k)


# ---- Runner ------------------------------------------------------------------------------------------


def test_runner_is_exact_and_cached() -> None:
    r = X.Runner(maxsize=2)
    for k, s in (("5.0", 3), ("5.0", 6), ("7.1", 4)):
        a, b = r.run("seed-W", k, s), S.get("seed-W").run(k, s)
        assert (a.kind, a.mc_before, a.mc_after, a.fp, a.check) == (b.kind, b.mc_before, b.mc_after, b.fp, b.check)
    mm = r.setup("seed-W", "5.0", 2)
    assert mm.max_map_count - mm.map_count == 2
    assert r.setup("seed-W", "5.0", 7) is mm  # the same cached address space, re-padded
    r.run("seed-S", "5.0", 1)
    r.run("seed-S", "5.1", 1)
    assert len(r._cache) == 2
    with pytest.raises(ValueError, match="cannot have"):
        r.setup("seed-W", "5.0", 70000)


def test_runner_before_after_shows_the_partial_state() -> None:
    o, before, after = X.Runner().before_after("seed-W", "5.0", 3, 300)
    assert o.kind == "PARTIAL_FAIL"
    assert before.map_count == 297 and after.map_count == 299
    o, before, after = X.Runner().before_after("seed-W", "5.1", 3, 300)
    assert o.kind == "CLEAN_FAIL" and after.state() == before.state()
