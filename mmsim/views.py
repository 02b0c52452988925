"""What an explorer shows, computed without ipywidgets: the views of :mod:`mmsim.widgets` and their readouts.

The knob is ``vm.max_map_count`` itself. Every scenario lives in a *process* that already holds ``map_count``
VMAs (default :data:`PROCESS_MAP_COUNT` = 65,527: the scenario's own VMAs plus filler, like a JVM or a search
engine close to the default limit); a limit is given in absolute units, over a range around that count
(:func:`default_limits`: from ``map_count - 1`` to ``map_count + 10``, so the default sysctl 65,530 sits inside
it, 3 above the count). Free slots (``max_map_count - map_count``) are derived, never set. Every readout names the
check that fired and the free slots it needs, read from :data:`mmsim.checks.CHECKS`.

* :func:`trace_view` / :func:`render_trace`: map_count at each step of one call, per kernel, against the limit
  line; the failing step marked; a fixed x axis per kernel (:func:`trace_steps`).
* :func:`failure_point_view` / :func:`render_failure_points`: x = max_map_count, per kernel the step at which the
  call stops (or "completed"): 5.0 fails late, 5.1 early (:func:`failure_points`).
* :func:`outcome_map_view` / :func:`render_outcome_map`: scenario × max_map_count outcome maps with false
  positives marked, and the false-positive rate per kernel as the limit moves (:func:`sweep_limits`).
* :func:`layout_view` / :func:`render_layout`: the VMAs before and after the call.

A ``*_view`` function computes the case (cached outcomes: :meth:`mmsim.experiments.Runner.at_limit`; sweeps on
the trace-less path) and returns a :class:`View`: an SVG string (:mod:`mmsim.svg`), the readout (one line per
kernel, the details collapsed), a text alternative, and the matplotlib figure *on demand*. The ``render_*``
functions return that figure (notebooks, the website, tests).

>>> v = trace_view("seed-W", ["5.0", "5.1"], 65_530)
>>> v.facts["outcomes"]["5.0"].kind, v.facts["outcomes"]["5.1"].kind
('PARTIAL_FAIL', 'CLEAN_FAIL')
>>> v.alt
'seed-W: map_count at each step — max_map_count 65,530, 3 free slots. 5.0: PARTIAL_FAIL; 5.1: CLEAN_FAIL'
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from .checks import CHECKS
from .constants import DEFAULT_MAX_MAP_COUNT
from .deprecation import renamed_arguments, warn_user
from .experiments import Runner, sweep
from .outcome import OUTCOMES, Outcome
from .palette import INK, OUTCOME_TEXT
from .plots import plot_failure_points, plot_layout, plot_limit_outcomes, plot_trace, trace_points
from .profiles import KERNELS
from .scenarios import Scenario, get
from .svg import (
    StopPoint,
    failure_points_svg,
    layout_svg,
    message_svg,
    num,
    outcome_map_svg,
    slots,
    trace_svg,
)
from .trace import TraceSummary

__all__ = [
    "DEFAULT_KERNELS",
    "LIMIT_SPAN",
    "PROCESS_MAP_COUNT",
    "View",
    "check_note",
    "checks_evaluated",
    "default_limits",
    "failure_point_view",
    "failure_points",
    "kernel_order",
    "layout_view",
    "limit_line",
    "message_figure",
    "outcome_html",
    "outcome_map_view",
    "process_limits",
    "render_failure_points",
    "render_layout",
    "render_outcome_map",
    "render_trace",
    "sweep_limits",
    "trace_steps",
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

_CSS = ("<style>.mmsim-readout td,.mmsim-readout th{padding:1px 12px 1px 0;text-align:left;vertical-align:top}"
        ".mmsim-readout{margin:4px 0}.mmsim-lines{margin:2px 0;padding-left:1.2em;font-size:13px}"
        ".mmsim-details summary{cursor:pointer;font-size:12px;color:#595959}</style>")


def default_limits(map_count: int = PROCESS_MAP_COUNT) -> tuple[int, int]:
    """The slider's default range of ``max_map_count`` around a process of ``map_count`` VMAs.

    >>> default_limits(65_527)
    (65526, 65537)
    """
    return map_count + LIMIT_SPAN[0], map_count + LIMIT_SPAN[1]


@renamed_arguments(slack="free_slots")
def process_limits(max_map_count: int | None, map_count: int | None, free_slots: int | None) -> tuple[int, int]:
    """``(max_map_count, map_count)`` from what the caller gave.

    ``free_slots`` keeps its meaning ``max_map_count - map_count``: with a limit it
    fixes the map_count, alone it fixes the limit above the default process. A ``max_map_count`` below
    :attr:`Runner.HEADROOM` (64: no process of the course can live under such a limit) given without
    ``map_count`` is read as free slots, with a FutureWarning: earlier versions took ``free_slots`` in that
    position (``render_layout(scenario, kernel, free_slots)``).
    """
    if free_slots is None and map_count is None and max_map_count is not None and max_map_count < Runner.HEADROOM:

        warn_user(f"max_map_count={max_map_count} is read as free slots (free_slots={max_map_count}); pass "
                  "free_slots= by name, or an absolute max_map_count")
        max_map_count, free_slots = None, max_map_count
    if free_slots is None:
        mc = PROCESS_MAP_COUNT if map_count is None else map_count
        return (DEFAULT_MAX_MAP_COUNT if max_map_count is None else max_map_count), mc
    if map_count is not None and max_map_count is not None and max_map_count - map_count != free_slots:
        raise ValueError(f"free_slots={free_slots} contradicts max_map_count={max_map_count} and map_count={map_count}")
    if max_map_count is not None:
        return max_map_count, max_map_count - free_slots
    mc = PROCESS_MAP_COUNT if map_count is None else map_count
    return mc + free_slots, mc


def message_figure(text: str) -> Figure:
    """A small figure that only says ``text`` (shown instead of a plot when there is nothing to draw)."""
    fig = Figure(figsize=(6, 1.2))
    fig.text(0.5, 0.5, text, ha="center", va="center", fontsize=11, color="#555555", wrap=True)
    return fig


@dataclass
class View:
    """What one update of an explorer shows.

    ``svg`` is drawn by the browser (an ``ipywidgets.HTML``), ``readout`` is the HTML under it (one line per
    kernel, details collapsed), ``facts`` holds what was computed (outcomes, stop points, rows) for code and
    tests, :meth:`figure` builds the matplotlib figure of the same view (cached), ``alt`` is a text alternative
    of the chart (title and outcomes, at most 125 characters) and :meth:`html` the chart with its readout as
    one static HTML block (what a rendering without a widget manager shows).
    """

    svg: str
    readout: str
    facts: dict[str, Any] = field(default_factory=dict)
    make_figure: Callable[[], Figure] | None = field(default=None, repr=False)
    _figure: Figure | None = field(default=None, repr=False)
    alt: str = ""

    def html(self) -> str:
        """The chart (SVG) and, under it, the readout: the static form of an explorer."""
        return f'<div class="mmsim-static"><div class="mmsim-chart">{self.svg}</div>{self.readout}</div>'

    def figure(self) -> Figure:
        """The matplotlib figure of this view (built on first use)."""
        if self._figure is None:
            self._figure = self.make_figure() if self.make_figure is not None else message_figure(
                _strip_tags(self.readout))
        return self._figure

    @classmethod
    def message(cls, text: str) -> View:
        return cls(message_svg(text), f"<i>{html.escape(text)}</i>", {"message": text},
                   lambda: message_figure(text), alt=text)


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


def limit_line(max_map_count: int, map_count: int) -> str:
    """The limit, the process's VMAs and the free slots, as the readouts' first line (class ``mmsim-limit``
    carries the limit for the browser tier)."""
    free = max_map_count - map_count
    return (f'<span class="mmsim-limit" data-max-map-count="{max_map_count}">max_map_count '
            f'<b>{num(max_map_count)}</b></span> · the process holds {num(map_count)} VMAs · '
            f'<b>{free}</b> free slot{"s" if free != 1 else ""}')


def outcome_html(o: Outcome) -> str:
    """The outcome's name in bold, in its text colour (:data:`mmsim.palette.OUTCOME_TEXT`)."""
    color = OUTCOME_TEXT.get(o.kind, INK)
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


def _kernel_lines(outcomes: Mapping[str, Outcome]) -> str:
    """One line per kernel (its outcome and why), then the map_count change and every check evaluated in a
    collapsed ``<details>``."""
    lines = "".join(f"<li><b>{html.escape(k)}</b>: {outcome_html(o)} — {html.escape(check_note(o))}</li>"
                    for k, o in outcomes.items())
    rows = "".join(
        f"<tr><td>{html.escape(k)}</td><td>{num(o.mc_before)} → {num(o.mc_after)}</td>"
        f"<td>{'<br>'.join(html.escape(c) for c in checks_evaluated(o))}</td></tr>" for k, o in outcomes.items())
    return (f'{_CSS}<ul class="mmsim-lines">{lines}</ul><details class="mmsim-details"><summary>details: '
            "map_count and the checks evaluated</summary>"
            '<table class="mmsim-readout" style="border-collapse:collapse;font-size:12px">'
            "<tr><th align=left>kernel</th><th align=left>map_count</th><th align=left>checks evaluated</th></tr>"
            f"{rows}</table></details>")


def _scenario_line(sc: Scenario) -> str:
    return (f"<b>{html.escape(sc.name)}</b>: {html.escape(sc.description)}<br>"
            f"<code>{html.escape(sc.call())}</code>")


def kernel_order(kernels: Sequence[str] | str) -> list[str]:
    """``kernels`` (one name or several) in the order of :data:`mmsim.KERNELS`, unknown names last."""
    ks = [kernels] if isinstance(kernels, str) else list(kernels)
    return [k for k in KERNELS if k in ks] + [k for k in ks if k not in KERNELS]


# ---- views and render functions -------------------------------------------------------------------------


@renamed_arguments(slack="free_slots")
def trace_view(
    scenario: Scenario | str,
    kernels: Sequence[str] | str = DEFAULT_KERNELS,
    max_map_count: int | None = None,
    *,
    map_count: int | None = None,
    free_slots: int | None = None,
    runner: Runner | None = None,
    limits: tuple[int, int] | None = None,
) -> View:
    """map_count at each step of ``scenario``'s call, one panel per kernel, in a process of ``map_count``
    VMAs under ``vm.max_map_count = max_map_count`` (see the module docstring; ``free_slots``, the old
    knob). Each panel's x axis holds every step the call takes somewhere in ``limits`` (default
    :func:`default_limits`; :func:`trace_steps`), so the chart keeps its size as the limit moves.
    ``facts["outcomes"]`` maps each kernel to its :class:`~mmsim.Outcome`, ``facts["steps"]`` to its axis."""
    sc = get(scenario)
    mx, mc = process_limits(max_map_count, map_count, free_slots)
    ks = kernel_order(kernels)
    if not ks:
        return View.message("Select at least one kernel.")
    runner = runner or Runner()
    outs = {k: runner.at_limit(sc, k, mx, mc) for k in ks}
    lo, hi = limits or default_limits(mc)
    axis = {k: trace_steps(sc, k, (min(lo, mx), max(hi, mx)), mc, runner=runner) for k in ks}
    title = f"{sc.name}: map_count at each step — max_map_count {num(mx)}, {slots(mx - mc)}"
    readout = f"{_scenario_line(sc)}<br>{limit_line(mx, mc)}{_kernel_lines(outs)}"
    return View(trace_svg(outs, title=title, steps=axis), readout,
                {"outcomes": outs, "steps": axis, "max_map_count": mx, "map_count": mc},
                lambda: plot_trace(outs, title=title), alt=_alt(title, outs))


def trace_steps(scenario: Scenario | str, kernel: str, limits: tuple[int, int], map_count: int = PROCESS_MAP_COUNT,
                *, runner: Runner | None = None) -> list[str]:
    """The x labels of a trace chart (``"start"``, then each depth-0 step, as :func:`mmsim.plots.trace_points`
    names them) of every step ``scenario``'s call takes under ``kernel`` for some ``max_map_count`` in
    ``limits`` (inclusive), in call order: a fixed axis for a trace explorer.

    >>> trace_steps("seed-W", "5.1", (65_526, 65_537), 65_527)[:4]
    ['start', 'mremap_early', 'unmap_destination', 'unmap_tail']
    """
    runner = runner or Runner()
    names: list[str] = []
    for m in range(limits[1], limits[0] - 1, -1):  # the longest path first (the most free slots)
        prev = -1
        for name in trace_points(runner.at_limit(scenario, kernel, m, map_count))[0]:
            if name in names[prev + 1:]:
                prev = names.index(name, prev + 1)
            else:
                names.insert(prev + 1, name)
                prev += 1
    return names


def _alt(title: str, outcomes: Mapping[str, Outcome], limit: int = 125) -> str:
    """A text alternative: the title, then each kernel's outcome, at most ``limit`` characters."""
    text = title + ". " + "; ".join(f"{k}: {o.kind}" for k, o in outcomes.items())
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0].rstrip(" .,;:—") + "…"


@renamed_arguments(slack="free_slots")
def render_trace(scenario: Scenario | str, kernels: Sequence[str] | str = DEFAULT_KERNELS,
                 max_map_count: int | None = None, *, map_count: int | None = None, free_slots: int | None = None,
                 runner: Runner | None = None) -> Figure:
    """The matplotlib figure of :func:`trace_view` (:func:`mmsim.plots.plot_trace`): absolute map_count, the
    limit line, free slots on a second axis; a :func:`message_figure` with no kernel selected."""
    return trace_view(scenario, kernels, max_map_count, map_count=map_count, free_slots=free_slots,
                      runner=runner).figure()


@renamed_arguments(slack="free_slots")
def layout_view(
    scenario: Scenario | str,
    kernel: str = "5.0",
    max_map_count: int | None = None,
    *,
    map_count: int | None = None,
    free_slots: int | None = None,
    runner: Runner | None = None,
) -> View:
    """The VMAs around ``scenario`` before and after its call under ``kernel``, in a process of ``map_count``
    VMAs under ``vm.max_map_count = max_map_count``. ``facts["outcome"]`` is the call's Outcome."""
    sc = get(scenario)
    mx, mc = process_limits(max_map_count, map_count, free_slots)
    runner = runner or Runner()
    outcome, before, after = runner.before_after_at(sc, kernel, mx, mc)
    old, new = sc.ranges()
    title = f"{sc.name} on kernel {kernel} — max_map_count {num(mx)}, {slots(mx - mc)}: {sc.call(compact=True)}"
    what = outcome.kind + (f" ({outcome.errname} at {outcome.check})" if outcome.errno else "")
    states = [("before", before, f"before: map_count {num(outcome.mc_before)} of max {num(mx)}"),
              ("after", after, f"after: map_count {num(after.map_count)} — {what}")]
    window = sc.window or (before.vmas()[0].start, before.vmas()[-1].end)
    svg = layout_svg(states, window, title=f"{sc.name} on kernel {kernel} — max_map_count {num(mx)}, "
                     f"{slots(mx - mc)}", subtitle=sc.call(compact=True), old_range=old, new_range=new,
                     outcome=outcome)
    readout = f"{_scenario_line(sc)}<br>{limit_line(mx, mc)}{_kernel_lines({kernel: outcome})}"
    after_copy = after  # the figure is built later: keep the states it shows
    before_copy = before.copy()
    return View(svg, readout, {"outcome": outcome, "max_map_count": mx, "map_count": mc},
                lambda: plot_layout(before_copy, after_copy, old_range=old, new_range=new, window=sc.window,
                                    outcome=outcome, title=title), alt=_alt(title, {kernel: outcome}))


@renamed_arguments(slack="free_slots")
def render_layout(scenario: Scenario | str, kernel: str = "5.0", max_map_count: int | None = None, *,
                  map_count: int | None = None, free_slots: int | None = None, runner: Runner | None = None) -> Figure:
    """The matplotlib figure of :func:`layout_view` (:func:`mmsim.plots.plot_layout`)."""
    return layout_view(scenario, kernel, max_map_count, map_count=map_count, free_slots=free_slots,
                      runner=runner).figure()


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
    for k in kernel_order(kernels):
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
    return (f"{k}: completes from max_map_count {num(ok_from)} ({slots(ok_from - last.mc_before)}); below, "
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
    mx, mc = process_limits(max_map_count, map_count, None)
    ks = kernel_order(kernels)
    if not ks:
        return View.message("Select at least one kernel.")
    lo, hi = limits or default_limits(mc)
    lo, hi = min(lo, mx), max(hi, mx)
    points, steps, outs = failure_points(sc, ks, (lo, hi), mc, runner=runner)
    title = f"{sc.name}: where the call stops, by max_map_count (process of {num(mc)} VMAs)"
    here = {k: outs[k][mx] for k in ks}
    flips = "".join(f"<li>{html.escape(_flip_note(k, outs[k]))}</li>" for k in ks)
    readout = (f"{_scenario_line(sc)}<br>{limit_line(mx, mc)}{_kernel_lines(here)}"
               f'<details class="mmsim-details"><summary>where each kernel starts to complete</summary>'
               f'<ul style="margin:2px 0;font-size:12px">{flips}</ul></details>')
    return View(failure_points_svg(points, steps, mx, mc, title=title), readout,
                {"points": points, "steps": steps, "outcomes": outs, "max_map_count": mx, "map_count": mc},
                lambda: plot_failure_points(points, steps, mx, mc, title=title), alt=_alt(title, here))


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
    free_slots = list(range(lo - map_count, hi - map_count + 1))
    top = map_count + free_slots[-1]
    df = sweep(scenarios, kernels, free_slots=free_slots, max_map_count=top, progress=False)
    shift = df["free_slots"] - free_slots[-1]  # each row's process had top - free slots VMAs; move it to map_count
    df["max_map_count"] = map_count + df["free_slots"]
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
    ks = kernel_order(list(kernels) if kernels is not None else list(dict.fromkeys(df["kernel"])))
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
        lines.append(f"<li><b>{html.escape(k)}</b>: {at[k] * 100:.1f}% refused needlessly — {html.escape(parts)}"
                     "</li>")
    readout = (f"{_CSS}{limit_line(mx, mc)} · {len(scen)} scenarios ({html.escape(fam)})"
               f'<ul class="mmsim-lines">{"".join(lines)}</ul>')
    svg = outcome_map_svg(cells, scen, limits, mx, mc, fp_rates, title=title)
    alt = f"{title}. Refused needlessly at {num(mx)}: " + ", ".join(f"{k} {at[k] * 100:.0f}%" for k in ks)
    return View(svg, readout, {"rows": here, "fp_rate": at, "max_map_count": mx, "map_count": mc},
                lambda: plot_limit_outcomes(sub, mx, kernels=ks, title=title),
                alt=alt if len(alt) <= 125 else alt[:124].rsplit(" ", 1)[0].rstrip(",:") + "…")


def render_outcome_map(df: pd.DataFrame, max_map_count: int | None = None, family: str = "all",
                       kernels: Sequence[str] | None = None) -> Figure:
    """The matplotlib figure of :func:`outcome_map_view` (:func:`mmsim.plots.plot_limit_outcomes`)."""
    return outcome_map_view(df, max_map_count, family, kernels).figure()

