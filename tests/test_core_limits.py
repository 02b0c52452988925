"""map_count vs vm.max_map_count for mmap, munmap, mprotect and touch (semantics §0, §2.2,
§3.1-§3.3, §4 rows 1-4, §5 #4/#5, §7.4).

The main table runs :func:`mmsim.classify` on one scene at free slots -1, 0, 1, 2 under every
profile, with max_map_count = 65530 and filler VMAs (``set_free_slots``); the outcome class per
free slots is read from the §4 table (semantics_tables.S4), the §7.4 cells from semantics_tables.MPROTECT.
Scene (arena pages):

* X = [0, 10)  RW private anon, unfaulted, gap before it;
* Y = [10, 13) R  private anon, adjacent to X (not mergeable: prot differs);
* S = [20, 21) RW shared anon (never mergeable);
* M = [30, 32) RW private anon (a mmap at page 32 joins it);
* page 40 and everything else: free.
"""

from __future__ import annotations

import errno as E
import functools

import pytest
import semantics_tables as T
from helpers import MAX, PRIV, RW, SHARED, L, R, anon, assert_layout, at, new_mm, pg
from semantics_tables import GATHER, UNACCOUNT, s4

import mmsim
from mmsim import KERNELS, MAP_FIXED, PAGE_SIZE, classify

P = PAGE_SIZE
FIX = PRIV | MAP_FIXED
SCENE_VMAS = 4

OK, CLEAN, PARTIAL = "OK", "CLEAN_FAIL", "PARTIAL_FAIL"
MMAP, PUNCH, SPLIT = "mmap_limit", "munmap_punch_limit", "split_limit"


SCENE = [
    L(0, 10, "rw-p", pg(0), None, True),
    L(10, 13, "r--p", pg(10), None, False),
    L(20, 21, "rw-s", 0, None, False),
    L(30, 32, "rw-p", pg(30), None, True),
]


def _scene(mm):
    anon(mm, 0, 10, RW)
    anon(mm, 10, 3, R)
    anon(mm, 20, 1, RW, SHARED)
    anon(mm, 30, 2, RW)
    assert_layout(mm, SCENE, map_count=SCENE_VMAS)


@functools.cache
def _filled_base():
    mm = new_mm("6.18", MAX)
    _scene(mm)
    mm.set_free_slots(2)
    return mm


@functools.cache
def scene_at(kernel: str, free_slots: int):
    """The scene under ``kernel`` with ``free_slots`` free slots (classify never mutates it)."""
    mm = _filled_base().with_kernel(kernel)
    mm.set_free_slots(free_slots)
    assert mm.max_map_count - mm.map_count == free_slots
    return mm


#: row -> (op, args, the semantics §4 row the call is an instance of, Δmc on success, the check
#: that fails below the row's minimum free slots). Δ derivations in the comments.
ROWS = {
    "mmap_new": ("mmap", (at(40), P, R, FIX), "mmap-new", +1, MMAP),  # a new VMA, +1 unchecked (§3.1 step 6)
    "mmap_merge": ("mmap", (at(32), P, RW, FIX), "mmap-new", 0, MMAP),  # row 1 "merging or not": 0, not +1
    "mmap_fixed_interior": ("mmap", (at(4), P, R, FIX), "punch", +2, PUNCH),  # §3.1 step 6: punch +1, new +1
    "mmap_fixed_whole": ("mmap", (at(20), P, R, FIX), "mmap-new", 0, MMAP),  # detach -1, new +1
    "munmap_punch": ("munmap", (at(4), P), "punch", +1, PUNCH),  # §2.2 punch check mc >= max
    "munmap_trim": ("munmap", (at(0), P), "no-split", 0, None),  # §2.2: trims never check
    "munmap_whole": ("munmap", (at(20), P), "no-split", -1, None),
    # split X at 5 (+1), remove X-tail, Y, S (-3)
    "munmap_multi": ("munmap", (at(5), at(21) - at(5)), "no-split", -2, None),
    "mprotect_2way": ("mprotect", (at(0), P, R), "punch", +1, SPLIT),  # one checked split mc >= max
    "mprotect_3way": ("mprotect", (at(4), P, R), "mprotect-3way", +2, SPLIT),  # §5 #4, §7.4
    "mprotect_head_join": ("mprotect", (at(10), P, RW), "no-split", 0, None),  # §2.4: head joins prev, no split
    "mprotect_whole_merge": ("mprotect", (at(10), 3 * P, RW), "no-split", -1, None),  # whole Y + prev X: -1
    # X's last page -> R. 5.0/5.1/6.1 keep VM_ACCOUNT (§2.7, §3.6; linux-6.1.md §4 step 3: 6.1 has no
    # code that drops it): no merge, one checked split (row "punch", +1); 6.18/7.1: see UNACCOUNT_ROWS.
    "mprotect_tail_to_read_only": ("mprotect", (at(9), P, R), "punch", +1, SPLIT),
    "touch": ("touch", (at(0), 10 * P), "no-split", 0, None),  # §3.4 never changes mc, no check
}
#: 6.18/7.1 drop VM_ACCOUNT of X's unfaulted last page going read-only (§2.7), so it equals Y: the
#: tail joins next, no split (§2.4): a pure merge, Δ0.
UNACCOUNT_ROWS = {"mprotect_tail_to_read_only": ("no-split", 0)}
#: Δmc of a partial failure: §5 #4, the 3-way mprotect's first split stays.
PARTIAL_DELTA = {"mprotect_3way": +1}


def limit_cell(kernel, s, row):
    """Expected (kind, Δmc, failing check) of one cell: the class from §4, the check from ROWS,
    except that any mmap at s < 0 fails at mmap_limit first (mc > max, §3.1 step 3)."""
    op, _, s4_row, delta, check = ROWS[row]
    if kernel in UNACCOUNT and row in UNACCOUNT_ROWS:
        s4_row, delta = UNACCOUNT_ROWS[row]
    kind = s4(s4_row, kernel, [s])[s]
    if kind == OK:
        return (OK, delta, None)
    if op == "mmap" and s < 0:
        check = MMAP
    return (kind, PARTIAL_DELTA[row] if kind == PARTIAL else 0, check)


@pytest.mark.parametrize("free_slots", [-1, 0, 1, 2])
@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("row", list(ROWS))
def test_limit_table(row, kernel, free_slots):
    """One cell of the free-slot table (semantics §4 rows 1-4, §3.1-§3.3). Core ops have no A-checks,
    so a failure is never FALSE_POSITIVE and fp is False (§6)."""
    mm = scene_at(kernel, free_slots)
    op, args = ROWS[row][:2]
    kind, delta, check = limit_cell(kernel, free_slots, row)
    out = classify(mm, op, *args)
    assert (out.kind, out.mc_after - out.mc_before, out.check) == (kind, delta, check)
    assert out.mc_before == MAX - free_slots
    assert out.errno == (None if kind == OK else E.ENOMEM)
    assert out.fp is False


@pytest.mark.parametrize("kernel", KERNELS)
def test_mmap_fixed_interior_can_end_at_max_plus_one(kernel):
    """§3.1 step 6: MAP_FIXED into a VMA interior needs mc <= max-1 and can end at max + 1; the
    failure at s = 0 is the punch check of the overlap unmap (unmap_overlap / 6.x gather)."""
    out = classify(scene_at(kernel, 1), "mmap", at(4), P, R, FIX)
    assert out.kind == OK and out.mc_after == MAX + 1
    out = classify(scene_at(kernel, 0), "mmap", at(4), P, R, FIX)
    assert out.kind == CLEAN and out.check == PUNCH
    # 6.12+ gathers the overlap first (GATHER: 6.18, 7.1); 6.1 unmaps it inside mmap_region() before the
    # merge or new VMA, as 5.x does (linux-6.1.md §2.2 step 3, Appendix A)
    assert out.where == ("gather" if kernel in GATHER else "unmap_overlap")


# ---- §7.4: the mprotect partial split table, exact counts at max = 65530 -------------------------


@pytest.mark.parametrize("free_slots", sorted(T.MPROTECT))
@pytest.mark.parametrize("kernel", KERNELS)
def test_7_4_mprotect_partial_split(kernel, free_slots):
    """§7.4: X = 10-page RW private anon with non-mergeable neighbours; mprotect(X+2P, P, R) (3-way)
    and mprotect(X, P, R) (2-way). This scene's X has no neighbour at its start and an R one at its
    end, neither a merge candidate for these calls."""
    mm = scene_at(kernel, free_slots)  # X = [0,10); no merge candidate for either call
    three, two = (T.cell(c) for c in T.mprotect_cells(kernel, free_slots))
    out3 = classify(mm, "mprotect", at(2), P, R)
    assert (out3.kind, out3.mc_after) == (three.kind, three.mc_after)
    out2 = classify(mm, "mprotect", at(0), P, R)
    assert (out2.kind, out2.mc_after) == (two.kind, two.mc_after)


@pytest.mark.parametrize("kernel", [k for k in KERNELS if k != "ideal"])
def test_partial_three_way_mprotect_leaves_two_old_protection_vmas(kernel):
    """§5 #4 / §7.4 s = 1: the first split (at X+2P) succeeds, the second fails. X is now
    [0,2) rw and [2,10) rw: both with the old protection and VM_ACCOUNT, the upper with pgoff + 2.
    mc + 1 = max. (They are mergeable neighbours: legal, §1.2.)"""
    mm = new_mm(kernel, max_map_count=3)
    anon(mm, 0, 10)
    anon(mm, 11, 1, RW, SHARED)
    with pytest.raises(mmsim.MMError) as ei:
        mm.mprotect(at(2), P, R)
    assert ei.value.errno == E.ENOMEM and ei.value.check == SPLIT
    assert_layout(mm, [
        L(0, 2, "rw-p", pg(0), None, True), L(2, 10, "rw-p", pg(2), None, True), L(11, 12, "rw-s", 0, None, False),
    ], map_count=3)


def test_ideal_three_way_mprotect_at_free_slots_one_is_clean():
    """§3.5.9: ideal runs mprotect transactionally: the same call fails with no change."""
    mm = new_mm("ideal", max_map_count=3)
    anon(mm, 0, 10)
    anon(mm, 11, 1, RW, SHARED)
    before = mm.vmas()
    with pytest.raises(mmsim.MMError) as ei:
        mm.mprotect(at(2), P, R)
    assert ei.value.check == SPLIT
    assert mm.vmas() == before and mm.map_count == 2
    assert_layout(mm, [L(0, 10, "rw-p", pg(0), None, True), L(11, 12, "rw-s", 0, None, False)], map_count=2)


@pytest.mark.parametrize("kernel", KERNELS)
def test_mprotect_later_split_fails_after_earlier_vma_changed(kernel):
    """§5 #5: V1 = [0,1) R private, V2 = [1,4) R shared (adjacent, not mergeable). mprotect [0,2) RW
    at s = 0: V1 is whole (no split) and becomes rw-p with VM_ACCOUNT; V2 needs a split at 2 ->
    split_limit fails. V1 keeps its new protection (PARTIAL, mc unchanged); ideal is clean."""
    mm = new_mm(kernel, max_map_count=2)
    anon(mm, 0, 1, R)
    anon(mm, 1, 3, R, SHARED)
    out = classify(mm, "mprotect", at(0), 2 * P, RW)
    assert out.check == SPLIT and out.mc_after == 2
    assert out.kind == (CLEAN if kernel == "ideal" else PARTIAL)
    with pytest.raises(mmsim.MMError):
        mm.mprotect(at(0), 2 * P, RW)
    first = L(0, 1, "r--p", pg(0), None, False) if kernel == "ideal" else L(0, 1, "rw-p", pg(0), None, True)
    assert_layout(mm, [first, L(1, 4, "r--s", 0, None, False)], map_count=2)


@pytest.mark.parametrize("kernel", KERNELS)
def test_a_process_reaches_max_plus_one_then_mmap_fails(kernel):
    """§0/§3.1: mmap_limit is mc > max. With max 3 and 3 separate VMAs (s = 0) a 4th maps (mc 4 =
    max + 1, s = -1); the 5th fails with ENOMEM from mmap_limit and changes nothing. A hole punch
    fails there too (mc >= max); a whole-VMA munmap works and brings mc back to max."""
    mm = new_mm(kernel, max_map_count=3)
    for i in range(3):
        anon(mm, 2 * i, 1)
    anon(mm, 6, 3)
    assert mm.map_count == 4 and mm.free_slots == -1
    before = mm.vmas()
    with pytest.raises(mmsim.MMError) as ei:
        anon(mm, 20, 1)
    assert ei.value.errno == E.ENOMEM and ei.value.check == MMAP
    assert mm.vmas() == before
    assert mm.trace.failure.expr == "4 > 3"
    with pytest.raises(mmsim.MMError) as ei:
        mm.munmap(at(7), P)
    assert ei.value.check == PUNCH and mm.vmas() == before
    mm.munmap(at(0), P)
    assert mm.map_count == 3
    assert_layout(mm, [
        L(2, 3, "rw-p", pg(2), None, True), L(4, 5, "rw-p", pg(4), None, True), L(6, 9, "rw-p", pg(6), None, True),
    ], map_count=3)


@pytest.mark.parametrize("kernel", KERNELS)
def test_max_map_count_zero(kernel):
    """§1.2: max may be 0. mc 0 > 0 is false, so one mmap succeeds (mc 1); the next fails."""
    mm = new_mm(kernel, max_map_count=0)
    anon(mm, 0, 1)
    with pytest.raises(mmsim.MMError) as ei:
        anon(mm, 5, 1)
    assert ei.value.check == MMAP and mm.map_count == 1
    assert_layout(mm, [L(0, 1, "rw-p", pg(0), None, True)], map_count=1)


@pytest.mark.parametrize("kernel", KERNELS)
def test_lowering_max_removes_nothing_and_only_blocks_growth(kernel):
    """§1.2: lowering max never removes VMAs; each check reads the current value. Scene [0,4) RW,
    [4,6) R (adjacent), [10,11), [12,13); max lowered to 1 (s = -3): mmap fails (mmap_limit), an
    interior mprotect fails at its first split (split_limit), but a whole munmap (-1), a pure
    mprotect merge of [4,6) into [0,4) (-1, no check, §2.4) and a tail trim (0) succeed. Raising max
    to 2 (s = 0) lets a mmap at page 5 through, and it merges with [0,5): still 2."""
    mm = new_mm(kernel)
    anon(mm, 0, 4, RW)
    anon(mm, 4, 2, R)
    anon(mm, 10, 1)
    anon(mm, 12, 1)
    mm.max_map_count = 1
    assert mm.map_count == 4
    with pytest.raises(mmsim.MMError) as ei:
        anon(mm, 20, 1)
    assert ei.value.check == MMAP
    with pytest.raises(mmsim.MMError) as ei:
        mm.mprotect(at(1), P, R)
    assert ei.value.check == SPLIT
    assert mm.map_count == 4
    mm.munmap(at(12), P)
    mm.mprotect(at(4), 2 * P, RW)
    mm.munmap(at(5), P)
    assert_layout(mm, [L(0, 5, "rw-p", pg(0), None, True), L(10, 11, "rw-p", pg(10), None, True)], map_count=2)
    mm.max_map_count = 2
    anon(mm, 5, 1)
    assert_layout(mm, [L(0, 6, "rw-p", pg(0), None, True), L(10, 11, "rw-p", pg(10), None, True)], map_count=2)


@pytest.mark.parametrize("kernel", KERNELS)
def test_munmap_punch_at_max_fails_and_at_max_minus_one_succeeds(kernel):
    """§3.2 LIVE: a punch fails at mc = max and succeeds at max - 1 (+1 -> max); a head trim
    succeeds at max (±0)."""
    mm = new_mm(kernel, max_map_count=2)
    anon(mm, 0, 10)
    anon(mm, 20, 1)
    before = mm.vmas()
    with pytest.raises(mmsim.MMError) as ei:
        mm.munmap(at(4), P)
    assert (ei.value.errno, ei.value.check) == (E.ENOMEM, PUNCH) and mm.vmas() == before
    mm.munmap(at(0), P)
    assert_layout(mm, [L(1, 10, "rw-p", pg(1), None, True), L(20, 21, "rw-p", pg(20), None, True)], map_count=2)
    mm.max_map_count = 3
    mm.munmap(at(4), P)
    assert_layout(mm, [
        L(1, 4, "rw-p", pg(1), None, True), L(5, 10, "rw-p", pg(5), None, True), L(20, 21, "rw-p", pg(20), None, True),
    ], map_count=3)


@pytest.mark.parametrize("kernel", KERNELS)
def test_touch_never_checks_the_limit(kernel):
    """§3.4 / §4 row 3: touch at s = -1 attaches anon_vmas and leaves mc alone."""
    mm = new_mm(kernel, max_map_count=0)
    anon(mm, 0, 3)
    mm.touch(at(0), 3 * P)
    assert_layout(mm, [L(0, 3, "rw-p", pg(0), "A", True)], map_count=1)
