"""The ``mmsim`` command line (also ``python -m mmsim``): headless access to scenarios, traces and sweeps.

Subcommands::

    mmsim list                                  # the scenario catalogue
    mmsim trace seed-W --kernel 5.0 --kernel 5.1 --slack 3
    mmsim layout seed-W --kernel 5.0 --slack 3 --png layout.png
    mmsim sweep --slacks 0:17 --csv out.csv --png map.png
    mmsim live seed-W --slack 3                 # run it on this machine's kernel, compare with the model

Exit status: 0 on success; 2 for bad arguments (unknown scenario, kernel, malformed range), with a one-line
message and no traceback; 1 when a live run is unavailable, fails, or differs from the model.
"""

from __future__ import annotations

import argparse
import errno as _errno
import sys
from collections.abc import Sequence

from .constants import DEFAULT_MAX_MAP_COUNT
from .profiles import KERNELS, get_profile

__all__ = ["main", "parse_int_range", "build_parser"]

PROG = "mmsim"


class UsageError(Exception):
    """A bad argument found after parsing (exit status 2)."""


def parse_int_range(text: str) -> list[int]:
    """``"0:17"`` → 0..16, ``"0:17:2"`` → 0, 2, .., 16, ``"3"`` → [3], ``"1,3,5"`` → [1, 3, 5].

    Raises ValueError (argparse turns it into a usage error) for anything else or an empty result.
    """
    text = text.strip()
    try:
        if ":" in text:
            parts = [int(p) for p in text.split(":")]
            if len(parts) not in (2, 3) or (len(parts) == 3 and parts[2] == 0):
                raise ValueError
            values = list(range(*parts))
        else:
            values = [int(p) for p in text.split(",") if p.strip() != ""]
    except ValueError:
        raise ValueError(f"not an integer range: {text!r} (use START:STOP[:STEP], N, or N,M,...)") from None
    if not values:
        raise ValueError(f"empty range: {text!r}")
    return values


def _range_arg(text: str) -> list[int]:
    try:
        return parse_int_range(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _kernel_arg(text: str) -> str:
    try:
        return get_profile(text).name
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _nonneg(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if v < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {v}")
    return v


def _slack_arg(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if v < -1:
        raise argparse.ArgumentTypeError(f"free slots must be >= -1, got {v}")
    return v


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for documentation and tests)."""
    p = argparse.ArgumentParser(
        prog=PROG,
        description="mmsim: a model of Linux VMA bookkeeping (map_count vs vm.max_map_count) and the 2019 "
                    "mremap accounting bug. 'Free slots' = max_map_count - map_count before the call.",
        epilog="Run 'mmsim COMMAND --help' for the options of a command.",
    )
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)

    ls = sub.add_parser("list", help="list the scenarios with their descriptions",
                        description="List the scenario catalogue.")
    ls.add_argument("--family", help="only this family of scenarios")

    def scenario_args(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("scenario", metavar="SCENARIO", help="scenario name (see 'mmsim list'; also k-whole-N)")
        sp.add_argument("--slack", type=_slack_arg, default=3,
                        help="free slots before the call: max_map_count - map_count (default 3; >= -1)")
        sp.add_argument("--max-map-count", type=_nonneg, default=DEFAULT_MAX_MAP_COUNT, metavar="N",
                        help=f"vm.max_map_count of the model (default {DEFAULT_MAX_MAP_COUNT})")

    tr = sub.add_parser("trace", help="print the step trace of a scenario under one or more kernels",
                        description="Classify a scenario's call and print its step trace (semantics §8) per kernel.")
    scenario_args(tr)
    tr.add_argument("--kernel", "-k", action="append", type=_kernel_arg, metavar="K",
                    help=f"kernel profile, repeatable (default: all of {', '.join(KERNELS)})")
    tr.add_argument("--top", action="store_true", help="only the syscall-level (depth-0) steps")
    tr.add_argument("--png", metavar="FILE", help="also save the trace plot (plot_trace) to FILE")

    lay = sub.add_parser("layout", help="print the VMAs around a scenario before and after its call",
                         description="Show a scenario's VMAs (as /proc/PID/maps lines) before and after its call.")
    scenario_args(lay)
    lay.add_argument("--kernel", "-k", type=_kernel_arg, default="5.0", metavar="K",
                     help="kernel profile (default 5.0)")
    lay.add_argument("--png", metavar="FILE", help="also save the layout plot (plot_layout) to FILE")

    sw = sub.add_parser("sweep", help="classify scenarios x kernels x free slots; print a summary",
                        description="Sweep scenarios over kernels and free slots (or max_map_count values), "
                                    "print outcome counts and rates, optionally write CSV and plots.")
    sw.add_argument("--scenarios", nargs="+", metavar="NAME", help="scenario names (default: the whole catalogue)")
    sw.add_argument("--family", help="only catalogue scenarios of this family")
    sw.add_argument("--random", type=_nonneg, default=0, metavar="N", help="add N random mremap scenarios")
    sw.add_argument("--seed", type=int, default=0, help="seed of --random (default 0)")
    sw.add_argument("--kernels", nargs="+", type=_kernel_arg, metavar="K", help="kernel profiles (default: all)")
    grp = sw.add_mutually_exclusive_group()
    grp.add_argument("--slacks", type=_range_arg, metavar="RANGE",
                     help="free slots, e.g. 0:17 (default), 0:17:2, 3 or 1,3,5; for negative starts write "
                          "--slacks=-1:8")
    grp.add_argument("--max-map-counts", type=_range_arg, metavar="RANGE",
                     help="instead of --slacks: max_map_count values for the layouts alone (no filler)")
    sw.add_argument("--max-map-count", type=_nonneg, default=DEFAULT_MAX_MAP_COUNT, metavar="N",
                    help=f"the max_map_count the --slacks rows stand for (default {DEFAULT_MAX_MAP_COUNT})")
    sw.add_argument("--csv", metavar="FILE", help="write the tidy frame to FILE")
    sw.add_argument("--png", metavar="FILE", help="write the outcome map (plot_outcome_map) to FILE")
    sw.add_argument("--rates-png", metavar="FILE", help="write the rate bars (plot_fp_rate) to FILE")
    sw.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                    help="show a progress bar (default: only for long sweeps)")

    lv = sub.add_parser("live", help="run a scenario on this machine's kernel and compare with the model",
                        description="Replay a scenario's layout and call in a child process on the running "
                                    "kernel (mmsim.live), with SLACK free slots before the call, and compare "
                                    "every step with the model. Never changes vm.max_map_count.")
    lv.add_argument("scenario", metavar="SCENARIO", help="scenario name (see 'mmsim list')")
    lv.add_argument("--slack", type=_slack_arg, default=3, help="free slots before the call (default 3)")
    lv.add_argument("--kernel", "-k", type=_kernel_arg, metavar="K",
                    help="model profile to compare with (default: the one covering this kernel, else 6.18)")
    lv.add_argument("--timeout", type=float, default=60.0, help="seconds before the child is killed (default 60)")
    lv.add_argument("--target", choices=("host", "uml"), default="host",
                    help="run on this machine's kernel (host, default) or on Linux 6.1 under user-mode Linux (uml)")
    return p


# ---- commands -------------------------------------------------------------------------------------


def _scenario(name: str):
    from .scenarios import get

    try:
        return get(name)
    except KeyError as e:
        raise UsageError(e.args[0]) from None


def _save(fig, path: str, out) -> None:
    fig.savefig(path, dpi=110, bbox_inches="tight")
    print(f"wrote {path}", file=out)


def cmd_list(args: argparse.Namespace, out) -> int:
    from .scenarios import CATALOGUE, families

    scs = list(CATALOGUE.values())
    if args.family:
        if args.family not in families():
            raise UsageError(f"unknown family {args.family!r}; choose one of {', '.join(families())}")
        scs = [s for s in scs if s.family == args.family]
    width = max(len(s.name) for s in scs)
    fam = max(len(s.family) for s in scs)
    for s in scs:
        print(f"{s.name:<{width}}  {s.family:<{fam}}  {s.description}", file=out)
    print(f"\n{len(scs)} scenarios; also k-whole-N for any N >= 1. Details: mmsim trace NAME", file=out)
    return 0


def cmd_trace(args: argparse.Namespace, out) -> int:
    from .experiments import Runner

    sc = _scenario(args.scenario)
    kernels = args.kernel or list(KERNELS)
    runner = Runner()
    print(f"{sc.name}: {sc.description}", file=out)
    print(f"call: {sc.call()}", file=out)
    print(f"free slots {args.slack}, max_map_count {args.max_map_count}", file=out)
    outs = {}
    for k in kernels:
        try:
            o = runner.run(sc, k, args.slack, args.max_map_count)
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

        _save(plot_trace(outs, title=f"{sc.name}: map_count at each step — {args.slack} free slots"), args.png, out)
    return 0


def cmd_layout(args: argparse.Namespace, out) -> int:
    from .experiments import Runner

    sc = _scenario(args.scenario)
    try:
        o, before, after = Runner().before_after(sc, args.kernel, args.slack, args.max_map_count)
    except ValueError as e:
        raise UsageError(str(e)) from None
    w0, w1 = sc.window if sc.window is not None else (0, 0)
    print(f"{sc.name} on kernel {args.kernel}, {args.slack} free slots: {sc.call()}", file=out)
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
                          title=f"{sc.name} on kernel {args.kernel} with {args.slack} free slots")
        _save(fig, args.png, out)
    return 0


def cmd_sweep(args: argparse.Namespace, out) -> int:
    import pandas as pd

    from .experiments import false_positive_rate, outcome_counts, partial_failure_rate, sweep
    from .scenarios import CATALOGUE, families, get, random_scenarios

    scs = []
    if args.scenarios:
        for n in args.scenarios:
            try:
                scs.append(get(n))
            except KeyError as e:
                raise UsageError(e.args[0]) from None
    elif args.family or not args.random:
        scs = list(CATALOGUE.values())
    if args.family:
        if args.family not in families():
            raise UsageError(f"unknown family {args.family!r}; choose one of {', '.join(families())}")
        scs = [s for s in scs if s.family == args.family]
    scs += random_scenarios(args.random, args.seed)
    if not scs:
        raise UsageError("no scenarios selected")
    try:
        df = sweep(scs, args.kernels or KERNELS, slacks=args.slacks, max_map_counts=args.max_map_counts,
                   max_map_count=args.max_map_count, progress=args.progress)
    except ValueError as e:
        raise UsageError(str(e)) from None
    what = (f"max_map_count {args.max_map_counts[0]}..{args.max_map_counts[-1]}" if args.max_map_counts
            else f"free slots {min(df['slack'])}..{max(df['slack'])}")
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
        df.to_csv(args.csv, index=False)
        print(f"\nwrote {args.csv} ({len(df)} rows)", file=out)
    if args.png:
        from .plots import plot_outcome_map

        _save(plot_outcome_map(df), args.png, out)
    if args.rates_png:
        from .plots import plot_fp_rate

        _save(plot_fp_rate(df), args.rates_png, out)
    return 0


def cmd_live(args: argparse.Namespace, out, err) -> int:
    sc = _scenario(args.scenario)
    try:
        from . import live
    except ImportError as e:
        print(f"{PROG}: error: live runs are unavailable: mmsim.live cannot be imported ({e})", file=err)
        return 1
    try:
        ops = sc.live_ops()
    except ValueError as e:
        raise UsageError(str(e)) from None
    try:
        info = live.kernel_info(target=args.target)
        kernel = args.kernel or live.profile_for_release(info.release) or "6.18"
        if not getattr(info, "can_run", True):
            print(f"{PROG}: error: live runs are unavailable here: {info.reason}", file=err)
            return 1
        cmp = live.compare(ops, kernel=kernel, slack_before={len(ops) - 1: args.slack},
                           arena_pages=sc.arena_pages, timeout=args.timeout, target=args.target)
    except (getattr(live, "LiveError", RuntimeError), OSError, ValueError, TypeError) as e:
        print(f"{PROG}: error: live run failed: {e}", file=err)
        return 1
    print(f"{sc.name}: {sc.description}", file=out)
    print(f"call: {sc.call()}   (layout set up first; {args.slack} free slots before the call)", file=out)
    print(str(cmp), file=out)
    last = cmp.rows[-1]
    print(f"\nthe call: live {_errno.errorcode.get(last.live_errno, 'OK') if last.live_errno else 'OK'} "
          f"{last.live_delta:+d}, model ({kernel}) "
          f"{(_errno.errorcode.get(last.model_errno, 'OK') if last.model_errno else 'OK')} "
          f"{'' if last.model_delta is None else f'{last.model_delta:+d}'}", file=out)
    try:
        o = sc.run(kernel, args.slack, cmp.live.max_map_count)
        print(f"model classification ({kernel}, {args.slack} free slots): {o.kind}"
              + (f" {o.errname} at {o.check}" if o.errno else "") + (" (fp)" if o.fp else ""), file=out)
    except ValueError:
        pass
    print("live and model agree" if cmp.all_match else "live and model DIFFER", file=out)
    return 0 if cmp.all_match else 1


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI with ``argv`` (default ``sys.argv[1:]``); return the exit status (never raises SystemExit)."""
    parser = build_parser()
    out, err = sys.stdout, sys.stderr
    try:
        args = parser.parse_args(list(argv) if argv is not None else None)
    except SystemExit as e:  # --help (0) or a usage error (2, message already printed)
        return int(e.code) if isinstance(e.code, int) else (0 if e.code is None else 2)
    try:
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
    except UsageError as e:
        parser_for = {a.dest: a for a in parser._actions}.get("command")
        sub = parser_for.choices.get(args.command) if parser_for is not None else None
        (sub or parser).print_usage(err)
        print(f"{PROG} {args.command}: error: {e}", file=err)
        return 2
    except BrokenPipeError:  # e.g. mmsim list | head
        return 0
    parser.error(f"unknown command {args.command!r}")  # pragma: no cover - argparse rejects it first
    return 2  # pragma: no cover
