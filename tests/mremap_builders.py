"""Scenario builders and assertion helpers for the mremap test suite.

Every layout here is built with the model's own syscalls (mmap with MAP_FIXED, touch) exactly as
the spec describes it; nothing is injected except where a test says so. Filler VMAs (``pad``) bring
``map_count`` to ``max_map_count - slack``.

Layout conventions (all far from the filler region at ``FILLER_BASE`` = 0x10000000 and below the
model's ``mmap_base`` = 0x7f0000000000, so no test depends on a hint-less placement except where
spec §2.8 pins it):

* ``BASE`` = 0x7e0000000000: the scenario region;
* scenario VMAs always have gaps around them unless the scenario asks for adjacency.

Building 65 530 filler VMAs costs ~0.5 s, so one filled address space is built once and copied
(``with_kernel``) per (scenario, kernel); :func:`mmsim.classify` never mutates its input (a property
in test_mremap_properties.py), so a cached scenario can be re-used at every slack.
"""

from __future__ import annotations

import dataclasses
import errno as E
import functools

import mmsim
from mmsim import (
    MAP_ANONYMOUS,
    MAP_FIXED,
    MAP_PRIVATE,
    MAP_SHARED,
    MREMAP_FIXED,
    MREMAP_MAYMOVE,
    PROT_READ,
    PROT_WRITE,
    AddressSpace,
    MMError,
)
from mmsim.addrspace import FILLER_BASE
from mmsim.constants import DEFAULT_MMAP_BASE

P = mmsim.PAGE_SIZE
MAX = mmsim.DEFAULT_MAX_MAP_COUNT  # 65530 (spec §0)
BASE = 0x7E0000000000
MMAP_BASE = DEFAULT_MMAP_BASE  # the model's default mmap_base (spec §1.2), 0x7f0000000000
RW = PROT_READ | PROT_WRITE
R = PROT_READ
MOVE_FIXED = MREMAP_MAYMOVE | MREMAP_FIXED

KERNELS = mmsim.KERNELS
MODERN = ("6.18", "7.1")
V5_FLOW = ("5.0", "5.1", "5.1-alt", "ideal")  # profiles that run the v5.0/v5.1 flow (spec §3.5.1)

#: Spec §7 shorthand -> the check name, per profile (spec §6 "A-checks by profile").
EARLY = {"5.0": None, "5.1": "mremap_early", "6.18": "mremap_early", "7.1": "mremap_early_v7",
         "5.1-alt": "alt_early", "ideal": None}
MOVE = {"5.0": "move_vma_limit", "5.1": "move_vma_limit", "6.18": "move_vma_limit",
        "7.1": "move_vma_limit_v7", "5.1-alt": "move_vma_limit", "ideal": None}
PUNCH_WHERE = {"dest": "unmap_destination", "tail": "unmap_tail", "src": "unmap_source"}


# ---- building ----------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _filled() -> AddressSpace:
    mm = AddressSpace("5.0", MAX)
    mm.pad(MAX - 64)
    return mm


def new_mm(kernel: str, filled: bool = False) -> AddressSpace:
    """An address space under ``kernel`` with max 65530: empty, or with ~65466 filler VMAs."""
    if filled:
        mm = _filled().with_kernel(kernel)
        assert mm.kernel == kernel
        return mm
    return AddressSpace(kernel, MAX)


def anon(mm: AddressSpace, addr: int, pages: int, prot: int = RW, shared: bool = False,
         faulted: bool = False) -> int:
    """mmap(addr, pages*P, prot, MAP_FIXED|MAP_ANONYMOUS|MAP_PRIVATE/SHARED); optionally write-fault it."""
    flags = MAP_FIXED | MAP_ANONYMOUS | (MAP_SHARED if shared else MAP_PRIVATE)
    a = mm.mmap(addr, pages * P, prot, flags)
    assert a == addr
    if faulted:
        mm.touch(addr, pages * P, write=True)
    return a


def at_slack(mm: AddressSpace, s: int) -> AddressSpace:
    """Pad/unpad filler so that ``max_map_count - map_count == s``."""
    mm.set_free_slots(s)
    assert mm.max_map_count - mm.map_count == s
    return mm


@functools.cache
def seed(kernel: str) -> tuple[AddressSpace, int, int]:
    """Spec §7.1/§7.2 layout: O = 10-page RW private anon, unfaulted; D = 10-page R private anon;
    gaps around both (no mergeable neighbour). Returns (mm, O, D); filled, slack set by the test."""
    mm = new_mm(kernel, filled=True)
    O_ = anon(mm, BASE, 10, RW)  # "O" in the spec
    D = anon(mm, BASE + 20 * P, 10, R)
    return mm, O_, D


@functools.cache
def whole_onto_k(kernel: str, k: int) -> tuple[AddressSpace, int, int]:
    """Spec §7.3 layout: S = a whole k-page RW private anon VMA (faulted); the destination
    ``[d, d+kP)`` covers exactly k adjacent 1-page MAP_SHARED|MAP_ANONYMOUS VMAs (never mergeable),
    with gaps just outside it. Returns (mm, S, d)."""
    mm = new_mm(kernel, filled=True)
    S = anon(mm, BASE, k, RW, faulted=True)
    d = BASE + 0x100 * P
    for i in range(k):
        anon(mm, d + i * P, 1, RW, shared=True)
    return mm, S, d


@functools.cache
def mprotect_x(kernel: str) -> tuple[AddressSpace, int]:
    """Spec §7.4: X = a 10-page RW private anon VMA whose neighbours are 1-page
    MAP_SHARED|MAP_ANONYMOUS VMAs directly adjacent on both sides (present but never mergeable)."""
    mm = new_mm(kernel, filled=True)
    anon(mm, BASE, 1, RW, shared=True)
    X = anon(mm, BASE + P, 10, RW)
    anon(mm, BASE + 11 * P, 1, RW, shared=True)
    return mm, X


@functools.cache
def abc(kernel: str, filled: bool = True) -> tuple[AddressSpace, int, int]:
    """Spec §7.5: A, B, C = 1-page RW private anon VMAs at a, a+2P, a+4P; D = a 20-page R VMA.
    Returns (mm, a, D)."""
    mm = new_mm(kernel, filled=filled)
    a = BASE
    for i in range(3):
        anon(mm, a + 2 * i * P, 1, RW)
    D = anon(mm, BASE + 0x100 * P, 20, R)
    return mm, a, D


# ---- running -----------------------------------------------------------------------------


_FILLER_TOP = FILLER_BASE + 2 * P * (MAX + 8)


def snapshot(mm: AddressSpace, full: bool = False) -> tuple:
    """What classify() must leave alone: the VMA list, map_count, and the last trace.

    With ``full=False`` the 65k filler VMAs are summarised by map_count (the VMAs below and above
    the filler region are compared one by one): O(k) instead of O(n). The property tests compare
    the full state.
    """
    if full:
        vmas = mm.state()
    else:
        vmas = (tuple(mm.vmas_in(0, FILLER_BASE)), tuple(mm.vmas_in(_FILLER_TOP, mmsim.TASK_SIZE)))
    return (vmas, mm.map_count, mm.free_slots, [dataclasses.asdict(s) for s in mm.trace])


def classify_pure(mm: AddressSpace, *args, op: str = "mremap") -> mmsim.Outcome:
    """classify(), asserting on the way that it left the address space untouched."""
    before = snapshot(mm)
    out = mmsim.classify(mm, op, *args)
    assert snapshot(mm) == before, "classify() mutated its input"
    return out


def run(mm: AddressSpace, *args, op: str = "mremap"):
    """Run the call for real on a copy; return (copy, result or MMError)."""
    c = mm.copy()
    try:
        res = getattr(c, op)(*args)
    except MMError as e:
        res = e
    return c, res


def vmas_in(mm: AddressSpace, start: int, end: int) -> list[tuple[int, int, int]]:
    """(start, end, prot) of the VMAs intersecting [start, end), as page offsets from ``start``."""
    return [((v.start - start) // P, (v.end - start) // P, v.prot) for v in mm.vmas_in(start, end)]


def cell(text: str) -> tuple[str, int, str | None]:
    """Parse a spec §7 cell such as ``"PARTIAL(fp) 65529 move"`` or ``"CLEAN 65528 [early]"``.

    Returns (kind, map_count after, check token or None). A token in brackets is not printed in the
    spec cell but derived from the rules (the docstring of the test says how).
    """
    parts = text.split()
    kind = {"OK": "OK", "CLEAN": "CLEAN_FAIL", "PARTIAL": "PARTIAL_FAIL", "PARTIAL(fp)": "PARTIAL_FAIL",
            "FP": "FALSE_POSITIVE"}[parts[0]]
    token = parts[2].strip("[]") if len(parts) > 2 else None
    return kind, int(parts[1]), token


def assert_cell(out: mmsim.Outcome, kernel: str, text: str, errno: int = E.ENOMEM) -> None:
    """Assert an Outcome against a spec §7 cell (kind, mc after, failing check, fp)."""
    kind, mc_after, token = cell(text)
    ctx = f"{kernel}: expected {text!r}, got {out}"
    assert out.kind == kind, ctx
    assert out.mc_after == mc_after, ctx
    if kind == "OK":
        assert out.errno is None and out.check is None, ctx
        return
    assert out.errno == errno, ctx
    if kind == "FALSE_POSITIVE" or text.startswith("PARTIAL(fp)"):
        assert out.fp is True, ctx
    else:
        assert out.fp is False, ctx
    if token is None:
        return
    if token in PUNCH_WHERE:
        assert (out.check, out.where) == ("munmap_punch_limit", PUNCH_WHERE[token]), ctx
    elif token == "early" or token == "alt":
        assert out.check == EARLY[kernel] and out.check is not None, ctx
    elif token == "move":
        assert out.check == MOVE[kernel] and out.check is not None, ctx
    elif token == "R3":
        assert out.check == "ideal_commit", ctx
    else:  # pragma: no cover - a typo in a table
        raise AssertionError(f"unknown token {token!r}")


def top_steps(trace) -> list[str]:
    """The depth-0 step names of a trace."""
    return [s.step for s in trace if s.depth == 0]


def assert_trace_counts(trace, mc_before: int) -> int:
    """Spec §8: ``map_count`` is the count *after* each record and ``delta`` its change.

    Depth-1 records are the primitives; a depth-0 record with children carries the count after its
    last child and the sum of their deltas; a depth-0 record without children continues the count.
    Returns the count after the last record.
    """
    running = mc_before
    i = 0
    recs = list(trace)
    while i < len(recs):
        r = recs[i]
        assert r.depth == 0, f"trace starts a group with a depth-{r.depth} record: {r}"
        j = i + 1
        total = 0
        while j < len(recs) and recs[j].depth > 0:
            c = recs[j]
            running += c.delta
            total += c.delta
            assert c.map_count == running, f"child record count: {c.describe()} (expected {running})"
            j += 1
        if j > i + 1:
            assert r.delta == total, f"{r.describe()}: delta != sum of children {total}"
            assert r.map_count == running, f"{r.describe()}: map_count != count after children {running}"
        elif r.kind == "txn" and r.step == "rollback":
            running = r.map_count  # the scratch run is undone
        else:
            running += r.delta
            assert r.map_count == running, f"{r.describe()} (expected {running})"
        i = j
    return running


def failing_records(trace) -> list:
    """Records that carry an errno and were not swallowed."""
    return [s for s in trace if s.errno is not None and not s.swallowed]


__all__ = [
    "P", "MAX", "BASE", "MMAP_BASE", "RW", "R", "MOVE_FIXED", "KERNELS", "MODERN", "V5_FLOW",
    "EARLY", "MOVE", "new_mm", "anon", "at_slack", "seed", "whole_onto_k", "mprotect_x", "abc",
    "snapshot", "classify_pure", "run", "vmas_in", "cell", "assert_cell", "top_steps",
    "assert_trace_counts", "failing_records", "MREMAP_FIXED", "MREMAP_MAYMOVE",
]
