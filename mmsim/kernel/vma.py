"""The VMA primitives every flow shares (mm/vma.c in 6.x, mm/mmap.c in 5.x): lookups, split, unmap, merge.

Each primitive takes the running :class:`~mmsim.kernel.call.Call`, changes the address space only
through it, and records its trace record(s) (semantics §8: depth-0 steps, depth-1 primitives).

* lookups: :func:`find_vma`, :func:`vma_at`, :func:`vmas_in`, :func:`range_free`, :func:`prev_of`,
  :func:`next_from` — O(log n), on a :class:`~mmsim.vmatree.VMATree`;
* :func:`split` (``__split_vma()``, unchecked) and :func:`checked_split` (``split_vma()``, semantics §2.1);
* the unmap engine (§2.2) and its state :class:`Munmap` (``struct vma_munmap_struct``, 6.12+):
  :func:`unmap` (``__do_munmap()`` in 5.0-6.0, ``do_vmi_align_munmap()`` in 6.12+) runs
  :func:`init_vma_munmap`, :func:`vms_gather_munmap_vmas` (punch check, splits, detach from the tree) and
  :func:`vms_complete_munmap_vmas` (map_count drops), or leaves the completion to a 6.12+ MAP_FIXED mmap;
* :func:`new_range` (merge a new range with its neighbours or create a VMA, §2.3-2.4) and
  :func:`merge_existing` (mprotect's merge of a changed range, §2.4).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..checks import CHECKS
from ..constants import PAGE_SHIFT
from ..vma import VMA, anon_compatible, can_merge_after, can_merge_before

if TYPE_CHECKING:
    from ..vmatree import VMATree
    from .call import Call

__all__ = [
    "Munmap",
    "adjacent",
    "checked_split",
    "find_vma",
    "init_vma_munmap",
    "merge_existing",
    "new_range",
    "next_from",
    "prev_of",
    "range_free",
    "split",
    "unmap",
    "vma_at",
    "vmas_in",
    "vms_complete_munmap_vmas",
    "vms_gather_munmap_vmas",
]

_SPLIT_LIMIT = CHECKS["split_limit"]
_PUNCH_LIMIT = CHECKS["munmap_punch_limit"]


# ---- lookups -----------------------------------------------------------------------------------


def find_vma(tree: VMATree, addr: int) -> VMA | None:
    """find_vma(): the first VMA with ``end > addr``, or None. O(log n)."""
    v = tree.floor(addr)
    if v is not None and v.end > addr:
        return v
    return tree.ceiling(addr + 1)


def vma_at(tree: VMATree, addr: int) -> VMA | None:
    """vma_lookup(): the VMA containing ``addr``, or None. O(log n)."""
    v = find_vma(tree, addr)
    return v if v is not None and v.start <= addr else None


def vmas_in(tree: VMATree, start: int, end: int) -> list[VMA]:
    """The VMAs intersecting ``[start, end)``, in address order. O(k + log n)."""
    first = find_vma(tree, start)
    if first is None or first.start >= end:
        return []
    return [tree[k] for k in tree.starts(first.start, end)]


def range_free(tree: VMATree, a: int, length: int) -> bool:
    """Whether no VMA intersects ``[a, a + length)``. O(log n)."""
    v = find_vma(tree, a)
    return v is None or v.start >= a + length


def adjacent(tree: VMATree, start: int, end: int, *, prev: bool = True, nxt: bool = True
             ) -> tuple[VMA | None, VMA | None]:
    """The merge candidates of a range ``[start, end)``: the VMA ending exactly at ``start`` and the one
    starting exactly at ``end`` (None where there is a gap or where ``prev``/``nxt`` is False), as
    vma_merge_new_range() and vma_merge_existing_range()@6.18 take them from the VMA iterator. O(log n)."""
    p = tree.below(start) if prev else None
    n = tree.ceiling(end) if nxt else None
    return (p if p is not None and p.end == start else None), (n if n is not None and n.start == end else None)


def prev_of(tree: VMATree, addr: int) -> VMA | None:
    """The VMA with the highest start below ``addr`` (``vma_prev()``). O(log n)."""
    return tree.below(addr)


def next_from(tree: VMATree, addr: int) -> VMA | None:
    """The VMA with the lowest start at or above ``addr`` (``vma_next()``). O(log n)."""
    return tree.ceiling(addr)


# ---- split ------------------------------------------------------------------------------------


def split(call: Call, v: VMA, addr: int, depth: int = 1) -> tuple[VMA, VMA]:
    """__split_vma() without the limit check: ``v`` becomes ``[start, addr)`` + ``[addr, end)``; +1.

    Both pieces keep every attribute (the same file, the same anon_vma); the upper piece's pgoff
    advances by the offset (semantics §2.1). O(log n).
    """
    lo, hi = v.head(addr), v.tail(addr)
    call.put(lo)
    call.put(hi)
    call.record("split", "step", "__split_vma", +1, v.start, v.end, depth=depth)
    return lo, hi


def checked_split(call: Call, v: VMA, addr: int, depth: int = 0) -> tuple[VMA, VMA]:
    """split_vma(): fails with ENOMEM (``split_limit``: ``map_count >= max``) before any change. O(log n)."""
    call.check(_SPLIT_LIMIT, "split_vma", depth=depth, start=v.start, end=v.end)
    return split(call, v, addr, depth=depth)


# ---- unmap ------------------------------------------------------------------------------------


@dataclass
class Munmap:
    """One unmap's state, as ``struct vma_munmap_struct`` (mm/vma.h, 6.12+) carries it: the range
    ``[start, end)``, the trace's ``step`` name and kernel function ``fn``, whether the detach is
    ``defer``-red to the caller (6.12+ MAP_FIXED: after the new VMA is in), and ``vma_count``, how many
    VMAs the gather detached from the tree. Between the gather and the completion those VMAs still count
    in ``map_count`` (:attr:`Call.pending <mmsim.kernel.call.Call.pending>`), as in the kernel, where only
    vms_complete_munmap_vmas() does ``mm->map_count -= vms->vma_count``. The kernel's other fields (the
    first VMA, prev/next, unmap_start/unmap_end, uf, the page and accounting counters, clear_ptes,
    closed_vm_ops) have no counterpart here; the detached VMAs themselves are in the call's undo log.

    >>> from mmsim import AddressSpace, MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, PAGE_SIZE
    >>> from mmsim.kernel.call import Call
    >>> mm = AddressSpace("6.18")
    >>> a = mm.mmap(0x7E0000000000, 3 * PAGE_SIZE, 3, MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS)
    >>> call = Call(mm, "mmap")
    >>> vms = unmap(call, a + PAGE_SIZE, a + 2 * PAGE_SIZE, "gather", "vms_gather_munmap_vmas", defer=True)
    >>> vms.vma_count, len(mm.tree), call.map_count         # split twice, the middle piece still counted
    (1, 2, 3)
    >>> vms_complete_munmap_vmas(call, vms); call.map_count
    2
    """

    start: int
    end: int
    step: str
    fn: str
    defer: bool = False
    vma_count: int = 0


def init_vma_munmap(start: int, end: int, step: str, fn: str, defer: bool = False) -> Munmap:
    """Mirrors init_vma_munmap() in 6.12+ (mm/vma.c): the state of an unmap of ``[start, end)`` before
    the gather, with no VMA counted yet (``vms->vma_count = 0``)."""
    return Munmap(start, end, step, fn, defer)


def vms_gather_munmap_vmas(call: Call, vms: Munmap) -> None:
    """Mirrors vms_gather_munmap_vmas() in 6.12+ (mm/vma.c); in 5.0-6.0 the splits and the detach of
    __do_munmap() (mm/mmap.c), whose detach_vmas_to_be_unmapped() drops map_count at once: :func:`unmap`
    models that by completing right after the gather.

    If the range starts inside a VMA: the hole-punch check first, only when it also ends inside that VMA
    (``munmap_punch_limit``: ``map_count >= max`` fails with ENOMEM before anything changed), then split
    there; split the last VMA at ``end`` (unchecked: __split_vma()); take every VMA in the range out of the
    tree and count them in ``vms.vma_count``. They stay counted in ``map_count`` (``call.pending``) until
    :func:`vms_complete_munmap_vmas`. Never merges. O((k + 1) log n) for k VMAs in the range.
    """
    tree = call.tree
    a, b = vms.start, vms.end
    v = find_vma(tree, a)
    if v is None or v.start >= b:
        return
    if a > v.start:
        if b < v.end:
            call.check(_PUNCH_LIMIT, vms.fn, depth=1, start=a, end=b)
        split(call, v, a)
    last = tree.below(b)
    if last is not None and last.start < b < last.end:
        split(call, last, b)
    doomed = tree.starts(a, b)
    for k in doomed:
        call.delete(k)
    vms.vma_count = len(doomed)
    call.pending += len(doomed)


def vms_complete_munmap_vmas(call: Call, vms: Munmap) -> None:
    """Mirrors vms_complete_munmap_vmas() in 6.12+ (mm/vma.c): ``mm->map_count -= vms->vma_count``.

    Records the drop unless nothing was gathered. Called by :func:`unmap` right after the gather, as a
    primitive of its step (``detach``, depth 1, named by the profile: detach_vmas_to_be_unmapped() in
    5.0-6.0, do_mas_align_munmap() in 6.1, vms_complete_munmap_vmas() in 6.12+); for a ``defer``-red gather
    by the caller once the new VMA is in, as __mmap_region() does (6.12; its __mmap_complete() in 6.18): a
    depth-0 step ``complete`` of its own. O(1).
    """
    n = vms.vma_count
    if not n:
        return
    call.pending -= n
    if vms.defer:
        call.record("complete", "step", "vms_complete_munmap_vmas", -n, vms.start, vms.end)
    else:
        call.record("detach", "step", call.profile.kfn("detach"), -n, vms.start, vms.end, depth=1)


def unmap(call: Call, a: int, b: int, step: str, fn: str, defer: bool = False) -> Munmap:
    """The unmap engine (semantics §2.2), after the caller's argument checks: mirrors __do_munmap() in
    5.0-6.0, do_mas_align_munmap() in 6.1 and do_vmi_align_munmap() in 6.12+ (init_vma_munmap(),
    vms_gather_munmap_vmas(), vms_complete_munmap_vmas()).

    Records a depth-0 ``step`` (kernel function ``fn``) whose children are the punch check, the splits and
    the detach; fails only as :func:`vms_gather_munmap_vmas` does. With ``defer`` (6.12+ MAP_FIXED:
    __mmap_region(), its __mmap_prepare() in 6.18) it only gathers, and the caller completes the returned state with
    :func:`vms_complete_munmap_vmas` later. Returns the state. O((k + 1) log n) for k VMAs in the range.
    """
    vms = init_vma_munmap(a, b, step, fn, defer)
    parent = call.record(step, "step", fn, start=a, end=b)
    mc_before = call.map_count
    vms_gather_munmap_vmas(call, vms)
    if not defer:
        vms_complete_munmap_vmas(call, vms)
    call.close(parent, mc_before)
    return vms


# ---- merge ------------------------------------------------------------------------------------


def new_range(call: Call, tmpl: VMA, fn_merge: str, fn_new: str, depth: int = 0, step_new: str = "new_vma",
              exclude: VMA | None = None, next_first: bool = False) -> VMA:
    """Map a new range: merge with prev/next if the kernel would (semantics §2.3-2.4), else a new VMA.

    Mirrors vma_merge_new_range()@6.12+ / vma_merge()@5.0 followed by vma_link(): prev is tried with the
    range's own anon_vma, next too, and prev + range + next only if prev's and next's anon_vmas are
    compatible (else the range joins prev). ``exclude`` is a VMA that may not be a merge partner
    (copy_vma()'s ``keep_source``, 6.12.114). ``next_first`` is mmap_region()@6.1 (the maple-tree rewrite;
    until vma_merge_new_range() in 6.12): next is tried first with the range's anon_vma, then prev with
    *next's* anon_vma when the range joins next, so a range between an unfaulted prev and a faulted next,
    or between two differently faulted neighbours, joins next only (measured on 6.1.176). The new VMA is
    created without any map_count check, in every profile. Returns the VMA now covering ``tmpl.start``.
    O(log n).
    """
    tree = call.tree
    start, end, pgoff, file, anon_vma = tmpl.start, tmpl.end, tmpl.pgoff, tmpl.file, tmpl.anon_vma
    flags = tmpl.flags_key()
    pages = (end - start) >> PAGE_SHIFT
    prev, nxt = adjacent(tree, start, end)
    if exclude is not None:
        prev = None if prev is not None and prev.start == exclude.start else prev
        nxt = None if nxt is not None and nxt.start == exclude.start else nxt
    left = right = False
    if tmpl.special:
        pass
    elif next_first:
        right = nxt is not None and can_merge_before(nxt, flags, file, anon_vma, pgoff, pages, call.any_target)
        proposed = nxt.anon_vma if right and nxt is not None else anon_vma
        left = prev is not None and can_merge_after(prev, flags, file, proposed, pgoff, call.any_target)
    else:
        left = prev is not None and can_merge_after(prev, flags, file, anon_vma, pgoff, call.any_target)
        right = nxt is not None and can_merge_before(nxt, flags, file, anon_vma, pgoff, pages, call.any_target)
        if left and right and not anon_compatible(prev.anon_vma, nxt.anon_vma):  # type: ignore[union-attr]
            right = False
    if left or right:
        av = anon_vma
        if left:
            assert prev is not None
            av = prev.anon_vma if prev.anon_vma is not None else av
        if right:
            assert nxt is not None
            av = nxt.anon_vma if av is None else av
        if left and right:
            assert prev is not None and nxt is not None
            call.delete(nxt.start)
            merged = prev.with_(end=nxt.end, anon_vma=av)
        elif left:
            assert prev is not None
            merged = prev.with_(end=end, anon_vma=av)
        else:
            assert nxt is not None
            call.delete(nxt.start)
            merged = nxt.with_(start=start, pgoff=pgoff, anon_vma=av)
        call.put(merged)
        call.record("merge", "step", fn_merge, -1 if (left and right) else 0, merged.start, merged.end, depth=depth)
        return merged
    call.put(tmpl)
    call.record(step_new, "step", fn_new, +1, start, end, depth=depth)
    return tmpl


def merge_existing(call: Call, v: VMA, start: int, end: int, prot: int, accounted: bool) -> VMA | None:
    """vma_merge_existing_range()@6.18 / vma_merge()@5.0 as mprotect calls it (semantics §2.4).

    Only tried when the range starts at v's start (candidate prev) or ends at v's end (candidate next).
    Returns the VMA now covering ``start``, or None if nothing merged. O(log n).
    """
    tree = call.tree
    flags = (prot, v.shared, accounted, v.noreserve, v.special, v.maxprot)
    pgoff = v.pgoff_at(start)
    pages = (end - start) >> PAGE_SHIFT
    prev, nxt = adjacent(tree, start, end, prev=start == v.start, nxt=end == v.end)
    if v.special:
        return None
    left = prev is not None and can_merge_after(prev, flags, v.file, v.anon_vma, pgoff, call.any_target)
    right = nxt is not None and can_merge_before(nxt, flags, v.file, v.anon_vma, pgoff, pages, call.any_target)
    if left and right and not anon_compatible(prev.anon_vma, nxt.anon_vma):  # type: ignore[union-attr]
        right = False
    if not (left or right):
        return None
    mc0 = call.map_count
    av = v.anon_vma
    if left and prev is not None and prev.anon_vma is not None:
        av = prev.anon_vma
    if right and av is None and nxt is not None:
        av = nxt.anon_vma
    fn = call.profile.kfn("merge_existing")
    if left and right:  # prev + whole v + next
        assert prev is not None and nxt is not None
        call.delete(v.start)
        call.delete(nxt.start)
        res = prev.with_(end=nxt.end, anon_vma=av)
        call.put(res)
    elif left:
        assert prev is not None
        call.delete(v.start)
        res = prev.with_(end=end, anon_vma=av)
        call.put(res)
        if end < v.end:
            call.put(v.tail(end).with_(anon_vma=v.anon_vma))
    else:
        assert nxt is not None
        call.delete(nxt.start)
        call.delete(v.start)
        if start > v.start:
            call.put(v.head(start))
        res = nxt.with_(start=start, pgoff=pgoff, anon_vma=av)
        call.put(res)
    call.record("merge", "step", fn, call.map_count - mc0, res.start, res.end)
    return res
