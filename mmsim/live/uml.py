"""Run one command inside a fresh user-mode Linux (UML) guest: a second real kernel for :mod:`mmsim.live`.

The guest is Debian's ``linux.uml`` (package ``user-mode-linux``; Linux 6.1.y), booted with the host's ``/``
as its root file system (hostfs), so every host path, this interpreter included, exists inside at the same
place. There is no init system: the kernel runs a generated shell script as PID 1 which

1. mounts the guest's own proc and sysfs (devtmpfs is mounted by the kernel);
2. **refuses to go on** unless ``/proc/sys/vm`` is the guest's procfs (statfs magic ``0x9fa0``) and the kernel
   release differs from the host's: without that check a failed proc mount would let a sysctl write go
   through hostfs to the HOST's ``/proc/sys/vm/max_map_count``;
3. optionally sets the GUEST's ``vm.max_map_count`` and reads it back;
4. runs the command under ``env -i`` with exactly the given environment, stdin, stdout and stderr redirected
   to files of a private temporary directory (the console carries kernel noise and is never parsed);
5. records the exit status (atomically, by rename), syncs and powers the guest off (reboot(2)).

Isolation and clean-up, so that concurrent runs never share state and nothing survives a run:

* every run has its own temporary directory (mode 0700), its own ``umid=`` and ``uml_dir=`` (UML's pid file
  and mconsole socket, normally under ``~/.uml``, which is never touched), and its own guest memory file
  (UML backs guest RAM with an unlinked O_TMPFILE in ``$TMPDIR``; the UML process gets ``TMPDIR=/dev/shm``
  or the private directory, never the caller's ``TMPDIR``, which may not exist);
* ``linux.uml`` calls ``setsid()`` in ``main()`` (arch/um/os-Linux/main.c) and every host process it forks
  (the guest's processes, helper threads) stays in that session. The main process is left a zombie
  (``waitid(WNOWAIT)``) so that its pid, the session id, cannot be reused; on exit, on timeout and on any
  exception every live process of the session is SIGKILLed before the zombie is reaped.

Stdlib only. The module never writes a sysctl of the host.

>>> ok, reason = uml_available()
>>> isinstance(ok, bool) and isinstance(reason, str)
True
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import platform
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .guest import GuestError, GuestRun, GuestTimeout, boot_failure_reason, check_run_args, exit_status

__all__ = [
    "DEFAULT_LINUX",
    "SHUTDOWN_GRACE",
    "UMLError",
    "UMLRun",
    "UMLTimeout",
    "find_linux",
    "run_in_uml",
    "session_processes",
    "uml_available",
    "uml_boots",
    "uml_release",
    "umid_processes",
]

#: Where Debian installs the UML kernel (package ``user-mode-linux``).
DEFAULT_LINUX = "/usr/bin/linux.uml"
#: Seconds to wait, after the command's exit status was recorded, for the guest to power off before it is
#: killed (a clean power-off takes about 0.1-0.2 s).
SHUTDOWN_GRACE = 15.0
#: The statfs magic of procfs (include/uapi/linux/magic.h PROC_SUPER_MAGIC), as ``stat -f -c %t`` prints it.
_PROC_SUPER_MAGIC = "9fa0"
# reboot(2) with LINUX_REBOOT_CMD_POWER_OFF (x86-64 syscall 169): the fallback where systemctl is missing.
_POWEROFF_PY = (
    "import os, ctypes; os.sync(); "
    "ctypes.CDLL(None, use_errno=True).syscall(169, 0xfee1dead, 672274793, 0x4321fedc)"
)


class UMLError(GuestError):
    """The guest could not run the command: boot failure, init refusal, crash, no exit status recorded.

    ``run`` holds what was measured (console output included) when the guest got that far.
    """


class UMLTimeout(UMLError, GuestTimeout):
    """The guest did not finish within the timeout; it and every host process of its session were killed."""


@dataclass(frozen=True)
class UMLRun(GuestRun):
    """A :class:`~mmsim.live.guest.GuestRun` of user-mode Linux (whose clock is the host's, so the times are
    measured inside the guest). ``session`` is the host pid of ``linux.uml`` (also its session id),
    ``umid`` its unique id, and ``uml_returncode`` its exit status.
    """

    session: int = 0
    umid: str = ""
    uml_returncode: int | None = None


# ---- finding the kernel ---------------------------------------------------------------------------------


def find_linux(linux: str | None = None) -> str | None:
    """The UML kernel to boot: ``linux`` if given, else ``$MMSIM_UML_LINUX``, else ``linux.uml`` on PATH,
    else :data:`DEFAULT_LINUX`; None when that is not an executable file."""
    candidates = [linux] if linux else [os.environ.get("MMSIM_UML_LINUX"), shutil.which("linux.uml"), DEFAULT_LINUX]
    for path in candidates:
        if path and os.path.isfile(path) and os.access(path, os.X_OK):
            return os.path.abspath(path)
    return None


@functools.lru_cache(maxsize=8)
def _version(path: str) -> tuple[str | None, str]:
    try:
        r = subprocess.run([path, "--version"], stdin=subprocess.DEVNULL, capture_output=True, timeout=20,
                           check=False)
    except (OSError, subprocess.TimeoutExpired) as e:
        return None, f"{path} --version failed: {e}"
    text = r.stdout.decode(errors="replace").strip()
    if r.returncode != 0 or not text or not text[0].isdigit():
        return None, f"{path} --version printed {text[:80]!r} (exit {r.returncode}): not a UML kernel?"
    return text.split()[0], ""


def uml_release(linux: str | None = None) -> str | None:
    """The release of the UML kernel (``linux.uml --version``, no boot; cached), or None if there is none."""
    path = find_linux(linux)
    return None if path is None else _version(path)[0]


def uml_available(linux: str | None = None) -> tuple[bool, str]:
    """Whether guests can be booted here, without booting one: ``(True, "")`` or ``(False, reason)``.

    Needs Linux on x86-64 (Debian's UML kernel is built for it), an executable ``linux.uml`` that answers
    ``--version``, and a writable place for the guest's memory file.
    """
    if sys.platform != "linux":
        return False, "user-mode Linux needs a Linux host"
    if platform.machine() != "x86_64":
        return False, f"the UML kernel is built for x86_64 hosts, not {platform.machine()}"
    path = find_linux(linux)
    if path is None:
        where = linux or f"linux.uml on PATH or {DEFAULT_LINUX}"
        return False, f"no UML kernel ({where}): apt-get install --no-install-recommends user-mode-linux"
    release, why = _version(path)
    if release is None:
        return False, why
    if release == os.uname().release:
        return False, f"the UML kernel's release {release} equals the host's: the init script would refuse it"
    if not (os.access("/dev/shm", os.W_OK) or os.access(tempfile.gettempdir(), os.W_OK)):
        return False, "neither /dev/shm nor the temporary directory is writable (the guest's memory file)"
    return True, ""


def _probe_key(path: str) -> str:
    """What a boot probe's answer depends on: the kernel file and the CPU (its model and feature flags)."""
    st = os.stat(path)
    cpu = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith(("model name", "flags")):
                    cpu += line
                if line.startswith("flags"):
                    break
    except OSError:
        pass
    h = hashlib.sha256(f"{path}\0{st.st_size}\0{st.st_mtime_ns}\0{cpu}".encode())
    return h.hexdigest()[:24]


#: Why Debian's user-mode Linux dies at boot on CPUs with AVX-512 or AMX (said once, where it happens).
XSAVE_NOTE = ("the host's XSAVE area is larger than UML's fixed FP buffer (CPUs with AVX-512 or AMX); "
              "fixed upstream by 3f17fed21491, 'um: switch to regset API and depend on XSTATE', in 6.13")


def uml_boots(linux: str | None = None, *, refresh: bool = False) -> tuple[bool, str]:
    """Whether a UML guest really boots here: ``(True, "")`` or ``(False, reason)``, by booting one once.

    The answer is cached (``uml-probe.json`` in :func:`mmsim.live.kernels.cache_dir`) per kernel file and
    CPU, since a boot costs 2-4 s; ``refresh`` probes again. Where :func:`uml_available` already says no,
    nothing is booted.
    """
    ok, why = uml_available(linux)
    if not ok:
        return ok, why
    path = find_linux(linux)
    assert path is not None
    from .kernels import cache_dir

    cache = cache_dir() / "uml-probe.json"
    key = _probe_key(path)
    try:
        known = json.loads(cache.read_text())
    except (OSError, ValueError):
        known = {}
    if not refresh and isinstance(known.get(key), list):
        return bool(known[key][0]), str(known[key][1])
    try:
        run_in_uml(["true"], timeout=60, linux=path, env={"PATH": "/usr/bin:/bin"})
        answer = (True, "")
    except UMLError as e:
        reason = boot_failure_reason(e.run.console) if e.run is not None else str(e)
        if "fp regs" in reason:
            reason += f" ({XSAVE_NOTE})"
        answer = (False, f"user-mode Linux does not boot on this machine: {reason}")
    known[key] = list(answer)
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(".tmp")
        tmp.write_text(json.dumps(known))
        tmp.replace(cache)
    except OSError:
        pass
    return answer


# ---- the guest's init script ----------------------------------------------------------------------------


def _poweroff_cmd() -> str:
    # systemctl's double-forced poweroff calls reboot(2) at once (~0.1 s); python's reboot(2) is the fallback.
    return (f"systemctl poweroff -ff >/dev/null 2>&1; "
            f"{shlex.quote(sys.executable)} -S -c {shlex.quote(_POWEROFF_PY)} >/dev/null 2>&1")


def _init_script(tmp: str, argv: Sequence[str], env: Mapping[str, str], cwd: str, max_map_count: int | None,
                 host_release: str) -> str:
    """The guest's PID 1: mount, check that /proc is the guest's, set the guest sysctl, run, record, power off."""
    q = shlex.quote
    envargs = " ".join(q(f"{k}={v}") for k, v in env.items())
    lines = [
        "#!/bin/sh",
        "# generated by mmsim.live.uml: init (pid 1) of a throw-away user-mode Linux guest",
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin; export PATH",
        f"T={q(tmp)}",
        "fail() { echo \"$1\" > \"$T/init_error\"; sync; " + _poweroff_cmd() + "; exit 1; }",
        "mount -t proc proc /proc || fail 'cannot mount the guest procfs'",
        "mount -t sysfs sysfs /sys 2>/dev/null",
        "grep -q ' /dev devtmpfs ' /proc/mounts || mount -t devtmpfs devtmpfs /dev 2>/dev/null",
        # /proc must be the guest's procfs, never the host's /proc seen through hostfs.
        f"[ \"$(stat -f -c %t /proc/sys/vm)\" = {_PROC_SUPER_MAGIC} ] || fail '/proc/sys/vm is not the guest procfs'",
        f"[ \"$(uname -r)\" != {q(host_release)} ] || fail 'uname -r equals the host release: not a guest?'",
        "uname -r > \"$T/release\"",
    ]
    if max_map_count is not None:
        lines.append(
            f"echo {int(max_map_count)} > /proc/sys/vm/max_map_count || fail 'cannot set the guest vm.max_map_count'"
        )
    lines += [
        "cat /proc/sys/vm/max_map_count > \"$T/max_map_count\"",
        f"cd {q(cwd)} 2>/dev/null || cd /",
        "date +%s.%N > \"$T/t_start\"",
        f"env -i -- {envargs} {' '.join(q(a) for a in argv)} < \"$T/stdin\" > \"$T/stdout\" 2> \"$T/stderr\"",
        "rc=$?",
        "date +%s.%N > \"$T/t_end\"",
        "echo $rc > \"$T/rc.tmp\" && mv \"$T/rc.tmp\" \"$T/rc\"",
        "sync",
        _poweroff_cmd(),
        "echo o > /proc/sysrq-trigger 2>/dev/null",  # last resort; then the host's grace period ends it
        "sleep 1000",
    ]
    return "\n".join(lines) + "\n"


# ---- host processes of a guest --------------------------------------------------------------------------


def _stat_fields(pid: str) -> list[bytes] | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return None
    return stat[stat.rfind(b")") + 2:].split()  # state ppid pgrp session ...


def session_processes(sid: int) -> list[int]:
    """Host pids of the live (not zombie) processes whose session id is ``sid``."""
    out = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            fields = _stat_fields(name)
            if fields and len(fields) > 3 and int(fields[3]) == sid and fields[0] not in (b"Z", b"X"):
                out.append(int(name))
    return sorted(out)


def umid_processes(umid: str) -> list[int]:
    """Host pids of live processes whose command line carries ``umid=<umid>`` (a guest's kernel and the
    host processes it forked for the guest's processes inherit its command line)."""
    needle = f"umid={umid}".encode()
    out = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/cmdline", "rb") as f:
                args = f.read().split(b"\0")
        except OSError:
            continue
        fields = _stat_fields(name)
        if needle in args and fields and fields[0] not in (b"Z", b"X"):
            out.append(int(name))
    return sorted(out)


def _kill_session(leader: int, wait: float = 5.0) -> list[int]:
    """SIGKILL every live process of the session except its (zombie) leader, until none is left.

    Killed helpers whose parent already died are reparented to the host's init, which reaps them; they
    are dead (state Z) from the moment they no longer count here.
    """
    killed: set[int] = set()
    deadline = time.monotonic() + wait
    while True:
        live = [p for p in session_processes(leader) if p != leader]
        if not live or time.monotonic() > deadline:
            break
        for p in live:
            try:
                os.kill(p, signal.SIGKILL)
                killed.add(p)
            except ProcessLookupError:
                pass
        time.sleep(0.01)
    return sorted(killed)


def _read(path: str) -> bytes | None:
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        return None


def _float(b: bytes | None) -> float | None:
    try:
        return float(b) if b else None
    except ValueError:
        return None


def _mtime(path: str) -> float:
    try:
        return os.stat(path).st_mtime
    except OSError:
        return time.time()


# ---- running --------------------------------------------------------------------------------------------


def run_in_uml(
    argv: Sequence[str],
    *,
    stdin: bytes = b"",
    timeout: float,
    env: Mapping[str, str] | None = None,
    max_map_count: int | None = None,
    mem: str = "1G",
    cwd: str | None = None,
    linux: str | None = None,
    tmp_parent: str | None = None,
    keep_tmp: bool = False,
) -> UMLRun:
    """Boot a fresh guest, run ``argv`` in it with ``stdin``, power it off, and return a :class:`UMLRun`.

    ``timeout`` bounds the whole run (boot, command, power-off), in seconds. ``env=None`` passes this
    process's environment (as :mod:`subprocess` does); the command always runs with exactly that
    environment. ``max_map_count`` sets the GUEST's ``vm.max_map_count`` before the command starts (the
    host's is never written). ``cwd`` is the command's working directory (default: this process's).
    ``tmp_parent`` is where the private directory is made (a host file system the guest reaches through
    hostfs; default the system temporary directory); ``keep_tmp`` keeps it for debugging.

    Raises :class:`UMLTimeout` after killing everything when the timeout passes, and :class:`UMLError`
    when no UML kernel is found, the guest's init refused to run (e.g. /proc was not the guest's), or the
    guest recorded no exit status. A non-zero exit status of the command is not an error.
    """
    check_run_args(argv, timeout, max_map_count)
    linux_bin = find_linux(linux)
    if linux_bin is None:
        raise UMLError(uml_available(linux)[1])
    cmd_env = {str(k): str(v) for k, v in (os.environ if env is None else env).items()}
    workdir = os.path.abspath(cwd or os.getcwd())
    tmp = tempfile.mkdtemp(prefix="mmsim-uml-", dir=tmp_parent)
    os.chmod(tmp, 0o700)
    umid = f"mmsim-{os.getpid()}-{os.path.basename(tmp)[len('mmsim-uml-'):]}"
    try:
        with open(os.path.join(tmp, "stdin"), "wb") as f:
            f.write(stdin)
        init = os.path.join(tmp, "init.sh")
        with open(init, "w") as f:
            f.write(_init_script(tmp, [str(a) for a in argv], cmd_env, workdir, max_map_count, os.uname().release))
        os.chmod(init, 0o755)
        os.mkdir(os.path.join(tmp, "umldir"))
        cmdline = [
            linux_bin, f"mem={mem}", "root=/dev/root", "rootfstype=hostfs", "rootflags=/", "rw",
            f"init={init}", "quiet", "con=null", "con0=fd:0,fd:1",
            f"umid={umid}", f"uml_dir={tmp}/umldir",
        ]
        host_env = dict(os.environ)
        # UML's memory file goes to $TMPDIR (arch/um/os-Linux/mem.c): tmpfs if possible, never the caller's.
        host_env["TMPDIR"] = "/dev/shm" if os.access("/dev/shm", os.W_OK) else tmp
        console_path = os.path.join(tmp, "console")
        rc_path = os.path.join(tmp, "rc")
        t0 = time.time()
        with open(console_path, "wb") as console, open(os.devnull, "rb") as devnull:
            proc = subprocess.Popen(cmdline, stdin=devnull, stdout=console, stderr=subprocess.STDOUT,
                                    env=host_env, cwd="/", start_new_session=True)
        killed: list[int] = []
        timed_out = False
        try:
            deadline = t0 + timeout
            while True:
                # WNOWAIT leaves the main process a zombie: its pid, the session id, stays reserved.
                info = os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT | os.WNOHANG)
                if info is not None:
                    break
                now = time.time()
                rc_seen = os.path.exists(rc_path)
                if now > deadline or (rc_seen and now > _mtime(rc_path) + SHUTDOWN_GRACE):
                    timed_out = not rc_seen
                    try:
                        os.killpg(proc.pid, signal.SIGKILL)
                        killed.append(proc.pid)
                    except ProcessLookupError:
                        pass
                    os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT)
                    break
                time.sleep(0.005 if now - t0 < 1.0 else 0.02)
        finally:
            # Whatever happened (exit, timeout, KeyboardInterrupt): nothing of the session survives. The
            # leader is reaped (proc.wait) only after its session is empty, so its pid cannot be reused first.
            if os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT | os.WNOHANG) is None:  # still running
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                    killed.append(proc.pid)
                except ProcessLookupError:
                    pass
                os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT)
            killed += _kill_session(proc.pid)
            uml_rc = proc.wait()
        t_exit = time.time()
        rc = exit_status(_read(rc_path))
        t_start, t_end = _float(_read(os.path.join(tmp, "t_start"))), _float(_read(os.path.join(tmp, "t_end")))
        mmc = _read(os.path.join(tmp, "max_map_count"))
        rel = _read(os.path.join(tmp, "release"))
        run = UMLRun(
            returncode=rc,
            stdout=_read(os.path.join(tmp, "stdout")) or b"",
            stderr=_read(os.path.join(tmp, "stderr")) or b"",
            boot_seconds=None if t_start is None else t_start - t0,
            command_seconds=None if t_start is None or t_end is None else t_end - t_start,
            shutdown_seconds=None if t_end is None else t_exit - t_end,
            total_seconds=t_exit - t0,
            uml_returncode=uml_rc,
            console=_read(console_path) or b"",
            max_map_count=int(mmc) if mmc and mmc.strip().isdigit() else None,
            release=rel.decode(errors="replace").strip() if rel else None,
            session=proc.pid,
            umid=umid,
            tmp=tmp,
            killed=tuple(sorted(set(killed))),
        )
        init_error = _read(os.path.join(tmp, "init_error"))
        if timed_out:
            raise UMLTimeout(f"the user-mode Linux run timed out after {timeout:g} s; killed host pids "
                             f"{list(run.killed)}", run)
        if init_error is not None:
            raise UMLError(f"the guest's init refused to run: {init_error.decode(errors='replace').strip()}", run)
        if rc is None:
            raise UMLError(f"the guest recorded no exit status (linux.uml exited {uml_rc}): "
                           f"{boot_failure_reason(run.console)}", run)
        if max_map_count is not None and run.max_map_count != max_map_count:
            raise UMLError(f"the guest's vm.max_map_count is {run.max_map_count}, not {max_map_count}", run)
        return run
    finally:
        if not keep_tmp:
            shutil.rmtree(tmp, ignore_errors=True)
