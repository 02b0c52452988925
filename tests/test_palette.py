"""The outcome palette stays readable for colour-blind readers, its text shades pass WCAG AA, kernels never take
an outcome colour, and the plots, SVG charts and readouts all draw from :mod:`mmsim.palette`.

Colour science here is written out with numpy only, and checked against published reference values first:

* **Colour-vision deficiency**: Machado, Oliveira & Fernandes (2009), "A Physiologically-based Model for
  Simulation of Color Vision Deficiency", severity 1.0 matrices for deuteranopia and protanopia, applied to
  linear sRGB.
* **Distance**: CIEDE2000 (CIE 142-2001) in CIELAB under D65, checked on pairs of Sharma, Wu & Dalal (2005),
  "The CIEDE2000 color-difference formula: implementation notes" (their Table 1).
* **Threshold**: ΔE00 ≥ 20 between every two outcome fills, under normal vision and both simulations. A ΔE00 of
  about 2 is a just-noticeable difference for large patches side by side; for the small marks of these charts
  (cells of 6-16 px, markers of 10 px) Szafir (2017, "Modeling Color Difference for Visualization Design")
  finds that differences need to be several times larger to be told apart reliably (ΔE ≈ 10 at 50 % for marks of
  about half a degree). 20 is twice that, so categories stay apart with margin; the palette before issue #22
  (OK #2ca25f vs PARTIAL_FAIL #d62728) is at 11.8 under deuteranopia and fails it, as the issue observed.
  (CIE76, the plain Euclidean Lab distance, rates that same pair 28: it overstates lightness-only differences,
  which is why CIEDE2000 is the one used.)
* **Contrast**: WCAG 2.x contrast ratio (relative luminance of sRGB), AA for normal text is 4.5:1.
"""

from __future__ import annotations

import itertools
import re

import numpy as np
import pytest

from mmsim import palette

MACHADO = {
    "deuteranopia": np.array([[0.367322, 0.860646, -0.227968],
                              [0.280085, 0.672501, 0.047413],
                              [-0.011820, 0.042940, 0.968881]]),
    "protanopia": np.array([[0.152286, 1.052583, -0.204868],
                            [0.114503, 0.786281, 0.099216],
                            [-0.003882, -0.048116, 1.051998]]),
    "normal": np.eye(3),
}
THRESHOLD = 20.0
OLD_OUTCOME_COLORS = {"OK": "#2ca25f", "FALSE_POSITIVE": "#f28e2b", "CLEAN_FAIL": "#8da0b6", "PARTIAL_FAIL": "#d62728"}


def _rgb(hex_colour: str) -> np.ndarray:
    h = hex_colour.lstrip("#")
    return np.array([int(h[i:i + 2], 16) / 255 for i in (0, 2, 4)])


def _linear(c: np.ndarray) -> np.ndarray:
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def _lab_of_linear(rgb: np.ndarray) -> np.ndarray:
    xyz = np.array([[0.4124564, 0.3575761, 0.1804375],
                    [0.2126729, 0.7151522, 0.0721750],
                    [0.0193339, 0.1191920, 0.9503041]]) @ rgb
    t = xyz / np.array([0.95047, 1.0, 1.08883])
    f = np.where(t > (6 / 29) ** 3, np.cbrt(t), t / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def lab(hex_colour: str, vision: str = "normal") -> np.ndarray:
    """CIELAB of ``hex_colour`` as seen with ``vision`` (the Machado matrix applied to linear sRGB)."""
    return _lab_of_linear(np.clip(MACHADO[vision] @ _linear(_rgb(hex_colour)), 0.0, 1.0))


def ciede2000(lab1: np.ndarray, lab2: np.ndarray) -> float:
    L1, a1, b1 = lab1
    L2, a2, b2 = lab2
    c_bar = (np.hypot(a1, b1) + np.hypot(a2, b2)) / 2
    g = 0.5 * (1 - np.sqrt(c_bar ** 7 / (c_bar ** 7 + 25 ** 7)))
    a1p, a2p = (1 + g) * a1, (1 + g) * a2
    c1p, c2p = np.hypot(a1p, b1), np.hypot(a2p, b2)
    h1p = np.degrees(np.arctan2(b1, a1p)) % 360 if c1p else 0.0
    h2p = np.degrees(np.arctan2(b2, a2p)) % 360 if c2p else 0.0
    dl, dc = L2 - L1, c2p - c1p
    if c1p * c2p == 0:
        dh = 0.0
    else:
        dh = h2p - h1p
        dh = dh - 360 if dh > 180 else dh + 360 if dh < -180 else dh
    d_h = 2 * np.sqrt(c1p * c2p) * np.sin(np.radians(dh / 2))
    l_bar, cp_bar = (L1 + L2) / 2, (c1p + c2p) / 2
    if c1p * c2p == 0:
        h_bar = h1p + h2p
    elif abs(h1p - h2p) <= 180:
        h_bar = (h1p + h2p) / 2
    else:
        h_bar = (h1p + h2p + 360) / 2 if h1p + h2p < 360 else (h1p + h2p - 360) / 2
    t = (1 - 0.17 * np.cos(np.radians(h_bar - 30)) + 0.24 * np.cos(np.radians(2 * h_bar))
         + 0.32 * np.cos(np.radians(3 * h_bar + 6)) - 0.20 * np.cos(np.radians(4 * h_bar - 63)))
    d_theta = 30 * np.exp(-(((h_bar - 275) / 25) ** 2))
    r_c = 2 * np.sqrt(cp_bar ** 7 / (cp_bar ** 7 + 25 ** 7))
    s_l = 1 + 0.015 * (l_bar - 50) ** 2 / np.sqrt(20 + (l_bar - 50) ** 2)
    s_c = 1 + 0.045 * cp_bar
    s_h = 1 + 0.015 * cp_bar * t
    r_t = -np.sin(np.radians(2 * d_theta)) * r_c
    return float(np.sqrt((dl / s_l) ** 2 + (dc / s_c) ** 2 + (d_h / s_h) ** 2 + r_t * (dc / s_c) * (d_h / s_h)))


def contrast(fg: str, bg: str = "#ffffff") -> float:
    def luminance(c: str) -> float:
        r, g, b = _linear(_rgb(c))
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    hi, lo = sorted((luminance(fg), luminance(bg)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def min_distance(colours: dict[str, str], vision: str) -> tuple[float, tuple[str, str]]:
    return min((ciede2000(lab(c1, vision), lab(c2, vision)), (k1, k2))
               for (k1, c1), (k2, c2) in itertools.combinations(colours.items(), 2))


# ---- the helpers against published values -------------------------------------------------------------------


@pytest.mark.parametrize("lab1, lab2, expected", [  # Sharma, Wu & Dalal (2005), Table 1, pairs 1, 7, 17, 25, 34
    ((50.0, 2.6772, -79.7751), (50.0, 0.0, -82.7485), 2.0425),
    ((50.0, 0.0, 0.0), (50.0, -1.0, 2.0), 2.3669),
    ((50.0, 2.5, 0.0), (73.0, 25.0, -18.0), 27.1492),
    ((60.2574, -34.0099, 36.2677), (60.4626, -34.1751, 39.4387), 1.2644),
    ((22.7233, 20.0904, -46.6940), (23.0331, 14.9730, -42.5619), 2.0373),
])
def test_ciede2000_matches_the_published_pairs(lab1, lab2, expected) -> None:
    assert ciede2000(np.array(lab1), np.array(lab2)) == pytest.approx(expected, abs=1e-4)


def test_lab_and_contrast_match_known_values() -> None:
    assert lab("#ffffff") == pytest.approx([100.0, 0.0, 0.0], abs=0.01)
    assert lab("#ff0000") == pytest.approx([53.24, 80.09, 67.20], abs=0.05)  # sRGB red under D65
    assert contrast("#000000") == pytest.approx(21.0)
    assert contrast("#777777") == pytest.approx(4.48, abs=0.01)  # the classic "just fails AA" grey


def test_the_simulation_collapses_the_red_green_axis() -> None:
    # Red and green keep their lightness and yellowness but lose almost all of a* (red-green); blue keeps its b*.
    for vision in ("deuteranopia", "protanopia"):
        for colour in ("#ff0000", "#00ff00"):
            assert abs(lab(colour)[1]) > 75 and abs(lab(colour, vision)[1]) < 10, (vision, colour)
        assert lab("#0000ff", vision)[2] < -80


# ---- the palette ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("vision", ["normal", "deuteranopia", "protanopia"])
def test_outcome_fills_stay_apart(vision: str) -> None:
    d, pair = min_distance(palette.OUTCOME_COLORS, vision)
    print(f"[palette] {vision}: smallest ΔE00 {d:.1f} ({' vs '.join(pair)})")
    assert d >= THRESHOLD, f"{vision}: {pair} are only ΔE00 {d:.1f} apart (threshold {THRESHOLD})"


def test_the_old_palette_fails_the_same_check() -> None:
    d, pair = min_distance(OLD_OUTCOME_COLORS, "deuteranopia")
    assert d < THRESHOLD and set(pair) == {"OK", "PARTIAL_FAIL"}


@pytest.mark.parametrize("kind", list(palette.OUTCOME_TEXT))
def test_outcome_text_passes_wcag_aa(kind: str) -> None:
    ratio = contrast(palette.OUTCOME_TEXT[kind])
    print(f"[palette] {kind} text {palette.OUTCOME_TEXT[kind]}: {ratio:.2f}:1")
    assert ratio >= 4.5


def test_other_text_colours_pass_wcag_aa() -> None:
    for name in ("INK", "GREY", "LIMIT_COLOR"):
        assert contrast(getattr(palette, name)) >= 4.5, name


def test_kernels_never_take_an_outcome_colour() -> None:
    outcome = {c.lower() for c in [*palette.OUTCOME_COLORS.values(), *palette.OUTCOME_TEXT.values()]}
    kernels = [c.lower() for c in palette.KERNEL_COLORS]
    assert not outcome & set(kernels)
    assert len(set(kernels)) == len(kernels)
    styles = [palette.kernel_style(n)[1:] for n in range(len(kernels))]
    assert len(set(styles)) == len(styles), "each kernel line also has its own dash and marker"


def test_every_outcome_has_a_shape_and_partial_fail_a_cue_of_its_own() -> None:
    from mmsim.outcome import OUTCOMES

    assert set(palette.OUTCOME_MARKERS) == set(OUTCOMES) and len(set(palette.OUTCOME_MARKERS.values())) == 4
    assert palette.PARTIAL_HATCH


# ---- one palette for plots, SVG charts and readouts ----------------------------------------------------------


def test_plots_svg_and_widgets_share_the_palette() -> None:
    from mmsim import plots, svg, widgets

    assert plots.OUTCOME_COLORS is palette.OUTCOME_COLORS and plots.PROT_COLORS is palette.PROT_COLORS
    view = widgets.outcome_map_view(widgets.sweep_limits(["seed-W", "seed-S", "k-whole-1"], ["5.0", "5.1"]),
                                    65_530)
    fills = set(re.findall(r'fill="(#[0-9A-Fa-f]{6})" data-outcome', view.svg))
    assert fills and fills <= set(palette.OUTCOME_COLORS.values())
    lines = set(re.findall(r'<polyline[^>]*stroke="(#[0-9A-Fa-f]{6})"', view.svg))
    assert lines and not lines & set(palette.OUTCOME_COLORS.values())
    coloured = set(re.findall(r"color:(#[0-9A-Fa-f]{6})", view.readout + widgets.trace_view("seed-W").readout))
    assert coloured <= set(palette.OUTCOME_TEXT.values()) | {palette.INK, palette.GREY}
    assert svg.OUTCOME_COLORS is palette.OUTCOME_COLORS
