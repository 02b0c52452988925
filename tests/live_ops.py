"""Builders of live-runner operations in page units (arena offsets), shared by the live test files.

Each returns ``(name, kwargs)`` in the vocabulary of :mod:`mmsim.ops` with addresses as arena offsets, as
:func:`mmsim.live.run` takes them. ``page`` and ``pages`` count 4 KiB pages from the arena's base.
"""

from __future__ import annotations

from mmsim.constants import (
    MAP_ANONYMOUS,
    MAP_FIXED,
    MAP_NORESERVE,
    MAP_PRIVATE,
    PAGE_SIZE,
    PROT_NONE,
    PROT_READ,
    PROT_WRITE,
)

P = PAGE_SIZE
RW = PROT_READ | PROT_WRITE
PA = MAP_PRIVATE | MAP_ANONYMOUS


def mmap(page: int, pages: int, prot: int = RW, flags: int = PA | MAP_FIXED) -> tuple:
    return ("mmap", {"addr": page * P, "length": pages * P, "prot": prot, "flags": flags})


def hintless(pages: int, prot: int = RW, flags: int = PA) -> tuple:
    """An mmap without a hint: the kernel places it (in the runner's landing gap)."""
    return ("mmap", {"addr": None, "length": pages * P, "prot": prot, "flags": flags})


def munmap(page: int, pages: int) -> tuple:
    return ("munmap", {"addr": page * P, "length": pages * P})


def mprotect(page: int, pages: int, prot: int) -> tuple:
    return ("mprotect", {"addr": page * P, "length": pages * P, "prot": prot})


def touch(page: int, pages: int = 1) -> tuple:
    return ("touch", {"addr": page * P, "length": pages * P})


def mremap(page: int, old: int, new: int, flags: int = 0, new_page: int = 0) -> tuple:
    return ("mremap", {"old_address": page * P, "old_size": old * P, "new_size": new * P, "flags": flags,
                       "new_address": new_page * P})


def mremap_bytes(page: int, old: int, new: int, flags: int, new_page: int) -> tuple:
    """mremap with lengths in bytes (for checks on the raw, unrounded lengths)."""
    return ("mremap", {"old_address": page * P, "old_size": old, "new_size": new, "flags": flags,
                       "new_address": new_page * P})


def reset(arena_pages: int) -> tuple:
    """A MAP_FIXED PROT_NONE mmap over the whole arena: puts it back as the runner reserved it."""
    return mmap(0, arena_pages, PROT_NONE, PA | MAP_NORESERVE | MAP_FIXED)
