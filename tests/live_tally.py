"""The number of live operations compared with the model in this test run (printed by conftest)."""

from __future__ import annotations

#: [compared, matched]
TALLY = [0, 0]


def record(comparison) -> None:
    """Add a :class:`mmsim.live.Comparison` to the run's tally."""
    TALLY[0] += comparison.n_ops
    TALLY[1] += comparison.n_matched
