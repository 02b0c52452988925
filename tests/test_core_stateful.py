"""Hypothesis state machine over the core syscalls (mmap, munmap, mprotect, touch), one per profile.

Random sequences in a 64-page arena (MAP_FIXED, with and without NOREPLACE, hints and hint-less
mmaps, anon/shared/file mappings), ranges mostly aimed at existing VMAs (interior, head, tail,
whole, spanning), with a small max_map_count kept within a few slots of map_count (changed at any
time) so the limit checks fire often. Checked after every step (semantics §1.2, §2, §3, §5, §6, §8):

* ``AddressSpace.check_invariants()`` after every operation (each seeding mmap, the state classify
  leaves behind, each real call, each max change, each call on a copy);
* layout invariants: sorted, non-overlapping, page aligned, start < end, map_count == len(vmas());
  shared VMAs have no anon_vma; VM_ACCOUNT implies private and not noreserve; a private writable
  VMA without VM_NORESERVE is accounted (§2.7);
* a failure that changed the state is one of the semantics' partial cases (mprotect split / hole /
  EACCES, touch EFAULT, §5 #4, #5, #8) and never happens under ``ideal``; any other failure leaves
  vmas() exactly unchanged;
* limits: a successful mmap starts at mc <= max and ends at mc <= max + 1; a munmap or mprotect
  that raised map_count ends at mc <= max (§0 E-checks);
* per-op semantics on success (pages in the range mapped/unmapped/reprotected, pages outside the
  range keep their attributes);
* exactly one trace record carries the errno on failure, none on success (§8);
* ``classify`` never mutates the address space or its trace and predicts the real call (§6);
* ``copy()`` is independent of the original.
"""

from __future__ import annotations

import errno as E

import hypothesis.strategies as st
import pytest
from helpers import BASE, at
from hypothesis import HealthCheck, settings
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

import mmsim
from mmsim import (
    MAP_ANONYMOUS,
    MAP_FIXED,
    MAP_FIXED_NOREPLACE,
    MAP_NORESERVE,
    MAP_PRIVATE,
    MAP_SHARED,
    PAGE_SIZE,
    PROT_EXEC,
    PROT_READ,
    PROT_WRITE,
    classify,
)

P = PAGE_SIZE
ARENA = 64
PROTS = st.sampled_from([0, PROT_READ, PROT_READ | PROT_WRITE, PROT_READ | PROT_EXEC,
                         PROT_READ | PROT_WRITE | PROT_EXEC, PROT_WRITE])
KINDS = st.sampled_from(["priv", "priv", "priv", "noreserve", "shared", "file_priv", "file_shared",
                         "file2_priv", "ro_shared"])
WHERE = st.tuples(st.sampled_from([True, True, True, False]), st.integers(0, 1000), st.integers(0, 1000),
                  st.integers(0, 1000), st.sampled_from([0, 0, 0, 1, 3]))

#: (op, failing check) pairs that may leave a changed state (semantics §5 #4, #5, #8).
PARTIAL_OK = {
    ("mprotect", "split_limit"),
    ("mprotect", "validate.hole"),
    ("mprotect", "validate.hole_at_end"),
    ("mprotect", "validate.maxprot"),
    ("touch", "validate.segv_maperr"),
    ("touch", "validate.segv_accerr"),
}


def page_attrs(mm):
    """page -> (prot, shared, file, pgoff of that page, anon_vma, accounted, noreserve)."""
    out = {}
    for v in mm.vmas():
        for a in range(v.start, v.end, P):
            out[a] = (v.prot, v.shared, v.file, v.pgoff_at(a), v.anon_vma, v.accounted, v.noreserve)
    return out


def strip_anon(attrs):
    return {a: t[:4] + t[5:] for a, t in attrs.items()}


class CoreMachine(RuleBasedStateMachine):
    kernel = "6.18"

    @initialize(seed=st.lists(st.tuples(st.integers(0, ARENA - 1), st.integers(1, 6), PROTS, KINDS), max_size=10),
                free_slots=st.integers(-1, 4))
    def setup(self, seed, free_slots):
        """Seed the arena with up to 10 FIXED mappings, then set max = mc + free slots (-1 <= free slots <= 4)."""
        self.mm = mmsim.AddressSpace(kernel=self.kernel, max_map_count=1000)
        self.fds = {"file": self.mm.open("f"), "file2": self.mm.open("f"), "ro": self.mm.open("ro", writable=False)}
        for page, npages, prot, kind in seed:
            flags, fd = self._flags_fd(kind)
            try:
                self.mm.mmap(at(page), npages * P, prot, flags | MAP_FIXED, fd, page * P)
            except mmsim.MMError as e:  # only the read-only file's EACCES can fail here
                assert e.errno == E.EACCES
            self.mm.check_invariants()
        self.mm.max_map_count = max(0, self.mm.map_count + free_slots)
        self.mm.check_invariants()

    def resolve(self, where):
        """A range: random in the arena, or aimed at an existing VMA (interior, head, tail, whole,
        optionally running ``span`` pages past its end into gaps or the next VMA)."""
        aimed, sel, a, b, span = where
        vs = [v for v in self.mm.vmas() if BASE <= v.start < BASE + ARENA * P]
        if not aimed or not vs:
            return at(a % (ARENA + 4) - 2), (b % 12 + 1) * P
        v = vs[sel % len(vs)]
        off = a % v.pages
        n = b % (v.pages - off) + 1
        return v.start + off * P, (n + span) * P

    # ---- the checked call ---------------------------------------------------------------
    def call(self, op, *args, **kw):
        mm = self.mm
        before, mc0, mx, trace0 = mm.vmas(), mm.map_count, mm.max_map_count, mm.trace
        trace0_items = list(trace0)
        attrs0 = page_attrs(mm)

        out = classify(mm, op, *args, **kw)
        assert mm.vmas() == before and mm.map_count == mc0, "classify mutated the address space"
        assert mm.trace is trace0 and list(mm.trace) == trace0_items, "classify changed the trace"
        mm.check_invariants()  # the state classify leaves behind

        err = None
        try:
            result = getattr(mm, op)(*args, **kw)
        except mmsim.MMError as e:
            err, result = e, None
        mm.check_invariants()
        after = mm.vmas()
        changed = after != before
        errs = [s for s in mm.trace if s.errno is not None and not s.swallowed]
        if mm.trace:
            assert mm.trace[-1].map_count == mm.map_count, "last record's map_count is not the final count"

        if err is None:
            assert errs == []
            assert out.kind == "OK" and out.result == result and out.mc_after == mm.map_count
        else:
            assert isinstance(err, OSError)
            assert len(errs) == 1 and errs[0].errno == err.errno and errs[0].step == err.check
            assert err.check in str(err)
            assert (out.errno, out.check, out.mc_after) == (err.errno, err.check, mm.map_count)
            # core ops have no anticipatory checks, so never FALSE_POSITIVE (§6)
            assert out.kind == ("PARTIAL_FAIL" if changed else "CLEAN_FAIL")
            if changed:
                assert self.kernel != "ideal", f"ideal left a partial state: {op} {err.check}"
                assert (op, err.check) in PARTIAL_OK, f"unexpected partial state: {op} {err.check}"
            else:
                assert mm.map_count == mc0
            if err.check == "mmap_limit":  # §0: the lenient check, evaluated on the count at that record
                assert mc0 > mx and errs[0].map_count > mx and errs[0].expr == f"{mc0} > {mx}"
            if err.check in ("munmap_punch_limit", "split_limit"):  # §0: mc >= max at the failure point
                assert errs[0].map_count >= mx and errs[0].expr == f"{errs[0].map_count} >= {mx}"
        if op == "touch":
            assert mm.map_count == mc0  # §3.4
        return err, result, attrs0, mc0, mx

    # ---- rules ----------------------------------------------------------------------------
    def _flags_fd(self, kind):
        if kind == "priv":
            return MAP_PRIVATE | MAP_ANONYMOUS, -1
        if kind == "noreserve":
            return MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1
        if kind == "shared":
            return MAP_SHARED | MAP_ANONYMOUS, -1
        if kind == "file_priv":
            return MAP_PRIVATE, self.fds["file"]
        if kind == "file_shared":
            return MAP_SHARED, self.fds["file"]
        if kind == "file2_priv":
            return MAP_PRIVATE, self.fds["file2"]
        return MAP_SHARED, self.fds["ro"]

    @rule(where=WHERE, prot=PROTS, kind=KINDS, off=st.integers(0, 8),
          mode=st.sampled_from(["fixed", "fixed", "fixed", "noreplace", "hint", "none"]))
    def mmap(self, where, prot, kind, off, mode):
        start, length = self.resolve(where)
        flags, fd = self._flags_fd(kind)
        if mode == "fixed":
            flags |= MAP_FIXED
        elif mode == "noreplace":
            flags |= MAP_FIXED_NOREPLACE
        addr = 0 if mode == "none" else start
        free_before = self._free(addr, length)
        err, res, attrs0, mc0, mx = self.call("mmap", addr, length, prot, flags, fd, off * P)
        if err is not None:
            return
        mm = self.mm
        assert mc0 <= mx and mm.map_count <= mx + 1  # mmap_limit mc > max; +2 at most (punch)
        assert res % P == 0
        if mode in ("fixed", "noreplace"):
            assert res == addr
        if mode == "noreplace":
            assert free_before
        if mode in ("hint", "none"):
            assert self._was_free(attrs0, res, length)
            if mode == "hint" and free_before:
                assert res == addr
        v = mm.vma_at(res)
        assert v is not None and v.start <= res and res + length <= v.end, "new range is not one VMA"
        assert v.prot == prot and v.shared == bool(flags & MAP_SHARED)
        if fd != -1:  # §2.5: file pgoff = offset / P, same struct file
            assert v.file is mm.file_of(fd) and v.pgoff_at(res) == off
        elif v.shared:  # a fresh shmem file, pgoff 0, never merged
            assert v.file.shmem and (v.start, v.end, v.pgoff) == (res, res + length, 0)
        else:  # private anon: pgoff = addr / P
            assert v.file is None and v.pgoff_at(res) == res >> 12
        attrs = strip_anon(page_attrs(mm))
        old = strip_anon(attrs0)
        for a in set(attrs) | set(old):
            if not res <= a < res + length:
                assert attrs.get(a) == old.get(a), f"mmap changed page {a:#x} outside its range"

    def _free(self, addr, length):
        v = self.mm.find_vma(addr)
        return v is None or v.start >= addr + length

    @staticmethod
    def _was_free(attrs0, a, length):
        return all(p not in attrs0 for p in range(a, a + length, P))

    @rule(where=WHERE)
    def munmap(self, where):
        addr, length = self.resolve(where)
        err, _, attrs0, mc0, mx = self.call("munmap", addr, length)
        if err is not None:
            return
        mm = self.mm
        if mm.map_count > mc0:
            assert mm.map_count <= mx  # the punch check is mc >= max before +1
        assert mm.map_count <= mc0 + 1  # at most one hole punch
        assert mm.vmas_in(addr, addr + length) == []
        attrs = page_attrs(mm)
        for a, t in attrs0.items():
            if not addr <= a < addr + length:
                assert attrs.get(a) == t, f"munmap changed page {a:#x} outside its range"

    @rule(where=WHERE, prot=PROTS)
    def mprotect(self, where, prot):
        addr, length = self.resolve(where)
        err, _, attrs0, mc0, mx = self.call("mprotect", addr, length, prot)
        if err is not None:
            return
        mm = self.mm
        if mm.map_count > mc0:
            assert mm.map_count <= mx  # every split is checked mc >= max
        assert mm.map_count <= mc0 + 2
        attrs = page_attrs(mm)
        for a in range(addr, addr + length, P):
            assert a in attrs0 and attrs[a][0] == prot, "mprotect left a page unprotected or mapped a hole"
        old, new = strip_anon(attrs0), strip_anon(attrs)
        assert set(old) == set(new)
        for a in old:
            if not addr <= a < addr + length:
                assert new[a] == old[a], f"mprotect changed page {a:#x} outside its range"

    @rule(where=WHERE, write=st.booleans())
    def touch(self, where, write):
        addr, length = self.resolve(where)
        err, _, attrs0, _, _ = self.call("touch", addr, length, write=write)
        if err is not None:
            return
        mm = self.mm
        attrs = page_attrs(mm)
        assert set(attrs) == set(attrs0)
        for a in range(addr, addr + length, P):
            prot, shared, *_ = attrs[a]
            anon_vma = attrs[a][4]
            if write and not shared:
                assert anon_vma is not None
            if shared:
                assert anon_vma is None
        for a, t in attrs0.items():
            assert attrs[a][:4] + attrs[a][5:] == t[:4] + t[5:]  # only anon_vma may change

    @rule(delta=st.integers(-3, 3))
    def set_max(self, delta):
        """§1.2: max is mutable at any time; lowering it removes nothing."""
        before = self.mm.vmas()
        self.mm.max_map_count = max(0, self.mm.map_count + delta)
        assert self.mm.vmas() == before
        self.mm.check_invariants()

    @precondition(lambda self: len(self.mm) > 0)
    @rule(where=WHERE, prot=PROTS, op=st.sampled_from(["munmap", "mprotect", "touch", "mmap"]))
    def copy_is_independent(self, where, prot, op):
        mm = self.mm
        a, n = self.resolve(where)
        before, mc, trace = mm.vmas(), mm.map_count, list(mm.trace)
        c = mm.copy()
        c.check_invariants()
        assert c.vmas() == before and c.map_count == mc and c.max_map_count == mm.max_map_count
        args = {
            "munmap": (a, n),
            "mprotect": (a, n, prot),
            "touch": (a, n),
            "mmap": (a, n, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED),
        }[op]
        try:
            getattr(c, op)(*args)
        except mmsim.MMError:
            pass
        c.check_invariants()
        c.munmap(BASE, ARENA * P)  # and wipe the copy's arena: the original must not notice
        c.check_invariants()
        assert mm.vmas() == before and mm.map_count == mc and list(mm.trace) == trace
        mm.check_invariants()

    # ---- invariants -----------------------------------------------------------------------
    @invariant()
    def layout_is_valid(self):
        mm = self.mm
        mm.check_invariants()
        vs = mm.vmas()
        assert mm.map_count == len(vs) == len(mm)
        prev_end = 0
        for v in vs:
            assert v.start % P == 0 and v.end % P == 0 and v.start < v.end
            assert v.start >= prev_end, "VMAs overlap or are unsorted"
            prev_end = v.end
            assert v.prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC) == 0
            if v.shared:
                assert v.anon_vma is None  # §2.6
            if v.accounted:
                assert not v.shared and not v.noreserve  # §2.7: only private, reserved mappings
            if not v.shared and v.prot & PROT_WRITE and not v.noreserve:
                assert v.accounted, "private writable VMA without VM_ACCOUNT"  # §2.7


def machine_for(kernel):
    return type(f"CoreMachine_{kernel.replace('.', '_').replace('-', '_')}", (CoreMachine,), {"kernel": kernel})


MACHINE_SETTINGS = settings(max_examples=100, stateful_step_count=20, deadline=None,
                            suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize("kernel", mmsim.KERNELS)
def test_core_state_machine(kernel):
    machine = machine_for(kernel)
    machine.TestCase.settings = MACHINE_SETTINGS
    machine.TestCase().runTest()
