"""The cases that tell kernels apart, on every live kernel: each against its profile, and live against live.

Every case runs on each live kernel of tests/live_kernels.py (this machine's, Debian's 5.10, 6.1 and 6.12
under qemu, 6.1 under user-mode Linux where it boots) against the profile mmsim.release_coverage() names
for it. The live kernel is the oracle: every operation must agree with the model on errno, the arena's
layout and the map_count delta (mmsim.live.compare); no expected value is written here, except where a
test checks that two kernels really differ, which compares two live runs with each other. All cases of a
kernel share one child (one boot for a guest), separated by a reset of the arena.

The comments on the cases say what the source reading (docs/semantics.md §3.6, docs/linux-6.1.md)
predicts; the tests hold each kernel to its profile only.
"""

from __future__ import annotations

import os

import live_kernels
import pytest
from helpers import UML_TASK_SIZE
from live_ops import hintless, mmap, mprotect, mremap, mremap_bytes, reset, touch

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

pytestmark = pytest.mark.live

P = PAGE_SIZE
RW = PROT_READ | PROT_WRITE
R = PROT_READ
PA = MAP_PRIVATE | MAP_ANONYMOUS
SA = MAP_SHARED | MAP_ANONYMOUS
MM, FX, DU = MREMAP_MAYMOVE, MREMAP_FIXED, MREMAP_DONTUNMAP
ARENA = 128  # pages

RESET = reset(ARENA)
#: Unmap the whole arena: a case that needs real holes (free space) starts with it.
EMPTY = ("munmap", {"addr": 0, "length": ARENA * P})
Case = tuple[str, list, int | None, str]


def _cases() -> list[Case]:
    """``(name, ops, free_slots, hold)``: ``free_slots`` free slots before the first op (``hold="all"``: before every
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

#: Cases whose last operation the source reading says ends differently on two profiles, by profile pair.
DIFFERENT: dict[tuple[str, str], list[str]] = {
    ("6.1", "6.18"): [
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
    ],
}

_RUNS: dict[str, tuple[live.Comparison, dict[str, list[live.CompareRow]]]] = {}


def on(k: live_kernels.LiveKernel) -> tuple[live.Comparison, dict[str, list[live.CompareRow]]]:
    """Every case on kernel ``k`` in one child, compared with its profile (run once per test session)."""
    ready = live_kernels.require(k)
    if k.id not in _RUNS:
        _RUNS[k.id] = ready.run_cases(CASES, ARENA)
    return _RUNS[k.id]


@pytest.fixture(scope="module", params=live_kernels.params())
def kernel_run(request) -> tuple[live.Comparison, dict[str, list[live.CompareRow]]]:
    return on(request.param)


assert_match = live_kernels.assert_match


def test_the_run_mirrors_its_kernel(kernel_run) -> None:
    """The run's kernel, max_map_count, placement and TASK_SIZE are the ones the child measured, and the
    model was set up from them: a guest's release and lowered limit; top-down placement everywhere but
    user-mode Linux, which places bottom-up below its own TASK_SIZE."""
    cmp, _ = kernel_run
    run = cmp.live
    assert cmp.initial_match and cmp.n_ops == len(run) and cmp.n_not_compared == 0
    assert cmp.coverage is not None and cmp.coverage.exact
    assert all(a == b for _, a, b in run.stability)
    if run.target == "host":
        assert run.layout == "topdown" and run.task_size is None
        return
    assert run.boot_seconds is not None and run.max_map_count == live.host.GUEST_MAX_MAP_COUNT
    assert run.release != os.uname().release
    if run.target == "uml":
        assert run.layout == "bottomup" and run.landing is not None and run.landing[0] == run.landing_floor
        assert run.landing[1] < run.base and run.task_size == UML_TASK_SIZE
    else:
        assert run.layout == "topdown" and run.landing_roof is not None
        assert run.release == live.kernel_info(target="qemu", kernel=run.kernel).release


@pytest.mark.parametrize("name", [c[0] for c in CASES])
def test_case(kernel_run, name: str) -> None:
    cmp, rows = kernel_run
    assert_match(rows[name], name, cmp.profile)


def _pairs() -> list:
    out = []
    for (a, b), names in DIFFERENT.items():
        out += [pytest.param(a, b, n, id=f"{a}-vs-{b}-{n}") for n in names]
    return out


def _ready_with(profile: str) -> live_kernels.LiveKernel:
    """A live kernel that runs here and whose profile is ``profile`` (skip if there is none)."""
    for k in live_kernels.KERNELS:
        try:
            ready = live_kernels.require(k)
        except pytest.skip.Exception:
            continue
        if ready.profile == profile:
            return k
    pytest.skip(f"no live kernel here is modelled by profile {profile}")


@pytest.mark.parametrize(("a", "b", "name"), _pairs())
def test_the_case_tells_the_kernels_apart(a: str, b: str, name: str) -> None:
    """Live against live: the case's last operation ends differently on a kernel of profile ``a`` and one of
    profile ``b`` (errno, map_count delta or the arena's layout), so it distinguishes the profiles."""
    x, y = on(_ready_with(a))[1][name][-1], on(_ready_with(b))[1][name][-1]
    assert (x.live_errno, x.live_delta, x.live_layout) != (y.live_errno, y.live_delta, y.live_layout), (
        f"{name}: both kernels give errno {x.live_errno}, delta {x.live_delta:+d}, layout {x.live_layout}"
    )


PLACED = {"placement-hintless": [0, 1, 2, 3], "placement-maymove-relocation": [3],
          "placement-dontunmap-occupied-hint": [3]}


def test_kernel_chosen_placements_land_in_the_landing_gap(kernel_run) -> None:
    """Hint-less mmaps, a MAYMOVE relocation and a DONTUNMAP move with an occupied hint succeed and land in
    the child's landing gap (top-down under the roof, bottom-up above the floor under user-mode Linux),
    where compare() also holds the model to the address."""
    cmp, rows = kernel_run
    assert cmp.live.landing is not None
    lo, hi = cmp.live.landing
    for name, indices in PLACED.items():
        for i in indices:
            r = rows[name][i]
            assert r.live_errno == 0 and not r.live_ret_in_arena and r.live_ret is not None, (name, i)
            assert lo <= r.live_ret < hi, (name, i, hex(r.live_ret), hex(lo), hex(hi))
            assert r.match, (name, i, r.mismatches)


REVERT = live_kernels.LiveKernel("qemu", "5.10-revert-ea2c3f6f5545")
CONTROL = live_kernels.LiveKernel("qemu", "5.10-control")


@pytest.mark.parametrize("name", ["seed-W", "seed-S"])
def test_the_2019_bug_on_a_real_kernel(name: str) -> None:
    """5.10.223 built twice from one source and config (mmsim.live.build): with ea2c3f6f5545 reverted, the
    FIXED move fails with ENOMEM *after* unmapping the destination (and the tail) wherever semantics §7.1/§7.2
    give 5.0 a PARTIAL cell; the control refuses the same calls with nothing changed wherever 5.1 gives a
    CLEAN cell. Live against the tables, not against the model (which test_case checks)."""
    import semantics_tables as T

    table = T.SEED_W if name == "seed-W" else T.SEED_S
    for k, column in ((REVERT, "5.0"), (CONTROL, "5.1")):
        rows = on(k)[1]
        for s, text in T.by_free_slots(table, column).items():
            before, last = rows[f"{name}@{s}"][-2], rows[f"{name}@{s}"][-1]
            cell = T.cell(text)
            changed = last.live_layout != before.live_layout
            if cell.kind == "PARTIAL_FAIL":
                assert last.live_errno == (cell.errno or 12) and changed, (k.id, name, s)
            elif cell.kind in ("CLEAN_FAIL", "FALSE_POSITIVE"):  # refused, nothing changed
                assert last.live_errno != 0 and not changed and last.live_delta == 0, (k.id, name, s)
            else:
                assert last.live_errno == 0, (k.id, name, s)
