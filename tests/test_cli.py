"""Tests of the command line (mmsim.cli.main and python -m mmsim): output and exit codes."""

from __future__ import annotations

import os

os.environ.setdefault("MPLBACKEND", "Agg")

import subprocess  # noqa: E402
import sys  # noqa: E402

import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from mmsim import cli  # noqa: E402
from mmsim.scenarios import CATALOGUE  # noqa: E402


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    rc = cli.main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


# ---- list and help -------------------------------------------------------------------------------------


def test_list(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = run(capsys, "list")
    assert rc == 0
    for name, sc in CATALOGUE.items():
        assert name in out and sc.description in out
    rc, out, _ = run(capsys, "list", "--family", "mprotect")
    assert rc == 0 and "mprotect-3way" in out and "seed-W" not in out


@pytest.mark.parametrize("argv", [["--help"], ["list", "--help"], ["trace", "--help"], ["sweep", "--help"],
                                  ["live", "--help"], ["layout", "--help"]])
def test_help_everywhere(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    rc, out, _ = run(capsys, *argv)
    assert rc == 0 and "usage: mmsim" in out


@pytest.mark.parametrize("argv, message", [
    ([], "required"),
    (["frobnicate"], "invalid choice"),
    (["trace", "nope"], "unknown scenario 'nope'"),
    (["trace", "seed-W", "--kernel", "4.19"], "unknown kernel profile '4.19'"),
    (["trace", "seed-W", "--slack", "-5"], "free slots must be >= -1"),
    (["trace", "seed-W", "--slack", "x"], "not an integer"),
    (["sweep", "--slacks", "0:x"], "not an integer range"),
    (["sweep", "--slacks", "5:0"], "empty range"),
    (["sweep", "--slacks", "0:3", "--max-map-counts", "5:8"], "not allowed with"),
    (["sweep", "--scenarios", "seed-W", "nope"], "unknown scenario"),
    (["sweep", "--family", "nope"], "unknown family"),
    (["list", "--family", "nope"], "unknown family"),
    (["layout", "seed-W", "--kernel", "x"], "unknown kernel"),
    (["live", "nope"], "unknown scenario"),
    (["trace", "multi-vma", "--max-map-count", "5", "--slack", "3"], "cannot have"),
])
def test_bad_arguments_exit_2_without_traceback(capsys: pytest.CaptureFixture[str], argv: list[str],
                                                message: str) -> None:
    rc, out, err = run(capsys, *argv)
    assert rc == 2
    assert message in err
    assert "Traceback" not in out + err
    assert "usage:" in err


def test_parse_int_range() -> None:
    assert cli.parse_int_range("0:17") == list(range(17))
    assert cli.parse_int_range("0:17:4") == [0, 4, 8, 12, 16]
    assert cli.parse_int_range("3") == [3]
    assert cli.parse_int_range("1,3,5") == [1, 3, 5]
    assert cli.parse_int_range("-1:2") == [-1, 0, 1]
    for bad in ("", "a", "1:2:3:4", "0:5:0", "3:1"):
        with pytest.raises(ValueError):
            cli.parse_int_range(bad)


# ---- trace and layout ----------------------------------------------------------------------------------


def test_trace(capsys: pytest.CaptureFixture[str], tmp_path) -> None:
    png = tmp_path / "trace.png"
    rc, out, _ = run(capsys, "trace", "seed-W", "--kernel", "5.0", "--kernel", "5.1", "--slack", "3",
                     "--png", str(png))
    assert rc == 0
    assert "== kernel 5.0: PARTIAL_FAIL (ENOMEM at move_vma_limit)" in out
    assert "65527 -> 65529" in out
    assert "== kernel 5.1: CLEAN_FAIL (ENOMEM at mremap_early)" in out
    assert "unmap_destination" in out and "split" in out  # depth-1 records too
    assert "== kernel 7.1" not in out
    assert png.stat().st_size > 1000 and f"wrote {png}" in out


def test_trace_defaults_and_top(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = run(capsys, "trace", "seed-S", "--slack", "5", "--top", "--max-map-count", "1000")
    assert rc == 0
    assert out.count("== kernel") == 6  # all kernels by default
    assert "FALSE_POSITIVE" in out  # spec §7.2: 5.1 / 6.18 at s = 5
    assert "    split" not in out


def test_layout(capsys: pytest.CaptureFixture[str], tmp_path) -> None:
    png = tmp_path / "layout.png"
    rc, out, _ = run(capsys, "layout", "seed-W", "--kernel", "5.0", "--slack", "3", "--png", str(png))
    assert rc == 0
    assert "PARTIAL_FAIL" in out and "rw-p" in out and "r--p" in out
    before, after = out.split("\nafter")
    assert before.count("rw-p") == 1 and after.count("rw-p") == 2
    assert png.exists()
    rc, out, _ = run(capsys, "layout", "relocate-whole", "--slack", "8", "--max-map-count", "200")
    assert rc == 0 and "outside this window" in out


# ---- sweep ---------------------------------------------------------------------------------------------


def test_sweep_writes_csv_and_png(capsys: pytest.CaptureFixture[str], tmp_path) -> None:
    csv, png, rates = tmp_path / "s.csv", tmp_path / "map.png", tmp_path / "rates.png"
    rc, out, _ = run(capsys, "sweep", "--scenarios", "seed-W", "seed-S", "--kernels", "5.0", "5.1",
                     "--slacks", "0:4", "--csv", str(csv), "--png", str(png), "--rates-png", str(rates))
    assert rc == 0
    assert "16 cases: 2 scenarios x 2 kernels" in out
    assert "PARTIAL_FAIL" in out and "false_positive" in out
    df = pd.read_csv(csv)
    assert len(df) == 16 and list(df.columns)[:5] == ["scenario", "family", "kernel", "max_map_count", "slack"]
    assert png.stat().st_size > 1000 and rates.stat().st_size > 1000


def test_sweep_variants(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = run(capsys, "sweep", "--family", "mprotect", "--kernels", "6.18", "--slacks=-1:2")
    assert rc == 0 and "6 cases: 2 scenarios x 1 kernels x free slots -1..1" in out
    rc, out, _ = run(capsys, "sweep", "--scenarios", "munmap-punch", "--max-map-counts", "0:4")
    assert rc == 0 and "24 cases" in out and "max_map_count 0..3" in out
    rc, out, _ = run(capsys, "sweep", "--random", "3", "--seed", "1", "--kernels", "7.1", "--slacks", "2")
    assert rc == 0 and "3 cases: 3 scenarios" in out


# ---- live ----------------------------------------------------------------------------------------------


def test_live_unavailable_is_a_clean_error(capsys: pytest.CaptureFixture[str],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "mmsim.live", None)  # import fails
    monkeypatch.delattr("mmsim.live", raising=False)
    rc, out, err = run(capsys, "live", "seed-W", "--slack", "3")
    assert rc == 1
    assert "live runs are unavailable" in err and "Traceback" not in out + err


def test_live_failure_is_a_clean_error(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    from mmsim import live

    def boom(*a, **k):
        raise live.LiveError("the live child was killed by SIGKILL")

    monkeypatch.setattr(live, "compare", boom)
    rc, out, err = run(capsys, "live", "seed-W", "--slack", "3")
    if "unavailable here" in err:
        pytest.skip(err)
    assert rc == 1 and "live run failed: the live child was killed" in err and "Traceback" not in out + err


@pytest.mark.live
def test_live_seed_w(capsys: pytest.CaptureFixture[str]) -> None:
    from mmsim import live

    info = live.kernel_info()
    if not info.supported:
        pytest.skip(info.reason)
    rc, out, err = run(capsys, "live", "seed-W", "--slack", "3")
    assert rc == 0, out + err
    assert "live and model agree" in out and "4/4 operations match" in out
    assert "model classification" in out


# ---- python -m mmsim ------------------------------------------------------------------------------------


def test_python_dash_m() -> None:
    ok = subprocess.run([sys.executable, "-m", "mmsim", "list"], capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0 and "seed-W" in ok.stdout
    bad = subprocess.run([sys.executable, "-m", "mmsim", "trace", "nope"], capture_output=True, text=True,
                         timeout=120)
    assert bad.returncode == 2 and "unknown scenario" in bad.stderr and "Traceback" not in bad.stderr
