"""Step traces: what a call did, one record per kernel step, with map_count after each.

The record fields follow semantics §8. Depth-0 records are syscall-level steps (a plot's x axis);
depth-1 records are primitives (split, detach, new_vma, ...) inside them, which show transient
peaks of map_count.
"""

from __future__ import annotations

import errno as _errno
from dataclasses import asdict, dataclass
from typing import Any

from .kinds import StepKind
from .native import mypyc_attr

__all__ = ["Step", "Trace", "TraceSummary"]


@dataclass(slots=True)
class Step:
    """One record of a trace (semantics §8).

    ``kind`` is ``"check"``, ``"step"``, ``"validate"`` or ``"txn"``; ``fn`` names the mirrored
    kernel function with the version it was read from; ``map_count`` is the count after the step
    and ``delta`` its change; checks carry ``expr`` (e.g. ``"65527 >= 65527"``) and ``passed``;
    the failure point carries ``errno``; a swallowed failure has ``swallowed=True``.

    >>> from mmsim import AddressSpace, MAP_ANONYMOUS, MAP_PRIVATE, PAGE_SIZE, PROT_NONE, PROT_READ
    >>> mm = AddressSpace("5.1", max_map_count=6)
    >>> a = mm.mmap(0, 4 * PAGE_SIZE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS)
    >>> mm.mprotect(a + PAGE_SIZE, PAGE_SIZE, PROT_NONE)
    >>> s = mm.trace[0]                                  # split_vma()'s map_count check
    >>> s.kind, s.fn, s.expr, s.passed, s.errno
    ('check', 'split_vma@5.1', '1 >= 6', True, None)
    """

    seq: int
    step: str
    kind: str
    fn: str
    map_count: int
    delta: int = 0
    start: int | None = None
    end: int | None = None
    piece: int | None = None
    expr: str | None = None
    passed: bool | None = None
    errno: int | None = None
    swallowed: bool = False
    depth: int = 0

    def __post_init__(self) -> None:
        self.kind = StepKind(self.kind)

    @property
    def failed(self) -> bool:
        """True for the record that carries the call's error."""
        return self.errno is not None

    def describe(self) -> str:
        """One readable line."""
        rng = f" [{self.start:#x}, {self.end:#x})" if self.start is not None and self.end is not None else ""
        piece = f" piece {self.piece}" if self.piece is not None else ""
        what = f" {self.expr} -> {'pass' if self.passed else 'FAIL'}" if self.expr is not None else ""
        err = f"  <-- {_errno.errorcode.get(self.errno, self.errno)}" if self.errno is not None else ""
        sw = " (swallowed)" if self.swallowed else ""
        indent = "    " * self.depth
        d = f"{self.delta:+d}" if self.delta else "  "
        return f"{self.seq:3d} {indent}{self.step}{piece}{rng}{what}{sw}  mc={self.map_count} {d}{err}"


@mypyc_attr(native_class=False)  # a list subclass stays a Python class when compiled
class Trace(list[Step]):
    """A list of :class:`Step` records with a few conveniences for notebooks and tests.

    >>> from mmsim import AddressSpace, MAP_ANONYMOUS, MAP_PRIVATE, PAGE_SIZE, PROT_NONE, PROT_READ
    >>> mm = AddressSpace("5.1", max_map_count=6)
    >>> a = mm.mmap(0, 4 * PAGE_SIZE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS)
    >>> mm.mprotect(a + PAGE_SIZE, PAGE_SIZE, PROT_NONE)   # the middle page: split twice
    >>> mm.trace.steps()
    ['split_limit', 'split', 'split_limit', 'split', 'set_flags']
    >>> [s.map_count for s in mm.trace], mm.trace.failure is None
    ([1, 2, 2, 3, 3], True)
    """

    @property
    def failure(self) -> Step | None:
        """The record that carries the call's errno, or None if the call succeeded."""
        for s in self:
            if s.errno is not None and not s.swallowed:
                return s
        return None

    @property
    def failed_check(self) -> str | None:
        """Name of the failing step (a check name such as ``"move_vma_limit"``), or None."""
        f = self.failure
        return f.step if f is not None else None

    def top(self) -> list[Step]:
        """The depth-0 records (a plot's x axis)."""
        return [s for s in self if s.depth == 0]

    def steps(self) -> list[str]:
        """Names of the depth-0 records, in order."""
        return [s.step for s in self if s.depth == 0]

    def peak(self) -> int | None:
        """Highest map_count seen at any depth (the transient peak), or None if empty."""
        return max((s.map_count for s in self), default=None)

    @property
    def n_top(self) -> int:
        """How many depth-0 records there are."""
        return sum(1 for s in self if s.depth == 0)

    def failures(self) -> list[Step]:
        """Every record that carries an errno, swallowed ones included, in order."""
        return [s for s in self if s.errno is not None]

    def any_failed_check(self) -> bool:
        """Whether some check failed (even one whose failure the flow swallowed)."""
        return any(s.kind == "check" and s.passed is False for s in self)

    def where(self, rec: Step) -> str:
        """The depth-0 step a record belongs to (itself if it is one)."""
        if rec.depth == 0:
            return rec.step
        return next((s.step for s in reversed(self[: rec.seq]) if s.depth == 0), rec.step)

    def to_records(self) -> list[dict[str, Any]]:
        """The records as plain dicts (e.g. for ``pandas.DataFrame``)."""
        return [asdict(s) for s in self]

    def to_dataframe(self):
        """The trace as a ``pandas.DataFrame`` (one row per record)."""
        import pandas as pd

        return pd.DataFrame(self.to_records())

    def __str__(self) -> str:
        return "\n".join(s.describe() for s in self)

    def _repr_pretty_(self, p, cycle) -> None:  # IPython
        p.text(str(self) if not cycle else "Trace(...)")


@mypyc_attr(native_class=False)
class TraceSummary(Trace):
    """What a call did without its records: the trace-less fast path of sweeps (``classify(..., trace=False)``).

    It holds no records (it is an empty :class:`Trace`) but keeps what a classification needs: the records
    that carry an errno (checks that failed included), the depth-0 step each belongs to, the transient
    peak of map_count and the number of depth-0 records. :meth:`steps` and :meth:`top` are not available.

    >>> t = TraceSummary(); t.n_top, t.peak(), t.failure
    (0, None, None)
    """

    __slots__ = ("_failures", "_where", "_peak", "_n_top", "n_records")

    def __init__(self) -> None:
        # An empty list needs no list.__init__ (and mypyc's super() in a non-native class is unreliable).
        self._failures: list[Step] = []
        self._where: dict[int, str] = {}
        self._peak: int | None = None
        self._n_top = 0
        #: How many records the call made (and did not keep).
        self.n_records = 0

    def tally(self, map_count: int, depth: int) -> None:
        """Count one record (kept or not) made at ``map_count``, at call depth ``depth``. O(1)."""
        self.n_records += 1
        if self._peak is None or map_count > self._peak:
            self._peak = map_count
        if depth == 0:
            self._n_top += 1

    def swallow_since(self, seq: int) -> None:
        """Mark every kept failure from record ``seq`` on as swallowed (move_vma's source unmap)."""
        for f in self._failures:
            if f.seq >= seq and f.errno is not None:
                f.swallowed = True

    def note(self, s: Step, last_top: str | None) -> None:
        """Keep a record that carries an errno (or a failed check), with the depth-0 step it belongs to."""
        self._failures.append(s)
        self._where[s.seq] = s.step if s.depth == 0 or last_top is None else last_top

    @property
    def failure(self) -> Step | None:
        for s in self._failures:
            if s.errno is not None and not s.swallowed:
                return s
        return None

    def failures(self) -> list[Step]:
        return [s for s in self._failures if s.errno is not None]

    def any_failed_check(self) -> bool:
        return any(s.kind == "check" and s.passed is False for s in self._failures)

    def where(self, rec: Step) -> str:
        return self._where.get(rec.seq, rec.step)

    def peak(self) -> int | None:
        return self._peak

    @property
    def n_top(self) -> int:
        return self._n_top

    def top(self) -> list[Step]:
        raise ValueError("a TraceSummary keeps no records: classify with trace=True to get them")

    def steps(self) -> list[str]:
        raise ValueError("a TraceSummary keeps no records: classify with trace=True to get them")

    def __str__(self) -> str:
        f = self.failure
        return (f"<trace summary: {self.n_records} records, {self._n_top} steps, peak {self._peak}"
                + (f", failed at {f.step}>" if f is not None else ">"))
