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
import hashlib
import html
import math
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .outcome import OUTCOMES, Outcome
from .palette import (
    FAILED_COLOR,
    GREY,
    GRID,
    INK,
    LIMIT_COLOR,
    OUTCOME_COLORS,
    OUTCOME_LABELS,
    OUTCOME_TEXT,
    PASSED_COLOR,
    PROT_COLORS,
    kernel_style,
)
from .plots import check_threshold, prot_key, trace_points

__all__ = [
    "Svg",
    "failure_points_svg",
    "layout_svg",
    "message_svg",
    "outcome_map_svg",
    "text_width",
    "trace_svg",
    "wrap",
]

FONT = "font-family:sans-serif"
#: Step names a call did not reach at this limit (4.5:1 on white: still readable, visibly quieter).
UNREACHED = "#767676"
LINE = "#2b4c7e"  # map_count after each step
PRIMITIVE = "#6f6f6f"  # map_count inside a step
#: Em widths used to size text before the browser lays it out: DejaVu Sans / Arial average about 0.55 em a
#: glyph for these labels; 0.6 leaves a margin, so a box computed here is never narrower than the drawn text.
EM = 0.6
BOLD = 1.12  # bold glyphs are wider
# The hatching of PARTIAL_FAIL (the second cue besides its colour) and of shared VMAs; ids are made unique per
# chart at render time (several charts share one HTML page).
_UID = "__MMSIM_UID__"
_PATTERNS = (f'<defs><pattern id="pf-{_UID}" width="5" height="5" patternUnits="userSpaceOnUse" '
             'patternTransform="rotate(45)"><line x1="0" y1="0" x2="0" y2="5" stroke="white" stroke-width="1.3"/>'
             f'</pattern><pattern id="hatch-{_UID}" width="6" height="6" patternUnits="userSpaceOnUse" '
             'patternTransform="rotate(45)"><line x1="0" y1="0" x2="0" y2="6" stroke="#222" stroke-width="1.2"/>'
             "</pattern></defs>")
PF_FILL = f"url(#pf-{_UID})"
SHARED_FILL = f"url(#hatch-{_UID})"


def esc(text: Any) -> str:
    """``text`` escaped for SVG/HTML text and attribute values."""
    return html.escape(str(text), quote=True)


def num(v: int) -> str:
    """An int with thousands separators (``65,530``), the way the readouts print counts."""
    return f"{v:,}"


def text_width(text: Any, size: float) -> float:
    """The width (px) :mod:`mmsim.svg` reserves for ``text`` at font ``size``: at least what the browser draws.

    >>> text_width("max_map_count", 10)
    78.0
    """
    return EM * size * len(str(text))


def wrap(text: str, width: float, size: float) -> list[str]:
    """``text`` in lines no wider than ``width`` px at font ``size`` (a word longer than that stays whole).

    >>> wrap("seed-W: map_count at each step — max_map_count 65,530, 3 free slots", 300, 13)
    ['seed-W: map_count at each step —', 'max_map_count 65,530, 3 free slots']
    """
    chars = max(int(width / (EM * size)), 8)
    return textwrap.wrap(text, chars, break_on_hyphens=False) or [text]


def slots(n: int) -> str:
    """``'1 free slot'``, ``'3 free slots'``."""
    return f"{n} free slot{'' if n == 1 else 's'}"


@dataclass
class Svg:
    """An SVG document being written: elements are appended as strings, :meth:`render` closes it.

    The document scales down with its container (``max-width:100%``) and names itself (``role="img"``,
    ``aria-label`` and ``<title>`` = ``label``).
    """

    width: float
    height: float
    attrs: Mapping[str, Any] = field(default_factory=dict)
    parts: list[str] = field(default_factory=list)
    label: str = ""

    def add(self, element: str) -> None:
        self.parts.append(element)

    def text(self, x: float, y: float, text: Any, *, size: float = 11, anchor: str = "start", color: str = INK,
             weight: str = "normal", rotate: float | None = None, cls: str | None = None, halo: bool = False,
             italic: bool = False) -> None:
        rot = f' transform="rotate({rotate:.0f} {x:.1f} {y:.1f})"' if rotate else ""
        c = f' class="{esc(cls)}"' if cls else ""
        h = ' stroke="white" stroke-width="2.5" stroke-linejoin="round" paint-order="stroke"' if halo else ""
        i = ' font-style="italic"' if italic else ""
        self.add(f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" fill="{color}" '
                 f'font-weight="{weight}"{rot}{c}{h}{i}>{esc(text)}</text>')

    def lines(self, x: float, y: float, lines: Sequence[str], *, size: float, gap: float = 1.25,
              **kw: Any) -> float:
        """Several lines of text from baseline ``y`` down; returns the baseline of the last."""
        for n, line in enumerate(lines):
            self.text(x, y + n * size * gap, line, size=size, **kw)
        return y + (len(lines) - 1) * size * gap

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

    def marker(self, cx: float, cy: float, kind: str, r: float = 5.0, extra: str = "") -> None:
        """The outcome's shape (:data:`mmsim.palette.OUTCOME_MARKERS`): circle OK, triangle FALSE_POSITIVE,
        square CLEAN_FAIL, ✕ PARTIAL_FAIL, filled with the outcome's colour and outlined."""
        fill = OUTCOME_COLORS.get(kind, INK)
        common = f'fill="{fill}" stroke="#333333" stroke-width="0.6"{extra}'
        if kind == "FALSE_POSITIVE":
            self.add(f'<path d="M{cx:.1f},{cy - r * 1.15:.1f}L{cx + r * 1.1:.1f},{cy + r * 0.8:.1f}'
                     f'L{cx - r * 1.1:.1f},{cy + r * 0.8:.1f}Z" {common}/>')
        elif kind == "CLEAN_FAIL":
            self.add(f'<rect x="{cx - r * 0.9:.1f}" y="{cy - r * 0.9:.1f}" width="{r * 1.8:.1f}" '
                     f'height="{r * 1.8:.1f}" {common}/>')
        elif kind == "PARTIAL_FAIL":
            a, b = r * 1.1, r * 0.38
            pts = [(-a + b, -a), (0, -b), (a - b, -a), (a, -a + b), (b, 0), (a, a - b), (a - b, a), (0, b),
                   (-a + b, a), (-a, a - b), (-b, 0), (-a, -a + b)]
            d = "M" + "L".join(f"{cx + px:.1f},{cy + py:.1f}" for px, py in pts) + "Z"
            self.add(f'<path d="{d}" {common}/>')
        else:
            self.add(f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="{r:.1f}" {common}/>')

    def render(self) -> str:
        extra = "".join(f' {k}="{esc(v)}"' for k, v in self.attrs.items())
        label = self.label or str(self.attrs.get("class", "chart"))
        body = "".join(self.parts)
        uid = hashlib.sha1(body.encode()).hexdigest()[:10]
        return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{self.width:.0f}" height="{self.height:.0f}" '
                f'viewBox="0 0 {self.width:.0f} {self.height:.0f}" role="img" aria-label="{esc(label)}" '
                f'style="{FONT};background:white;max-width:100%;height:auto"{extra}>'
                f"<title>{esc(label)}</title>{_PATTERNS}{body}</svg>").replace(_UID, uid)


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
    lines = wrap(text, width - 20, 13)
    svg = Svg(width, 30 + 17 * len(lines), {"class": "mmsim-message"}, label=text)
    svg.lines(width / 2, 30, lines, size=13, anchor="middle", color=GREY)
    return svg.render()


def _title(svg: Svg, title: str, *, size: float = 13) -> float:
    """The chart's title, wrapped to the SVG's width, from the top; returns the y below it."""
    last = svg.lines(svg.width / 2, 18, wrap(title, svg.width - 16, size * BOLD), size=size, anchor="middle",
                     weight="bold")
    return last + 8


def _title_height(title: str, width: float, size: float = 13) -> float:
    return 18 + (len(wrap(title, width - 16, size * BOLD)) - 1) * size * 1.25 + 8


LegendItem = tuple[str, str] | tuple[str, str, str]  # (colour, label) or (colour, label, shape)


def _legend_width(item: LegendItem, size: float = 10.5) -> float:
    return 18 + text_width(item[1], size) + 14


def _legend(svg: Svg, x: float, y: float, items: Sequence[LegendItem], *, max_width: float) -> float:
    """Swatches with labels, wrapped to ``max_width``; returns the y below the legend. A swatch's shape is a
    square, or the third element: ``"line"``, ``"dotted"``, ``"dashed:<dasharray>"``, ``"dot"``, an outcome's
    marker (``"marker:<OUTCOME>"``), or ``"hatched"`` (a square with PARTIAL_FAIL's hatching)."""
    cx, cy = x, y
    for item in items:
        color, label = item[0], item[1]
        shape = item[2] if len(item) > 2 else "square"
        w = _legend_width(item)
        if cx + w > x + max_width and cx > x:
            cx, cy = x, cy + 16
        if shape == "line" or shape == "dotted" or shape.startswith("dashed:"):
            dash = "2,2" if shape == "dotted" else shape.split(":", 1)[1] if ":" in shape else None
            svg.line(cx, cy - 4, cx + 12, cy - 4, color=color, width=2.2, dash=dash or None)
        elif shape == "dot":
            svg.add(f'<circle cx="{cx + 6:.1f}" cy="{cy - 4:.1f}" r="3" fill="{color}"/>')
        elif shape.startswith("marker:"):
            svg.marker(cx + 6, cy - 4, shape.split(":", 1)[1], r=4.5)
        elif shape.startswith("text:"):
            svg.text(cx + 6, cy, shape.split(":", 1)[1], size=12, anchor="middle", weight="bold")
        else:
            svg.rect(cx, cy - 9, 11, 11, fill=color, stroke="#444444")
            if shape == "hatched":
                svg.rect(cx, cy - 9, 11, 11, fill=PF_FILL)
            elif shape == "shared":
                svg.rect(cx, cy - 9, 11, 11, fill=SHARED_FILL)
        svg.text(cx + 16, cy, label, size=10.5)
        cx += w
    return cy + 14


def _outcome_items(*, markers: bool = False) -> list[LegendItem]:
    return [(OUTCOME_COLORS[k], OUTCOME_LABELS[k], f"marker:{k}" if markers else
             ("hatched" if k == "PARTIAL_FAIL" else "square")) for k in OUTCOMES]


def _outcome_legend(svg: Svg, x: float, y: float, max_width: float, *, fp_dot: bool = False,
                    markers: bool = False) -> float:
    bottom = _legend(svg, x, y, _outcome_items(markers=markers), max_width=max_width)
    if fp_dot:
        base = bottom + 2  # the next row's baseline
        svg.rect(x, base - 9, 11, 11, fill=OUTCOME_COLORS["PARTIAL_FAIL"], stroke="#444444")
        svg.add(f'<circle cx="{x + 5.5:.1f}" cy="{base - 3.5:.1f}" r="2.6" fill="white" stroke="#5a0d0d" '
                'stroke-width="0.5"/>')
        svg.text(x + 16, base, "PARTIAL_FAIL that is also a false positive (fp)", size=10.5)
        bottom = base + 14
    return bottom


def _widest_legend(items: Sequence[LegendItem]) -> float:
    return max((_legend_width(i) for i in items), default=0.0)


# ---- trace ---------------------------------------------------------------------------------------------


def _axis_positions(labels: Sequence[str], axis: Sequence[str] | None) -> tuple[list[str], list[int]]:
    """The x axis of one panel and where each reached label sits on it: ``axis`` (every step the call can take
    over the explorer's range) when every reached label is on it in order, else the reached labels alone."""
    if axis:
        pos, j = [], 0
        try:
            for lab in labels:
                j = list(axis).index(lab, j)
                pos.append(j)
                j += 1
            return list(axis), pos
        except ValueError:
            pass
    return list(labels), list(range(len(labels)))


def trace_svg(outcomes: Mapping[str, Outcome], *, title: str, steps: Mapping[str, Sequence[str]] | None = None
              ) -> str:
    """map_count at each step of the call, one panel per kernel, sharing an absolute y axis.

    Draws the depth-0 steps as a step line, primitives as grey dots, ``max_map_count`` (red line, class
    ``limit``) and ``max + 1`` (dotted), each check's threshold as a short bar (blue solid passed, vermillion
    dashed failed) and the failing step as a ✕ (class ``failure``) with its errno and check; the last panel has
    a second axis in free slots (``max_map_count - map_count``). ``steps[kernel]`` (the x labels of every step
    the call can take, ``"start"`` first; see :func:`mmsim.widgets.trace_steps`) fixes each panel's x axis, so
    the chart keeps its size when the outcome flips; steps not reached at this limit are named in grey italics.
    The SVG is as wide as the widest of its panels, title and legend.
    """
    items = list(outcomes.items())
    mx = items[0][1].max_map_count
    points = {k: trace_points(o) for k, o in items}
    axes = {k: _axis_positions(points[k][0], (steps or {}).get(k)) for k, _ in items}
    lo, hi = math.inf, -math.inf
    for k, o in items:
        labels, xs, ys, placed = points[k]
        vals = list(ys) + [o.max_map_count, o.max_map_count + 1]
        vals += [rec.map_count for _, rec in placed if rec.depth > 0]
        vals += [t for _, rec in placed if rec.kind == "check" and rec.passed is not None
                 for t in [check_threshold(rec.step, o.max_map_count)] if t is not None]
        lo, hi = min(lo, *vals), max(hi, *vals)
    lo, hi = lo - 1.5, hi + 1.5
    label_size, cos40, sin40 = 9.5, math.cos(math.radians(40)), math.sin(math.radians(40))
    heads = {k: (f"kernel {k}: {o.kind}", f"{o.errname} at {o.check}" if o.errno else
                 f"{num(o.mc_before)} → {num(o.mc_after)}") for k, o in items}
    widths = [max(170.0, 36.0 + 25.0 * len(axes[k][0]), text_width(heads[k][0], 11.5) + 10,
                  text_width(heads[k][1], 10) + 10) for k, _ in items]
    legend_items: list[LegendItem] = [
        (LINE, "map_count after each step", "line"), (PRIMITIVE, "inside a step", "dot"),
        (LIMIT_COLOR, "max_map_count (dotted: max + 1)", "line"), (PASSED_COLOR, "check threshold, passed", "line"),
        (FAILED_COLOR, "check threshold, failed (dashed); ✕ the failure", "dashed:3,2"),
        (UNREACHED, "grey step names: not reached at this limit", "square")]
    plot_h, gap, right = 270, 18, 70
    left = 64.0
    # rotated step labels hang left and down from their tick: the first panel's must stay right of x = 2
    first_labels = axes[items[0][0]][0]
    w0_ = widths[0]
    for i, lab in enumerate(first_labels):
        left = max(left, text_width(lab, label_size) * cos40 + 4 - w0_ * (i + 0.5) / len(first_labels))
    drop = max(text_width(lab, label_size) for k, _ in items for lab in axes[k][0]) * sin40 + 20
    width = left + sum(widths) + gap * (len(items) - 1) + right
    width = max(width, _widest_legend(legend_items) + left + 10, 360.0)
    top = _title_height(title, width) + 32
    svg = Svg(width, 0, {"data-max-map-count": mx, "class": "mmsim-trace"}, label=title)
    _title(svg, title)

    def y_of(v: float) -> float:
        return top + plot_h * (hi - v) / (hi - lo)

    ticks = _ticks(lo, hi, 9)
    x0: float = left
    for n, ((k, o), w) in enumerate(zip(items, widths, strict=True)):
        labels, xs, ys, placed = points[k]
        axis, pos = axes[k]
        nx = float(len(axis))

        def x_of(v: float, x0: float = x0, w: float = w, nx: float = nx, pos: list[int] = pos) -> float:
            i = min(int(math.floor(v)), len(pos) - 1)
            f = v - i
            nxt = pos[i + 1] if i + 1 < len(pos) else pos[i] + 1
            return x0 + w * (pos[i] + f * (nxt - pos[i]) + 0.5) / nx

        svg.add(f'<g data-kernel="{esc(k)}" data-outcome="{esc(o.kind)}">')
        svg.rect(x0, top, w, plot_h, fill="white", stroke="#bbbbbb")
        for t in ticks:
            svg.line(x0, y_of(t), x0 + w, y_of(t), color=GRID)
        omx = o.max_map_count
        svg.line(x0, y_of(omx), x0 + w, y_of(omx), color=LIMIT_COLOR, width=1.6, cls="limit",
                 extra=f' data-value="{omx}"')
        svg.line(x0, y_of(omx + 1), x0 + w, y_of(omx + 1), color=LIMIT_COLOR, width=1.0, dash="2,3")
        if n == 0:
            svg.text(x0 + 4, y_of(omx) - 4, f"max_map_count {num(omx)}", size=10, color=LIMIT_COLOR, halo=True)
        path = [f"M{x_of(xs[0]):.1f},{y_of(ys[0]):.1f}"]
        for i in range(1, len(xs)):
            path.append(f"H{x_of(xs[i]):.1f}V{y_of(ys[i]):.1f}")
        svg.add(f'<path d="{"".join(path)}" fill="none" stroke="{LINE}" stroke-width="2"/>')
        for x, y in zip(xs, ys, strict=True):
            svg.add(f'<circle cx="{x_of(x):.1f}" cy="{y_of(y):.1f}" r="3.6" fill="{LINE}"/>')
        for x, rec in placed:
            if rec.depth > 0:
                svg.add(f'<circle cx="{x_of(x):.1f}" cy="{y_of(rec.map_count):.1f}" r="2.4" fill="{PRIMITIVE}"/>')
            if rec.kind == "check" and rec.passed is not None:
                th = check_threshold(rec.step, omx)
                if th is not None:
                    svg.line(x_of(x - 0.32), y_of(th), x_of(x + 0.32), y_of(th),
                             color=PASSED_COLOR if rec.passed else FAILED_COLOR, width=3,
                             dash=None if rec.passed else "3,2", cls="threshold",
                             extra=f' data-check="{esc(rec.step)}" data-value="{th}" '
                                   f'data-passed="{str(rec.passed).lower()}"')
        fail = o.trace.failure
        if fail is not None:
            fx = next(px for px, rec in placed if rec is fail)
            cx, cy = x_of(fx), y_of(fail.map_count)
            name = _errno.errorcode.get(fail.errno or 0, str(fail.errno))
            svg.add(f'<g class="failure" data-step="{esc(fail.step)}"><path d="M{cx - 6:.1f},{cy - 6:.1f}'
                    f'L{cx + 6:.1f},{cy + 6:.1f}M{cx - 6:.1f},{cy + 6:.1f}L{cx + 6:.1f},{cy - 6:.1f}" '
                    f'stroke="{FAILED_COLOR}" stroke-width="3.5"/></g>')
            note = f"{name} at {fail.step}"
            # inside the panel: to the side with room, else wrapped under each other
            anchor = "end" if cx > x0 + w / 2 else "start"
            room = (cx - x0 - 12) if anchor == "end" else (x0 + w - cx - 12)
            svg.lines(cx + (-9 if anchor == "end" else 9), cy - 10 - (12 if text_width(note, 10) > room else 0),
                      wrap(note, max(room, 60.0), 10), size=10, anchor=anchor, color=OUTCOME_TEXT["PARTIAL_FAIL"],
                      halo=True)
        reached = set(pos)
        for i, lab in enumerate(axis):
            gone = i not in reached
            svg.text(x0 + w * (i + 0.5) / nx + 3, top + plot_h + 12, lab, size=label_size, anchor="end", rotate=-40,
                     color=UNREACHED if gone else INK, italic=gone, cls="unreached" if gone else None)
        svg.text(x0 + w / 2, top - 22, heads[k][0], size=11.5, anchor="middle", weight="bold",
                 color=OUTCOME_TEXT.get(o.kind, INK))
        svg.text(x0 + w / 2, top - 8, heads[k][1], size=10, anchor="middle", color=GREY)
        svg.add("</g>")
        x0 += w + gap
    for t in ticks:
        svg.text(left - 5, y_of(t) + 3.5, num(t), size=9.5, anchor="end")
        svg.text(x0 - gap + 5, y_of(t) + 3.5, str(mx - t), size=9.5, color=GREY)
    svg.text(14, top + plot_h / 2, "map_count (VMAs)", size=11, anchor="middle", rotate=-90)
    svg.text(x0 - gap + 52, top + plot_h / 2, "free slots (max_map_count − map_count)", size=10.5,
             anchor="middle", rotate=90, color=GREY)
    bottom = _legend(svg, left, top + plot_h + drop + 14, legend_items, max_width=width - left - 10)
    svg.height = bottom + 4
    return svg.render()


# ---- layout ---------------------------------------------------------------------------------------------


def layout_svg(states: Sequence[tuple[str, Any, str]], window: tuple[int, int], *, title: str,
               old_range: tuple[int, int] | None = None, new_range: tuple[int, int] | None = None,
               outcome: Outcome | None = None, subtitle: str = "") -> str:
    """VMAs as bars on a page axis, one row per ``(label, address space, heading)`` (before, after).

    Colour = protection, hatching = shared, ``*`` = faulted; the call's old and new ranges are marked above
    the bars (and in the legend only when given). Title and subtitle wrap to the chart's width.
    """
    page = 4096
    w0, w1 = window
    pages = max((w1 - w0) / page, 1.0)
    left, right, row_h = 70, 20, 92
    plot_w = min(max(560.0, 26.0 * pages), 1100.0)
    width = left + plot_w + right
    heads = [head for _, _, head in states]
    plot_w = max(plot_w, max(text_width(h, 11) for h in heads) + 10)
    width = left + plot_w + right
    sub_lines = wrap(subtitle, width - 16, 11) if subtitle else []
    top = _title_height(title, width) + 14 * len(sub_lines) + 8
    mx = outcome.max_map_count if outcome is not None else states[0][1].max_map_count
    svg = Svg(width, 0, {"data-max-map-count": mx, "class": "mmsim-layout"}, label=title)
    y = _title(svg, title)
    if sub_lines:
        svg.lines(width / 2, y + 6, sub_lines, size=11, anchor="middle", color=GREY)

    def x_of(addr: float) -> float:
        return left + plot_w * (addr - w0) / (w1 - w0)

    used: dict[str, None] = {}
    shared = faulted = False
    for r, (label, mm, head) in enumerate(states):
        y = top + r * row_h + 22
        color = OUTCOME_TEXT.get(outcome.kind, INK) if (outcome is not None and label == "after") else INK
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
                shared = True
                svg.rect(x_of(a), y + 12, x_of(b) - x_of(a), 40, fill=SHARED_FILL)
            faulted |= v.anon_vma is not None
            text = v.perms + (" *" if v.anon_vma is not None else "")
            if x_of(b) - x_of(a) > text_width(text, 10) + 4:
                svg.text((x_of(a) + x_of(b)) / 2, y + 36, text, size=10, anchor="middle", halo=v.shared)
        svg.add("</g>")
        for rng, c, dy in ((old_range, "#7b2d8e", 2), (new_range, "#1f5fbf", 7)):
            if rng is not None and rng[1] >= w0 and rng[0] <= w1:
                svg.line(x_of(max(rng[0], w0)), y + dy, x_of(min(rng[1], w1)), y + dy, color=c, width=3.5)
        for t in _ticks(0, pages, 16):
            svg.line(x_of(w0 + t * page), y + 52, x_of(w0 + t * page), y + 56, color=GREY)
            if r == len(states) - 1:
                svg.text(x_of(w0 + t * page), y + 67, t, size=9.5, anchor="middle")
    axis_y = top + row_h * len(states) + 16
    svg.text(left + plot_w / 2, axis_y, f"page (4 KiB) relative to {w0:#x}", size=10.5, anchor="middle")
    items: list[LegendItem] = [(PROT_COLORS[k], f"{k} VMA") for k in used]
    if shared:
        items.append(("white", "hatched: shared (MAP_SHARED)", "shared"))
    if faulted:
        items.append((INK, "faulted (has an anon_vma)", "text:*"))
    if old_range is not None:
        items.append(("#7b2d8e", "old range", "line"))
    if new_range is not None:
        items.append(("#1f5fbf", "new range", "line"))
    bottom = _legend(svg, left, axis_y + 20, items, max_width=plot_w)
    svg.height = bottom + 4
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

    Each marker says where the call stopped under that limit, shaped and coloured by outcome class (circle OK,
    triangle FALSE_POSITIVE, square CLEAN_FAIL, ✕ PARTIAL_FAIL); the chosen limit is a shaded column (class
    ``limit``).
    """
    kernels = list(rows)
    limits = sorted({p.max_map_count for ps in rows.values() for p in ps})
    names_all = [n for k in kernels for n in steps[k]] + ["completed"] + [f"kernel {k}" for k in kernels]
    left = max(110.0, max(text_width(n, 9.5) for n in names_all) + 16, text_width("max_map_count", 9.5) + 16)
    right = 24
    col = 34 if len(limits) <= 20 else max(14, 680 // len(limits))
    plot_w = col * len(limits)
    row_h = 15
    panel_gap = 30
    heights = [row_h * (len(steps[k]) + 1) + 12 for k in kernels]
    legend = _outcome_items(markers=True)
    width = max(left + plot_w + right, _widest_legend(legend) + 20, 360.0)
    top = _title_height(title, width) + 10
    plots_bottom = top + sum(heights) + (panel_gap - 10) * len(kernels)
    svg = Svg(width, 0, {"data-max-map-count": max_map_count, "class": "mmsim-failure-points"}, label=title)
    _title(svg, title)

    def x_of(m: int) -> float:
        return left + col * (limits.index(m) + 0.5)

    y0 = top
    if max_map_count in limits:
        svg.rect(x_of(max_map_count) - col / 2, top - 6, col, plots_bottom - top + 8, fill="#fde2df",
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
                     color=OUTCOME_TEXT["OK"] if name == "completed" else INK)
        pts = sorted(rows[k], key=lambda p: p.max_map_count)
        path = "".join(("M" if i == 0 else "L") + f"{x_of(p.max_map_count):.1f},{y_of(p.step):.1f}"
                       for i, p in enumerate(pts))
        svg.add(f'<path d="{path}" fill="none" stroke="#999999" stroke-width="1"/>')
        for p in pts:
            cx, cy = x_of(p.max_map_count), y_of(p.step)
            chosen = ' stroke-width="1.8"' if p.max_map_count == max_map_count else ""
            svg.add(f'<g data-limit="{p.max_map_count}" data-outcome="{esc(p.outcome)}" data-step="{esc(p.step)}"'
                    f'{chosen}>')
            svg.marker(cx, cy, p.outcome, r=5.0)
            if p.outcome == "PARTIAL_FAIL" and p.fp:
                svg.add(f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="1.8" fill="white"/>')
            svg.add("</g>")
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
    bottom = _outcome_legend(svg, 10, y0 + 48, width - 20, markers=True)
    svg.height = bottom + 4
    return svg.render()


# ---- outcome map --------------------------------------------------------------------------------------


def outcome_map_svg(cells: Mapping[str, Mapping[tuple[str, int], tuple[str, bool]]], scenarios: Sequence[str],
                    limits: Sequence[int], max_map_count: int, map_count: int,
                    fp_rates: Mapping[str, Sequence[float]], *, title: str) -> str:
    """Scenario × max_map_count heatmaps, one per kernel, and below them the false-positive rate per kernel
    against max_map_count; the chosen limit is outlined (class ``limit``) in every panel.

    ``cells[kernel][(scenario, limit)] = (outcome, fp)``; ``fp_rates[kernel][i]`` is the share (0-1) of cases
    refused needlessly (FALSE_POSITIVE, or PARTIAL_FAIL with fp) under ``limits[i]``. PARTIAL_FAIL cells are
    hatched as well as coloured; each kernel's rate line has its own colour (never an outcome's) and dashes.
    """
    kernels = list(cells)
    ncols = min(3, len(kernels))
    nrows = math.ceil(len(kernels) / ncols)
    cw = max(6.0, min(16.0, 200.0 / max(len(limits), 1)))
    ch = 11.0
    label_w = max(60.0, max((text_width(sc, 8.5) for sc in scenarios), default=0.0) + 10)
    panel_w = cw * len(limits)
    panel_h = ch * len(scenarios)
    gap_x = 22
    tick_drop = text_width(num(max(limits, default=0)), 8) * math.sin(math.radians(50)) + 14
    gap_y = tick_drop + 24
    rate_title = "refused needlessly (FALSE_POSITIVE or PARTIAL_FAIL with fp), % of cases"
    legend: list[LegendItem] = [(kernel_style(n)[0], f"kernel {k}", f"dashed:{kernel_style(n)[1]}"
                                 if kernel_style(n)[1] else "line") for n, k in enumerate(fp_rates)]
    width = label_w + ncols * panel_w + (ncols - 1) * gap_x + 20
    width = max(width, 560.0, text_width(rate_title, 10.5) + label_w + 40, _widest_legend(_outcome_items()) + 20)
    chart_h = 170
    top = _title_height(title, width) + 10
    svg = Svg(width, 0, {"data-max-map-count": max_map_count, "class": "mmsim-outcome-map"}, label=title)
    _title(svg, title)
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
                if oc == "PARTIAL_FAIL":
                    svg.add(f'<path d="{"".join(ds)}" fill="{PF_FILL}" class="partial-hatch"/>')
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
    svg.text(cx0 + cw_all / 2, cy0 - 4, rate_title, size=10.5, anchor="middle")
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
    for n, (k, rates) in enumerate(fp_rates.items()):
        color, dash, _ = kernel_style(n)
        pts = " ".join(f"{x_of(m):.1f},{y_of(r):.1f}" for m, r in zip(limits, rates, strict=True))
        d = f' stroke-dasharray="{dash}"' if dash else ""
        svg.add(f'<polyline points="{pts}" fill="none" stroke="{color}" stroke-width="1.8"{d} '
                f'data-kernel="{esc(k)}"/>')
    every = max(1, math.ceil(len(limits) * 52 / cw_all))
    for i, m in enumerate(limits):
        if i % every == 0 or m == max_map_count:
            svg.text(x_of(m), cy0 + chart_h - 20, num(m), size=9, anchor="middle",
                     weight="bold" if m == max_map_count else "normal")
    svg.text(cx0 + cw_all / 2, cy0 + chart_h - 6, f"max_map_count (the process holds {num(map_count)} VMAs)",
             size=10, anchor="middle")
    bottom = _legend(svg, cx0, cy0 + chart_h + 12, legend, max_width=cw_all)
    bottom = _outcome_legend(svg, 10, bottom + 6, width - 20, fp_dot=True)
    svg.height = bottom + 4
    return svg.render()
