"""Tests of mmsim.plots: the artists each figure contains (no pixel comparisons)."""

from __future__ import annotations

import os

os.environ.setdefault("MPLBACKEND", "Agg")

import matplotlib  # noqa: E402

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from mmsim import KERNELS, PAGE_SIZE  # noqa: E402
from mmsim import experiments as X  # noqa: E402
from mmsim import plots as PL  # noqa: E402
from mmsim.scenarios import BASE, CATALOGUE  # noqa: E402

P = PAGE_SIZE
MAX = 400  # small max_map_count: these tests look at artists, the model does not care about the size


@pytest.fixture(scope="module")
def runner() -> X.Runner:
    return X.Runner()


def _bars(ax):
    return ax.containers[0].patches


def _layout(runner: X.Runner, name: str, kernel: str, free_slots: int, **kw) -> tuple[Figure, object, object, object]:
    sc = CATALOGUE[name]
    o, before, after = runner.before_after(sc, kernel, free_slots, MAX)
    old, new = sc.ranges()
    fig = PL.plot_layout(before, after, old_range=old, new_range=new, window=sc.window, outcome=o, **kw)
    return fig, o, before, after


# ---- plot_layout -------------------------------------------------------------------------------------


def test_layout_one_bar_per_vma_in_the_window(runner: X.Runner) -> None:
    fig, o, before, after = _layout(runner, "seed-W", "5.0", 3)
    assert isinstance(fig, Figure)
    top, bottom = fig.axes[:2]
    w0, w1 = CATALOGUE["seed-W"].window
    assert len(_bars(top)) == len(before.vmas_in(w0, w1)) == 2
    assert len(_bars(bottom)) == len(after.vmas_in(w0, w1)) == 4  # O split in two, D split around nothing yet
    # bars sit at page offsets relative to the window start
    xs = sorted(round(b.get_x()) for b in _bars(top))
    assert xs == [0, 12]
    assert [round(b.get_width()) for b in sorted(_bars(top), key=lambda b: b.get_x())] == [10, 10]
    assert bottom.get_xlabel() == f"page (4 KiB) relative to {BASE:#x}"
    assert "PARTIAL_FAIL" in bottom.get_title(loc="left") and "move_vma_limit" in bottom.get_title(loc="left")
    assert "3 free slots" in top.get_title(loc="left")


def test_layout_marks_ranges_colours_and_legend(runner: X.Runner) -> None:
    fig, *_ = _layout(runner, "seed-W", "5.0", 3)
    top = fig.axes[0]
    labels = [ln.get_label() for ln in top.lines]
    assert "old range" in labels and "new range" in labels
    old = next(ln for ln in top.lines if ln.get_label() == "old range")
    assert list(old.get_xdata()) == [2, 8]
    legend_texts = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "rw- VMA" in legend_texts and "r-- VMA" in legend_texts and "old range" in legend_texts
    colours = {tuple(np.round(b.get_facecolor(), 3)) for b in _bars(top)}
    assert len(colours) == 2  # rw- and r-- differ


def test_layout_hatches_shared_vmas(runner: X.Runner) -> None:
    fig, *_ = _layout(runner, "k-whole-3", "6.18", 9)
    top = fig.axes[0]
    hatched = [b for b in _bars(top) if b.get_hatch()]
    assert len(hatched) == 3 and len(_bars(top)) == 4
    assert any("shared" in t.get_text() for t in fig.legends[0].get_texts())


def test_layout_single_panel_and_default_window_skips_filler() -> None:
    sc = CATALOGUE["mprotect-3way"]
    mm = sc.setup("6.18", 300, 4)  # 295 filler VMAs far below the scenario
    fig = PL.plot_layout(mm)
    assert len(fig.axes) == 1
    assert len(_bars(fig.axes[0])) == 1
    assert BASE - 2 * P <= PL.default_window(mm)[0] <= BASE
    w = PL.default_window(mm, (BASE + 2 * P, BASE + 3 * P))
    assert w[0] <= BASE and w[1] >= BASE + 10 * P
    with pytest.raises(ValueError, match="empty window"):
        PL.plot_layout(mm, window=(BASE, BASE))


def test_layout_notes_a_relocation_outside_the_window(runner: X.Runner) -> None:
    fig, o, *_ = _layout(runner, "relocate-whole", "5.0", 8)
    assert o.ok
    texts = [t.get_text() for t in fig.axes[1].texts]
    assert any("outside this window" in t for t in texts)


def test_figures_do_not_accumulate_in_pyplot(runner: X.Runner) -> None:
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    _layout(runner, "seed-W", "5.0", 3)
    PL.plot_trace(runner.run("seed-W", "5.0", 3, MAX))
    assert plt.get_fignums() == before


# ---- plot_trace --------------------------------------------------------------------------------------


def _panels(fig: Figure):
    return [ax for ax in fig.axes if ax.get_title()]


def test_trace_panels_lines_and_failure(runner: X.Runner) -> None:
    outs = {k: runner.run("seed-W", k, 3, MAX) for k in ("5.0", "5.1", "ideal")}
    fig = PL.plot_trace(outs)
    panels = _panels(fig)
    assert len(panels) == 3
    assert panels[0].get_shared_y_axes().joined(panels[0], panels[2])
    for ax, (k, o) in zip(panels, outs.items(), strict=True):
        ys = {ln.get_label(): ln.get_ydata()[0] for ln in ax.lines if ln.get_label().startswith("max")}
        assert ys["max_map_count"] == MAX and ys["max + 1 (mmap's lenient limit)"] == MAX + 1
        assert k in ax.get_title()
        failure = [ln for ln in ax.lines if ln.get_gid() == "failure"]
        assert len(failure) == (0 if o.ok else 1)
    f50 = next(ln for ln in panels[0].lines if ln.get_gid() == "failure")
    assert f50.get_ydata()[0] == outs["5.0"].trace.failure.map_count == MAX - 1
    assert any("ENOMEM" in t.get_text() and "move_vma_limit" in t.get_text() for t in panels[0].texts)
    ticks = [t.get_text() for t in panels[0].get_xticklabels()]
    assert ticks == ["start", "unmap_destination", "unmap_tail", "vma_to_resize", "get_unmapped_area",
                     "move_vma_limit"]
    assert panels[0].get_ylabel() == "map_count (VMAs)"
    assert "3 free slots" in " ".join(fig.get_suptitle().split())


def test_trace_step_line_follows_the_depth_0_records(runner: X.Runner) -> None:
    o = runner.run("seed-W", "ideal", 3, MAX)
    fig = PL.plot_trace(o)
    ax = _panels(fig)[0]
    line = next(ln for ln in ax.lines if ln.get_label() == "map_count after each step")
    assert list(line.get_ydata()) == [o.mc_before] + [s.map_count for s in o.trace.top()]
    assert line.get_drawstyle() == "steps-post"


def test_trace_check_thresholds(runner: X.Runner) -> None:
    fig = PL.plot_trace([runner.run("seed-W", "5.1", 3, MAX)])
    ax = _panels(fig)[0]
    th = [ln for ln in ax.lines if ln.get_label().startswith("check threshold")]
    assert len(th) == 1 and th[0].get_ydata()[0] == MAX - 5  # mremap_early: mc + 2 >= max - 3
    assert PL.check_threshold("move_vma_limit", 100) == 97
    assert PL.check_threshold("move_vma_limit_v7", 100) == 99
    assert PL.check_threshold("mmap_limit", 100) == 101
    assert PL.check_threshold("ideal_commit", 100) is None


def test_trace_secondary_axis_in_free_slots(runner: X.Runner) -> None:
    fig = PL.plot_trace(runner.run("seed-W", "5.0", 3, MAX))
    ax = _panels(fig)[0]
    sec = ax.child_axes[0]
    assert "free slots" in sec.get_ylabel()


def test_trace_argument_errors() -> None:
    with pytest.raises(ValueError):
        PL.plot_trace({})
    with pytest.raises(TypeError):
        PL.plot_trace(["not an outcome"])


# ---- sweeps ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_sweep() -> pd.DataFrame:
    return X.sweep(["seed-W", "seed-S", "mprotect-3way"], free_slots=range(0, 9), progress=False)


def test_outcome_map_one_image_per_kernel(small_sweep: pd.DataFrame) -> None:
    fig = PL.plot_outcome_map(small_sweep)
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert len(visible) == len(KERNELS)  # one image per profile
    assert sorted(ax.get_title() for ax in visible) == sorted(f"kernel {k}" for k in KERNELS)
    for ax in visible:
        assert len(ax.images) == 1
        assert ax.images[0].get_array().shape == (3, 9)
    ax50 = next(ax for ax in visible if ax.get_title() == "kernel 5.0")
    data = ax50.images[0].get_array()
    code = {k: i for i, k in enumerate(X.OUTCOMES)}
    assert data[0, 3] == code["PARTIAL_FAIL"] and data[0, 6] == code["OK"] and data[0, 0] == code["CLEAN_FAIL"]
    cmap = ax50.images[0].get_cmap()
    assert [matplotlib.colors.to_hex(cmap(i)) for i in range(4)] == [PL.OUTCOME_COLORS[k] for k in X.OUTCOMES]
    assert [t.get_text() for t in ax50.get_yticklabels()] == ["seed-W", "seed-S", "mprotect-3way"]
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert all(any(t.startswith(k) for t in legend) for k in X.OUTCOMES)
    assert "free slots" in visible[-1].get_xlabel()


def test_outcome_map_subset_and_errors(small_sweep: pd.DataFrame) -> None:
    fig = PL.plot_outcome_map(small_sweep, kernels=["7.1", "5.0"])
    assert [ax.get_title() for ax in fig.axes if ax.get_visible()] == ["kernel 7.1", "kernel 5.0"]
    with pytest.raises(ValueError, match="missing"):
        PL.plot_outcome_map(pd.DataFrame({"kernel": ["5.0"]}))
    with pytest.raises(ValueError, match="empty"):
        PL.plot_outcome_map(small_sweep.iloc[:0])


def test_fp_rate_bars_match_the_rates(small_sweep: pd.DataFrame) -> None:
    fig = PL.plot_fp_rate(small_sweep)
    ax = fig.axes[0]
    assert len(ax.containers) == 3
    heights = [b.get_height() for b in ax.containers[0].patches]
    assert heights == pytest.approx((X.false_positive_rate(small_sweep) * 100).tolist())
    heights = [b.get_height() for b in ax.containers[2].patches]
    assert heights == pytest.approx((X.partial_failure_rate(small_sweep) * 100).tolist())
    assert ax.get_ylabel() == "share of cases (%)"
    assert [t.get_text() for t in ax.get_xticklabels()][0] == "kernel 5.0"


def test_every_plot_renders_to_png(runner: X.Runner, small_sweep: pd.DataFrame, tmp_path) -> None:
    figs = {
        "layout": _layout(runner, "seed-W", "5.0", 3)[0],
        "trace": PL.plot_trace({k: runner.run("seed-W", k, 3, MAX) for k in ("5.0", "7.1")}),
        "map": PL.plot_outcome_map(small_sweep),
        "fp": PL.plot_fp_rate(small_sweep),
    }
    for name, fig in figs.items():
        png = PL.figure_png(fig, dpi=40)
        assert png[:8] == b"\x89PNG\r\n\x1a\n", name
    figs["fp"].savefig(tmp_path / "fp.png", dpi=40)
    assert (tmp_path / "fp.png").stat().st_size > 1000


# ---- the sysctl as the x axis ------------------------------------------------------------------------


def test_failure_points_figure() -> None:
    from mmsim.svg import StopPoint

    points = {"5.0": [StopPoint(m, "move_vma_limit" if m < 106 else "completed",
                                "PARTIAL_FAIL" if m < 106 else "OK", None, False) for m in range(99, 110)],
              "5.1": [StopPoint(m, "mremap_early" if m < 106 else "completed",
                                "CLEAN_FAIL" if m < 106 else "OK", None, False) for m in range(99, 110)]}
    steps = {"5.0": ["unmap_destination", "unmap_tail", "move_vma_limit"], "5.1": ["mremap_early"]}
    fig = PL.plot_failure_points(points, steps, 103, 100)
    axes = [ax for ax in fig.axes if ax.get_title(loc="left")]
    assert [ax.get_title(loc="left") for ax in axes] == ["kernel 5.0", "kernel 5.1"]
    assert [t.get_text() for t in axes[0].get_yticklabels()] == steps["5.0"] + ["completed"]
    limit = [ln for ln in axes[0].lines if ln.get_gid() == "limit"]
    assert len(limit) == 1 and limit[0].get_xdata()[0] == 103
    by_label = {c.get_label(): set(c.get_offsets()[:, 1]) for c in axes[0].collections}
    assert by_label[PL._OUTCOME_LABELS["PARTIAL_FAIL"]] == {2} and by_label["OK"] == {3}  # rows of the steps
    assert axes[-1].get_xlabel() == "vm.max_map_count"
    with pytest.raises(ValueError):
        PL.plot_failure_points({}, {}, 1, 1)


def test_limit_outcomes_figure() -> None:
    from mmsim.widgets import sweep_limits

    df = sweep_limits(["seed-W", "seed-S"], ["5.0", "5.1"], (MAX - 1, MAX + 7), MAX)
    fig = PL.plot_limit_outcomes(df, MAX + 5)
    maps = [ax for ax in fig.axes if ax.images]
    assert len(maps) == 2 and maps[0].images[0].get_array().shape == (2, 9)
    code = {k: i for i, k in enumerate(X.OUTCOMES)}
    ax51 = next(ax for ax in maps if ax.get_title() == "kernel 5.1")
    assert ax51.images[0].get_array()[1, 6] == code["FALSE_POSITIVE"]  # seed-S, 5 free slots (semantics §7.2)
    assert all(any(p.get_gid() == "limit" for p in ax.patches) for ax in maps)
    rate_ax = fig.axes[-1]
    assert "refused needlessly" in rate_ax.get_ylabel() and "max_map_count" in rate_ax.get_xlabel()
    line51 = next(ln for ln in rate_ax.lines if ln.get_label() == "kernel 5.1")
    assert list(line51.get_xdata()) == list(range(MAX - 1, MAX + 8))
    assert line51.get_ydata()[6] == pytest.approx(50.0)  # one of two scenarios refused needlessly
    assert any(ln.get_gid() == "limit" and ln.get_xdata()[0] == MAX + 5 for ln in rate_ax.lines)
    assert PL.figure_png(fig, dpi=30)[:4] == b"\x89PNG"
