"""mremap errno paths per profile, in kernel order (semantics §3.5.1, §3.5.2, §3.6, §5), and the
§4 "free slots needed" rows for mremap (read from semantics_tables.S4).

Every failing call is checked three ways: classify() (kind, errno, failing check), the raised
exception (an OSError subclass, mmsim.MMError, with .errno and .check), and the state afterwards
(unchanged for CLEAN; for PARTIAL, the exact layout the destination unmap left, §5 row 2).
"""

from __future__ import annotations

import errno as E
import functools

import pytest
from helpers import (
    MOVE_FIXED,
    RW,
    SHARED,
    L,
    P,
    R,
    anon,
    assert_layout,
    at,
    at_free_slots,
    classify_pure,
    failing_records,
    new_mm,
    pg,
    run_copy,
)
from semantics_tables import DONTUNMAP as DONTUNMAP_PROFILES
from semantics_tables import EARLY, GROW_MERGES, KERNELS, LOOKUP_FIRST, MODERN, MOVE, MULTI_VMA, V5, having, s4

from mmsim import (
    CHECKS,
    MREMAP_DONTUNMAP,
    MREMAP_FIXED,
    MREMAP_MAYMOVE,
    PROFILES,
    TASK_SIZE,
    VMA,
    AddressSpace,
    MMError,
)

MAYMOVE = MREMAP_MAYMOVE
DONTUNMAP = MREMAP_DONTUNMAP

# Layout (arena pages, no filler): V = [0, 10) RW private anon; W = [0x40, 0x4a) R private anon (a
# mapped destination); S = [0x80, 0x84) shared anon; T = [0xc0, 0xc4) RW private anon with a 1-page
# shared VMA right after it (cannot grow in place); HOLE (page 0x100) and FREE (page 0x400) are
# unmapped, with nothing mapped near them.
V, W, S, T, HOLE, FREE = (at(page) for page in (0, 0x40, 0x80, 0xC0, 0x100, 0x400))
BASIC = [
    L(0, 10, "rw-p", pg(0), None, True),
    L(0x40, 0x4A, "r--p", pg(0x40), None, False),
    L(0x80, 0x84, "rw-s", 0, None, False),
    L(0xC0, 0xC4, "rw-p", pg(0xC0), None, True),
    L(0xC4, 0xC5, "rw-s", 0, None, False),
]


@functools.cache
def basic(kernel: str, filled: bool = False) -> AddressSpace:
    mm = new_mm(kernel, filled=filled)
    anon(mm, 0, 10, RW)
    anon(mm, 0x40, 10, R)
    anon(mm, 0x80, 4, RW, SHARED)
    anon(mm, 0xC0, 4, RW)
    anon(mm, 0xC4, 1, RW, SHARED)
    if not filled:
        assert_layout(mm, BASIC, map_count=5)
    return mm


def w_punched(first: int, npages: int) -> list:
    """BASIC after the destination unmap punched ``[W + first P, W + (first + npages) P)`` out of W
    (§2.2: an interior punch, +1; the upper piece's pgoff + offset, §2.1)."""
    lo, hi = 0x40 + first, 0x40 + first + npages
    assert 0x40 < lo and hi < 0x4A
    return [BASIC[0], L(0x40, lo, "r--p", pg(0x40), None, False), L(hi, 0x4A, "r--p", pg(hi), None, False),
            *BASIC[2:]]


#: The profiles whose map_count check at an early hook runs before the VMA at addr is looked up: 5.1's
#: mremap_to() check without the 5.16 lookup, check_mremap_params() (6.15+, before the lock) and 7.1's
#: do_mremap() check (semantics §3.5.1, §3.5.2).
EARLY_FIRST = tuple(k for k in KERNELS if EARLY[k] is not None
                    and (k in MODERN or k not in LOOKUP_FIRST))
#: DONTUNMAP accepted on the §3.5.1 flow (5.7-6.16: its raw-length checks in sys_mremap(), right after
#: the flags; linux-6.1.md §1.1 step 4).
DONTUNMAP_V5 = tuple(k for k in DONTUNMAP_PROFILES if k not in MODERN)
#: 7.1's early check for every call (map_count_v7).
V7 = having("map_count_v7")
#: per_profile's group keywords, all read from the profiles' features (semantics_tables): v5 = the §3.5.1
#: flow without ideal (FIXED unmaps the destination before validating); modern = validation first (6.17+);
#: lookup = the VMA at addr looked up before anything else (5.16+); dontunmap = DONTUNMAP accepted (5.7+).
GROUPS = {"v5": V5, "modern": MODERN, "lookup": LOOKUP_FIRST, "dontunmap": DONTUNMAP_PROFILES,
          "dontunmap_v5": DONTUNMAP_V5, "early_first": EARLY_FIRST, "v7": V7}


def per_profile(default, **over):
    """Per-profile expectations: ``default`` for every profile, keyword overrides by group name
    (:data:`GROUPS`), applied in keyword order, so a later keyword wins. A value may be a function of the
    profile (``lambda k: (CLEAN, E.ENOMEM, EARLY[k])``): the groups never name a profile."""
    out = {k: default for k in KERNELS}
    for key, val in over.items():
        for n in GROUPS[key]:
            out[n] = val(n) if callable(val) else val
    return out


CLEAN, PARTIAL, OK = "CLEAN_FAIL", "PARTIAL_FAIL", "OK"

# id, args, expectations: (kind, errno, check) per profile; OK cells are (OK, None, None).
CASES = [
    # §3.5.1 step 1 / §3.5.2 step 1: flags outside the supported set
    ("bad-flags", (V, P, P, 8, 0), per_profile((CLEAN, E.EINVAL, "validate.flags"))),
    ("fixed-without-maymove", (V, P, P, MREMAP_FIXED, FREE),
     per_profile((CLEAN, E.EINVAL, "validate.fixed_without_maymove"))),
    # DONTUNMAP is not a 5.x flag; on 6.18/7.1 it implies a new address and needs MAYMOVE; on 6.1
    # sys_mremap() refuses DONTUNMAP without MAYMOVE right after the flags (linux-6.1.md §1.1 step 4)
    ("dontunmap-without-maymove", (V, P, P, DONTUNMAP, FREE),
     per_profile((CLEAN, E.EINVAL, "validate.flags"), modern=(CLEAN, E.EINVAL, "validate.fixed_without_maymove"),
                 dontunmap_v5=(CLEAN, E.EINVAL, "validate.dontunmap_without_maymove"))),
    ("addr-unaligned", (V + 1, P, P, 0, 0), per_profile((CLEAN, E.EINVAL, "validate.addr_unaligned"))),
    ("new-len-zero", (V, P, 0, MAYMOVE, 0), per_profile((CLEAN, E.EINVAL, "validate.new_len_zero"))),
    # PAGE_ALIGN(2**64 - 1) wraps to 0 (both lengths are rounded mod 2**64, §3.5.1 step 2)
    ("new-len-wraps-to-zero", (V, P, 2**64 - 1, MAYMOVE, 0), per_profile((CLEAN, E.EINVAL, "validate.new_len_zero"))),
    ("new-addr-unaligned", (V, P, P, MOVE_FIXED, FREE + 1),
     per_profile((CLEAN, E.EINVAL, "validate.new_addr_unaligned"))),
    ("overlap", (V, 4 * P, 4 * P, MOVE_FIXED, V + 2 * P), per_profile((CLEAN, E.EINVAL, "validate.overlap"))),
    ("new-addr-beyond-task-size", (V, P, P, MOVE_FIXED, TASK_SIZE),
     per_profile((CLEAN, E.EINVAL, "validate.new_range"))),
    # new_len > TASK_SIZE: 5.x F2 (FIXED only); 6.18/7.1 check_mremap_params for every call (§3.6);
    # 6.1: mremap_to() only (FIXED or DONTUNMAP), so a grow is ENOMEM as on 5.x (linux-6.1.md §7 (h))
    ("new-len-beyond-task-size-fixed", (V, P, TASK_SIZE + P, MOVE_FIXED, FREE),
     per_profile((CLEAN, E.EINVAL, "validate.new_range"), modern=(CLEAN, E.EINVAL, "validate.new_len_too_big"))),
    ("new-len-beyond-task-size-grow", (V, 10 * P, TASK_SIZE + P, 0, 0),
     per_profile((CLEAN, E.ENOMEM, "validate.cannot_expand"), modern=(CLEAN, E.EINVAL, "validate.new_len_too_big"))),
    ("new-len-beyond-task-size-maymove", (V, 10 * P, TASK_SIZE + P, MAYMOVE, 0),
     per_profile((CLEAN, E.ENOMEM, "validate.len_too_big"), modern=(CLEAN, E.EINVAL, "validate.new_len_too_big"))),
    # DONTUNMAP with old_len != new_len: 6.1 sys_mremap() (raw lengths), 6.18/7.1 check_mremap_params
    ("dontunmap-resize", (V, P, 2 * P, MAYMOVE | DONTUNMAP, FREE),
     per_profile((CLEAN, E.EINVAL, "validate.flags"), dontunmap=(CLEAN, E.EINVAL, "validate.dontunmap_resize"))),
    # a DONTUNMAP hint is checked like a FIXED address: 6.1 mremap_to() steps 1-2 (linux-6.1.md §1.2: "for
    # DONTUNMAP without FIXED this applies to the hint"), 6.18/7.1 check_mremap_params(); 5.x: the flags
    ("dontunmap-hint-unaligned", (V, P, P, MAYMOVE | DONTUNMAP, FREE + 1),
     per_profile((CLEAN, E.EINVAL, "validate.flags"), dontunmap=(CLEAN, E.EINVAL, "validate.new_addr_unaligned"))),
    ("dontunmap-hint-beyond-task-size", (V, P, P, MAYMOVE | DONTUNMAP, TASK_SIZE),
     per_profile((CLEAN, E.EINVAL, "validate.flags"), dontunmap=(CLEAN, E.EINVAL, "validate.new_range"))),
    # old_len 0 on a private VMA (§3.5.7): before anything non-FIXED; 5.x FIXED after the destination unmap
    # (6.1 too: vma_to_resize() after do_munmap(); measured on 6.1.176: EINVAL, destination punched, +1)
    ("old-len-zero-private", (V, 0, P, MAYMOVE, 0), per_profile((CLEAN, E.EINVAL, "validate.old_len_zero_private"))),
    ("old-len-zero-private-fixed", (V, 0, P, MOVE_FIXED, W + 2 * P),
     per_profile((CLEAN, E.EINVAL, "validate.old_len_zero_private"),
            v5=(PARTIAL, E.EINVAL, "validate.old_len_zero_private"))),
    # EFAULT: no VMA at addr. The v5 flow finds out in vma_to_resize(), after the destination unmap;
    # 6.1's early vma_lookup (5.16) fails before anything, like 6.18/7.1 (§3.6 row "FIXED to a mapped
    # destination from an unmapped addr": "EFAULT, clean"; linux-6.1.md §7 (d), measured)
    ("no-vma-grow", (HOLE, P, 2 * P, MAYMOVE, 0), per_profile((CLEAN, E.EFAULT, "validate.no_vma"))),
    ("no-vma-fixed-into-mapped", (HOLE, P, P, MOVE_FIXED, W + 2 * P),
     per_profile((CLEAN, E.EFAULT, "validate.no_vma"), v5=(PARTIAL, E.EFAULT, "validate.no_vma"),
                 lookup=(CLEAN, E.EFAULT, "validate.no_vma"))),
    ("no-vma-fixed-resize-into-mapped", (HOLE, P, 2 * P, MOVE_FIXED, W + 2 * P),
     per_profile((CLEAN, E.EFAULT, "validate.no_vma"), v5=(PARTIAL, E.EFAULT, "validate.no_vma"),
                 lookup=(CLEAN, E.EFAULT, "validate.no_vma"))),
    ("no-vma-fixed-into-free", (HOLE, P, P, MOVE_FIXED, FREE), per_profile((CLEAN, E.EFAULT, "validate.no_vma"))),
    # a same-size FIXED range that starts in a gap before a VMA: §3.5.5 step 1 (6.18/7.1: EFAULT
    # before anything); the v5 flow punches the destination first, except 6.1, whose vma_lookup(addr)
    # finds nothing at addr before anything else
    ("leading-gap-fixed", (V - 2 * P, 4 * P, 4 * P, MOVE_FIXED, W + 2 * P),
     per_profile((CLEAN, E.EFAULT, "validate.no_vma"), v5=(PARTIAL, E.EFAULT, "validate.no_vma"),
                 lookup=(CLEAN, E.EFAULT, "validate.no_vma"))),
    # EFAULT: the old range crosses its VMA's end (6.1: vma_to_resize() after the destination unmap,
    # linux-6.1.md §1.2 step 7)
    ("crosses-grow", (V + 8 * P, 4 * P, 6 * P, MAYMOVE, 0), per_profile((CLEAN, E.EFAULT, "validate.crosses_vma_end"))),
    ("crosses-fixed-grow", (V + 8 * P, 4 * P, 6 * P, MOVE_FIXED, W + 2 * P),
     per_profile((CLEAN, E.EFAULT, "validate.crosses_vma_end"), v5=(PARTIAL, E.EFAULT, "validate.crosses_vma_end"))),
    ("crosses-fixed-shrink", (V + 8 * P, 6 * P, 3 * P, MOVE_FIXED, W + 2 * P),
     per_profile((CLEAN, E.EFAULT, "validate.crosses_vma_end"), v5=(PARTIAL, E.EFAULT, "validate.crosses_vma_end"))),
    # ENOMEM: grow without MAYMOVE that cannot be done in place
    ("grow-blocked-no-maymove", (T, 4 * P, 8 * P, 0, 0), per_profile((CLEAN, E.ENOMEM, "validate.cannot_expand"))),
    ("grow-interior-no-maymove", (V + 2 * P, 2 * P, 4 * P, 0, 0),
     per_profile((CLEAN, E.ENOMEM, "validate.cannot_expand"))),
    # no-op / shrink at an unmapped address: 5.x returns addr without a lookup; 6.1/6.18/7.1 EFAULT
    # (§3.6 row "no-op/shrink at an unmapped addr"; linux-6.1.md §7 (g), measured)
    ("noop-unmapped", (HOLE, 2 * P, 2 * P, 0, 0),
     per_profile((OK, None, None), lookup=(CLEAN, E.EFAULT, "validate.no_vma"))),
    ("shrink-unmapped", (HOLE, 4 * P, 2 * P, 0, 0),
     per_profile((OK, None, None), lookup=(CLEAN, E.EFAULT, "validate.no_vma"))),
    # §3.5.1 F7 / §5 row 3: FIXED below mmap_min_addr, unprivileged -> EPERM (nothing mapped that low)
    ("fixed-below-mmap-min-addr", (V, P, P, MOVE_FIXED, 0),
     per_profile((CLEAN, E.EPERM, "validate.below_mmap_min_addr"))),
]


def _ids(cases):
    return [c[0] for c in cases]


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("name,args,exp", CASES, ids=_ids(CASES))
def test_errno_path(kernel, name, args, exp):
    """One errno path per case; expectations per profile derived from §3.5.1 (v5 flow: flags, FIXED
    without MAYMOVE, addr, new_len, then mremap_to F1-F3, the unmaps F4/F5, vma_to_resize, F7) and
    §3.5.2 (check_mremap_params, then vma_lookup/check_prep_vma before any unmap); 6.1 per the 6.1
    additions of §3.5.1 (DONTUNMAP checks on the raw lengths right after the flags, vma_lookup(addr)
    before anything else). PARTIAL cells are
    the v5 flow's validation after the destination unmap (§5 row 2): every one of them is a FIXED
    call to W+2P, so the destination [W+2P, W+2P+new_len) is punched out of W (+1) and nothing
    else changes (a shrink's tail lies in the gap after V); ideal is transactional. An OK cell is
    a no-op or a shrink whose tail lies in the hole: nothing changes."""
    mm = basic(kernel)
    kind, err, check = exp[kernel]
    out = classify_pure(mm, *args)
    assert (out.kind, out.errno, out.check) == (kind, err, check), str(out)
    after, res = run_copy(mm, *args)
    if kind == OK:
        assert res == args[0]
        assert_layout(after, BASIC, map_count=5)
        return
    assert isinstance(res, OSError) and isinstance(res, MMError)
    assert (res.errno, res.check) == (err, check)
    (fail,) = failing_records(out.trace)  # §8: exactly one non-swallowed record carries the errno
    assert (fail.step, fail.errno) == (check, err)
    if kind == CLEAN:
        assert after.state() == mm.state() and out.mc_after == out.mc_before
        assert_layout(after, BASIC, map_count=5)
    else:
        assert after.state() != mm.state()
        assert args[3] & MOVE_FIXED == MOVE_FIXED and args[4] == W + 2 * P
        assert_layout(after, w_punched(2, args[2] // P), map_count=6)
        assert out.mc_after == 6


@pytest.mark.parametrize("kernel", V5)
def test_partial_efault_unmaps_destination_5x(kernel):
    """§5 row 2 ("the residual 5.1 partial failure"): FIXED where the old range crosses its VMA's
    end: the destination [W+2P, W+8P) is punched (+1) before vma_to_resize returns EFAULT; the source
    VMA is untouched."""
    mm = basic(kernel)
    after, res = run_copy(mm, V + 8 * P, 4 * P, 6 * P, MOVE_FIXED, W + 2 * P)
    assert isinstance(res, MMError) and res.errno == E.EFAULT
    assert after.map_count == mm.map_count + 1
    assert_layout(after, w_punched(2, 6), map_count=6)
    assert after.vma_at(V) == mm.vma_at(V)


@pytest.mark.parametrize("kernel", [k for k in V5 if k not in LOOKUP_FIRST])
def test_shrink_at_unmapped_addr_unmaps_tail_on_5x(kernel):
    """§3.5.1 step 4: non-FIXED shrink does no VMA lookup: from an unmapped addr it still unmaps the
    tail, which may cover whole VMAs (-1 here), and returns addr. 6.1/6.18/7.1 fail EFAULT first
    (test_shrink_at_unmapped_addr_efault_with_lookup)."""
    mm = new_mm(kernel)
    anon(mm, 0x102, 2, R)
    after, res = run_copy(mm, HOLE, 4 * P, P, 0)
    assert res == HOLE and after.map_count == mm.map_count - 1
    assert_layout(after, [], map_count=0)


@pytest.mark.parametrize("kernel", LOOKUP_FIRST)
def test_shrink_at_unmapped_addr_efault_with_lookup(kernel):
    """The same call where the VMA at addr is looked up first (§3.5.1 6.1 additions, §3.5.2 step 4;
    linux-6.1.md §7 (g), measured on 6.1.176 and 6.18.44): EFAULT, and the VMA the tail covers stays."""
    mm = new_mm(kernel)
    anon(mm, 0x102, 2, R)
    out = classify_pure(mm, HOLE, 4 * P, P, 0)
    assert (out.kind, out.errno, out.check) == (CLEAN, E.EFAULT, "validate.no_vma")
    after, res = run_copy(mm, HOLE, 4 * P, P, 0)
    assert isinstance(res, MMError) and res.errno == E.EFAULT
    assert_layout(after, [L(0x102, 0x104, "r--p", pg(0x102), None, False)], map_count=1)


# ---- kernel order: two faults in one call, the first in kernel order wins ----------------------

ORDER = [
    ("flags-before-addr", (V + 1, P, P, 8, 0), per_profile((CLEAN, E.EINVAL, "validate.flags"))),
    # 5.x: FIXED-without-MAYMOVE is checked before addr alignment; 6.18: addr first (check_mremap_params)
    ("fixed-nomaymove-vs-addr", (V + 1, P, P, MREMAP_FIXED, FREE),
     per_profile((CLEAN, E.EINVAL, "validate.fixed_without_maymove"),
            modern=(CLEAN, E.EINVAL, "validate.addr_unaligned"))),
    ("new-len-before-new-addr", (V, P, 0, MOVE_FIXED, FREE + 1),
     per_profile((CLEAN, E.EINVAL, "validate.new_len_zero"))),
    # 5.x F1 (new_addr alignment) before F2 (range); 6.18: range before alignment
    ("new-addr-unaligned-and-beyond", (V, P, P, MOVE_FIXED, TASK_SIZE + 1),
     per_profile((CLEAN, E.EINVAL, "validate.new_addr_unaligned"), modern=(CLEAN, E.EINVAL, "validate.new_range"))),
    ("new-addr-unaligned-before-overlap", (V, 4 * P, 4 * P, MOVE_FIXED, V + 2 * P + 1),
     per_profile((CLEAN, E.EINVAL, "validate.new_addr_unaligned"))),
    # 6.18: no MAYMOVE is checked before DONTUNMAP's size rule; 6.1: one test in sys_mremap(),
    # "DONTUNMAP and (no MAYMOVE, or old_len != new_len)" (linux-6.1.md §1.1 step 4), the MAYMOVE half first
    ("dontunmap-nomaymove-before-resize", (V, P, 2 * P, DONTUNMAP, FREE),
     per_profile((CLEAN, E.EINVAL, "validate.flags"), modern=(CLEAN, E.EINVAL, "validate.fixed_without_maymove"),
                 dontunmap_v5=(CLEAN, E.EINVAL, "validate.dontunmap_without_maymove"))),
    # 6.1 compares DONTUNMAP's lengths raw, before the addr alignment check (linux-6.1.md §1.1 steps 4-5):
    # 4096 vs 4095 from an unaligned addr is the size rule's EINVAL; 6.18/7.1 round first (equal) and
    # report the addr; 5.x the flags
    ("dontunmap-raw-resize-before-addr", (V + 1, P, P - 1, MAYMOVE | DONTUNMAP, FREE),
     per_profile((CLEAN, E.EINVAL, "validate.flags"), modern=(CLEAN, E.EINVAL, "validate.addr_unaligned"),
                 dontunmap_v5=(CLEAN, E.EINVAL, "validate.dontunmap_resize"))),
    # 6.1: vma_lookup(addr) (EFAULT) runs before mremap_to()'s early check (linux-6.1.md §1.1 step 8,
    # §1.2 step 4), so at 0 free slots a FIXED move from an unmapped addr is EFAULT; 5.1/6.18/7.1/5.1-alt
    # check the map count first (ENOMEM); 5.0 and ideal have no early check and a free destination,
    # so vma_to_resize() finds nothing (EFAULT, nothing changed)
    ("lookup-before-early", (HOLE, P, P, MOVE_FIXED, FREE),
     per_profile((CLEAN, E.EFAULT, "validate.no_vma"), early_first=lambda k: (CLEAN, E.ENOMEM, EARLY[k]))),
    # overlap (EINVAL) before the early checks, even at 0 free slots
    ("overlap-before-early", (V, 4 * P, 4 * P, MOVE_FIXED, V + 2 * P),
     per_profile((CLEAN, E.EINVAL, "validate.overlap"))),
    # old_len 0 private (vma_to_resize step 2) before the crossing check (step 4); on 7.1 the
    # early_v7 check (right after taking the lock) comes before any VMA lookup, so at s=0 it wins
    ("old-len-zero-before-crossing", (V + 9 * P, 0, 4 * P, MAYMOVE, 0),
     per_profile((CLEAN, E.EINVAL, "validate.old_len_zero_private"), v7=(CLEAN, E.ENOMEM, "mremap_early_v7"))),
]


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("name,args,exp", ORDER, ids=_ids(ORDER))
def test_kernel_order(kernel, name, args, exp):
    """§3.5.1/§3.5.2 order: with two faults, the one the kernel checks first is reported. Free slots 0
    (filled), so an early map-count check would win if it came first."""
    mm = basic(kernel, filled=True)
    at_free_slots(mm, 0)
    out = classify_pure(mm, *args)
    assert (out.kind, out.errno, out.check) == exp[kernel], str(out)


def _fires_below(kernel: str, pred: int) -> int:
    """The highest free-slot count at which the profile's early check refuses (-1: none), from the check
    registry: a threshold check fails below its ``slots``; 5.1-alt's refuses when ``mc + pred >= max - 3``
    after its trigger (semantics §3.5.8), i.e. at s <= 3 + pred."""
    name = EARLY[kernel]
    if name is None:
        return -1
    check = CHECKS[name]
    if check.predicate is None:
        return check.slots - 1
    assert name == "alt_early", name
    return min(check.slots - 1, 3 + pred)


@pytest.mark.parametrize("s", [0, 1, 2, 3, 4, 5, 6])
@pytest.mark.parametrize("kernel", KERNELS)
def test_early_check_vs_missing_vma(kernel, s):
    """FIXED from an unmapped addr into a mapped destination at free slots s:
    5.0: dest punch +1 then EFAULT (PARTIAL); at s=0 the punch check (ENOMEM, CLEAN) comes first.
    5.1/6.18: mremap_early (s <= 5) precedes the lookup -> CLEAN ENOMEM; else 5.1 PARTIAL EFAULT,
    6.18 CLEAN EFAULT (lookup before unmaps). 7.1: mremap_early_v7 (s <= 3) pre-empts EFAULT.
    6.1: vma_lookup(addr) comes first, before mremap_to()'s early check: CLEAN EFAULT at every free slots
    (§3.5.1 6.1 additions, "even at s <= 5 where 6.18's earlier early check says ENOMEM"; linux-6.1.md
    §7 (i'), measured: EFAULT, nothing changed, at s = -1...8).
    5.1-alt: trigger s <= 5, pred +1 (interior of W), fires at s <= 4; at s=5 PARTIAL EFAULT.
    ideal: the 5.0 flow rolled back: CLEAN, ENOMEM (punch) at s=0, else EFAULT."""
    mm = basic(kernel, filled=True)
    at_free_slots(mm, s)
    out = classify_pure(mm, HOLE, P, P, MOVE_FIXED, W + 2 * P)
    early = _fires_below(kernel, pred=+1)
    if kernel in LOOKUP_FIRST and kernel not in MODERN:
        exp = (CLEAN, E.EFAULT, "validate.no_vma")
    elif s <= early:
        exp = (CLEAN, E.ENOMEM, EARLY[kernel])
    elif s == 0:  # 5.0 / ideal: the destination punch check
        exp = (CLEAN, E.ENOMEM, "munmap_punch_limit")
    elif kernel in MODERN or kernel == "ideal":
        exp = (CLEAN, E.EFAULT, "validate.no_vma")
    else:
        exp = (PARTIAL, E.EFAULT, "validate.no_vma")
    assert (out.kind, out.errno, out.check) == exp, str(out)
    if out.kind == PARTIAL:
        assert out.mc_after == out.mc_before + 1


@pytest.mark.parametrize("s", [-1, 0, 1, 2, 3, 4, 5])
@pytest.mark.parametrize("kernel", KERNELS)
def test_noop_at_unmapped_addr_by_free_slots(kernel, s):
    """§3.6 row "no-op/shrink at an unmapped addr": returns addr on 5.x (and ideal: no mc increase,
    R3 holds even at s = -1), EFAULT on 6.1 and 6.18 at every free slots (no map-count check runs before
    their lookup), EFAULT on 7.1 but ENOMEM (mremap_early_v7) when
    s <= 3, which pre-empts the lookup. The 7.1 ENOMEM is CLEAN, not FP: without it the call fails
    with EFAULT."""
    mm = basic(kernel, filled=True)
    at_free_slots(mm, s)
    for args in ((HOLE, 2 * P, 2 * P, 0), (HOLE, 4 * P, 2 * P, 0)):
        out = classify_pure(mm, *args)
        if kernel == "7.1" and s <= 3:
            assert (out.kind, out.errno, out.check) == (CLEAN, E.ENOMEM, "mremap_early_v7")
        elif kernel in LOOKUP_FIRST:
            assert (out.kind, out.errno, out.check) == (CLEAN, E.EFAULT, "validate.no_vma")
        else:
            assert (out.kind, out.result, out.mc_after) == (OK, HOLE, out.mc_before)


# ---- injected VM_SPECIAL VMAs (semantics §1.1: "tests may inject it") --------------------------------


def _special(kernel: str, flag: str) -> tuple[AddressSpace, int, int]:
    X = at(0)
    Wd = at(0x40)
    vmas = [VMA(X, X + 4 * P, RW, pgoff=X // P, special=frozenset({flag})),
            VMA(Wd, Wd + 10 * P, R, pgoff=Wd // P)]
    return AddressSpace.from_vmas(vmas, kernel), X, Wd


@pytest.mark.parametrize("flag", ["DONTEXPAND", "PFNMAP"])
@pytest.mark.parametrize("kernel", KERNELS)
def test_dontexpand_grow(kernel, flag):
    """§3.5.1 vma_to_resize step 7 / §3.5.2 check_prep_vma: growing a DONTEXPAND/PFNMAP VMA ->
    EFAULT. Non-FIXED: CLEAN everywhere. FIXED into a mapped destination: the v5 flow (6.1 included:
    vma_to_resize() after the destination unmap, linux-6.1.md §1.2 step 7) has already punched it
    (§5 row 2: PARTIAL); 6.18/7.1 validate first (CLEAN); ideal rolls back."""
    mm, X, Wd = _special(kernel, flag)
    out = classify_pure(mm, X, 4 * P, 8 * P, MAYMOVE)
    assert (out.kind, out.errno, out.check) == (CLEAN, E.EFAULT, "validate.dontexpand")
    out = classify_pure(mm, X, 4 * P, 8 * P, MOVE_FIXED, Wd + P)
    kind = PARTIAL if kernel in V5 else CLEAN
    assert (out.kind, out.errno, out.check) == (kind, E.EFAULT, "validate.dontexpand")


@pytest.mark.parametrize("kernel", DONTUNMAP_PROFILES)
def test_dontunmap_on_dontexpand_einval(kernel):
    """§3.5.6: DONTUNMAP on a DONTEXPAND/PFNMAP VMA -> EINVAL (check_prep_vma; on 6.1 vma_to_resize(),
    §3.5.1 6.1 additions), nothing changed (no FIXED, so nothing was unmapped before). That test came
    with a4609387859f (5.13, ``dontunmap_any_vma``); before, vma_to_resize()@5.10 refused only what is not
    private anonymous, and an injected private anonymous DONTEXPAND VMA of equal lengths passes (it is
    never grown)."""
    mm, X, Wd = _special(kernel, "DONTEXPAND")
    out = classify_pure(mm, X, 4 * P, 4 * P, MAYMOVE | DONTUNMAP, at(0x100))
    if PROFILES[kernel].has("dontunmap_any_vma"):
        assert (out.kind, out.errno, out.check) == (CLEAN, E.EINVAL, "validate.dontunmap_special")
    else:
        assert out.kind == OK and out.mc_after == out.mc_before + 1, str(out)


@pytest.mark.parametrize("flag", ["IO", "MIXEDMAP"])
@pytest.mark.parametrize("kernel", KERNELS)
def test_special_grow_in_place(kernel, flag):
    """§3.5.2 step 6 [inference]: on 6.18/7.1 vma_merge_extend refuses a VM_IO/VM_MIXEDMAP VMA, so
    the in-place grow fails with ENOMEM (nothing changed). 6.1 grows in place with vma_merge(), which
    refuses VM_SPECIAL flags: ENOMEM too (§3.5.1 6.1 additions; linux-6.1.md §1.1 step 12, source only).
    5.0/5.1 (and 5.1-alt, ideal) extend it with vma_adjust (§3.5.1 step 5), which has no such rule:
    OK, Δ0."""
    mm, X, Wd = _special(kernel, flag)
    out = classify_pure(mm, X, 4 * P, 6 * P, 0)
    if kernel in GROW_MERGES:
        assert (out.kind, out.errno) == (CLEAN, E.ENOMEM), str(out)
    else:
        assert (out.kind, out.result, out.mc_after) == (OK, X, out.mc_before), str(out)


@pytest.mark.parametrize("kernel", KERNELS)
def test_dontexpand_same_size_move_allowed(kernel):
    """The DONTEXPAND/PFNMAP rule applies only to a grow (vma_to_resize stops at equal sizes)."""
    mm, X, Wd = _special(kernel, "DONTEXPAND")
    out = classify_pure(mm, X, 4 * P, 4 * P, MOVE_FIXED, at(0x100))
    assert out.kind == OK


@pytest.mark.parametrize("kernel", KERNELS)
def test_fixed_below_mmap_min_addr_privileged(kernel):
    """§2.8/§3.5.1 F7: the EPERM rule needs an unprivileged caller; privileged, the move to 4096 -
    no, to 0 - is below mmap_min_addr but allowed."""
    mm = AddressSpace(kernel, privileged=True)
    X = anon(mm, 0, 1)
    out = classify_pure(mm, X, P, P, MOVE_FIXED, 0)
    assert (out.kind, out.result) == (OK, 0)


# ---- §4 "free slots needed": the mremap rows ---------------------------------------------------

# Row scenarios on the filled address space (arena pages): V = [0, 10) RW; V2 = [0x40, 0x42) RW
# with a non-mergeable VMA right after it; S = [0x80, 0x84) shared anon; page 0x400 is free.
LV, LV2, LS, LFAR = at(0), at(0x40), at(0x80), at(0x400)


@functools.cache
def limits(kernel: str) -> AddressSpace:
    mm = new_mm(kernel, filled=True)
    anon(mm, 0, 10, RW)
    anon(mm, 0x40, 2, RW)
    anon(mm, 0x42, 1, RW, SHARED)
    anon(mm, 0x80, 4, RW, SHARED)
    return mm


# row -> (call, Δmc on success, the semantics §4 row it is an instance of)
ROWS = {
    "noop": ((LV, 4 * P, 4 * P, 0), 0, "noop-grow-trim"),
    "grow-in-place": ((LV, 10 * P, 12 * P, 0), 0, "noop-grow-trim"),
    "shrink-trim": ((LV, 10 * P, 6 * P, 0), 0, "noop-grow-trim"),
    "shrink-punch": ((LV, 6 * P, 2 * P, 0), +1, "shrink-punch"),
    "reloc-interior": ((LV + 2 * P, 2 * P, 4 * P, MAYMOVE), +2, "reloc-interior"),
    "reloc-head-trim": ((LV, 2 * P, 4 * P, MAYMOVE), +1, "reloc-trim"),
    "reloc-whole": ((LV2, 2 * P, 4 * P, MAYMOVE), 0, "reloc-whole"),
    "fixed-whole-free": ((LV2, 2 * P, 2 * P, MOVE_FIXED, LFAR), 0, "fixed-whole-free"),
    "dontunmap-free": ((LV2, 2 * P, 2 * P, MAYMOVE | DONTUNMAP, LFAR), +1, "dontunmap-free"),
    "dup-maymove": ((LS, 0, 4 * P, MAYMOVE), +1, "dup-maymove"),
}

FREE_SLOTS = range(0, 9)


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("row", sorted(ROWS))
def test_free_slots_row(row, kernel):
    """Semantics §4, the mremap rows (no destination merge): minimum free slots for success, then the failure
    class below it, for every profile and 0 free slots..8. FP/CLEAN failures are ENOMEM with nothing
    changed; successes change map_count by the path's Δ (§3.5.3)."""
    mm = limits(kernel)
    args, delta, s4_row = ROWS[row]
    want = s4(s4_row, kernel, FREE_SLOTS)
    for s in FREE_SLOTS:
        at_free_slots(mm, s)
        out = classify_pure(mm, *args)
        ctx = f"{row} {kernel} s={s}: {out}"
        if want[s] == "EINVAL":
            assert (out.kind, out.errno) == ("CLEAN_FAIL", E.EINVAL), ctx
        elif want[s] == "OK":
            assert out.kind == "OK" and out.mc_after == out.mc_before + delta, ctx
        else:
            assert (out.kind, out.errno, out.mc_after) == (want[s], E.ENOMEM, out.mc_before), ctx


@pytest.mark.parametrize("kernel", [k for k in KERNELS if k != "7.1"])
def test_any_means_even_at_max_plus_one(kernel):
    """§4 "any" (no-op, grow in place, trim shrink): no check applies, even at s = -1 (mc = max + 1,
    reachable through mmap's lenient check). ideal's R3 holds: the count does not increase."""
    mm = limits(kernel)
    at_free_slots(mm, -1)
    for row in ("noop", "grow-in-place", "shrink-trim"):
        out = classify_pure(mm, *ROWS[row][0])
        assert out.kind == "OK", (row, str(out))


def _pieces(kernel: str, k: int):
    """§4 last row: k 1-page RW pieces at pages 0, 2, ... and a 40-page R destination VMA D at 0x100."""
    mm = new_mm(kernel, filled=True)
    for i in range(k):
        anon(mm, 2 * i, 1, RW)
    D = anon(mm, 0x100, 40, R)
    return mm, at(0), D


@pytest.mark.parametrize("k", [2, 3, 4])
@pytest.mark.parametrize("kernel", KERNELS)
def test_fixed_over_k_pieces(kernel, k):
    """Semantics §4 last row, "FIXED over k pieces, each landing inside a destination VMA", k = 2..4
    (k >= 2 so that the range has gaps), 0 free slots..9:
    5.0: EFAULT, P (ENOMEM C at 0: the destination punch check);
    5.1: s <= 5 ENOMEM C, then EFAULT P; 6.1 as 5.1 (no multi-VMA move, the early check at s <= 5,
    then vma_to_resize() after the destination punch: linux-6.1.md §7 (c), measured for k = 3);
    5.1-alt "as 5.1", but by its own rule (§3.5.8, pred +1)
    it rejects only s <= 4 and is EFAULT P at s = 5 (the known deviation from the cell);
    6.18: min max(6, k+4), P at 6..k+3 (fp iff s >= k), C (early) below 6;
    7.1: min max(4, k+2), P at 4..k+1 (fp iff s >= k), C (early_v7) below 4;
    ideal: EFAULT C (at s=0 the 5.0 flow's destination punch fails first: ENOMEM C)."""
    mm, a, D = _pieces(kernel, k)
    length = (2 * k - 1) * P
    for s in range(0, 10):
        at_free_slots(mm, s)
        out = classify_pure(mm, a, length, length, MOVE_FIXED, D + 5 * P)
        got = (out.kind, out.errno)
        ctx = f"k={k} s={s}: {out}"
        if kernel not in MULTI_VMA and s > _fires_below(kernel, pred=+1):
            if s == 0:  # no early check: the destination punch check fails first
                assert got == (CLEAN, E.ENOMEM) and out.check == "munmap_punch_limit", ctx
            elif PROFILES[kernel].transactional:
                assert got == (CLEAN, E.EFAULT), ctx
            else:
                assert got == (PARTIAL, E.EFAULT) and out.mc_after == out.mc_before + 1, ctx
        elif kernel not in MULTI_VMA:
            assert got == (CLEAN, E.ENOMEM), ctx
        else:
            lo = _fires_below(kernel, pred=+1) + 1  # the early check's slots
            need = max(lo, k + CHECKS[MOVE[kernel]].slots)  # each piece's move check, k pieces in
            if s >= need:
                assert out.kind == "OK" and out.mc_after == out.mc_before + k, ctx
            elif s >= lo:
                assert got == (PARTIAL, E.ENOMEM) and out.fp is (s >= k), ctx
            else:
                assert got == (CLEAN, E.ENOMEM), ctx
