"""Outcome classes of one call: OK, CLEAN_FAIL, PARTIAL_FAIL, FALSE_POSITIVE (spec §6).

:func:`classify` runs the call, and up to two reference runs, on the address space itself and
undoes every run through the call's undo log, so the caller's state is never changed and the cost
is O(k log n) for a call touching k VMAs, not O(n) for a copy.
"""

from __future__ import annotations

import errno as _errno
from dataclasses import dataclass, field
from typing import Any

from .addrspace import AddressSpace
from .errors import MMError
from .trace import A_CHECKS, E_CHECKS, Trace

__all__ = ["Outcome", "classify", "OUTCOMES", "within_limits", "OPS"]

#: The four classes, in the order plots use.
OUTCOMES = ("OK", "FALSE_POSITIVE", "CLEAN_FAIL", "PARTIAL_FAIL")
#: Operations :func:`classify` accepts (AddressSpace method names).
OPS = ("mmap", "munmap", "mprotect", "touch", "mremap")


@dataclass
class Outcome:
    """What one call did, classified (spec §6).

    ``kind`` is one of :data:`OUTCOMES`. ``check`` names the failing record (a check such as
    ``"move_vma_limit"`` or a validation such as ``"validate.crosses_vma_end"``) and ``where`` the
    depth-0 step it belongs to (e.g. ``"unmap_tail"`` for a tail punch check). ``fp`` is whether
    the call, with only the failing anticipatory check disabled, completes within the limits;
    ``ideal_ok`` whether it does with every anticipatory check disabled. ``peak`` is the highest
    map_count at any point of the call, the starting count included (transient splits show here).
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
        return self.kind == "OK"

    @property
    def slack(self) -> int:
        """Free slots before the call: ``max_map_count - mc_before``."""
        return self.max_map_count - self.mc_before

    @property
    def errname(self) -> str | None:
        """The errno's symbolic name (``"ENOMEM"``), or None."""
        return _errno.errorcode.get(self.errno) if self.errno else None

    def as_row(self) -> dict[str, Any]:
        """A flat dict for a DataFrame row (no trace)."""
        return {
            "kernel": self.kernel, "op": self.op, "outcome": self.kind, "errno": self.errname,
            "check": self.check, "where": self.where, "max_map_count": self.max_map_count,
            "slack": self.slack, "mc_before": self.mc_before, "mc_after": self.mc_after, "peak": self.peak,
            "fp": self.fp, "ideal_ok": self.ideal_ok, "degraded": self.degraded, "steps": self.steps,
        }

    def __str__(self) -> str:
        tail = f" {self.errname} at {self.check}" if self.errno else ""
        return (f"{self.kernel}: {self.kind}{tail}  map_count {self.mc_before} -> {self.mc_after}"
                f" (max {self.max_map_count})")


def _fired_e_check(trace: Trace) -> bool:
    return any(s.kind == "check" and s.passed is False and s.step in E_CHECKS for s in trace)


def within_limits(trace: Trace, ok: bool, op: str, mc_before: int, mc_after: int, max_map_count: int) -> bool:
    """Spec §6: R1 success and no E-check fired; R2 no swallowed ENOMEM; R3 (mremap) final count
    within max, or not increased."""
    if not ok or _fired_e_check(trace):
        return False
    if any(s.swallowed and s.errno == _errno.ENOMEM for s in trace):
        return False
    if op == "mremap" and not (mc_after <= max_map_count or mc_after <= mc_before):
        return False
    return True


def _run(mm: AddressSpace, op: str, args: tuple, kwargs: dict, disabled: frozenset):
    """Run one call with ``disabled`` checks; return (ok, result, error, trace, mc_after, changed); undo it."""
    saved_disabled, saved_trace, saved_anon = mm._disabled, mm.trace, mm._next_anon
    mm._disabled = disabled
    ok, result, err = True, None, None
    try:
        result = getattr(mm, op)(*args, **kwargs)
    except MMError as e:
        ok, err = False, e
    finally:
        mm._disabled = saved_disabled
    trace, log = mm.trace, mm.last_log
    mc_after = mm.map_count
    changed = mm._changed(log)
    mm._rollback(log)
    mm._next_anon = saved_anon
    mm.trace = saved_trace
    return ok, result, err, trace, mc_after, changed


def classify(mm: AddressSpace, op: str, *args: Any, **kwargs: Any) -> Outcome:
    """Run ``mm.<op>(*args, **kwargs)`` without changing ``mm`` and classify it (spec §6).

    * ``OK``: success (``degraded`` if a swallowed source-unmap ENOMEM occurred).
    * ``FALSE_POSITIVE``: error, state unchanged, and the reference run (the same profile with only
      the failing anticipatory check disabled) completes within the limits.
    * ``CLEAN_FAIL``: error, state unchanged, not a false positive.
    * ``PARTIAL_FAIL``: error after the state changed (``fp`` still recorded).

    Raises ``ValueError`` for an unknown ``op``.
    """
    if op not in OPS:
        raise ValueError(f"unknown operation {op!r}; choose one of {', '.join(OPS)}")
    base = mm._disabled
    mc0 = mm.map_count
    ok, result, err, trace, mc1, changed = _run(mm, op, args, kwargs, base)
    mx = mm.max_map_count
    errno = None if ok else err.errno
    check = None if ok else err.check
    where = None
    if not ok:
        fail = trace.failure
        if fail is not None and fail.depth > 0:
            where = next((s.step for s in reversed(trace[: fail.seq]) if s.depth == 0), None)
        elif fail is not None:
            where = fail.step
    fp = False
    a_failed = not ok and errno == _errno.ENOMEM and check in A_CHECKS
    if a_failed:
        r_ok, _, _, r_trace, r_mc, _ = _run(mm, op, args, kwargs, base | {check})
        fp = within_limits(r_trace, r_ok, op, mc0, r_mc, mx)
    if a_failed and not base >= A_CHECKS:
        i_ok, _, _, i_trace, i_mc, _ = _run(mm, op, args, kwargs, base | A_CHECKS)
        ideal_ok = within_limits(i_trace, i_ok, op, mc0, i_mc, mx)
    else:
        # Checks only ever raise: unless an A-check is what stopped the call, the run with every
        # A-check disabled takes exactly the same steps, so it is within the limits iff this one is.
        ideal_ok = within_limits(trace, ok, op, mc0, mc1, mx)
    degraded = ok and any(s.swallowed and s.errno == _errno.ENOMEM for s in trace)
    if ok:
        kind = "OK"
    elif changed or mc1 != mc0:
        kind = "PARTIAL_FAIL"
    else:
        kind = "FALSE_POSITIVE" if fp else "CLEAN_FAIL"
    return Outcome(kind, mm.kernel, op, args, errno, check, where, mc0, mc1, max(mc0, trace.peak() or mc0), mx, fp,
                   ideal_ok, degraded, result, len(trace.top()), trace)
