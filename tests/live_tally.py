"""The number of live operations compared with the model in this test run (printed by conftest)."""

from __future__ import annotations

#: [compared, matched]
TALLY = [0, 0]
#: [compared, matched] for Linux 6.1 (user-mode Linux) against profile 6.1
TALLY_61 = [0, 0]


def record(comparison) -> None:
    """Add a :class:`mmsim.live.Comparison` to the run's tally (profile 6.1's to its own)."""
    tally = TALLY_61 if comparison.kernel == "6.1" else TALLY
    tally[0] += comparison.n_ops
    tally[1] += comparison.n_matched
