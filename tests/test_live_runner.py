"""Tests of mmsim.live: the live runner (child process, arena, exact map_count) and compare().

The tests marked ``live`` run system calls on the host kernel in a child process; they skip (never pass
silently) where the host cannot run them or no mmsim profile covers its kernel. Expected values come from
the kernel source, cited in each test (mm/mmap.c, mm/vma.c of 6.18), and agree with the LIVE facts of the
semantics (§3.1-3.3, §7.4). They never change ``vm.max_map_count``: the runner only reads it.
"""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import types

import live_kernels
import pytest
from live_ops import canned_run

import mmsim
from mmsim import live
from mmsim.constants import (
    MAP_ANONYMOUS,
    MAP_FIXED,
    MAP_PRIVATE,
    MAP_SHARED,
    MREMAP_MAYMOVE,
    PAGE_SIZE,
    PROT_READ,
    PROT_WRITE,
)

P = PAGE_SIZE
RW = PROT_READ | PROT_WRITE
FIXED = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED


# ---- the limit scenario: one child run, checked op by op ---------------------------------------------

LIMIT_OPS = [
    ("nop", {}),  # 0  5 free slots: two counts with nothing in between
    ("mmap", {"addr": 0, "length": P, "prot": RW, "flags": FIXED}),  # 1  5 free slots: +1
    ("nop", {}),  # 2  0 free slots: the count is exactly max
    ("mmap", {"addr": P, "length": P, "prot": PROT_READ, "flags": FIXED}),  # 3  0 free slots: ok, max+1
    ("mmap", {"addr": 2 * P, "length": P, "prot": PROT_WRITE, "flags": FIXED}),  # 4  -1 free slots: ENOMEM
    ("munmap", {"addr": 10 * P, "length": P}),  # 5  0 free slots: punch -> ENOMEM
    ("munmap", {"addr": 10 * P, "length": P}),  # 6  1 free slot: punch -> +1
    ("mprotect", {"addr": 20 * P, "length": P, "prot": RW}),  # 7  1 free slot: 3-way -> ENOMEM, +1
    ("nop", {}),  # 8  0 free slots again, after the filler went down and up
]
LIMIT_FREE_SLOTS = {0: 5, 1: 5, 2: 0, 3: 0, 4: -1, 5: 0, 6: 1, 7: 1, 8: 0}


@pytest.fixture(scope="module")
def limit_run(host: live_kernels.Ready) -> live.LiveRun:
    return live.run(LIMIT_OPS, arena_pages=64, free_slots_before=LIMIT_FREE_SLOTS, timeout=60)


@pytest.mark.live
def test_run_metadata(limit_run: live.LiveRun, host: live_kernels.Ready) -> None:
    assert limit_run.release == host.info.release
    assert limit_run.max_map_count == host.info.max_map_count
    assert limit_run.base % P == 0 and limit_run.arena_size == 64 * P
    assert limit_run.initial_vmas == (live.LiveVMA(0, 64 * P, "---p", 0, ""),)
    assert len(limit_run) == len(LIMIT_OPS)
    assert [r.free_slots for r in limit_run] == [LIMIT_FREE_SLOTS[i] for i in range(len(LIMIT_OPS))]


@pytest.mark.live
def test_counts_are_stable_at_the_limit(limit_run: live.LiveRun) -> None:
    """Reading /proc/self/maps (~6 MB at 65k VMAs) does not change the count: consecutive reads agree."""
    assert len(limit_run.stability) == 2
    for label, a, b in limit_run.stability:
        assert a == b, label
    assert limit_run.stability[1][1] == limit_run.max_map_count - 5
    for i in (0, 2, 8):
        assert limit_run[i].delta == 0, limit_run[i]


@pytest.mark.live
def test_free_slots_is_exact_before_every_op(limit_run: live.LiveRun) -> None:
    for r in limit_run:
        assert r.map_count_before == limit_run.max_map_count - r.free_slots, r
        assert r.free_slots_before == r.free_slots


@pytest.mark.live
def test_mmap_one_page_at_free_slots_5(limit_run: live.LiveRun) -> None:
    """A MAP_FIXED page over the arena's head: the arena VMA is trimmed and one VMA is added (+1)."""
    r = limit_run[1]
    assert r.ok and r.ret == 0 and r.ret_in_arena
    assert r.delta == 1
    assert r.vmas[0] == live.LiveVMA(0, P, "rw-p", 0, "")
    assert r.vmas[1].key == (P, 64 * P, "---p", 0)


@pytest.mark.live
def test_mmap_at_free_slots_0_succeeds_and_reaches_max_plus_1(limit_run: live.LiveRun) -> None:
    """do_mmap() fails only when ``mm->map_count > sysctl_max_map_count`` (mm/mmap.c@6.18): at map_count
    == max a new VMA is still created, and the count becomes max + 1. The overlap is the head of the
    arena VMA, so vms_gather_munmap_vmas() splits only at the end, without the punch check."""
    r = limit_run[3]
    assert r.map_count_before == limit_run.max_map_count
    assert r.ok and r.ret == P
    assert r.map_count_after == limit_run.max_map_count + 1
    assert r.layout[:3] == ((0, P, "rw-p", 0), (P, 2 * P, "r--p", 0), (2 * P, 64 * P, "---p", 0))


@pytest.mark.live
def test_mmap_at_free_slots_minus_1_fails(limit_run: live.LiveRun) -> None:
    """At map_count == max + 1, ``map_count > max`` holds and do_mmap() returns ENOMEM (mm/mmap.c@6.18)."""
    r = limit_run[4]
    assert r.map_count_before == limit_run.max_map_count + 1
    assert r.errno == errno.ENOMEM and r.ret is None
    assert r.delta == 0
    assert r.layout == limit_run[3].layout


@pytest.mark.live
def test_munmap_hole_punch_at_free_slots_0_and_1(limit_run: live.LiveRun) -> None:
    """vms_gather_munmap_vmas() (mm/vma.c@6.18) refuses a punch inside one VMA when ``map_count >= max``
    (ENOMEM, nothing changed); at max - 1 the punch adds one VMA."""
    at0, at1 = limit_run[5], limit_run[6]
    assert at0.errno == errno.ENOMEM and at0.delta == 0
    assert at0.layout == limit_run[4].layout
    assert at1.ok and at1.delta == 1
    assert (2 * P, 10 * P, "---p", 0) in at1.layout and (11 * P, 64 * P, "---p", 0) in at1.layout


@pytest.mark.live
def test_mprotect_three_way_split_at_free_slots_1_is_partial(limit_run: live.LiveRun) -> None:
    """mprotect_fixup() -> vma_modify() splits at start, then at end; each split_vma() fails when
    ``map_count >= max`` (mm/vma.c@6.18). At max - 1 the first split succeeds (count = max) and the second
    fails: ENOMEM with the count +1 and the first split left behind (semantics §7.4)."""
    r = limit_run[7]
    assert r.map_count_before == limit_run.max_map_count - 1
    assert r.errno == errno.ENOMEM
    assert r.delta == 1 and r.map_count_after == limit_run.max_map_count
    assert r.layout[-2:] == ((11 * P, 20 * P, "---p", 0), (20 * P, 64 * P, "---p", 0))


# ---- faults, merges, mremap at a low count --------------------------------------------------------------


@pytest.mark.live
def test_touch_faults_and_mremap(host: live_kernels.Ready) -> None:
    """touch really write-faults: an RW page taken back to R re-merges only if it was never written
    (mprotect_fixup() drops VM_ACCOUNT of an unfaulted private anon VMA since v6.7; a faulted one keeps it
    and its anon_vma, semantics §2.7 and §7.6)."""
    ops = [
        ("mmap", {"addr": 0, "length": 3 * P, "prot": PROT_READ, "flags": FIXED}),  # 0
        ("mprotect", {"addr": P, "length": P, "prot": RW}),  # 1  +2
        ("mprotect", {"addr": P, "length": P, "prot": PROT_READ}),  # 2  -2: merges back
        ("mprotect", {"addr": P, "length": P, "prot": RW}),  # 3  +2
        ("touch", {"addr": P}),  # 4  write fault: anon_vma
        ("mprotect", {"addr": P, "length": P, "prot": PROT_READ}),  # 5  0: stays three VMAs
        ("touch", {"addr": 0, "length": 2 * P}),  # 6  EFAULT at once: page 0 is read-only
        ("touch", {"addr": 4 * P}),  # 7  EFAULT: PROT_NONE
        ("munmap", {"addr": 31 * P, "length": 2 * P}),  # 8
        ("mmap", {"addr": 30 * P, "length": P, "prot": RW, "flags": FIXED}),  # 9
        ("mremap", {"old_address": 30 * P, "old_size": P, "new_size": 2 * P}),  # 10 grows in place
        ("mremap", {"old_address": 30 * P, "old_size": 2 * P, "new_size": 4 * P, "flags": MREMAP_MAYMOVE}),
        (
            "mmap",
            {"addr": 40 * P, "length": 2 * P, "prot": RW, "flags": MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED},
        ),
        ("munmap", {"addr": 40 * P, "length": P}),  # 13: the shared VMA's pgoff advances
    ]
    run = live.run(ops, arena_pages=64)
    deltas = [r.delta for r in run]
    assert deltas[:6] == [1, 2, -2, 2, 0, 0]
    assert run[2].layout[0] == (0, 3 * P, "r--p", 0)
    assert [v.perms for v in run[5].vmas[:3]] == ["r--p"] * 3
    assert run[4].ok and run[6].errno == errno.EFAULT and run[7].errno == errno.EFAULT
    assert run[10].ok and run[10].ret == 30 * P and run[10].ret_in_arena
    assert (30 * P, 32 * P, "rw-p", 0) in run[10].layout
    moved = run[11]
    assert moved.ok and not moved.ret_in_arena and moved.ret is not None
    assert all(not (v.start < 32 * P and v.end > 30 * P and v.perms == "rw-p") for v in moved.vmas)
    shared = [v for v in run[13].vmas if v.perms == "rw-s"]
    assert len(shared) == 1 and shared[0].key == (41 * P, 42 * P, "rw-s", 1)
    assert shared[0].path == "/dev/zero (deleted)"
    assert all(r.map_count_before == run[i - 1].map_count_after for i, r in enumerate(run) if i)


# ---- failures of the run itself --------------------------------------------------------------------------


@pytest.mark.live
def test_timeout_raises_live_error(host: live_kernels.Ready) -> None:
    with pytest.raises(live.LiveError, match="timed out"):
        live.run([("nop", {})], timeout=0.001)


@pytest.mark.live
def test_child_crash_raises_live_error_with_stderr(host: live_kernels.Ready, monkeypatch) -> None:
    script = "import sys; sys.stderr.write('boom from the child'); sys.exit(3)"
    monkeypatch.setattr(live.runner, "child_command", lambda: [sys.executable, "-c", script])
    with pytest.raises(live.LiveError, match="status 3.*boom from the child"):
        live.run([("nop", {})])
    script = "import os, signal; os.kill(os.getpid(), signal.SIGSEGV)"
    monkeypatch.setattr(live.runner, "child_command", lambda: [sys.executable, "-c", script])
    with pytest.raises(live.LiveError, match="SIGSEGV"):
        live.run([("nop", {})])


@pytest.mark.live
def test_unreachable_free_slots_raises_live_error(host: live_kernels.Ready) -> None:
    with pytest.raises(live.LiveError, match="cannot lower map_count"):
        live.run([("nop", {})], free_slots=host.info.max_map_count - 3)


# ---- input checking (no child starts) --------------------------------------------------------------------


@pytest.fixture
def no_child(monkeypatch):
    def forbidden(*a, **k):
        raise AssertionError("a child process was started")

    monkeypatch.setattr(subprocess, "run", forbidden)


M = {"addr": 0, "length": P, "prot": RW, "flags": FIXED}


@pytest.mark.parametrize(
    ("ops", "kw", "message"),
    [
        ([("mmapp", {})], {}, "unknown operation 'mmapp'"),
        ([("mmap", {"addr": 0})], {}, "missing argument 'length'"),
        ([("munmap", {"addr": 0, "length": P, "len": 1})], {}, "unexpected argument"),
        ([("mmap", {**M, "fd": 3})], {}, "fd must be -1"),
        ([("mmap", {**M, "addr": 64 * P})], {"arena_pages": 64}, "not inside"),
        ([("munmap", {"addr": 63 * P, "length": 2 * P})], {"arena_pages": 64}, "not inside"),
        ([("mprotect", {"addr": None, "length": P, "prot": 0})], {}, "not inside"),
        ([("touch", {"addr": -P})], {}, "outside"),
        (
            [
                (
                    "mremap",
                    {"old_address": 0, "old_size": P, "new_size": P, "flags": 3, "new_address": 300 * P},
                )
            ],
            {},
            "MREMAP_FIXED target",
        ),
        ([("munmap", {"addr": 1.5, "length": P})], {}, "must be an int"),
        ([("munmap", {"addr": True, "length": P})], {}, "must be an int"),
        (["mmap"], {}, "expected a"),
        ([("nop", {})], {"free_slots": -2}, "max_map_count \\+ 1"),
        ([("nop", {})], {"free_slots_before": {1: 0}}, "not the index"),
        ([("nop", {})], {"arena_pages": 0}, "arena_pages"),
        ([("nop", {})], {"timeout": 0}, "timeout"),
    ],
)
def test_bad_input_raises_before_any_child(no_child, ops, kw, message) -> None:
    with pytest.raises(ValueError, match=message):
        live.run(ops, **kw)


def test_ops_positional_and_defaults() -> None:
    norm = live.normalize_ops(
        [("mmap", (0, P, RW, FIXED)), ("touch", {"addr": P}), ("mremap", [0, P, 2 * P]), ("nop",)], 4
    )
    assert norm[0] == ("mmap", {"addr": 0, "length": P, "prot": RW, "flags": FIXED, "fd": -1, "offset": 0})
    assert norm[1] == ("touch", {"addr": P, "length": P})
    # One vocabulary (mmsim.ops): an omitted address is NULL (None), as for the model's scenarios.
    assert norm[2][1]["flags"] == 0 and norm[2][1]["new_address"] is None
    assert norm[3] == ("nop", {})
    # A hint-only mmap may point anywhere (the kernel never replaces memory for a hint).
    assert live.normalize_ops([("mmap", {**M, "flags": MAP_PRIVATE | MAP_ANONYMOUS, "addr": None})], 1)
    with pytest.raises(TypeError):
        live.normalize_ops("mmap", 1)


# ---- kernel_info ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("release", "profile"),
    [
        ("6.18.44-fc-v782", "6.18"),
        ("6.17.0", "6.18"),
        ("7.0.0-rc3", "6.18"),
        ("6.16.9", None),
        # profile 6.1 models 6.1 LTS (semantics §0); Appendix A lists no modelled change between 6.1
        # (grow-in-place merging) and 6.7 (mprotect unaccounting), so 6.2-6.6 have exactly its rules
        ("6.1.0-13-amd64", "6.1"),
        ("6.1.176", "6.1"),
        ("6.6.63", "6.1"),
        ("6.7.0", None),
        ("6.8.0-45-generic", None),
        ("6.0.19", None),
        ("5.1.15", "5.1"),
        ("5.0.1", "5.0"),
        ("7.1.5", "7.1"),
        ("7.2.0", None),
        ("weird", None),
    ],
)
def test_profile_for_release(release: str, profile: str | None) -> None:
    assert live.profile_for_release(release) == profile


def _fake_uname(sysname: str, release: str, machine: str = "x86_64"):
    return lambda: types.SimpleNamespace(
        sysname=sysname, release=release, machine=machine, nodename="h", version=""
    )


def test_kernel_info_off_linux(monkeypatch) -> None:
    monkeypatch.setattr(os, "uname", _fake_uname("Darwin", "23.1.0", "arm64"))
    info = live.kernel_info()
    assert not info.supported and not info.can_run
    assert info.reason == "live runs need Linux"
    assert info.profile is None and info.max_map_count is None
    with pytest.raises(live.LiveError, match="need Linux"):
        live.run([("nop", {})])


def test_kernel_info_unknown_kernel(monkeypatch) -> None:
    """A release outside the modelled range has no profile, and says so."""
    monkeypatch.setattr(os, "uname", _fake_uname("Linux", "4.19.0-26-amd64"))
    info = live.kernel_info()
    if not info.can_run:
        pytest.skip(info.reason)
    assert not info.supported and info.profile is None
    assert info.reason == "Linux 4.19 is outside the releases mmsim models (5.0 to 7.1)"


def test_kernel_info_of_a_release_no_profile_models_exactly(monkeypatch) -> None:
    """6.16 has the 6.15 early check and the 6.16 merge rule but not 6.17's validation order: no row of
    PROFILES and no profile made of its features models it (the 6.17+ flow needs validate_first), so it is
    the closest profile, unsupported, and the reason names the differences."""
    monkeypatch.setattr(os, "uname", _fake_uname("Linux", "6.16.7-1-generic"))
    info = live.kernel_info()
    if not info.can_run:
        pytest.skip(info.reason)
    assert not info.supported and info.profile == mmsim.release_coverage("6.16").profile
    assert "validate_first" in info.reason and "closest profile" in info.reason


def test_kernel_info_6_1_kernel(monkeypatch) -> None:
    """A 6.1 LTS kernel (Debian's 6.1.0-13) is covered by profile 6.1 (semantics §0)."""
    monkeypatch.setattr(os, "uname", _fake_uname("Linux", "6.1.0-13-amd64"))
    info = live.kernel_info()
    if not info.can_run:
        pytest.skip(info.reason)
    assert info.supported and info.profile == "6.1" and info.reason == ""


@pytest.mark.live
def test_kernel_info_of_this_host(host: live_kernels.Ready) -> None:
    with open("/proc/sys/vm/max_map_count") as f:
        assert host.info.max_map_count == int(f.read())
    assert host.info.release == os.uname().release
    assert host.profile == live.profile_for_release(host.info.release) and host.info.reason == ""
    assert str(host.info).startswith("Linux ")


# ---- compare --------------------------------------------------------------------------------------------


@pytest.mark.live
def test_compare_limit_scenario_with_the_host_profile(limit_run: live.LiveRun, host: live_kernels.Ready) -> None:
    """The model of the host's profile agrees with the kernel op by op at the limit."""
    cmp = live.compare_run(limit_run, host.profile)
    assert cmp.initial_match
    assert cmp.all_match, str(cmp)
    assert cmp.n_ops == cmp.n_matched == len(LIMIT_OPS)
    assert f"all {cmp.n_ops} operations match" in str(cmp)


@pytest.mark.live
def test_compare_faults_moves_and_shared_memory(host: live_kernels.Ready) -> None:
    ops = [
        ("mmap", {"addr": 0, "length": 3 * P, "prot": PROT_READ, "flags": FIXED}),
        ("mprotect", {"addr": P, "length": P, "prot": RW}),
        ("mprotect", {"addr": P, "length": P, "prot": PROT_READ}),
        ("mprotect", {"addr": P, "length": P, "prot": RW}),
        ("touch", {"addr": P}),
        ("mprotect", {"addr": P, "length": P, "prot": PROT_READ}),
        ("touch", {"addr": 0, "length": 2 * P}),
        ("munmap", {"addr": 31 * P, "length": 2 * P}),
        ("mmap", {"addr": 30 * P, "length": P, "prot": RW, "flags": FIXED}),
        ("mremap", {"old_address": 30 * P, "old_size": P, "new_size": 2 * P}),
        ("mremap", {"old_address": 30 * P, "old_size": 2 * P, "new_size": 4 * P, "flags": MREMAP_MAYMOVE}),
        (
            "mmap",
            {"addr": 40 * P, "length": 2 * P, "prot": RW, "flags": MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED},
        ),
        ("munmap", {"addr": 40 * P, "length": P}),
        ("mmap", {"addr": 50 * P, "length": 4 * P, "prot": RW, "flags": FIXED}),
        ("mprotect", {"addr": 51 * P, "length": P, "prot": PROT_READ}),
    ]
    cmp = live.compare(ops, host.profile, arena_pages=64, free_slots=2)
    assert cmp.all_match, str(cmp)
    # At 2 free slots (mm/mremap.c: move_vma() needs map_count < max - 3) the move fails; the model agrees.
    assert cmp.rows[10].live_errno == errno.ENOMEM
    # The 3-way split at 2 free slots succeeds and ends at max.
    assert cmp.rows[-1].live_delta == 2 and cmp.live[-1].map_count_after == cmp.live.max_map_count


def _canned_run(results: list[dict], ops: list) -> live.LiveRun:
    """A LiveRun as a 6.18 host child would report it, for testing compare_run() without a host kernel."""
    return canned_run(results, ops, release="6.18.0", max_map_count=100, base=0x7F1234560000, initial_map_count=10)


def test_compare_run_flags_disagreements() -> None:
    """compare_run() lines a (canned) live run up with the model and names each disagreement."""
    ops = [
        ("mmap", {"addr": 0, "length": P, "prot": RW, "flags": FIXED}),
        ("munmap", {"addr": 4 * P, "length": P}),
        ("mprotect", {"addr": 8 * P, "length": P, "prot": RW}),
    ]
    base = 0x7F1234560000
    results = [
        # What the kernel does: +1, the arena's head replaced.
        {
            "ret": base,
            "errno": 0,
            "map_count_before": 10,
            "map_count_after": 11,
            "vmas": [(0, P, "rw-p", 0), (P, 16 * P, "---p", 0)],
        },
        # A wrong claim: a punch that "failed" with ENOMEM far below the limit.
        {
            "ret": None,
            "errno": errno.ENOMEM,
            "map_count_before": 11,
            "map_count_after": 11,
            "vmas": [(0, P, "rw-p", 0), (P, 16 * P, "---p", 0)],
        },
        # A wrong layout and delta: the model splits in three (+2), the claim is +1.
        {
            "ret": 0,
            "errno": 0,
            "map_count_before": 12,
            "map_count_after": 13,
            "vmas": [
                (0, P, "rw-p", 0),
                (P, 4 * P, "---p", 0),
                (5 * P, 8 * P, "---p", 0),
                (8 * P, 16 * P, "rw-p", 0),
            ],
        },
    ]
    run = _canned_run(results, ops)
    assert run[0].ret == 0 and run[0].ret_in_arena
    cmp = live.compare_run(run, "6.18")
    assert cmp.initial_match
    assert [r.match for r in cmp.rows] == [True, False, False]
    assert cmp.rows[1].mismatches == ("errno", "layout", "map_count delta")
    assert cmp.rows[1].model_errno == 0 and cmp.rows[1].model_delta == 1
    assert cmp.rows[2].mismatches == ("layout", "map_count delta")
    assert cmp.rows[2].model_delta == 2
    assert not cmp.all_match and cmp.n_matched == 1 and cmp.n_ops == 3
    text = str(cmp)
    assert "1 of 3 compared operations match" in text and "differs in: errno" in text and "model:" in text
    html = cmp._repr_html_()
    assert html.count("<tr") == 4 and "differs: layout, map_count delta" in html
    pd = pytest.importorskip("pandas")
    df = cmp.to_dataframe()
    assert isinstance(df, pd.DataFrame) and list(df["match"]) == [True, False, False]
    assert list(df["live_errno"]) == ["OK", "ENOMEM", "OK"]


def test_compare_run_records_model_exceptions(monkeypatch) -> None:
    import mmsim

    ops = [("munmap", {"addr": 0, "length": P})]
    results = [
        {
            "ret": 0,
            "errno": 0,
            "map_count_before": 10,
            "map_count_after": 10,
            "vmas": [(P, 16 * P, "---p", 0)],
        }
    ]

    def broken(self, *a, **k):
        raise RuntimeError("model bug")

    monkeypatch.setattr(mmsim.AddressSpace, "munmap", broken)
    cmp = live.compare_run(_canned_run(results, ops), "6.18")
    row = cmp.rows[0]
    assert not row.match and row.model_error == "RuntimeError: model bug" and "model error" in row.mismatches
    assert "model raised: RuntimeError: model bug" in str(cmp)
