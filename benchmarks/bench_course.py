"""Course time and widget update time.

    .venv/bin/python benchmarks/bench_course.py

* executes every notebook in notebooks/ as CI does (pytest --nbval-lax) and prints seconds per notebook
  and the total (target: the whole course in <= 60 s);
* times one update of each widget explorer after a slider change (target: <= 100 ms), best of 5: the
  classification, the SVG and the readout, which is what the browser receives (the explorers draw no matplotlib
  figure on a slider move; benchmarks/bench_widgets.py compares that with the PNG path and times the browser).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("MPLBACKEND", "Agg")


def course_seconds() -> tuple[list[tuple[str, float]], float]:
    """Run the notebooks as CI does (``pytest --nbval-lax``); per-notebook cell seconds and the wall total.

    nbval rather than nbclient: the notebooks' widget cells occasionally made nbclient wait for a reply
    until its timeout (seen while writing notebooks 05-08), never nbval.
    """
    import re
    import subprocess
    from collections import defaultdict

    t = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "pytest", "--nbval-lax", "--nbval-current-env", "-q",
                           "-p", "no:cacheprovider", "--durations=0", str(ROOT / "notebooks")],
                          capture_output=True, text=True, cwd=ROOT, timeout=900)
    wall = time.perf_counter() - t
    if proc.returncode != 0:
        print(proc.stdout[-3000:])
        raise SystemExit("the notebooks failed under nbval")
    per: dict[str, float] = defaultdict(float)
    for m in re.finditer(r"^([\d.]+)s \w+\s+\S*?([\w-]+\.ipynb)::", proc.stdout, re.M):
        per[m.group(2)] += float(m.group(1))
    return sorted(per.items()), wall


def widget_ms() -> list[tuple[str, float]]:
    from mmsim import widgets

    out = []
    for name, factory, control in (
        ("trace_explorer", widgets.trace_explorer, "max_map_count"),
        ("layout_explorer", widgets.layout_explorer, "max_map_count"),
        ("outcome_map_explorer", widgets.outcome_map_explorer, "max_map_count"),
    ):
        ex = factory()
        best = float("inf")
        c = ex.controls[control]
        fresh = [v for v in range(c.min, c.max + 1) if v != c.value][:5]  # within the slider; never shown yet
        assert len(fresh) == 5, (name, c.min, c.max)
        for v in fresh:
            t = time.perf_counter()
            c.value = v
            assert ex.last_svg, name  # the update produced what the browser draws
            best = min(best, time.perf_counter() - t)
        out.append((name, best * 1000))
    return out


def main() -> int:
    per, wall = course_seconds()
    print("notebook                              seconds (kernel start + cells, as nbval reports)")
    for name, sec in per:
        print(f"{name:<36} {sec:8.2f}")
    print(f"{'course total (wall, pytest --nbval-lax notebooks/)':<52} {wall:8.2f}  (target <= 60 s)")
    print("\nwidget update (slider change: classify + SVG + readout), best of 5")
    for name, ms in widget_ms():
        print(f"{name:<36} {ms:8.1f} ms  (target <= 100 ms)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
