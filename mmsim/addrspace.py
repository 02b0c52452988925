"""One process's address space as the kernel keeps it: sorted VMAs and ``map_count``, and its system calls.

:class:`AddressSpace` owns the state (a :class:`~mmsim.vmatree.VMATree` from ``vm_start`` to immutable
:class:`~mmsim.vma.VMA` records, the simulated files, the anon_vma counter) and the public syscall methods
(``mmap``, ``munmap``, ``mprotect``, ``touch``, ``mremap``). Each method converts its arguments as the
kernel's syscall entry does (unsigned longs, wrapping modulo 2**64), opens a
:class:`~mmsim.kernel.call.Call` and runs the profile's flow from :mod:`mmsim.kernel`; the flow records a
:class:`~mmsim.trace.Trace` and fails with the kernel's errno as :class:`~mmsim.errors.MMError`. Profile
``ideal`` runs every call transactionally (semantics §3.5.9). :meth:`AddressSpace.trial` runs a call and
undoes it, which is what :func:`mmsim.classify` builds on.

Complexity: lookups, inserts and removals are O(log n); a call touching k VMAs costs O(k log n), and undoing
it O(k).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from .constants import (
    DEFAULT_LSM_MMAP_MIN_ADDR,
    DEFAULT_MAX_MAP_COUNT,
    DEFAULT_MMAP_BASE,
    DEFAULT_MMAP_MIN_ADDR,
    PAGE_SHIFT,
    PAGE_SIZE,
    PROT_READ,
    TASK_SIZE,
    ULONG_MASK,
)
from .errors import MMError
from .kernel import memory, mmap, mprotect, mremap
from .kernel.call import Call
from .kernel.vma import find_vma, range_free, vma_at, vmas_in
from .profiles import Profile, get_profile
from .trace import Trace
from .vma import VMA, File
from .vmatree import VMATree, gc_paused

__all__ = ["AddressSpace", "FILLER_BASE", "LAYOUTS", "MAX_MAP_COUNT_LIMIT", "Trial"]

P = PAGE_SIZE

#: Where :meth:`AddressSpace.pad` puts its filler VMAs (far below any mmap_base).
FILLER_BASE = 0x10000000


#: The sysctl's largest value: vm.max_map_count is a C int (proc_dointvec_minmax, minimum 0).
MAX_MAP_COUNT_LIMIT = (1 << 31) - 1


@dataclass
class _TrialRun:
    """The options of one :meth:`AddressSpace.trial` and the call it ran: passed to the run through a context
    variable, so that nothing is parked on the address space (and a trial in another thread is its own)."""

    mm: AddressSpace
    disabled: frozenset[str]
    lean: bool
    call: Call | None = None


_TRIAL: ContextVar[_TrialRun | None] = ContextVar("mmsim_trial", default=None)


def _int(name: str, value: Any) -> int:
    """A Python int argument: anything with ``__index__`` except bools; else TypeError naming it."""
    if isinstance(value, bool) or value is None:
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    try:
        return operator.index(value)
    except TypeError:
        raise TypeError(f"{name} must be an int, not {type(value).__name__}") from None


def _ulong(name: str, value: Any, *, nullable: bool = False) -> int:
    """An ``unsigned long`` syscall argument, wrapped modulo 2**64 like C. ``None`` is NULL (0) only where
    the C API takes a pointer that may be NULL (``nullable``: an mmap or mremap address hint)."""
    if value is None and nullable:
        return 0
    return _int(name, value) & ULONG_MASK


def _fd(value: Any) -> int | File:
    """mmap's ``fd``: an int (a descriptor from :meth:`AddressSpace.open`, or -1) or a :class:`~mmsim.File`."""
    if isinstance(value, File):
        return value
    return _int("fd", value)


def _flag(name: str, value: Any) -> bool:
    """A boolean argument: ``True``/``False`` (numpy's bool too); anything else is a TypeError."""
    if isinstance(value, bool) or type(value).__name__ == "bool_":
        return bool(value)
    raise TypeError(f"{name} must be a bool, not {type(value).__name__}")


def _address(name: str, value: Any, task_size: int = TASK_SIZE) -> int:
    """An address attribute of the address space: a page-aligned int in [0, TASK_SIZE]; else ValueError."""
    v = _int(name, value)
    if v < 0 or v > task_size or v % P:
        raise ValueError(f"{name} must be a page-aligned address in [0, TASK_SIZE = {task_size:#x}], got {v:#x}")
    return v


#: The placement layouts of :class:`AddressSpace`.
LAYOUTS = ("topdown", "bottomup")


@dataclass(frozen=True)
class Trial:
    """What one call did, run by :meth:`AddressSpace.trial` and then undone.

    ``ok`` and ``result`` (the return value) or ``error`` (the :class:`~mmsim.MMError`); the call's
    ``trace``; ``map_count_before``/``map_count_after``; ``changed``: whether the VMA list differed
    after the call (field by field).

    >>> from mmsim import AddressSpace, MAP_ANONYMOUS, MAP_PRIVATE, PAGE_SIZE, PROT_NONE, PROT_READ
    >>> mm = AddressSpace("6.18", max_map_count=2)
    >>> a = mm.mmap(0, 4 * PAGE_SIZE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS)
    >>> t = mm.trial("mprotect", a + PAGE_SIZE, PAGE_SIZE, PROT_NONE)   # needs two splits, room for one
    >>> t.ok, t.error.check, t.map_count_before, t.map_count_after, t.changed   # the first split stays
    (False, 'split_limit', 1, 2, True)
    >>> mm.map_count                                                     # and is undone afterwards
    1
    """

    op: str
    ok: bool
    result: Any
    error: MMError | None
    trace: Trace
    map_count_before: int
    map_count_after: int
    changed: bool


class AddressSpace:
    """The VMAs of one process and the syscalls that change them, under a kernel profile.

    Parameters
    ----------
    kernel:
        A profile name from :data:`mmsim.KERNELS` (``"5.0"``, ``"5.1"``, ``"6.1"``, ``"6.18"``, ``"7.1"``,
        ``"5.1-alt"``, ``"ideal"``) or a :class:`~mmsim.Profile`.
    max_map_count:
        ``vm.max_map_count``; settable at any time through the attribute, like the sysctl.
        ``"auto"`` picks the profile of the running kernel (:func:`mmsim.kernel_for_release`).
    mmap_base:
        Where hint-less placement starts (the real kernel randomises it): the top of the top-down search,
        or the bottom of the bottom-up one.
    mmap_min_addr:
        ``vm.mmap_min_addr`` (``dac_mmap_min_addr``); MAP_FIXED below it needs ``privileged``.
    lsm_mmap_min_addr:
        ``CONFIG_LSM_MMAP_MIN_ADDR`` of the modelled kernel: 65536 (the Kconfig default on x86-64, Debian's
        amd64 kernels), 32768 on ARM or arm64 with COMPAT, 0 for a kernel without SELinux (semantics §1.2).
        The model has no architecture of its own; SELinux's EACCES below this floor is not modelled (§2.8).
        Hint rounding and the placement search use the larger of the two, :attr:`effective_mmap_min_addr`.
    privileged:
        Whether the process has CAP_SYS_RAWIO (``security_mmap_addr``).
    layout:
        ``"topdown"`` (x86-64's default: the highest fitting gap below mmap_base) or ``"bottomup"``
        (``generic_get_unmapped_area()``: the lowest fitting gap at or above mmap_base; x86-64's legacy
        layout, and user-mode Linux's).
    task_size:
        TASK_SIZE of the modelled machine: x86-64 with 4-level paging (the default), or e.g. user-mode
        Linux's 0x7fc0000000.

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
        kernel: str | Profile = "6.18",
        max_map_count: int = DEFAULT_MAX_MAP_COUNT,
        *,
        mmap_base: int = DEFAULT_MMAP_BASE,
        mmap_min_addr: int = DEFAULT_MMAP_MIN_ADDR,
        lsm_mmap_min_addr: int = DEFAULT_LSM_MMAP_MIN_ADDR,
        privileged: bool = False,
        layout: str = "topdown",
        task_size: int = TASK_SIZE,
    ) -> None:
        if kernel == "auto":
            from .releases import host_profile

            kernel = host_profile()
        self._profile: Profile = get_profile(kernel)
        if layout not in LAYOUTS:
            raise ValueError(f"layout must be one of {', '.join(LAYOUTS)}, not {layout!r}")
        self._layout = layout
        ts = _int("task_size", task_size)
        if not P <= ts <= TASK_SIZE or ts % P:
            raise ValueError(f"task_size must be a page-aligned size in [{P:#x}, {TASK_SIZE:#x}], got {ts:#x}")
        self._task_size = ts
        self._max = 0
        self.max_map_count = max_map_count
        self._mmap_base = self._mmap_min_addr = self._lsm_mmap_min_addr = 0
        self.mmap_base = mmap_base
        self.mmap_min_addr = mmap_min_addr
        self.lsm_mmap_min_addr = lsm_mmap_min_addr
        self.privileged = _flag("privileged", privileged)
        self._tree = VMATree()
        self._next_anon = 1
        self._fds: dict[int, File] = {}
        self._next_fd = 3
        self._nfill = 0
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
        value = _int("max_map_count", value)
        if not 0 <= value <= MAX_MAP_COUNT_LIMIT:
            raise ValueError(f"max_map_count must be in [0, {MAX_MAP_COUNT_LIMIT}] (the sysctl is a C int "
                             f"with minimum 0), got {value}")
        self._max = value

    @property
    def layout(self) -> str:
        """The placement layout: ``"topdown"`` or ``"bottomup"``."""
        return self._layout

    @property
    def task_size(self) -> int:
        """TASK_SIZE of the modelled machine: the top of the user address space."""
        return self._task_size

    @property
    def mmap_base(self) -> int:
        """Where hint-less placement starts searching (top-down: downwards from here). A page-aligned address
        in [0, TASK_SIZE]; the real kernel randomises it (semantics §2.8)."""
        return self._mmap_base

    @mmap_base.setter
    def mmap_base(self, value: int) -> None:
        self._mmap_base = _address("mmap_base", value, self._task_size)

    @property
    def mmap_min_addr(self) -> int:
        """``vm.mmap_min_addr`` (the kernel's ``dac_mmap_min_addr``): MAP_FIXED below it needs ``privileged``
        (``cap_mmap_addr()``, security/commoncap.c)."""
        return self._mmap_min_addr

    @mmap_min_addr.setter
    def mmap_min_addr(self, value: int) -> None:
        self._mmap_min_addr = self._min_addr("mmap_min_addr", value)

    @property
    def lsm_mmap_min_addr(self) -> int:
        """``CONFIG_LSM_MMAP_MIN_ADDR``: a build-time floor under :attr:`effective_mmap_min_addr`."""
        return self._lsm_mmap_min_addr

    @lsm_mmap_min_addr.setter
    def lsm_mmap_min_addr(self, value: int) -> None:
        self._lsm_mmap_min_addr = self._min_addr("lsm_mmap_min_addr", value)

    @property
    def effective_mmap_min_addr(self) -> int:
        """The kernel variable ``mmap_min_addr``: the larger of the sysctl and ``CONFIG_LSM_MMAP_MIN_ADDR``, as
        ``update_mmap_min_addr()`` (security/min_addr.c, 2.6.31 and later) sets it. ``round_hint_to_min()``
        raises non-NULL hints below it to it, and placement searches no lower (semantics §2.8). O(1).

        >>> mm = AddressSpace()                  # the sysctl's 4096, Debian's CONFIG_LSM_MMAP_MIN_ADDR
        >>> mm.mmap_min_addr, mm.effective_mmap_min_addr
        (4096, 65536)
        >>> hex(mm.mmap(0x1000, PAGE_SIZE, PROT_READ, 0x22))   # measured on 6.1.176 and 6.18.44
        '0x10000'
        """
        return max(self._mmap_min_addr, self._lsm_mmap_min_addr)

    def _min_addr(self, name: str, value: int) -> int:
        v = _int(name, value)
        if not 0 <= v <= self._task_size:
            raise ValueError(f"{name} must be in [0, TASK_SIZE = {self._task_size:#x}], got {v:#x}")
        return v

    @property
    def map_count(self) -> int:
        """``mm->map_count``: the number of VMAs. O(1)."""
        return len(self._tree)

    @property
    def free_slots(self) -> int:
        """``max_map_count - map_count`` (can be -1: mmap lets a process reach max + 1). O(1)."""
        return self._max - len(self._tree)

    @property
    def tree(self) -> VMATree:
        """The :class:`~mmsim.vmatree.VMATree` of VMAs. Read it freely; only a running call changes it."""
        return self._tree

    @property
    def next_anon_vma(self) -> int:
        """The anon_vma identity the next write fault that needs a new one will get."""
        return self._next_anon

    @property
    def filler_count(self) -> int:
        """How many filler VMAs :meth:`pad` has added (and not removed)."""
        return self._nfill

    def vmas(self) -> list[VMA]:
        """All VMAs, sorted by address. O(n).

        >>> AddressSpace().vmas()
        []
        """
        return list(self._tree.values())

    def __iter__(self) -> Iterator[VMA]:
        return iter(self._tree.values())

    def __len__(self) -> int:
        return len(self._tree)

    def maps(self) -> str:
        """The address space as /proc/PID/maps text. O(n).

        >>> mm = AddressSpace()
        >>> _ = mm.mmap(0x10000, PAGE_SIZE, PROT_READ, 0x22)
        >>> print(mm.maps())
        00010000-00011000 r--p 00000000 00:00 0
        <BLANKLINE>
        """
        return "".join(v.maps_line() + "\n" for v in self._tree.values())

    def __repr__(self) -> str:
        return f"<AddressSpace kernel={self.kernel!r} map_count={self.map_count} max_map_count={self._max}>"

    def find_vma(self, addr: int) -> VMA | None:
        """find_vma(): the first VMA with ``end > addr``, or None. O(log n).

        >>> mm = AddressSpace(); a = mm.mmap(0x10000, PAGE_SIZE, PROT_READ, 0x32)
        >>> mm.find_vma(0x1000).start == a, mm.find_vma(a + PAGE_SIZE)
        (True, None)
        """
        return find_vma(self._tree, _int("addr", addr))

    def vma_at(self, addr: int) -> VMA | None:
        """vma_lookup(): the VMA containing ``addr``, or None. O(log n).

        >>> mm = AddressSpace(); a = mm.mmap(0x10000, PAGE_SIZE, PROT_READ, 0x32)
        >>> mm.vma_at(0x1000), mm.vma_at(a).start == a
        (None, True)
        """
        return vma_at(self._tree, _int("addr", addr))

    def vmas_in(self, start: int, end: int) -> list[VMA]:
        """The VMAs intersecting ``[start, end)``, in order. O(k + log n).

        >>> mm = AddressSpace(); mm.pad(3)
        >>> len(mm.vmas_in(FILLER_BASE, FILLER_BASE + 3 * PAGE_SIZE))
        2
        """
        return vmas_in(self._tree, _int("start", start), _int("end", end))

    # ---- files ----------------------------------------------------------------------------
    def open(self, name: str, size: int = 0, *, readable: bool = True, writable: bool = True) -> int:
        """Open a simulated file and return its descriptor for :meth:`mmap`. O(1).

        Each call makes a new open file description (``struct file``): mappings made through the
        same descriptor can merge, mappings of two ``open()`` calls never do, as in the kernel.

        >>> mm = AddressSpace(); fd = mm.open("data.bin", 8 * PAGE_SIZE)
        >>> mm.file_of(fd).size_pages
        8
        """
        fd = self._next_fd
        self._next_fd += 1
        self._fds[fd] = File(str(name), -(-int(size) // P) if size else None, readable, writable)
        return fd

    def file_of(self, fd: int) -> File | None:
        """The File behind a descriptor from :meth:`open`, or None. O(1).

        >>> AddressSpace().file_of(3) is None
        True
        """
        return self._fds.get(fd)

    # ---- construction helpers -----------------------------------------------------------
    @classmethod
    @gc_paused()
    def from_vmas(
        cls, vmas: Iterable[VMA], kernel: str | Profile = "6.18", max_map_count: int = DEFAULT_MAX_MAP_COUNT,
        **kw: Any,
    ) -> AddressSpace:
        """An address space holding exactly ``vmas`` (e.g. parsed from /proc/PID/maps), built in one pass.

        O(n) for VMAs in address order (as /proc/PID/maps lists them), O(n log n) otherwise: no syscall is
        replayed and the tree is built directly (:meth:`VMATree.from_sorted`). Raises ``ValueError`` if they
        are unaligned, empty, overlapping or above TASK_SIZE.

        >>> from mmsim import VMA
        >>> AddressSpace.from_vmas([VMA(0x1000, 0x3000, PROT_READ)]).map_count
        1
        """
        mm = cls(kernel, max_map_count, **kw)
        vs = list(vmas)
        starts = list(map(operator.itemgetter(0), vs))  # VMA is a NamedTuple: start, end are fields 0, 1
        if any(map(operator.gt, starts, starts[1:])):  # one C-level pass; sort only unsorted input
            vs.sort(key=operator.itemgetter(0))
            starts = list(map(operator.itemgetter(0), vs))
        ends = list(map(operator.itemgetter(1), vs))
        mask = P - 1
        if any(map(mask.__and__, starts)) or any(map(mask.__and__, ends)):
            bad = next(v for v in vs if v.start % P or v.end % P)
            raise ValueError(f"VMA {bad.start:#x}-{bad.end:#x} is empty or not page aligned")
        if ends and max(ends) > mm.task_size:
            bad = max(vs, key=operator.itemgetter(1))
            raise ValueError(f"VMA {bad.start:#x}-{bad.end:#x} ends above TASK_SIZE {mm.task_size:#x}")
        try:
            mm._tree = VMATree.from_sorted(vs)
        except ValueError:  # name the culprit
            empty = next((v for v in vs if v.start >= v.end), None)
            if empty is not None:
                raise ValueError(f"VMA {empty.start:#x}-{empty.end:#x} is empty or not page aligned") from None
            over = next(b for a, b in zip(vs, vs[1:], strict=False) if b.start < a.end)
            raise ValueError(f"VMA {over.start:#x}-{over.end:#x} overlaps the one before it") from None
        mm._next_anon = max(filter(None, map(operator.itemgetter(6), vs)), default=0) + 1
        return mm

    @gc_paused()
    def pad(self, n: int) -> None:
        """Add ``n`` filler VMAs (``n < 0`` removes the newest ones) to set ``map_count`` directly.

        Filler VMAs are 1-page ``r--p`` private anonymous VMAs with 1-page gaps between them, from
        :data:`FILLER_BASE` upwards, so they never merge with each other or with a scenario. This
        is experiment setup, not a syscall: no check applies and the trace is not touched.
        O(n log n).

        >>> mm = AddressSpace(max_map_count=10); mm.pad(7); mm.free_slots
        3
        """
        n = _int("n", n)
        if n >= 0:
            base = FILLER_BASE + 2 * P * self._nfill
            if n and not range_free(self._tree, base, 2 * P * n):
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
        """Pad (or unpad) filler VMAs until ``map_count`` equals the target.

        O(k log n) for k filler VMAs added or removed.

        >>> mm = AddressSpace(); mm.fill_to(5); mm.fill_to(2); mm.map_count
        2
        """
        self.pad(map_count - self.map_count)

    def set_free_slots(self, slots: int) -> None:
        """Pad so that ``max_map_count - map_count == slots`` (slots may be -1).

        O(k log n) for k filler VMAs added or removed.

        >>> mm = AddressSpace(max_map_count=8); mm.set_free_slots(-1); mm.map_count
        9
        """
        self.fill_to(self._max - slots)

    def copy(self) -> AddressSpace:
        """An independent copy: same VMAs (records are immutable and shared), files and counters. O(n).

        >>> mm = AddressSpace(); c = mm.copy(); _ = c.mmap(0, PAGE_SIZE, PROT_READ, 0x22)
        >>> mm.map_count, c.map_count
        (0, 1)
        """
        new = AddressSpace.__new__(AddressSpace)  # no __init__ (a compiled class has no __dict__ to copy)
        new._profile, new._layout, new._task_size, new._max = self._profile, self._layout, self._task_size, self._max
        new._mmap_base, new._mmap_min_addr = self._mmap_base, self._mmap_min_addr
        new._lsm_mmap_min_addr, new.privileged = self._lsm_mmap_min_addr, self.privileged
        new._next_anon, new._next_fd, new._nfill = self._next_anon, self._next_fd, self._nfill
        new._tree = self._tree.copy()
        new._fds = dict(self._fds)
        new.trace = Trace(self.trace)
        return new

    def with_kernel(self, kernel: str | Profile) -> AddressSpace:
        """A copy under another profile. O(n).

        >>> AddressSpace("5.0").with_kernel("7.1").kernel
        '7.1'
        """
        new = self.copy()
        new._profile = get_profile(kernel)
        return new

    def state(self) -> tuple:
        """A hashable snapshot of the VMA list (for equality tests). O(n).

        >>> mm = AddressSpace(); s = mm.state(); _ = mm.mmap(0, PAGE_SIZE, PROT_READ, 0x22); mm.state() == s
        False
        """
        return tuple(self._tree.values())

    def check_invariants(self, start: int = 0, end: int | None = None) -> None:
        """Assert every invariant of the address space; ``AssertionError`` names the broken one.

        Checked (semantics §1): the tree's own indexes agree; VMAs are sorted, non-overlapping,
        page aligned, non-empty and below TASK_SIZE; anon_vma identities were handed out by this address
        space; a shared VMA has no anon_vma and no VM_ACCOUNT; ``prot`` is within the VM_MAY* bits;
        ``map_count`` equals the number of VMAs. Tests call it after every operation. O(n).

        With ``start``/``end``, only the VMAs intersecting ``[start, end)`` (and the one before it) are
        checked, plus the counts: O(k + log n), for checking a small region of a million-VMA address space.

        >>> import mmsim
        >>> mm = mmsim.AddressSpace()
        >>> _ = mm.mmap(0, 4 * mmsim.PAGE_SIZE, mmsim.PROT_READ, mmsim.MAP_PRIVATE | mmsim.MAP_ANONYMOUS)
        >>> mm.check_invariants()
        """
        whole = start == 0 and end is None
        if whole:
            self._tree.check()
            vmas: Iterable[VMA] = self._tree.values()
            prev_end = 0
        else:
            before = self._tree.below(start)
            vmas = ([before] if before is not None else []) + vmas_in(self._tree, start, self._task_size
                                                                      if end is None else end)
            prev_end = 0
        n = 0
        for v in vmas:
            where = f"VMA [{v.start:#x}, {v.end:#x})"
            assert v.start % P == 0 and v.end % P == 0, f"{where} is not page aligned"
            assert v.start < v.end, f"{where} is empty or inverted"
            assert v.end <= self._task_size, f"{where} ends above TASK_SIZE {self._task_size:#x}"
            assert v.start >= prev_end, f"{where} overlaps (or is not sorted after) the VMA ending at {prev_end:#x}"
            assert self._tree.get(v.start) is v, f"{where} is not stored under its start"
            assert v.anon_vma is None or 0 < v.anon_vma < self._next_anon, \
                f"{where} has anon_vma {v.anon_vma} that this address space never handed out"
            assert not (v.shared and v.anon_vma is not None), f"{where} is shared but has an anon_vma"
            assert not (v.shared and v.accounted), f"{where} is shared but has VM_ACCOUNT"
            assert v.prot & ~v.maxprot == 0, f"{where} has prot {v.prot:#x} beyond its VM_MAY* bits {v.maxprot:#x}"
            prev_end = v.end
            n += 1
        if whole:
            assert self.map_count == n, f"map_count {self.map_count} != {n} VMAs"
        assert self.map_count == len(self._tree), f"map_count {self.map_count} != {len(self._tree)} tree entries"
        assert 0 <= self._nfill <= len(self._tree), f"filler count {self._nfill} out of range"

    # ---- running calls ----------------------------------------------------------------------
    def _run(self, op: str, impl: Callable[..., Any], *args: Any) -> Any:
        """Run one syscall flow in a fresh :class:`Call`; the ``ideal`` profile commits transactionally."""
        trial = _TRIAL.get()
        if trial is not None and trial.mm is self:  # a trial() of this address space: its options, its call
            call = Call(self, op, trial.disabled, trial.lean)
            trial.call = call
        else:
            call = Call(self, op)
        transactional = self._profile.transactional
        try:
            result = impl(call, *args)
            if transactional:
                call.commit_within_limits()
            return result
        except MMError as e:
            if transactional:
                call.abort(e)
            raise
        finally:
            self._next_anon = call.next_anon
            self.trace = call.trace

    def trial(self, op: str, *args: Any, disabled: Iterable[str] = (), trace: bool = True, **kwargs: Any) -> Trial:
        """Run ``self.<op>(*args, **kwargs)``, record what it did, and undo it. O(k log n).

        ``disabled`` names checks to skip in this run (a classification's reference runs). With
        ``trace=False`` the run keeps a :class:`~mmsim.trace.TraceSummary` instead of every record (the
        fast path of sweeps). The address space, its trace and its anon_vma counter are left exactly as
        they were, whatever happens (an exception other than :class:`~mmsim.MMError` is re-raised after the
        undo).

        >>> mm = AddressSpace(max_map_count=1)
        >>> t = mm.trial("mmap", 0, PAGE_SIZE, PROT_READ, 0x22)
        >>> t.ok, t.map_count_after, mm.map_count
        (True, 1, 0)
        """
        from .ops import SYSCALLS

        if op not in SYSCALLS:
            raise ValueError(f"unknown operation {op!r}; choose one of {', '.join(SYSCALLS)}")
        saved_trace = self.trace
        mc0 = self.map_count
        run = _TrialRun(self, frozenset(disabled), not trace)
        token = _TRIAL.set(run)
        ok, result, error = True, None, None
        try:
            result = getattr(self, op)(*args, **kwargs)
        except MMError as e:
            ok, error = False, e
        finally:
            _TRIAL.reset(token)
            call = run.call
            run_trace = self.trace
            changed, mc1 = False, mc0
            if call is not None:
                mc1 = len(self._tree)
                changed = call.changed()
                call.rollback()
                self._next_anon = call.anon0
            self.trace = saved_trace
        return Trial(op, ok, result, error, run_trace, mc0, mc1, changed)

    # ---- the system calls ------------------------------------------------------------------
    def mmap(self, addr: int | None, length: int, prot: int, flags: int, fd: int | File = -1,
             offset: int = 0) -> int:
        """mmap(2): map ``length`` bytes; returns the address. Mirrors do_mmap()/mmap_region().

        Checks in the kernel's order (semantics §3.1): unaligned offset → EINVAL; bad fd → EBADF; zero
        length → EINVAL; ``map_count > max_map_count`` → ENOMEM (``mmap_limit``, lenient: a process can
        reach max + 1); placement errors (ENOMEM/EINVAL/EPERM); MAP_FIXED_NOREPLACE overlap → EEXIST; file
        mode → EACCES; bad MAP_TYPE → EINVAL; then the overlap unmap (punch check).
        Complexity O((k + 1) log n) for k overlapped VMAs.

        >>> mm = AddressSpace()
        >>> hex(mm.mmap(0, PAGE_SIZE, PROT_READ, 0x22))   # MAP_PRIVATE | MAP_ANONYMOUS, top-down
        '0x7efffffff000'
        """
        return self._run("mmap", mmap.do_mmap, _ulong("addr", addr, nullable=True), _ulong("length", length),
                         _ulong("prot", prot), _ulong("flags", flags), _fd(fd), _ulong("offset", offset))

    def munmap(self, addr: int, length: int) -> None:
        """munmap(2). Mirrors __vm_munmap()@5.0 / do_vmi_munmap()@6.18 (semantics §3.2).

        EINVAL for an unaligned ``addr``, ``addr > TASK_SIZE``, ``len > TASK_SIZE - addr`` or a zero
        length; ENOMEM (``munmap_punch_limit``) only for a hole punch at ``map_count >= max``.
        Unmapping nothing succeeds. O((k + 1) log n).

        >>> mm = AddressSpace(); a = mm.mmap(0, 3 * PAGE_SIZE, PROT_READ, 0x22)
        >>> mm.munmap(a + PAGE_SIZE, PAGE_SIZE); mm.map_count
        2
        """
        self._run("munmap", mmap.do_munmap, _ulong("addr", addr), _ulong("length", length))

    def mprotect(self, addr: int, length: int, prot: int) -> None:
        """mprotect(2). Mirrors do_mprotect_pkey() + mprotect_fixup() (5.0, 6.18, 7.1; semantics §3.3).

        Per VMA in the range: skip if the flags do not change; adjust VM_ACCOUNT; try to merge with
        prev/next; otherwise checked splits (``split_limit``). A second split that fails leaves the
        first in place (partial state), and VMAs processed before an error keep their new protection.
        O((k + 1) log n).

        >>> mm = AddressSpace(); a = mm.mmap(0, 3 * PAGE_SIZE, PROT_READ, 0x22)
        >>> mm.mprotect(a, PAGE_SIZE, 0); [v.perms for v in mm]
        ['---p', 'r--p']
        """
        self._run("mprotect", mprotect.do_mprotect_pkey, _ulong("addr", addr), _ulong("length", length),
                  _ulong("prot", prot))

    def touch(self, addr: int, length: int = PAGE_SIZE, write: bool = True) -> None:
        """Fault the pages of ``[addr, addr+length)`` in, as a program touching them would (semantics §2.6).

        A write fault on a private writable VMA gives the whole VMA an anon_vma (anon_vma_prepare(),
        reusing a compatible neighbour's via find_mergeable_anon_vma()@6.18: next first, then prev).
        Read faults and shared VMAs attach nothing. An unmapped page, or one without the needed
        permission, is SIGSEGV in a real program: the model raises EFAULT there and keeps the
        attachments already made. Never changes map_count. O((k + 1) log n).

        >>> mm = AddressSpace(); a = mm.mmap(0, PAGE_SIZE, 3, 0x22); mm.touch(a); mm.vma_at(a).faulted
        True
        """
        self._run("touch", memory.handle_faults, _ulong("addr", addr), _ulong("length", length),
                  _flag("write", write))

    def mremap(self, old_address: int, old_size: int, new_size: int, flags: int = 0,
               new_address: int | None = 0) -> int:
        """mremap(2) under this profile (semantics §3.5; flows in :mod:`mmsim.kernel.mremap`). Returns the address.

        O((k + 1) log n) for k VMAs touched.

        >>> mm = AddressSpace(); a = mm.mmap(0, PAGE_SIZE, 3, 0x22)
        >>> mm.mremap(a, PAGE_SIZE, 2 * PAGE_SIZE) == a            # grows in place into free space
        True
        """
        return self._run("mremap", mremap.do_mremap, _ulong("old_address", old_address), _ulong("old_size", old_size),
                         _ulong("new_size", new_size), _ulong("flags", flags),
                         _ulong("new_address", new_address, nullable=True))
