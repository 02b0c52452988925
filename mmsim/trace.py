"""Step traces: what a call did, one record per kernel step, with map_count after each.

The record fields follow semantics §8. Depth-0 records are syscall-level steps (a plot's x axis);
depth-1 records are primitives (split, detach, new_vma, ...) inside them, which show transient
peaks of map_count.
"""

from __future__ import annotations

import errno as _errno
from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["Step", "Trace"]


@dataclass(slots=True)
class Step:
    """One record of a trace (semantics §8).

    ``kind`` is ``"check"``, ``"step"``, ``"validate"`` or ``"txn"``; ``fn`` names the mirrored
    kernel function with the version it was read from; ``map_count`` is the count after the step
    and ``delta`` its change; checks carry ``expr`` (e.g. ``"65527 >= 65527"``) and ``passed``;
    the failure point carries ``errno``; a swallowed failure has ``swallowed=True``.
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


class Trace(list):
    """A list of :class:`Step` records with a few conveniences for notebooks and tests."""

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
