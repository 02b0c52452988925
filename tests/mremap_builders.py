"""The semantics §7 scenario layouts, built with the helpers of :mod:`helpers` (page units).

Every layout is built with the model's own syscalls (mmap with MAP_FIXED, touch) exactly as the
semantics describe it, on the filled address space (``new_mm(kernel, filled=True)``), so a test
sets the free slots with ``at_free_slots``. Each builder is cached per profile: :func:`mmsim.classify`
never mutates its input (a property in test_mremap_properties.py) and the tests run calls for
real only on copies (``helpers.run_copy``), so one scenario is re-used at every free slots.

Arena pages of each layout are given in its docstring; the builders return addresses, as
``helpers.anon`` does.
"""

from __future__ import annotations

import functools

from helpers import RW, SHARED, R, anon, at, new_mm

from mmsim import AddressSpace

#: The §7.3/§7.5 destinations sit at arena page 0x100.
DEST = 0x100


@functools.cache
def seed(kernel: str) -> tuple[AddressSpace, int, int]:
    """Semantics §7.1/§7.2 layout: O = 10-page RW private anon at page 0, unfaulted; D = 10-page R
    private anon at page 20; gaps around both (no mergeable neighbour). Returns (mm, O, D)."""
    mm = new_mm(kernel, filled=True)
    O_ = anon(mm, 0, 10, RW)  # "O" in the semantics
    D = anon(mm, 20, 10, R)
    return mm, O_, D


@functools.cache
def whole_onto_k(kernel: str, k: int) -> tuple[AddressSpace, int, int]:
    """Semantics §7.3 layout: S = a whole k-page RW private anon VMA at page 0 (faulted); the
    destination ``[d, d+kP)`` at page 0x100 covers exactly k adjacent 1-page MAP_SHARED|MAP_ANONYMOUS
    VMAs (never mergeable), with gaps just outside it. Returns (mm, S, d)."""
    mm = new_mm(kernel, filled=True)
    S = anon(mm, 0, k, RW, faulted=True)
    for i in range(k):
        anon(mm, DEST + i, 1, RW, SHARED)
    return mm, S, at(DEST)


@functools.cache
def mprotect_x(kernel: str) -> tuple[AddressSpace, int]:
    """Semantics §7.4: X = a 10-page RW private anon VMA at page 1 whose neighbours are 1-page
    MAP_SHARED|MAP_ANONYMOUS VMAs directly adjacent on both sides (pages 0 and 11: present but never
    mergeable). Returns (mm, X)."""
    mm = new_mm(kernel, filled=True)
    anon(mm, 0, 1, RW, SHARED)
    X = anon(mm, 1, 10, RW)
    anon(mm, 11, 1, RW, SHARED)
    return mm, X


@functools.cache
def abc(kernel: str, filled: bool = True) -> tuple[AddressSpace, int, int]:
    """Semantics §7.5: A, B, C = 1-page RW private anon VMAs at pages 0, 2, 4; D = a 20-page R VMA
    at page 0x100. Returns (mm, a, D)."""
    mm = new_mm(kernel, filled=filled)
    a = anon(mm, 0, 1, RW)
    anon(mm, 2, 1, RW)
    anon(mm, 4, 1, RW)
    D = anon(mm, DEST, 20, R)
    return mm, a, D

