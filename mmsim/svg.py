"""SVG charts for the live explorers: drawn by the browser, made here as plain strings (no dependency).

The one job of this module: turn what an explorer computed (outcomes, layouts, sweep rows) into a small
self-contained ``<svg>`` that an ``ipywidgets.HTML`` shows. A matplotlib PNG of the same figure takes
0.2-1.5 s to render in the kernel; these strings take a few milliseconds, and the browser draws them in
a few more, so a slider answers within 100 ms (see ``benchmarks/bench_widgets.py``). The matplotlib
figures of :mod:`mmsim.plots` remain the static, printable versions (notebook images, the website, tests).

Every chart marks what the tests and the browser tier look for with ``data-*`` attributes and classes:
``data-max-map-count`` on the root, ``class="limit"`` on the max_map_count line, ``class="failure"`` on a
failing step, ``data-kernel``/``data-outcome`` on per-kernel panels and cells.
"""

from __future__ import annotations

import errno as _errno
import html
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .outcome import OUTCOMES, Outcome
from .plots import OUTCOME_COLORS, PROT_COLORS, check_threshold, prot_key, trace_points

__all__ = [
    "Svg",
    "failure_points_svg",
    "layout_svg",
    "message_svg",
    "outcome_map_svg",
    "trace_svg",
]

LIMIT_COLOR = "#c0392b"
INK = "#222222"
GREY = "#777777"
GRID = "#e8e8e8"
FONT = "font-family:sans-serif"
KERNEL_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f")


def esc(text: Any) -> str:
    """``text`` escaped for SVG/HTML text and attribute values."""
    return html.escape(str(text), quote=True)


def num(v: int) -> str:
    """An int with thousands separators (``65,530``), the way the readouts print counts."""
    return f"{v:,}"


@dataclass
class Svg:
    """An SVG document being written: elements are appended as strings, :meth:`render` closes it."""

    width: float
    height: float
    attrs: Mapping[str, Any] = field(default_factory=dict)
    parts: list[str] = field(default_factory=list)

    def add(self, element: str) -> None:
        self.parts.append(element)

    def text(self, x: float, y: float, text: Any, *, size: float = 11, anchor: str = "start", color: str = INK,
             weight: str = "normal", rotate: float | None = None, cls: str | None = None) -> None:
        rot = f' transform="rotate({rotate:.0f} {x:.1f} {y:.1f})"' if rotate else ""
        c = f' class="{esc(cls)}"' if cls else ""
        self.add(f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" fill="{color}" '
                 f'font-weight="{weight}"{rot}{c}>{esc(text)}</text>')

    def line(self, x1: float, y1: float, x2: float, y2: float, *, color: str = INK, width: float = 1.0,
             dash: str | None = None, cls: str | None = None, extra: str = "") -> None:
        d = f' stroke-dasharray="{dash}"' if dash else ""
        c = f' class="{esc(cls)}"' if cls else ""
        self.add(f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="{color}" '
                 f'stroke-width="{width}"{d}{c}{extra}/>')

    def rect(self, x: float, y: float, w: float, h: float, *, fill: str, stroke: str | None = None,
             extra: str = "") -> None:
        s = f' stroke="{stroke}" stroke-width="1"' if stroke else ""
        self.add(f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(w, 0):.1f}" height="{max(h, 0):.1f}" '
                 f'fill="{fill}"{s}{extra}/>')

    def render(self) -> str:
        extra = "".join(f' {k}="{esc(v)}"' for k, v in self.attrs.items())
        return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{self.width:.0f}" height="{self.height:.0f}" '
                f'viewBox="0 0 {self.width:.0f} {self.height:.0f}" style="{FONT};background:white"{extra}>'
                + "".join(self.parts) + "</svg>")


def _ticks(lo: float, hi: float, target: int = 8) -> list[int]:
    """Integer ticks from ``ceil(lo)`` to ``floor(hi)``, about ``target`` of them."""
    span = max(hi - lo, 1.0)
    step = max(1, int(10 ** math.floor(math.log10(span / target))))
    for m in (1, 2, 5, 10):
        if span / (step * m) <= target:
            step *= m
            break
    first = math.ceil(lo / step) * step
    return list(range(int(first), int(math.floor(hi)) + 1, step))


def message_svg(text: str, width: int = 520) -> str:
    """A small SVG that only says ``text`` (instead of a chart when there is nothing to draw)."""
    svg = Svg(width, 60, {"class": "mmsim-message"})
    svg.text(width / 2, 34, text, size=13, anchor="middle", color="#555555")
    return svg.render()


def _legend(svg: Svg, x: float, y: float, items: Sequence[tuple[str, str]], *, max_width: float) -> float:
    """Coloured squares with labels, wrapped to ``max_width``; returns the y below the legend."""
    cx, cy = x, y
    for color, label in items:
        w = 18 + 6.2 * len(label) + 14
        if cx + w > x + max_width and cx > x:
            cx, cy = x, cy + 16
        svg.rect(cx, cy - 9, 11, 11, fill=color, stroke="#444444")
        svg.text(cx + 16, cy, label, size=10.5)
        cx += w
    return cy + 14


def _outcome_legend(svg: Svg, x: float, y: float, max_width: float, *, fp_dot: bool = False) -> float:
    labels = {"OK": "OK", "FALSE_POSITIVE": "FALSE_POSITIVE (refused needlessly)",
              "CLEAN_FAIL": "CLEAN_FAIL (refused, nothing changed)", "PARTIAL_FAIL": "PARTIAL_FAIL (failed half-way)"}
    bottom = _legend(svg, x, y, [(OUTCOME_COLORS[k], labels[k]) for k in OUTCOMES], max_width=max_width)
    if fp_dot:
        svg.add(f'<circle cx="{x + 5:.1f}" cy="{bottom - 3:.1f}" r="3.5" fill="white" stroke="#5a0d0d"/>')
        svg.text(x + 16, bottom + 1, "PARTIAL_FAIL that is also a false positive (fp)", size=10.5)
        bottom += 16
    return bottom


# ---- trace ---------------------------------------------------------------------------------------------


def trace_svg(outcomes: Mapping[str, Outcome], *, title: str) -> str:
    """map_count at each step of the call, one panel per kernel, sharing an absolute y axis.

    Draws the depth-0 steps as a step line, primitives as grey dots, ``max_map_count`` (red line, class
    ``limit``) and ``max + 1`` (dotted), each check's threshold as a short bar (green passed, red failed) and
    the failing step as a red X (class ``failure``) with its errno and check; the last panel has a second
    axis in free slots (``max_map_count - map_count``).
    """
    items = list(outcomes.items())
    mx = items[0][1].max_map_count
    points = {k: trace_points(o) for k, o in items}
    lo, hi = math.inf, -math.inf
    for k, o in items:
        labels, xs, ys, placed = points[k]
        vals = list(ys) + [o.max_map_count, o.max_map_count + 1]
        vals += [rec.map_count for _, rec in placed if rec.depth > 0]
        vals += [t for _, rec in placed if rec.kind == "check" and rec.passed is not None
                 for t in [check_threshold(rec.step, o.max_map_count)] if t is not None]
        lo, hi = min(lo, *vals), max(hi, *vals)
    lo, hi = lo - 1.5, hi + 1.5
    top, plot_h, bottom = 58, 270, 118
    left, right, gap = 64, 70, 18
    widths = [max(170.0, 36.0 + 31.0 * len(points[k][0])) for k, _ in items]
    width = left + sum(widths) + gap * (len(items) - 1) + right
    svg = Svg(width, top + plot_h + bottom, {"data-max-map-count": mx, "class": "mmsim-trace"})
    svg.text(width / 2, 18, title, size=13, anchor="middle", weight="bold")

    def y_of(v: float) -> float:
        return top + plot_h * (hi - v) / (hi - lo)

    ticks = _ticks(lo, hi, 9)
    x0: float = left
    for n, ((k, o), w) in enumerate(zip(items, widths, strict=True)):
        labels, xs, ys, placed = points[k]
        nx = max(xs) + 1.0

        def x_of(v: float, x0: float = x0, w: float = w, nx: float = nx) -> float:
            return x0 + w * (v + 0.5) / nx

        svg.add(f'<g data-kernel="{esc(k)}" data-outcome="{esc(o.kind)}">')
        svg.rect(x0, top, w, plot_h, fill="white", stroke="#bbbbbb")
        for t in ticks:
            svg.line(x0, y_of(t), x0 + w, y_of(t), color=GRID)
        omx = o.max_map_count
        svg.line(x0, y_of(omx), x0 + w, y_of(omx), color=LIMIT_COLOR, width=1.6, cls="limit",
                 extra=f' data-value="{omx}"')
        svg.line(x0, y_of(omx + 1), x0 + w, y_of(omx + 1), color=LIMIT_COLOR, width=1.0, dash="2,3")
        if n == 0:
            svg.text(x0 + 4, y_of(omx) - 4, f"max_map_count {num(omx)}", size=10, color=LIMIT_COLOR)
        path = [f"M{x_of(xs[0]):.1f},{y_of(ys[0]):.1f}"]
        for i in range(1, len(xs)):
            path.append(f"H{x_of(xs[i]):.1f}V{y_of(ys[i]):.1f}")
        svg.add(f'<path d="{"".join(path)}" fill="none" stroke="#2b4c7e" stroke-width="2"/>')
        for x, y in zip(xs, ys, strict=True):
            svg.add(f'<circle cx="{x_of(x):.1f}" cy="{y_of(y):.1f}" r="3.6" fill="#2b4c7e"/>')
        for x, rec in placed:
            if rec.depth > 0:
                svg.add(f'<circle cx="{x_of(x):.1f}" cy="{y_of(rec.map_count):.1f}" r="2.4" fill="#8a8a8a"/>')
            if rec.kind == "check" and rec.passed is not None:
                th = check_threshold(rec.step, omx)
                if th is not None:
                    color = "#2ca25f" if rec.passed else "#d62728"
                    svg.line(x_of(x - 0.32), y_of(th), x_of(x + 0.32), y_of(th), color=color, width=3,
                             cls="threshold", extra=f' data-check="{esc(rec.step)}" data-value="{th}"')
        fail = o.trace.failure
        if fail is not None:
            fx = next(px for px, rec in placed if rec is fail)
            cx, cy = x_of(fx), y_of(fail.map_count)
            name = _errno.errorcode.get(fail.errno or 0, str(fail.errno))
            svg.add(f'<g class="failure" data-step="{esc(fail.step)}"><path d="M{cx - 6:.1f},{cy - 6:.1f}'
                    f'L{cx + 6:.1f},{cy + 6:.1f}M{cx - 6:.1f},{cy + 6:.1f}L{cx + 6:.1f},{cy - 6:.1f}" '
                    f'stroke="#d62728" stroke-width="3.5"/></g>')
            anchor = "end" if cx > x0 + w / 2 else "start"
            svg.text(cx + (-9 if anchor == "end" else 9), cy - 10, f"{name} at {fail.step}", size=10,
                     anchor=anchor, color="#b01c1c")
        for x, lab in zip(xs, labels, strict=True):
            svg.text(x_of(x) + 3, top + plot_h + 12, lab, size=9.5, anchor="end", rotate=-40)
        head = f"kernel {k}: {o.kind}"
        svg.text(x0 + w / 2, top - 22, head, size=11.5, anchor="middle", weight="bold",
                 color=OUTCOME_COLORS.get(o.kind, INK))
        svg.text(x0 + w / 2, top - 8, f"{o.errname} at {o.check}" if o.errno else f"{num(o.mc_before)} → "
                 f"{num(o.mc_after)}", size=10, anchor="middle", color=GREY)
        svg.add("</g>")
        x0 += w + gap
    for t in ticks:
        svg.text(left - 5, y_of(t) + 3.5, num(t), size=9.5, anchor="end")
        svg.text(x0 - gap + 5, y_of(t) + 3.5, str(mx - t), size=9.5, color=GREY)
    svg.text(14, top + plot_h / 2, "map_count (VMAs)", size=11, anchor="middle", rotate=-90)
    svg.text(width - 14, top + plot_h / 2, "free slots (max_map_count − map_count)", size=10.5, anchor="middle",
             rotate=90, color=GREY)
    items_legend = [("#2b4c7e", "map_count after each step"), ("#8a8a8a", "inside a step"),
                    (LIMIT_COLOR, "max_map_count (dotted: max + 1)"), ("#2ca25f", "check threshold, passed"),
                    ("#d62728", "check threshold, failed / failure")]
    _legend(svg, left, top + plot_h + 104, items_legend, max_width=width - left - right)
    return svg.render()


# ---- layout ---------------------------------------------------------------------------------------------


def layout_svg(states: Sequence[tuple[str, Any, str]], window: tuple[int, int], *, title: str,
               old_range: tuple[int, int] | None = None, new_range: tuple[int, int] | None = None,
               outcome: Outcome | None = None, subtitle: str = "") -> str:
    """VMAs as bars on a page axis, one row per ``(label, address space, heading)`` (before, after).

    Colour = protection, hatching = shared, ``*`` = faulted; the call's old and new ranges are marked above
    the bars.
    """
    page = 4096
    w0, w1 = window
    pages = max((w1 - w0) / page, 1.0)
    left, right, top, row_h = 70, 20, 52, 92
    plot_w = min(max(560.0, 26.0 * pages, 6.6 * len(title) - 80), 1100.0)
    width = left + plot_w + right
    height = top + row_h * len(states) + 66
    mx = outcome.max_map_count if outcome is not None else states[0][1].max_map_count
    svg = Svg(width, height, {"data-max-map-count": mx, "class": "mmsim-layout"})
    svg.add('<defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" '
            'patternTransform="rotate(45)"><line x1="0" y1="0" x2="0" y2="6" stroke="#222" stroke-width="1.2"/>'
            '</pattern></defs>')
    svg.text(width / 2, 18, title, size=13, anchor="middle", weight="bold")
    svg.text(width / 2, 34, subtitle, size=11, anchor="middle", color=GREY)

    def x_of(addr: float) -> float:
        return left + plot_w * (addr - w0) / (w1 - w0)

    used: dict[str, None] = {}
    for r, (label, mm, head) in enumerate(states):
        y = top + r * row_h + 22
        color = OUTCOME_COLORS.get(outcome.kind, INK) if (outcome is not None and label == "after") else INK
        svg.text(left, y - 8, head, size=11, color=color, weight="bold" if label == "after" else "normal")
        svg.text(left - 8, y + 34, label, size=11, anchor="end")
        svg.add(f'<g class="vmas" data-state="{esc(label)}">')
        for v in mm.vmas_in(w0, w1):
            a, b = max(v.start, w0), min(v.end, w1)
            key = prot_key(v.prot)
            used[key] = None
            svg.rect(x_of(a), y + 12, x_of(b) - x_of(a), 40, fill=PROT_COLORS[key], stroke=INK,
                     extra=' class="vma"')
            if v.shared:
                svg.rect(x_of(a), y + 12, x_of(b) - x_of(a), 40, fill="url(#hatch)")
            if x_of(b) - x_of(a) > 30:
                svg.text((x_of(a) + x_of(b)) / 2, y + 36, v.perms + (" *" if v.anon_vma is not None else ""),
                         size=10, anchor="middle")
        svg.add("</g>")
        for rng, c, dy in ((old_range, "#7b2d8e", 2), (new_range, "#1f5fbf", 7)):
            if rng is not None and rng[1] >= w0 and rng[0] <= w1:
                svg.line(x_of(max(rng[0], w0)), y + dy, x_of(min(rng[1], w1)), y + dy, color=c, width=3.5)
        for t in _ticks(0, pages, 16):
            svg.line(x_of(w0 + t * page), y + 52, x_of(w0 + t * page), y + 56, color=GREY)
            if r == len(states) - 1:
                svg.text(x_of(w0 + t * page), y + 67, t, size=9.5, anchor="middle")
    svg.text(left + plot_w / 2, height - 26, f"page (4 KiB) relative to {w0:#x}", size=10.5, anchor="middle")
    items = [(PROT_COLORS[k], f"{k} VMA") for k in used]
    items += [("#7b2d8e", "old range"), ("#1f5fbf", "new range")]
    _legend(svg, left, height - 8, items, max_width=plot_w)
    return svg.render()


# ---- failure points -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class StopPoint:
    """Where one call stopped under one limit: the depth-0 step (or ``"completed"``) and its outcome."""

    max_map_count: int
    step: str
    outcome: str
    check: str | None
    fp: bool


def failure_points_svg(rows: Mapping[str, Sequence[StopPoint]], steps: Mapping[str, Sequence[str]],
                       max_map_count: int, map_count: int, *, title: str) -> str:
    """x = max_map_count, one panel per kernel, y = the kernel's steps in call order plus ``completed``.

    Each marker says where the call stopped under that limit, coloured by outcome class; the chosen limit is
    a red column (class ``limit``).
    """
    kernels = list(rows)
    limits = sorted({p.max_map_count for ps in rows.values() for p in ps})
    left, right, top = 150, 24, 40
    col = 34 if len(limits) <= 20 else max(14, 680 // len(limits))
    plot_w = col * len(limits)
    row_h = 15
    panel_gap = 30
    heights = [row_h * (len(steps[k]) + 1) + 12 for k in kernels]
    height = top + sum(heights) + panel_gap * len(kernels) + 70
    width = left + plot_w + right
    svg = Svg(width, height, {"data-max-map-count": max_map_count, "class": "mmsim-failure-points"})
    svg.text(width / 2, 18, title, size=13, anchor="middle", weight="bold")

    def x_of(m: int) -> float:
        return left + col * (limits.index(m) + 0.5)

    y0 = top
    if max_map_count in limits:
        svg.rect(x_of(max_map_count) - col / 2, top - 6, col, height - top - 62, fill="#fde2df",
                 extra=' class="limit"')
    for k, h in zip(kernels, heights, strict=True):
        y0 += panel_gap - 10
        names = list(steps[k]) + ["completed"]
        svg.text(left - 8, y0 - 2, f"kernel {k}", size=11.5, anchor="end", weight="bold")
        svg.add(f'<g data-kernel="{esc(k)}">')

        def y_of(step: str, y0: float = y0, names: list[str] = names) -> float:
            return y0 + 8 + row_h * names.index(step)

        for name in names:
            yy = y_of(name)
            svg.line(left, yy, left + plot_w, yy, color=GRID)
            svg.text(left - 8, yy + 3.5, name, size=9.5, anchor="end",
                     color="#2ca25f" if name == "completed" else INK)
        pts = sorted(rows[k], key=lambda p: p.max_map_count)
        path = "".join(("M" if i == 0 else "L") + f"{x_of(p.max_map_count):.1f},{y_of(p.step):.1f}"
                       for i, p in enumerate(pts))
        svg.add(f'<path d="{path}" fill="none" stroke="#999999" stroke-width="1"/>')
        for p in pts:
            cx, cy = x_of(p.max_map_count), y_of(p.step)
            chosen = ' stroke="#111" stroke-width="1.6"' if p.max_map_count == max_map_count else ""
            svg.add(f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="5" fill="{OUTCOME_COLORS[p.outcome]}"{chosen} '
                    f'data-limit="{p.max_map_count}" data-outcome="{esc(p.outcome)}" data-step="{esc(p.step)}"/>')
            if p.outcome == "PARTIAL_FAIL" and p.fp:
                svg.add(f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="1.8" fill="white"/>')
        svg.add("</g>")
        y0 += h
    every = max(1, math.ceil(len(limits) * 48 / plot_w))
    for i, m in enumerate(limits):
        if i % every == 0 or m == max_map_count:
            svg.text(x_of(m), y0 + 14, num(m), size=9, anchor="middle",
                     weight="bold" if m == max_map_count else "normal")
            svg.text(x_of(m), y0 + 26, str(m - map_count), size=9, anchor="middle", color=GREY)
    svg.text(left - 8, y0 + 14, "max_map_count", size=9.5, anchor="end")
    svg.text(left - 8, y0 + 26, "free slots", size=9.5, anchor="end", color=GREY)
    _outcome_legend(svg, 10, y0 + 48, width - 20)
    return svg.render()


# ---- outcome map --------------------------------------------------------------------------------------


def outcome_map_svg(cells: Mapping[str, Mapping[tuple[str, int], tuple[str, bool]]], scenarios: Sequence[str],
                    limits: Sequence[int], max_map_count: int, map_count: int,
                    fp_rates: Mapping[str, Sequence[float]], *, title: str) -> str:
    """Scenario × max_map_count heatmaps, one per kernel, and below them the false-positive rate per kernel
    against max_map_count; the chosen limit is outlined (class ``limit``) in every panel.

    ``cells[kernel][(scenario, limit)] = (outcome, fp)``; ``fp_rates[kernel][i]`` is the share (0-1) of cases
    refused needlessly (FALSE_POSITIVE, or PARTIAL_FAIL with fp) under ``limits[i]``.
    """
    kernels = list(cells)
    ncols = min(3, len(kernels))
    nrows = math.ceil(len(kernels) / ncols)
    cw = max(6.0, min(16.0, 200.0 / max(len(limits), 1)))
    ch = 11.0
    label_w = 120
    panel_w = cw * len(limits)
    panel_h = ch * len(scenarios)
    top, gap_x, gap_y = 40, 22, 58
    width = label_w + ncols * panel_w + (ncols - 1) * gap_x + 20
    chart_h = 170
    height = top + nrows * (panel_h + gap_y) + chart_h + 90
    width = max(width, 560)
    svg = Svg(width, height, {"data-max-map-count": max_map_count, "class": "mmsim-outcome-map"})
    svg.text(width / 2, 18, title, size=13, anchor="middle", weight="bold")
    li = {m: i for i, m in enumerate(limits)}
    si = {s: i for i, s in enumerate(scenarios)}
    for n, k in enumerate(kernels):
        px = label_w + (n % ncols) * (panel_w + gap_x)
        py = top + (n // ncols) * (panel_h + gap_y) + 14
        svg.text(px + panel_w / 2, py - 5, f"kernel {k}", size=11, anchor="middle", weight="bold")
        paths: dict[str, list[str]] = {c: [] for c in OUTCOMES}
        dots = []
        for (s, m), (oc, fp) in cells[k].items():
            if s not in si or m not in li:
                continue
            x, y = px + li[m] * cw, py + si[s] * ch
            paths[oc].append(f"M{x:.1f},{y:.1f}h{cw - 0.8:.1f}v{ch - 0.8:.1f}h{-(cw - 0.8):.1f}z")
            if oc == "PARTIAL_FAIL" and fp:
                dots.append(f'<circle cx="{x + cw / 2:.1f}" cy="{y + ch / 2:.1f}" r="2.2" fill="white" '
                            f'stroke="#5a0d0d" stroke-width="0.5"/>')
        svg.add(f'<g data-kernel="{esc(k)}">')
        for oc, ds in paths.items():
            if ds:
                svg.add(f'<path d="{"".join(ds)}" fill="{OUTCOME_COLORS[oc]}" data-outcome="{oc}" '
                        f'data-cells="{len(ds)}"/>')
        svg.add("".join(dots) + "</g>")
        if max_map_count in li:
            svg.rect(px + li[max_map_count] * cw - 1, py - 1, cw + 1.2, panel_h + 1.2, fill="none",
                     stroke=INK, extra=' class="limit" stroke-width="1.6"')
        if n % ncols == 0:
            for s in scenarios:
                svg.text(px - 4, py + si[s] * ch + ch - 2.5, s, size=8.5, anchor="end")
        every = max(1, math.ceil(len(limits) * 15 / panel_w))
        for i, m in enumerate(limits):
            if i % every == 0 or m == max_map_count:
                svg.text(px + (i + 0.5) * cw + 3, py + panel_h + 8, num(m), size=8, anchor="end", rotate=-50,
                         weight="bold" if m == max_map_count else "normal")
    # the false-positive rate against the limit
    cy0 = top + nrows * (panel_h + gap_y) + 18
    cx0, cw_all = label_w, width - label_w - 30
    svg.text(cx0 + cw_all / 2, cy0 - 4, "refused needlessly (FALSE_POSITIVE or PARTIAL_FAIL with fp), % of cases",
             size=10.5, anchor="middle")
    top_rate = max([max(r, default=0.0) for r in fp_rates.values()] + [0.05]) * 100
    top_rate = math.ceil(top_rate / 5) * 5

    def x_of(m: int) -> float:
        return cx0 + cw_all * (li[m] + 0.5) / len(limits)

    def y_of(v: float) -> float:
        return cy0 + 8 + (chart_h - 40) * (1 - v * 100 / top_rate)

    svg.rect(cx0, cy0 + 8, cw_all, chart_h - 40, fill="white", stroke="#bbbbbb")
    for t in _ticks(0, top_rate, 5):
        svg.line(cx0, y_of(t / 100), cx0 + cw_all, y_of(t / 100), color=GRID)
        svg.text(cx0 - 4, y_of(t / 100) + 3.5, f"{t}%", size=9, anchor="end")
    if max_map_count in li:
        svg.line(x_of(max_map_count), cy0 + 8, x_of(max_map_count), cy0 + chart_h - 32, color=LIMIT_COLOR,
                 width=1.6, cls="limit", extra=f' data-value="{max_map_count}"')
    legend = []
    for n, (k, rates) in enumerate(fp_rates.items()):
        color = KERNEL_COLORS[n % len(KERNEL_COLORS)]
        pts = " ".join(f"{x_of(m):.1f},{y_of(r):.1f}" for m, r in zip(limits, rates, strict=True))
        svg.add(f'<polyline points="{pts}" fill="none" stroke="{color}" stroke-width="1.8" data-kernel="{esc(k)}"/>')
        legend.append((color, f"kernel {k}"))
    every = max(1, math.ceil(len(limits) * 52 / cw_all))
    for i, m in enumerate(limits):
        if i % every == 0 or m == max_map_count:
            svg.text(x_of(m), cy0 + chart_h - 20, num(m), size=9, anchor="middle",
                     weight="bold" if m == max_map_count else "normal")
    svg.text(cx0 + cw_all / 2, cy0 + chart_h - 6, f"max_map_count (the process holds {num(map_count)} VMAs)",
             size=10, anchor="middle")
    bottom = _legend(svg, cx0, cy0 + chart_h + 12, legend, max_width=cw_all)
    _outcome_legend(svg, 10, bottom + 6, width - 20, fp_dot=True)
    svg.height = bottom + 6 + 50
    return svg.render()


def kernel_list(kernels: Iterable[str]) -> str:
    """``'5.0, 5.1 and 7.1'``."""
    ks = list(kernels)
    return ks[0] if len(ks) == 1 else ", ".join(ks[:-1]) + " and " + ks[-1]
