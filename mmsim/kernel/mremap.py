"""mremap(2) under every profile: the flows of mm/mremap.c, step by step (semantics §3.5).

Two flows share the move machinery (:func:`move_vma`) and the primitives of :mod:`mmsim.kernel.vma`;
the profile's ``validate_first`` feature chooses between them:

* :func:`sys_mremap_v5` mirrors ``sys_mremap()``/``mremap_to()``/``vma_to_resize()`` of v5.0 and v5.1
  (profiles ``5.0``, ``5.1``, ``5.1-alt``, ``ideal``): MREMAP_FIXED unmaps the destination and the shrunk
  tail *before* validating the old range.
* :func:`do_mremap_v6` mirrors ``do_mremap()``/``check_mremap_params()``/``check_prep_vma()``/
  ``remap_move()``/``mremap_to()``/``mremap_at()`` of 6.17-7.0 (profile ``6.18``) and 7.1: lookups and
  validation before any unmap, multi-VMA FIXED moves (``multi_vma_move``), MREMAP_DONTUNMAP, grow in
  place with merge.

The state of one call travels in a :class:`Remap` (as ``struct vma_remap_struct`` does in mm/mremap.c since
6.15): the arguments as the kernel has them at each point (lengths rounded, ``old_len`` cut to ``new_len``
after a tail unmap, ``new_addr`` chosen by the placement), so that each function takes the state, not a list
of positional arguments. Which anticipatory map_count checks run, and where, is the profile's data: the flows
only name the places (:data:`mmsim.checks.HOOKS`: ``mremap_to``, ``check_mremap_params``, ``do_mremap``,
``move_vma``) and :meth:`~mmsim.kernel.call.Call.run_hook` evaluates what the profile puts there. Sources:
mm/mremap.c at v5.0.1, v5.1.15, 5.10.223, 6.1.176, 6.12.117, v6.18.2, v7.1.5.
"""

from __future__ import annotations

import errno as E
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from ..checks import MremapArgs
from ..constants import (
    MREMAP_DONTUNMAP,
    MREMAP_FIXED,
    MREMAP_MAYMOVE,
    PAGE_SHIFT,
    PAGE_SIZE,
    ULONG_MASK,
    page_align,
)
from ..errors import MMError
from ..vma import VMA
from .mmap import get_unmapped_area
from .vma import new_range, range_free, unmap, vma_at, vmas_in

if TYPE_CHECKING:
    from .call import Call

__all__ = ["Remap", "check_prep_vma", "do_mremap", "do_mremap_v6", "move_vma", "mremap_at", "mremap_to_v5",
           "mremap_to_v6", "remap_move", "sys_mremap_v5", "vma_to_resize"]

P = PAGE_SIZE
_NO_EXPAND = frozenset({"DONTEXPAND", "PFNMAP"})


@dataclass
class Remap:
    """One mremap call's state, as ``struct vma_remap_struct`` (mm/mremap.c since 6.15) carries it: the
    arguments as the flow has them at each point (unsigned longs; the lengths page-aligned once the flow has
    rounded them; ``old_len`` is cut to ``new_len`` after a shrink's tail unmap; ``new_addr`` is where the
    placement put the move)."""

    addr: int
    old_len: int
    new_len: int
    flags: int
    new_addr: int

    @property
    def fixed(self) -> bool:
        """MREMAP_FIXED."""
        return bool(self.flags & MREMAP_FIXED)

    @property
    def dontunmap(self) -> bool:
        """MREMAP_DONTUNMAP."""
        return bool(self.flags & MREMAP_DONTUNMAP)

    @property
    def implies_new(self) -> bool:
        """FIXED or DONTUNMAP: the call moves to (or near) ``new_addr`` (vrm_implies_new_addr()@6.15+)."""
        return bool(self.flags & (MREMAP_FIXED | MREMAP_DONTUNMAP))

    @property
    def tail(self) -> tuple[int, int]:
        """``[addr + new_len, addr + old_len)`` as (start, length): what a shrink unmaps (the start wraps as
        in C)."""
        return (self.addr + self.new_len) & ULONG_MASK, self.old_len - self.new_len

    def args(self) -> MremapArgs:
        """The call as the checks see it (:class:`mmsim.checks.MremapArgs`)."""
        return MremapArgs(self.addr, self.old_len, self.new_len, self.flags, self.new_addr)


def do_mremap(call: Call, addr: int, old_len: int, new_len: int, flags: int, new_addr: int) -> int:
    """Run the profile's mremap flow. Arguments are already unsigned longs."""
    r = Remap(addr, old_len, new_len, flags, new_addr)
    if call.profile.has("validate_first"):
        return do_mremap_v6(call, r)
    return sys_mremap_v5(call, r)


# ---- shared machinery ----------------------------------------------------------------------


def _munmap_checked(call: Call, a: int, length: int, step: str, fn: str) -> None:
    """do_munmap() as mremap calls it for a tail: its own argument checks, then the unmap engine."""
    if a % P or a > call.task_size or length > call.task_size - a:
        raise call.fail(E.EINVAL, f"{step}_range", fn, f"[{a:#x}, +{length:#x})")
    unmap(call, a, a + length, step, fn)


def _overlaps(r: Remap) -> bool:
    """The kernel's overlap test (mremap_to()@5.0/5.1, vrm_overlaps()@6.18), in unsigned long arithmetic:
    ``addr + old_len`` wraps modulo 2**64 as in C."""
    return (r.addr + r.old_len) & ULONG_MASK > r.new_addr and (r.new_addr + r.new_len) & ULONG_MASK > r.addr


def _unmap_tail(call: Call, r: Remap, fn: str) -> None:
    """A shrink's tail unmap (do_munmap() of ``[addr + new_len, addr + old_len)``), then ``old_len = new_len``."""
    if r.old_len > r.new_len:
        a, length = r.tail
        _munmap_checked(call, a, length, "unmap_tail", fn)
    r.old_len = min(r.old_len, r.new_len)


def _expandable(call: Call, v: VMA, delta: int) -> bool:
    """vma_expandable(): nothing mapped in ``[v.end, v.end + delta)`` and it fits below TASK_SIZE."""
    end = v.end + delta
    task_size = call.task_size
    if end > ULONG_MASK or end - v.start > task_size or v.start > task_size - (end - v.start):
        return False
    return range_free(call.tree, v.end, delta)


def _place(call: Call, r: Remap, hint: bool = True) -> None:
    """vrm_set_new_addr()/get_unmapped_area() for a move: FIXED exact, else ``new_addr`` as a hint (None for a
    MAYMOVE relocation: ``hint=False``) then a search. Sets ``r.new_addr``."""
    r.new_addr = get_unmapped_area(call, r.new_addr if hint else 0, r.new_len, r.fixed, "get_unmapped_area")


def move_vma(call: Call, r: Remap) -> int:
    """Move ``[r.addr, r.addr + r.old_len)`` to ``r.new_addr`` (semantics §3.5.4).

    Mirrors move_vma()@5.0/5.1 and prep_move_vma() + copy_vma_and_data() + unmap_source_vma() /
    dontunmap_complete()@6.18/7.1:

    1. the profile's move check(s) at the ``move_vma`` hook (anticipatory; once per moved VMA);
    2. copy_vma(): pgoff reset to ``new_addr >> 12`` for an unfaulted private anon VMA; merge at the
       destination or a new VMA (+1, never checked);
    3. move_page_tables();
    4. DONTUNMAP: the old VMA stays (never split), as :func:`_dontunmap_complete` says per release;
       otherwise unmap the source, and *swallow* a failure: mremap still returns ``new_addr`` and
       the old VMA loses VM_ACCOUNT ("OOM: unable to split vma, just get accounts right").
    """
    call.run_hook("move_vma")
    profile = call.profile
    addr, old_len, new_len, new_addr, dontunmap = r.addr, r.old_len, r.new_len, r.new_addr, r.dontunmap
    vma = vma_at(call.tree, addr)
    assert vma is not None
    pgoff = vma.pgoff_at(addr)
    unfaulted = vma.is_anonymous and vma.anon_vma is None
    if unfaulted:
        pgoff = new_addr >> PAGE_SHIFT
    tmpl = vma.with_(start=new_addr, end=new_addr + new_len, pgoff=pgoff)
    # copy_vma(..., keep_source)@6.12.114+: the copy of an unfaulted VMA kept by DONTUNMAP never merges into it.
    keep_apart = vma if dontunmap and unfaulted and profile.has("dontunmap_no_self_merge") else None
    parent = call.record("copy_vma", "step", "copy_vma", start=new_addr, end=new_addr + new_len)
    mc0 = call.map_count
    new = new_range(call, tmpl, "copy_vma", "copy_vma", depth=1, step_new="new_vma", exclude=keep_apart)
    call.close(parent, mc0)
    call.record("move_page_tables", "step", "move_page_tables", 0, addr, addr + old_len)
    if dontunmap:
        _dontunmap_complete(call, vma, new, addr, old_len)
        return new_addr
    fn = call.profile.kfn("unmap_source")
    if old_len == 0:
        # The zero-length do_munmap() fails with EINVAL and is ignored: the duplicate path.
        call.record("unmap_source", "step", fn, 0, addr, addr, errno=E.EINVAL, swallowed=True)
        return new_addr
    n0 = call.nrec
    try:
        unmap(call, addr, addr + old_len, "unmap_source", fn)
    except MMError:
        call.swallow_since(n0)
        old = vma_at(call.tree, addr)
        if old is not None and old.accounted:
            call.put(old.with_(accounted=False))
    return new_addr


# ---- the v5.0 / v5.1 flow ------------------------------------------------------------------


def _dontunmap_complete(call: Call, src: VMA, new: VMA, addr: int, old_len: int) -> None:
    """The end of a MREMAP_DONTUNMAP move: the old VMA stays mapped (never split), as each release leaves it.

    Mirrors move_vma()@5.7-6.16 and dontunmap_complete()@6.17+:

    * whole VMA moved and the copy did not merge into it (``dontunmap_unlink_anon``, 5.12, 1583aa278f5f):
      unlink_anon_vmas() drops its anon_vma (5.7-5.11 keep it); with ``dontunmap_pgoff_reset`` (6.12.112)
      an anonymous old VMA's pgoff becomes ``vm_start >> PAGE_SHIFT``, as for any unfaulted VMA;
    * before ``dontunmap_no_account_conceal`` (5.11, ad8ee77ea9db): move_vma() concealed VM_ACCOUNT, and
      for a range strictly inside an accounted VMA (``split``) restored it on ``vma->vm_next`` as if the
      old VMA had been split in three: 5.7-5.10 set VM_ACCOUNT on the next VMA in address order, which
      is unrelated (move_vma()@5.10: "if (split) vma->vm_next->vm_flags |= VM_ACCOUNT"), unless the copy
      merged into the source. With no next VMA at all the kernel dereferences NULL; the model leaves it.
    """
    profile = call.profile
    call.record("dontunmap_complete", "step", "dontunmap_complete", 0, addr, addr + old_len)
    old = vma_at(call.tree, addr)
    if old is None:
        return
    merged_into_source = old is new
    if (not profile.has("dontunmap_no_account_conceal") and src.accounted and not merged_into_source
            and old.start < addr and addr + old_len < old.end):
        nxt = call.tree.ceiling(old.end)
        if nxt is not None and not nxt.accounted:
            call.put(nxt.with_(accounted=True))
    whole = old.start == addr and old.end == addr + old_len
    if whole and not merged_into_source and profile.has("dontunmap_unlink_anon"):
        old = old.with_(anon_vma=None)  # unlink_anon_vmas()
        if old.is_anonymous and profile.has("dontunmap_pgoff_reset"):
            old = old.with_(pgoff=old.start >> PAGE_SHIFT)
        call.put(old)


def vma_to_resize(call: Call, r: Remap) -> VMA:
    """vma_to_resize()@5.0-6.16: find and validate the VMA being remapped (semantics §3.5.1).

    In order: no VMA at ``addr`` → EFAULT; old_len 0 on a private VMA → EINVAL; with the ``dontunmap``
    feature, MREMAP_DONTUNMAP on VM_DONTEXPAND/VM_PFNMAP → EINVAL (5.13+, vma_to_resize()@6.1), or on
    anything but private anonymous memory before ``dontunmap_any_vma`` (5.7-5.12); the range crosses the
    VMA end → EFAULT; then, for a grow, pgoff overflow → EINVAL and DONTEXPAND/PFNMAP → EFAULT.
    """
    fn = "vma_to_resize"
    addr, old_len, new_len, flags = r.addr, r.old_len, r.new_len, r.flags
    v = vma_at(call.tree, addr)
    if v is None:
        raise call.fail(E.EFAULT, "no_vma", fn, f"no VMA at {addr:#x}", addr, addr + old_len)
    if old_len == 0 and not v.shared:
        raise call.fail(E.EINVAL, "old_len_zero_private", fn, "old_len 0 on a private mapping")
    if flags & MREMAP_DONTUNMAP:
        if v.special & _NO_EXPAND and call.profile.has("dontunmap_any_vma"):  # a4609387859f (5.13)
            raise call.fail(E.EINVAL, "dontunmap_special", fn, "MREMAP_DONTUNMAP on VM_DONTEXPAND/VM_PFNMAP")
        if not call.profile.has("dontunmap_any_vma") and (v.shared or not v.is_anonymous):
            raise call.fail(E.EINVAL, "dontunmap_not_private_anon", fn,
                            "MREMAP_DONTUNMAP before 5.13 works on private anonymous mappings only")
    if old_len > v.end - addr:
        raise call.fail(E.EFAULT, "crosses_vma_end", fn,
                       f"[{addr:#x}, +{old_len:#x}) crosses the VMA end {v.end:#x}", addr, addr + old_len)
    if new_len != old_len:
        if v.pgoff_at(addr) + (new_len >> PAGE_SHIFT) > ULONG_MASK:
            raise call.fail(E.EINVAL, "pgoff_overflow", fn)
        if v.special & _NO_EXPAND:
            raise call.fail(E.EFAULT, "dontexpand", fn, "VM_DONTEXPAND/VM_PFNMAP cannot grow")
    call.record("vma_to_resize", "step", fn, 0, addr, addr + old_len)
    return v


def sys_mremap_v5(call: Call, r: Remap) -> int:
    """sys_mremap()@5.0-6.16: the flow that unmaps before it validates (semantics §3.5.1).

    Profiles 5.0, 5.1, 5.1-alt and ideal run it as v5.0/v5.1 have it; profile 6.1 with the features that
    release added on top: ``dontunmap`` (5.7; its raw-length check comes before the lengths are rounded),
    ``early_vma_lookup`` (5.16: the VMA at ``addr`` is looked up first, for every call) and
    ``merge_on_grow`` (6.1: grow in place merges with the next VMA). Source: SYSCALL_DEFINE5(mremap) in
    mm/mremap.c at v5.0, v5.1 and v6.1.
    """
    fn = "sys_mremap"
    addr, old_len, new_len, flags = r.addr, r.old_len, r.new_len, r.flags
    dontunmap_ok = call.profile.has("dontunmap")
    allowed = MREMAP_FIXED | MREMAP_MAYMOVE | (MREMAP_DONTUNMAP if dontunmap_ok else 0)
    if flags & ~allowed:
        raise call.fail(E.EINVAL, "flags", fn, f"flags {flags:#x}" + ("" if dontunmap_ok else
                                                                       " (DONTUNMAP needs 5.7+)"))
    if flags & MREMAP_FIXED and not flags & MREMAP_MAYMOVE:
        raise call.fail(E.EINVAL, "fixed_without_maymove", fn)
    if flags & MREMAP_DONTUNMAP:  # compared before PAGE_ALIGN (sys_mremap()@5.7-6.16)
        if not flags & MREMAP_MAYMOVE:
            raise call.fail(E.EINVAL, "dontunmap_without_maymove", fn)
        if old_len != new_len:
            raise call.fail(E.EINVAL, "dontunmap_resize", fn, "MREMAP_DONTUNMAP needs old_len == new_len")
    if addr % P:
        raise call.fail(E.EINVAL, "addr_unaligned", fn, f"{addr:#x}")
    r.old_len, r.new_len = old_len, new_len = page_align(old_len), page_align(new_len)
    call.mremap_args = r.args()
    if new_len == 0:
        raise call.fail(E.EINVAL, "new_len_zero", fn)
    # the mmap lock is taken here (mmap_write_lock_killable()); no release checks the map count at this point,
    # a hypothetical profile may (7.1-on-5.0: 7.1's do_mremap() check on this flow)
    call.run_hook("do_mremap")
    if call.profile.has("early_vma_lookup"):  # 550a7d60bd5e (5.16)
        v0 = vma_at(call.tree, addr)
        if v0 is None:
            raise call.fail(E.EFAULT, "no_vma", "vma_lookup", f"no VMA at {addr:#x}", addr, addr + old_len)
        call.record("vma_lookup", "step", "vma_lookup", 0, v0.start, v0.end)
    if r.implies_new:
        return mremap_to_v5(call, r)
    if old_len >= new_len:
        _unmap_tail(call, r, "do_munmap")
        return addr
    v = vma_to_resize(call, r)
    if old_len == v.end - addr and _expandable(call, v, new_len - old_len):
        if call.profile.has("merge_on_grow"):  # ca3d76b0aa80 (6.1): vma_merge() of the extension
            return _extend_with_merge(call, v, addr, new_len - old_len, "vma_merge")
        call.put(v.with_(end=addr + new_len))  # vma_adjust(): no merge in 5.0/5.1
        call.record("expand", "step", "vma_adjust", 0, v.start, addr + new_len)
        return addr
    if not flags & MREMAP_MAYMOVE:
        raise call.fail(E.ENOMEM, "cannot_expand", fn, "cannot grow in place and MREMAP_MAYMOVE not given")
    _place(call, r, hint=False)
    return move_vma(call, r)


def mremap_to_v5(call: Call, r: Remap) -> int:
    """mremap_to()@5.0-6.16: MREMAP_FIXED (and MREMAP_DONTUNMAP, 5.7+) (semantics §3.5.1 F1-F8).

    In 5.0 the destination and the shrunk tail are unmapped before vma_to_resize() and before move_vma()'s
    check: an error after them leaves the caller a half-changed address space (the 2019 bug). The profile's
    checks at the ``mremap_to`` hook run before the first unmap: 5.1's ``mremap_early`` (ea2c3f6f5545),
    5.1-alt's ``alt_early``. DONTUNMAP without FIXED uses ``new_addr`` as a placement hint.
    """
    fn = "mremap_to"
    task_size = call.task_size
    if r.new_addr % P:
        raise call.fail(E.EINVAL, "new_addr_unaligned", fn, f"{r.new_addr:#x}")
    if r.new_len > task_size or r.new_addr > task_size - r.new_len:
        raise call.fail(E.EINVAL, "new_range", fn, f"[{r.new_addr:#x}, +{r.new_len:#x}) beyond TASK_SIZE")
    if _overlaps(r):
        raise call.fail(E.EINVAL, "overlap", fn, "old and new ranges overlap")
    call.run_hook("mremap_to")  # 5.1: mremap_early (ea2c3f6f5545); 5.1-alt: alt_early
    if r.fixed:
        unmap(call, r.new_addr, r.new_addr + r.new_len, "unmap_destination", "do_munmap")
    if r.old_len >= r.new_len:
        _unmap_tail(call, r, "do_munmap")
    vma_to_resize(call, r)
    _place(call, r)
    return move_vma(call, r)


def _extend_with_merge(call: Call, v: VMA, addr: int, delta: int, fn: str) -> int:
    """Grow ``v`` in place by ``delta`` and merge with the next VMA if it now touches and is compatible:
    vma_merge() of the extension@6.1 (ca3d76b0aa80), vma_merge_extend()@6.18. A VM_SPECIAL VMA refuses
    the merge, and the grow fails with ENOMEM. Records ``extend`` with the merge/new-range child."""
    if v.special:
        raise call.fail(E.ENOMEM, "extend_special", fn, "VM_SPECIAL VMA cannot be extended")
    parent = call.record("extend", "step", fn, 0, v.start, v.end + delta)
    mc0 = call.map_count
    ext = v.with_(start=v.end, end=v.end + delta, pgoff=v.pgoff_at(v.end))
    res = new_range(call, ext, fn, fn, depth=1)
    call.close(parent, mc0)
    parent.end = res.end
    return addr


# ---- the 6.17+ flow (profiles 6.18 and 7.1) ---------------------------------------------------


def check_prep_vma(call: Call, v: VMA, r: Remap) -> None:
    """check_prep_vma()@6.18: validate the VMA before anything is unmapped (commit "check remap
    conditions earlier", 6.17). A shrink validates ``new_len``; the part shrunk away may cross VMAs."""
    fn = "check_prep_vma"
    addr, old_len, new_len, flags = r.addr, r.old_len, r.new_len, r.flags
    if new_len > old_len or r.implies_new:
        if old_len == 0 and not v.shared:
            raise call.fail(E.EINVAL, "old_len_zero_private", fn, "old_len 0 on a private mapping")
        if flags & MREMAP_DONTUNMAP and v.special & _NO_EXPAND:
            raise call.fail(E.EINVAL, "dontunmap_special", fn, "MREMAP_DONTUNMAP on VM_DONTEXPAND/VM_PFNMAP")
        eff = new_len if new_len < old_len else old_len
        if eff > v.end - addr:
            raise call.fail(E.EFAULT, "crosses_vma_end", fn,
                           f"[{addr:#x}, +{eff:#x}) crosses the VMA end {v.end:#x}", addr, addr + eff)
        if new_len > old_len:
            if v.pgoff_at(addr) + (new_len >> PAGE_SHIFT) > ULONG_MASK:
                raise call.fail(E.EINVAL, "pgoff_overflow", fn)
            if v.special & _NO_EXPAND:
                raise call.fail(E.EFAULT, "dontexpand", fn, "VM_DONTEXPAND/VM_PFNMAP cannot grow")
    call.record("check_prep_vma", "step", fn, 0, addr, addr + old_len)


def do_mremap_v6(call: Call, r: Remap) -> int:
    """do_mremap()@6.18/7.1 (semantics §3.5.2)."""
    fn = "check_mremap_params"
    r.old_len, r.new_len = page_align(r.old_len), page_align(r.new_len)
    addr, old_len, new_len, flags, new_addr = r.addr, r.old_len, r.new_len, r.flags, r.new_addr
    call.mremap_args = r.args()
    if flags & ~(MREMAP_FIXED | MREMAP_MAYMOVE | MREMAP_DONTUNMAP):
        raise call.fail(E.EINVAL, "flags", fn, f"flags {flags:#x}")
    if addr % P:
        raise call.fail(E.EINVAL, "addr_unaligned", fn, f"{addr:#x}")
    if new_len == 0:
        raise call.fail(E.EINVAL, "new_len_zero", fn)
    if new_len > call.task_size:
        raise call.fail(E.EINVAL, "new_len_too_big", fn)
    if r.implies_new:
        if new_addr > call.task_size - new_len:
            raise call.fail(E.EINVAL, "new_range", fn, f"[{new_addr:#x}, +{new_len:#x}) beyond TASK_SIZE")
        if new_addr % P:
            raise call.fail(E.EINVAL, "new_addr_unaligned", fn, f"{new_addr:#x}")
        if not flags & MREMAP_MAYMOVE:
            raise call.fail(E.EINVAL, "fixed_without_maymove", fn)
        if flags & MREMAP_DONTUNMAP and old_len != new_len:
            raise call.fail(E.EINVAL, "dontunmap_resize", fn, "MREMAP_DONTUNMAP needs old_len == new_len")
        if _overlaps(r):
            raise call.fail(E.EINVAL, "overlap", fn, "old and new ranges overlap")
        call.run_hook("check_mremap_params")  # 6.18: mremap_early
    call.run_hook("do_mremap")  # 7.1: mremap_early_v7, for every call, under the mmap lock
    if r.fixed and old_len == new_len and call.profile.has("multi_vma_move"):
        return remap_move(call, r)
    v = vma_at(call.tree, addr)
    if v is None:
        raise call.fail(E.EFAULT, "no_vma", "vma_lookup", f"no VMA at {addr:#x}", addr, addr + old_len)
    call.record("vma_lookup", "step", "vma_lookup", 0, v.start, v.end)
    check_prep_vma(call, v, r)
    if r.implies_new:
        return mremap_to_v6(call, r)
    return mremap_at(call, r)


def mremap_to_v6(call: Call, r: Remap) -> int:
    """mremap_to()@6.18/7.1: FIXED unmaps the destination (and a shrunk tail); DONTUNMAP uses the
    address as a hint. Everything that can fail validation has been checked before."""
    fn = "mremap_to"
    addr = r.addr
    if r.fixed:
        unmap(call, r.new_addr, r.new_addr + r.new_len, "unmap_destination", "do_munmap")
        # The overlap check does not see old_len 0: mremap(a, 0, n, MAYMOVE|FIXED, a) of a shared VMA
        # unmaps its own source here, and the lookup fails after the unmap (semantics §5).
        if vma_at(call.tree, addr) is None:
            raise call.fail(E.EFAULT, "relookup", fn, f"no VMA at {addr:#x} after the destination unmap")
        call.record("relookup", "step", "vma_lookup", 0, addr, addr + r.old_len)
    _unmap_tail(call, r, "shrink_vma")
    _place(call, r)
    return move_vma(call, r)


def mremap_at(call: Call, r: Remap) -> int:
    """mremap_at()@6.18/7.1: no-op, shrink, grow in place (vma_merge_extend()), or relocate."""
    addr, old_len, new_len = r.addr, r.old_len, r.new_len
    if old_len == new_len:
        return addr
    if old_len > new_len:
        _unmap_tail(call, r, "shrink_vma")
        return addr
    v = vma_at(call.tree, addr)
    assert v is not None, "check_prep_vma() ran on this VMA"
    delta = new_len - old_len
    if v.end - addr == old_len and _expandable(call, v, delta):
        return _extend_with_merge(call, v, addr, delta, "vma_merge_extend")
    if not r.flags & MREMAP_MAYMOVE:
        raise call.fail(E.ENOMEM, "cannot_expand", "expand_vma", "cannot grow in place without MREMAP_MAYMOVE")
    _place(call, r, hint=False)
    return move_vma(call, r)


def remap_move(call: Call, r: Remap) -> int:
    """remap_move()@6.18 (commit d23cb648e365, 6.17): a same-size FIXED move of every VMA in the range.

    Each VMA, clipped to the range, moves to ``new_addr + (its start - addr)`` so gaps are kept.
    Per piece: check_prep_vma(), unmap that piece's destination, move_vma() with its own move
    check. The first error returns at once; earlier pieces stay moved (semantics §3.5.5).
    """
    addr, new_addr = r.addr, r.new_addr
    end = addr + r.old_len
    vmas = vmas_in(call.tree, addr, end)
    if not vmas or vmas[0].start > addr:
        raise call.fail(E.EFAULT, "no_vma", "remap_move", f"no VMA at {addr:#x}", addr, end)
    call.record("vma_lookup", "step", "vma_lookup", 0, vmas[0].start, vmas[0].end)
    pieces = [(max(v.start, addr), min(v.end, end)) for v in vmas]
    multi = len(pieces) > 1
    for j, (s, e) in enumerate(pieces):
        call.piece = j if multi else None
        w = vma_at(call.tree, s)
        assert w is not None, "earlier pieces never unmap a later piece's source"
        piece = replace(r, addr=s, old_len=e - s, new_len=e - s, new_addr=new_addr + (s - addr))
        check_prep_vma(call, w, piece)
        mremap_to_v6(call, piece)
    call.piece = None
    return new_addr
