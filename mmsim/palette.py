"""The course's colours, in one place: the matplotlib figures (:mod:`mmsim.plots`), the SVG charts
(:mod:`mmsim.svg`) and the explorers' readouts (:mod:`mmsim.widgets`) all read them from here.

**Outcomes** (semantics §6) are filled with an Okabe–Ito-style palette that stays apart under deuteranopia and
protanopia: OK blue, FALSE_POSITIVE amber, CLEAN_FAIL grey, PARTIAL_FAIL dark vermillion
(``tests/test_palette.py`` measures the pairwise CIEDE2000 distances under a Machado 2009 simulation).
Colour is never the only cue: PARTIAL_FAIL is also hatched (:data:`PARTIAL_HATCH`) or drawn as ✕
(:data:`OUTCOME_MARKERS`), and every chart names the outcomes in its legend and readout. Text in an outcome's
colour uses the darker :data:`OUTCOME_TEXT` shade (WCAG AA: contrast at least 4.5:1 on white).

**Kernels** (lines of the false-positive rate, one per kernel) never take an outcome colour: they use
:data:`KERNEL_COLORS` together with a dash pattern and a marker each (:func:`kernel_style`).

>>> OUTCOME_COLORS["PARTIAL_FAIL"], OUTCOME_TEXT["FALSE_POSITIVE"]
('#a63a00', '#8a5c00')
>>> set(KERNEL_COLORS) & set(OUTCOME_COLORS.values())
set()
"""

from __future__ import annotations

__all__ = [
    "GREY",
    "GRID",
    "INK",
    "KERNEL_COLORS",
    "LIMIT_COLOR",
    "OUTCOME_COLORS",
    "OUTCOME_LABELS",
    "OUTCOME_MARKERS",
    "OUTCOME_TEXT",
    "PARTIAL_HATCH",
    "PASSED_COLOR",
    "FAILED_COLOR",
    "PROT_COLORS",
    "kernel_style",
]

#: Fill colours of the four outcome classes (cells, markers, bars).
OUTCOME_COLORS: dict[str, str] = {
    "OK": "#0072b2",
    "FALSE_POSITIVE": "#e69f00",
    "CLEAN_FAIL": "#bbbbbb",
    "PARTIAL_FAIL": "#a63a00",
}
#: Text in an outcome's colour (headings, readouts): darker shades, each at least 4.5:1 on white.
OUTCOME_TEXT: dict[str, str] = {
    "OK": "#0072b2",
    "FALSE_POSITIVE": "#8a5c00",
    "CLEAN_FAIL": "#5f5f5f",
    "PARTIAL_FAIL": "#a63a00",
}
#: The legend's words for each outcome.
OUTCOME_LABELS: dict[str, str] = {
    "OK": "OK",
    "FALSE_POSITIVE": "FALSE_POSITIVE (refused needlessly)",
    "CLEAN_FAIL": "CLEAN_FAIL (refused, nothing changed)",
    "PARTIAL_FAIL": "PARTIAL_FAIL (failed half-way)",
}
#: A marker shape per outcome (matplotlib names; the SVG charts draw the same shapes): the second cue.
OUTCOME_MARKERS: dict[str, str] = {"OK": "o", "FALSE_POSITIVE": "^", "CLEAN_FAIL": "s", "PARTIAL_FAIL": "X"}
#: Hatching laid over PARTIAL_FAIL cells (matplotlib hatch; the SVG charts use a pattern of the same slant).
PARTIAL_HATCH = "xxx"

#: Body text, secondary text (7:1 on white), grid lines.
INK = "#222222"
GREY = "#595959"
GRID = "#e8e8e8"
#: The max_map_count line (5.4:1 on white).
LIMIT_COLOR = "#c0392b"
#: A check's threshold bar: passed (blue, solid) and failed (vermillion; drawn dashed as well).
PASSED_COLOR = OUTCOME_COLORS["OK"]
FAILED_COLOR = OUTCOME_COLORS["PARTIAL_FAIL"]

#: One colour per kernel line, none of them an outcome's; :func:`kernel_style` adds a dash and a marker.
KERNEL_COLORS: tuple[str, ...] = ("#000000", "#cc79a7", "#56b4e9", "#009e73", "#882255", "#332288", "#999933",
                                  "#117733")
_DASHES: tuple[str, ...] = ("", "6,3", "2,2", "8,3,2,3", "4,4", "1,3", "10,4", "3,5")
_MARKERS: tuple[str, ...] = ("o", "s", "D", "v", "P", "*", "h", "<")

#: Bar colours by protection (the r/w/x columns of /proc/PID/maps).
PROT_COLORS: dict[str, str] = {
    "---": "#d0d0d0",
    "r--": "#6a9fd4",
    "rw-": "#4fb3a0",
    "r-x": "#e3a33b",
    "rwx": "#b07cc6",
    "other": "#9c8f80",
}


def kernel_style(n: int) -> tuple[str, str, str]:
    """``(colour, SVG dash array, matplotlib marker)`` of the ``n``-th kernel line (wrapping around).

    >>> kernel_style(0), kernel_style(9)[0]
    (('#000000', '', 'o'), '#cc79a7')
    """
    return KERNEL_COLORS[n % len(KERNEL_COLORS)], _DASHES[n % len(_DASHES)], _MARKERS[n % len(_MARKERS)]
