"""The word "slack" became "free slots" in the whole public API (issue #21: one word for one idea). The old
spellings keep working for a while: each warns with a FutureWarning naming the new spelling and then does exactly
what the new one does. Giving both is a TypeError. These tests hold each old spelling to the new one's result.
"""

from __future__ import annotations

import inspect
import warnings

import pandas as pd
import pytest
from helpers import snapshot
from live_ops import canned_run

import mmsim
from mmsim import cli, exercises, experiments, live, tables, views
from mmsim.cases import Runner
from mmsim.constants import MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, PAGE_SIZE, PROT_READ, PROT_WRITE
from mmsim.scenarios import CATALOGUE

P = PAGE_SIZE
RW = PROT_READ | PROT_WRITE
FIXED = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED


def old_spelling(fn, *args, new: str, **kwargs):
    """Call ``fn`` with a deprecated keyword; return its result after checking the one warning it gives."""
    with pytest.warns(FutureWarning, match=f"is deprecated: use {new}") as record:
        out = fn(*args, **kwargs)
    assert len([w for w in record if issubclass(w.category, FutureWarning)]) == 1
    return out


def new_spelling(fn, *args, **kwargs):
    """Call ``fn`` with the current spelling: no FutureWarning at all."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)
        return fn(*args, **kwargs)


def same_outcome(a: mmsim.Outcome, b: mmsim.Outcome) -> None:
    assert (a.kind, a.errno, a.mc_before, a.mc_after, a.max_map_count) == (b.kind, b.errno, b.mc_before, b.mc_after,
                                                                           b.max_map_count)
    assert [s.fn for s in a.trace] == [s.fn for s in b.trace]


SEED_W = CATALOGUE["seed-W"]


def test_scenario_setup_and_run() -> None:
    for s in (0, 3, 6):  # three outcome classes of 5.0 on seed-W (semantics §7.1)
        same_outcome(old_spelling(SEED_W.run, "5.0", slack=s, new="free_slots="),
                     new_spelling(SEED_W.run, "5.0", free_slots=s))
    old = old_spelling(SEED_W.setup, "5.1", 200, slack=4, new="free_slots=")
    assert old.free_slots == 4 == new_spelling(SEED_W.setup, "5.1", 200, free_slots=4).free_slots


def test_runner_methods() -> None:
    r = Runner()
    same_outcome(old_spelling(r.run, SEED_W, "5.1", slack=5, new="free_slots="), new_spelling(r.run, SEED_W, "5.1", 5))
    assert old_spelling(r.setup, SEED_W, "5.1", slack=5, new="free_slots=").free_slots == 5
    o, before, after = old_spelling(r.before_after, SEED_W, "5.0", slack=2, new="free_slots=")
    o2, before2, after2 = new_spelling(r.before_after, SEED_W, "5.0", free_slots=2)
    same_outcome(o, o2)
    assert (snapshot(before, full=True), snapshot(after, full=True)) == (snapshot(before2, full=True),
                                                                         snapshot(after2, full=True))


@pytest.mark.parametrize("fn", [mmsim.sweep, experiments.sweep_profiles], ids=["sweep", "sweep_profiles"])
def test_sweeps_take_slacks(fn) -> None:
    args = ("seed-W",) if fn is mmsim.sweep else (["5.0", "5.1"], "seed-W")
    kw = {"kernels": ["5.0", "5.1"], "progress": False} if fn is mmsim.sweep else {}
    old = old_spelling(fn, *args, slacks=[0, 4, 6], new="free_slots=", **kw)
    new = new_spelling(fn, *args, free_slots=[0, 4, 6], **kw)
    pd.testing.assert_frame_equal(old, new)
    assert old.attrs["mmsim"]["axis"] == "free_slots" and "free_slots" in old.columns and "slack" not in old.columns


def test_the_course_tables() -> None:
    same_outcome(old_spelling(tables.run_small, "seed-S", "5.1", slack=5, new="free_slots="),
                 new_spelling(tables.run_small, "seed-S", "5.1", 5))
    pd.testing.assert_frame_equal(old_spelling(tables.path_table, ["seed-W"], "6.18", slack=8, new="free_slots="),
                                  new_spelling(tables.path_table, ["seed-W"], "6.18", free_slots=8))
    assert (old_spelling(tables.min_free_slots, "seed-W", "5.1", slacks=range(0, 9), new="free_slots=")
            == new_spelling(tables.min_free_slots, "seed-W", "5.1", free_slots=range(0, 9)))


def test_views_read_slack_as_free_slots() -> None:
    assert (old_spelling(views.process_limits, None, None, slack=7, new="free_slots=")
            == new_spelling(views.process_limits, None, None, free_slots=7))
    old = old_spelling(views.trace_view, "seed-W", ["5.0"], slack=3, new="free_slots=")
    new = new_spelling(views.trace_view, "seed-W", ["5.0"], free_slots=3)
    assert old.html() == new.html()


def test_giving_both_spellings_is_a_type_error() -> None:
    with pytest.raises(TypeError, match=r"got free_slots= and its deprecated spelling slack="):
        SEED_W.run("5.0", slack=3, free_slots=3)
    with pytest.raises(TypeError, match=r"free_slots_before= and its deprecated spelling slack_before="):
        live.run([("nop", {})], slack_before={0: 1}, free_slots_before={0: 1})


def test_live_run_and_compare_check_the_old_keywords_as_the_new_ones() -> None:
    """The renamed keyword reaches run()'s own argument checks (these fail before any child starts)."""
    with pytest.warns(FutureWarning, match="slack_before= is deprecated"), \
            pytest.raises(ValueError, match="free_slots_before must be a dict"):
        live.run([("nop", {})], slack_before=[1])
    with pytest.warns(FutureWarning, match="slack= is deprecated"), \
            pytest.raises(ValueError, match="cannot exceed max_map_count"):
        live.compare([("nop", {})], "6.18", slack=-2)


def test_old_attributes() -> None:
    o = new_spelling(SEED_W.run, "5.1", 6)
    assert old_spelling(getattr, o, "slack", new=".free_slots") == o.free_slots == 6
    run = canned_run([{"ret": 0x7F1234560000, "errno": 0, "map_count_before": 10, "map_count_after": 11,
                       "vmas": [(0, P, "rw-p", 0), (P, 16 * P, "---p", 0)], "free_slots": 90}],
                     [("mmap", {"addr": 0, "length": P, "prot": RW, "flags": FIXED})],
                     release="6.18.0", max_map_count=100, base=0x7F1234560000, initial_map_count=10)
    r = run[0]
    assert old_spelling(getattr, r, "slack", new=".free_slots") == r.free_slots == 90
    assert old_spelling(getattr, r, "slack_before", new=".free_slots_before") == r.free_slots_before == 90


def test_old_module_names() -> None:
    old = old_spelling(getattr, experiments, "slack_table", new="mmsim.experiments.free_slots_table")
    assert old is experiments.free_slots_table
    for stem in ("smaller_headroom", "k_whole_min", "changed_at", "fail_at"):
        new = getattr(exercises, f"check_{stem}_free_slots")
        old = old_spelling(getattr, exercises, f"check_{stem}_slack", new=f"mmsim.exercises.check_{stem}_free_slots")
        assert old is new
    with pytest.raises(AttributeError):
        exercises.check_nothing_slack  # noqa: B018


def test_the_exercise_checkers_take_slack() -> None:
    fb_old = old_spelling(exercises.check_fail_at_free_slots, set(), slack=4, new="free_slots=")
    fb_new = new_spelling(exercises.check_fail_at_free_slots, set(), free_slots=4)
    assert (fb_old.correct, fb_old.message, fb_old.reason) == (fb_new.correct, fb_new.message, fb_new.reason)


def test_signatures_show_only_the_new_names() -> None:
    """help() and the API pages show the current signature (functools.wraps): no "slack" in any of them."""
    for fn in (mmsim.sweep, experiments.sweep_profiles, SEED_W.run, Runner.run, tables.run_small, views.trace_view,
               live.run, live.compare, exercises.what_a_check_sees):
        params = inspect.signature(fn).parameters
        assert "free_slots" in params and not any("slack" in p for p in params), (fn, list(params))


@pytest.mark.parametrize("argv, new", [
    (["trace", "seed-W", "--kernel", "5.0", "--slack", "3"],
     ["trace", "seed-W", "--kernel", "5.0", "--free-slots", "3"]),
    (["sweep", "--scenarios", "seed-S", "--kernels", "5.1", "--slacks", "3:6"],
     ["sweep", "--scenarios", "seed-S", "--kernels", "5.1", "--free-slots", "3:6"]),
])
def test_the_cli_takes_the_old_options(capsys, argv: list[str], new: list[str]) -> None:
    assert cli.main(argv) == 0
    out_old, err_old = capsys.readouterr()
    assert cli.main(new) == 0
    out_new, err_new = capsys.readouterr()
    assert out_old == out_new
    assert err_old.strip() == f"mmsim: {argv[-2]} is deprecated: use --free-slots (the same meaning)"
    assert err_new == ""


def test_the_cli_help_shows_only_the_new_option(capsys) -> None:
    for cmd in ("trace", "layout", "sweep", "live"):
        assert cli.main([cmd, "--help"]) == 0
        out = capsys.readouterr().out
        assert "--free-slots" in out and "slack" not in out.lower(), cmd


def test_a_sweep_file_of_the_first_format_is_read_as_the_current_one(tmp_path) -> None:
    pytest.importorskip("pyarrow")
    df = new_spelling(mmsim.sweep, "seed-W", kernels=["5.0", "5.1"], free_slots=range(0, 4), progress=False)
    old = df.rename(columns={"free_slots": "slack"})
    old.attrs["mmsim"] = {**df.attrs["mmsim"], "format": "mmsim-sweep/1", "axis": "slack"}
    path = tmp_path / "v1.parquet"
    old.to_parquet(path)
    back = mmsim.read_sweep(path)
    pd.testing.assert_frame_equal(back, df, check_like=False)
    assert back.attrs["mmsim"]["axis"] == "free_slots" and back.attrs["mmsim"]["format"] == "mmsim-sweep/1"


def test_the_quiz_takes_free() -> None:
    from mmsim.quiz import generate

    old = old_spelling(generate, 4, free=3, max_map_count=500, new="free_slots=")
    new = new_spelling(generate, 4, free_slots=3, max_map_count=500)
    assert (old.call, old.free_slots, old.command) == (new.call, new.free_slots, new.command)
    assert "--free-slots 3" in new.command


def test_the_quiz_cli_takes_free(capsys) -> None:
    assert cli.main(["quiz", "--seed", "4", "--free", "3"]) == 0
    out_old, err_old = capsys.readouterr()
    assert cli.main(["quiz", "--seed", "4", "--free-slots", "3"]) == 0
    out_new, err_new = capsys.readouterr()
    assert out_old == out_new and err_new == ""
    assert err_old.strip() == "mmsim: --free is deprecated: use --free-slots (the same meaning)"


def test_the_old_word_is_gone_from_the_course_and_docs() -> None:
    """Docs, notebooks, solutions, slides and the README say "free slots"; only the glossary's "free slots" entry
    names the deprecated keyword."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    files = [root / "README.md", *(root / "docs").glob("*.md"), *(root / "notebooks").glob("*.ipynb"),
             *(root / "notebooks" / "solutions").glob("*.py"), *(root / "slides").glob("*.ipynb")]
    assert len(files) > 30, files
    hits = [(f.relative_to(root).as_posix(), line.strip()) for f in files
            for line in f.read_text().splitlines() if re.search(r"slack", line, re.I)]
    assert [h for h in hits if h[0] != "docs/glossary.md"] == []
    assert len(hits) == 1 and "deprecated alias of `free_slots=`" in hits[0][1], hits


def test_the_warning_points_at_the_callers_line() -> None:
    """However many mmsim frames lie between (a decorator, a view calling process_limits), the warning names
    the user's file, so a notebook shows the cell to change."""
    with pytest.warns(FutureWarning) as record:
        SEED_W.run("5.0", slack=3)
        views.trace_view("seed-W", ["5.0"], 3)
    assert [w.filename for w in record] == [__file__, __file__]
