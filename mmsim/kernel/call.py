"""The state of one system call while it runs, in one explicit object (as mm/vma.c's ``vma_merge_struct``).

A :class:`Call` lives for one call of :class:`~mmsim.AddressSpace`. It holds what the flows need and
nothing else lives on the address space while a call runs: the step trace under construction, the undo
log, how many VMAs are detached but still counted (gathered by an unmap whose
:class:`~mmsim.kernel.vma.Munmap` is not completed yet: ``vms_complete_munmap_vmas()`` in 6.12+), the
current piece of a multi-VMA move, and the checks a classification switched off. Flows change the address
space only through it (:meth:`Call.put`, :meth:`Call.delete`, :meth:`Call.new_anon_vma`), so every call can
be undone in O(k) (:meth:`Call.rollback`) and compared with its starting state (:meth:`Call.changed`).

This is the package-internal layer the flows in :mod:`mmsim.kernel` share; users meet its results as
``AddressSpace.trace`` and :meth:`mmsim.AddressSpace.trial`.
"""

from __future__ import annotations

import errno as E
import functools
from typing import TYPE_CHECKING, Any

from ..checks import E_CHECKS, Check, CheckContext, MremapArgs
from ..errors import MMError
from ..trace import Step, Trace, TraceSummary
from ..vma import VMA

if TYPE_CHECKING:
    from ..addrspace import AddressSpace
    from ..profiles import Profile
    from ..vmatree import VMATree

__all__ = ["Call"]


@functools.lru_cache(maxsize=1024)
def _fn_name(name: str, src: str) -> str:
    """``"name@version"`` for a trace record's ``fn`` (cached: traces are built on hot paths)."""
    return f"{name}@{src}"


class Call:
    """One running system call: its trace, undo log and per-call counters.

    Parameters
    ----------
    mm:
        The address space the call runs on.
    op:
        The operation's name (``"mmap"``, ``"mremap"``, ...), as in :data:`mmsim.ops.OPS`.
    disabled:
        Names of checks that are not evaluated in this call (a classification's reference runs).
    lean:
        The trace-less fast path: keep a :class:`~mmsim.trace.TraceSummary` (failures, peak, number of
        steps) instead of every record.
    """

    __slots__ = ("mm", "op", "tree", "profile", "max_map_count", "disabled", "trace", "log", "pending",
                 "piece", "anon0", "next_anon", "mc0", "mremap_args", "task_size", "any_target", "lean", "nrec",
                 "last_top", "commit_recorded", "scratch")

    def __init__(self, mm: AddressSpace, op: str, disabled: frozenset[str] = frozenset(), lean: bool = False) -> None:
        self.mm = mm
        self.op = op
        self.tree: VMATree = mm.tree
        self.profile: Profile = mm.profile
        #: vm.max_map_count for the whole call (a sysctl cannot change inside one call of the model).
        self.max_map_count: int = mm.max_map_count
        #: TASK_SIZE of the modelled machine (x86-64 4-level paging, or user-mode Linux's).
        self.task_size: int = mm.task_size
        #: Whether a faulted range may merge into an unfaulted neighbour (6.16+, semantics §2.3 rule 5).
        self.any_target: bool = self.profile.has("anon_merge_unfaulted_target")
        self.disabled = disabled
        self.lean = lean
        self.trace: Trace = TraceSummary() if lean else Trace()
        self.nrec = 0  # records made (kept or not)
        self.last_top: str | None = None  # the latest depth-0 step (lean mode)
        self.commit_recorded = False
        #: Lean mode: the one record handed back for every record not kept (callers only write to it).
        self.scratch = Step(-1, "", "step", "", 0)
        #: Undo log: ``(start, VMA that was there or None)`` for every change, in order.
        self.log: list[tuple[int, VMA | None]] = []
        #: VMAs detached from the tree but still counted in map_count: the ``vma_count`` of every
        #: :class:`~mmsim.kernel.vma.Munmap` gathered and not yet completed (6.12+ MAP_FIXED keeps its overlap
        #: here until the new VMA is in).
        self.pending = 0
        #: Index of the piece of a multi-VMA move being processed, or None.
        self.piece: int | None = None
        #: The next anon_vma identity to hand out; the address space takes it back when the call ends.
        self.anon0 = self.next_anon = mm.next_anon_vma
        self.mc0 = len(self.tree)
        #: The mremap call, for checks that look at it (5.1-alt's prediction, a learner's own check).
        self.mremap_args: MremapArgs | None = None

    # ---- state --------------------------------------------------------------------------------
    @property
    def map_count(self) -> int:
        """``mm->map_count`` right now: VMAs in the tree plus those detached but not yet subtracted."""
        return len(self.tree) + self.pending

    def fn(self, name: str) -> str:
        """The kernel function ``name`` at the profile's release, as trace records show it."""
        return _fn_name(name, self.profile.src)

    # ---- changes (logged) ---------------------------------------------------------------------
    def put(self, v: VMA) -> None:
        """Insert or replace the VMA starting at ``v.start``. O(log n)."""
        t = self.tree
        self.log.append((v.start, t.get(v.start)))
        t[v.start] = v

    def delete(self, start: int) -> VMA:
        """Remove and return the VMA starting at ``start``. O(log n)."""
        v = self.tree.pop(start)
        assert v is not None
        self.log.append((start, v))
        return v

    def new_anon_vma(self) -> int:
        """A fresh anon_vma identity (handed back by :meth:`rollback`)."""
        av = self.next_anon
        self.next_anon += 1
        return av

    def rollback(self) -> None:
        """Undo every change of the call, newest first, and hand back its anon_vma identities. O(k log n)."""
        t = self.tree
        log = self.log
        for i in range(len(log) - 1, -1, -1):  # newest first (a plain loop: mypyc compiles it)
            key, old = log[i]
            if old is None:
                t.pop(key, None)
            else:
                t[key] = old
        self.log.clear()
        self.pending = 0
        self.next_anon = self.anon0

    def changed(self) -> bool:
        """Whether the call changed the VMA list (field by field). O(k)."""
        first: dict[int, VMA | None] = {}
        for key, old in self.log:
            first.setdefault(key, old)
        t = self.tree
        return any(t.get(k) != old for k, old in first.items())

    # ---- trace ---------------------------------------------------------------------------------
    def record(self, step: str, kind: str, fn: str, delta: int = 0, start: int | None = None,
               end: int | None = None, depth: int = 0, **kw: Any) -> Step:
        """Append a trace record (semantics §8) with the map_count after it; return it.

        In lean mode only records with an errno or a failed check are kept (in the
        :class:`~mmsim.trace.TraceSummary`); the others return the call's one scratch record, which a caller
        may still update (its delta, map_count or end) and nobody reads.
        """
        mc = len(self.tree) + self.pending
        seq = self.nrec
        self.nrec = seq + 1
        if not self.lean:
            s = Step(seq, step, kind, _fn_name(fn, self.profile.src), mc, delta, start, end, self.piece,
                     depth=depth, **kw)
            self.trace.append(s)
            return s
        summary = self.trace
        assert isinstance(summary, TraceSummary)
        summary.tally(mc, depth)
        if kw.get("errno") is not None or kw.get("passed") is False:
            s = Step(seq, step, kind, _fn_name(fn, self.profile.src), mc, delta, start, end, self.piece,
                     depth=depth, **kw)
            summary.note(s, self.last_top)
        else:
            s = self.scratch
        if depth == 0:
            self.last_top = step
        return s

    def close(self, parent: Step, mc0: int) -> None:
        """Give a depth-0 record made at map_count ``mc0`` the delta and the map_count of everything recorded
        under it since (its primitives). O(1)."""
        parent.delta, parent.map_count = len(self.tree) + self.pending - mc0, len(self.tree) + self.pending

    def swallow_since(self, n0: int) -> None:
        """Mark the failure of every record since record ``n0`` as swallowed (move_vma's source unmap)."""
        if self.lean:
            assert isinstance(self.trace, TraceSummary)
            self.trace.swallow_since(n0)
            return
        for s in self.trace[n0:]:
            if s.errno is not None:
                s.swallowed = True
        self.trace[n0].swallowed = True

    def fail(self, err: int, name: str, fn: str, detail: str = "", start: int | None = None,
             end: int | None = None) -> MMError:
        """Record a failing argument validation ``validate.<name>`` and return the error to raise."""
        self.record(f"validate.{name}", "validate", fn, start=start, end=end, errno=err)
        return MMError(err, f"validate.{name}", f"{fn}: {detail}" if detail else fn)

    def check(self, check: Check, fn: str, *, depth: int = 0, start: int | None = None,
              end: int | None = None, err: int = E.ENOMEM) -> None:
        """Evaluate a map_count check at the current count; record it; raise ``err`` if it fails.

        A check the call disabled is skipped without a record.
        """
        if check.name in self.disabled:
            return
        mc = len(self.tree) + self.pending
        if check.predicate is None:
            fails = check.fails(mc, self.max_map_count)
            # a passing check's expression is only shown in a full trace
            expr = check.expr.format(mc=mc, max=self.max_map_count) if fails or not self.lean else None
        else:
            fails, expr = check.evaluate(CheckContext(mc, self.max_map_count, self.mm, self.mremap_args))
        self.record(check.name, "check", fn, start=start, end=end, depth=depth, expr=expr, passed=not fails,
                    errno=err if fails else None)
        if fails:
            raise MMError(err, check.name, f"{fn}: {expr}")

    def run_hook(self, hook: str) -> None:
        """Evaluate the profile's anticipatory checks at ``hook`` (:data:`mmsim.checks.HOOKS`), in order."""
        checks = self.profile.checks_at(hook)
        if checks:
            fn = self.profile.kfn(hook)
            for c in checks:
                self.check(c, fn)

    # ---- the transactional profile (ideal, semantics §3.5.9; a project definition) -----------------
    def commit_within_limits(self) -> None:
        """Commit the scratch run only if it stayed within the limits (semantics §6, R1-R3).

        Records ``ideal_commit`` and then ``commit``; raises ENOMEM instead when an enforcing check fired
        (it was swallowed by the flow: R1/R2) or when an mremap raised map_count above the limit (R3).
        """
        fired = next((s for s in self.trace.failures() if s.kind == "check" and s.step in E_CHECKS), None)
        mc, mx, mc0 = len(self.tree), self.max_map_count, self.mc0
        r3 = self.op != "mremap" or mc <= mx or mc <= mc0
        expr = f"E-checks passed={fired is None}; final {mc} <= {mx} or {mc} <= {mc0}: {r3}"
        self.commit_recorded = True
        if fired is not None:
            self.record("ideal_commit", "txn", "ideal", expr=expr, passed=False)
            fired.swallowed = False  # a swallowed enforcing check is the call's failure point
            raise MMError(E.ENOMEM, fired.step, f"{fired.fn}: {fired.expr}")
        if not r3:
            self.record("ideal_commit", "txn", "ideal", expr=expr, passed=False, errno=E.ENOMEM)
            raise MMError(E.ENOMEM, "ideal_commit", expr)
        self.record("ideal_commit", "txn", "ideal", expr=expr, passed=True)
        self.record("commit", "txn", "ideal")

    def abort(self, error: MMError) -> None:
        """Roll a failed transactional call back, recording ``ideal_commit`` (if not yet) and ``rollback``."""
        if not self.commit_recorded:
            self.record("ideal_commit", "txn", "ideal", expr=f"scratch run failed: {error.check}", passed=False)
        self.rollback()
        self.record("rollback", "txn", "ideal")
