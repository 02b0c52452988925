"""A catalogue of named scenarios: a small address-space layout plus ONE system call.

Every scenario places its VMAs at fixed addresses (page 0 of the layout is :data:`BASE`), with neighbours
that cannot merge (gaps, or VMAs whose flags differ), and then describes one call: usually an mremap, or an
mprotect / munmap / mmap next to the limit. The layout and the call are stored as *operations* with
addresses relative to the layout's base, so that the same scenario can

* build an :class:`~mmsim.AddressSpace` for any kernel profile (:meth:`Scenario.build`),
* be padded with filler VMAs to a chosen number of free slots (:meth:`Scenario.setup`),
* be classified (:meth:`Scenario.run`, semantics §6), and
* be replayed on the running kernel inside an arena (:meth:`Scenario.live_ops`, for :mod:`mmsim.live`).

The worked examples of the semantics reference (docs/semantics.md §7) are here under their names there:
``seed-W`` (§7.1), ``seed-S`` (§7.2), ``k-whole-1`` / ``k-whole-3`` (§7.3), ``mprotect-3way`` /
``mprotect-2way`` (§7.4) and ``multi-vma`` (§7.5); the other entries are rows of the §4 table.

>>> from mmsim import scenarios
>>> scenarios.get("seed-W").run("5.0", free_slots=3).kind
'PARTIAL_FAIL'
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from . import ops
from .addrspace import AddressSpace
from .constants import (
    DEFAULT_MAX_MAP_COUNT,
    MAP_ANONYMOUS,
    MAP_FIXED,
    MAP_PRIVATE,
    MAP_SHARED,
    MREMAP_DONTUNMAP,
    MREMAP_FIXED,
    MREMAP_MAYMOVE,
    PAGE_SIZE,
    PROT_READ,
    PROT_WRITE,
)
from .deprecation import renamed_arguments
from .ops import SYSCALLS
from .outcome import Outcome, classify

__all__ = [
    "BASE",
    "CATALOGUE",
    "FAMILIES",
    "Scenario",
    "families",
    "get",
    "names",
    "k_whole",
    "multi_vma",
    "seed_s",
    "seed_w",
    "fixed_shrink",
    "random_scenarios",
    "scenario_from_ops",
]

P = PAGE_SIZE
R = PROT_READ
RW = PROT_READ | PROT_WRITE
PRIV = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED
SHARED = MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED
MAYMOVE, FIXED, DONTUNMAP = MREMAP_MAYMOVE, MREMAP_FIXED, MREMAP_DONTUNMAP

#: Where page 0 of every catalogue layout lives: below the model's mmap_base (0x7f0000000000), far
#: above the filler VMAs of :meth:`AddressSpace.pad`, so neither placement searches nor filler touch it.
BASE = 0x7E0000000000

#: Scenario families, in display order (the dropdown of :func:`mmsim.widgets.outcome_map_explorer`).
FAMILIES: tuple[str, ...] = (
    "seed", "fixed", "in-place", "move", "dontunmap", "multi-vma", "mprotect", "munmap", "mmap", "random",
)

Op = tuple[str, Mapping[str, Any]]


def _normalise(name: str, kwargs: Mapping[str, Any]) -> Mapping[str, Any]:
    """Check a scenario operation's name and arguments and fill in defaults (read-only mapping)."""
    if name not in SYSCALLS:
        raise ValueError(f"unknown operation {name!r}; choose one of {', '.join(SYSCALLS)}")
    return MappingProxyType(ops.normalize(name, kwargs))


def _replay(mm: AddressSpace, setup: Iterable[Op], base: int) -> None:
    for name, kw in setup:
        ops.apply(mm, name, kw, base)


def _op_ranges(name: str, kw: Mapping[str, Any]) -> tuple[tuple[int, int] | None, tuple[int, int] | None]:
    """(old range, new range) of an operation, relative to the base; None where there is none."""
    if name == "mremap":
        a, old, new, flags, na = (kw[p] for p in ops.OPS["mremap"].names)
        old_r = (a, a + max(old, 0)) if old else (a, a)
        new_r = (na, na + new) if na is not None and flags & (FIXED | DONTUNMAP) else None
        return old_r, new_r
    if name == "mmap":
        return None, ((kw["addr"], kw["addr"] + kw["length"]) if kw["addr"] is not None else None)
    return (kw["addr"], kw["addr"] + kw["length"]), None


@dataclass(frozen=True)
class Scenario:
    """A small address-space setup plus ONE operation.

    Attributes
    ----------
    name, description, family:
        The catalogue key, one sentence a learner understands, and a group (:data:`FAMILIES`).
    build:
        ``build(kernel, max_map_count) -> AddressSpace``: the layout only, without filler, with an empty trace.
    op, args:
        The operation (``"mremap"``, ``"mprotect"``, ``"munmap"``, ``"mmap"``, ``"touch"``) and its
        positional arguments with absolute addresses, as :func:`mmsim.classify` takes them.
    setup_ops, op_kwargs, base:
        The same layout and call as operations with addresses relative to ``base`` (``None`` = no address).
        Scenarios made by :func:`scenario_from_ops` (every catalogue entry) have them; they give
        :meth:`live_ops`. A hand-made Scenario with only ``build`` and ``args`` works everywhere except live.
    window:
        ``(start, end)`` absolute addresses around the layout, for :func:`mmsim.plots.plot_layout`.
    params:
        The factory parameters (e.g. ``{"k": 3}``), for display.

    >>> import mmsim
    >>> s = mmsim.CATALOGUE["fixed-whole-free"]
    >>> s.family, s.op, len(s.build("5.1", 65530))        # the layout alone: one VMA
    ('fixed', 'mremap', 1)
    """

    name: str
    description: str
    family: str
    build: Callable[[str, int], AddressSpace] = field(repr=False, compare=False)
    op: str
    args: tuple
    setup_ops: tuple[Op, ...] = field(default=(), repr=False)
    op_kwargs: Mapping[str, Any] | None = field(default=None, repr=False)
    base: int = BASE
    window: tuple[int, int] | None = field(default=None, repr=False)
    params: Mapping[str, Any] = field(default_factory=dict, repr=False)

    def __hash__(self) -> int:  # setup_ops hold mappings; the identity of a scenario is its name and call
        return hash((self.name, self.op, self.args))

    # ---- running -------------------------------------------------------------------------------
    @renamed_arguments(slack="free_slots")
    def setup(self, kernel: str, max_map_count: int = DEFAULT_MAX_MAP_COUNT, free_slots: int = 0) -> AddressSpace:
        """The layout under ``kernel``, padded with filler VMAs to ``free_slots`` free slots
        (``map_count = max_map_count - free_slots``; ``free_slots`` may be -1). ValueError if the layout alone
        already needs more than ``max_map_count - free_slots`` VMAs."""
        mm = self.build(kernel, max_map_count)
        if max_map_count - free_slots < mm.map_count:
            raise ValueError(
                f"scenario {self.name!r} has {mm.map_count} VMAs of its own: it cannot have {free_slots} free slots "
                f"under max_map_count={max_map_count}"
            )
        mm.set_free_slots(free_slots)
        return mm

    @renamed_arguments(slack="free_slots")
    def run(self, kernel: str, free_slots: int, max_map_count: int = DEFAULT_MAX_MAP_COUNT) -> Outcome:
        """Classify the operation on :meth:`setup` (semantics §6). O(max_map_count) for the padding."""
        return classify(self.setup(kernel, max_map_count, free_slots), self.op, *self.args)

    def replay_setup(self, mm: AddressSpace) -> None:
        """Map the layout into an existing address space (e.g. one that already holds filler VMAs).

        ValueError for a hand-made scenario without ``setup_ops`` (only its ``build`` knows the layout).
        """
        if self.op_kwargs is None:
            raise ValueError(f"scenario {self.name!r} has no setup operations (made without scenario_from_ops)")
        _replay(mm, self.setup_ops, self.base)

    def apply(self, mm: AddressSpace) -> Any:
        """Run the operation on ``mm`` itself (it changes ``mm``; raises :class:`mmsim.MMError` on failure)."""
        return getattr(mm, self.op)(*self.args)

    # ---- describing ----------------------------------------------------------------------------
    @property
    def layout_vmas(self) -> int:
        """How many VMAs the layout has (its map_count without filler)."""
        return self.build("ideal", DEFAULT_MAX_MAP_COUNT).map_count

    def ranges(self) -> tuple[tuple[int, int] | None, tuple[int, int] | None]:
        """Absolute ``(old_range, new_range)`` of the operation (``None`` where there is none, e.g. the
        destination of a MAYMOVE relocation, which the kernel chooses)."""
        if self.op_kwargs is None:
            return None, None
        base = self.base
        return tuple((base + r[0], base + r[1]) if r is not None else None  # type: ignore[return-value]
                     for r in _op_ranges(self.op, self.op_kwargs))

    def call(self, compact: bool = False) -> str:
        """The operation as readable source, addresses relative to the layout's base.

        ``mremap(old_address=base+2P, old_size=6P, ...)``, or with ``compact`` the positional form
        ``mremap(base+2P, 6P, 3P, MAYMOVE|FIXED, base+14P)`` (for titles).
        """
        if self.op_kwargs is None:
            return f"{self.op}{self.args!r}"
        parts = []
        address_params = ops.OPS[self.op].address_params
        mmap_defaults = {p.name: p.default for p in ops.OPS["mmap"].params}
        for k, v in self.op_kwargs.items():
            if k in address_params:
                text = "NULL" if v is None else f"base+{v // P}P"
            elif k in ("length", "old_size", "new_size"):
                text = f"{v // P}P" if v % P == 0 else f"{v:#x}"
            elif k == "flags" and self.op == "mremap":
                names = [n for bit, n in ((MAYMOVE, "MAYMOVE"), (FIXED, "FIXED"), (DONTUNMAP, "DONTUNMAP")) if v & bit]
                text = "|".join(names) or "0"
            elif k == "flags":
                names = [n for bit, n in ((MAP_SHARED, "SHARED"), (MAP_PRIVATE, "PRIVATE"), (MAP_ANONYMOUS, "ANON"),
                                          (MAP_FIXED, "FIXED")) if v & bit]
                text = "|".join(names) or "0"
            elif k == "prot":
                text = "|".join(n for bit, n in ((R, "READ"), (PROT_WRITE, "WRITE")) if v & bit) or "NONE"
            elif k in ("fd", "offset") and v == mmap_defaults[k]:
                continue
            else:
                text = f"{v:#x}" if isinstance(v, int) else str(v)
            parts.append(text if compact else f"{k}={text}")
        return f"{self.op}({', '.join(parts)})"

    # ---- live ----------------------------------------------------------------------------------
    @property
    def arena_pages(self) -> int:
        """Pages of a live arena that holds the layout and every fixed range of the call."""
        if self.window is None:
            raise ValueError(f"scenario {self.name!r} has no relative layout (made without scenario_from_ops)")
        return (self.window[1] - self.base) // P

    def live_ops(self) -> list[tuple[str, dict[str, Any]]]:
        """The scenario as :mod:`mmsim.live` operations, addresses relative to the arena's base.

        First the whole arena is unmapped (so the gaps of the layout are real holes, as in the model), then
        the layout is mapped with MAP_FIXED inside it, then comes the operation itself (the last element).
        Run it with ``mmsim.live.compare(ops, arena_pages=s.arena_pages, free_slots_before={len(ops) - 1: n})``.
        """
        if self.op_kwargs is None:
            raise ValueError(f"scenario {self.name!r} has no live representation (made without scenario_from_ops)")
        ops = [("munmap", {"addr": 0, "length": self.arena_pages * P})]
        ops += [(name, dict(kw)) for name, kw in self.setup_ops]
        ops.append((self.op, dict(self.op_kwargs)))
        return ops

    def __str__(self) -> str:
        return f"{self.name}: {self.description}"


def scenario_from_ops(
    name: str,
    description: str,
    family: str,
    setup: Iterable[Op],
    op: str,
    op_kwargs: Mapping[str, Any],
    *,
    base: int = BASE,
    params: Mapping[str, Any] | None = None,
) -> Scenario:
    """Make a :class:`Scenario` from operations whose addresses are page offsets from ``base``.

    ``setup`` is a list of ``(name, kwargs)`` (usually MAP_FIXED mmaps and touches); ``op``/``op_kwargs``
    the call under study. ``build`` replays the setup on a fresh AddressSpace and clears its trace. Raises
    ValueError for malformed operations or a setup that fails.
    """
    setup_ops = tuple((n, _normalise(n, kw)) for n, kw in setup)
    okw = _normalise(op, op_kwargs)
    ends = [0]
    for n, kw in setup_ops:
        for r in _op_ranges(n, kw):
            if r is not None:
                ends.append(r[1])
    for r in _op_ranges(op, okw):
        if r is not None:
            ends.append(r[1])
    top = -(-max(ends) // P) * P + 2 * P  # two spare pages above everything the scenario names
    window = (base, base + top)

    def build(kernel: str, max_map_count: int = DEFAULT_MAX_MAP_COUNT) -> AddressSpace:
        mm = AddressSpace(kernel, max(max_map_count, 1 << 16))
        _replay(mm, setup_ops, base)
        mm.max_map_count = max_map_count
        mm.trace.clear()
        return mm

    sc = Scenario(name, description, family, build, op, ops.positional(op, okw, base), setup_ops, okw, base, window,
                  MappingProxyType(dict(params or {})))
    try:
        sc.build("6.18", DEFAULT_MAX_MAP_COUNT)
    except Exception as e:  # a layout that does not map is a bug of the scenario, say so now
        raise ValueError(f"scenario {name!r}: its setup fails: {e}") from e
    return sc


# ---- layout helpers (offsets in pages) ---------------------------------------------------------


def _map(page: int, pages: int, prot: int = RW, *, shared: bool = False) -> Op:
    return ("mmap", {"addr": page * P, "length": pages * P, "prot": prot, "flags": SHARED if shared else PRIV})


def _touch(page: int, pages: int) -> Op:
    return ("touch", {"addr": page * P, "length": pages * P})


def _mremap(old: int, old_pages: int, new_pages: int, flags: int = 0, new: int | None = None) -> dict[str, Any]:
    return {"old_address": old * P, "old_size": old_pages * P, "new_size": new_pages * P, "flags": flags,
            "new_address": None if new is None else new * P}


def _tag(base: str, defaults: Mapping[str, Any], given: Mapping[str, Any]) -> str:
    changed = {k: v for k, v in given.items() if defaults[k] != v}
    return base if not changed else base + "(" + ",".join(f"{k}={v}" for k, v in changed.items()) + ")"


# ---- parameterised factories --------------------------------------------------------------------


def fixed_shrink(pages: int = 10, start: int = 2, old: int = 6, new: int = 3, dest: int = 2, *,
                 name: str | None = None) -> Scenario:
    """MREMAP_FIXED from the interior of a ``pages``-page rw VMA O into the interior of a ``pages``-page
    r-- VMA D: ``mremap(O+start, old, new, MAYMOVE|FIXED, D+dest)`` (sizes in pages).

    With the defaults it is seed-W (semantics §7.1); with ``new == old`` it is seed-S (§7.2). ValueError if a
    range is not strictly inside its VMA.
    """
    if not (0 < start and start + old < pages and 0 < new <= old and 0 < dest and dest + new < pages):
        raise ValueError("both ranges must lie strictly inside their VMAs: 0 < start, start + old < pages, "
                         f"0 < dest, dest + new < pages, 0 < new <= old (got {pages=}, {start=}, {old=}, {new=}, "
                         f"{dest=})")
    d = pages + 2
    shape = f"shrinking to {new}" if new < old else "same size"
    desc = (f"MREMAP_FIXED: move {old} pages from inside a {pages}-page VMA into the middle of another, {shape}"
            f" (net +3 VMAs)")
    default_name = "seed-W" if new < old else "seed-S"
    defaults = {"pages": 10, "start": 2, "old": 6, "new": 3 if new < old else 6, "dest": 2}
    given = {"pages": pages, "start": start, "old": old, "new": new, "dest": dest}
    return scenario_from_ops(
        name or _tag(default_name, defaults, given), desc, "seed",
        [_map(0, pages, RW), _map(d, pages, R)],
        "mremap", _mremap(start, old, new, MAYMOVE | FIXED, d + dest), params=given,
    )


def seed_w(pages: int = 10, start: int = 2, old: int = 6, new: int = 3, dest: int = 2) -> Scenario:
    """Seed-W, the worst case (semantics §7.1): ``mremap(O+2P, 6P, 3P, MAYMOVE|FIXED, D+2P)``; net +3 VMAs.

    5.0 leaves a half-changed address space at 1-5 free slots; 5.1's early check refuses 0-5 cleanly.
    """
    return fixed_shrink(pages, start, old, new, dest)


def seed_s(pages: int = 10, start: int = 2, size: int = 6, dest: int = 2) -> Scenario:
    """Seed-S (semantics §7.2): the same move without shrinking, ``mremap(O+2P, 6P, 6P, MAYMOVE|FIXED, D+2P)``.

    5.1 rejects it at 5 free slots although it would fit: a false positive.
    """
    return fixed_shrink(pages, start, size, size, dest, name=_tag("seed-S", {"pages": 10, "start": 2, "size": 6,
                                                                              "dest": 2},
                                                                   {"pages": pages, "start": start, "size": size,
                                                                    "dest": dest}))


def k_whole(k: int = 1) -> Scenario:
    """Spec §7.3: move a whole, faulted k-page rw VMA S onto k whole 1-page shared VMAs.

    ``mremap(S, kP, kP, MAYMOVE|FIXED, d)``: the destination unmap removes k VMAs, the copy adds one and the
    source goes: net -k. The call only ever lowers map_count, yet 5.1 rejects it below 6 free slots.
    """
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    d = k + 2
    setup = [_map(0, k, RW), _touch(0, k)] + [_map(d + i, 1, RW, shared=True) for i in range(k)]
    desc = (f"MREMAP_FIXED: move a whole {k}-page VMA onto {k} whole shared VMA{'s' if k > 1 else ''}; "
            f"map_count drops by {k}, yet early checks may refuse it")
    return scenario_from_ops(f"k-whole-{k}", desc, "fixed", setup, "mremap", _mremap(0, k, k, MAYMOVE | FIXED, d),
                             params={"k": k})


def multi_vma(n: int = 3) -> Scenario:
    """A MREMAP_FIXED move over ``n`` one-page VMAs with one-page gaps, into the middle of a 20-page read-only VMA:
    ``mremap(O, (2n-1)P, (2n-1)P, MAYMOVE|FIXED, D+5P)`` (semantics §3.5.5, §7.5). 6.17+ move the pieces one by
    one, each one VMA more than before, so a later piece's move check can refuse after earlier ones moved;
    5.x fails with EFAULT after the destination unmap. ``multi_vma(3)`` is the catalogue's ``multi-vma``; other
    ``n`` (2 to 7) are ``"multi-vma-N"``, which :func:`get` knows, outside the catalogue.

    >>> s = multi_vma(4); s.name, s.family, len(s.build("6.18", 65530))
    ('multi-vma-4', 'multi-vma', 5)
    """
    if not 2 <= n <= 7:
        raise ValueError(f"n must be 2 to 7 (the range must lie inside the 20-page destination), got {n}")
    d = 2 * n + 2
    setup = [_map(2 * i, 1) for i in range(n)] + [_map(d, 20, R)]
    count = ("two", "three", "four", "five", "six", "seven")[n - 2]
    desc = f"MREMAP_FIXED over {count} 1-page VMAs with gaps, into a 20-page VMA: 6.18/7.1 move them one by one"
    return scenario_from_ops("multi-vma" if n == 3 else f"multi-vma-{n}", desc, "multi-vma", setup, "mremap",
                             _mremap(0, 2 * n - 1, 2 * n - 1, MAYMOVE | FIXED, d + 5), params={"n": n})


def _catalogue() -> dict[str, Scenario]:
    s: list[Scenario] = [seed_w(), seed_s(), k_whole(1), k_whole(3)]

    def add(name: str, desc: str, family: str, setup: list[Op], op: str, kw: dict[str, Any]) -> None:
        s.append(scenario_from_ops(name, desc, family, setup, op, kw))

    add("fixed-whole-free",
        "MREMAP_FIXED: move a whole 4-page VMA into free space (copy +1, source -1: net 0)",
        "fixed", [_map(0, 4), _touch(0, 4)], "mremap", _mremap(0, 4, 4, MAYMOVE | FIXED, 8))
    add("fixed-dest-edge",
        "MREMAP_FIXED: move a whole 2-page VMA onto the first 2 pages of a 10-page VMA (destination trims a head)",
        "fixed", [_map(0, 2), _touch(0, 2), _map(4, 10, R)], "mremap", _mremap(0, 2, 2, MAYMOVE | FIXED, 4))
    add("shrink-punch",
        "mremap shrink in place of a range inside a VMA: the cut-off tail is a hole punched in the middle (+1)",
        "in-place", [_map(0, 10)], "mremap", _mremap(2, 6, 3))
    add("shrink-trim",
        "mremap shrink in place of a whole 10-page VMA to 4 pages: the tail is trimmed off the end (net 0)",
        "in-place", [_map(0, 10)], "mremap", _mremap(0, 10, 4))
    add("grow-in-place",
        "mremap grow in place: a 4-page VMA extends to 8 pages into the free space after it (net 0)",
        "in-place", [_map(0, 4), _map(12, 4, R)], "mremap", _mremap(0, 4, 8))
    add("grow-merge",
        "mremap grow in place up to a compatible VMA: 6.1 and later merge the two (-1), 5.0/5.1 leave two VMAs",
        "in-place", [_map(0, 4), _map(8, 4)], "mremap", _mremap(0, 4, 8))
    add("relocate-whole",
        "MREMAP_MAYMOVE: a 4-page VMA cannot grow in place, so it moves elsewhere whole (copy +1, source -1)",
        "move", [_map(0, 4), _touch(0, 4), _map(4, 1, R)], "mremap", _mremap(0, 4, 8, MAYMOVE))
    add("relocate-interior",
        "MREMAP_MAYMOVE: grow 2 pages from inside a 10-page VMA; they move away, leaving a hole (+2)",
        "move", [_map(0, 10), _touch(0, 10)], "mremap", _mremap(2, 2, 4, MAYMOVE))
    add("duplicate-shared",
        "mremap(old_size=0) of a shared VMA: makes a second mapping of the same memory elsewhere (+1)",
        "move", [_map(0, 4, RW, shared=True)], "mremap", _mremap(0, 0, 4, MAYMOVE))
    add("dontunmap",
        "MREMAP_DONTUNMAP: move a whole 4-page VMA to a free hint and keep the old range mapped (+1; 5.7 and later)",
        "dontunmap", [_map(0, 4), _touch(0, 4)], "mremap", _mremap(0, 4, 4, MAYMOVE | DONTUNMAP, 8))
    add("dontunmap-fixed",
        "MREMAP_DONTUNMAP|FIXED: move a whole 4-page VMA into the middle of a 10-page VMA, keeping the old one (+2)",
        "dontunmap", [_map(0, 4), _touch(0, 4), _map(6, 10, R)], "mremap",
        _mremap(0, 4, 4, MAYMOVE | FIXED | DONTUNMAP, 9))
    add("multi-vma",
        "MREMAP_FIXED over three 1-page VMAs with gaps, into a 20-page VMA: 6.18/7.1 move them one by one",
        "multi-vma", [_map(0, 1), _map(2, 1), _map(4, 1), _map(8, 20, R)], "mremap",
        _mremap(0, 5, 5, MAYMOVE | FIXED, 13))
    add("mprotect-3way",
        "mprotect one page in the middle of a 10-page VMA to read-only: two splits, +2",
        "mprotect", [_map(0, 10)], "mprotect", {"addr": 2 * P, "length": P, "prot": R})
    add("mprotect-2way",
        "mprotect the first page of a 10-page VMA to read-only: one split, +1",
        "mprotect", [_map(0, 10)], "mprotect", {"addr": 0, "length": P, "prot": R})
    add("munmap-punch",
        "munmap one page in the middle of a 10-page VMA: a hole punch, +1, refused at the limit",
        "munmap", [_map(0, 10)], "munmap", {"addr": 2 * P, "length": P})
    add("munmap-whole",
        "munmap a whole 10-page VMA: -1, never refused",
        "munmap", [_map(0, 10)], "munmap", {"addr": 0, "length": 10 * P})
    add("mmap-new",
        "mmap a new 1-page VMA into free space: +1, refused only above the limit (map_count > max)",
        "mmap", [_map(0, 10)], "mmap", {"addr": 12 * P, "length": P, "prot": RW, "flags": PRIV})
    add("mmap-fixed-interior",
        "mmap MAP_FIXED one read-only page into the middle of a 10-page rw VMA: punch +1, new VMA +1",
        "mmap", [_map(0, 10)], "mmap", {"addr": 2 * P, "length": P, "prot": R, "flags": PRIV})
    return {sc.name: sc for sc in s}


#: The catalogue, keyed by name, in teaching order.
CATALOGUE: dict[str, Scenario] = _catalogue()

_PATTERNS: tuple[tuple[re.Pattern[str], Callable[..., Scenario]], ...] = (
    (re.compile(r"k-whole-(\d+)"), lambda k: k_whole(int(k))),
    (re.compile(r"multi-vma-(\d+)"), lambda n: multi_vma(int(n))),
)


def names() -> list[str]:
    """The catalogue's names, in order."""
    return list(CATALOGUE)


def families() -> list[str]:
    """The families present in the catalogue, in :data:`FAMILIES` order."""
    present = {s.family for s in CATALOGUE.values()}
    return [f for f in FAMILIES if f in present]


def get(name: str | Scenario) -> Scenario:
    """A scenario by name (a :class:`Scenario` is returned as is).

    Besides the catalogue, ``"k-whole-N"`` gives :func:`k_whole` for any N >= 1 (``"k-whole"`` alone: N=1) and
    ``"multi-vma-N"`` :func:`multi_vma` for N from 2 to 7.
    Raises KeyError naming the available scenarios.
    """
    if isinstance(name, Scenario):
        return name
    if name in CATALOGUE:
        return CATALOGUE[name]
    if name == "k-whole":
        return k_whole(1)
    for pat, factory in _PATTERNS:
        m = pat.fullmatch(str(name))
        if m and int(m.group(1)) >= 1:
            return factory(*m.groups())
    raise KeyError(f"unknown scenario {name!r}; choose one of {', '.join(CATALOGUE)} (or k-whole-N, multi-vma-N)")


# ---- random scenarios ---------------------------------------------------------------------------


def _random_one(rng: random.Random, label: str) -> Scenario:
    """One random mremap on a random layout of 2-5 small VMAs (see :func:`random_scenarios`)."""
    setup: list[Op] = []
    vmas: list[tuple[int, int, int, bool]] = []  # (page, pages, prot, shared)
    page = 0
    for _ in range(rng.randint(2, 5)):
        page += rng.choice((0, 1, 1, 2, 3)) if vmas else 0
        pages = rng.randint(1, 8)
        shared = rng.random() < 0.2
        prot = rng.choice((R, RW, RW))
        if vmas and page == vmas[-1][0] + vmas[-1][1] and (prot, shared) == vmas[-1][2:]:
            prot = R if prot == RW else RW  # adjacent VMAs differ, so the layout keeps its count
        setup.append(_map(page, pages, prot, shared=shared))
        if prot & PROT_WRITE and not shared and rng.random() < 0.5:
            setup.append(_touch(page, pages))
        vmas.append((page, pages, prot, shared))
        page += pages
    span = page
    vpage, vlen, vprot, vshared = rng.choice(vmas)
    start = vpage + rng.randrange(vlen)
    room = vpage + vlen - start
    if rng.random() < 0.15:
        room += rng.randint(1, 4)  # sometimes cross the VMA's end (EFAULT, or a multi-VMA move in 6.18+)
    old = rng.randint(1, room)
    kind = rng.choice(("fixed", "fixed", "fixed", "dontunmap", "shrink", "grow"))
    what = f"{old}-page range at page {start} of a {vlen}-page {'rw' if vprot & PROT_WRITE else 'r-'}" \
           f"{'s' if vshared else 'p'} VMA"

    def dest(new: int) -> int:
        for _ in range(50):
            d = rng.randrange(0, span + 6)
            if d + new <= start or d >= start + old:
                return d
        return span + 2

    if kind == "fixed":
        new = rng.choice((old, rng.randint(1, old)))
        d = dest(new)
        kw = _mremap(start, old, new, MAYMOVE | FIXED, d)
        desc = f"random MREMAP_FIXED: {what} -> {new} pages at page {d}"
    elif kind == "dontunmap":
        fixed = rng.random() < 0.5
        d = dest(old)
        kw = _mremap(start, old, old, MAYMOVE | DONTUNMAP | (FIXED if fixed else 0), d)
        desc = f"random MREMAP_DONTUNMAP{'|FIXED' if fixed else ''}: {what} -> page {d}"
    elif kind == "shrink":
        new = rng.randint(1, old) if old > 1 else 1
        kw = _mremap(start, old, new)
        desc = f"random shrink in place: {what} -> {new} pages"
    else:
        new = old + rng.randint(1, 6)
        flags = MAYMOVE if rng.random() < 0.6 else 0
        kw = _mremap(start, old, new, flags)
        desc = f"random grow{' (MAYMOVE)' if flags else ' in place'}: {what} -> {new} pages"
    return scenario_from_ops(label, desc, "random", setup, "mremap", kw)


def random_scenarios(n: int, seed: int = 0) -> list[Scenario]:
    """``n`` random mremap scenarios, deterministic for a ``seed``.

    Each layout has 2-5 VMAs of 1-8 pages (r-- or rw-, some shared, some faulted) with gaps of 0-3 pages
    (adjacent VMAs never merge at setup); the call is a FIXED move (shrinking or not), a DONTUNMAP move
    (with or without FIXED), a shrink in place or a grow (in place or MAYMOVE), from a random range that
    usually lies in one VMA and sometimes crosses its end. Names are ``random-<seed>-<i>``.
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    rng = random.Random(seed)
    return [_random_one(rng, f"random-{seed}-{i}") for i in range(n)]
