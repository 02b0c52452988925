"""One process's address space as the kernel keeps it: sorted VMAs and ``map_count``.

The syscalls here (mmap, munmap, mprotect, and the page-fault stand-in ``touch``) follow the
kernel's control flow step by step, record a :class:`~mmsim.trace.Trace`, and fail with the
kernel's errno as :class:`~mmsim.errors.MMError`. mremap lives in :mod:`mmsim.mremap` and reuses the
primitives defined here (``_unmap``, ``_new_range``, ``_split``).

Data structure: a :class:`~mmsim.vmatree.VMATree` (dict + SortedList) from ``vm_start`` to an immutable
:class:`~mmsim.vma.VMA`. Lookups, inserts and removals are O(log n); a call touching k VMAs costs
O(k log n). Every mutation of a call is logged so a failed transactional call (profile ``ideal``)
or :func:`mmsim.classify` can undo it in O(k) instead of copying the whole tree.
"""

from __future__ import annotations

import errno as E
import functools
import operator
from collections.abc import Iterable, Iterator
from typing import Any

from .constants import (
    DEFAULT_MAX_MAP_COUNT,
    DEFAULT_MMAP_BASE,
    DEFAULT_MMAP_MIN_ADDR,
    MAP_ANONYMOUS,
    MAP_FIXED,
    MAP_FIXED_NOREPLACE,
    MAP_NORESERVE,
    MAP_PRIVATE,
    MAP_SHARED,
    MAP_SHARED_VALIDATE,
    MAP_TYPE,
    PAGE_SHIFT,
    PAGE_SIZE,
    PROT_EXEC,
    PROT_GROWSDOWN,
    PROT_GROWSUP,
    PROT_READ,
    PROT_SEM,
    PROT_WRITE,
    TASK_SIZE,
    TASK_UNMAPPED_BASE,
    ULONG_MASK,
    page_align,
)
from .errors import MMError
from .profiles import Profile, get_profile
from .trace import E_CHECKS, Step, Trace
from .vma import VMA, File, anon_compatible, anon_reusable, can_merge_after, can_merge_before
from .vmatree import VMATree

__all__ = ["AddressSpace", "FILLER_BASE"]

P = PAGE_SIZE
_PROT_RWX = PROT_READ | PROT_WRITE | PROT_EXEC

#: Where :meth:`AddressSpace.pad` puts its filler VMAs (far below any mmap_base).
FILLER_BASE = 0x10000000


@functools.lru_cache(maxsize=1024)
def _fn_name(name: str, src: str) -> str:
    """``"name@version"`` for a trace record's ``fn`` (cached: traces are built on hot paths)."""
    return f"{name}@{src}"


def _ulong(name: str, value: Any) -> int:
    """An ``unsigned long`` syscall argument: ints only, wrapped modulo 2**64 like C."""
    if value is None:
        return 0
    try:
        return operator.index(value) & ULONG_MASK
    except TypeError:
        raise TypeError(f"{name} must be an int, not {type(value).__name__}") from None


class AddressSpace:
    """The VMAs of one process and the syscalls that change them, under a kernel profile.

    Parameters
    ----------
    kernel:
        A profile name from :data:`mmsim.KERNELS` (``"5.0"``, ``"5.1"``, ``"6.18"``, ``"7.1"``,
        ``"5.1-alt"``, ``"ideal"``).
    max_map_count:
        ``vm.max_map_count``; settable at any time through the attribute, like the sysctl.
    mmap_base:
        Top of the top-down placement search (the real kernel randomises it).
    mmap_min_addr:
        ``vm.mmap_min_addr``; MAP_FIXED below it needs ``privileged``.
    privileged:
        Whether the process has CAP_SYS_RAWIO (``security_mmap_addr``).

    Examples
    --------
    >>> import mmsim
    >>> mm = mmsim.AddressSpace(kernel="6.18", max_map_count=100)
    >>> a = mm.mmap(0, 10 * mmsim.PAGE_SIZE, mmsim.PROT_READ | mmsim.PROT_WRITE,
    ...             mmsim.MAP_PRIVATE | mmsim.MAP_ANONYMOUS)
    >>> mm.mprotect(a + 2 * mmsim.PAGE_SIZE, mmsim.PAGE_SIZE, mmsim.PROT_READ)
    >>> mm.map_count
    3
    """

    def __init__(
        self,
        kernel: str = "6.18",
        max_map_count: int = DEFAULT_MAX_MAP_COUNT,
        *,
        mmap_base: int = DEFAULT_MMAP_BASE,
        mmap_min_addr: int = DEFAULT_MMAP_MIN_ADDR,
        privileged: bool = False,
    ) -> None:
        self._profile: Profile = get_profile(kernel)
        self.max_map_count = max_map_count
        self.mmap_base = int(mmap_base)
        self.mmap_min_addr = int(mmap_min_addr)
        self.privileged = bool(privileged)
        self._tree = VMATree()
        self._next_anon = 1
        self._fds: dict[int, File] = {}
        self._next_fd = 3
        self._nfill = 0
        self._disabled: frozenset = self._profile.disabled
        self._pending = 0
        self._log: list | None = None
        self._piece: int | None = None
        #: The step trace of the last call.
        self.trace: Trace = Trace()

    # ---- public state -------------------------------------------------------------------
    @property
    def kernel(self) -> str:
        """The profile name."""
        return self._profile.name

    @property
    def profile(self) -> Profile:
        """The :class:`~mmsim.profiles.Profile` in force."""
        return self._profile

    @property
    def max_map_count(self) -> int:
        """``vm.max_map_count``: every check reads the current value; lowering it removes nothing."""
        return self._max

    @max_map_count.setter
    def max_map_count(self, value: int) -> None:
        value = operator.index(value)
        if value < 0:
            raise ValueError(f"max_map_count must be >= 0 (the sysctl's minimum), got {value}")
        self._max = value

    @property
    def map_count(self) -> int:
        """``mm->map_count``: the number of VMAs."""
        return len(self._tree) + self._pending

    @property
    def free_slots(self) -> int:
        """``max_map_count - map_count`` (can be -1: mmap lets a process reach max + 1)."""
        return self._max - self.map_count

    def vmas(self) -> list[VMA]:
        """All VMAs, sorted by address. O(n)."""
        return list(self._tree.values())

    def __iter__(self) -> Iterator[VMA]:
        return iter(self._tree.values())

    def __len__(self) -> int:
        return len(self._tree)

    def maps(self) -> str:
        """The address space as /proc/PID/maps text."""
        return "".join(v.maps_line() + "\n" for v in self._tree.values())

    def __repr__(self) -> str:
        return f"<AddressSpace kernel={self.kernel!r} map_count={self.map_count} max_map_count={self._max}>"

    def find_vma(self, addr: int) -> VMA | None:
        """find_vma(): the first VMA with ``end > addr``, or None. O(log n)."""
        t = self._tree
        v = t.floor(addr)
        if v is not None and v.end > addr:
            return v
        return t.ceiling(addr + 1)

    def vma_at(self, addr: int) -> VMA | None:
        """vma_lookup(): the VMA containing ``addr``, or None. O(log n)."""
        v = self.find_vma(addr)
        return v if v is not None and v.start <= addr else None

    def vmas_in(self, start: int, end: int) -> list[VMA]:
        """The VMAs intersecting ``[start, end)``, in order. O(k + log n)."""
        first = self.find_vma(start)
        if first is None or first.start >= end:
            return []
        t = self._tree
        return [t[k] for k in t.starts(first.start, end)]

    def _prev_of(self, addr: int) -> VMA | None:
        """The VMA with the highest start below ``addr``."""
        return self._tree.below(addr)

    def _next_from(self, addr: int) -> VMA | None:
        """The VMA with the lowest start at or above ``addr``."""
        return self._tree.ceiling(addr)

    # ---- files ----------------------------------------------------------------------------
    def open(self, name: str, size: int = 0, *, readable: bool = True, writable: bool = True) -> int:
        """Open a simulated file and return its descriptor for :meth:`mmap`.

        Each call makes a new open file description (``struct file``): mappings made through the
        same descriptor can merge, mappings of two ``open()`` calls never do, as in the kernel.
        """
        fd = self._next_fd
        self._next_fd += 1
        self._fds[fd] = File(str(name), -(-int(size) // P) if size else None, readable, writable)
        return fd

    def file_of(self, fd: int) -> File | None:
        """The File behind a descriptor from :meth:`open`, or None."""
        return self._fds.get(fd)

    # ---- construction helpers -----------------------------------------------------------
    @classmethod
    def from_vmas(
        cls, vmas: Iterable[VMA], kernel: str = "6.18", max_map_count: int = DEFAULT_MAX_MAP_COUNT, **kw: Any
    ) -> AddressSpace:
        """An address space holding exactly ``vmas`` (e.g. parsed from /proc/PID/maps).

        Raises ``ValueError`` if they are unaligned, empty or overlapping.
        """
        mm = cls(kernel, max_map_count, **kw)
        prev_end = 0
        items = {}
        for v in sorted(vmas, key=lambda v: v.start):
            if v.start % P or v.end % P or v.start >= v.end:
                raise ValueError(f"VMA {v.start:#x}-{v.end:#x} is empty or not page aligned")
            if v.start < prev_end:
                raise ValueError(f"VMA {v.start:#x}-{v.end:#x} overlaps the one before it")
            prev_end = v.end
            items[v.start] = v
            if v.anon_vma is not None:
                mm._next_anon = max(mm._next_anon, v.anon_vma + 1)
        mm._tree.update(items)
        return mm

    def pad(self, n: int) -> None:
        """Add ``n`` filler VMAs (``n < 0`` removes the newest ones) to set ``map_count`` directly.

        Filler VMAs are 1-page ``r--p`` private anonymous VMAs with 1-page gaps between them, from
        :data:`FILLER_BASE` upwards, so they never merge with each other or with a scenario. This
        is experiment setup, not a syscall: no check applies and the trace is not touched.
        O(n log n).
        """
        n = operator.index(n)
        if n >= 0:
            base = FILLER_BASE + 2 * P * self._nfill
            if n and not self._range_free(base, 2 * P * n):
                raise ValueError(f"the filler region [{base:#x}, +{2 * P * n:#x}) is already in use")
            self._tree.update({a: VMA(a, a + P, PROT_READ, pgoff=a >> PAGE_SHIFT)
                               for a in range(base, base + 2 * P * n, 2 * P)})
            self._nfill += n
        else:
            if -n > self._nfill:
                raise ValueError(f"cannot remove {-n} filler VMAs: only {self._nfill} were added")
            for i in range(self._nfill - 1, self._nfill + n - 1, -1):
                a = FILLER_BASE + 2 * P * i
                if a not in self._tree or self._tree[a].end != a + P:
                    raise ValueError(f"filler VMA at {a:#x} was changed by a call; cannot remove it")
                self._tree.pop(a)
            self._nfill += n

    def fill_to(self, map_count: int) -> None:
        """Pad (or unpad) filler VMAs until ``map_count`` equals the target."""
        self.pad(map_count - self.map_count)

    def set_free_slots(self, slots: int) -> None:
        """Pad so that ``max_map_count - map_count == slots`` (slots may be -1)."""
        self.fill_to(self._max - slots)

    def copy(self) -> AddressSpace:
        """An independent copy: same VMAs (records are immutable and shared), files and counters. O(n)."""
        new = object.__new__(AddressSpace)
        new.__dict__.update(self.__dict__)
        new._tree = self._tree.copy()
        new._fds = dict(self._fds)
        new._log = None
        new._pending = 0
        new.trace = Trace(self.trace)
        return new

    def with_kernel(self, kernel: str) -> AddressSpace:
        """A copy under another profile."""
        new = self.copy()
        new._profile = get_profile(kernel)
        new._disabled = new._profile.disabled
        return new

    def check_invariants(self) -> None:
        """Assert every invariant of the address space; ``AssertionError`` names the broken one.

        Checked (semantics §1): the tree's own indexes agree; VMAs are sorted, non-overlapping,
        page aligned, non-empty and below TASK_SIZE; ``map_count`` equals the number of VMAs (no
        detach is pending between calls); anon_vma identities were handed out by this address
        space; a shared VMA has no anon_vma; VM_ACCOUNT only on private mappings; ``prot`` within
        the VM_MAY* bits. Tests call it after every operation. O(n).

        >>> import mmsim
        >>> mm = mmsim.AddressSpace()
        >>> _ = mm.mmap(0, 4 * mmsim.PAGE_SIZE, mmsim.PROT_READ, mmsim.MAP_PRIVATE | mmsim.MAP_ANONYMOUS)
        >>> mm.check_invariants()
        """
        self._tree.check()
        prev_end = 0
        n = 0
        for v in self._tree.values():
            where = f"VMA [{v.start:#x}, {v.end:#x})"
            assert v.start % P == 0 and v.end % P == 0, f"{where} is not page aligned"
            assert v.start < v.end, f"{where} is empty or inverted"
            assert v.end <= TASK_SIZE, f"{where} ends above TASK_SIZE {TASK_SIZE:#x}"
            assert v.start >= prev_end, f"{where} overlaps (or is not sorted after) the VMA ending at {prev_end:#x}"
            assert v.anon_vma is None or 0 < v.anon_vma < self._next_anon, \
                f"{where} has anon_vma {v.anon_vma} that this address space never handed out"
            assert not (v.shared and v.anon_vma is not None), f"{where} is shared but has an anon_vma"
            assert not (v.shared and v.accounted), f"{where} is shared but has VM_ACCOUNT"
            assert v.prot & ~v.maxprot == 0, f"{where} has prot {v.prot:#x} beyond its VM_MAY* bits {v.maxprot:#x}"
            prev_end = v.end
            n += 1
        assert self._pending == 0, f"{self._pending} detached VMAs still counted outside a call"
        assert self.map_count == n, f"map_count {self.map_count} != {n} VMAs"

    def state(self) -> tuple:
        """A hashable snapshot of the VMA list (for equality tests)."""
        return tuple(self._tree.values())

    # ---- the undo log ------------------------------------------------------------------
    def _put(self, v: VMA) -> None:
        t = self._tree
        if self._log is not None:
            self._log.append((v.start, t.get(v.start)))
        t[v.start] = v

    def _del(self, start: int) -> VMA:
        v = self._tree.pop(start)
        if self._log is not None:
            self._log.append((start, v))
        return v

    def _rollback(self, log: list) -> None:
        t = self._tree
        for key, old in reversed(log):
            if old is None:
                t.pop(key, None)
            else:
                t[key] = old

    def _changed(self, log: list) -> bool:
        """Whether the mutations in ``log`` changed the VMA list. O(len(log))."""
        first: dict[int, VMA | None] = {}
        for key, old in log:
            first.setdefault(key, old)
        t = self._tree
        return any(t.get(k) != old for k, old in first.items())

    # ---- trace recording -----------------------------------------------------------------
    def _fn(self, name: str) -> str:
        return _fn_name(name, self._profile.src)

    def _rec(self, step: str, kind: str, fn: str, delta: int = 0, start: int | None = None,
             end: int | None = None, depth: int = 0, **kw: Any) -> Step:
        s = Step(len(self.trace), step, kind, self._fn(fn), len(self._tree) + self._pending, delta,
                 start, end, self._piece, depth=depth, **kw)
        self.trace.append(s)
        return s

    def _check(self, name: str, fn: str, fails: bool, expr: str, depth: int = 0,
               start: int | None = None, end: int | None = None, err: int = E.ENOMEM) -> None:
        """Evaluate a named map_count check; raise ENOMEM if it fails (unless the profile disabled it)."""
        if name in self._disabled:
            return
        rec = self._rec(name, "check", fn, start=start, end=end, depth=depth, expr=expr, passed=not fails)
        if fails:
            rec.errno = err
            raise MMError(err, name, f"{fn}: {expr}")

    def _fail(self, err: int, name: str, fn: str, detail: str = "", start: int | None = None,
              end: int | None = None) -> MMError:
        """Record a failing validation ``validate.<name>`` and return the error to raise."""
        self._rec(f"validate.{name}", "validate", fn, start=start, end=end, errno=err)
        return MMError(err, f"validate.{name}", f"{fn}: {detail}" if detail else fn)

    def _begin(self) -> None:
        self.trace = Trace()
        self._pending = 0
        self._piece = None
        self._log = []

    def _syscall(self, impl, *args: Any) -> Any:
        """Run one syscall: fresh trace and undo log; the ``ideal`` profile commits transactionally."""
        self._begin()
        mc0 = len(self._tree)
        anon0 = self._next_anon
        log = self._log
        try:
            result = impl(*args)
            if self._profile.transactional:
                self._ideal_commit(mc0, impl.__name__ == "_do_mremap")
            return result
        except MMError as e:
            if self._profile.transactional:
                if not self.trace or self.trace[-1].step != "ideal_commit":
                    self._rec("ideal_commit", "txn", "ideal", expr=f"scratch run failed: {e.check}", passed=False)
                self._rollback(log)
                self._next_anon = anon0
                self._rec("rollback", "txn", "ideal")
            raise
        finally:
            self._pending = 0
            self._piece = None
            self.last_log = log
            self._log = None

    def _ideal_commit(self, mc0: int, is_mremap: bool) -> None:
        """The ``ideal`` profile's commit rule (spec §6, R1-R3), recorded as ``ideal_commit``."""
        fired = next((s for s in self.trace if s.kind == "check" and s.passed is False
                      and s.step in E_CHECKS), None)
        mc = len(self._tree)
        r3 = (not is_mremap) or mc <= self._max or mc <= mc0
        expr = f"E-checks passed={fired is None}; final {mc} <= {self._max} or {mc} <= {mc0}: {r3}"
        rec = self._rec("ideal_commit", "txn", "ideal", expr=expr, passed=fired is None and r3)
        if fired is not None:
            # R1/R2: a swallowed enforcing check is the call's failure point.
            fired.swallowed = False
            raise MMError(E.ENOMEM, fired.step, f"{fired.fn}: {fired.expr}")
        if not r3:
            rec.errno = E.ENOMEM
            raise MMError(E.ENOMEM, "ideal_commit", expr)
        self._rec("commit", "txn", "ideal")

    # ---- primitives (depth 1) ----------------------------------------------------------
    def _split(self, v: VMA, addr: int, depth: int = 1) -> tuple[VMA, VMA]:
        """__split_vma() without the limit check: ``v`` becomes ``[start, addr)`` + ``[addr, end)``. +1."""
        lo, hi = v.head(addr), v.tail(addr)
        self._put(lo)
        self._put(hi)
        self._rec("split", "step", "__split_vma", +1, v.start, v.end, depth=depth)
        return lo, hi

    def _checked_split(self, v: VMA, addr: int, fn: str, depth: int = 0) -> tuple[VMA, VMA]:
        """split_vma(): fails with ENOMEM when ``map_count >= max_map_count``, before any change."""
        mc = self.map_count
        self._check("split_limit", "split_vma", mc >= self._max, f"{mc} >= {self._max}", depth=depth,
                    start=v.start, end=v.end)
        return self._split(v, addr, depth=depth)

    def _unmap(self, a: int, b: int, step: str, fn: str, defer: bool = False) -> int:
        """The unmap engine (spec §2.2): ``__do_munmap()``@5.0, ``do_vmi_align_munmap()``@6.18.

        Records a depth-0 ``step`` whose children are the punch check, the splits and the detach.
        Fails with ENOMEM (``munmap_punch_limit``) only for a hole punch at ``map_count >= max``,
        before anything changed. Never merges. With ``defer`` (6.x MAP_FIXED) the detached VMAs
        stay counted until :meth:`_complete_unmap`, as vms_complete_munmap_vmas() does.
        """
        parent = self._rec(step, "step", fn, start=a, end=b)
        mc_before = self.map_count
        v = self.find_vma(a)
        if v is not None and v.start < b:
            if a > v.start:
                if b < v.end:
                    mc = self.map_count
                    self._check("munmap_punch_limit", fn, mc >= self._max, f"{mc} >= {self._max}",
                                depth=1, start=a, end=b)
                v = self._split(v, a)[1]
            last = self._prev_of(b)
            if last is not None and last.start < b < last.end:
                self._split(last, b)
            doomed = self._tree.starts(a, b)
            for k in doomed:
                self._del(k)
            if defer:
                self._pending += len(doomed)
                parent.delta = self.map_count - mc_before
                parent.map_count = self.map_count
                return len(doomed)
            if doomed:
                self._rec("detach", "step", "vms_complete_munmap_vmas" if self._profile.modern
                          else "detach_vmas_to_be_unmapped", -len(doomed), a, b, depth=1)
        parent.delta = self.map_count - mc_before
        parent.map_count = self.map_count
        return 0

    def _complete_unmap(self, a: int, b: int, n: int) -> None:
        """vms_complete_munmap_vmas()@6.18: the deferred detach of a MAP_FIXED overlap."""
        if n:
            self._pending -= n
            self._rec("complete", "step", "vms_complete_munmap_vmas", -n, a, b)

    def _new_range(self, tmpl: VMA, fn_merge: str, fn_new: str, depth: int = 0,
                   step_new: str = "new_vma") -> VMA:
        """Map a new range: merge with prev/next if the kernel would (spec §2.3-2.4), else a new VMA.

        Mirrors vma_merge_new_range()@6.18 / vma_merge()@5.0 followed by vma_link(). The new VMA is
        created without any map_count check, in every profile. Returns the VMA now covering ``start``.
        """
        start, end, pgoff, file, anon_vma = tmpl.start, tmpl.end, tmpl.pgoff, tmpl.file, tmpl.anon_vma
        flags = tmpl.flags_key()
        pages = (end - start) >> PAGE_SHIFT
        prev = self._prev_of(start)
        if prev is not None and prev.end != start:
            prev = None
        nxt = self._next_from(end)
        if nxt is not None and nxt.start != end:
            nxt = None
        left = right = False
        if not tmpl.special:
            left = prev is not None and can_merge_after(prev, flags, file, anon_vma, pgoff)
            right = nxt is not None and can_merge_before(nxt, flags, file, anon_vma, pgoff, pages)
        if left and right and not anon_compatible(prev.anon_vma, nxt.anon_vma):
            right = False
        if left or right:
            av = anon_vma
            if left:
                av = prev.anon_vma if prev.anon_vma is not None else av
            if right:
                av = nxt.anon_vma if av is None else av
            if left and right:
                self._del(nxt.start)
                merged = prev.with_(end=nxt.end, anon_vma=av)
            elif left:
                merged = prev.with_(end=end, anon_vma=av)
            else:
                self._del(nxt.start)
                merged = nxt.with_(start=start, pgoff=pgoff, anon_vma=av)
            self._put(merged)
            self._rec("merge", "step", fn_merge, -1 if (left and right) else 0, merged.start, merged.end,
                      depth=depth)
            return merged
        self._put(tmpl)
        self._rec(step_new, "step", fn_new, +1, start, end, depth=depth)
        return tmpl

    # ---- get_unmapped_area --------------------------------------------------------------
    def _range_free(self, a: int, length: int) -> bool:
        v = self.find_vma(a)
        return v is None or v.start >= a + length

    def _search_topdown(self, length: int) -> int | None:
        """vm_unmapped_area() top-down: the highest free ``[a, a+len)`` below mmap_base. O(k log n)."""
        floor = max(P, self.mmap_min_addr)
        top = self.mmap_base
        t = self._tree
        below = t.below(top)
        while True:
            if below is not None and below.end > top:  # straddles the current top
                top = below.start
                below = t.below(top)
                continue
            lo = below.end if below is not None else 0
            lo = max(lo, floor)
            if top - lo >= length and top >= length:
                return top - length
            if below is None or below.start <= floor:
                return None
            top = below.start
            below = t.below(top)

    def _search_bottomup(self, length: int) -> int | None:
        """vm_unmapped_area() bottom-up from TASK_UNMAPPED_BASE (the top-down fallback)."""
        a = TASK_UNMAPPED_BASE
        while a + length <= TASK_SIZE:
            v = self.find_vma(a)
            if v is None or v.start >= a + length:
                return a
            a = v.end
        return None

    def _get_unmapped_area(self, addr: int, length: int, fixed: bool, fn: str) -> int:
        """get_unmapped_area() (spec §2.8): MAP_FIXED exact; a free hint; else top-down first fit.

        Two points follow the source where spec §2.8 says otherwise: x86's
        arch_get_unmapped_area_topdown() rounds a hint *down* (``addr &= PAGE_MASK``), and
        __get_unmapped_area()@6.18 checks ``addr > TASK_SIZE - len`` (ENOMEM) before
        ``offset_in_page(addr)`` (EINVAL) for MAP_FIXED.
        """
        if length > TASK_SIZE:
            raise self._fail(E.ENOMEM, "len_too_big", fn, f"len {length:#x} > TASK_SIZE")
        if fixed:
            if addr > TASK_SIZE - length:
                raise self._fail(E.ENOMEM, "addr_beyond_task_size", fn, f"{addr:#x} + {length:#x} > TASK_SIZE")
            if addr % P:
                raise self._fail(E.EINVAL, "addr_unaligned", fn, f"MAP_FIXED address {addr:#x}")
            res = addr
        else:
            res = None
            if addr:
                hint = addr & ~(P - 1)  # arch_get_unmapped_area_topdown()@x86: addr &= PAGE_MASK
                if hint <= TASK_SIZE - length and self._range_free(hint, length):
                    res = hint
            if res is None:
                res = self._search_topdown(length)
            if res is None:
                res = self._search_bottomup(length)
            if res is None:
                raise self._fail(E.ENOMEM, "no_space", fn, f"no free range of {length:#x} bytes")
        if res < self.mmap_min_addr and not self.privileged:
            raise self._fail(E.EPERM, "below_mmap_min_addr", "security_mmap_addr",
                             f"{res:#x} < mmap_min_addr {self.mmap_min_addr:#x}")
        self._rec("get_unmapped_area", "step", fn, start=res, end=res + length)
        return res

    # ---- mmap -------------------------------------------------------------------------
    def mmap(self, addr: int | None, length: int, prot: int, flags: int, fd: int | File = -1,
             offset: int = 0) -> int:
        """mmap(2): map ``length`` bytes; returns the address. Mirrors do_mmap()/mmap_region().

        Checks in the kernel's order (spec §3.1): unaligned offset → EINVAL; bad fd → EBADF; zero
        length → EINVAL; ``map_count > max_map_count`` → ENOMEM (``mmap_limit``, lenient: a process
        can reach max + 1); placement errors (ENOMEM/EINVAL/EPERM); MAP_FIXED_NOREPLACE overlap →
        EEXIST; file mode → EACCES; bad MAP_TYPE → EINVAL; then the overlap unmap (punch check).
        Complexity O((k + 1) log n) for k overlapped VMAs.
        """
        return self._syscall(self._do_mmap, _ulong("addr", addr), _ulong("length", length),
                             _ulong("prot", prot), _ulong("flags", flags), fd, _ulong("offset", offset))

    def _do_mmap(self, addr: int, length: int, prot: int, flags: int, fd: int | File, offset: int) -> int:
        fn = "do_mmap"
        if offset % P:
            raise self._fail(E.EINVAL, "offset_unaligned", "sys_mmap", f"offset {offset:#x}")
        file: File | None = None
        if not flags & MAP_ANONYMOUS:
            file = fd if isinstance(fd, File) else self._fds.get(fd)  # type: ignore[arg-type]
            if file is None:
                raise self._fail(E.EBADF, "bad_fd", "ksys_mmap_pgoff", f"fd {fd!r} is not open")
        if length == 0:
            raise self._fail(E.EINVAL, "len_zero", fn)
        if flags & MAP_FIXED_NOREPLACE:
            flags |= MAP_FIXED
        fixed = bool(flags & MAP_FIXED)
        if not fixed:  # round_hint_to_min(): mask first, so a sub-page hint is no hint
            addr &= ~(P - 1)
            if addr and addr < self.mmap_min_addr:
                addr = page_align(self.mmap_min_addr)
        length = page_align(length)
        if length == 0:
            raise self._fail(E.ENOMEM, "len_overflow", fn, "PAGE_ALIGN(len) wrapped to 0")
        pgoff = offset >> PAGE_SHIFT
        if pgoff + (length >> PAGE_SHIFT) > ULONG_MASK:
            raise self._fail(E.EOVERFLOW, "pgoff_overflow", fn)
        mc = self.map_count
        self._check("mmap_limit", fn, mc > self._max, f"{mc} > {self._max}")
        addr = self._get_unmapped_area(addr, length, fixed, "__get_unmapped_area")
        end = addr + length
        if flags & MAP_FIXED_NOREPLACE and not self._range_free(addr, length):
            raise self._fail(E.EEXIST, "fixed_noreplace_overlap", fn, f"[{addr:#x}, {end:#x}) is mapped")
        mtype = flags & MAP_TYPE
        maxprot = _PROT_RWX
        if file is not None:
            if mtype in (MAP_SHARED, MAP_SHARED_VALIDATE):
                if prot & PROT_WRITE and not file.writable:
                    raise self._fail(E.EACCES, "file_not_writable", fn, "PROT_WRITE on MAP_SHARED of a read-only file")
                shared = True
                if not file.writable:
                    maxprot &= ~PROT_WRITE
            elif mtype == MAP_PRIVATE:
                shared = False
            else:
                raise self._fail(E.EINVAL, "map_type", fn, f"MAP_TYPE {mtype:#x}")
            if not file.readable:
                raise self._fail(E.EACCES, "file_not_readable", fn, "mapping needs a readable file")
        else:
            if mtype == MAP_SHARED:
                shared, pgoff = True, 0
            elif mtype == MAP_PRIVATE:
                shared, pgoff = False, addr >> PAGE_SHIFT
            else:
                raise self._fail(E.EINVAL, "map_type", fn, f"MAP_TYPE {mtype:#x} for anonymous memory")
        noreserve = bool(flags & MAP_NORESERVE)
        accounted = (not shared) and bool(prot & PROT_WRITE) and not noreserve  # accountable_mapping()
        return self._mmap_region(addr, end, prot & _PROT_RWX, shared, file, pgoff, accounted, noreserve,
                                 maxprot, anon_shared=(file is None and shared))

    def _mmap_region(self, addr: int, end: int, prot: int, shared: bool, file: File | None, pgoff: int,
                     accounted: bool, noreserve: bool, maxprot: int, anon_shared: bool) -> int:
        """mmap_region()@5.0 / __mmap_region()@6.18: unmap the overlap, merge or create."""
        modern = self._profile.modern
        pending = 0
        if self.find_vma(addr) is not None and self.find_vma(addr).start < end:
            pending = self._unmap(addr, end, "gather" if modern else "unmap_overlap",
                                  "vms_gather_munmap_vmas" if modern else "do_munmap", defer=modern)
        if anon_shared:
            # shmem_zero_setup(): a fresh shmem file; nothing can share it, so it never merges.
            f = File("/dev/zero (deleted)", (end - addr) >> PAGE_SHIFT, shmem=True)
            v = VMA(addr, end, prot, True, 0, f, None, accounted, noreserve, frozenset(), maxprot)
            self._put(v)
            self._rec("new_vma", "step", "__mmap_region" if modern else "mmap_region", +1, addr, end)
        else:
            tmpl = VMA(addr, end, prot, shared, pgoff, file, None, accounted, noreserve, frozenset(), maxprot)
            self._new_range(tmpl, "vma_merge_new_range" if modern else "vma_merge",
                            "__mmap_region" if modern else "mmap_region")
        if modern:
            self._complete_unmap(addr, end, pending)
        return addr

    # ---- munmap -------------------------------------------------------------------------
    def munmap(self, addr: int, length: int) -> None:
        """munmap(2). Mirrors __vm_munmap()@5.0 / do_vmi_munmap()@6.18.

        EINVAL for an unaligned ``addr``, ``addr > TASK_SIZE``, ``len > TASK_SIZE - addr`` or a zero
        length; ENOMEM (``munmap_punch_limit``) only for a hole punch at ``map_count >= max``.
        Unmapping nothing succeeds. O((k + 1) log n).
        """
        self._syscall(self._do_munmap, _ulong("addr", addr), _ulong("length", length))

    def _do_munmap(self, addr: int, length: int) -> None:
        fn = "do_vmi_munmap" if self._profile.modern else "__do_munmap"
        if addr % P or addr > TASK_SIZE or length > TASK_SIZE - addr:
            raise self._fail(E.EINVAL, "range", fn, f"addr {addr:#x} len {length:#x}")
        length = page_align(length)
        if length == 0:
            raise self._fail(E.EINVAL, "len_zero", fn)
        self._unmap(addr, addr + length, "munmap", fn)

    # ---- mprotect -----------------------------------------------------------------------
    def mprotect(self, addr: int, length: int, prot: int) -> None:
        """mprotect(2). Mirrors do_mprotect_pkey() + mprotect_fixup() (5.0, 6.18, 7.1).

        Per VMA in the range: skip if the flags do not change; adjust VM_ACCOUNT; try to merge with
        prev/next; otherwise checked splits (``split_limit``). A second split that fails leaves the
        first in place (partial state), and VMAs processed before an error keep their new protection.
        O((k + 1) log n).
        """
        self._syscall(self._do_mprotect, _ulong("addr", addr), _ulong("length", length), _ulong("prot", prot))

    def _do_mprotect(self, addr: int, length: int, prot: int) -> None:
        fn = "do_mprotect_pkey"
        grows = prot & (PROT_GROWSDOWN | PROT_GROWSUP)
        if grows == PROT_GROWSDOWN | PROT_GROWSUP:
            raise self._fail(E.EINVAL, "grows_both", fn)
        prot &= ~(PROT_GROWSDOWN | PROT_GROWSUP)
        if addr % P:
            raise self._fail(E.EINVAL, "addr_unaligned", fn, f"{addr:#x}")
        if length == 0:
            return
        end = (addr + page_align(length)) & ULONG_MASK
        if end <= addr:
            raise self._fail(E.ENOMEM, "range_wraps", fn)
        if prot & ~(_PROT_RWX | PROT_SEM):
            raise self._fail(E.EINVAL, "prot_bits", fn, f"prot {prot:#x}")  # arch_validate_prot()
        prot &= _PROT_RWX
        v = self.find_vma(addr)
        if v is None or v.start >= end:
            raise self._fail(E.ENOMEM, "no_vma", fn, f"nothing mapped in [{addr:#x}, {end:#x})")
        if grows:
            # No model VMA has VM_GROWSDOWN/VM_GROWSUP, so do_mprotect_pkey() ends with EINVAL (after
            # the same lookups that give ENOMEM).
            if grows == PROT_GROWSUP and v.start > addr:
                raise self._fail(E.ENOMEM, "hole_at_start", fn, f"{addr:#x} is not mapped")
            raise self._fail(E.EINVAL, "not_growsdown" if grows == PROT_GROWSDOWN else "not_growsup", fn,
                             "PROT_GROWSDOWN/PROT_GROWSUP on a VMA that does not grow")
        if v.start > addr:
            raise self._fail(E.ENOMEM, "hole_at_start", fn, f"{addr:#x} is not mapped")
        nstart, tmp = addr, v.start
        while True:
            v = self.find_vma(nstart)
            if v is None or v.start >= end:
                break
            if v.start != tmp:
                raise self._fail(E.ENOMEM, "hole", fn, f"hole at {tmp:#x}", tmp, v.start)
            if prot & ~v.maxprot:
                raise self._fail(E.EACCES, "maxprot", fn, f"prot {prot:#x} beyond VM_MAY* of the VMA",
                                 v.start, v.end)
            res = self._mprotect_fixup(v, nstart, min(v.end, end), prot)
            tmp = nstart = res.end
            if nstart >= end:
                break
        if tmp < end:
            raise self._fail(E.ENOMEM, "hole_at_end", fn, f"{tmp:#x} is not mapped", tmp, end)

    def _mprotect_fixup(self, v: VMA, start: int, end: int, prot: int) -> VMA:
        """mprotect_fixup(): accounting, vma_modify() merge, checked splits, set flags. Returns the result."""
        fn = "mprotect_fixup"
        if prot == v.prot:
            return v
        accounted = v.accounted
        if prot & PROT_WRITE:
            if not (v.accounted or v.prot & PROT_WRITE or v.shared or v.noreserve):
                accounted = True
        elif (self._profile.mprotect_unaccount and v.accounted and v.is_anonymous
              and v.anon_vma is None):
            accounted = False  # 9b9143298585 (v6.7): unfaulted VMAs can be unaccounted
        merged = self._merge_existing(v, start, end, prot, accounted)
        if merged is not None:
            return merged
        if start > v.start:
            v = self._checked_split(v, start, fn)[1]
        if end < v.end:
            v = self._checked_split(v, end, fn)[0]
        new = v.with_(prot=prot, accounted=accounted)
        self._put(new)
        self._rec("set_flags", "step", "vma_set_flags" if self._profile.modern else fn, 0, start, end)
        return new

    def _merge_existing(self, v: VMA, start: int, end: int, prot: int, accounted: bool) -> VMA | None:
        """vma_merge_existing_range()@6.18 / vma_merge()@5.0 as mprotect calls it (spec §2.4).

        Only tried when the range starts at v's start (candidate prev) or ends at v's end (candidate
        next). Returns the VMA now covering ``start``, or None if nothing merged.
        """
        flags = (prot, v.shared, accounted, v.noreserve, v.special, v.maxprot)
        pgoff = v.pgoff_at(start)
        pages = (end - start) >> PAGE_SHIFT
        prev = self._prev_of(v.start) if start == v.start else None
        if prev is not None and prev.end != start:
            prev = None
        nxt = self._next_from(v.end) if end == v.end else None
        if nxt is not None and nxt.start != end:
            nxt = None
        if v.special:
            return None
        left = prev is not None and can_merge_after(prev, flags, v.file, v.anon_vma, pgoff)
        right = nxt is not None and can_merge_before(nxt, flags, v.file, v.anon_vma, pgoff, pages)
        if left and right and not anon_compatible(prev.anon_vma, nxt.anon_vma):
            right = False
        if not (left or right):
            return None
        mc0 = self.map_count
        av = v.anon_vma
        if left and prev.anon_vma is not None:
            av = prev.anon_vma
        if right and av is None:
            av = nxt.anon_vma
        fn = "vma_merge_existing_range" if self._profile.modern else "vma_merge"
        if left and right:  # prev + whole v + next
            self._del(v.start)
            self._del(nxt.start)
            res = prev.with_(end=nxt.end, anon_vma=av)
            self._put(res)
        elif left:
            self._del(v.start)
            res = prev.with_(end=end, anon_vma=av)
            self._put(res)
            if end < v.end:
                self._put(v.tail(end).with_(anon_vma=v.anon_vma))
        else:
            self._del(nxt.start)
            self._del(v.start)
            if start > v.start:
                self._put(v.head(start))
            res = nxt.with_(start=start, pgoff=pgoff, anon_vma=av)
            self._put(res)
        self._rec("merge", "step", fn, self.map_count - mc0, res.start, res.end)
        return res

    # ---- touch (page faults) ------------------------------------------------------------
    def touch(self, addr: int, length: int = PAGE_SIZE, write: bool = True) -> None:
        """Fault the pages of ``[addr, addr+length)`` in, as a program touching them would.

        A write fault on a private writable VMA gives the whole VMA an anon_vma (anon_vma_prepare(),
        reusing a compatible neighbour's via find_mergeable_anon_vma()@6.18: next first, then prev).
        Read faults and shared VMAs attach nothing. An unmapped page, or one without the needed
        permission, is SIGSEGV in a real program: the model raises EFAULT there and keeps the
        attachments already made. Never changes map_count. O((k + 1) log n).
        """
        self._syscall(self._do_touch, _ulong("addr", addr), _ulong("length", length), bool(write))

    def _do_touch(self, addr: int, length: int, write: bool) -> None:
        start = addr & ~(P - 1)
        end = page_align(addr + length) if length else start
        need = PROT_WRITE if write else PROT_READ
        cur = start
        while cur < end:
            v = self.vma_at(cur)
            if v is None:
                raise self._fail(E.EFAULT, "segv_maperr", "handle_mm_fault", f"no VMA at {cur:#x}", cur, cur + P)
            if not v.prot & need and not (need == PROT_READ and v.prot & PROT_WRITE):
                raise self._fail(E.EFAULT, "segv_accerr", "handle_mm_fault",
                                 f"{v.perms} at {cur:#x} forbids the access", cur, cur + P)
            if write and not v.shared and v.anon_vma is None:
                self._anon_vma_prepare(v)
            cur = v.end

    def _anon_vma_prepare(self, v: VMA) -> None:
        """__anon_vma_prepare(): reuse a neighbour's anon_vma (next, then prev) or make a new one."""
        av = None
        nxt = self._next_from(v.end)
        if nxt is not None and nxt.anon_vma is not None and anon_reusable(v, nxt):
            av = nxt.anon_vma
        if av is None:
            prev = self._prev_of(v.start)
            if prev is not None and prev.anon_vma is not None and anon_reusable(prev, v):
                av = prev.anon_vma
        if av is None:
            av = self._next_anon
            self._next_anon += 1
        self._put(v.with_(anon_vma=av))
        self._rec("anon_vma_prepare", "step", "__anon_vma_prepare", 0, v.start, v.end)

    # ---- mremap is in mmsim.mremap --------------------------------------------------------
    def mremap(self, old_address: int, old_size: int, new_size: int, flags: int = 0,
               new_address: int = 0) -> int:
        """mremap(2) under this profile; see :mod:`mmsim.mremap` for the flows. Returns the new address."""
        from .mremap import do_mremap

        def _do_mremap(*args: int) -> int:
            return do_mremap(self, *args)

        return self._syscall(_do_mremap, _ulong("old_address", old_address), _ulong("old_size", old_size),
                             _ulong("new_size", new_size), _ulong("flags", flags),
                             _ulong("new_address", new_address))
