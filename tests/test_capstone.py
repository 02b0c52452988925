"""The capstone (notebook 09) and its library support: sweep_profiles over derived profiles, tradeoff_table,
plot_tradeoff, punches_hole, own_profile and the three capstone checks."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

os.environ.setdefault("MPLBACKEND", "Agg")

import pytest  # noqa: E402

from mmsim import PAGE_SIZE, PROFILES, AddressSpace  # noqa: E402
from mmsim.checks import ANTICIPATORY, Check  # noqa: E402
from mmsim.exercises import capstone as C  # noqa: E402
from mmsim.experiments import punches_hole, sweep, sweep_profiles, tradeoff_table  # noqa: E402
from mmsim.plots import plot_tradeoff  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "09-capstone.ipynb"
P = PAGE_SIZE


def like_51(ctx):
    return ctx.map_count + 2 >= ctx.max_map_count - 3, "like 5.1"


def test_5_0_plus_the_early_check_is_5_1_on_every_scenario() -> None:
    """The fix is 5.0's flow plus one check at mremap_to (semantics §3.5.1 F3a): a derived profile gives 5.1's
    rows in the whole catalogue, threshold check or predicate alike."""
    cols = ["scenario", "free_slots", "outcome", "errno", "check", "mc_after", "fp", "ideal_ok"]
    ref = sweep(None, "5.1", free_slots=range(-1, 11), progress=False)[cols].fillna("")
    by_name = PROFILES["5.0"].derive("5.0+early", checks={"mremap_to": ["mremap_early"],
                                                          "move_vma": ["move_vma_limit"]})
    got = sweep_profiles(by_name, None, free_slots=range(-1, 11))[cols].fillna("")
    assert got.equals(ref)
    pred = sweep_profiles(C.own_profile(like_51, "pred"), None, free_slots=range(-1, 11))[cols].fillna("")
    pred["check"] = pred["check"].replace("pred_early", "mremap_early")
    assert pred.equals(ref)


def test_sweep_profiles_of_kernel_names_equals_sweep() -> None:
    a = sweep(["seed-W", "k-whole-2", "multi-vma"], ["5.0", "7.1", "ideal"], free_slots=range(0, 9), progress=False)
    b = sweep_profiles(["5.0", "7.1", "ideal"], ["seed-W", "k-whole-2", "multi-vma"], free_slots=range(0, 9))
    assert sorted(map(tuple, a.fillna("").values.tolist())) == sorted(map(tuple, b.fillna("").values.tolist()))


def test_sweep_profiles_refuses_bad_input() -> None:
    with pytest.raises(ValueError, match="two profiles are named"):
        sweep_profiles(["5.1", PROFILES["5.1"]], ["seed-W"], free_slots=[3])
    with pytest.raises(ValueError, match="unknown kernel profile"):
        sweep_profiles(["4.19"], ["seed-W"], free_slots=[3])
    with pytest.raises(ValueError, match="free slots must be >= -1"):
        sweep_profiles(["5.1"], ["seed-W"], free_slots=[-2])


def test_a_predicate_is_not_assumed_monotone() -> None:
    """A check of one's own may refuse only at some counts: outcomes are not reused across free-slot counts for it."""
    odd = C.own_profile(lambda ctx: (ctx.free_slots == 8, "refuse at exactly 8"), "odd")
    df = sweep_profiles(odd, ["fixed-whole-free"], free_slots=range(6, 11))
    assert df.set_index("free_slots")["outcome"].to_dict() == {6: "OK", 7: "OK", 8: "FALSE_POSITIVE", 9: "OK", 10: "OK"}


def test_punches_hole_follows_the_unmap_shapes() -> None:
    """semantics §2.2: only a range strictly inside one VMA adds a VMA (a hole punch)."""
    mm = AddressSpace("5.0")
    a = mm.mmap(0, 10 * P, 1, 0x22)
    b = mm.mmap(a + 12 * P, 4 * P, 1, 0x32)  # MAP_FIXED next to it, a gap between
    assert punches_hole(mm, a + P, 8 * P)           # interior
    assert not punches_hole(mm, a, 3 * P)           # head trim
    assert not punches_hole(mm, a + 7 * P, 3 * P)   # tail trim
    assert not punches_hole(mm, a, 10 * P)          # whole VMA
    assert not punches_hole(mm, a + 9 * P, 5 * P)   # across a gap into b
    assert not punches_hole(mm, a + 10 * P, P)      # in the gap
    assert not punches_hole(mm, b + P, 0)           # empty
    assert punches_hole(mm, b + P, 2 * P)


def test_tradeoff_table_from_the_worked_examples() -> None:
    """semantics §7.1/§7.2, free-slot counts 0-8: 5.0 fails half-way on seed-W at 1-5 and seed-S at 1-4 (9 of 18 cases);
    5.1 never does, and refuses needlessly once (seed-S at 5); ideal does neither."""
    df = sweep(["seed-W", "seed-S"], ["5.0", "5.1", "ideal"], free_slots=range(0, 9), progress=False)
    t = tradeoff_table(df)
    assert list(t.index) == ["5.0", "5.1", "ideal"] and t["cases"].tolist() == [18, 18, 18]
    assert t.loc["5.0", "partial_failure_rate"] == pytest.approx(9 / 18)
    assert (t.loc["5.1", "partial_failure_rate"], t.loc["5.1", "false_positive_rate"]) == (0, pytest.approx(1 / 18))
    assert t.loc["ideal"].tolist()[:2] == [0, 0]
    with pytest.raises(ValueError, match="no rows for kernel"):
        tradeoff_table(df, ["7.1"])


def test_the_tradeoff_plot() -> None:
    df = sweep(["seed-W", "seed-S"], ["5.0", "5.1", "ideal"], free_slots=range(0, 9), progress=False)
    mine = sweep_profiles(C.own_profile(like_51, "mine"), ["seed-W", "seed-S"], free_slots=range(0, 9))
    import pandas as pd

    fig = plot_tradeoff(pd.concat([df, mine], ignore_index=True))
    ax = fig.axes[0]
    assert "PARTIAL_FAIL (%)" in ax.get_xlabel() and "FALSE_POSITIVE (%)" in ax.get_ylabel()
    labels = sorted(t.get_text() for t in ax.texts)
    assert labels == ["5.0", "5.1 = mine", "ideal"]  # mine sits exactly on 5.1: one label for both
    star = [c for c in ax.collections if c.get_offsets().shape[0] == 1 and c.get_sizes()[0] > 100]
    assert len(star) == 1 and tuple(star[0].get_offsets()[0]) == (0.0, 0.0)
    assert ax.xaxis.get_major_formatter()(5.0, 0) == "5 %"
    assert plot_tradeoff(tradeoff_table(df)).axes[0].get_xlabel() == ax.get_xlabel()  # the table works too
    with pytest.raises(ValueError):
        plot_tradeoff(df.iloc[0:0])


def test_own_profile() -> None:
    p = C.own_profile(like_51, "x")
    assert [c.name for c in p.checks_at("mremap_to")] == ["x_early"] and p.has("multi_vma_move") is False
    assert [c.name for c in p.checks_at("move_vma")] == ["move_vma_limit"]
    q = C.own_profile(like_51, "y", hook="move_vma")
    assert [c.name for c in q.checks_at("move_vma")] == ["y_early", "move_vma_limit"] and not q.checks_at("mremap_to")
    assert C.own_profile(p) is p
    with pytest.raises(ValueError, match="unknown hook"):
        C.own_profile(like_51, hook="nowhere")


def test_what_a_check_sees() -> None:
    ctx = C.what_a_check_sees("seed-W", 3)
    assert (ctx.free_slots, ctx.max_map_count) == (3, 65530)
    assert punches_hole(ctx.mm, ctx.args.new_addr, ctx.args.new_len)
    with pytest.raises(ValueError, match="not an mremap"):
        C.what_a_check_sees("munmap-punch", 3)
    with pytest.raises(ValueError, match="never reaches mremap_to"):
        C.what_a_check_sees("grow-in-place", 3)


# ---- the three checks ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("predicate, reason", [
    (lambda ctx: (ctx.map_count + 2 > ctx.max_map_count - 3, ""), "off_by_one_lenient"),
    (lambda ctx: (ctx.map_count + 2 >= ctx.max_map_count - 4, ""), "off_by_one_strict"),
    (lambda ctx: (False, ""), "never_fails"),
    (lambda ctx: (ctx.free_slots < 9, ""), "too_strict"),
    (lambda ctx: (ctx.free_slots < 3, ""), "too_lenient"),
    (lambda ctx: ctx.free_slots < 6, "predicate_error"),
    (lambda ctx: 1 / 0, "predicate_error"),
    (42, "bad_shape"),
    (None, "no_answer"),
])
def test_reproduces_51_hints(predicate, reason) -> None:
    fb = C.check_reproduces_51(predicate)
    assert not fb and fb.reason == reason, fb


def test_reproduces_51_accepts_the_fix_in_any_form() -> None:
    assert C.check_reproduces_51(like_51)
    assert C.check_reproduces_51(lambda ctx: (ctx.free_slots < 6, "free < 6"))
    assert C.check_reproduces_51(Check("c", ANTICIPATORY, "", "", None, "", predicate=like_51))
    assert C.check_reproduces_51(C.own_profile(like_51, "p"))
    assert C.check_reproduces_51(Check("t", ANTICIPATORY, "", "{mc} + 2 >= {max} - 3", 6, ""))


def _holes(ctx):
    a = ctx.args
    n = int(punches_hole(ctx.mm, a.new_addr, a.new_len))
    if a.old_len > a.new_len:
        n += punches_hole(ctx.mm, a.addr + a.new_len, a.old_len - a.new_len)
    return n


@pytest.mark.parametrize("answer, reason", [
    (lambda ctx: (ctx.free_slots < 4 + _holes(ctx), ""), "right"),                 # the solution's idea
    (lambda ctx: (ctx.free_slots < 4 + _holes(ctx) - 1, ""), "partial_state"),     # one hole too few
    (lambda ctx: (ctx.free_slots < 4, ""), "partial_state"),                        # move_vma's need only
    (like_51, "not_better"),                                                        # 5.1 itself
    (lambda ctx: (ctx.free_slots < 8, ""), "not_better"),                           # stricter than 5.1
    (PROFILES["5.0"].derive("nomove", checks={"mremap_to": [Check("n", ANTICIPATORY, "", "", None, "",
                                              predicate=like_51)]}), "dropped_move_check"),
    (C.own_profile(like_51, "late", hook="move_vma"), "wrong_hook"),
    (PROFILES["5.0"], "no_check"),
    (lambda ctx: None, "predicate_error"),
])
def test_own_check_judges_safety_then_gain(answer, reason) -> None:
    fb = C.check_own_check(answer)
    assert fb.reason == reason and bool(fb) == (reason == "right"), fb


def test_the_safe_counting_check_never_fails_half_way_on_the_map_count() -> None:
    """The argument of solution 09-ex2, checked: counting one VMA per hole punch keeps move_vma's 4 free slots
    (semantics §2.2: no other unmap shape adds a VMA), on the capstone sweep and on more random layouts."""
    from mmsim.scenarios import random_scenarios

    mine = C.own_profile(lambda ctx: (ctx.free_slots < 4 + _holes(ctx), ""), "mine")
    df = sweep_profiles(mine, C.capstone_scenarios() + random_scenarios(150, seed=7), free_slots=range(0, 11))
    assert not ((df["outcome"] == "PARTIAL_FAIL") & (df["errno"] == "ENOMEM")).any()


def test_frontier_and_its_check() -> None:
    import pandas as pd

    t = pd.DataFrame({"partial_failure_rate": [0.5, 0.0, 0.1, 0.1, 0.0],
                      "false_positive_rate": [0.0, 0.3, 0.1, 0.2, 0.0]}, index=["a", "b", "c", "d", "ideal"])
    assert C.frontier(t) == {"a", "b", "c"}
    assert C.frontier(t, exclude=()) == {"ideal"}
    mine = C.own_profile(lambda ctx: (ctx.free_slots < 4 + _holes(ctx), ""), "mine")
    one_flow = tuple(k for k in C.CAPSTONE_KERNELS if k != "ideal")
    table = tradeoff_table(C.capstone_sweep(mine, kernels=one_flow))
    want = C.frontier(table)
    assert C.check_frontier(set(want), mine)
    assert C.check_frontier(set(want) | {"ideal"}, mine).reason == "ideal"
    assert C.check_frontier(set(want) | {"5.0"}, mine).reason == "dominated"
    assert C.check_frontier({"4.19"}, mine).reason == "unknown_name"
    assert C.check_frontier(set(C.frontier(tradeoff_table(C.capstone_sweep(kernels=one_flow)))))


# ---- the notebook --------------------------------------------------------------------------------------------


def _cells() -> list[dict]:
    return json.loads(NOTEBOOK.read_text(encoding="utf-8"))["cells"]


def test_the_notebook_is_thin_and_uses_the_library() -> None:
    code = "\n".join("".join(c["source"]) for c in _cells() if c["cell_type"] == "code")
    for name in ("own_profile", "derive(", "Check(", "predicate=", '"mremap_to"', "capstone_sweep", "tradeoff_table",
                 "plot_tradeoff", "check_reproduces_51", "check_own_check", "check_frontier"):
        assert name in code, name
    assert max(_logic_lines("".join(c["source"])) for c in _cells()
               if c["cell_type"] == "code") <= 16, "a code cell is more than a few lines: put the logic in mmsim"


def _logic_lines(src: str) -> int:
    """Non-blank lines, a parenthesized import counted as one (ruff's isort writes one name per line)."""
    import ast

    n = len([ln for ln in src.splitlines() if ln.strip()])
    try:
        tree = ast.parse(src)
    except SyntaxError:  # IPython magics
        return n
    return n - sum((node.end_lineno or node.lineno) - node.lineno for node in ast.walk(tree)
                   if isinstance(node, ast.ImportFrom))


def test_the_notebook_prose_has_no_numbers_of_its_own_and_real_links() -> None:
    """Numbers in prose would go stale: the counts and rates are printed by cells. Links are the repository's
    own pages or links that docs/resources.md lists."""
    resources = (ROOT / "docs" / "resources.md").read_text()
    for cell in _cells():
        if cell["cell_type"] != "markdown":
            continue
        text = "".join(cell["source"])
        prose = re.sub(r"`[^`]*`|\([^)]*\)|<[^>]*>|§[\d.]+|\b\d\d-|0[0-9]\b", "", text)
        assert not re.search(r"\b\d+(\.\d+)? ?%", prose), text[:80]
        for url in re.findall(r"https?://[^\s)>]+", text):
            assert url in resources or url.startswith("https://man7.org/"), url
        for rel in re.findall(r"\]\((\.\./[^)#]+)", text):
            assert (NOTEBOOK.parent / rel).resolve().is_file(), rel


# ---- 7.1's thresholds on 5.0's flow (mmsim.profiles.VARIANTS) --------------------------------------------------


def test_the_capstone_compares_profiles_of_one_flow() -> None:
    """Every profile the capstone plots runs 5.0's mremap flow (no validate_first: semantics §3.5.1), the flow a
    learner's check is plugged into; the real 6.18 and 7.1 run the 6.17+ flow (§3.5.2) and appear only in
    FLOW_GRID, where each threshold set is paired with both flows."""
    from mmsim.profiles import get_profile

    for name in C.CAPSTONE_KERNELS:
        assert not get_profile(name).has("validate_first"), name
    grid = {th: dict(row) for th, row in C.FLOW_GRID.items()}
    flows = {flow: {get_profile(k).has("validate_first") for k in (row[flow] for row in grid.values())}
             for flow in next(iter(grid.values()))}
    assert sorted(map(sorted, flows.values())) == [[False], [True]]
    # along a row, the same anticipatory checks' thresholds; along a column, the same flow
    for row in grid.values():
        a, b = (get_profile(k) for k in row.values())
        assert {c.expr for c in a.checks.get("move_vma", ())} == {c.expr for c in b.checks.get("move_vma", ())}


def test_7_1_on_5_0_is_5_0_with_7_1s_two_checks() -> None:
    """Built as data from 5.0 (derive), not a copied flow: 5.0's features, and 7.1's checks (do_mremap()@7.1:
    map_count + 4 <= max for every call; prep_move_vma()@7.1: map_count + 2 <= max)."""
    from mmsim.profiles import VARIANTS, get_profile

    p = get_profile("7.1-on-5.0")
    assert p is VARIANTS["7.1-on-5.0"] and p.hypothetical
    assert p.features == PROFILES["5.0"].features
    assert {h: [c.name for c in p.checks_at(h)] for h in ("do_mremap", "mremap_to", "move_vma")} == {
        "do_mremap": ["mremap_early_v7"], "mremap_to": [], "move_vma": ["move_vma_limit_v7"]}


@pytest.mark.parametrize("free, refused", [(3, True), (4, False)])
def test_7_1_on_5_0_refuses_every_mremap_below_four_free_slots(free: int, refused: bool) -> None:
    """7.1's check runs for every mremap (a shrink in place too), where the lock is taken: at 3 free slots a
    shrink that only trims the end of a VMA (no new VMA, semantics §2.2) is refused, at 4 it runs. 5.0 itself
    never refuses it."""
    from mmsim.errors import MMError

    for kernel, expect_refusal in (("7.1-on-5.0", refused), ("5.0", False)):
        mm = AddressSpace(kernel, max_map_count=100)
        a = mm.mmap(None, 4 * P, 3, 0x22)
        mm.fill_to(100 - free)
        try:
            mm.mremap(a, 4 * P, 2 * P)
            got = False
        except MMError as e:
            got = e.check == "mremap_early_v7"
        assert got is expect_refusal, (kernel, free)
