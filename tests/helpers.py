"""Small shared builders for the core-model tests (kernel tools/testing/vma style).

Scenarios live at fixed addresses in an arena at :data:`BASE`, mapped with MAP_FIXED, so every
test is deterministic. :func:`layout` renders the arena as exact tuples; anon_vma identities are
relabelled ``"A"``, ``"B"``, ... in address order, because the spec (§1.1) fixes only which VMAs
share an identity, not the integers.
"""

from __future__ import annotations

from typing import NamedTuple

import mmsim
from mmsim import (
    MAP_ANONYMOUS,
    MAP_FIXED,
    MAP_PRIVATE,
    MAP_SHARED,
    PAGE_SIZE,
    PROT_EXEC,
    PROT_READ,
    PROT_WRITE,
)

P = PAGE_SIZE
BASE = 0x7E0000000000
ARENA_END = BASE + (1 << 30)
MAX = mmsim.DEFAULT_MAX_MAP_COUNT  # 65530

R = PROT_READ
RW = PROT_READ | PROT_WRITE
RWX = PROT_READ | PROT_WRITE | PROT_EXEC
PRIV = MAP_PRIVATE | MAP_ANONYMOUS
SHARED = MAP_SHARED | MAP_ANONYMOUS


def at(page: int) -> int:
    """Address of arena page ``page``."""
    return BASE + page * P


def pg(page: int) -> int:
    """pgoff of a private anon mapping created at arena page ``page`` (spec §2.5: addr / P)."""
    return at(page) >> 12


def new_mm(kernel: str = "6.18", max_map_count: int = MAX, **kw) -> mmsim.AddressSpace:
    return mmsim.AddressSpace(kernel=kernel, max_map_count=max_map_count, **kw)


def anon(mm, page: int, npages: int = 1, prot: int = RW, flags: int = PRIV) -> int:
    """MAP_FIXED anonymous mapping at arena page ``page`` (private by default)."""
    return mm.mmap(at(page), npages * P, prot, flags | MAP_FIXED)


def fmap(mm, fd: int, page: int, npages: int, off_pages: int, prot: int = R, flags: int = MAP_PRIVATE) -> int:
    """MAP_FIXED file mapping of ``fd`` at arena page ``page``, file offset ``off_pages`` pages."""
    return mm.mmap(at(page), npages * P, prot, flags | MAP_FIXED, fd, off_pages * P)


class L(NamedTuple):
    """One arena VMA: pages relative to BASE, /proc perms, pgoff, relabelled anon_vma, VM_ACCOUNT."""

    start: int
    end: int
    perms: str
    pgoff: int
    anon: str | None
    acct: bool


def layout(mm) -> list[L]:
    """The arena VMAs (filler VMAs from ``pad`` are far below BASE and excluded)."""
    names: dict[int, str] = {}
    out = []
    for v in mm.vmas():
        if not (BASE <= v.start < ARENA_END):
            continue
        label = None
        if v.anon_vma is not None:
            label = names.setdefault(v.anon_vma, chr(ord("A") + len(names)))
        out.append(L((v.start - BASE) // P, (v.end - BASE) // P, v.perms, v.pgoff, label, v.accounted))
    return out


def arena(mm) -> list[mmsim.VMA]:
    """The raw arena VMA records (for identity checks such as ``file is``)."""
    return [v for v in mm.vmas() if BASE <= v.start < ARENA_END]
