"""Worked examples of the core VMA rules (semantics §2, §3.1-§3.4, §7.6, §8), one small scene each.

Every test builds a few VMAs with MAP_FIXED in the arena at helpers.BASE and asserts the exact
map_count and the exact arena layout (pages, perms, pgoff, anon_vma sharing, VM_ACCOUNT). Expected
values are derived from the semantics; the derivation is in each docstring. mremap is tested elsewhere.
"""

from __future__ import annotations

import errno as E

import pytest
import semantics_tables as T
from helpers import PRIV, RW, RWX, SHARED, L, R, anon, arena, assert_layout, at, fmap, new_mm, page_of, pg
from semantics_tables import UNACCOUNT

import mmsim
from mmsim import (
    DEFAULT_MAX_MAP_COUNT,
    KERNELS,
    MAP_FIXED,
    MAP_NORESERVE,
    MAP_PRIVATE,
    MAP_SHARED,
    PAGE_SIZE,
    PROT_NONE,
    VMA,
)

P = PAGE_SIZE


# ---------------------------------------------------------------------------------------------
# mmap: pgoff, merging (semantics §2.3, §2.4, §2.5, §3.1 step 6)
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kernel", KERNELS)
def test_private_anon_pgoff_is_address_over_page(kernel):
    """A private anon mmap gets pgoff = addr / P and VM_ACCOUNT when writable: +1 (§2.5, §2.7)."""
    mm = new_mm(kernel)
    assert anon(mm, 3, 2) == at(3)
    assert_layout(mm, [L(3, 5, "rw-p", pg(3), None, True)], map_count=1)


@pytest.mark.parametrize("kernel", KERNELS)
def test_adjacent_private_anon_mmaps_merge(kernel):
    """New range right after a compatible VMA joins it: 0 instead of +1; leftmost pgoff (§2.3, §2.4)."""
    mm = new_mm(kernel)
    anon(mm, 0, 2)
    anon(mm, 2, 3)
    assert_layout(mm, [L(0, 5, "rw-p", pg(0), None, True)], map_count=1)


@pytest.mark.parametrize("kernel", KERNELS)
def test_adjacent_mmap_before_next_merges(kernel):
    """New range right before a compatible VMA joins it and takes the new start and pgoff (§2.3)."""
    mm = new_mm(kernel)
    anon(mm, 4, 2)
    anon(mm, 1, 3)
    assert_layout(mm, [L(1, 6, "rw-p", pg(1), None, True)], map_count=1)


@pytest.mark.parametrize("kernel", KERNELS)
def test_mmap_filling_a_gap_merges_three_ways(kernel):
    """prev + new + next: the new range adds 0 and next is removed, 2 -> 1 (§2.4 mmap row)."""
    mm = new_mm(kernel)
    anon(mm, 0, 2)
    anon(mm, 3, 2)
    assert_layout(mm, [L(0, 2, "rw-p", pg(0), None, True), L(3, 5, "rw-p", pg(3), None, True)], map_count=2)
    anon(mm, 2, 1)
    assert_layout(mm, [L(0, 5, "rw-p", pg(0), None, True)], map_count=1)


@pytest.mark.parametrize("kernel", KERNELS)
def test_adjacent_mmaps_with_different_prot_do_not_merge(kernel):
    """Flags must be equal (§2.3 rule 2): RW next to R stays two VMAs, +1 each."""
    mm = new_mm(kernel)
    anon(mm, 0, 2, RW)
    anon(mm, 2, 2, R)
    assert_layout(mm, [L(0, 2, "rw-p", pg(0), None, True), L(2, 4, "r--p", pg(2), None, False)], map_count=2)


@pytest.mark.parametrize("kernel", KERNELS)
def test_noreserve_mapping_does_not_merge_with_accounted_one(kernel):
    """MAP_NORESERVE: no VM_ACCOUNT, VM_NORESERVE set (§2.7), so flags differ and nothing merges (§2.3 rule 2)."""
    mm = new_mm(kernel)
    anon(mm, 0, 2, RW)
    anon(mm, 2, 2, RW, PRIV | MAP_NORESERVE)
    assert_layout(mm, [L(0, 2, "rw-p", pg(0), None, True), L(2, 4, "rw-p", pg(2), None, False)], map_count=2)
    assert [v.noreserve for v in arena(mm)] == [False, True]


@pytest.mark.parametrize("kernel", KERNELS)
def test_vm_account_decides_merge_after_mprotect_to_read_only(kernel):
    """VM_ACCOUNT is part of the merge flags (§2.3 rule 2).

    A = 2-page RW private anon, unfaulted, then mprotect to R: on 6.18/7.1 it loses VM_ACCOUNT
    (§2.7), on 5.0/5.1/6.1 it keeps it (§3.6; 6.1 has no 9b9143298585). A new R private anon page
    right after A has no VM_ACCOUNT, so it merges (1 VMA) only where A lost it; elsewhere it is a
    second VMA.
    """
    mm = new_mm(kernel)
    anon(mm, 0, 2, RW)
    mm.mprotect(at(0), 2 * P, R)
    anon(mm, 2, 1, R)
    if kernel in UNACCOUNT:
        assert_layout(mm, [L(0, 3, "r--p", pg(0), None, False)], map_count=1)
    else:
        assert_layout(mm, [L(0, 2, "r--p", pg(0), None, True), L(2, 3, "r--p", pg(2), None, False)], map_count=2)


@pytest.mark.parametrize("kernel", KERNELS)
def test_shared_anon_mmaps_never_merge(kernel):
    """Each MAP_SHARED|MAP_ANONYMOUS mmap is a fresh shmem file with pgoff 0 (§2.5, §7.6): 2 VMAs."""
    mm = new_mm(kernel)
    anon(mm, 0, 1, RW, SHARED)
    anon(mm, 1, 1, RW, SHARED)
    assert_layout(mm, [L(0, 1, "rw-s", 0, None, False), L(1, 2, "rw-s", 0, None, False)], map_count=2)
    a, b = arena(mm)
    assert a.file is not None and b.file is not None and a.file is not b.file
    assert a.file.shmem and b.file.shmem


@pytest.mark.parametrize("kernel", KERNELS)
def test_fresh_mmap_after_faulted_vma_merges(kernel):
    """§7.6: a fresh private anon mmap right after a faulted compatible VMA merges (anon None is compatible)."""
    mm = new_mm(kernel)
    anon(mm, 0, 2)
    mm.touch(at(0))
    anon(mm, 2, 1)
    assert_layout(mm, [L(0, 3, "rw-p", pg(0), "A", True)], map_count=1)


def _next_first(kernel: str) -> bool:
    """mmap_region()@6.1's new-range merge: next first, then prev with next's anon_vma (6.1 until 6.12's
    vma_merge_new_range(); semantics §2.4, measured on 6.1.176)."""
    p = mmsim.PROFILES[kernel]
    return p.has("mmap_merge_next_first") and not p.has("mmap_merge_new_range")


@pytest.mark.parametrize("kernel", KERNELS)
def test_mmap_between_incompatible_anon_vmas_joins_one_side(kernel):
    """§2.3 rule 7: prev and next each accept the new range, but their anon_vmas differ, so only one side
    takes it: prev (vma_merge()@5.x, vma_merge_new_range()@6.12+), or next under 6.1's next-first
    mmap_region(). Scene: [0,1) faulted (anon A), [2,3) faulted separately (anon B, not adjacent to A at
    fault time), then mmap [1,2): 2 VMAs stay 2."""
    mm = new_mm(kernel)
    anon(mm, 0, 1)
    mm.touch(at(0))
    anon(mm, 2, 1)
    mm.touch(at(2))
    anon(mm, 1, 1)
    if _next_first(kernel):
        assert_layout(mm, [L(0, 1, "rw-p", pg(0), "A", True), L(1, 3, "rw-p", pg(1), "B", True)], map_count=2)
    else:
        assert_layout(mm, [L(0, 2, "rw-p", pg(0), "A", True), L(2, 3, "rw-p", pg(2), "B", True)], map_count=2)


@pytest.mark.parametrize("kernel", KERNELS)
def test_mmap_between_faulted_and_unfaulted_merges_three_ways(kernel):
    """§2.3 rule 7: one of prev/next has no anon_vma, so the 3-way merge happens; merged VMA keeps A."""
    mm = new_mm(kernel)
    anon(mm, 0, 1)
    mm.touch(at(0))
    anon(mm, 2, 1)
    anon(mm, 1, 1)
    assert_layout(mm, [L(0, 3, "rw-p", pg(0), "A", True)], map_count=1)


@pytest.mark.parametrize("kernel", KERNELS)
def test_mmap_between_unfaulted_prev_and_faulted_next(kernel):
    """The mirror scene: prev unfaulted, next faulted (A). prev + range + next merge (one of them has no
    anon_vma) everywhere but 6.1, whose mmap_region() asks prev to take next's anon_vma, which an
    unfaulted prev refuses before 6.16 (its anon_vma_chain is empty, not singular): the range joins next
    only (measured on 6.1.176)."""
    mm = new_mm(kernel)
    anon(mm, 0, 1)
    anon(mm, 2, 1)
    mm.touch(at(2))
    anon(mm, 1, 1)
    if _next_first(kernel):
        assert_layout(mm, [L(0, 1, "rw-p", pg(0), None, True), L(1, 3, "rw-p", pg(1), "A", True)], map_count=2)
    else:
        assert_layout(mm, [L(0, 3, "rw-p", pg(0), "A", True)], map_count=1)


@pytest.mark.parametrize("special", [frozenset(), frozenset({"IO"}), frozenset({"PFNMAP"})])
def test_special_vmas_never_merge(special):
    """§2.3 rule 1. Two adjacent private anon VMAs with equal special sets, contiguous pgoff, no
    anon_vma; mprotect the second to the first's protection (whole VMA, candidate prev, §2.4). Without
    special flags they merge (2 -> 1); with any special flag they never do (2 stays 2)."""
    a = VMA(at(0), at(1), RW, pgoff=pg(0), accounted=True, special=special)
    b = VMA(at(1), at(2), R, pgoff=pg(1), accounted=False, special=special)
    mm = mmsim.AddressSpace.from_vmas([a, b], kernel="6.18")
    mm.mprotect(at(1), P, RW)  # R -> RW on a private VMA without VM_ACCOUNT: gains it (§2.7)
    if special:
        assert_layout(mm, [L(0, 1, "rw-p", pg(0), None, True), L(1, 2, "rw-p", pg(1), None, True)], map_count=2)
    else:
        assert_layout(mm, [L(0, 2, "rw-p", pg(0), None, True)], map_count=1)


def test_mmap_next_to_special_vma_does_not_merge():
    """§2.3 rule 1 for a new range: a plain RW page after an injected VM_IO VMA stays separate (+1)."""
    io = VMA(at(0), at(1), RW, pgoff=pg(0), accounted=True, special=frozenset({"IO"}))
    mm = mmsim.AddressSpace.from_vmas([io], kernel="6.18")
    anon(mm, 1, 1)
    assert_layout(mm, [L(0, 1, "rw-p", pg(0), None, True), L(1, 2, "rw-p", pg(1), None, True)], map_count=2)
    assert [v.special for v in arena(mm)] == [frozenset({"IO"}), frozenset()]


# ---------------------------------------------------------------------------------------------
# file mappings (semantics §1.1 file identity, §2.3 rules 3-4, §2.5)
# ---------------------------------------------------------------------------------------------


FILE_PAIRS = [
    # id, two fmap()s of one fd as (page, npages, off_pages, prot, flags), expected arena, map_count
    # same struct file and pgoff 0 + 2 == 2 (§2.3 rules 3-4): the second mmap joins the first
    ("same_fd_contiguous_pgoff_merge", (0, 2, 0, R, MAP_PRIVATE), (2, 2, 2, R, MAP_PRIVATE),
     [L(0, 4, "r--p", 0, None, False)], 1),
    # pgoff 0 + 2 pages != 3 (§2.3 rule 4): two VMAs, pgoff = offset / P (§2.5)
    ("same_fd_non_contiguous_pgoff_do_not_merge", (0, 2, 0, R, MAP_PRIVATE), (2, 2, 3, R, MAP_PRIVATE),
     [L(0, 2, "r--p", 0, None, False), L(2, 4, "r--p", 3, None, False)], 2),
    # MAP_SHARED RW of a writable file: no VM_ACCOUNT (§2.7); same fd, contiguous pgoff: merge
    ("shared_file_mappings_merge_without_vm_account", (0, 1, 4, RW, MAP_SHARED), (1, 3, 5, RW, MAP_SHARED),
     [L(0, 4, "rw-s", 4, None, False)], 1),
    # VM_SHARED differs (§2.3 rule 2) even with the same file and contiguous pgoff: 2 VMAs
    ("private_and_shared_mappings_of_one_fd_do_not_merge", (0, 1, 0, R, MAP_PRIVATE), (1, 1, 1, R, MAP_SHARED),
     [L(0, 1, "r--p", 0, None, False), L(1, 2, "r--s", 1, None, False)], 2),
]


@pytest.mark.parametrize("first, second, expected, mc", [c[1:] for c in FILE_PAIRS], ids=[c[0] for c in FILE_PAIRS])
@pytest.mark.parametrize("kernel", KERNELS)
def test_file_mapping_pairs(kernel, first, second, expected, mc):
    """Two MAP_FIXED file mappings of one open file side by side (§1.1, §2.3 rules 2-4, §2.5, §2.7):
    per-case reason in FILE_PAIRS."""
    mm = new_mm(kernel)
    fd = mm.open("f")
    page, npages, off, prot, flags = first
    fmap(mm, fd, page, npages, off, prot, flags)
    page, npages, off, prot, flags = second
    fmap(mm, fd, page, npages, off, prot, flags)
    assert_layout(mm, expected, map_count=mc)


@pytest.mark.parametrize("kernel", KERNELS)
def test_two_opens_of_the_same_path_never_merge(kernel):
    """vm_file is the open file description, compared by identity (§1.1, §2.3 rule 3): 2 VMAs."""
    mm = new_mm(kernel)
    fd1, fd2 = mm.open("f"), mm.open("f")
    fmap(mm, fd1, 0, 2, 0)
    fmap(mm, fd2, 2, 2, 2)
    assert_layout(mm, [L(0, 2, "r--p", 0, None, False), L(2, 4, "r--p", 2, None, False)], map_count=2)
    a, b = arena(mm)
    assert a.file is mm.file_of(fd1) and b.file is mm.file_of(fd2) and a.file is not b.file


@pytest.mark.parametrize(
    "prot, flags, file, expected",
    [
        (RW, PRIV, False, True),  # private, PROT_WRITE, not noreserve
        (R, PRIV, False, False),  # not writable
        (RW, PRIV | MAP_NORESERVE, False, False),  # noreserve
        (RW, SHARED, False, False),  # shared
        (RW, MAP_PRIVATE, True, True),  # private file, writable
        (RW, MAP_SHARED, True, False),  # shared file
        (RWX, PRIV, False, True),
    ],
)
def test_mmap_sets_vm_account_iff_private_writable_reserved(prot, flags, file, expected):
    """§2.7 accountable_mapping(): VM_ACCOUNT iff private, PROT_WRITE and not noreserve."""
    mm = new_mm("6.18")
    if file:
        fmap(mm, mm.open("f"), 0, 2, 0, prot, flags)
    else:
        anon(mm, 0, 2, prot, flags)
    (v,) = arena(mm)
    assert v.accounted is expected


# ---------------------------------------------------------------------------------------------
# placement (semantics §2.8)
# ---------------------------------------------------------------------------------------------


def test_hintless_mmap_is_top_down_below_mmap_base():
    """Top-down first fit: the first 2-page mmap ends at mmap_base; the next sits right below it
    (and, being compatible private anon, merges with it: mc 1)."""
    base = 0x7F0000000000
    mm = new_mm("6.18", mmap_base=base)
    assert mm.mmap(0, 2 * P, RW, PRIV) == base - 2 * P
    assert mm.mmap(0, 3 * P, RW, PRIV) == base - 5 * P
    top = page_of(base)
    assert_layout(mm, [L(top - 5, top, "rw-p", pg(top - 5), None, True)], map_count=1)


def test_top_down_search_skips_a_gap_too_small():
    """§2.8 top-down first fit: with [base-3P, base-P) mapped, a 1-page request takes the free top page
    [base-P, base); a 2-page request does not fit there and goes right below the VMA: base - 5P."""
    base = 0x7F0000000000
    mm = new_mm("6.18", mmap_base=base)
    mm.mmap(base - 3 * P, 2 * P, R, PRIV | MAP_FIXED)
    assert mm.mmap(0, 2 * P, RW, PRIV) == base - 5 * P
    assert mm.mmap(0, P, RW, PRIV) == base - P


def test_placement_falls_back_to_bottom_up_from_task_unmapped_base():
    """§2.8: when nothing fits below mmap_base (above max(P, mmap_min_addr)), search bottom-up from
    TASK_UNMAPPED_BASE = PAGE_ALIGN(TASK_SIZE / 3)."""
    tub = ((mmsim.TASK_SIZE // 3) + P - 1) & ~(P - 1)
    mm = new_mm("6.18", mmap_base=0x10000 + 2 * P, mmap_min_addr=0x10000)
    assert mm.mmap(0, 2 * P, RW, PRIV) == 0x10000  # exactly fills [min, base)
    assert mm.mmap(0, P, R, PRIV) == tub
    assert mm.mmap(0, P, RW, PRIV) == tub + P


def test_free_hint_is_used_and_page_aligned_down():
    """A free hint is used; x86 arch_get_unmapped_area_topdown() does addr &= PAGE_MASK (§2.8)."""
    mm = new_mm("6.18")
    assert mm.mmap(at(5) + 0x123, P, RW, PRIV) == at(5)


def test_occupied_hint_falls_back_to_top_down():
    """Hint overlapping a VMA: not used, top-down search from mmap_base instead (§2.8)."""
    mm = new_mm("6.18", mmap_base=0x7F0000000000)
    anon(mm, 5, 1, R)
    assert mm.mmap(at(5), P, RW, PRIV) == 0x7F0000000000 - P


def test_low_hint_is_rounded_up_to_mmap_min_addr():
    """round_hint_to_min(): a non-NULL hint below mmap_min_addr becomes PAGE_ALIGN(mmap_min_addr)."""
    mm = new_mm("6.18", mmap_min_addr=0x10000)
    assert mm.mmap(0x1000, P, RW, PRIV) == 0x10000


@pytest.mark.parametrize("kernel", ["5.0", "6.1", "6.18", "7.1"])
def test_mmap_min_addr_has_two_values(kernel):
    """§1.2 / §2.8 and linux-6.1.md §6, measured on 6.1.176 and 6.18.44 (vm.mmap_min_addr = 4096, Debian's
    CONFIG_LSM_MMAP_MIN_ADDR = 65536): hints 0x1000, 0x1001, 0x5000, 0xf000 land at 0x10000 (the kernel
    variable mmap_min_addr = max of the two, update_mmap_min_addr()); 0x20000 is used as given; yet the
    EPERM of cap_mmap_addr() compares with the sysctl, so MAP_FIXED at 0x1000 is allowed and at 0 is not."""
    mm = new_mm(kernel)
    for hint, want in ((0x1000, 0x10000), (0x1001, 0x10000), (0x5000, 0x10000), (0xF000, 0x10000),
                       (0x20000, 0x20000)):
        got = mm.mmap(hint, P, RW, PRIV)
        assert got == want, hex(hint)
        mm.munmap(got, P)
        mm.check_invariants()
    assert mm.mmap(0x1000, P, RW, PRIV | MAP_FIXED) == 0x1000
    with pytest.raises(mmsim.MMError) as ei:
        mm.mmap(0, P, RW, PRIV | MAP_FIXED)
    assert ei.value.errno == E.EPERM and "below_mmap_min_addr" in str(ei.value)
    mm.check_invariants()


def test_a_kernel_without_an_lsm_floor_takes_low_hints():
    """With CONFIG_LSM_MMAP_MIN_ADDR 0 (lsm_mmap_min_addr=0) the sysctl alone decides: a free 0x1000 hint is
    used as given (round_hint_to_min() leaves hints at or above mmap_min_addr alone)."""
    mm = new_mm("6.18", lsm_mmap_min_addr=0)
    assert mm.effective_mmap_min_addr == 0x1000
    assert mm.mmap(0x1000, P, RW, PRIV) == 0x1000


def test_an_arm64_compat_lsm_floor_rounds_hints_to_32768():
    """security/Kconfig: LSM_MMAP_MIN_ADDR defaults to 32768 on ARM || (ARM64 && COMPAT). With that floor, the
    kernel variable mmap_min_addr is max(4096, 32768) (update_mmap_min_addr()), and round_hint_to_min() raises
    a free 0x1000 hint to it; a MAP_FIXED there is allowed (EPERM only below the sysctl, cap_mmap_addr())."""
    mm = new_mm("6.18", lsm_mmap_min_addr=32768)
    assert mm.effective_mmap_min_addr == 0x8000
    assert mm.mmap(0x1000, P, RW, PRIV) == 0x8000
    assert mm.mmap(0x2000, P, RW, PRIV | MAP_FIXED) == 0x2000


def test_the_top_down_search_stops_at_the_kernel_mmap_min_addr():
    """§2.8: vm_unmapped_area() searches no lower than max(PAGE_SIZE, mmap_min_addr) (the kernel variable):
    with mmap_base at 0x20000 and [0x10000, 0x20000) taken, nothing fits below it, so the search falls back
    to bottom-up from TASK_UNMAPPED_BASE instead of using [0x1000, 0x10000)."""
    mm = new_mm("6.18", mmap_base=0x20000)
    mm.mmap(0x10000, 16 * P, RW, PRIV | MAP_FIXED)
    got = mm.mmap(0, P, RW, PRIV)
    assert got == ((mmsim.TASK_SIZE // 3) + P - 1) & ~(P - 1)  # TASK_UNMAPPED_BASE
    mm.check_invariants()


def test_sub_page_hint_is_no_hint():
    """round_hint_to_min() (mm/mmap.c, 5.0 and 6.x): ``hint &= PAGE_MASK`` first, so hint 0x10 becomes
    NULL and is not rounded up to mmap_min_addr; placement is the plain top-down search (§2.8):
    mmap_base - P. (Semantics §2.8 says only "rounded up"; the source wins. Fixed in a299998.)"""
    mm = new_mm("6.18", mmap_base=0x7F0000000000)
    assert mm.mmap(0x10, P, RW, PRIV) == 0x7F0000000000 - P


# ---------------------------------------------------------------------------------------------
# mprotect (semantics §2.4 mprotect row, §2.7, §3.3, §7.6)
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kernel", KERNELS)
def test_mprotect_middle_page_splits_three_ways(kernel):
    """No merge candidate for an interior range (§2.4): two checked splits, +2 (§2.1). The upper
    pieces get pgoff + offset. VM_ACCOUNT of the R middle: dropped on 6.18/7.1 (unfaulted), kept
    on 5.0/5.1/6.1 (§2.7, §3.6)."""
    mm = new_mm(kernel)
    anon(mm, 0, 10)
    mm.mprotect(at(2), P, R)
    assert_layout(mm, [
        L(0, 2, "rw-p", pg(0), None, True),
        L(2, 3, "r--p", pg(2), None, kernel not in UNACCOUNT),
        L(3, 10, "rw-p", pg(3), None, True),
    ], map_count=3)


@pytest.mark.parametrize("kernel", KERNELS)
def test_mprotect_split_pieces_share_the_anon_vma(kernel):
    """Split keeps every attribute including the anon_vma identity (§2.1); faulted, so VM_ACCOUNT is
    kept on every profile (§2.7)."""
    mm = new_mm(kernel)
    anon(mm, 0, 4)
    mm.touch(at(0))
    mm.mprotect(at(1), P, R)
    assert_layout(mm, [
        L(0, 1, "rw-p", pg(0), "A", True),
        L(1, 2, "r--p", pg(1), "A", True),
        L(2, 4, "rw-p", pg(2), "A", True),
    ], map_count=3)


@pytest.mark.parametrize("kernel", KERNELS)
def test_mprotect_to_the_same_protection_is_skipped_even_over_the_limit(kernel):
    """§3.3 step 2: newflags == oldflags -> skip the VMA, no split and no check. With max 0 (s = -1)
    an interior mprotect to the current protection still succeeds and records no split_limit."""
    mm = new_mm(kernel, max_map_count=0)
    anon(mm, 0, 10)  # 0 > 0 is false: mmap_limit passes, mc 1 = max + 1
    before = mm.vmas()
    mm.mprotect(at(2), P, RW)
    assert mm.vmas() == before and mm.map_count == 1
    assert not any(s.step == "split_limit" for s in mm.trace)


@pytest.mark.parametrize("kernel", KERNELS)
def test_mprotect_head_joins_prev_without_a_split(kernel):
    """X = [0,4) RW, Y = [4,8) R (different prot: 2 VMAs). mprotect(Y's first page, RW): range starts at
    Y's start, so merge with prev is tried first (§2.4); Y's page gains VM_ACCOUNT (§2.7) so flags
    equal X's: head joins prev, Δ0, no split, hence no check - it works at s = 0."""
    mm = new_mm(kernel, max_map_count=2)
    anon(mm, 0, 4, RW)
    anon(mm, 4, 4, R)
    assert mm.free_slots == 0
    mm.mprotect(at(4), P, RW)
    assert_layout(mm, [L(0, 5, "rw-p", pg(0), None, True), L(5, 8, "r--p", pg(5), None, False)], map_count=2)
    assert not any(s.step in ("split", "split_limit") for s in mm.trace)


@pytest.mark.parametrize("kernel", KERNELS)
def test_mprotect_tail_joins_next_without_a_split(kernel):
    """X = [0,4) R, Y = [4,8) RW. mprotect(X's last page, RW): ends at X's end, candidate next (§2.4);
    tail joins next with next's start and pgoff moved down, Δ0, works at s = 0."""
    mm = new_mm(kernel, max_map_count=2)
    anon(mm, 0, 4, R)
    anon(mm, 4, 4, RW)
    mm.mprotect(at(3), P, RW)
    assert_layout(mm, [L(0, 3, "r--p", pg(0), None, False), L(3, 8, "rw-p", pg(3), None, True)], map_count=2)


@pytest.mark.parametrize("kernel", KERNELS)
def test_mprotect_whole_vma_merges_with_both_sides(kernel):
    """Whole VMA + both sides: -2 (§2.4). [0,2) RW, [2,4) R, [4,6) RW -> mprotect middle RW -> 1 VMA."""
    mm = new_mm(kernel, max_map_count=3)
    anon(mm, 0, 2, RW)
    anon(mm, 2, 2, R)
    anon(mm, 4, 2, RW)
    mm.mprotect(at(2), 2 * P, RW)
    assert_layout(mm, [L(0, 6, "rw-p", pg(0), None, True)], map_count=1)


@pytest.mark.parametrize("kernel", KERNELS)
def test_mprotect_whole_vma_merges_with_next_only(kernel):
    """Whole VMA + one side: -1 (§2.4). [0,2) R, [2,4) RW; mprotect [0,2) RW -> [0,4) with X's pgoff."""
    mm = new_mm(kernel)
    anon(mm, 0, 2, R)
    anon(mm, 2, 2, RW)
    mm.mprotect(at(0), 2 * P, RW)
    assert_layout(mm, [L(0, 4, "rw-p", pg(0), None, True)], map_count=1)


@pytest.mark.parametrize("kernel", KERNELS)
def test_mprotect_merge_takes_the_neighbours_anon_vma(kernel):
    """§2.3: the merged VMA's anon_vma is the non-None one. [0,2) RW faulted (A), [2,4) R unfaulted;
    mprotect [2,4) RW merges whole into prev: one VMA with A."""
    mm = new_mm(kernel)
    anon(mm, 0, 2, RW)
    mm.touch(at(0))
    anon(mm, 2, 2, R)
    mm.mprotect(at(2), 2 * P, RW)
    assert_layout(mm, [L(0, 4, "rw-p", pg(0), "A", True)], map_count=1)


@pytest.mark.parametrize("kernel", KERNELS)
def test_mprotect_merge_respects_anon_vma_compatibility(kernel):
    """§2.3 rules 5 and 7 for mprotect. [0,1) RW faulted (A); [2,3) RW faulted while not adjacent (B);
    [1,2) RWX unfaulted in between (no merge: prot differs), mc 3.
    1. mprotect [1,2) RW: whole VMA, prev and next each compatible with it (None), but A != B, so
       only prev takes it (rule 7): 3 -> 2.
    2. [2,3) to R and back to RW: whole VMA with prev [0,2): flags equal again but A != B (rule 5),
       no merge: stays 2."""
    mm = new_mm(kernel)
    anon(mm, 0, 1, RW)
    mm.touch(at(0))
    anon(mm, 2, 1, RW)
    mm.touch(at(2))
    anon(mm, 1, 1, RWX)
    assert_layout(mm, [
        L(0, 1, "rw-p", pg(0), "A", True), L(1, 2, "rwxp", pg(1), None, True), L(2, 3, "rw-p", pg(2), "B", True),
    ], map_count=3)
    mm.mprotect(at(1), P, RW)
    assert_layout(mm, [L(0, 2, "rw-p", pg(0), "A", True), L(2, 3, "rw-p", pg(2), "B", True)], map_count=2)
    mm.mprotect(at(2), P, R)
    mm.mprotect(at(2), P, RW)
    assert_layout(mm, [L(0, 2, "rw-p", pg(0), "A", True), L(2, 3, "rw-p", pg(2), "B", True)], map_count=2)


@pytest.mark.parametrize("kernel", KERNELS)
def test_page_to_rw_and_back_never_written(kernel):
    """§2.7/§7.6 LIVE row: R VMA, one interior page to RW (+2, gains VM_ACCOUNT) and back to R.
    6.18/7.1: the unfaulted page loses VM_ACCOUNT, flags equal both neighbours: whole VMA + both
    sides merge, -2 -> 1 VMA. 5.0/5.1 (and 5.1-alt/ideal, 5.0 rules) and 6.1: keeps VM_ACCOUNT -> 3 VMAs
    (§7.6 row "R VMA: page to RW and back, never written": 6.1 "3 VMAs (the middle keeps VM_ACCOUNT)",
    measured on 6.1.176)."""
    mm = new_mm(kernel)
    anon(mm, 0, 10, R)
    mm.mprotect(at(2), P, RW)
    assert_layout(mm, [
        L(0, 2, "r--p", pg(0), None, False), L(2, 3, "rw-p", pg(2), None, True), L(3, 10, "r--p", pg(3), None, False),
    ], map_count=3)
    mm.mprotect(at(2), P, R)
    if kernel in UNACCOUNT:
        assert T.merge_fact("page-rw-and-back", kernel) == "back to 1 VMA"
        assert_layout(mm, [L(0, 10, "r--p", pg(0), None, False)], map_count=1)
    else:
        assert T.merge_fact("page-rw-and-back", kernel).startswith("3 VMAs")
        assert_layout(mm, [
            L(0, 2, "r--p", pg(0), None, False),
            L(2, 3, "r--p", pg(2), None, True),
            L(3, 10, "r--p", pg(3), None, False),
        ], map_count=3)


@pytest.mark.parametrize("kernel", KERNELS)
def test_page_to_rw_written_and_back_leaves_three_read_only_vmas(kernel):
    """§7.6 LIVE row "written while RW": the middle page got an anon_vma, so it keeps VM_ACCOUNT on
    every profile and cannot merge: three identical-looking r--p VMAs."""
    mm = new_mm(kernel)
    anon(mm, 0, 10, R)
    mm.mprotect(at(2), P, RW)
    mm.touch(at(2))
    mm.mprotect(at(2), P, R)
    assert_layout(mm, [
        L(0, 2, "r--p", pg(0), None, False),
        L(2, 3, "r--p", pg(2), "A", True),
        L(3, 10, "r--p", pg(3), None, False),
    ], map_count=3)


@pytest.mark.parametrize("kernel", KERNELS)
def test_mprotect_read_only_keeps_account_of_faulted_anon(kernel):
    """§2.7: the 6.7 rule needs no anon_vma; a faulted VMA keeps VM_ACCOUNT on every profile."""
    mm = new_mm(kernel)
    anon(mm, 0, 2, RW)
    mm.touch(at(0))
    mm.mprotect(at(0), 2 * P, R)
    assert_layout(mm, [L(0, 2, "r--p", pg(0), "A", True)], map_count=1)


@pytest.mark.parametrize("kernel", KERNELS)
def test_mprotect_read_only_keeps_account_of_private_file_mapping(kernel):
    """§2.7: the 6.7 rule is for private *anonymous* VMAs only; a private file mapping keeps it."""
    mm = new_mm(kernel)
    fmap(mm, mm.open("f"), 0, 2, 0, RW)
    mm.mprotect(at(0), 2 * P, R)
    assert_layout(mm, [L(0, 2, "r--p", 0, None, True)], map_count=1)


@pytest.mark.parametrize("kernel", KERNELS)
def test_mprotect_unaccount_applies_only_when_flags_change(kernel):
    """§3.3: step 2 (skip when newflags == oldflags) comes before step 3 (accounting). Injected r--p
    unfaulted VMA with VM_ACCOUNT: mprotect(R) is skipped (keeps it); mprotect(R|X) is not writable,
    so 6.18/7.1 drop VM_ACCOUNT and 5.0/5.1/6.1 keep it."""
    v = VMA(at(0), at(2), R, pgoff=pg(0), accounted=True)
    mm = mmsim.AddressSpace.from_vmas([v], kernel=kernel)
    mm.mprotect(at(0), 2 * P, R)
    assert_layout(mm, [L(0, 2, "r--p", pg(0), None, True)], map_count=1)
    mm.mprotect(at(0), 2 * P, R | mmsim.PROT_EXEC)
    assert_layout(mm, [L(0, 2, "r-xp", pg(0), None, kernel not in UNACCOUNT)], map_count=1)


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("flags", [PRIV | MAP_NORESERVE, SHARED])
def test_mprotect_to_writable_does_not_account_noreserve_or_shared(kernel, flags):
    """§2.7: becoming writable sets VM_ACCOUNT only if the old flags have none of ACCOUNT, WRITE,
    SHARED, NORESERVE. R -> RW on a noreserve or shared VMA stays unaccounted."""
    mm = new_mm(kernel)
    anon(mm, 0, 2, R, flags)
    mm.mprotect(at(0), 2 * P, RW)
    (v,) = arena(mm)
    assert v.prot == RW and v.accounted is False


@pytest.mark.parametrize("kernel", KERNELS)
def test_mprotect_across_several_vmas(kernel):
    """Per VMA in address order (§3.3): [0,2) R private, [2,3) R shared anon, [3,5) R private,
    all adjacent, none mergeable with the shared one. mprotect [1,4) RW: splits at 1 (+1) and at 4
    (+1); private pieces gain VM_ACCOUNT, the shared one does not. 3 -> 5."""
    mm = new_mm(kernel)
    anon(mm, 0, 2, R)
    anon(mm, 2, 1, R, SHARED)
    anon(mm, 3, 2, R)
    mm.mprotect(at(1), 3 * P, RW)
    assert_layout(mm, [
        L(0, 1, "r--p", pg(0), None, False),
        L(1, 2, "rw-p", pg(1), None, True),
        L(2, 3, "rw-s", 0, None, False),
        L(3, 4, "rw-p", pg(3), None, True),
        L(4, 5, "r--p", pg(4), None, False),
    ], map_count=5)


# ---------------------------------------------------------------------------------------------
# munmap (semantics §2.2, §3.2)
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kernel", KERNELS)
def test_munmap_hole_punch_adds_one(kernel):
    """Interior of one VMA: split at a and b, remove the middle: +1; upper piece pgoff + 3 (§2.1, §2.2)."""
    mm = new_mm(kernel)
    anon(mm, 0, 10)
    mm.munmap(at(2), P)
    assert_layout(mm, [L(0, 2, "rw-p", pg(0), None, True), L(3, 10, "rw-p", pg(3), None, True)], map_count=2)


@pytest.mark.parametrize("kernel", KERNELS)
def test_munmap_never_merges_but_remapping_the_hole_does(kernel):
    """§2.2 step 4 / §2.4: the punch leaves 2 VMAs; mmap of the identical page then merges
    prev + new + next (2 -> 1)."""
    mm = new_mm(kernel)
    anon(mm, 0, 3)
    mm.munmap(at(1), P)
    assert_layout(mm, [L(0, 1, "rw-p", pg(0), None, True), L(2, 3, "rw-p", pg(2), None, True)], map_count=2)
    anon(mm, 1, 1)
    assert_layout(mm, [L(0, 3, "rw-p", pg(0), None, True)], map_count=1)


@pytest.mark.parametrize("kernel", KERNELS)
def test_munmap_leaves_adjacent_mergeable_vmas_alone(kernel):
    """Adjacent mergeable VMAs are legal (§1.2). Injected: [0,2) and [2,4) identical RW, contiguous
    pgoff, plus [5,6). munmap [5,6) is -1 and merges nothing: 2 VMAs remain."""
    vs = [
        VMA(at(0), at(2), RW, pgoff=pg(0), accounted=True),
        VMA(at(2), at(4), RW, pgoff=pg(2), accounted=True),
        VMA(at(5), at(6), RW, pgoff=pg(5), accounted=True),
    ]
    mm = mmsim.AddressSpace.from_vmas(vs, kernel=kernel)
    mm.munmap(at(5), P)
    assert_layout(mm, [L(0, 2, "rw-p", pg(0), None, True), L(2, 4, "rw-p", pg(2), None, True)], map_count=2)


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize(
    "first, npages, expected",
    [
        (0, 2, [L(2, 10, "rw-p", pg(2), None, True)]),  # head trim: 0
        (8, 2, [L(0, 8, "rw-p", pg(0), None, True)]),  # tail trim: 0
        (0, 10, []),  # exactly one whole VMA: -1
        (-3, 20, []),  # whole VMA plus gaps around it: -1
    ],
)
def test_munmap_trims_and_whole(kernel, first, npages, expected):
    """§2.2 table: trims change nothing in the count, a whole VMA is -1 (gaps inside the range are fine)."""
    mm = new_mm(kernel)
    anon(mm, 0, 10)
    mm.munmap(at(first), npages * P)
    assert_layout(mm, expected, map_count=len(expected))


@pytest.mark.parametrize("kernel", KERNELS)
def test_munmap_spanning_several_vmas(kernel):
    """§2.2: splits - removed pieces. [0,4) R, [4,5) shared, [6,10) R; munmap [2,8): split at 2 and at
    8 (+2), remove [2,4), [4,5), [6,8) (-3): 3 -> 2."""
    mm = new_mm(kernel)
    anon(mm, 0, 4, R)
    anon(mm, 4, 1, RW, SHARED)
    anon(mm, 6, 4, R)
    mm.munmap(at(2), 6 * P)
    assert_layout(mm, [L(0, 2, "r--p", pg(0), None, False), L(8, 10, "r--p", pg(8), None, False)], map_count=2)


@pytest.mark.parametrize("kernel", KERNELS)
def test_munmap_of_nothing_succeeds(kernel):
    """§2.2 step 1 / §3.2: no VMA in the range -> success, no change."""
    mm = new_mm(kernel)
    anon(mm, 0, 2)
    before = mm.vmas()
    mm.munmap(at(5), 3 * P)
    assert mm.vmas() == before and mm.map_count == 1


# ---------------------------------------------------------------------------------------------
# touch: faults and anon_vma (semantics §2.6, §3.4)
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kernel", KERNELS)
def test_write_fault_gives_the_whole_vma_an_anon_vma(kernel):
    """anon_vma_prepare is per VMA: writing one page attaches the whole VMA; mc unchanged (§2.6, §3.4)."""
    mm = new_mm(kernel)
    anon(mm, 0, 4)
    mm.touch(at(3))
    assert_layout(mm, [L(0, 4, "rw-p", pg(0), "A", True)], map_count=1)


@pytest.mark.parametrize("kernel", KERNELS)
def test_read_fault_attaches_nothing(kernel):
    """§2.6: read faults attach nothing (THP case ignored by the model)."""
    mm = new_mm(kernel)
    anon(mm, 0, 4)
    mm.touch(at(0), 4 * P, write=False)
    assert_layout(mm, [L(0, 4, "rw-p", pg(0), None, True)], map_count=1)


@pytest.mark.parametrize("kernel", KERNELS)
def test_shared_vmas_never_get_an_anon_vma(kernel):
    """§2.6: shared VMAs never get one, even on a write fault."""
    mm = new_mm(kernel)
    anon(mm, 0, 2, RW, SHARED)
    fmap(mm, mm.open("f"), 2, 2, 0, RW, MAP_SHARED)
    mm.touch(at(0), 4 * P)
    assert [v.anon_vma for v in arena(mm)] == [None, None]
    assert_layout(mm, [L(0, 2, "rw-s", 0, None, False), L(2, 4, "rw-s", 0, None, False)], map_count=2)


@pytest.mark.parametrize("kernel", KERNELS)
def test_write_fault_on_private_file_mapping_attaches(kernel):
    """§2.6: any private VMA with PROT_WRITE (file-backed too, COW) gets an anon_vma on a write."""
    mm = new_mm(kernel)
    fmap(mm, mm.open("f"), 0, 2, 0, RW)
    mm.touch(at(1))
    assert_layout(mm, [L(0, 2, "rw-p", 0, "A", True)], map_count=1)


@pytest.mark.parametrize("kernel", KERNELS)
def test_touch_reuses_prev_anon_vma(kernel):
    """§2.6 reuse: [0,1) RW faulted (A); [1,2) RWX adjacent (no merge: prot differs). Flags equal
    except R/W/X, same file (None), linear pgoff: the fault reuses A. No next exists."""
    mm = new_mm(kernel)
    anon(mm, 0, 1, RW)
    mm.touch(at(0))
    anon(mm, 1, 1, RWX)
    mm.touch(at(1))
    assert_layout(mm, [L(0, 1, "rw-p", pg(0), "A", True), L(1, 2, "rwxp", pg(1), "A", True)], map_count=2)


@pytest.mark.parametrize("kernel", KERNELS)
def test_touch_prefers_next_anon_vma_over_prev(kernel):
    """§2.6: find_mergeable_anon_vma tries next first. [0,1) RW (A), [2,3) RW (B, faulted while not
    adjacent to A), then [1,2) RWX between them: both are reusable, next (B) wins."""
    mm = new_mm(kernel)
    anon(mm, 0, 1, RW)
    mm.touch(at(0))
    anon(mm, 2, 1, RW)
    mm.touch(at(2))
    anon(mm, 1, 1, RWX)
    mm.touch(at(1))
    assert_layout(mm, [
        L(0, 1, "rw-p", pg(0), "A", True),
        L(1, 2, "rwxp", pg(1), "B", True),
        L(2, 3, "rw-p", pg(2), "B", True),
    ], map_count=3)


@pytest.mark.parametrize("kernel", KERNELS)
def test_touch_does_not_reuse_across_different_vm_account(kernel):
    """§2.6: reuse needs flags equal except R/W/X, so VM_ACCOUNT/VM_NORESERVE must match. A noreserve
    RW page next to a faulted accounted one gets a new anon_vma."""
    mm = new_mm(kernel)
    anon(mm, 0, 1, RW)
    mm.touch(at(0))
    anon(mm, 1, 1, RW, PRIV | MAP_NORESERVE)
    mm.touch(at(1))
    assert_layout(mm, [L(0, 1, "rw-p", pg(0), "A", True), L(1, 2, "rw-p", pg(1), "B", False)], map_count=2)


@pytest.mark.parametrize("kernel", KERNELS)
def test_touch_does_not_reuse_with_non_linear_pgoff(kernel):
    """§2.6: reuse needs linear pgoff. Same fd, private RW, pgoff 0 then 5: no merge, no reuse.
    A contiguous one (pgoff 6 after [5]) with different prot does reuse."""
    mm = new_mm(kernel)
    fd = mm.open("f")
    fmap(mm, fd, 0, 1, 0, RW)
    mm.touch(at(0))
    fmap(mm, fd, 1, 1, 5, RW)
    mm.touch(at(1))
    fmap(mm, fd, 2, 1, 6, RWX)
    mm.touch(at(2))
    assert_layout(mm, [
        L(0, 1, "rw-p", 0, "A", True),
        L(1, 2, "rw-p", 5, "B", True),
        L(2, 3, "rwxp", 6, "B", True),
    ], map_count=3)


@pytest.mark.parametrize("kernel", KERNELS)
def test_touch_does_not_reuse_a_non_adjacent_neighbour(kernel):
    """§2.6: reuse needs adjacency. [0,1) faulted, [2,3) touched across a gap: a new anon_vma."""
    mm = new_mm(kernel)
    anon(mm, 0, 1)
    mm.touch(at(0))
    anon(mm, 2, 1)
    mm.touch(at(2))
    assert_layout(mm, [L(0, 1, "rw-p", pg(0), "A", True), L(2, 3, "rw-p", pg(2), "B", True)], map_count=2)


@pytest.mark.parametrize("kernel", KERNELS)
def test_touch_efault_on_unmapped_page_keeps_earlier_attachments(kernel):
    """§2.6 / §5 #8: [0,1) RW, gap at 1. touch [0,2): [0,1) is attached, then EFAULT at page 1.
    The attachment stays (partial) on every profile but ideal, which is transactional (§3.5.9)."""
    mm = new_mm(kernel)
    anon(mm, 0, 1)
    with pytest.raises(mmsim.MMError) as ei:
        mm.touch(at(0), 2 * P)
    assert ei.value.errno == E.EFAULT and ei.value.check == "validate.segv_maperr"
    assert mm.map_count == 1
    label = None if kernel == "ideal" else "A"
    assert_layout(mm, [L(0, 1, "rw-p", pg(0), label, True)], map_count=1)


@pytest.mark.parametrize("kernel", KERNELS)
def test_touch_efault_on_non_writable_page(kernel):
    """§2.6: a write to a page without PROT_WRITE is SIGSEGV -> EFAULT after [0,1) was attached."""
    mm = new_mm(kernel)
    anon(mm, 0, 1, RW)
    anon(mm, 1, 1, R)
    with pytest.raises(mmsim.MMError) as ei:
        mm.touch(at(0), 2 * P)
    assert ei.value.errno == E.EFAULT and ei.value.check == "validate.segv_accerr"
    label = None if kernel == "ideal" else "A"
    assert_layout(mm, [L(0, 1, "rw-p", pg(0), label, True), L(1, 2, "r--p", pg(1), None, False)], map_count=2)


@pytest.mark.parametrize("kernel", KERNELS)
def test_touch_read_of_prot_none_faults(kernel):
    """§2.6: a missing permission is SIGSEGV: reading a PROT_NONE page is EFAULT, nothing changes."""
    mm = new_mm(kernel)
    anon(mm, 0, 1, PROT_NONE)
    before = mm.vmas()
    with pytest.raises(mmsim.MMError) as ei:
        mm.touch(at(0), write=False)
    assert ei.value.errno == E.EFAULT
    assert mm.vmas() == before


# ---------------------------------------------------------------------------------------------
# step traces (semantics §8)
# ---------------------------------------------------------------------------------------------


def _errno_records(trace):
    return [s for s in trace if s.errno is not None]


@pytest.mark.parametrize("kernel", KERNELS)
def test_trace_mmap_new_vma(kernel):
    """§8 mmap row: mmap_limit, get_unmapped_area, new_vma (no overlap, no merge); ideal appends
    ideal_commit, commit (§8 ideal row). new_vma is +1; mmap_limit records its expr and passed."""
    mm = new_mm(kernel)
    anon(mm, 0, 1)
    anon(mm, 2, 1)
    seq = ["mmap_limit", "get_unmapped_area", "new_vma"]
    assert mm.trace.steps() == seq + (["ideal_commit", "commit"] if kernel == "ideal" else [])
    lim, new = mm.trace[0], mm.trace.top()[2]
    assert lim.kind == "check" and lim.passed is True and lim.expr == f"1 > {DEFAULT_MAX_MAP_COUNT}"
    assert new.delta == +1 and new.map_count == 2
    assert _errno_records(mm.trace) == []


@pytest.mark.parametrize("kernel", KERNELS)
def test_trace_mmap_merge(kernel):
    """§8 mmap row: a merging mmap ends with `merge` instead of new_vma."""
    mm = new_mm(kernel)
    anon(mm, 0, 1)
    anon(mm, 1, 1)
    assert mm.trace.steps()[:3] == ["mmap_limit", "get_unmapped_area", "merge"]


@pytest.mark.parametrize(
    "kernel, seq, peak",
    [
        # 5.0 family: unmap_overlap (children split, split, detach) before new_vma; peak mc + 2.
        ("5.0", ["mmap_limit", "get_unmapped_area", "unmap_overlap", "new_vma"], 3),
        ("5.1", ["mmap_limit", "get_unmapped_area", "unmap_overlap", "new_vma"], 3),
        ("5.1-alt", ["mmap_limit", "get_unmapped_area", "unmap_overlap", "new_vma"], 3),
        # 6.1: the 5.x order, the overlap unmapped and subtracted inside mmap_region() before the new VMA:
        # mc -> +1 -> +2 (splits) -> +1 (detach) -> +2 (new VMA), peak mc + 2 (linux-6.1.md §2.2 "Ordering")
        ("6.1", ["mmap_limit", "get_unmapped_area", "unmap_overlap", "new_vma"], 3),
        # 6.12+: gather (splits) before new_vma, complete (detach) after: peak mc + 2 + 1 (§2.2, §3.1.6).
        ("6.18", ["mmap_limit", "get_unmapped_area", "gather", "new_vma", "complete"], 4),
        ("7.1", ["mmap_limit", "get_unmapped_area", "gather", "new_vma", "complete"], 4),
        # ideal: the 5.0 flow, then ideal_commit and commit (§8 ideal row)
        ("ideal", ["mmap_limit", "get_unmapped_area", "unmap_overlap", "new_vma", "ideal_commit", "commit"], 3),
    ],
)
def test_trace_mmap_fixed_into_interior(kernel, seq, peak):
    """MAP_FIXED R page into the interior of a 10-page RW VMA (mc 1): punch +1, new +1 -> mc 3.
    Sequence per §8; transient peak per §2.2 / §3.1 step 6."""
    mm = new_mm(kernel)
    anon(mm, 0, 10)
    anon(mm, 4, 1, R)
    assert_layout(mm, [
        L(0, 4, "rw-p", pg(0), None, True), L(4, 5, "r--p", pg(4), None, False), L(5, 10, "rw-p", pg(5), None, True),
    ], map_count=3)
    assert mm.trace.steps() == seq
    assert mm.trace.peak() == peak
    unmap = mm.trace.top()[2]
    kids = [s.step for s in mm.trace if s.depth == 1 and s.seq > unmap.seq and s.seq < mm.trace.top()[3].seq]
    assert kids == (["munmap_punch_limit", "split", "split"] + (["detach"] if seq[2] == "unmap_overlap" else []))


@pytest.mark.parametrize("kernel", KERNELS)
def test_trace_munmap_hole_punch(kernel):
    """§8: munmap is one depth-0 record whose children are the punch check, split, split, detach.
    Counts after each: mc+1, mc+2, mc+1; the transient peak is mc + 2 (§2.2)."""
    mm = new_mm(kernel)
    anon(mm, 0, 10)
    anon(mm, 20, 1)
    mc = mm.map_count
    mm.munmap(at(3), P)
    body = [(s.step, s.depth) for s in mm.trace if s.kind != "txn"]
    assert body == [("munmap", 0), ("munmap_punch_limit", 1), ("split", 1), ("split", 1), ("detach", 1)]
    counts = {s.step: s.map_count for s in mm.trace if s.step in ("munmap_punch_limit", "detach")}
    assert counts == {"munmap_punch_limit": mc, "detach": mc + 1}
    assert [s.map_count for s in mm.trace if s.step == "split"] == [mc + 1, mc + 2]
    assert mm.trace.peak() == mc + 2
    top = mm.trace.top()[0]
    assert top.step == "munmap" and top.map_count == mc + 1 and top.delta == +1


@pytest.mark.parametrize("kernel", KERNELS)
def test_trace_munmap_trim_has_no_punch_check(kernel):
    """§2.2 step 2: the punch check only applies when both ends are inside one VMA; a head trim
    records split and detach only, delta 0."""
    mm = new_mm(kernel)
    anon(mm, 0, 10)
    mm.munmap(at(0), P)
    body = [(s.step, s.depth) for s in mm.trace if s.kind != "txn"]
    assert body == [("munmap", 0), ("split", 1), ("detach", 1)]
    assert mm.trace.top()[0].delta == 0


@pytest.mark.parametrize("kernel", KERNELS)
def test_trace_failing_munmap_carries_errno_once(kernel):
    """§8: the failure point (the punch check at mc >= max) carries errno, exactly one record."""
    mm = new_mm(kernel, max_map_count=1)
    anon(mm, 0, 10)
    with pytest.raises(mmsim.MMError):
        mm.munmap(at(3), P)
    errs = _errno_records(mm.trace)
    assert len(errs) == 1
    assert errs[0].step == "munmap_punch_limit" and errs[0].errno == E.ENOMEM
    assert errs[0].passed is False and errs[0].expr == "1 >= 1"
    assert mm.trace.failure is errs[0] and mm.trace.failed_check == "munmap_punch_limit"


@pytest.mark.parametrize("kernel", KERNELS)
def test_trace_failing_validation_is_one_validate_record(kernel):
    """§8: passing validations are not recorded; a failing one is a single validate.<name> record."""
    mm = new_mm(kernel)
    with pytest.raises(mmsim.MMError) as ei:
        mm.munmap(at(0) + 1, P)
    errs = _errno_records(mm.trace)
    assert len(errs) == 1 and errs[0].kind == "validate" and errs[0].step == ei.value.check
    assert errs[0].step.startswith("validate.") and errs[0].errno == E.EINVAL


@pytest.mark.parametrize("kernel", [k for k in KERNELS if k != "ideal"])
def test_trace_partial_mprotect_carries_errno_once(kernel):
    """3-way mprotect at s = 1 (§5 #4): split_limit passes, split, split_limit fails with errno: only
    the second check carries errno."""
    mm = new_mm(kernel, max_map_count=2)
    anon(mm, 0, 10)
    with pytest.raises(mmsim.MMError):
        mm.mprotect(at(2), P, R)
    assert [(s.step, s.passed) for s in mm.trace] == [("split_limit", True), ("split", None), ("split_limit", False)]
    errs = _errno_records(mm.trace)
    assert len(errs) == 1 and errs[0] is mm.trace[-1] and errs[0].errno == E.ENOMEM


@pytest.mark.parametrize("kernel", KERNELS)
def test_trace_touch_records_anon_vma_prepare_per_vma(kernel):
    """§8 touch row: one anon_vma_prepare per VMA that gets an anon_vma; delta 0."""
    mm = new_mm(kernel)
    anon(mm, 0, 2, RW)
    anon(mm, 2, 2, RWX)
    mm.touch(at(0), 4 * P)
    prep = [s for s in mm.trace.top() if s.step == "anon_vma_prepare"]
    assert [(s.start, s.end, s.delta) for s in prep] == [(at(0), at(2), 0), (at(2), at(4), 0)]


@pytest.mark.parametrize("kernel", KERNELS)
def test_trace_mprotect_depth0_sequence(kernel):
    """§8 mprotect row, depth-0 sequence: per VMA, merge | (split_limit, split)x<=2; set_flags.
    A 3-way split gives split_limit, split, split_limit, split, set_flags (+1, +1, 0); a 2-way one
    split_limit, split, set_flags; ideal appends ideal_commit, commit."""
    tail = ["ideal_commit", "commit"] if kernel == "ideal" else []
    mm = new_mm(kernel)
    anon(mm, 0, 10)
    mm.mprotect(at(2), P, R)
    assert mm.trace.steps() == ["split_limit", "split", "split_limit", "split", "set_flags"] + tail
    assert [s.map_count for s in mm.trace.top()][:5] == [1, 2, 2, 3, 3]
    mm.mprotect(at(0), P, R)
    assert mm.trace.steps() == ["split_limit", "split", "set_flags"] + tail


@pytest.mark.parametrize("kernel", KERNELS)
def test_trace_mprotect_merge_is_a_depth0_step(kernel):
    """§8 mprotect row: a merging VMA records `merge` (whole VMA + both sides: delta -2) and no split."""
    mm = new_mm(kernel)
    anon(mm, 0, 2, RW)
    anon(mm, 2, 2, R)
    anon(mm, 4, 2, RW)
    mm.mprotect(at(2), 2 * P, RW)
    merges = [s for s in mm.trace.top() if s.step == "merge"]
    assert [(s.start, s.end, s.delta, s.map_count) for s in merges] == [(at(0), at(6), -2, 1)]
    assert not any(s.step in ("split", "split_limit") for s in mm.trace)


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("faulted", [False, True])
def test_mmap_fixed_identical_range_into_interior_remerges(kernel, faulted):
    """§3.1 step 6: unmap the overlap first (punch: [0,2) and [5,10) remain), then merge the new
    range with prev and next (§2.4). Both pieces keep X's anon_vma (§2.1) and the new range has
    none, so the 3-way merge is allowed (§2.3 rule 7): 1 VMA, with A if X was faulted."""
    mm = new_mm(kernel)
    anon(mm, 0, 10)
    if faulted:
        mm.touch(at(0))
    anon(mm, 2, 3)
    assert_layout(mm, [L(0, 10, "rw-p", pg(0), "A" if faulted else None, True)], map_count=1)


@pytest.mark.parametrize("kernel", KERNELS)
def test_mmap_fixed_identical_range_still_needs_a_free_slot(kernel):
    """The merge comes after the overlap unmap, whose punch check runs first (§3.1 step 6): at s = 0
    the re-merging MAP_FIXED fails with ENOMEM although it would end at the same count."""
    mm = new_mm(kernel, max_map_count=1)
    anon(mm, 0, 10)
    with pytest.raises(mmsim.MMError) as ei:
        anon(mm, 2, 3)
    assert ei.value.check == "munmap_punch_limit"
    assert_layout(mm, [L(0, 10, "rw-p", pg(0), None, True)], map_count=1)


def test_mmap_fixed_returns_exact_address_and_replaces():
    """§2.8 MAP_FIXED uses exactly addr; over a whole VMA: -1 + 1 = 0, the new VMA replaces it."""
    mm = new_mm("6.18")
    anon(mm, 0, 2, R)
    assert mm.mmap(at(0), 2 * P, RW, PRIV | MAP_FIXED) == at(0)
    assert_layout(mm, [L(0, 2, "rw-p", pg(0), None, True)], map_count=1)
