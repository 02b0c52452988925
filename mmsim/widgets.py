"""Interactive explorers for Jupyter (ipywidgets), built on :mod:`mmsim.plots`.

Each factory returns a fresh container (an :class:`Explorer`, i.e. an ``ipywidgets.VBox``) and keeps no
global state. Its callback logic is a plain function you can call and test without a browser:

* :func:`trace_explorer` → :func:`render_trace` (map_count step by step, one panel per kernel);
* :func:`layout_explorer` → :func:`render_layout` (the VMAs before and after the call);
* :func:`outcome_map_explorer` → :func:`render_outcome_map` (outcome heatmaps of a sweep).

Every explorer has ``.controls`` (a dict of its widgets by name), ``.output`` (the Output the figure is
shown in), ``.last_figure`` (the Figure drawn by the latest update) and ``.update()`` (redraw now). Setting
a control's ``.value`` redraws at once, so ``ex.controls["slack"].value = 5`` followed by a look at
``ex.last_figure`` is how the tests drive them.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import ipywidgets as W
import pandas as pd
from matplotlib.figure import Figure

from .constants import DEFAULT_MAX_MAP_COUNT
from .experiments import Runner, sweep
from .plots import plot_layout, plot_outcome_map, plot_trace
from .profiles import KERNELS
from .scenarios import CATALOGUE, FAMILIES, Scenario, get

__all__ = [
    "Explorer",
    "layout_explorer",
    "message_figure",
    "outcome_map_explorer",
    "render_layout",
    "render_outcome_map",
    "render_trace",
    "trace_explorer",
]

_SLIDER_STYLE = {"description_width": "initial"}


def message_figure(text: str) -> Figure:
    """A small figure that only says ``text`` (shown instead of a plot when there is nothing to draw)."""
    fig = Figure(figsize=(6, 1.2))
    fig.text(0.5, 0.5, text, ha="center", va="center", fontsize=11, color="#555555", wrap=True)
    return fig


# ---- render functions (the callbacks' logic) -------------------------------------------------


def render_trace(
    scenario: Scenario | str,
    slack: int,
    kernels: Sequence[str] | str,
    max_map_count: int = DEFAULT_MAX_MAP_COUNT,
    *,
    runner: Runner | None = None,
) -> Figure:
    """:func:`mmsim.plots.plot_trace` of ``scenario`` with ``slack`` free slots, one panel per kernel.

    The title names the scenario, the free slots and max_map_count. With no kernel selected it returns a
    :func:`message_figure`.
    """
    sc = get(scenario)
    ks = [kernels] if isinstance(kernels, str) else [k for k in KERNELS if k in kernels] + [
        k for k in kernels if k not in KERNELS]
    if not ks:
        return message_figure("Select at least one kernel.")
    runner = runner or Runner()
    outs = {k: runner.run(sc, k, slack, max_map_count) for k in ks}
    return plot_trace(outs, title=f"{sc.name}: map_count at each step — {slack} free slots, "
                                  f"max_map_count {max_map_count}")


def render_layout(
    scenario: Scenario | str,
    kernel: str,
    slack: int,
    max_map_count: int = DEFAULT_MAX_MAP_COUNT,
    *,
    runner: Runner | None = None,
) -> Figure:
    """:func:`mmsim.plots.plot_layout` of ``scenario`` before and after its call under ``kernel``."""
    sc = get(scenario)
    runner = runner or Runner()
    outcome, before, after = runner.before_after(sc, kernel, slack, max_map_count)
    old, new = sc.ranges()
    return plot_layout(before, after, old_range=old, new_range=new, window=sc.window, outcome=outcome,
                       title=f"{sc.name} on kernel {kernel} with {slack} free slots: {sc.call(compact=True)}")


def render_outcome_map(
    df: pd.DataFrame,
    slack_range: tuple[int, int] | None = None,
    family: str = "all",
    kernels: Sequence[str] | None = None,
) -> Figure:
    """:func:`mmsim.plots.plot_outcome_map` of the rows of ``df`` with ``slack_range[0] <= slack <=
    slack_range[1]`` and the given family (``"all"`` = every family)."""
    sub = df
    if slack_range is not None:
        lo, hi = slack_range
        sub = sub[(sub["slack"] >= lo) & (sub["slack"] <= hi)]
    if family != "all":
        sub = sub[sub["family"] == family]
    if kernels is not None:
        sub = sub[sub["kernel"].isin(list(kernels))]
    if sub.empty:
        return message_figure("No cases match: widen the free-slot range or pick another family or kernel.")
    span = f"{sub['slack'].min()}–{sub['slack'].max()} free slots"
    fam = "all families" if family == "all" else f"family {family}"
    return plot_outcome_map(sub, kernels=kernels, title=f"Outcome by scenario and free slots ({fam}, {span})")


# ---- the container -------------------------------------------------------------------------------


class Explorer(W.VBox):
    """A VBox with its controls, its Output and the last figure it drew (see the module docstring)."""

    def __init__(self, controls: dict[str, W.Widget], render: Callable[..., Figure],
                 header: W.Widget | None = None, describe: Callable[..., str] | None = None,
                 rows: Iterable[Iterable[str]] | None = None, runner: Runner | None = None) -> None:
        self.controls = controls
        self.last_figure: Figure | None = None
        self.last_error: str | None = None
        self.runner = runner
        self._render = render
        self._describe = describe
        self.info = W.HTML()
        rows = rows or [list(controls)]
        boxes = [W.HBox([controls[n] for n in row]) for row in rows]
        self.output = W.interactive_output(self._callback, controls)
        super().__init__(([header] if header is not None else []) + boxes + [self.info, self.output])

    def _callback(self, **values: Any) -> None:
        from IPython.display import display

        try:
            fig = self._render(**values)
            self.last_error = None
        except (ValueError, KeyError) as e:  # e.g. a slack the layout cannot have under a small max_map_count
            self.last_error = str(e)
            fig = message_figure(str(e))
        if self._describe is not None:
            self.info.value = self._describe(**values)
        self.last_figure = fig
        display(fig)

    def update(self) -> Figure:
        """Redraw with the current values (without the Output) and return the figure."""
        values = {k: w.value for k, w in self.controls.items()}
        self._callback(**values)
        return self.last_figure  # type: ignore[return-value]


def _scenario_dropdown(value: str, scenarios: Iterable[Scenario | str] | None) -> W.Dropdown:
    scs = [get(s) for s in scenarios] if scenarios is not None else list(CATALOGUE.values())
    options = [(f"{s.name} ({s.family})", s.name) for s in scs]
    names = [s.name for s in scs]
    if value not in names:
        raise KeyError(f"scenario {value!r} is not among the choices {', '.join(names)}")
    return W.Dropdown(options=options, value=value, description="scenario", style=_SLIDER_STYLE,
                      layout=W.Layout(width="340px"))


def _slack_slider(value: int) -> W.IntSlider:
    return W.IntSlider(value=value, min=-1, max=16, step=1, description="free slots", continuous_update=False,
                       style=_SLIDER_STYLE, tooltip="max_map_count − map_count before the call")


def _max_box(value: int) -> W.BoundedIntText:
    return W.BoundedIntText(value=value, min=32, max=10_000_000, step=1, description="max_map_count",
                            style=_SLIDER_STYLE, layout=W.Layout(width="220px"))


def _describe_scenario(scenario: str, **_: Any) -> str:
    sc = get(scenario)
    return (f"<b>{html.escape(sc.name)}</b>: {html.escape(sc.description)}<br>"
            f"<code>{html.escape(sc.call())}</code>")


# ---- factories -----------------------------------------------------------------------------------


def trace_explorer(
    scenario: str = "seed-W",
    kernels: Sequence[str] = ("5.0", "5.1", "7.1", "ideal"),
    slack: int = 3,
    max_map_count: int = DEFAULT_MAX_MAP_COUNT,
    *,
    scenarios: Iterable[Scenario | str] | None = None,
) -> Explorer:
    """Pick a scenario, the free slots and kernels; see map_count step by step (:func:`render_trace`).

    Controls: ``scenario`` (Dropdown), ``slack`` (IntSlider "free slots"), ``max_map_count``
    (BoundedIntText), ``kernels`` (SelectMultiple).
    """
    runner = Runner()
    controls: dict[str, W.Widget] = {
        "scenario": _scenario_dropdown(scenario, scenarios),
        "slack": _slack_slider(slack),
        "max_map_count": _max_box(max_map_count),
        "kernels": W.SelectMultiple(options=list(KERNELS), value=tuple(kernels), rows=len(KERNELS),
                                    description="kernels", style=_SLIDER_STYLE),
    }

    def render(scenario: str, slack: int, max_map_count: int, kernels: Sequence[str]) -> Figure:
        return render_trace(scenario, slack, kernels, max_map_count, runner=runner)

    return Explorer(controls, render, describe=_describe_scenario,
                    rows=[["scenario", "slack", "max_map_count"], ["kernels"]], runner=runner)


def layout_explorer(
    scenario: str = "seed-W",
    kernel: str = "5.0",
    slack: int = 3,
    max_map_count: int = DEFAULT_MAX_MAP_COUNT,
    *,
    scenarios: Iterable[Scenario | str] | None = None,
) -> Explorer:
    """Pick a scenario, a kernel and the free slots; see the VMAs before and after the call
    (:func:`render_layout`). Controls: ``scenario``, ``kernel`` (ToggleButtons), ``slack``, ``max_map_count``.
    """
    runner = Runner()
    controls: dict[str, W.Widget] = {
        "scenario": _scenario_dropdown(scenario, scenarios),
        "kernel": W.ToggleButtons(options=list(KERNELS), value=kernel, description="kernel", style=_SLIDER_STYLE),
        "slack": _slack_slider(slack),
        "max_map_count": _max_box(max_map_count),
    }

    def render(scenario: str, kernel: str, slack: int, max_map_count: int) -> Figure:
        return render_layout(scenario, kernel, slack, max_map_count, runner=runner)

    return Explorer(controls, render, describe=_describe_scenario,
                    rows=[["scenario", "slack", "max_map_count"], ["kernel"]], runner=runner)


def outcome_map_explorer(
    df: pd.DataFrame | None = None,
    *,
    scenarios: Iterable[Scenario | str] | None = None,
    slack_range: tuple[int, int] | None = None,
    family: str = "all",
) -> Explorer:
    """Outcome heatmaps of a sweep, filtered by a free-slot range and a scenario family
    (:func:`render_outcome_map`). ``df`` defaults to :func:`mmsim.experiments.sweep` of ``scenarios``
    (the catalogue). Controls: ``slack_range`` (IntRangeSlider "free slots"), ``family`` (Dropdown),
    ``kernels`` (SelectMultiple).
    """
    if df is None:
        df = sweep(scenarios, progress=False)
    lo, hi = int(df["slack"].min()), int(df["slack"].max())
    present = list(dict.fromkeys(df["family"]))
    fams = ["all"] + [f for f in FAMILIES if f in present] + [f for f in present if f not in FAMILIES]
    if family not in fams:
        raise KeyError(f"family {family!r} is not in the frame; choose one of {', '.join(fams)}")
    ks = [k for k in KERNELS if k in set(df["kernel"])]
    controls: dict[str, W.Widget] = {
        "slack_range": W.IntRangeSlider(value=slack_range or (lo, hi), min=lo, max=hi, step=1,
                                        description="free slots", continuous_update=False, style=_SLIDER_STYLE),
        "family": W.Dropdown(options=fams, value=family, description="family", style=_SLIDER_STYLE),
        "kernels": W.SelectMultiple(options=ks, value=tuple(ks), rows=len(ks), description="kernels",
                                    style=_SLIDER_STYLE),
    }

    def render(slack_range: tuple[int, int], family: str, kernels: Sequence[str]) -> Figure:
        if not kernels:
            return message_figure("Select at least one kernel.")
        lo, hi = slack_range
        return render_outcome_map(df, (lo, hi), family, list(kernels))

    def describe(slack_range: tuple[int, int], family: str, kernels: Sequence[str]) -> str:
        n = len(df[(df["slack"] >= slack_range[0]) & (df["slack"] <= slack_range[1])
                   & ((df["family"] == family) if family != "all" else True)
                   & df["kernel"].isin(list(kernels))])
        return f"{n} cases (free slots = max_map_count − map_count before the call)"

    ex = Explorer(controls, render, describe=describe, rows=[["slack_range", "family"], ["kernels"]])
    ex.data = df
    return ex
