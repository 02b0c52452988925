"""How fast the explorers answer a move of their max_map_count slider.

    .venv/bin/python benchmarks/bench_widgets.py             # kernel side, then the browser (JupyterLab)
    .venv/bin/python benchmarks/bench_widgets.py --no-browser
    .venv/bin/python benchmarks/bench_widgets.py --before /path/to/older/checkout   # time an older mmsim too

Two measurements, side by side (the machine is shared: medians of many repetitions, never a single run):

* **kernel side**, in this process: one slider step of each explorer (classify + SVG + readout, what the
  browser receives), next to what the same step costs through matplotlib (figure + PNG render, the static
  image and the way earlier versions updated);
* **browser**: ``tests/browser/test_widgets_in_lab.py::test_slider_machinery_on_generated_notebook`` in a real
  JupyterLab with headless chromium; each key press on a slider handle is timed in the page, from the keydown
  event to the DOM mutation that puts the new chart in place (``MMSIM_WIDGET_TIMINGS``). With ``--before DIR``
  the same test runs again with ``DIR`` first on the kernel's ``PYTHONPATH`` and ``MMSIM_WIDGET_SUITE=legacy``
  (the three explorers of earlier versions, their "free slots" sliders).

Targets (the issue): ≤ 100 ms median in the browser for trace and layout, ≤ 250 ms for the outcome map over the
catalogue. Results go to ``benchmarks/results/widgets.json`` (not committed) and are printed.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("MPLBACKEND", "Agg")
RESULTS = ROOT / "benchmarks" / "results"
TARGETS_MS = {"trace_explorer": 100, "layout_explorer": 100, "failure_point_explorer": 100,
              "live_explorer": 100, "outcome_map_explorer": 250}


def _median_ms(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1000, 2)


def kernel_side(repeats: int = 40) -> dict[str, dict[str, float]]:
    """Median seconds → ms of one slider step per explorer: the SVG path and the matplotlib PNG path."""
    from mmsim import widgets
    from mmsim.plots import figure_png

    out: dict[str, dict[str, float]] = {}
    factories = {
        "trace_explorer": lambda: widgets.trace_explorer("seed-W"),
        "failure_point_explorer": lambda: widgets.failure_point_explorer("seed-W"),
        "layout_explorer": lambda: widgets.layout_explorer("seed-W", "5.0"),
        "outcome_map_explorer": lambda: widgets.outcome_map_explorer(),
    }
    for name, make in factories.items():
        t = time.perf_counter()
        ex = make()
        created = time.perf_counter() - t
        slider = ex.controls["max_map_count"]
        values = list(range(slider.min, slider.max + 1))
        svg, png = [], []
        for i in range(repeats):  # interleaved: both paths see the same machine load
            v = values[(i * 7 + 3) % len(values)]
            if v == slider.value:
                v = values[(i * 7 + 4) % len(values)]
            t = time.perf_counter()
            slider.value = v
            svg.append(time.perf_counter() - t)
            if i < 7:  # the matplotlib path is slow: fewer samples
                t = time.perf_counter()
                figure_png(ex.last_view.figure())
                png.append(time.perf_counter() - t)
        out[name] = {"create_ms": round(created * 1000, 1), "svg_update_ms": _median_ms(svg),
                     "svg_bytes": len(ex.last_svg or ""), "matplotlib_png_ms": _median_ms(png)}
    return out


def browser(presses: int, before: Path | None = None) -> dict[str, list[float]] | None:
    """Run the browser tier's generated-notebook test; key-press → chart times by slider (None if it failed)."""
    with tempfile.TemporaryDirectory() as tmp:
        timings = Path(tmp) / "timings.json"
        env = {**os.environ, "MMSIM_WIDGET_TIMINGS": str(timings), "MMSIM_WIDGET_PRESSES": str(presses)}
        if before is not None:
            env["PYTHONPATH"] = str(before) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
            env["MMSIM_WIDGET_SUITE"] = "legacy"
        cmd = [sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider",
               "tests/browser/test_widgets_in_lab.py::test_slider_machinery_on_generated_notebook"]
        proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1500)
        if proc.returncode != 0 or not timings.is_file():
            print(proc.stdout[-4000:], proc.stderr[-2000:])  # a skip (no chromium) says so here
            return None
        return json.loads(timings.read_text())


def _by_explorer(timings: dict[str, list[float]], suite: list[str]) -> dict[str, list[float]]:
    """Slider names → explorer names: the self-test's two sliders come first, then one per explorer cell."""
    out: dict[str, list[float]] = {}
    names = ["selftest: free slots", "selftest: free slots range"] + suite
    for i, (_, ms) in enumerate(sorted(timings.items(), key=lambda kv: int(kv[0].rsplit("#", 1)[1]))):
        out[names[i] if i < len(names) else f"slider {i + 1}"] = ms
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-browser", action="store_true", help="kernel side only")
    parser.add_argument("--presses", type=int, default=9, help="key presses per slider in the browser (default 9)")
    parser.add_argument("--before", type=Path, help="an older checkout to time in the browser as well")
    args = parser.parse_args()

    report: dict[str, object] = {"machine": os.uname().nodename, "cpus": os.cpu_count(),
                                 "when": time.strftime("%Y-%m-%d %H:%M:%S")}
    ks = kernel_side()
    report["kernel_side"] = ks
    print("kernel side: one max_map_count step (median)      SVG path    matplotlib PNG   SVG size   create")
    for name, r in ks.items():
        print(f"  {name:<34} {r['svg_update_ms']:>10.1f} ms {r['matplotlib_png_ms']:>12.1f} ms "
              f"{r['svg_bytes'] / 1024:>8.1f} KiB {r['create_ms']:>7.0f} ms")
    if not args.no_browser:
        from tests.browser.test_widgets_in_lab import EXPLORER_CELLS, LEGACY_CELLS

        runs = {"after": (None, list(EXPLORER_CELLS))}
        if args.before is not None:
            runs["before"] = (args.before.resolve(), list(LEGACY_CELLS))
        for label, (repo, suite) in runs.items():
            got = browser(args.presses, repo)
            if got is None:
                print(f"browser ({label}): the test failed; see its output above")
                continue
            per = _by_explorer(got, suite)
            report[f"browser_{label}"] = per
            print(f"browser ({label}{': ' + str(repo) if repo else ''}): key press → new chart in the DOM")
            for name, ms in per.items():
                target = TARGETS_MS.get(name)
                print(f"  {name:<34} median {statistics.median(ms):7.0f} ms  min {min(ms):5.0f}  max {max(ms):5.0f}"
                      f"  n={len(ms)}" + (f"  (target <= {target} ms)" if target else ""))
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "widgets.json").write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    print(f"written: {RESULTS / 'widgets.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
