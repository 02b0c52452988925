"""Semantics §7 worked examples and §8 step traces, every profile, read from the §7 tables.

The tables live once in :mod:`semantics_tables` (cells as the semantics print them, e.g.
``"PARTIAL(fp) 65529 move"``; bracketed checks derived from the rules, derivations in the tests'
docstrings). Each worked example that changes the address space asserts the whole arena before
and after the call (start, end, perms, pgoff, anon_vma, VM_ACCOUNT) and map_count, with
``assert_layout``. Tables are keyed by profile, every profile of mmsim.KERNELS = ("5.0", "5.1", "6.1",
"6.18", "7.1", "5.1-alt", "ideal"); the 6.1 cell of §7.1-§7.5 is the 5.1 cell (semantics §7.6, last
paragraph).
"""

from __future__ import annotations

import errno as E

import pytest
import semantics_tables as T
from helpers import (
    MAX,
    MOVE_FIXED,
    PRIV,
    RW,
    L,
    P,
    R,
    anon,
    assert_cell,
    assert_layout,
    assert_trace_counts,
    at,
    at_free_slots,
    classify_pure,
    failing_records,
    new_mm,
    pg,
    run_copy,
    top_steps,
)
from mremap_builders import DEST, abc, mprotect_x, seed, whole_onto_k

import mmsim
from mmsim import MAP_NORESERVE, MMError

COLS = T.COLS


def _params(table: dict[int, dict[str, str]]):
    return [pytest.param(s, k, table[s][k], id=f"s{s}-{k}") for s in table for k in COLS]


# ---- §7.1 Seed-W ----------------------------------------------------------------------------

#: The §7.1/§7.2 layout before the call: O = [0, 10) RW private anon, unfaulted (pgoff = addr/P,
#: VM_ACCOUNT: private and writable, semantics §2.5, §2.7); D = [20, 30) R private anon (no VM_ACCOUNT).
SEED_LAYOUT = [L(0, 10, "rw-p", pg(0), None, True), L(20, 30, "r--p", pg(20), None, False)]


def seed_w(kernel: str, s: int):
    mm, O_, D = seed(kernel)
    at_free_slots(mm, s)
    return classify_pure(mm, O_ + 2 * P, 6 * P, 3 * P, MOVE_FIXED, D + 2 * P)


@pytest.mark.parametrize("s,kernel,text", _params(T.SEED_W))
def test_seed_w_table(s, kernel, text):
    """Semantics §7.1 Seed-W: mremap(O+2P, 6P, 3P, MAYMOVE|FIXED, D+2P), table cell for (s, profile).

    Bracketed checks (not printed in the semantics cell) follow §3.5/§3.6: 5.1 and 6.18 reject every
    FIXED call at s <= 5 with mremap_early (mc + 2 >= max - 3); 7.1 rejects every call at s <= 3
    with mremap_early_v7 (mc + 4 > max); 5.1-alt's trigger fires at s <= 5 and its prediction is
    +2 (destination punch +1, tail punch +1), so alt_early fires when mc + 2 >= max - 3, i.e. s <= 5.
    """
    out = seed_w(kernel, s)
    assert out.mc_before == MAX - s
    assert_cell(out, kernel, text)


@pytest.mark.parametrize("kernel", COLS)
@pytest.mark.parametrize("s", range(9))
def test_seed_w_ideal_ok(kernel, s):
    """Semantics §6/§7.1: ideal_ok is "what ideal(P) would do". Seed-W's unchecked run fails the
    destination punch at s=0, the tail punch at s=1 and R3 at s=2 (final 65531 > max, increased),
    and is within the limits from s=3 (the ideal column) -- in every profile, the modern flow doing
    the same unmaps. The semantics state it for 5.1: rejected at s=3-5 although ideal_ok is True."""
    assert seed_w(kernel, s).ideal_ok is (s >= 3)


def test_seed_w_live_6_18():
    """Semantics §7.1 LIVE (6.18.44): ENOMEM with no change at mc = 65525...65529, success at 65524."""
    for mc in range(65525, 65530):
        out = seed_w("6.18", 65530 - mc)
        assert (out.kind, out.errno, out.mc_after) == ("CLEAN_FAIL", E.ENOMEM, mc)
    out = seed_w("6.18", 6)
    assert out.mc_before == 65524 and out.kind == "OK" and out.result == seed("6.18")[2] + 2 * P


#: Semantics §7.1/§7.2 steps at s = 8 (mc 65522), new_len -> the whole arena afterwards. Seed-W (new 3):
#: destination [22, 25) punched out of D (+1); tail [5, 8) punched out of O (+1); copy_vma of [2, 5) to
#: [22, 25) (+1): unfaulted private anon, so its pgoff is reset to new_addr/P (§2.5) and it keeps
#: VM_ACCOUNT; R neighbours, so no merge; the source [2, 5) is now a trim of [0, 5) (0). Seed-S (new 6):
#: destination [22, 28) punched out of D (+1); copy_vma of [2, 8) to [22, 28) (+1, pgoff reset); source
#: [2, 8) punched out of O (+1). Both net +3 = 65525 (the s = 8 cells): O ends as 2 VMAs, D's range as 3
#: (two D pieces with the moved RW VMA between them). Upper split pieces get pgoff + offset (§2.1).
SEED_SHAPES = {
    "seed-W": (3, [
        L(0, 2, "rw-p", pg(0), None, True),
        L(8, 10, "rw-p", pg(8), None, True),
        L(20, 22, "r--p", pg(20), None, False),
        L(22, 25, "rw-p", pg(22), None, True),
        L(25, 30, "r--p", pg(25), None, False),
    ]),
    "seed-S": (6, [
        L(0, 2, "rw-p", pg(0), None, True),
        L(8, 10, "rw-p", pg(8), None, True),
        L(20, 22, "r--p", pg(20), None, False),
        L(22, 28, "rw-p", pg(22), None, True),
        L(28, 30, "r--p", pg(28), None, False),
    ]),
}


@pytest.mark.parametrize("kernel", COLS)
@pytest.mark.parametrize("name", list(SEED_SHAPES))
def test_seed_final_shapes(name, kernel):
    """Semantics §7.1/§7.2: mremap(O+2P, 6P, new, MAYMOVE|FIXED, D+2P) at s = 8, before and after
    (SEED_SHAPES)."""
    new, expected = SEED_SHAPES[name]
    mm, O_, D = seed(kernel)
    at_free_slots(mm, 8)
    assert_layout(mm, SEED_LAYOUT, map_count=65522)
    after, res = run_copy(mm, O_ + 2 * P, 6 * P, new * P, MOVE_FIXED, D + 2 * P)
    assert res == D + 2 * P
    assert after.map_count == mm.map_count + 3
    table = T.SEED_W if name == "seed-W" else T.SEED_S
    assert_layout(after, expected, map_count=T.cell(T.by_free_slots(table, kernel)[8]).mc_after)  # 65525


# ---- §7.2 Seed-S ----------------------------------------------------------------------------


def seed_s(kernel: str, s: int):
    mm, O_, D = seed(kernel)
    at_free_slots(mm, s)
    return classify_pure(mm, O_ + 2 * P, 6 * P, 6 * P, MOVE_FIXED, D + 2 * P)


@pytest.mark.parametrize("s,kernel,text", _params(T.SEED_S))
def test_seed_s_table(s, kernel, text):
    """Semantics §7.2 Seed-S: mremap(O+2P, 6P, 6P, MAYMOVE|FIXED, D+2P).

    Bracketed checks: 5.1/6.18 mremap_early at s <= 5; 7.1 mremap_early_v7 at s <= 3; 5.1-alt:
    trigger at s <= 5, pred = +1 (destination punch, no tail), fires when mc + 1 >= max - 3, i.e.
    s <= 4 (semantics: "so it rejects only s <= 4")."""
    out = seed_s(kernel, s)
    assert out.mc_before == MAX - s
    assert_cell(out, kernel, text)


@pytest.mark.parametrize("kernel", ["5.1", "6.1", "6.18"])
@pytest.mark.parametrize("s", range(9))
def test_seed_s_ideal_ok(kernel, s):
    """Semantics §6: ideal_ok = within limits with every A-check disabled. Seed-S unchecked fails the
    destination punch at s=0 and the (swallowed, so R2-violating) source punch at s=1-2; from s=3 it
    is within the limits (the ideal column)."""
    assert seed_s(kernel, s).ideal_ok is (s >= 3)


def test_seed_s_live_6_18():
    """Semantics §7.2 LIVE: the same ENOMEM band as Seed-W (no change at 65525...65529), success at 65524."""
    for s in range(1, 6):
        out = seed_s("6.18", s)
        assert out.errno == E.ENOMEM and out.mc_after == out.mc_before
    assert seed_s("6.18", 6).kind == "OK"


# ---- §7.3 destination covers k whole VMAs ----------------------------------------------------


def onto_k(kernel: str, k: int, s: int):
    mm, S, d = whole_onto_k(kernel, k)
    at_free_slots(mm, s)
    return classify_pure(mm, S, k * P, k * P, MOVE_FIXED, d)


@pytest.mark.parametrize("s,kernel,text", _params(T.K1))
def test_whole_onto_1_table(s, kernel, text):
    """Semantics §7.3, k=1: mremap(S, P, P, MAYMOVE|FIXED, d) onto one whole 1-page shared VMA.

    Steps: destination -1, copy +1, source -1. Bracketed checks: 5.0's failure comes after the
    destination unmap, so it is move_vma_limit (mc - 1 >= max - 3 at s <= 2); 5.1/6.18 reject at
    s <= 5 (mremap_early); 7.1 at s <= 3 (mremap_early_v7); 5.1-alt predicts -1, so alt_early
    fires when mc - 1 >= max - 3, i.e. s <= 2."""
    out = onto_k(kernel, 1, s)
    assert out.mc_before == MAX - s
    assert_cell(out, kernel, text)


@pytest.mark.parametrize("s,kernel,text", _params(T.K3))
def test_whole_onto_3_table(s, kernel, text):
    """Semantics §7.3, k=3 (rows "1-3" and "4-5" expanded; "FP" cells keep mc unchanged by definition).

    Bracketed checks as for k=1; 5.1-alt predicts -3, so it fires only at s = 0."""
    out = onto_k(kernel, 3, s)
    assert out.mc_before == MAX - s
    assert_cell(out, kernel, text)


@pytest.mark.parametrize("kernel", COLS)
def test_whole_onto_k_final_state(kernel):
    """Semantics §7.3 steps at s = 8 (mc 65522), k = 3: the destination's 3 shared VMAs removed (-3),
    copy_vma to [0x100, 0x103) (+1): faulted, so pgoff kept = S/P and the same anon_vma identity
    (§2.5, §3.5.4); the source, a whole VMA, removed (-1). Net -k = 65519."""
    k = 3
    mm, S, d = whole_onto_k(kernel, k)
    at_free_slots(mm, 8)
    shared = [L(DEST + i, DEST + i + 1, "rw-s", 0, None, False) for i in range(k)]
    assert_layout(mm, [L(0, k, "rw-p", pg(0), "A", True), *shared], map_count=65522)
    src = mm.vma_at(S)
    after, res = run_copy(mm, S, k * P, k * P, MOVE_FIXED, d)
    assert res == d and after.map_count == mm.map_count - k
    assert_layout(after, [L(DEST, DEST + k, "rw-p", pg(0), "A", True)], map_count=65519)
    assert after.vma_at(d).anon_vma == src.anon_vma


# ---- §7.4 mprotect partial split -------------------------------------------------------------


@pytest.mark.parametrize("kernel", COLS)
@pytest.mark.parametrize("s", sorted(T.MPROTECT))
def test_mprotect_three_way(kernel, s):
    """Semantics §7.4: mprotect(X+2P, P, PROT_READ) on a 10-page RW VMA with non-mergeable
    neighbours. Every profile but ideal leaves the first split at s=1 (PARTIAL, split_limit on the
    second split); ideal is transactional (CLEAN). The failing check is split_limit (§3.3 step 5)."""
    mm, X = mprotect_x(kernel)
    at_free_slots(mm, s)
    out = classify_pure(mm, X + 2 * P, P, mmsim.PROT_READ, op="mprotect")
    assert_cell(out, kernel, T.mprotect_cells(kernel, s)[0])
    if out.errno is not None:
        assert out.check == "split_limit"


@pytest.mark.parametrize("kernel", [k for k in COLS if k != "ideal"])
def test_mprotect_three_way_partial_state(kernel):
    """Semantics §7.4, s=1: "X is now [X, X+2P) rw and [X+2P, X+10P) rw; second split failed": the
    first split (+1, upper piece pgoff + 2, §2.1) stays, both pieces keep RW and VM_ACCOUNT, and
    the shared neighbours at pages 0 and 11 are untouched. mc 65529 + 1 = 65530."""
    mm, X = mprotect_x(kernel)
    at_free_slots(mm, 1)
    assert_layout(mm, [
        L(0, 1, "rw-s", 0, None, False), L(1, 11, "rw-p", pg(1), None, True), L(11, 12, "rw-s", 0, None, False),
    ], map_count=65529)
    after, res = run_copy(mm, X + 2 * P, P, mmsim.PROT_READ, op="mprotect")
    assert isinstance(res, MMError) and res.errno == E.ENOMEM and res.check == "split_limit"
    assert_layout(after, [
        L(0, 1, "rw-s", 0, None, False),
        L(1, 3, "rw-p", pg(1), None, True),
        L(3, 11, "rw-p", pg(3), None, True),
        L(11, 12, "rw-s", 0, None, False),
    ], map_count=T.cell(T.mprotect_cells(kernel, 1)[0]).mc_after)  # "PARTIAL 65530"


@pytest.mark.parametrize("kernel", COLS)
@pytest.mark.parametrize("s", sorted(T.MPROTECT))
def test_mprotect_two_way(kernel, s):
    """Semantics §7.4: mprotect(X, P, PROT_READ): one checked split (fails at s=0), all profiles."""
    mm, X = mprotect_x(kernel)
    at_free_slots(mm, s)
    out = classify_pure(mm, X, P, mmsim.PROT_READ, op="mprotect")
    assert_cell(out, kernel, T.mprotect_cells(kernel, s)[1])
    if out.errno is not None:
        assert out.check == "split_limit"


# ---- §7.5 multi-VMA partial move -------------------------------------------------------------


def multi(kernel: str, s: int):
    mm, a, D = abc(kernel)
    at_free_slots(mm, s)
    return classify_pure(mm, a, 5 * P, 5 * P, MOVE_FIXED, D + 5 * P)


@pytest.mark.parametrize("s,kernel,text", _params(T.MULTI))
def test_multi_vma_table(s, kernel, text):
    """Semantics §7.5: mremap(a, 5P, 5P, MAYMOVE|FIXED, D+5P) over A, B, C, every profile.

    6.18/7.1 (multi-VMA move, §3.5.5): each piece +1 (destination punch +1, copy +1, source -1);
    6.18 early at s <= 5, then the per-piece move check fails on piece 3 at s=6; 7.1 early_v7 at
    s=3, then piece 3's move_vma_limit_v7 at s=4. 5.0: the destination [D+5P, D+10P) is an interior
    punch (+1), then vma_to_resize finds [a, a+5P) crossing A's end (EFAULT, PARTIAL). 5.1:
    mremap_early at s <= 5, else as 5.0. 5.1-alt: see semantics_tables.MULTI (s = 5 follows
    §3.5.8, not the §7.5 cell). ideal: the 5.0 flow rolled back (CLEAN EFAULT)."""
    out = multi(kernel, s)
    assert out.mc_before == MAX - s
    assert_cell(out, kernel, text)


@pytest.mark.parametrize("kernel,s", [("7.1", 4), ("6.18", 6)])
def test_multi_vma_partial_pieces(kernel, s):
    """Semantics §7.5 / §5 row 6: the partial failure leaves A and B at their targets (D+5P, D+7P),
    each an unfaulted copy with pgoff reset to its new address (§2.5) between R pieces of D, C still
    at a+4P, and C's destination [D+9P, D+10P) punched out of D. D's parts opposite the source gaps
    ([D+6P, D+7P) and [D+8P, D+9P)) are never unmapped (§3.5.5 step 3). Split pieces of D get
    pgoff + offset (§2.1)."""
    mm, a, D = abc(kernel)
    at_free_slots(mm, s)
    assert_layout(mm, [
        L(0, 1, "rw-p", pg(0), None, True), L(2, 3, "rw-p", pg(2), None, True),
        L(4, 5, "rw-p", pg(4), None, True), L(DEST, DEST + 20, "r--p", pg(DEST), None, False),
    ], map_count=MAX - s)
    after, res = run_copy(mm, a, 5 * P, 5 * P, MOVE_FIXED, D + 5 * P)
    assert isinstance(res, MMError) and res.errno == E.ENOMEM
    d = DEST
    assert_layout(after, [
        L(4, 5, "rw-p", pg(4), None, True),  # only C is left at the source
        L(d, d + 5, "r--p", pg(d), None, False),
        L(d + 5, d + 6, "rw-p", pg(d + 5), None, True),  # A
        L(d + 6, d + 7, "r--p", pg(d + 6), None, False),
        L(d + 7, d + 8, "rw-p", pg(d + 7), None, True),  # B
        L(d + 8, d + 9, "r--p", pg(d + 8), None, False),
        L(d + 10, d + 20, "r--p", pg(d + 10), None, False),  # [d+9, d+10) punched for C
    ], map_count=T.cell(T.by_free_slots(T.MULTI, kernel)[s]).mc_after)  # the PARTIAL(fp) cell


# ---- §7.6 merge facts involving mremap -------------------------------------------------------


@pytest.mark.parametrize("kernel", COLS)
@pytest.mark.parametrize("x_faulted", [False, True])
def test_unfaulted_move_merges_with_x(kernel, x_faulted):
    """Semantics §7.6 row 1 / §2.5: an unfaulted RW anon y moved (FIXED, same size) to just after a RW
    anon x merges with x: copy_vma resets y's pgoff to new_addr>>12, which continues x's pgoff
    (x was mapped at its own address); x's anon_vma (if any) is compatible with y's None (§2.3
    rule 5) and the merged VMA keeps it. Same in every profile. Net -1 (copy merged, source -1)."""
    mm = new_mm(kernel)
    x = anon(mm, 0, 4, RW, faulted=x_faulted)
    y = anon(mm, 0x40, 3, RW)
    label = "A" if x_faulted else None
    assert_layout(mm, [L(0, 4, "rw-p", pg(0), label, True), L(0x40, 0x43, "rw-p", pg(0x40), None, True)],
                  map_count=2)
    after, res = run_copy(mm, y, 3 * P, 3 * P, MOVE_FIXED, x + 4 * P)
    assert res == x + 4 * P
    assert T.merge_fact("unfaulted-move-after-x", kernel) == "merges with x (pgoff reset)"
    assert_layout(after, [L(0, 7, "rw-p", pg(0), label, True)], map_count=1)


@pytest.mark.parametrize("kernel", COLS)
def test_faulted_move_stays_separate(kernel):
    """Semantics §7.6 row 2: the same move with y written first stays separate: copy_vma keeps the
    faulted VMA's pgoff (y>>12) and anon_vma, and the pgoff does not continue x's. Net 0 (copy +1,
    source -1)."""
    mm = new_mm(kernel)
    x = anon(mm, 0, 4, RW)
    y = anon(mm, 0x40, 3, RW, faulted=True)
    assert_layout(mm, [L(0, 4, "rw-p", pg(0), None, True), L(0x40, 0x43, "rw-p", pg(0x40), "A", True)],
                  map_count=2)
    after, res = run_copy(mm, y, 3 * P, 3 * P, MOVE_FIXED, x + 4 * P)
    assert res == x + 4 * P
    assert T.merge_fact("faulted-move-after-x", kernel) == "stays separate"
    assert_layout(after, [L(0, 4, "rw-p", pg(0), None, True), L(4, 7, "rw-p", pg(0x40), "A", True)],
                  map_count=2)


@pytest.mark.parametrize("kernel", COLS)
def test_faulted_half_moved_away_and_back_remerges(kernel):
    """Semantics §7.6 row 3: a faulted 10P VMA, half moved away then moved back, re-merges (same
    anon_vma identity, pgoff kept = V>>12 + 5 which continues the first half). Step 1: the tail
    half [5, 10) moves to [0x100, 0x105) (source trim 0, copy +1). Step 2: back to [5, 10), where
    the copy merges with [0, 5) (0) and the source, a whole VMA, goes (-1)."""
    mm = new_mm(kernel)
    V = anon(mm, 0, 10, RW, faulted=True)
    av = mm.vma_at(V).anon_vma
    far = 0x100
    assert_layout(mm, [L(0, 10, "rw-p", pg(0), "A", True)], map_count=1)
    mm.mremap(V + 5 * P, 5 * P, 5 * P, MOVE_FIXED, V + far * P)
    assert_layout(mm, [L(0, 5, "rw-p", pg(0), "A", True), L(far, far + 5, "rw-p", pg(5), "A", True)],
                  map_count=2)
    mm.mremap(V + far * P, 5 * P, 5 * P, MOVE_FIXED, V + 5 * P)
    assert T.merge_fact("half-moved-away-and-back", kernel).startswith("merges again")
    assert_layout(mm, [L(0, 10, "rw-p", pg(0), "A", True)], map_count=1)
    assert mm.vma_at(V).anon_vma == av


@pytest.mark.parametrize("kernel", COLS)
def test_grow_in_place_up_to_compatible_y(kernel):
    """Semantics §7.6 row 4 / §2.4 / §3.6: x grown in place up to the start of a compatible y gives
    one VMA on 6.18/7.1 (vma_merge_extend, -1) and on 6.1 (vma_merge() of the extension, ca3d76b0aa80),
    two on 5.0/5.1 (vma_adjust never merges). 5.1-alt and ideal run 5.0/5.1's flow (§0), so two VMAs
    there too (semantics_tables.S7_6_COLUMN)."""
    mm = new_mm(kernel)
    x = anon(mm, 0, 4, RW)
    anon(mm, 6, 4, RW)  # pgoff y>>12 = x>>12 + 6: compatible once x reaches it
    assert_layout(mm, [L(0, 4, "rw-p", pg(0), None, True), L(6, 10, "rw-p", pg(6), None, True)], map_count=2)
    after, res = run_copy(mm, x, 4 * P, 6 * P, 0)
    assert res == x
    fact = T.merge_fact("grow-unfaulted-to-y", kernel)
    if fact == "one VMA":
        assert_layout(after, [L(0, 10, "rw-p", pg(0), None, True)], map_count=1)
    else:
        assert fact == "two VMAs, not merged"
        assert_layout(after, [L(0, 6, "rw-p", pg(0), None, True), L(6, 10, "rw-p", pg(6), None, True)],
                      map_count=2)


@pytest.mark.parametrize("kernel", COLS)
def test_grow_in_place_faulted_x_up_to_unfaulted_y(kernel):
    """Semantics §7.6 row 5 / §2.3 rule 5: a faulted x grown in place up to the start of a compatible,
    unfaulted y. 6.18/7.1: one VMA with x's anon_vma (-1). 6.1: vma_merge() extends x (its own
    anon_vma), but y's anon_vma_chain is empty, so is_mergeable_anon_vma(A, NULL, y) refuses y: two VMAs
    (linux-6.1.md §7 (f) "left faulted", measured: Δ0 on 6.1.176, -1 on 6.18.44). 5.0/5.1: no merge at
    all. The extension takes x's pgoff + offset and keeps x's anon_vma."""
    mm = new_mm(kernel)
    x = anon(mm, 0, 2, RW, faulted=True)
    anon(mm, 4, 2, RW)
    assert_layout(mm, [L(0, 2, "rw-p", pg(0), "A", True), L(4, 6, "rw-p", pg(4), None, True)], map_count=2)
    after, res = run_copy(mm, x, 2 * P, 4 * P, 0)
    assert res == x
    fact = T.merge_fact("grow-faulted-to-unfaulted-y", kernel)
    if fact == "one VMA":
        assert_layout(after, [L(0, 6, "rw-p", pg(0), "A", True)], map_count=1)
    else:
        assert fact in ("two VMAs (§2.3 rule 5)", "two VMAs (no merge at all)")
        assert_layout(after, [L(0, 4, "rw-p", pg(0), "A", True), L(4, 6, "rw-p", pg(4), None, True)],
                      map_count=2)


@pytest.mark.parametrize("kernel", COLS)
def test_mprotect_faulted_tail_to_match_unfaulted_y(kernel):
    """Semantics §7.6 row 6 / §2.3 rule 5, the layout of linux-6.1.md's experiment "anon" (measured on
    6.1.176 and 6.18.44): one MAP_NORESERVE RW VMA (no VM_ACCOUNT, so 6.7's unaccounting changes no
    flags) split by mprotect into x = [0, 4) rw and y = [4, 6) r--; x written (anon_vma A), y not.
    mprotect(x's tail [2, 4), R): 6.18/7.1: the tail joins y (Δ0), and y takes A. 6.1 and 5.x
    (pre-6.16 rule): a faulted range cannot join an unfaulted neighbour: x splits (+1)."""
    mm = new_mm(kernel)
    anon(mm, 0, 6, RW, PRIV | MAP_NORESERVE)
    mm.mprotect(at(4), 2 * P, R)
    mm.touch(at(0), 4 * P)
    assert_layout(mm, [L(0, 4, "rw-p", pg(0), "A", False), L(4, 6, "r--p", pg(4), None, False)], map_count=2)
    mm.mprotect(at(2), 2 * P, R)
    fact = T.merge_fact("mprotect-faulted-tail-to-unfaulted-y", kernel)
    if fact == "the tail joins y":
        assert_layout(mm, [L(0, 2, "rw-p", pg(0), "A", False), L(2, 6, "r--p", pg(2), "A", False)], map_count=2)
    else:
        assert fact == "no merge: one more VMA"
        assert_layout(mm, [
            L(0, 2, "rw-p", pg(0), "A", False), L(2, 4, "r--p", pg(2), "A", False), L(4, 6, "r--p", pg(4), None, False),
        ], map_count=3)


# ---- §8 step traces --------------------------------------------------------------------------

FIXED_V5 = ["unmap_destination", "unmap_tail", "vma_to_resize", "get_unmapped_area", "move_vma_limit",
            "copy_vma", "move_page_tables", "unmap_source"]


def _seed_w_trace(kernel: str, s: int = 8):
    out = seed_w(kernel, s)
    return out, out.trace


#: Semantics §8 depth-0 sequences of a successful FIXED shrink (Seed-W at s = 8), per profile.
FIXED_SHRINK_STEPS = {
    # the 5.0 family FIXED row
    "5.0": FIXED_V5,
    # 5.1 evaluates mremap_early first, then the 5.0 sequence
    "5.1": ["mremap_early"] + FIXED_V5,
    # the 5.0 family FIXED row: [mremap_early | alt_early] first
    "5.1-alt": ["alt_early"] + FIXED_V5,
    # §8 has no 6.1 row. §3.5.1 6.1 additions: vma_lookup(addr) first, for every call; then mremap_to()
    # with the early check after it, and 5.1's sequence (linux-6.1.md §1.1 step 8, §1.2 steps 4-10)
    "6.1": ["vma_lookup", "mremap_early"] + FIXED_V5,
    # §3.5.2: mremap_early, vma_lookup, check_prep_vma before any unmap, then the destination unmap
    # with a relookup after it, the tail unmap, placement and the move steps
    "6.18": ["mremap_early", "vma_lookup", "check_prep_vma", "unmap_destination", "relookup", "unmap_tail",
             "get_unmapped_area", "move_vma_limit", "copy_vma", "move_page_tables", "unmap_source"],
    # mremap_early_v7 first, then as 6.18 with move_vma_limit_v7
    "7.1": ["mremap_early_v7", "vma_lookup", "check_prep_vma", "unmap_destination", "relookup", "unmap_tail",
            "get_unmapped_area", "move_vma_limit_v7", "copy_vma", "move_page_tables", "unmap_source"],
}


@pytest.mark.parametrize("kernel", list(FIXED_SHRINK_STEPS))
def test_trace_fixed_shrink_steps(kernel):
    """Semantics §8: the depth-0 sequence of a FIXED shrink (Seed-W, success) per profile (ideal's
    is test_trace_ideal_commit's)."""
    out, tr = _seed_w_trace(kernel)
    assert out.kind == "OK"
    assert top_steps(tr) == FIXED_SHRINK_STEPS[kernel]


@pytest.mark.parametrize("s,last", [(8, "commit"), (3, "commit"), (2, "rollback")])
def test_trace_ideal_commit(s, last):
    """Semantics §8: ideal = the scratch run's records (the 5.0 flow without A-checks), then ideal_commit,
    then commit or rollback. s=2 fails R3 (§7.1), so ideal_commit carries the errno."""
    out, tr = _seed_w_trace("ideal", s)
    steps = top_steps(tr)
    assert steps[-2:] == ["ideal_commit", last]
    assert steps[:-2] == [x for x in FIXED_V5 if x != "move_vma_limit"]
    commit = [r for r in tr if r.step == "ideal_commit"][0]
    assert commit.passed is (last == "commit")
    if last == "rollback":
        assert failing_records(tr) == [commit] and commit.errno == E.ENOMEM


@pytest.mark.parametrize("case", ["seed-w-s0-dest-punch", "multi-efault"])
def test_trace_ideal_commit_after_failed_scratch_run(case):
    """Semantics §8 (ideal row) and §3.5.9: every ideal call ends with ideal_commit (R1-R3 evaluated;
    here R1 fails) and then rollback. Cases: Seed-W at s=0 (destination punch check fires) and the
    §7.5 call (EFAULT after the destination punch)."""
    out = seed_w("ideal", 0) if case == "seed-w-s0-dest-punch" else multi("ideal", 7)
    assert out.kind == "CLEAN_FAIL"
    assert top_steps(out.trace)[-2:] == ["ideal_commit", "rollback"]


def test_trace_unmap_children_show_transient_peak():
    """Semantics §2.2/§8: each unmap is a depth-0 record whose children are its punch check, splits and
    detach. 5.0 Seed-W at s=8 (mc 65522): destination punch = check, split (+1), split (+1),
    detach (-1), so the count peaks at 65524 inside it; the tail punch likewise (65525), and the
    source trim splits once (65526) before its detach: Outcome.peak = 65526."""
    out = seed_w("5.0", 8)
    recs = list(out.trace)
    i = next(i for i, r in enumerate(recs) if r.step == "unmap_destination")
    kids = [r.step for r in recs[i + 1:i + 5]]
    assert kids == ["munmap_punch_limit", "split", "split", "detach"]
    assert [r.map_count for r in recs[i + 1:i + 5]] == [65522, 65523, 65524, 65523]
    assert out.peak == 65526 and out.mc_after == 65525


def test_trace_alt_early_records_trigger_and_pred():
    """Semantics §8: alt_early also records trigger and pred (in its expr). Seed-W at s=5: the trigger
    fires and pred = +2 (destination punch + tail punch); at s=8 the trigger does not fire."""
    rec = [r for r in seed_w("5.1-alt", 5).trace if r.step == "alt_early"][0]
    assert "trigger" in rec.expr and "pred +2" in rec.expr and rec.passed is False
    rec = [r for r in seed_w("5.1-alt", 8).trace if r.step == "alt_early"][0]
    assert "trigger" in rec.expr and "pred" not in rec.expr and rec.passed is True


def test_trace_ideal_rollback_on_swallowed_source_punch():
    """Semantics §3.5.9/§6 R1-R2 and §7.2 (ideal s=1 "src"): the source punch fails inside move_vma and
    is swallowed, so the scratch run "succeeds"; ideal_commit then refuses it and rolls back. The
    punch check is the one non-swallowed errno record."""
    out = seed_s("ideal", 1)
    steps = top_steps(out.trace)
    assert steps[-2:] == ["ideal_commit", "rollback"]
    (fail,) = failing_records(out.trace)
    assert fail.step == "munmap_punch_limit"
    assert out.trace.failure is fail


def _all_table_cases():
    for table, fn in ((T.SEED_W, seed_w), (T.SEED_S, seed_s)):
        for s in table:
            for k in COLS:
                yield fn, k, s


@pytest.mark.parametrize("fn,kernel,s", [pytest.param(f, k, s, id=f"{f.__name__}-{k}-s{s}")
                                         for f, k, s in _all_table_cases()])
def test_trace_counts_and_single_errno(fn, kernel, s):
    """Semantics §8 on every §7.1/§7.2 cell: map_count is the count after each record (children sum to
    their parent's delta; the last record's count is mc_after unless rolled back), and a failed call
    has exactly one non-swallowed record carrying the errno -- the failing check or validation the
    Outcome names (a success has none)."""
    out = fn(kernel, s)
    tr = out.trace
    assert assert_trace_counts(tr, out.mc_before) == out.mc_after
    fails = failing_records(tr)
    if out.kind == "OK":
        assert fails == []
    else:
        assert len(fails) == 1
        assert fails[0].errno == out.errno and fails[0].step == out.check
    assert max(r.map_count for r in tr) == out.peak


def test_trace_fn_and_expr_fields():
    """Semantics §8 fields: checks carry expr ("65527 >= 65527") and passed; fn names the kernel function
    with the tree version (move_vma@5.0, prep_move_vma@6.18, move_vma@6.1)."""
    out = seed_w("5.0", 3)  # mc 65527 -> 65529 after both punches; 65529 >= 65527 fails
    chk = [r for r in out.trace if r.step == "move_vma_limit"][0]
    assert chk.kind == "check" and chk.passed is False and chk.errno == E.ENOMEM
    assert chk.expr == "65529 >= 65530 - 3"
    assert chk.fn == "move_vma@5.0"
    out = seed_w("6.18", 8)
    chk = [r for r in out.trace if r.step == "move_vma_limit"][0]
    assert chk.fn == "prep_move_vma@6.18" and chk.passed is True
    out = seed_w("6.1", 8)  # 6.1 still has move_vma() (linux-6.1.md §1.4)
    chk = [r for r in out.trace if r.step == "move_vma_limit"][0]
    assert chk.fn == "move_vma@6.1" and chk.passed is True


def test_trace_multi_piece_indices():
    """Semantics §8: piece = the multi-VMA index; 6.18 runs the move steps once per piece (§3.5.5)."""
    mm, a, D = abc("6.18")
    at_free_slots(mm, 8)
    out = classify_pure(mm, a, 5 * P, 5 * P, MOVE_FIXED, D + 5 * P)
    assert out.kind == "OK"
    checks = [r for r in out.trace if r.step == "move_vma_limit"]
    assert [r.piece for r in checks] == [0, 1, 2]
    assert [r.piece for r in out.trace if r.step == "unmap_destination"] == [0, 1, 2]


def test_outcome_fields_are_consistent():
    """Semantics §6: an Outcome reports mc_before/mc_after, the failing check and the full trace."""
    out = seed_w("5.0", 2)
    assert isinstance(out, mmsim.Outcome)
    mc_after = T.cell(T.SEED_W[2]["5.0"]).mc_after  # "PARTIAL 65530 move"
    assert (out.mc_before, out.mc_after, out.max_map_count, out.free_slots) == (65528, mc_after, 65530, 2)
    assert out.trace.failure.step == out.check == "move_vma_limit"


# ---- the false-positive family: destination exactly covering k whole VMAs (§4, §7.3) ---------


@pytest.mark.parametrize("k", range(1, 7))
@pytest.mark.parametrize("kernel", COLS)
def test_whole_onto_k_family(kernel, k):
    """Semantics §4 closed form (semantics_tables.s4_onto_k; §7.3 layout) for k = 1..6, 0 free slots..8.
    Net -k on success (so the final count is always within the limit: ideal accepts every case, and
    every 5.1/6.18/7.1 rejection at or above the FP threshold is a FALSE_POSITIVE with ideal_ok).
    5.1-alt predicts -k exactly, so it rejects only where 5.0's own move check would fire after the
    unmap (CLEAN)."""
    mm, S, d = whole_onto_k(kernel, k)
    for s in range(9):
        at_free_slots(mm, s)
        out = classify_pure(mm, S, k * P, k * P, MOVE_FIXED, d)
        want = T.s4_onto_k(kernel, k, s)
        ctx = f"k={k} s={s}: want {want}, got {out}"
        assert out.ideal_ok is True, ctx
        if want == "OK":
            assert out.kind == "OK" and out.mc_after == out.mc_before - k, ctx
        elif want == "PARTIAL(fp)":
            assert (out.kind, out.fp, out.check) == ("PARTIAL_FAIL", True, "move_vma_limit"), ctx
            assert out.mc_after == out.mc_before - k, ctx  # the destination is gone, nothing moved
        else:
            kind = {"FP": "FALSE_POSITIVE", "CLEAN": "CLEAN_FAIL"}[want]
            assert (out.kind, out.errno, out.mc_after) == (kind, E.ENOMEM, out.mc_before), ctx
            assert out.check == T.EARLY[kernel] and out.check is not None, ctx
