"""The qemu boot harness (mmsim.live.qemu): a guest boots one of the catalogue's kernels, runs a command with
the given stdin and environment, returns its exit status and output through the exchange directory, has its
OWN vm.max_map_count lowered while the host's is untouched, sees the host's root read-only, names a kernel
panic in one line, and is killed on timeout. Marked ``live``: without qemu they skip (fail under CI=true).
"""

from __future__ import annotations

import os
import time

import live_kernels
import pytest
from helpers import host_max_map_count

from mmsim.live import kernels, qemu

pytestmark = pytest.mark.live


@pytest.fixture(scope="module")
def image() -> kernels.KernelImage:
    live_kernels.require(live_kernels.LiveKernel("qemu", "6.1"), tally=False)
    return kernels.fetch_image("6.1")


def test_a_command_runs_with_stdin_env_and_exit_status(image) -> None:
    host_before = host_max_map_count()
    guest_max = 777 if host_before != 777 else 778
    script = ('read line; echo "stdin: $line"; echo "env: $MMSIM_X"; echo "to stderr" >&2; '
              'echo "guest max: $(cat /proc/sys/vm/max_map_count)"; echo "kernel: $(uname -r)"; exit 7')
    run = qemu.run_in_qemu(["sh", "-c", script], kernel=image, stdin=b"hello world\n", timeout=120,
                           max_map_count=guest_max, env={"PATH": "/usr/bin:/bin", "MMSIM_X": "a b'c\"d"})
    assert run.returncode == 7
    assert run.stdout.decode().splitlines() == [
        "stdin: hello world", "env: a b'c\"d", f"guest max: {guest_max}", f"kernel: {image.release}"]
    assert run.stderr == b"to stderr\n"
    assert run.max_map_count == guest_max and run.release == image.release != os.uname().release
    assert host_max_map_count() == host_before
    assert run.boot_seconds is not None and 0 < run.boot_seconds < run.total_seconds
    assert not os.path.exists(run.tmp)


def test_the_host_root_is_read_only_and_proc_is_the_guests(image, tmp_path) -> None:
    """Writing into the host's file system from the guest fails (the 9p export is read-only); /proc in the
    chroot is the guest's own procfs (its release, its pid 1)."""
    target = tmp_path / "written-by-the-guest"
    seen = tmp_path / "from-the-host"  # under the host's /tmp: seen by the guest (a venv there must run)
    seen.write_text("host file\n")
    script = (f'echo x > {target} 2>/dev/null && echo wrote || echo refused; cat /proc/1/comm; uname -r; '
              f'cat {seen}')
    run = qemu.run_in_qemu(["sh", "-c", script], kernel=image, timeout=120, env={"PATH": "/usr/bin:/bin"})
    lines = run.stdout.decode().splitlines()
    assert lines[0] == "refused" and not target.exists()
    assert lines[2] == image.release
    assert lines[3] == "host file"


def test_a_kernel_panic_is_one_line(image) -> None:
    with pytest.raises(qemu.QemuError, match="kernel panic: sysrq triggered crash") as exc:
        qemu.run_in_qemu(["sh", "-c", "echo c > /proc/sysrq-trigger; sleep 100"], kernel=image, timeout=120,
                         env={"PATH": "/usr/bin:/bin"})
    assert "\n" not in str(exc.value)
    assert exc.value.run is not None and exc.value.run.returncode is None


def test_a_timeout_kills_the_guest(image) -> None:
    t0 = time.monotonic()
    with pytest.raises(qemu.QemuTimeout) as exc:
        qemu.run_in_qemu(["sh", "-c", "sleep 300"], kernel=image, timeout=15, env={"PATH": "/usr/bin:/bin"})
    assert time.monotonic() - t0 < 40
    run = exc.value.run
    assert run is not None and run.killed and not os.path.exists(run.tmp)
    for pid in run.killed:
        assert not os.path.exists(f"/proc/{pid}") or open(f"/proc/{pid}/stat").read().split()[2] in ("Z", "X")


def test_bad_arguments_are_refused_before_a_boot() -> None:
    with pytest.raises(ValueError, match="argv"):
        qemu.run_in_qemu([], timeout=10)
    with pytest.raises(ValueError, match="timeout"):
        qemu.run_in_qemu(["true"], timeout=0)
    with pytest.raises(ValueError, match="max_map_count"):
        qemu.run_in_qemu(["true"], timeout=10, max_map_count=-1)
