"""Every errno path of mmap, munmap and mprotect, in kernel order (semantics §2.8, §3.1-§3.3, §5 #5).

Each failing call must raise :class:`mmsim.MMError` (an ``OSError``) with the kernel's errno, name
its check in ``.check`` and in the message, and leave the VMA list exactly unchanged, except the
documented partial mprotect cases (§5 #5), whose leftovers are asserted exactly.
"""

from __future__ import annotations

import errno as E

import pytest
from helpers import PRIV, RW, SHARED, L, R, anon, assert_layout, at, fmap, layout, new_mm, pg

import mmsim
from mmsim import (
    KERNELS,
    MAP_ANONYMOUS,
    MAP_FIXED,
    MAP_FIXED_NOREPLACE,
    MAP_PRIVATE,
    MAP_SHARED,
    MAP_SHARED_VALIDATE,
    PAGE_SIZE,
    TASK_SIZE,
    VMA,
)
from mmsim.constants import PROT_GROWSDOWN, PROT_GROWSUP, PROT_SEM

P = PAGE_SIZE
FIX = PRIV | MAP_FIXED
U64 = 1 << 64


#: scene()'s only VMA.
X = L(0, 4, "rw-p", pg(0), None, True)


def scene(kernel="6.18", **kw):
    """X = [0,4) RW private anon; fds: "f" (rw), "ro" (read-only), "wo" (write-only)."""
    mm = new_mm(kernel, **kw)
    anon(mm, 0, 4)
    fds = {"f": mm.open("f"), "ro": mm.open("ro", writable=False), "wo": mm.open("wo", readable=False)}
    return mm, fds


def expect_error(mm, call, errno, check):
    """Run ``call``; assert the error's type, errno and check, and that nothing changed."""
    before, mc, trace = mm.vmas(), mm.map_count, mm.trace
    with pytest.raises(mmsim.MMError) as ei:
        call()
    e = ei.value
    assert isinstance(e, OSError) and isinstance(e, mmsim.MMError)
    assert e.errno == errno, (E.errorcode.get(e.errno), e.check)
    assert e.check == check
    assert check in str(e) and E.errorcode[errno] in str(e)
    assert mm.vmas() == before and mm.map_count == mc
    mm.check_invariants()
    if mm.trace is not trace:  # a syscall ran: exactly one record carries the errno (§8)
        assert [s.step for s in mm.trace if s.errno is not None] == [check]
    return e


# ---------------------------------------------------------------------------------------------
# mmap (§3.1, §2.8)
# ---------------------------------------------------------------------------------------------

MMAP_CASES = [
    # id, args (fd given by name or int), errno, check
    ("offset_unaligned_anon", (at(10), P, R, FIX, -1, 1), E.EINVAL, "validate.offset_unaligned"),
    ("offset_unaligned_file", (at(10), P, R, MAP_PRIVATE | MAP_FIXED, "f", P + 1), E.EINVAL,
     "validate.offset_unaligned"),
    ("bad_fd", (at(10), P, R, MAP_PRIVATE | MAP_FIXED, 99), E.EBADF, "validate.bad_fd"),
    ("no_fd_without_map_anonymous", (at(10), P, R, MAP_PRIVATE | MAP_FIXED), E.EBADF, "validate.bad_fd"),
    ("len_zero", (at(10), 0, R, FIX), E.EINVAL, "validate.len_zero"),
    ("len_overflow", (0, U64 - 1, R, PRIV), E.ENOMEM, "validate.len_overflow"),  # PAGE_ALIGN wraps to 0
    ("len_over_task_size", (0, TASK_SIZE + P, R, PRIV), E.ENOMEM, "validate.len_too_big"),
    ("no_space", (0, TASK_SIZE, R, PRIV), E.ENOMEM, "validate.no_space"),
    ("fixed_beyond_task_size", (TASK_SIZE, P, R, FIX), E.ENOMEM, "validate.addr_beyond_task_size"),
    ("fixed_end_beyond_task_size", (TASK_SIZE - P, 2 * P, R, FIX), E.ENOMEM, "validate.addr_beyond_task_size"),
    ("fixed_unaligned", (at(10) + 8, P, R, FIX), E.EINVAL, "validate.addr_unaligned"),
    ("fixed_below_mmap_min_addr", (0, P, R, FIX), E.EPERM, "validate.below_mmap_min_addr"),
    ("noreplace_overlap", (at(2), P, R, PRIV | MAP_FIXED_NOREPLACE), E.EEXIST, "validate.fixed_noreplace_overlap"),
    ("noreplace_partial_overlap", (at(3), 4 * P, R, PRIV | MAP_FIXED_NOREPLACE), E.EEXIST,
     "validate.fixed_noreplace_overlap"),
    ("anon_map_type_0", (at(10), P, R, MAP_ANONYMOUS | MAP_FIXED), E.EINVAL, "validate.map_type"),
    ("anon_shared_validate", (at(10), P, R, MAP_SHARED_VALIDATE | MAP_ANONYMOUS | MAP_FIXED), E.EINVAL,
     "validate.map_type"),
    ("anon_map_type_f", (at(10), P, R, 0xF | MAP_ANONYMOUS | MAP_FIXED), E.EINVAL, "validate.map_type"),
    ("file_map_type_0", (at(10), P, R, MAP_FIXED, "f"), E.EINVAL, "validate.map_type"),
    ("shared_write_of_read_only_file", (at(10), P, RW, MAP_SHARED | MAP_FIXED, "ro"), E.EACCES,
     "validate.file_not_writable"),
    ("shared_validate_write_of_read_only_file", (at(10), P, RW, MAP_SHARED_VALIDATE | MAP_FIXED, "ro"),
     E.EACCES, "validate.file_not_writable"),
    ("private_of_unreadable_file", (at(10), P, R, MAP_PRIVATE | MAP_FIXED, "wo"), E.EACCES,
     "validate.file_not_readable"),
    ("shared_of_unreadable_file", (at(10), P, R, MAP_SHARED | MAP_FIXED, "wo"), E.EACCES,
     "validate.file_not_readable"),
]


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("args, errno, check", [c[1:] for c in MMAP_CASES], ids=[c[0] for c in MMAP_CASES])
def test_mmap_errors(kernel, args, errno, check):
    """§3.1 / §2.8 errno list; every one of them fails before anything is unmapped (clean)."""
    mm, fds = scene(kernel)
    if len(args) > 4 and isinstance(args[4], str):
        args = args[:4] + (fds[args[4]],) + args[5:]
    expect_error(mm, lambda: mm.mmap(*args), errno, check)


def test_mmap_private_write_of_read_only_file_is_allowed():
    """§3.1 step 5: MAP_PRIVATE only needs a readable file; PROT_WRITE is COW. +1, VM_ACCOUNT (§2.7)."""
    mm, fds = scene()
    fmap(mm, fds["ro"], 10, 1, 0, RW, MAP_PRIVATE)
    assert_layout(mm, [X, L(10, 11, "rw-p", 0, None, True)], map_count=2)


def test_mmap_shared_read_of_read_only_file_is_allowed():
    """A read-only MAP_SHARED of a read-only file maps (EACCES is only for PROT_WRITE)."""
    mm, fds = scene()
    fmap(mm, fds["ro"], 10, 1, 0, R, MAP_SHARED)
    assert_layout(mm, [X, L(10, 11, "r--s", 0, None, False)], map_count=2)


def test_mmap_below_mmap_min_addr_is_allowed_when_privileged():
    """§2.8: CAP_SYS_RAWIO (privileged=True) may map below mmap_min_addr, even at 0."""
    mm = new_mm("6.18", privileged=True)
    assert mm.mmap(0, P, R, FIX) == 0
    assert mm.map_count == 1


def test_mmap_eperm_with_a_larger_mmap_min_addr():
    """§2.8: mmap_min_addr 65536 (many distributions): FIXED at 0x1000 is EPERM, at 0x10000 fine."""
    mm = new_mm("6.18", mmap_min_addr=0x10000)
    expect_error(mm, lambda: mm.mmap(0x1000, P, R, FIX), E.EPERM, "validate.below_mmap_min_addr")
    assert mm.mmap(0x10000, P, R, FIX) == 0x10000


# ---- mmap: which error wins (kernel order, §3.1 steps 1-6) -----------------------------------


MMAP_ORDER = [
    # id, scene() keywords, args (fd by name or int), errno, check: the first in kernel order wins
    # §3.1 step 1: x86 sys_mmap rejects an unaligned offset before the fd is looked up
    ("offset_before_fd", {}, (at(10), P, R, MAP_PRIVATE | MAP_FIXED, 99, 1), E.EINVAL, "validate.offset_unaligned"),
    # §3.1 step 1 before step 2: a bad fd with len 0 is EBADF
    ("fd_before_len", {}, (at(10), 0, R, MAP_PRIVATE | MAP_FIXED, 99), E.EBADF, "validate.bad_fd"),
    # §3.1 step 2 before step 3: len 0 at s = -1 is EINVAL, not ENOMEM
    ("len_zero_before_mmap_limit", {"max_map_count": 0}, (at(10), 0, R, FIX), E.EINVAL, "validate.len_zero"),
    # §3.1 step 3 before step 4: at s = -1 an unaligned MAP_FIXED address is ENOMEM (mmap_limit)
    ("mmap_limit_before_placement", {"max_map_count": 0}, (at(10) + 1, P, R, FIX), E.ENOMEM, "mmap_limit"),
    # __get_unmapped_area() (mm/mmap.c): ``addr > TASK_SIZE - len`` -> ENOMEM comes before
    # ``offset_in_page(addr)`` -> EINVAL
    ("fixed_range_before_alignment", {}, (TASK_SIZE + 1, P, R, FIX), E.ENOMEM, "validate.addr_beyond_task_size"),
    # §3.1 step 4 before step 5: NOREPLACE overlap is EEXIST even for a forbidden file mapping
    ("eexist_before_eacces", {}, (at(0), P, RW, MAP_SHARED | MAP_FIXED_NOREPLACE, "ro"), E.EEXIST,
     "validate.fixed_noreplace_overlap"),
    # do_mmap() file switch: an unknown MAP_TYPE is the default case (EINVAL); the FMODE_READ test
    # sits in the SHARED/PRIVATE cases
    ("map_type_before_file_readability", {}, (at(10), P, R, MAP_FIXED, "wo"), E.EINVAL, "validate.map_type"),
]


@pytest.mark.parametrize("kw, args, errno, check", [c[1:] for c in MMAP_ORDER], ids=[c[0] for c in MMAP_ORDER])
def test_mmap_error_order(kw, args, errno, check):
    """Which error wins (kernel order, semantics §3.1 steps 1-6): per-case reason in MMAP_ORDER."""
    mm, fds = scene(**kw)
    if len(args) > 4 and isinstance(args[4], str):
        args = args[:4] + (fds[args[4]],) + args[5:]
    expect_error(mm, lambda: mm.mmap(*args), errno, check)


def test_mmap_eperm_before_eexist():
    """§3.1 step 4: placement (security_mmap_addr -> EPERM) comes before the NOREPLACE test (EEXIST)."""
    mm = mmsim.AddressSpace.from_vmas([VMA(0, P, R, pgoff=0)], kernel="6.18")
    expect_error(mm, lambda: mm.mmap(0, P, R, PRIV | MAP_FIXED_NOREPLACE), E.EPERM,
                 "validate.below_mmap_min_addr")


@pytest.mark.parametrize("kernel", KERNELS)
def test_mmap_eacces_before_the_overlap_punch_check(kernel):
    """§3.1 step 5 before step 6: MAP_FIXED into X's interior at s = 0 with a forbidden file mode is
    EACCES (the punch check would be ENOMEM), and nothing was unmapped."""
    mm, fds = scene(kernel, max_map_count=1)
    expect_error(mm, lambda: mm.mmap(at(1), P, RW, MAP_SHARED | MAP_FIXED, fds["ro"]), E.EACCES,
                 "validate.file_not_writable")


@pytest.mark.parametrize("kernel", KERNELS)
def test_mmap_fixed_punch_limit_is_clean(kernel):
    """§3.1 step 6: the overlap unmap's punch check fails before any change (ENOMEM)."""
    mm, _ = scene(kernel, max_map_count=1)
    expect_error(mm, lambda: mm.mmap(at(1), P, R, FIX), E.ENOMEM, "munmap_punch_limit")


# ---------------------------------------------------------------------------------------------
# munmap (§3.2)
# ---------------------------------------------------------------------------------------------

MUNMAP_CASES = [
    ("addr_unaligned", (at(0) + 1, P), E.EINVAL, "validate.range"),
    ("addr_beyond_task_size", (TASK_SIZE + P, P), E.EINVAL, "validate.range"),
    ("len_beyond_task_size", (at(0), TASK_SIZE), E.EINVAL, "validate.range"),
    ("negative_addr_wraps", (-P, P), E.EINVAL, "validate.range"),
    ("len_zero", (at(0), 0), E.EINVAL, "validate.len_zero"),
    ("len_zero_at_task_size", (TASK_SIZE, 0), E.EINVAL, "validate.len_zero"),
]


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("args, errno, check", [c[1:] for c in MUNMAP_CASES], ids=[c[0] for c in MUNMAP_CASES])
def test_munmap_errors(kernel, args, errno, check):
    """§3.2: addr unaligned, addr > TASK_SIZE, len > TASK_SIZE - addr, PAGE_ALIGN(len) == 0 -> EINVAL."""
    mm, _ = scene(kernel)
    expect_error(mm, lambda: mm.munmap(*args), errno, check)


@pytest.mark.parametrize("kernel", KERNELS)
def test_munmap_punch_at_limit(kernel):
    """§3.2: ENOMEM only for a punch at mc >= max, before any change."""
    mm, _ = scene(kernel, max_map_count=1)
    expect_error(mm, lambda: mm.munmap(at(1), P), E.ENOMEM, "munmap_punch_limit")


def test_munmap_up_to_task_size_is_valid():
    """§3.2: len == TASK_SIZE - addr is allowed; nothing mapped there -> success, no change."""
    mm, _ = scene()
    before = mm.vmas()
    mm.munmap(TASK_SIZE - P, P)
    mm.munmap(at(8), TASK_SIZE - at(8))
    assert mm.vmas() == before


# ---------------------------------------------------------------------------------------------
# mprotect (§3.3)
# ---------------------------------------------------------------------------------------------

MPROTECT_CASES = [
    ("grows_both", (at(0), P, R | PROT_GROWSDOWN | PROT_GROWSUP), E.EINVAL, "validate.grows_both"),
    ("addr_unaligned", (at(0) + 1, P, R), E.EINVAL, "validate.addr_unaligned"),
    ("range_wraps", (at(0), U64 - at(0), R), E.ENOMEM, "validate.range_wraps"),
    ("len_aligns_to_zero", (at(0), U64 - 1, R), E.ENOMEM, "validate.range_wraps"),  # end == addr
    ("negative_len", (at(0), -1, R), E.ENOMEM, "validate.range_wraps"),
    ("bad_prot_bits", (at(0), P, 0x10), E.EINVAL, "validate.prot_bits"),
    ("high_prot_bits", (at(0), P, R | 0x100000), E.EINVAL, "validate.prot_bits"),
    ("unmapped_range", (at(10), P, R), E.ENOMEM, "validate.no_vma"),
    ("range_starts_in_hole", (at(-1), 2 * P, R), E.ENOMEM, "validate.hole_at_start"),
    # order (§3.3): grows before alignment, alignment before len 0, wrap before prot bits,
    # prot bits before the VMA lookup
    ("grows_before_unaligned", (at(0) + 1, P, PROT_GROWSDOWN | PROT_GROWSUP), E.EINVAL, "validate.grows_both"),
    ("unaligned_before_len_zero", (at(0) + 1, 0, R), E.EINVAL, "validate.addr_unaligned"),
    ("wrap_before_prot_bits", (at(0), U64 - at(0), 0x10), E.ENOMEM, "validate.range_wraps"),
    ("prot_bits_before_lookup", (at(10), P, 0x10), E.EINVAL, "validate.prot_bits"),
]


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("args, errno, check", [c[1:] for c in MPROTECT_CASES],
                         ids=[c[0] for c in MPROTECT_CASES])
def test_mprotect_errors(kernel, args, errno, check):
    """§3.3 validation steps 1-6, in order; all fail before any change."""
    mm, _ = scene(kernel)
    expect_error(mm, lambda: mm.mprotect(*args), errno, check)


@pytest.mark.parametrize("kernel", KERNELS)
def test_mprotect_eacces_on_shared_mapping_of_read_only_file(kernel):
    """§3.3 per-VMA step 1: MAP_SHARED of a read-only file has no VM_MAYWRITE, so PROT_WRITE is EACCES."""
    mm, fds = scene(kernel)
    fmap(mm, fds["ro"], 10, 2, 0, R, MAP_SHARED)
    expect_error(mm, lambda: mm.mprotect(at(10), P, RW), E.EACCES, "validate.maxprot")


@pytest.mark.parametrize("kernel", KERNELS)
def test_mprotect_len_zero_returns_without_error(kernel):
    """§3.3 step 3: len 0 returns 0 before the wrap, prot and VMA checks (unmapped addr, bad prot)."""
    mm, _ = scene(kernel)
    before = mm.vmas()
    assert mm.mprotect(at(50), 0, 0x10) is None
    assert mm.mprotect(at(0), 0, R) is None
    assert mm.vmas() == before


@pytest.mark.parametrize("kernel", KERNELS)
def test_mprotect_prot_sem_is_accepted_and_ignored(kernel):
    """§3.3 step 5: bits within R|W|X|SEM are valid; PROT_SEM sets no VMA permission."""
    mm, _ = scene(kernel)
    mm.mprotect(at(0), 4 * P, R | PROT_SEM)
    assert [v.perms for v in mm.vmas()] == ["r--p"]


@pytest.mark.parametrize(
    "page, grow, errno, check",
    [
        (0, PROT_GROWSDOWN, E.EINVAL, "validate.not_growsdown"),
        (0, PROT_GROWSUP, E.EINVAL, "validate.not_growsup"),
        # range starting in the gap below X: GROWSDOWN takes the VMA's start (EINVAL), GROWSUP
        # keeps the plain "vm_start > start" test (ENOMEM)
        (-1, PROT_GROWSDOWN, E.EINVAL, "validate.not_growsdown"),
        (-1, PROT_GROWSUP, E.ENOMEM, "validate.hole_at_start"),
        # nothing mapped at all: ENOMEM before the grows tests
        (10, PROT_GROWSDOWN, E.ENOMEM, "validate.no_vma"),
    ],
    ids=["growsdown", "growsup", "growsdown_from_gap", "growsup_from_gap", "growsdown_unmapped"],
)
def test_mprotect_single_grows_flag_on_ordinary_vma(page, grow, errno, check):
    """do_mprotect_pkey()@6.18 (mm/mprotect.c): after ``vma = vma_find(&vmi, end)`` (none -> ENOMEM),
    PROT_GROWSDOWN sets start = vma->vm_start and fails EINVAL unless VM_GROWSDOWN; PROT_GROWSUP
    first fails ENOMEM if vma->vm_start > start, then EINVAL unless VM_GROWSUP (VM_NONE on x86).
    No model VMA grows. (Semantics §3.3 lists only the "both" case; the source wins. Fixed in a299998.)"""
    mm, _ = scene()
    expect_error(mm, lambda: mm.mprotect(at(page), 2 * P, R | grow), errno, check)


# ---- mprotect partial failures (§5 #5): earlier VMAs keep their new protection ---------------


def _partial(kernel, mm, call, errno, check, expected_real):
    """Non-ideal: the error leaves ``expected_real``; ideal (transactional): the state is unchanged.
    No VMA is split in these cases (each one changed is whole), so map_count stays."""
    before = layout(mm)
    with pytest.raises(mmsim.MMError) as ei:
        call()
    assert isinstance(ei.value, OSError)
    assert (ei.value.errno, ei.value.check) == (errno, check)
    assert_layout(mm, before if kernel == "ideal" else expected_real, map_count=len(before))


@pytest.mark.parametrize("kernel", KERNELS)
def test_mprotect_hole_in_the_middle_is_partial(kernel):
    """§3.3 per-VMA step 7 / §5 #5: [0,1) R and [2,3) R with a gap; mprotect [0,3) RW: [0,1) becomes
    rw-p (gains VM_ACCOUNT), then the hole at page 1 -> ENOMEM; [2,3) untouched."""
    mm = new_mm(kernel)
    anon(mm, 0, 1, R)
    anon(mm, 2, 1, R)
    _partial(kernel, mm, lambda: mm.mprotect(at(0), 3 * P, RW), E.ENOMEM, "validate.hole",
             [L(0, 1, "rw-p", pg(0), None, True), L(2, 3, "r--p", pg(2), None, False)])


@pytest.mark.parametrize("kernel", KERNELS)
def test_mprotect_range_past_the_last_vma_is_partial(kernel):
    """§3.3 / §5 #5: [0,2) R; mprotect [0,4) RW: [0,2) changes, then nothing at page 2 -> ENOMEM."""
    mm = new_mm(kernel)
    anon(mm, 0, 2, R)
    _partial(kernel, mm, lambda: mm.mprotect(at(0), 4 * P, RW), E.ENOMEM, "validate.hole_at_end",
             [L(0, 2, "rw-p", pg(0), None, True)])


@pytest.mark.parametrize("kernel", KERNELS)
def test_mprotect_later_vma_refusing_write_is_partial(kernel):
    """§5 #5: [0,1) R private then [1,2) R MAP_SHARED of a read-only file; mprotect [0,2) RW: the
    first becomes rw-p, the second refuses PROT_WRITE -> EACCES."""
    mm = new_mm(kernel)
    ro = mm.open("ro", writable=False)
    anon(mm, 0, 1, R)
    fmap(mm, ro, 1, 1, 0, R, MAP_SHARED)
    _partial(kernel, mm, lambda: mm.mprotect(at(0), 2 * P, RW), E.EACCES, "validate.maxprot",
             [L(0, 1, "rw-p", pg(0), None, True), L(1, 2, "r--s", 0, None, False)])


@pytest.mark.parametrize("kernel", KERNELS)
def test_mprotect_hole_is_found_before_eacces(kernel):
    """do_mprotect_pkey(): the ``vma->vm_start != tmp`` hole test precedes the permission test in the
    loop. [0,1) R, gap, [2,3) read-only shared file: ENOMEM (hole), not EACCES."""
    mm = new_mm(kernel)
    ro = mm.open("ro", writable=False)
    anon(mm, 0, 1, R)
    fmap(mm, ro, 2, 1, 0, R, MAP_SHARED)
    _partial(kernel, mm, lambda: mm.mprotect(at(0), 3 * P, RW), E.ENOMEM, "validate.hole",
             [L(0, 1, "rw-p", pg(0), None, True), L(2, 3, "r--s", 0, None, False)])


# ---------------------------------------------------------------------------------------------
# argument types
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda mm: mm.mmap(1.5, P, R, PRIV),
        lambda mm: mm.mmap(0, "4096", R, PRIV),
        lambda mm: mm.mmap(0, P, R, float(PRIV)),
        lambda mm: mm.mmap(at(10), P, R, MAP_PRIVATE | MAP_FIXED, 3, 0.0),
        lambda mm: mm.munmap(at(0), 4096.0),
        lambda mm: mm.munmap("0", P),
        lambda mm: mm.mprotect(at(0), P, "r"),
        lambda mm: mm.mprotect(at(0), [P], R),
        lambda mm: mm.touch(float(at(0))),
    ],
    ids=["mmap_addr", "mmap_len", "mmap_flags", "mmap_offset", "munmap_len", "munmap_addr", "mprotect_prot",
         "mprotect_len", "touch_addr"],
)
def test_non_int_arguments_raise_type_error(call):
    """Syscall arguments are unsigned longs: a non-int is a TypeError (not an MMError), and nothing
    changes - not even the trace."""
    mm, _ = scene()
    before, trace = mm.vmas(), mm.trace
    with pytest.raises(TypeError):
        call(mm)
    assert mm.vmas() == before and mm.trace is trace


def test_errors_are_catchable_as_oserror():
    """MMError is an OSError subclass: ``except OSError`` catches it with the kernel's errno."""
    mm, _ = scene()
    try:
        mm.munmap(1, P)
    except OSError as e:
        assert e.errno == E.EINVAL
    else:
        pytest.fail("munmap of an unaligned address succeeded")


def test_shared_anon_validate_with_shared_fails_but_plain_shared_maps():
    """Control for anon_shared_validate: MAP_SHARED|MAP_ANONYMOUS itself maps (pgoff 0, rw-s)."""
    mm, _ = scene()
    anon(mm, 10, 1, RW, SHARED)
    assert_layout(mm, [X, L(10, 11, "rw-s", 0, None, False)], map_count=2)
