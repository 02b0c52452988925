"""Tests of mmsim.scenarios: the catalogue, its factories, and the semantics' worked examples.

Expected outcomes come from the semantics tables (read from semantics_tables, where each is
transcribed once): §7.1 (seed-W), §7.2 (seed-S), §7.3 (k whole VMAs, k = 1 and 3), §7.4 (mprotect
splits) and §7.5 (multi-VMA move), and the rows of the §4 table ("free slots needed") for the other
catalogue entries. All at max_map_count = 65530, as in the semantics.
"""

from __future__ import annotations

import errno

import pytest
import semantics_tables as T
from helpers import BASE as ARENA_BASE
from helpers import MAX, L, assert_cell, assert_layout, pg

import mmsim
from mmsim import KERNELS, PAGE_SIZE, AddressSpace, classify
from mmsim import scenarios as S
from mmsim.experiments import Runner
from mmsim.scenarios import BASE, CATALOGUE, Scenario

P = PAGE_SIZE
assert MAX == 65530
assert BASE == ARENA_BASE  # the catalogue's layouts are arena layouts (helpers.layout)
SHORT = {"OK": "OK", "FALSE_POSITIVE": "FP", "CLEAN_FAIL": "C", "PARTIAL_FAIL": "P"}


@pytest.fixture(scope="module")
def runner() -> Runner:
    """Exact runs at max_map_count 65530 (real filler VMAs), cached across the module."""
    return Runner(maxsize=8)


def short(o) -> str:
    """An outcome as the semantics' tables write it, short: class (fp for a partial failure that is
    one) and mc after, e.g. "P(fp) 65529" (semantics_tables.Cell.short)."""
    tag = SHORT[o.kind] + ("(fp)" if o.kind == "PARTIAL_FAIL" and o.fp else "")
    return f"{tag} {o.mc_after}"


# ---- the catalogue ---------------------------------------------------------------------------------


def test_catalogue_has_the_required_scenarios() -> None:
    required = {
        "seed-W", "seed-S", "k-whole-1", "k-whole-3", "fixed-dest-edge", "shrink-punch", "grow-in-place",
        "relocate-whole", "dontunmap", "multi-vma", "mprotect-3way", "munmap-punch",
    }
    assert required <= set(CATALOGUE)
    assert S.names() == list(CATALOGUE)
    assert {s.op for s in CATALOGUE.values()} >= {"mremap", "mprotect", "munmap", "mmap"}


@pytest.mark.parametrize("name", list(CATALOGUE))
def test_every_entry_builds_and_describes_itself(name: str) -> None:
    sc = CATALOGUE[name]
    assert sc.name == name
    assert sc.family in S.FAMILIES
    assert sc.description and "\n" not in sc.description and len(sc.description) < 140
    assert sc.call().startswith(sc.op + "(")
    for k in KERNELS:
        mm = sc.build(k, MAX)
        assert mm.kernel == k and mm.max_map_count == MAX
        assert 1 <= mm.map_count <= 8
        assert len(mm.trace) == 0  # the setup's trace is not left behind
        assert all(sc.window[0] <= v.start and v.end <= sc.window[1] for v in mm.vmas())
    old, new = sc.ranges()
    for r in (old, new):
        if r is not None:
            assert sc.window[0] <= r[0] <= r[1] <= sc.window[1]


def test_get_and_its_errors() -> None:
    assert S.get("seed-W") is CATALOGUE["seed-W"]
    sc = CATALOGUE["seed-S"]
    assert S.get(sc) is sc
    k5 = S.get("k-whole-5")
    assert k5.name == "k-whole-5" and k5.params["k"] == 5
    assert S.get("k-whole").name == "k-whole-1"
    with pytest.raises(KeyError) as e:
        S.get("no-such-thing")
    assert "seed-W" in str(e.value) and "no-such-thing" in str(e.value)
    with pytest.raises(KeyError):
        S.get("k-whole-0")
    assert S.families()[0] == "seed"


def test_seed_w_geometry_is_7_1() -> None:
    """O = 10-page rw VMA, D = 10-page r-- VMA, mremap(O+2P, 6P, 3P, MAYMOVE|FIXED, D+2P)."""
    sc = S.seed_w()
    assert sc == CATALOGUE["seed-W"]
    mm = sc.build("5.0", MAX)
    o, d = mm.vmas()
    assert (o.pages, o.perms, d.pages, d.perms) == (10, "rw-p", 10, "r--p")
    assert d.start > o.end  # a gap: no mergeable neighbour
    assert sc.args == (o.start + 2 * P, 6 * P, 3 * P, 3, d.start + 2 * P)
    assert sc.ranges() == ((o.start + 2 * P, o.start + 8 * P), (d.start + 2 * P, d.start + 5 * P))
    assert o.start == BASE


def test_factories_validate_and_name() -> None:
    assert S.seed_s().args[1:3] == (6 * P, 6 * P)
    assert S.seed_w(pages=12).name == "seed-W(pages=12)"
    assert S.fixed_shrink(new=2).name == "seed-W(new=2)"
    with pytest.raises(ValueError):
        S.fixed_shrink(pages=5, start=2, old=6)
    with pytest.raises(ValueError):
        S.k_whole(0)
    k3 = S.k_whole(3)
    shared = [v for v in k3.build("6.18", MAX).vmas() if v.shared]
    assert len(shared) == 3 and all(v.pages == 1 for v in shared)


def test_setup_pads_to_the_free_slots() -> None:
    sc = CATALOGUE["mprotect-3way"]
    mm = sc.setup("6.18", 200, 3)
    assert mm.max_map_count - mm.map_count == 3
    mm = sc.setup("6.18", 200, -1)
    assert mm.map_count == 201
    with pytest.raises(ValueError, match="cannot have"):
        CATALOGUE["multi-vma"].setup("6.18", 5, 3)


def test_run_seed_w_free_slots_3_on_5_0_is_a_partial_false_positive() -> None:
    """Semantics §7.1, row s = 3, column 5.0: PARTIAL(fp), map_count 65529 (failing check: move_vma_limit)."""
    o = S.get("seed-W").run("5.0", free_slots=3)
    assert_cell(o, "5.0", T.SEED_W[3]["5.0"])
    assert (o.kind, o.fp, o.errno, o.check) == ("PARTIAL_FAIL", True, errno.ENOMEM, "move_vma_limit")
    assert (o.mc_before, o.max_map_count) == (MAX - 3, MAX)


def test_apply_changes_the_address_space() -> None:
    sc = CATALOGUE["munmap-punch"]
    mm = sc.setup("6.18", 100, 5)
    sc.apply(mm)
    assert mm.map_count == 96


# ---- semantics §7 tables ------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "name, table",
    [("seed-W", T.SEED_W), ("seed-S", T.SEED_S), ("k-whole-1", T.K1), ("k-whole-3", T.K3)],
    ids=["7.1-seed-W", "7.2-seed-S", "7.3-k1", "7.3-k3"],
)
def test_7_tables(runner: Runner, name: str, table: dict[int, dict[str, str]]) -> None:
    """Every cell of the §7.1-§7.3 tables on the catalogue's scenario: class, fp, map_count after
    (as the tables print them), and the failing check, errno and fp the cell names."""
    for k in KERNELS:
        want = T.by_free_slots(table, k)
        outs = {s: runner.run(name, k, s, MAX) for s in want}
        assert [short(o) for o in outs.values()] == [T.cell(c).short for c in want.values()], f"{name} on {k}"
        for s, o in outs.items():
            assert_cell(o, k, want[s])


def test_seed_w_failing_checks_match_7_1(runner: Runner) -> None:
    """The §7.1 table's check annotations: dest / tail / move for 5.0, early for 5.1, R3 for ideal at s = 2."""
    where = {s: runner.run("seed-W", "5.0", s, MAX) for s in (0, 1, 2)}
    assert (where[0].check, where[0].where) == ("munmap_punch_limit", "unmap_destination")
    assert (where[1].check, where[1].where) == ("munmap_punch_limit", "unmap_tail")
    assert where[2].check == "move_vma_limit"
    assert runner.run("seed-W", "5.1", 4, MAX).check == "mremap_early"
    assert runner.run("seed-W", "5.1-alt", 4, MAX).check == "alt_early"
    assert runner.run("seed-W", "ideal", 2, MAX).check == "ideal_commit"
    # "For s = 3-5, ideal_ok is true" for 5.1's clean rejections
    assert all(runner.run("seed-W", "5.1", s, MAX).ideal_ok for s in (3, 4, 5))
    assert runner.run("seed-S", "ideal", 1, MAX).where == "unmap_source"


def test_7_4_mprotect(runner: Runner) -> None:
    """The §7.4 table (semantics_tables.MPROTECT) on the catalogue's mprotect-3way / mprotect-2way."""
    for k in KERNELS:
        for s in sorted(T.MPROTECT):
            three, two = T.mprotect_cells(k, s)
            assert short(runner.run("mprotect-3way", k, s, MAX)) == T.cell(three).short, (k, s)
            assert short(runner.run("mprotect-2way", k, s, MAX)) == T.cell(two).short, (k, s)
    # the partial state at s = 1: [X, X+2P) rw and [X+2P, X+10P) rw, the second split failed; X is the
    # catalogue's 10-page RW private anon VMA at the arena base (upper piece pgoff + 2, §2.1)
    _, _, after = runner.before_after("mprotect-3way", "6.18", 1, MAX)
    assert_layout(after, [L(0, 2, "rw-p", pg(0), None, True), L(2, 10, "rw-p", pg(2), None, True)], map_count=MAX)


def test_7_5_multi_vma(runner: Runner) -> None:
    """The §7.5 table (semantics_tables.MULTI, every profile) on the catalogue's multi-vma."""
    got = {k: {s: runner.run("multi-vma", k, s, MAX) for s in range(3, 8)} for k in KERNELS}
    for k in KERNELS:
        for s, text in T.by_free_slots(T.MULTI, k).items():
            assert short(got[k][s]) == T.cell(text).short, (k, s)
            assert_cell(got[k][s], k, text)
    assert got["6.18"][6].check == "move_vma_limit"
    for s in (3, 4, 5):
        assert got["5.0"][s].kind == "PARTIAL_FAIL" and got["5.0"][s].errno == errno.EFAULT
        assert got["5.1"][s].kind == "CLEAN_FAIL" and got["5.1"][s].errno == errno.ENOMEM
    # 5.1-alt: the §7.5 table says "CLEAN ENOMEM" for s = 3-5, but §3.5.8's rule gives pred = +1 here (the
    # destination is interior to D, no tail), so alt_early rejects only s <= 4; at s = 5 the call goes on,
    # punches D and fails with EFAULT like 5.1 at s = 6. The model follows §3.5.8.
    assert all(got["5.1-alt"][s].kind == "CLEAN_FAIL" and got["5.1-alt"][s].check == "alt_early" for s in (3, 4))
    assert got["5.1-alt"][5].kind == "PARTIAL_FAIL" and got["5.1-alt"][5].errno == errno.EFAULT
    assert short(got["5.0"][6]) == "P 65525" and short(got["5.0"][7]) == "P 65524"
    assert all(got["ideal"][s].kind == "CLEAN_FAIL" and got["ideal"][s].errno == errno.EFAULT for s in range(3, 8))
    # 7.1 at s = 4: A and B moved, C's destination punched (semantics §7.5). The catalogue's layout: A, B, C
    # 1-page RW at pages 0, 2, 4, D = [8, 28) R; the call moves [0, 5) to page 13. Moved pieces are unfaulted
    # (pgoff reset to their new address, §2.5); D's pieces get pgoff + offset (§2.1).
    _, _, after = runner.before_after("multi-vma", "7.1", 4, MAX)
    assert_layout(after, [
        L(4, 5, "rw-p", pg(4), None, True),  # C still at 4
        L(8, 13, "r--p", pg(8), None, False),
        L(13, 14, "rw-p", pg(13), None, True),  # A
        L(14, 15, "r--p", pg(14), None, False),
        L(15, 16, "rw-p", pg(15), None, True),  # B
        L(16, 17, "r--p", pg(16), None, False),
        L(18, 28, "r--p", pg(18), None, False),  # [17, 18) punched for C
    ], map_count=65529)  # the §7.5 cell: PARTIAL(fp) 65529


# ---- semantics §4 rows ------------------------------------------------------------------------------

#: catalogue entry -> the §4 row (semantics_tables.S4) it is an instance of; checked at 0 free slots..6.
SECTION_4 = {
    "fixed-whole-free": "fixed-whole-free",  # FIXED, whole VMA into free space
    "relocate-whole": "reloc-whole",  # MAYMOVE relocation, source is a whole VMA
    "relocate-interior": "reloc-interior",  # MAYMOVE relocation, source interior
    "duplicate-shared": "dup-maymove",  # old_len 0 duplicate, MAYMOVE
    "dontunmap": "dontunmap-free",  # DONTUNMAP into free space: EINVAL before 5.7 and in ideal (5.0's features)
    "shrink-punch": "shrink-punch",  # shrink in place, tail is a punch
    "grow-in-place": "noop-grow-trim",
    "shrink-trim": "noop-grow-trim",
    "munmap-punch": "punch",
    "mmap-fixed-interior": "punch",
    "munmap-whole": "no-split",
    "mmap-new": "mmap-new",
}
_S4_SHORT = {"OK": "OK", "FALSE_POSITIVE": "FP", "CLEAN_FAIL": "C", "EINVAL": "C"}


@pytest.mark.parametrize("name", list(SECTION_4))
def test_section_4_rows(runner: Runner, name: str) -> None:
    for k in KERNELS:
        want = " ".join(_S4_SHORT[c] for c in T.s4(SECTION_4[name], k, range(7)).values())
        got = " ".join(SHORT[runner.run(name, k, s, MAX).kind] for s in range(7))
        assert got == want, f"{name} on {k}"


def test_einval_of_dontunmap_before_5_7(runner: Runner) -> None:
    o = runner.run("dontunmap", "5.0", 10, MAX)
    assert o.errno == errno.EINVAL and o.check.startswith("validate.")


def test_mmap_is_lenient_at_the_limit() -> None:
    """§3.1: mmap maps at mc == max (ending at max + 1) and fails only when mc > max."""
    sc = CATALOGUE["mmap-new"]
    assert sc.run("6.18", 0, 300).mc_after == 301
    o = sc.run("6.18", -1, 300)
    assert (o.kind, o.check) == ("CLEAN_FAIL", "mmap_limit")


def test_grow_merge_differs_between_5_x_and_6_18(runner: Runner) -> None:
    """§2.4: grow in place merges with the next VMA in 6.1 (vma_merge(), both VMAs unfaulted here) and
    6.18/7.1, never in 5.0/5.1."""
    assert runner.run("grow-merge", "5.0", 8, MAX).mc_after == 65522
    assert runner.run("grow-merge", "5.1", 8, MAX).mc_after == 65522
    assert runner.run("grow-merge", "6.1", 8, MAX).mc_after == 65521
    assert runner.run("grow-merge", "6.18", 8, MAX).mc_after == 65521


# ---- random scenarios --------------------------------------------------------------------------------


def test_random_scenarios_are_deterministic() -> None:
    a, b = S.random_scenarios(25, seed=3), S.random_scenarios(25, seed=3)
    assert [(s.name, s.args, s.setup_ops, s.description) for s in a] == [
        (s.name, s.args, s.setup_ops, s.description) for s in b]
    c = S.random_scenarios(25, seed=4)
    assert [s.args for s in a] != [s.args for s in c]
    assert S.random_scenarios(0) == []
    with pytest.raises(ValueError):
        S.random_scenarios(-1)
    assert a[0].name == "random-3-0" and all(s.family == "random" and s.op == "mremap" for s in a)


def test_random_scenarios_cover_the_call_kinds_and_classify() -> None:
    rs = S.random_scenarios(120, seed=11)
    flags = {s.op_kwargs["flags"] for s in rs}
    assert {0, 1, 3, 5, 7} <= flags  # in place, MAYMOVE, FIXED, DONTUNMAP, DONTUNMAP|FIXED
    assert any(s.op_kwargs["new_size"] < s.op_kwargs["old_size"] for s in rs)
    assert any(s.op_kwargs["new_size"] > s.op_kwargs["old_size"] for s in rs)
    for s in rs[:40]:
        for k in KERNELS:
            o = s.run(k, 2, max_map_count=64)
            assert o.kind in ("OK", "FALSE_POSITIVE", "CLEAN_FAIL", "PARTIAL_FAIL")
            # the model's state is valid after the setup, after classify (which leaves it as it was)
            # and after the call really ran
            mm = s.setup(k, 64, 2)
            mm.check_invariants()
            state = mm.state()
            assert classify(mm, s.op, *s.args).kind == o.kind
            assert mm.state() == state
            mm.check_invariants()
            try:
                s.apply(mm)
            except mmsim.MMError as e:
                assert e.errno == o.errno
            mm.check_invariants()
            assert mm.map_count == o.mc_after


# ---- hand-made scenarios, hashing, live ops ------------------------------------------------------------


def test_scenario_from_ops_errors() -> None:
    with pytest.raises(ValueError, match="unknown operation"):
        S.scenario_from_ops("x", "d", "fixed", [], "brk", {})
    with pytest.raises(ValueError, match="missing"):
        S.scenario_from_ops("x", "d", "fixed", [], "munmap", {"addr": 0})
    with pytest.raises(ValueError, match="setup fails"):
        S.scenario_from_ops("x", "d", "fixed", [("munmap", {"addr": 1, "length": P})], "munmap",
                            {"addr": 0, "length": P})


def test_hand_made_scenario_without_ops() -> None:
    def build(kernel: str, max_map_count: int) -> AddressSpace:
        mm = AddressSpace(kernel, max_map_count)
        mm.mmap(BASE, 4 * P, 3, 0x32)
        mm.trace.clear()
        return mm

    sc = Scenario("mine", "my own", "munmap", build, "munmap", (BASE + P, P))
    assert sc.run("6.18", 0, 100).kind == "CLEAN_FAIL"
    assert sc.run("6.18", 1, 100).kind == "OK"
    assert sc.ranges() == (None, None)
    assert Runner().run(sc, "5.0", 1, 500).kind == "OK"
    with pytest.raises(ValueError):
        sc.live_ops()
    assert len({sc, sc}) == 1


def test_scenarios_are_hashable_and_comparable() -> None:
    assert len(set(CATALOGUE.values())) == len(CATALOGUE)
    assert S.k_whole(2) == S.k_whole(2)


def test_live_ops_are_relative_to_the_arena() -> None:
    sc = CATALOGUE["seed-W"]
    ops = sc.live_ops()
    assert ops[0] == ("munmap", {"addr": 0, "length": sc.arena_pages * P})
    assert ops[-1] == ("mremap", {"old_address": 2 * P, "old_size": 6 * P, "new_size": 3 * P, "flags": 3,
                                  "new_address": 14 * P})
    assert [name for name, _ in ops[1:-1]] == ["mmap", "mmap"]
    for _, kw in ops:
        for key in ("addr", "old_address", "new_address"):
            if kw.get(key) is not None:
                assert 0 <= kw[key] < sc.arena_pages * P
    reloc = CATALOGUE["relocate-whole"].live_ops()
    assert reloc[-1][1]["new_address"] is None  # no hint: the kernel places it


@pytest.mark.live
@pytest.mark.parametrize("name, free_slots", [("seed-W", 3), ("multi-vma", 6), ("mprotect-3way", 1)])
def test_live_matches_the_model(name: str, free_slots: int, host) -> None:
    """Replay on this machine's kernel (mmsim.live) and compare with the profile that models it, op by op."""
    sc = CATALOGUE[name]
    ops = sc.live_ops()
    cmp = host.compare(ops, arena_pages=sc.arena_pages, free_slots_before={len(ops) - 1: free_slots}, timeout=120)
    assert cmp.all_match, str(cmp)


def test_classify_does_not_change_a_built_scenario() -> None:
    sc = CATALOGUE["seed-W"]
    mm = sc.setup("5.0", 200, 3)
    state = mm.state()
    classify(mm, sc.op, *sc.args)
    assert mm.state() == state and mm.map_count == 197
