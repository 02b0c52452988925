"""Page faults, as far as VMAs see them (mm/memory.c, mm/rmap.c): the model's ``touch``, semantics §2.6.

A write fault on a private writable VMA gives the whole VMA an anon_vma if it has none
(``anon_vma_prepare()``), reusing a compatible neighbour's (``find_mergeable_anon_vma()@6.18``: next,
then prev). Read faults and shared VMAs attach nothing. A fault on an unmapped page, or one the VMA's
protection forbids, is SIGSEGV in a real program: the model fails with EFAULT at that page and keeps the
attachments already made (§5). Never changes map_count.
"""

from __future__ import annotations

import errno as E
from typing import TYPE_CHECKING

from ..constants import PAGE_SIZE, PROT_READ, PROT_WRITE
from ..vma import VMA, anon_reusable
from .vma import vma_at

if TYPE_CHECKING:
    from .call import Call

__all__ = ["anon_vma_prepare", "handle_faults"]

P = PAGE_SIZE


def handle_faults(call: Call, addr: int, length: int, write: bool) -> None:
    """Fault every page of ``[addr, addr + length)`` in, as handle_mm_fault() would, in address order."""
    start = addr & ~(P - 1)
    # A program touching the range does not wrap at 2**64: it runs off the end of the address space,
    # so the end is computed without the unsigned wrap (and the first page above TASK_SIZE faults).
    end = (addr + length + P - 1) & ~(P - 1) if length else start
    need = PROT_WRITE if write else PROT_READ
    cur = start
    while cur < end:
        v = vma_at(call.tree, cur)
        if v is None:
            raise call.fail(E.EFAULT, "segv_maperr", "handle_mm_fault", f"no VMA at {cur:#x}", cur, cur + P)
        if not v.prot & need and not (need == PROT_READ and v.prot & PROT_WRITE):
            raise call.fail(E.EFAULT, "segv_accerr", "handle_mm_fault",
                            f"{v.perms} at {cur:#x} forbids the access", cur, cur + P)
        if write and not v.shared and v.anon_vma is None:
            anon_vma_prepare(call, v)
        cur = v.end


def anon_vma_prepare(call: Call, v: VMA) -> None:
    """__anon_vma_prepare(): reuse a neighbour's anon_vma (next, then prev) or make a new one. O(log n)."""
    tree = call.tree
    av = None
    nxt = tree.ceiling(v.end)
    if nxt is not None and nxt.anon_vma is not None and anon_reusable(v, nxt):
        av = nxt.anon_vma
    if av is None:
        prev = tree.below(v.start)
        if prev is not None and prev.anon_vma is not None and anon_reusable(prev, v):
            av = prev.anon_vma
    if av is None:
        av = call.new_anon_vma()
    call.put(v.with_(anon_vma=av))
    call.record("anon_vma_prepare", "step", "__anon_vma_prepare", 0, v.start, v.end)
