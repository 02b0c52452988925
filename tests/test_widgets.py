"""Tests of mmsim.widgets: set a control's value, check the figure the callback drew.

The explorers redraw synchronously when a control changes (traitlets observers), so no browser or kernel is
needed. Assertions look at ``explorer.last_figure`` (titles, labels, artists), never at Output captures.
"""

from __future__ import annotations

import os

os.environ.setdefault("MPLBACKEND", "Agg")

import ipywidgets as W  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from mmsim import KERNELS  # noqa: E402
from mmsim import experiments as X  # noqa: E402
from mmsim import widgets as Wd  # noqa: E402

MAX = 500  # small max_map_count: quick to pad; the outcomes depend on the free slots only


def _panels(fig: Figure):
    return [ax for ax in fig.axes if ax.get_title()]


def _failures(fig: Figure) -> int:
    return sum(1 for ax in fig.axes for ln in ax.lines if ln.get_gid() == "failure")


# ---- render functions ----------------------------------------------------------------------------------


def test_render_trace() -> None:
    fig = Wd.render_trace("seed-W", 3, ["5.0", "5.1"], MAX)
    assert isinstance(fig, Figure)
    assert "seed-W" in fig.get_suptitle() and "3 free slots" in fig.get_suptitle()
    assert len(_panels(fig)) == 2 and _failures(fig) == 2
    fig = Wd.render_trace("seed-W", 8, "7.1", MAX)
    assert len(_panels(fig)) == 1 and _failures(fig) == 0
    empty = Wd.render_trace("seed-W", 3, [], MAX)
    assert "Select at least one kernel" in empty.texts[0].get_text()


def test_render_layout() -> None:
    fig = Wd.render_layout("mprotect-3way", "6.18", 1, MAX)
    assert "1 free slots" in fig.get_suptitle() and "6.18" in fig.get_suptitle()
    assert len(fig.axes[0].containers[0].patches) == 1 and len(fig.axes[1].containers[0].patches) == 2
    assert "PARTIAL_FAIL" in fig.axes[1].get_title(loc="left")


def test_render_outcome_map_filters() -> None:
    df = X.sweep(["seed-W", "mprotect-3way", "munmap-punch"], ["5.0", "6.18"], slacks=range(0, 10), progress=False)
    fig = Wd.render_outcome_map(df, (2, 5), "seed")
    ims = [ax.images[0] for ax in fig.axes if ax.get_visible()]
    assert len(ims) == 2 and ims[0].get_array().shape == (1, 4)
    assert "family seed" in fig.get_suptitle() and "2–5 free slots" in fig.get_suptitle()
    none = Wd.render_outcome_map(df, (2, 5), "mmap")
    assert "No cases" in none.texts[0].get_text()


# ---- trace_explorer ------------------------------------------------------------------------------------


@pytest.fixture
def trace_ex() -> Wd.Explorer:
    return Wd.trace_explorer("seed-W", kernels=("5.0", "5.1"), slack=3, max_map_count=MAX)


def test_trace_explorer_controls(trace_ex: Wd.Explorer) -> None:
    c = trace_ex.controls
    assert set(c) == {"scenario", "slack", "max_map_count", "kernels"}
    assert isinstance(c["slack"], W.IntSlider) and c["slack"].description == "free slots"
    assert c["slack"].continuous_update is False
    assert c["max_map_count"].description == "max_map_count"
    assert isinstance(c["scenario"], W.Dropdown) and isinstance(c["kernels"], W.SelectMultiple)
    assert tuple(c["kernels"].options) == KERNELS
    assert isinstance(trace_ex, W.VBox) and trace_ex.output in trace_ex.children
    assert isinstance(trace_ex.last_figure, Figure)
    assert "seed-W" in trace_ex.info.value


def test_trace_explorer_follows_the_slack(trace_ex: Wd.Explorer) -> None:
    assert "3 free slots" in trace_ex.last_figure.get_suptitle()
    assert _failures(trace_ex.last_figure) == 2  # 5.0 partial, 5.1 clean: both failed
    trace_ex.controls["slack"].value = 6
    assert "6 free slots" in trace_ex.last_figure.get_suptitle()
    assert _failures(trace_ex.last_figure) == 0  # semantics §7.1: everything succeeds at s = 6
    trace_ex.controls["slack"].value = 4
    titles = [ax.get_title() for ax in _panels(trace_ex.last_figure)]
    assert "PARTIAL_FAIL" in titles[0] and "CLEAN_FAIL" in titles[1]


def test_trace_explorer_kernels_scenario_and_max(trace_ex: Wd.Explorer) -> None:
    trace_ex.controls["kernels"].value = ("5.0", "6.18", "7.1")
    assert len(_panels(trace_ex.last_figure)) == 3
    trace_ex.controls["scenario"].value = "k-whole-1"
    assert trace_ex.last_figure.get_suptitle().startswith("k-whole-1")
    assert "k-whole-1" in trace_ex.info.value
    trace_ex.controls["max_map_count"].value = 600
    assert "max_map_count 600" in trace_ex.last_figure.get_suptitle()
    ax = _panels(trace_ex.last_figure)[0]
    assert any(ln.get_label() == "max_map_count" and ln.get_ydata()[0] == 600 for ln in ax.lines)
    trace_ex.controls["kernels"].value = ()
    assert "Select at least one kernel" in trace_ex.last_figure.texts[0].get_text()


def test_explorer_shows_errors_as_a_figure() -> None:
    """A ValueError/KeyError of the render function becomes a message figure and ``last_error``."""

    def render(n: int) -> Figure:
        if n > 2:
            raise ValueError(f"cannot have {n} free slots")
        return Wd.message_figure(f"n = {n}")

    ex = Wd.Explorer({"n": W.IntSlider(value=1, min=0, max=5, description="n")}, render)
    assert ex.last_error is None and ex.last_figure.texts[0].get_text() == "n = 1"
    ex.controls["n"].value = 4
    assert ex.last_error == "cannot have 4 free slots"
    assert "cannot have 4" in ex.last_figure.texts[0].get_text()


def test_explorers_share_no_state() -> None:
    a = Wd.trace_explorer("seed-W", kernels=("5.0",), slack=3, max_map_count=MAX)
    b = Wd.trace_explorer("seed-W", kernels=("5.0",), slack=3, max_map_count=MAX)
    fig_b = b.last_figure
    a.controls["slack"].value = 7
    assert b.last_figure is fig_b and "3 free slots" in b.last_figure.get_suptitle()
    assert a.runner is not b.runner


def test_update_redraws() -> None:
    ex = Wd.trace_explorer("seed-S", kernels=("5.1",), slack=5, max_map_count=MAX)
    first = ex.last_figure
    assert ex.update() is ex.last_figure is not first
    assert "FALSE_POSITIVE" in _panels(ex.last_figure)[0].get_title()  # semantics §7.2: 5.1 at s = 5


def test_unknown_scenario_is_refused() -> None:
    with pytest.raises(KeyError):
        Wd.trace_explorer("nope")


# ---- layout_explorer -----------------------------------------------------------------------------------


def test_layout_explorer() -> None:
    ex = Wd.layout_explorer("seed-W", "5.0", 3, max_map_count=MAX)
    c = ex.controls
    assert isinstance(c["kernel"], W.ToggleButtons) and c["slack"].description == "free slots"
    fig = ex.last_figure
    assert "3 free slots" in fig.get_suptitle()
    assert "PARTIAL_FAIL" in fig.axes[1].get_title(loc="left")
    assert len(fig.axes[1].containers[0].patches) == 4
    c["kernel"].value = "5.1"
    assert "CLEAN_FAIL" in ex.last_figure.axes[1].get_title(loc="left")
    assert len(ex.last_figure.axes[1].containers[0].patches) == 2  # nothing changed
    c["slack"].value = 6
    assert "6 free slots" in ex.last_figure.get_suptitle()
    assert "OK" in ex.last_figure.axes[1].get_title(loc="left")
    c["scenario"].value = "k-whole-3"
    hatched = [b for b in ex.last_figure.axes[0].containers[0].patches if b.get_hatch()]
    assert len(hatched) == 3


# ---- outcome_map_explorer ------------------------------------------------------------------------------


def test_outcome_map_explorer() -> None:
    df = X.sweep(["seed-W", "seed-S", "mprotect-3way"], ["5.0", "5.1", "7.1"], slacks=range(0, 8), progress=False)
    ex = Wd.outcome_map_explorer(df)
    c = ex.controls
    assert isinstance(c["slack_range"], W.IntRangeSlider) and c["slack_range"].description == "free slots"
    assert c["slack_range"].continuous_update is False
    assert c["slack_range"].value == (0, 7)
    assert list(c["family"].options) == ["all", "seed", "mprotect"]
    ims = [ax.images[0] for ax in ex.last_figure.axes if ax.get_visible()]
    assert len(ims) == 3 and ims[0].get_array().shape == (3, 8)
    c["family"].value = "seed"
    ims = [ax.images[0] for ax in ex.last_figure.axes if ax.get_visible()]
    assert ims[0].get_array().shape == (2, 8)
    c["slack_range"].value = (3, 5)
    ims = [ax.images[0] for ax in ex.last_figure.axes if ax.get_visible()]
    assert ims[0].get_array().shape == (2, 3)
    assert "3–5 free slots" in ex.last_figure.get_suptitle()
    c["kernels"].value = ("7.1",)
    assert [ax.get_title() for ax in ex.last_figure.axes if ax.get_visible()] == ["kernel 7.1"]
    assert "6 cases" in ex.info.value
    c["kernels"].value = ()
    assert "Select at least one kernel" in ex.last_figure.texts[0].get_text()
    with pytest.raises(KeyError):
        Wd.outcome_map_explorer(df, family="nope")


def test_outcome_map_explorer_default_sweep() -> None:
    ex = Wd.outcome_map_explorer()
    assert len(ex.data) == ex.data["scenario"].nunique() * len(KERNELS) * 17
    assert len([ax for ax in ex.last_figure.axes if ax.get_visible()]) == len(KERNELS)
