"""The sorted map ``vm_start -> VMA`` behind an address space (the kernel's maple tree).

Like the maple tree, the map keeps for every node the largest free gap below its VMAs, so that
:meth:`VMATree.gap_topdown` / :meth:`VMATree.gap_bottomup` (``vm_unmapped_area()``) find a fitting
gap in O(log n) instead of walking the VMAs one by one.

Layout (a B+-tree of fixed height three, in plain lists so the hot paths are C-level ``bisect``,
``list.insert`` and slicing):

* a ``dict`` ``start -> VMA``: O(1) ``tree[start]`` / ``get`` / ``in``;
* *chunks*: runs of about ``_LOAD`` (at most ``2 * _LOAD``) consecutive VMAs, each held as two
  parallel lists: the starts (sorted) and the *gap below* each VMA (``vma.start - prev.end``,
  ``prev.end`` being 0 for the lowest VMA), so gap scans never touch the records;
* *groups* (:class:`_Group`): runs of about ``_GLOAD`` chunks, with each chunk's largest start (for
  bisection) and each chunk's *gap bound*;
* the group list, with each group's largest start, and a max segment tree (:class:`_MaxTree`) over
  the groups' gap bounds; and the end of the highest VMA (the gap above it is unbounded).

Invariants (all verified by :meth:`VMATree.check`): the cached gaps are exact; a chunk's gap bound
is an *upper bound* of its gaps; a group's entry in the segment tree is exactly the largest of its
chunks' bounds. Splitting a gap (an insert, a grown VMA) may leave a chunk's bound too high: the
searches tighten a bound when it misleads them, so that every change to the tree stays a few
C-level list operations (amortised: a search pays one chunk scan per stale bound, and each bound goes
stale through one earlier change). Merging gaps (a removal, a trimmed VMA) raises the bounds at once.

A top-down search finds the highest VMA below ``high``, tries the gap above it, scans down that
VMA's chunk, then the bounds of the earlier chunks of its group, then asks the segment tree for the
nearest lower group whose bound fits, and scans that group the same way.

:meth:`VMATree.copy` copies the dict and shares the groups copy-on-write: a tree clones a group
(``_Group.owner`` is not its token) before it first changes it.
"""

from __future__ import annotations

import gc
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from itertools import chain
from operator import itemgetter, lt, sub
from typing import ClassVar

from .native import mypyc_attr
from .vma import VMA

__all__ = ["VMATree", "gc_paused"]

_start_of = itemgetter(0)  # VMA is a NamedTuple: field 0 is start, field 1 is end
_end_of = itemgetter(1)
# The dict is keyed by page number (start >> self._SHIFT), not by start: page-aligned ints share their low bits,
# which CPython's hash table indexes by, and collide; page numbers do not (a 1M-VMA dict builds 4x faster,
# and lookups are ~7x faster). Starts must be multiples of the unit; lookups compare the VMA's own start.


def _gaps(starts: list[int], ends: list[int]) -> list[int]:
    """The gap below each VMA, from sorted starts and their ends (the lowest VMA's gap reaches down to 0)."""
    return list(map(sub, starts, [0] + ends))


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a bulk path builds millions of acyclic objects.

    Each generation-0 collection would otherwise walk every young VMA tuple and list; at a million VMAs that
    is a third of the build time. Collection is restored (if it was on) on exit, error or not.

    >>> with gc_paused():
    ...     gc.isenabled()
    False
    >>> gc.isenabled()
    True
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


class _Group:
    """A run of consecutive chunks (see the module docstring).

    Invariants: every chunk is non-empty; ``maxes[c] == starts[c][-1]``; ``len(starts[c]) ==
    len(gaps[c])``; ``bounds[c] >= max(gaps[c])``. Only the tree whose token is ``owner`` may change
    the group in place.
    """

    __slots__ = ("owner", "maxes", "starts", "gaps", "bounds")

    def __init__(self, owner: object, starts: list[list[int]], gaps: list[list[int]], bounds: list[int]) -> None:
        self.owner = owner
        self.starts = starts
        self.gaps = gaps
        self.bounds = bounds
        self.maxes = [st[-1] for st in starts]

    def clone(self, owner: object) -> _Group:
        """A private copy for the tree whose token is ``owner``."""
        return _Group(owner, [st[:] for st in self.starts], [gp[:] for gp in self.gaps], self.bounds[:])


class _MaxTree:
    """A max segment tree over a fixed number of non-negative ints (the groups' gap bounds).

    ``t[size + i]`` is value ``i``; ``t[j] == max(t[2j], t[2j + 1])``; unused leaves are 0.
    """

    __slots__ = ("size", "height", "t")

    def __init__(self, values: list[int]) -> None:
        size = 1
        while size < len(values):
            size *= 2
        t = [0] * size + values + [0] * (size - len(values))
        lo = size
        while lo > 1:  # build level by level: nodes [lo // 2, lo) from children [lo, 2 lo)
            t[lo // 2:lo] = map(max, t[lo:2 * lo:2], t[lo + 1:2 * lo:2])
            lo //= 2
        self.size = size
        self.height = size.bit_length() - 1  # the leaves' depth
        self.t = t

    def copy(self) -> _MaxTree:
        new = _MaxTree([])  # (compiled, Cls.__new__(Cls) runs __init__: build an empty tree, then fill it)
        new.size, new.height = self.size, self.height
        new.t = self.t[:]
        return new

    def leaf(self, i: int) -> int:
        return self.t[self.size + i]

    def raise_to(self, i: int, v: int) -> None:
        """value[i] = max(value[i], v). O(log n)."""
        t = self.t
        j = self.size + i
        while j and t[j] < v:
            t[j] = v
            j >>= 1

    def set(self, i: int, v: int) -> None:
        """value[i] = v. O(log n)."""
        t = self.t
        j = self.size + i
        t[j] = v
        j >>= 1
        while j:
            a, b = t[2 * j], t[2 * j + 1]
            m = a if a > b else b
            if t[j] == m:
                break
            t[j] = m
            j >>= 1

    def last_before(self, i: int, v: int) -> int:
        """The highest index < i whose value is >= v, or -1. O(log n).

        Walks the root-to-leaf path of leaf ``i - 1`` downwards, noting the deepest left sibling
        holding a value >= v (it covers indexes just below the path), and stops where the path's
        own maximum drops below v; then descends that sibling to its rightmost leaf >= v.
        """
        t, size = self.t, self.size
        if i <= 0 or t[1] < v:
            return -1
        x = size + min(i, size) - 1
        best = 0
        for s in range(self.height - 1, -1, -1):
            a = x >> s
            if a & 1 and t[a - 1] >= v:
                best = a - 1
            if t[a] < v:
                break
        else:
            return x - size  # leaf i - 1 itself
        if not best:
            return -1
        while best < size:
            best = 2 * best + 1
            if t[best] < v:
                best -= 1
        return best - size

    def first_after(self, i: int, v: int) -> int:
        """The lowest index > i whose value is >= v, or -1. O(log n) (the mirror of :meth:`last_before`)."""
        t, size = self.t, self.size
        if i + 1 >= size or t[1] < v:
            return -1
        x = size + max(i + 1, 0)
        best = 0
        for s in range(self.height - 1, -1, -1):
            a = x >> s
            if not a & 1 and t[a + 1] >= v:
                best = a + 1
            if t[a] < v:
                break
        else:
            return x - size
        if not best:
            return -1
        while best < size:
            best *= 2
            if t[best] < v:
                best += 1
        return best - size


@mypyc_attr(allow_interpreted_subclasses=True)  # the tests' small-unit trees subclass it
class VMATree:
    """A sorted mapping from ``vm_start`` to :class:`~mmsim.vma.VMA`, with gap search.

    The VMAs must not overlap (the address space guarantees it; :meth:`check` verifies it).

    >>> t = VMATree.from_sorted([VMA(0x1000, 0x2000, 0), VMA(0x5000, 0x6000, 0)])
    >>> len(t), hex(t.floor(0x5fff).start), t.gap_topdown(0x1000, 0, 0x5000) == 0x4000
    (2, '0x5000', True)
    """

    __slots__ = ("_d", "_gmax", "_groups", "_seg", "_top", "_own")

    #: Chunk size: :meth:`from_sorted` builds chunks of ``_LOAD`` VMAs; a chunk splits above ``2 * _LOAD``
    #: and merges with a neighbour below ``_LOAD // 2``.
    #: Starts are multiples of 2**_SHIFT (a page): the dict is keyed by ``start >> _SHIFT``.
    _SHIFT: ClassVar[int] = 12
    _MASK: ClassVar[int] = (1 << _SHIFT) - 1
    _LOAD: ClassVar[int] = 32
    #: Chunks per group, with the same rules.
    _GLOAD: ClassVar[int] = 16

    def __init__(self) -> None:
        self._d: dict[int, VMA] = {}
        self._gmax: list[int] = []  # the largest start of each group
        self._groups: list[_Group] = []
        self._seg = _MaxTree([])  # value g: max(self._groups[g].bounds)
        self._top = 0  # the end of the highest VMA (0 if none)
        self._own = object()  # this tree's token: it may change in place the groups it owns

    # ---- construction -------------------------------------------------------------------
    @classmethod
    @gc_paused()
    def from_sorted(cls, vmas: Iterable[VMA]) -> VMATree:
        """A tree holding ``vmas``, which must be sorted by start and non-overlapping. O(n), no per-VMA insertion.

        Raises ``ValueError`` if a VMA is empty, starts below 0, or overlaps (or precedes) the one before it.

        >>> t = VMATree.from_sorted([VMA(0x1000, 0x2000, 0), VMA(0x3000, 0x4000, 0)])
        >>> [hex(v.start) for v in t.values()]
        ['0x1000', '0x3000']
        >>> VMATree.from_sorted([VMA(0x3000, 0x4000, 0), VMA(0x1000, 0x2000, 0)])
        Traceback (most recent call last):
        ...
        ValueError: VMAs must be sorted, non-empty and non-overlapping
        """
        vmas = list(vmas)
        starts = list(map(_start_of, vmas))
        ends = list(map(_end_of, vmas))
        gaps = _gaps(starts, ends)
        if not (all(map(lt, starts, ends)) and (not gaps or min(gaps) >= 0)):
            raise ValueError("VMAs must be sorted, non-empty and non-overlapping")
        tree = cls()
        if any(map(cls._MASK.__and__, starts)) or (starts and starts[0] < 0):
            raise ValueError("VMA starts must be page-aligned addresses")
        tree._build(starts, ends, gaps, dict(zip(map(cls._SHIFT.__rrshift__, starts), vmas, strict=True)))
        return tree

    def _build(self, starts: list[int], ends: list[int], gaps: list[int], d: dict[int, VMA]) -> None:
        """Replace the contents by sorted ``starts``, their ``ends`` and ``gaps`` and their dict. O(n)."""
        load, gload = self._LOAD, self._GLOAD
        cst = [starts[i:i + load] for i in range(0, len(starts), load)]
        cgp = [gaps[i:i + load] for i in range(0, len(gaps), load)]
        own = self._own
        self._d = d
        self._groups = [_Group(own, cst[i:i + gload], cgp[i:i + gload], list(map(max, cgp[i:i + gload])))
                        for i in range(0, len(cst), gload)]
        self._gmax = [grp.maxes[-1] for grp in self._groups]
        self._top = ends[-1] if ends else 0
        self._reindex()

    def _reindex(self) -> None:
        """Rebuild the segment tree after groups were added or removed. O(number of groups)."""
        self._seg = _MaxTree([max(grp.bounds) for grp in self._groups])

    def copy(self) -> VMATree:
        """An independent tree sharing the (immutable) VMA records. O(n) for the dict, O(n / 512) for the rest.

        The groups are shared copy-on-write: whichever tree changes a group first clones it (its ~512 starts
        and gaps), so a copy that is then changed in k places costs O(n) for the dict plus O(512 k).

        >>> t = VMATree.from_sorted([VMA(0x1000, 0x2000, 0)])
        >>> u = t.copy()
        >>> u[0x3000] = VMA(0x3000, 0x4000, 0)
        >>> len(t), len(u)
        (1, 2)
        """
        new = type(self).__new__(type(self))
        new._d = self._d.copy()
        new._gmax = self._gmax[:]
        new._groups = self._groups[:]
        new._seg = self._seg.copy()
        new._top = self._top
        new._own = object()
        self._own = object()  # neither tree owns the shared groups any more
        return new

    # ---- the mapping --------------------------------------------------------------------
    def __len__(self) -> int:
        """The number of VMAs. O(1).

        >>> len(VMATree.from_sorted([VMA(0x1000, 0x2000, 0)]))
        1
        """
        return len(self._d)

    def __contains__(self, start: int) -> bool:
        """Whether a VMA starts exactly at ``start``. O(1).

        >>> t = VMATree.from_sorted([VMA(0x1000, 0x2000, 0)])
        >>> 0x1000 in t, 0x1800 in t
        (True, False)
        """
        v = self._d.get(start >> self._SHIFT)
        return v is not None and v[0] == start

    def __getitem__(self, start: int) -> VMA:
        """The VMA starting exactly at ``start``; ``KeyError`` if none. O(1).

        >>> VMATree.from_sorted([VMA(0x1000, 0x2000, 0)])[0x1000].end == 0x2000
        True
        """
        v = self._d.get(start >> self._SHIFT)
        if v is None or v[0] != start:
            raise KeyError(start)
        return v

    def get(self, start: int) -> VMA | None:
        """The VMA starting exactly at ``start``, or None. O(1).

        >>> t = VMATree.from_sorted([VMA(0x1000, 0x2000, 0)])
        >>> t.get(0x1000).end == 0x2000, t.get(0x2000)
        (True, None)
        """
        v = self._d.get(start >> self._SHIFT)
        return v if v is not None and v[0] == start else None

    def __setitem__(self, start: int, vma: VMA) -> None:
        """Insert or replace (``vma.start`` must be ``start``). O(log n); O(1) for a replacement with the same end.

        A replacement may move the end (a grown or trimmed VMA); the VMAs must stay non-overlapping.

        >>> t = VMATree()
        >>> t[0x1000] = VMA(0x1000, 0x2000, 0)
        >>> t[0x1000] = VMA(0x1000, 0x5000, 0)
        >>> t.gap_bottomup(0x1000, 0x1000, 1 << 20) == 0x5000
        True
        """
        if start & self._MASK or start < 0:
            raise ValueError(f"VMA starts must be page-aligned addresses, not {start:#x}")
        d = self._d
        key = start >> self._SHIFT
        old = d.get(key)
        d[key] = vma
        if old is None:
            self._insert(start, vma.end)
        elif old[1] != vma[1]:  # .end, by index: this is the hot path of every replacement
            self._move_end(start, vma.end)

    def pop(self, start: int, *default: VMA | None) -> VMA | None:
        """Remove and return the VMA at ``start`` (or return ``default``, else ``KeyError``). O(log n).

        >>> t = VMATree.from_sorted([VMA(0x1000, 0x2000, 0)])
        >>> t.pop(0x1000).start == 0x1000, t.pop(0x1000, None), len(t)
        (True, None, 0)
        """
        key = start >> self._SHIFT
        v = self._d.get(key)
        if v is None or v[0] != start:
            if default:
                return default[0]
            raise KeyError(start)
        del self._d[key]
        self._remove(start)
        return v

    def update(self, items: Mapping[int, VMA]) -> None:
        """Bulk insert (``items[start].start == start``). O(m log n) for few items, O(n + m) for many.

        Starts already in the tree are replaced as by ``tree[start] = vma``. A large batch is merged
        with the existing starts and the chunks are rebuilt (linear for sorted input).

        >>> t = VMATree()
        >>> t.update({a: VMA(a, a + 0x1000, 0) for a in range(0x1000, 0x9000, 0x2000)})
        >>> len(t), t.gap_topdown(0x2000, 0, 0x8000)
        (4, None)
        """
        d = self._d
        if any(k & self._MASK or k < 0 for k in items):
            raise ValueError("VMA starts must be page-aligned addresses")
        fresh = {k: v for k, v in items.items() if (k >> self._SHIFT) not in d}
        if len(fresh) != len(items):
            for k, v in items.items():
                if k not in fresh:
                    self[k] = v
        if len(fresh) * 8 <= len(d):
            for k in sorted(fresh):
                v = fresh[k]
                d[k >> self._SHIFT] = v
                self._insert(k, v.end)
            return
        page = self._SHIFT.__rrshift__
        d.update(zip(map(page, fresh), fresh.values(), strict=True))
        starts = sorted(chain(chain.from_iterable(st for grp in self._groups for st in grp.starts), fresh))
        ends = list(map(_end_of, map(d.__getitem__, map(page, starts))))
        self._build(starts, ends, _gaps(starts, ends), d)

    # ---- ordered queries ----------------------------------------------------------------
    def floor(self, addr: int) -> VMA | None:
        """The VMA with the highest start <= addr, or None. O(log n).

        >>> t = VMATree.from_sorted([VMA(0x1000, 0x2000, 0), VMA(0x3000, 0x4000, 0)])
        >>> hex(t.floor(0x3000).start), hex(t.floor(0x2fff).start), t.floor(0xfff)
        ('0x3000', '0x1000', None)
        """
        gmax = self._gmax
        g = bisect_left(gmax, addr)
        if g == len(gmax):
            return self._d[gmax[-1] >> self._SHIFT] if gmax else None
        grp = self._groups[g]
        c = bisect_left(grp.maxes, addr)
        st = grp.starts[c]
        i = bisect_right(st, addr)
        if i:
            return self._d[st[i - 1] >> self._SHIFT]
        if c:
            return self._d[grp.maxes[c - 1] >> self._SHIFT]
        return self._d[gmax[g - 1] >> self._SHIFT] if g else None

    def below(self, addr: int) -> VMA | None:
        """The VMA with the highest start < addr, or None. O(log n).

        >>> t = VMATree.from_sorted([VMA(0x1000, 0x2000, 0), VMA(0x3000, 0x4000, 0)])
        >>> hex(t.below(0x3000).start), t.below(0x1000)
        ('0x1000', None)
        """
        return self.floor(addr - 1)  # starts are integers

    def ceiling(self, addr: int) -> VMA | None:
        """The VMA with the lowest start >= addr, or None. O(log n).

        >>> t = VMATree.from_sorted([VMA(0x1000, 0x2000, 0), VMA(0x3000, 0x4000, 0)])
        >>> hex(t.ceiling(0x1001).start), t.ceiling(0x3001)
        ('0x3000', None)
        """
        gmax = self._gmax
        g = bisect_left(gmax, addr)
        if g == len(gmax):
            return None
        grp = self._groups[g]
        st = grp.starts[bisect_left(grp.maxes, addr)]
        return self._d[st[bisect_left(st, addr)] >> self._SHIFT]

    def starts(self, lo: int, hi: int) -> list[int]:
        """The starts in ``[lo, hi)``, in order. O(k + log n) for k results.

        >>> t = VMATree.from_sorted([VMA(a, a + 0x1000, 0) for a in range(0x1000, 0x9000, 0x2000)])
        >>> [hex(a) for a in t.starts(0x2000, 0x7000)]
        ['0x3000', '0x5000']
        """
        gmax, groups = self._gmax, self._groups
        g = bisect_left(gmax, lo)
        if g == len(gmax) or hi <= lo:
            return []
        grp = groups[g]
        c = bisect_left(grp.maxes, lo)
        st = grp.starts[c]
        k = bisect_left(st, lo)
        if st[-1] >= hi:  # the common case: one chunk
            return st[k:bisect_left(st, hi, k)]
        out = st[k:]
        while True:
            c += 1
            if c == len(grp.starts):
                g += 1
                if g == len(groups):
                    return out
                grp, c = groups[g], 0
            st = grp.starts[c]
            if st[-1] >= hi:
                out += st[:bisect_left(st, hi)]
                return out
            out += st

    def values(self) -> Iterator[VMA]:
        """All VMAs in address order (do not change the tree while iterating). O(n).

        >>> t = VMATree.from_sorted([VMA(0x1000, 0x2000, 0), VMA(0x3000, 0x4000, 0)])
        >>> [hex(v.end) for v in t.values()]
        ['0x2000', '0x4000']
        """
        return map(self._d.__getitem__, map(self._SHIFT.__rrshift__,
                                            chain.from_iterable(st for grp in self._groups for st in grp.starts)))

    # ---- gap search (vm_unmapped_area) --------------------------------------------------
    def gap_topdown(self, length: int, low: int, high: int) -> int | None:
        """The highest ``a`` with ``low <= a``, ``a + length <= high`` and ``[a, a + length)`` free, or None.

        unmapped_area_topdown() without guard gaps or alignment. Addresses start at 0 (a negative
        ``low`` counts as 0); ``length`` must be > 0 (else ``ValueError``). O(log n) amortised.

        >>> t = VMATree.from_sorted([VMA(0x1000, 0x2000, 0), VMA(0x4000, 0x5000, 0), VMA(0x6000, 0x7000, 0)])
        >>> hex(t.gap_topdown(0x1000, 0, 0x7000)), hex(t.gap_topdown(0x2000, 0, 0x7000))
        ('0x5000', '0x2000')
        >>> t.gap_topdown(0x3000, 0, 0x7000), hex(t.gap_topdown(0x3000, 0, 0xa000))
        (None, '0x7000')
        """
        if length <= 0:
            raise ValueError(f"length must be > 0, got {length}")
        if low < 0:
            low = 0
        if high - low < length:
            return None
        gmax = self._gmax
        if not gmax:
            return high - length
        # The highest VMA starting below ``high``: position (g, c, k).
        g = bisect_left(gmax, high)
        if g == len(gmax):
            g -= 1
            grp = self._groups[g]
            c = len(grp.starts) - 1
            k = len(grp.starts[c]) - 1
        else:
            grp = self._groups[g]
            c = bisect_left(grp.maxes, high)
            k = bisect_left(grp.starts[c], high) - 1
            if k < 0:
                if c:
                    c -= 1
                elif g:
                    g -= 1
                    grp = self._groups[g]
                    c = len(grp.starts) - 1
                else:  # no VMA below high
                    return high - length
                k = len(grp.starts[c]) - 1
        end = self._d[grp.starts[c][k] >> self._SHIFT].end
        if high - (end if end > low else low) >= length:  # the gap above that VMA, cut at high
            return high - length
        s = self._last_gap_start(g, grp, c, k, length)
        if s is None or s - length < low:
            return None
        return s - length

    def gap_bottomup(self, length: int, low: int, high: int) -> int | None:
        """The lowest ``a`` with ``low <= a``, ``a + length <= high`` and ``[a, a + length)`` free, or None.

        unmapped_area() without guard gaps or alignment. Addresses start at 0 (a negative ``low``
        counts as 0); ``length`` must be > 0 (else ``ValueError``). O(log n) amortised.

        >>> t = VMATree.from_sorted([VMA(0x1000, 0x2000, 0), VMA(0x4000, 0x5000, 0), VMA(0x6000, 0x7000, 0)])
        >>> hex(t.gap_bottomup(0x1000, 0, 0x7000)), hex(t.gap_bottomup(0x1000, 0x1800, 0x7000))
        ('0x0', '0x2000')
        >>> hex(t.gap_bottomup(0x3000, 0, 0xa000)), t.gap_bottomup(0x3000, 0, 0x9fff)
        ('0x7000', None)
        """
        if length <= 0:
            raise ValueError(f"length must be > 0, got {length}")
        if low < 0:
            low = 0
        if high - low < length:
            return None
        gmax = self._gmax
        if not gmax:
            return low
        # The lowest VMA starting above ``low``: position (g, c, k).
        g = bisect_right(gmax, low)
        if g == len(gmax):  # every VMA starts at or below low: only the gap above the highest one is left
            a = self._top if self._top > low else low
            return a if a + length <= high else None
        grp = self._groups[g]
        c = bisect_right(grp.maxes, low)
        st = grp.starts[c]
        k = bisect_right(st, low)
        pe = st[k] - grp.gaps[c][k]  # the end of the VMA before it (0 if none)
        a = pe if pe > low else low
        if a + length <= (st[k] if st[k] < high else high):  # the gap below that VMA, cut at low
            return a
        found = self._first_gap_end(g, grp, c, k + 1, length)
        a = self._top if found is None else found  # None: the gap above the highest VMA
        return a if a + length <= high else None

    def _last_gap_start(self, g: int, grp: _Group, c: int, k: int, length: int) -> int | None:
        """The start of the highest VMA at or before position (g, c, k) with a gap >= length below it."""
        if grp.bounds[c] >= length:
            gp = grp.gaps[c]
            for i in range(k, -1, -1):
                if gp[i] >= length:
                    return grp.starts[c][i]
        seg = self._seg
        s = None
        if c and seg.t[seg.size + g] >= length and max(grp.bounds[:c]) >= length:
            s = self._last_gap_in_group(g, grp, c, length)
        while s is None:
            g = seg.last_before(g, length)
            if g < 0:
                return None
            grp = self._groups[g]
            s = self._last_gap_in_group(g, grp, len(grp.starts), length)
        return s

    def _last_gap_in_group(self, g: int, grp: _Group, stop: int, length: int) -> int | None:
        """Like :meth:`_last_gap_start` over the chunks before chunk ``stop`` of group ``g``; tightens stale bounds."""
        bounds = grp.bounds
        for c in range(stop - 1, -1, -1):
            if bounds[c] >= length:
                gp = grp.gaps[c]
                for i in range(len(gp) - 1, -1, -1):
                    if gp[i] >= length:
                        return grp.starts[c][i]
                grp = self._mut(g)  # a stale bound: tighten it (the clone, if any, holds equal lists)
                bounds = grp.bounds
                bounds[c] = max(gp)
                self._seg.set(g, max(bounds))
        return None

    def _first_gap_end(self, g: int, grp: _Group, c: int, k: int, length: int) -> int | None:
        """The end of the VMA before the lowest VMA at or after (g, c, k) with a gap >= length below it."""
        st = grp.starts[c]
        if k < len(st) and grp.bounds[c] >= length:
            gp = grp.gaps[c]
            for i in range(k, len(st)):
                if gp[i] >= length:
                    return st[i] - gp[i]
        c += 1
        seg = self._seg
        e = None
        if c < len(grp.bounds) and seg.t[seg.size + g] >= length and max(grp.bounds[c:]) >= length:
            e = self._first_gap_in_group(g, grp, c, length)
        while e is None:
            g = seg.first_after(g, length)
            if g < 0:
                return None
            e = self._first_gap_in_group(g, self._groups[g], 0, length)
        return e

    def _first_gap_in_group(self, g: int, grp: _Group, first: int, length: int) -> int | None:
        """Like :meth:`_first_gap_end` over the chunks from chunk ``first`` of group ``g``; tightens stale bounds."""
        bounds = grp.bounds
        for c in range(first, len(bounds)):
            if bounds[c] >= length:
                gp = grp.gaps[c]
                for i in range(len(gp)):
                    if gp[i] >= length:
                        return grp.starts[c][i] - gp[i]
                grp = self._mut(g)  # a stale bound: tighten it
                bounds = grp.bounds
                bounds[c] = max(gp)
                self._seg.set(g, max(bounds))
        return None

    # ---- internals ----------------------------------------------------------------------
    def _mut(self, g: int) -> _Group:
        """Group ``g``, cloned first if this tree does not own it (copy-on-write)."""
        grp = self._groups[g]
        if grp.owner is not self._own:
            grp = self._groups[g] = grp.clone(self._own)
        return grp

    def _set_gap(self, g: int, grp: _Group, c: int, i: int, gap: int) -> None:
        """The gap below VMA i of chunk (g, c) of owned group ``grp`` is now ``gap``; raise the bounds if it grew."""
        grp.gaps[c][i] = gap
        if gap > grp.bounds[c]:
            grp.bounds[c] = gap
            self._seg.raise_to(g, gap)

    def _set_gap_after(self, g: int, grp: _Group, c: int, k: int, end: int) -> None:
        """The VMA before position k + 1 of chunk (g, c) (of owned group ``grp``) now ends at ``end``.

        Sets the gap below the next VMA, wherever it is (this chunk, the next one, the next group),
        or the top end if there is none. ``k`` may be -1 or the chunk's last position.
        """
        st = grp.starts[c]
        if k + 1 < len(st):
            self._set_gap(g, grp, c, k + 1, st[k + 1] - end)
        elif c + 1 < len(grp.starts):
            self._set_gap(g, grp, c + 1, 0, grp.starts[c + 1][0] - end)
        elif g + 1 < len(self._gmax):
            nxt = self._mut(g + 1)
            self._set_gap(g + 1, nxt, 0, 0, nxt.starts[0][0] - end)
        else:  # the highest VMA: the gap above it is unbounded
            self._top = end

    def _insert(self, s: int, e: int) -> None:
        """Add a new start ``s`` with end ``e`` to the chunks (the dict already holds it)."""
        gmax = self._gmax
        if not gmax:
            self._groups.append(_Group(self._own, [[s]], [[s]], [s]))
            gmax.append(s)
            self._top = e
            self._reindex()
            return
        g = bisect_left(gmax, s)
        if g == len(gmax):  # above every VMA: a new gap carved out of the unbounded one above the highest
            g -= 1
            grp = self._groups[g]
            if grp.owner is not self._own:
                grp = self._mut(g)
            c = len(grp.starts) - 1
            st = grp.starts[c]
            st.append(s)
            grp.gaps[c].append(0)
            self._set_gap(g, grp, c, len(st) - 1, s - self._top)
            grp.maxes[c] = gmax[g] = s
            self._top = e
        else:  # into the chunk holding the next VMA: its gap splits in two, both in this chunk
            grp = self._groups[g]
            if grp.owner is not self._own:
                grp = self._mut(g)
            c = bisect_left(grp.maxes, s)
            st, gp = grp.starts[c], grp.gaps[c]
            k = bisect_left(st, s)
            nxt = st[k]
            pe = nxt - gp[k]  # the end of the VMA before s
            gp[k] = nxt - e
            st.insert(k, s)
            gp.insert(k, s - pe)
        if len(st) > 2 * self._LOAD:
            self._split_chunk(g, grp, c)

    def _remove(self, s: int) -> None:
        """Remove start ``s`` from the chunks (the dict no longer holds it)."""
        gmax = self._gmax
        g = bisect_left(gmax, s)
        grp = self._groups[g]
        if grp.owner is not self._own:
            grp = self._mut(g)
        c = bisect_left(grp.maxes, s)
        st, gp = grp.starts[c], grp.gaps[c]
        k = bisect_left(st, s)
        pe = s - gp[k]  # the end of the VMA before s: the gap above it now reaches the next VMA
        del st[k]
        del gp[k]
        if k < len(st):  # the next VMA is in this chunk (_set_gap, inlined)
            gap = gp[k] = st[k] - pe
            if gap > grp.bounds[c]:
                grp.bounds[c] = gap
                self._seg.raise_to(g, gap)
        else:
            if st:
                grp.maxes[c] = st[-1]
                if c == len(grp.maxes) - 1:
                    gmax[g] = st[-1]
            self._set_gap_after(g, grp, c, k - 1, pe)
        if len(st) < self._LOAD // 2:
            self._merge_chunk(g, grp, c)

    def _move_end(self, s: int, end: int) -> None:
        """The VMA at ``s`` now ends at ``end``."""
        g = bisect_left(self._gmax, s)
        grp = self._groups[g]
        if grp.owner is not self._own:
            grp = self._mut(g)
        c = bisect_left(grp.maxes, s)
        st = grp.starts[c]
        k = bisect_left(st, s) + 1
        if k < len(st):  # the next VMA is in this chunk (_set_gap, inlined)
            gap = grp.gaps[c][k] = st[k] - end
            if gap > grp.bounds[c]:
                grp.bounds[c] = gap
                self._seg.raise_to(g, gap)
        else:
            self._set_gap_after(g, grp, c, k - 1, end)

    def _split_chunk(self, g: int, grp: _Group, c: int) -> None:
        """Split the oversized chunk (g, c) of owned group ``grp`` in two, with exact bounds."""
        st, gp = grp.starts[c], grp.gaps[c]
        h = len(st) // 2
        a_st, b_st, a_gp, b_gp = st[:h], st[h:], gp[:h], gp[h:]
        grp.starts[c:c + 1] = [a_st, b_st]
        grp.gaps[c:c + 1] = [a_gp, b_gp]
        grp.maxes[c:c + 1] = [a_st[-1], b_st[-1]]
        grp.bounds[c:c + 1] = [max(a_gp), max(b_gp)]
        if len(grp.starts) > 2 * self._GLOAD:
            self._split_group(g, grp)
        else:
            self._seg.set(g, max(grp.bounds))

    def _split_group(self, g: int, grp: _Group) -> None:
        h = len(grp.starts) // 2
        own = self._own
        a = _Group(own, grp.starts[:h], grp.gaps[:h], grp.bounds[:h])
        b = _Group(own, grp.starts[h:], grp.gaps[h:], grp.bounds[h:])
        self._groups[g:g + 1] = [a, b]
        self._gmax[g:g + 1] = [a.maxes[-1], b.maxes[-1]]
        self._reindex()

    def _merge_chunk(self, g: int, grp: _Group, c: int) -> None:
        """Chunk (g, c) of owned group ``grp`` is undersized: merge it into a neighbour, or drop it if empty."""
        n = len(grp.starts)
        if n > 1:
            a = c - 1 if c else 0  # merge chunks a and a + 1
            st = grp.starts[a] + grp.starts[a + 1]
            gp = grp.gaps[a] + grp.gaps[a + 1]
            grp.starts[a:a + 2] = [st]
            grp.gaps[a:a + 2] = [gp]
            grp.maxes[a:a + 2] = [st[-1]]
            grp.bounds[a:a + 2] = [max(grp.bounds[a], grp.bounds[a + 1])]
            self._gmax[g] = grp.maxes[-1]
            if len(st) > 2 * self._LOAD:
                self._split_chunk(g, grp, a)
                return
        elif not grp.starts[0]:  # the group's only chunk is empty: drop the group
            del self._groups[g]
            del self._gmax[g]
            self._reindex()
            return
        if len(grp.starts) < self._GLOAD // 2 and len(self._groups) > 1:
            self._merge_group(g)

    def _merge_group(self, g: int) -> None:
        """Group ``g`` is undersized: merge it with a neighbour (and split the result if oversized)."""
        a = g - 1 if g else 0
        x, y = self._mut(a), self._mut(a + 1)
        merged = _Group(self._own, x.starts + y.starts, x.gaps + y.gaps, x.bounds + y.bounds)
        self._groups[a:a + 2] = [merged]
        self._gmax[a:a + 2] = [merged.maxes[-1]]
        if len(merged.starts) > 2 * self._GLOAD:
            self._split_group(a, merged)
        else:
            self._reindex()

    # ---- invariants ---------------------------------------------------------------------
    def check(self) -> None:
        """Verify every invariant; raise ``AssertionError`` naming the first broken one. O(n).

        >>> t = VMATree.from_sorted([VMA(0x1000, 0x2000, 0), VMA(0x4000, 0x5000, 0)])
        >>> t.check()
        >>> t._d[0x1000 >> t._SHIFT] = VMA(0x1000, 0x3000, 0)  # behind the tree's back
        >>> t.check()
        Traceback (most recent call last):
        ...
        AssertionError: cached gaps: the gap below the VMA at 0x4000 is 0x1000, not 0x2000
        """

        def fail(name: str, detail: str) -> None:
            raise AssertionError(f"{name}: {detail}")

        groups, gmax, d = self._groups, self._gmax, self._d
        if len(groups) != len(gmax):
            fail("group index", f"{len(groups)} groups but {len(gmax)} group maxes")
        keys: list[int] = []
        gaps: list[int] = []
        for g, grp in enumerate(groups):
            n = len(grp.starts)
            if not n or not (len(grp.gaps) == len(grp.maxes) == len(grp.bounds) == n):
                fail("group shape", f"group {g} has {n} chunks, {len(grp.gaps)} gap lists, {len(grp.maxes)} maxes, "
                     f"{len(grp.bounds)} bounds")
            if n > 2 * self._GLOAD:
                fail("group shape", f"group {g} has {n} > {2 * self._GLOAD} chunks")
            for c in range(n):
                st, gp = grp.starts[c], grp.gaps[c]
                if not st or len(st) != len(gp) or len(st) > 2 * self._LOAD:
                    fail("chunk shape", f"chunk ({g}, {c}) has {len(st)} starts and {len(gp)} gaps")
                if grp.maxes[c] != st[-1]:
                    fail("chunk maxes", f"chunk ({g}, {c}) max {grp.maxes[c]:#x} != its last start {st[-1]:#x}")
                if grp.bounds[c] < max(gp):
                    fail("chunk gap bounds", f"chunk ({g}, {c}) bound {grp.bounds[c]:#x} < its gap {max(gp):#x}")
                keys += st
                gaps += gp
            if gmax[g] != grp.maxes[-1]:
                fail("group maxes", f"group {g} max {gmax[g]:#x} != its last start {grp.maxes[-1]:#x}")
        for i in range(1, len(keys)):
            if keys[i - 1] >= keys[i]:
                fail("keys sorted and unique", f"{keys[i - 1]:#x} then {keys[i]:#x}")
        if len(keys) != len(d) or any((k >> self._SHIFT) not in d for k in keys):
            fail("dict and order in step", f"{len(keys)} ordered starts, {len(d)} dict entries")
        prev_end = 0
        for k, gap in zip(keys, gaps, strict=True):
            v = d[k >> self._SHIFT]
            if v.start != k:
                fail("key is the VMA's start", f"key {k:#x} holds a VMA starting at {v.start:#x}")
            if not v.start < v.end:
                fail("VMAs non-empty", f"VMA {v.start:#x}-{v.end:#x}")
            if prev_end > k:
                fail("VMAs non-overlapping", f"the VMA at {k:#x} starts below the end {prev_end:#x} of the one before")
            if gap != k - prev_end:
                fail("cached gaps", f"the gap below the VMA at {k:#x} is {k - prev_end:#x}, not {gap:#x}")
            prev_end = v.end
        if self._top != prev_end:
            fail("cached top end", f"the highest VMA ends at {prev_end:#x}, not {self._top:#x}")
        seg = self._seg
        if seg.size < len(groups) or len(seg.t) != 2 * seg.size or seg.height != seg.size.bit_length() - 1:
            fail("gap index shape", f"segment tree of {seg.size} leaves for {len(groups)} groups")
        for g, grp in enumerate(groups):
            if seg.leaf(g) != max(grp.bounds):
                fail("group gap bounds", f"group {g}: index {seg.leaf(g):#x} != max of its chunk bounds")
        t = seg.t
        if any(t[j] for j in range(seg.size + len(groups), 2 * seg.size)):
            fail("gap index", "an unused leaf is not 0")
        for j in range(1, seg.size):
            if t[j] != max(t[2 * j], t[2 * j + 1]):
                fail("gap index", f"node {j} is {t[j]:#x}, not the max of its children")
