"""``sweep(..., n_jobs=N)``: joblib workers give exactly the serial result, in the same order."""

from __future__ import annotations

import pytest

from mmsim import experiments as X
from mmsim import scenarios as S


@pytest.mark.slow
def test_parallel_sweep_equals_serial() -> None:
    scs = list(S.CATALOGUE.values())[:8] + S.random_scenarios(12, seed=3)
    serial = X.sweep(scs, free_slots=range(-1, 9), progress=False)
    parallel = X.sweep(scs, free_slots=range(-1, 9), progress=False, n_jobs=2)
    assert parallel.equals(serial)
    assert len(serial) == len(scs) * len(X.KERNELS) * 10


def test_parallel_max_map_count_sweep_equals_serial() -> None:
    serial = X.sweep(["seed-W", "k-whole-3"], max_map_counts=range(3, 12), progress=False)
    assert X.sweep(["seed-W", "k-whole-3"], max_map_counts=range(3, 12), progress=False, n_jobs=2).equals(serial)


@pytest.mark.parametrize("bad", [0, -2, 1.5, True, "2"])
def test_n_jobs_is_validated(bad) -> None:
    with pytest.raises(ValueError, match="n_jobs"):
        X.sweep("seed-W", free_slots=[0], progress=False, n_jobs=bad)
