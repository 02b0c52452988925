"""docs/semantics.md carries two tables generated from mmsim.profiles (the profiles and the releases they model;
the features and the profiles that have them): they must be what the data says now, so that a new profile or
feature shows in the reference without a hand edit (``make docs-tables`` rewrites them)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mmsim import profiles

DOC = Path(__file__).resolve().parent.parent / "docs" / "semantics.md"


@pytest.mark.parametrize("name", sorted(profiles.DOC_TABLES))
def test_the_generated_table_is_current(name: str) -> None:
    text = DOC.read_text()
    assert profiles.doc_table_block(name) in text, f"docs/semantics.md's {name} table is stale: run make docs-tables"


def test_every_profile_and_feature_is_in_the_tables() -> None:
    text = DOC.read_text()
    for name in (*profiles.PROFILES, *profiles.PATCHED):
        assert f"| `{name}` |" in text, name
    for name in profiles.FEATURES:
        assert f"| `{name}` |" in text, name


def test_a_new_profile_appears_in_the_generated_tables(monkeypatch) -> None:
    """Adding a row is all it takes: the generated tables pick a profile added at run time up."""
    extra = profiles.Profile("6.12-test", "6.12", profiles.PROFILES["6.12"].features - {"dontunmap_no_self_merge"},
                             models_release=False, description="a synthetic row")
    monkeypatch.setattr(profiles, "PATCHED", {**profiles.PATCHED, extra.name: extra})
    assert "| `6.12-test` | a patched build |" in profiles.profile_table()
    row = next(r for r in profiles.feature_table().splitlines() if r.startswith("| `dontunmap_pgoff_reset` |"))
    assert "6.12-test" in row
