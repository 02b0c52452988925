"""The course's map-count sliders really drive their plots in JupyterLab.

Notebooks are picked by reading their code cells (see ``has_map_count_slider``): an ipywidgets slider labelled
"max_map_count" / "free slots", or a call of one of the mmsim.widgets factories whose "free slots" slider is
built inside mmsim (trace_explorer, layout_explorer, outcome_map_explorer). For each, the test runs all cells,
then for every slider labelled that way moves it with the keyboard on its own handle, as a reader would (with
continuous_update=False each key press sends one value), waits for the kernel to go busy and back to idle and
for the plot image in the widget's Output area to change, and checks that the readout shows the new value.
When test_notebooks_in_lab.py has just run the same notebook, its page and kernel are taken over instead of
running the notebook a second time.

``test_slider_machinery_on_generated_notebook`` does the same on a notebook it writes itself (plain ipywidgets
and matplotlib, an IntSlider and an IntRangeSlider), so the tier is proven independently of the course content.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

NOTEBOOKS_DIR = Path(__file__).resolve().parents[2] / "notebooks"

# The label, as conftest.MAP_COUNT_SLIDER_LABEL (which LabPage.map_count_sliders() matches in the page).
SLIDER_LABEL = re.compile(r"max_map_count|free[ _]slots", re.IGNORECASE)
# Code that builds a slider (IntSlider, IntRangeSlider, interact/interactive, interactive_output) ...
SLIDER_CODE = re.compile(r"slider|interactive_output|\binteract(?:ive)?\s*\(", re.IGNORECASE)
# ... or calls one of the mmsim.widgets factories whose controls include the "free slots" slider.
EXPLORER_CALL = re.compile(r"\b(?:trace|layout|outcome_map)_explorer\s*\(")
KEY_PRESSES = 3
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

# The srcs of a slider's plot images: the <img>s in the ipywidgets Output areas (.widget-output) of the
# smallest widget box around the slider that has one (an explorer's VBox), else of its cell, else of the
# whole notebook (a plot displayed from another cell).
JS_PLOT_IMAGES = """(slider) => {
    let scope = slider.parentElement;
    while (scope && !scope.querySelector('.widget-output') && !scope.classList.contains('jp-Cell')) {
        scope = scope.parentElement;
    }
    if (!scope || !scope.querySelector('.widget-output')) scope = slider.closest('.jp-Notebook');
    return [...scope.querySelectorAll('.widget-output img')].map(img => img.getAttribute('src') || '');
}"""

# One slider step is done when the kernel has been busy and is idle again and the plot differs from before.
# window.__mmsimKernelStatuses is the kernel-status log that conftest.py's LabPage installs in the page.
JS_STEP_DONE = f"""([slider, before, mark]) => {{
    const statuses = (window.__mmsimKernelStatuses || []).slice(mark);
    const panel = slider.closest('.jp-NotebookPanel');
    const indicator = panel && panel.querySelector('.jp-Notebook-ExecutionIndicator');
    if (!statuses.includes('busy')) return false;
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
        ],
    }


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

    key = "ArrowRight" if values[0] < high else "ArrowLeft"
    handle.focus()
    for _ in range(KEY_PRESSES):
        mark = lab.kernel_status_mark()
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
                f"{rel_path}: after {key} moved slider {name!r} to {value}, the plot did not change with a "
                f"busy→idle kernel within {STEP_TIMEOUT_MS / 1000:.0f}s "
                f"(kernel statuses since the key press: {lab.kernel_statuses(mark)})"
            ) from None
        lab.wait_kernel_settled()  # the Output widget's state echo is another busy→idle; let it finish
        values.append(value)
        images.append(page.evaluate(JS_PLOT_IMAGES, slider_el))
        print(f"[browser] {rel_path}: {name!r} {key} -> {value}, kernel {' → '.join(lab.kernel_statuses(mark))}")

    assert len(values) > 1, f"{rel_path}: {key} did not move slider {name!r} from {values[0]}"
    assert images[-1] != images[0], f"{rel_path}: the plot of {name!r} is unchanged after moving it {values}"
    shown = readout.inner_text()
    assert _readout_numbers(shown)[:1] == values[-1:], (
        f"{rel_path}: slider {name!r} readout shows {shown!r}, its handle is at {values[-1]}"
    )
    lab.screenshot(f"{shot_prefix}-after", around=slider)
    return values


def exercise_map_count_sliders(lab, rel_path: str, shot_prefix: str) -> None:
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

    for index in range(min(sliders.count(), MAX_SLIDERS)):
        slider = sliders.nth(index)
        name = f"{slider.locator('.widget-label').first.inner_text().strip()} #{index + 1}"
        move_slider(lab, rel_path, slider, name, f"{shot_prefix}-slider{index + 1}")

    after = lab.run_state()
    lab.screenshot(f"{shot_prefix}-after")
    assert not after.errors, f"{rel_path}: errors after moving the sliders:\n{after.describe()}"


def test_bug_and_false_positive_notebooks_have_map_count_sliders():
    """The course issue asks for the slider test in the bug (04) and false-positive (06) notebooks at least."""
    for name in ("04-the-bug.ipynb", "06-false-positives.ipynb"):
        assert name in WIDGET_NOTEBOOKS, (
            f"{name} builds no slider labelled max_map_count / free slots (and calls no trace_explorer / "
            f"layout_explorer / outcome_map_explorer); widget notebooks found: {WIDGET_NOTEBOOKS}"
        )


@pytest.mark.timeout(300)
@pytest.mark.parametrize("name", WIDGET_NOTEBOOKS)
def test_map_count_sliders_redraw_plots(lab_page, name):
    exercise_map_count_sliders(lab_page, name, f"widgets-{Path(name).stem}")


@pytest.mark.timeout(300)
def test_slider_machinery_on_generated_notebook(lab_page, lab_server):
    path = lab_server.root / SELFTEST_PATH
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(_selftest_notebook(), indent=1) + "\n", encoding="utf-8")
    exercise_map_count_sliders(lab_page, SELFTEST_PATH, "widgets-selftest")
