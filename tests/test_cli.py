"""Tests of the command line (mmsim.cli.main and python -m mmsim): output and exit codes."""

from __future__ import annotations

import os

os.environ.setdefault("MPLBACKEND", "Agg")

import subprocess  # noqa: E402
import sys  # noqa: E402

import pandas as pd  # noqa: E402
import pytest  # noqa: E402

import mmsim  # noqa: E402
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
                                  ["live", "--help"], ["layout", "--help"], ["quiz", "--help"]])
def test_help_everywhere(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    rc, out, _ = run(capsys, *argv)
    assert rc == 0 and "usage: mmsim" in out


@pytest.mark.parametrize("argv, message", [
    ([], "required"),
    (["frobnicate"], "invalid choice"),
    (["trace", "nope"], "unknown scenario 'nope'"),
    (["trace", "seed-W", "--kernel", "4.19"], "unknown kernel profile '4.19'"),
    (["trace", "seed-W", "--free-slots", "-5"], "free slots must be >= -1"),
    (["trace", "seed-W", "--free-slots", "x"], "not an integer"),
    (["sweep", "--free-slots", "0:x"], "not an integer range"),
    (["sweep", "--free-slots", "5:0"], "empty range"),
    (["sweep", "--free-slots", "0:3", "--max-map-counts", "5:8"], "not allowed with"),
    (["sweep", "--scenarios", "seed-W", "nope"], "unknown scenario"),
    (["sweep", "--family", "nope"], "unknown family"),
    (["list", "--family", "nope"], "unknown family"),
    (["layout", "seed-W", "--kernel", "x"], "unknown kernel"),
    (["live", "nope"], "unknown scenario"),
    (["trace", "multi-vma", "--max-map-count", "5", "--free-slots", "3"], "cannot have"),
])
def test_bad_arguments_exit_2_without_traceback(capsys: pytest.CaptureFixture[str], argv: list[str],
                                                message: str) -> None:
    rc, out, err = run(capsys, *argv)
    assert rc == 2
    assert message in err
    assert "Traceback" not in out + err
    assert err.count("\n") == 1 and err.endswith("\n")  # the README's "one-line message"


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
    rc, out, _ = run(capsys, "trace", "seed-W", "--kernel", "5.0", "--kernel", "5.1", "--free-slots", "3",
                     "--png", str(png))
    assert rc == 0
    assert "== kernel 5.0: PARTIAL_FAIL (ENOMEM at move_vma_limit)" in out
    assert "65527 -> 65529" in out
    assert "== kernel 5.1: CLEAN_FAIL (ENOMEM at mremap_early)" in out
    assert "unmap_destination" in out and "split" in out  # depth-1 records too
    assert "== kernel 7.1" not in out
    assert png.stat().st_size > 1000 and f"wrote {png}" in out


def test_trace_defaults_and_top(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = run(capsys, "trace", "seed-S", "--free-slots", "5", "--top", "--max-map-count", "1000")
    assert rc == 0
    assert out.count("== kernel") == len(mmsim.KERNELS)  # all kernels by default
    assert "FALSE_POSITIVE" in out  # semantics §7.2: 5.1 / 6.18 at s = 5
    assert "    split" not in out


def test_layout(capsys: pytest.CaptureFixture[str], tmp_path) -> None:
    png = tmp_path / "layout.png"
    rc, out, _ = run(capsys, "layout", "seed-W", "--kernel", "5.0", "--free-slots", "3", "--png", str(png))
    assert rc == 0
    assert "PARTIAL_FAIL" in out and "rw-p" in out and "r--p" in out
    before, after = out.split("\nafter")
    assert before.count("rw-p") == 1 and after.count("rw-p") == 2
    assert png.exists()
    rc, out, _ = run(capsys, "layout", "relocate-whole", "--free-slots", "8", "--max-map-count", "200")
    assert rc == 0 and "outside this window" in out


# ---- sweep ---------------------------------------------------------------------------------------------


def test_sweep_writes_csv_and_png(capsys: pytest.CaptureFixture[str], tmp_path) -> None:
    csv, png, rates = tmp_path / "s.csv", tmp_path / "map.png", tmp_path / "rates.png"
    rc, out, _ = run(capsys, "sweep", "--scenarios", "seed-W", "seed-S", "--kernels", "5.0", "5.1",
                     "--free-slots", "0:4", "--csv", str(csv), "--png", str(png), "--rates-png", str(rates))
    assert rc == 0
    assert "16 cases: 2 scenarios x 2 kernels" in out
    assert "PARTIAL_FAIL" in out and "false_positive" in out
    df = pd.read_csv(csv)
    assert len(df) == 16 and list(df.columns)[:5] == ["scenario", "family", "kernel", "max_map_count", "free_slots"]
    assert png.stat().st_size > 1000 and rates.stat().st_size > 1000


def test_sweep_variants(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = run(capsys, "sweep", "--family", "mprotect", "--kernels", "6.18", "--free-slots=-1:2")
    assert rc == 0 and "6 cases: 2 scenarios x 1 kernels x free slots -1..1" in out
    rc, out, _ = run(capsys, "sweep", "--scenarios", "munmap-punch", "--max-map-counts", "0:4")
    assert rc == 0 and f"{4 * len(mmsim.KERNELS)} cases" in out and "max_map_count 0..3" in out
    rc, out, _ = run(capsys, "sweep", "--random", "3", "--seed", "1", "--kernels", "7.1", "--free-slots", "2")
    assert rc == 0 and "3 cases: 3 scenarios" in out


# ---- live ----------------------------------------------------------------------------------------------


def test_live_unavailable_is_a_clean_error(capsys: pytest.CaptureFixture[str],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    import mmsim

    monkeypatch.setitem(sys.modules, "mmsim.live", None)  # import fails
    if "live" in vars(mmsim):  # imported by an earlier test; not looked up (that would import it)
        monkeypatch.delattr(mmsim, "live")
    rc, out, err = run(capsys, "live", "seed-W", "--free-slots", "3")
    assert rc == 1
    assert "live runs are unavailable" in err and "Traceback" not in out + err


def test_live_failure_is_a_clean_error(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    from mmsim import live

    def boom(*a, **k):
        raise live.LiveError("the live child was killed by SIGKILL")

    monkeypatch.setattr(live, "compare", boom)
    rc, out, err = run(capsys, "live", "seed-W", "--free-slots", "3")
    if "unavailable here" in err:
        pytest.skip(err)
    assert rc == 1 and "live run failed: the live child was killed" in err and "Traceback" not in out + err


@pytest.mark.live
def test_live_seed_w(capsys: pytest.CaptureFixture[str], host) -> None:
    rc, out, err = run(capsys, "live", "seed-W", "--free-slots", "3")
    assert rc == 0, out + err
    assert "live and model agree" in out and "all 4 operations match" in out
    assert "model classification" in out


# ---- python -m mmsim ------------------------------------------------------------------------------------


def test_python_dash_m() -> None:
    ok = subprocess.run([sys.executable, "-m", "mmsim", "list"], capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0 and "seed-W" in ok.stdout
    bad = subprocess.run([sys.executable, "-m", "mmsim", "trace", "nope"], capture_output=True, text=True,
                         timeout=120)
    assert bad.returncode == 2 and "unknown scenario" in bad.stderr and "Traceback" not in bad.stderr


# ---- every bad input: exit 2, one line, no traceback, nothing done --------------------------------------

HUGE = "9" * 5000  # more digits than Python converts to int without being told to
TASK_SIZE_X86_64 = 0x7FFFFFFFF000  # arch/x86/include/asm/page_64_types.h, 4-level paging


def _bad_inputs(tmp: str) -> list[tuple[list[str], str]]:
    """(argv, a fragment of the message) for bad values of every option and positional of every command."""
    missing_dir = f"{tmp}/no/such/dir"
    return [
        ([], "required: COMMAND"),
        (["frobnicate"], "invalid choice"),
        (["--frob"], "required: COMMAND"),
        # list
        (["list", "--family", "nope"], "unknown family 'nope'"),
        (["list", "--family"], "expected one argument"),
        (["list", "extra"], "unrecognized arguments: extra"),
        # trace
        (["trace"], "required: SCENARIO"),
        (["trace", "nope"], "unknown scenario 'nope'"),
        (["trace", "k-whole-0"], "unknown scenario 'k-whole-0'"),
        (["trace", "k-whole-65537"], "k-whole-N needs 1 <= N <= 65536"),
        (["trace", "k-whole-100000"], "k-whole-N needs 1 <= N <= 65536"),
        (["trace", "k-whole-99999999"], "k-whole-N needs 1 <= N <= 65536"),
        (["trace", f"k-whole-{HUGE}"], "k-whole-N needs 1 <= N <= 65536"),
        (["trace", "seed-W", "--free-slots", "-5"], "free slots must be >= -1"),
        (["trace", "seed-W", "--free-slots", "x"], "not an integer"),
        (["trace", "seed-W", "--free-slots", HUGE], "5000 digits"),
        (["trace", "seed-W", "--free-slots", "70000"], "cannot have 70000 free slots"),
        (["trace", "seed-W", "--max-map-count", "-1"], "must be 0..2147483647"),
        (["trace", "seed-W", "--max-map-count", "2147483648"], "must be 0..2147483647"),
        (["trace", "seed-W", "--max-map-count", str(10**23)], "must be 0..2147483647"),
        (["trace", "seed-W", "--max-map-count", "99999999999999999999"], "must be 0..2147483647"),
        (["trace", "seed-W", "--max-map-count", "3000000"], "the limit is 2000000"),
        (["trace", "seed-W", "--max-map-count", "4"], "cannot have 3 free slots"),  # seed-W has 2 VMAs
        (["trace", "seed-W", "--kernel", "4.19"], "unknown kernel profile '4.19'"),
        (["trace", "seed-W", "-k", "4.19"], "unknown kernel profile '4.19'"),
        (["trace", "seed-W", "--top=yes"], "ignored explicit argument"),
        (["trace", "seed-W", "--png", f"{missing_dir}/t.png"], "does not exist"),
        (["trace", "seed-W", "--png", f"{tmp}/t.foo"], "must end in .png"),
        (["trace", "seed-W", "--png", f"{tmp}/t"], "must end in .png"),
        (["trace", "seed-W", "--png", tmp], "must end in .png"),
        (["trace", "seed-W", "--png", f"{tmp}/adir.png"], "is a directory"),
        (["trace", "seed-W", "--png", "/proc/version"], "must end in .png"),
        (["trace", "seed-W", "--png", "/proc/version.png"], "cannot write there"),
        # layout
        (["layout"], "required: SCENARIO"),
        (["layout", "nope"], "unknown scenario 'nope'"),
        (["layout", "k-whole-1000000"], "k-whole-N needs"),
        (["layout", "seed-W", "--free-slots", "-2"], "free slots must be >= -1"),
        (["layout", "seed-W", "--max-map-count", "x"], "not an integer"),
        (["layout", "seed-W", "--max-map-count", "2000004"], "the limit is 2000000"),
        (["layout", "seed-W", "--kernel", "x"], "unknown kernel"),
        (["layout", "seed-W", "--png", "/proc/version"], "must end in .png"),
        (["layout", "seed-W", "--png", f"{missing_dir}/l.svg"], "does not exist"),
        # sweep
        (["sweep", "--scenarios"], "expected at least one argument"),
        (["sweep", "--scenarios", "seed-W", "nope"], "unknown scenario 'nope'"),
        (["sweep", "--scenarios", "k-whole-70000"], "k-whole-N needs"),
        (["sweep", "--family", "nope"], "unknown family"),
        (["sweep", "--random", "-1"], "must be >= 0"),
        (["sweep", "--random", "1000000"], "at most 100000 random scenarios"),
        (["sweep", "--seed", "x"], "not an integer"),
        (["sweep", "--kernels", "4.19"], "unknown kernel profile"),
        (["sweep", "--free-slots", "0:x"], "not an integer range"),
        (["sweep", "--free-slots", "5:0"], "empty range"),
        (["sweep", "--free-slots", "-3:2"], "free slots must be >= -1"),
        (["sweep", "--free-slots", "0:1000000000000"], "at most 1000000"),
        (["sweep", "--free-slots", "0:100000"], "at most 1000000"),  # the catalogue x 6 kernels x 100000
        (["sweep", "--free-slots", "0:3", "--max-map-counts", "5:8"], "not allowed with"),
        (["sweep", "--scenarios", "seed-W", "--kernels", "5.0", "--free-slots", "65529"], "cannot have 65529 free"),
        (["sweep", "--scenarios", "seed-W", "--kernels", "5.0", "--free-slots", "0,2000000",
          "--max-map-count", "2147483647"], "the limit is 2000000"),
        (["sweep", "--max-map-counts", "-3:2"], "must be 0..2147483647"),
        (["sweep", "--max-map-counts", "2147483647:2147483649"], "must be 0..2147483647"),
        (["sweep", "--max-map-count", "99999999999999999999"], "must be 0..2147483647"),
        (["sweep", "--max-map-count", "-1"], "must be 0..2147483647"),
        (["sweep", "--csv", f"{missing_dir}/s.csv"], "does not exist"),
        (["sweep", "--csv", f"{tmp}/s.txt"], "must end in .csv"),
        (["sweep", "--png", f"{tmp}/m.foo"], "must end in .png"),
        (["sweep", "--png", f"{tmp}/m.png", "--free-slots", "0:1001"], "at most 1000"),
        (["sweep", "--rates-png", f"{tmp}/r.jpg"], "must end in .png"),
        (["sweep", "--rates-png", f"{tmp}/r.png", "--png", f"{tmp}/r.png"], "name the same file"),
        (["sweep", "--parquet", f"{tmp}/s.csv"], "must end in .parquet"),
        (["sweep", "--parquet", f"{missing_dir}/s.parquet"], "does not exist"),
        (["sweep", "--jobs", "0"], "not a positive number of workers"),
        (["sweep", "--jobs", "x"], "not an integer"),
        (["sweep", "--scheduler", "localhost"], "not a scheduler address"),
        (["sweep", "--scheduler", "tcp://127.0.0.1:8786", "--jobs", "2"], "not both"),
        (["sweep", "--progress=x"], "ignored explicit argument"),
        (["sweep", "--no-progress=x"], "ignored explicit argument"),
        # live
        (["live"], "required: SCENARIO"),
        (["live", "nope"], "unknown scenario 'nope'"),
        (["live", "k-whole-70000"], "k-whole-N needs"),
        (["live", "seed-W", "--free-slots", "-5"], "free slots must be >= -1"),
        (["live", "seed-W", "--kernel", "x"], "unknown guest kernel 'x'"),
        (["live", "seed-W", "--kernel", "6.1"], "add --target qemu"),
        (["live", "seed-W", "--profile", "x"], "unknown kernel profile 'x'"),
        (["live", "seed-W", "--timeout", "-1"], "0 < T <= 86400"),
        (["live", "seed-W", "--timeout", "0"], "0 < T <= 86400"),
        (["live", "seed-W", "--timeout", "nan"], "0 < T <= 86400"),
        (["live", "seed-W", "--timeout", "-inf"], "0 < T <= 86400"),
        (["live", "seed-W", "--timeout", "inf"], "0 < T <= 86400"),
        (["live", "seed-W", "--target", "kvm"], "invalid choice"),
        (["live", "seed-W", "--timeout", "1e9"], "0 < T <= 86400"),
        (["live", "seed-W", "--timeout", "soon"], "not a number of seconds"),
        # kernels
        (["kernels", "--kernel", "x"], "unknown guest kernel 'x'"),
        (["kernels", "--fetch=yes"], "ignored explicit argument"),
        (["kernels", "extra"], "unrecognized arguments: extra"),
        # quiz
        (["quiz", "--seed", "x"], "not an integer"),
        (["quiz", "--seed", HUGE], "5000 digits"),
        (["quiz", "--seed"], "expected one argument"),
        (["quiz", "--kernel", "4.19"], "unknown kernel profile '4.19'"),
        (["quiz", "-k", "x"], "unknown kernel profile 'x'"),
        (["quiz", "--family", "nope"], "unknown quiz family 'nope'"),
        (["quiz", "--free-slots", "-1"], "free slots must be 0..1000"),
        (["quiz", "--max-map-count", "1"], "must be 2..100000"),
        (["quiz", "--vmas", "13"], "2..12 VMAs"),
        (["quiz", "--agreeing=yes"], "ignored explicit argument"),
        (["quiz", "--max-map-count", "3", "--free-slots", "2"], "leaves room for 1 VMAs, but the layout has"),
        (["quiz", "--answers=yes"], "ignored explicit argument"),
        (["quiz", "seed-W"], "unrecognized arguments: seed-W"),
    ]


@pytest.fixture
def bad_dir(tmp_path):
    (tmp_path / "adir.png").mkdir()
    return tmp_path


@pytest.mark.parametrize("index", range(len(_bad_inputs("/t"))))
def test_every_bad_input_exits_2_with_one_line(capsys: pytest.CaptureFixture[str], bad_dir, index: int) -> None:
    argv, message = _bad_inputs(str(bad_dir))[index]
    rc, out, err = run(capsys, *argv)
    assert rc == 2, (argv, err)
    assert "Traceback" not in out + err
    assert err.count("\n") == 1 and err.endswith("\n"), err
    cmd = argv[0] if argv and not argv[0].startswith("-") and argv[0] != "frobnicate" else None
    assert err.startswith(f"mmsim {cmd}: error: " if cmd else "mmsim: error: "), err
    assert message in err, err
    assert out == ""  # refused before anything was printed
    assert sorted(p.name for p in bad_dir.iterdir()) == ["adir.png"]  # no file was left behind


def test_the_bad_input_table_covers_every_option(capsys: pytest.CaptureFixture[str]) -> None:
    """Every command the top-level help lists, every long option its help lists and its SCENARIO positional
    have at least one row in the table above."""
    import re

    assert cli.main(["--help"]) == 0
    commands = re.findall(r"^    ([a-z]+) {2,}\S", capsys.readouterr().out, re.M)
    assert commands == ["list", "trace", "layout", "sweep", "live", "quiz", "kernels"]
    table = [argv for argv, _ in _bad_inputs("/t")]
    for cmd in commands:
        assert cli.main([cmd, "--help"]) == 0
        text = capsys.readouterr().out
        options = set(re.findall(r"(?<![\w-])(--[a-z][a-z-]*)", text)) - {"--help"}
        rows = [argv for argv in table if argv and argv[0] == cmd]
        assert rows, cmd
        for opt in options:
            assert any(a == opt or a.startswith(opt + "=") for argv in rows for a in argv), (cmd, opt)
        usage = text.split("\n\n")[0]
        if "SCENARIO" in usage:
            assert any(argv[1:2] == ["nope"] for argv in rows) and any(argv == [cmd] for argv in rows), cmd


def test_bad_inputs_are_refused_before_any_work(capsys: pytest.CaptureFixture[str],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """A k-whole-N beyond the bound is not built, and a run beyond the VMA bound pads nothing."""
    import mmsim.experiments
    import mmsim.scenarios

    def forbidden(*a, **k):
        raise AssertionError("work started before the arguments were checked")

    monkeypatch.setattr(mmsim.scenarios, "k_whole", forbidden)
    monkeypatch.setattr(mmsim.experiments, "Runner", forbidden)
    monkeypatch.setattr(mmsim.experiments, "sweep", forbidden)
    for argv in (["trace", "k-whole-99999999"], ["layout", "k-whole-65537"],
                 ["trace", "seed-W", "--max-map-count", "2000004", "--free-slots", "3"],
                 ["trace", "seed-W", "--png", "/nonexistent-dir/x.png"],
                 ["sweep", "--free-slots", "0,2000000", "--max-map-count", "2147483647"]):
        rc, out, err = run(capsys, *argv)
        assert rc == 2 and "work started" not in err, (argv, err)


def test_the_vma_bound_is_exact(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """max_map_count - free slots VMAs may be exactly the bound, not one more; the message says how to go lower."""
    monkeypatch.setattr(cli, "MAX_MODEL_VMAS", 70_000)
    rc, out, err = run(capsys, "trace", "seed-W", "-k", "5.0", "--top", "--free-slots", "3", "--max-map-count", "70003")
    assert rc == 0, err
    assert "free slots 3, max_map_count 70003" in out and "map_count 70000 -> 70002" in out
    rc, out, err = run(capsys, "trace", "seed-W", "-k", "5.0", "--free-slots", "3", "--max-map-count", "70004")
    assert rc == 2 and out == ""
    assert "would build 70001 model VMAs; the limit is 70000" in err
    assert "lower --max-map-count to at most 70003" in err
    rc, out, err = run(capsys, "layout", "seed-W", "--free-slots=-1", "--max-map-count", "70000")
    assert rc == 2 and "would build 70001 model VMAs" in err and "at most 69999" in err


# ---- defects: tracebacks, negative values, timeouts ----------------------------------------------------


@pytest.mark.parametrize("kernel, kind, after", [
    ("5.0", "OK", 65527 - 1153),  # semantics §7.3: the move lowers map_count by k
    ("5.1", "FALSE_POSITIVE", 65527),  # 5.1's early check refuses below 6 free slots although it would fit
])
def test_k_whole_beyond_the_runner_headroom(capsys: pytest.CaptureFixture[str], kernel: str, kind: str,
                                            after: int) -> None:
    """k-whole-1153 has 1154 VMAs, more than the Runner's template left room for (an MMError traceback)."""
    rc, out, err = run(capsys, "trace", "k-whole-1153", "-k", kernel, "--top")
    assert rc == 0, err
    assert f"== kernel {kernel}: {kind}" in out and f"map_count 65527 -> {after}," in out
    rc, out, err = run(capsys, "layout", "k-whole-1153", "-k", kernel)
    assert rc == 0, err
    assert "before (map_count 65527;" in out and f"after (map_count {after};" in out
    before = out.split("\nbefore")[1].split("\nafter")[0]
    assert before.count("rw-s") == 1153 and before.count("rw-p") == 1  # the k shared pages and the source


def test_k_whole_at_the_bound_builds(capsys: pytest.CaptureFixture[str]) -> None:
    """N = K_WHOLE_MAX is accepted (65,537 VMAs of its own, so max_map_count must leave room for them)."""
    rc, out, err = run(capsys, "trace", f"k-whole-{cli.K_WHOLE_MAX}", "-k", "5.0", "--top",
                       "--max-map-count", str(cli.K_WHOLE_MAX + 1 + 3))
    assert rc == 0, err
    assert f"map_count {cli.K_WHOLE_MAX + 1} -> 1," in out  # -k: only the moved VMA is left


def test_write_failures_after_the_run_are_one_line(capsys: pytest.CaptureFixture[str], tmp_path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """A file that passed the checks but cannot be written at the end (a full disk) is exit 1, one line."""
    from matplotlib.figure import Figure

    def full(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Figure, "savefig", full)
    rc, out, err = run(capsys, "trace", "seed-W", "-k", "5.0", "--png", str(tmp_path / "t.png"))
    assert rc == 1 and err.count("\n") == 1 and "cannot write" in err and "No space left" in err
    assert "Traceback" not in err


def test_unexpected_errors_are_one_line(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    import mmsim.experiments

    class Broken:
        def run(self, *a, **k):
            raise RuntimeError("boom\nsecond line")

    monkeypatch.setattr(mmsim.experiments, "Runner", Broken)
    monkeypatch.delenv("MMSIM_TRACEBACK", raising=False)
    rc, out, err = run(capsys, "trace", "seed-W", "-k", "5.0")
    assert rc == 1 and err.count("\n") == 1 and "internal error: RuntimeError: boom\\nsecond line" in err
    monkeypatch.setenv("MMSIM_TRACEBACK", "1")
    with pytest.raises(RuntimeError):
        cli.main(["trace", "seed-W", "-k", "5.0"])


@pytest.mark.parametrize("argv, expect", [
    (["sweep", "--scenarios", "seed-W", "--kernels", "5.0", "--free-slots", "-1:2"], "free slots -1..1"),
    (["sweep", "--scenarios", "seed-W", "--kernels", "5.0", "--free-slots", "-1,1"], "2 cases"),
    (["sweep", "--scenarios", "seed-W", "--kernels", "5.0", "--free-slots=-1:2"], "free slots -1..1"),
    (["trace", "seed-W", "-k", "5.0", "--free-slots", "-1"], "free slots -1"),
])
def test_negative_values_parse_as_values(capsys: pytest.CaptureFixture[str], argv: list[str], expect: str) -> None:
    rc, out, err = run(capsys, *argv)
    assert rc == 0, err
    assert expect in out


def test_negative_seed(capsys: pytest.CaptureFixture[str], tmp_path) -> None:
    csv = tmp_path / "r.csv"
    rc, out, err = run(capsys, "sweep", "--random", "2", "--seed", "-5", "--kernels", "5.0", "--free-slots", "1",
                       "--csv", str(csv))
    assert rc == 0, err
    assert list(pd.read_csv(csv)["scenario"]) == ["random--5-0", "random--5-1"]  # names are random-<seed>-<i>


def test_a_dash_value_after_a_flag_is_still_refused(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = run(capsys, "trace", "seed-W", "--top", "-3")
    assert rc == 2 and err.count("\n") == 1 and "--top" in err
    rc, out, err = run(capsys, "trace", "--", "-3")  # after "--" nothing is joined: a scenario named -3
    assert rc == 2 and "unknown scenario '-3'" in err


def test_live_free_slots_beyond_this_kernels_limit(capsys: pytest.CaptureFixture[str],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from types import SimpleNamespace

    from mmsim import live

    info = SimpleNamespace(system="Linux", release="6.18.0", machine="x86_64", max_map_count=100, profile="6.18",
                           supported=True, reason="", can_run=True)
    monkeypatch.setattr(live, "kernel_info", lambda target="host", kernel=None: info)
    monkeypatch.setattr(live, "compare", lambda *a, **k: pytest.fail("a live run started"))
    rc, out, err = run(capsys, "live", "seed-W", "--free-slots", "99")  # seed-W has 2 VMAs: at most 98 free
    assert rc == 2 and err.count("\n") == 1 and "cannot have 99 free slots under max_map_count=100" in err


# ---- standard output: /dev/full, closed pipes ------------------------------------------------------------


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full here")
@pytest.mark.parametrize("argv", [["list"], ["--help"], ["trace", "--help"], ["trace", "seed-W", "-k", "5.0"],
                                  ["sweep", "--scenarios", "seed-W", "--kernels", "5.0", "--free-slots", "0:2"]])
def test_stdout_on_dev_full(argv: list[str]) -> None:
    with open("/dev/full", "w") as full:
        p = subprocess.run([sys.executable, "-m", "mmsim", *argv], stdout=full, stderr=subprocess.PIPE, text=True,
                           timeout=120)
    assert p.returncode == 1
    assert p.stderr.count("\n") == 1 and "No space left on device" in p.stderr, p.stderr
    assert "Traceback" not in p.stderr and "Exception ignored" not in p.stderr


def test_closed_pipe_is_quiet() -> None:
    """mmsim ... | head: the reader went away; no message, status 0 (and no 'Exception ignored' at exit)."""
    code = "import time, sys; time.sleep(0.5); from mmsim.cli import main; sys.exit(main(sys.argv[1:]))"
    p = subprocess.Popen([sys.executable, "-c", code, "trace", "seed-W"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    p.stdout.close()
    err = p.stderr.read()
    p.wait(timeout=120)
    assert p.returncode == 0 and err == ""


# ---- .ci/install-system-packages (browser-deps) ------------------------------------------------------------

SCRIPT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), ".ci", "install-system-packages")

FAKE_APT = r"""#!/usr/bin/env bash
# A stand-in for apt-get: logs its arguments (and the pins it was given), prints a canned plan.
echo "apt-get $*" >> "$FAKE_LOG"
for a in "$@"; do
  case "$a" in Dir::Etc::Preferences=*) cp "${a#*=}" "$FAKE_LOG.pins"; pinned=1 ;; esac
done
case " $* " in
  *" -s "*)
    if [ -n "${pinned:-}" ] && [ -n "${FAKE_NEEDS_UPGRADE:-}" ]; then
      echo " chromium : Depends: libudev1 (>= 252.39) but 252.38-1 is to be installed"
      echo "E: Unable to correct problems, you have held broken packages."
      exit 100
    fi
    if [ -n "${FAKE_NEEDS_UPGRADE:-}" ]; then
      echo "  Upgrading libudev1:amd64 < 252.38-1 | 252.39-1 @ii uH > due to chromium:amd64"
      echo "Inst libudev1 [252.38-1] (252.39-1 Debian:12.15/oldstable [amd64])"
    fi
    echo "Inst libgtk-3-0 (3.24.38-2~deb12u3 Debian:12.15/oldstable [amd64])"
    echo "Inst chromium (156.0.8078.114-1~deb12u1 Debian-Security:12/oldstable-security [amd64])"
    echo "Conf chromium (156.0.8078.114-1~deb12u1 Debian-Security:12/oldstable-security [amd64])"
    ;;
esac
exit 0
"""
FAKE_DPKG = r"""#!/usr/bin/env bash
if [ $# -eq 3 ]; then printf '%s' "$FAKE_STATUS"; exit 0; fi
printf 'install ok installed\tlibudev1\t252.38-1\ndeinstall ok config-files\told-thing\t1.0\n'
"""


@pytest.fixture
def fake_apt(tmp_path):
    """PATH with fake apt-get, dpkg-query and id, and the environment the script reads, cleaned."""
    if not os.path.exists(SCRIPT):
        pytest.fail(f"{SCRIPT} is missing")
    bindir = tmp_path / "bin"
    bindir.mkdir()
    for name, text in (("apt-get", FAKE_APT), ("dpkg-query", FAKE_DPKG), ("id", 'echo "$FAKE_UID"\n')):
        f = bindir / name
        f.write_text(text if text.startswith("#!") else "#!/usr/bin/env bash\n" + text)
        f.chmod(0o755)
    log = tmp_path / "apt.log"
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("MMSIM_") and k not in ("CI", "DEBIAN_FRONTEND")}
    env.update(PATH=f"{bindir}:{os.environ['PATH']}", FAKE_LOG=str(log), FAKE_UID="0",
               FAKE_STATUS="unknown ok not-installed")

    def call(*args: str, **extra: str) -> tuple[int, str, list[str]]:
        p = subprocess.run(["bash", SCRIPT, *args], env={**env, **extra}, capture_output=True, text=True,
                           timeout=60)
        calls = log.read_text().splitlines() if log.exists() else []
        log.unlink(missing_ok=True)
        return p.returncode, p.stdout + p.stderr, calls

    call.pins = tmp_path / "apt.log.pins"  # type: ignore[attr-defined]
    return call


def test_system_packages_opt_out(fake_apt) -> None:
    rc, out, calls = fake_apt("the browser tests", "chromium", MMSIM_NO_SYSTEM_PACKAGES="1")
    assert rc == 0 and calls == []
    assert "MMSIM_NO_SYSTEM_PACKAGES=1: not installing chromium (the browser tests)" in out
    rc, out, calls = fake_apt("--dry-run", "the browser tests", "chromium", MMSIM_NO_SYSTEM_PACKAGES="0")
    assert rc == 0 and "not installing" not in out and calls  # "0" does not opt out


def test_system_packages_already_installed_or_not_root(fake_apt) -> None:
    rc, out, calls = fake_apt("tests", "chromium", FAKE_STATUS="install ok installed")
    assert rc == 0 and calls == [] and "already installed: chromium" in out
    rc, out, calls = fake_apt("tests", "chromium", FAKE_UID="1000")
    assert rc == 0 and calls == [] and "needs root" in out


def test_system_packages_dry_run_prints_the_plan_and_installs_nothing(fake_apt) -> None:
    rc, out, calls = fake_apt("--dry-run", "the browser tests", "chromium", FAKE_UID="1000")
    assert rc == 0
    assert "apt would install 2 new packages (without recommends): libgtk-3-0 chromium" in out
    assert "change no installed package" in out and "dry run: nothing installed" in out
    assert len(calls) == 1 and " -s " in calls[0]  # one simulation; no update, no install
    for opt in ("--no-install-recommends", "--no-upgrade", "--no-remove", "Dir::Etc::Preferences="):
        assert opt in calls[0]
    pins = fake_apt.pins.read_text()
    assert "Package: libudev1\nPin: version 252.38-1\nPin-Priority: 1001" in pins
    assert "old-thing" not in pins  # only installed packages are pinned


def test_system_packages_install_with_pins(fake_apt) -> None:
    rc, out, calls = fake_apt("the browser tests", "chromium")
    assert rc == 0, out
    assert [c.split()[1] for c in calls] == ["update", "-s", "install"]
    install = calls[2]
    for opt in ("-y", "--no-install-recommends", "--no-upgrade", "--no-remove", "Dir::Etc::Preferences="):
        assert opt in install
    assert install.endswith(" chromium")
    assert out.index("apt would install") < out.index("installed chromium in")  # said before done


def test_system_packages_required_upgrades_are_named_and_need_consent(fake_apt) -> None:
    rc, out, calls = fake_apt("the browser tests", "chromium", FAKE_NEEDS_UPGRADE="1")
    assert rc == 0
    assert "must upgrade 1 installed packages" in out
    assert "libudev1 252.38-1 -> 252.39-1 (needed by chromium)" in out
    assert "not installing" in out and "MMSIM_SYSTEM_PACKAGES_UPGRADE=1" in out
    assert not any(c.split()[1] == "install" for c in calls)
    for consent in ({"MMSIM_SYSTEM_PACKAGES_UPGRADE": "1"}, {"CI": "true"}):
        rc, out, calls = fake_apt("the browser tests", "chromium", FAKE_NEEDS_UPGRADE="1", **consent)
        assert rc == 0 and calls[-1].split()[1] == "install", (consent, out)
        assert "Dir::Etc::Preferences" not in calls[-1] and "--no-install-recommends" in calls[-1]


def test_system_packages_bad_command_line(fake_apt) -> None:
    assert fake_apt("only a reason")[0] == 2
    assert fake_apt("reason", "Not;a-package")[0] == 2


@pytest.mark.skipif(not os.path.exists("/usr/bin/apt-get"), reason="no apt-get here")
def test_system_packages_real_dry_run() -> None:
    """Against this machine's apt, --dry-run only looks: chromium is reported installed or planned."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MMSIM_")}
    p = subprocess.run(["bash", SCRIPT, "--dry-run", "the browser tests", "chromium"], env=env,
                       capture_output=True, text=True, timeout=120)
    assert p.returncode in (0, 1), p.stdout + p.stderr  # 1: apt has no lists to plan with
    if p.returncode == 0:
        assert "already installed: chromium" in p.stdout or "dry run: nothing installed" in p.stdout
