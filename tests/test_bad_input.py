"""Bad input, answered as the kernel would: each reproducer of the reliability issue, and a property test.

* mremap's overlap check and every length/address sum the kernel computes in ``unsigned long`` wrap at
  2**64 (mremap_to()@5.0/5.1, vrm_overlaps()@6.18);
* ``touch`` does not wrap and faults on unmapped pages;
* ``mmap_base`` / ``mmap_min_addr`` / ``max_map_count`` are validated;
* ``classify`` leaves the address space exactly as it found it, trace included, whatever happens;
* the two partial-failure paths semantics §5 rows 3 and 4 describe;
* Python-level types: an argument is an int (anything with ``__index__``, bools refused) or a TypeError
  naming it; ``None`` only where the C API has NULL (an mmap or mremap address hint).

Expected outcomes follow from the kernel source as the semantics reference (docs/semantics.md) cites it;
the live halves of these reproducers are in tests/test_live_regressions.py.
"""

from __future__ import annotations

import errno as E

import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

import mmsim
from mmsim import (
    KERNELS,
    MAP_ANONYMOUS,
    MAP_FIXED,
    MAP_PRIVATE,
    MAP_SHARED,
    MREMAP_FIXED,
    MREMAP_MAYMOVE,
    PAGE_SIZE,
    PROT_NONE,
    PROT_READ,
    PROT_WRITE,
    TASK_SIZE,
    MMError,
)

P = PAGE_SIZE
PA = MAP_PRIVATE | MAP_ANONYMOUS
SA = MAP_SHARED | MAP_ANONYMOUS
RW = PROT_READ | PROT_WRITE
MOVE = MREMAP_MAYMOVE | MREMAP_FIXED
PARTIAL_PROFILES = [k for k in KERNELS if k != "ideal"]


def _wrap_layout(kernel: str) -> tuple[mmsim.AddressSpace, int]:
    """The issue's layout: a 64-page PROT_NONE reservation R with a 4-page rw VMA at R and a 4-page r-- VMA
    at R+32P."""
    mm = mmsim.AddressSpace(kernel)
    r = mm.mmap(0, 64 * P, PROT_NONE, PA)
    mm.mmap(r, 4 * P, RW, PA | MAP_FIXED)
    mm.mmap(r + 32 * P, 4 * P, PROT_READ, PA | MAP_FIXED)
    mm.check_invariants()
    return mm, r


# ---- 1. unsigned-long arithmetic --------------------------------------------------------------------


@pytest.mark.parametrize("kernel", KERNELS)
def test_overlap_check_wraps_at_2_64(kernel: str) -> None:
    """old_len = 2**64 - P: ``addr + old_len`` wraps below new_addr, so the ranges do not overlap; the
    destination [R+32P, R+33P) is unmapped, then the tail munmap's range check (len > TASK_SIZE - start)
    fails with EINVAL: a partial failure everywhere but ``ideal``, which rolls the scratch run back."""
    mm, r = _wrap_layout(kernel)
    before = mm.vmas()
    o = mmsim.classify(mm, "mremap", r, 2**64 - P, P, MOVE, r + 32 * P)
    assert o.errno == E.EINVAL and o.check == "validate.unmap_tail_range"
    assert mm.vmas() == before  # classify changed nothing
    with pytest.raises(MMError) as ei:
        mm.mremap(r, 2**64 - P, P, MOVE, r + 32 * P)
    assert ei.value.errno == E.EINVAL
    mm.check_invariants()
    if kernel == "ideal":
        assert o.kind == "CLEAN_FAIL" and mm.vmas() == before
    else:
        assert o.kind == "PARTIAL_FAIL"
        # The destination's first page is gone, the rest of that VMA and the source stay.
        assert mm.vma_at(r + 32 * P) is None or mm.vma_at(r + 32 * P).prot == PROT_NONE
        d = mm.vma_at(r + 33 * P)
        assert d is not None and (d.start, d.end, d.prot) == (r + 33 * P, r + 36 * P, PROT_READ)
        assert mm.vma_at(r) is not None and mm.vma_at(r).end == r + 4 * P


@pytest.mark.parametrize("kernel", KERNELS)
def test_shrink_with_a_huge_old_len_fails_at_the_tail_range_check(kernel: str) -> None:
    """A non-FIXED shrink with old_len = 2**64 - P: the tail [a + P, a + 2**64 - P) has len > TASK_SIZE -
    start, so the tail munmap's range check fails with EINVAL before anything changes (v5: no lookup before
    it; 6.18: vma_lookup and check_prep_vma pass for a shrink)."""
    mm = mmsim.AddressSpace(kernel)
    a = mm.mmap(0, 4 * P, RW, PA)
    with pytest.raises(MMError) as ei:
        mm.mremap(a, 2**64 - P, P, 0)
    assert ei.value.errno == E.EINVAL and ei.value.check == "validate.unmap_tail_range"
    assert mm.map_count == 1 and mm.vma_at(a).end == a + 4 * P


# ---- 2. touch ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("kernel", KERNELS)
def test_touch_past_the_top_faults(kernel: str) -> None:
    mm = mmsim.AddressSpace(kernel)
    with pytest.raises(MMError) as ei:
        mm.touch(2**64 - P, P)
    assert ei.value.errno == E.EFAULT and ei.value.check == "validate.segv_maperr"
    assert mm.trace.failure.start == 2**64 - P


@pytest.mark.parametrize("kernel", KERNELS)
def test_touch_over_unmapped_space_faults_at_the_first_unmapped_page(kernel: str) -> None:
    """touch(a, 2**64 - 1) does not wrap: it faults in a's VMA, then faults at the first page after it.
    The anon_vma attached on the way stays (semantics §5 row 11), except under ideal."""
    mm = mmsim.AddressSpace(kernel)
    a = mm.mmap(0, 2 * P, RW, PA)
    with pytest.raises(MMError) as ei:
        mm.touch(a, 2**64 - 1)
    assert ei.value.errno == E.EFAULT
    assert mm.trace.failure.start == a + 2 * P
    assert mm.vma_at(a).faulted is (kernel != "ideal")
    mm.check_invariants()


# ---- 3. address-space parameters ------------------------------------------------------------------


@pytest.mark.parametrize("base", [0x7F0000000123, TASK_SIZE + P, 2**64, 2**64 + P, -P])
def test_mmap_base_must_be_a_page_aligned_address(base: int) -> None:
    with pytest.raises(ValueError, match="mmap_base"):
        mmsim.AddressSpace(mmap_base=base)
    mm = mmsim.AddressSpace()
    with pytest.raises(ValueError, match="mmap_base"):
        mm.mmap_base = base
    assert mm.mmap_base == mmsim.constants.DEFAULT_MMAP_BASE


@pytest.mark.parametrize("name", ["mmap_min_addr", "lsm_mmap_min_addr"])
@pytest.mark.parametrize("value", [-1, TASK_SIZE + 1, 2**64])
def test_mmap_min_addr_is_an_address(name: str, value: int) -> None:
    with pytest.raises(ValueError, match=f"^{name} must be"):
        mmsim.AddressSpace(**{name: value})


@pytest.mark.parametrize("name", ["mmap_min_addr", "lsm_mmap_min_addr"])
@pytest.mark.parametrize("value", [None, 4096.0, "4096"])
def test_mmap_min_addr_is_an_int(name: str, value: object) -> None:
    with pytest.raises(TypeError, match=name):
        mmsim.AddressSpace(**{name: value})


@pytest.mark.parametrize("value", [-1, 2**31, 10**23])
def test_max_map_count_is_a_c_int(value: int) -> None:
    """vm.max_map_count is an int sysctl with minimum 0 (proc_dointvec_minmax)."""
    with pytest.raises(ValueError, match="max_map_count"):
        mmsim.AddressSpace(max_map_count=value)


# ---- 5. classify restores everything ----------------------------------------------------------------


@pytest.mark.parametrize("kernel", KERNELS)
def test_classify_restores_the_trace_when_an_exception_escapes(kernel: str) -> None:
    mm = mmsim.AddressSpace(kernel)
    mm.mmap(0, 4 * P, RW, PA)
    trace, state, anon = mm.trace, mm.state(), mm.next_anon_vma
    with pytest.raises(TypeError, match="fd"):
        mmsim.classify(mm, "mmap", 0, P, PROT_READ, MAP_PRIVATE, [3])
    assert mm.trace is trace and mm.state() == state and mm.next_anon_vma == anon


# ---- 6. partial states the first draft of the semantics missed (semantics §5 rows 3 and 4) ----------


@pytest.mark.parametrize("kernel", KERNELS)
def test_old_len_zero_fixed_onto_itself(kernel: str) -> None:
    """mremap(a, 0, 2P, MAYMOVE|FIXED, a) on a shared 4-page VMA: no overlap for old_len 0; the destination
    unmap removes [a, a+2P) of the source itself. 6.18/7.1: the re-lookup of addr fails (EFAULT); 5.x:
    vma_to_resize() finds no VMA (EFAULT). Both after the unmap: PARTIAL_FAIL, except ideal."""
    mm = mmsim.AddressSpace(kernel)
    a = mm.mmap(0, 4 * P, RW, SA)
    o = mmsim.classify(mm, "mremap", a, 0, 2 * P, MOVE, a)
    assert o.errno == E.EFAULT
    has_validate_first = mm.profile.has("validate_first")
    assert o.check == ("validate.relookup" if has_validate_first else "validate.no_vma")
    if kernel == "ideal":
        assert o.kind == "CLEAN_FAIL"
    else:
        assert o.kind == "PARTIAL_FAIL"
        with pytest.raises(MMError):
            mm.mremap(a, 0, 2 * P, MOVE, a)
        assert mm.vma_at(a) is None and mm.vma_at(a + 2 * P).end == a + 4 * P
        mm.check_invariants()


@pytest.mark.parametrize("kernel", KERNELS)
def test_fixed_shrink_with_old_len_beyond_task_size(kernel: str) -> None:
    """FIXED shrink with old_len > TASK_SIZE - addr and the destination below addr: the destination is
    unmapped, then the tail munmap's range check fails with EINVAL (semantics §5 row 4)."""
    mm = mmsim.AddressSpace(kernel)
    r = mm.mmap(0, 16 * P, RW, PA)
    src = r + 8 * P
    o = mmsim.classify(mm, "mremap", src, 2**63, P, MOVE, r)
    assert (o.errno, o.check) == (E.EINVAL, "validate.unmap_tail_range")
    assert o.kind == ("CLEAN_FAIL" if kernel == "ideal" else "PARTIAL_FAIL")
    if kernel != "ideal":
        with pytest.raises(MMError):
            mm.mremap(src, 2**63, P, MOVE, r)
        assert mm.vma_at(r) is None and mm.vma_at(r + P) is not None  # only the destination page went
        mm.check_invariants()


# ---- 8. Python-level types ---------------------------------------------------------------------------


def _mm() -> tuple[mmsim.AddressSpace, int]:
    mm = mmsim.AddressSpace()
    return mm, mm.mmap(0, 4 * P, RW, PA)


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda mm, a: mm.mprotect(a, P, None), "prot"),
        (lambda mm, a: mm.mprotect(a, None, PROT_READ), "length"),
        (lambda mm, a: mm.mmap(0, P, RW, None), "flags"),
        (lambda mm, a: mm.mmap(0, P, RW, PA, -1, None), "offset"),
        (lambda mm, a: mm.mmap(0, P, RW, MAP_PRIVATE, 3.0), "fd"),
        (lambda mm, a: mm.mmap(0, P, RW, MAP_PRIVATE, [3]), "fd"),
        (lambda mm, a: mm.munmap(a, True), "length"),
        (lambda mm, a: mm.munmap(a, np.bool_(True)), "length"),
        (lambda mm, a: mm.mremap(None, P, P), "old_address"),
        (lambda mm, a: mm.mremap(a, P, P, None), "flags"),
        (lambda mm, a: mm.touch(a, P, "yes"), "write"),
        (lambda mm, a: mm.find_vma(None), "addr"),
        (lambda mm, a: mm.vma_at(1.0), "addr"),
        (lambda mm, a: mm.pad(True), "n"),
    ],
    ids=["mprotect-prot-None", "mprotect-len-None", "mmap-flags-None", "mmap-offset-None", "mmap-fd-float",
         "mmap-fd-list", "munmap-bool", "munmap-numpy-bool", "mremap-addr-None", "mremap-flags-None",
         "touch-write-str", "find_vma-None", "vma_at-float", "pad-bool"],
)
def test_wrong_python_types_are_type_errors_naming_the_argument(call, name: str) -> None:
    mm, a = _mm()
    state, trace = mm.state(), mm.trace
    with pytest.raises(TypeError, match=name):
        call(mm, a)
    assert mm.state() == state and mm.trace is trace


def test_none_is_null_where_the_c_api_has_null() -> None:
    """mmap's addr and mremap's new_address are pointers that may be NULL."""
    mm, a = _mm()
    assert mm.mmap(None, P, PROT_READ, PA) > 0
    assert mm.mremap(a, P, P, 0, None) == a


def test_numpy_ints_are_ints() -> None:
    mm, a = _mm()
    mm.mprotect(np.uint64(a), np.int64(P), np.int32(PROT_READ))
    assert mm.vma_at(a).prot == PROT_READ


@pytest.mark.parametrize("kernel", [5.10, 6, None, ["6.18"]])
def test_kernel_must_be_a_profile_name(kernel) -> None:
    with pytest.raises(TypeError, match="kernel"):
        mmsim.AddressSpace(kernel=kernel)


# ---- a property test: any value for any argument ------------------------------------------------------

#: Failures that may leave the address space changed (semantics §5), as (operation, failing check).
PARTIAL = {
    "mremap": {"munmap_punch_limit", "move_vma_limit", "move_vma_limit_v7", "validate.no_vma",
               "validate.crosses_vma_end", "validate.old_len_zero_private", "validate.pgoff_overflow",
               "validate.dontexpand", "validate.relookup", "validate.unmap_tail_range",
               "validate.below_mmap_min_addr", "validate.dontunmap_special"},
    "mprotect": {"split_limit", "validate.hole", "validate.hole_at_end", "validate.maxprot"},
    "touch": {"validate.segv_maperr", "validate.segv_accerr"},
}

_ints = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.integers(min_value=0, max_value=64).map(lambda n: n * P),
    st.sampled_from([0, 1, P - 1, P, 2**63, 2**64 - P, 2**64 - 1, 2**64, TASK_SIZE, TASK_SIZE + P, -1]),
)
ANY = st.one_of(
    _ints,
    st.floats(allow_nan=True),
    st.none(),
    st.booleans(),
    st.text(max_size=4),
    st.sampled_from([np.int64(P), np.uint64(2**64 - P), np.bool_(True), np.float64(1.0), [P], (P,), {"a": 1}]),
)
#: Arguments of each operation (the address arguments are often near the layout).
ARITY = {"mmap": 6, "munmap": 2, "mprotect": 3, "touch": 3, "mremap": 5}


@settings(max_examples=600, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(kernel=st.sampled_from(KERNELS), op=st.sampled_from(sorted(ARITY)), data=st.data(),
       max_map_count=st.integers(3, 12))
def test_any_argument_gives_mmerror_typeerror_or_valueerror(kernel, op, data, max_map_count) -> None:
    mm = mmsim.AddressSpace(kernel, 64)
    base = mm.mmap(0, 32 * P, RW, PA)
    mm.mprotect(base + 4 * P, 2 * P, PROT_READ)
    mm.mmap(base + 16 * P, 4 * P, RW, SA | MAP_FIXED)
    mm.touch(base, P)
    mm.max_map_count = mm.map_count + max_map_count % 4
    near = st.integers(-2, 36).map(lambda i: base + i * P)
    args = [data.draw(st.one_of(near, ANY), label=f"arg{i}") for i in range(ARITY[op])]
    state, trace = mm.state(), mm.trace
    # classify: may raise only TypeError/ValueError, and changes nothing at all
    try:
        out = mmsim.classify(mm, op, *args)
    except (TypeError, ValueError):
        out = None
    assert mm.state() == state and mm.trace is trace
    # the call itself
    try:
        getattr(mm, op)(*args)
    except MMError as e:
        assert out is not None and out.errno == e.errno and out.check == e.check
        if mm.state() != state:
            assert kernel != "ideal", f"ideal left a partial state: {op} {e.check}"
            assert e.check in PARTIAL.get(op, set()), f"{op} failed at {e.check} after changing the state"
    except (TypeError, ValueError):
        assert out is None and mm.state() == state
    else:
        assert out is not None and out.kind == "OK"
    mm.check_invariants()
