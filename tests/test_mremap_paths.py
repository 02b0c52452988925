"""Every mremap path of semantics §3.5.3, per profile, with its map_count change and final layout.

Expected deltas come from the path table of §3.5.3 and the unmap shapes of §2.2; pgoffs from §2.5
(a private anon VMA is created with pgoff = addr/P; a split's upper piece gets pgoff + offset;
copy_vma keeps the pgoff of a faulted VMA and resets an unfaulted one's to new_addr/P); placement
of a hint-less move comes from §2.8 (top-down first fit below mmap_base, nothing is mapped near it
in these layouts, so the model's answer is pinned: mmap_base - new_len, arena page ``TOP - new``).
Every call's result is asserted as the whole arena layout and map_count (``assert_layout``). Slack
is large (no filler) unless a test says otherwise, so no map-count check interferes.
"""

from __future__ import annotations

import errno as E

import pytest
from helpers import (
    MMAP_BASE,
    MOVE_FIXED,
    RW,
    SHARED,
    TOP,
    L,
    P,
    R,
    anon,
    assert_layout,
    at,
    classify_pure,
    new_mm,
    pg,
    run_copy,
    top_steps,
)
from mremap_builders import DEST, abc
from semantics_tables import DONTUNMAP, GROW_MERGES, MULTI_VMA, NO_DONTUNMAP, V5, V5_FLOW

from mmsim import KERNELS, MREMAP_DONTUNMAP, MREMAP_MAYMOVE, PROFILES, MMError

F = 0x400  # arena page of a free destination far from every scenario VMA
FAR = at(F)


# ---- no-op ----------------------------------------------------------------------------------


@pytest.mark.parametrize("flags", [0, MREMAP_MAYMOVE])
@pytest.mark.parametrize("kernel", KERNELS)
def test_noop(kernel, flags):
    """§3.5.3 no-op: old == new without FIXED/DONTUNMAP returns addr, Δmc 0, nothing changes."""
    mm = new_mm(kernel)
    V = anon(mm, 0, 10)
    out = classify_pure(mm, V + 2 * P, 4 * P, 4 * P, flags)
    assert (out.kind, out.result, out.mc_after) == ("OK", V + 2 * P, out.mc_before)
    after, _ = run_copy(mm, V + 2 * P, 4 * P, 4 * P, flags)
    assert after.state() == mm.state()
    assert_layout(after, [L(0, 10, "rw-p", pg(0), None, True)], map_count=1)


# ---- shrink in place ------------------------------------------------------------------------


@pytest.mark.parametrize("kernel", KERNELS)
def test_shrink_tail_punch(kernel):
    """§3.5.3 shrink, tail is a hole punch: mremap(V, 5P, 2P) unmaps [V+2P, V+5P) from a 10-page
    VMA: +1, V stays as [V, V+2P) and [V+5P, V+10P) (upper piece pgoff + 5)."""
    mm = new_mm(kernel)
    V = anon(mm, 0, 10)
    after, res = run_copy(mm, V, 5 * P, 2 * P, 0)
    assert res == V and after.map_count == mm.map_count + 1
    assert_layout(after, [L(0, 2, "rw-p", pg(0), None, True), L(5, 10, "rw-p", pg(5), None, True)], map_count=2)


@pytest.mark.parametrize("kernel", KERNELS)
def test_shrink_tail_trim(kernel):
    """§3.5.3 shrink, tail trims the VMA's end: Δ0, V becomes [V, V+4P)."""
    mm = new_mm(kernel)
    V = anon(mm, 0, 10)
    after, res = run_copy(mm, V, 10 * P, 4 * P, 0)
    assert res == V and after.map_count == mm.map_count
    assert_layout(after, [L(0, 4, "rw-p", pg(0), None, True)], map_count=1)


@pytest.mark.parametrize("kernel", KERNELS)
def test_shrink_tail_whole_k(kernel):
    """§3.5.3 shrink, tail covers k whole VMAs: -k. The part shrunk away may cross VMAs and gaps
    (§3.5.1 step 4; §3.5.2 check_prep_vma validates only new_len for a shrink)."""
    k = 3
    mm = new_mm(kernel)
    V = anon(mm, 0, 2)
    for i in range(k):
        anon(mm, 4 + 2 * i, 1, R)
    assert_layout(mm, [L(0, 2, "rw-p", pg(0), None, True)]
                  + [L(4 + 2 * i, 5 + 2 * i, "r--p", pg(4 + 2 * i), None, False) for i in range(k)], map_count=1 + k)
    span = (4 + 2 * k) * P
    after, res = run_copy(mm, V, span, 2 * P, 0)
    assert res == V and after.map_count == mm.map_count - k
    assert_layout(after, [L(0, 2, "rw-p", pg(0), None, True)], map_count=1)


# ---- grow in place --------------------------------------------------------------------------


@pytest.mark.parametrize("kernel", KERNELS)
def test_grow_in_place_no_neighbour(kernel):
    """§3.5.3 grow in place: the range ends at the VMA's end and [end, end+delta) is free: the VMA
    is extended, Δ0, addr returned. The step is expand (vma_adjust) in 5.0/5.1 (and 5.1-alt, ideal)
    and extend (vma_merge_extend) in 6.18/7.1 (semantics §8). §8 has no 6.1 row: 6.1 grows with
    vma_merge() of the extension (§3.5.1 6.1 additions; linux-6.1.md §1.1 step 12, mremap.c:1044), the
    merge-capable grow that "extend" stands for, recorded with that kernel function."""
    mm = new_mm(kernel)
    V = anon(mm, 0, 4)
    anon(mm, 10, 1, RW, SHARED)
    out = classify_pure(mm, V, 4 * P, 6 * P, 0)
    assert (out.kind, out.result, out.mc_after) == ("OK", V, out.mc_before)
    step = "extend" if kernel in GROW_MERGES else "expand"
    assert step in top_steps(out.trace)
    fn = {"6.1": "vma_merge@6.1", "6.18": "vma_merge_extend@6.18", "7.1": "vma_merge_extend@7.1"}
    if kernel in fn:
        assert [r.fn for r in out.trace if r.step == "extend"] == [fn[kernel]]
    after, _ = run_copy(mm, V, 4 * P, 6 * P, 0)
    assert_layout(after, [L(0, 6, "rw-p", pg(0), None, True), L(10, 11, "rw-s", 0, None, False)], map_count=2)


@pytest.mark.parametrize("kernel", KERNELS)
def test_grow_in_place_touching_incompatible_next(kernel):
    """Grow in place up to an incompatible next VMA (R vs RW): no merge in any profile, Δ0."""
    mm = new_mm(kernel)
    V = anon(mm, 0, 4)
    anon(mm, 6, 2, R)
    after, res = run_copy(mm, V, 4 * P, 6 * P, 0)
    assert res == V and after.map_count == mm.map_count
    assert_layout(after, [L(0, 6, "rw-p", pg(0), None, True), L(6, 8, "r--p", pg(6), None, False)], map_count=2)


@pytest.mark.parametrize("kernel", KERNELS)
def test_grow_in_place_merges_with_next(kernel):
    """§3.5.3 / §3.6: grow in place merges with a compatible next VMA on 6.1 (vma_merge(), ca3d76b0aa80),
    6.18 and 7.1 (-1), never on 5.0/5.1 and the profiles built on them (vma_adjust, 0). The next VMA's
    pgoff continues V's (both private anon mapped at their own addresses). Both unfaulted, so the
    anon_vma rule does not matter (linux-6.1.md §7 (f) "both unfaulted": -1 on 6.1 and 6.18)."""
    mm = new_mm(kernel)
    V = anon(mm, 0, 4)
    anon(mm, 6, 2)
    after, res = run_copy(mm, V, 4 * P, 6 * P, 0)
    assert res == V
    if kernel in GROW_MERGES:
        assert after.map_count == mm.map_count - 1
        assert_layout(after, [L(0, 8, "rw-p", pg(0), None, True)], map_count=1)
    else:
        assert after.map_count == mm.map_count
        assert_layout(after, [L(0, 6, "rw-p", pg(0), None, True), L(6, 8, "rw-p", pg(6), None, True)], map_count=2)


# ---- MAYMOVE relocation ---------------------------------------------------------------------

BLOCKER = L(0, 0, "rw-s", 0, None, False)  # a 1-page shared VMA right after the VMA (start/end set per case)

RELOC = [
    # name, VMA pages, blocker right after the VMA?, (addr offset, old pages, new pages), Δmc,
    # what is left of the source VMA
    ("source-interior", 10, False, (2, 2, 4), +2,
     [L(0, 2, "rw-p", pg(0), None, True), L(4, 10, "rw-p", pg(4), None, True)]),
    ("source-head-trim", 10, False, (0, 2, 4), +1, [L(2, 10, "rw-p", pg(2), None, True)]),
    ("source-tail-trim", 10, True, (8, 2, 4), +1, [L(0, 8, "rw-p", pg(0), None, True)]),
    ("source-whole", 2, True, (0, 2, 4), 0, []),
]


@pytest.mark.parametrize("name,pages,blocker,call,delta,left", RELOC, ids=[r[0] for r in RELOC])
@pytest.mark.parametrize("kernel", KERNELS)
def test_maymove_relocation(kernel, name, pages, blocker, call, delta, left):
    """§3.5.3 MAYMOVE relocation: a grow that cannot be done in place (the range does not end at
    the VMA's end, or a non-mergeable VMA sits right after it) moves: +1 copy, then the source unmap
    (+1 punch / 0 trim / -1 whole). The returned address differs, is mmap_base - new_len (§2.8
    top-down first fit), the old range is unmapped and the new VMA has the full new length, RW and
    VM_ACCOUNT; unfaulted private anon, so copy_vma resets its pgoff to new_addr >> 12 (§2.5,
    §3.5.4 step 2)."""
    mm = new_mm(kernel)
    V = anon(mm, 0, pages)
    if blocker:
        anon(mm, pages, 1, RW, SHARED)
    off, old, new = call
    after, res = run_copy(mm, V + off * P, old * P, new * P, MREMAP_MAYMOVE)
    assert res == MMAP_BASE - new * P and res != V + off * P
    assert after.map_count == mm.map_count + delta
    moved = after.vma_at(res)
    assert (moved.start, moved.end, moved.prot) == (res, res + new * P, RW)
    rows = left + ([BLOCKER._replace(start=pages, end=pages + 1)] if blocker else [])
    rows.append(L(TOP - new, TOP, "rw-p", pg(TOP - new), None, True))
    assert_layout(after, rows, map_count=1 + blocker + delta)


@pytest.mark.parametrize("kernel", KERNELS)
def test_maymove_relocation_faulted_keeps_pgoff(kernel):
    """§2.5: a faulted VMA keeps its pgoff (old pgoff + offset) and anon_vma identity when moved.
    The source [3, 5) is an interior punch (+1), the copy +1."""
    mm = new_mm(kernel)
    V = anon(mm, 0, 10, faulted=True)
    av = mm.vma_at(V).anon_vma
    after, res = run_copy(mm, V + 3 * P, 2 * P, 4 * P, MREMAP_MAYMOVE)
    moved = after.vma_at(res)
    assert moved.pgoff == V // P + 3 and moved.anon_vma == av
    assert_layout(after, [
        L(0, 3, "rw-p", pg(0), "A", True), L(5, 10, "rw-p", pg(5), "A", True),
        L(TOP - 4, TOP, "rw-p", pg(3), "A", True),
    ], map_count=3)


@pytest.mark.parametrize("kernel", KERNELS)
def test_grow_without_maymove_in_interior_is_enomem(kernel):
    """§3.5.1 step 6 / §3.5.2 mremap_at: a grow that cannot be done in place without MAYMOVE ->
    ENOMEM, nothing changed."""
    mm = new_mm(kernel)
    V = anon(mm, 0, 10)
    out = classify_pure(mm, V + 2 * P, 2 * P, 4 * P, 0)
    assert (out.kind, out.errno, out.check) == ("CLEAN_FAIL", E.ENOMEM, "validate.cannot_expand")


# ---- FIXED ----------------------------------------------------------------------------------

FIXED_CASES = [
    # name, VMA pages, (addr offset, old pages, new pages), Δmc, what is left of the source VMA
    ("same-size-whole", 4, (0, 4, 4), 0, []),  # copy +1, source whole -1
    ("shrink-whole", 4, (0, 4, 2), 0, []),  # tail trim 0, copy +1, source whole -1
    ("grow-whole", 4, (0, 4, 8), 0, []),  # copy +1, source whole -1
    ("same-size-interior", 10, (2, 2, 2), +2,  # copy +1, source punch +1
     [L(0, 2, "rw-p", pg(0), None, True), L(4, 10, "rw-p", pg(4), None, True)]),
    ("shrink-interior", 10, (2, 6, 3), +2,  # tail punch +1, copy +1, source trim 0
     [L(0, 2, "rw-p", pg(0), None, True), L(8, 10, "rw-p", pg(8), None, True)]),
    ("grow-interior", 10, (2, 2, 5), +2,  # copy +1, source punch +1
     [L(0, 2, "rw-p", pg(0), None, True), L(4, 10, "rw-p", pg(4), None, True)]),
]


@pytest.mark.parametrize("name,pages,call,delta,left", FIXED_CASES, ids=[c[0] for c in FIXED_CASES])
@pytest.mark.parametrize("kernel", KERNELS)
def test_fixed_into_free_space(kernel, name, pages, call, delta, left):
    """§3.5.3 FIXED = destination unmap + tail unmap + copy + source unmap (§2.2 shapes), here into
    free space (destination 0). Per-case derivation in FIXED_CASES; the moved VMA has new_len and,
    unfaulted, pgoff = FAR/P (§2.5)."""
    mm = new_mm(kernel)
    V = anon(mm, 0, pages)
    off, old, new = call
    after, res = run_copy(mm, V + off * P, old * P, new * P, MOVE_FIXED, FAR)
    assert res == FAR
    assert after.map_count - mm.map_count == delta
    assert_layout(after, [*left, L(F, F + new, "rw-p", pg(F), None, True)], map_count=1 + delta)


@pytest.mark.parametrize("kernel", KERNELS)
def test_fixed_shrink_tail_crossing_vmas(kernel):
    """§3.5.1 F5/F6 and §3.5.2 step 4 ("old_len' = new_len for a shrink. The part being shrunk away
    may cross VMAs"): mremap(V+8P, 6P, 2P, FIXED, far) on a 10-page V followed (after a 1-page gap)
    by a 2-page N: the tail [V+10P, V+14P) removes N whole (-1), copy +1, the source [V+8P, V+10P)
    trims V (0): accepted in every profile, net 0."""
    mm = new_mm(kernel)
    V = anon(mm, 0, 10)
    anon(mm, 11, 2, R)
    after, res = run_copy(mm, V + 8 * P, 6 * P, 2 * P, MOVE_FIXED, FAR)
    assert res == FAR and after.map_count == mm.map_count
    assert_layout(after, [L(0, 8, "rw-p", pg(0), None, True), L(F, F + 2, "rw-p", pg(F), None, True)], map_count=2)


# ---- copy_vma merging at the destination -----------------------------------------------------


@pytest.mark.parametrize("kernel", KERNELS)
def test_copy_vma_pgoff_reset_unfaulted(kernel):
    """§2.5 / §3.5.4 step 2: an unfaulted private anon VMA gets pgoff = new_addr >> 12. The source
    [1, 3) is a punch (+1), the copy +1."""
    mm = new_mm(kernel)
    V = anon(mm, 0, 4)
    after, _ = run_copy(mm, V + P, 2 * P, 2 * P, MOVE_FIXED, FAR)
    assert after.vma_at(FAR).pgoff == FAR // P
    assert_layout(after, [
        L(0, 1, "rw-p", pg(0), None, True), L(3, 4, "rw-p", pg(3), None, True), L(F, F + 2, "rw-p", pg(F), None, True),
    ], map_count=3)


@pytest.mark.parametrize("kernel", KERNELS)
def test_copy_vma_pgoff_kept_faulted(kernel):
    """§2.5: a faulted VMA keeps pgoff = old pgoff + offset (here V>>12 + 1) and its anon_vma."""
    mm = new_mm(kernel)
    V = anon(mm, 0, 4, faulted=True)
    after, _ = run_copy(mm, V + P, 2 * P, 2 * P, MOVE_FIXED, FAR)
    assert after.vma_at(FAR).pgoff == V // P + 1
    assert_layout(after, [
        L(0, 1, "rw-p", pg(0), "A", True), L(3, 4, "rw-p", pg(3), "A", True), L(F, F + 2, "rw-p", pg(1), "A", True),
    ], map_count=3)


@pytest.mark.parametrize("kernel", KERNELS)
def test_copy_vma_merges_at_destination(kernel):
    """§3.5.4 step 2: an unfaulted VMA moved to just before a compatible VMA merges with it
    (pgoff reset to new_addr>>12 continues into the next VMA's pgoff): net -1."""
    mm = new_mm(kernel)
    y = anon(mm, 0, 3)
    anon(mm, F + 3, 4)
    after, res = run_copy(mm, y, 3 * P, 3 * P, MOVE_FIXED, FAR)
    assert res == FAR and after.map_count == mm.map_count - 1
    assert_layout(after, [L(F, F + 7, "rw-p", pg(F), None, True)], map_count=1)


@pytest.mark.parametrize("kernel", KERNELS)
def test_copy_vma_source_absorbs_its_copy(kernel):
    """§3.5.4 step 2: "the source may be the neighbour that absorbs it": an unfaulted 4-page VMA at
    X moved (FIXED, same size) to X+4P merges into itself (pgoff X>>12 + 4 = (X+4P)>>12), then the
    source unmap trims [X, X+4P): one VMA [X+4P, X+8P), Δ0."""
    mm = new_mm(kernel)
    X = anon(mm, 0, 4)
    after, res = run_copy(mm, X, 4 * P, 4 * P, MOVE_FIXED, X + 4 * P)
    assert res == X + 4 * P and after.map_count == mm.map_count
    assert_layout(after, [L(4, 8, "rw-p", pg(4), None, True)], map_count=1)


# ---- DONTUNMAP ------------------------------------------------------------------------------


@pytest.mark.parametrize("kernel", DONTUNMAP)
def test_dontunmap_whole_without_fixed(kernel):
    """§3.5.3 / §3.5.4 step 4 / §3.5.6 (6.1: §3.5.1 6.1 additions, linux-6.1.md §1.4 step 7, measured (e)
    "private anon, whole 2P VMA, faulted": +1, old kept): DONTUNMAP without FIXED uses new_addr as a hint; net +1; the
    old VMA keeps its range and VM_ACCOUNT, and, moved whole, loses its anon_vma; the copy keeps
    the anon_vma identity and (faulted) the pgoff."""
    mm = new_mm(kernel)
    V = anon(mm, 0, 4, faulted=True)
    old = mm.vma_at(V)
    after, res = run_copy(mm, V, 4 * P, 4 * P, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, FAR)
    assert res == FAR and after.map_count == mm.map_count + 1
    kept = after.vma_at(V)
    unlinks = PROFILES[kernel].has("dontunmap_unlink_anon")  # 1583aa278f5f (5.12); 5.7-5.11 keep it
    want_anon = None if unlinks else old.anon_vma
    assert (kept.start, kept.end, kept.anon_vma, kept.accounted) == (V, V + 4 * P, want_anon, old.accounted)
    new = after.vma_at(FAR)
    assert (new.start, new.end, new.anon_vma, new.pgoff) == (FAR, FAR + 4 * P, old.anon_vma, V // P)
    assert_layout(after, [L(0, 4, "rw-p", pg(0), None if unlinks else "A", True),
                          L(F, F + 4, "rw-p", pg(0), "A", True)], map_count=2)


@pytest.mark.parametrize("kernel", DONTUNMAP)
def test_dontunmap_part_keeps_old_unsplit(kernel):
    """§3.5.4 step 4 (6.1: linux-6.1.md §7 (e) "middle page of a 3P VMA", measured: [0,3) whole, +1): the
    old VMA is never split; moved in part, it keeps its anon_vma. Net +1; the
    copy keeps the anon_vma and pgoff = old pgoff + 1."""
    mm = new_mm(kernel)
    V = anon(mm, 0, 4, faulted=True)
    old = mm.vma_at(V)
    after, res = run_copy(mm, V + P, 2 * P, 2 * P, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, FAR)
    assert res == FAR and after.map_count == mm.map_count + 1
    assert after.vmas_in(V, V + 4 * P) == [old]
    assert_layout(after, [L(0, 4, "rw-p", pg(0), "A", True), L(F, F + 2, "rw-p", pg(1), "A", True)], map_count=2)


@pytest.mark.parametrize("kernel", DONTUNMAP)
def test_dontunmap_fixed_into_free_space(kernel):
    """§3.5.3 / §3.5.6: DONTUNMAP with FIXED into free space: destination 0 + copy +1 = net +1; the
    old VMA keeps its range (unsplit) and, moved whole, drops its anon_vma."""
    mm = new_mm(kernel)
    V = anon(mm, 0, 4, faulted=True)
    after, res = run_copy(mm, V, 4 * P, 4 * P, MOVE_FIXED | MREMAP_DONTUNMAP, FAR)
    assert res == FAR and after.map_count == mm.map_count + 1
    unlinks = PROFILES[kernel].has("dontunmap_unlink_anon")
    assert (after.vma_at(V).anon_vma is None) == unlinks
    assert_layout(after, [L(0, 4, "rw-p", pg(0), None if unlinks else "A", True),
                          L(F, F + 4, "rw-p", pg(0), "A", True)], map_count=2)


@pytest.mark.parametrize("kernel", DONTUNMAP)
def test_dontunmap_fixed_onto_mapped_destination(kernel):
    """§3.5.3 DONTUNMAP with FIXED (6.1: linux-6.1.md §7 (e) "FIXED dest inside a R VMA", measured +2):
    destination unmap (interior punch +1) + copy (+1) = +2; the old
    VMA stays exactly as it was except its dropped anon_vma (moved whole)."""
    mm = new_mm(kernel)
    V = anon(mm, 0, 4, faulted=True)
    D = anon(mm, F, 10, R)
    after, res = run_copy(mm, V, 4 * P, 4 * P, MOVE_FIXED | MREMAP_DONTUNMAP, D + 2 * P)
    assert res == D + 2 * P and after.map_count == mm.map_count + 2
    unlinks = PROFILES[kernel].has("dontunmap_unlink_anon")
    assert (after.vma_at(V).anon_vma is None) == unlinks
    assert_layout(after, [
        L(0, 4, "rw-p", pg(0), None if unlinks else "A", True),
        L(F, F + 2, "r--p", pg(F), None, False),
        L(F + 2, F + 6, "rw-p", pg(0), "A", True),
        L(F + 6, F + 10, "r--p", pg(F + 6), None, False),
    ], map_count=4)


@pytest.mark.parametrize("kernel", DONTUNMAP)
def test_dontunmap_copy_merging_into_old_vma(kernel):
    """§3.5.4 step 4: "if the whole VMA was moved and the copy did not merge into it, its anon_vma
    becomes None ... net +1, or 0 if the copy merged". An unfaulted VMA at X moved with
    DONTUNMAP|FIXED to X+4P: copy_vma's pgoff reset makes the copy merge into the old VMA itself,
    which is never split: one VMA [X, X+8P), Δ0. (6.1: move_vma() unlinks the anon_vma only when
    new_vma != vma, mremap.c:695.)"""
    mm = new_mm(kernel)
    X = anon(mm, 0, 4)
    after, res = run_copy(mm, X, 4 * P, 4 * P, MOVE_FIXED | MREMAP_DONTUNMAP, X + 4 * P)
    assert res == X + 4 * P
    if PROFILES[kernel].has("dontunmap_no_self_merge"):
        # 6.12.114+: copy_vma(..., keep_source) never merges the copy into the source it keeps (measured on
        # 6.12.117: +1, two VMAs with identical flags); the old VMA's pgoff was already its start's
        assert_layout(after, [L(0, 4, "rw-p", pg(0), None, True), L(4, 8, "rw-p", pg(4), None, True)],
                      map_count=2)
    else:
        assert after.map_count == mm.map_count
        assert_layout(after, [L(0, 8, "rw-p", pg(0), None, True)], map_count=1)


@pytest.mark.parametrize("kernel", DONTUNMAP)
def test_dontunmap_old_vma_pgoff_after_a_move(kernel):
    """A faulted VMA moved to X keeps its pgoff (its old address); moved on whole with DONTUNMAP, the old VMA
    at X is unfaulted again. With ``dontunmap_pgoff_reset`` (6.12.112, "mm/mremap: reset unfaulted VMA
    page offset for MREMAP_DONTUNMAP") its pgoff becomes X's page, so a fresh mapping right after it joins
    it (measured on 6.12.117: Δ0); elsewhere the old pgoff stays and the mapping is a VMA of its own (+1)."""
    mm = new_mm(kernel)
    V = anon(mm, 0, 2, faulted=True)
    mm.mremap(V, 2 * P, 2 * P, MOVE_FIXED, at(0x30))
    mm.mremap(at(0x30), 2 * P, 2 * P, MOVE_FIXED | MREMAP_DONTUNMAP, at(0x50))
    before = mm.map_count
    anon(mm, 0x32, 2)
    if PROFILES[kernel].has("dontunmap_pgoff_reset"):
        assert mm.vma_at(at(0x30)).pgoff == pg(0x30) and mm.map_count == before
        assert mm.vma_at(at(0x30)).end == at(0x34)
    elif PROFILES[kernel].has("dontunmap_unlink_anon"):
        assert mm.vma_at(at(0x30)).pgoff == pg(0) and mm.map_count == before + 1
    else:  # 5.7-5.11: the old VMA is still faulted; the fresh one is unfaulted and its pgoff does not follow
        assert mm.vma_at(at(0x30)).anon_vma is not None and mm.map_count == before + 1
    mm.check_invariants()


@pytest.mark.parametrize("kernel", DONTUNMAP)
def test_dontunmap_interior_sets_vm_account_on_the_next_vma(kernel):
    """move_vma()@5.7-5.10 hides VM_ACCOUNT, and for a range strictly inside an accounted VMA restores it on
    ``vma->vm_next`` as if the old VMA had been split: a DONTUNMAP of the middle of A sets VM_ACCOUNT on B,
    the next VMA (a read-only one, not accounted), so a later read-only mmap right after B no longer joins
    it (measured on 5.10.223: +1; 6.1 and later: Δ0). ad8ee77ea9db (5.11) removed the concealment."""
    mm = new_mm(kernel)
    anon(mm, 0, 10, RW)
    B = anon(mm, 10, 5, R)
    mm.mremap(at(2), 2 * P, 2 * P, MOVE_FIXED | MREMAP_DONTUNMAP, at(0x40))
    leaks = not PROFILES[kernel].has("dontunmap_no_account_conceal")
    assert mm.vma_at(B).accounted is leaks
    before = mm.map_count
    anon(mm, 15, 5, R)
    assert mm.map_count == before + (1 if leaks else 0)
    mm.check_invariants()


@pytest.mark.parametrize("kernel", NO_DONTUNMAP)
def test_dontunmap_einval_on_5x(kernel):
    """§3.5.1 step 1 / §3.6: flags outside {MAYMOVE, FIXED} -> EINVAL, so DONTUNMAP is rejected on
    5.0, 5.1, 5.1-alt and ideal (5.0's feature set)."""
    mm = new_mm(kernel)
    V = anon(mm, 0, 4)
    for flags in (MREMAP_MAYMOVE | MREMAP_DONTUNMAP, MOVE_FIXED | MREMAP_DONTUNMAP):
        out = classify_pure(mm, V, 4 * P, 4 * P, flags, FAR)
        assert (out.kind, out.errno, out.check) == ("CLEAN_FAIL", E.EINVAL, "validate.flags")


# ---- old_len == 0 (shared duplicate) --------------------------------------------------------


@pytest.mark.parametrize("kernel", KERNELS)
def test_old_len_zero_shared_duplicates(kernel):
    """§3.5.7: old_len 0 on a shared mapping with MAYMOVE duplicates it: +1, same file identity,
    pgoff = old pgoff + offset, and the original stays (the zero-length source unmap is swallowed,
    which is not an R2 violation: it has old_len 0, so ideal accepts it too). Placed top-down below
    mmap_base (§2.8)."""
    mm = new_mm(kernel)
    S = anon(mm, 0, 4, RW, SHARED)
    orig = mm.vma_at(S)
    out = classify_pure(mm, S + P, 0, 2 * P, MREMAP_MAYMOVE)
    assert (out.kind, out.degraded) == ("OK", False)
    after, res = run_copy(mm, S + P, 0, 2 * P, MREMAP_MAYMOVE)
    assert res == MMAP_BASE - 2 * P
    assert after.map_count == mm.map_count + 1
    assert after.vma_at(S) == orig
    dup = after.vma_at(res)
    assert dup.file is orig.file and dup.shared and dup.pgoff == orig.pgoff + 1
    assert (dup.start, dup.end) == (res, res + 2 * P)
    assert_layout(after, [L(0, 4, "rw-s", 0, None, False), L(TOP - 2, TOP, "rw-s", 1, None, False)], map_count=2)


@pytest.mark.parametrize("kernel", KERNELS)
def test_old_len_zero_shared_fixed(kernel):
    """§3.5.7: with FIXED the duplicate lands at new_addr: +1, original unchanged."""
    mm = new_mm(kernel)
    S = anon(mm, 0, 4, RW, SHARED)
    after, res = run_copy(mm, S, 0, 4 * P, MOVE_FIXED, FAR)
    assert res == FAR and after.map_count == mm.map_count + 1
    assert after.vma_at(S) == mm.vma_at(S) and after.vma_at(FAR).file is mm.vma_at(S).file
    assert_layout(after, [L(0, 4, "rw-s", 0, None, False), L(F, F + 4, "rw-s", 0, None, False)], map_count=2)


@pytest.mark.parametrize("kernel", KERNELS)
def test_old_len_zero_private_einval(kernel):
    """§3.5.7: old_len 0 on a private VMA -> EINVAL (vma_to_resize / check_prep_vma), nothing done."""
    mm = new_mm(kernel)
    V = anon(mm, 0, 4)
    out = classify_pure(mm, V, 0, 4 * P, MREMAP_MAYMOVE)
    assert (out.kind, out.errno, out.check) == ("CLEAN_FAIL", E.EINVAL, "validate.old_len_zero_private")


@pytest.mark.parametrize("kernel", KERNELS)
def test_old_len_zero_shared_without_maymove_enomem(kernel):
    """§3.5.7: non-FIXED without MAYMOVE -> ENOMEM (the old range cannot end at the VMA's end)."""
    mm = new_mm(kernel)
    S = anon(mm, 0, 4, RW, SHARED)
    out = classify_pure(mm, S, 0, 4 * P, 0)
    assert (out.kind, out.errno, out.check) == ("CLEAN_FAIL", E.ENOMEM, "validate.cannot_expand")


# ---- multi-VMA moves (6.18/7.1) and the trailing gap -----------------------------------------

#: abc()'s D = [0x100, 0x114) R private anon.
ABC_D = L(DEST, DEST + 20, "r--p", pg(DEST), None, False)


@pytest.mark.parametrize("kernel", MULTI_VMA)
def test_multi_vma_into_free_space_keeps_gaps(kernel):
    """§3.5.5: FIXED same size over A, B, C (gaps between them) moves each piece to new_addr +
    its offset, so the gaps are kept; each piece: copy +1 (unfaulted: pgoff reset to its new
    address, §2.5), source whole -1: Δ0."""
    mm, a, _ = abc(kernel, filled=False)
    after, res = run_copy(mm, a, 5 * P, 5 * P, MOVE_FIXED, FAR)
    assert res == FAR and after.map_count == mm.map_count
    assert_layout(after, [ABC_D] + [L(F + i, F + i + 1, "rw-p", pg(F + i), None, True) for i in (0, 2, 4)],
                  map_count=4)


@pytest.mark.parametrize("kernel", MULTI_VMA)
def test_multi_vma_onto_destination(kernel):
    """§3.5.5 step 3: only each piece's destination is unmapped; D's parts opposite the source gaps
    stay. +1 per piece (punch +1, copy +1, source -1): +3. Split pieces of D get pgoff + offset."""
    mm, a, D = abc(kernel, filled=False)
    after, res = run_copy(mm, a, 5 * P, 5 * P, MOVE_FIXED, D + 5 * P)
    assert res == D + 5 * P and after.map_count == mm.map_count + 3
    d = DEST
    rows = [L(d, d + 5, "r--p", pg(d), None, False)]
    for i in (5, 7, 9):  # A, B, C, each followed by the D piece up to the next one
        rows += [L(d + i, d + i + 1, "rw-p", pg(d + i), None, True),
                 L(d + i + 1, d + (i + 2 if i < 9 else 20), "r--p", pg(d + i + 1), None, False)]
    assert_layout(after, rows, map_count=7)


@pytest.mark.parametrize("kernel", V5_FLOW)
def test_multi_vma_into_free_space_efault_on_5x(kernel):
    """§3.5.5 last paragraph / §3.6: the 5.0 family (6.1 included: "multi-VMA / trailing-gap FIXED
    move: EFAULT after the destination unmap") has no multi-VMA move: vma_to_resize finds the
    range crossing A's end -> EFAULT. The destination is free, so nothing changed: CLEAN."""
    mm, a, _ = abc(kernel, filled=False)
    out = classify_pure(mm, a, 5 * P, 5 * P, MOVE_FIXED, FAR)
    assert (out.kind, out.errno, out.check) == ("CLEAN_FAIL", E.EFAULT, "validate.crosses_vma_end")


def _trailing(kernel):
    mm = new_mm(kernel)
    V = anon(mm, 0, 2)
    D = anon(mm, F, 10, R)
    return mm, V, D


@pytest.mark.parametrize("kernel", MULTI_VMA)
def test_trailing_gap_accepted_on_modern(kernel):
    """§3.5.5: a single VMA followed by a trailing gap inside a FIXED same-size range is accepted:
    only the piece's destination [D+2P, D+4P) is punched (+1), copy +1, source whole -1: +1. The
    destination part opposite the gap ([D+4P, D+6P)) stays mapped."""
    mm, V, D = _trailing(kernel)
    after, res = run_copy(mm, V, 4 * P, 4 * P, MOVE_FIXED, D + 2 * P)
    assert res == D + 2 * P and after.map_count == mm.map_count + 1
    assert_layout(after, [
        L(F, F + 2, "r--p", pg(F), None, False),
        L(F + 2, F + 4, "rw-p", pg(F + 2), None, True),
        L(F + 4, F + 10, "r--p", pg(F + 4), None, False),
    ], map_count=3)


@pytest.mark.parametrize("kernel", V5)
def test_trailing_gap_partial_efault_on_5x(kernel):
    """§3.5.5 / §5 row 2: 5.0/5.1 (and alt, 5.1's flow, and 6.1: linux-6.1.md §7 (a), measured on
    6.1.176) unmap the destination [D+2P, D+6P) (+1) and then fail vma_to_resize with EFAULT:
    PARTIAL_FAIL, mc + 1, the hole left in D."""
    mm, V, D = _trailing(kernel)
    out = classify_pure(mm, V, 4 * P, 4 * P, MOVE_FIXED, D + 2 * P)
    assert (out.kind, out.errno, out.check) == ("PARTIAL_FAIL", E.EFAULT, "validate.crosses_vma_end")
    assert out.mc_after == out.mc_before + 1
    after, res = run_copy(mm, V, 4 * P, 4 * P, MOVE_FIXED, D + 2 * P)
    assert isinstance(res, MMError)
    assert_layout(after, [
        L(0, 2, "rw-p", pg(0), None, True),
        L(F, F + 2, "r--p", pg(F), None, False),
        L(F + 6, F + 10, "r--p", pg(F + 6), None, False),
    ], map_count=3)


def test_trailing_gap_clean_on_ideal():
    """§3.5.9: ideal runs the 5.0 flow transactionally: the same call is CLEAN EFAULT."""
    mm, V, D = _trailing("ideal")
    out = classify_pure(mm, V, 4 * P, 4 * P, MOVE_FIXED, D + 2 * P)
    assert (out.kind, out.errno, out.mc_after) == ("CLEAN_FAIL", E.EFAULT, out.mc_before)


# ---- the return value -----------------------------------------------------------------------


@pytest.mark.parametrize("kernel", KERNELS)
def test_result_matches_call_and_classify(kernel):
    """classify's Outcome.result is the call's return value (no-op: addr; move: new address)."""
    mm = new_mm(kernel)
    V = anon(mm, 0, 4)
    out = classify_pure(mm, V, 4 * P, 4 * P, MOVE_FIXED, FAR)
    _, res = run_copy(mm, V, 4 * P, 4 * P, MOVE_FIXED, FAR)
    assert out.result == res == FAR
