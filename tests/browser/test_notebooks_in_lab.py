"""Every course notebook opens in JupyterLab, runs with Run → Run All Cells, and shows no error.

Runs in the real browser tier (see conftest.py). One test per notebooks/*.ipynb, collected at import time.
A full-notebook screenshot of each run is saved to the artifacts folder. The run of a notebook with a
max_map_count / "free slots" slider is kept open for test_widgets_in_lab.py, which then moves the sliders
without loading and running the notebook again.
"""

from __future__ import annotations

from pathlib import Path

import pytest

NOTEBOOKS_DIR = Path(__file__).resolve().parents[2] / "notebooks"
NOTEBOOKS = sorted(path.name for path in NOTEBOOKS_DIR.glob("*.ipynb"))

pytestmark = pytest.mark.browser


def test_course_has_notebooks():
    assert NOTEBOOKS, f"no notebooks found in {NOTEBOOKS_DIR}"


@pytest.mark.timeout(300)
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs_clean_in_lab(lab_page, name):
    result = lab_page.run_notebook(name)
    lab_page.screenshot(f"notebook-{Path(name).stem}")

    assert not result.errors, f"{name}: error output after Run All Cells:\n{result.describe()}"
    assert not result.unexecuted, f"{name}: not every code cell ran:\n{result.describe()}"
    assert result.status == "idle", f"{name}: kernel not idle after the run:\n{result.describe()}"

    # A notebook with a map-count slider is tested again by test_widgets_in_lab.py: hand it this run.
    lab_page.wait_kernel_settled()
    if lab_page.map_count_sliders().count():
        lab_page.keep_for_next_test()
