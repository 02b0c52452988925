"""VMA records, simulated files, and the kernel's merge predicates.

A :class:`VMA` is immutable: splitting, merging or changing flags makes new records. That keeps
:meth:`mmsim.AddressSpace.copy` cheap (records are shared between copies) and makes "the state
did not change" an equality test.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import NamedTuple

from .constants import PAGE_SHIFT, PAGE_SIZE, PROT_EXEC, PROT_READ, PROT_WRITE

__all__ = ["File", "VMA", "SPECIAL_FLAGS"]

#: VM_SPECIAL (include/linux/mm.h): VM_IO | VM_DONTEXPAND | VM_PFNMAP | VM_MIXEDMAP.
SPECIAL_FLAGS = frozenset({"IO", "DONTEXPAND", "PFNMAP", "MIXEDMAP"})

_file_ids = itertools.count(1)


@dataclass(frozen=True, eq=False)
class File:
    """An open file description (the kernel's ``struct file``), compared by identity.

    Two mmaps through the same ``File`` can merge (same ``vm_file``); two ``open()`` calls of the
    same path give two ``File`` objects that never merge with each other, as in the kernel.

    Parameters
    ----------
    name:
        Path shown in :meth:`AddressSpace.maps`.
    size_pages:
        Informational size; mapping past it is allowed (as the kernel allows, SIGBUS on access).
    readable, writable:
        The open mode (FMODE_READ / FMODE_WRITE). MAP_PRIVATE needs ``readable``; a MAP_SHARED
        mapping with PROT_WRITE needs ``writable`` (else EACCES), and without it the VMA loses
        VM_MAYWRITE so a later ``mprotect(PROT_WRITE)`` fails with EACCES.
    shmem:
        True for the fresh shmem file behind each MAP_SHARED|MAP_ANONYMOUS mmap (shmem_zero_setup()).

    >>> a, b = File("/data", 16), File("/data", 16)
    >>> a == a, a == b   # two open() calls: two files that never merge
    (True, False)
    """

    name: str
    size_pages: int | None = None
    readable: bool = True
    writable: bool = True
    shmem: bool = False
    inode: int = field(default_factory=lambda: next(_file_ids))

    def __repr__(self) -> str:
        return f"File({self.name!r}, inode={self.inode})"


class VMA(NamedTuple):
    """One ``vm_area_struct``: ``[start, end)`` with its flags, file, pgoff and anon_vma.

    ``prot`` holds the PROT_* bits (VM_READ/WRITE/EXEC); ``maxprot`` the VM_MAY* bits;
    ``anon_vma`` is None (never write-faulted) or an identity shared by the pieces of a split.
    ``accounted`` is VM_ACCOUNT, ``noreserve`` VM_NORESERVE, ``special`` a subset of
    :data:`SPECIAL_FLAGS` (no model syscall creates one; tests may inject it).

    >>> v = VMA(0x1000, 0x4000, PROT_READ | PROT_WRITE)
    >>> v.pages, v.perms, v.is_anonymous, v.faulted
    (3, 'rw-p', True, False)
    >>> h, t = v.head(0x2000), v.tail(0x2000)   # the two halves of a split at 0x2000
    >>> (hex(h.start), hex(h.end), h.pgoff), (hex(t.start), hex(t.end), t.pgoff)
    (('0x1000', '0x2000', 0), ('0x2000', '0x4000', 1))
    """

    start: int
    end: int
    prot: int
    shared: bool = False
    pgoff: int = 0
    file: File | None = None
    anon_vma: int | None = None
    accounted: bool = False
    noreserve: bool = False
    special: frozenset = frozenset()
    maxprot: int = PROT_READ | PROT_WRITE | PROT_EXEC

    # A NamedTuple: immutable, built in C (a million filler VMAs build in a fraction of the time a frozen
    # dataclass takes), compared field by field (File by identity).

    # ---- derived views -------------------------------------------------------------------
    @property
    def pages(self) -> int:
        """Length in pages."""
        return (self.end - self.start) >> PAGE_SHIFT

    @property
    def size(self) -> int:
        """Length in bytes."""
        return self.end - self.start

    @property
    def perms(self) -> str:
        """The permission column of /proc/PID/maps, e.g. ``'rw-p'``."""
        p = self.prot
        return (
            ("r" if p & PROT_READ else "-")
            + ("w" if p & PROT_WRITE else "-")
            + ("x" if p & PROT_EXEC else "-")
            + ("s" if self.shared else "p")
        )

    @property
    def is_anonymous(self) -> bool:
        """vma_is_anonymous(): no vm_ops, i.e. private anonymous memory."""
        return self.file is None

    @property
    def faulted(self) -> bool:
        """True when the VMA has an anon_vma."""
        return self.anon_vma is not None

    def pgoff_at(self, addr: int) -> int:
        """The file page offset that ``addr`` maps (``vm_pgoff + (addr - vm_start) >> PAGE_SHIFT``)."""
        return self.pgoff + ((addr - self.start) >> PAGE_SHIFT)

    def flags_key(self) -> tuple:
        """The vm_flags a merge compares (``(a ^ b) & ~VM_SOFTDIRTY`` must be 0)."""
        return (self.prot, self.shared, self.accounted, self.noreserve, self.special, self.maxprot)

    def with_(self, **changes) -> VMA:
        """A copy with some fields replaced."""
        return self._replace(**changes)

    def head(self, addr: int) -> VMA:
        """The lower piece of a split at ``addr``."""
        return self._replace(end=addr)

    def tail(self, addr: int) -> VMA:
        """The upper piece of a split at ``addr`` (pgoff advanced by the offset)."""
        return self._replace(start=addr, pgoff=self.pgoff_at(addr))

    def maps_line(self) -> str:
        """This VMA as one line of /proc/PID/maps."""
        # show_map_vma() prints vm_pgoff only for file-backed VMAs; anonymous ones show 0.
        if self.file is not None:
            dev, ino, name, off = "00:01", self.file.inode, self.file.name, self.pgoff * PAGE_SIZE
        else:
            dev, ino, name, off = "00:00", 0, "", 0
        line = f"{self.start:08x}-{self.end:08x} {self.perms} {off:08x} {dev} {ino}"
        return f"{line:<73}{name}".rstrip() if name else line


# ---- merge predicates (mm/vma.c@6.18, mm/mmap.c@5.0) ---------------------------------------


def anon_compatible(a: int | None, b: int | None) -> bool:
    """Two anon_vmas that may end up in one VMA: either side has none, or both have the same one.

    The test of the three-way merge between prev and next (``is_mergeable_anon_vma(prev, next, NULL)``
    before 6.16, can_vma_merge_right()@6.18); fork is not modelled.
    """
    return a is None or b is None or a == b


def anon_mergeable(proposed: int | None, target: int | None, any_target: bool = True) -> bool:
    """is_mergeable_anon_vma(): a range carrying anon_vma ``proposed`` may join a VMA with ``target``.

    From 6.16 ("mm/vma: fix incorrectly disallowed anonymous VMA merges", ``any_target``) either side may
    have none. Before, since 965f55dea0e3 (2011), a side without one was accepted only if the *target*
    VMA's anon_vma_chain is singular, and an unfaulted target's chain is empty: a faulted range could not
    join an unfaulted VMA (semantics §2.3 rule 5; measured on 6.1.176).
    """
    if any_target:
        return proposed is None or target is None or proposed == target
    return proposed is None or proposed == target


def _mergeable(v: VMA, flags: tuple, file: File | None, anon_vma: int | None, any_target: bool) -> bool:
    """is_mergeable_vma() + is_mergeable_anon_vma(): equal flags, same file, compatible anon_vma."""
    return (
        not v.special
        and v.flags_key() == flags
        and v.file is file
        and anon_mergeable(anon_vma, v.anon_vma, any_target)
    )


def can_merge_after(prev: VMA, flags: tuple, file: File | None, anon_vma: int | None, pgoff: int,
                    any_target: bool = True) -> bool:
    """can_vma_merge_after(): a range with these attributes, starting at prev.end, can join ``prev``."""
    return _mergeable(prev, flags, file, anon_vma, any_target) and prev.pgoff + prev.pages == pgoff


def can_merge_before(
    nxt: VMA, flags: tuple, file: File | None, anon_vma: int | None, pgoff: int, pages: int, any_target: bool = True
) -> bool:
    """can_vma_merge_before(): a range ``pages`` long at ``pgoff``, ending at nxt.start, can join ``nxt``."""
    return _mergeable(nxt, flags, file, anon_vma, any_target) and pgoff + pages == nxt.pgoff


def anon_reusable(a: VMA, b: VMA) -> bool:
    """anon_vma_compatible(a, b) of mm/rmap.c: ``b`` may reuse ``a``'s anon_vma (a directly below b).

    Adjacent, same file, flags equal except VM_READ/WRITE/EXEC, linear pgoff.
    """
    return (
        a.end == b.start
        and a.file is b.file
        and (a.shared, a.accounted, a.noreserve, a.special, a.maxprot)
        == (b.shared, b.accounted, b.noreserve, b.special, b.maxprot)
        and b.pgoff == a.pgoff + a.pages
    )
