"""Model vs the real kernel, per operation, at 1,000 / 65,530 / 1,048,576 VMAs.

    .venv/bin/python benchmarks/bench_vs_kernel.py [--iterations N] [--csv PATH]

For each size and operation it prints µs/op for the model (``mmsim.AddressSpace``, profile 6.18) and for
the host kernel (the same syscalls through ctypes, timed inside one Python process: a child this script
starts, with a time bound, inside a PROT_NONE arena the child reserved), and the ratio model/kernel.

The kernel runs only at sizes its vm.max_map_count allows (this script never changes a sysctl); its
VMA count is raised by splitting a shared anonymous filler region with mprotect, as mmsim.live does.

Operations (one "op" = one syscall; each pair is timed together and halved):
* ``mprotect``: split one page out of a 16-page RW VMA (PROT_READ), then merge it back (RW);
* ``munmap+mmap``: unmap one page of it, map it again (MAP_FIXED; it merges back);
* ``mremap``: move one page away with MREMAP_MAYMOVE|MREMAP_FIXED, then back (it merges back).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import mmsim  # noqa: E402
from mmsim import MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, MREMAP_FIXED, MREMAP_MAYMOVE, PAGE_SIZE  # noqa: E402

P = PAGE_SIZE
RW = mmsim.PROT_READ | mmsim.PROT_WRITE
SIZES = (1_000, 65_530, 1_048_576)
OPS = ("mprotect", "munmap+mmap", "mremap")

_CHILD = r"""
import ctypes, json, sys, time
P = 4096
libc = ctypes.CDLL(None, use_errno=True)
sc = libc.syscall
sc.restype = ctypes.c_long
sc.argtypes = [ctypes.c_long] + [ctypes.c_ulong] * 6
MMAP, MPROTECT, MUNMAP, MREMAP = 9, 10, 11, 25
def call(nr, *a):
    r = sc(nr, *(list(a) + [0] * (6 - len(a))))
    if r == -1:
        raise OSError(ctypes.get_errno(), f"syscall {nr}{a}")
    return r
def count():
    with open("/proc/self/maps", "rb") as f:
        return f.read().count(b"\n")
target, iters = int(sys.argv[1]), int(sys.argv[2])
arena = call(MMAP, 0, 64 * P, 0, 0x22 | 0x4000, -1 & 0xFFFFFFFFFFFFFFFF, 0)
a = call(MMAP, arena + 8 * P, 16 * P, 3, 0x22 | 0x10, -1 & 0xFFFFFFFFFFFFFFFF, 0)
need = max(0, target - count())
pairs = need // 2 + 1
filler = call(MMAP, 0, (2 * pairs + 2) * P, 1, 0x21 | 0x4000, -1 & 0xFFFFFFFFFFFFFFFF, 0)
for i in range(need // 2):
    call(MPROTECT, filler + (2 * i + 1) * P, P, 0)
out = {"map_count": count()}
def timed(f):
    t = time.perf_counter()
    for _ in range(iters):
        f()
    return (time.perf_counter() - t) / (2 * iters) * 1e6
page = a + 8 * P
out["mprotect"] = timed(lambda: (call(MPROTECT, page, P, 1), call(MPROTECT, page, P, 3)))
out["munmap+mmap"] = timed(lambda: (call(MUNMAP, page, P), call(MMAP, page, P, 3, 0x32, -1 & 0xFFFFFFFFFFFFFFFF, 0)))
away = arena + 40 * P
out["mremap"] = timed(lambda: (call(MREMAP, page, P, P, 3, away), call(MREMAP, away, P, P, 3, page)))
print(json.dumps(out))
"""


def kernel_us(target: int, iterations: int) -> dict[str, float] | None:
    """µs/op on the host kernel at ``target`` VMAs, or None where its max_map_count does not allow it."""
    if not sys.platform.startswith("linux"):
        return None
    with open("/proc/sys/vm/max_map_count") as f:
        mx = int(f.read())
    if target > 2 * mx:
        return None  # far beyond what the kernel allows (1,048,576 with the default 65,530)
    target = min(target, mx - 16)  # "about 65,530": the splits below need a few free slots
    proc = subprocess.run([sys.executable, "-c", _CHILD, str(target), str(iterations)],
                          capture_output=True, text=True, timeout=300, check=True)
    return json.loads(proc.stdout)


def model_us(target: int, iterations: int) -> dict[str, float]:
    """µs/op on the model (profile 6.18) at ``target`` VMAs."""
    mm = mmsim.AddressSpace("6.18", max_map_count=max(mmsim.DEFAULT_MAX_MAP_COUNT, 2 * target))
    base = 0x7E0000000000
    mm.mmap(base, 64 * P, mmsim.PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED)
    a = mm.mmap(base + 8 * P, 16 * P, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED)
    mm.fill_to(target)
    page, away = a + 8 * P, base + 40 * P

    def timed(f) -> float:
        t = time.perf_counter()
        for _ in range(iterations):
            f()
        return (time.perf_counter() - t) / (2 * iterations) * 1e6

    out = {"map_count": mm.map_count}
    out["mprotect"] = timed(lambda: (mm.mprotect(page, P, mmsim.PROT_READ), mm.mprotect(page, P, RW)))
    out["munmap+mmap"] = timed(lambda: (mm.munmap(page, P), mm.mmap(page, P, RW, MAP_PRIVATE | MAP_ANONYMOUS
                                                                    | MAP_FIXED)))
    fl = MREMAP_MAYMOVE | MREMAP_FIXED
    out["mremap"] = timed(lambda: (mm.mremap(page, P, P, fl, away), mm.mremap(away, P, P, fl, page)))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--iterations", type=int, default=2000, help="pairs of calls per measurement")
    ap.add_argument("--csv", default=os.path.join(os.path.dirname(__file__), "results", "vs_kernel.csv"))
    args = ap.parse_args(argv)
    rows = []
    print(f"{'VMAs':>10} {'operation':<12} {'model µs/op':>12} {'kernel µs/op':>13} {'model/kernel':>13}")
    for n in SIZES:
        m = model_us(n, args.iterations)
        k = kernel_us(n, args.iterations)
        for op in OPS:
            kv = k[op] if k else None
            ratio = m[op] / kv if kv else None
            rows.append({"vmas": n, "operation": op, "model_us": round(m[op], 2),
                         "kernel_us": None if kv is None else round(kv, 2),
                         "ratio": None if ratio is None else round(ratio, 2),
                         "model_map_count": m["map_count"], "kernel_map_count": k["map_count"] if k else None})
            ks = f"{kv:13.2f}" if kv else f"{'n/a (limit)':>13}"
            rs = f"{ratio:13.1f}" if ratio else f"{'':>13}"
            print(f"{n:>10} {op:<12} {m[op]:12.2f} {ks} {rs}")
    for op in OPS:
        small = next(r["model_us"] for r in rows if r["vmas"] == SIZES[0] and r["operation"] == op)
        big = next(r["model_us"] for r in rows if r["vmas"] == SIZES[-1] and r["operation"] == op)
        print(f"model growth {SIZES[0]:,} -> {SIZES[-1]:,} VMAs, {op}: x{big / small:.2f}")
    os.makedirs(os.path.dirname(args.csv), exist_ok=True)
    with open(args.csv, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    print(f"wrote {args.csv}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
