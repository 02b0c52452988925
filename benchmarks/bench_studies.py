"""Studies: the compiled core against pure Python, and a sweep in workers and on Dask — from one run.

    .venv/bin/python benchmarks/bench_studies.py [--iterations N] [--no-compiled] [--no-dask]

Prints

* the model's µs per operation (mprotect split+merge, a FIXED mremap there and back; as in
  bench_vs_kernel.py) at 1,000 / 65,530 / 1,048,576 VMAs, pure and compiled, and the ratio to the host
  kernel's syscall measured in the same run (a bounded child inside a PROT_NONE arena, never a sysctl);
* the exact sweep (22 catalogue scenarios x 7 profiles x free slots 0..30 = 4,774 cases, each a real
  65,5xx-VMA process): cases/s pure, compiled, with joblib ``n_jobs=2`` and on a Dask ``LocalCluster`` of
  2 workers (127.0.0.1), and the per-case overhead of the two schedulers on a small-model sweep.

The compiled build is made here, once, in ``benchmarks/results/compiled/`` (``MMSIM_MYPYC=1 setup.py
build_ext --inplace`` on a copy of the package; a minute or two) and reused while the sources are
unchanged. Each mode runs in its own interpreter. No result is asserted (the tests never time anything).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"
SIZES = (1_000, 65_530, 1_048_576)

_MODEL = r"""
import json, sys, time
import mmsim.native  # first: bench_vs_kernel puts the checkout (the pure tree) at the front of sys.path
sys.path.insert(0, sys.argv[1])
import bench_vs_kernel as b
from mmsim import experiments as X
from mmsim.scenarios import CATALOGUE
sizes, iters = json.loads(sys.argv[2]), int(sys.argv[3])
out = {"compiled": mmsim.native.compiled_modules(), "ops": {}}
for n in sizes:
    out["ops"][n] = b.model_us(n, iters)
scs, ks = list(CATALOGUE.values())[:22], ["5.0", "5.1", "5.10", "6.1", "6.12", "6.18", "7.1"]
X.sweep(scs[:1], ks[:1], free_slots=[0], exact=True, progress=False)  # the filler template, once per process
t = time.perf_counter()
df = X.sweep(scs, ks, free_slots=range(0, 31), exact=True, progress=False)
out["exact"] = {"cases": len(df), "seconds": time.perf_counter() - t}
print(json.dumps(out))
"""


def _sources_key() -> str:
    h = hashlib.sha256()
    for p in sorted((ROOT / "mmsim").rglob("*.py")) + [ROOT / "setup.py"]:
        h.update(p.read_bytes())
    return h.hexdigest()[:16]


def compiled_tree() -> Path | None:
    """A copy of the package with the mypyc extensions built in place (cached by the sources' hash)."""
    dest = RESULTS / "compiled"
    stamp = dest / "SOURCES"
    key = _sources_key()
    if stamp.is_file() and stamp.read_text() == key:
        return dest
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    shutil.copytree(ROOT / "mmsim", dest / "mmsim", ignore=shutil.ignore_patterns("__pycache__", "*.so"))
    for f in ("setup.py", "pyproject.toml"):
        shutil.copy(ROOT / f, dest / f)
    print("building the compiled core (mypyc) ...", flush=True)
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, "setup.py", "build_ext", "--inplace"], cwd=dest, capture_output=True,
                          text=True, env=dict(os.environ, MMSIM_MYPYC="1"))
    if proc.returncode != 0 or not list((dest / "mmsim").glob("*.so")):
        print(f"  no compiled build: {(proc.stderr or proc.stdout).strip().splitlines()[-1:]}")
        return None
    print(f"  built in {time.perf_counter() - t:.0f} s")
    stamp.write_text(key)
    return dest


def run_mode(tree: Path, iterations: int) -> dict:
    proc = subprocess.run([sys.executable, "-c", _MODEL, str(HERE), json.dumps(SIZES), str(iterations)],
                          capture_output=True, text=True, check=True, cwd=tree,
                          env=dict(os.environ, PYTHONPATH=str(tree)))
    return json.loads(proc.stdout.strip().splitlines()[-1])


def schedulers(dask: bool) -> dict:
    """Exact sweep and small-model sweep: serial, joblib n_jobs=2, Dask LocalCluster(2) (pure Python)."""
    from mmsim import experiments as X
    from mmsim.scenarios import CATALOGUE, random_scenarios

    scs, ks = list(CATALOGUE.values())[:22], ["5.0", "5.1", "5.10", "6.1", "6.12", "6.18", "7.1"]
    small = random_scenarios(300, seed=5)
    runs: dict = {}

    def timed(name: str, **kw) -> None:
        for what, sc, extra in (("exact", scs, {"free_slots": range(0, 31), "exact": True}),
                                ("small", small, {"free_slots": range(0, 17)})):
            t = time.perf_counter()
            df = X.sweep(sc, ks, progress=False, **extra, **kw)
            runs[(name, what)] = (len(df), time.perf_counter() - t)

    timed("serial")
    timed("joblib n_jobs=2", n_jobs=2)
    if dask:
        from distributed import Client, LocalCluster

        with LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1", dashboard_address=None,
                          silence_logs=40) as cluster, Client(cluster) as client:
            client.submit(sum, [1]).result()  # workers up
            timed("dask LocalCluster(2)", scheduler=client)
    return runs


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--iterations", type=int, default=2000, help="pairs of calls per measurement")
    ap.add_argument("--no-compiled", action="store_true", help="skip the compiled build")
    ap.add_argument("--no-dask", action="store_true", help="skip the Dask LocalCluster")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(HERE))
    from bench_vs_kernel import kernel_us

    kernel = {n: kernel_us(n, args.iterations) for n in SIZES}
    modes = {"pure": run_mode(ROOT, args.iterations)}
    tree = None if args.no_compiled else compiled_tree()
    if tree is not None:
        modes["compiled"] = run_mode(tree, args.iterations)
    print("\nmodel vs the host kernel, µs per operation (ratio model/kernel)")
    print(f"  {'VMAs':>9}  {'op':9} {'kernel':>7}  " + "  ".join(f"{m:>16}" for m in modes))
    for n in SIZES:
        for op in ("mprotect", "mremap"):
            k = kernel[n][op] if kernel[n] else None
            cells = []
            for m in modes.values():
                v = m["ops"][str(n)][op]
                cells.append(f"{v:7.2f} ({v / k:5.1f}x)" if k else f"{v:7.2f}  (  -  )")
            print(f"  {n:>9,}  {op:9} {k if k is None else round(k, 2)!s:>7}  " + "  ".join(f"{c:>16}" for c in cells))
    print("\nexact sweep (22 scenarios x 7 profiles x free slots 0..30, real 65,5xx-VMA processes)")
    for name, m in modes.items():
        e = m["exact"]
        print(f"  {name:22} {e['cases']:,} cases in {e['seconds']:.2f} s: {e['cases'] / e['seconds']:,.0f} cases/s"
              + (f"  ({len(m['compiled'])} modules compiled)" if name == "compiled" else ""))
    runs = schedulers(not args.no_dask)
    serial_small = runs[("serial", "small")]
    for (name, what), (cases, secs) in runs.items():
        if what == "exact" and name != "serial":
            print(f"  {name:22} {cases:,} cases in {secs:.2f} s: {cases / secs:,.0f} cases/s")
    print(f"\nscheduler overhead on a small-model sweep ({serial_small[0]:,} cases; serial {serial_small[1]:.2f} s)")
    for (name, what), (cases, secs) in runs.items():
        if what == "small" and name != "serial":
            over = (2 * secs - serial_small[1]) / cases * 1e6  # worker-seconds beyond the serial work
            print(f"  {name:22} {secs:.2f} s, {cases / secs:,.0f} cases/s, overhead {over:,.0f} µs per case")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
