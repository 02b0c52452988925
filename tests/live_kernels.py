"""The real kernels the live tests run on, one place: which they are, when they skip, and the tally.

Every live differential test runs on each kernel of :data:`KERNELS` against the profile that
``mmsim.release_coverage()`` names for it (the one release policy; the tests never name a profile):

* ``host``: this machine's kernel;
* ``qemu-5.10``, ``qemu-6.1``, ``qemu-6.12``: Debian's kernels booted under qemu's TCG (``mmsim.live.qemu``),
  which runs on any x86-64 host whatever its CPU;
* ``qemu-5.10-control`` and ``qemu-5.10-revert-ea2c3f6f5545``: 5.10.223 built by mmsim from Debian's source
  with one minimal config, without and with the 2019 fix reverted (``mmsim.live.build``);
* ``uml-6.1``: Debian's user-mode Linux (6.1, the bottom-up layout), where it boots: on CPUs with AVX-512 or
  AMX it cannot (``mmsim.live.uml.XSAVE_NOTE``), and 6.1 is then covered by ``qemu-6.1`` alone.

When a kernel cannot run here the tests skip with the reason; under ``CI=true`` they fail instead, except
user-mode Linux on a machine it cannot boot on (said in the skip, and in the tally). A kernel whose release
no profile models exactly fails under ``CI=true`` too (it would compare only part of each run).

:func:`record` adds a comparison to the tally; ``tests/conftest.py`` prints one line per kernel at the end
("live operations compared on 5.10: N, matched: N") and, under ``CI=true``, fails the run when a kernel
the run used compared nothing.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import pytest
from live_ops import batch

from mmsim import live

CI = os.environ.get("CI") == "true"


@dataclass(frozen=True)
class LiveKernel:
    """A kernel live runs can reach: a target and, for a guest, its kernel."""

    target: str
    kernel: str | None = None

    @property
    def id(self) -> str:
        return self.target if self.kernel is None else f"{self.target}-{self.kernel}"


#: This machine's kernel.
HOST = LiveKernel("host")
#: Every live kernel, in the order the tests run on them.
KERNELS = (HOST, LiveKernel("qemu", "5.10"), LiveKernel("qemu", "6.1"), LiveKernel("qemu", "6.12"),
           LiveKernel("qemu", "5.10-control"), LiveKernel("qemu", "5.10-revert-ea2c3f6f5545"),
           LiveKernel("uml", "6.1"))


@dataclass
class Tally:
    """Operations compared and matched on one kernel."""

    label: str
    compared: int = 0
    matched: int = 0
    notes: list[str] = field(default_factory=list)


#: {kernel id: Tally}, filled as the tests run (printed by conftest).
TALLY: dict[str, Tally] = {}
#: {kernel id: why it was skipped}, for the summary.
SKIPPED: dict[str, str] = {}


#: Each named case's rows of a comparison, ``{case name: [CompareRow]}``.
Rows = dict[str, list[live.CompareRow]]


@dataclass(frozen=True)
class Ready:
    """A kernel that can run here: its description and the profile that models it exactly."""

    kernel: LiveKernel
    info: live.KernelInfo
    profile: str

    @property
    def id(self) -> str:
        return self.kernel.id

    def run_kwargs(self) -> dict:
        """The ``target``/``kernel`` arguments of :func:`mmsim.live.run` for this kernel."""
        if self.kernel.target == "host":
            return {}
        return {"target": self.kernel.target, "kernel": self.kernel.kernel}

    def compare(self, ops: list, **kw) -> live.Comparison:
        """``live.compare`` on this kernel against its profile; counted in the tally."""
        cmp = live.compare(ops, self.profile, **self.run_kwargs(), **kw)
        record(self, cmp)
        return cmp

    def run_cases(self, cases: list, arena_pages: int, timeout: float = 240) -> tuple[live.Comparison, Rows]:
        """Named cases (``(name, ops, free_slots, hold)``, see :func:`live_ops.batch`) in one child on this
        kernel against its profile: the comparison (tallied) and each case's rows, ``{name: [CompareRow]}``."""
        ops, free_slots_before, spans = batch(cases, arena_pages)
        cmp = self.compare(ops, arena_pages=arena_pages, free_slots_before=free_slots_before, timeout=timeout)
        assert cmp.initial_match, str(cmp)
        return cmp, {name: [cmp.rows[i] for i in span] for name, span in spans.items()}


def _label(k: LiveKernel, info: live.KernelInfo) -> str:
    if k.target == "host":
        return f"the host (Linux {info.release}, profile {info.profile})"
    if k.target == "uml":
        return f"{k.kernel} under user-mode Linux"
    return str(k.kernel).replace("-ea2c3f6f5545", "")  # "5.10-revert", as the tier's summary names it


def require(k: LiveKernel, *, tally: bool = True) -> Ready:
    """The kernel ready to run, or a skip with the reason (a failure under CI=true where it must run).

    ``tally=False`` for a test that runs the kernel without comparing operations through :meth:`Ready.compare`
    (the tally would otherwise list the kernel with nothing compared)."""
    info = live.kernel_info(target=k.target, kernel=k.kernel)
    if not info.can_run:
        SKIPPED[k.id] = info.reason
        uml_cannot_boot = k.target == "uml" and ("does not boot" in info.reason or "x86_64" in info.reason)
        if CI and not uml_cannot_boot:
            pytest.fail(f"{k.id}: live runs cannot run under CI: {info.reason}")
        pytest.skip(f"{k.id}: {info.reason}")
    if not info.supported or info.profile is None:
        SKIPPED[k.id] = info.reason
        if CI:
            pytest.fail(f"{k.id}: no profile models Linux {info.release} exactly: {info.reason}")
        pytest.skip(f"{k.id}: {info.reason}")
    if tally:
        TALLY.setdefault(k.id, Tally(_label(k, info)))
    return Ready(k, info, info.profile)


def record(ready: Ready | LiveKernel | str, comparison: live.Comparison) -> None:
    """Add a comparison's compared and matched operations to its kernel's tally."""
    key = ready if isinstance(ready, str) else ready.id
    t = TALLY.setdefault(key, Tally(key))
    t.compared += comparison.n_ops
    t.matched += comparison.n_matched


def params(*ids: str) -> list:
    """pytest params of the live kernels (all, or those ``ids``), marked ``uml`` for user-mode Linux."""
    out = []
    for k in KERNELS:
        if ids and k.id not in ids:
            continue
        marks = [pytest.mark.uml] if k.target == "uml" else []
        out.append(pytest.param(k, id=k.id, marks=marks))
    return out


def _delta(d: int | None) -> str:
    return "-" if d is None else f"{d:+d}"


def assert_match(rows: list, label: str, profile: str = "") -> None:
    """Every row matched (the model agreed with the kernel on errno, layout, map_count delta and address);
    otherwise one line per differing row with both sides (a row the model could not replay shows "-")."""
    bad = [r for r in rows if not r.match]
    who = f"model {profile}" if profile else "the model"
    assert not bad, f"{label}: {who} disagrees with the live kernel:\n" + "\n".join(
        f"  #{r.index} {r.op} [map_count {r.map_count_before}]: {', '.join(r.mismatches) or r.not_compared}; "
        f"live errno {r.live_errno} delta {_delta(r.live_delta)} layout {r.live_layout}; model errno "
        f"{r.model_errno} delta {_delta(r.model_delta)} layout {r.model_layout}"
        + (f"; {r.model_error}" if r.model_error else "")
        for r in bad
    )
