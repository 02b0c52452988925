"""Resource bounds that used to be asserted in timed tests (speed and memory targets live here, not in tests).

* **Model memory per VMA** (the premise of ``mmsim.cli.MAX_MODEL_VMAS``): the peak resident set (VmHWM of a
  fresh child, not ``ru_maxrss``, which Linux carries over from the parent across fork and execve) of
  ``mmsim trace seed-W`` at ``--max-map-count`` 1,000 and 401,000, over every profile; the difference per padded
  VMA, per profile, and what MAX_MODEL_VMAS of them cost. Target: MAX_MODEL_VMAS VMAs stay under 2 GB.
* **Live fill time**: bringing a child on this kernel to ``max_map_count - 5`` (tens of thousands of mprotect
  calls). Target: under 3 s.

Run: ``python benchmarks/bench_resources.py`` (``make bench`` runs it too).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile


def peak_kb(max_map_count: int, cwd: str) -> int:
    code = ("import re, sys; from mmsim import cli; rc = cli.main(sys.argv[1:]); "
            "print(re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1), file=sys.stderr); "
            "sys.exit(rc)")
    p = subprocess.run([sys.executable, "-c", code, "trace", "seed-W", "--max-map-count", str(max_map_count)],
                       capture_output=True, text=True, timeout=600, cwd=cwd, check=True)
    return int(p.stderr.strip().splitlines()[-1])


def main() -> int:
    from mmsim import KERNELS, cli, live

    status = 0
    if os.path.exists("/proc/self/status"):
        with tempfile.TemporaryDirectory() as tmp:
            small, big = peak_kb(1000, tmp), peak_kb(401_000, tmp)
        per_vma = (big - small) * 1024 / 400_000
        total = per_vma * cli.MAX_MODEL_VMAS
        ok = total < 2e9
        status |= not ok
        print(f"model memory: {per_vma:.0f} bytes per padded VMA over {len(KERNELS)} profiles "
              f"({per_vma / len(KERNELS):.0f} per profile); MAX_MODEL_VMAS = {cli.MAX_MODEL_VMAS:,} -> "
              f"{total / 1e9:.2f} GB (target < 2 GB: {'met' if ok else 'MISSED'})")
    info = live.kernel_info()
    if info.can_run:
        run = live.run([("nop", {})], arena_pages=16, free_slots=5, timeout=120)
        ok = run.fill_seconds is not None and run.fill_seconds < 3.0
        status |= not ok
        print(f"live fill on Linux {run.release}: {run.fill_seconds:.2f} s to reach max_map_count - 5 "
              f"(target < 3 s: {'met' if ok else 'MISSED'})")
    else:
        print(f"live fill: not measured ({info.reason})")
    return status


if __name__ == "__main__":
    raise SystemExit(main())
