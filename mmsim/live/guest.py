"""What every guest-kernel run shares: the result of one boot, its errors, and the one-line reason a boot failed.

A *guest* is a kernel private to one run: user-mode Linux (:mod:`mmsim.live.uml`) or a qemu virtual machine
(:mod:`mmsim.live.qemu`). Both boot a fresh kernel, run one command of the host's (the host's root file system
is the guest's, read-only for qemu), and return a :class:`GuestRun`. Stdlib only.

>>> console = b"[    1.2] Run /init as init process\\n[    1.3] Kernel panic - not syncing: Attempted to kill init!"
>>> boot_failure_reason(console)
'kernel panic: Attempted to kill init!'
>>> boot_failure_reason(b"[ 2.1] BUG: kernel NULL pointer dereference, address: 00000000000000a0\\n"
...                     b"[ 2.1] RIP: 0010:foo+0x1/0x2")
'kernel oops: BUG: kernel NULL pointer dereference, address: 00000000000000a0 (RIP foo+0x1/0x2)'
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = ["GuestError", "GuestRun", "GuestTimeout", "boot_failure_reason", "check_run_args", "exit_status"]


@dataclass(frozen=True)
class GuestRun:
    """What one guest run did.

    ``returncode`` is the command's exit status inside the guest (negative: killed by that signal, as with
    :mod:`subprocess`), None when none was recorded. ``boot_seconds`` runs from the host launch to the start
    of the command, ``command_seconds`` is the command's own time and ``shutdown_seconds`` from the command's
    end until the guest's host process exited. ``max_map_count`` is the GUEST's value read back before the
    command ran, ``release`` the guest's ``uname -r``. ``tmp`` is the run's private directory (removed after
    the run unless kept), ``killed`` the host pids that had to be SIGKILLed during clean-up, ``console``
    what the kernel printed.
    """

    returncode: int | None
    stdout: bytes
    stderr: bytes
    boot_seconds: float | None
    command_seconds: float | None
    shutdown_seconds: float | None
    total_seconds: float
    console: bytes = field(repr=False)
    max_map_count: int | None
    release: str | None
    tmp: str
    killed: tuple[int, ...] = ()


class GuestError(RuntimeError):
    """The guest could not run the command: boot failure, init refusal, kernel crash, no exit status.

    ``run`` holds what was measured (the console included) when the guest got that far.
    """

    def __init__(self, msg: str, run: GuestRun | None = None) -> None:
        super().__init__(msg)
        self.run = run


class GuestTimeout(GuestError, TimeoutError):
    """The guest did not finish within the timeout; it and every host process it started were killed."""


_ANSI = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]")
_STAMP = re.compile(r"^\[\s*\d+\.\d+\]\s*")
#: Console lines that say why a kernel stopped, most telling first.
_PANIC = re.compile(r"Kernel panic - not syncing: (.*)")
_OOPS = re.compile(r"(BUG: .*|Oops: .*|general protection fault.*|kernel BUG at .*)")
_RIP = re.compile(r"RIP: [0-9a-f]{4}:(\S+)")
_UML_FAIL = re.compile(r"(userspace - .*failed.*|.*ptrace set fp regs failed.*)")


def boot_failure_reason(console: bytes, limit: int = 200) -> str:
    """One line saying why a guest stopped, read from its console: the oops (with the function it hit), the
    panic, user-mode Linux's ptrace failure, else the console's last line. Never longer than ``limit``."""
    text = _ANSI.sub(b"", console).decode(errors="replace")
    lines = [_STAMP.sub("", line).strip() for line in text.replace("\r", "\n").splitlines()]
    lines = [line for line in lines if line]
    reason = ""
    for i, line in enumerate(lines):
        m = _OOPS.match(line)
        if m:
            rip = next((r.group(1) for r in map(_RIP.search, lines[i:i + 40]) if r), None)
            reason = f"kernel oops: {m.group(1)}" + (f" (RIP {rip})" if rip else "")
            break
    if not reason:
        uml = next((m.group(1) for m in map(_UML_FAIL.search, lines) if m), None)
        panic = next((m.group(1) for m in map(_PANIC.search, lines) if m), None)
        if uml and panic:
            reason = f"{uml.strip()}, then kernel panic: {panic.strip()}"
        elif panic:
            reason = f"kernel panic: {panic.strip()}"
        elif uml:
            reason = uml.strip()
        elif lines:
            reason = f"the console ends with: {lines[-1]}"
        else:
            reason = "the kernel printed nothing"
    return reason if len(reason) <= limit else reason[: limit - 3] + "..."


def check_run_args(argv: object, timeout: object, max_map_count: object) -> None:
    """ValueError for a guest run's bad arguments (before anything boots): a non-empty argv, a positive
    timeout, a guest ``max_map_count`` in [0, 2**31) or None."""
    if isinstance(argv, (str, bytes)) or not argv:
        raise ValueError("argv must be a non-empty sequence of strings")
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
        raise ValueError(f"timeout must be a positive number of seconds, not {timeout!r}")
    if max_map_count is not None and (
        isinstance(max_map_count, bool) or not isinstance(max_map_count, int) or not 0 <= max_map_count < 2**31
    ):
        raise ValueError(f"max_map_count must be an int in [0, 2**31), not {max_map_count!r}")


def exit_status(raw: bytes | None) -> int | None:
    """The command's exit status from the ``rc`` file the guest's init wrote (``$?`` of sh): negative for death
    by a signal, as with :mod:`subprocess`; None when none was recorded.

    >>> exit_status(b"0\\n"), exit_status(b"137\\n"), exit_status(None)
    (0, -9, None)
    """
    if raw is None or not raw.strip().isdigit():
        return None
    rc = int(raw)
    return -(rc - 128) if rc > 128 else rc  # sh reports death by signal n as 128 + n
