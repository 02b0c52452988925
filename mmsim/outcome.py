"""Outcome classes of one call: OK, CLEAN_FAIL, PARTIAL_FAIL, FALSE_POSITIVE (semantics §6).

:func:`classify` runs the call, and up to two reference runs, with :meth:`mmsim.AddressSpace.trial`: on
the address space itself, undoing every run through the call's undo log, so the caller's state is never
changed and the cost is O(k log n) for a call touching k VMAs, not O(n) for a copy.
"""

from __future__ import annotations

import errno as _errno
from dataclasses import dataclass, field
from typing import Any

from .addrspace import AddressSpace, Trial
from .checks import A_CHECKS, E_CHECKS
from .deprecation import renamed_attribute
from .kinds import OutcomeKind
from .ops import SYSCALLS
from .trace import Trace

__all__ = ["Outcome", "classify", "OUTCOMES", "within_limits"]

#: The four classes, in the order plots use.
OUTCOMES: tuple[OutcomeKind, ...] = tuple(OutcomeKind)


@dataclass
class Outcome:
    """What one call did, classified (semantics §6).

    ``kind`` is one of :data:`OUTCOMES`. ``check`` names the failing record (a check such as
    ``"move_vma_limit"`` or a validation such as ``"validate.crosses_vma_end"``) and ``where`` the
    depth-0 step it belongs to (e.g. ``"unmap_tail"`` for a tail punch check). ``fp`` is whether
    the call, with only the failing anticipatory check disabled, completes within the limits;
    ``ideal_ok`` whether it does with every anticipatory check disabled. ``peak`` is the highest
    map_count at any point of the call, the starting count included (transient splits show here).

    >>> import mmsim
    >>> mm = mmsim.AddressSpace("6.18", max_map_count=2)
    >>> a = mm.mmap(0, 4 * mmsim.PAGE_SIZE, mmsim.PROT_READ, mmsim.MAP_PRIVATE | mmsim.MAP_ANONYMOUS)
    >>> print(mmsim.classify(mm, "mprotect", a + mmsim.PAGE_SIZE, mmsim.PAGE_SIZE, mmsim.PROT_NONE))
    6.18: PARTIAL_FAIL ENOMEM at split_limit  map_count 1 -> 2 (max 2)
    """

    kind: str
    kernel: str
    op: str
    args: tuple
    errno: int | None
    check: str | None
    where: str | None
    mc_before: int
    mc_after: int
    peak: int
    max_map_count: int
    fp: bool
    ideal_ok: bool
    degraded: bool
    result: Any
    steps: int
    trace: Trace = field(repr=False)

    @property
    def ok(self) -> bool:
        """True when the call succeeded."""
        return self.kind == OutcomeKind.OK

    @property
    def free_slots(self) -> int:
        """Free slots before the call: ``max_map_count - mc_before``."""
        return self.max_map_count - self.mc_before

    slack = renamed_attribute("free_slots", "slack")

    @property
    def errname(self) -> str | None:
        """The errno's symbolic name (``"ENOMEM"``), or None."""
        return _errno.errorcode.get(self.errno) if self.errno else None

    def as_row(self) -> dict[str, Any]:
        """A flat dict for a DataFrame row (no trace)."""
        return {
            "kernel": self.kernel, "op": self.op, "outcome": self.kind, "errno": self.errname,
            "check": self.check, "where": self.where, "max_map_count": self.max_map_count,
            "free_slots": self.free_slots, "mc_before": self.mc_before, "mc_after": self.mc_after, "peak": self.peak,
            "fp": self.fp, "ideal_ok": self.ideal_ok, "degraded": self.degraded, "steps": self.steps,
        }

    def __str__(self) -> str:
        tail = f" {self.errname} at {self.check}" if self.errno else ""
        return (f"{self.kernel}: {self.kind}{tail}  map_count {self.mc_before} -> {self.mc_after}"
                f" (max {self.max_map_count})")


def _fired_e_check(trace: Trace) -> bool:
    return any(s.kind == "check" and s.step in E_CHECKS for s in trace.failures())


def within_limits(trace: Trace, ok: bool, op: str, mc_before: int, mc_after: int, max_map_count: int) -> bool:
    """Semantics §6: R1 success and no enforcing check fired; R2 no swallowed ENOMEM; R3 (mremap) the final
    count is within max, or not increased. (R1-R3 are the project's definition.)"""
    if not ok or _fired_e_check(trace):
        return False
    if any(s.swallowed and s.errno == _errno.ENOMEM for s in trace.failures()):
        return False
    if op == "mremap" and not (mc_after <= max_map_count or mc_after <= mc_before):
        return False
    return True


def _fits(t: Trial, op: str, max_map_count: int) -> bool:
    return within_limits(t.trace, t.ok, op, t.map_count_before, t.map_count_after, max_map_count)


def classify(mm: AddressSpace, op: str, *args: Any, trace: bool = True, **kwargs: Any) -> Outcome:
    """Run ``mm.<op>(*args, **kwargs)`` without changing ``mm`` and classify it (semantics §6).

    * ``OK``: success (``degraded`` if a swallowed source-unmap ENOMEM occurred).
    * ``FALSE_POSITIVE``: error, state unchanged, and the reference run (the same profile with only
      the failing anticipatory check disabled) completes within the limits.
    * ``CLEAN_FAIL``: error, state unchanged, not a false positive.
    * ``PARTIAL_FAIL``: error after the state changed (``fp`` still recorded).

    With ``trace=False`` (the fast path of sweeps) ``Outcome.trace`` is a :class:`~mmsim.trace.TraceSummary`
    (the failure, the peak and the number of steps, no records). Raises ``ValueError`` for an unknown ``op``.

    A whole 4-page VMA moved into free space needs one more VMA at most (the copy, before the source
    goes), but 5.1's early check reserves room for the worst case, 6 free slots; with 5 it refuses:

    >>> from mmsim import AddressSpace, classify, MAP_ANONYMOUS, MAP_PRIVATE, PAGE_SIZE, PROT_READ
    >>> from mmsim import MREMAP_FIXED, MREMAP_MAYMOVE
    >>> def move(kernel):
    ...     mm = AddressSpace(kernel, max_map_count=6)                 # 1 VMA: 5 free slots
    ...     a = mm.mmap(0, 4 * PAGE_SIZE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS)
    ...     return classify(mm, "mremap", a, 4 * PAGE_SIZE, 4 * PAGE_SIZE,
    ...                     MREMAP_MAYMOVE | MREMAP_FIXED, a - 0x100000)
    >>> o = move("5.1"); o.kind, o.check, o.fp, o.ideal_ok, o.mc_after
    ('FALSE_POSITIVE', 'mremap_early', True, True, 1)
    >>> move("5.0").kind
    'OK'
    """
    if op not in SYSCALLS:
        raise ValueError(f"unknown operation {op!r}; choose one of {', '.join(SYSCALLS)}")
    mx = mm.max_map_count
    anticipatory = A_CHECKS | mm.profile.a_checks
    run = mm.trial(op, *args, trace=trace, **kwargs)
    tr, ok, mc0, mc1 = run.trace, run.ok, run.map_count_before, run.map_count_after
    err = run.error
    errno = None if err is None else err.errno
    check = None if err is None else err.check
    where = None
    if not ok:
        fail = tr.failure
        if fail is not None:
            where = tr.where(fail)
    fp = False
    a_failed = not ok and errno == _errno.ENOMEM and check in anticipatory
    if a_failed:
        fp = _fits(mm.trial(op, *args, disabled={check}, trace=False, **kwargs), op, mx)  # type: ignore[arg-type]
        ideal_ok = _fits(mm.trial(op, *args, disabled=anticipatory, trace=False, **kwargs), op, mx)
    else:
        # Checks only ever raise: unless an anticipatory check is what stopped the call, the run with every
        # anticipatory check disabled takes exactly the same steps, so it is within the limits iff this one is.
        ideal_ok = _fits(run, op, mx)
    degraded = ok and any(s.swallowed and s.errno == _errno.ENOMEM for s in tr.failures())
    if ok:
        kind = OutcomeKind.OK
    elif run.changed or mc1 != mc0:
        kind = OutcomeKind.PARTIAL_FAIL
    else:
        kind = OutcomeKind.FALSE_POSITIVE if fp else OutcomeKind.CLEAN_FAIL
    return Outcome(kind, mm.kernel, op, args, errno, check, where, mc0, mc1, max(mc0, tr.peak() or mc0), mx, fp,
                   ideal_ok, degraded, run.result, tr.n_top, tr)
