"""The registry of map_count checks: one record per check, read by flows, profiles, plots, exercises and tests.

Every limit the model enforces is a :class:`Check`: its name (the ``step`` of its trace record), whether
it is *enforcing* (it sits where a VMA is really created) or *anticipatory* (mremap only: it predicts
growth that is still to come), the kernel functions and releases it mirrors, the kernel's expression, and
the free slots it needs. Flows evaluate a check through :meth:`mmsim.kernel.call.Call.check`; profiles
(:mod:`mmsim.profiles`) say which anticipatory checks run at which place (:data:`HOOKS`). Section numbers
(§) refer to the project's semantics reference, ``docs/semantics.md``.

Every check but ``alt_early`` compares ``map_count`` with ``max_map_count`` plus a constant, so it is
described completely by the free slots it needs: it fails exactly when
``max_map_count - map_count < slots``.

>>> CHECKS["move_vma_limit"].slots          # map_count >= max_map_count - 3 fails at 3 free slots
4
>>> CHECKS["move_vma_limit"].fails(65527, 65530), CHECKS["move_vma_limit"].fails(65526, 65530)
(True, False)
>>> sorted(A_CHECKS)[:2]
['alt_early', 'move_vma_limit']
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from .kinds import CheckKind

if TYPE_CHECKING:
    from .addrspace import AddressSpace

__all__ = [
    "ANTICIPATORY",
    "A_CHECKS",
    "CHECKS",
    "Check",
    "CheckContext",
    "ENFORCING",
    "E_CHECKS",
    "HOOKS",
    "MremapArgs",
    "alt_prediction",
    "describe",
    "get_check",
]

#: A check that sits where a VMA is actually created (semantics §0).
ENFORCING = CheckKind.ENFORCING
#: A check that predicts later growth (mremap only, semantics §0, §3.5).
ANTICIPATORY = CheckKind.ANTICIPATORY

#: The places where a profile can run anticipatory checks, and what each place is in the kernel.
HOOKS: Mapping[str, str] = MappingProxyType({
    "mremap_to": "mremap_to() before the first unmap, for MREMAP_FIXED (and DONTUNMAP where the kernel has it); "
                 "5.1-6.14",
    "check_mremap_params": "check_mremap_params() for MREMAP_FIXED or MREMAP_DONTUNMAP, before the mmap lock; "
                           "6.15-7.0",
    "do_mremap": "do_mremap() right after taking the mmap lock, for every mremap call; 7.1 (on the 5.x flow: "
                 "sys_mremap() where it takes the lock, used by hypothetical profiles only)",
    "move_vma": "move_vma() / prep_move_vma(), once per moved VMA; every release",
})


@dataclass(frozen=True)
class MremapArgs:
    """The mremap call a check looks at (page-aligned lengths, unsigned longs)."""

    addr: int
    old_len: int
    new_len: int
    flags: int
    new_addr: int


@dataclass(frozen=True)
class CheckContext:
    """What a check sees when it is evaluated.

    ``map_count`` and ``max_map_count`` are the values at that moment; ``mm`` is the address space (read
    it, never change it); ``args`` is the mremap call (None for the enforcing checks of other calls).
    """

    map_count: int
    max_map_count: int
    mm: AddressSpace
    args: MremapArgs | None = None

    @property
    def free_slots(self) -> int:
        """``max_map_count - map_count``."""
        return self.max_map_count - self.map_count


@dataclass(frozen=True)
class Check:
    """One map_count check.

    Parameters
    ----------
    name:
        The name in traces, outcomes and profiles (``"move_vma_limit"``).
    kind:
        :data:`ENFORCING` or :data:`ANTICIPATORY`.
    mirrors:
        The kernel function(s) and releases, e.g. ``"move_vma()@5.0-6.16, prep_move_vma()@6.17-7.0"``.
    expr:
        The kernel's expression with ``{mc}`` and ``{max}`` placeholders; the trace shows it filled in.
    slots:
        Free slots needed to pass: the check fails when ``max_map_count - map_count < slots``. For a
        check whose result depends on the call (``predicate``), the slots from which it may *start*
        failing (its trigger), or None.
    summary:
        One sentence for docs and widgets.
    predicate:
        For checks that look at the call: ``predicate(ctx) -> (fails, expr_text)``. None for pure
        threshold checks.

    >>> import mmsim
    >>> c = mmsim.CHECKS["mremap_early"]                  # ea2c3f6f5545: (mc + 2) >= max - 3 fails
    >>> c.kind, c.expr, c.slots                           # while max - mc <= 5: it needs 6 free slots
    ('anticipatory', '{mc} + 2 >= {max} - 3', 6)
    """

    name: str
    kind: str
    mirrors: str
    expr: str
    slots: int | None
    summary: str
    predicate: Callable[[CheckContext], tuple[bool, str]] | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "kind", CheckKind(self.kind))
        except ValueError:
            raise ValueError(f"check {self.name!r}: kind must be 'enforcing' or 'anticipatory', not "
                             f"{self.kind!r}") from None
        if self.predicate is None and self.slots is None:
            raise ValueError(f"check {self.name!r} needs slots or a predicate")

    @property
    def anticipatory(self) -> bool:
        """True for an anticipatory check (only these can cause a FALSE_POSITIVE, semantics §6)."""
        return self.kind == ANTICIPATORY

    def fails(self, map_count: int, max_map_count: int) -> bool:
        """Whether the threshold fails at these counts (``max_map_count - map_count < slots``). O(1).

        >>> CHECKS["mmap_limit"].fails(65531, 65530), CHECKS["mmap_limit"].fails(65530, 65530)
        (True, False)
        """
        if self.slots is None:
            raise ValueError(f"check {self.name!r} depends on the call: use evaluate()")
        return max_map_count - map_count < self.slots

    def threshold(self, max_map_count: int) -> int | None:
        """The smallest map_count at which the check fails (its trigger, for a predicate check). O(1).

        >>> CHECKS["mremap_early"].threshold(65530)
        65525
        """
        return None if self.slots is None else max_map_count - self.slots + 1

    def evaluate(self, ctx: CheckContext) -> tuple[bool, str]:
        """``(fails, expression as the trace shows it)`` for this context. O(1) for threshold checks.

        >>> CHECKS["mremap_early"].evaluate(CheckContext(65525, 65530, mm=None))
        (True, '65525 + 2 >= 65530 - 3')
        """
        if self.predicate is not None:
            return self.predicate(ctx)
        return self.fails(ctx.map_count, ctx.max_map_count), self.expr.format(mc=ctx.map_count,
                                                                                max=ctx.max_map_count)


# ---- 5.1-alt: the 2019 alternative's prediction (semantics §3.5.8) ---------------------------------------


def _pre(mm: AddressSpace, a: int, length: int) -> int:
    """pre_compute_maps() of the 2019 RFC: the predicted map_count change of unmapping ``[a, a+len)``."""
    v = mm.find_vma(a)
    if v is None:
        return 0
    b = a + length
    if a >= v.start and b <= v.end:
        if a > v.start and b < v.end:
            return 1
        return -1 if (a == v.start and b == v.end) else 0
    n = -1 if a > v.start else 0
    for w in mm.vmas_in(v.start, b):
        if w.end > b:
            break
        n += 1
    return -n


def alt_prediction(mm: AddressSpace, args: MremapArgs) -> int:
    """5.1-alt's ``pred``: what the destination and tail unmaps will do to map_count (semantics §3.5.8).

    Computed on the state before any unmap, as the RFC's ``pre_compute_maps()`` did. O(k log n).
    """
    pred = _pre(mm, args.new_addr, args.new_len)
    if args.old_len > args.new_len:
        pred += _pre(mm, args.addr + args.new_len, args.old_len - args.new_len)
    return pred


def _alt_early(ctx: CheckContext) -> tuple[bool, str]:
    mc, mx = ctx.map_count, ctx.max_map_count
    if not mc + 2 >= mx - 3:
        return False, f"trigger {mc} + 2 >= {mx} - 3: no"
    assert ctx.args is not None, "alt_early needs the mremap call"
    pred = alt_prediction(ctx.mm, ctx.args)
    return mc + pred >= mx - 3, f"trigger {mc} + 2 >= {mx} - 3; pred {pred:+d}: {mc} + {pred} >= {mx} - 3"


def _registry(*checks: Check) -> Mapping[str, Check]:
    return MappingProxyType({c.name: c for c in checks})


#: Every check the modelled kernels have, by name (semantics §0, §3, §4).
CHECKS: Mapping[str, Check] = _registry(
    Check("mmap_limit", ENFORCING, "do_mmap()@5.0-7.1", "{mc} > {max}", 0,
          "mmap refuses only above the limit (map_count > max), so a process can reach max + 1"),
    Check("split_limit", ENFORCING, "split_vma()@5.0-7.1 (mm/mmap.c, mm/vma.c from 6.10)", "{mc} >= {max}", 1,
          "a checked split needs one free slot"),
    Check("munmap_punch_limit", ENFORCING, "__do_munmap()@5.0, do_vmi_align_munmap()@6.18", "{mc} >= {max}", 1,
          "unmapping the interior of one VMA (a hole punch) needs one free slot"),
    Check("mremap_early", ANTICIPATORY,
          "mremap_to()@5.1-6.14 (ea2c3f6f5545), check_mremap_params()@6.15-7.0",
          "{mc} + 2 >= {max} - 3", 6,
          "the 2019 fix: refuse a MREMAP_FIXED move unless the worst case (+2 unmaps, +3 move) fits"),
    Check("move_vma_limit", ANTICIPATORY, "move_vma()@5.0-6.16, prep_move_vma()@6.17-7.0", "{mc} >= {max} - 3", 4,
          "move_vma() keeps 3 slots for splitting the source in three and one for the copy"),
    Check("mremap_early_v7", ANTICIPATORY, "do_mremap()@7.1 (0289955fc548)", "{mc} + 4 > {max}", 4,
          "7.1: every mremap needs 4 free slots, checked under the mmap lock"),
    Check("move_vma_limit_v7", ANTICIPATORY, "prep_move_vma()@7.1", "{mc} + 2 > {max}", 2,
          "7.1: each moved VMA needs 2 free slots (the copy and one split of the source)"),
    Check("alt_early", ANTICIPATORY,
          "hypothetical: mremap_to() in Oscar Salvador's 2019 RFC (never merged)",
          "{mc} + 2 >= {max} - 3, then {mc} + pred >= {max} - 3", 6,
          "5.1's trigger, then an exact prediction of what the destination and tail unmaps change",
          predicate=_alt_early),
)

#: Names of the enforcing checks.
E_CHECKS: frozenset[str] = frozenset(n for n, c in CHECKS.items() if not c.anticipatory)
#: Names of the anticipatory checks of the modelled kernels.
A_CHECKS: frozenset[str] = frozenset(n for n, c in CHECKS.items() if c.anticipatory)


def get_check(name: str | Check) -> Check:
    """A check by name (a :class:`Check` is returned as is); ``KeyError`` names the known checks.

    >>> get_check("split_limit").kind
    'enforcing'
    """
    if isinstance(name, Check):
        return name
    try:
        return CHECKS[name]
    except KeyError:
        raise KeyError(f"unknown check {name!r}; known checks: {', '.join(CHECKS)}") from None


def describe(name: str) -> dict[str, Any]:
    """A check as a plain dict (for tables in notebooks and docs)."""
    c = get_check(name)
    return {"name": c.name, "kind": c.kind, "expression": c.expr, "free slots needed": c.slots,
            "mirrors": c.mirrors, "summary": c.summary}
