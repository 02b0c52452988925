"""Studies beyond one process: a sweep on a Dask cluster equals the serial sweep (rows, order, dtypes and
metadata), the work goes out in chunks (a million cases are tens of tasks), and a sweep is a Parquet file
that loads back with what its rows stand for."""

from __future__ import annotations

import re

import pandas as pd
import pytest

import mmsim
from mmsim import experiments as X
from mmsim import parallel
from mmsim import scenarios as S
from mmsim.cli import main as cli_main

SCENARIOS = list(S.CATALOGUE.values())[:6] + S.random_scenarios(6, seed=11)


@pytest.mark.parametrize("n_tasks,per_task,workers", [(1, 1, 1), (7, 3, 2), (300, 31, 2), (5000, 17, 8),
                                                     (100_000, 10, 2), (3, 100_000, 2)])
def test_chunks_cover_every_column_once_in_order(n_tasks: int, per_task: int, workers: int) -> None:
    cs = parallel.chunks(n_tasks, per_task, workers)
    assert [i for c in cs for i in c] == list(range(n_tasks))  # contiguous, in order, each column once
    sizes = [len(c) * per_task for c in cs]
    if len(cs) > 1:  # more than one chunk only when each is worth a task
        assert min(sizes) >= parallel.MIN_CHUNK_CASES // 2
    # a chunk holds at most MAX_CHUNK_CASES cases unless one column alone is bigger (columns are not split)
    assert max(sizes) <= max(parallel.MAX_CHUNK_CASES * 1.5, per_task)


def test_a_million_cases_are_tens_of_tasks() -> None:
    assert 1_000_000 / parallel.MAX_CHUNK_CASES <= len(parallel.chunks(100_000, 10, 2)) <= 100


def test_the_frame_says_what_its_rows_stand_for() -> None:
    df = X.sweep(["seed-W", "seed-S"], kernels=["5.0", "6.12"], free_slots=range(0, 5), progress=False)
    meta = df.attrs["mmsim"]
    assert meta["axis"] == "free_slots" and meta["values"] == [0, 1, 2, 3, 4] and meta["max_map_count"] == 65530
    assert meta["exact"] is False and meta["mmsim_version"] == mmsim.__version__
    assert set(meta["profiles"]) == set(df["kernel"])
    for k, p in meta["profiles"].items():
        prof = mmsim.PROFILES[k]
        assert p["releases"] == prof.releases and p["features"] == sorted(prof.features)
        assert p["src"] == prof.src
    by_max = X.sweep("seed-W", kernels="5.1", max_map_counts=[5, 9], progress=False).attrs["mmsim"]
    assert by_max["axis"] == "max_map_count" and by_max["values"] == [5, 9]


def test_parquet_round_trip(tmp_path) -> None:
    pytest.importorskip("pyarrow")
    df = X.sweep(SCENARIOS, kernels=["5.0", "5.1", "5.10", "7.1"], free_slots=range(-1, 7), progress=False)
    path = tmp_path / "study.parquet"
    df.to_parquet(path)
    back = mmsim.read_sweep(path)
    pd.testing.assert_frame_equal(back, df)
    assert back.dtypes.equals(df.dtypes)
    assert back.attrs == df.attrs


def test_read_sweep_refuses_what_is_not_a_sweep(tmp_path) -> None:
    pytest.importorskip("pyarrow")
    df = X.sweep("seed-W", kernels=["5.0"], free_slots=[0, 1], progress=False)
    plain = tmp_path / "plain.parquet"
    pd.DataFrame({"a": [1]}).to_parquet(plain)
    with pytest.raises(ValueError, match="not an mmsim sweep"):
        mmsim.read_sweep(plain)
    renamed = tmp_path / "renamed.parquet"
    df.rename(columns={"free_slots": "free"}).to_parquet(renamed)
    with pytest.raises(ValueError, match="columns"):
        mmsim.read_sweep(renamed)
    foreign = tmp_path / "foreign.parquet"
    other = df.copy()
    other["kernel"] = "9.9"
    other.to_parquet(foreign)
    with pytest.raises(ValueError, match="9.9"):
        mmsim.read_sweep(foreign)


def test_cli_writes_a_parquet_study(tmp_path, capsys) -> None:
    pytest.importorskip("pyarrow")
    path = tmp_path / "cli.parquet"
    assert cli_main(["sweep", "--scenarios", "seed-W", "--kernels", "5.0", "5.1", "--free-slots", "0:4",
                     "--parquet", str(path), "--jobs", "2"]) == 0
    assert f"wrote {path} (8 rows" in capsys.readouterr().out
    back = mmsim.read_sweep(path)
    pd.testing.assert_frame_equal(back, X.sweep("seed-W", kernels=["5.0", "5.1"], free_slots=range(0, 4),
                                                progress=False))
    assert cli_main(["sweep", "--scenarios", "seed-W", "--parquet", str(tmp_path / "x.csv")]) == 2
    err = capsys.readouterr().err
    assert "must end in .parquet" in err and "Traceback" not in err
    assert cli_main(["sweep", "--scenarios", "seed-W", "--jobs", "0"]) == 2


def test_n_jobs_and_scheduler_are_exclusive() -> None:
    with pytest.raises(ValueError, match="n_jobs or scheduler"):
        X.sweep("seed-W", free_slots=[0], progress=False, n_jobs=2, scheduler="tcp://127.0.0.1:1")


@pytest.fixture(scope="module")
def cluster():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None) as c, distributed.Client(c) as client:
        yield client


@pytest.mark.slow
def test_a_sweep_on_dask_is_the_serial_sweep(cluster, capsys) -> None:
    serial = X.sweep(SCENARIOS, free_slots=range(-1, 9), progress=False)
    on_dask = X.sweep(SCENARIOS, free_slots=range(-1, 9), progress=True, scheduler=cluster)
    pd.testing.assert_frame_equal(on_dask, serial)
    assert on_dask.dtypes.equals(serial.dtypes) and on_dask.attrs == serial.attrs
    # the bar moved as chunks completed (tqdm redraws at most every 0.1 s, so not every chunk shows)
    shown = {int(m) for m in re.findall(rf"(\d+)/{len(serial)} ", capsys.readouterr().err)}
    assert len(shown - {0}) >= 1 and max(shown) <= len(serial)


@pytest.mark.slow
def test_a_sweep_on_dask_by_address(cluster) -> None:
    address = cluster.scheduler.address
    assert address.startswith("tcp://127.0.0.1:")
    serial = X.sweep(["seed-W", "k-whole-3"], max_map_counts=range(3, 12), progress=False)
    assert X.sweep(["seed-W", "k-whole-3"], max_map_counts=range(3, 12), progress=False,
                   scheduler=address).equals(serial)


def test_a_scheduler_of_the_wrong_type_is_a_type_error() -> None:
    pytest.importorskip("distributed")
    with pytest.raises(TypeError, match="scheduler"):
        X.sweep(["seed-W", "seed-S"], free_slots=[0, 1], progress=False, scheduler=42)


def test_the_compiled_modules_are_the_ones_setup_builds() -> None:
    """setup.py reads mmsim.native.COMPILED without importing mmsim; each names a module file of the tree."""
    import ast
    from pathlib import Path

    from mmsim import native

    root = Path(__file__).resolve().parents[1]
    tree = ast.parse((root / "setup.py").read_text())
    env: dict = {"__file__": str(root / "setup.py"), "__name__": "not_main"}
    funcs = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name in ("_compiled", "_paths")]
    code = compile(ast.Module(body=[ast.parse("import ast, os, sys\nfrom pathlib import Path").body[0],
                                    ast.parse("from pathlib import Path").body[0],
                                    ast.parse(f"HERE = Path({str(root)!r})").body[0], *funcs], type_ignores=[]),
                   "setup.py", "exec")
    exec(code, env)
    assert env["_compiled"]() == native.COMPILED
    for path in env["_paths"](native.COMPILED):
        assert (root / path).is_file(), path
    assert set(native.compiled_modules()) <= set(native.COMPILED)
