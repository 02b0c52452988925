"""Hypothesis properties of mremap over random small layouts (semantics §3.5, §5, §6).

Layouts: 1-6 anonymous VMAs (private R, private RW, private RW written, shared RW) with random sizes
and gaps, in a 60-page window; random old/new ranges; 0 free slots..8. Free slots is what every map-count
check compares (``mc >= max``, ``mc + 2 >= max - 3``, ...), so a small ``max_map_count`` (24) with
filler gives the same outcomes as 65530 at the same free slots, at a fraction of the cost.
(24 = at most 6 layout VMAs + at most 8 free slots + filler.)

Every address space is checked with ``check_invariants()`` after each operation that builds or
changes it, after every ``classify`` (on the state it leaves behind) and after every real call.
"""

from __future__ import annotations

import errno as E
import random

import pytest
from helpers import MOVE_FIXED, PRIV, RW, SHARED, P, R, anon, at, snapshot
from hypothesis import HealthCheck, Phase, assume, find, given, settings
from hypothesis import strategies as st

from mmsim import KERNELS, MREMAP_DONTUNMAP, MREMAP_MAYMOVE, AddressSpace, MMError, classify

SMALL_MAX = 24
KINDS = ("priv_r", "priv_rw", "priv_rw_written", "shared_rw")
SETTINGS = settings(max_examples=150, deadline=None, database=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


ONLY_FIXED = st.just(MOVE_FIXED)


@st.composite
def scenarios(draw, flags=ONLY_FIXED, disjoint=True):
    """A random layout, one mremap call (addr, old_len, new_len, flags, new_addr) and free slots.

    Addresses are either uniform over the window (gaps, beyond the layout) or a page inside / at
    the edge of a chosen VMA, so that punches, trims and whole-VMA unmaps all come up often.
    With ``disjoint`` the source and destination ranges never overlap (an overlap is a plain
    EINVAL in every profile and would only dilute the search)."""
    layout = draw(st.lists(st.tuples(st.integers(0, 3), st.integers(1, 6), st.sampled_from(KINDS)),
                           min_size=1, max_size=6))
    spans, a = [], 0
    for gap, pages, _ in layout:
        a += gap
        spans.append((a, pages))
        a += pages
    window = a + 12

    def page(edge: int):
        if draw(st.integers(0, 3)) == 0:
            return draw(st.integers(0, window)), None
        start, pages = spans[draw(st.integers(0, len(spans) - 1))]
        off = draw(st.integers(0, pages - 1 + edge))
        return start + off, pages - off

    src, room = page(0)
    addr = at(src)
    fits = room is not None and draw(st.integers(0, 3)) != 0
    old = P * draw(st.integers(0, room) if fits else st.integers(0, 10))
    new = P * draw(st.integers(1, 10))
    new_addr = at(page(1)[0])
    if disjoint:
        assume(not (addr + old > new_addr and new_addr + new > addr))
    return {"layout": tuple(layout), "call": (addr, old, new, draw(flags), new_addr),
            "free_slots": draw(st.integers(0, 8))}


def build(kernel: str, sc: dict) -> AddressSpace:
    """Map the layout with the model's own syscalls, then pad to the free slots."""
    mm = AddressSpace(kernel, SMALL_MAX)
    page = 0
    for gap, pages, kind in sc["layout"]:
        page += gap
        anon(mm, page, pages, R if kind == "priv_r" else RW, SHARED if kind == "shared_rw" else PRIV,
             faulted=kind == "priv_rw_written")
        mm.check_invariants()
        page += pages
    mm.set_free_slots(sc["free_slots"])
    mm.check_invariants()
    return mm


def outcome(kernel: str, sc: dict):
    mm = build(kernel, sc)
    out = classify(mm, "mremap", *sc["call"])
    mm.check_invariants()  # the state classify leaves behind
    return mm, out


def limit_partial(out) -> bool:
    """A partial failure caused by the map limit: ENOMEM after the state changed (semantics §5 row 1)."""
    return out.kind == "PARTIAL_FAIL" and out.errno == E.ENOMEM


# ---- 1. no limit-caused partial failure of FIXED mremap under ideal and 5.1 ------------------------


@pytest.mark.parametrize("kernel", ["ideal", "5.1", "6.1"])
@SETTINGS
@given(sc=scenarios())
def test_fixed_never_partial_through_the_limit(kernel, sc):
    """§3.5.9: ideal never leaves a partial state at all. §5 / §3.5.1 F3a: 5.1's early check keeps
    >= 6 free slots before the destination and tail unmaps (each at most +1), so neither their punch
    checks nor move_vma's check (s <= 3) can fire after a change: no ENOMEM PARTIAL_FAIL. 6.1 has the
    same check at the same place and single-VMA moves only (§3.5.1 6.1 additions; §5: "single-VMA moves
    in 5.1+ never leave a partial state through the limit")."""
    _, out = outcome(kernel, sc)
    assert not limit_partial(out), str(out)
    if kernel == "ideal":
        assert out.kind != "PARTIAL_FAIL", str(out)


# ---- 2. under 5.0 such cases exist: find them ------------------------------------------------------

FIND = settings(max_examples=4000, deadline=None, database=None,
                phases=[Phase.generate, Phase.shrink], suppress_health_check=list(HealthCheck))


def _find(predicate):
    return find(scenarios(), predicate, settings=FIND, random=random.Random(2019))


def _fails_5_0_after_change(sc: dict, where: str) -> bool:
    """Cheap search predicate (one real run, no reference runs): 5.0 fails with ENOMEM, the failing
    record sits under the depth-0 step ``where`` (or is it), and the VMA list changed."""
    mm = build("5.0", sc)
    before = mm.state()
    try:
        mm.mremap(*sc["call"])
        mm.check_invariants()
        return False
    except MMError as e:
        mm.check_invariants()
        if e.errno != E.ENOMEM or mm.state() == before:
            return False
    fail = mm.trace.failure
    parent = next((r.step for r in reversed(mm.trace[: fail.seq + 1]) if r.depth == 0), None)
    return parent == where


def test_5_0_partial_through_move_check_exists():
    """Semantics §5 row 1, the 2019 bug: hypothesis finds a FIXED mremap that 5.0 fails with ENOMEM from
    move_vma's check after the destination (and tail) were unmapped. For the found case: the state
    really changed (the real call leaves holes), 5.1 does not fail it partially, and ideal does not
    either."""
    sc = _find(lambda sc: _fails_5_0_after_change(sc, "move_vma_limit"))
    mm, out = outcome("5.0", sc)
    assert limit_partial(out) and out.check == "move_vma_limit"
    assert out.mc_after != out.mc_before or any(r.step == "detach" for r in out.trace)
    before = mm.state()
    with pytest.raises(MMError) as ei:
        mm.mremap(*sc["call"])
    mm.check_invariants()
    assert ei.value.errno == E.ENOMEM and mm.state() != before
    assert not limit_partial(outcome("5.1", sc)[1])
    assert outcome("ideal", sc)[1].kind != "PARTIAL_FAIL"


def test_5_0_partial_through_tail_punch_exists():
    """Semantics §7.1 s=1 generalised: hypothesis finds a 5.0 FIXED shrink whose tail punch check fails
    after the destination unmap changed the state (PARTIAL, ENOMEM, where = unmap_tail)."""
    sc = _find(lambda sc: _fails_5_0_after_change(sc, "unmap_tail"))
    _, out = outcome("5.0", sc)
    assert (out.check, out.where) == ("munmap_punch_limit", "unmap_tail")
    addr, old, new, _, _ = sc["call"]
    assert old > new  # only a shrink has a tail
    assert not limit_partial(outcome("5.1", sc)[1])


# ---- 3. 5.1-alt: move_vma_limit never fires after an unmap (§3.5.8 inference) -------------------


@SETTINGS
@given(sc=scenarios(flags=st.sampled_from([MOVE_FIXED, MOVE_FIXED, MREMAP_MAYMOVE, 0])))
def test_alt_move_check_never_fires_after_an_unmap(sc):
    """§3.5.8 [inference]: pred never under-counts the destination + tail unmaps, so if alt_early
    lets a FIXED call through, move_vma's check (s <= 3) cannot fire after F4/F5. Asserted: a failing
    move_vma_limit record is never preceded by a split or detach in the trace, and a FIXED call never
    fails at move_vma_limit at all (without the trigger, s >= 6 leaves >= 4 after two punches)."""
    _, out = outcome("5.1-alt", sc)
    recs = list(out.trace)
    for i, r in enumerate(recs):
        if r.step == "move_vma_limit" and r.passed is False:
            assert not any(x.step in ("split", "detach") for x in recs[:i]), str(out.trace)
    if sc["call"][3] & MOVE_FIXED == MOVE_FIXED:
        assert out.check != "move_vma_limit", str(out)
    assert not (out.kind == "PARTIAL_FAIL" and out.check == "move_vma_limit")


@SETTINGS
@given(sc=scenarios())
def test_alt_prediction_never_undercounts(sc):
    """§3.5.8 [inference], measured directly: whenever alt_early records a prediction and the call
    reaches move_vma, the real change of the destination and tail unmaps is at most pred."""
    _, out = outcome("5.1-alt", sc)
    early = [r for r in out.trace if r.step == "alt_early"]
    if not early or "pred" not in (early[0].expr or "") or early[0].passed is False:
        return
    pred = int(early[0].expr.split("pred ")[1].split(":")[0])
    real = sum(r.delta for r in out.trace if r.depth == 0 and r.step in ("unmap_destination", "unmap_tail"))
    if any(r.step == "vma_to_resize" for r in out.trace):  # both unmaps ran
        assert real <= pred, str(out.trace)


# ---- 4. classify never mutates its input -----------------------------------------------------------


@pytest.mark.parametrize("kernel", KERNELS)
@settings(max_examples=40, deadline=None, database=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(sc=scenarios(flags=st.sampled_from([0, MREMAP_MAYMOVE, MOVE_FIXED, MREMAP_MAYMOVE | MREMAP_DONTUNMAP,
                                          MOVE_FIXED | MREMAP_DONTUNMAP, 8]), disjoint=False))
def test_classify_is_pure(kernel, sc):
    """classify() leaves the VMAs (field by field), map_count and the previous trace untouched, and
    its Outcome agrees with running the call for real on a copy (same errno, same final count,
    same result)."""
    mm = build(kernel, sc)
    before = snapshot(mm, full=True)
    out = classify(mm, "mremap", *sc["call"])
    assert snapshot(mm, full=True) == before
    mm.check_invariants()
    again = classify(mm, "mremap", *sc["call"])
    mm.check_invariants()
    assert (again.kind, again.errno, again.check, again.mc_after) == (out.kind, out.errno, out.check, out.mc_after)
    c = mm.copy()
    try:
        res, err = c.mremap(*sc["call"]), None
    except MMError as e:
        res, err = None, e.errno
    c.check_invariants()
    assert err == out.errno and c.map_count == out.mc_after
    if err is None:
        assert res == out.result
    else:
        assert (c.state() == mm.state()) is (out.kind != "PARTIAL_FAIL")
