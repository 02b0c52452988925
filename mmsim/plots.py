"""Matplotlib figures of address-space layouts, step traces and sweeps.

Every function returns a :class:`matplotlib.figure.Figure` made with ``Figure()`` (not pyplot), so figures
are never registered with pyplot, never accumulate, and need no ``plt.close``. In Jupyter, a returned figure
displays itself as the cell's value; elsewhere use ``fig.savefig("out.png")``.

* :func:`plot_layout` — VMAs as bars on a page axis, before and after a call.
* :func:`plot_trace` — map_count after each step of a call, one panel per kernel (semantics §8).
* :func:`plot_outcome_map` — outcome class per (scenario, free slots), one heatmap per kernel.
* :func:`plot_fp_rate` — false-positive and partial-failure rates per kernel.
* :func:`plot_failure_points` — where a call stops, by ``vm.max_map_count``, one panel per kernel.
* :func:`plot_limit_outcomes` — outcome class per (scenario, max_map_count) and the false-positive rate
  against the limit.
"""

from __future__ import annotations

import errno as _errno
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.collections import PatchCollection
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle
from matplotlib.ticker import FuncFormatter, MaxNLocator

from .addrspace import FILLER_BASE, AddressSpace
from .checks import CHECKS
from .constants import PAGE_SIZE, PROT_EXEC, PROT_READ, PROT_WRITE
from .outcome import OUTCOMES, Outcome
from .palette import (
    FAILED_COLOR,
    GREY,
    LIMIT_COLOR,
    OUTCOME_COLORS,
    OUTCOME_LABELS,
    OUTCOME_MARKERS,
    OUTCOME_TEXT,
    PARTIAL_HATCH,
    PASSED_COLOR,
    PROT_COLORS,
    kernel_style,
)
from .profiles import KERNELS
from .vma import VMA

__all__ = [
    "OUTCOME_COLORS",
    "PROT_COLORS",
    "check_threshold",
    "default_window",
    "prot_key",
    "trace_points",
    "figure_alt",
    "figure_png",
    "wrap_title",
    "plot_failure_points",
    "plot_fp_rate",
    "plot_limit_outcomes",
    "plot_layout",
    "plot_outcome_map",
    "plot_trace",
]

P = PAGE_SIZE

# The palette lives in mmsim.palette (one definition for figures, SVG charts and readouts); re-exported here.
_OUTCOME_LABELS = OUTCOME_LABELS
_MAX_COLOR = LIMIT_COLOR


def prot_key(prot: int) -> str:
    """The key of ``prot`` in :data:`PROT_COLORS` (``"rw-"``, ..., or ``"other"``); plots and SVGs share it.

    >>> prot_key(PROT_READ | PROT_WRITE), prot_key(0)
    ('rw-', '---')
    """
    key = ("r" if prot & PROT_READ else "-") + ("w" if prot & PROT_WRITE else "-") + ("x" if prot & PROT_EXEC else "-")
    return key if key in PROT_COLORS else "other"


def _new_figure(width: float, height: float) -> Figure:
    return Figure(figsize=(width, height), layout="constrained")


def wrap_title(text: str, width_in: float, fontsize: float = 12) -> str:
    r"""``text`` broken into lines that fit a figure ``width_in`` inches wide at ``fontsize`` points (an average
    glyph of DejaVu Sans is about 0.6 em), so a long title is never cut at the figure's edges.

    >>> wrap_title("seed-W on kernel 5.0 — max_map_count 65,530, 3 free slots: mremap(...)", 4.0)
    'seed-W on kernel 5.0 — max_map_count\n65,530, 3 free slots: mremap(...)'
    """
    import textwrap

    chars = max(int(width_in * 72 / (0.6 * fontsize)) - 2, 20)
    return "\n".join(textwrap.wrap(text, chars, break_on_hyphens=False)) or text


def _suptitle(fig: Figure, title: str, fontsize: float = 12) -> None:
    fig.suptitle(wrap_title(title, fig.get_figwidth(), fontsize), fontsize=fontsize)


def figure_alt(fig: Figure, limit: int = 125) -> str:
    """A text alternative for ``fig`` of at most ``limit`` characters: its title, then what its panels' titles
    say (the kernel and its outcome), shortened at a word with "…" when too long.

    >>> fig = _new_figure(4, 3); _suptitle(fig, "seed-W at 3 free slots")
    >>> _ = fig.subplots().set_title("kernel 5.0: PARTIAL_FAIL"); figure_alt(fig)
    'seed-W at 3 free slots. kernel 5.0: PARTIAL_FAIL'
    """
    sup = fig.get_suptitle()
    heads = [" ".join(t.split()) for ax in fig.axes for t in (ax.get_title("center"), ax.get_title("left")) if t]
    outcome = re.compile(r"\b(?:OK|FALSE_POSITIVE|CLEAN_FAIL|PARTIAL_FAIL)\b")
    heads = sorted(dict.fromkeys(heads), key=lambda h: outcome.search(h) is None)  # outcomes first
    parts = [" ".join(sup.split()), *heads]
    text = ". ".join(p for p in parts if p) or "figure"
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0].rstrip(" .,;:—-")
    return cut + "…"


# ---- layout ------------------------------------------------------------------------------------------


def _filler_range(mm: AddressSpace) -> tuple[int, int]:
    n = mm.filler_count
    return FILLER_BASE, FILLER_BASE + 2 * P * n


def default_window(mm: AddressSpace, *ranges: tuple[int, int] | None, margin_pages: int = 2) -> tuple[int, int]:
    """A window ``(start, end)`` worth drawing.

    With ranges: their span, widened to the VMAs that reach within 4 pages of it (at most 64 pages
    further), plus ``margin_pages``. Without: the largest cluster of non-filler VMAs (VMAs closer than 64
    pages belong together). Filler VMAs of :meth:`AddressSpace.pad` are never chosen.
    """
    f0, f1 = _filler_range(mm)
    rs = [r for r in ranges if r is not None]
    if rs:
        lo, hi = min(r[0] for r in rs), max(r[1] for r in rs)
        for v in mm.vmas_in(max(lo - 4 * P, 0), hi + 4 * P):
            if f0 <= v.start < f1:
                continue
            lo, hi = min(lo, max(v.start, lo - 64 * P)), max(hi, min(v.end, hi + 64 * P))
        return max(lo - margin_pages * P, 0), hi + margin_pages * P
    vmas = [v for v in mm.vmas() if not (f0 <= v.start < f1)]
    if not vmas:
        return (0, 16 * P)
    clusters: list[list[VMA]] = [[vmas[0]]]
    for v in vmas[1:]:
        if v.start - clusters[-1][-1].end > 64 * P:
            clusters.append([v])
        else:
            clusters[-1].append(v)
    best = max(clusters, key=len)
    return max(best[0].start - margin_pages * P, 0), best[-1].end + margin_pages * P


def _draw_layout(ax: Any, vmas: Sequence[VMA], w0: int, w1: int) -> Any:
    xs, widths, colors = [], [], []
    for v in vmas:
        a, b = max(v.start, w0), min(v.end, w1)
        xs.append((a - w0) / P)
        widths.append((b - a) / P)
        colors.append(PROT_COLORS[prot_key(v.prot)])
    bars = ax.barh([0] * len(vmas), widths, left=xs, height=0.56, color=colors, edgecolor="#222222",
                   linewidth=1.0, label="VMAs")
    for patch, v, x, w in zip(bars.patches, vmas, xs, widths, strict=True):
        if v.shared:
            patch.set_hatch("///")
        if w >= 1.6:
            mark = " *" if v.anon_vma is not None else ""
            ax.text(x + w / 2, 0, v.perms + mark, ha="center", va="center", fontsize=8, color="#111111",
                    clip_on=True, bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.85})
    return bars


def _draw_range(ax: Any, r: tuple[int, int] | None, w0: int, w1: int, y: float, color: str, label: str) -> None:
    if r is None or r[1] < w0 or r[0] > w1:
        return
    a, b = (max(r[0], w0) - w0) / P, (min(r[1], w1) - w0) / P
    ax.plot([a, b], [y, y], color=color, lw=3.2, solid_capstyle="butt", label=label)
    ax.plot([a, a], [y - 0.07, y + 0.07], color=color, lw=1.6)
    ax.plot([b, b], [y - 0.07, y + 0.07], color=color, lw=1.6)


def plot_layout(
    mm_before: AddressSpace,
    mm_after: AddressSpace | None = None,
    *,
    old_range: tuple[int, int] | None = None,
    new_range: tuple[int, int] | None = None,
    window: tuple[int, int] | None = None,
    outcome: Outcome | None = None,
    title: str | None = None,
) -> Figure:
    """Draw the VMAs of an address space (and, optionally, of its state after a call) as bars on a page axis.

    Parameters
    ----------
    mm_before, mm_after:
        The state before and after; ``mm_after=None`` draws one panel.
    old_range, new_range:
        Absolute ``[start, end)`` ranges marked above the bars (e.g. mremap's old range and its destination).
    window:
        Absolute ``(start, end)`` to draw; default :func:`default_window` around the ranges (or around the
        largest cluster of non-filler VMAs). x is the page number relative to ``window[0]``.
    outcome:
        If given, the panel titles and the figure title say what happened (class, errno, failing check).

    Colour = protection, hatching = shared (MAP_SHARED), ``*`` = faulted (has an anon_vma). Only VMAs that
    intersect the window are drawn (one bar each, in ``ax.containers[0]``).
    """
    if window is None:
        window = default_window(mm_before, old_range, new_range)
    w0, w1 = int(window[0]), int(window[1])
    if w1 <= w0:
        raise ValueError(f"empty window {window!r}")
    pages = (w1 - w0) / P
    states = [("before", mm_before)] + ([("after", mm_after)] if mm_after is not None else [])
    fig = _new_figure(min(max(9.0, 0.3 * pages + 3.0), 15.0), 1.5 + 1.35 * len(states))
    axes = fig.subplots(len(states), 1, sharex=True, squeeze=False)[:, 0]
    used_prots: dict[str, None] = {}
    any_shared = any_faulted = False
    for ax, (label, mm) in zip(axes, states, strict=True):
        vmas = mm.vmas_in(w0, w1)
        _draw_layout(ax, vmas, w0, w1)
        for v in vmas:
            used_prots[prot_key(v.prot)] = None
            any_shared |= v.shared
            any_faulted |= v.anon_vma is not None
        _draw_range(ax, old_range, w0, w1, 0.47, "#7b2d8e", "old range")
        _draw_range(ax, new_range, w0, w1, 0.47 if old_range is None else 0.62, "#1f5fbf", "new range")
        ax.set_ylim(-0.5, 0.85)
        ax.set_yticks([])
        ax.set_xlim(0, pages)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=min(int(pages) + 1, 24)))
        ax.grid(axis="x", color="#e6e6e6", lw=0.8)
        ax.set_axisbelow(True)
        free = mm.max_map_count - mm.map_count
        head = f"{label}: map_count {mm.map_count:,}, {free} free slot{'' if free == 1 else 's'}"
        if label == "before" and outcome is not None:
            head = (f"{label}: map_count {outcome.mc_before:,}, {outcome.free_slots} free "
                    f"slot{'' if outcome.free_slots == 1 else 's'}")
        if label == "after" and outcome is not None:
            what = outcome.kind + (f" ({outcome.errname} at {outcome.check})" if outcome.errno else "")
            head += f" — {what}"
            res = outcome.result
            if outcome.op == "mremap" and isinstance(res, int) and not (w0 <= res < w1) and outcome.ok:
                ax.text(0.99, 0.93, f"moved to {res:#x} (outside this window)", transform=ax.transAxes,
                        ha="right", va="top", fontsize=8, color="#1f5fbf")
        ax.set_title(head, loc="left", fontsize=10,
                     color=OUTCOME_TEXT.get(outcome.kind, "black") if (label == "after" and outcome) else "black")
        ax.set_ylabel(label, rotation=0, ha="right", va="center", fontsize=10)
    axes[-1].set_xlabel(f"page (4 KiB) relative to {w0:#x}")
    handles: list[Any] = [Patch(facecolor=PROT_COLORS[k], edgecolor="#222222", label=f"{k} VMA") for k in used_prots]
    if any_shared:
        handles.append(Patch(facecolor="white", edgecolor="#222222", hatch="///", label="shared (MAP_SHARED)"))
    if any_faulted:
        handles.append(Line2D([], [], ls="none", marker="$*$", color="#111111", label="* faulted (anon_vma)"))
    if old_range is not None:
        handles.append(Line2D([], [], color="#7b2d8e", lw=3.2, label="old range"))
    if new_range is not None:
        handles.append(Line2D([], [], color="#1f5fbf", lw=3.2, label="new range"))
    fig.legend(handles=handles, loc="outside lower center", ncols=min(len(handles), 4), fontsize=9, frameon=False)
    if title is None:
        title = f"VMA layout around {w0:#x}" + (" — before and after the call" if mm_after is not None else "")
        if outcome is not None:
            title += f" (kernel {outcome.kernel})"
    _suptitle(fig, title)
    return fig


# ---- trace ------------------------------------------------------------------------------------------


def check_threshold(name: str, max_map_count: int) -> int | None:
    """The smallest map_count at which the named check fails (semantics §3), or None if it has no fixed one.

    Read from the registry of checks (:data:`mmsim.checks.CHECKS`); for ``alt_early`` it is its cheap trigger.

    >>> check_threshold("move_vma_limit", 100), check_threshold("ideal_commit", 100)
    (97, None)
    """
    c = CHECKS.get(name)
    return None if c is None else c.threshold(max_map_count)


def _as_outcomes(outcomes: Outcome | Mapping[str, Outcome] | Iterable[Outcome]) -> list[tuple[str, Outcome]]:
    if isinstance(outcomes, Outcome):
        return [(outcomes.kernel, outcomes)]
    pairs = list(outcomes.items()) if isinstance(outcomes, Mapping) else [(None, o) for o in outcomes]
    if not pairs:
        raise ValueError("no outcomes to plot")
    for _, o in pairs:
        if not isinstance(o, Outcome):
            raise TypeError(f"expected mmsim.Outcome objects, got {type(o).__name__}")
    return [(o.kernel if k is None else str(k), o) for k, o in pairs]


def trace_points(o: Outcome) -> tuple[list[str], list[float], list[int], list[tuple[float, Any]]]:
    """Where a trace chart puts each record of ``o.trace`` (the Figure and the SVG charts share it).

    Returns the x labels, x and y of the depth-0 line (with a ``start`` point at ``o.mc_before``), and
    ``(x, record)`` of every record; a depth-0 step's primitives sit between it and the step before. O(k).
    """
    labels, xs, ys = ["start"], [0.0], [o.mc_before]
    placed: list[tuple[float, Any]] = []
    trace = list(o.trace)
    i = 0
    n_top = 0
    while i < len(trace):
        rec = trace[i]
        if rec.depth == 0:
            n_top += 1
            j = i + 1
            children = []
            while j < len(trace) and trace[j].depth > 0:
                children.append(trace[j])
                j += 1
            for c, child in enumerate(children):
                placed.append((n_top - 1 + (c + 1) / (len(children) + 1), child))
            placed.append((float(n_top), rec))
            labels.append(rec.step + (f" #{rec.piece}" if rec.piece is not None else ""))
            xs.append(float(n_top))
            ys.append(rec.map_count)
            i = j
        else:  # a primitive without a depth-0 parent (not produced by the model, but tolerate it)
            placed.append((n_top + 0.5, rec))
            i += 1
    return labels, xs, ys, placed


def plot_trace(
    outcomes: Outcome | Mapping[str, Outcome] | Iterable[Outcome],
    *,
    title: str | None = None,
    show_primitives: bool = True,
) -> Figure:
    """map_count after every step of a call: one panel per kernel, side by side, sharing the y axis.

    ``outcomes`` is an :class:`~mmsim.Outcome`, a list of them, or ``{label: Outcome}`` (e.g.
    ``{k: scenario.run(k, 3) for k in KERNELS}``). Each panel draws the depth-0 records as a step line
    (x tick labels = step names), the primitives inside a step as small grey dots (transient peaks), the
    lines ``max_map_count`` and ``max + 1``, each check's threshold (the map_count at which it fails) as a
    short bar at the check (green: passed, red: failed), and the failing record as a red X with its errno
    and check (semantics §8).
    """
    items = _as_outcomes(outcomes)
    n = len(items)
    ratios = [max(len(trace_points(o)[0]), 4) for _, o in items]
    fig = _new_figure(min(max(4.5 * n, 0.5 * sum(ratios) + 3.0), 22.0), 5.4)
    axes = fig.subplots(1, n, sharey=True, squeeze=False, gridspec_kw={"width_ratios": ratios})[0]
    lo, hi = math.inf, -math.inf
    maxes = {o.max_map_count for _, o in items}
    for ax, (label, o) in zip(axes, items, strict=True):
        mx = o.max_map_count
        labels, xs, ys, placed = trace_points(o)
        ax.axhline(mx, color=_MAX_COLOR, lw=1.4, label="max_map_count")
        ax.axhline(mx + 1, color=_MAX_COLOR, lw=1.0, ls=":", label="max + 1 (mmap's lenient limit)")
        ax.plot(xs, ys, drawstyle="steps-post", color="#2b4c7e", lw=2.0, marker="o", ms=5, zorder=3,
                label="map_count after each step")
        lo, hi = min(lo, *ys, mx), max(hi, *ys, mx + 1)
        if show_primitives:
            for x, rec in placed:
                if rec.depth > 0:
                    ax.plot([x], [rec.map_count], ls="none", marker=".", ms=6, color="#8a8a8a", zorder=2,
                            label="inside a step (primitive)")
                    lo, hi = min(lo, rec.map_count), max(hi, rec.map_count)
        for x, rec in placed:
            if rec.kind != "check" or rec.passed is None:
                continue
            th = check_threshold(rec.step, mx)
            if th is None:
                continue
            ax.plot([x - 0.32, x + 0.32], [th, th], color=PASSED_COLOR if rec.passed else FAILED_COLOR, lw=2.6,
                    ls="-" if rec.passed else (0, (2, 1)), solid_capstyle="butt", zorder=4,
                    label="check threshold, passed" if rec.passed else "check threshold, failed (dashed)")
            lo, hi = min(lo, th), max(hi, th)
        fail = o.trace.failure
        if fail is not None:
            x = next(px for px, rec in placed if rec is fail)
            (mark,) = ax.plot([x], [fail.map_count], ls="none", marker="X", ms=13, color=FAILED_COLOR,
                              markeredgecolor="white", zorder=6, label="failure")
            mark.set_gid("failure")
            name = _errno.errorcode.get(fail.errno or 0, str(fail.errno))
            ax.annotate(f"{name} at\n{fail.step}", (x, fail.map_count), xytext=(-8, 26), textcoords="offset points",
                        ha="right", va="bottom", fontsize=8.5, color=OUTCOME_TEXT["PARTIAL_FAIL"], zorder=7,
                        bbox={"boxstyle": "round,pad=0.25", "fc": "white", "ec": OUTCOME_TEXT["PARTIAL_FAIL"],
                              "lw": 0.6, "alpha": 0.9},
                        arrowprops={"arrowstyle": "-", "color": OUTCOME_TEXT["PARTIAL_FAIL"], "lw": 0.8})
        ax.set_xticks(xs, labels, rotation=55, ha="right", rotation_mode="anchor", fontsize=8)
        ax.set_xlim(-0.5, max(xs) + 0.5)
        ax.grid(axis="y", color="#e6e6e6", lw=0.8)
        ax.set_axisbelow(True)
        name = f"kernel {label}" if label in KERNELS else label
        head = f"{name}: {o.kind}" + (f"\n{o.errname} at {o.check}" if o.errno else "\n")
        ax.set_title(head, fontsize=10, color=OUTCOME_TEXT.get(o.kind, "black"))
        ax.text(0.02, 0.02, f"{o.mc_before:,} → {o.mc_after:,}", transform=ax.transAxes, fontsize=8, color=GREY)
    axes[0].set_ylabel("map_count (VMAs)")
    axes[0].yaxis.set_major_locator(MaxNLocator(integer=True))
    axes[0].yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{int(v):,}"))
    pad = 3 if n == 1 else 2
    axes[0].set_ylim(lo - pad, hi + 1.5)
    if len(maxes) == 1:
        mx = maxes.pop()
        sec = axes[-1].secondary_yaxis("right", functions=(lambda y: mx - y, lambda s: mx - s))
        sec.set_ylabel("free slots (max_map_count − map_count)")
        sec.yaxis.set_major_locator(MaxNLocator(integer=True))
    handles, seen = [], set()
    for ax in axes:
        for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
            if lab not in seen:
                seen.add(lab)
                handles.append(h)
    # as many columns as the figure's width holds (an entry is up to ~2.4 in wide at 8.5 pt)
    fig.legend(handles=handles, loc="outside lower center", fontsize=8.5, frameon=False,
               ncols=max(1, min(len(handles), 3, int(fig.get_figwidth() / 2.4))))
    if title is None:
        o0 = items[0][1]
        title = (f"map_count at each step of {o0.op} — {o0.free_slots} free slot{'' if o0.free_slots == 1 else 's'}, "
                 f"max_map_count {o0.max_map_count:,}")
    _suptitle(fig, title)
    return fig


# ---- sweeps -----------------------------------------------------------------------------------------


def _kernel_order(df: pd.DataFrame, kernels: Sequence[str] | None) -> list[str]:
    present = list(dict.fromkeys(df["kernel"]))
    if kernels is not None:
        return [k for k in kernels if k in present]
    return [k for k in KERNELS if k in present] + [k for k in present if k not in KERNELS]


def _require(df: pd.DataFrame, cols: Iterable[str]) -> None:
    missing = set(cols) - set(df.columns)
    if missing:
        raise ValueError(f"not a sweep frame (mmsim.experiments.sweep): missing column(s) {', '.join(sorted(missing))}")
    if df.empty:
        raise ValueError("the sweep frame is empty")


def _outcome_cells(ax: Axes, sub: pd.DataFrame, rows: Sequence[str], col: str, cols: Sequence[Any],
                   ms: float) -> None:
    """Draw one outcome heatmap: ``rows`` scenarios × values ``cols`` of column ``col`` (one image), with a
    white dot on each PARTIAL_FAIL that is also a false positive. Cells ``sub`` lacks stay white."""
    code = {k: i for i, k in enumerate(OUTCOMES)}
    r_index = {s: i for i, s in enumerate(rows)}
    c_index = {v: i for i, v in enumerate(cols)}
    cells = np.full((len(rows), len(cols)), np.nan)
    fp_r, fp_c = [], []
    for s, v, oc, fp in zip(sub["scenario"], sub[col], sub["outcome"], sub["fp"], strict=True):
        r, c = r_index[s], c_index[v]
        cells[r, c] = code[oc]
        if oc == "PARTIAL_FAIL" and fp:
            fp_r.append(r)
            fp_c.append(c)
    cmap = ListedColormap([OUTCOME_COLORS[k] for k in OUTCOMES]).with_extremes(bad="white")
    ax.imshow(np.ma.masked_invalid(cells), cmap=cmap, vmin=-0.5, vmax=len(OUTCOMES) - 0.5, aspect="auto",
              interpolation="nearest")
    pr, pc = np.nonzero(np.equal(cells, next(i for k, i in code.items() if k == "PARTIAL_FAIL")))
    if len(pr):  # the second cue: PARTIAL_FAIL cells are hatched as well as coloured
        ax.add_collection(PatchCollection([Rectangle((c - 0.5, r - 0.5), 1, 1) for r, c in zip(pr, pc, strict=True)],
                                          facecolor="none", edgecolor="white", linewidth=0, hatch=PARTIAL_HATCH,
                                          gid="partial-hatch"))
    if fp_r:
        ax.plot(fp_c, fp_r, ls="none", marker="o", ms=ms, color="white", markeredgecolor="#5a0d0d",
                markeredgewidth=0.5)


def _outcome_patches() -> list[Any]:
    return [Patch(facecolor=OUTCOME_COLORS[k], edgecolor="white", hatch=PARTIAL_HATCH if k == "PARTIAL_FAIL" else None,
                  label=OUTCOME_LABELS[k]) for k in OUTCOMES]


def plot_outcome_map(df: pd.DataFrame, *, kernels: Sequence[str] | None = None, title: str | None = None) -> Figure:
    """One heatmap per kernel: scenarios (rows) × free slots (columns), coloured by outcome class.

    Colours are fixed (:data:`mmsim.palette.OUTCOME_COLORS`): OK blue, FALSE_POSITIVE amber, CLEAN_FAIL grey,
    PARTIAL_FAIL dark vermillion and hatched; a white dot marks a PARTIAL_FAIL that is also a false positive
    (``fp``). Cells the frame lacks stay white. Each panel holds exactly one image (``ax.images[0]``).
    """
    _require(df, ("scenario", "kernel", "free_slots", "outcome", "fp"))
    ks = _kernel_order(df, kernels)
    if not ks:
        raise ValueError("none of the requested kernels is in the frame")
    scen = list(dict.fromkeys(df["scenario"]))
    free_slots = sorted(df["free_slots"].unique())
    ncols = min(3, len(ks))
    nrows = math.ceil(len(ks) / ncols)
    cell_w = min(0.3, 5.0 / max(len(free_slots), 1))
    width = 2.0 + ncols * (len(free_slots) * cell_w + 0.6) + 2.6
    height = nrows * (0.24 * len(scen) + 1.3) + 0.6
    fig = _new_figure(min(width, 20.0), min(height, 40.0))
    axes = fig.subplots(nrows, ncols, squeeze=False, sharey=True)
    for n, k in enumerate(ks):
        ax = axes[n // ncols][n % ncols]
        _outcome_cells(ax, df[df["kernel"] == k], scen, "free_slots", free_slots, ms=3.2)
        ax.set_title(f"kernel {k}", fontsize=10)
        step = max(1, math.ceil(len(free_slots) / 9))
        ax.set_xticks(range(0, len(free_slots), step), [str(free_slots[i]) for i in range(0, len(free_slots), step)],
                      fontsize=8)
        ax.set_yticks(range(len(scen)), scen, fontsize=8)
        ax.set_xticks(np.arange(-0.5, len(free_slots), 1), minor=True)
        ax.set_yticks(np.arange(-0.5, len(scen), 1), minor=True)
        ax.grid(which="minor", color="white", lw=0.6)
        ax.tick_params(which="minor", length=0)
        if n // ncols == nrows - 1 or n + ncols >= len(ks):
            ax.set_xlabel("free slots (max_map_count − map_count)", fontsize=9)
    for n in range(len(ks), nrows * ncols):
        axes[n // ncols][n % ncols].set_visible(False)
    handles: list[Any] = _outcome_patches()
    handles.append(Line2D([], [], ls="none", marker="o", ms=5, color="white", markeredgecolor="#5a0d0d",
                          label="PARTIAL_FAIL that is also\na false positive (fp)"))
    fig.legend(handles=handles, loc="outside right upper", fontsize=9, frameon=False, title="outcome")
    if title is None:
        mx = sorted(df["max_map_count"].unique()) if "max_map_count" in df.columns else []
        title = "Outcome of each scenario by free slots" + (f" (max_map_count {mx[0]:,})" if len(mx) == 1 else "")
    _suptitle(fig, title)
    return fig


def plot_fp_rate(df: pd.DataFrame, *, kernels: Sequence[str] | None = None, title: str | None = None) -> Figure:
    """Bars per kernel: share of cases that were FALSE_POSITIVE, that failed with ``fp`` in any way
    (FALSE_POSITIVE or a PARTIAL_FAIL that is a false positive), and that were PARTIAL_FAIL."""
    from .experiments import false_positive_rate, partial_failure_rate

    _require(df, ("kernel", "outcome", "fp"))
    ks = _kernel_order(df, kernels)
    fp = false_positive_rate(df).reindex(ks).fillna(0.0) * 100
    fp_any = false_positive_rate(df, include_partial=True).reindex(ks).fillna(0.0) * 100
    pf = partial_failure_rate(df).reindex(ks).fillna(0.0) * 100
    fig = _new_figure(max(6.5, 1.25 * len(ks) + 2.5), 4.6)
    ax = fig.subplots()
    x = np.arange(len(ks))
    w = 0.27
    series = [
        (fp, -w, OUTCOME_COLORS["FALSE_POSITIVE"], None, "FALSE_POSITIVE (refused needlessly, nothing changed)"),
        (fp_any, 0.0, "white", "////", "any false positive (also PARTIAL_FAIL with fp)"),
        (pf, w, OUTCOME_COLORS["PARTIAL_FAIL"], None, "PARTIAL_FAIL (failed after changing the address space)"),
    ]
    top = 0.0
    for values, dx, color, hatch, label in series:
        bars = ax.bar(x + dx, values.to_numpy(), w, color=color, edgecolor=OUTCOME_COLORS["FALSE_POSITIVE"]
                      if hatch else "#333333", hatch=hatch, linewidth=0.9, label=label)
        ax.bar_label(bars, fmt="%.1f", fontsize=7.5, padding=1.5)
        top = max(top, float(values.max()))
    ax.set_xticks(x, [f"kernel {k}" for k in ks])
    ax.set_ylabel("share of cases (%)")
    ax.set_ylim(0, max(5.0, top * 1.18))
    ax.grid(axis="y", color="#e6e6e6", lw=0.8)
    ax.set_axisbelow(True)
    fig.legend(loc="outside upper center", ncols=1, fontsize=8.5, frameon=False)
    n = len(df[df["kernel"] == ks[0]]) if ks else 0
    if title is None:
        title = f"Needless refusals and half-done failures per kernel ({n} cases each)"
    ax.set_title(wrap_title(title, fig.get_figwidth(), 11), fontsize=11)
    return fig


# ---- the sysctl as the x axis ----------------------------------------------------------------------


def plot_failure_points(
    points: Mapping[str, Sequence[Any]],
    steps: Mapping[str, Sequence[str]],
    max_map_count: int,
    map_count: int,
    *,
    title: str | None = None,
) -> Figure:
    """Where a call stops, by ``vm.max_map_count``: one panel per kernel, stacked, sharing the x axis.

    ``points[kernel]`` are :class:`mmsim.svg.StopPoint` records (``max_map_count``, ``step``, ``outcome``,
    ``fp``) and ``steps[kernel]`` the kernel's depth-0 steps in call order (y, top to bottom, then
    ``completed``), as :func:`mmsim.widgets.failure_points` returns them. Markers are coloured by outcome
    class; the chosen ``max_map_count`` is a red vertical line (``gid="limit"``); a second x axis gives the
    free slots (``max_map_count - map_count``).
    """
    ks = list(points)
    if not ks:
        raise ValueError("no kernels to plot")
    heights = [len(steps[k]) + 1 for k in ks]
    fig = _new_figure(10.0, min(2.0 + 0.26 * sum(heights) + 0.5 * len(ks), 30.0))
    axes = fig.subplots(len(ks), 1, sharex=True, squeeze=False, gridspec_kw={"height_ratios": heights})[:, 0]
    for ax, k in zip(axes, ks, strict=True):
        names = list(steps[k]) + ["completed"]
        pts = sorted(points[k], key=lambda p: p.max_map_count)
        xs = [p.max_map_count for p in pts]
        ys = [names.index(p.step) for p in pts]
        ax.plot(xs, ys, color="#aaaaaa", lw=1.0, zorder=1)
        for kind in OUTCOMES:
            sel = [(x, y) for x, y, p in zip(xs, ys, pts, strict=True) if p.outcome == kind]
            if sel:
                ax.scatter([x for x, _ in sel], [y for _, y in sel], s=70 if kind == "PARTIAL_FAIL" else 46,
                           marker=OUTCOME_MARKERS[kind], color=OUTCOME_COLORS[kind], zorder=3,
                           edgecolors="#333333", linewidths=0.5, label=OUTCOME_LABELS[kind])
        line = ax.axvline(max_map_count, color=_MAX_COLOR, lw=1.6, zorder=2, label="chosen max_map_count")
        line.set_gid("limit")
        ax.set_yticks(range(len(names)), names, fontsize=8)
        ax.set_ylim(len(names) - 0.5, -0.5)
        ax.grid(axis="y", color="#eeeeee", lw=0.8)
        ax.set_title(f"kernel {k}", loc="left", fontsize=10)
    axes[-1].set_xlabel("vm.max_map_count")
    axes[-1].xaxis.set_major_locator(MaxNLocator(integer=True))
    axes[-1].xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{int(v):,}"))
    sec = axes[0].secondary_xaxis("top", functions=(lambda m: m - map_count, lambda s: s + map_count))
    sec.set_xlabel(f"free slots (the process holds {map_count:,} VMAs)", fontsize=9)
    sec.xaxis.set_major_locator(MaxNLocator(integer=True))
    handles, seen = [], set()
    for ax in axes:
        for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
            if lab not in seen:
                seen.add(lab)
                handles.append(h)
    fig.legend(handles=handles, loc="outside lower center", ncols=3, fontsize=8.5, frameon=False)
    _suptitle(fig, title or f"Where the call stops, by max_map_count (process of {map_count:,} VMAs)")
    return fig


def plot_limit_outcomes(
    df: pd.DataFrame,
    max_map_count: int | None = None,
    *,
    kernels: Sequence[str] | None = None,
    title: str | None = None,
) -> Figure:
    """Outcome maps over scenario × ``vm.max_map_count`` (one heatmap per kernel) and, below them, the share
    of cases refused needlessly per kernel against the limit.

    ``df`` has one process size and many limits (:func:`mmsim.widgets.sweep_limits`). Colours as
    :func:`plot_outcome_map`; a white dot marks a PARTIAL_FAIL that is a false positive. The chosen
    ``max_map_count`` is outlined in every map and drawn as a red line (``gid="limit"``) in the rate panel,
    whose lines hold one point per limit (share of FALSE_POSITIVE plus PARTIAL_FAIL with ``fp``, in %).
    """
    _require(df, ("scenario", "kernel", "max_map_count", "outcome", "fp", "mc_before"))
    ks = _kernel_order(df, kernels)
    if not ks:
        raise ValueError("none of the requested kernels is in the frame")
    scen = list(dict.fromkeys(df["scenario"]))
    limits = sorted(int(m) for m in df["max_map_count"].unique())
    mc = int(df["mc_before"].iloc[0])
    ncols = min(3, len(ks))
    nrows = math.ceil(len(ks) / ncols)
    map_h = 0.2 * len(scen) + 1.0
    fig = _new_figure(min(3.0 + ncols * (0.22 * len(limits) + 0.8) + 2.8, 20.0), min(nrows * map_h + 3.6, 40.0))
    grid = fig.add_gridspec(nrows + 1, ncols, height_ratios=[map_h] * nrows + [2.6])
    for n, k in enumerate(ks):
        ax = fig.add_subplot(grid[n // ncols, n % ncols])
        _outcome_cells(ax, df[df["kernel"] == k], scen, "max_map_count", limits, ms=3.0)
        if max_map_count in limits:
            c = limits.index(max_map_count)
            mark = ax.add_patch(Rectangle((c - 0.5, -0.5), 1, len(scen), fill=False, ec="#111111", lw=1.6))
            mark.set_gid("limit")
        ax.set_title(f"kernel {k}", fontsize=10)
        step = max(1, math.ceil(len(limits) / 5))
        ax.set_xticks(range(0, len(limits), step), [f"{limits[i]:,}" for i in range(0, len(limits), step)],
                      fontsize=7.5, rotation=45, ha="right", rotation_mode="anchor")
        ax.set_xlabel("vm.max_map_count", fontsize=8)
        ax.set_yticks(range(len(scen)), scen if n % ncols == 0 else [], fontsize=7.5)
    rate_ax = fig.add_subplot(grid[nrows, :])
    mask = df["outcome"].eq("FALSE_POSITIVE") | (df["outcome"].eq("PARTIAL_FAIL") & df["fp"].astype(bool))
    rate = mask.groupby([df["kernel"], df["max_map_count"]]).mean() * 100
    for n, k in enumerate(ks):
        color, dash, marker = kernel_style(n)
        rate_ax.plot(limits, [float(rate.get((k, m), 0.0)) for m in limits], marker=marker, ms=4, lw=1.6,
                     color=color, dashes=[float(d) for d in dash.split(",")] if dash else [], label=f"kernel {k}")
    if max_map_count is not None:
        rate_ax.axvline(max_map_count, color=_MAX_COLOR, lw=1.6, label="chosen max_map_count").set_gid("limit")
    rate_ax.set_xlabel(f"vm.max_map_count (the process holds {mc:,} VMAs)")
    rate_ax.set_ylabel("refused needlessly (%)")
    rate_ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    rate_ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{int(v):,}"))
    rate_ax.grid(color="#e6e6e6", lw=0.8)
    rate_ax.legend(fontsize=8, ncols=min(len(ks) + 1, 4), frameon=False, loc="upper right")
    handles: list[Any] = _outcome_patches()
    handles.append(Line2D([], [], ls="none", marker="o", ms=5, color="white", markeredgecolor="#5a0d0d",
                          label="PARTIAL_FAIL that is also\na false positive (fp)"))
    fig.legend(handles=handles, loc="outside right upper", fontsize=8.5, frameon=False, title="outcome")
    _suptitle(fig, title or f"Outcome by scenario and max_map_count (process of {mc:,} VMAs)")
    return fig


# ---- notebook display ---------------------------------------------------------------------------


def figure_png(fig: Figure, dpi: int = 100) -> bytes:
    """The figure as PNG bytes.

    No ``bbox_inches="tight"``: every figure here uses constrained layout with ``"outside"`` legends, which
    already keeps legends inside the canvas, and a tight bounding box would draw the figure twice.
    """
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Title": figure_alt(fig), "Description": figure_alt(fig)})
    return buf.getvalue()


def _register_ipython_display() -> None:
    """Let a ``Figure()`` made without pyplot display as PNG in IPython/Jupyter.

    The inline backend registers such a formatter only once pyplot is imported; these figures never touch
    pyplot. Nothing happens outside IPython, or if a formatter for Figure is already registered.
    """
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with ipywidgets
        return
    ip = get_ipython()
    if ip is None:
        return
    fmt = ip.display_formatter.formatters.get("image/png")
    if fmt is not None and Figure not in fmt.type_printers:
        fmt.for_type(Figure, figure_png)


_register_ipython_display()


# ---- the capstone's trade-off plot (notebook 09; appended) ---------------------------------------------

#: Marker colour of the profile the learner built (any name not in :data:`mmsim.KERNELS`).
OWN_PROFILE_COLOR = "#7b3294"


def plot_tradeoff(data: pd.DataFrame, *, kernels: Sequence[str] | None = None, title: str | None = None,
                  frontier: str = "ideal") -> Figure:
    """The trade-off every early check makes: one point per profile, x = share of cases that failed half-way
    (PARTIAL_FAIL), y = share refused needlessly (FALSE_POSITIVE), both in %.

    ``data`` is a sweep frame (:func:`mmsim.experiments.sweep` or :func:`~mmsim.experiments.sweep_profiles`)
    or the table :func:`mmsim.experiments.tradeoff_table` makes of one. The ``frontier`` profile (default
    ``ideal``, which by construction neither fails half-way nor refuses needlessly, semantics §3.5.9) is drawn
    as a star with dashed guides: the corner no real check can beat. Profiles outside :data:`mmsim.KERNELS`
    (your own) are drawn in :data:`OWN_PROFILE_COLOR`.

    >>> from mmsim.experiments import sweep
    >>> fig = plot_tradeoff(sweep(["seed-W", "seed-S"], ["5.0", "5.1", "ideal"], free_slots=range(0, 9)))
    >>> ax = fig.axes[0]; ax.get_xlabel(), ax.get_ylabel()
    ('cases that failed half-way: PARTIAL_FAIL (%)', 'cases refused needlessly: FALSE_POSITIVE (%)')
    >>> sorted(t.get_text() for t in ax.texts)[:2]
    ['5.0', '5.1']
    """
    from .experiments import tradeoff_table

    if {"partial_failure_rate", "false_positive_rate"} <= set(data.columns):
        table = data if kernels is None else data.loc[[k for k in kernels if k in data.index]]
    else:
        _require(data, ("kernel", "outcome", "fp"))
        table = tradeoff_table(data, _kernel_order(data, kernels))
    if table.empty:
        raise ValueError("nothing to plot: no profile in the table")
    x = table["partial_failure_rate"].astype(float) * 100
    y = table["false_positive_rate"].astype(float) * 100
    fig = _new_figure(6.8, 4.8)
    ax = fig.subplots()
    top_x, top_y = max(5.0, float(x.max()) * 1.25), max(5.0, float(y.max()) * 1.25)
    for name in table.index:
        px, py = float(x[name]), float(y[name])
        if name == frontier:
            ax.axvline(px, color="#2ca25f", lw=0.9, ls="--", zorder=1)
            ax.axhline(py, color="#2ca25f", lw=0.9, ls="--", zorder=1)
            ax.scatter([px], [py], s=220, marker="*", color="#2ca25f", edgecolor="#1b6e3c", zorder=4,
                       label=f"{name}: the frontier (no partial state, no needless refusal)")
        else:
            own = name not in KERNELS
            ax.scatter([px], [py], s=70, marker="D" if own else "o", color=OWN_PROFILE_COLOR if own else "#4c72b0",
                       edgecolor="#222222", zorder=3)
    # one label per point: profiles with the same rates share it ("5.1 = mine")
    labels: dict[tuple[float, float], list[str]] = {}
    for name in table.index:
        labels.setdefault((round(float(x[name]), 6), round(float(y[name]), 6)), []).append(str(name))
    for (px, py), names in labels.items():
        own = any(n not in KERNELS and n != frontier for n in names)
        ax.annotate(" = ".join(names), (px, py), xytext=(6, 5), textcoords="offset points", fontsize=9,
                    color=OWN_PROFILE_COLOR if own else "#222222")
    ax.set_xlim(-0.04 * top_x, top_x)
    ax.set_ylim(-0.04 * top_y, top_y)
    ax.set_xlabel("cases that failed half-way: PARTIAL_FAIL (%)")
    ax.set_ylabel("cases refused needlessly: FALSE_POSITIVE (%)")
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g} %"))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g} %"))
    ax.grid(color="#e6e6e6", lw=0.8)
    ax.set_axisbelow(True)
    if frontier in table.index:
        fig.legend(loc="outside lower center", fontsize=8.5, frameon=False)
    n = int(table["cases"].iloc[0]) if "cases" in table.columns else None
    if title is None:
        title = "Partial failures vs. needless refusals" + (f" ({n} cases per profile)" if n else "")
    ax.set_title(wrap_title(title, fig.get_figwidth(), 11), fontsize=11)
    return fig


__all__ += ["OWN_PROFILE_COLOR", "plot_tradeoff"]  # appended with the function above
