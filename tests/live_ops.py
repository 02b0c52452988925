"""Builders of live-runner operations in page units (arena offsets), shared by the live test files.

Each returns ``(name, kwargs)`` in the vocabulary of :mod:`mmsim.ops` with addresses as arena offsets, as
:func:`mmsim.live.run` takes them. ``page`` and ``pages`` count 4 KiB pages from the arena's base.
"""

from __future__ import annotations

from mmsim import live
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


def batch(cases: list, arena_pages: int) -> tuple[list, dict[int, int], dict[str, range]]:
    """Named cases as one child's op list: ``(ops, free_slots_before, spans)``.

    A case is ``(name, ops, free_slots, hold)``; each starts with :func:`reset`. ``free_slots`` free slots are set
    before the case's first op (``hold="all"``: before every op of the case), or none for None; ``spans``
    gives each case's op indices.
    """
    ops: list = []
    free_slots_before: dict[int, int] = {}
    spans: dict[str, range] = {}
    for name, case_ops, free_slots, hold in cases:
        ops.append(reset(arena_pages))
        first = len(ops)
        ops.extend(case_ops)
        spans[name] = range(first, len(ops))
        if free_slots is not None:
            for i in spans[name] if hold == "all" else [first]:
                free_slots_before[i] = free_slots
    return ops, free_slots_before, spans


def canned_run(results: list[dict], ops: list, *, release: str, max_map_count: int, base: int,
               initial_map_count: int, target: str = "host", **extra: object) -> live.LiveRun:
    """A LiveRun as a child would report it, for testing ``compare_run()`` without a kernel.

    The arena is 16 pages at ``base``; each result's ``vmas`` are ``(start, end, perms, pgoff)`` in
    arena-relative bytes, made absolute here; ``extra`` adds report keys (a bottom-up child's layout, ...).
    """
    pages = 16
    out = {
        "release": release,
        "max_map_count": max_map_count,
        "base": base,
        "arena_pages": pages,
        "initial_map_count": initial_map_count,
        "initial_vmas": [[base, base + pages * P, "---p", 0, ""]],
        "checks": [],
        "setup_seconds": 0.0,
        "fill_seconds": None,
        "total_seconds": 0.0,
        "results": results,
        **extra,
    }
    for r in results:
        r["vmas"] = [[base + s, base + e, perms, pgoff, ""] for s, e, perms, pgoff in r["vmas"]]
        r.setdefault("free_slots", None)
        r.setdefault("adjust_seconds", 0.0)
        r.setdefault("op_seconds", 0.0)
    return live.build_run(out, live.normalize_ops(ops, pages), target=target)
