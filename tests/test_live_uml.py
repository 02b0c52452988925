"""Linux 6.1 under user-mode Linux: the boot harness, and a first differential set on 6.1 next to the host.

Part 1 checks the harness (mmsim.live.uml): a guest boots, runs a command with the given stdin and
environment, returns its exit status and output through files, has its OWN vm.max_map_count lowered while
the host's is untouched, refuses to touch any sysctl when it cannot prove /proc is the guest's, and leaves
no process behind after a timeout.

Part 2 runs the cases that tell Linux 6.1 and 6.18 apart on BOTH kernels: 6.1.176 under user-mode Linux
(Debian's linux.uml) against model profile "6.1", and the host kernel against profile "6.18". The live
kernel is the oracle: every operation must agree with the model on errno, the arena's layout and the
map_count delta (mmsim.live.compare); no expected value is written here, except where a test checks that
the two kernels really differ, which compares the two live runs with each other. All cases of a kernel
share one child (one guest boot), separated by a reset of the arena.

Every test here is marked ``live`` and ``uml``. Without a bootable UML kernel they skip with the reason,
and fail under ``CI=true``.
"""

from __future__ import annotations

import os
import sys
import threading
import time

import live_tally
import pytest
from live_ops import batch, hintless, mmap, mprotect, mremap, mremap_bytes, reset, touch

import mmsim
from mmsim import live
from mmsim.constants import (
    MAP_ANONYMOUS,
    MAP_FIXED,
    MAP_NORESERVE,
    MAP_PRIVATE,
    MAP_SHARED,
    MREMAP_DONTUNMAP,
    MREMAP_FIXED,
    MREMAP_MAYMOVE,
    PAGE_SIZE,
    PROT_READ,
    PROT_WRITE,
)
from mmsim.live import uml

pytestmark = [pytest.mark.live, pytest.mark.uml]

P = PAGE_SIZE
RW = PROT_READ | PROT_WRITE
R = PROT_READ
PA = MAP_PRIVATE | MAP_ANONYMOUS
SA = MAP_SHARED | MAP_ANONYMOUS
MM, FX, DU = MREMAP_MAYMOVE, MREMAP_FIXED, MREMAP_DONTUNMAP
ARENA = 128  # pages
#: user-mode Linux's TASK_SIZE on x86-64: 0x7fc0002000 (arch/x86/um/os-Linux/task_size.c) minus two pages,
#: rounded down to PGDIR_SIZE (arch/um/kernel/um_arch.c, linux_main()).
UML_TASK_SIZE = 0x7FC0000000


def _host_max_map_count() -> int:
    with open("/proc/sys/vm/max_map_count") as f:
        return int(f.read())


@pytest.fixture(scope="module")
def uml_ok() -> str:
    """The UML kernel's release; skips (fails under CI=true) when guests cannot be booted here."""
    ok, reason = uml.uml_available()
    if not ok:
        if os.environ.get("CI") == "true":
            pytest.fail(f"user-mode Linux is unavailable under CI: {reason}")
        pytest.skip(reason)
    release = uml.uml_release()
    assert release is not None
    return release


# ---- part 1: the harness ----------------------------------------------------------------------------------


def test_boot_runs_a_command_with_stdin_env_and_exit_status(uml_ok: str) -> None:
    """One guest: stdin, stdout and stderr go through files, the exit status and the environment come
    through, the guest's vm.max_map_count is the lowered one and the host's stays as it was."""
    host_before = _host_max_map_count()
    guest_max = 1024 if host_before != 1024 else 1000
    script = (
        "read line; echo \"stdin: $line\"; echo \"env: $MMSIM_X\"; echo \"to stderr\" >&2; "
        "echo \"guest max: $(cat /proc/sys/vm/max_map_count)\"; echo \"kernel: $(uname -r)\"; exit 7"
    )
    run = uml.run_in_uml(["sh", "-c", script], stdin=b"hello world\n", timeout=120, max_map_count=guest_max,
                         env={"PATH": "/usr/bin:/bin", "MMSIM_X": "a b'c\"d"})
    assert run.returncode == 7
    assert run.stdout.decode().splitlines() == [
        "stdin: hello world", "env: a b'c\"d", f"guest max: {guest_max}", f"kernel: {uml_ok}",
    ]
    assert run.stderr == b"to stderr\n"
    assert run.max_map_count == guest_max and run.release == uml_ok != os.uname().release
    assert _host_max_map_count() == host_before
    assert uml.umid_processes(run.umid) == [] and uml.session_processes(run.session) == []
    assert not os.path.exists(run.tmp)


def _this_process_guests() -> list[int]:
    """Host pids (not zombies) of UML processes booted by this test process (their umid names our pid)."""
    needle = f"umid=mmsim-{os.getpid()}-".encode()
    pids = []
    for name in os.listdir("/proc"):
        try:
            with open(f"/proc/{name}/cmdline", "rb") as f:
                args = f.read().split(b"\0")
            with open(f"/proc/{name}/stat", "rb") as f:
                state = f.read().rsplit(b")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if state not in (b"Z", b"X") and any(a.startswith(needle) for a in args):
            pids.append(int(name))
    return pids


def test_timeout_kills_every_process_of_the_guest(uml_ok: str) -> None:
    """A command that never ends: UMLTimeout, and neither the UML kernel nor any host process it forked
    for the guest (its userspace processes, helpers) survives: none of its session, none carrying its
    umid; the private directory is gone."""
    peak: list[int] = []
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            peak.append(len(_this_process_guests()))
            time.sleep(0.05)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        with pytest.raises(uml.UMLTimeout) as exc:
            uml.run_in_uml(["sh", "-c", "sleep 300 & sleep 300"], timeout=10)
    finally:
        done.set()
        watcher.join()
    run = exc.value.run
    assert run is not None and run.returncode is None
    if run.boot_seconds is not None:  # the command had started: the guest's processes were host processes
        assert max(peak) >= 2, peak
    assert _this_process_guests() == []
    assert run.session in run.killed
    assert uml.session_processes(run.session) == []
    assert uml.umid_processes(run.umid) == []
    assert not os.path.exists(run.tmp)


def test_init_refuses_when_it_cannot_tell_the_guest_from_the_host(uml_ok: str, monkeypatch) -> None:
    """The init script writes no sysctl unless the kernel it runs on is not the host's: told that the
    host runs the guest's release, it refuses before setting vm.max_map_count (nothing is read back)."""
    real = os.uname()
    fake = os.uname_result((real.sysname, real.nodename, uml_ok, real.version, real.machine))
    monkeypatch.setattr(os, "uname", lambda: fake)
    host_before = _host_max_map_count()
    with pytest.raises(uml.UMLError, match="refused.*host release") as exc:
        uml.run_in_uml(["true"], timeout=120, max_map_count=1000)
    assert exc.value.run is not None and exc.value.run.max_map_count is None
    assert _host_max_map_count() == host_before


# ---- part 2: 6.1 (user-mode Linux) and 6.18 (host), each against its profile ---------------------------














RESET = reset(ARENA)
#: Unmap the whole arena: a case that needs real holes (free space) starts with it.
EMPTY = ("munmap", {"addr": 0, "length": ARENA * P})
Case = tuple[str, list, int | None, str]


def _cases() -> list[Case]:
    """``(name, ops, slack, hold)``: ``slack`` free slots before the first op (``hold="all"``: before every
    op of the case), or None for an uncontrolled count. The comments say what the source reading
    (docs/linux-6.1.md) predicts; the tests only hold each kernel to its profile."""
    c: list[Case] = []
    # mremap(MAYMOVE|FIXED) of a range that runs past its VMA into a hole. 6.1 checks the old range
    # (vma_to_resize(): EFAULT) after unmapping the destination; 6.18 moves what is mapped.
    c.append(("fixed-move-source-runs-into-a-hole", [EMPTY, mmap(10, 2), mmap(40, 5, R),
                                                     mremap(10, 3, 3, MM | FX, 41)], None, ""))
    c.append(("fixed-move-source-vma-hole-vma", [EMPTY, mmap(10, 1), mmap(12, 1, R), mmap(40, 5, R),
                                                 mremap(10, 3, 3, MM | FX, 41)], None, ""))
    # The same source running into a neighbouring VMA instead of a hole: EFAULT on 6.1 too.
    c.append(("fixed-move-source-runs-into-a-vma", [mmap(10, 2), mmap(40, 5, R), mremap(10, 3, 3, MM | FX, 41)],
              None, ""))
    # A multi-VMA FIXED move (three one-page VMAs with holes between) at free slots 5, 6, 7 and
    # uncontrolled: 6.1 has one move check and fails the range with EFAULT after unmapping the destination;
    # 6.18 moves piece by piece, checking each.
    multi = [EMPTY, mmap(10, 1), mmap(12, 1, R), mmap(14, 1), mmap(40, 10, R), mremap(10, 5, 5, MM | FX, 45)]
    c.append(("multi-vma-fixed-move", multi, None, ""))
    for s in (5, 6, 7):
        c.append((f"multi-vma-fixed-move@{s}", multi, s, "all"))
    # mprotect to read-only of an unfaulted page: 6.1 keeps VM_ACCOUNT (no mprotect unaccounting before
    # 6.7), so the page cannot merge back; 6.18 drops it and re-merges. Written pages keep it on both.
    c.append(("mprotect-r-rw-r-unfaulted", [mmap(10, 5, R), mprotect(12, 1, RW), mprotect(12, 1, R)], None, ""))
    c.append(("mprotect-r-rw-r-faulted", [mmap(10, 5, R), mprotect(12, 1, RW), touch(12), mprotect(12, 1, R)],
              None, ""))
    c.append(("mprotect-rw-r-rw-r", [mmap(10, 5, RW), mprotect(12, 1, R), mprotect(12, 1, RW),
                                     mprotect(12, 1, R)], None, ""))
    # Validation order of a bad source: FIXED from an unmapped address onto a mapped destination. 6.1
    # looks the source up (vma_lookup: EFAULT) before the early map_count check; 6.18 checks the count
    # first (check_mremap_params(): ENOMEM at <= 5 free slots).
    for s in range(0, 8):
        c.append((f"fixed-from-unmapped-source@{s}", [EMPTY, mmap(40, 5, R), mremap(10, 2, 2, MM | FX, 41)], s,
                  "all"))
    # DONTUNMAP compares the raw lengths on 6.1 (4096 != 4095: EINVAL), the page-aligned ones on 6.18.
    for old, new in ((4096, 4095), (4095, 4096), (4096, 4096)):
        c.append((f"dontunmap-raw-lengths-{old}-{new}",
                  [mmap(10, 1), touch(10), mremap_bytes(10, old, new, MM | DU, 60)], None, ""))
    # Grow in place up to a compatible next VMA: merges on both, except that on 6.1 a faulted VMA cannot
    # merge into an unfaulted neighbour (is_mergeable_anon_vma()'s list_is_singular() test).
    c.append(("grow-faulted-into-unfaulted-next", [EMPTY, mmap(10, 2), touch(10, 2), mmap(14, 2),
                                                   mremap(10, 2, 4)], None, ""))
    c.append(("grow-unfaulted-into-unfaulted-next", [EMPTY, mmap(10, 2), mmap(14, 2), mremap(10, 2, 4)], None, ""))
    c.append(("grow-unfaulted-into-faulted-next", [EMPTY, mmap(10, 2), mmap(14, 2), touch(14, 2),
                                                   mremap(10, 2, 4)], None, ""))
    c.append(("grow-faulted-into-faulted-next", [EMPTY, mmap(10, 2), touch(10, 2), mmap(14, 2), touch(14, 2),
                                                 mremap(10, 2, 4)], None, ""))
    # The same asymmetry through mprotect (NORESERVE: no VM_ACCOUNT differences).
    nr = PA | MAP_NORESERVE | MAP_FIXED
    c.append(("mprotect-faulted-next-to-unfaulted-prev", [mmap(10, 2, R, nr), mmap(12, 2, RW, nr), touch(12, 2),
                                                          mprotect(12, 2, R)], None, ""))
    c.append(("mprotect-faulted-tail-next-to-unfaulted-next", [mmap(10, 4, RW, nr), touch(10, 4),
                                                               mmap(14, 2, R, nr), mprotect(12, 2, R)], None, ""))
    # old_len 0 of a private VMA, FIXED onto a mapped destination: EINVAL on both; 6.1 has unmapped the
    # destination first.
    c.append(("old-len-0-private-fixed-onto-a-vma", [mmap(10, 2), mmap(40, 4, R), mremap(10, 0, 2, MM | FX, 41)],
              None, ""))
    # new_len beyond TASK_SIZE without MREMAP_FIXED: 6.1 checks it only in mremap_to() (grows fail later
    # with ENOMEM); 6.18 checks every call (EINVAL).
    huge = (1 << 47) + P
    for flags in (0, MM):
        c.append((f"grow-beyond-task-size-flags{flags}", [mmap(10, 2), ("mremap", {
            "old_address": 10 * P, "old_size": 2 * P, "new_size": huge, "flags": flags, "new_address": 0})],
            None, ""))
    # Kernel-chosen placements land in the landing gap where the model puts them (top-down under the roof
    # on the host, bottom-up above the floor in user-mode Linux).
    c.append(("placement-hintless", [hintless(1, R, SA), hintless(1, R, SA), hintless(4), hintless(2)], None, ""))
    c.append(("placement-maymove-relocation", [mmap(10, 2), touch(10, 2), mmap(12, 1, R, SA | MAP_FIXED),
                                               mremap(10, 2, 4, MM)], None, ""))
    c.append(("placement-dontunmap-occupied-hint", [mmap(10, 4), touch(10, 4), mmap(60, 4, R),
                                                    mremap(10, 4, 4, MM | DU, 60)], None, ""))
    # Spec seed-W / seed-S: O = 10-page RW anon (unfaulted), D = 10-page R anon, interior to interior FIXED,
    # at free slots 0..8.
    for s in range(0, 9):
        for name, new in (("seed-W", 3), ("seed-S", 6)):
            c.append((f"{name}@{s}", [mmap(10, 10, RW), mmap(40, 10, R), mremap(12, 6, new, MM | FX, 42)], s, "all"))
    return c


# The filler stays where the last controlled case left it, so the cases with an uncontrolled count run
# first, far from the limit, and the controlled ones after them.
CASES = sorted(_cases(), key=lambda case: case[2] is not None)
#: Cases whose last operation the source reading says ends differently on 6.1 and 6.18.
DIFFERENT = [
    "fixed-move-source-runs-into-a-hole",
    "fixed-move-source-vma-hole-vma",
    "fixed-move-source-runs-into-a-vma",
    "multi-vma-fixed-move",
    "multi-vma-fixed-move@6",
    "multi-vma-fixed-move@7",
    "mprotect-r-rw-r-unfaulted",
    *[f"fixed-from-unmapped-source@{s}" for s in range(0, 6)],
    "dontunmap-raw-lengths-4096-4095",
    "dontunmap-raw-lengths-4095-4096",
    "grow-faulted-into-unfaulted-next",
    "mprotect-faulted-next-to-unfaulted-prev",
    "mprotect-faulted-tail-next-to-unfaulted-next",
    "old-len-0-private-fixed-onto-a-vma",
    "grow-beyond-task-size-flags0",
    "grow-beyond-task-size-flags1",
]


def run_cases(cases: list[Case], target: str) -> tuple[live.Comparison, dict[str, list[live.CompareRow]]]:
    """Run the cases in one child on ``target``, compare with the profile of its release, count the tally."""
    ops, slack_before, spans = batch(cases, ARENA)
    cmp = live.compare(ops, arena_pages=ARENA, slack_before=slack_before, timeout=240, target=target)
    live_tally.record(cmp)
    return cmp, {name: [cmp.rows[i] for i in span] for name, span in spans.items()}


@pytest.fixture(scope="module")
def on_61(uml_ok: str) -> tuple[live.Comparison, dict[str, list[live.CompareRow]]]:
    info = live.kernel_info(target="uml")
    assert info.can_run, info.reason
    if info.profile != "6.1":
        pytest.skip(f"this differential set checks profile 6.1; the UML kernel is {info.release} ({info.reason})")
    return run_cases(CASES, "uml")


@pytest.fixture(scope="module")
def on_618() -> tuple[live.Comparison, dict[str, list[live.CompareRow]]]:
    info = live.kernel_info()
    if not info.can_run:
        pytest.skip(info.reason)
    if info.profile != "6.18":
        pytest.skip(f"the host half checks profile 6.18; this host is {info.release} ({info.reason})")
    return run_cases(CASES, "host")


def assert_match(rows: list[live.CompareRow], label: str, kernel: str) -> None:
    bad = [r for r in rows if not r.match]
    assert not bad, f"{label}: model {kernel} disagrees with the live kernel:\n" + "\n".join(
        f"  #{r.index} {r.op} [map_count {r.map_count_before}]: {', '.join(r.mismatches) or r.not_compared}; "
        f"live errno {r.live_errno} delta {r.live_delta:+d} layout {r.live_layout}; model errno {r.model_errno} "
        f"delta {r.model_delta} layout {r.model_layout}" + (f"; {r.model_error}" if r.model_error else "")
        for r in bad
    )


def test_uml_run_is_the_guest_s(on_61) -> None:
    """The run's kernel, max_map_count, placement and TASK_SIZE are the guest's, as the child measured them;
    the model was set up from them (profile from the release, bottom-up from the landing floor)."""
    cmp, _ = on_61
    run = cmp.live
    assert run.target == "uml" and run.release == uml.uml_release() and run.release != os.uname().release
    assert run.max_map_count == live.kernel_info(target="uml").max_map_count != _host_max_map_count()
    assert run.layout == "bottomup" and run.landing is not None and run.landing[0] == run.landing_floor
    assert run.landing[1] < run.base  # the landing gap lies below the arena
    assert run.task_size == UML_TASK_SIZE
    assert run.machine == "x86_64" and run.boot_seconds is not None
    assert all(a == b for _, a, b in run.stability)
    assert cmp.kernel == "6.1" and cmp.coverage is not None and cmp.coverage.exact
    assert cmp.initial_match and cmp.n_ops == len(run) and cmp.n_not_compared == 0


def test_host_run_keeps_its_layout(on_618) -> None:
    cmp, _ = on_618
    assert cmp.live.target == "host" and cmp.live.layout == "topdown" and cmp.live.task_size is None
    assert cmp.kernel == "6.18" and cmp.initial_match


@pytest.mark.parametrize("name", [c[0] for c in CASES])
def test_case_on_6_1_under_uml(on_61, name: str) -> None:
    assert_match(on_61[1][name], name, "6.1")


@pytest.mark.parametrize("name", [c[0] for c in CASES])
def test_case_on_6_18_host(on_618, name: str) -> None:
    assert_match(on_618[1][name], name, "6.18")


@pytest.mark.parametrize("name", DIFFERENT)
def test_the_case_tells_6_1_from_6_18(on_61, on_618, name: str) -> None:
    """Live against live: the case's last operation ends differently on the two kernels (errno, map_count
    delta or the arena's layout), so it distinguishes the profiles."""
    a, b = on_61[1][name][-1], on_618[1][name][-1]
    assert (a.live_errno, a.live_delta, a.live_layout) != (b.live_errno, b.live_delta, b.live_layout), (
        f"{name}: both kernels give errno {a.live_errno}, delta {a.live_delta:+d}, layout {a.live_layout}"
    )


PLACED = {"placement-hintless": [0, 1, 2, 3], "placement-maymove-relocation": [3],
          "placement-dontunmap-occupied-hint": [3]}


@pytest.mark.parametrize("kernel", ["6.1", "6.18"])
def test_kernel_chosen_placements_land_in_the_landing_gap(on_61, on_618, kernel: str) -> None:
    """Hint-less mmaps, a MAYMOVE relocation and a DONTUNMAP move with an occupied hint succeed and land in
    the child's landing gap (bottom-up above the floor under UML, top-down under the roof on the host),
    where compare() also holds the model to the address."""
    cmp, rows = on_61 if kernel == "6.1" else on_618
    assert cmp.live.landing is not None
    lo, hi = cmp.live.landing
    for name, indices in PLACED.items():
        for i in indices:
            r = rows[name][i]
            assert r.live_errno == 0 and not r.live_ret_in_arena and r.live_ret is not None, (name, i)
            assert lo <= r.live_ret < hi, (name, i, hex(r.live_ret), hex(lo), hex(hi))
            assert r.match, (name, i, r.mismatches)


def test_seed_band_on_both_kernels(on_61, on_618) -> None:
    """seed-W and seed-S at free slots 0..8: each kernel fails with ENOMEM and no change below some band
    edge and succeeds above it; the edge is the same on both kernels (one early check, mc + 2 >= max - 3)."""
    edges = {}
    for kernel, (_, rows) in (("6.1", on_61), ("6.18", on_618)):
        for name in ("seed-W", "seed-S"):
            last = {s: rows[f"{name}@{s}"][-1] for s in range(0, 9)}
            ok = [s for s in range(0, 9) if last[s].live_errno == 0]
            assert ok and ok == list(range(ok[0], 9)), (kernel, name, {s: r.live_errno for s, r in last.items()})
            assert all(last[s].live_delta == 0 for s in range(0, ok[0])), (kernel, name)
            edges[kernel, name] = ok[0]
    assert edges["6.1", "seed-W"] == edges["6.18", "seed-W"] and edges["6.1", "seed-S"] == edges["6.18", "seed-S"]


def test_kernel_info_of_the_uml_target(uml_ok: str) -> None:
    info = live.kernel_info(target="uml")
    assert info.target == "uml" and info.release == uml_ok and info.can_run
    assert info.profile == mmsim.kernel_for_release(uml_ok) and info.max_map_count == live.host.UML_MAX_MAP_COUNT
    assert "user-mode Linux" in str(info)


def test_cli_live_on_the_uml_target(uml_ok: str, capsys) -> None:
    """``mmsim live SCENARIO --target uml``: the scenario runs in the guest and is compared with the
    profile of the guest's release."""
    from mmsim.cli import main

    rc = main(["live", "seed-W", "--slack", "3", "--target", "uml"])
    out = capsys.readouterr().out
    assert f"live Linux {uml_ok} (user-mode Linux) vs mmsim profile 6.1" in out, out
    assert rc == 0 and "live and model agree" in out, out


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-q"]))
