"""Interactive explorers for Jupyter (ipywidgets) whose knob is ``vm.max_map_count`` itself.

The one job of this module: let a learner move the sysctl and see, within 100 ms, what each kernel does. What
an explorer shows is computed in :mod:`mmsim.views` (re-exported here: :func:`trace_view`, :class:`View`, ...);
this module wires it to controls.

**The knob.** Every scenario lives in a *process* that already holds ``map_count`` VMAs (default
:data:`PROCESS_MAP_COUNT` = 65,527). The slider sets ``max_map_count`` in absolute units, over a range around
that count (:func:`default_limits`). Only the sysctl moves: the process is built once (:meth:`mmsim.experiments.
Runner.process`) and each slider value just sets its ``max_map_count``, as writing the sysctl would.

**The explorers** (each a fresh :class:`Explorer`, an ``ipywidgets.VBox``: the controls, the chart right under
them, then the readout, one line per kernel with the details collapsed):

* :func:`trace_explorer` → :func:`trace_view`: map_count at each step of one call, per kernel, against the
  limit line; the failing step marked; each panel's x axis fixed over the slider's range.
* :func:`failure_point_explorer` → :func:`failure_point_view`: x = max_map_count, per kernel the step at which
  the call stops (or "completed").
* :func:`outcome_map_explorer` → :func:`outcome_map_view`: scenario × max_map_count outcome maps and the
  false-positive rate per kernel as the limit moves.
* :func:`layout_explorer` → :func:`layout_view`: the VMAs before and after the call.
* :func:`live_explorer`: the model at the chosen limit on every move; the host kernel only when its button is
  pressed (:func:`mmsim.live.compare` at the same free slots).
* :func:`revert_explorer`: the 2019 bug on real kernels (recorded runs where they cannot boot).

Kernels are chosen with toggle buttons everywhere (:class:`KernelPicker` for several, ``ToggleButtons`` for one);
sliders print thousands separators (65,530).

**Speed.** An update computes the view and sends its SVG string to an ``ipywidgets.HTML``; the browser draws it,
so an update costs a few milliseconds in the kernel instead of a PNG render (0.2-1.5 s).

**No Output widget.** Explorers draw into ``ipywidgets.HTML`` (and ``ipywidgets.Image`` for a render function
that returns a Figure), never into an ``ipywidgets.Output``. nbclient (nbval's and the website's executor)
emulates an Output widget by sending comm messages to the kernel on the shell channel while it waits on that
same socket for the cell's reply; now and then the send swallows the socket's wake-up and the cell "hangs"
until the per-cell timeout (300 s on the website), then goes on. Without Output widgets nbclient never sends.
For static renderings (nbval, the website, GitHub) an explorer's display bundle carries its chart and readout
as HTML (:meth:`Explorer.static_html`) and a PNG of its figure next to the widget view.

**Test hooks.** ``.controls`` (widgets by name), ``.last_view`` / ``.last_svg`` (what the browser shows),
``.last_figure`` (the matplotlib figure of the latest update, built when first read), ``.update()`` (redraw
now, return the figure). Setting a control's ``.value`` redraws at once::

    ex = trace_explorer("seed-W")
    ex.controls["max_map_count"].value = 65_533
    ex.last_view.facts["outcomes"]["5.0"].kind   # 'OK'
"""

from __future__ import annotations

import base64
import html
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import ipywidgets as W
import pandas as pd
import traitlets
from matplotlib.figure import Figure

from .constants import DEFAULT_MAX_MAP_COUNT
from .deprecation import renamed_arguments
from .experiments import Runner
from .plots import figure_alt, figure_png
from .profiles import KERNELS
from .scenarios import CATALOGUE, FAMILIES, Scenario, get
from .svg import num
from .svg import slots as slots_text
from .views import (
    DEFAULT_KERNELS,
    LIMIT_SPAN,
    PROCESS_MAP_COUNT,
    StopPoint,
    View,
    check_note,
    checks_evaluated,
    default_limits,
    failure_point_view,
    failure_points,
    kernel_order,
    layout_view,
    message_figure,
    outcome_html,
    outcome_map_view,
    process_limits,
    render_failure_points,
    render_layout,
    render_outcome_map,
    render_trace,
    sweep_limits,
    trace_steps,
    trace_view,
)

__all__ = [
    "DEFAULT_KERNELS",
    "Explorer",
    "KernelPicker",
    "LIMIT_SPAN",
    "PROCESS_MAP_COUNT",
    "StopPoint",
    "View",
    "check_note",
    "checks_evaluated",
    "default_limits",
    "failure_point_explorer",
    "failure_point_view",
    "failure_points",
    "layout_explorer",
    "layout_view",
    "live_explorer",
    "message_figure",
    "outcome_map_explorer",
    "outcome_map_view",
    "render_failure_points",
    "render_layout",
    "render_outcome_map",
    "revert_explorer",
    "render_trace",
    "sweep_limits",
    "trace_explorer",
    "trace_steps",
    "trace_view",
]

_STYLE = {"description_width": "initial"}


# ---- the container -------------------------------------------------------------------------------------


class KernelPicker(W.HBox):
    """Kernels to compare, as a row of toggle buttons (the same look as the one-kernel ``ToggleButtons``);
    ``value`` is the tuple of those pressed, in :data:`mmsim.KERNELS` order, and can be set.

    >>> p = KernelPicker(["5.0", "5.1", "6.18"], ("5.1",)); p.value = ("6.18", "5.0"); p.value
    ('5.0', '6.18')
    >>> [b.value for b in p.buttons]
    [True, False, True]
    """

    value = traitlets.Tuple()

    def __init__(self, options: Sequence[str], value: Sequence[str] = (), description: str = "kernels") -> None:
        self.options = tuple(options)
        self.description = description
        self.buttons = [W.ToggleButton(value=k in value, description=k, tooltip=f"show kernel {k}",
                                       layout=W.Layout(width="auto")) for k in self.options]
        label = W.Label(description, layout=W.Layout(margin="0 6px 0 0"))
        super().__init__([label, *self.buttons], layout=W.Layout(flex_flow="row wrap", align_items="center"))
        self.value = tuple(k for k in self.options if k in value)
        for b in self.buttons:
            b.observe(self._pressed, names="value")

    def _pressed(self, _change: Any) -> None:
        self.value = tuple(k for k, b in zip(self.options, self.buttons, strict=True) if b.value)

    @traitlets.observe("value")
    def _set(self, change: Any) -> None:
        chosen = set(change["new"])
        unknown = chosen - set(self.options)
        if unknown:
            raise traitlets.TraitError(f"unknown kernel(s) {', '.join(sorted(unknown))}")
        ordered = tuple(k for k in self.options if k in chosen)
        if ordered != change["new"]:
            self.value = ordered  # observers see the ordered tuple next
            return
        for k, b in zip(self.options, self.buttons, strict=True):
            if b.value != (k in chosen):
                b.value = k in chosen


class Explorer(W.VBox):
    """A VBox with its controls, the chart the latest update drew right under them, the readout under the
    chart, and test hooks.

    ``render(**values)`` gets the controls' values and returns a :class:`View` (its SVG goes to an
    ``ipywidgets.HTML``, its readout to ``.info``) or a matplotlib Figure (shown as a PNG in an
    ``ipywidgets.Image``; ``describe(**values)`` then fills the readout). A ValueError or KeyError becomes a
    message and ``.last_error``. No ``ipywidgets.Output`` is used (see the module docstring).
    :meth:`static_html` is what a rendering without a widget manager shows: the chart and the readout.
    """

    def __init__(self, controls: dict[str, W.Widget], render: Callable[..., View | Figure],
                 header: W.Widget | None = None, describe: Callable[..., str] | None = None,
                 rows: Iterable[Iterable[str]] | None = None, runner: Runner | None = None) -> None:
        self.controls = controls
        self.runner = runner
        self.last_error: str | None = None
        self.last_view: View | None = None
        self._last_figure: Figure | None = None
        self._render = render
        self._describe = describe
        self.data: Any = None  # the frame an outcome-map explorer draws from
        self.map_count: int | None = None  # the scenario's map count at the start of that frame's calls
        self.last_live: Any = None  # a live explorer's latest Comparison
        self.run_live: Callable[[], Any] | None = None  # a live explorer's "run on the kernel" action
        self.info = W.HTML()
        self.plot = W.HTML(layout=W.Layout(overflow="auto"))
        self.image = W.Image(format="png", layout=W.Layout(display="none"))
        self.output = self.plot  # where the chart is shown (the name earlier versions used)
        rows = rows or [list(controls)]
        boxes = [W.HBox([controls[n] for n in row]) for row in rows]
        super().__init__(([header] if header is not None else []) + boxes + [self.plot, self.image, self.info])
        for w in controls.values():
            w.observe(self._on_change, names="value")
        self._redraw()

    @property
    def values(self) -> dict[str, Any]:
        """The controls' current values by name."""
        return {k: w.value for k, w in self.controls.items()}

    def _on_change(self, _change: Any) -> None:
        self._redraw()

    def _redraw(self) -> None:
        values = self.values
        try:
            result = self._render(**values)
            self.last_error = None
        except (ValueError, KeyError) as e:  # e.g. a limit the process cannot have
            self.last_error = str(e.args[0]) if e.args else str(e)
            result = View.message(self.last_error)
        if isinstance(result, Figure):
            self.last_view, self._last_figure = None, result
            self.image.value = figure_png(result)
            self.image.layout.display = None
            self.plot.layout.display = "none"
            if self._describe is not None:
                self.info.value = self._describe(**values)
            return
        self.last_view, self._last_figure = result, None
        self.plot.value = result.svg
        self.plot.layout.display = None
        self.image.layout.display = "none"
        self.info.value = self._describe(**values) if self._describe is not None else result.readout

    @property
    def last_svg(self) -> str | None:
        """The SVG the latest update sent to the browser (None for a Figure-drawing explorer)."""
        return self.last_view.svg if self.last_view is not None else None

    @property
    def last_figure(self) -> Figure:
        """The matplotlib figure of the latest update (built when first read)."""
        if self._last_figure is None:
            assert self.last_view is not None
            self._last_figure = self.last_view.figure()
        return self._last_figure

    def update(self) -> Figure:
        """Redraw with the current values and return the figure."""
        self._redraw()
        return self.last_figure

    def static_html(self) -> str:
        """The chart and its readout as one HTML block: the view's SVG (which names itself for screen readers),
        or, for a Figure-drawing explorer, its PNG with a text alternative (:func:`mmsim.plots.figure_alt`)."""
        if self.last_view is not None:
            return self.last_view.html()
        png = base64.b64encode(bytes(self.image.value) or figure_png(self.last_figure)).decode()
        alt = html.escape(figure_alt(self.last_figure))
        return (f'<div class="mmsim-static"><img class="mmsim-figure" alt="{alt}" style="max-width:100%" '
                f'src="data:image/png;base64,{png}"><div>{self.info.value}</div></div>')

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        """The widget view plus, for renderings without a widget manager (nbval, the website, GitHub), the chart
        with its readout (``text/html``, :meth:`static_html`, for an SVG-drawing explorer) and a PNG of the
        current figure (its text alternative in the PNG's Description); Jupyter front ends show the widget."""
        bundle = super()._repr_mimebundle_(**kwargs)
        if isinstance(bundle, dict):
            try:
                png = (bytes(self.image.value) if self.last_view is None and self.image.value
                       else figure_png(self.last_figure))
                bundle = {**bundle, "image/png": png}
                if self.last_view is not None:  # an SVG chart; a Figure explorer's PNG stays a file of its own
                    bundle["text/html"] = self.static_html()
            except Exception:  # noqa: BLE001 - a static image is a bonus; the widget must display regardless
                pass
        return bundle


# ---- controls ------------------------------------------------------------------------------------------


def _scenario_dropdown(value: str, scenarios: Iterable[Scenario | str] | None) -> W.Dropdown:
    scs = [get(s) for s in scenarios] if scenarios is not None else list(CATALOGUE.values())
    options = [(f"{s.name} ({s.family})", s.name) for s in scs]
    names = [s.name for s in scs]
    if value not in names:
        raise KeyError(f"scenario {value!r} is not among the choices {', '.join(names)}")
    return W.Dropdown(options=options, value=value, description="scenario", style=_STYLE,
                      layout=W.Layout(width="340px"))


def _limit_slider(value: int, map_count: int, limits: tuple[int, int] | None) -> W.IntSlider:
    lo, hi = limits or default_limits(map_count)
    lo, hi = min(lo, value), max(hi, value)
    return W.IntSlider(value=value, min=lo, max=hi, step=1, description="max_map_count", continuous_update=False,
                       style=_STYLE, layout=W.Layout(width="460px"), readout_format=",d",
                       tooltip=f"vm.max_map_count; the process holds {map_count:,} VMAs")


def _kernel_select(value: Sequence[str], options: Sequence[str] = KERNELS) -> KernelPicker:
    ks = tuple(kernel_order(value))
    for k in ks:
        if k not in options:
            raise KeyError(f"unknown kernel {k!r}; choose from {', '.join(options)}")
    return KernelPicker(list(options), ks)


def _initial(max_map_count: int | None, map_count: int | None, free_slots: int | None) -> tuple[int, int]:
    return process_limits(max_map_count, map_count, free_slots)


# ---- factories -----------------------------------------------------------------------------------------


@renamed_arguments(slack="free_slots")
def trace_explorer(
    scenario: str = "seed-W",
    kernels: Sequence[str] = DEFAULT_KERNELS,
    max_map_count: int | None = None,
    *,
    map_count: int | None = None,
    free_slots: int | None = None,
    limits: tuple[int, int] | None = None,
    scenarios: Iterable[Scenario | str] | None = None,
) -> Explorer:
    """Pick a scenario, the sysctl and kernels; see map_count step by step (:func:`trace_view`).

    Controls: ``scenario`` (Dropdown), ``max_map_count`` (IntSlider over ``limits``, default
    :func:`default_limits`), ``kernels`` (a row of toggle buttons, :class:`KernelPicker`, of every profile).
    ``max_map_count`` defaults to 65,530; ``free_slots=n`` instead starts the slider n above ``map_count``. Each
    panel's x axis holds every step of the slider's range (steps not reached are greyed), so the chart keeps
    its size as the slider moves.
    """
    mx, mc = _initial(max_map_count, map_count, free_slots)
    runner = Runner()
    controls: dict[str, W.Widget] = {
        "scenario": _scenario_dropdown(scenario, scenarios),
        "max_map_count": _limit_slider(mx, mc, limits),
        "kernels": _kernel_select(kernels),
    }
    slider = controls["max_map_count"]

    def render(scenario: str, max_map_count: int, kernels: Sequence[str]) -> View:
        return trace_view(scenario, kernels, max_map_count, map_count=mc, runner=runner,
                          limits=(slider.min, slider.max))

    return Explorer(controls, render, rows=[["scenario", "max_map_count"], ["kernels"]], runner=runner)


def revert_explorer(scenario: str = "seed-W", free_slots: int = 3, *, result: Any = None) -> Explorer:
    """The 2019 bug on a real kernel: a slider over free slots, and the call on 5.10 built with ea2c3f6f5545
    reverted next to the control (:func:`mmsim.live.revert.bug_on_real_kernels`): errno, map_count change and
    the arena's ``/proc/PID/maps`` lines before and after, under the model's trace of the same call on each
    kernel's profile.

    Both kernels boot once, for every free-slot count, when the explorer is made (a few seconds under qemu);
    the slider then only shows. Where they cannot run, the recorded result is shown and says so. ``result``
    replaces the run (tests).
    """
    from .live import revert

    result = result if result is not None else revert.bug_on_real_kernels(scenario)
    slots = result.free_slots
    controls: dict[str, W.Widget] = {
        "free_slots": W.IntSlider(value=free_slots, min=min(slots), max=max(slots), step=1, description="free slots",
                                  continuous_update=False, style=_STYLE),
    }

    profiles = list(dict.fromkeys(result.profiles[k] for k in result.kernels))  # the model of each kernel
    runner = Runner()

    def render(free_slots: int) -> View:
        r = result.at(result.kernels[0], free_slots)
        # the model's trace of the same call on each kernel's profile, over the real run's maps and readout
        model = trace_view(result.scenario, profiles, result.max_map_count, free_slots=free_slots, runner=runner,
                           limits=(result.max_map_count - max(slots), result.max_map_count - min(slots)))
        return View(model.svg,
                    f"{slots_text(free_slots)}: {result.kernels[0]} {r.errno_name} {r.delta:+d}"
                    + revert.html_view(result, free_slots),
                    facts={"result": result, "free_slots": free_slots, "model": model.facts},
                    make_figure=model.make_figure, alt=model.alt)

    ex = Explorer(controls, render)
    ex.data = result
    return ex


@renamed_arguments(slack="free_slots")
def failure_point_explorer(
    scenario: str = "seed-W",
    kernels: Sequence[str] = DEFAULT_KERNELS,
    max_map_count: int | None = None,
    *,
    map_count: int | None = None,
    free_slots: int | None = None,
    limits: tuple[int, int] | None = None,
    scenarios: Iterable[Scenario | str] | None = None,
) -> Explorer:
    """Pick a scenario and kernels; see, for every max_map_count of the slider's range, the step at which the
    call stops (:func:`failure_point_view`); the slider picks the limit the readout explains.

    Controls: ``scenario``, ``max_map_count`` (IntSlider), ``kernels``.
    """
    mx, mc = _initial(max_map_count, map_count, free_slots)
    lo, hi = limits or default_limits(mc)
    runner = Runner(maxsize=len(KERNELS) + 2)
    controls: dict[str, W.Widget] = {
        "scenario": _scenario_dropdown(scenario, scenarios),
        "max_map_count": _limit_slider(mx, mc, (lo, hi)),
        "kernels": _kernel_select(kernels),
    }
    slider = controls["max_map_count"]

    def render(scenario: str, max_map_count: int, kernels: Sequence[str]) -> View:
        return failure_point_view(scenario, kernels, max_map_count, map_count=mc, limits=(slider.min, slider.max),
                                  runner=runner)

    return Explorer(controls, render, rows=[["scenario", "max_map_count"], ["kernels"]], runner=runner)


@renamed_arguments(slack="free_slots")
def layout_explorer(
    scenario: str = "seed-W",
    kernel: str = "5.0",
    max_map_count: int | None = None,
    *,
    map_count: int | None = None,
    free_slots: int | None = None,
    limits: tuple[int, int] | None = None,
    scenarios: Iterable[Scenario | str] | None = None,
) -> Explorer:
    """Pick a scenario, a kernel and the sysctl; see the VMAs before and after the call (:func:`layout_view`).

    Controls: ``scenario``, ``kernel`` (ToggleButtons of every profile), ``max_map_count`` (IntSlider).
    """
    mx, mc = _initial(max_map_count, map_count, free_slots)
    runner = Runner()
    controls: dict[str, W.Widget] = {
        "scenario": _scenario_dropdown(scenario, scenarios),
        "kernel": W.ToggleButtons(options=list(KERNELS), value=kernel, description="kernel", style=_STYLE),
        "max_map_count": _limit_slider(mx, mc, limits),
    }

    def render(scenario: str, kernel: str, max_map_count: int) -> View:
        return layout_view(scenario, kernel, max_map_count, map_count=mc, runner=runner)

    return Explorer(controls, render, rows=[["scenario", "max_map_count"], ["kernel"]], runner=runner)


def outcome_map_explorer(
    df: pd.DataFrame | None = None,
    *,
    scenarios: Iterable[Scenario | str] | None = None,
    kernels: Sequence[str] = DEFAULT_KERNELS,
    max_map_count: int | None = None,
    map_count: int | None = None,
    limits: tuple[int, int] | None = None,
    family: str = "all",
) -> Explorer:
    """Outcome maps over scenario × max_map_count with the false-positive rate per kernel
    (:func:`outcome_map_view`). ``df`` defaults to :func:`sweep_limits` of ``scenarios`` (the catalogue) under
    every profile, computed once (about 0.2 s); the slider only moves the marked limit.

    Controls: ``max_map_count`` (IntSlider over the frame's limits), ``family`` (Dropdown), ``kernels``
    (toggle buttons of the frame's kernels; ``kernels`` picks the initial selection).
    """
    if df is None:
        mc0 = PROCESS_MAP_COUNT if map_count is None else map_count
        df = sweep_limits(scenarios, KERNELS, limits, mc0)
    if "max_map_count" not in df or df["mc_before"].nunique() != 1:
        raise ValueError("outcome_map_explorer needs a sweep_limits() frame (one process, many limits)")
    mc = int(df["mc_before"].iloc[0])
    lo, hi = int(df["max_map_count"].min()), int(df["max_map_count"].max())
    mx = DEFAULT_MAX_MAP_COUNT if max_map_count is None else max_map_count
    mx = min(max(mx, lo), hi)
    present = list(dict.fromkeys(df["family"]))
    fams = ["all"] + [f for f in FAMILIES if f in present] + [f for f in present if f not in FAMILIES]
    if family not in fams:
        raise KeyError(f"family {family!r} is not in the frame; choose one of {', '.join(fams)}")
    ks = [k for k in KERNELS if k in set(df["kernel"])]
    chosen = tuple(k for k in kernel_order(kernels) if k in ks) or tuple(ks)
    controls: dict[str, W.Widget] = {
        "max_map_count": W.IntSlider(value=mx, min=lo, max=hi, step=1, description="max_map_count",
                                     continuous_update=False, style=_STYLE, layout=W.Layout(width="460px"),
                                     readout_format=",d"),
        "family": W.Dropdown(options=fams, value=family, description="family", style=_STYLE),
        "kernels": _kernel_select(chosen, ks),
    }

    def render(max_map_count: int, family: str, kernels: Sequence[str]) -> View:
        return outcome_map_view(df, max_map_count, family, list(kernels))

    ex = Explorer(controls, render, rows=[["max_map_count", "family"], ["kernels"]])
    ex.data = df
    ex.map_count = mc
    return ex


def live_explorer(
    scenario: str = "seed-W",
    kernel: str | None = None,
    max_map_count: int | None = None,
    *,
    map_count: int | None = None,
    limits: tuple[int, int] | None = None,
    scenarios: Iterable[Scenario | str] | None = None,
    target: str | None = None,
    guest: str | None = None,
    compare: Callable[..., Any] | None = None,
    info: Any = None,
) -> Explorer:
    """The model at the chosen limit on every slider move; a real kernel only on a button press.

    The slider moves the model's ``max_map_count`` as in :func:`trace_explorer`. **Run** replays the scenario
    live with :func:`mmsim.live.compare` at the same free slots (``max_map_count - map_count``): the child
    process never writes this machine's sysctl, it brings its own map_count to (its kernel's
    vm.max_map_count − free slots). ``target`` is where: ``"host"`` (this machine's kernel), or a guest
    (``"qemu"``, ``"auto"``) booting ``guest`` (default Linux 6.1); None picks the host where mmsim models it
    exactly, else ``"auto"``. ``kernel`` is the model profile (default: the one
    :func:`mmsim.release_coverage` names for the target's kernel). The result is shown with the limit it
    ran at; ``ex.last_live`` holds the :class:`~mmsim.live.Comparison`. ``compare`` and ``info`` replace
    :func:`mmsim.live.compare` and :func:`mmsim.live.kernel_info` (tests).
    """
    from . import live

    if target is None:
        target = "host" if info is not None or live.kernel_info().supported else "auto"
    info = info if info is not None else live.kernel_info(target=target, kernel=guest)
    compare = compare or live.compare
    kernel = kernel or info.profile
    if kernel is None:
        raise ValueError(f"no mmsim profile models Linux {info.release} ({info.reason}): pass kernel=")
    where = "this kernel" if info.target == "host" else f"Linux {info.kernel or info.release} ({info.target})"
    mx, mc = _initial(max_map_count, map_count, None)
    lo, hi = limits or default_limits(mc)
    runner = Runner()
    controls: dict[str, W.Widget] = {
        "scenario": _scenario_dropdown(scenario, scenarios),
        "max_map_count": _limit_slider(mx, mc, (max(lo, mc - 1), hi)),  # live runs need >= -1 free slots
    }

    def render(scenario: str, max_map_count: int) -> View:
        return trace_view(scenario, [kernel], max_map_count, map_count=mc, runner=runner)

    ex = Explorer(controls, render, rows=[["scenario", "max_map_count"]], runner=runner)
    button = W.Button(description=f"Run on {where}", button_style="warning", icon="play",
                      disabled=not info.can_run, tooltip="replays the scenario in a child process (a moment)")
    result = W.HTML(value="" if info.can_run else
                    f"<i>Live runs are not possible here: {html.escape(str(info.reason))}</i>")
    ex.last_live = None
    ex.live_button, ex.live_result = button, result

    def run_live(_b: Any = None) -> None:
        sc = get(controls["scenario"].value)
        limit = controls["max_map_count"].value
        free = limit - mc
        ops = sc.live_ops()
        button.disabled = True
        result.value = f"<i>running {html.escape(sc.name)} on {html.escape(where)} at {slots_text(free)}…</i>"
        try:
            c = compare(ops, kernel, arena_pages=sc.arena_pages, free_slots_before={len(ops) - 1: free},
                        **({} if info.target == "host" else {"target": info.target, "kernel": info.kernel}))
        except Exception as e:  # noqa: BLE001 - a failed live run is reported, never raised into the front end
            result.value = f"<b>live run failed:</b> {html.escape(str(e))}"
            return
        finally:
            button.disabled = not info.can_run
        ex.last_live = c
        row = c.rows[-1]
        model = runner.at_limit(sc, kernel, limit, mc, trace=False)
        table = c.to_dataframe()[["op", "live_errno", "model_errno", "live_delta", "model_delta", "match"]]
        result.value = (
            f'<div class="mmsim-live" data-max-map-count="{limit}"><b>{html.escape(sc.name)} on '
            f"{html.escape(where)} at {slots_text(free)}</b> (as under max_map_count {num(limit)} with "
            f"{num(mc)} VMAs): kernel "
            f"<b>{html.escape(live.errno_name(row.live_errno))}</b> {row.live_delta:+d}, model ({html.escape(kernel)}) "
            f"<b>{html.escape(live.errno_name(row.model_errno))}</b> {row.model_delta:+d} — the model classifies it "
            f"{outcome_html(model)}; {'MISMATCH: ' if c.mismatched else ''}{html.escape(c.verdict)}"
            f"{table.to_html(index=False, border=0)}</div>")

    button.on_click(run_live)
    ex.run_live = run_live
    ex.children = (*ex.children, W.HBox([button]), result)
    return ex
