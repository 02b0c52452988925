#!/usr/bin/env python3
"""Throughput of the core model operations at large map counts.

Two workloads, each a pair of syscalls that returns the address space to where it started:

* ``mprotect split+merge``: mprotect one interior page of a 10-page RW VMA to PROT_READ (two
  splits, +2) and back to RW (whole-VMA merge with both sides, -2);
* ``mmap+munmap``: MAP_FIXED one private anonymous page into a free gap (+1) and unmap it (-1).

Each runs at 1,000, 65,530 and 1,048,576 VMAs (filler VMAs from ``AddressSpace.pad``), with
``max_map_count`` just above the count so no limit check fails. Timing uses ``time.perf_counter``
over repeated batches until ``--min-time`` seconds have passed; the table reports pairs per second
and microseconds per pair. No assertions: this is a measurement, not a test.

    .venv/bin/python benchmarks/bench_core.py
    .venv/bin/python benchmarks/bench_core.py --sizes 1000 65530 --kernels 5.0 6.18 --csv out.csv
"""

from __future__ import annotations

import argparse
import csv
import sys
import time

import mmsim
from mmsim import MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, PAGE_SIZE, PROT_READ, PROT_WRITE

P = PAGE_SIZE
RW = PROT_READ | PROT_WRITE
FIX = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED
X = 0x7E0000000000  # the 10-page VMA
GAP = X + 64 * P  # a free page, no neighbours
DEFAULT_SIZES = (1_000, 65_530, 1_048_576)


def build(n: int, kernel: str) -> tuple[mmsim.AddressSpace, float]:
    """An address space with exactly ``n`` VMAs (n - 1 fillers + X); returns it and the build time."""
    t0 = time.perf_counter()
    mm = mmsim.AddressSpace(kernel=kernel, max_map_count=n + 16)
    mm.pad(n - 1)
    mm.mmap(X, 10 * P, RW, FIX)
    return mm, time.perf_counter() - t0


def mprotect_split_merge(mm: mmsim.AddressSpace, iters: int) -> None:
    mprotect = mm.mprotect
    for _ in range(iters):
        mprotect(X + 2 * P, P, PROT_READ)
        mprotect(X + 2 * P, P, RW)


def mmap_munmap(mm: mmsim.AddressSpace, iters: int) -> None:
    mmap, munmap = mm.mmap, mm.munmap
    for _ in range(iters):
        mmap(GAP, P, RW, FIX)
        munmap(GAP, P)


WORKLOADS = {
    "mprotect split+merge": mprotect_split_merge,
    "mmap+munmap": mmap_munmap,
}


def measure(fn, mm: mmsim.AddressSpace, min_time: float) -> tuple[float, int]:
    """Run ``fn`` in growing batches until ``min_time`` seconds; return (pairs per second, pairs)."""
    fn(mm, 10)  # warm-up
    batch, done, elapsed = 10, 0, 0.0
    while elapsed < min_time:
        t0 = time.perf_counter()
        fn(mm, batch)
        elapsed += time.perf_counter() - t0
        done += batch
        batch = min(batch * 2, 20_000)
    return done / elapsed, done


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=list(DEFAULT_SIZES), help="map counts to test")
    ap.add_argument("--kernels", nargs="+", default=["6.18"], choices=mmsim.KERNELS, help="profiles")
    ap.add_argument("--min-time", type=float, default=1.0, help="seconds of timing per cell (default 1)")
    ap.add_argument("--csv", metavar="PATH", help="also write the rows as CSV ('-' for stdout)")
    args = ap.parse_args(argv)

    rows = []
    header = f"{'kernel':<8} {'VMAs':>10} {'build s':>8}  {'workload':<22} {'pairs/s':>10} {'us/pair':>9} {'pairs':>8}"
    print(header)
    print("-" * len(header))
    for kernel in args.kernels:
        for n in args.sizes:
            mm, build_s = build(n, kernel)
            for name, fn in WORKLOADS.items():
                rate, pairs = measure(fn, mm, args.min_time)
                row = {"kernel": kernel, "vmas": n, "build_s": round(build_s, 3), "workload": name,
                       "pairs_per_s": round(rate, 1), "us_per_pair": round(1e6 / rate, 2), "pairs": pairs}
                rows.append(row)
                print(f"{kernel:<8} {n:>10,} {build_s:>8.2f}  {name:<22} {rate:>10,.0f} {1e6 / rate:>9.2f} {pairs:>8}",
                      flush=True)
            del mm
    if args.csv:
        out = sys.stdout if args.csv == "-" else open(args.csv, "w", newline="")
        try:
            w = csv.DictWriter(out, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)
        finally:
            if out is not sys.stdout:
                out.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
