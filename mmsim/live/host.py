"""The kernels live runs can reach, and what each one is.

Three targets: this machine's kernel (``"host"``), a user-mode Linux guest (``"uml"``, :mod:`mmsim.live.uml`:
Debian's linux.uml, where this machine can boot it) and a qemu guest booting one of Debian's kernels
(``"qemu"``, :mod:`mmsim.live.qemu`: ``kernel="5.10"``, ``"6.1"`` or ``"6.12"``, any x86-64 host).
``"auto"`` is a guest: user-mode Linux where it boots and runs the kernel asked for, qemu otherwise
(:func:`resolve_target`).

:func:`kernel_info` says which kernel a target runs, whether live runs can run there, and which profile
models it (:func:`mmsim.release_coverage`, the one release policy).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from ..constants import PAGE_SIZE
from ..releases import release_coverage
from . import kernels as _kernels
from . import qemu as _qemu
from . import uml as _uml
from .build import build_unavailable_reason

__all__ = ["DEFAULT_GUEST_KERNEL", "GUEST_MAX_MAP_COUNT", "KernelInfo", "LIVE_MACHINES", "TARGETS",
           "UML_MAX_MAP_COUNT", "kernel_info", "resolve_target"]

#: Machines whose syscall numbers the child knows (mmsim.live.child.SYSCALLS).
LIVE_MACHINES = ("x86_64", "aarch64")
#: Where live runs can run (see the module docstring).
TARGETS = ("host", "uml", "qemu", "auto")
#: The guest's ``vm.max_map_count`` a guest run sets unless told otherwise: every limit check is relative to
#: the sysctl, and a low value makes near-limit fills (and /proc/self/maps reads) cheap, which matters under
#: emulation (a system call under qemu's TCG costs about ten times the host's).
GUEST_MAX_MAP_COUNT = 1024
#: The former name of :data:`GUEST_MAX_MAP_COUNT`.
UML_MAX_MAP_COUNT = GUEST_MAX_MAP_COUNT
#: The kernel a guest target boots when none is named: Linux 6.1, which both guests can run.
DEFAULT_GUEST_KERNEL = "6.1"


@dataclass(frozen=True)
class KernelInfo:
    """What a target's kernel is, and whether live runs can be compared with an mmsim profile on it.

    ``can_run`` is true when live runs work there (Linux, a machine with a syscall table, 4 KiB pages, a
    readable max_map_count; for a guest: a kernel that boots here); ``supported`` also needs ``profile`` to
    model the release exactly. ``reason`` says why not (empty when supported). For a guest, ``max_map_count``
    is the guest value runs set by default (:data:`GUEST_MAX_MAP_COUNT`) and ``kernel`` the guest kernel's
    name; ``release`` is known without booting (from the kernel file, or the package that will be fetched).
    """

    system: str
    release: str
    machine: str
    max_map_count: int | None
    profile: str | None
    supported: bool
    reason: str
    can_run: bool
    target: str = "host"
    kernel: str | None = None

    def __str__(self) -> str:
        state = "supported" if self.supported else f"unsupported: {self.reason}"
        where = {"uml": " under user-mode Linux", "qemu": f" under qemu (Debian's {self.kernel})"}.get(self.target, "")
        return (
            f"{self.system} {self.release}{where} ({self.machine}), max_map_count={self.max_map_count}, "
            f"profile={self.profile!r}, {state}"
        )


def _uml_major_minor() -> str | None:
    release = _uml.uml_release()
    return ".".join(release.split(".")[:2]) if release else None


def resolve_target(target: str, kernel: str | None = None) -> tuple[str, str | None]:
    """``(target, kernel)`` with ``"auto"`` and the default guest kernel resolved.

    ``"host"`` takes no kernel (it is this machine's). ``"uml"`` runs the installed linux.uml, whose release
    ``kernel`` must name if given. ``"qemu"`` defaults to :data:`DEFAULT_GUEST_KERNEL`. ``"auto"`` (default
    kernel the same) is ``"uml"`` when user-mode Linux boots here (:func:`mmsim.live.uml.uml_boots`, probed
    once and cached) and runs that kernel, else ``"qemu"``. ValueError for anything else.
    """
    if target not in TARGETS:
        raise ValueError(f"target must be one of {', '.join(map(repr, TARGETS))}, not {target!r}")
    if kernel is not None and not isinstance(kernel, str):
        raise TypeError(f"kernel must be a str or None, not {type(kernel).__name__}")
    if target == "host":
        if kernel is not None:
            raise ValueError(f"kernel={kernel!r}: the host target runs this machine's kernel; "
                             "use target='qemu' to boot another one")
        return "host", None
    if target == "uml":
        have = _uml_major_minor() if kernel is not None else None
        if kernel is not None and have is not None and kernel != have:
            raise ValueError(f"kernel={kernel!r}: user-mode Linux here is {have}; use target='qemu' for {kernel}")
        return "uml", kernel
    kernel = kernel or DEFAULT_GUEST_KERNEL
    _kernels.guest_kernel(kernel)  # ValueError for an unknown name
    if target == "auto":
        if _uml_major_minor() == kernel and _uml.uml_boots()[0]:
            return "uml", kernel
        return "qemu", kernel
    return "qemu", kernel


def kernel_info(target: str = "host", kernel: str | None = None) -> KernelInfo:
    """Describe a target's kernel: release, ``vm.max_map_count`` (read only), profile and support.

    The profile is :func:`mmsim.release_coverage`'s for the release, and ``supported`` says whether it models
    that release exactly. Guests are described without booting them (``"auto"`` may boot user-mode Linux
    once to learn whether it boots here; the answer is cached).
    """
    target, kernel = resolve_target(target, kernel)
    if target == "uml":
        return _uml_info()
    if target == "qemu":
        assert kernel is not None
        return _qemu_info(kernel)
    uname = os.uname()
    system, release, machine = uname.sysname, uname.release, uname.machine
    max_count: int | None = None
    if system == "Linux":
        try:
            with open("/proc/sys/vm/max_map_count") as f:
                max_count = int(f.read())
        except (OSError, ValueError):
            max_count = None
    reason = ""
    if system != "Linux":
        reason = "live runs need Linux"
    elif machine not in LIVE_MACHINES:
        reason = f"live runs need x86_64 or aarch64, not {machine}"
    elif os.sysconf("SC_PAGE_SIZE") != PAGE_SIZE:
        reason = f"live runs need {PAGE_SIZE}-byte pages, not {os.sysconf('SC_PAGE_SIZE')}"
    elif max_count is None:
        reason = "cannot read /proc/sys/vm/max_map_count"
    can_run = not reason
    profile = None
    if system == "Linux":
        profile, why = _profile_of(release)
        reason = reason or why
    return KernelInfo(system, release, machine, max_count, profile, not reason, reason, can_run)


def _profile_of(release: str) -> tuple[str | None, str]:
    """The profile of ``release`` and, when it does not model it exactly, why (release_coverage's words)."""
    try:
        coverage = release_coverage(release)
    except ValueError as e:
        return None, str(e)
    return coverage.profile, "" if coverage.exact else str(coverage)


def _uml_info() -> KernelInfo:
    ok, why = _uml.uml_available()
    if ok:
        ok, why = _uml.uml_boots()
    release = (_uml.uml_release() if _uml.uml_available()[0] else None) or "unknown"
    machine = os.uname().machine  # a UML kernel runs on the machine it was built for, and reports it
    profile, reason = _profile_of(release) if release != "unknown" else (None, "")
    return KernelInfo("Linux", release, machine, GUEST_MAX_MAP_COUNT, profile, ok and not reason, why or reason,
                      ok, "uml", ".".join(release.split(".")[:2]) if release != "unknown" else None)


def _qemu_info(kernel: str) -> KernelInfo:
    ok, why = _qemu.qemu_available()
    image = _kernels.cached_image(kernel)
    row = _kernels.guest_kernel(kernel)
    release = image.release if image is not None else row.release
    if ok and image is None:
        why = build_unavailable_reason() if row.build is not None else _kernels.fetch_unavailable_reason()
        ok = not why
    # A patched kernel is no release: its row names its profile (mmsim.profiles.PATCHED).
    profile, reason = (row.profile, "") if row.profile is not None else _profile_of(release)
    return KernelInfo("Linux", release, "x86_64", GUEST_MAX_MAP_COUNT, profile, ok and not reason, why or reason,
                      ok, "qemu", kernel)
