"""The trace-less fast path (``classify(..., trace=False)``) classifies exactly as the traced path does.

A :class:`mmsim.trace.TraceSummary` keeps only the failures, the peak and the number of steps; every column
of a sweep row must come out the same as from the full trace, on every profile, at free-slot counts on
both sides of every threshold (-1 to 8), for the catalogue and random mremap scenarios.
"""

from __future__ import annotations

import pytest

import mmsim
from mmsim import scenarios as S
from mmsim.trace import TraceSummary

SCENARIOS = list(S.CATALOGUE.values()) + S.random_scenarios(150, seed=11)


@pytest.mark.parametrize("kernel", mmsim.KERNELS)
def test_trace_less_classify_gives_the_same_rows(kernel: str) -> None:
    compared = 0
    for sc in SCENARIOS:
        for free_slots in (-1, 0, 1, 2, 3, 4, 5, 6, 8):
            try:
                mm = sc.setup(kernel, 200, free_slots)
            except ValueError:  # the layout cannot have that many free slots
                continue
            full = mmsim.classify(mm, sc.op, *sc.args)
            lean = mmsim.classify(mm, sc.op, *sc.args, trace=False)
            assert isinstance(lean.trace, TraceSummary) and len(lean.trace) == 0
            assert lean.as_row() == full.as_row(), (sc.name, free_slots)
            assert lean.trace.n_records == len(full.trace)
            # the peak includes the starting count (Outcome.peak); the summary's own peak may also count the
            # moment before a step's first change, which the full trace records only as mc_before
            assert max(full.mc_before, lean.trace.peak() or 0) == full.peak
            if full.trace.failure is not None:
                assert lean.trace.failure.step == full.trace.failure.step
            mm.check_invariants()
            compared += 1
    assert compared > len(SCENARIOS)


def test_summary_refuses_what_it_does_not_keep() -> None:
    sc = S.get("seed-W")
    o = mmsim.classify(sc.setup("5.0", 100, 3), sc.op, *sc.args, trace=False)
    with pytest.raises(ValueError, match="trace=True"):
        o.trace.steps()
