"""The sorted map ``vm_start -> VMA`` behind an address space (the kernel's maple tree).

A ``dict`` gives O(1) access by start address and a :class:`sortedcontainers.SortedList` of the
starts gives order: bisect, index and range queries in O(log n), inserts and removals in
amortised O(log n) (sortedcontainers keeps ~1,000-key sublists). :meth:`VMATree.copy` copies the
sublists directly, so a copy of a million-VMA tree costs a few tens of milliseconds, not a re-sort.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterator, Mapping

from sortedcontainers import SortedList

from .vma import VMA

__all__ = ["VMATree"]


class VMATree:
    """A sorted mapping from ``vm_start`` to :class:`~mmsim.vma.VMA`."""

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
        """The VMA starting exactly at ``start``, or None. O(1)."""
        return self._d.get(start)

    def __setitem__(self, start: int, vma: VMA) -> None:
        """Insert or replace. O(log n) for a new start, O(1) for a replacement."""
        if start not in self._d:
            self._keys.add(start)
        self._d[start] = vma

    def pop(self, start: int, *default: VMA | None) -> VMA | None:
        """Remove and return the VMA at ``start``. O(log n)."""
        if start not in self._d:
            if default:
                return default[0]
            raise KeyError(start)
        self._keys.remove(start)
        return self._d.pop(start)

    def update(self, items: Mapping[int, VMA]) -> None:
        """Bulk insert (new starts only). O((n + m) log(n + m)) at worst, linear for sorted input."""
        self._d.update(items)
        self._keys.update(items.keys())

    # Neighbour lookups straight on the SortedList's sublists: two C bisects, no positional index. (Positional
    # access, ``SortedList[i]``, needs an index that sortedcontainers rebuilds in O(n / 1000) after sublists
    # split or merge: at a million VMAs that rebuild would dominate every call.)
    def _last_before(self, addr: int, cut) -> VMA | None:
        """The VMA with the highest start left of ``cut(sublist, addr)`` (bisect_right: <=, bisect_left: <)."""
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
        """The VMA with the highest start <= addr, or None. O(log n)."""
        return self._last_before(addr, bisect_right)

    def below(self, addr: int) -> VMA | None:
        """The VMA with the highest start < addr, or None. O(log n)."""
        return self._last_before(addr, bisect_left)

    def ceiling(self, addr: int) -> VMA | None:
        """The VMA with the lowest start >= addr, or None. O(log n)."""
        keys = self._keys
        maxes = keys._maxes
        pos = bisect_left(maxes, addr)
        if pos == len(maxes):
            return None
        sub = keys._lists[pos]
        return self._d[sub[bisect_left(sub, addr)]]

    def bisect_left(self, addr: int) -> int:
        """Index of the first start >= addr."""
        return self._keys.bisect_left(addr)

    def bisect_right(self, addr: int) -> int:
        """Index of the first start > addr."""
        return self._keys.bisect_right(addr)

    def at(self, i: int) -> VMA:
        """The i-th VMA in address order. O(log n)."""
        return self._d[self._keys[i]]

    def starts(self, lo: int, hi: int) -> list[int]:
        """Starts in ``[lo, hi)``, in order. O(k + log n)."""
        return list(self._keys.irange(lo, hi, inclusive=(True, False)))

    def values(self) -> Iterator[VMA]:
        """All VMAs in address order. O(n)."""
        d = self._d
        return (d[k] for k in self._keys)

    def check(self) -> None:
        """Assert the tree's invariants; ``AssertionError`` names the broken one. O(n).

        >>> from mmsim.vma import VMA
        >>> t = VMATree(); t[0x1000] = VMA(0x1000, 0x2000, 1); t.check()
        """
        keys = list(self._keys)
        assert len(keys) == len(self._d), f"tree: {len(keys)} ordered keys but {len(self._d)} VMAs"
        assert all(a < b for a, b in zip(keys, keys[1:], strict=False)), "tree: keys not strictly increasing"
        assert set(keys) == self._d.keys(), "tree: ordered keys and the start -> VMA map differ"
        for k in keys:
            assert self._d[k].start == k, f"tree: key {k:#x} holds a VMA starting at {self._d[k].start:#x}"

    def copy(self) -> VMATree:
        """An independent tree sharing the (immutable) VMA records. O(n) with small constants."""
        new = VMATree.__new__(VMATree)
        new._d = self._d.copy()
        src, dst = self._keys, SortedList()
        dst._len, dst._load, dst._offset = src._len, src._load, src._offset
        dst._lists = [sub[:] for sub in src._lists]
        dst._maxes = src._maxes[:]
        dst._index = src._index[:]
        new._keys = dst
        return new
