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

Layout of the child's address space (all kernel-chosen, nothing outside the arena is ever MAP_FIXED):

* the **arena**: ``arena_pages`` pages PROT_NONE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_NORESERVE, with an unmapped
  page on either side so that it never merges with a neighbour. Every operation acts inside it.
* the **filler** (only when a slack is requested): one MAP_SHARED|MAP_ANONYMOUS|MAP_NORESERVE PROT_READ
  region followed by a one-page hole. Shared anonymous memory has a shmem file of its own, so the filler
  never merges with anything else. Its VMA count is changed by mprotect alone:

  * page ``2i+1`` to PROT_NONE splits the tail VMA in three (+2); back to PROT_READ merges them (-2);
  * the region's last page to PROT_NONE splits the tail in two (+1); back merges (-1);
  * ``map_count = max + 1`` (slack -1) cannot be reached by splitting (``split_vma()`` fails when
    ``map_count >= max``, mm/vma.c), only by mmap (``do_mmap()`` fails only when ``map_count > max``,
    mm/mmap.c): one extra one-page shared anonymous mapping goes into the hole.

Protocol: stdin ``{"ops": [[name, [arg, ...], [address index, ...]], ...], "arena_pages": n,
"targets": [slack or null, ...], "alarm": seconds}``: each operation's positional arguments in the order of
:data:`mmsim.ops.OPS`, and which of them are addresses, given as arena offsets (``null`` = NULL). Stdout
``{"ok": true, ...}`` (see :meth:`Runner.run`) or ``{"ok": false, "error": "..."}``. Addresses in the output
are absolute; the parent turns them into offsets.
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
EFAULT, EEXIST = 14, 17

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

    def __init__(self, sys_: Sys, max_count: int) -> None:
        self.sys = sys_
        self.max = max_count
        self.kmax = max_count // 2 + 2  # pairs: more than any reachable target needs
        self.pages = 2 * self.kmax + 4
        length = (self.pages + 1) * PAGE
        base, err = sys_.mmap(0, length, PROT_READ, MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE)
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
    """Move the brk heap's top up once, so later mallocs never need brk (which fails when mc > max)."""
    chunks = [bytearray(HEAP_CHUNK) for _ in range(HEAP_CHUNKS)]
    del chunks


def _page_align(n: int) -> int:
    return (n + PAGE - 1) & ~(PAGE - 1)


class Runner:
    """Executes the request."""

    def __init__(self, req: dict) -> None:
        self.ops = req["ops"]
        self.arena_pages = int(req["arena_pages"])
        self.slacks = req.get("targets") or [None] * len(self.ops)
        self.sys = Sys()
        with open("/proc/sys/vm/max_map_count") as f:
            self.max = int(f.read())
        self.release = os.uname().release
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
        self._plug_gaps_above(roof + PAGE)

    def _plug_gaps_above(self, lo: int) -> None:
        """Map PROT_NONE over every free gap between the roof and 64 MiB below [stack].

        mmap_base lies at least 128 MiB below the stack (mmap_base()@x86), so after this the only free
        space a top-down search can find above the arena is the landing gap. Python's start-up leaves
        small gaps between libraries that would otherwise catch small relocations first.
        """
        with open("/proc/self/maps") as f:
            spans = [(int(a, 16), int(b, 16), line.rstrip().endswith("[stack]"))
                     for line in f for a, b in [line.split(None, 1)[0].split("-")]]
        stack = next((a for a, _, is_stack in spans if is_stack), None)
        if stack is None:
            return
        hi = stack - (64 << 20)
        flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE
        prev_end = lo
        for a, b, _ in sorted(spans):
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

    def _vmas(self) -> list[list]:
        return self.maps.vmas_between(self.base, self.base + self.size)

    def _stable_count(self, label: str) -> int:
        a = self.maps.read()
        b = self.maps.read()
        self.checks.append([label, a, b])
        return b

    def _reach(self, slack: int) -> tuple[int, float]:
        """Bring map_count to max - slack; return (the measured count, seconds)."""
        t0 = time.perf_counter()
        target = self.max - slack
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
        if any(s is not None for s in self.slacks):
            self.filler = Filler(self.sys, self.max)
        self._arena()
        initial = self._stable_count("setup")
        initial_vmas = self._vmas()
        setup_seconds = time.perf_counter() - t0
        results = []
        fill_seconds = None
        for i, (name, args, addresses) in enumerate(self.ops):
            slack = self.slacks[i]
            adjust = 0.0
            if slack is not None:
                before, adjust = self._reach(slack)
                if fill_seconds is None:
                    fill_seconds = adjust
                    self._stable_count(f"filled to slack {slack} before op {i}")
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
                    "slack": slack,
                    "adjust_seconds": adjust,
                    "op_seconds": op_seconds,
                }
            )
        return {
            "ok": True,
            "release": self.release,
            "max_map_count": self.max,
            "base": self.base,
            "landing_roof": self.roof,
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
