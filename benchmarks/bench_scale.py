#!/usr/bin/env python3
"""Placement, parsing and classification at 1k, 65k and 1M VMAs: the ratios the scale issue asks for.

    .venv/bin/python benchmarks/bench_scale.py [--sizes 1000 65530 1048576] [--repeat 5] [--csv PATH]

For each size (filler VMAs from ``AddressSpace.pad`` right below mmap_base, so that every placement must
search past all of them: the worst case; profile 6.18) it times, in µs per pair, median of
``--repeat`` batches, alternating the two sides of each ratio so machine load hits both alike:

* hint-less mmap+munmap (placement by the O(log n) gap search) vs MAP_FIXED mmap+munmap;
* MAYMOVE relocation (a grow that cannot happen in place, then moved back with FIXED) vs a FIXED move there
  and back;
* ``classify()`` of that relocation vs of the FIXED move, with the full trace and trace-less
  (``trace=False``, the fast path of sweeps).

It prints the ratios (targets: hint-less ≤ 2× FIXED, relocation ≤ 2× FIXED move, and per-op growth from
the smallest to the largest size ≤ 1.5×), then the bulk paths at the largest size: ``pad()``,
``AddressSpace.from_vmas()``, ``procmaps.load()`` of that many maps lines (parse + build in one pass) with
the peak memory it allocates next to the model's own size, ``maps()`` and ``copy()``; and finally where the
time of one FIXED move goes (cProfile, the top functions). Model-vs-kernel ratios per syscall are
``bench_vs_kernel.py``. No assertions: a measurement, not a test.
"""

from __future__ import annotations

import argparse
import cProfile
import csv
import gc
import io
import pstats
import statistics
import time
import tracemalloc

import mmsim
from mmsim import MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, MREMAP_FIXED, MREMAP_MAYMOVE, PAGE_SIZE, PROT_READ, procmaps
from mmsim.addrspace import FILLER_BASE

P = PAGE_SIZE
RW = PROT_READ | mmsim.PROT_WRITE
ANON = MAP_PRIVATE | MAP_ANONYMOUS
X = 0x7E0000000000  # a 16-page VMA, far from the filler and below mmap_base
HOLE = X + 64 * P  # a free page for MAP_FIXED
DEST = X + 128 * P  # where the FIXED move goes
MOVE = MREMAP_MAYMOVE | MREMAP_FIXED


def build(n: int) -> mmsim.AddressSpace:
    """``n`` VMAs: ``n - 2`` fillers ending exactly at mmap_base, then X and its guard far above.

    The worst case for placement: every 2-page hint-less mapping (and every relocation of a grown page)
    must search below all the fillers, whose 1-page gaps fit nothing; a linear top-down walk crosses
    every one of them (the issue measured about one second per call at 1M VMAs).
    """
    top = FILLER_BASE + (2 * (n - 2) - 1) * P  # the end of the last filler (1-page VMAs, 1-page gaps)
    mm = mmsim.AddressSpace("6.18", max_map_count=n + 64, mmap_base=top)
    mm.pad(n - 2)
    mm.mmap(X, 16 * P, RW, ANON | MAP_FIXED)
    mm.mmap(X + 16 * P, P, PROT_READ, ANON | MAP_FIXED)  # X cannot grow in place
    a = mm.mmap(0, 2 * P, RW, ANON)
    assert a < FILLER_BASE, hex(a)  # the search did have to pass every filler
    mm.munmap(a, 2 * P)
    return mm


def pair_hintless(mm: mmsim.AddressSpace) -> None:
    a = mm.mmap(0, 2 * P, RW, ANON)  # lands below FILLER_BASE: no filler gap fits 2 pages
    mm.munmap(a, 2 * P)


def pair_fixed(mm: mmsim.AddressSpace) -> None:
    mm.mmap(HOLE, 2 * P, RW, ANON | MAP_FIXED)
    mm.munmap(HOLE, 2 * P)


def pair_relocate(mm: mmsim.AddressSpace) -> None:
    a = mm.mremap(X + 15 * P, P, 2 * P, MREMAP_MAYMOVE)  # the last page of X grows: cannot in place
    mm.mremap(a, 2 * P, P, MOVE, X + 15 * P)  # back (a shrinking FIXED move)


def pair_fixed_move(mm: mmsim.AddressSpace) -> None:
    mm.mremap(X + 15 * P, P, P, MOVE, DEST)
    mm.mremap(DEST, P, P, MOVE, X + 15 * P)


def classify_relocation(mm: mmsim.AddressSpace, trace: bool) -> None:
    mmsim.classify(mm, "mremap", X + 15 * P, P, 2 * P, MREMAP_MAYMOVE, trace=trace)


def classify_fixed(mm: mmsim.AddressSpace, trace: bool) -> None:
    mmsim.classify(mm, "mremap", X + 15 * P, P, P, MOVE, DEST, trace=trace)


def timed(fn, mm, batch: int, *args) -> float:
    """µs per call of ``fn(mm, *args)`` over one batch."""
    t0 = time.perf_counter()
    for _ in range(batch):
        fn(mm, *args)
    return (time.perf_counter() - t0) / batch * 1e6


def measure(sizes: list[int], repeat: int, batch: int) -> list[dict]:
    rows = []
    cases = [
        ("hint-less mmap+munmap", pair_hintless, ()), ("MAP_FIXED mmap+munmap", pair_fixed, ()),
        ("MAYMOVE relocation + back", pair_relocate, ()), ("FIXED move + back", pair_fixed_move, ()),
        ("classify relocation", classify_relocation, (True,)), ("classify FIXED move", classify_fixed, (True,)),
        ("classify relocation, trace-less", classify_relocation, (False,)),
        ("classify FIXED move, trace-less", classify_fixed, (False,)),
    ]
    for n in sizes:
        mm = build(n)
        for fn, _, args in [(c[1], 0, c[2]) for c in cases]:  # warm up
            timed(fn, mm, 20, *args)
        samples: dict[str, list[float]] = {name: [] for name, _, _ in cases}
        for _ in range(repeat):
            for name, fn, args in cases:  # interleaved: load hits every case alike
                samples[name].append(timed(fn, mm, batch, *args))
        mm.check_invariants()
        for name, _, _ in cases:
            rows.append({"size": n, "case": name, "us": statistics.median(samples[name])})
        del mm
        gc.collect()
    return rows


def bulk(n: int) -> list[tuple[str, float, str]]:
    out = []
    t0 = time.perf_counter()
    mm = mmsim.AddressSpace("6.18", max_map_count=n + 8)
    mm.pad(n)
    out.append((f"pad({n:,})", time.perf_counter() - t0, ""))
    t0 = time.perf_counter()
    text = mm.maps()
    out.append((f"maps() of {n:,} VMAs", time.perf_counter() - t0, f"{len(text) / 2**20:.0f} MiB of text"))
    vmas = mm.vmas()
    t0 = time.perf_counter()
    mmsim.AddressSpace.from_vmas(vmas, max_map_count=n + 8)
    out.append(("AddressSpace.from_vmas()", time.perf_counter() - t0, ""))
    gc.collect()
    t0 = time.perf_counter()
    loaded = procmaps.load(text, max_map_count=n + 8)
    dt = time.perf_counter() - t0
    assert loaded.map_count == n
    del loaded
    gc.collect()
    tracemalloc.start()  # a second load, for memory only (tracemalloc slows every allocation down)
    base = tracemalloc.get_traced_memory()[0]
    loaded = procmaps.load(text, max_map_count=n + 8)
    size, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del loaded  # kept alive until here, so that ``size`` includes the model
    model = size - base
    out.append((f"procmaps.load() of {n:,} lines", dt,
                f"peak {(peak - base) / 2**20:.0f} MiB allocated, model {model / 2**20:.0f} MiB: "
                f"{(peak - base) / max(model, 1):.2f}x"))
    t0 = time.perf_counter()
    mm.copy()
    out.append(("copy()", time.perf_counter() - t0, ""))
    return out


def profile_fixed_move(n: int) -> str:
    mm = build(n)
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(2000):
        pair_fixed_move(mm)
    prof.disable()
    buf = io.StringIO()
    pstats.Stats(prof, stream=buf).sort_stats("tottime").print_stats(12)
    return buf.getvalue()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1_000, 65_530, 1_048_576])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--batch", type=int, default=300)
    ap.add_argument("--csv")
    ap.add_argument("--no-profile", action="store_true")
    a = ap.parse_args()
    rows = measure(a.sizes, a.repeat, a.batch)
    us = {(r["size"], r["case"]): r["us"] for r in rows}
    print(f"{'case':<34}" + "".join(f"{n:>12,}" for n in a.sizes) + "   (µs per pair/call, median)")
    for case in dict.fromkeys(r["case"] for r in rows):
        print(f"{case:<34}" + "".join(f"{us[(n, case)]:>12.1f}" for n in a.sizes))
    print()
    for num, den, target in (("hint-less mmap+munmap", "MAP_FIXED mmap+munmap", 2.0),
                             ("MAYMOVE relocation + back", "FIXED move + back", 2.0),
                             ("classify relocation", "classify FIXED move", 2.0)):
        ratios = "  ".join(f"{n:,}: {us[(n, num)] / us[(n, den)]:.2f}x" for n in a.sizes)
        print(f"{num} / {den}: {ratios}   (target <= {target}x)")
    lo, hi = a.sizes[0], a.sizes[-1]
    for case in ("hint-less mmap+munmap", "MAYMOVE relocation + back", "FIXED move + back"):
        print(f"growth {lo:,} -> {hi:,} VMAs, {case}: {us[(hi, case)] / us[(lo, case)]:.2f}x   (target <= 1.5x)")
    for case in ("classify relocation", "classify FIXED move"):
        n = a.sizes[len(a.sizes) // 2]
        print(f"trace-less speed-up, {case} at {n:,}: {us[(n, case)] / us[(n, case + ', trace-less')]:.2f}x")
    print(f"\nbulk paths at {hi:,} VMAs:")
    for name, secs, note in bulk(hi):
        print(f"  {name:<34}{secs:>8.2f} s  {note}")
    if not a.no_profile:
        print(f"\nwhere one FIXED move's time goes at {a.sizes[len(a.sizes) // 2]:,} VMAs (cProfile, by own time):")
        print(profile_fixed_move(a.sizes[len(a.sizes) // 2]))
    if a.csv:
        with open(a.csv, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=["size", "case", "us"])
            w.writeheader()
            w.writerows(rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
