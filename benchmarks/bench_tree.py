#!/usr/bin/env python3
"""VMATree (chunks + gap bounds) against the old dict + SortedList tree, at 1k, 65k and 1M VMAs.

The trees hold 1-page VMAs with 1-page gaps from ``BASE`` up to ``top`` (the end of the highest
VMA), plus two larger gaps: ``MID`` pages after the VMA 5/9 of the way up and ``BOTTOM`` pages after
the third VMA. Everything above ``top`` counts as taken (the search's ``high`` is ``top``) and so
does everything below ``BASE`` (``low``).

Per operation, in microseconds of process CPU time (``--wall`` for wall-clock time): the median of
``--repeat`` batches, old and new run alternately in the same loop so machine noise hits both:

* ``gap_topdown bottom``: a ``BOTTOM // 2``-page top-down search: only the bottom gap fits, the
  worst case for a linear walk. The old tree has no gap search: it walks down with ``below()``, as
  ``AddressSpace._search_topdown`` does;
* ``insert+pop``: a new 1-page VMA in a random 1-page gap, then its removal;
* ``replace``: ``tree[k] = vma`` with the same end; ``replace end``: a VMA grown by a page (closing
  the gap above it), then restored;
* ``floor`` / ``ceiling`` at random addresses; each point operation also ``(16 hot)``: cycling over 16
  places, so that at 1M VMAs the data stays in cache and the table shows the algorithm's cost, not
  the memory's;
* ``copy()``, ``from_sorted()`` (old: ``update()`` of an empty tree, what ``AddressSpace.from_vmas``
  does) and ``copy() + touch all`` (a copy, then one replacement in every group: every
  copy-on-write clone paid);
* ``hint-less pair`` = ``gap_topdown`` (a ``MID``-page mapping: the middle gap is the highest that
  fits) + insert + pop, against ``MAP_FIXED pair`` = ``floor`` + ``ceiling`` (find_vma) + insert + pop.

    .venv/bin/python benchmarks/bench_tree.py
    .venv/bin/python benchmarks/bench_tree.py --sizes 1000 65530 --repeat 9
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import sys
import time
from bisect import bisect_left, bisect_right
from collections.abc import Iterator, Mapping

from sortedcontainers import SortedList

from mmsim.constants import PAGE_SIZE
from mmsim.vma import VMA
from mmsim.vmatree import VMATree

P = PAGE_SIZE
BASE = 0x10000000
MID = 16  # pages: the larger gap in the middle
BOTTOM = 64  # pages: the larger gap near the bottom
DEFAULT_SIZES = (1_000, 65_530, 1_048_576)


class OldTree:
    """The previous VMATree (mmsim/vmatree.py before the gap-search rewrite), verbatim minus docstrings."""

    __slots__ = ("_d", "_keys")

    def __init__(self) -> None:
        self._d: dict[int, VMA] = {}
        self._keys = SortedList()

    def __len__(self) -> int:
        return len(self._d)

    def __contains__(self, start: int) -> bool:
        return start in self._d

    def __getitem__(self, start: int) -> VMA:
        return self._d[start]

    def get(self, start: int) -> VMA | None:
        return self._d.get(start)

    def __setitem__(self, start: int, vma: VMA) -> None:
        if start not in self._d:
            self._keys.add(start)
        self._d[start] = vma

    def pop(self, start: int, *default: VMA | None) -> VMA | None:
        if start not in self._d:
            if default:
                return default[0]
            raise KeyError(start)
        self._keys.remove(start)
        return self._d.pop(start)

    def update(self, items: Mapping[int, VMA]) -> None:
        self._d.update(items)
        self._keys.update(items.keys())

    def _last_before(self, addr: int, cut) -> VMA | None:
        keys = self._keys
        maxes = keys._maxes
        pos = bisect_left(maxes, addr)
        if pos == len(maxes):
            return self._d[maxes[-1]] if maxes else None
        sub = keys._lists[pos]
        i = cut(sub, addr)
        if i:
            return self._d[sub[i - 1]]
        return self._d[maxes[pos - 1]] if pos else None

    def floor(self, addr: int) -> VMA | None:
        return self._last_before(addr, bisect_right)

    def below(self, addr: int) -> VMA | None:
        return self._last_before(addr, bisect_left)

    def ceiling(self, addr: int) -> VMA | None:
        keys = self._keys
        maxes = keys._maxes
        pos = bisect_left(maxes, addr)
        if pos == len(maxes):
            return None
        sub = keys._lists[pos]
        return self._d[sub[bisect_left(sub, addr)]]

    def starts(self, lo: int, hi: int) -> list[int]:
        return list(self._keys.irange(lo, hi, inclusive=(True, False)))

    def values(self) -> Iterator[VMA]:
        d = self._d
        return (d[k] for k in self._keys)

    def copy(self) -> OldTree:
        new = OldTree.__new__(OldTree)
        new._d = self._d.copy()
        src, dst = self._keys, SortedList()
        dst._len, dst._load, dst._offset = src._len, src._load, src._offset
        dst._lists = [sub[:] for sub in src._lists]
        dst._maxes = src._maxes[:]
        dst._index = src._index[:]
        new._keys = dst
        return new

    def gap_topdown(self, length: int, low: int, high: int) -> int | None:
        """The linear walk of AddressSpace._search_topdown, with the same answer as VMATree.gap_topdown."""
        top = high
        v = self.below(top)
        while True:
            if v is not None and v.end > top:  # straddles the current top
                top = v.start
                v = self.below(top)
                continue
            lo = max(v.end if v is not None else 0, low)
            if top - lo >= length:
                return top - length
            if v is None or v.start <= low:
                return None
            top = v.start
            v = self.below(top)


def layout(n: int) -> list[VMA]:
    """n 1-page VMAs with 1-page gaps from BASE, a MID-page gap mid-way and a BOTTOM-page gap near the bottom."""
    out, a = [], BASE
    mid = n * 5 // 9  # not a round position: neither a best nor a worst case for chunk boundaries
    for i in range(n):
        out.append(VMA(a, a + P, 1))
        a += 2 * P
        if i == mid:
            a += MID * P
        elif i == 2:
            a += BOTTOM * P
    return out


def median_us(fn, per: int, repeat: int) -> float:
    return statistics.median(_timed(fn) for _ in range(repeat)) / per * 1e6


CLOCK = time.process_time  # CPU time: the machine is shared, wall time counts other processes' turns


def _timed(fn) -> float:
    t0 = CLOCK()
    fn()
    return CLOCK() - t0


def side_by_side(make_old, make_new, per: int, repeat: int) -> tuple[float, float]:
    """Median per-op microseconds of two batches, run alternately ``repeat`` times."""
    old_t, new_t = [], []
    for _ in range(repeat):
        old_t.append(_timed(make_old))
        new_t.append(_timed(make_new))
    return statistics.median(old_t) / per * 1e6, statistics.median(new_t) / per * 1e6


def point_ops(res: dict, suffix: str, rnd: random.Random, vmas: list[VMA], old: OldTree, new: VMATree,
              ops: int, spots: int, repeat: int) -> None:
    """insert+pop, replace, replace end, floor and ceiling at ``spots`` random places, ``ops`` times."""
    n, top = len(vmas), vmas[-1].end
    reps = ops // spots

    def cycle(xs: list) -> list:
        return xs * reps

    free = cycle([vmas[rnd.randrange(n - 1)].end for _ in range(spots)])  # each the bottom of a free gap
    news = [VMA(a, a + P, 1) for a in free]
    keys = cycle([vmas[rnd.randrange(n)].start for _ in range(spots)])
    same = [new[k]._replace(prot=3) for k in keys]
    back = [new[k] for k in keys]
    grown = [v._replace(end=v.end + P) for v in back]  # closes the 1-page gap above
    addrs = cycle([rnd.randrange(BASE, top) for _ in range(spots)])

    def ins_pop(t):
        def run():
            for a, v in zip(free, news, strict=True):
                t[a] = v
                t.pop(a)
        return run

    def replace(t):
        def run():
            for k, v in zip(keys, same, strict=True):
                t[k] = v
        return run

    def replace_end(t):
        def run():
            for k, g, b in zip(keys, grown, back, strict=True):
                t[k] = g
                t[k] = b
        return run

    def floor(t):
        def run():
            f = t.floor
            for a in addrs:
                f(a)
        return run

    def ceiling(t):
        def run():
            f = t.ceiling
            for a in addrs:
                f(a)
        return run

    m = len(free)
    res["insert+pop" + suffix] = side_by_side(ins_pop(old), ins_pop(new), m, repeat)
    res["replace" + suffix] = side_by_side(replace(old), replace(new), m, repeat)
    res["replace end (x2)" + suffix] = side_by_side(replace_end(old), replace_end(new), m, repeat)
    res["floor" + suffix] = side_by_side(floor(old), floor(new), m, repeat)
    res["ceiling" + suffix] = side_by_side(ceiling(old), ceiling(new), m, repeat)


def bench_size(n: int, repeat: int, ops: int, walk_max: int) -> dict[str, tuple[float | None, float]]:
    vmas = layout(n)
    top = vmas[-1].end
    rnd = random.Random(n)
    old = OldTree()
    old.update({v.start: v for v in vmas})
    new = VMATree.from_sorted(vmas)
    res: dict[str, tuple[float | None, float]] = {}

    # Search for the bottom gap.
    length = BOTTOM // 2 * P
    want = vmas[3].start - length
    assert new.gap_topdown(length, BASE, top) == want
    walk_reps = max(1, min(ops, walk_max // n))

    def srch_new():
        for _ in range(ops):
            new.gap_topdown(length, BASE, top)

    def srch_old():
        for _ in range(walk_reps):
            old.gap_topdown(length, BASE, top)

    o = [_timed(srch_old) / walk_reps * 1e6 for _ in range(max(1, repeat if n < 100_000 else 1))]
    res["gap_topdown bottom"] = (statistics.median(o), median_us(srch_new, ops, repeat))
    assert old.gap_topdown(length, BASE, top) == want

    # Point operations at random places (at 1M VMAs mostly cache misses, for both trees), then the
    # same operations cycling over 16 places (cache-resident: the algorithmic cost).
    for suffix, spots in (("", ops), (" (16 hot)", 16)):
        point_ops(res, suffix, rnd, vmas, old, new, ops, spots, repeat)
    new.check()

    # The address-space simulation: hint-less vs MAP_FIXED mmap+munmap.
    mlen = MID * P
    hint = new.gap_topdown(mlen, BASE, top)
    assert hint == old.gap_topdown(mlen, BASE, top) == vmas[n * 5 // 9].end + P
    fixed_at = hint  # the same free range, placed by address
    mv = VMA(hint, hint + mlen, 1)

    def hintless(t, reps=ops):
        def run():
            for _ in range(reps):
                a = t.gap_topdown(mlen, BASE, top)
                t[a] = mv
                t.pop(a)
        return run

    def fixed(t):
        def run():
            for _ in range(ops):
                v = t.floor(fixed_at)
                if v is None or v.end <= fixed_at:
                    t.ceiling(fixed_at + 1)
                t[fixed_at] = mv
                t.pop(fixed_at)
        return run

    walk_reps = max(1, min(ops, 2 * walk_max // n))
    o = [_timed(hintless(old, walk_reps)) / walk_reps * 1e6 for _ in range(max(1, repeat if n < 100_000 else 1))]
    h_new, f_new = side_by_side(hintless(new), fixed(new), ops, repeat)  # the ratio: alternately, same run
    res["hint-less pair"] = (statistics.median(o), h_new)
    res["MAP_FIXED pair"] = side_by_side(fixed(old), fixed(new), ops, repeat)
    res["hint-less/MAP_FIXED"] = (None, h_new / f_new)
    new.check()

    # Whole-tree operations, on fresh trees: the benchmark above put the two trees' dicts through
    # different numbers of inserts and removals, and a dict with many deleted entries copies slowly.
    reps = max(1, min(repeat, 5_000_000 // n))
    old = OldTree()
    old.update({v.start: v for v in vmas})
    new = VMATree.from_sorted(vmas)
    res["copy()"] = side_by_side(old.copy, new.copy, 1, reps)

    def build_old():
        t = OldTree()
        t.update({v.start: v for v in vmas})

    res["from_sorted()"] = side_by_side(build_old, lambda: VMATree.from_sorted(vmas), 1, reps)
    res["copy() + touch all"] = (None, median_us(lambda: touch_all(new.copy()), 1, reps))
    return res


def touch_all(t: VMATree) -> None:
    """Replace one VMA's end in every group: the copy-on-write clones every group."""
    for grp in t._groups:
        k = grp.starts[0][0]
        v = t[k]
        t[k] = v._replace(end=v.end + P)
        t[k] = v


def fmt(x: float | None) -> str:
    if x is None:
        return "-"
    return f"{x / 1000:,.1f} ms" if x >= 10_000 else f"{x:,.2f}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=list(DEFAULT_SIZES))
    ap.add_argument("--repeat", type=int, default=7, help="batches per measurement (median)")
    ap.add_argument("--ops", type=int, default=2000, help="operations per batch")
    ap.add_argument("--walk-max", type=int, default=2_000_000, help="VMAs the old linear walk may visit per batch")
    ap.add_argument("--wall", action="store_true", help="time with time.perf_counter instead of CPU time")
    args = ap.parse_args(argv)
    global CLOCK
    if args.wall:
        CLOCK = time.perf_counter
    gc.disable()  # the trees make no cycles; a collection mid-batch would only add noise
    results = {}
    for n in args.sizes:
        t0 = time.perf_counter()
        results[n] = bench_size(n, args.repeat, args.ops, args.walk_max)
        print(f"# {n:,} VMAs: {time.perf_counter() - t0:.1f} s", file=sys.stderr)
        gc.collect()
    sizes = args.sizes
    head = f"{'operation (us/op)':<26}" + "".join(f"{f'old {n:,}':>14}{f'new {n:,}':>14}{'new/old':>8}" for n in sizes)
    if len(sizes) > 1:
        head += f"{'new ' + str(sizes[-1]) + '/' + str(sizes[0]):>16}"
    print(head)
    print("-" * len(head))
    for op in results[sizes[0]]:
        if op == "hint-less/MAP_FIXED":
            continue
        row = f"{op:<26}"
        for n in sizes:
            o, w = results[n][op]
            ratio = f"{w / o:.2f}" if o else "-"
            row += f"{fmt(o):>14}{fmt(w):>14}{ratio:>8}"
        if len(sizes) > 1:
            row += f"{results[sizes[-1]][op][1] / results[sizes[0]][op][1]:>16.2f}"
        print(row)
    print()
    for n in sizes:
        h_old, h_new = results[n]["hint-less pair"]
        f_old = results[n]["MAP_FIXED pair"][0]
        print(f"{n:>10,} VMAs: hint-less pair / MAP_FIXED pair = {results[n]['hint-less/MAP_FIXED'][1]:.2f} "
              f"(new, measured alternately), {h_old / f_old:,.0f} (old)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
