"""Run one command inside a fresh qemu virtual machine booting a real kernel: the guest target of :mod:`mmsim.live`.

The guest boots one of the kernels of :mod:`mmsim.live.kernels` (Debian's 5.10, 6.1 and 6.12, fetched and
cached on first use) under qemu's TCG emulator, which needs no KVM and runs on any x86-64 host, whatever its
CPU. Its root is a small initramfs (a static busybox, the kernel's virtio/9p modules and an init script);
the host's ``/`` is mounted **read-only** over virtio-9p at ``/host``, so the host's interpreter and the
stdlib-only child of :mod:`mmsim.live.child` run in the guest, chrooted into ``/host`` with the guest's own
``/proc``, ``/sys`` and ``/dev`` mounted over the host's directories (``/tmp`` stays the host's, read-only
like the rest: an interpreter or virtual environment under ``/tmp`` runs too). A second, writable 9p export
(a private temporary directory) carries stdin, stdout, stderr, the exit status and timings.

The init script, as PID 1 of the guest:

1. mounts the guest's proc, sysfs and devtmpfs and loads the 9p modules (in dependency order);
2. mounts the exchange directory and the host root (read-only: the guest can write nothing of the host);
3. **refuses to go on** unless ``/proc/sys/vm`` is the guest's own procfs (statfs magic ``0x9fa0``), then
   sets the GUEST's ``vm.max_map_count`` and reads it back;
4. runs the command chrooted into the host root, under ``env -i`` with exactly the given environment;
5. records the exit status (atomically, by rename) and ends the machine through qemu's ``isa-debug-exit``
   port (``reboot -f`` under ``-no-reboot`` is the fallback for kernels without ``/dev/port``).

The kernel runs with ``oops=panic panic=-1``: a kernel oops ends the machine at once, and
:func:`mmsim.live.guest.boot_failure_reason` names it from the console in one line. qemu gets ``-cpu
max,la57=off`` (RDRAND, without which the guest's python blocks until its entropy pool is ready; 4-level
paging, so that TASK_SIZE is x86-64's 47-bit one the model uses). Timings come from the host's clock (the
exchange files' modification times). Isolation: every run has its own directory (mode 0700), its own qemu
process in its own session, killed with everything it started on timeout or error. Stdlib only; no host
sysctl is ever written.

>>> ok, reason = qemu_available()
>>> isinstance(ok, bool) and isinstance(reason, str)
True
"""

from __future__ import annotations

import hashlib
import io
import os
import platform
import shlex
import shutil
import signal
import stat
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from . import kernels as _kernels
from .guest import GuestError, GuestRun, GuestTimeout, boot_failure_reason, check_run_args, exit_status

__all__ = [
    "QemuError",
    "QemuRun",
    "QemuTimeout",
    "busybox_path",
    "find_qemu",
    "qemu_available",
    "qemu_command",
    "run_in_qemu",
]

#: The statfs magic of procfs (include/uapi/linux/magic.h PROC_SUPER_MAGIC), as ``stat -f -c %t`` prints it.
_PROC_SUPER_MAGIC = "9fa0"
#: qemu's isa-debug-exit device: a byte written to this port ends qemu with status ``(byte << 1) | 1``.
DEBUG_EXIT_PORT = 0xF4
#: Seconds a guest gets, after its command's exit status was recorded, to end before it is killed.
SHUTDOWN_GRACE = 10.0
#: The 9p transfer size: the default (8 KiB) makes every read of the host root a round trip per page.
MSIZE = 512 * 1024


class QemuError(GuestError):
    """The guest could not run the command (boot failure, init refusal, oops, no exit status recorded)."""


class QemuTimeout(QemuError, GuestTimeout):
    """The guest did not finish within the timeout; qemu was killed."""


@dataclass(frozen=True)
class QemuRun(GuestRun):
    """A :class:`~mmsim.live.guest.GuestRun` of a qemu guest: which kernel image it booted, how (``accel``),
    and qemu's own exit status (``(b << 1) | 1`` for a byte ``b`` written to the debug-exit port)."""

    kernel: str = ""
    image: _kernels.KernelImage | None = None
    accel: str = "tcg"
    qemu_returncode: int | None = None


def find_qemu() -> str | None:
    """The qemu binary: ``$MMSIM_QEMU`` if set, else ``qemu-system-x86_64`` on PATH; None when missing."""
    path = os.environ.get("MMSIM_QEMU") or shutil.which("qemu-system-x86_64")
    return path if path and os.path.isfile(path) and os.access(path, os.X_OK) else None


def _is_static_elf(path: str) -> bool:
    """Whether ``path`` is an ELF executable without a program interpreter (statically linked)."""
    try:
        with open(path, "rb") as f:
            head = f.read(64)
            if head[:4] != b"\x7fELF" or head[4] != 2:  # ELF64
                return False
            phoff, = struct.unpack_from("<Q", head, 32)
            phentsize, phnum = struct.unpack_from("<HH", head, 54)
            f.seek(phoff)
            table = f.read(phentsize * phnum)
    except OSError:
        return False
    return all(struct.unpack_from("<I", table, i * phentsize)[0] != 3 for i in range(phnum))  # PT_INTERP


def busybox_path() -> str | None:
    """A statically linked busybox for the guest's initramfs (Debian: busybox-static), or None."""
    for path in (os.environ.get("MMSIM_BUSYBOX"), shutil.which("busybox"), "/bin/busybox", "/usr/bin/busybox"):
        if path and os.path.isfile(path) and _is_static_elf(path):
            return path
    return None


def qemu_available() -> tuple[bool, str]:
    """Whether qemu guests can run here, without booting one: ``(True, "")`` or ``(False, reason)``.

    Needs Linux on x86-64 (the guest runs this machine's interpreter), qemu-system-x86_64, a static busybox,
    and each kernel either cached or fetchable (:func:`mmsim.live.kernels.fetch_unavailable_reason`; checked
    when a run needs it), and the host's ``/proc``: qemu's 9p server reaches files through
    ``/proc/self/fd/N`` (hw/9pfs/9p-util.c, the ``*_nofollow`` helpers), so without it the exchange directory
    cannot be written and no result comes back.
    """
    if sys.platform != "linux":
        return False, "the qemu target needs a Linux host (it runs this machine's interpreter in the guest)"
    if platform.machine() != "x86_64":
        return False, f"the qemu target runs this machine's interpreter in x86-64 guests: not {platform.machine()}"
    if find_qemu() is None:
        return False, "no qemu-system-x86_64: apt-get install --no-install-recommends qemu-system-x86"
    if busybox_path() is None:
        return False, "no statically linked busybox: apt-get install --no-install-recommends busybox-static"
    if not os.path.isdir("/proc/self/fd"):
        return False, "no /proc on this host: qemu's 9p export (the guest's view of the host) needs /proc/self/fd"
    return True, ""


# ---- the initramfs ---------------------------------------------------------------------------------------


def _init_script(modules: Sequence[str]) -> str:
    """PID 1 of every guest (the same for every run: a run's parameters come through the exchange directory)."""
    insmods = "\n".join(f"insmod /lib/modules/{m} || fail 'cannot load module {m}'" for m in modules)
    opts = f"trans=virtio,version=9p2000.L,msize={MSIZE}"
    return f"""#!/bin/sh
# generated by mmsim.live.qemu: init (pid 1) of a throw-away qemu guest
/bin/busybox --install -s /bin
export PATH=/bin
X=/xchg
say() {{ echo "mmsim-init: $1" > /dev/console; }}
end() {{ sync; printf '\\000' | dd of=/dev/port bs=1 seek={DEBUG_EXIT_PORT} count=1 2>/dev/null; reboot -f; }}
fail() {{ say "error: $1"; [ -d $X/ok ] && echo "$1" > $X/init_error; end; }}
mount -t proc proc /proc || fail 'cannot mount the guest procfs'
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
{insmods}
mount -t 9p -o {opts} xchg $X || fail 'cannot mount the exchange directory (9p)'
mkdir $X/ok || fail 'the exchange directory (9p) is not writable'
mount -t 9p -o {opts},ro,cache=loose hostroot /host || fail 'cannot mount the host root (9p, read-only)'
[ "$(stat -f -c %t /proc/sys/vm)" = {_PROC_SUPER_MAGIC} ] || fail '/proc/sys/vm is not the guest procfs'
uname -r > $X/release
if [ -s $X/max_map_count ]; then
  cat $X/max_map_count > /proc/sys/vm/max_map_count || fail 'cannot set the guest vm.max_map_count'
fi
cat /proc/sys/vm/max_map_count > $X/guest_max_map_count
mount -t proc proc /host/proc || fail 'cannot mount the guest procfs in the host root'
mount -t sysfs sysfs /host/sys
mount -t devtmpfs devtmpfs /host/dev
[ "$(stat -f -c %t /host/proc/sys/vm)" = {_PROC_SUPER_MAGIC} ] || fail '/host/proc is not the guest procfs'
echo > $X/t_start
eval "chroot /host /usr/bin/env -i -- $(cat $X/command)" < $X/stdin > $X/stdout 2> $X/stderr
rc=$?
echo > $X/t_end
echo $rc > $X/rc.tmp && mv $X/rc.tmp $X/rc
end
"""


class _Cpio:
    """A cpio archive in the "newc" format the kernel unpacks as its initramfs (usr/gen_init_cpio.c)."""

    def __init__(self) -> None:
        self.buf = io.BytesIO()
        self.ino = 1

    def add(self, name: str, mode: int, data: bytes = b"") -> None:
        name_b = name.encode() + b"\0"
        fields = (self.ino, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(name_b), 0)
        self.ino += 1
        self.buf.write(b"070701" + b"".join(b"%08X" % v for v in fields) + name_b)
        self.buf.write(b"\0" * (-self.buf.tell() % 4))
        self.buf.write(data)
        self.buf.write(b"\0" * (-self.buf.tell() % 4))

    def finish(self) -> bytes:
        self.add("TRAILER!!!", 0)
        return self.buf.getvalue()


def initramfs(image: _kernels.KernelImage, busybox: str) -> str:
    """The guest's initramfs for ``image``: built once per image, init script and busybox, and cached beside
    the image."""
    names = [os.path.basename(m) for m in image.modules]
    init = _init_script(names).encode()
    with open(busybox, "rb") as f:
        bb = f.read()
    h = hashlib.sha256(init + hashlib.sha256(bb).digest())
    for m in image.modules:
        h.update(Path(m).read_bytes())
    path = Path(image.directory) / f"initrd-{h.hexdigest()[:16]}.cpio"
    if path.is_file():
        return str(path)
    c = _Cpio()
    for d in ("bin", "dev", "proc", "sys", "host", "xchg", "lib", "lib/modules"):
        c.add(d, stat.S_IFDIR | 0o755)
    c.add("bin/busybox", stat.S_IFREG | 0o755, bb)
    c.add("bin/sh", stat.S_IFLNK | 0o777, b"busybox")
    for m in image.modules:
        c.add(f"lib/modules/{os.path.basename(m)}", stat.S_IFREG | 0o644, Path(m).read_bytes())
    c.add("init", stat.S_IFREG | 0o755, init)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(c.finish())
    tmp.rename(path)
    return str(path)


# ---- the machine -----------------------------------------------------------------------------------------


def qemu_command(image: _kernels.KernelImage, initrd: str, xchg: str, console: str, *, mem: str = "1G",
                 accel: str | None = None, qemu: str | None = None) -> list[str]:
    """The qemu command line of a guest: no devices but the serial console, two 9p exports and the
    debug-exit port; the kernel booted directly (PVH for an uncompressed vmlinux)."""
    accel = accel or os.environ.get("MMSIM_QEMU_ACCEL", "tcg")
    cpu = "max,la57=off" if accel == "tcg" else "host,la57=off"
    append = "console=ttyS0 quiet loglevel=3 oops=panic panic=-1 rdinit=/init"
    return [
        qemu or find_qemu() or "qemu-system-x86_64", "-accel", accel, "-cpu", cpu, "-m", mem, "-smp", "1",
        "-nodefaults", "-no-user-config", "-nographic", "-no-reboot", "-net", "none",
        "-kernel", image.kernel, "-initrd", initrd, "-append", append,
        "-virtfs", "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap",
        "-virtfs", f"local,path={xchg},mount_tag=xchg,security_model=none",
        "-device", f"isa-debug-exit,iobase={DEBUG_EXIT_PORT:#x},iosize=0x04",
        "-serial", f"file:{console}", "-monitor", "none",
    ]


def _read(path: str) -> bytes | None:
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        return None


def _mtime(path: str) -> float | None:
    try:
        return os.stat(path).st_mtime
    except OSError:
        return None


def _kill_group(proc: subprocess.Popen[bytes]) -> list[int]:
    """SIGKILL qemu's process group (its session) and reap it; the pids that were killed."""
    killed = []
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
            killed.append(proc.pid)
        except ProcessLookupError:
            pass
    proc.wait()
    return killed


def run_in_qemu(
    argv: Sequence[str],
    *,
    kernel: str | _kernels.KernelImage = "6.1",
    stdin: bytes = b"",
    timeout: float,
    env: Mapping[str, str] | None = None,
    max_map_count: int | None = None,
    mem: str = "1G",
    tmp_parent: str | None = None,
    keep_tmp: bool = False,
    accel: str | None = None,
) -> QemuRun:
    """Boot a fresh guest on ``kernel``, run ``argv`` in it with ``stdin``, end it, and return a :class:`QemuRun`.

    ``kernel`` is a name of :data:`mmsim.live.kernels.GUEST_KERNELS` (fetched and cached on first use) or a
    prepared :class:`~mmsim.live.kernels.KernelImage`. ``timeout`` bounds the boot, the command and the end,
    in seconds (the first fetch of a kernel is not counted). ``env=None`` passes this process's environment;
    the command always runs with exactly that environment, in ``/`` of the host root (read-only, ``/tmp``
    included). ``max_map_count`` sets the GUEST's ``vm.max_map_count`` first (the host's is never
    written). ``accel`` is qemu's accelerator (default ``$MMSIM_QEMU_ACCEL`` or ``tcg``).

    Raises :class:`QemuTimeout` after killing qemu when the timeout passes, and :class:`QemuError` when the
    guest cannot run here, did not boot, its init refused (e.g. /proc was not the guest's), the kernel
    oopsed or panicked, or no exit status was recorded: the message says why in one line. A non-zero exit
    status of the command is not an error.
    """
    check_run_args(argv, timeout, max_map_count)
    ok, why = qemu_available()
    if not ok:
        raise QemuError(why)
    try:
        image = kernel if isinstance(kernel, _kernels.KernelImage) else _kernels.fetch_image(kernel)
    except _kernels.KernelFetchError as e:
        raise QemuError(f"cannot fetch guest kernel {kernel}: {e}") from None
    busybox = busybox_path()
    assert busybox is not None
    initrd = initramfs(image, busybox)
    cmd_env = {str(k): str(v) for k, v in (os.environ if env is None else env).items()}
    tmp = tempfile.mkdtemp(prefix="mmsim-qemu-", dir=tmp_parent)
    os.chmod(tmp, 0o700)
    try:
        x = Path(tmp) / "x"
        x.mkdir()
        (x / "stdin").write_bytes(stdin)
        (x / "command").write_text(" ".join(shlex.quote(f"{k}={v}") for k, v in cmd_env.items()) + " "
                                   + " ".join(shlex.quote(str(a)) for a in argv) + "\n")
        if max_map_count is not None:
            (x / "max_map_count").write_text(f"{max_map_count}\n")
        console = os.path.join(tmp, "console")
        cmd = qemu_command(image, initrd, str(x), console, mem=mem, accel=accel)
        t0 = time.time()
        with open(os.path.join(tmp, "qemu.log"), "wb") as log, open(os.devnull, "rb") as devnull:
            proc = subprocess.Popen(cmd, stdin=devnull, stdout=log, stderr=subprocess.STDOUT, cwd="/",
                                    start_new_session=True)
        killed: list[int] = []
        timed_out = False
        rc_path = str(x / "rc")
        try:
            deadline = t0 + timeout
            while proc.poll() is None:
                now = time.time()
                rc_at = _mtime(rc_path)
                if now > deadline or (rc_at is not None and now > rc_at + SHUTDOWN_GRACE):
                    timed_out = rc_at is None
                    killed += _kill_group(proc)
                    break
                time.sleep(0.01 if now - t0 < 1.0 else 0.02)
        finally:
            killed += _kill_group(proc)  # whatever happened (KeyboardInterrupt included), qemu is gone
        t_exit = time.time()
        rc = exit_status(_read(rc_path))
        t_start, t_end = _mtime(str(x / "t_start")), _mtime(str(x / "t_end"))
        mmc = _read(str(x / "guest_max_map_count"))
        rel = _read(str(x / "release"))
        console_text = (_read(console) or b"") + (_read(os.path.join(tmp, "qemu.log")) or b"")
        run = QemuRun(
            returncode=rc,
            stdout=_read(str(x / "stdout")) or b"",
            stderr=_read(str(x / "stderr")) or b"",
            boot_seconds=None if t_start is None else t_start - t0,
            command_seconds=None if t_start is None or t_end is None else t_end - t_start,
            shutdown_seconds=None if t_end is None else t_exit - t_end,
            total_seconds=t_exit - t0,
            console=console_text,
            max_map_count=int(mmc) if mmc and mmc.strip().isdigit() else None,
            release=rel.decode(errors="replace").strip() if rel else None,
            tmp=tmp,
            killed=tuple(sorted(set(killed))),
            kernel=image.name,
            image=image,
            accel=cmd[cmd.index("-accel") + 1],
            qemu_returncode=proc.returncode,
        )
        init_error = _read(str(x / "init_error"))
        where = f"the qemu guest (Linux {image.release})"
        if timed_out:
            raise QemuTimeout(f"{where} timed out after {timeout:g} s; qemu was killed "
                              f"({boot_failure_reason(run.console)})", run)
        if init_error is not None:
            raise QemuError(f"{where}: init refused to run: {init_error.decode(errors='replace').strip()}", run)
        if rc is None or b"Kernel panic" in run.console or b"BUG: " in run.console:
            raise QemuError(f"{where} stopped before the command finished: {boot_failure_reason(run.console)}",
                            run)
        if max_map_count is not None and run.max_map_count != max_map_count:
            raise QemuError(f"{where}: its vm.max_map_count is {run.max_map_count}, not {max_map_count}", run)
        return run
    finally:
        if not keep_tmp:
            shutil.rmtree(tmp, ignore_errors=True)
