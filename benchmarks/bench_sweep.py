"""Benchmark of mmsim.experiments.sweep: the catalogue sweep and a 100,000-case random sweep.

Run ``.venv/bin/python benchmarks/bench_sweep.py [--repeat N] [--random-scenarios N]``. It prints

* seconds per sweep of the whole catalogue x 6 kernels x free-slot counts 0..16 (best of ``--repeat``), with and
  without reuse of settled outcomes (see mmsim.experiments.settled), and the classified cases per second;
* the same sweep with ``exact=True`` (65,530 real filler VMAs per case, through the Runner cache);
* a random sweep of ``--random-scenarios`` scenarios x 6 kernels x 17 free-slot counts (1000 → 102,000 cases):
  seconds, cases/s, and how many of the cases needed a classify() call.

No result is asserted: timings depend on the machine (the tests never time anything).
"""

from __future__ import annotations

import argparse
import time

from mmsim import KERNELS
from mmsim import experiments as X
from mmsim.scenarios import CATALOGUE, random_scenarios


class _Counter:
    """Counts classify() calls made by sweep (wraps mmsim.experiments.classify)."""

    def __init__(self) -> None:
        self.calls = 0
        self._orig = X.classify

    def __enter__(self) -> _Counter:
        def counting(*a, **k):
            self.calls += 1
            return self._orig(*a, **k)

        X.classify = counting
        return self

    def __exit__(self, *exc) -> None:
        X.classify = self._orig


def _best(fn, repeat: int) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t)
    return best, result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5, help="repetitions of the catalogue sweep (best is shown)")
    ap.add_argument("--random-scenarios", type=int, default=1000, help="random scenarios (x 6 x 17 cases)")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()

    scs = list(CATALOGUE.values())
    n = len(scs) * len(KERNELS) * 17
    X.sweep(scs, progress=False)  # warm up imports and caches
    print(f"catalogue: {len(scs)} scenarios x {len(KERNELS)} kernels x free-slot counts 0..16 = {n} cases")
    for reuse in (True, False):
        with _Counter() as c:
            t, _ = _best(lambda reuse=reuse: X.sweep(scs, progress=False, reuse=reuse), args.repeat)
        calls = c.calls // args.repeat
        print(f"  sweep (reuse={reuse!s:5}): {t:.3f} s per sweep, {n / t:,.0f} cases/s, "
              f"{calls} classify() calls, {calls / t:,.0f} classify/s")
    t, _ = _best(lambda: X.sweep(scs, progress=False, exact=True), 1)
    print(f"  sweep (exact=True, 65,530 filler VMAs per case): {t:.3f} s, {n / t:,.0f} cases/s")

    rs = random_scenarios(args.random_scenarios, seed=args.seed)
    m = len(rs) * len(KERNELS) * 17
    t0 = time.perf_counter()
    with _Counter() as c:
        df = X.sweep(rs, progress=False)
    t = time.perf_counter() - t0
    print(f"random: {len(rs)} scenarios x {len(KERNELS)} kernels x 17 free-slot counts = {m:,} cases")
    print(f"  sweep: {t:.2f} s, {m / t:,.0f} cases/s, {c.calls:,} classify() calls ({c.calls / t:,.0f}/s)")
    counts = X.outcome_counts(df)
    print("  outcomes:\n" + "\n".join("    " + line for line in counts.to_string().splitlines()))


if __name__ == "__main__":
    main()
