"""Adding a kernel is adding a row: a profile made at run time goes through the rule tables, the widgets and the
plots with no other change (issue "Adding a kernel is adding a row").

The synthetic row is 6.12's features without the two DONTUNMAP backports (i.e. 6.12.0-6.12.111, which no row
of PROFILES models): the semantics tables derive its cells from its aspects, the views and plots draw it.
"""

from __future__ import annotations

import pytest
import semantics_tables as T
from helpers import classify_pure
from mremap_builders import seed, whole_onto_k

import mmsim
from mmsim import MREMAP_FIXED, MREMAP_MAYMOVE, PAGE_SIZE, profiles
from mmsim import experiments as X
from mmsim import plots as PL
from mmsim import widgets as W

P = PAGE_SIZE
FIXED = MREMAP_MAYMOVE | MREMAP_FIXED


@pytest.fixture(scope="module")
def synthetic():
    features = profiles.PROFILES["6.12"].features - {"dontunmap_no_self_merge", "dontunmap_pgoff_reset"}
    p = profiles.Profile("6.12-early", "6.12", features, names=profiles.NAMES_V6_12, models_release=False,
                         description="6.12 before its 6.12.112 backports (a synthetic row)")
    mmsim.register_profile(p)
    yield p
    profiles.unregister_profile(p.name)


def test_its_semantics_columns_are_derived(synthetic) -> None:
    """§7.1's column is 5.1's (same flow, checks, no multi-VMA moves); §4's is 6.1's (plus DONTUNMAP)."""
    assert T.column(synthetic, T.S7_ASPECTS) == "5.1"
    assert T.column(synthetic, T.S4_ASPECTS, (*T.PRINTED, "6.1")) == "6.1"
    assert T.EARLY[synthetic] == "mremap_early" and T.MOVE[synthetic] == "move_vma_limit"


@pytest.mark.parametrize("s", range(0, 9))
def test_the_seed_w_table_holds_for_it(synthetic, s: int) -> None:
    mm, O_, D = seed(synthetic.name)
    mm.set_free_slots(s)
    out = classify_pure(mm, O_ + 2 * P, 6 * P, 3 * P, FIXED, D + 2 * P)
    cell = T.cell(T.by_free_slots(T.SEED_W, synthetic)[s])
    assert (out.kind, out.mc_after, out.fp) == (cell.kind, cell.mc_after, cell.fp)


@pytest.mark.parametrize("k", [1, 3])
def test_the_whole_onto_k_form_holds_for_it(synthetic, k: int) -> None:
    mm, S, d = whole_onto_k(synthetic.name, k)
    for s in range(0, 9):
        mm.set_free_slots(s)
        out = classify_pure(mm, S, k * P, k * P, FIXED, d)
        want = {"FP": "FALSE_POSITIVE", "CLEAN": "CLEAN_FAIL", "OK": "OK"}[T.s4_onto_k(synthetic, k, s)]
        assert out.kind == want, (k, s, str(out))


def test_sweeps_views_and_plots_take_it(synthetic) -> None:
    df = X.sweep(["seed-W", "seed-S"], kernels=[synthetic.name, "6.12"], free_slots=range(0, 9), progress=False)
    assert set(df["kernel"]) == {synthetic.name, "6.12"}
    mine, named = (df[df["kernel"] == k].reset_index(drop=True) for k in (synthetic.name, "6.12"))
    assert list(mine["outcome"]) == list(named["outcome"])  # the backports change no FIXED seed move
    fig = PL.plot_outcome_map(df)
    assert f"kernel {synthetic.name}" in [ax.get_title() for ax in fig.axes]
    view = W.trace_view("seed-W", [synthetic.name, "5.0"], 65530, map_count=65527)
    assert synthetic.name in view.svg and view.facts["outcomes"][synthetic.name].kind == "CLEAN_FAIL"
    assert "| `6.12-early` |" not in profiles.profile_table()  # registered profiles are the user's, not the docs'


def test_a_registered_name_cannot_shadow_a_row() -> None:
    with pytest.raises(ValueError, match="choose another"):
        mmsim.register_profile(profiles.PROFILES["5.0"].derive("5.1"))
    with pytest.raises(ValueError, match="choose another"):
        mmsim.register_profile(profiles.PROFILES["5.0"].derive("6.9"))
