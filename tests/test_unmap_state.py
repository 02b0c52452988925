"""The unmap state (:class:`mmsim.kernel.vma.Munmap`, as the kernel's ``struct vma_munmap_struct``) and the steps
that fill and complete it, seen through traces and through the state itself.

What the kernel does, and so what these tests expect:

* 6.12+ (mm/vma.c): a MAP_FIXED mmap gathers the overlap first (init_vma_munmap(), vms_gather_munmap_vmas():
  split the ends, take the VMAs out of the tree, ``vms->vma_count`` of them) and only after the new VMA is in
  does vms_complete_munmap_vmas() do ``mm->map_count -= vms->vma_count``; a munmap does both at once
  (do_vmi_align_munmap()), and so does mremap's destination unmap (do_munmap());
* 5.0-6.1 (mm/mmap.c: __do_munmap(), do_mas_align_munmap()): the overlap is unmapped, count and all, before
  the new VMA is created;
* every release: a munmap (or MAP_FIXED) that starts *and* ends inside one VMA fails with ENOMEM at
  ``map_count >= max_map_count`` before anything changed; a range that only starts inside a VMA is split
  unchecked, even above the limit for a moment ("let map_count go just above its limit temporarily").

Every operation is followed by :meth:`mmsim.AddressSpace.check_invariants`.
"""

from __future__ import annotations

import errno as E

import pytest
import semantics_tables as T

from mmsim import (
    KERNELS,
    MAP_ANONYMOUS,
    MAP_FIXED,
    MAP_PRIVATE,
    MREMAP_FIXED,
    MREMAP_MAYMOVE,
    PAGE_SIZE,
    PROT_READ,
    PROT_WRITE,
    AddressSpace,
    MMError,
)
from mmsim.kernel.call import Call
from mmsim.kernel.vma import Munmap, init_vma_munmap, unmap, vms_complete_munmap_vmas, vms_gather_munmap_vmas

P = PAGE_SIZE
BASE = 0x7E0000000000
R, RW = PROT_READ, PROT_READ | PROT_WRITE

#: Profiles whose MAP_FIXED defers the detach of its overlap until the new VMA is in (mm/vma.c, 6.12+): those with
#: the feature munmap_gather (tests/test_profile_6_1.py checks which release profiles have it against the
#: semantics' Appendix A), so a new row is tested in its group without an edit here.
GATHER_FIRST = T.having("munmap_gather")
#: Profiles that unmap the overlap before mapping (mm/mmap.c until 6.11).
UNMAP_FIRST = T.lacking("munmap_gather")


def at(page: int) -> int:
    """The address of arena page ``page``."""
    return BASE + page * P


def fixed(mm: AddressSpace, page: int, pages: int, prot: int = RW) -> int:
    """A private anonymous MAP_FIXED mmap of ``pages`` pages at arena page ``page``, then the invariants."""
    a = mm.mmap(at(page), pages * P, prot, MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS)
    mm.check_invariants()
    return a


def striped(mm: AddressSpace, k: int) -> None:
    """``k`` one-page VMAs at pages 0..k-1 that cannot merge (the protection alternates)."""
    for i in range(k):
        fixed(mm, i, 1, R if i % 2 else RW)
    assert mm.map_count == k


def top_steps(mm: AddressSpace) -> list[tuple[str, int, int]]:
    """The last call's depth-0 steps as ``(step, delta, map_count)``."""
    return [(s.step, s.delta, s.map_count) for s in mm.trace if s.depth == 0 and s.kind == "step"]


# ---- through the system calls ------------------------------------------------------------------


@pytest.mark.parametrize("kernel", GATHER_FIRST)
@pytest.mark.parametrize("k", [1, 2, 3])
def test_fixed_mmap_gathers_k_vmas_and_detaches_them_after_the_insertion(kernel, k):
    """6.12+: ``gather`` (k VMAs, still counted: delta 0), ``new_vma`` (+1), then ``complete`` (-k), whose
    range is the mmap's; the count only drops at the end, so it peaks at k + 1."""
    mm = AddressSpace(kernel=kernel, max_map_count=100)
    striped(mm, k)
    fixed(mm, 0, k, RW)
    steps = top_steps(mm)
    assert [s for s, _, _ in steps] == ["get_unmapped_area", "gather", "new_vma", "complete"]
    assert steps[1] == ("gather", 0, k)
    assert steps[2] == ("new_vma", +1, k + 1)
    assert steps[3] == ("complete", -k, 1)
    done = next(s for s in mm.trace if s.step == "complete")
    assert (done.start, done.end, done.fn) == (at(0), at(k), f"vms_complete_munmap_vmas@{mm.profile.src}")
    assert not any(s.step == "detach" for s in mm.trace)
    assert mm.map_count == 1


@pytest.mark.parametrize("kernel", UNMAP_FIRST)
@pytest.mark.parametrize("k", [1, 3])
def test_fixed_mmap_before_6_12_unmaps_the_overlap_first(kernel, k):
    """5.0-6.1: ``unmap_overlap`` drops the count by k (its ``detach`` child) before ``new_vma`` (+1); no
    deferred ``complete``, and the count never exceeds k."""
    mm = AddressSpace(kernel=kernel, max_map_count=100)
    striped(mm, k)
    fixed(mm, 0, k, RW)
    steps = top_steps(mm)
    assert [s for s, _, _ in steps] == ["get_unmapped_area", "unmap_overlap", "new_vma"]
    assert steps[1] == ("unmap_overlap", -k, 0)
    assert steps[2] == ("new_vma", +1, 1)
    detach = [s for s in mm.trace if s.step == "detach"]
    assert [(s.depth, s.delta, s.map_count) for s in detach] == [(1, -k, 0)]
    assert not any(s.step == "complete" for s in mm.trace)
    assert max(s.map_count for s in mm.trace) <= k


@pytest.mark.parametrize("kernel", GATHER_FIRST)
def test_fixed_mmap_inside_one_vma_splits_twice_before_the_new_vma(kernel):
    """6.12+, MAP_FIXED over the middle page of a 3-page VMA at max = 3: the punch check passes at 1 < 3, the
    gather splits twice (1 -> 3) and detaches the middle piece (still counted), the new VMA makes 4 > max
    for a moment, and the completion brings it to 3."""
    mm = AddressSpace(kernel=kernel, max_map_count=3)
    fixed(mm, 0, 3, RW)
    fixed(mm, 1, 1, R)
    steps = top_steps(mm)
    assert steps[1:] == [("gather", +2, 3), ("new_vma", +1, 4), ("complete", -1, 3)]
    gather = [(s.step, s.depth) for s in mm.trace if s.depth == 1]
    assert gather == [("munmap_punch_limit", 1), ("split", 1), ("split", 1)]
    assert [v.perms for v in mm] == ["rw-p", "r--p", "rw-p"]


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("op", ["munmap", "mmap"])
def test_hole_punch_at_the_limit_fails_before_any_change(kernel, op):
    """A range strictly inside one VMA at ``map_count >= max``: ENOMEM from the punch check, the first record
    under the unmap step; no split, no detach, the VMAs and the count as they were (munmap and MAP_FIXED)."""
    mm = AddressSpace(kernel=kernel, max_map_count=2)
    fixed(mm, 0, 3, RW)
    fixed(mm, 5, 1, RW)
    before = mm.state()
    with pytest.raises(MMError) as e:
        if op == "munmap":
            mm.munmap(at(1), P)
        else:
            mm.mmap(at(1), P, R, MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS)
    mm.check_invariants()
    assert (e.value.errno, e.value.check) == (E.ENOMEM, "munmap_punch_limit")
    assert mm.state() == before and mm.map_count == 2
    failed = [s for s in mm.trace if s.errno is not None]
    assert [(s.step, s.depth) for s in failed] == [("munmap_punch_limit", 1)]
    assert not any(s.step in ("split", "detach", "complete", "new_vma") for s in mm.trace)


@pytest.mark.parametrize("kernel", KERNELS)
def test_hole_punch_below_the_limit_adds_one(kernel):
    """One below the limit the same punch passes: split twice (+2), detach the middle (-1): net +1."""
    mm = AddressSpace(kernel=kernel, max_map_count=3)
    fixed(mm, 0, 3, RW)
    fixed(mm, 5, 1, RW)
    mm.munmap(at(1), P)
    mm.check_invariants()
    assert mm.map_count == 3
    assert [(s.step, s.delta) for s in mm.trace if s.depth == 1] == [
        ("munmap_punch_limit", 0), ("split", 1), ("split", 1), ("detach", -1)]
    assert top_steps(mm) == [("munmap", +1, 3)]


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("pages", [1, 2])
def test_unmap_that_only_starts_inside_a_vma_is_not_checked(kernel, pages):
    """At the limit, a munmap from inside a VMA to its end (1 page) or past it (2) is no punch (the check is
    ``end < vma->vm_end``): split unchecked (max + 1 for a moment), then the detach; the count ends where it
    began."""
    mm = AddressSpace(kernel=kernel, max_map_count=2)
    fixed(mm, 0, 3, RW)
    fixed(mm, 5, 1, RW)
    mm.munmap(at(2), pages * P)
    mm.check_invariants()
    assert mm.map_count == 2
    assert not any(s.kind == "check" for s in mm.trace)
    assert [(s.step, s.map_count) for s in mm.trace if s.depth == 1] == [("split", 3), ("detach", 2)]


@pytest.mark.parametrize("kernel", GATHER_FIRST)
def test_munmap_and_mremap_destination_detach_at_once_on_6_12_plus(kernel):
    """Only MAP_FIXED defers: munmap (do_vmi_align_munmap()) and mremap's destination unmap (do_munmap())
    complete inside their own step, a depth-1 ``detach`` named vms_complete_munmap_vmas()."""
    mm = AddressSpace(kernel=kernel, max_map_count=100)
    striped(mm, 3)
    mm.munmap(at(0), 2 * P)
    mm.check_invariants()
    assert top_steps(mm) == [("munmap", -2, 1)]
    detach = next(s for s in mm.trace if s.step == "detach")
    assert (detach.depth, detach.delta, detach.fn) == (1, -2, f"vms_complete_munmap_vmas@{mm.profile.src}")

    fixed(mm, 10, 1, RW)
    fixed(mm, 11, 1, R)
    assert mm.map_count == 3
    mm.mremap(at(2), P, P, MREMAP_MAYMOVE | MREMAP_FIXED, at(10))
    mm.check_invariants()
    dest = [s for s in mm.trace if s.step == "unmap_destination"]
    assert [(s.depth, s.start, s.end) for s in dest] == [(0, at(10), at(11))]
    assert [(s.depth, s.delta) for s in mm.trace if s.step == "detach"][0] == (1, -1)
    assert not any(s.step == "complete" for s in mm.trace)


# ---- the state itself ----------------------------------------------------------------------------


def test_init_vma_munmap_starts_with_nothing_counted():
    """init_vma_munmap(): the range and the trace names, nothing gathered (``vms->vma_count = 0``)."""
    vms = init_vma_munmap(at(0), at(3), "munmap", "do_vmi_munmap")
    assert vms == Munmap(at(0), at(3), "munmap", "do_vmi_munmap", defer=False, vma_count=0)


@pytest.mark.parametrize("kernel", GATHER_FIRST)
def test_gather_counts_the_pieces_and_keeps_them_counted_until_completion(kernel):
    """[page 1, page 5) over VMAs [0,2) [2,3) [3,4) [4,6): the gather splits the first at page 1 and the last
    at page 5 (4 -> 6 VMAs), takes the 4 pieces inside out of the tree, and map_count still counts them
    (call.pending = 4); the completion subtracts them (-4) with a ``complete`` record over the range."""
    mm = AddressSpace(kernel=kernel, max_map_count=100)
    fixed(mm, 0, 2, RW)
    fixed(mm, 2, 1, R)
    fixed(mm, 3, 1, RW)
    fixed(mm, 4, 2, R)
    assert mm.map_count == 4
    call = Call(mm, "mmap")
    vms = init_vma_munmap(at(1), at(5), "gather", "vms_gather_munmap_vmas", defer=True)
    vms_gather_munmap_vmas(call, vms)
    mm.check_invariants()
    assert (vms.start, vms.end, vms.defer, vms.vma_count) == (at(1), at(5), True, 4)
    assert call.pending == 4 and len(mm.tree) == 2 and call.map_count == 6
    assert [(v.start, v.end) for v in mm] == [(at(0), at(1)), (at(5), at(6))]
    vms_complete_munmap_vmas(call, vms)
    mm.check_invariants()
    assert call.pending == 0 and call.map_count == 2
    last = call.trace[-1]
    assert (last.step, last.depth, last.delta, last.map_count, last.start, last.end) == (
        "complete", 0, -4, 2, at(1), at(5))


@pytest.mark.parametrize("kernel", ["5.0", "6.1", "6.18"])
def test_unmap_returns_its_state_completed(kernel):
    """unmap() without ``defer``: the returned state says what it detached (2 VMAs of the range), and
    nothing is left counted."""
    mm = AddressSpace(kernel=kernel, max_map_count=100)
    striped(mm, 3)
    call = Call(mm, "munmap")
    vms = unmap(call, at(1), at(3), "munmap", "do_munmap")
    mm.check_invariants()
    assert (vms.start, vms.end, vms.step, vms.fn, vms.defer, vms.vma_count) == (
        at(1), at(3), "munmap", "do_munmap", False, 2)
    assert call.pending == 0 and call.map_count == len(mm.tree) == 1
    assert [(s.step, s.depth, s.delta) for s in call.trace] == [("munmap", 0, -2), ("detach", 1, -2)]


@pytest.mark.parametrize("defer", [False, True])
def test_unmap_of_an_empty_range_gathers_nothing(defer):
    """No VMA in the range: vma_count 0, nothing counted, and the completion records nothing."""
    mm = AddressSpace(kernel="6.18", max_map_count=100)
    fixed(mm, 0, 1, RW)
    call = Call(mm, "munmap")
    vms = unmap(call, at(4), at(6), "munmap", "do_vmi_munmap", defer=defer)
    vms_complete_munmap_vmas(call, vms)
    mm.check_invariants()
    assert vms.vma_count == 0 and call.pending == 0 and mm.map_count == 1
    assert [(s.step, s.delta) for s in call.trace] == [("munmap", 0)]
