"""Interactive explorers for Jupyter (ipywidgets) whose knob is ``vm.max_map_count`` itself.

The one job of this module: let a learner move the sysctl and see, within 100 ms, what each kernel does.

**The knob.** Every scenario lives in a *process* that already holds ``map_count`` VMAs (default
:data:`PROCESS_MAP_COUNT` = 65,527: the scenario's own VMAs plus filler, like a JVM or a search engine close
to the default limit). The slider sets ``max_map_count`` in absolute units, over a range around that count
(:func:`default_limits`: from ``map_count - 1`` to ``map_count + 10``, so the default sysctl 65,530 sits inside
it, 3 above the count). Only the sysctl moves: the process is built once (:meth:`mmsim.experiments.Runner.
process`) and each slider value just sets its ``max_map_count``, as writing the sysctl would. Free slots
(``max_map_count - map_count``) are derived and shown as a second axis and in the readouts, never set. Every
readout names the check that fired and the free slots it needs, read from :data:`mmsim.checks.CHECKS`.

**The explorers** (each a fresh :class:`Explorer`, an ``ipywidgets.VBox``, with a ``max_map_count`` slider):

* :func:`trace_explorer` → :func:`trace_view` / :func:`render_trace`: map_count at each step of one call,
  per kernel, against the limit line; the failing step marked.
* :func:`failure_point_explorer` → :func:`failure_point_view` / :func:`render_failure_points`: x = max_map_count,
  per kernel the step at which the call stops (or "completed"): 5.0 fails late, 5.1 early.
* :func:`outcome_map_explorer` → :func:`outcome_map_view` / :func:`render_outcome_map`: scenario × max_map_count
  outcome maps with false positives marked, and the false-positive rate per kernel as the limit moves.
* :func:`layout_explorer` → :func:`layout_view` / :func:`render_layout`: the VMAs before and after the call.
* :func:`live_explorer`: the model at the chosen limit on every move; the host kernel only when its button is
  pressed (:func:`mmsim.live.compare` at the same free slots).

**Speed.** A ``*_view`` function computes the case (cached outcomes: :meth:`Runner.at_limit`; sweeps on the
trace-less path) and returns a :class:`View`: an SVG string (:mod:`mmsim.svg`) that an ``ipywidgets.HTML``
shows, the readout, and the matplotlib figure *on demand*. The browser draws the SVG, so an update costs a few
milliseconds in the kernel instead of a PNG render (0.2-1.5 s). The ``render_*`` functions return the
matplotlib :class:`~matplotlib.figure.Figure` of the same view (for notebooks, the website and tests).

**No Output widget.** Explorers draw into ``ipywidgets.HTML`` (and ``ipywidgets.Image`` for a render function
that returns a Figure), never into an ``ipywidgets.Output``. nbclient (nbval's and the website's executor)
emulates an Output widget by sending comm messages to the kernel on the shell channel while it waits on that
same socket for the cell's reply; now and then the send swallows the socket's wake-up and the cell "hangs"
until the per-cell timeout (300 s on the website), then goes on. Without Output widgets nbclient never sends.
For static renderings (nbval, the website, GitHub) an explorer's display bundle carries a PNG of its initial
figure next to the widget view.

**Test hooks.** ``.controls`` (widgets by name), ``.last_view`` / ``.last_svg`` (what the browser shows),
``.last_figure`` (the matplotlib figure of the latest update, built when first read), ``.update()`` (redraw
now, return the figure). Setting a control's ``.value`` redraws at once::

    ex = trace_explorer("seed-W")
    ex.controls["max_map_count"].value = 65_533
    ex.last_view.facts["outcomes"]["5.0"].kind   # 'OK'
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import ipywidgets as W
import pandas as pd
from matplotlib.figure import Figure

from .checks import CHECKS
from .constants import DEFAULT_MAX_MAP_COUNT
from .experiments import Runner, sweep
from .outcome import OUTCOMES, Outcome
from .plots import (
    OUTCOME_COLORS,
    figure_png,
    plot_failure_points,
    plot_layout,
    plot_limit_outcomes,
    plot_trace,
)
from .profiles import KERNELS
from .scenarios import CATALOGUE, FAMILIES, Scenario, get
from .svg import (
    StopPoint,
    failure_points_svg,
    layout_svg,
    message_svg,
    num,
    outcome_map_svg,
    trace_svg,
)
from .trace import TraceSummary

__all__ = [
    "DEFAULT_KERNELS",
    "Explorer",
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
    "trace_view",
]

#: map_count of the process every scenario lives in (3 below the default vm.max_map_count).
PROCESS_MAP_COUNT: int = Runner.MAP_COUNT
#: Kernels selected by default: the bug, the fix, today's kernel, the 7.1 rework and the ideal reference. Every
#: profile of :data:`mmsim.KERNELS` can be selected.
DEFAULT_KERNELS: tuple[str, ...] = ("5.0", "5.1", "6.18", "7.1", "ideal")
#: Free slots at the ends of the default slider range: -1 (mmap lets a process reach max + 1) to 10. Every
#: outcome of the catalogue is settled by 7 free slots.
LIMIT_SPAN: tuple[int, int] = (-1, 10)

_STYLE = {"description_width": "initial"}
_CSS = ("<style>.mmsim-readout td,.mmsim-readout th{padding:1px 12px 1px 0;text-align:left;vertical-align:top}"
        ".mmsim-readout{margin:4px 0}</style>")


def default_limits(map_count: int = PROCESS_MAP_COUNT) -> tuple[int, int]:
    """The slider's default range of ``max_map_count`` around a process of ``map_count`` VMAs.

    >>> default_limits(65_527)
    (65526, 65537)
    """
    return map_count + LIMIT_SPAN[0], map_count + LIMIT_SPAN[1]


def _process(max_map_count: int | None, map_count: int | None, slack: int | None) -> tuple[int, int]:
    """``(max_map_count, map_count)`` from what the caller gave.

    ``slack`` (free slots, the old knob) keeps its meaning ``max_map_count - map_count``: with a limit it
    fixes the map_count, alone it fixes the limit above the default process. A ``max_map_count`` below
    :attr:`Runner.HEADROOM` (64: no process of the course can live under such a limit) given without
    ``map_count`` is read as free slots, with a FutureWarning: earlier versions took ``slack`` in that
    position (``render_layout(scenario, kernel, slack)``).
    """
    if slack is None and map_count is None and max_map_count is not None and max_map_count < Runner.HEADROOM:
        import warnings

        warnings.warn(f"max_map_count={max_map_count} is read as free slots (slack={max_map_count}); pass "
                      "slack= by name, or an absolute max_map_count", FutureWarning, stacklevel=3)
        max_map_count, slack = None, max_map_count
    if slack is None:
        mc = PROCESS_MAP_COUNT if map_count is None else map_count
        return (DEFAULT_MAX_MAP_COUNT if max_map_count is None else max_map_count), mc
    if map_count is not None and max_map_count is not None and max_map_count - map_count != slack:
        raise ValueError(f"slack={slack} contradicts max_map_count={max_map_count} and map_count={map_count}")
    if max_map_count is not None:
        return max_map_count, max_map_count - slack
    mc = PROCESS_MAP_COUNT if map_count is None else map_count
    return mc + slack, mc


def message_figure(text: str) -> Figure:
    """A small figure that only says ``text`` (shown instead of a plot when there is nothing to draw)."""
    fig = Figure(figsize=(6, 1.2))
    fig.text(0.5, 0.5, text, ha="center", va="center", fontsize=11, color="#555555", wrap=True)
    return fig


@dataclass
class View:
    """What one update of an explorer shows.

    ``svg`` is drawn by the browser (an ``ipywidgets.HTML``), ``readout`` is the HTML above it, ``facts`` holds
    what was computed (outcomes, stop points, rows) for code and tests, and :meth:`figure` builds the
    matplotlib figure of the same view (cached).
    """

    svg: str
    readout: str
    facts: dict[str, Any] = field(default_factory=dict)
    make_figure: Callable[[], Figure] | None = field(default=None, repr=False)
    _figure: Figure | None = field(default=None, repr=False)

    def figure(self) -> Figure:
        """The matplotlib figure of this view (built on first use)."""
        if self._figure is None:
            self._figure = self.make_figure() if self.make_figure is not None else message_figure(
                _strip_tags(self.readout))
        return self._figure

    @classmethod
    def message(cls, text: str) -> View:
        return cls(message_svg(text), f"<i>{html.escape(text)}</i>", {"message": text},
                   lambda: message_figure(text))


def _strip_tags(text: str) -> str:
    import re

    return html.unescape(re.sub(r"<[^>]+>", " ", text)).strip()


# ---- readouts ----------------------------------------------------------------------------------------------


def check_note(o: Outcome) -> str:
    """One line on why ``o`` ended as it did: the check that fired, the free slots it needs (from
    :data:`mmsim.checks.CHECKS`), the free slots it saw, and the limit from which it passes.

    >>> from mmsim.experiments import Runner
    >>> check_note(Runner().at_limit("seed-W", "5.1", 65_530, 65_527))
    'mremap_early fired (65527 + 2 >= 65530 - 3): needs 6 free slots, saw 3; passes from max_map_count 65,533'
    """
    if o.ok:
        return "completed" + (" (degraded: a swallowed unmap failure)" if o.degraded else "")
    fail = o.trace.failure
    name = o.check or "?"
    c = CHECKS.get(name)
    if c is None or c.slots is None:
        what = "a validation: fails at any limit" if fail is not None and fail.kind == "validate" else \
            "no fixed threshold in the registry"
        return f"{name} ({o.errname}): {what}"
    seen = fail.map_count if fail is not None else o.mc_before
    expr = f" ({fail.expr})" if fail is not None and fail.expr else ""
    if c.predicate is not None:  # alt_early: the count only arms it; the call's prediction decides
        return (f"{name} fired{expr}: armed below {c.slots} free slots, saw {o.max_map_count - seen}; the "
                "prediction of this call's unmaps decides")
    return (f"{name} fired{expr}: needs {c.slots} free slot{'s' if c.slots != 1 else ''}, saw "
            f"{o.max_map_count - seen}; passes from max_map_count {num(seen + c.slots)}")


def _limit_line(max_map_count: int, map_count: int) -> str:
    free = max_map_count - map_count
    return (f'<span class="mmsim-limit" data-max-map-count="{max_map_count}">max_map_count '
            f'<b>{num(max_map_count)}</b></span> · the process holds {num(map_count)} VMAs · '
            f'<b>{free}</b> free slot{"s" if free != 1 else ""}')


def _outcome_cell(o: Outcome) -> str:
    color = OUTCOME_COLORS.get(o.kind, "#222222")
    return f'<span style="color:{color};font-weight:bold">{html.escape(o.kind)}</span>'


def checks_evaluated(o: Outcome) -> list[str]:
    """Every map_count check the call evaluated, in order, as the trace filled it in, with the free slots it
    needs and had: ``'mremap_early: 65527 + 2 >= 65530 - 3 → fails (needs 6, had 3)'``. Empty for a trace-less
    outcome."""
    if isinstance(o.trace, TraceSummary):
        return []
    out = []
    for rec in o.trace:
        if rec.kind != "check" or rec.passed is None:
            continue
        c = CHECKS.get(rec.step)
        had = o.max_map_count - rec.map_count
        if c is None or c.slots is None:
            need = f"had {had}"
        elif c.predicate is not None:  # the slots only arm it (alt_early's trigger); the prediction decides
            need = f"armed below {c.slots}, had {had}" + ("; the prediction decides" if had < c.slots else "")
        else:
            need = f"needs {c.slots}, had {had}"
        out.append(f"{rec.step}: {rec.expr or ''} → {'passes' if rec.passed else 'fails'} ({need})")
    return out


def _kernel_table(outcomes: Mapping[str, Outcome]) -> str:
    rows = "".join(
        f"<tr><td>{html.escape(k)}</td><td>{_outcome_cell(o)}</td><td>{html.escape(check_note(o))}</td>"
        f"<td>{num(o.mc_before)} → {num(o.mc_after)}</td>"
        f"<td>{'<br>'.join(html.escape(c) for c in checks_evaluated(o))}</td></tr>" for k, o in outcomes.items())
    return (f'{_CSS}<table class="mmsim-readout" style="border-collapse:collapse;font-size:12px">'
            "<tr><th align=left>kernel</th><th align=left>outcome</th><th align=left>why</th>"
            f"<th align=left>map_count</th><th align=left>checks evaluated</th></tr>{rows}</table>")


def _scenario_line(sc: Scenario) -> str:
    return (f"<b>{html.escape(sc.name)}</b>: {html.escape(sc.description)}<br>"
            f"<code>{html.escape(sc.call())}</code>")


def _kernels(kernels: Sequence[str] | str) -> list[str]:
    ks = [kernels] if isinstance(kernels, str) else list(kernels)
    return [k for k in KERNELS if k in ks] + [k for k in ks if k not in KERNELS]


# ---- views and render functions -------------------------------------------------------------------------


def trace_view(
    scenario: Scenario | str,
    kernels: Sequence[str] | str = DEFAULT_KERNELS,
    max_map_count: int | None = None,
    *,
    map_count: int | None = None,
    slack: int | None = None,
    runner: Runner | None = None,
) -> View:
    """map_count at each step of ``scenario``'s call, one panel per kernel, in a process of ``map_count``
    VMAs under ``vm.max_map_count = max_map_count`` (see the module docstring; ``slack`` = free slots, the old
    knob). ``facts["outcomes"]`` maps each kernel to its :class:`~mmsim.Outcome`."""
    sc = get(scenario)
    mx, mc = _process(max_map_count, map_count, slack)
    ks = _kernels(kernels)
    if not ks:
        return View.message("Select at least one kernel.")
    runner = runner or Runner()
    outs = {k: runner.at_limit(sc, k, mx, mc) for k in ks}
    title = f"{sc.name}: map_count at each step — max_map_count {num(mx)}, {mx - mc} free slots"
    readout = f"{_scenario_line(sc)}<br>{_limit_line(mx, mc)}{_kernel_table(outs)}"
    return View(trace_svg(outs, title=title), readout, {"outcomes": outs, "max_map_count": mx, "map_count": mc},
                lambda: plot_trace(outs, title=title))


def render_trace(scenario: Scenario | str, kernels: Sequence[str] | str = DEFAULT_KERNELS,
                 max_map_count: int | None = None, *, map_count: int | None = None, slack: int | None = None,
                 runner: Runner | None = None) -> Figure:
    """The matplotlib figure of :func:`trace_view` (:func:`mmsim.plots.plot_trace`): absolute map_count, the
    limit line, free slots on a second axis; a :func:`message_figure` with no kernel selected."""
    return trace_view(scenario, kernels, max_map_count, map_count=map_count, slack=slack, runner=runner).figure()


def layout_view(
    scenario: Scenario | str,
    kernel: str = "5.0",
    max_map_count: int | None = None,
    *,
    map_count: int | None = None,
    slack: int | None = None,
    runner: Runner | None = None,
) -> View:
    """The VMAs around ``scenario`` before and after its call under ``kernel``, in a process of ``map_count``
    VMAs under ``vm.max_map_count = max_map_count``. ``facts["outcome"]`` is the call's Outcome."""
    sc = get(scenario)
    mx, mc = _process(max_map_count, map_count, slack)
    runner = runner or Runner()
    outcome, before, after = runner.before_after_at(sc, kernel, mx, mc)
    old, new = sc.ranges()
    title = (f"{sc.name} on kernel {kernel} — max_map_count {num(mx)}, {mx - mc} free slots: "
             f"{sc.call(compact=True)}")
    what = outcome.kind + (f" ({outcome.errname} at {outcome.check})" if outcome.errno else "")
    states = [("before", before, f"before: map_count {num(outcome.mc_before)} of max {num(mx)}"),
              ("after", after, f"after: map_count {num(after.map_count)} — {what}")]
    window = sc.window or (before.vmas()[0].start, before.vmas()[-1].end)
    svg = layout_svg(states, window, title=f"{sc.name} on kernel {kernel} — max_map_count {num(mx)}, "
                     f"{mx - mc} free slots", subtitle=sc.call(compact=True), old_range=old, new_range=new,
                     outcome=outcome)
    readout = f"{_scenario_line(sc)}<br>{_limit_line(mx, mc)}{_kernel_table({kernel: outcome})}"
    after_copy = after  # the figure is built later: keep the states it shows
    before_copy = before.copy()
    return View(svg, readout, {"outcome": outcome, "max_map_count": mx, "map_count": mc},
                lambda: plot_layout(before_copy, after_copy, old_range=old, new_range=new, window=sc.window,
                                    outcome=outcome, title=title))


def render_layout(scenario: Scenario | str, kernel: str = "5.0", max_map_count: int | None = None, *,
                  map_count: int | None = None, slack: int | None = None, runner: Runner | None = None) -> Figure:
    """The matplotlib figure of :func:`layout_view` (:func:`mmsim.plots.plot_layout`)."""
    return layout_view(scenario, kernel, max_map_count, map_count=map_count, slack=slack, runner=runner).figure()


def failure_points(
    scenario: Scenario | str,
    kernels: Sequence[str] | str = DEFAULT_KERNELS,
    limits: tuple[int, int] | None = None,
    map_count: int = PROCESS_MAP_COUNT,
    *,
    runner: Runner | None = None,
) -> tuple[dict[str, list[StopPoint]], dict[str, list[str]], dict[str, dict[int, Outcome]]]:
    """Where the call stops under every ``max_map_count`` in ``limits`` (inclusive), per kernel.

    Returns ``(points, steps, outcomes)``: ``points[k]`` one :class:`~mmsim.svg.StopPoint` per limit (the
    depth-0 step the failure belongs to, ``"completed"`` on success), ``steps[k]`` that kernel's depth-0 steps
    in call order (every step any of the runs reached), ``outcomes[k][limit]`` the Outcomes.
    """
    sc = get(scenario)
    lo, hi = limits or default_limits(map_count)
    runner = runner or Runner()
    points: dict[str, list[StopPoint]] = {}
    steps: dict[str, list[str]] = {}
    outcomes: dict[str, dict[int, Outcome]] = {}
    for k in _kernels(kernels):
        outs = {m: runner.at_limit(sc, k, m, map_count) for m in range(lo, hi + 1)}
        names: list[str] = []
        for m in sorted(outs, reverse=True):  # the longest path first (the most free slots)
            prev = -1
            for name in outs[m].trace.steps():
                if name in names:
                    prev = names.index(name)
                else:
                    names.insert(prev + 1, name)
                    prev += 1
        steps[k] = names
        points[k] = [StopPoint(m, "completed" if o.ok else (o.where or o.check or "?"), o.kind, o.check, o.fp)
                     for m, o in outs.items()]
        outcomes[k] = outs
    return points, steps, outcomes


def _flip_note(k: str, outs: Mapping[int, Outcome]) -> str:
    """When does the call start to complete under kernel ``k``?"""
    ms = sorted(outs)
    ok_from = next((m for m in ms if all(outs[n].ok for n in ms if n >= m)), None)
    fails = [m for m in ms if not outs[m].ok]
    if ok_from is None:
        return f"{k}: fails over the whole range"
    if not fails:
        return f"{k}: completes over the whole range"
    last = outs[max(fails)]
    return (f"{k}: completes from max_map_count {num(ok_from)} ({ok_from - last.mc_before} free slots); below, "
            f"the last refusal is {last.kind} at {last.where or last.check}")


def failure_point_view(
    scenario: Scenario | str,
    kernels: Sequence[str] | str = DEFAULT_KERNELS,
    max_map_count: int | None = None,
    *,
    map_count: int | None = None,
    limits: tuple[int, int] | None = None,
    runner: Runner | None = None,
) -> View:
    """x = max_map_count over ``limits``, per kernel the step at which ``scenario``'s call stops (or
    "completed"); the chosen limit is highlighted and the readout lists what happens there. ``facts``:
    ``points``, ``steps`` and ``outcomes`` of :func:`failure_points`."""
    sc = get(scenario)
    mx, mc = _process(max_map_count, map_count, None)
    ks = _kernels(kernels)
    if not ks:
        return View.message("Select at least one kernel.")
    lo, hi = limits or default_limits(mc)
    lo, hi = min(lo, mx), max(hi, mx)
    points, steps, outs = failure_points(sc, ks, (lo, hi), mc, runner=runner)
    title = f"{sc.name}: where the call stops, by max_map_count (process of {num(mc)} VMAs)"
    here = {k: outs[k][mx] for k in ks}
    flips = "".join(f"<li>{html.escape(_flip_note(k, outs[k]))}</li>" for k in ks)
    readout = (f"{_scenario_line(sc)}<br>{_limit_line(mx, mc)}{_kernel_table(here)}"
               f'<ul style="margin:2px 0;font-size:12px">{flips}</ul>')
    return View(failure_points_svg(points, steps, mx, mc, title=title), readout,
                {"points": points, "steps": steps, "outcomes": outs, "max_map_count": mx, "map_count": mc},
                lambda: plot_failure_points(points, steps, mx, mc, title=title))


def render_failure_points(scenario: Scenario | str, kernels: Sequence[str] | str = DEFAULT_KERNELS,
                          max_map_count: int | None = None, *, map_count: int | None = None,
                          limits: tuple[int, int] | None = None, runner: Runner | None = None) -> Figure:
    """The matplotlib figure of :func:`failure_point_view` (:func:`mmsim.plots.plot_failure_points`)."""
    return failure_point_view(scenario, kernels, max_map_count, map_count=map_count, limits=limits,
                              runner=runner).figure()


def sweep_limits(
    scenarios: Iterable[Scenario | str] | None = None,
    kernels: Iterable[str] = KERNELS,
    limits: tuple[int, int] | None = None,
    map_count: int = PROCESS_MAP_COUNT,
) -> pd.DataFrame:
    """:func:`mmsim.experiments.sweep` rows for a process of ``map_count`` VMAs under every ``max_map_count``
    in ``limits`` (inclusive): ``max_map_count`` varies, ``mc_before == map_count`` in every row.

    Exact: a case depends on the free slots only (the module docstring of :mod:`mmsim.experiments`), so the
    sweep runs by free slots on its trace-less fast path and the rows are relabelled to the limit.
    """
    lo, hi = limits or default_limits(map_count)
    if hi < lo:
        raise ValueError(f"empty range of limits {lo}..{hi}")
    slacks = list(range(lo - map_count, hi - map_count + 1))
    top = map_count + slacks[-1]
    df = sweep(scenarios, kernels, slacks=slacks, max_map_count=top, progress=False)
    shift = df["slack"] - slacks[-1]  # each row's process had top - slack VMAs; move it to map_count
    df["max_map_count"] = map_count + df["slack"]
    for col in ("mc_before", "mc_after", "peak"):
        df[col] = df[col] + shift
    return df


def _fp_mask(df: pd.DataFrame) -> pd.Series:
    return df["outcome"].eq("FALSE_POSITIVE") | (df["outcome"].eq("PARTIAL_FAIL") & df["fp"].astype(bool))


def outcome_map_view(
    df: pd.DataFrame,
    max_map_count: int | None = None,
    family: str = "all",
    kernels: Sequence[str] | None = None,
) -> View:
    """Scenario × max_map_count outcome maps of a :func:`sweep_limits` frame, one per kernel, the chosen limit
    outlined, and the false-positive rate per kernel against the limit. ``facts``: ``rows`` (the frame at the
    chosen limit) and ``fp_rate`` (per kernel, at the chosen limit)."""
    sub = df if family == "all" else df[df["family"] == family]
    ks = _kernels(list(kernels) if kernels is not None else list(dict.fromkeys(df["kernel"])))
    sub = sub[sub["kernel"].isin(ks)]
    if sub.empty or not ks:
        return View.message("No cases match: pick another family or kernel." if ks else "Select at least one kernel.")
    mc = int(sub["mc_before"].iloc[0])
    limits = sorted(int(m) for m in sub["max_map_count"].unique())
    mx = limits[len(limits) // 2] if max_map_count is None else max_map_count
    scen = list(dict.fromkeys(sub["scenario"]))
    cells = {k: {} for k in ks}  # type: dict[str, dict[tuple[str, int], tuple[str, bool]]]
    for k, s, m, oc, fp in zip(sub["kernel"], sub["scenario"], sub["max_map_count"], sub["outcome"], sub["fp"],
                               strict=True):
        cells[k][(s, int(m))] = (oc, bool(fp))
    rate = _fp_mask(sub).groupby([sub["kernel"], sub["max_map_count"]]).mean()
    fp_rates = {k: [float(rate.get((k, m), 0.0)) for m in limits] for k in ks}
    here = sub[sub["max_map_count"] == mx]
    fam = "all families" if family == "all" else f"family {family}"
    title = f"Outcome by scenario and max_map_count ({fam}; the process holds {num(mc)} VMAs)"
    at = {k: float(rate.get((k, mx), 0.0)) for k in ks}
    lines = []
    for k in ks:
        hk = here[here["kernel"] == k]
        counts = hk["outcome"].value_counts()
        parts = ", ".join(f"{int(counts.get(c, 0))} {c}" for c in OUTCOMES if counts.get(c, 0))
        lines.append(f"<tr><td>{html.escape(k)}</td><td>{at[k] * 100:.1f}%</td><td>{html.escape(parts)}</td></tr>")
    readout = (f"{_CSS}{_limit_line(mx, mc)} · {len(scen)} scenarios ({html.escape(fam)})"
               '<table class="mmsim-readout" style="border-collapse:collapse;font-size:12px"><tr>'
               "<th align=left>kernel</th><th align=left>refused needlessly</th><th align=left>cases here</th></tr>"
               + "".join(lines) + "</table>")
    svg = outcome_map_svg(cells, scen, limits, mx, mc, fp_rates, title=title)
    return View(svg, readout, {"rows": here, "fp_rate": at, "max_map_count": mx, "map_count": mc},
                lambda: plot_limit_outcomes(sub, mx, kernels=ks, title=title))


def render_outcome_map(df: pd.DataFrame, max_map_count: int | None = None, family: str = "all",
                       kernels: Sequence[str] | None = None) -> Figure:
    """The matplotlib figure of :func:`outcome_map_view` (:func:`mmsim.plots.plot_limit_outcomes`)."""
    return outcome_map_view(df, max_map_count, family, kernels).figure()


# ---- the container -------------------------------------------------------------------------------------


class Explorer(W.VBox):
    """A VBox with its controls, a readout, the chart the latest update drew, and test hooks.

    ``render(**values)`` gets the controls' values and returns a :class:`View` (its SVG goes to an
    ``ipywidgets.HTML``, its readout to ``.info``) or a matplotlib Figure (shown as a PNG in an
    ``ipywidgets.Image``; ``describe(**values)`` then fills the readout). A ValueError or KeyError becomes a
    message and ``.last_error``. No ``ipywidgets.Output`` is used (see the module docstring).
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
        super().__init__(([header] if header is not None else []) + boxes + [self.info, self.plot, self.image])
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

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        """The widget view plus a PNG of the current figure, for renderings without a widget manager (nbval,
        the website, GitHub); Jupyter front ends show the widget."""
        bundle = super()._repr_mimebundle_(**kwargs)
        if isinstance(bundle, dict):
            try:
                png = (bytes(self.image.value) if self.last_view is None and self.image.value
                       else figure_png(self.last_figure))
                bundle = {**bundle, "image/png": png}
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
                       style=_STYLE, layout=W.Layout(width="460px"),
                       tooltip=f"vm.max_map_count; the process holds {map_count} VMAs")


def _kernel_select(value: Sequence[str]) -> W.SelectMultiple:
    ks = tuple(_kernels(value))
    for k in ks:
        if k not in KERNELS:
            raise KeyError(f"unknown kernel {k!r}; choose from {', '.join(KERNELS)}")
    return W.SelectMultiple(options=list(KERNELS), value=ks, rows=len(KERNELS), description="kernels",
                            style=_STYLE)


def _initial(max_map_count: int | None, map_count: int | None, slack: int | None) -> tuple[int, int]:
    return _process(max_map_count, map_count, slack)


# ---- factories -----------------------------------------------------------------------------------------


def trace_explorer(
    scenario: str = "seed-W",
    kernels: Sequence[str] = DEFAULT_KERNELS,
    max_map_count: int | None = None,
    *,
    map_count: int | None = None,
    slack: int | None = None,
    limits: tuple[int, int] | None = None,
    scenarios: Iterable[Scenario | str] | None = None,
) -> Explorer:
    """Pick a scenario, the sysctl and kernels; see map_count step by step (:func:`trace_view`).

    Controls: ``scenario`` (Dropdown), ``max_map_count`` (IntSlider over ``limits``, default
    :func:`default_limits`), ``kernels`` (SelectMultiple of every profile). ``max_map_count`` defaults to
    65,530; ``slack`` instead starts the slider ``slack`` above ``map_count``.
    """
    mx, mc = _initial(max_map_count, map_count, slack)
    runner = Runner()
    controls: dict[str, W.Widget] = {
        "scenario": _scenario_dropdown(scenario, scenarios),
        "max_map_count": _limit_slider(mx, mc, limits),
        "kernels": _kernel_select(kernels),
    }

    def render(scenario: str, max_map_count: int, kernels: Sequence[str]) -> View:
        return trace_view(scenario, kernels, max_map_count, map_count=mc, runner=runner)

    return Explorer(controls, render, rows=[["scenario", "max_map_count"], ["kernels"]], runner=runner)


def revert_explorer(scenario: str = "seed-W", free_slots: int = 3, *, result: Any = None) -> Explorer:
    """The 2019 bug on a real kernel: a slider over free slots, and the call on 5.10 built with ea2c3f6f5545
    reverted next to the control (:func:`mmsim.live.revert.bug_on_real_kernels`): errno, map_count change and
    the arena's ``/proc/PID/maps`` lines before and after.

    Both kernels boot once, for every free-slot count, when the explorer is made (a few seconds under qemu);
    the slider then only shows. Where they cannot run, the recorded result is shown and says so. ``result``
    replaces the run (tests).
    """
    from .live import revert

    result = result if result is not None else revert.bug_on_real_kernels(scenario)
    slots = result.free_slots
    controls: dict[str, W.Widget] = {
        "free_slots": W.IntSlider(value=free_slots, min=min(slots), max=max(slots), step=1, description="free slots",
                                  continuous_update=False),
    }

    def render(free_slots: int) -> View:
        r = result.at(result.kernels[0], free_slots)
        return View(revert.html_view(result, free_slots),
                    f"{free_slots} free slots: {result.kernels[0]} {r.errno_name} {r.delta:+d}",
                    facts={"result": result, "free_slots": free_slots})

    ex = Explorer(controls, render)
    ex.data = result
    return ex


def failure_point_explorer(
    scenario: str = "seed-W",
    kernels: Sequence[str] = DEFAULT_KERNELS,
    max_map_count: int | None = None,
    *,
    map_count: int | None = None,
    slack: int | None = None,
    limits: tuple[int, int] | None = None,
    scenarios: Iterable[Scenario | str] | None = None,
) -> Explorer:
    """Pick a scenario and kernels; see, for every max_map_count of the slider's range, the step at which the
    call stops (:func:`failure_point_view`); the slider picks the limit the readout explains.

    Controls: ``scenario``, ``max_map_count`` (IntSlider), ``kernels``.
    """
    mx, mc = _initial(max_map_count, map_count, slack)
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


def layout_explorer(
    scenario: str = "seed-W",
    kernel: str = "5.0",
    max_map_count: int | None = None,
    *,
    map_count: int | None = None,
    slack: int | None = None,
    limits: tuple[int, int] | None = None,
    scenarios: Iterable[Scenario | str] | None = None,
) -> Explorer:
    """Pick a scenario, a kernel and the sysctl; see the VMAs before and after the call (:func:`layout_view`).

    Controls: ``scenario``, ``kernel`` (ToggleButtons of every profile), ``max_map_count`` (IntSlider).
    """
    mx, mc = _initial(max_map_count, map_count, slack)
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
    (SelectMultiple of the frame's kernels; ``kernels`` picks the initial selection).
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
    chosen = tuple(k for k in _kernels(kernels) if k in ks) or tuple(ks)
    controls: dict[str, W.Widget] = {
        "max_map_count": W.IntSlider(value=mx, min=lo, max=hi, step=1, description="max_map_count",
                                     continuous_update=False, style=_STYLE, layout=W.Layout(width="460px")),
        "family": W.Dropdown(options=fams, value=family, description="family", style=_STYLE),
        "kernels": W.SelectMultiple(options=ks, value=chosen, rows=len(ks), description="kernels", style=_STYLE),
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
        result.value = f"<i>running {html.escape(sc.name)} on {html.escape(where)} at {free} free slots…</i>"
        try:
            c = compare(ops, kernel, arena_pages=sc.arena_pages, slack_before={len(ops) - 1: free},
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
            f"{html.escape(where)} at {free} free slots</b> (as under max_map_count {num(limit)} with "
            f"{num(mc)} VMAs): kernel "
            f"<b>{html.escape(live.errno_name(row.live_errno))}</b> {row.live_delta:+d}, model ({html.escape(kernel)}) "
            f"<b>{html.escape(live.errno_name(row.model_errno))}</b> {row.model_delta:+d} — the model classifies it "
            f"{_outcome_cell(model)}; {'MISMATCH: ' if c.mismatched else ''}{html.escape(c.verdict)}"
            f"{table.to_html(index=False, border=0)}</div>")

    button.on_click(run_live)
    ex.run_live = run_live
    ex.children = (*ex.children, W.HBox([button]), result)
    return ex
