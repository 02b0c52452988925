"""Profile 6.1 told apart from 5.1 and 6.18 on the model, and the pre-6.16 anon_vma merge rule everywhere.

Sources, never the model's output:

* the 6.1.176 measurements and source reading behind semantics §0 (row 6.1), §3.5.1 ("Profile 6.1 runs
  this flow with three later additions"), §3.6 (6.1 column) and §7.6 (6.1 column), written down in docs/linux-6.1.md
  and cited as linux-6.1.md with its section: §7 (a)-(j) is its live checklist, run on 6.1.176 under
  user-mode Linux and on the 6.18.44 host with the same script;
* the 5.1 column from semantics §3.5.1/§3.6 (linux-6.1.md §1.6 takes its 5.1 column from there too).

Each experiment uses the live experiment's layout, window page n as arena page n (pages relative to
helpers.BASE), and asserts the whole arena and map_count with ``assert_layout`` before and after.
Expectations are written per column (5.1, 6.1, 6.18) in each test. Hint-less placement in the model is
top-down below mmap_base (semantics §2.8; arena page ``TOP - n``); the live UML kernel places bottom-up,
so only the model's address is asserted for those.

The last part tests semantics §2.3 rule 5 in every place it matters (mprotect, copy_vma, grow in place,
the DONTUNMAP'd VMA) for every profile: before 6.16 (5.0, 5.1, 6.1 and the profiles built on 5.0) a
faulted range cannot join an unfaulted neighbour; the unchanged cases merge everywhere.
"""

from __future__ import annotations

import errno as E

import pytest
import semantics_tables as T
from helpers import (
    MOVE_FIXED,
    PRIV,
    RW,
    RWX,
    SHARED,
    TOP,
    UML_TASK_SIZE,
    L,
    P,
    R,
    anon,
    assert_layout,
    at,
    at_free_slots,
    classify_pure,
    fmap,
    new_mm,
    pg,
    run_copy,
)

import mmsim
from mmsim import (
    KERNELS,
    MAP_FIXED,
    MAP_NORESERVE,
    MAP_PRIVATE,
    MAP_SHARED,
    MREMAP_DONTUNMAP,
    MREMAP_MAYMOVE,
    PROFILES,
    VMA,
    AddressSpace,
    MMError,
)
from mmsim.checks import HOOKS

MAYMOVE = MREMAP_MAYMOVE
DONTUNMAP = MREMAP_DONTUNMAP
NORES = PRIV | MAP_NORESERVE
CLEAN, PARTIAL, OK = "CLEAN_FAIL", "PARTIAL_FAIL", "OK"
#: The three columns linux-6.1.md compares.
THREE = ("5.1", "6.1", "6.18")
#: Far from every layout below: a free destination.
F = 0x400


def outcome(mm, *args, op="mremap"):
    """(kind, errno) of a classify() run (classify never changes ``mm``)."""
    out = classify_pure(mm, *args, op=op)
    return out.kind, out.errno


# ---- the profiles against the semantics' feature rows ---------------------------------------------


@pytest.mark.parametrize("feature", sorted(T.FEATURE_ROWS))
def test_profile_features_match_semantics_3_6(feature):
    """The groups the tests use are read from the profiles' features (semantics_tables); this checks
    the features against the semantics (§3.6 rows, Appendix A), so that a profile cannot pick up the
    wrong expectations silently. Every release profile must be placed in every row."""
    assert tuple(k for k in T.having(feature) if k in T.release_profiles()) == T.FEATURE_ROWS[feature]


def test_a_hypothetical_profile_has_the_features_of_the_flow_it_runs():
    """§0: a hypothetical profile (5.1-alt, ideal, or a new row) runs a release's flow (``src``) with other
    checks or a transactional commit: it has that release's features, so the release rows above cover it. (A row
    with ``models_release=False`` stands for a build or sublevel its own evidence describes, as the reverted
    5.10 does.)"""
    hypothetical = [k for k in mmsim.KERNELS if PROFILES[k].hypothetical and PROFILES[k].models_release]
    assert hypothetical, "no hypothetical profile to check"
    for k in hypothetical:
        p = PROFILES[k]
        assert p.features == PROFILES[p.src].features, (k, p.src, sorted(p.features ^ PROFILES[p.src].features))


def test_every_feature_has_a_semantics_row():
    assert set(T.FEATURE_ROWS) == set(mmsim.FEATURES)


def test_6_1_checks_are_5_1s_at_the_same_places():
    """§3.6 "early map check" (6.1: FIXED or DONTUNMAP, s >= 6, in mremap_to() after the early lookup) and
    "move check" (s >= 4, once): 6.1's checks are 5.1's, at 5.1's hooks (semantics §6: "5.1, 6.18:
    mremap_early, move_vma_limit")."""
    p61, p51 = PROFILES["6.1"], PROFILES["5.1"]
    for hook in HOOKS:
        assert [c.name for c in p61.checks_at(hook)] == [c.name for c in p51.checks_at(hook)], hook
    assert [c.name for c in p61.checks_at("mremap_to")] == ["mremap_early"]
    assert p61.checks_at("mremap_to")[0].slots == 6 and p61.checks_at("move_vma")[0].slots == 4
    assert T.EARLY["6.1"] == "mremap_early" and T.MOVE["6.1"] == "move_vma_limit"


# ---- linux-6.1.md §7 (a), (a2): a FIXED same-size range holding one VMA and a hole -------------------

#: (a): S = [0, 2) rw, hole [2, 3), D = [8, 18) r--; mremap(S, 3P, 3P, MAYMOVE|FIXED, page 10).
A_BEFORE = [L(0, 2, "rw-p", pg(0), None, True), L(8, 18, "r--p", pg(8), None, False)]


@pytest.mark.parametrize("kernel", THREE)
def test_a_fixed_vma_with_trailing_hole(kernel):
    """linux-6.1.md §7 (a), measured: 6.1 EFAULT, Δ+1, the destination [10, 13) unmapped (5.1's column:
    the destination unmap, then vma_to_resize() finds the range crossing S's end); 6.18 moves the VMA
    (remap_move(): only the piece's destination [10, 12) is unmapped; the unfaulted copy's pgoff is reset
    to its new address, §2.5), Δ+1."""
    mm = new_mm(kernel)
    s = anon(mm, 0, 2)
    anon(mm, 8, 10, R)
    assert_layout(mm, A_BEFORE, map_count=2)
    args = (s, 3 * P, 3 * P, MOVE_FIXED, at(10))
    after, res = run_copy(mm, *args)
    if kernel == "6.18":
        assert outcome(mm, *args) == (OK, None) and res == at(10)
        assert_layout(after, [L(8, 10, "r--p", pg(8), None, False), L(10, 12, "rw-p", pg(10), None, True),
                              L(12, 18, "r--p", pg(12), None, False)], map_count=3)
    else:
        assert outcome(mm, *args) == (PARTIAL, E.EFAULT)
        assert isinstance(res, MMError) and res.check == "validate.crosses_vma_end"
        assert_layout(after, [A_BEFORE[0], L(8, 10, "r--p", pg(8), None, False),
                              L(13, 18, "r--p", pg(13), None, False)], map_count=3)


@pytest.mark.parametrize("kernel", THREE)
def test_a2_fixed_two_vmas_with_a_hole(kernel):
    """linux-6.1.md §7 (a2), measured: source [0, 1) rw + hole + [2, 3) r--, D = [8, 18) r--; FIXED same
    size to page 10. 6.1 (= 5.1): EFAULT, Δ+1, D punched at [10, 13). 6.18: both pieces move, Δ0: the
    r-- piece lands at 12 with its pgoff reset and merges with D's pieces on both sides."""
    mm = new_mm(kernel)
    s = anon(mm, 0, 1)
    anon(mm, 2, 1, R)
    anon(mm, 8, 10, R)
    before = [L(0, 1, "rw-p", pg(0), None, True), L(2, 3, "r--p", pg(2), None, False),
              L(8, 18, "r--p", pg(8), None, False)]
    assert_layout(mm, before, map_count=3)
    args = (s, 3 * P, 3 * P, MOVE_FIXED, at(10))
    after, res = run_copy(mm, *args)
    if kernel == "6.18":
        assert outcome(mm, *args) == (OK, None) and res == at(10)
        assert_layout(after, [L(8, 10, "r--p", pg(8), None, False), L(10, 11, "rw-p", pg(10), None, True),
                              L(11, 18, "r--p", pg(11), None, False)], map_count=3)
    else:
        assert outcome(mm, *args) == (PARTIAL, E.EFAULT)
        assert_layout(after, [*before[:2], L(8, 10, "r--p", pg(8), None, False),
                              L(13, 18, "r--p", pg(13), None, False)], map_count=4)


# ---- (b): mprotect round trips and VM_ACCOUNT ------------------------------------------------------


@pytest.mark.parametrize("kernel", THREE)
def test_b_rw_vma_page_to_r_to_rw_to_r(kernel):
    """linux-6.1.md §7 (b) "RW VMA: page -> R -> RW -> R", measured: +2, -2, +2 on both kernels; the r--
    middle keeps VM_ACCOUNT on 6.1 (no 9b9143298585: §2.7, §3.6) and on 5.1, and loses it on 6.18
    (unfaulted private anon going read-only). Going back to RW merges all three on every column (6.1/5.1:
    the flags are equal again; 6.18: RW re-charges and sets VM_ACCOUNT)."""
    mm = new_mm(kernel)
    v = anon(mm, 0, 5)
    whole = [L(0, 5, "rw-p", pg(0), None, True)]
    split = [L(0, 2, "rw-p", pg(0), None, True), L(2, 3, "r--p", pg(2), None, kernel != "6.18"),
             L(3, 5, "rw-p", pg(3), None, True)]
    mm.mprotect(v + 2 * P, P, R)
    assert_layout(mm, split, map_count=3)
    mm.mprotect(v + 2 * P, P, RW)
    assert_layout(mm, whole, map_count=1)
    mm.mprotect(v + 2 * P, P, R)
    assert_layout(mm, split, map_count=3)


@pytest.mark.parametrize("kernel", THREE)
def test_b_r_vma_page_to_rw_and_back(kernel):
    """linux-6.1.md §7 (b) "R VMA: page -> RW -> R", never written, measured: +2, then Δ0 on 6.1 (3 VMAs,
    the middle r--p keeps VM_ACCOUNT, as on 5.1) and -2 on 6.18 (semantics §7.6 row "R VMA: page to RW
    and back, never written")."""
    mm = new_mm(kernel)
    v = anon(mm, 0, 5, R)
    mm.mprotect(v + 2 * P, P, RW)
    assert_layout(mm, [L(0, 2, "r--p", pg(0), None, False), L(2, 3, "rw-p", pg(2), None, True),
                       L(3, 5, "r--p", pg(3), None, False)], map_count=3)
    mm.mprotect(v + 2 * P, P, R)
    if kernel == "6.18":
        assert_layout(mm, [L(0, 5, "r--p", pg(0), None, False)], map_count=1)
    else:
        assert_layout(mm, [L(0, 2, "r--p", pg(0), None, False), L(2, 3, "r--p", pg(2), None, True),
                           L(3, 5, "r--p", pg(3), None, False)], map_count=3)


# ---- (c): multi-VMA FIXED ------------------------------------------------------------------------------


@pytest.mark.parametrize("kernel", THREE)
def test_c_multi_vma_fixed(kernel):
    """linux-6.1.md §7 (c), measured: A, B, C = 1-page rw VMAs at 0, 2, 4; D = [10, 30) r--;
    mremap(A, 5P, 5P, MAYMOVE|FIXED, page 15). 6.1: EFAULT, Δ+1, D's [15, 20) unmapped (5.1's column:
    one destination punch, then vma_to_resize() finds the range crossing A's end). 6.18: the pieces
    move one by one (each +1: destination punch, copy, source), Δ+3."""
    mm = new_mm(kernel)
    a = anon(mm, 0, 1)
    anon(mm, 2, 1)
    anon(mm, 4, 1)
    anon(mm, 10, 20, R)
    abc = [L(i, i + 1, "rw-p", pg(i), None, True) for i in (0, 2, 4)]
    assert_layout(mm, [*abc, L(10, 30, "r--p", pg(10), None, False)], map_count=4)
    args = (a, 5 * P, 5 * P, MOVE_FIXED, at(15))
    after, res = run_copy(mm, *args)
    if kernel == "6.18":
        assert outcome(mm, *args) == (OK, None) and res == at(15)
        rows = [L(10, 15, "r--p", pg(10), None, False)]
        for i in (15, 17, 19):
            rows += [L(i, i + 1, "rw-p", pg(i), None, True),
                     L(i + 1, i + 2 if i < 19 else 30, "r--p", pg(i + 1), None, False)]
        assert_layout(after, rows, map_count=7)
    else:
        assert outcome(mm, *args) == (PARTIAL, E.EFAULT)
        assert_layout(after, [*abc, L(10, 15, "r--p", pg(10), None, False), L(20, 30, "r--p", pg(20), None, False)],
                      map_count=5)


# ---- (d): FIXED from an unmapped address onto a mapped destination ------------------------------------


@pytest.mark.parametrize("kernel", THREE)
def test_d_fixed_from_unmapped_addr(kernel):
    """linux-6.1.md §7 (d), measured: EFAULT, Δ0, the destination intact on 6.1 and 6.18 (6.1's early
    vma_lookup, 5.16); 5.1 unmaps the destination first (§3.6 row "FIXED to a mapped destination from an
    unmapped addr": "EFAULT after the destination is unmapped")."""
    mm = new_mm(kernel)
    anon(mm, 8, 10, R)
    d = [L(8, 18, "r--p", pg(8), None, False)]
    args = (at(0), P, P, MOVE_FIXED, at(10))
    after, res = run_copy(mm, *args)
    assert isinstance(res, MMError) and (res.errno, res.check) == (E.EFAULT, "validate.no_vma")
    if kernel == "5.1":
        assert outcome(mm, *args) == (PARTIAL, E.EFAULT)
        assert_layout(after, [L(8, 10, "r--p", pg(8), None, False), L(11, 18, "r--p", pg(11), None, False)],
                      map_count=2)
    else:
        assert outcome(mm, *args) == (CLEAN, E.EFAULT)
        assert_layout(after, d, map_count=1)


# ---- (e): MREMAP_DONTUNMAP --------------------------------------------------------------------------

#: (e) cases: name -> (map flags, file?, VMA pages, offset, length, written, FIXED).
E_CASES = {
    "private-anon-whole-faulted": (PRIV, False, 2, 0, 2, True, False),
    "private-anon-middle-page": (PRIV, False, 3, 1, 1, False, False),
    "shared-anon-whole": (SHARED, False, 2, 0, 2, False, False),
    "private-file-whole": (MAP_PRIVATE, True, 2, 0, 2, False, False),
    "shared-file-whole": (MAP_SHARED, True, 2, 0, 2, False, False),
    "private-anon-fixed-into-r-vma": (PRIV, False, 2, 0, 2, False, True),
}


@pytest.mark.parametrize("case", list(E_CASES))
@pytest.mark.parametrize("kernel", THREE)
def test_e_dontunmap_vma_types(kernel, case):
    """linux-6.1.md §7 (e), measured: MREMAP_DONTUNMAP on private anon (whole, faulted; one page from the
    middle), shared anon, a private and a shared file mapping, and with FIXED into a r-- VMA: OK +1 on
    6.1 and 6.18 (+2 with the FIXED punch), the old VMA kept whole (never split, VM_ACCOUNT kept); 5.1:
    EINVAL (not a flag before 5.7). Each layout also has the r-- VMA D = [20, 30). The copy keeps the
    file and pgoff of a file or faulted VMA, and gets pgoff = new_addr/P if unfaulted private anon
    (§2.5); the old VMA drops its anon_vma when moved whole (§3.5.4 step 4)."""
    flags, is_file, n, off, length, written, fixed = E_CASES[case]
    mm = new_mm(kernel)
    if is_file:
        fmap(mm, mm.open("f", 4 * P), 0, n, 0, RW, flags)
    else:
        anon(mm, 0, n, RW, flags, faulted=written)
    anon(mm, 20, 10, R)
    shared = flags & MAP_SHARED
    perms = "rw-s" if shared else "rw-p"
    pgoff0 = 0 if (is_file or shared) else pg(0)
    acct = not shared
    old = L(0, n, perms, pgoff0, "A" if written else None, acct)
    d = L(20, 30, "r--p", pg(20), None, False)
    assert_layout(mm, [old, d], map_count=2)
    src = mm.vma_at(at(0))
    call = (at(off), length * P, length * P, MAYMOVE | DONTUNMAP | (MOVE_FIXED if fixed else 0),
            at(22) if fixed else 0)
    after, res = run_copy(mm, *call)
    if kernel == "5.1":
        assert isinstance(res, MMError) and (res.errno, res.check) == (E.EINVAL, "validate.flags")
        assert_layout(after, [old, d], map_count=2)
        return
    assert outcome(mm, *call) == (OK, None)
    kept = old._replace(anon=None)  # moved whole and faulted: unlink_anon_vmas(); else it had none
    if fixed:
        assert res == at(22)
        assert_layout(after, [kept, L(20, 22, "r--p", pg(20), None, False), L(22, 24, "rw-p", pg(22), None, True),
                              L(24, 30, "r--p", pg(24), None, False)], map_count=4)
        return
    top = TOP - length
    assert res == at(top)
    new_pgoff = pgoff0 + off if (is_file or shared or written) else pg(top)
    new = L(top, TOP, perms, new_pgoff, "A" if written else None, acct)  # a faulted copy keeps A
    assert_layout(after, [kept, d, new], map_count=3)
    assert after.vma_at(at(0)).file is src.file and after.vma_at(res).file is src.file


@pytest.mark.parametrize("kernel", THREE)
def test_e_dontunmap_raw_lengths_4096_vs_4095(kernel):
    """linux-6.1.md §7 (e'), measured: mremap(V, 4096, 4095, MAYMOVE|DONTUNMAP): 6.1 compares the raw
    lengths before rounding (sys_mremap()@6.1:924) -> EINVAL; 6.18 rounds first (equal) -> OK +1; 5.1:
    EINVAL (flags). Semantics §3.5.1 6.1 additions ("4096 vs 4095 -> EINVAL; 6.18 compares after")."""
    mm = new_mm(kernel)
    v = anon(mm, 0, 1)
    before = [L(0, 1, "rw-p", pg(0), None, True)]
    after, res = run_copy(mm, v, P, P - 1, MAYMOVE | DONTUNMAP, 0)
    if kernel == "6.18":
        assert res == at(TOP - 1)
        assert_layout(after, [*before, L(TOP - 1, TOP, "rw-p", pg(TOP - 1), None, True)], map_count=2)
    else:
        check = "validate.dontunmap_resize" if kernel == "6.1" else "validate.flags"
        assert isinstance(res, MMError) and (res.errno, res.check) == (E.EINVAL, check)
        assert outcome(mm, v, P, P - 1, MAYMOVE | DONTUNMAP, 0) == (CLEAN, E.EINVAL)
        assert_layout(after, before, map_count=1)


@pytest.mark.parametrize("kernel", THREE)
def test_e_dontunmap_hint_overlapping_the_source(kernel):
    """linux-6.1.md §1.2 step 3, measured: a DONTUNMAP hint that overlaps the source is EINVAL on both
    kernels (the overlap check uses new_addr even as a hint); 5.1: EINVAL (flags)."""
    mm = new_mm(kernel)
    v = anon(mm, 0, 1)
    out = classify_pure(mm, v, P, P, MAYMOVE | DONTUNMAP, v)
    assert (out.kind, out.errno, out.check) == (CLEAN, E.EINVAL,
                                                "validate.flags" if kernel == "5.1" else "validate.overlap")


@pytest.mark.parametrize("kernel", THREE)
def test_e_dontunmap_fixed_on_dontexpand_after_the_destination_unmap(kernel):
    """§3.5.1 6.1 additions: "vma_to_resize() refuses DONTUNMAP on DONTEXPAND/PFNMAP with EINVAL ...
    after the FIXED destination unmap" (linux-6.1.md §1.3 step 3, §8): a DONTUNMAP|FIXED move of a
    DONTEXPAND VMA into the middle of a r-- VMA leaves the destination punched (PARTIAL, +1) on 6.1;
    6.18 checks it in check_prep_vma() before anything (CLEAN); 5.1: EINVAL (flags)."""
    X, Wd = at(0), at(0x40)
    vmas = [VMA(X, X + 4 * P, RW, pgoff=X // P, special=frozenset({"DONTEXPAND"})),
            VMA(Wd, Wd + 10 * P, R, pgoff=Wd // P)]
    mm = AddressSpace.from_vmas(vmas, kernel)
    args = (X, 4 * P, 4 * P, MOVE_FIXED | DONTUNMAP, Wd + 2 * P)
    out = classify_pure(mm, *args)
    want = {"5.1": (CLEAN, E.EINVAL, "validate.flags"), "6.1": (PARTIAL, E.EINVAL, "validate.dontunmap_special"),
            "6.18": (CLEAN, E.EINVAL, "validate.dontunmap_special")}[kernel]
    assert (out.kind, out.errno, out.check) == want
    after, res = run_copy(mm, *args)
    assert isinstance(res, MMError)
    if kernel == "6.1":
        assert after.map_count == 3
        assert [(v.start, v.end) for v in after.vmas()] == [(X, X + 4 * P), (Wd, Wd + 2 * P), (Wd + 6 * P, Wd + 10 * P)]
    else:
        assert after.state() == mm.state()


@pytest.mark.parametrize("kernel", THREE)
def test_e2_dontunmap_drops_the_old_anon_vma(kernel):
    """linux-6.1.md experiment e2, measured: a faulted [0, 4) split by mprotect into X = [0, 2) rw and
    Y = [2, 4) r--, one anon_vma. Control: Y back to rw merges with X (-1) everywhere. After a DONTUNMAP
    of the whole X (to page 8), X has no anon_vma any more (unlink_anon_vmas(), §3.5.4 step 4), so Y
    (faulted) can no longer join it on 6.1 (Δ0, pre-6.16 rule, §2.3 rule 5); 6.18 merges (-1); 5.1
    has no DONTUNMAP (EINVAL; only the control runs)."""
    for dontunmap in (False, True):
        mm = new_mm(kernel)
        v = anon(mm, 0, 4, faulted=True)
        mm.mprotect(v + 2 * P, 2 * P, R)
        assert_layout(mm, [L(0, 2, "rw-p", pg(0), "A", True), L(2, 4, "r--p", pg(2), "A", True)], map_count=2)
        if not dontunmap:
            mm.mprotect(v + 2 * P, 2 * P, RW)
            assert_layout(mm, [L(0, 4, "rw-p", pg(0), "A", True)], map_count=1)
            continue
        if kernel == "5.1":
            with pytest.raises(MMError) as ei:
                mm.mremap(v, 2 * P, 2 * P, MAYMOVE | DONTUNMAP, at(8))
            assert ei.value.errno == E.EINVAL
            continue
        assert mm.mremap(v, 2 * P, 2 * P, MAYMOVE | DONTUNMAP, at(8)) == at(8)
        assert_layout(mm, [L(0, 2, "rw-p", pg(0), None, True), L(2, 4, "r--p", pg(2), "A", True),
                           L(8, 10, "rw-p", pg(0), "A", True)], map_count=3)
        mm.mprotect(v + 2 * P, 2 * P, RW)
        if kernel == "6.18":
            assert_layout(mm, [L(0, 4, "rw-p", pg(0), "A", True), L(8, 10, "rw-p", pg(0), "A", True)], map_count=2)
        else:
            assert_layout(mm, [L(0, 2, "rw-p", pg(0), None, True), L(2, 4, "rw-p", pg(2), "A", True),
                               L(8, 10, "rw-p", pg(0), "A", True)], map_count=3)


# ---- (f): grow in place up to a compatible next VMA -----------------------------------------------

#: (f) and the "anon" grow row: (x written?, y written?) -> Δ per column (5.1, 6.1, 6.18), measured
#: for 6.1 and 6.18 (linux-6.1.md §7 (f), experiment "anon"); 5.1 never merges on grow (§2.4).
F_CASES = {
    "both-unfaulted": ((False, False), (0, -1, -1)),
    "x-faulted": ((True, False), (0, 0, -1)),
    "both-faulted": ((True, True), (0, 0, 0)),
    "y-faulted": ((False, True), (0, -1, -1)),
}


@pytest.mark.parametrize("case", list(F_CASES))
@pytest.mark.parametrize("kernel", THREE)
def test_f_grow_in_place_up_to_next(kernel, case):
    """linux-6.1.md §7 (f): x = [0, 2), y = [4, 6), both rw private anon (y's pgoff continues x's);
    mremap(x, 2P, 4P, 0). 6.1 merges with y (vma_merge(), ca3d76b0aa80) unless x is faulted and y is
    not (§2.3 rule 5: y's anon_vma_chain is empty); 6.18 merges unless both are faulted (different
    anon_vmas); 5.1 extends x with vma_adjust() and never merges. A merged VMA keeps the non-None
    anon_vma; the extension keeps x's."""
    (fx, fy), deltas = F_CASES[case]
    mm = new_mm(kernel)
    x = anon(mm, 0, 2, faulted=fx)
    anon(mm, 4, 2, faulted=fy)
    lx, ly = ("A" if fx else None), ("B" if fx and fy else "A" if fy else None)
    assert_layout(mm, [L(0, 2, "rw-p", pg(0), lx, True), L(4, 6, "rw-p", pg(4), ly, True)], map_count=2)
    after, res = run_copy(mm, x, 2 * P, 4 * P, 0)
    assert res == x
    delta = deltas[THREE.index(kernel)]
    if delta == -1:
        assert_layout(after, [L(0, 6, "rw-p", pg(0), "A" if (fx or fy) else None, True)], map_count=1)
    else:
        assert_layout(after, [L(0, 4, "rw-p", pg(0), lx, True), L(4, 6, "rw-p", pg(4), ly, True)], map_count=2)


# ---- (g): no-op and shrink at an unmapped address ------------------------------------------------------


@pytest.mark.parametrize("kernel", THREE)
def test_g_noop_and_shrink_at_unmapped_addr(kernel):
    """linux-6.1.md §7 (g), measured: the no-op (P, P) and the shrink (2P, P) at an unmapped address fail
    with EFAULT on 6.1 and 6.18 (the VMA lookup first); 5.1 returns addr (no lookup, §3.5.1 step 4).
    A shrink whose tail crosses a hole into the next VMA removes it (-1) on every column."""
    mm = new_mm(kernel)
    for old in (P, 2 * P):
        out = classify_pure(mm, at(2), old, P, 0)
        if kernel == "5.1":
            assert (out.kind, out.result) == (OK, at(2))
        else:
            assert (out.kind, out.errno, out.check) == (CLEAN, E.EFAULT, "validate.no_vma")
    v = anon(mm, 0, 1)
    anon(mm, 2, 1)
    assert_layout(mm, [L(0, 1, "rw-p", pg(0), None, True), L(2, 3, "rw-p", pg(2), None, True)], map_count=2)
    after, res = run_copy(mm, v, 3 * P, P, 0)
    assert res == v
    assert_layout(after, [L(0, 1, "rw-p", pg(0), None, True)], map_count=1)


# ---- (h): new_len > TASK_SIZE without FIXED ---------------------------------------------------------

HUGE = (1 << 47) + P
#: (h): call -> (5.1, 6.1, 6.18) outcome; measured for 6.1 and 6.18 (linux-6.1.md §7 (h)); 5.1 from
#: §3.6 row "new_len > TASK_SIZE": "EINVAL for FIXED only" (and DONTUNMAP is not a 5.1 flag).
H_CASES = {
    "grow-maymove": ((0, P, HUGE, MAYMOVE), ((CLEAN, E.ENOMEM), (CLEAN, E.ENOMEM), (CLEAN, E.EINVAL))),
    "grow": ((0, P, HUGE, 0), ((CLEAN, E.ENOMEM), (CLEAN, E.ENOMEM), (CLEAN, E.EINVAL))),
    "noop": ((0, HUGE, HUGE, 0), ((OK, None), (OK, None), (CLEAN, E.EINVAL))),
    "shrink": ((0, HUGE + P, HUGE, 0), ((CLEAN, E.EINVAL), (CLEAN, E.EINVAL), (CLEAN, E.EINVAL))),
    "dontunmap": ((0, HUGE, HUGE, MAYMOVE | DONTUNMAP), ((CLEAN, E.EINVAL), (CLEAN, E.EINVAL), (CLEAN, E.EINVAL))),
}


@pytest.mark.parametrize("case", list(H_CASES))
@pytest.mark.parametrize("kernel", THREE)
def test_h_new_len_beyond_task_size(kernel, case):
    """linux-6.1.md §7 (h): new_len = 2**47 + P without FIXED, from a 1-page VMA V. 6.1 checks
    new_len > TASK_SIZE only in mremap_to() (FIXED or DONTUNMAP): a grow fails later with ENOMEM (no
    room in place; no placement for MAYMOVE), a no-op returns addr, a shrink's tail munmap is EINVAL;
    6.18 refuses every call with EINVAL in check_mremap_params(). Nothing changes."""
    (page, old, new, flags), want = H_CASES[case]
    mm = new_mm(kernel)
    v = anon(mm, page, 1)
    out = classify_pure(mm, v, old, new, flags, 0)
    assert (out.kind, out.errno) == want[THREE.index(kernel)], str(out)
    if out.kind == OK:
        assert out.result == v
    after, _ = run_copy(mm, v, old, new, flags, 0)
    assert_layout(after, [L(0, 1, "rw-p", pg(0), None, True)], map_count=1)


# ---- (i), (i'), (j) and the other thresholds: errno and Δ by free slots ------------------------------------


def _fixed_free(mm):
    anon(mm, 0, 1)
    return "mremap", (at(0), P, P, MOVE_FIXED, at(6))


def _dontunmap(mm):
    anon(mm, 0, 1)
    return "mremap", (at(0), P, P, MAYMOVE | DONTUNMAP, at(6))


def _dontunmap_fixed(mm):
    anon(mm, 0, 1)
    return "mremap", (at(0), P, P, MOVE_FIXED | DONTUNMAP, at(6))


def _relocate(mm):
    anon(mm, 0, 1)
    anon(mm, 1, 1, R)
    return "mremap", (at(0), P, 2 * P, MAYMOVE)


def _dup_shared(mm):
    anon(mm, 0, 1, RW, SHARED)
    return "mremap", (at(0), 0, P, MAYMOVE)


def _fixed_unmapped_src(mm):
    return "mremap", (at(0), P, P, MOVE_FIXED, at(6))


def _seed_s(mm):
    anon(mm, 0, 10)
    anon(mm, 12, 10, R)
    return "mremap", (at(2), 6 * P, 6 * P, MOVE_FIXED, at(14))


def _multi3(mm):
    for i in (0, 2, 4):
        anon(mm, i, 1)
    anon(mm, 10, 20, R)
    return "mremap", (at(0), 5 * P, 5 * P, MOVE_FIXED, at(15))


def _mmap_fixed_interior(mm):
    anon(mm, 0, 10, R)
    return "mmap", (at(4), P, RW, PRIV | MAP_FIXED)


def _munmap_punch(mm):
    anon(mm, 0, 10, R)
    return "munmap", (at(4), P)


def _mprotect_3way(mm):
    anon(mm, 0, 10)
    return "mprotect", (at(2), P, R)


def _mmap_new(mm):
    return "mmap", (at(0), P, RW, PRIV | MAP_FIXED)


def _band(*spans):
    """{free slots: (errno name, Δ)} from (first free slots, last free slots, errno name, Δ) spans over -1..8."""
    out = {}
    for lo, hi, err, d in spans:
        for s in range(lo, hi + 1):
            out[s] = (err, d)
    assert sorted(out) == list(range(-1, 9))
    return out


#: linux-6.1.md's threshold table (free slots: errno, Δ), measured on 6.1.176 (max 1000) and 6.18.44 (65530):
#: name -> (setup, 6.1 column, 6.18 column). Cases (i): the early check (FIXED, DONTUNMAP,
#: DONTUNMAP|FIXED) at s <= 5 and the move check (relocation, duplicate) at s <= 3; (i'): FIXED from an
#: unmapped source; (j): MAP_FIXED into a VMA's interior; the rest as the report lists them.
THRESHOLDS = {
    "fixed-whole-free": (_fixed_free, _band((-1, 5, "ENOMEM", 0), (6, 8, "OK", 0)), None),
    "dontunmap-hint": (_dontunmap, _band((-1, 5, "ENOMEM", 0), (6, 8, "OK", 1)), None),
    "dontunmap-fixed": (_dontunmap_fixed, _band((-1, 5, "ENOMEM", 0), (6, 8, "OK", 1)), None),
    "maymove-relocation": (_relocate, _band((-1, 3, "ENOMEM", 0), (4, 8, "OK", 0)), None),
    "old-len-0-duplicate": (_dup_shared, _band((-1, 3, "ENOMEM", 0), (4, 8, "OK", 1)), None),
    "fixed-from-unmapped-source": (_fixed_unmapped_src, _band((-1, 8, "EFAULT", 0)),
                                   _band((-1, 5, "ENOMEM", 0), (6, 8, "EFAULT", 0))),
    "seed-s": (_seed_s, _band((-1, 5, "ENOMEM", 0), (6, 8, "OK", 3)), None),
    "multi-vma": (_multi3, _band((-1, 5, "ENOMEM", 0), (6, 8, "EFAULT", 1)),
                  _band((-1, 5, "ENOMEM", 0), (6, 6, "ENOMEM", 3), (7, 8, "OK", 3))),
    "mmap-fixed-interior": (_mmap_fixed_interior, _band((-1, 0, "ENOMEM", 0), (1, 8, "OK", 2)), None),
    "munmap-punch": (_munmap_punch, _band((-1, 0, "ENOMEM", 0), (1, 8, "OK", 1)), None),
    "mprotect-3way": (_mprotect_3way, _band((-1, 0, "ENOMEM", 0), (1, 1, "ENOMEM", 1), (2, 8, "OK", 2)), None),
    "mmap-new": (_mmap_new, _band((-1, -1, "ENOMEM", 0), (0, 8, "OK", 1)), None),
}


@pytest.mark.parametrize("case", list(THRESHOLDS))
@pytest.mark.parametrize("kernel", ["6.1", "6.18"])
def test_thresholds_measured_on_6_1_and_6_18(kernel, case):
    """linux-6.1.md §1.5 and §7 (i), (i'), (j): errno and map_count change at -1 free slots..8 for each case, as
    measured on both kernels (a 6.18 column of None means: identical to 6.1's). The layouts are the
    live experiment's; filler brings map_count to max - s (helpers.at_free_slots)."""
    setup, col61, col618 = THRESHOLDS[case]
    want = col61 if kernel == "6.1" or col618 is None else col618
    mm = new_mm(kernel, filled=True)
    op, args = setup(mm)
    for s in range(-1, 9):
        at_free_slots(mm, s)
        out = classify_pure(mm, *args, op=op)
        got = ("OK" if out.errno is None else E.errorcode[out.errno], out.mc_after - out.mc_before)
        assert got == want[s], f"{case} s={s}: {out}"


# ---- misc: old_len 0 ------------------------------------------------------------------------------


@pytest.mark.parametrize("kernel", THREE)
def test_old_len_zero_cases(kernel):
    """linux-6.1.md experiment "misc", measured: old_len 0 on a shared VMA with MAYMOVE duplicates it (+1)
    and without MAYMOVE is ENOMEM, on both kernels (and 5.1, §3.5.7); old_len 0 on a private VMA, FIXED
    onto a VMA, is EINVAL with the destination punched (+1) on 6.1 (vma_to_resize() after do_munmap(),
    as on 5.1), and EINVAL with nothing changed on 6.18."""
    mm = new_mm(kernel)
    s = anon(mm, 0, 2, RW, SHARED)
    assert outcome(mm, s, 0, P, MAYMOVE) == (OK, None)
    after, res = run_copy(mm, s, 0, P, MAYMOVE)
    assert_layout(after, [L(0, 2, "rw-s", 0, None, False), L(TOP - 1, TOP, "rw-s", 0, None, False)], map_count=2)
    assert outcome(mm, s, 0, P, 0) == (CLEAN, E.ENOMEM)
    mm = new_mm(kernel)
    v = anon(mm, 0, 2)
    anon(mm, 8, 10, R)
    after, res = run_copy(mm, v, 0, P, MOVE_FIXED, at(10))
    assert isinstance(res, MMError) and (res.errno, res.check) == (E.EINVAL, "validate.old_len_zero_private")
    if kernel == "6.18":
        assert outcome(mm, v, 0, P, MOVE_FIXED, at(10)) == (CLEAN, E.EINVAL)
        assert_layout(after, [L(0, 2, "rw-p", pg(0), None, True), L(8, 18, "r--p", pg(8), None, False)], map_count=2)
    else:
        assert outcome(mm, v, 0, P, MOVE_FIXED, at(10)) == (PARTIAL, E.EINVAL)
        assert_layout(after, [L(0, 2, "rw-p", pg(0), None, True), L(8, 10, "r--p", pg(8), None, False),
                              L(11, 18, "r--p", pg(11), None, False)], map_count=3)


# ---- placement in user-mode Linux 6.1 (linux-6.1.md §6; semantics §2.8 "Bottom-up layout") -------------

UML_MMAP_BASE = 0x40000000  # TASK_UNMAPPED_BASE of user-mode Linux


def test_uml_bottom_up_placement():
    """linux-6.1.md §6, measured under user-mode Linux 6.1.176: generic_get_unmapped_area() searches
    bottom-up from mmap_base = 0x40000000 (the second of two hint-less probes lands above the first);
    TASK_SIZE is 0x7fc0000000 (MAP_FIXED at TASK_SIZE -> ENOMEM; the last page below it can be mapped);
    with the kernel's mmap_min_addr of 65536 (CONFIG_LSM_MMAP_MIN_ADDR; the model's default
    lsm_mmap_min_addr), hints 0x1000, 0x1001, 0x5000 and 0xf000 land at 0x10000 and 0x20000 is used as given."""
    mm = AddressSpace("6.1", layout="bottomup", mmap_base=UML_MMAP_BASE, task_size=UML_TASK_SIZE)
    sa = MAP_SHARED | mmsim.MAP_ANONYMOUS
    first, second = mm.mmap(0, P, 0, sa), mm.mmap(0, P, 0, sa)
    assert (first, second) == (UML_MMAP_BASE, UML_MMAP_BASE + P)
    with pytest.raises(MMError) as ei:
        mm.mmap(UML_TASK_SIZE, P, 0, PRIV | MAP_FIXED)
    assert ei.value.errno == E.ENOMEM
    assert mm.mmap(UML_TASK_SIZE - P, P, 0, PRIV | MAP_FIXED) == UML_TASK_SIZE - P
    for hint, want in ((0x1000, 0x10000), (0x1001, 0x10000), (0x5000, 0x10000), (0xF000, 0x10000),
                       (0x20000, 0x20000)):
        got = mm.mmap(hint, P, 0, PRIV)
        assert got == want, hex(hint)
        mm.munmap(got, P)
    assert mm.map_count == 3


# ---- the anon_vma merge rule (semantics §2.3 rule 5, §7.6), every profile ------------------------------
#
# T.ANON_PRE_6_16 = 5.0, 5.1, 6.1, 5.1-alt, ideal (FEATURE_ROWS checks it against §3.6): a faulted range
# (R) cannot join an unfaulted neighbour (N) -- is_mergeable_anon_vma(R.anon_vma, NULL, N) needs N's
# anon_vma_chain singular, and an unfaulted N's is empty. The three-way test passes no VMA, so it is
# symmetric. 6.18/7.1 accept one NULL side either way.


@pytest.mark.parametrize("kernel", KERNELS)
def test_anon_mprotect_faulted_vma_to_match_unfaulted_prev(kernel):
    """Experiment "anon" row 2 (measured: 6.1 Δ0, 6.18 -1): a NORESERVE RW VMA split into x = [0, 4) r--
    and y = [4, 6) rw, y written. mprotect(y, R): the whole y could join x. Pre-6.16: no merge (2 VMAs);
    6.18/7.1: one VMA, with y's anon_vma."""
    mm = new_mm(kernel)
    anon(mm, 0, 6, RW, NORES)
    mm.mprotect(at(0), 4 * P, R)
    mm.touch(at(4), 2 * P)
    assert_layout(mm, [L(0, 4, "r--p", pg(0), None, False), L(4, 6, "rw-p", pg(4), "A", False)], map_count=2)
    mm.mprotect(at(4), 2 * P, R)
    if kernel in T.ANON_PRE_6_16:
        assert_layout(mm, [L(0, 4, "r--p", pg(0), None, False), L(4, 6, "r--p", pg(4), "A", False)], map_count=2)
    else:
        assert_layout(mm, [L(0, 6, "r--p", pg(0), "A", False)], map_count=1)


@pytest.mark.parametrize("kernel", KERNELS)
def test_anon_mprotect_unfaulted_tail_to_match_faulted_next(kernel):
    """Experiment "anon" row 3 (measured: Δ0 on both): x = [0, 4) r-- unfaulted, y = [4, 6) rw written.
    mprotect(x's tail [2, 4), RW): an unfaulted range joins a faulted neighbour in every profile (no
    split, Δ0); y grows down and keeps its anon_vma."""
    mm = new_mm(kernel)
    anon(mm, 0, 6, RW, NORES)
    mm.mprotect(at(0), 4 * P, R)
    mm.touch(at(4), 2 * P)
    mm.mprotect(at(2), 2 * P, RW)
    assert_layout(mm, [L(0, 2, "r--p", pg(0), None, False), L(2, 6, "rw-p", pg(2), "A", False)], map_count=2)


@pytest.mark.parametrize("kernel", KERNELS)
def test_anon_mprotect_faulted_middle_between_unfaulted(kernel):
    """§2.3 rules 5 and 7: r-- [0, 6) NORESERVE, the middle [2, 4) made rw and written (its own anon_vma),
    then back to r--: the whole middle could join both unfaulted sides. Pre-6.16 neither side accepts a
    faulted range: 3 VMAs. 6.18/7.1: prev and next are both NULL (compatible), one VMA with A."""
    mm = new_mm(kernel)
    anon(mm, 0, 6, R, NORES)
    mm.mprotect(at(2), 2 * P, RW)
    mm.touch(at(2), 2 * P)
    mm.mprotect(at(2), 2 * P, R)
    if kernel in T.ANON_PRE_6_16:
        assert_layout(mm, [L(0, 2, "r--p", pg(0), None, False), L(2, 4, "r--p", pg(2), "A", False),
                           L(4, 6, "r--p", pg(4), None, False)], map_count=3)
    else:
        assert_layout(mm, [L(0, 6, "r--p", pg(0), "A", False)], map_count=1)


@pytest.mark.parametrize("kernel", KERNELS)
def test_anon_mprotect_unfaulted_middle_between_faulted_and_unfaulted(kernel):
    """§2.3 rule 7, unchanged: rw [0, 6) NORESERVE with the middle [2, 4) made r--, then [0, 2) written
    (A). The middle back to rw joins both sides in every profile: the unfaulted middle is accepted by the
    faulted prev and the unfaulted next, and prev/next (A, NULL) are compatible (the three-way test
    passes no VMA before 6.16): one VMA with A."""
    mm = new_mm(kernel)
    anon(mm, 0, 6, RW, NORES)
    mm.mprotect(at(2), 2 * P, R)
    mm.touch(at(0), 2 * P)
    assert_layout(mm, [L(0, 2, "rw-p", pg(0), "A", False), L(2, 4, "r--p", pg(2), None, False),
                       L(4, 6, "rw-p", pg(4), None, False)], map_count=3)
    mm.mprotect(at(2), 2 * P, RW)
    assert_layout(mm, [L(0, 6, "rw-p", pg(0), "A", False)], map_count=1)


@pytest.mark.parametrize("kernel", KERNELS)
def test_anon_copy_vma_faulted_source_next_to_unfaulted_prev(kernel):
    """copy_vma() of a faulted source landing right after an unfaulted compatible VMA whose pgoff fits
    (§2.3 rule 5 "for copy_vma() of a faulted source"). y = [4, 8) written (pgoff 4-based) is moved far
    away (its pgoff and anon_vma kept, §2.5), x = [0, 4) is mapped fresh (unfaulted), and y is moved
    back to [4, 8): pgoff x + 4 = y's. Pre-6.16: no merge, 2 VMAs; 6.18/7.1: one VMA with y's anon_vma.
    Each move: copy +1, source (whole) -1."""
    mm = new_mm(kernel)
    y = anon(mm, 4, 4, faulted=True)
    mm.mremap(y, 4 * P, 4 * P, MOVE_FIXED, at(F))
    anon(mm, 0, 4)
    assert_layout(mm, [L(0, 4, "rw-p", pg(0), None, True), L(F, F + 4, "rw-p", pg(4), "A", True)], map_count=2)
    after, res = run_copy(mm, at(F), 4 * P, 4 * P, MOVE_FIXED, at(4))
    assert res == at(4)
    if kernel in T.ANON_PRE_6_16:
        assert_layout(after, [L(0, 4, "rw-p", pg(0), None, True), L(4, 8, "rw-p", pg(4), "A", True)], map_count=2)
    else:
        assert_layout(after, [L(0, 8, "rw-p", pg(0), "A", True)], map_count=1)


@pytest.mark.parametrize("kernel", KERNELS)
def test_anon_copy_vma_faulted_file_source_next_to_unfaulted_prev(kernel):
    """The same with a private file mapping, where pgoff contiguity is the file offset: x = file pages
    [0, 4) at page 0 (unfaulted), y = file pages [4, 8) at page 0x40, written (a write fault on a private
    file mapping attaches an anon_vma, §2.6). FIXED move of y to page 4: copy_vma keeps the file pgoff
    4 (§2.5), so it fits x. Pre-6.16: 2 VMAs; 6.18/7.1: one VMA [0, 8) with y's anon_vma."""
    mm = new_mm(kernel)
    fd = mm.open("f", 8 * P)
    fmap(mm, fd, 0, 4, 0, RW)
    y = fmap(mm, fd, 0x40, 4, 4, RW)
    mm.touch(y, 4 * P)
    assert_layout(mm, [L(0, 4, "rw-p", 0, None, True), L(0x40, 0x44, "rw-p", 4, "A", True)], map_count=2)
    after, res = run_copy(mm, y, 4 * P, 4 * P, MOVE_FIXED, at(4))
    assert res == at(4)
    if kernel in T.ANON_PRE_6_16:
        assert_layout(after, [L(0, 4, "rw-p", 0, None, True), L(4, 8, "rw-p", 4, "A", True)], map_count=2)
    else:
        assert_layout(after, [L(0, 8, "rw-p", 0, "A", True)], map_count=1)


@pytest.mark.parametrize("kernel", KERNELS)
def test_anon_copy_vma_faulted_source_into_gap_between_unfaulted(kernel):
    """copy_vma() three ways: y = [2, 4) written is moved far away, [0, 2) and [4, 6) mapped fresh
    (unfaulted, pgoffs 0- and 4-based), y moved back into the gap. Pre-6.16 neither neighbour accepts
    the faulted copy: 3 VMAs; 6.18/7.1: prev + copy + next, one VMA with y's anon_vma."""
    mm = new_mm(kernel)
    y = anon(mm, 2, 2, faulted=True)
    mm.mremap(y, 2 * P, 2 * P, MOVE_FIXED, at(F))
    anon(mm, 0, 2)
    anon(mm, 4, 2)
    after, res = run_copy(mm, at(F), 2 * P, 2 * P, MOVE_FIXED, at(2))
    assert res == at(2)
    if kernel in T.ANON_PRE_6_16:
        assert_layout(after, [L(0, 2, "rw-p", pg(0), None, True), L(2, 4, "rw-p", pg(2), "A", True),
                              L(4, 6, "rw-p", pg(4), None, True)], map_count=3)
    else:
        assert_layout(after, [L(0, 6, "rw-p", pg(0), "A", True)], map_count=1)


@pytest.mark.parametrize("kernel", KERNELS)
def test_anon_copy_vma_unfaulted_source_into_gap_after_faulted(kernel):
    """Unchanged everywhere: an unfaulted 2-page VMA moved (FIXED) into the gap between a faulted [0, 2)
    (A) and an unfaulted [4, 6): its pgoff is reset to the new address (§2.5), the faulted prev accepts
    an unfaulted range, the unfaulted next too, and prev/next (A, NULL) are compatible: one VMA with A."""
    mm = new_mm(kernel)
    anon(mm, 0, 2, faulted=True)
    anon(mm, 4, 2)
    z = anon(mm, 0x40, 2)
    after, res = run_copy(mm, z, 2 * P, 2 * P, MOVE_FIXED, at(2))
    assert res == at(2)
    assert_layout(after, [L(0, 6, "rw-p", pg(0), "A", True)], map_count=1)


@pytest.mark.parametrize("kernel", KERNELS)
def test_anon_grow_unfaulted_up_to_faulted_next(kernel):
    """Grow in place of an unfaulted x up to a faulted y (experiment "anon" row 4, measured: -1 on 6.1
    and 6.18): every profile that merges on grow (T.GROW_MERGES) takes y in (an unfaulted range joins a
    faulted neighbour), keeping y's anon_vma; 5.0/5.1 (and 5.1-alt, ideal) never merge on grow."""
    mm = new_mm(kernel)
    x = anon(mm, 0, 2)
    anon(mm, 4, 2, faulted=True)
    after, res = run_copy(mm, x, 2 * P, 4 * P, 0)
    assert res == x
    if kernel in T.GROW_MERGES:
        assert_layout(after, [L(0, 6, "rw-p", pg(0), "A", True)], map_count=1)
    else:
        assert_layout(after, [L(0, 4, "rw-p", pg(0), None, True), L(4, 6, "rw-p", pg(4), "A", True)], map_count=2)


@pytest.mark.parametrize("kernel", KERNELS)
def test_anon_grow_faulted_up_to_faulted_next_with_the_same_anon_vma(kernel):
    """Grow in place into a hole punched in a faulted VMA: both pieces share the anon_vma (§2.1), so the
    grow joins them where grow merges (6.1: vma_merge() with prev = x and next, both the same anon_vma;
    6.18/7.1: vma_merge_extend()): one VMA again; 5.0/5.1 and the profiles built on them: two."""
    mm = new_mm(kernel)
    v = anon(mm, 0, 6, faulted=True)
    mm.munmap(at(2), 2 * P)
    assert_layout(mm, [L(0, 2, "rw-p", pg(0), "A", True), L(4, 6, "rw-p", pg(4), "A", True)], map_count=2)
    after, res = run_copy(mm, v, 2 * P, 4 * P, 0)
    assert res == v
    if kernel in T.GROW_MERGES:
        assert_layout(after, [L(0, 6, "rw-p", pg(0), "A", True)], map_count=1)
    else:
        assert_layout(after, [L(0, 4, "rw-p", pg(0), "A", True), L(4, 6, "rw-p", pg(4), "A", True)], map_count=2)


@pytest.mark.parametrize("kernel", KERNELS)
def test_anon_touch_and_mmap_are_unchanged(kernel):
    """The rule never matters for mmap (a new range has no anon_vma) or for anon_vma reuse on a fault
    (find_mergeable_anon_vma(), next first, then prev: the same in 6.1 and 6.18, linux-6.1.md §5). A fresh
    mmap right after a faulted VMA merges (experiment "anon" last row, measured: Δ0 on both); a VMA
    written next to a faulted, compatible (R/W/X aside) neighbour reuses its anon_vma."""
    mm = new_mm(kernel)
    anon(mm, 0, 2, faulted=True)
    anon(mm, 2, 2)
    assert_layout(mm, [L(0, 4, "rw-p", pg(0), "A", True)], map_count=1)
    anon(mm, 4, 2, RWX)
    mm.touch(at(4), 2 * P)
    assert_layout(mm, [L(0, 4, "rw-p", pg(0), "A", True), L(4, 6, "rwxp", pg(4), "A", True)], map_count=2)


@pytest.mark.parametrize("kernel", KERNELS)
def test_anon_mprotect_faulted_head_to_match_unfaulted_prev(kernel):
    """§2.3 rule 5 for the head of a VMA (the mprotect range starts at the VMA's start, candidate prev,
    §2.4): x = [0, 4) r-- unfaulted, y = [4, 8) rw written; mprotect(y's head [4, 6), R). Pre-6.16 the
    faulted head cannot join x: y splits (+1). 6.18/7.1: the head joins x (Δ0) and x takes y's anon_vma."""
    mm = new_mm(kernel)
    anon(mm, 0, 8, RW, NORES)
    mm.mprotect(at(0), 4 * P, R)
    mm.touch(at(4), 4 * P)
    mm.mprotect(at(4), 2 * P, R)
    tail = L(6, 8, "rw-p", pg(6), "A", False)
    if kernel in T.ANON_PRE_6_16:
        assert_layout(mm, [L(0, 4, "r--p", pg(0), None, False), L(4, 6, "r--p", pg(4), "A", False), tail],
                      map_count=3)
    else:
        assert_layout(mm, [L(0, 6, "r--p", pg(0), "A", False), tail], map_count=2)


@pytest.mark.parametrize("kernel", KERNELS)
def test_anon_rule_decides_whether_mprotect_needs_a_free_slot(kernel):
    """A consequence at the limit: the call of experiment "anon" row 1 (a faulted tail of x to r--, next
    to an unfaulted r-- y) is a pure merge on 6.18/7.1 (no split, no check: it works at s = 0, §4 row
    "mprotect pure merge: any"), but a checked split before 6.16, where it cannot merge: at s = 0 it
    fails with ENOMEM from split_limit and changes nothing (§4 row "mprotect 2-way split: 1; C")."""
    mm = new_mm(kernel, max_map_count=2)
    anon(mm, 0, 6, RW, NORES)
    mm.mprotect(at(4), 2 * P, R)
    mm.touch(at(0), 4 * P)
    assert mm.free_slots == 0
    out = classify_pure(mm, at(2), 2 * P, R, op="mprotect")
    if kernel in T.ANON_PRE_6_16:
        assert (out.kind, out.errno, out.check, out.mc_after) == (CLEAN, E.ENOMEM, "split_limit", 2)
    else:
        assert (out.kind, out.mc_after) == (OK, 2)
        after, _ = run_copy(mm, at(2), 2 * P, R, op="mprotect")
        assert_layout(after, [L(0, 2, "rw-p", pg(0), "A", False), L(2, 6, "r--p", pg(2), "A", False)], map_count=2)
