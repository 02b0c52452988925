"""mprotect(2) (mm/mprotect.c): do_mprotect_pkey() and mprotect_fixup(), semantics §3.3.

Per VMA in the range: skip it if its flags do not change; adjust VM_ACCOUNT (§2.7); try to merge with
prev/next (§2.4); otherwise checked splits (``split_limit``). A second split that fails leaves the first
in place, and VMAs processed before an error keep their new protection (§5).
"""

from __future__ import annotations

import errno as E
from typing import TYPE_CHECKING

from ..constants import (
    PAGE_SIZE,
    PROT_EXEC,
    PROT_GROWSDOWN,
    PROT_GROWSUP,
    PROT_READ,
    PROT_SEM,
    PROT_WRITE,
    ULONG_MASK,
    page_align,
)
from ..vma import VMA
from .vma import checked_split, find_vma, merge_existing

if TYPE_CHECKING:
    from .call import Call

__all__ = ["do_mprotect_pkey", "mprotect_fixup"]

P = PAGE_SIZE
_PROT_RWX = PROT_READ | PROT_WRITE | PROT_EXEC


def do_mprotect_pkey(call: Call, addr: int, length: int, prot: int) -> None:
    """do_mprotect_pkey()@5.0/6.18/7.1: validation in the kernel's order, then mprotect_fixup() per VMA.

    EINVAL for PROT_GROWSDOWN|PROT_GROWSUP together, an unaligned ``addr`` or unknown prot bits; a zero
    length returns at once; ENOMEM for a range that wraps, starts in a hole, or hits a hole; EACCES for a
    VMA whose VM_MAY* bits forbid ``prot``. PROT_GROWSDOWN or PROT_GROWSUP alone on a VMA that does not
    grow is EINVAL (ENOMEM for GROWSUP starting in a gap), as the source has it.
    """
    fn = "do_mprotect_pkey"
    tree = call.tree
    grows = prot & (PROT_GROWSDOWN | PROT_GROWSUP)
    if grows == PROT_GROWSDOWN | PROT_GROWSUP:
        raise call.fail(E.EINVAL, "grows_both", fn)
    prot &= ~(PROT_GROWSDOWN | PROT_GROWSUP)
    if addr % P:
        raise call.fail(E.EINVAL, "addr_unaligned", fn, f"{addr:#x}")
    if length == 0:
        return
    end = (addr + page_align(length)) & ULONG_MASK
    if end <= addr:
        raise call.fail(E.ENOMEM, "range_wraps", fn)
    if prot & ~(_PROT_RWX | PROT_SEM):
        raise call.fail(E.EINVAL, "prot_bits", fn, f"prot {prot:#x}")  # arch_validate_prot()
    prot &= _PROT_RWX
    v = find_vma(tree, addr)
    if v is None or v.start >= end:
        raise call.fail(E.ENOMEM, "no_vma", fn, f"nothing mapped in [{addr:#x}, {end:#x})")
    if grows:
        # No model VMA has VM_GROWSDOWN/VM_GROWSUP, so do_mprotect_pkey() ends with EINVAL (after the same
        # lookups that give ENOMEM).
        if grows == PROT_GROWSUP and v.start > addr:
            raise call.fail(E.ENOMEM, "hole_at_start", fn, f"{addr:#x} is not mapped")
        raise call.fail(E.EINVAL, "not_growsdown" if grows == PROT_GROWSDOWN else "not_growsup", fn,
                        "PROT_GROWSDOWN/PROT_GROWSUP on a VMA that does not grow")
    if v.start > addr:
        raise call.fail(E.ENOMEM, "hole_at_start", fn, f"{addr:#x} is not mapped")
    nstart, tmp = addr, v.start
    while True:
        w = find_vma(tree, nstart)
        if w is None or w.start >= end:
            break
        if w.start != tmp:
            raise call.fail(E.ENOMEM, "hole", fn, f"hole at {tmp:#x}", tmp, w.start)
        if prot & ~w.maxprot:
            raise call.fail(E.EACCES, "maxprot", fn, f"prot {prot:#x} beyond VM_MAY* of the VMA", w.start, w.end)
        res = mprotect_fixup(call, w, nstart, min(w.end, end), prot)
        tmp = nstart = res.end
        if nstart >= end:
            break
    if tmp < end:
        raise call.fail(E.ENOMEM, "hole_at_end", fn, f"{tmp:#x} is not mapped", tmp, end)


def mprotect_fixup(call: Call, v: VMA, start: int, end: int, prot: int) -> VMA:
    """mprotect_fixup(): accounting, the vma_modify() merge, checked splits, set flags. Returns the result.

    VM_ACCOUNT (semantics §2.7): becoming writable sets it when the VMA has none of ACCOUNT, WRITE, SHARED,
    NORESERVE; with the ``mprotect_unaccount`` feature (6.7, 9b9143298585) becoming non-writable clears it
    on an unfaulted private anonymous VMA.
    """
    if prot == v.prot:
        return v
    accounted = v.accounted
    if prot & PROT_WRITE:
        if not (v.accounted or v.prot & PROT_WRITE or v.shared or v.noreserve):
            accounted = True
    elif call.profile.has("mprotect_unaccount") and v.accounted and v.is_anonymous and v.anon_vma is None:
        accounted = False
    merged = merge_existing(call, v, start, end, prot, accounted)
    if merged is not None:
        return merged
    if start > v.start:
        v = checked_split(call, v, start)[1]
    if end < v.end:
        v = checked_split(call, v, end)[0]
    new = v.with_(prot=prot, accounted=accounted)
    call.put(new)
    call.record("set_flags", "step", call.profile.kfn("set_flags"), 0, start, end)
    return new
