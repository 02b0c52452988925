"""Spec §7 worked examples and §8 step traces, every profile, transcribed from the spec tables.

Cells are written exactly as the spec prints them (``"PARTIAL(fp) 65529 move"``). Where the spec
cell names no check, the failing check is derived from the rules and written in brackets
(``"CLEAN 65528 [early]"``); the derivation is in the test's docstring. Column order everywhere is
mmsim.KERNELS = ("5.0", "5.1", "6.18", "7.1", "5.1-alt", "ideal").
"""

from __future__ import annotations

import errno as E

import pytest
from mremap_builders import (
    BASE,
    MOVE_FIXED,
    RW,
    P,
    R,
    abc,
    anon,
    assert_cell,
    assert_trace_counts,
    at_slack,
    classify_pure,
    failing_records,
    mprotect_x,
    new_mm,
    run,
    seed,
    top_steps,
    vmas_in,
    whole_onto_k,
)

import mmsim
from mmsim import KERNELS, MMError

COLS = KERNELS
assert COLS == ("5.0", "5.1", "6.18", "7.1", "5.1-alt", "ideal")


def _params(table: dict[int, tuple[str, ...]]):
    return [pytest.param(s, k, table[s][i], id=f"s{s}-{k}") for s in table for i, k in enumerate(COLS)]


# ---- §7.1 Seed-W ----------------------------------------------------------------------------

SEED_W = {  # spec §7.1 table; bracketed tokens derived (see test docstring)
    0: ("CLEAN 65530 dest", "CLEAN 65530 early", "CLEAN 65530 early", "CLEAN 65530 early",
        "CLEAN 65530 alt", "CLEAN 65530 dest"),
    1: ("PARTIAL 65530 tail", "CLEAN 65529 early", "CLEAN 65529 early", "CLEAN 65529 early",
        "CLEAN 65529 alt", "CLEAN 65529 tail"),
    2: ("PARTIAL 65530 move", "CLEAN 65528 [early]", "CLEAN 65528 [early]", "CLEAN 65528 [early]",
        "CLEAN 65528 [alt]", "CLEAN 65528 R3"),
    3: ("PARTIAL(fp) 65529 move", "CLEAN 65527 [early]", "CLEAN 65527 [early]", "CLEAN 65527 [early]",
        "CLEAN 65527 [alt]", "OK 65530"),
    4: ("PARTIAL(fp) 65528 move", "CLEAN 65526 [early]", "CLEAN 65526 [early]", "OK 65529",
        "CLEAN 65526 [alt]", "OK 65529"),
    5: ("PARTIAL(fp) 65527 move", "CLEAN 65525 [early]", "CLEAN 65525 [early]", "OK 65528",
        "CLEAN 65525 [alt]", "OK 65528"),
    6: ("OK 65527",) * 6,
    7: ("OK 65526",) * 6,
    8: ("OK 65525",) * 6,
}


def seed_w(kernel: str, s: int):
    mm, O_, D = seed(kernel)
    at_slack(mm, s)
    return classify_pure(mm, O_ + 2 * P, 6 * P, 3 * P, MOVE_FIXED, D + 2 * P)


@pytest.mark.parametrize("s,kernel,text", _params(SEED_W))
def test_seed_w_table(s, kernel, text):
    """Spec §7.1 Seed-W: mremap(O+2P, 6P, 3P, MAYMOVE|FIXED, D+2P), table cell for (s, profile).

    Bracketed checks (not printed in the spec cell) follow §3.5/§3.6: 5.1 and 6.18 reject every
    FIXED call at s <= 5 with mremap_early (mc + 2 >= max - 3); 7.1 rejects every call at s <= 3
    with mremap_early_v7 (mc + 4 > max); 5.1-alt's trigger fires at s <= 5 and its prediction is
    +2 (destination punch +1, tail punch +1), so alt_early fires when mc + 2 >= max - 3, i.e. s <= 5.
    """
    assert_cell(seed_w(kernel, s), kernel, text)


@pytest.mark.parametrize("kernel", COLS)
@pytest.mark.parametrize("s", range(9))
def test_seed_w_ideal_ok(kernel, s):
    """Spec §6/§7.1: ideal_ok is "what ideal(P) would do". Seed-W's unchecked run fails the
    destination punch at s=0, the tail punch at s=1 and R3 at s=2 (final 65531 > max, increased),
    and is within the limits from s=3 (the ideal column) -- in every profile, the modern flow doing
    the same unmaps. The spec states it for 5.1: rejected at s=3-5 although ideal_ok is True."""
    assert seed_w(kernel, s).ideal_ok is (s >= 3)


def test_seed_w_live_6_18():
    """Spec §7.1 LIVE (6.18.44): ENOMEM with no change at mc = 65525...65529, success at 65524."""
    for mc in range(65525, 65530):
        out = seed_w("6.18", 65530 - mc)
        assert (out.kind, out.errno, out.mc_after) == ("CLEAN_FAIL", E.ENOMEM, mc)
    out = seed_w("6.18", 6)
    assert out.mc_before == 65524 and out.kind == "OK" and out.result == seed("6.18")[2] + 2 * P


@pytest.mark.parametrize("kernel", COLS)
def test_seed_w_final_shapes(kernel):
    """Spec §7.1 steps: net +3. O ends as 2 VMAs: the tail [O+5P, O+8P) is punched and the
    source [O+2P, O+5P) moved away, leaving [O, O+2P) and [O+8P, O+10P). D's range ends as 3: two D
    pieces with the moved 3-page RW VMA between them."""
    mm, O_, D = seed(kernel)
    at_slack(mm, 8)
    after, res = run(mm, O_ + 2 * P, 6 * P, 3 * P, MOVE_FIXED, D + 2 * P)
    assert res == D + 2 * P
    assert after.map_count == mm.map_count + 3
    assert vmas_in(after, O_, O_ + 10 * P) == [(0, 2, RW), (8, 10, RW)]
    assert vmas_in(after, D, D + 10 * P) == [(0, 2, R), (2, 5, RW), (5, 10, R)]


# ---- §7.2 Seed-S ----------------------------------------------------------------------------

SEED_S = {  # spec §7.2 table
    0: ("CLEAN 65530 dest", "CLEAN 65530 [early]", "CLEAN 65530 [early]", "CLEAN 65530 [early]",
        "CLEAN 65530 [alt]", "CLEAN 65530 dest"),
    1: ("PARTIAL 65530 move", "CLEAN 65529 [early]", "CLEAN 65529 [early]", "CLEAN 65529 [early]",
        "CLEAN 65529 [alt]", "CLEAN 65529 src"),
    2: ("PARTIAL 65529 move", "CLEAN 65528 [early]", "CLEAN 65528 [early]", "CLEAN 65528 [early]",
        "CLEAN 65528 [alt]", "CLEAN 65528 src"),
    3: ("PARTIAL(fp) 65528 move", "CLEAN 65527 [early]", "CLEAN 65527 [early]", "FP 65527 [early]",
        "CLEAN 65527 [alt]", "OK 65530"),
    4: ("PARTIAL(fp) 65527 move", "CLEAN 65526 [early]", "CLEAN 65526 [early]", "OK 65529",
        "CLEAN 65526 [alt]", "OK 65529"),
    5: ("OK 65528", "FP 65525 [early]", "FP 65525 [early]", "OK 65528", "OK 65528", "OK 65528"),
    6: ("OK 65527",) * 6,
    7: ("OK 65526",) * 6,
    8: ("OK 65525",) * 6,
}


def seed_s(kernel: str, s: int):
    mm, O_, D = seed(kernel)
    at_slack(mm, s)
    return classify_pure(mm, O_ + 2 * P, 6 * P, 6 * P, MOVE_FIXED, D + 2 * P)


@pytest.mark.parametrize("s,kernel,text", _params(SEED_S))
def test_seed_s_table(s, kernel, text):
    """Spec §7.2 Seed-S: mremap(O+2P, 6P, 6P, MAYMOVE|FIXED, D+2P).

    Bracketed checks: 5.1/6.18 mremap_early at s <= 5; 7.1 mremap_early_v7 at s <= 3; 5.1-alt:
    trigger at s <= 5, pred = +1 (destination punch, no tail), fires when mc + 1 >= max - 3, i.e.
    s <= 4 (spec: "so it rejects only s <= 4")."""
    assert_cell(seed_s(kernel, s), kernel, text)


@pytest.mark.parametrize("kernel", ["5.1", "6.18"])
@pytest.mark.parametrize("s", range(9))
def test_seed_s_ideal_ok(kernel, s):
    """Spec §6: ideal_ok = within limits with every A-check disabled. Seed-S unchecked fails the
    destination punch at s=0 and the (swallowed, so R2-violating) source punch at s=1-2; from s=3 it
    is within the limits (the ideal column)."""
    assert seed_s(kernel, s).ideal_ok is (s >= 3)


def test_seed_s_live_6_18():
    """Spec §7.2 LIVE: the same ENOMEM band as Seed-W (no change at 65525...65529), success at 65524."""
    for s in range(1, 6):
        out = seed_s("6.18", s)
        assert out.errno == E.ENOMEM and out.mc_after == out.mc_before
    assert seed_s("6.18", 6).kind == "OK"


@pytest.mark.parametrize("kernel", COLS)
def test_seed_s_final_shapes(kernel):
    """Spec §7.2: net +3 with the same shapes as §7.1: the source [O+2P, O+8P) is punched out of O
    (2 pieces left) and D holds the moved 6-page VMA between its two pieces."""
    mm, O_, D = seed(kernel)
    at_slack(mm, 8)
    after, res = run(mm, O_ + 2 * P, 6 * P, 6 * P, MOVE_FIXED, D + 2 * P)
    assert res == D + 2 * P and after.map_count == mm.map_count + 3
    assert vmas_in(after, O_, O_ + 10 * P) == [(0, 2, RW), (8, 10, RW)]
    assert vmas_in(after, D, D + 10 * P) == [(0, 2, R), (2, 8, RW), (8, 10, R)]


# ---- §7.3 destination covers k whole VMAs ----------------------------------------------------

COLS_73 = ("5.0", "5.1", "6.18", "7.1", "5.1-alt", "ideal")


def _k_table(rows: dict[int, tuple[str, str, str, str, str]]):
    """Expand a §7.3 row (5.0, 5.1 = 6.18, 7.1, 5.1-alt, ideal) to the six profiles."""
    return {s: (r[0], r[1], r[1], r[2], r[3], r[4]) for s, r in rows.items()}


K1 = _k_table({  # spec §7.3, k = 1
    0: ("PARTIAL(fp) 65529 [move]", "CLEAN 65530 [early]", "CLEAN 65530 [early]", "CLEAN 65530 [alt]", "OK 65529"),
    1: ("PARTIAL(fp) 65528 [move]", "CLEAN 65529 [early]", "FP 65529 [early]", "CLEAN 65529 [alt]", "OK 65528"),
    2: ("PARTIAL(fp) 65527 [move]", "CLEAN 65528 [early]", "FP 65528 [early]", "CLEAN 65528 [alt]", "OK 65527"),
    3: ("OK 65526", "FP 65527 [early]", "FP 65527 [early]", "OK 65526", "OK 65526"),
    4: ("OK 65525", "FP 65526 [early]", "OK 65525", "OK 65525", "OK 65525"),
    5: ("OK 65524", "FP 65525 [early]", "OK 65524", "OK 65524", "OK 65524"),
    6: ("OK 65523", "OK 65523", "OK 65523", "OK 65523", "OK 65523"),
})

K3 = _k_table({  # spec §7.3, k = 3; the spec's "1-3" and "4-5" rows expanded per slack
    0: ("PARTIAL(fp) 65527 [move]", "CLEAN 65530 [early]", "FP 65530 [early]", "CLEAN 65530 [alt]", "OK 65527"),
    1: ("OK 65526", "FP 65529 [early]", "FP 65529 [early]", "OK 65526", "OK 65526"),
    2: ("OK 65525", "FP 65528 [early]", "FP 65528 [early]", "OK 65525", "OK 65525"),
    3: ("OK 65524", "FP 65527 [early]", "FP 65527 [early]", "OK 65524", "OK 65524"),
    4: ("OK 65523", "FP 65526 [early]", "OK 65523", "OK 65523", "OK 65523"),
    5: ("OK 65522", "FP 65525 [early]", "OK 65522", "OK 65522", "OK 65522"),
    6: ("OK 65521", "OK 65521", "OK 65521", "OK 65521", "OK 65521"),
})


def onto_k(kernel: str, k: int, s: int):
    mm, S, d = whole_onto_k(kernel, k)
    at_slack(mm, s)
    return classify_pure(mm, S, k * P, k * P, MOVE_FIXED, d)


@pytest.mark.parametrize("s,kernel,text", _params(K1))
def test_whole_onto_1_table(s, kernel, text):
    """Spec §7.3, k=1: mremap(S, P, P, MAYMOVE|FIXED, d) onto one whole 1-page shared VMA.

    Steps: destination -1, copy +1, source -1. Bracketed checks: 5.0's failure comes after the
    destination unmap, so it is move_vma_limit (mc - 1 >= max - 3 at s <= 2); 5.1/6.18 reject at
    s <= 5 (mremap_early); 7.1 at s <= 3 (mremap_early_v7); 5.1-alt predicts -1, so alt_early
    fires when mc - 1 >= max - 3, i.e. s <= 2."""
    assert_cell(onto_k(kernel, 1, s), kernel, text)


@pytest.mark.parametrize("s,kernel,text", _params(K3))
def test_whole_onto_3_table(s, kernel, text):
    """Spec §7.3, k=3 (rows "1-3" and "4-5" expanded; "FP" cells keep mc unchanged by definition).

    Bracketed checks as for k=1; 5.1-alt predicts -3, so it fires only at s = 0."""
    assert_cell(onto_k(kernel, 3, s), kernel, text)


@pytest.mark.parametrize("kernel", COLS)
def test_whole_onto_k_final_state(kernel):
    """Spec §7.3: net -k. The k shared VMAs are gone, S's range is empty, and the moved VMA (same
    anon_vma identity, faulted, so pgoff kept = S>>12) fills [d, d+kP)."""
    k = 3
    mm, S, d = whole_onto_k(kernel, k)
    at_slack(mm, 8)
    src = mm.vma_at(S)
    after, res = run(mm, S, k * P, k * P, MOVE_FIXED, d)
    assert res == d and after.map_count == mm.map_count - k
    assert after.vmas_in(S, S + k * P) == []
    (moved,) = after.vmas_in(d, d + k * P)
    assert (moved.start, moved.end, moved.shared) == (d, d + k * P, False)
    assert moved.anon_vma == src.anon_vma and moved.pgoff == S // P


# ---- §7.4 mprotect partial split -------------------------------------------------------------

MPROT = {  # spec §7.4: (3-way, 3-way ideal, 2-way)
    0: ("CLEAN 65530", "CLEAN 65530", "CLEAN 65530"),
    1: ("PARTIAL 65530", "CLEAN 65529", "OK 65530"),
    2: ("OK 65530", "OK 65530", "OK 65529"),
    3: ("OK 65529", "OK 65529", "OK 65528"),
}


@pytest.mark.parametrize("kernel", COLS)
@pytest.mark.parametrize("s", sorted(MPROT))
def test_mprotect_three_way(kernel, s):
    """Spec §7.4: mprotect(X+2P, P, PROT_READ) on a 10-page RW VMA with non-mergeable neighbours.
    Every profile but ideal leaves the first split at s=1 (PARTIAL, split_limit on the second
    split); ideal is transactional (CLEAN). The failing check is split_limit (spec §3.3 step 5)."""
    mm, X = mprotect_x(kernel)
    at_slack(mm, s)
    text = MPROT[s][1] if kernel == "ideal" else MPROT[s][0]
    out = classify_pure(mm, X + 2 * P, P, R, op="mprotect")
    assert_cell(out, kernel, text)
    if out.errno is not None:
        assert out.check == "split_limit"


@pytest.mark.parametrize("kernel", [k for k in COLS if k != "ideal"])
def test_mprotect_three_way_partial_state(kernel):
    """Spec §7.4, s=1: "X is now [X, X+2P) rw and [X+2P, X+10P) rw; second split failed"."""
    mm, X = mprotect_x(kernel)
    at_slack(mm, 1)
    after, res = run(mm, X + 2 * P, P, R, op="mprotect")
    assert isinstance(res, MMError) and res.errno == E.ENOMEM and res.check == "split_limit"
    assert vmas_in(after, X, X + 10 * P) == [(0, 2, RW), (2, 10, RW)]
    assert after.map_count == 65530


@pytest.mark.parametrize("kernel", COLS)
@pytest.mark.parametrize("s", sorted(MPROT))
def test_mprotect_two_way(kernel, s):
    """Spec §7.4: mprotect(X, P, PROT_READ): one checked split (fails at s=0), all profiles."""
    mm, X = mprotect_x(kernel)
    at_slack(mm, s)
    out = classify_pure(mm, X, P, R, op="mprotect")
    assert_cell(out, kernel, MPROT[s][2])
    if out.errno is not None:
        assert out.check == "split_limit"


# ---- §7.5 multi-VMA partial move -------------------------------------------------------------

MULTI = {  # spec §7.5; 5.x column split per profile, derived from the row text
    3: {"6.18": "CLEAN 65527 [early]", "7.1": "CLEAN 65527 [early]"},
    4: {"6.18": "CLEAN 65526 [early]", "7.1": "PARTIAL(fp) 65529 [move]"},
    5: {"6.18": "CLEAN 65525 [early]", "7.1": "OK 65528"},
    6: {"6.18": "PARTIAL(fp) 65527 [move]", "7.1": "OK 65527"},
    7: {"6.18": "OK 65526", "7.1": "OK 65526"},
}


def multi(kernel: str, s: int):
    mm, a, D = abc(kernel)
    at_slack(mm, s)
    return classify_pure(mm, a, 5 * P, 5 * P, MOVE_FIXED, D + 5 * P)


@pytest.mark.parametrize("kernel", ["6.18", "7.1"])
@pytest.mark.parametrize("s", sorted(MULTI))
def test_multi_vma_modern(kernel, s):
    """Spec §7.5 (6.18, 7.1): mremap(a, 5P, 5P, MAYMOVE|FIXED, D+5P) over A, B, C; each piece
    +1 (destination punch +1, copy +1, source -1). Checks: 6.18 early at s <= 5, then the per-piece
    move check fails on piece 3 at s=6; 7.1 early_v7 at s=3, then piece 3's move_vma_limit_v7 at s=4."""
    assert_cell(multi(kernel, s), kernel, MULTI[s][kernel])


@pytest.mark.parametrize("kernel,s,moved_mc", [("7.1", 4, 65529), ("6.18", 6, 65527)])
def test_multi_vma_partial_pieces(kernel, s, moved_mc):
    """Spec §7.5 / §5 row 6: the partial failure leaves A and B at their targets (D+5P, D+7P), C
    still at a+4P, and C's destination [D+9P, D+10P) punched out of D. D's parts opposite the source
    gaps ([D+6P, D+7P) and [D+8P, D+9P)) are never unmapped (spec §3.5.5 step 3)."""
    mm, a, D = abc(kernel)
    at_slack(mm, s)
    after, res = run(mm, a, 5 * P, 5 * P, MOVE_FIXED, D + 5 * P)
    assert isinstance(res, MMError) and res.errno == E.ENOMEM
    assert after.map_count == moved_mc
    assert vmas_in(after, a, a + 5 * P) == [(4, 5, RW)]  # only C is left at the source
    assert vmas_in(after, D, D + 20 * P) == [
        (0, 5, R), (5, 6, RW), (6, 7, R), (7, 8, RW), (8, 9, R), (10, 20, R)]


@pytest.mark.parametrize("s", [3, 4, 5, 6, 7])
def test_multi_vma_5_0(s):
    """Spec §7.5, 5.0: PARTIAL EFAULT, mc + 1 (D punched): the destination [D+5P, D+10P) is an
    interior punch (+1), then vma_to_resize finds [a, a+5P) crossing A's end (EFAULT)."""
    out = multi("5.0", s)
    assert (out.kind, out.errno, out.check) == ("PARTIAL_FAIL", E.EFAULT, "validate.crosses_vma_end")
    assert out.mc_after == out.mc_before + 1


@pytest.mark.parametrize("kernel", ["5.1", "5.1-alt"])
@pytest.mark.parametrize("s", [3, 4, 5, 6, 7])
def test_multi_vma_5_1_and_alt(kernel, s):
    """Spec §7.5, 5.1/alt: CLEAN ENOMEM at s=3-5, PARTIAL EFAULT at 6 (65525) and 7 (65524).

    Known deviation of the spec cell for alt at s=5 (its own definition, §3.5.8): the trigger fires
    (mc + 2 >= max - 3), but the prediction is +1 (the destination is an interior punch of D and there
    is no tail), and 65525 + 1 >= 65527 is false, so alt lets the call through; it then fails with
    EFAULT after the destination punch: PARTIAL_FAIL, mc 65526. 5.1 (mc + 2 >= max - 3) rejects s=5."""
    out = multi(kernel, s)
    if s <= 4 or (s == 5 and kernel == "5.1"):
        assert (out.kind, out.errno, out.check, out.mc_after) == (
            "CLEAN_FAIL", E.ENOMEM, "mremap_early" if kernel == "5.1" else "alt_early", out.mc_before)
    else:
        assert (out.kind, out.errno, out.check) == ("PARTIAL_FAIL", E.EFAULT, "validate.crosses_vma_end")
        assert out.mc_after == out.mc_before + 1
        assert out.mc_after == {5: 65526, 6: 65525, 7: 65524}[s]


@pytest.mark.parametrize("s", [3, 4, 5, 6, 7])
def test_multi_vma_ideal(s):
    """Spec §7.5, ideal: CLEAN EFAULT (the 5.0 flow, rolled back)."""
    out = multi("ideal", s)
    assert (out.kind, out.errno, out.mc_after) == ("CLEAN_FAIL", E.EFAULT, out.mc_before)


# ---- §7.6 merge facts involving mremap -------------------------------------------------------


@pytest.mark.parametrize("kernel", COLS)
@pytest.mark.parametrize("x_faulted", [False, True])
def test_unfaulted_move_merges_with_x(kernel, x_faulted):
    """Spec §7.6 row 1 / §2.5: an unfaulted RW anon y moved (FIXED, same size) to just after a RW
    anon x merges with x: copy_vma resets y's pgoff to new_addr>>12, which continues x's pgoff
    (x was mapped at its own address). Same in every profile. Net -1 (copy merged, source -1)."""
    mm = new_mm(kernel)
    x = anon(mm, BASE, 4, RW, faulted=x_faulted)
    y = anon(mm, BASE + 0x40 * P, 3, RW)
    mc = mm.map_count
    after, res = run(mm, y, 3 * P, 3 * P, MOVE_FIXED, x + 4 * P)
    assert res == x + 4 * P
    assert after.map_count == mc - 1
    (v,) = after.vmas_in(x, x + 7 * P)
    assert (v.start, v.end, v.pgoff) == (x, x + 7 * P, x // P)


@pytest.mark.parametrize("kernel", COLS)
def test_faulted_move_stays_separate(kernel):
    """Spec §7.6 row 2: the same move with y written first stays separate: copy_vma keeps the
    faulted VMA's pgoff (y>>12), which does not continue x's. Net 0 (copy +1, source -1)."""
    mm = new_mm(kernel)
    x = anon(mm, BASE, 4, RW)
    y = anon(mm, BASE + 0x40 * P, 3, RW, faulted=True)
    mc = mm.map_count
    after, res = run(mm, y, 3 * P, 3 * P, MOVE_FIXED, x + 4 * P)
    assert res == x + 4 * P and after.map_count == mc
    got = after.vmas_in(x, x + 7 * P)
    assert [(v.start, v.end) for v in got] == [(x, x + 4 * P), (x + 4 * P, x + 7 * P)]
    assert got[1].pgoff == y // P


@pytest.mark.parametrize("kernel", COLS)
def test_faulted_half_moved_away_and_back_remerges(kernel):
    """Spec §7.6 row 3: a faulted 10P VMA, half moved away then moved back, re-merges (same anon_vma
    identity, pgoff kept = V>>12 + 5 which continues the first half)."""
    mm = new_mm(kernel)
    V = anon(mm, BASE, 10, RW, faulted=True)
    av = mm.vma_at(V).anon_vma
    far = BASE + 0x100 * P
    mc = mm.map_count
    mm.mremap(V + 5 * P, 5 * P, 5 * P, MOVE_FIXED, far)
    assert mm.map_count == mc + 1
    assert mm.vma_at(far).pgoff == V // P + 5
    mm.mremap(far, 5 * P, 5 * P, MOVE_FIXED, V + 5 * P)
    assert mm.map_count == mc
    (v,) = mm.vmas_in(V, V + 10 * P)
    assert (v.start, v.end, v.anon_vma, v.pgoff) == (V, V + 10 * P, av, V // P)
    assert mm.vmas_in(far, far + 5 * P) == []


@pytest.mark.parametrize("kernel", COLS)
def test_grow_in_place_up_to_compatible_y(kernel):
    """Spec §7.6 row 4 / §2.4 / §3.6: x grown in place up to the start of a compatible y gives one
    VMA on 6.18/7.1 (vma_merge_extend, -1) and two on 5.0/5.1 (vma_adjust never merges). 5.1-alt and
    ideal run 5.0/5.1's flow (spec §0), so two VMAs there too."""
    mm = new_mm(kernel)
    x = anon(mm, BASE, 4, RW)
    y = anon(mm, BASE + 6 * P, 4, RW)  # pgoff y>>12 = x>>12 + 6: compatible once x reaches it
    mc = mm.map_count
    after, res = run(mm, x, 4 * P, 6 * P, 0)
    assert res == x
    spans = [(v.start, v.end) for v in after.vmas_in(x, x + 10 * P)]
    if kernel in ("6.18", "7.1"):
        assert spans == [(x, x + 10 * P)] and after.map_count == mc - 1
    else:
        assert spans == [(x, x + 6 * P), (y, y + 4 * P)] and after.map_count == mc


# ---- §8 step traces --------------------------------------------------------------------------

FIXED_V5 = ["unmap_destination", "unmap_tail", "vma_to_resize", "get_unmapped_area", "move_vma_limit",
            "copy_vma", "move_page_tables", "unmap_source"]


def _seed_w_trace(kernel: str, s: int = 8):
    out = seed_w(kernel, s)
    return out, out.trace


def test_trace_5_0_fixed_shrink():
    """Spec §8: the depth-0 sequence of a 5.0 FIXED shrink (Seed-W, success)."""
    out, tr = _seed_w_trace("5.0")
    assert out.kind == "OK"
    assert top_steps(tr) == FIXED_V5


def test_trace_5_1_has_early_first():
    """Spec §8: 5.1 evaluates mremap_early first, then the 5.0 sequence."""
    out, tr = _seed_w_trace("5.1")
    assert top_steps(tr) == ["mremap_early"] + FIXED_V5


def test_trace_alt_has_alt_early_first():
    """Spec §8: the 5.0 family FIXED row: [mremap_early | alt_early] first."""
    out, tr = _seed_w_trace("5.1-alt")
    assert top_steps(tr) == ["alt_early"] + FIXED_V5


def test_trace_6_18_validates_before_unmaps():
    """Spec §8 / §3.5.2: 6.18 runs mremap_early, vma_lookup, check_prep_vma before any unmap, then
    the destination unmap with a relookup after it, the tail unmap, placement and the move steps."""
    out, tr = _seed_w_trace("6.18")
    assert top_steps(tr) == ["mremap_early", "vma_lookup", "check_prep_vma", "unmap_destination", "relookup",
                             "unmap_tail", "get_unmapped_area", "move_vma_limit", "copy_vma",
                             "move_page_tables", "unmap_source"]


def test_trace_7_1():
    """Spec §8: 7.1 = mremap_early_v7 first, then as 6.18 with move_vma_limit_v7."""
    out, tr = _seed_w_trace("7.1")
    assert top_steps(tr) == ["mremap_early_v7", "vma_lookup", "check_prep_vma", "unmap_destination",
                             "relookup", "unmap_tail", "get_unmapped_area", "move_vma_limit_v7",
                             "copy_vma", "move_page_tables", "unmap_source"]


@pytest.mark.parametrize("s,last", [(8, "commit"), (3, "commit"), (2, "rollback")])
def test_trace_ideal_commit(s, last):
    """Spec §8: ideal = the scratch run's records (the 5.0 flow without A-checks), then ideal_commit,
    then commit or rollback. s=2 fails R3 (spec §7.1), so ideal_commit carries the errno."""
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
    """Spec §8 (ideal row) and §3.5.9: every ideal call ends with ideal_commit (R1-R3 evaluated;
    here R1 fails) and then rollback. Cases: Seed-W at s=0 (destination punch check fires) and the
    §7.5 call (EFAULT after the destination punch)."""
    out = seed_w("ideal", 0) if case == "seed-w-s0-dest-punch" else multi("ideal", 7)
    assert out.kind == "CLEAN_FAIL"
    assert top_steps(out.trace)[-2:] == ["ideal_commit", "rollback"]


def test_trace_unmap_children_show_transient_peak():
    """Spec §2.2/§8: each unmap is a depth-0 record whose children are its punch check, splits and
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
    """Spec §8: alt_early also records trigger and pred (in its expr). Seed-W at s=5: the trigger
    fires and pred = +2 (destination punch + tail punch); at s=8 the trigger does not fire."""
    rec = [r for r in seed_w("5.1-alt", 5).trace if r.step == "alt_early"][0]
    assert "trigger" in rec.expr and "pred +2" in rec.expr and rec.passed is False
    rec = [r for r in seed_w("5.1-alt", 8).trace if r.step == "alt_early"][0]
    assert "trigger" in rec.expr and "pred" not in rec.expr and rec.passed is True


def test_trace_ideal_rollback_on_swallowed_source_punch():
    """Spec §3.5.9/§6 R1-R2 and §7.2 (ideal s=1 "src"): the source punch fails inside move_vma and
    is swallowed, so the scratch run "succeeds"; ideal_commit then refuses it and rolls back. The
    punch check is the one non-swallowed errno record."""
    out = seed_s("ideal", 1)
    steps = top_steps(out.trace)
    assert steps[-2:] == ["ideal_commit", "rollback"]
    (fail,) = failing_records(out.trace)
    assert fail.step == "munmap_punch_limit"
    assert out.trace.failure is fail


def _all_table_cases():
    for table, fn in ((SEED_W, seed_w), (SEED_S, seed_s)):
        for s in table:
            for k in COLS:
                yield fn, k, s


@pytest.mark.parametrize("fn,kernel,s", [pytest.param(f, k, s, id=f"{f.__name__}-{k}-s{s}")
                                         for f, k, s in _all_table_cases()])
def test_trace_counts_and_single_errno(fn, kernel, s):
    """Spec §8 on every §7.1/§7.2 cell: map_count is the count after each record (children sum to
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
    """Spec §8 fields: checks carry expr ("65527 >= 65527") and passed; fn names the kernel function
    with the tree version (move_vma@5.0, prep_move_vma@6.18)."""
    out = seed_w("5.0", 3)  # mc 65527 -> 65529 after both punches; 65529 >= 65527 fails
    chk = [r for r in out.trace if r.step == "move_vma_limit"][0]
    assert chk.kind == "check" and chk.passed is False and chk.errno == E.ENOMEM
    assert chk.expr == "65529 >= 65530 - 3"
    assert chk.fn == "move_vma@5.0"
    out = seed_w("6.18", 8)
    chk = [r for r in out.trace if r.step == "move_vma_limit"][0]
    assert chk.fn == "prep_move_vma@6.18" and chk.passed is True


def test_trace_multi_piece_indices():
    """Spec §8: piece = the multi-VMA index; 6.18 runs the move steps once per piece (§3.5.5)."""
    mm, a, D = abc("6.18")
    at_slack(mm, 8)
    out = classify_pure(mm, a, 5 * P, 5 * P, MOVE_FIXED, D + 5 * P)
    assert out.kind == "OK"
    checks = [r for r in out.trace if r.step == "move_vma_limit"]
    assert [r.piece for r in checks] == [0, 1, 2]
    assert [r.piece for r in out.trace if r.step == "unmap_destination"] == [0, 1, 2]


def test_outcome_fields_are_consistent():
    """Spec §6: an Outcome reports mc_before/mc_after, the failing check and the full trace."""
    out = seed_w("5.0", 2)
    assert isinstance(out, mmsim.Outcome)
    assert (out.mc_before, out.mc_after, out.max_map_count, out.slack) == (65528, 65530, 65530, 2)
    assert out.trace.failure.step == out.check == "move_vma_limit"


# ---- the false-positive family: destination exactly covering k whole VMAs (§4, §7.3) ---------


def _closed_form(kernel: str, k: int, s: int) -> str:
    """Spec §4 row "FIXED, whole VMA onto k >= 1 whole VMAs":
    5.0 max(0,4-k), P(fp) below; 5.1 = 6.18: 6, FP from max(0,4-k), C below; 7.1: 4, FP from
    max(0,2-k), C below; 5.1-alt: max(0,4-k), C below; ideal: 0."""
    if kernel == "5.0":
        return "OK" if s >= max(0, 4 - k) else "PARTIAL(fp)"
    if kernel in ("5.1", "6.18"):
        return "OK" if s >= 6 else ("FP" if s >= max(0, 4 - k) else "CLEAN")
    if kernel == "7.1":
        return "OK" if s >= 4 else ("FP" if s >= max(0, 2 - k) else "CLEAN")
    if kernel == "5.1-alt":
        return "OK" if s >= max(0, 4 - k) else "CLEAN"
    return "OK"


@pytest.mark.parametrize("k", range(1, 7))
@pytest.mark.parametrize("kernel", COLS)
def test_whole_onto_k_family(kernel, k):
    """Spec §4 closed form (and §7.3 layout) for k = 1..6, slack 0..8. Net -k on success (so the
    final count is always within the limit: ideal accepts every case, and every 5.1/6.18/7.1
    rejection at or above the FP threshold is a FALSE_POSITIVE with ideal_ok). 5.1-alt predicts -k
    exactly, so it rejects only where 5.0's own move check would fire after the unmap (CLEAN)."""
    mm, S, d = whole_onto_k(kernel, k)
    for s in range(9):
        at_slack(mm, s)
        out = classify_pure(mm, S, k * P, k * P, MOVE_FIXED, d)
        want = _closed_form(kernel, k, s)
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
            assert out.check in ("mremap_early", "mremap_early_v7", "alt_early"), ctx
