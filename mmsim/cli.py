"""The ``mmsim`` command line (also ``python -m mmsim``): headless access to scenarios, traces and sweeps.

Subcommands::

    mmsim list                                  # the scenario catalogue
    mmsim trace seed-W --kernel 5.0 --kernel 5.1 --free-slots 3
    mmsim layout seed-W --kernel 5.0 --free-slots 3 --png layout.png
    mmsim sweep --free-slots 0:17 --csv out.csv --png map.png
    mmsim live seed-W --free-slots 3                 # run it on this machine's kernel, compare with the model
    mmsim quiz --seed 7 [--answers]             # homework: a generated question, and its worked answer

Exit status: 0 on success; 2 for bad arguments, with one line on stderr (``mmsim CMD: error: ...``) and no
traceback; 1 when a live run is unavailable, fails, or differs from the model, when an output cannot be
written (a full disk, standard output on ``/dev/full``), or on an internal error (one line as well; set
``MMSIM_TRACEBACK=1`` to see the traceback).

Every argument is checked before any work starts: scenario names (``k-whole-N`` for
``1 <= N <=`` :data:`K_WHOLE_MAX`), kernels, ranges, free slots against the scenario's own VMAs, output
files (their directory exists and is writable, their suffix is one the writer supports) and the size of
the run. The size limits, measured on the project's machines (2 cores, 24 GiB) so that the largest
allowed run stays under ~2 GB:

* :data:`MAX_MODEL_VMAS`: ``trace`` and ``layout`` pad the model to ``max_map_count - free_slots`` VMAs (and
  ``sweep`` to its scenario's VMAs plus the most free slots). A ``trace`` over all nine profiles peaks at
  ~0.88 kB per padded VMA (~0.1 kB per profile; 1.76 GB at 2,000,000 VMAs; ``benchmarks/bench_resources.py``
  measures it). Outcomes depend only on the free slots (see :mod:`mmsim.experiments`), so a
  larger ``--max-map-count`` teaches nothing new; ``mmsim sweep --max-map-count N`` stands for any ``N``
  up to the kernel's ``INT_MAX`` without padding.
* :data:`MAX_SWEEP_CASES`: a sweep row costs ~0.5 kB (1,000,000 cases: 629 MiB, 23 s; 900 MiB and 103 s
  with ``--csv``, ``--png`` and ``--rates-png``).
* :data:`MAX_MAP_COLUMNS`: ``sweep --png`` draws one column per free-slot value (the whole catalogue at
  1,000 columns: 365 MiB, 17 s; at 2,000: 551 MiB, 54 s, more columns than the figure has pixels).

Values that start with ``-`` are accepted after an option as after ``=``: ``--free-slots -3:2`` is
``--free-slots=-3:2`` (argparse itself only takes plain negative numbers such as ``-3`` as values).
"""

from __future__ import annotations

import argparse
import contextlib
import errno as _errno
import importlib.util
import math
import os
import re
import sys
from collections.abc import Callable, Sequence
from typing import Any, NoReturn, TextIO, cast

from .constants import DEFAULT_MAX_MAP_COUNT
from .live.host import DEFAULT_GUEST_KERNEL, TARGETS
from .live.kernels import GUEST_KERNELS
from .profiles import KERNELS, get_profile

__all__ = [
    "CSV_SUFFIXES",
    "FIGURE_SUFFIXES",
    "INT_MAX",
    "K_WHOLE_MAX",
    "MAX_MAP_COLUMNS",
    "MAX_MODEL_VMAS",
    "MAX_RANDOM",
    "MAX_SWEEP_CASES",
    "MAX_TIMEOUT",
    "build_parser",
    "main",
    "parse_int_range",
]

PROG = "mmsim"

#: The most model VMAs a ``trace``/``layout`` run pads to (``max_map_count - free_slots``), and the most a sweep
#: pads one scenario to (its VMAs + the most free slots + 1). Measured: ~0.88 kB per VMA at a trace's peak.
MAX_MODEL_VMAS = 2_000_000
#: ``vm.max_map_count`` is an ``int`` sysctl with minimum 0 (``proc_dointvec_minmax``, ``extra1 =
#: SYSCTL_ZERO`` in mm/mmap.c): the kernel refuses (EINVAL) anything outside ``0 .. INT_MAX``.
INT_MAX = 2**31 - 1
#: The largest N of ``k-whole-N``: its layout has N + 1 VMAs, and :mod:`mmsim.scenarios` builds every
#: layout in an address space of max(max_map_count, 65536) slots, where mmap lets the count reach 65537.
K_WHOLE_MAX = 65536
#: The most (scenario, kernel, value) cases one ``sweep`` classifies (~0.5 kB each).
MAX_SWEEP_CASES = 1_000_000
#: The most free-slot columns ``sweep --png`` draws (one per value; the figure is at most 20 inches wide).
MAX_MAP_COLUMNS = 1000
#: The most random scenarios ``sweep --random`` makes.
MAX_RANDOM = 100_000
#: The longest ``live --timeout``, in seconds (one day).
MAX_TIMEOUT = 86400.0
#: Suffixes of ``--png`` files: formats matplotlib writes by itself (no LaTeX, no external tools).
FIGURE_SUFFIXES = (".png", ".svg", ".pdf")
#: Suffixes of ``--csv`` files: pandas infers the compression from the last one (stdlib codecs only).
CSV_SUFFIXES = (".csv", ".csv.gz", ".csv.bz2", ".csv.xz")

_K_WHOLE = re.compile(r"k-whole-([0-9]+)")
_INT = re.compile(r"[+-]?[0-9]+")
#: A value that follows an option but starts with "-" (a negative number or range, -inf, -nan).
_DASH_VALUE = re.compile(r"-([0-9]|\.[0-9]|inf|nan)", re.IGNORECASE)


class UsageError(Exception):
    """A bad argument found after parsing (exit status 2)."""


class _OutputError(OSError):
    """Writing to standard output failed (a closed pipe, a full disk, ``/dev/full``)."""


# ---- small helpers --------------------------------------------------------------------------------


def _show(value: object, limit: int = 60) -> str:
    """``repr(value)``, cut to ``limit`` characters (a 5,000-digit argument stays readable)."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 12]}...({len(text)} chars)"


def _one_line(text: str) -> str:
    """``text`` with line breaks and other control characters made visible, so a message is one line."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text.strip())


def _to_int(text: str, what: str = "an integer") -> int:
    """Parse a decimal integer (ASCII digits, optional sign); ValueError with a short message otherwise.

    At most 30 digits are read: every bound of this CLI is far below that, and Python refuses to convert
    strings of more than 4,300 digits anyway.
    """
    text = text.strip()
    if not _INT.fullmatch(text):
        raise ValueError(f"not {what}: {_show(text)}")
    if len(text.lstrip("+-")) > 30:
        raise ValueError(f"out of range: {_show(text)} has {len(text.lstrip('+-'))} digits")
    return int(text)


def parse_int_range(text: str, max_values: int = MAX_SWEEP_CASES) -> list[int]:
    """``"0:17"`` → 0..16, ``"0:17:2"`` → 0, 2, .., 16, ``"3"`` → [3], ``"1,3,5"`` → [1, 3, 5].

    Raises ValueError (argparse turns it into a usage error) for anything else, an empty result, or more
    than ``max_values`` values (counted before any list is made).
    """
    text = text.strip()
    try:
        if ":" in text:
            parts = [_to_int(p) for p in text.split(":")]
            if len(parts) not in (2, 3) or (len(parts) == 3 and parts[2] == 0):
                raise ValueError
            span = range(*parts)
            if len(span) > max_values:
                raise ValueError(f"{_show(text)} has {len(span)} values; at most {max_values} are allowed")
            values = list(span)
        else:
            values = [_to_int(p) for p in text.split(",") if p.strip() != ""]
            if len(values) > max_values:
                raise ValueError(f"{len(values)} values; at most {max_values} are allowed")
    except ValueError as e:
        if e.args and "at most" in str(e):
            raise
        raise ValueError(f"not an integer range: {_show(text)} (use START:STOP[:STEP], N, or N,M,...)") from None
    if not values:
        raise ValueError(f"empty range: {_show(text)}")
    return values


# ---- argument types (each raises ArgumentTypeError: argparse prints it as one usage line) ------------


class _Renamed(argparse.Action):
    """An option's deprecated spelling (``--slack`` for ``--free-slots``): hidden from ``--help``, it stores into
    the new option's ``dest`` and says on stderr which option to use."""

    def __init__(self, option_strings: Sequence[str], dest: str, new: str = "", **kwargs: Any) -> None:
        super().__init__(option_strings, dest, help=argparse.SUPPRESS, default=argparse.SUPPRESS, **kwargs)
        self.new = new

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        print(f"mmsim: {option_string} is deprecated: use {self.new} (the same meaning)", file=sys.stderr)
        setattr(namespace, self.dest, values)


def _type(fn: Callable[[str], Any]) -> Callable[[str], Any]:
    """An argparse ``type`` from ``fn``: its ValueError becomes an ArgumentTypeError with the same text."""

    def convert(text: str) -> Any:
        try:
            return fn(text)
        except ValueError as e:
            raise argparse.ArgumentTypeError(str(e)) from None

    convert.__name__ = fn.__name__.lstrip("_")
    return convert


def _range(text: str) -> list[int]:
    return parse_int_range(text)


def _kernel(text: str) -> str:
    return get_profile(text).name


def _guest_kernel(text: str) -> str:
    if text not in GUEST_KERNELS:
        raise ValueError(f"unknown guest kernel {text!r}; choose one of {', '.join(GUEST_KERNELS)}")
    return text


def _count(text: str, hi: int, what: str) -> int:
    v = _to_int(text)
    if v < 0:
        raise ValueError(f"must be >= 0, got {v}")
    if v > hi:
        raise ValueError(f"at most {hi} {what}, got {v}")
    return v


def _random_count(text: str) -> int:
    return _count(text, MAX_RANDOM, "random scenarios")


def _max_map_count(text: str) -> int:
    v = _to_int(text)
    if not 0 <= v <= INT_MAX:
        raise ValueError(f"vm.max_map_count must be 0..{INT_MAX} (an int sysctl, minimum 0), got {v}")
    return v


def _free_slots_arg(text: str) -> int:
    v = _to_int(text)
    if v < -1:
        raise ValueError(f"free slots must be >= -1 (mmap lets map_count reach max_map_count + 1), got {v}")
    if v > INT_MAX:
        raise ValueError(f"free slots must be at most max_map_count, which is at most {INT_MAX}, got {v}")
    return v


def _seed(text: str) -> int:
    return _to_int(text)


def _jobs(text: str) -> int:
    n = _to_int(text)
    if n == 0 or n < -1:
        raise ValueError(f"{_show(text)} is not a positive number of workers or -1 (every core)")
    return n


def _quiz_family(text: str) -> str:
    from .quiz import FAMILIES

    if text not in FAMILIES:
        raise ValueError(f"unknown quiz family {_show(text)}; choose one of {', '.join(FAMILIES)}")
    return text


def _quiz_free(text: str) -> int:
    v = _to_int(text)
    if not 0 <= v <= 1000:
        raise ValueError(f"free slots must be 0..1000 for a quiz, got {v}")
    return v


def _quiz_limit(text: str) -> int:
    v = _to_int(text)
    if not 2 <= v <= 100_000:
        raise ValueError(f"a quiz's vm.max_map_count must be 2..100000 (the filler VMAs are modelled one by one), "
                         f"got {v}")
    return v


def _quiz_vmas(text: str) -> int:
    v = _to_int(text)
    if not 2 <= v <= 12:
        raise ValueError(f"a quiz layout has 2..12 VMAs, got {v}")
    return v


def _timeout(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise ValueError(f"not a number of seconds: {_show(text)}") from None
    if not (math.isfinite(v) and 0 < v <= MAX_TIMEOUT):
        raise ValueError(f"must be a number of seconds with 0 < T <= {MAX_TIMEOUT:g}, got {_show(text)}")
    return v


def _join_dash_values(argv: Sequence[str]) -> list[str]:
    """``--opt -3:2`` → ``--opt=-3:2`` for every long option followed by a value that starts with ``-``.

    argparse reads a token that starts with ``-`` as an option unless it looks like a plain negative
    number (``-3``, ``-1.5``), so ``--free-slots -3:2`` would fail with "expected one argument"; the
    ``--opt=VALUE`` form is argparse's documented way to give such a value. Only values that start with
    ``-`` and a digit (or ``.digit``, ``inf``, ``nan``) are joined, never anything after ``--``. After
    a flag that takes no value the joined form is refused by argparse (exit 2), as the bare value would be.
    """
    out: list[str] = []
    args = list(argv)
    i = 0
    while i < len(args):
        a = args[i]
        if a == "--":
            out.extend(args[i:])
            break
        if (a.startswith("--") and len(a) > 2 and "=" not in a and i + 1 < len(args)
                and _DASH_VALUE.match(args[i + 1])):
            out.append(f"{a}={args[i + 1]}")
            i += 2
            continue
        out.append(a)
        i += 1
    return out


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line: ``mmsim CMD: error: MESSAGE; see 'mmsim CMD --help'``.

    (``error()`` is the documented hook: it must print the message and exit with status 2.) :attr:`commands`
    holds the subcommands' parsers, so that leftover arguments are reported by the command they follow.
    """

    commands: dict[str, argparse.ArgumentParser]

    def parse_args(self, args: Sequence[str] | None = None,  # type: ignore[override]
                   namespace: argparse.Namespace | None = None) -> argparse.Namespace:
        """As :meth:`argparse.ArgumentParser.parse_args`, with "unrecognized arguments" reported by the
        subcommand's parser (``mmsim list: error: ...``)."""
        ns, extra = self.parse_known_args(args, namespace)
        if extra:
            sub = getattr(self, "commands", {}).get(getattr(ns, "command", None) or "", self)
            sub.error(f"unrecognized arguments: {' '.join(extra)}")
        return ns

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {_one_line(message)}; see '{self.prog} --help'\n")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for documentation and tests)."""
    p = _Parser(
        prog=PROG,
        description="mmsim: a model of Linux VMA bookkeeping (map_count vs vm.max_map_count) and the 2019 "
                    "mremap accounting bug. 'Free slots' = max_map_count - map_count before the call.",
        epilog="Run 'mmsim COMMAND --help' for the options of a command. Bad arguments exit with status 2 "
               "and one line on stderr.",
    )
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)

    ls = sub.add_parser("list", help="list the scenarios with their descriptions",
                        description="List the scenario catalogue.")
    ls.add_argument("--family", help="only this family of scenarios")

    def scenario_args(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("scenario", metavar="SCENARIO",
                        help=f"scenario name (see 'mmsim list'; also k-whole-N, 1 <= N <= {K_WHOLE_MAX})")
        sp.add_argument("--free-slots", type=_type(_free_slots_arg), default=3,
                        help="free slots before the call: max_map_count - map_count (default 3; >= -1)")
        sp.add_argument("--slack", dest="free_slots", type=_type(_free_slots_arg), action=_Renamed, new="--free-slots")
        sp.add_argument("--max-map-count", type=_type(_max_map_count), default=DEFAULT_MAX_MAP_COUNT, metavar="N",
                        help=f"vm.max_map_count of the model (default {DEFAULT_MAX_MAP_COUNT}); the model is "
                             f"padded to N - free-slots VMAs, at most {MAX_MODEL_VMAS}")

    tr = sub.add_parser("trace", help="print the step trace of a scenario under one or more kernels",
                        description="Classify a scenario's call and print its step trace (semantics §8) per kernel.")
    scenario_args(tr)
    tr.add_argument("--kernel", "-k", action="append", type=_type(_kernel), metavar="K",
                    help=f"kernel profile, repeatable (default: all of {', '.join(KERNELS)})")
    tr.add_argument("--top", action="store_true", help="only the syscall-level (depth-0) steps")
    tr.add_argument("--png", metavar="FILE",
                    help=f"also save the trace plot (plot_trace) to FILE ({', '.join(FIGURE_SUFFIXES)})")

    lay = sub.add_parser("layout", help="print the VMAs around a scenario before and after its call",
                         description="Show a scenario's VMAs (as /proc/PID/maps lines) before and after its call.")
    scenario_args(lay)
    lay.add_argument("--kernel", "-k", type=_type(_kernel), default="5.0", metavar="K",
                     help="kernel profile (default 5.0)")
    lay.add_argument("--png", metavar="FILE",
                     help=f"also save the layout plot (plot_layout) to FILE ({', '.join(FIGURE_SUFFIXES)})")

    sw = sub.add_parser("sweep", help="classify scenarios x kernels x free slots; print a summary",
                        description="Sweep scenarios over kernels and free slots (or max_map_count values), "
                                    f"print outcome counts and rates, optionally write CSV and plots. At most "
                                    f"{MAX_SWEEP_CASES} cases (scenarios x kernels x values).")
    sw.add_argument("--scenarios", nargs="+", metavar="NAME", help="scenario names (default: the whole catalogue)")
    sw.add_argument("--family", help="only catalogue scenarios of this family")
    sw.add_argument("--random", type=_type(_random_count), default=0, metavar="N",
                    help=f"add N random mremap scenarios (at most {MAX_RANDOM})")
    sw.add_argument("--seed", type=_type(_seed), default=0, help="seed of --random (default 0)")
    sw.add_argument("--kernels", nargs="+", type=_type(_kernel), metavar="K", help="kernel profiles (default: all)")
    grp = sw.add_mutually_exclusive_group()
    grp.add_argument("--free-slots", type=_type(_range), metavar="RANGE",
                     help="free slots, e.g. 0:17 (default), 0:17:2, 3, 1,3,5 or -1:8")
    grp.add_argument("--slacks", dest="free_slots", type=_type(_range), action=_Renamed, new="--free-slots")
    grp.add_argument("--max-map-counts", type=_type(_range), metavar="RANGE",
                     help=f"instead of --free-slots: max_map_count values (0..{INT_MAX}) for the layouts alone "
                          "(no filler)")
    sw.add_argument("--max-map-count", type=_type(_max_map_count), default=DEFAULT_MAX_MAP_COUNT, metavar="N",
                    help=f"the max_map_count the --free-slots rows stand for (default {DEFAULT_MAX_MAP_COUNT}; "
                         f"0..{INT_MAX}, not padded)")
    sw.add_argument("--csv", metavar="FILE", help=f"write the tidy frame to FILE ({', '.join(CSV_SUFFIXES)})")
    sw.add_argument("--parquet", metavar="FILE",
                    help="write the frame with its metadata (parameters, profiles) to FILE (.parquet; pyarrow); "
                         "mmsim.read_sweep(FILE) loads it")
    sw.add_argument("--jobs", type=_type(_jobs), default=None, metavar="N",
                    help="worker processes (joblib; -1: every core); the same rows as a serial run")
    sw.add_argument("--scheduler", metavar="ADDRESS",
                    help="run on the Dask cluster at ADDRESS (e.g. tcp://10.0.0.5:8786; needs dask.distributed)")
    sw.add_argument("--png", metavar="FILE",
                    help=f"write the outcome map (plot_outcome_map) to FILE ({', '.join(FIGURE_SUFFIXES)}; "
                         f"at most {MAX_MAP_COLUMNS} free-slot columns)")
    sw.add_argument("--rates-png", metavar="FILE",
                    help=f"write the rate bars (plot_fp_rate) to FILE ({', '.join(FIGURE_SUFFIXES)})")
    sw.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                    help="show a progress bar (default: only for long sweeps)")

    lv = sub.add_parser("live", help="run a scenario on a real kernel and compare with the model",
                        description="Replay a scenario's layout and call in a child process on a real kernel "
                                    "(mmsim.live): this machine's, or one of Debian's booted under qemu "
                                    "(--target qemu --kernel 5.10|6.1|6.12; fetched and cached on first use), "
                                    "with N free slots before the call, and compare every step with the "
                                    "model. Never changes this machine's vm.max_map_count.")
    lv.add_argument("scenario", metavar="SCENARIO",
                    help=f"scenario name (see 'mmsim list'; also k-whole-N, 1 <= N <= {K_WHOLE_MAX})")
    lv.add_argument("--free-slots", type=_type(_free_slots_arg), default=3,
                    help="free slots before the call (default 3; >= -1)")
    lv.add_argument("--slack", dest="free_slots", type=_type(_free_slots_arg), action=_Renamed, new="--free-slots")
    lv.add_argument("--profile", "-p", type=_type(_kernel), metavar="P",
                    help="model profile to compare with (default: the one mmsim.release_coverage() names for the "
                         "kernel that runs the call)")
    lv.add_argument("--kernel", "-k", type=_type(_guest_kernel), metavar="K",
                    help=f"the guest kernel for --target qemu, uml or auto: {', '.join(GUEST_KERNELS)} "
                         f"(default {DEFAULT_GUEST_KERNEL})")
    lv.add_argument("--timeout", type=_type(_timeout), default=60.0,
                    help=f"seconds before the child is killed (default 60; 0 < T <= {MAX_TIMEOUT:g})")
    lv.add_argument("--target", choices=TARGETS, default="host",
                    help="host: this machine's kernel (default); qemu: a Debian kernel under qemu; uml: user-mode "
                         "Linux; auto: user-mode Linux where it boots, else qemu")
    qz = sub.add_parser("quiz", help="homework: a generated question (layout, limit, call); --answers solves it",
                        description="Print a generated question in the style of the OSTEP simulators: a small "
                                    "layout of VMAs, a vm.max_map_count and one call; what does it return, what "
                                    "is map_count afterwards, on which kernel does it fail and where? The same "
                                    "seed always gives the same question; --answers adds the worked answer with "
                                    "each kernel's step trace.")
    qz.add_argument("--seed", "-s", type=_type(_seed), default=0, help="which question (any integer; default 0)")
    qz.add_argument("--answers", "-c", action="store_true", help="also print the answers, with the step traces")
    qz.add_argument("--kernel", "-k", action="append", type=_type(_kernel), metavar="K",
                    help="kernel profile to ask about, repeatable (default: 5.0, 5.1, 6.18 and 7.1)")
    qz.add_argument("--family", type=_type(_quiz_family), metavar="F",
                    help="kind of call: fixed, unmapped, dontunmap, multi-vma, shrink, munmap or mprotect (default: "
                         "the seed picks one; munmap and mprotect only when asked for, every kernel answers them "
                         "alike)")
    qz.add_argument("--free-slots", type=_type(_quiz_free), metavar="N",
                    help="free slots before the call (default: the seed picks 0-7)")
    qz.add_argument("--free", dest="free_slots", type=_type(_quiz_free), action=_Renamed, new="--free-slots")
    qz.add_argument("--max-map-count", type=_type(_quiz_limit), metavar="M",
                    help="vm.max_map_count; the process then holds filler VMAs besides the layout (default: a few "
                         "above the layout's VMAs, no filler)")
    qz.add_argument("--vmas", type=_type(_quiz_vmas), metavar="N",
                    help="VMAs in the layout, 2-12 (extra shared VMAs after it; default: the family's 2 or 3)")
    qz.add_argument("--agreeing", action="store_true",
                    help="keep a question on which every kernel gives the same answer (default: draw another)")
    kn = sub.add_parser("kernels", help="the real kernels the qemu target boots: list, fetch or build them",
                        description="List the guest kernels of the qemu target (Debian's images and the kernels "
                                    "mmsim builds from Debian's source), whether each is in the cache, and the "
                                    "profile that models it. --fetch downloads the images and builds the others "
                                    "(once; cached in $MMSIM_CACHE or ~/.cache/mmsim).")
    kn.add_argument("--kernel", "-k", action="append", type=_type(_guest_kernel), metavar="K",
                    help=f"only this kernel, repeatable ({', '.join(GUEST_KERNELS)})")
    kn.add_argument("--fetch", action="store_true", help="download or build the kernels that are not cached yet")
    p.commands = {"list": ls, "trace": tr, "layout": lay, "sweep": sw, "live": lv, "quiz": qz, "kernels": kn}
    return p


# ---- checks made before any work ------------------------------------------------------------------


def _scenario(name: str) -> Any:
    """The named scenario; UsageError for an unknown name or a ``k-whole-N`` beyond :data:`K_WHOLE_MAX`,
    checked before the (O(N)) scenario is built."""
    from .scenarios import get

    m = _K_WHOLE.fullmatch(name)
    if m:
        digits = m.group(1).lstrip("0")
        if len(digits) > len(str(K_WHOLE_MAX)) or int(digits or "0") > K_WHOLE_MAX:
            raise UsageError(f"k-whole-N needs 1 <= N <= {K_WHOLE_MAX} (its layout has N + 1 VMAs; "
                             f"mmsim.scenarios builds layouts in {K_WHOLE_MAX} slots), got N = {_show(m.group(1))}")
    try:
        return get(name)
    except KeyError as e:
        raise UsageError(e.args[0]) from None
    except ValueError as e:
        raise UsageError(str(e)) from None


def _check_free_slots(sc: Any, layout: int, free_slots: int, max_map_count: int) -> None:
    """UsageError unless ``max_map_count - free_slots`` leaves room for the scenario's own ``layout`` VMAs."""
    if max_map_count - free_slots < layout:
        raise UsageError(f"scenario {sc.name!r} has {layout} VMAs of its own: it cannot have {free_slots} free slots "
                         f"under max_map_count={max_map_count} (at most {max_map_count - layout})")


def _check_model_size(what: str, vmas: int, how: str) -> None:
    """UsageError if a run would build more than :data:`MAX_MODEL_VMAS` model VMAs; ``how`` says how to
    go lower."""
    if vmas > MAX_MODEL_VMAS:
        raise UsageError(f"{what} would build {vmas} model VMAs; the limit is {MAX_MODEL_VMAS} (~0.9 kB each): "
                         f"{how}")


def _check_output(path: str | None, option: str, suffixes: Sequence[str]) -> None:
    """UsageError unless ``path`` can be written: a supported suffix, an existing directory, and a file
    that can be opened for writing (an existing one is opened for appending and left unchanged; a new one
    is created and removed again)."""
    if path is None:
        return
    lower = path.lower()
    if not any(lower.endswith(s) for s in suffixes) or os.path.basename(lower) in suffixes:
        raise UsageError(f"{option} {_show(path)}: the file name must end in {', '.join(suffixes)}")
    parent = os.path.dirname(path) or "."
    if not os.path.isdir(parent):
        raise UsageError(f"{option} {_show(path)}: directory {_show(parent)} does not exist")
    if os.path.isdir(path):
        raise UsageError(f"{option} {_show(path)}: is a directory")
    try:
        if os.path.lexists(path):
            if not os.path.isfile(path):
                raise UsageError(f"{option} {_show(path)}: exists and is not a regular file")
            os.close(os.open(path, os.O_WRONLY | os.O_APPEND | os.O_NONBLOCK))
        else:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            os.unlink(path)
    except OSError as e:
        raise UsageError(f"{option} {_show(path)}: cannot write there: {e.strerror or e}") from None


def _check_distinct(paths: dict[str, str | None]) -> None:
    """UsageError if two output options name the same file."""
    seen: dict[str, str] = {}
    for option, path in paths.items():
        if path is None:
            continue
        key = os.path.realpath(path)
        if key in seen:
            raise UsageError(f"{seen[key]} and {option} name the same file {_show(path)}")
        seen[key] = option


def _save(fig: Any, path: str, out: TextIO) -> None:
    """Save a figure; a failure to write (e.g. the disk filled up meanwhile) is an error of exit status 1."""
    try:
        fig.savefig(path, dpi=110, bbox_inches="tight")
    except OSError as e:
        raise _WriteError(path, e) from None
    print(f"wrote {path}", file=out)


class _Failure(Exception):
    """The run could not be done although its arguments are good (exit status 1)."""


class _WriteError(_Failure):
    """An output file could not be written after the run (exit status 1)."""

    def __init__(self, path: str, error: OSError) -> None:
        super().__init__(f"cannot write {_show(path)}: {error.strerror or error}")


# ---- commands -------------------------------------------------------------------------------------


def cmd_list(args: argparse.Namespace, out: TextIO) -> int:
    """``mmsim list``: the catalogue, optionally one family."""
    from .scenarios import CATALOGUE, families

    scs = list(CATALOGUE.values())
    if args.family is not None:
        if args.family not in families():
            raise UsageError(f"unknown family {_show(args.family)}; choose one of {', '.join(families())}")
        scs = [s for s in scs if s.family == args.family]
    width = max(len(s.name) for s in scs)
    fam = max(len(s.family) for s in scs)
    for s in scs:
        print(f"{s.name:<{width}}  {s.family:<{fam}}  {s.description}", file=out)
    print(f"\n{len(scs)} scenarios; also k-whole-N for 1 <= N <= {K_WHOLE_MAX}. Details: mmsim trace NAME",
          file=out)
    return 0


def _prepare_single(args: argparse.Namespace, cmd: str) -> Any:
    """Checks shared by ``trace`` and ``layout``; returns the scenario."""
    sc = _scenario(args.scenario)
    _check_output(args.png, "--png", FIGURE_SUFFIXES)
    layout = sc.layout_vmas
    _check_free_slots(sc, layout, args.free_slots, args.max_map_count)
    _check_model_size(cmd, max(args.max_map_count - args.free_slots, layout),
                      f"lower --max-map-count to at most {MAX_MODEL_VMAS + args.free_slots} (outcomes depend only "
                      "on the free slots; 'mmsim sweep --max-map-count N' stands for any N without padding)")
    return sc


def cmd_trace(args: argparse.Namespace, out: TextIO) -> int:
    """``mmsim trace``: classify the call per kernel and print its step trace."""
    from .experiments import Runner

    sc = _prepare_single(args, "trace")
    kernels = args.kernel or list(KERNELS)
    runner = Runner()
    print(f"{sc.name}: {sc.description}", file=out)
    print(f"call: {sc.call()}", file=out)
    print(f"free slots {args.free_slots}, max_map_count {args.max_map_count}", file=out)
    outs = {}
    for k in kernels:
        try:
            o = runner.run(sc, k, args.free_slots, args.max_map_count)
        except ValueError as e:
            raise UsageError(str(e)) from None
        outs[k] = o
        where = f", in {o.where}" if o.where and o.where != o.check else ""
        print(f"\n== kernel {k}: {o.kind}" + (f" ({o.errname} at {o.check}{where})" if o.errno else "")
              + f"  map_count {o.mc_before} -> {o.mc_after}, peak {o.peak}"
              + (f"  fp={o.fp}" if o.errno else "") + f"  ideal_ok={o.ideal_ok}", file=out)
        recs = o.trace.top() if args.top else list(o.trace)
        for rec in recs:
            print("  " + rec.describe(), file=out)
    if args.png:
        from .plots import plot_trace

        title = f"{sc.name}: map_count at each step — {args.free_slots} free slots"
        _save(plot_trace(outs, title=title), args.png, out)
    return 0


def cmd_layout(args: argparse.Namespace, out: TextIO) -> int:
    """``mmsim layout``: the VMAs around the scenario before and after its call."""
    from .experiments import Runner

    sc = _prepare_single(args, "layout")
    try:
        o, before, after = Runner().before_after(sc, args.kernel, args.free_slots, args.max_map_count)
    except ValueError as e:
        raise UsageError(str(e)) from None
    w0, w1 = sc.window if sc.window is not None else (0, 0)
    print(f"{sc.name} on kernel {args.kernel}, {args.free_slots} free slots: {sc.call()}", file=out)
    print(f"outcome: {o}", file=out)
    for label, mm in (("before", before), ("after", after)):
        print(f"\n{label} (map_count {mm.map_count}; VMAs in [{w0:#x}, {w1:#x})):", file=out)
        for v in mm.vmas_in(w0, w1):
            print("  " + v.maps_line(), file=out)
    if isinstance(o.result, int) and o.ok and not (w0 <= o.result < w1):
        print(f"\nthe call returned {o.result:#x}, outside this window", file=out)
    if args.png:
        from .plots import plot_layout

        old, new = sc.ranges()
        fig = plot_layout(before, after, old_range=old, new_range=new, window=sc.window, outcome=o,
                          title=f"{sc.name} on kernel {args.kernel} with {args.free_slots} free slots")
        _save(fig, args.png, out)
    return 0


def _prepare_sweep(args: argparse.Namespace) -> tuple[list[Any], list[str], list[int] | None]:
    """Every check of ``sweep`` (before any case runs); returns (scenarios, kernels, free-slot counts)."""
    from .scenarios import CATALOGUE, families, random_scenarios

    outputs = {"--csv": args.csv, "--parquet": args.parquet, "--png": args.png, "--rates-png": args.rates_png}
    _check_output(args.csv, "--csv", CSV_SUFFIXES)
    _check_output(args.parquet, "--parquet", (".parquet",))
    if args.parquet and importlib.util.find_spec("pyarrow") is None:
        raise UsageError("--parquet needs pyarrow: pip install 'mmsim[studies]'")
    if args.scheduler is not None:
        if args.jobs is not None:
            raise UsageError("give --jobs or --scheduler, not both")
        if not re.fullmatch(r"(tcp|tls|ws|wss|ucx)://[^\s/]+:\d+", args.scheduler):
            raise UsageError(f"--scheduler {_show(args.scheduler)} is not a scheduler address such as "
                             "tcp://10.0.0.5:8786")
    _check_output(args.png, "--png", FIGURE_SUFFIXES)
    _check_output(args.rates_png, "--rates-png", FIGURE_SUFFIXES)
    _check_distinct(outputs)
    scs: list[Any] = []
    if args.scenarios:
        scs = [_scenario(n) for n in args.scenarios]
    elif args.family is not None or not args.random:
        scs = list(CATALOGUE.values())
    if args.family is not None:
        if args.family not in families():
            raise UsageError(f"unknown family {_show(args.family)}; choose one of {', '.join(families())}")
        scs = [s for s in scs if s.family == args.family]
    if not scs and not args.random:
        raise UsageError("no scenarios selected")
    kernels = list(args.kernels or KERNELS)
    mxs = args.max_map_counts
    free_slots = args.free_slots if args.free_slots is not None else (None if mxs is not None else list(range(17)))
    values = mxs if mxs is not None else free_slots
    assert values is not None
    cases = (len(scs) + args.random) * len(kernels) * len(values)
    if cases > MAX_SWEEP_CASES:
        raise UsageError(f"{len(scs) + args.random} scenarios x {len(kernels)} kernels x {len(values)} values = "
                         f"{cases} cases; at most {MAX_SWEEP_CASES} (~0.5 kB each): give fewer values, kernels "
                         f"or scenarios")
    if mxs is not None:
        bad = [m for m in mxs if not 0 <= m <= INT_MAX]
        if bad:
            raise UsageError(f"--max-map-counts: vm.max_map_count must be 0..{INT_MAX} (an int sysctl, minimum 0),"
                             f" got {bad[0]}")
    else:
        assert free_slots is not None
        if min(free_slots) < -1:
            raise UsageError(f"--free-slots: free slots must be >= -1 (mmap lets map_count reach max_map_count + 1), "
                             f"got {min(free_slots)}")
    if args.png and len(set(values)) > MAX_MAP_COLUMNS:
        raise UsageError(f"--png: the outcome map draws one column per value: {len(set(values))} values, at most "
                         f"{MAX_MAP_COLUMNS}; give fewer values or leave out --png")
    scs += random_scenarios(args.random, args.seed)
    layouts = {sc.name: sc.layout_vmas for sc in scs}
    if free_slots is not None:
        top = max(free_slots)
        for sc in scs:
            _check_free_slots(sc, layouts[sc.name], top, args.max_map_count)
            _check_model_size(f"sweep of {sc.name!r} with {top} free slots",
                              min(args.max_map_count, layouts[sc.name] + max(top, 0) + 1),
                              "lower the largest of --free-slots (sweep pads each scenario to its VMAs plus the "
                              "largest free slots)")
    elif args.png:
        columns = {m - n for n in set(layouts.values()) for m in set(mxs)}
        if len(columns) > MAX_MAP_COLUMNS:
            raise UsageError(f"--png: the outcome map draws one column per free-slot value: {len(columns)} here, "
                             f"at most {MAX_MAP_COLUMNS}; give fewer values or leave out --png")
    return scs, kernels, free_slots


def cmd_sweep(args: argparse.Namespace, out: TextIO) -> int:
    """``mmsim sweep``: classify scenarios x kernels x values; print counts and rates; write files."""
    import pandas as pd

    from .experiments import false_positive_rate, outcome_counts, partial_failure_rate, sweep

    scs, kernels, free_slots = _prepare_sweep(args)
    try:
        df = sweep(scs, kernels, free_slots=free_slots, max_map_counts=args.max_map_counts,
                   max_map_count=args.max_map_count, progress=args.progress, n_jobs=args.jobs,
                   scheduler=args.scheduler)
    except ValueError as e:
        raise UsageError(str(e)) from None
    except ImportError as e:  # --scheduler without dask.distributed
        raise UsageError(str(e)) from None
    except OSError as e:  # a scheduler that cannot be reached
        raise _Failure(f"cannot reach the Dask scheduler {args.scheduler}: {e}") from None
    what = (f"max_map_count {args.max_map_counts[0]}..{args.max_map_counts[-1]}" if args.max_map_counts
            else f"free slots {min(df['free_slots'])}..{max(df['free_slots'])}")
    print(f"{len(df)} cases: {df['scenario'].nunique()} scenarios x {df['kernel'].nunique()} kernels x {what}",
          file=out)
    print("\noutcomes per kernel:", file=out)
    print(outcome_counts(df).to_string(), file=out)
    rates = pd.DataFrame({
        "false_positive": false_positive_rate(df),
        "any_fp": false_positive_rate(df, include_partial=True),
        "partial_failure": partial_failure_rate(df),
    })
    print("\nrates per kernel (share of cases):", file=out)
    print(rates.to_string(float_format=lambda v: f"{v:.3f}"), file=out)
    if args.csv:
        try:
            df.to_csv(args.csv, index=False)
        except OSError as e:
            raise _WriteError(args.csv, e) from None
        print(f"\nwrote {args.csv} ({len(df)} rows)", file=out)
    if args.parquet:
        try:
            df.to_parquet(args.parquet, index=False)
        except OSError as e:
            raise _WriteError(args.parquet, e) from None
        print(f"\nwrote {args.parquet} ({len(df)} rows, with the sweep's metadata)", file=out)
    if args.png:
        from .plots import plot_outcome_map

        _save(plot_outcome_map(df), args.png, out)
    if args.rates_png:
        from .plots import plot_fp_rate

        _save(plot_fp_rate(df), args.rates_png, out)
    return 0


def cmd_live(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """``mmsim live``: the scenario on this machine's kernel, compared step by step with the model."""
    sc = _scenario(args.scenario)
    try:
        ops = sc.live_ops()
    except ValueError as e:
        raise UsageError(str(e)) from None
    try:
        from . import live
    except ImportError as e:
        print(f"{PROG} live: error: live runs are unavailable: mmsim.live cannot be imported "
              f"({_one_line(str(e))})", file=err)
        return 1
    if args.target == "host" and args.kernel is not None:
        raise UsageError(f"--kernel {args.kernel} names a guest kernel: add --target qemu (the host target runs "
                         "this machine's kernel; --profile chooses the model)")
    try:
        info = live.kernel_info(target=args.target, kernel=args.kernel)
        if info.max_map_count is not None:
            _check_free_slots(sc, sc.layout_vmas, args.free_slots, info.max_map_count)
        if not info.can_run:
            print(f"{PROG} live: error: live runs are unavailable here: {_one_line(info.reason)}", file=err)
            return 1
        kernel = args.profile or info.profile
        if kernel is None:
            print(f"{PROG} live: error: no mmsim profile models Linux {info.release} ({_one_line(info.reason)}); "
                  "choose one with --profile", file=err)
            return 1
        cmp = live.compare(ops, kernel, free_slots_before={len(ops) - 1: args.free_slots}, arena_pages=sc.arena_pages,
                           timeout=args.timeout, target=args.target, kernel=args.kernel)
    except (live.LiveError, OSError, ValueError, TypeError) as e:
        print(f"{PROG} live: error: live run failed: {_one_line(str(e))}", file=err)
        return 1
    print(f"{sc.name}: {sc.description}", file=out)
    print(f"call: {sc.call()}   (layout set up first; {args.free_slots} free slots before the call)", file=out)
    print(str(cmp), file=out)
    last = cmp.rows[-1]
    print(f"\nthe call: live {_errno.errorcode.get(last.live_errno, 'OK') if last.live_errno else 'OK'} "
          f"{last.live_delta:+d}, model ({kernel}) "
          f"{(_errno.errorcode.get(last.model_errno, 'OK') if last.model_errno else 'OK')} "
          f"{'' if last.model_delta is None else f'{last.model_delta:+d}'}", file=out)
    try:
        o = sc.run(kernel, args.free_slots, cmp.live.max_map_count)
        print(f"model classification ({kernel}, {args.free_slots} free slots): {o.kind}"
              + (f" {o.errname} at {o.check}" if o.errno else "") + (" (fp)" if o.fp else ""), file=out)
    except ValueError:
        pass
    if cmp.all_match:
        print("live and model agree", file=out)
    elif cmp.mismatched or not cmp.initial_match:
        print("live and model DIFFER", file=out)
    else:
        print(f"live and model agree on what was compared, but not everything was: {cmp.verdict}", file=out)
    return 0 if cmp.all_match else 1


def cmd_kernels(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """``mmsim kernels``: the qemu target's kernels, cached or not; ``--fetch`` gets the missing ones."""
    import time

    from . import live
    from .live import kernels as K

    names = args.kernel or list(GUEST_KERNELS)
    status = 0
    for name in names:
        row = GUEST_KERNELS[name]
        image = K.cached_image(name)
        if image is None and args.fetch:
            t0 = time.monotonic()
            try:
                image = K.fetch_image(name, log=lambda line: print(f"  {line}", file=out, flush=True))
            except K.KernelFetchError as e:
                print(f"{PROG} kernels: error: {_one_line(str(e))}", file=err)
                status = 1
                continue
            print(f"  {name} ready in {time.monotonic() - t0:.0f} s", file=out)
        info = live.kernel_info(target="qemu", kernel=name)
        where = f"cached ({image.release}, {image.version})" if image is not None else "not cached"
        how = "built from source" if row.build is not None else f"Debian {row.suite}"
        print(f"{name:26s} {how:18s} {where}; profile {info.profile}"
              + ("" if info.supported or not info.reason else f" ({_one_line(info.reason)})"), file=out)
    return status


def cmd_quiz(args: argparse.Namespace, out: TextIO) -> int:
    """``mmsim quiz``: a generated question (deterministic per seed), and with ``--answers`` its worked answer."""
    from .quiz import DEFAULT_KERNELS, generate

    try:
        q = generate(args.seed, kernels=args.kernel or DEFAULT_KERNELS, family=args.family, free_slots=args.free_slots,
                     max_map_count=args.max_map_count, vmas=args.vmas, agreeing=args.agreeing)
    except ValueError as e:
        print(f"mmsim quiz: error: {e}", file=sys.stderr)
        return 2
    print(q.question(), file=out)
    if args.answers:
        print(q.worked(), file=out)
    return 0


# ---- standard output and the entry point -------------------------------------------------------------


class _Output:
    """Standard output for the commands: a failed write or flush raises :class:`_OutputError` and is
    remembered in :attr:`error`, so it is reported even when a caller (argparse's help printer) swallows
    OSError."""

    def __init__(self, stream: TextIO | None) -> None:
        self.stream = stream
        self.error: OSError | None = None

    def _fail(self, e: OSError) -> NoReturn:
        self.error = self.error or e
        raise _OutputError(e.errno, e.strerror or str(e)) from None

    def write(self, text: str) -> int:
        """Write ``text``; :class:`_OutputError` if standard output is closed or the write fails."""
        if self.stream is None:
            self._fail(OSError(_errno.EBADF, "standard output is closed"))
        try:
            return self.stream.write(text)
        except OSError as e:
            self._fail(e)

    def flush(self) -> None:
        """Flush; :class:`_OutputError` if an earlier write or this flush failed."""
        if self.error is not None:
            raise _OutputError(self.error.errno, self.error.strerror or str(self.error))
        if self.stream is None:
            return
        try:
            self.stream.flush()
        except OSError as e:
            self._fail(e)


def _detach_stdout(stream: TextIO | None) -> None:
    """After standard output failed: point file descriptor 1 at /dev/null, as the ``signal`` module's
    documentation recommends for SIGPIPE, so that the interpreter's own flush at exit cannot fail again
    and print a second message. Only for the process's real stdout (a test's capture is left alone)."""
    if stream is None or stream is not sys.__stdout__:
        return
    try:
        fd = stream.fileno()  # type: ignore[union-attr]
    except (OSError, ValueError):
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
    finally:
        os.close(devnull)


def _dispatch(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    if args.command == "list":
        return cmd_list(args, out)
    if args.command == "trace":
        return cmd_trace(args, out)
    if args.command == "layout":
        return cmd_layout(args, out)
    if args.command == "sweep":
        return cmd_sweep(args, out)
    if args.command == "live":
        return cmd_live(args, out, err)
    if args.command == "kernels":
        return cmd_kernels(args, out, err)
    if args.command == "quiz":
        return cmd_quiz(args, out)
    raise UsageError(f"unknown command {args.command!r}")  # pragma: no cover - argparse rejects it first


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI with ``argv`` (default ``sys.argv[1:]``); return the exit status (never raises SystemExit).

    Whatever goes wrong ends in one line on stderr and a status: 2 for a bad argument, 1 for a failure to
    write an output (standard output included) or an unexpected error; never a traceback unless the
    environment variable ``MMSIM_TRACEBACK`` is set. A closed pipe on standard output (``mmsim list | head``)
    ends the run quietly with status 0.
    """
    stream = sys.stdout
    out = _Output(stream)
    err = sys.stderr
    command = ""
    try:
        argv = _join_dash_values(sys.argv[1:] if argv is None else list(argv))
        parser = build_parser()
        with contextlib.redirect_stdout(cast(TextIO, out)):  # --help goes through the guard
            try:
                args = parser.parse_args(argv)
            except SystemExit as e:  # --help (0) or a usage error (2, its one line already printed)
                status = e.code if isinstance(e.code, int) else (0 if e.code is None else 2)
                out.flush()
                return status
        command = f" {args.command}"
        try:
            status = _dispatch(args, cast(TextIO, out), err)
        except UsageError as e:
            print(f"{PROG}{command}: error: {_one_line(str(e))}", file=err)
            status = 2
        out.flush()
        return status
    except _OutputError as e:
        _detach_stdout(stream)
        if e.errno == _errno.EPIPE:  # the reader has gone (mmsim list | head): nothing left to say
            return 0
        print(f"{PROG}{command}: error: cannot write to standard output: {e.strerror}", file=err)
        return 1
    except _Failure as e:
        print(f"{PROG}{command}: error: {_one_line(str(e))}", file=err)
        return 1
    except KeyboardInterrupt:
        print(f"{PROG}{command}: interrupted", file=err)
        return 130
    except MemoryError:
        print(f"{PROG}{command}: error: out of memory", file=err)
        return 1
    except Exception as e:  # the README's promise: no traceback, ever
        if os.environ.get("MMSIM_TRACEBACK"):
            raise
        print(f"{PROG}{command}: internal error: {type(e).__name__}: {_one_line(str(e))} "
              f"(MMSIM_TRACEBACK=1 shows the traceback)", file=err)
        return 1
