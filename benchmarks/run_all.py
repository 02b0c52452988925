"""Run every benchmark (``make bench``): core ops, the tree, scale, model vs kernel, sweeps, course, widgets."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHES = [
    "bench_core.py", "bench_tree.py", "bench_scale.py", "bench_vs_kernel.py", "bench_sweep.py", "bench_course.py",
    "bench_widgets.py", "bench_resources.py", "bench_studies.py",
]


def main() -> int:
    status = 0
    for name in BENCHES:
        print(f"\n=== {name} ===", flush=True)
        status |= subprocess.call([sys.executable, str(HERE / name)])
    return status


if __name__ == "__main__":
    raise SystemExit(main())
