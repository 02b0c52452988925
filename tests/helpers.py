"""The one helper module of the model tests (kernel tools/testing/vma style), in page units.

Scenarios live at fixed addresses in an arena starting at :data:`BASE`, mapped with MAP_FIXED, so
every test is deterministic. Every helper takes **arena pages** (page ``n`` is ``BASE + n * P``);
whatever a helper returns is an **address**, as the syscall it wraps returns one (``anon`` returns
mmap's result). :func:`layout` renders the arena as exact :class:`L` rows, relabelling anon_vma
identities ``"A"``, ``"B"``, ... in address order, because the semantics (§1.1) fix only which VMAs
share an identity, not the integers. :func:`assert_layout` asserts the whole arena, ``map_count``
and :meth:`mmsim.AddressSpace.check_invariants` in one call.

The arena is everything from ``BASE`` up to TASK_SIZE: it includes the model's default
``mmap_base`` (page :data:`TOP`), where hint-less mmaps and MAYMOVE relocations land (semantics
§2.8). Filler VMAs (``mm.pad``) sit far below ``BASE`` and are never part of a layout; they only
count in ``map_count``.

The §-tables the tests compare against live in :mod:`semantics_tables`; the §7 scenario layouts
in :mod:`mremap_builders`.
"""

from __future__ import annotations

import dataclasses
import errno as E
import functools
from collections.abc import Iterable
from typing import NamedTuple

import semantics_tables as T

import mmsim
from mmsim import (
    MAP_ANONYMOUS,
    MAP_FIXED,
    MAP_PRIVATE,
    MAP_SHARED,
    MREMAP_FIXED,
    MREMAP_MAYMOVE,
    PAGE_SIZE,
    PROT_EXEC,
    PROT_READ,
    PROT_WRITE,
    TASK_SIZE,
    AddressSpace,
    MMError,
)

P = PAGE_SIZE
BASE = 0x7E0000000000
ARENA_END = TASK_SIZE
MAX = mmsim.DEFAULT_MAX_MAP_COUNT  # 65530 (semantics §0)
#: The mmap_base of the tests' address spaces (semantics §1.2: a parameter, e.g. 0x7f0000000000; the
#: model's default), and its arena page.
MMAP_BASE = 0x7F0000000000
assert AddressSpace().mmap_base == MMAP_BASE, "the placement tests assume this default mmap_base"
TOP = (MMAP_BASE - BASE) // P
#: user-mode Linux's TASK_SIZE on x86-64: 0x7fc0002000 (arch/x86/um/os-Linux/task_size.c) minus two pages,
#: rounded down to PGDIR_SIZE (arch/um/kernel/um_arch.c, linux_main()).
UML_TASK_SIZE = 0x7FC0000000

R = PROT_READ
RW = PROT_READ | PROT_WRITE
RWX = PROT_READ | PROT_WRITE | PROT_EXEC
PRIV = MAP_PRIVATE | MAP_ANONYMOUS
SHARED = MAP_SHARED | MAP_ANONYMOUS
MOVE_FIXED = MREMAP_MAYMOVE | MREMAP_FIXED


# ---- units ---------------------------------------------------------------------------------


def at(page: int) -> int:
    """Address of arena page ``page``."""
    return BASE + page * P


def pg(page: int) -> int:
    """pgoff of a private anon mapping created at arena page ``page`` (semantics §2.5: addr / P)."""
    return at(page) >> 12


def page_of(addr: int) -> int:
    """The arena page of ``addr`` (the inverse of :func:`at`)."""
    assert (addr - BASE) % P == 0, f"{addr:#x} is not page aligned"
    return (addr - BASE) // P


# ---- building ------------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _filled() -> AddressSpace:
    mm = AddressSpace("5.0", MAX)
    mm.pad(MAX - 64)
    return mm


def new_mm(kernel: str = "6.18", max_map_count: int = MAX, *, filled: bool = False, **kw) -> AddressSpace:
    """An address space under ``kernel``: empty, or (``filled``) with ~65466 filler VMAs at max 65530.

    Building 65 466 filler VMAs costs ~0.5 s, so one filled address space is built once and copied
    per call (``with_kernel``); set the free slots with :func:`at_free_slots`.
    """
    if filled:
        assert max_map_count == MAX and not kw, "a filled address space has the default max and parameters"
        mm = _filled().with_kernel(kernel)
        assert mm.kernel == kernel
        return mm
    return AddressSpace(kernel=kernel, max_map_count=max_map_count, **kw)


def anon(mm, page: int, npages: int = 1, prot: int = RW, flags: int = PRIV, *, faulted: bool = False) -> int:
    """MAP_FIXED anonymous mapping of ``npages`` at arena page ``page`` (private by default; pass
    ``SHARED`` for MAP_SHARED|MAP_ANONYMOUS). ``faulted`` write-faults every page afterwards
    (semantics §2.6). Returns the mapped address."""
    a = mm.mmap(at(page), npages * P, prot, flags | MAP_FIXED)
    assert a == at(page)
    if faulted:
        mm.touch(a, npages * P, write=True)
    return a


def fmap(mm, fd: int, page: int, npages: int, off_pages: int, prot: int = R, flags: int = MAP_PRIVATE) -> int:
    """MAP_FIXED file mapping of ``fd`` at arena page ``page``, file offset ``off_pages`` pages."""
    return mm.mmap(at(page), npages * P, prot, flags | MAP_FIXED, fd, off_pages * P)


def at_free_slots(mm: AddressSpace, s: int) -> AddressSpace:
    """Pad/unpad filler so that ``max_map_count - map_count == s``."""
    mm.set_free_slots(s)
    assert mm.max_map_count - mm.map_count == s
    return mm


# ---- layouts -------------------------------------------------------------------------------


class L(NamedTuple):
    """One arena VMA: pages relative to BASE, /proc perms, pgoff, relabelled anon_vma, VM_ACCOUNT."""

    start: int
    end: int
    perms: str
    pgoff: int
    anon: str | None
    acct: bool


def layout(mm) -> list[L]:
    """The arena VMAs (filler VMAs from ``pad`` are far below BASE and excluded)."""
    names: dict[int, str] = {}
    out = []
    for v in mm.vmas_in(BASE, ARENA_END):
        label = None
        if v.anon_vma is not None:
            label = names.setdefault(v.anon_vma, chr(ord("A") + len(names)))
        out.append(L((v.start - BASE) // P, (v.end - BASE) // P, v.perms, v.pgoff, label, v.accounted))
    return out


def arena(mm) -> list[mmsim.VMA]:
    """The raw arena VMA records (for identity checks such as ``file is``)."""
    return mm.vmas_in(BASE, ARENA_END)


def _rows(rows: Iterable) -> str:
    return "\n".join(f"    {tuple(r)}" for r in rows) or "    (empty)"


def assert_layout(mm, expected: Iterable, *, map_count: int) -> None:
    """Assert the whole arena layout, ``mm.map_count`` and the address space's invariants.

    ``expected`` lists every arena VMA in address order as ``L`` rows (or plain tuples)
    ``(start page, end page, perms, pgoff, anon_vma label or None, accounted)``; anon_vma labels
    are "A", "B", ... in address order of first appearance (see :func:`layout`). ``map_count``
    includes any filler VMAs.
    """
    mm.check_invariants()
    want = [L(*row) for row in expected]
    got = layout(mm)
    assert got == want, f"arena layout differs\n  expected:\n{_rows(want)}\n  got:\n{_rows(got)}"
    assert mm.map_count == map_count, f"map_count {mm.map_count}, expected {map_count}"


# ---- running -------------------------------------------------------------------------------


def _filler_window() -> tuple[int, int]:
    """Where ``pad`` puts filler VMAs (1-page VMAs with 1-page gaps upwards from the first one)."""
    probe = AddressSpace()
    probe.pad(1)
    lo = probe.vmas()[0].start
    return lo, lo + 2 * P * (MAX + 8)


FILLER_LO, FILLER_HI = _filler_window()
#: check_invariants() is O(n) (~0.2 s on a filled address space): classify_pure and run_copy check it
#: on address spaces up to this size; filled ones are checked wherever a test asserts a layout.
CHEAP_CHECK = 4096


def check_if_small(mm: AddressSpace) -> None:
    """``mm.check_invariants()`` unless ``mm`` holds filler (see :data:`CHEAP_CHECK`)."""
    if mm.map_count <= CHEAP_CHECK:
        mm.check_invariants()


def snapshot(mm: AddressSpace, full: bool = False) -> tuple:
    """What classify() must leave alone: the VMA list, map_count, and the last trace.

    With ``full=False`` the 65k filler VMAs are summarised by map_count (the VMAs below and above
    the filler region are compared one by one): O(k) instead of O(n). The property tests compare
    the full state.
    """
    if full:
        vmas = mm.state()
    else:
        vmas = (tuple(mm.vmas_in(0, FILLER_LO)), tuple(mm.vmas_in(FILLER_HI, TASK_SIZE)))
    return (vmas, mm.map_count, mm.free_slots, [dataclasses.asdict(s) for s in mm.trace])


def classify_pure(mm: AddressSpace, *args, op: str = "mremap") -> mmsim.Outcome:
    """classify(), asserting on the way that it left the address space untouched (and valid, see
    :func:`check_if_small`)."""
    before = snapshot(mm)
    out = mmsim.classify(mm, op, *args)
    assert snapshot(mm) == before, "classify() mutated its input"
    check_if_small(mm)
    return out


def run_copy(mm: AddressSpace, *args, op: str = "mremap"):
    """Run the call for real on a copy; return (copy, result or MMError). The copy's invariants
    are checked whatever the outcome (see :func:`check_if_small`)."""
    c = mm.copy()
    try:
        res = getattr(c, op)(*args)
    except MMError as e:
        res = e
    check_if_small(c)
    return c, res


# ---- §7 cells --------------------------------------------------------------------------------


def assert_cell(out: mmsim.Outcome, kernel: str, text: str, errno: int = E.ENOMEM) -> None:
    """Assert an Outcome against a semantics §7 cell (kind, mc after, errno, failing check, fp);
    see :func:`semantics_tables.cell` for the cell grammar. An errno written in the cell wins
    over ``errno``."""
    c = T.cell(text)
    ctx = f"{kernel}: expected {text!r}, got {out}"
    assert out.kind == c.kind, ctx
    assert out.mc_after == c.mc_after, ctx
    if c.kind == "OK":
        assert out.errno is None and out.check is None, ctx
        return
    assert out.errno == (c.errno if c.errno is not None else errno), ctx
    assert out.fp is c.fp, ctx
    if c.token is None:
        return
    if c.token in T.PUNCH_WHERE:
        assert (out.check, out.where) == ("munmap_punch_limit", T.PUNCH_WHERE[c.token]), ctx
    elif c.token == "early" or c.token == "alt":
        assert out.check == T.EARLY[kernel] and out.check is not None, ctx
    elif c.token == "move":
        assert out.check == T.MOVE[kernel] and out.check is not None, ctx
    else:
        assert out.check == T.CHECK_TOKENS[c.token], ctx


# ---- traces (semantics §8) --------------------------------------------------------------------


def top_steps(trace) -> list[str]:
    """The depth-0 step names of a trace."""
    return [s.step for s in trace if s.depth == 0]


def assert_trace_counts(trace, mc_before: int) -> int:
    """Semantics §8: ``map_count`` is the count *after* each record and ``delta`` its change.

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


def host_max_map_count() -> int:
    """The host's vm.max_map_count, read (never written): a guest's limit must leave it unchanged."""
    with open("/proc/sys/vm/max_map_count") as f:
        return int(f.read())
