"""The course's map-count sliders really drive their plots in JupyterLab.

Notebooks are picked by reading their code cells (see ``has_map_count_slider``): an ipywidgets slider labelled
"max_map_count" / "free slots", or a call of one of the mmsim.widgets factories, whose ``max_map_count`` slider
is built inside mmsim. For each, the test runs all cells, then for every slider labelled that way moves it with
the keyboard on its own handle, as a reader would (with continuous_update=False each key press sends one value),
waits for the plot (an explorer's SVG in an ipywidgets HTML, an ipywidgets Image, or an image in an Output area)
to change with the kernel idle, and checks that the slider's readout shows the new value. For an mmsim explorer
it also checks that the new absolute ``max_map_count`` reached the explorer's readout (``.mmsim-limit``) and its
chart (the SVG's ``data-max-map-count``). When test_notebooks_in_lab.py has just run the same notebook, its page
and kernel are taken over instead of running the notebook a second time.

``test_slider_machinery_on_generated_notebook`` does the same on a notebook it writes itself: plain ipywidgets
and matplotlib (an IntSlider and an IntRangeSlider, proving the tier independently of the course content), and
every mmsim explorer (trace, failure points, layout, outcome map, live), so the explorers are covered before the
course notebooks use them all. Each key press is timed in the page, from the keydown event to the DOM mutation
that put the new chart in place; the times are printed and, with ``MMSIM_WIDGET_TIMINGS=path.json``, written
for ``benchmarks/bench_widgets.py``. Nothing asserts on them. ``MMSIM_WIDGET_PRESSES`` sets the key presses per
slider (default 3); ``MMSIM_WIDGET_SUITE=legacy`` writes only the three explorers of earlier versions, with their
default arguments (to time an older mmsim put on ``PYTHONPATH``).
"""

from __future__ import annotations

import json
import os
import re
import statistics
from pathlib import Path

import pytest

NOTEBOOKS_DIR = Path(__file__).resolve().parents[2] / "notebooks"

# The label, as conftest.MAP_COUNT_SLIDER_LABEL (which LabPage.map_count_sliders() matches in the page).
SLIDER_LABEL = re.compile(r"max_map_count|free[ _]slots", re.IGNORECASE)
# Code that builds a slider (IntSlider, IntRangeSlider, interact/interactive, interactive_output) ...
SLIDER_CODE = re.compile(r"slider|interactive_output|\binteract(?:ive)?\s*\(", re.IGNORECASE)
# ... or calls one of the mmsim.widgets factories, whose controls include the max_map_count slider.
EXPLORER_CALL = re.compile(r"\b(?:trace|layout|outcome_map|failure_point|live)_explorer\s*\(")
KEY_PRESSES = int(os.environ.get("MMSIM_WIDGET_PRESSES", "3"))
TIMINGS: dict[str, list[float]] = {}  # key press -> new chart in the DOM (ms), by slider
MAX_SLIDERS = 6  # per notebook
SLIDER_TIMEOUT_MS = 20_000  # for the sliders to show once the run is over
STEP_TIMEOUT_MS = 60_000  # for one slider step to redraw the plot


def _code(path: Path) -> str:
    cells = json.loads(path.read_text(encoding="utf-8")).get("cells", [])
    sources = (c.get("source", "") for c in cells if c.get("cell_type") == "code")
    return "\n".join("".join(s) if isinstance(s, list) else s for s in sources)


def has_map_count_slider(path: Path) -> bool:
    code = _code(path)
    return bool(EXPLORER_CALL.search(code) or (SLIDER_CODE.search(code) and SLIDER_LABEL.search(code)))


WIDGET_NOTEBOOKS = sorted(p.name for p in NOTEBOOKS_DIR.glob("*.ipynb") if has_map_count_slider(p))

pytestmark = pytest.mark.browser

# Signatures of a slider's charts: the SVGs in ipywidgets HTML (.widget-html svg, with their data-max-map-count),
# the <img>s of ipywidgets Image and of Output areas, in the smallest widget box around the slider that has one
# (an explorer's VBox), else in its cell, else in the whole notebook (a plot displayed from another cell).
JS_SCOPE = """(slider) => {
    const has = (el) => el.querySelector('.widget-html svg, img.widget-image, .widget-output img');
    let scope = slider.parentElement;
    while (scope && !has(scope) && !scope.classList.contains('jp-Cell')) scope = scope.parentElement;
    if (!scope || !has(scope)) scope = slider.closest('.jp-Notebook');
    return scope;
}"""
JS_PLOT_IMAGES = f"""(slider) => {{
    const scope = ({JS_SCOPE})(slider);
    const hash = (text) => {{ let h = 0; for (let i = 0; i < text.length; i++) h = (h * 31 + text.charCodeAt(i)) | 0;
                              return text.length + ':' + h; }};
    const svgs = [...scope.querySelectorAll('.widget-html svg')].filter(svg => svg.offsetParent !== null)
        .map(svg => 'svg:' + (svg.getAttribute('data-max-map-count') || '') + ':' + hash(svg.outerHTML));
    const imgs = [...scope.querySelectorAll('img.widget-image, .widget-output img')]
        .filter(img => img.offsetParent !== null).map(img => 'img:' + hash(img.getAttribute('src') || ''));
    return svgs.concat(imgs);
}}"""
# The absolute max_map_count an mmsim explorer's readout and chart show (null where there is none).
JS_EXPLORER_LIMIT = f"""(slider) => {{
    const scope = ({JS_SCOPE})(slider);
    const readout = scope.querySelector('.mmsim-limit');
    const svg = [...scope.querySelectorAll('.widget-html svg[data-max-map-count]')].find(s => s.offsetParent !== null);
    return {{readout: readout ? Number(readout.getAttribute('data-max-map-count')) : null,
             text: readout ? readout.textContent : null,
             chart: svg ? Number(svg.getAttribute('data-max-map-count')) : null}};
}}"""
# Timing: a capturing keydown listener stamps the key press; a MutationObserver on the slider's scope stamps the
# first DOM change after which the charts differ from what they were (both performance.now(), in the page).
JS_ARM_TIMER = f"""([slider, before]) => {{
    const scope = ({JS_SCOPE})(slider);
    window.__mmsimKeyAt = null;
    window.__mmsimChartAt = null;
    if (window.__mmsimObserver) window.__mmsimObserver.disconnect();
    if (!window.__mmsimKeyListener) {{
        window.__mmsimKeyListener = () => {{ window.__mmsimKeyAt = performance.now(); }};
        document.addEventListener('keydown', window.__mmsimKeyListener, true);
    }}
    const obs = new MutationObserver(() => {{
        if (window.__mmsimChartAt !== null) return;
        const now = ({JS_PLOT_IMAGES})(slider);
        if (now.length && JSON.stringify(now) !== JSON.stringify(before)) window.__mmsimChartAt = performance.now();
    }});
    obs.observe(scope, {{subtree: true, childList: true, attributes: true, characterData: true}});
    window.__mmsimObserver = obs;
}}"""
JS_READ_TIMER = """() => {
    if (window.__mmsimObserver) window.__mmsimObserver.disconnect();
    const k = window.__mmsimKeyAt, c = window.__mmsimChartAt;
    return (k === null || c === null) ? null : c - k;
}"""

# One slider step is done when the plot differs from before and the kernel is idle. (The kernel's busy phase is
# not required to be seen: an explorer answers in a few milliseconds, and JupyterLab may render busy and idle in
# one frame, so the toolbar's indicator, which conftest.py's LabPage logs, can skip "busy". The changed plot is
# the proof that the kernel ran the callback.)
JS_STEP_DONE = f"""([slider, before, mark]) => {{
    const panel = slider.closest('.jp-NotebookPanel');
    const indicator = panel && panel.querySelector('.jp-Notebook-ExecutionIndicator');
    if (!indicator || indicator.getAttribute('data-status') !== 'idle') return false;
    const now = ({JS_PLOT_IMAGES})(slider);
    return now.length > 0 && now.every(src => src.length > 0) && JSON.stringify(now) !== JSON.stringify(before);
}}"""

SELFTEST_PATH = "_browser-selftest/free-slots-slider.ipynb"
SELFTEST_CODE = """\
%matplotlib inline
import ipywidgets as widgets
import matplotlib.pyplot as plt
from IPython.display import display

LIMIT = 12
slots = widgets.IntSlider(value=4, min=0, max=LIMIT, step=1, description="free slots", continuous_update=False)
window = widgets.IntRangeSlider(value=(2, 9), min=0, max=LIMIT, step=1, description="free slots range",
                                continuous_update=False)


def draw(free, span):
    fig, ax = plt.subplots(figsize=(4, 2.5))
    ax.bar(["used", "free"], [LIMIT - free, free], color=["tab:red", "tab:green"])
    ax.axhspan(*span, color="tab:blue", alpha=0.2)
    ax.set_ylim(0, LIMIT)
    ax.set_title(f"free slots: {free} of {LIMIT}, range {span[0]}-{span[1]}")
    plt.show()


plot = widgets.interactive_output(draw, {"free": slots, "span": window})
display(widgets.VBox([slots, window, plot]))
"""
# Every mmsim explorer, each in a cell of its own, in the default process (65,527 VMAs) around the default limit.
EXPLORER_CELLS = {
    "trace_explorer": "from mmsim import widgets as Wd\nWd.trace_explorer('seed-W')",
    "failure_point_explorer": "Wd.failure_point_explorer('seed-W')",
    "layout_explorer": "Wd.layout_explorer('seed-W', '5.0')",
    "outcome_map_explorer": "Wd.outcome_map_explorer()",
    "live_explorer": "Wd.live_explorer('seed-W')",
}
LEGACY_CELLS = {  # the explorers of earlier versions (a "free slots" knob), default arguments
    "trace_explorer": "from mmsim import widgets as Wd\nWd.trace_explorer()",
    "layout_explorer": "Wd.layout_explorer()",
    "outcome_map_explorer": "Wd.outcome_map_explorer()",
}


def _selftest_notebook() -> dict:
    def cell(cell_id: str, cell_type: str, source: str) -> dict:
        extra = {"execution_count": None, "outputs": []} if cell_type == "code" else {}
        return {"id": cell_id, "cell_type": cell_type, "metadata": {}, "source": source, **extra}

    return {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
        "cells": [
            cell("selftest-md", "markdown", "# Browser-tier self-test: `free slots` sliders redraw their plot"),
            cell("selftest-code", "code", SELFTEST_CODE),
        ] + [cell(f"explorer-{name}", "code", code) for name, code in explorer_cells().items()],
    }


def explorer_cells() -> dict[str, str]:
    return LEGACY_CELLS if os.environ.get("MMSIM_WIDGET_SUITE") == "legacy" else EXPLORER_CELLS


def _number(text: str | None) -> int:
    return int(float(text or "nan"))


def _readout_numbers(text: str) -> list[int]:
    """'7' -> [7]; a range slider's '-1 – 16' -> [-1, 16] (thousands separators dropped)."""
    return [int(n.replace("−", "-")) for n in re.findall(r"[-−]?\d+", text.replace(",", ""))]


def move_slider(lab, rel_path: str, slider, name: str, shot_prefix: str) -> list[int]:
    """Press an arrow key on the slider's first handle a few times; after each press wait for the kernel to go
    busy→idle and the plot to change. Returns the values the handle went through."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError  # not at import: collection must work

    page = lab.page
    slider.scroll_into_view_if_needed()
    slider_el = slider.element_handle()
    try:
        page.wait_for_function(
            f"(slider) => ({JS_PLOT_IMAGES})(slider).some(src => src.length > 0)",
            arg=slider_el, polling=100, timeout=STEP_TIMEOUT_MS,
        )  # fmt: skip
    except PlaywrightTimeoutError:
        raise AssertionError(f"{rel_path}: slider {name!r} has no plot image in an ipywidgets Output") from None
    handles = slider.locator(".noUi-handle")  # ipywidgets 8 sliders are noUiSlider; handles take arrow keys
    handle = handles.first
    low, high = _number(handle.get_attribute("aria-valuemin")), _number(handle.get_attribute("aria-valuemax"))
    values = [_number(handle.get_attribute("aria-valuenow"))]
    assert low < high, f"{rel_path}: slider {name!r} cannot move (range [{low}, {high}])"
    readout = slider.locator(".widget-readout")
    assert _readout_numbers(readout.inner_text())[:1] == values[:1], (
        f"{rel_path}: slider {name!r} readout {readout.inner_text()!r} does not show {values[0]}"
    )
    images = [page.evaluate(JS_PLOT_IMAGES, slider_el)]
    lab.screenshot(f"{shot_prefix}-before", around=slider)

    absolute = "max_map_count" in name and page.evaluate(JS_EXPLORER_LIMIT, slider_el)["readout"] is not None
    key = "ArrowRight" if values[0] < high else "ArrowLeft"
    handle.focus()
    for _ in range(KEY_PRESSES):
        mark = lab.kernel_status_mark()
        page.evaluate(JS_ARM_TIMER, [slider_el, images[-1]])
        page.keyboard.press(key)
        value = _number(handle.get_attribute("aria-valuenow"))
        if value == values[-1]:  # the end of the range (or the other handle) is reached
            break
        try:
            page.wait_for_function(
                JS_STEP_DONE, arg=[slider_el, images[-1], mark], polling=100, timeout=STEP_TIMEOUT_MS
            )
        except PlaywrightTimeoutError:
            raise AssertionError(
                f"{rel_path}: after {key} moved slider {name!r} to {value}, the plot did not change (with the kernel "
                f"idle) within {STEP_TIMEOUT_MS / 1000:.0f}s "
                f"(kernel statuses since the key press: {lab.kernel_statuses(mark)})"
            ) from None
        ms = page.evaluate(JS_READ_TIMER)
        if ms is not None:
            TIMINGS.setdefault(f"{shot_prefix} {name}", []).append(round(ms, 1))
        lab.wait_kernel_settled()  # a widget's state echo is another busy→idle; let it finish
        values.append(value)
        images.append(page.evaluate(JS_PLOT_IMAGES, slider_el))
        if absolute:
            shown = page.evaluate(JS_EXPLORER_LIMIT, slider_el)
            assert shown["readout"] == value and shown["chart"] == value, (
                f"{rel_path}: after {key} moved {name!r} to {value}, the explorer's readout says {shown['text']!r} "
                f"(max_map_count {shown['readout']}) and its chart {shown['chart']}"
            )
            assert f"{value:,}" in shown["text"], f"{rel_path}: readout {shown['text']!r} does not print {value:,}"
        print(f"[browser] {rel_path}: {name!r} {key} -> {value} (chart after {ms if ms is None else round(ms)} ms), "
              f"kernel {' → '.join(lab.kernel_statuses(mark))}")

    assert len(values) > 1, f"{rel_path}: {key} did not move slider {name!r} from {values[0]}"
    assert images[-1] != images[0], f"{rel_path}: the plot of {name!r} is unchanged after moving it {values}"
    shown = readout.inner_text()
    assert _readout_numbers(shown)[:1] == values[-1:], (
        f"{rel_path}: slider {name!r} readout shows {shown!r}, its handle is at {values[-1]}"
    )
    lab.screenshot(f"{shot_prefix}-after", around=slider)
    return values


def exercise_map_count_sliders(lab, rel_path: str, shot_prefix: str, max_sliders: int = MAX_SLIDERS) -> list:
    """Run the notebook, then move each slider labelled max_map_count / free slots and check its plot follows."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

    # The run test_notebooks_in_lab.py kept for this notebook, if any; else open and run it here.
    run = lab.resume(rel_path) or lab.run_notebook(rel_path)
    assert not run.errors and not run.unexecuted, f"{rel_path}: Run All Cells failed:\n{run.describe()}"
    lab.wait_kernel_settled()

    page = lab.page
    sliders = lab.map_count_sliders()
    try:
        sliders.first.wait_for(state="visible", timeout=SLIDER_TIMEOUT_MS)
    except PlaywrightTimeoutError:
        labels = page.locator(".widget-slider .widget-label").all_inner_texts()
        raise AssertionError(
            f"{rel_path}: no slider labelled {SLIDER_LABEL.pattern!r} (slider labels: {labels})"
        ) from None

    moved = []
    for index in range(min(sliders.count(), max_sliders)):
        slider = sliders.nth(index)
        label = slider.locator(".widget-label").first.inner_text().strip()
        name = f"{label} #{index + 1}"
        values = move_slider(lab, rel_path, slider, name, f"{shot_prefix}-slider{index + 1}")
        moved.append((label, values))

    after = lab.run_state()
    lab.screenshot(f"{shot_prefix}-after")
    assert not after.errors, f"{rel_path}: errors after moving the sliders:\n{after.describe()}"
    return moved


def test_bug_and_false_positive_notebooks_have_map_count_sliders():
    """The course issue asks for the slider test in the bug (04) and false-positive (06) notebooks at least."""
    for name in ("04-the-bug.ipynb", "06-false-positives.ipynb"):
        assert name in WIDGET_NOTEBOOKS, (
            f"{name} builds no slider labelled max_map_count / free slots (and calls no trace_explorer / "
            f"layout_explorer / outcome_map_explorer); widget notebooks found: {WIDGET_NOTEBOOKS}"
        )


def _report_timings(artifacts: Path) -> None:
    """Print the key-press → chart times and write them where MMSIM_WIDGET_TIMINGS says (no assertion)."""
    if not TIMINGS:
        return
    for name, ms in TIMINGS.items():
        print(f"[browser] key press → new chart: {name}: median {statistics.median(ms):.0f} ms over {len(ms)} ({ms})")
    target = os.environ.get("MMSIM_WIDGET_TIMINGS")
    path = Path(target) if target else artifacts / "widget-latency.json"
    path.write_text(json.dumps(TIMINGS, indent=1) + "\n", encoding="utf-8")


@pytest.mark.timeout(300)
@pytest.mark.parametrize("name", WIDGET_NOTEBOOKS)
def test_map_count_sliders_redraw_plots(lab_page, name):
    moved = exercise_map_count_sliders(lab_page, name, f"widgets-{Path(name).stem}")
    assert any(label == "max_map_count" for label, _ in moved), (
        f"{name}: no max_map_count slider was moved (sliders: {[label for label, _ in moved]})"
    )


@pytest.mark.timeout(600)
def test_slider_machinery_on_generated_notebook(lab_page, lab_server, artifacts_dir):
    path = lab_server.root / SELFTEST_PATH
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(_selftest_notebook(), indent=1) + "\n", encoding="utf-8")
    TIMINGS.clear()
    moved = exercise_map_count_sliders(lab_page, SELFTEST_PATH, "widgets-selftest", max_sliders=16)
    _report_timings(artifacts_dir)
    labels = [label for label, _ in moved]
    assert labels[:2] == ["free slots", "free slots range"], labels  # the plain ipywidgets self-test
    if os.environ.get("MMSIM_WIDGET_SUITE") != "legacy":
        assert labels[2:] == ["max_map_count"] * len(EXPLORER_CELLS), (
            f"expected one max_map_count slider per explorer ({', '.join(EXPLORER_CELLS)}), moved {labels}"
        )
