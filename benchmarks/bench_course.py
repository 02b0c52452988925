"""Course time and widget update time.

    .venv/bin/python benchmarks/bench_course.py

* executes every notebook in notebooks/ with nbclient in a fresh python3 kernel (as nbval does) and prints
  seconds per notebook and the total (target: the whole course in <= 60 s);
* times one update of each widget explorer after a slider change (target: <= 100 ms), best of 5,
  including rendering the figure to PNG as the browser would receive it.
"""

from __future__ import annotations

import io
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("MPLBACKEND", "Agg")


def course_seconds() -> list[tuple[str, float]]:
    import nbformat
    from nbclient import NotebookClient

    out = []
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        t = time.perf_counter()
        NotebookClient(nb, timeout=300, kernel_name="python3",
                       resources={"metadata": {"path": str(path.parent)}}).execute()
        out.append((path.name, time.perf_counter() - t))
    return out


def widget_ms() -> list[tuple[str, float]]:
    from mmsim import widgets

    out = []
    for name, factory, control, values in (
        ("trace_explorer", widgets.trace_explorer, "slack", (3, 4)),
        ("layout_explorer", widgets.layout_explorer, "slack", (3, 4)),
        ("outcome_map_explorer", widgets.outcome_map_explorer, "slack_range", ((0, 8), (0, 9))),
    ):
        ex = factory()
        best = float("inf")
        for i in range(5):
            t = time.perf_counter()
            ex.controls[control].value = values[i % 2]
            ex.last_figure.savefig(io.BytesIO(), format="png")
            best = min(best, time.perf_counter() - t)
        out.append((name, best * 1000))
    return out


def main() -> int:
    total = 0.0
    print("notebook                              seconds")
    for name, s in course_seconds():
        total += s
        print(f"{name:<36} {s:8.2f}")
    print(f"{'course total':<36} {total:8.2f}  (target <= 60 s)")
    print("\nwidget update (slider change + PNG render), best of 5")
    for name, ms in widget_ms():
        print(f"{name:<36} {ms:8.1f} ms  (target <= 100 ms)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
