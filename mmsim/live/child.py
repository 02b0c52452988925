"""The child process of :mod:`mmsim.live`: replays operations on the running kernel and prints JSON.

Stdlib only, and deliberately independent of the rest of the package (a test checks that its constants
equal :mod:`mmsim.constants`): :func:`mmsim.live.run` starts it as a script in a fresh interpreter, writes a
JSON request on its stdin and reads one JSON object from its stdout.

The child must keep its own VMA count stable while it measures, so the parent starts it with
``PYTHONMALLOC=malloc`` and glibc malloc tunables that keep every allocation on the brk heap
(``MALLOC_MMAP_THRESHOLD_``, ``MALLOC_TOP_PAD_``, ``MALLOC_TRIM_THRESHOLD_``, ``MALLOC_ARENA_MAX``). Before
it takes any measurement it imports everything it needs, grows the heap once (:func:`_grow_heap`) and
allocates the buffer it reads ``/proc/self/maps`` into, so that nothing later creates, splits or removes a
VMA of its own: not even at ``map_count > max_map_count``, where brk and mmap both fail.

Layout of the child's address space (all kernel-chosen; outside the arena nothing is ever MAP_FIXED, only
MAP_FIXED_NOREPLACE into free space). The child first probes which way the kernel places hint-less mappings
(:meth:`Runner._probe_direction`), because kernel-chosen placements (a hint-less mmap, a MAYMOVE
relocation, a DONTUNMAP move without MREMAP_FIXED) must land where the model puts them:

* **top-down** (x86-64 and arm64 hosts; ``vm_unmapped_area()`` takes the highest fitting gap below
  mmap_base): ``[hole | arena | hole | landing gap | roof]`` in one kernel-chosen mmap, and every free gap
  between the roof and 64 MiB below ``[stack]`` plugged (:meth:`Runner._arena`). A placement lands right
  under the roof; the model uses the roof as its mmap_base.
* **bottom-up** (user-mode Linux: ``mm->mmap_base = TASK_UNMAPPED_BASE`` and the generic
  ``arch_get_unmapped_area()``, mm/util.c:arch_pick_mmap_layout()@6.1; the lowest fitting gap at or above
  mmap_base): ``[floor | landing gap | ceiling | hole | arena | hole | filler | hole]`` in one kernel-chosen
  mmap, and every free gap between the lowest free page at or above mmap_base and the floor plugged
  (:meth:`Runner._arena_bottomup`). A placement lands right above the floor; the model searches bottom-up
  from there. The child also finds TASK_SIZE (:meth:`Runner._probe_task_size`).

In both, the landing gap is :data:`LANDING` bytes and bounded by one-page shared anonymous mappings (a shmem
file of their own: nothing merges with them).

* the **arena**: ``arena_pages`` pages PROT_NONE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_NORESERVE, with an unmapped
  page on either side so that it never merges with a neighbour. Every operation acts inside it.
* the **filler** (only when free slots are requested): one MAP_SHARED|MAP_ANONYMOUS|MAP_NORESERVE PROT_READ
  region followed by a one-page hole. Shared anonymous memory has a shmem file of its own, so the filler
  never merges with anything else. Its VMA count is changed by mprotect alone:

  * page ``2i+1`` to PROT_NONE splits the tail VMA in three (+2); back to PROT_READ merges them (-2);
  * the region's last page to PROT_NONE splits the tail in two (+1); back merges (-1);
  * ``map_count = max + 1`` (-1 free slots) cannot be reached by splitting (``split_vma()`` fails when
    ``map_count >= max``, mm/vma.c), only by mmap (``do_mmap()`` fails only when ``map_count > max``,
    mm/mmap.c): one extra one-page shared anonymous mapping goes into the hole.

Protocol: stdin ``{"ops": [[name, [arg, ...], [address index, ...]], ...], "arena_pages": n,
"targets": [free slots or null, ...], "alarm": seconds}``: each operation's positional arguments in the order of
:data:`mmsim.ops.OPS`, and which of them are addresses, given as arena offsets (``null`` = NULL). Stdout
``{"ok": true, ...}`` (see :meth:`Runner.run`) or ``{"ok": false, "error": "..."}``. Addresses in the output
are absolute; the parent turns them into offsets. Besides the results the output says what the model
needs to mirror the process: ``release``, ``machine``, ``max_map_count`` (read from this kernel's own
/proc), ``layout`` (``"topdown"``/``"bottomup"``), ``landing`` ``[lo, hi)``, ``landing_roof`` (top-down)
or ``landing_floor`` (bottom-up: the first fit), and ``task_size`` (bottom-up; null where not probed).
"""

from __future__ import annotations

import ctypes
import json
import os
import platform
import signal
import sys
import time
from typing import Any

PAGE = 4096
PROT_NONE, PROT_READ = 0x0, 0x1
MAP_SHARED, MAP_PRIVATE, MAP_FIXED, MAP_ANONYMOUS = 0x01, 0x02, 0x10, 0x20
MAP_NORESERVE, MAP_FIXED_NOREPLACE = 0x4000, 0x100000
#: Free gap kept above the arena for kernel-placed mappings (64 MiB).
LANDING = 64 << 20
EFAULT, EEXIST, ENOMEM = 14, 17, 12
#: Highest address the TASK_SIZE probe considers (57-bit virtual addresses, x86-64 5-level paging).
TASK_SIZE_PROBE_LIMIT = 1 << 57

# Syscall numbers: arch/x86/entry/syscalls/syscall_64.tbl and include/uapi/asm-generic/unistd.h (arm64).
SYSCALLS = {
    "x86_64": {"read": 0, "write": 1, "mmap": 9, "mprotect": 10, "munmap": 11, "mremap": 25},
    "aarch64": {"read": 63, "write": 64, "mmap": 222, "mprotect": 226, "munmap": 215, "mremap": 216},
}

# Bytes of /proc/self/maps text per VMA that the read buffer allows for (a filler line is ~95 bytes).
BYTES_PER_LINE = 192
HEAP_CHUNK = 16 << 20  # below MALLOC_MMAP_THRESHOLD_, so it comes from brk
HEAP_CHUNKS = 4


class ChildError(Exception):
    """A failure the child reports as ``{"ok": false, "error": ...}``."""


class Sys:
    """Raw system calls through ``libc.syscall`` with fixed prototypes (no per-call conversions to guess)."""

    def __init__(self) -> None:
        machine = platform.machine()
        if machine not in SYSCALLS:
            raise ChildError(f"no syscall table for machine {machine!r}")
        self.nr = SYSCALLS[machine]
        libc = ctypes.CDLL(None, use_errno=True)
        L, UL = ctypes.c_long, ctypes.c_ulong
        # libc["syscall"] makes a new function pointer each time, so each arity gets its own argtypes.
        self.sc3 = libc["syscall"]
        self.sc3.restype, self.sc3.argtypes = L, [L, UL, UL, UL]
        self.sc5 = libc["syscall"]
        self.sc5.restype, self.sc5.argtypes = L, [L, UL, UL, UL, UL, UL]
        self.sc6 = libc["syscall"]
        self.sc6.restype, self.sc6.argtypes = L, [L, UL, UL, UL, UL, L, UL]
        self.sc_io = libc["syscall"]  # read(fd, buf, count)
        self.sc_io.restype, self.sc_io.argtypes = L, [L, L, UL, UL]
        self.get_errno = ctypes.get_errno

    def mmap(
        self, addr: int, length: int, prot: int, flags: int, fd: int = -1, offset: int = 0
    ) -> tuple[int, int]:
        r = self.sc6(self.nr["mmap"], addr, length, prot, flags, fd, offset)
        return (r, 0) if r != -1 else (-1, self.get_errno())

    def munmap(self, addr: int, length: int) -> tuple[int, int]:
        r = self.sc3(self.nr["munmap"], addr, length, 0)
        return (r, 0) if r != -1 else (-1, self.get_errno())

    def mprotect(self, addr: int, length: int, prot: int) -> tuple[int, int]:
        r = self.sc3(self.nr["mprotect"], addr, length, prot)
        return (r, 0) if r != -1 else (-1, self.get_errno())

    def mremap(self, old: int, old_size: int, new_size: int, flags: int, new: int) -> tuple[int, int]:
        r = self.sc5(self.nr["mremap"], old, old_size, new_size, flags, new)
        return (r, 0) if r != -1 else (-1, self.get_errno())

    def read(self, fd: int, addr: int, count: int) -> tuple[int, int]:
        r = self.sc_io(self.nr["read"], fd, addr, count)
        return (r, 0) if r != -1 else (-1, self.get_errno())


class Maps:
    """/proc/self/maps read into one preallocated buffer: counting lines allocates nothing."""

    def __init__(self, max_lines: int) -> None:
        self.buf = bytearray(max(1 << 20, max_lines * BYTES_PER_LINE))
        self.view = memoryview(self.buf)
        self.n = 0
        self.count = -1  # the map_count of the last read

    def read(self) -> int:
        """Read the whole file; return map_count (lines minus a [vsyscall] line)."""
        fd = os.open("/proc/self/maps", os.O_RDONLY)
        try:
            pos, size, view = 0, len(self.buf), self.view
            while True:
                k = os.readv(fd, [view[pos:]])
                if k == 0:
                    break
                pos += k
                if pos >= size:
                    raise ChildError(f"/proc/self/maps is larger than the {size}-byte read buffer")
        finally:
            os.close(fd)
        self.n = pos
        count = self.buf.count(b"\n", 0, pos)
        if self.buf.find(b"[vsyscall]", max(0, pos - 256), pos) >= 0:
            count -= 1
        self.count = count
        return count

    def _end_of_line_at(self, i: int) -> int:
        dash = self.buf.find(b"-", i)
        return int(self.buf[dash + 1 : self.buf.find(b" ", dash)], 16)

    def vmas_between(self, lo: int, hi: int) -> list[list]:
        """VMAs of the last read that intersect [lo, hi): ``[start, end, perms, pgoff, path]`` each.

        ``pgoff`` is the offset column in pages, which the kernel prints as 0 for anonymous VMAs.
        """
        buf, n = self.buf, self.n
        a, b = 0, n  # binary search for the first line (a line start) whose end is > lo
        while a < b:
            mid = (a + b) // 2
            j = buf.rfind(b"\n", a, mid)
            line = a if j < 0 else j + 1
            if self._end_of_line_at(line) > lo:
                b = line
            else:
                a = buf.find(b"\n", line) + 1
        out = []
        while a < n:
            e = buf.find(b"\n", a)
            text = bytes(buf[a:e]).decode("utf-8", "surrogateescape")
            a = e + 1
            parts = text.split(None, 5)
            start_s, _, end_s = parts[0].partition("-")
            start, end = int(start_s, 16), int(end_s, 16)
            if start >= hi:
                break
            path = parts[5] if len(parts) > 5 else ""
            out.append([start, end, parts[1], int(parts[2], 16) // PAGE, path])
        return out


class Filler:
    """VMAs outside the arena whose number the child sets exactly (see the module docstring)."""

    def __init__(self, sys_: Sys, max_count: int, at: int = 0) -> None:
        """Map the region kernel-chosen, or with MAP_FIXED_NOREPLACE at ``at`` (free space, bottom-up)."""
        self.sys = sys_
        self.max = max_count
        self.kmax = max_count // 2 + 2  # pairs: more than any reachable target needs
        self.pages = 2 * self.kmax + 4
        length = self.span(max_count)
        flags = MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE
        base, err = sys_.mmap(at, length, PROT_READ, flags | (MAP_FIXED_NOREPLACE if at else 0))
        if not err and at and base != at:
            err = EEXIST
        if err:
            raise ChildError(f"cannot reserve the filler region ({length} bytes): errno {err}")
        self.base = base
        self.hole = base + self.pages * PAGE
        r, err = sys_.munmap(self.hole, PAGE)
        if err:
            raise ChildError(f"cannot make the filler's hole: errno {err}")
        self.k = 0  # pages 1, 3, ..., 2k-1 are PROT_NONE
        self.parity = 0  # the last page is PROT_NONE
        self.extra = 0  # address of the extra one-page mapping, or 0

    @staticmethod
    def span(max_count: int) -> int:
        """Bytes of address space the filler of ``max_count`` uses: its region and the hole after it."""
        return (2 * (max_count // 2 + 2) + 4 + 1) * PAGE

    @property
    def vmas(self) -> int:
        """How many VMAs the filler adds to its unsplit reservation."""
        return 2 * self.k + self.parity + (1 if self.extra else 0)

    def _set_pairs(self, k: int) -> None:
        mprotect = self.sys.sc3
        nr = self.sys.nr["mprotect"]
        base = self.base
        if k > self.k:
            prot, rng = PROT_NONE, range(self.k, k)
        else:
            prot, rng = PROT_READ, range(self.k - 1, k - 1, -1)
        for i in rng:
            if mprotect(nr, base + (2 * i + 1) * PAGE, PAGE, prot) != 0:
                err = self.sys.get_errno()
                self.k = i if prot == PROT_NONE else i + 1
                raise ChildError(f"filler mprotect #{i} failed with errno {err}")
        self.k = k

    def _set_parity(self, p: int) -> None:
        if p == self.parity:
            return
        r, err = self.sys.mprotect(self.base + (self.pages - 1) * PAGE, PAGE, PROT_NONE if p else PROT_READ)
        if err:
            raise ChildError(f"filler parity mprotect failed with errno {err}")
        self.parity = p

    def _set_extra(self, on: bool) -> None:
        if bool(self.extra) == on:
            return
        if not on:
            r, err = self.sys.munmap(self.extra, PAGE)
            if err:
                raise ChildError(f"cannot unmap the extra filler page: errno {err}")
            self.extra = 0
            return
        flags = MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE
        addr, err = self.sys.mmap(self.hole, PAGE, PROT_NONE, flags | MAP_FIXED_NOREPLACE)
        if err == EEXIST:  # something took the hole: any address will do
            addr, err = self.sys.mmap(0, PAGE, PROT_NONE, flags)
        if err:
            raise ChildError(f"cannot map the extra filler page (map_count > max?): errno {err}")
        self.extra = addr

    def shift(self, delta: int, target: int) -> None:
        """Change the filler's VMA count by ``delta`` so that map_count becomes ``target``."""
        want = self.vmas + delta
        extra = 1 if target > self.max else 0
        splits = want - extra
        if target > self.max + 1:
            raise ChildError(f"map_count {target} is above max_map_count + 1 = {self.max + 1}: unreachable")
        if splits < 0:
            raise ChildError(
                f"cannot lower map_count to {target}: even with no filler VMAs the child has "
                f"{target - want} VMAs"
            )
        k, p = divmod(splits, 2)
        if k > self.kmax:
            raise ChildError(f"map_count {target} needs more filler than reserved")
        # Decreases first (merges never fail), then increases (splits, up to max), then the extra mmap.
        if not extra:
            self._set_extra(False)
        if p < self.parity:
            self._set_parity(p)
        if k < self.k:
            self._set_pairs(k)
        if k > self.k:
            self._set_pairs(k)
        if p > self.parity:
            self._set_parity(p)
        if extra:
            self._set_extra(True)


def _grow_heap() -> None:
    """Move the brk heap's top up once, so later mallocs never need brk (which fails when mc > max).

    glibc's malloc()/free() through ctypes, without touching the pages: with PYTHONMALLOC=malloc, Python and
    ctypes share glibc's main arena; HEAP_CHUNK is below MALLOC_MMAP_THRESHOLD_, so each chunk comes from brk,
    and MALLOC_TRIM_THRESHOLD_ keeps the top after free(). Zero-filling the chunks (bytearray) moves the top
    the same way but faults 16384 pages in: ~0.1 s on a host, ~4 s under user-mode Linux, where every first
    touch is a host SIGSEGV round trip.
    """
    libc = ctypes.CDLL(None)
    libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
    libc.free.restype, libc.free.argtypes = None, [ctypes.c_void_p]
    ptrs = [libc.malloc(HEAP_CHUNK) for _ in range(HEAP_CHUNKS)]
    if not all(ptrs):
        raise ChildError("cannot grow the heap")
    for p in reversed(ptrs):
        libc.free(p)


def _page_align(n: int) -> int:
    return (n + PAGE - 1) & ~(PAGE - 1)


class Runner:
    """Executes the request."""

    def __init__(self, req: dict) -> None:
        self.ops = req["ops"]
        self.arena_pages = int(req["arena_pages"])
        self.free_slots = req.get("targets") or [None] * len(self.ops)
        self.sys = Sys()
        with open("/proc/sys/vm/max_map_count") as f:
            self.max = int(f.read())
        self.release = os.uname().release
        self.machine = platform.machine()
        self.layout = "topdown"
        self.search_floor = 0
        self.base = 0  # the arena's first address and its size in bytes, set by _arena*()
        self.size = 0
        self.roof: int | None = None
        self.landing: tuple[int, int] = (0, 0)
        self.task_size: int | None = None
        self.pipe_r, self.pipe_w = os.pipe()
        self.pipe_full = False
        _grow_heap()
        self.maps = Maps(self.max + 4096)
        self.filler: Filler | None = None
        self.checks: list[list] = []

    def _arena(self) -> None:
        """Reserve [guard hole | arena | guard hole | landing gap | landing roof] in one kernel-chosen mmap.

        The landing gap (LANDING bytes, left unmapped) sits directly above the arena, under a one-page
        shared anonymous "roof" that never merges. A MAYMOVE relocation or a hint-less mmap searches
        top-down (vm_unmapped_area()), so it lands at the top of the gap, right under the roof, instead of
        in a hole of the arena; the model reproduces this by using the roof as its mmap_base.
        """
        size = self.arena_pages * PAGE
        flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE
        total = size + 2 * PAGE + LANDING + PAGE
        guard, err = self.sys.mmap(0, total, PROT_NONE, flags)
        if err:
            raise ChildError(f"cannot reserve the arena ({size} bytes): errno {err}")
        for a, n in ((guard, PAGE), (guard + PAGE + size, PAGE + LANDING + PAGE)):
            r, err = self.sys.munmap(a, n)
            if err:
                raise ChildError(f"cannot unmap around the arena: errno {err}")
        roof = guard + total - PAGE
        r, err = self.sys.mmap(roof, PAGE, PROT_NONE, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE)
        if err or r != roof:
            raise ChildError(f"cannot map the landing roof at {roof:#x}: errno {err}")
        self.base, self.size, self.roof = guard + PAGE, size, roof
        self.landing = (self.base + size + PAGE, roof)
        self._plug_gaps_above(roof + PAGE)

    def _probe_direction(self) -> None:
        """Two hint-less one-page shared anonymous mmaps, both unmapped again: the second lands above the
        first iff the kernel searches bottom-up (unmapped_area(): the lowest fitting gap >= mmap_base), below
        it iff top-down (unmapped_area_topdown(): the highest one below mmap_base). Bottom-up, the first probe
        is the lowest free page >= mmap_base, so every gap the search can reach lies at or above it."""
        flags = MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE
        a, err = self.sys.mmap(0, PAGE, PROT_NONE, flags)
        if err:
            raise ChildError(f"placement direction probe failed: errno {err}")
        b, err = self.sys.mmap(0, PAGE, PROT_NONE, flags)
        if err:
            raise ChildError(f"placement direction probe failed: errno {err}")
        for x in (a, b):
            r, err = self.sys.munmap(x, PAGE)
            if err:
                raise ChildError(f"cannot unmap a direction probe: errno {err}")
        self.layout = "bottomup" if b > a else "topdown"
        self.search_floor = min(a, b)

    def _arena_bottomup(self, with_filler: bool) -> None:
        """Reserve [floor | landing gap | ceiling | hole | arena | hole | filler | hole] in one kernel-chosen
        mmap, for a kernel that places bottom-up.

        The reservation took the lowest free gap >= mmap_base that fits it; once every (smaller) gap between
        the first direction probe and the floor is plugged, the landing gap is the lowest free space: a
        kernel-chosen mapping lands right above the floor page, and the next ones stack upwards. Floor and
        ceiling are one-page shared anonymous mappings (a shmem file each: nothing merges with them). The
        arena's guard holes and the filler's hole lie above the ceiling, out of the search's reach until the
        landing gap is full. The filler (if any) is mapped here, above the arena, with MAP_FIXED_NOREPLACE: a
        kernel-chosen filler would land in the landing gap, and its hole, below the floor, would catch
        one-page placements. The model mirrors this with a bottom-up search from the landing gap's bottom.
        """
        size = self.arena_pages * PAGE
        fill = Filler.span(self.max) if with_filler else 0
        total = PAGE + LANDING + PAGE + PAGE + size + PAGE + fill
        start, err = self.sys.mmap(0, total, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE)
        if err:
            raise ChildError(f"cannot reserve the arena ({size} bytes): errno {err}")
        floor, ceiling = start, start + PAGE + LANDING
        base = ceiling + 2 * PAGE
        for a, n in ((start, 3 * PAGE + LANDING), (base + size, PAGE + fill)):
            r, err = self.sys.munmap(a, n)
            if err:
                raise ChildError(f"cannot unmap around the arena: errno {err}")
        for a in (floor, ceiling):
            r, err = self.sys.mmap(a, PAGE, PROT_NONE, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE)
            if err or r != a:
                raise ChildError(f"cannot map the landing floor/ceiling at {a:#x}: errno {err}")
        if with_filler:
            self.filler = Filler(self.sys, self.max, at=base + size + PAGE)
        self.base, self.size, self.roof = base, size, None
        self.landing = (floor + PAGE, ceiling)
        self._plug_gaps_between(self.search_floor, floor)
        # Verify: the first fit of a hint-less mmap is now the landing gap's bottom.
        x, err = self.sys.mmap(0, PAGE, PROT_NONE, MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE)
        if err:
            raise ChildError(f"cannot check the bottom-up first fit: errno {err}")
        self.sys.munmap(x, PAGE)
        if x != floor + PAGE:
            raise ChildError(f"the bottom-up first fit is {x:#x}, not the landing gap's bottom {floor + PAGE:#x}")
        self.task_size = self._probe_task_size()

    def _plug_gaps_between(self, lo: int, hi: int) -> None:
        """Map PROT_NONE (private anonymous, NORESERVE, MAP_FIXED_NOREPLACE) over every free gap in [lo, hi)."""
        with open("/proc/self/maps") as f:
            spans = sorted((int(a, 16), int(b, 16)) for line in f
                           for a, b in [line.split(None, 1)[0].split("-")])
        flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE
        prev_end = lo
        for a, b in [*spans, (hi, hi)]:
            if b <= lo:
                continue
            gap_lo, gap_hi = max(prev_end, lo), min(a, hi)
            if gap_hi > gap_lo:
                r, err = self.sys.mmap(gap_lo, gap_hi - gap_lo, PROT_NONE, flags)
                if err or r != gap_lo:
                    raise ChildError(f"cannot plug the gap [{gap_lo:#x}, {gap_hi:#x}): errno {err}")
            prev_end = max(prev_end, b)
            if a >= hi:
                break

    def _probe_task_size(self) -> int | None:
        """TASK_SIZE by bisection with one-page MAP_FIXED_NOREPLACE probes (each success unmapped at once):
        get_unmapped_area() fails with ENOMEM exactly when ``addr > TASK_SIZE - len`` (mm/mmap.c@6.1); below
        that a probe succeeds or meets a mapping (EEXIST). None when the answer is not clear-cut."""
        flags = MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE

        def below_top(addr: int) -> bool | None:
            r, err = self.sys.mmap(addr, PAGE, PROT_NONE, flags)
            if not err:
                if r != addr:
                    return None
                self.sys.munmap(r, PAGE)
                return True
            return True if err == EEXIST else False if err == ENOMEM else None

        lo, hi = self.base // PAGE, TASK_SIZE_PROBE_LIMIT // PAGE  # page numbers: lo below the top, hi above
        if below_top(lo * PAGE) is not True or below_top(hi * PAGE) is not False:
            return None
        while hi - lo > 1:
            mid = (lo + hi) // 2
            ok = below_top(mid * PAGE)
            if ok is None:
                return None
            lo, hi = (mid, hi) if ok else (lo, mid)
        return hi * PAGE

    def _plug_gaps_above(self, lo: int) -> None:
        """Map PROT_NONE over every free gap between the roof and 64 MiB below [stack].

        mmap_base lies at least 128 MiB below the stack (mmap_base()@x86), so after this the only free
        space a top-down search can find above the arena is the landing gap. Python's start-up leaves
        small gaps between libraries that would otherwise catch small relocations first.
        """
        with open("/proc/self/maps") as f:
            stack = next((int(line.split("-", 1)[0], 16) for line in f if line.rstrip().endswith("[stack]")), None)
        if stack is not None:
            self._plug_gaps_between(lo, stack - (64 << 20))

    def _vmas(self) -> list[list]:
        return self.maps.vmas_between(self.base, self.base + self.size)

    def _stable_count(self, label: str) -> int:
        a = self.maps.read()
        b = self.maps.read()
        self.checks.append([label, a, b])
        return b

    def _reach(self, free_slots: int) -> tuple[int, float]:
        """Bring map_count to max - free slots; return (the measured count, seconds)."""
        t0 = time.perf_counter()
        target = self.max - free_slots
        mc = self.maps.count  # the previous read (nothing maps memory in between); verified below
        if mc != target and self.filler is not None:
            self.filler.shift(target - mc, target)
        mc = self.maps.read()
        for _ in range(3):
            if mc == target:
                return mc, time.perf_counter() - t0
            if self.filler is None:
                raise ChildError("internal: no filler")
            self.filler.shift(target - mc, target)
            mc = self.maps.read()
        raise ChildError(
            f"map_count does not settle at {target} (last read {mc}): something else maps memory"
        )

    def _touch(self, addr: int, length: int) -> tuple[int, int]:
        end = _page_align(addr + length)
        page = addr
        while page < end:
            if not self.pipe_full:
                os.write(self.pipe_w, b"t")
                self.pipe_full = True
            r, err = self.sys.read(self.pipe_r, page, 1)
            if err:
                return -1, err
            self.pipe_full = False
            page = (page & ~(PAGE - 1)) + PAGE
        return 0, 0

    def _op(self, name: str, args: list, addresses: list) -> tuple[int, int]:
        """Run one operation: its positional arguments, arena offsets at ``addresses`` made absolute."""
        args = list(args)
        for i in addresses:
            args[i] = 0 if args[i] is None else self.base + args[i]
        impl: Any = {"mmap": self.sys.mmap, "munmap": self.sys.munmap, "mprotect": self.sys.mprotect,
                "mremap": self.sys.mremap, "touch": self._touch}.get(name)
        if name == "nop":
            return 0, 0
        if impl is None:
            raise ChildError(f"unknown operation {name!r}")
        return impl(*args)

    def run(self) -> dict:
        t0 = time.perf_counter()
        with_filler = any(s is not None for s in self.free_slots)
        self._probe_direction()
        if self.layout == "topdown":
            if with_filler:
                self.filler = Filler(self.sys, self.max)
            self._arena()
        else:
            self._arena_bottomup(with_filler)
        initial = self._stable_count("setup")
        initial_vmas = self._vmas()
        setup_seconds = time.perf_counter() - t0
        results = []
        fill_seconds = None
        for i, (name, args, addresses) in enumerate(self.ops):
            free_slots = self.free_slots[i]
            adjust = 0.0
            if free_slots is not None:
                before, adjust = self._reach(free_slots)
                if fill_seconds is None:
                    fill_seconds = adjust
                    self._stable_count(f"filled to free slots {free_slots} before op {i}")
                    before = self.checks[-1][2]
            else:
                before = self.maps.read()
            t1 = time.perf_counter()
            ret, err = self._op(name, args, addresses)
            op_seconds = time.perf_counter() - t1
            after = self.maps.read()
            results.append(
                {
                    "ret": None if err else ret,
                    "errno": err,
                    "map_count_before": before,
                    "map_count_after": after,
                    "vmas": self._vmas(),
                    "free_slots": free_slots,
                    "adjust_seconds": adjust,
                    "op_seconds": op_seconds,
                }
            )
        return {
            "ok": True,
            "release": self.release,
            "machine": self.machine,
            "max_map_count": self.max,
            "base": self.base,
            "layout": self.layout,
            "landing": list(self.landing),
            "landing_roof": self.roof,
            "landing_floor": self.landing[0] if self.layout == "bottomup" else None,
            "task_size": self.task_size,
            "arena_pages": self.arena_pages,
            "initial_map_count": initial,
            "initial_vmas": initial_vmas,
            "results": results,
            "checks": self.checks,
            "setup_seconds": setup_seconds,
            "fill_seconds": fill_seconds,
            "total_seconds": time.perf_counter() - t0,
            "filler_pages": self.filler.pages if self.filler else 0,
            "pid": os.getpid(),
        }


def main() -> int:
    """Read the request from stdin, run it, print one JSON object; exit 0 unless the child itself broke."""
    req = json.loads(sys.stdin.buffer.read())
    alarm = int(req.get("alarm") or 0)
    if alarm > 0:
        signal.alarm(alarm)  # a backstop: the parent kills the child at its own timeout first
    try:
        out = Runner(req).run()
    except ChildError as e:
        out = {"ok": False, "error": str(e)}
    sys.stdout.write(json.dumps(out))
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
