"""Tests of mmsim.live's two targets that need no kernel run: the child's constants, the UML harness's
checks and init script, the runner's target arguments, and compare_run()'s setup from what a child reported
(bottom-up placement, release coverage). The live halves are in tests/test_live_uml.py.
"""

from __future__ import annotations

import errno
import importlib.util
import os
import subprocess

import pytest
from live_ops import canned_run

import mmsim
from mmsim import constants, live
from mmsim.constants import (
    MAP_ANONYMOUS,
    MAP_FIXED,
    MAP_PRIVATE,
    MREMAP_DONTUNMAP,
    MREMAP_FIXED,
    MREMAP_MAYMOVE,
    PAGE_SIZE,
    PROT_READ,
    PROT_WRITE,
)
from mmsim.live import uml

P = PAGE_SIZE
RW = PROT_READ | PROT_WRITE
PA = MAP_PRIVATE | MAP_ANONYMOUS


def _child_module():
    """mmsim/live/child.py loaded as a plain module (it is a stdlib-only script; importing runs nothing)."""
    path = os.path.join(os.path.dirname(live.__file__), "child.py")
    spec = importlib.util.spec_from_file_location("mmsim_live_child_under_test", path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


# ---- the child --------------------------------------------------------------------------------------------


def test_child_constants_equal_mmsim_constants() -> None:
    """The child cannot import mmsim; its copies of the kernel's constants must be the model's."""
    child = _child_module()
    assert child.PAGE == constants.PAGE_SIZE
    for name in ("PROT_NONE", "PROT_READ", "MAP_SHARED", "MAP_PRIVATE", "MAP_FIXED", "MAP_ANONYMOUS",
                 "MAP_NORESERVE", "MAP_FIXED_NOREPLACE"):
        assert getattr(child, name) == getattr(constants, name), name
    for name in ("EFAULT", "EEXIST", "ENOMEM"):
        assert getattr(child, name) == getattr(errno, name), name
    assert set(child.SYSCALLS) == set(live.host.LIVE_MACHINES)
    assert child.TASK_SIZE_PROBE_LIMIT > constants.TASK_SIZE


def test_child_filler_span_covers_its_region_and_hole() -> None:
    """The bottom-up layout reserves Filler.span(max) above the arena: the region and its one-page hole."""
    child = _child_module()
    for mx in (0, 1, 1024, 65530):
        pairs = mx // 2 + 2
        assert child.Filler.span(mx) == (2 * pairs + 4 + 1) * P


# ---- the harness, without booting ------------------------------------------------------------------------


def test_find_linux_and_availability_of_a_missing_kernel(tmp_path) -> None:
    missing = str(tmp_path / "no-such-linux.uml")
    assert uml.find_linux(missing) is None
    ok, reason = uml.uml_available(missing)
    assert not ok and "no UML kernel" in reason and "user-mode-linux" in reason
    with pytest.raises(uml.UMLError, match="no UML kernel"):
        uml.run_in_uml(["true"], timeout=5, linux=missing)
    not_uml = tmp_path / "fake"
    not_uml.write_text("#!/bin/sh\necho hello\n")
    not_uml.chmod(0o755)
    assert uml.find_linux(str(not_uml)) == str(not_uml)
    ok, reason = uml.uml_available(str(not_uml))
    assert not ok and "not a UML kernel" in reason


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"argv": []}, "argv"),
        ({"argv": "true"}, "argv"),
        ({"timeout": 0}, "timeout"),
        ({"timeout": True}, "timeout"),
        ({"max_map_count": -1}, "max_map_count"),
        ({"max_map_count": 2**31}, "max_map_count"),
    ],
)
def test_run_in_uml_checks_its_arguments_before_booting(kw, message, monkeypatch) -> None:
    monkeypatch.setattr(subprocess, "Popen", lambda *a, **k: pytest.fail("a guest was booted"))
    args = {"argv": ["true"], "timeout": 5.0, **kw}
    argv = args.pop("argv")
    with pytest.raises(ValueError, match=message):
        uml.run_in_uml(argv, **args)


def test_init_script_proves_proc_is_the_guests_before_any_sysctl_write() -> None:
    """The procfs-magic and release checks come before the only sysctl write, which names the guest
    value; arguments and environment are quoted."""
    script = uml._init_script("/tmp/x y", ["sh", "-c", "echo 'a b'"], {"K": "v w"}, "/", 777, "6.18.0-host")
    lines = script.splitlines()
    magic = next(i for i, ln in enumerate(lines) if "stat -f -c %t /proc/sys/vm" in ln)
    release = next(i for i, ln in enumerate(lines) if "uname -r)\" != 6.18.0-host" in ln)
    writes = [i for i, ln in enumerate(lines) if "> /proc/sys/" in ln]
    assert len(writes) == 1 and "echo 777 > /proc/sys/vm/max_map_count" in lines[writes[0]]
    assert magic < writes[0] and release < writes[0]
    assert "fail '/proc/sys/vm is not the guest procfs'" in lines[magic]
    assert "'K=v w'" in script and "'echo '\"'\"'a b'\"'\"''" in script and "T='/tmp/x y'" in script
    assert "> /proc/sys/" not in uml._init_script("/t", ["true"], {}, "/", None, "h")


# ---- the runner's targets ----------------------------------------------------------------------------------


@pytest.fixture
def no_child(monkeypatch):
    def forbidden(*a, **k):
        raise AssertionError("a child process or guest was started")

    monkeypatch.setattr(subprocess, "run", forbidden)
    monkeypatch.setattr(uml, "run_in_uml", forbidden)


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"target": "kvm"}, "target must be one of"),
        ({"target": "host", "kernel": "6.1"}, "the host target runs this machine's kernel"),
        ({"target": "qemu", "kernel": "4.19"}, "unknown guest kernel '4.19'"),
        ({"guest_max_map_count": 1000}, "host's vm.max_map_count is never written"),
        ({"target": "uml", "guest_max_map_count": -1}, "guest_max_map_count"),
        ({"target": "uml", "guest_max_map_count": True}, "guest_max_map_count"),
    ],
)
def test_bad_target_arguments_raise_before_any_child(no_child, kw, message) -> None:
    with pytest.raises(ValueError, match=message):
        live.run([("nop", {})], **kw)


def test_uml_target_unavailable_is_a_live_error(no_child, monkeypatch) -> None:
    monkeypatch.setattr(uml, "uml_available", lambda linux=None: (False, "no UML kernel (test)"))
    info = live.kernel_info(target="uml")
    assert not info.can_run and not info.supported and info.reason == "no UML kernel (test)"
    assert info.target == "uml" and info.profile is None
    with pytest.raises(live.LiveError, match="no UML kernel"):
        live.run([("nop", {})], target="uml")
    with pytest.raises(ValueError, match="target"):
        live.kernel_info(target="kvm")


# ---- compare_run's setup from the child's report -------------------------------------------------------------


def _canned(results: list[dict], ops: list, **extra) -> live.LiveRun:
    """A LiveRun as a UML child would report it (addresses absolute), for compare_run() without a kernel."""
    report = {"release": "6.1.176", "max_map_count": 1024, "base": 0x44900000, "initial_map_count": 70} | extra
    return canned_run(results, ops, target="uml", **report)


FLOOR = 0x40901000
BOTTOMUP = {"layout": "bottomup", "landing": [FLOOR, FLOOR + (64 << 20)], "landing_roof": None,
            "landing_floor": FLOOR, "task_size": 0x7FC0000000, "machine": "x86_64"}
HINTLESS = ("mmap", {"addr": None, "length": 2 * P, "prot": RW, "flags": PA})


def _hintless_result(ret: int) -> dict:
    return {"ret": ret, "errno": 0, "map_count_before": 70, "map_count_after": 71, "vmas": [(0, 16 * P, "---p", 0)]}


def test_compare_run_mirrors_a_bottom_up_child() -> None:
    """A bottom-up run: the model searches upwards from the landing floor with the child's TASK_SIZE, and
    a kernel-chosen address in the landing gap must be the model's."""
    good = live.compare_run(_canned([_hintless_result(FLOOR)], [HINTLESS], **BOTTOMUP))
    assert good.kernel == "6.1" and good.all_match and good.rows[0].model_ret == FLOOR
    assert good.live.layout == "bottomup" and good.live.task_size == 0x7FC0000000 and good.live.target == "uml"
    assert "(user-mode Linux) vs mmsim profile 6.1: all 1 operations match" in str(good)
    bad = live.compare_run(_canned([_hintless_result(FLOOR + 4 * P)], [HINTLESS], **BOTTOMUP))
    assert bad.rows[0].mismatches == ("ret",)


def test_compare_run_leaves_uncovered_operations_out() -> None:
    """Linux 6.16 has no exact profile: the closest, 6.18, differs in the validation order and the multi-VMA
    move (6.17), which can change every mremap and nothing else. The mmap and the mprotect are compared; the
    first mremap and everything after it are not, are not counted, and the comparison is not "all match"."""
    ops = [
        ("mmap", {"addr": 0, "length": P, "prot": RW, "flags": PA | MAP_FIXED}),
        ("mprotect", {"addr": 0, "length": P, "prot": PROT_READ}),
        ("mremap", {"old_address": 0, "old_size": P, "new_size": P, "flags": 0, "new_address": 0}),
        ("munmap", {"addr": 4 * P, "length": P}),
    ]
    results = [
        {"ret": 0x44900000, "errno": 0, "map_count_before": 70, "map_count_after": 71,
         "vmas": [(0, P, "rw-p", 0), (P, 16 * P, "---p", 0)]},
        {"ret": 0, "errno": 0, "map_count_before": 71, "map_count_after": 71,
         "vmas": [(0, P, "r--p", 0), (P, 16 * P, "---p", 0)]},
        {"ret": 0x44900000, "errno": 0, "map_count_before": 71, "map_count_after": 71,
         "vmas": [(0, P, "r--p", 0), (P, 16 * P, "---p", 0)]},
        {"ret": 0, "errno": 0, "map_count_before": 71, "map_count_after": 72,
         "vmas": [(0, P, "r--p", 0), (P, 4 * P, "---p", 0), (5 * P, 16 * P, "---p", 0)]},
    ]
    cov = mmsim.release_coverage("6.16.0-1-generic")
    assert cov.profile == "6.18" and not cov.exact and cov.operations == {"mremap"}
    run = _canned(results, ops, release="6.16.0-1-generic")
    cmp = live.compare_run(run)
    assert cmp.profile == "6.18" and cmp.coverage == cov
    assert [r.compared for r in cmp.rows] == [True, True, False, False]
    assert cmp.n_ops == 2 and cmp.n_matched == 2 and cmp.n_not_compared == 2 and not cmp.all_match
    assert cmp.mismatched == ()
    assert all(r.model_errno is None and r.model_layout is None for r in cmp.rows[2:])
    assert "op #2 (mremap) and those after it are not compared" in (cmp.rows[2].not_compared or "")
    assert "validate_first" in (cmp.rows[2].not_compared or "")
    assert cmp.verdict.startswith("2 of 2 compared operations match, 2 of 4 not compared")
    assert "not compared: profile 6.18" in str(cmp) and "not compared" in cmp._repr_html_()
    # A profile chosen explicitly for a release it is not the closest profile of is compared everywhere.
    assert live.compare_run(run, "6.1").n_ops == 4


def test_coverage_predicates_look_at_the_arguments() -> None:
    """A difference in MREMAP_DONTUNMAP leaves out DONTUNMAP calls only; one in 6.7's VM_ACCOUNT rule only
    mprotect to a non-writable protection (the features' predicates on the call's arguments)."""
    from mmsim.releases import Coverage

    c = Coverage("5.10", (5, 10), "5.1", ("dontunmap",))
    assert not c.exact and c.operations == {"mremap"}
    assert c.affects("mremap", {"flags": MREMAP_MAYMOVE | MREMAP_DONTUNMAP, "old_size": P, "new_size": P})
    assert not c.affects("mremap", {"flags": MREMAP_MAYMOVE | MREMAP_FIXED, "old_size": P, "new_size": P})
    assert not c.affects("mprotect", {"prot": PROT_READ})
    u = Coverage("6.8", (6, 8), "6.1", ("mprotect_unaccount",))
    assert u.affects("mprotect", {"prot": PROT_READ}) and not u.affects("mprotect", {"prot": RW})
    assert u.affecting("mprotect", {"prot": 0}) == ("mprotect_unaccount",)
    t = Coverage("6.12", (6, 12), "6.1", ("munmap_gather",))
    assert t.exact and t.operations == frozenset()  # only the trace differs


def test_compare_run_needs_a_profile_for_an_unmodelled_release() -> None:
    run = _canned([], [], release="4.19.0")
    with pytest.raises(ValueError, match="no mmsim profile models Linux 4.19.0"):
        live.compare_run(run)
    assert live.compare_run(run, "5.0").n_ops == 0
