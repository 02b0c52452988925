"""The user-mode Linux boot harness (mmsim.live.uml), where user-mode Linux boots.

A guest boots, runs a command with the given stdin and environment, returns its exit status and output
through files, has its OWN vm.max_map_count lowered while the host's is untouched, refuses to touch any
sysctl when it cannot prove /proc is the guest's, and leaves no process behind after a timeout. The
differential cases run under user-mode Linux with the other live kernels (tests/test_live_kernels.py).

Every test here is marked ``live`` and ``uml``. Without a UML kernel they skip with the reason (and fail
under ``CI=true``); on a machine where user-mode Linux cannot boot (CPUs with AVX-512 or AMX:
``mmsim.live.uml.XSAVE_NOTE``) they skip with that reason even under ``CI=true``: Linux 6.1 is then checked
under qemu alone.
"""

from __future__ import annotations

import os
import threading
import time

import pytest
from helpers import host_max_map_count

import mmsim
from mmsim import live
from mmsim.constants import (
    MAP_ANONYMOUS,
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


@pytest.fixture(scope="module")
def uml_ok() -> str:
    """The UML kernel's release; skips (fails under CI=true) when guests cannot be booted here."""
    ok, reason = uml.uml_available()
    if not ok:
        if os.environ.get("CI") == "true":
            pytest.fail(f"user-mode Linux is unavailable under CI: {reason}")
        pytest.skip(reason)
    ok, reason = uml.uml_boots()
    if not ok:  # a fact of this machine's CPU, not a failure: 6.1 runs under qemu instead
        pytest.skip(reason)
    release = uml.uml_release()
    assert release is not None
    return release


# ---- part 1: the harness ----------------------------------------------------------------------------------


def test_boot_runs_a_command_with_stdin_env_and_exit_status(uml_ok: str) -> None:
    """One guest: stdin, stdout and stderr go through files, the exit status and the environment come
    through, the guest's vm.max_map_count is the lowered one and the host's stays as it was."""
    host_before = host_max_map_count()
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
    assert host_max_map_count() == host_before
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
    host_before = host_max_map_count()
    with pytest.raises(uml.UMLError, match="refused.*host release") as exc:
        uml.run_in_uml(["true"], timeout=120, max_map_count=1000)
    assert exc.value.run is not None and exc.value.run.max_map_count is None
    assert host_max_map_count() == host_before


def test_kernel_info_of_the_uml_target(uml_ok: str) -> None:
    info = live.kernel_info(target="uml")
    assert info.target == "uml" and info.release == uml_ok and info.can_run
    assert info.profile == mmsim.kernel_for_release(uml_ok) and info.max_map_count == live.host.GUEST_MAX_MAP_COUNT
    assert "user-mode Linux" in str(info)


def test_cli_live_on_the_uml_target(uml_ok: str, capsys) -> None:
    """``mmsim live SCENARIO --target uml``: the scenario runs in the guest and is compared with the
    profile of the guest's release."""
    from mmsim.cli import main

    rc = main(["live", "seed-W", "--free-slots", "3", "--target", "uml"])
    out = capsys.readouterr().out
    assert f"live Linux {uml_ok} (user-mode Linux) vs mmsim profile {mmsim.kernel_for_release(uml_ok)}" in out, out
    assert rc == 0 and "live and model agree" in out, out
