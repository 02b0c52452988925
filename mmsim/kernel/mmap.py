"""mmap(2) and munmap(2) (mm/mmap.c, mm/vma.c): do_mmap(), mmap_region(), get_unmapped_area(), do_munmap().

The flows take the running :class:`~mmsim.kernel.call.Call` and already-converted unsigned-long
arguments (see :class:`mmsim.AddressSpace`), and fail with the kernel's errno in the kernel's order
(semantics §2.8, §3.1, §3.2).
"""

from __future__ import annotations

import errno as E
from typing import TYPE_CHECKING

from ..checks import CHECKS
from ..constants import (
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
    PROT_READ,
    PROT_WRITE,
    TASK_UNMAPPED_BASE,
    ULONG_MASK,
    page_align,
)
from ..vma import VMA, File
from .vma import Munmap, find_vma, new_range, range_free, unmap, vms_complete_munmap_vmas

if TYPE_CHECKING:
    from .call import Call

__all__ = ["do_mmap", "do_munmap", "get_unmapped_area", "mmap_region", "search_bottomup", "search_topdown"]

P = PAGE_SIZE
_PROT_RWX = PROT_READ | PROT_WRITE | PROT_EXEC
_MMAP_LIMIT = CHECKS["mmap_limit"]


# ---- get_unmapped_area ------------------------------------------------------------------------


def search_topdown(call: Call, length: int) -> int | None:
    """vm_unmapped_area() top-down (unmapped_area_topdown()): the highest free ``[a, a+len)`` below
    mmap_base and at or above ``max(P, mmap_min_addr)`` (the kernel variable:
    :attr:`~mmsim.AddressSpace.effective_mmap_min_addr`). O(log n): the tree keeps gap bounds, as the maple
    tree keeps the largest gap of each node."""
    mm = call.mm
    return call.tree.gap_topdown(length, max(P, mm.effective_mmap_min_addr), mm.mmap_base)


def search_bottomup(call: Call, length: int, low: int) -> int | None:
    """vm_unmapped_area() bottom-up (unmapped_area()): the lowest free ``[a, a+len)`` at or above ``low``
    that ends at or below TASK_SIZE. O(log n)."""
    return call.tree.gap_bottomup(length, low, call.task_size)


def get_unmapped_area(call: Call, addr: int, length: int, fixed: bool, fn: str) -> int:
    """get_unmapped_area() (semantics §2.8): MAP_FIXED exact; a free hint; else a search.

    The search follows the address space's layout: ``"topdown"`` is x86-64's
    arch_get_unmapped_area_topdown() (the highest fitting gap below mmap_base, then bottom-up from
    TASK_UNMAPPED_BASE as its fallback); ``"bottomup"`` is generic_get_unmapped_area() (the lowest fitting
    gap at or above mmap_base, no fallback; x86-64's legacy layout and user-mode Linux). Two points follow
    the source where the first draft of the semantics said otherwise: x86's arch_get_unmapped_area_topdown()
    rounds a hint *down* (``addr &= PAGE_MASK``), and __get_unmapped_area()@6.18 checks
    ``addr > TASK_SIZE - len`` (ENOMEM) before ``offset_in_page(addr)`` (EINVAL) for MAP_FIXED.
    Records ``get_unmapped_area``. O(log n) for FIXED or a free hint.
    """
    mm = call.mm
    task_size = call.task_size
    if length > task_size:
        raise call.fail(E.ENOMEM, "len_too_big", fn, f"len {length:#x} > TASK_SIZE")
    found: int | None
    if fixed:
        if addr > task_size - length:
            raise call.fail(E.ENOMEM, "addr_beyond_task_size", fn, f"{addr:#x} + {length:#x} > TASK_SIZE")
        if addr % P:
            raise call.fail(E.EINVAL, "addr_unaligned", fn, f"MAP_FIXED address {addr:#x}")
        found = addr
    else:
        found = None
        bottomup = mm.layout == "bottomup"
        floor = mm.effective_mmap_min_addr
        if bottomup and length > task_size - floor:  # generic_get_unmapped_area()
            raise call.fail(E.ENOMEM, "len_too_big", fn, f"len {length:#x} > TASK_SIZE - mmap_min_addr")
        if addr:
            # x86 arch_get_unmapped_area_topdown(): addr &= PAGE_MASK; generic: PAGE_ALIGN(addr). An mmap hint
            # is already masked by round_hint_to_min() and an mremap hint must be aligned, so both agree.
            hint = addr & ~(P - 1)
            if (hint <= task_size - length and (not bottomup or hint >= floor)
                    and range_free(call.tree, hint, length)):
                found = hint
        if found is None and bottomup:
            found = search_bottomup(call, length, mm.mmap_base)
        elif found is None:
            found = search_topdown(call, length)
            if found is None:
                found = search_bottomup(call, length, TASK_UNMAPPED_BASE)
        if found is None:
            raise call.fail(E.ENOMEM, "no_space", fn, f"no free range of {length:#x} bytes")
    res = found
    if res < mm.mmap_min_addr and not mm.privileged:  # cap_mmap_addr(): the sysctl, dac_mmap_min_addr
        raise call.fail(E.EPERM, "below_mmap_min_addr", "security_mmap_addr",
                        f"{res:#x} < mmap_min_addr {mm.mmap_min_addr:#x}")
    call.record("get_unmapped_area", "step", fn, start=res, end=res + length)
    return res


# ---- mmap ---------------------------------------------------------------------------------------


def do_mmap(call: Call, addr: int, length: int, prot: int, flags: int, fd: int | File, offset: int) -> int:
    """do_mmap()@5.0/6.18 (identical in 7.1), semantics §3.1: validate, check the limit, place, map.

    Checks in the kernel's order: unaligned offset → EINVAL (x86 sys_mmap); bad fd → EBADF; zero length →
    EINVAL; PAGE_ALIGN(len) wraps → ENOMEM; pgoff overflow → EOVERFLOW; ``map_count > max_map_count`` →
    ENOMEM (``mmap_limit``, lenient: a process can reach max + 1); placement errors; MAP_FIXED_NOREPLACE
    overlap → EEXIST; file mode → EACCES; bad MAP_TYPE → EINVAL; then :func:`mmap_region`.
    """
    fn = "do_mmap"
    if offset % P:
        raise call.fail(E.EINVAL, "offset_unaligned", "sys_mmap", f"offset {offset:#x}")
    file: File | None = None
    if not flags & MAP_ANONYMOUS:
        file = fd if isinstance(fd, File) else call.mm.file_of(fd)
        if file is None:
            raise call.fail(E.EBADF, "bad_fd", "ksys_mmap_pgoff", f"fd {fd!r} is not open")
    if length == 0:
        raise call.fail(E.EINVAL, "len_zero", fn)
    if flags & MAP_FIXED_NOREPLACE:
        flags |= MAP_FIXED
    fixed = bool(flags & MAP_FIXED)
    if not fixed:  # round_hint_to_min(): mask first, so a sub-page hint is no hint; the kernel variable
        addr &= ~(P - 1)
        floor = call.mm.effective_mmap_min_addr
        if addr and addr < floor:
            addr = page_align(floor)
    length = page_align(length)
    if length == 0:
        raise call.fail(E.ENOMEM, "len_overflow", fn, "PAGE_ALIGN(len) wrapped to 0")
    pgoff = offset >> PAGE_SHIFT
    if pgoff + (length >> PAGE_SHIFT) > ULONG_MASK:
        raise call.fail(E.EOVERFLOW, "pgoff_overflow", fn)
    call.check(_MMAP_LIMIT, fn)
    addr = get_unmapped_area(call, addr, length, fixed, "__get_unmapped_area")
    end = addr + length
    if flags & MAP_FIXED_NOREPLACE and not range_free(call.tree, addr, length):
        raise call.fail(E.EEXIST, "fixed_noreplace_overlap", fn, f"[{addr:#x}, {end:#x}) is mapped")
    mtype = flags & MAP_TYPE
    maxprot = _PROT_RWX
    if file is not None:
        if mtype in (MAP_SHARED, MAP_SHARED_VALIDATE):
            if prot & PROT_WRITE and not file.writable:
                raise call.fail(E.EACCES, "file_not_writable", fn, "PROT_WRITE on MAP_SHARED of a read-only file")
            shared = True
            if not file.writable:
                maxprot &= ~PROT_WRITE
        elif mtype == MAP_PRIVATE:
            shared = False
        else:
            raise call.fail(E.EINVAL, "map_type", fn, f"MAP_TYPE {mtype:#x}")
        if not file.readable:
            raise call.fail(E.EACCES, "file_not_readable", fn, "mapping needs a readable file")
    else:
        if mtype == MAP_SHARED:
            shared, pgoff = True, 0
        elif mtype == MAP_PRIVATE:
            shared, pgoff = False, addr >> PAGE_SHIFT
        else:
            raise call.fail(E.EINVAL, "map_type", fn, f"MAP_TYPE {mtype:#x} for anonymous memory")
    noreserve = bool(flags & MAP_NORESERVE)
    accounted = (not shared) and bool(prot & PROT_WRITE) and not noreserve  # accountable_mapping()
    tmpl = VMA(addr, end, prot & _PROT_RWX, shared, pgoff, file, None, accounted, noreserve, frozenset(), maxprot)
    return mmap_region(call, tmpl, anon_shared=(file is None and shared))


def mmap_region(call: Call, tmpl: VMA, anon_shared: bool) -> int:
    """mmap_region()@5.0 / __mmap_region()@6.18: unmap the overlap, then merge or create (semantics §3.1 step 6).

    With the ``munmap_gather`` feature (6.12+) the overlap is gathered and split first (``gather``:
    init_vma_munmap() + vms_gather_munmap_vmas(); __mmap_prepare() in 6.18) and its :class:`Munmap` state is
    completed after the new VMA is inserted (``complete``: vms_complete_munmap_vmas(); __mmap_complete() in
    6.18), so removed VMAs are subtracted last.
    """
    addr, end = tmpl.start, tmpl.end
    gather = call.profile.has("munmap_gather")
    region = call.profile.kfn("mmap_region")
    vms: Munmap | None = None
    v = find_vma(call.tree, addr)
    if v is not None and v.start < end:
        vms = unmap(call, addr, end, "gather" if gather else "unmap_overlap",
                    call.profile.kfn("unmap_overlap"), defer=gather)
    if anon_shared:
        # shmem_zero_setup(): a fresh shmem file; nothing can share it, so it never merges.
        f = File("/dev/zero (deleted)", (end - addr) >> PAGE_SHIFT, shmem=True)
        call.put(tmpl.with_(file=f, pgoff=0))
        call.record("new_vma", "step", region, +1, addr, end)
    else:
        p = call.profile
        new_range(call, tmpl, p.kfn("merge_new"), region,
                  next_first=p.has("mmap_merge_next_first") and not p.has("mmap_merge_new_range"))
    if vms is not None and vms.defer:
        vms_complete_munmap_vmas(call, vms)
    return addr


# ---- munmap -------------------------------------------------------------------------------------


def do_munmap(call: Call, addr: int, length: int) -> None:
    """__vm_munmap()/__do_munmap()@5.0, do_vmi_munmap()@6.18 (semantics §3.2).

    EINVAL for an unaligned ``addr``, ``addr > TASK_SIZE``, ``len > TASK_SIZE - addr`` or a zero length;
    then the unmap engine, whose only failure is the hole-punch check.
    """
    fn = call.profile.kfn("munmap")
    task_size = call.task_size
    if addr % P or addr > task_size or length > task_size - addr:
        raise call.fail(E.EINVAL, "range", fn, f"addr {addr:#x} len {length:#x}")
    length = page_align(length)
    if length == 0:
        raise call.fail(E.EINVAL, "len_zero", fn)
    unmap(call, addr, addr + length, "munmap", fn)
