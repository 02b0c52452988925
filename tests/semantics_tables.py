"""The semantics tables the tests check against, each transcribed once (semantics §0, §3.6, §4, §6, §7).

Every test that compares with one of these tables reads it from here; nothing in this module runs
the model. Cells are written as the semantics print them (``"PARTIAL(fp) 65529 move"``); where a
§7 cell names no check, the failing check is derived from the rules and written in brackets
(``"CLEAN 65528 [early]"``; the derivation is in the reading test's docstring).

The semantics print §4 and §7.1-§7.5 in the column order :data:`PRINTED` = ("5.0", "5.1", "6.18", "7.1",
"5.1-alt", "ideal"); §4 also has cells for 6.1 written here with their derivation. Every other profile's
column is **derived from the profile data, never copied**: each table (or row) names the *aspects* its
outcome depends on (:data:`S7_ASPECTS`: the mremap flow, the checks and where they sit, transactional
commits, multi-VMA moves), and a profile's cell is the cell of the printed profile that has the same
aspects (:func:`column`; semantics §7.6, last paragraph, says exactly this of 6.1). A profile whose
aspects no printed profile has gets no cell: :func:`column` names what to add. Lookups take profile names
or :class:`mmsim.Profile` objects, so a profile made at run time is looked up like a named one.

Which profile has which behaviour (the groups below) is read from the profiles' features; the expected
*outcomes* are written here and in the tests. :data:`FEATURE_ROWS` writes down which profiles the
semantics (§3.6, Appendix A) give each feature, and a test checks the profiles against it, so a
profile whose features disagree with the semantics cannot silently pick the wrong expectations.
"""

from __future__ import annotations

import errno as E
import re
from typing import NamedTuple

from mmsim import KERNELS, PROFILES, Profile
from mmsim.checks import HOOKS
from mmsim.profiles import get_profile

#: Every profile: each gets a column (printed, or derived by :func:`column`).
COLS = KERNELS

#: The column order of the semantics' §4 and §7.1-§7.5 tables (they have no 6.1 column).
PRINTED = ("5.0", "5.1", "6.18", "7.1", "5.1-alt", "ideal")

#: What a §7.1-§7.5 outcome depends on (semantics §7.6, last paragraph: "6.1 runs 5.1's flow with 5.1's
#: checks, and in every one of those layouts the early vma_lookup() finds the source and no merge depends on
#: the anon_vma rule, so each 6.1 cell equals the 5.1 cell").
S7_ASPECTS = ("validate_first", "multi_vma_move", "checks", "transactional")
#: What a §4 row depends on: the §7 aspects, and whether MREMAP_DONTUNMAP exists (its row).
S4_ASPECTS = (*S7_ASPECTS, "dontunmap")


def _aspect(p: Profile, name: str) -> object:
    if name == "checks":
        return tuple(sorted((hook, tuple(c.name for c in p.checks_at(hook))) for hook in p.checks if p.checks_at(hook)))
    if name == "transactional":
        return p.transactional
    return p.has(name)


def aspects(kernel: str | Profile, names: tuple[str, ...]) -> tuple:
    """A profile's behaviour in the named aspects (features, ``"checks"``, ``"transactional"``)."""
    p = get_profile(kernel)
    return tuple(_aspect(p, n) for n in names)


def column(kernel: str | Profile, names: tuple[str, ...], among: tuple[str, ...] = PRINTED) -> str:
    """The profile of ``among`` whose aspects ``names`` equal ``kernel``'s: the column whose cells are
    ``kernel``'s (itself when printed). LookupError naming the aspects when there is none."""
    name = kernel.name if isinstance(kernel, Profile) else kernel
    if name in among and (isinstance(kernel, str) or kernel is PROFILES.get(name)):
        return name
    want = aspects(kernel, names)
    for k in among:
        if aspects(k, names) == want:
            return k
    raise LookupError(f"profile {name!r} differs from every printed column in {names}: "
                      f"{dict(zip(names, want, strict=True))}; its cells must be added to the table")


def _row(cells: tuple[str, ...], six_one: str | None = None) -> dict[str, str]:
    """A printed row (in :data:`PRINTED` order) keyed by profile, plus a 6.1 cell where the semantics give
    one with its own derivation (§4); other profiles are looked up with :func:`column`."""
    row = dict(zip(PRINTED, cells, strict=True))
    if six_one is not None:
        row["6.1"] = six_one
    return row


class _ByProfile(dict):
    """A table row keyed by profile whose missing profiles are looked up by their aspects (:func:`column`)."""

    def __init__(self, row: dict[str, str], names: tuple[str, ...]) -> None:
        super().__init__(row)
        self.aspect_names = names

    def __missing__(self, kernel: str | Profile) -> str:
        if isinstance(kernel, Profile) and kernel.name in self and kernel is PROFILES.get(kernel.name):
            return dict.__getitem__(self, kernel.name)
        return dict.__getitem__(self, column(kernel, self.aspect_names, tuple(dict.keys(self))))

    def __contains__(self, kernel: object) -> bool:
        return dict.__contains__(self, kernel) or isinstance(kernel, (str, Profile))


# ---- profiles (semantics §0, §2.3, §2.7, §3.5, §3.6, Appendix A) ----------------------------------


def having(feature: str) -> tuple[str, ...]:
    """The profiles with ``feature`` (mmsim.profiles.FEATURES), in KERNELS order."""
    return tuple(k for k in KERNELS if PROFILES[k].has(feature))


def lacking(feature: str) -> tuple[str, ...]:
    """The profiles without ``feature``, in KERNELS order."""
    return tuple(k for k in KERNELS if not PROFILES[k].has(feature))


#: Which profiles the semantics give each feature, written down from the §3.6 rows (and Appendix A
#: for munmap_gather, which §3.6 does not list: "6.12"; 6.1.176 subtracts the removed VMAs before
#: mmap_region() inserts the new one). ideal has 5.0's features (§3.5.9), 5.1-alt 5.1's (§0).
FEATURE_ROWS = {
    # "early map check": none on 5.0; FIXED on 5.1 (5.1-alt: 5.1's flow, §0); FIXED or DONTUNMAP on 5.10,
    # 6.1, 6.12 and 6.18; 7.1 keeps the release's features and adds its own checks (map_count_v7)
    "early_map_count_check": ("5.1", "5.10", "6.1", "6.12", "6.18", "7.1", "5.1-alt"),
    # "DONTUNMAP": EINVAL on 5.0, 5.1/5.1-alt; yes from 5.7 (5.10, 6.1, 6.12, 6.18, 7.1)
    "dontunmap": ("5.10", "6.1", "6.12", "6.18", "7.1"),
    # "DONTUNMAP's old VMA: VM_ACCOUNT leaks to the next VMA" until 5.10; removed in 5.11
    "dontunmap_no_account_conceal": ("6.1", "6.12", "6.18", "7.1"),
    # "DONTUNMAP's old VMA keeps its anon_vma" until 5.11; unlinked from 5.12
    "dontunmap_unlink_anon": ("6.1", "6.12", "6.18", "7.1"),
    # "any VMA type from 5.13"; §3.5.1 (6.1): vma_to_resize() refuses only DONTEXPAND/PFNMAP
    "dontunmap_any_vma": ("6.1", "6.12", "6.18", "7.1"),
    # "no-op/shrink at an unmapped addr": EFAULT from 5.16 (6.1, 6.12, 6.18, 7.1)
    "early_vma_lookup": ("6.1", "6.12", "6.18", "7.1"),
    # "grow in place merges with next": from 6.1
    "merge_on_grow": ("6.1", "6.12", "6.18", "7.1"),
    # "a new mapping between two neighbours": next first on 6.1 (and 6.2-6.11), vma_merge_new_range from 6.12
    "mmap_merge_next_first": ("6.1", "6.12", "6.18", "7.1"),
    "mmap_merge_new_range": ("6.12", "6.18", "7.1"),
    # Appendix A: 6.12
    "munmap_gather": ("6.12", "6.18", "7.1"),
    # "mprotect drops VM_ACCOUNT on unfaulted anon going read-only": from 6.7
    "mprotect_unaccount": ("6.12", "6.18", "7.1"),
    # "DONTUNMAP's unfaulted old VMA gets its start as pgoff" and "DONTUNMAP never self-merges": 6.12.112 and
    # 6.12.114 backports; not in 6.18.44 (measured) nor in the 7.1 source read
    "dontunmap_pgoff_reset": ("6.12",),
    "dontunmap_no_self_merge": ("6.12",),
    # "early map check ... before the lock from 6.15" (check_mremap_params()): 6.18 (and 7.1's release)
    "early_check_before_lock": ("6.18", "7.1"),
    # "a faulted range merges into an unfaulted neighbour (§2.3 rule 5)": 6.18, 7.1
    "anon_merge_unfaulted_target": ("6.18", "7.1"),
    # "validation (crossing, old_len 0, grow checks)": before any unmap on 6.18, 7.1
    "validate_first": ("6.18", "7.1"),
    # "multi-VMA / trailing-gap FIXED move": piecewise on 6.18, 7.1
    "multi_vma_move": ("6.18", "7.1"),
    # "early map check: every call: s >= 4" and "move check: s >= 2 per VMA": 7.1
    "map_count_v7": ("7.1",),
}

#: Validation and lookups before any unmap (the 6.17+ flow, semantics §3.5.2; feature validate_first).
MODERN = having("validate_first")
#: Profiles that run the flow of semantics §3.5.1 ("5.0 / 5.1 / 5.1-alt (and 6.1, with the additions
#: below)"): a FIXED move unmaps the destination (and tail) before vma_to_resize() validates; ideal
#: runs it transactionally.
V5_FLOW = lacking("validate_first")
#: The non-transactional §3.5.1 flow: a validation error after the destination unmap is PARTIAL (§5 row 2).
V5 = tuple(k for k in V5_FLOW if not PROFILES[k].transactional)
#: MREMAP_DONTUNMAP accepted (5.7; semantics §3.6).
DONTUNMAP = having("dontunmap")
#: DONTUNMAP is not a flag: EINVAL from the flags check (5.0, 5.1, 5.1-alt, ideal).
NO_DONTUNMAP = lacking("dontunmap")
#: The VMA at ``addr`` is looked up before anything else, for every call (5.16; semantics §3.5.1 6.1
#: additions, §3.5.2 step 4): no-op/shrink at an unmapped address and FIXED from one fail with EFAULT.
LOOKUP_FIRST = having("early_vma_lookup")
#: Grow in place merges with the next VMA (6.1 vma_merge(), 6.18/7.1 vma_merge_extend(); §2.4).
GROW_MERGES = having("merge_on_grow")
#: Multi-VMA (and trailing-gap) FIXED moves (6.17; semantics §3.5.5).
MULTI_VMA = having("multi_vma_move")
#: munmap/MAP_FIXED gather first and detach at completion (6.12; the trace shows gather/complete).
GATHER = having("munmap_gather")
#: Profiles with 9b9143298585 (v6.7): mprotect to read-only unaccounts an unfaulted private anon
#: VMA (semantics §2.7).
UNACCOUNT = frozenset(having("mprotect_unaccount"))
#: The pre-6.16 anon_vma rule (semantics §2.3 rule 5): a faulted range cannot join an unfaulted
#: neighbour (5.0, 5.1, 6.1 and the hypothetical profiles built on 5.0).
ANON_PRE_6_16 = lacking("anon_merge_unfaulted_target")

# The anticipatory checks of each profile, read from mmsim's check registry (semantics §6 "A-checks
# by profile"): the §7 token "early"/"alt" is the check at the profile's early hook (every hook but
# move_vma), "move" the check at move_vma.


def _one_check(kernel: str | Profile, hooks) -> str | None:
    names = [c.name for h in hooks for c in get_profile(kernel).checks_at(h)]
    assert len(names) <= 1, f"{kernel}: more than one check at {hooks}: {names}"
    return names[0] if names else None


class _CheckOf(dict):
    """{profile: the check at its early hooks (or at move_vma)}, computed for any profile on first use."""

    def __init__(self, hooks: list[str]) -> None:
        super().__init__()
        self.hooks = hooks

    def __missing__(self, kernel: str | Profile) -> str | None:
        self[kernel] = value = _one_check(kernel, self.hooks)
        return value


#: Semantics §7 shorthand "early" (or "alt") -> the check name, per profile.
EARLY = _CheckOf([h for h in HOOKS if h != "move_vma"])
#: Semantics §7 shorthand "move" -> the check name, per profile.
MOVE = _CheckOf(["move_vma"])
PUNCH_WHERE = {"dest": "unmap_destination", "tail": "unmap_tail", "src": "unmap_source"}

#: The other §7 cell tokens -> the failing check they name.
CHECK_TOKENS = {"R3": "ideal_commit", "crosses": "validate.crosses_vma_end"}


# ---- §7 cells ------------------------------------------------------------------------------------

_KINDS = {"OK": "OK", "CLEAN": "CLEAN_FAIL", "PARTIAL": "PARTIAL_FAIL", "PARTIAL(fp)": "PARTIAL_FAIL",
          "FP": "FALSE_POSITIVE"}
_SHORT = {"OK": "OK", "CLEAN": "C", "PARTIAL": "P", "PARTIAL(fp)": "P(fp)", "FP": "FP"}


class Cell(NamedTuple):
    """A parsed §7 cell: Outcome kind, map_count after, check token (or None), errno written in the
    cell (or None: the table's default, ENOMEM), and fp."""

    kind: str
    mc_after: int
    token: str | None
    errno: int | None
    fp: bool
    short: str  # the class and count as mmsim.scenarios' tables print them, e.g. "P(fp) 65529"


def cell(text: str) -> Cell:
    """Parse a §7 cell: ``KIND [ERRNO] MC [TOKEN]``, e.g. ``"PARTIAL(fp) 65529 move"``,
    ``"CLEAN 65528 [early]"`` or ``"PARTIAL EFAULT 65528 [crosses]"``. A token in brackets is not
    printed in the semantics cell but derived from the rules."""
    parts = text.split()
    head = parts.pop(0)
    kind = _KINDS[head]
    errno = None
    if parts and not parts[0].isdigit():
        errno = getattr(E, parts.pop(0))
    mc = int(parts.pop(0))
    token = parts.pop(0).strip("[]") if parts else None
    assert not parts, text
    fp = head in ("FP", "PARTIAL(fp)")
    return Cell(kind, mc, token, errno, fp, f"{_SHORT[head]} {mc}")


def by_free_slots(table: dict[int, dict[str, str]], kernel: str | Profile) -> dict[int, str]:
    """One profile's column of a §7 table: {free slots: cell} (derived for a profile the table does not print)."""
    return {s: row[kernel] for s, row in table.items()}


def _s7(rows: dict[int, tuple[str, ...]]) -> dict[int, dict[str, str]]:
    """A §7.1-§7.5 table as printed (PRINTED order) -> {free slots: {profile: cell}}; every other profile's cell
    is the printed cell of the profile with the same :data:`S7_ASPECTS` (for 6.1: 5.1's, as §7.6 says)."""
    return {s: _ByProfile(_row(r), S7_ASPECTS) for s, r in rows.items()}


# ---- §7.1 Seed-W: mremap(O+2P, 6P, 3P, MAYMOVE|FIXED, D+2P) ------------------------------------------

SEED_W = _s7({  # semantics §7.1 table; bracketed tokens derived (see test_mremap_examples.test_seed_w_table)
    0: ("CLEAN 65530 dest", "CLEAN 65530 early", "CLEAN 65530 early", "CLEAN 65530 early",
        "CLEAN 65530 alt", "CLEAN 65530 dest"),
    1: ("PARTIAL 65530 tail", "CLEAN 65529 early", "CLEAN 65529 early", "CLEAN 65529 early",
        "CLEAN 65529 alt", "CLEAN 65529 tail"),
    2: ("PARTIAL 65530 move", "CLEAN 65528 [early]", "CLEAN 65528 [early]", "CLEAN 65528 [early]",
        "CLEAN 65528 [alt]", "CLEAN 65528 R3"),
    3: ("PARTIAL(fp) 65529 move", "CLEAN 65527 [early]", "CLEAN 65527 [early]", "CLEAN 65527 [early]",
        "CLEAN 65527 [alt]", "OK 65530"),
    4: ("PARTIAL(fp) 65528 move", "CLEAN 65526 [early]", "CLEAN 65526 [early]", "OK 65529",
        "CLEAN 65526 [alt]", "OK 65529"),
    5: ("PARTIAL(fp) 65527 move", "CLEAN 65525 [early]", "CLEAN 65525 [early]", "OK 65528",
        "CLEAN 65525 [alt]", "OK 65528"),
    6: ("OK 65527",) * 6,
    7: ("OK 65526",) * 6,
    8: ("OK 65525",) * 6,
})

# ---- §7.2 Seed-S: mremap(O+2P, 6P, 6P, MAYMOVE|FIXED, D+2P) ------------------------------------------

SEED_S = _s7({  # semantics §7.2 table ("6-8: OK 65527/6/5 | OK ..." expanded)
    0: ("CLEAN 65530 dest", "CLEAN 65530 [early]", "CLEAN 65530 [early]", "CLEAN 65530 [early]",
        "CLEAN 65530 [alt]", "CLEAN 65530 dest"),
    1: ("PARTIAL 65530 move", "CLEAN 65529 [early]", "CLEAN 65529 [early]", "CLEAN 65529 [early]",
        "CLEAN 65529 [alt]", "CLEAN 65529 src"),
    2: ("PARTIAL 65529 move", "CLEAN 65528 [early]", "CLEAN 65528 [early]", "CLEAN 65528 [early]",
        "CLEAN 65528 [alt]", "CLEAN 65528 src"),
    3: ("PARTIAL(fp) 65528 move", "CLEAN 65527 [early]", "CLEAN 65527 [early]", "FP 65527 [early]",
        "CLEAN 65527 [alt]", "OK 65530"),
    4: ("PARTIAL(fp) 65527 move", "CLEAN 65526 [early]", "CLEAN 65526 [early]", "OK 65529",
        "CLEAN 65526 [alt]", "OK 65529"),
    5: ("OK 65528", "FP 65525 [early]", "FP 65525 [early]", "OK 65528", "OK 65528", "OK 65528"),
    6: ("OK 65527",) * 6,
    7: ("OK 65526",) * 6,
    8: ("OK 65525",) * 6,
})

# ---- §7.3 the destination covers k whole VMAs: mremap(S, kP, kP, MAYMOVE|FIXED, d) ------------------


def _k_table(rows: dict[int, tuple[str, str, str, str, str]]) -> dict[int, dict[str, str]]:
    """Expand a §7.3 row (5.0, 5.1 = 6.18, 7.1, 5.1-alt, ideal) to every profile (6.1 = 5.1, §7.6)."""
    return _s7({s: (r[0], r[1], r[1], r[2], r[3], r[4]) for s, r in rows.items()})


K1 = _k_table({  # semantics §7.3, k = 1
    0: ("PARTIAL(fp) 65529 [move]", "CLEAN 65530 [early]", "CLEAN 65530 [early]", "CLEAN 65530 [alt]", "OK 65529"),
    1: ("PARTIAL(fp) 65528 [move]", "CLEAN 65529 [early]", "FP 65529 [early]", "CLEAN 65529 [alt]", "OK 65528"),
    2: ("PARTIAL(fp) 65527 [move]", "CLEAN 65528 [early]", "FP 65528 [early]", "CLEAN 65528 [alt]", "OK 65527"),
    3: ("OK 65526", "FP 65527 [early]", "FP 65527 [early]", "OK 65526", "OK 65526"),
    4: ("OK 65525", "FP 65526 [early]", "OK 65525", "OK 65525", "OK 65525"),
    5: ("OK 65524", "FP 65525 [early]", "OK 65524", "OK 65524", "OK 65524"),
    6: ("OK 65523", "OK 65523", "OK 65523", "OK 65523", "OK 65523"),
})

K3 = _k_table({  # semantics §7.3, k = 3; the "1-3" and "4-5" rows expanded per free slots
    0: ("PARTIAL(fp) 65527 [move]", "CLEAN 65530 [early]", "FP 65530 [early]", "CLEAN 65530 [alt]", "OK 65527"),
    1: ("OK 65526", "FP 65529 [early]", "FP 65529 [early]", "OK 65526", "OK 65526"),
    2: ("OK 65525", "FP 65528 [early]", "FP 65528 [early]", "OK 65525", "OK 65525"),
    3: ("OK 65524", "FP 65527 [early]", "FP 65527 [early]", "OK 65524", "OK 65524"),
    4: ("OK 65523", "FP 65526 [early]", "OK 65523", "OK 65523", "OK 65523"),
    5: ("OK 65522", "FP 65525 [early]", "OK 65522", "OK 65522", "OK 65522"),
    6: ("OK 65521", "OK 65521", "OK 65521", "OK 65521", "OK 65521"),
})

# ---- §7.4 mprotect partial split: X = 10-page RW VMA with non-mergeable neighbours -----------------

#: free slots -> (3-way mprotect(X+2P, P, R) on 5.0-7.1 and 5.1-alt, the same on ideal, 2-way mprotect(X, P, R)).
#: The "5.0-7.1" column covers 6.1 (a release in that range; §7.6's last paragraph; and linux-6.1.md §4,
#: measured on 6.1.176: the 3-way split at s = 1 is ENOMEM, +1).
MPROTECT = {
    0: ("CLEAN 65530", "CLEAN 65530", "CLEAN 65530"),
    1: ("PARTIAL 65530", "CLEAN 65529", "OK 65530"),
    2: ("OK 65530", "OK 65530", "OK 65529"),
    3: ("OK 65529", "OK 65529", "OK 65528"),
}


def mprotect_cells(kernel: str | Profile, s: int) -> tuple[str, str]:
    """(3-way cell, 2-way cell) of §7.4 for ``kernel`` at free slots ``s``: the "ideal" column for a transactional
    profile, the "5.0-7.1" column for every other."""
    three, three_ideal, two = MPROTECT[s]
    return (three_ideal if get_profile(kernel).transactional else three), two


# ---- §7.5 multi-VMA partial move: mremap(a, 5P, 5P, MAYMOVE|FIXED, D+5P) over A, B, C -----------------

# The semantics' "5.0 / 5.1 / 5.1-alt" column split per profile and written with the counts it
# implies ("mc+1 (D punched)": the destination [D+5P, D+10P) is an interior punch, then vma_to_resize
# finds [a, a+5P) crossing A's end). 5.1-alt at s = 5 is a known deviation: the §7.5 cell says
# "CLEAN ENOMEM", but §3.5.8's own rule gives pred = +1 there (the destination is an interior punch
# of D and there is no tail), and 65525 + 1 >= 65527 is false, so alt lets the call through; it then
# fails with EFAULT after the destination punch like 5.1 at s = 6. The cell follows §3.5.8.
# 6.1 = 5.1 (§7.6; linux-6.1.md §7 (c), measured: ENOMEM s <= 5, EFAULT +1 s >= 6).
MULTI = _s7({
    3: ("PARTIAL EFAULT 65528 [crosses]", "CLEAN 65527 [early]", "CLEAN 65527 [early]",
        "CLEAN 65527 [early]", "CLEAN 65527 [alt]", "CLEAN EFAULT 65527 [crosses]"),
    4: ("PARTIAL EFAULT 65527 [crosses]", "CLEAN 65526 [early]", "CLEAN 65526 [early]",
        "PARTIAL(fp) 65529 [move]", "CLEAN 65526 [alt]", "CLEAN EFAULT 65526 [crosses]"),
    5: ("PARTIAL EFAULT 65526 [crosses]", "CLEAN 65525 [early]", "CLEAN 65525 [early]",
        "OK 65528", "PARTIAL EFAULT 65526 [crosses]", "CLEAN EFAULT 65525 [crosses]"),
    6: ("PARTIAL EFAULT 65525 [crosses]", "PARTIAL EFAULT 65525 [crosses]", "PARTIAL(fp) 65527 [move]",
        "OK 65527", "PARTIAL EFAULT 65525 [crosses]", "CLEAN EFAULT 65524 [crosses]"),
    7: ("PARTIAL EFAULT 65524 [crosses]", "PARTIAL EFAULT 65524 [crosses]", "OK 65526",
        "OK 65526", "PARTIAL EFAULT 65524 [crosses]", "CLEAN EFAULT 65523 [crosses]"),
})


# ---- §7.6 merge facts ------------------------------------------------------------------------------

#: Semantics §7.6, cells as printed in its columns (6.18/7.1, 6.1, 5.0/5.1); "same" expanded to the
#: cell on its left, "same as 6.1" likewise. The profiles whose columns these are:
S7_6_PRINTED = ("6.18", "6.1", "5.0")
MERGE_FACTS = {
    "unfaulted-move-after-x": ("merges with x (pgoff reset)",) * 3,
    "faulted-move-after-x": ("stays separate",) * 3,
    "half-moved-away-and-back": ("merges again (same anon_vma, pgoff fits)",) * 3,
    "grow-unfaulted-to-y": ("one VMA", "one VMA", "two VMAs, not merged"),
    "grow-faulted-to-unfaulted-y": ("one VMA", "two VMAs (§2.3 rule 5)", "two VMAs (no merge at all)"),
    "mprotect-faulted-tail-to-unfaulted-y": ("the tail joins y", "no merge: one more VMA", "no merge: one more VMA"),
    "shared-anon-mmaps": ("never merge",) * 3,
    "mmap-after-faulted": ("merges",) * 3,
    "page-rw-and-back": ("back to 1 VMA", "3 VMAs (the middle keeps VM_ACCOUNT)", "3 VMAs"),
    "page-rw-written-and-back": ("3 `r--p` VMAs", "3", "3"),
}
#: What each §7.6 row depends on: the features its setup exercises (the others are the same everywhere).
MERGE_FACT_ASPECTS = {
    "unfaulted-move-after-x": (),
    "faulted-move-after-x": (),
    "half-moved-away-and-back": (),
    "grow-unfaulted-to-y": ("merge_on_grow",),
    "grow-faulted-to-unfaulted-y": ("merge_on_grow", "anon_merge_unfaulted_target"),
    "mprotect-faulted-tail-to-unfaulted-y": ("anon_merge_unfaulted_target",),
    "shared-anon-mmaps": (),
    "mmap-after-faulted": (),
    "page-rw-and-back": ("mprotect_unaccount",),
    "page-rw-written-and-back": (),
}


def merge_fact(row: str, kernel: str | Profile) -> str:
    """The §7.6 cell of ``row`` for ``kernel``: the printed column whose profile has the same row aspects."""
    col = column(kernel, MERGE_FACT_ASPECTS[row], S7_6_PRINTED)
    return MERGE_FACTS[row][S7_6_PRINTED.index(col)]


# ---- §4 "free slots needed" ------------------------------------------------------------------------

#: Semantics §4 table cells, keyed by profile ("same" / "same as 5.0" expanded). Rows by a short
#: name; the row's text in the semantics is the comment above it. Two cells are written in the
#: grammar of :func:`parse_s4` rather than as printed (noted on the row). The §4 table has no 6.1
#: column: each row's 6.1 cell is derived in its comment from §3.5.1 (6.1 additions), §3.6 and
#: linux-6.1.md (source 6.1.176, measured under user-mode Linux). In short: 6.1 has 5.1's mmap/munmap/
#: mprotect checks, 5.1's move check (s >= 4, once), 5.1's early check (s >= 6) for FIXED *and*
#: DONTUNMAP, and no check for no-op/grow/shrink.
S4 = {
    # "mmap, new VMA (merging or not)"; printed "0 (C at s=-1)". 6.1: do_mmap()'s mc > max (REPORT §2.1
    # step 7; measured: a new VMA in free space succeeds at s = 0 and fails at s = -1).
    "mmap-new": _row(("0; C",) * 6, "0; C"),
    # "MAP_FIXED into the interior of a VMA; munmap hole punch; mprotect 2-way split". 6.1: the punch
    # check mc >= max (REPORT §2.2 step 3, §3; measured (j) and "munmap hole punch") and split_vma()'s
    # mc >= max (REPORT §4 step 5).
    "punch": _row(("1; C",) * 6, "1; C"),
    # "munmap trim/whole/multi; mprotect pure merge; touch". 6.1: no check on these paths (REPORT §3
    # step 5, §4 step 4).
    "no-split": _row(("any",) * 6, "any"),
    # "mprotect 3-way split"; printed "2; P at 1" (below it, s <= 0, the first split fails: C). 6.1:
    # the first split is not undone (REPORT §4 step 5; measured: s = 1 ENOMEM +1, s = 0 ENOMEM 0).
    "mprotect-3way": _row(("2; P 1, C",) * 5 + ("2; C",), "2; P 1, C"),
    # "mremap no-op; grow in place; shrink whose tail is a trim". 6.1: the early check runs only in
    # mremap_to() (FIXED or DONTUNMAP) and move_vma's only on a move; vma_lookup, vma_merge() of a grow
    # and a trim check nothing (REPORT §1.1 steps 8, 11, 12; §1.5).
    "noop-grow-trim": _row(("any", "any", "any", "4; FP 0-3", "any", "any"), "any"),
    # "shrink in place, tail is a punch". 6.1: do_mas_munmap()'s punch check (REPORT §1.1 step 11).
    "shrink-punch": _row(("1; C", "1; C", "1; C", "4; FP 1-3, C 0", "1; C", "1; C"), "1; C"),
    # "MAYMOVE relocation, source interior". 6.1: no early check (not FIXED/DONTUNMAP), move check
    # mc >= max - 3 (REPORT §1.4 step 1), then copy +1 and the source punch as 5.1: 5.1's cell
    # (measured "MAYMOVE relocation": ENOMEM s <= 3, OK s >= 4).
    "reloc-interior": _row(("4; FP 2-3, C 0-1",) * 3 + ("4; FP 2-3, C 0-1", "4; FP 2-3, C 0-1", "2; C"),
                           "4; FP 2-3, C 0-1"),
    # "... source is a head/tail trim". 6.1: as the row above, 5.1's cell.
    "reloc-trim": _row(("4; FP 1-3, C 0",) * 3 + ("4; FP 2-3, C 0-1", "4; FP 1-3, C 0", "1; C"), "4; FP 1-3, C 0"),
    # "... source is a whole VMA". 6.1: 5.1's cell.
    "reloc-whole": _row(("4; FP 0-3",) * 3 + ("4; FP 2-3, C 0-1", "4; FP 0-3", "0"), "4; FP 0-3"),
    # "FIXED, whole VMA into free space". 6.1: the early check mc + 2 >= max - 3 in mremap_to (REPORT
    # §1.2 step 4), then 5.1's path: 5.1's cell (measured: ENOMEM s <= 5, OK s >= 6).
    "fixed-whole-free": _row(("4; FP 0-3", "6; FP 4-5, C 0-3", "6; FP 4-5, C 0-3", "4; FP 2-3, C 0-1", "4; C",
                              "0"), "6; FP 4-5, C 0-3"),
    # "DONTUNMAP into free space (net +1)". 6.1 accepts DONTUNMAP (REPORT §1.1 step 2) and its early
    # check covers DONTUNMAP (§1.2 step 4: s >= 6); then the move check (s >= 4) and copy +1 with the
    # old VMA kept: with the early check disabled the call succeeds within the limits from s = 4 (FP at
    # 4-5) and fails the move check below (C at 0-3) -- the same arithmetic as 6.18's cell (measured
    # "DONTUNMAP whole VMA (hint)": ENOMEM s <= 5, OK +1 s >= 6).
    "dontunmap-free": _row(("EINVAL", "EINVAL", "6; FP 4-5, C 0-3", "4; FP 2-3, C 0-1", "EINVAL", "EINVAL"),
                           "6; FP 4-5, C 0-3"),
    # "old_len 0 duplicate, MAYMOVE". 6.1: not FIXED, so only the move check (s >= 4) and copy +1, the
    # zero-length source unmap swallowed (REPORT §1.4 step 8): 5.1's cell (measured: ENOMEM s <= 3, OK
    # +1 s >= 4).
    "dup-maymove": _row(("4; FP 1-3, C 0",) * 3 + ("4; FP 2-3, C 0-1", "4; FP 1-3, C 0", "1; C"),
                        "4; FP 1-3, C 0"),
}

_S4_KINDS = {"FP": "FALSE_POSITIVE", "C": "CLEAN_FAIL", "P": "PARTIAL_FAIL"}


def parse_s4(text: str, free_slots) -> dict[int, str]:
    """A §4 cell -> {free slots: OK | FALSE_POSITIVE | CLEAN_FAIL | PARTIAL_FAIL | EINVAL}.

    ``"4; FP 2-3, C 0-1"`` means success from 4 free slots, FALSE_POSITIVE at 2-3, CLEAN_FAIL at
    0-1. A class without a range (``"1; C"``) covers every free slots below the minimum that no ranged
    class names; "any" means no limit check applies; "EINVAL" fails at every free slots.
    """
    if text in ("any", "EINVAL"):
        return {s: ("OK" if text == "any" else "EINVAL") for s in free_slots}
    head, _, rest = text.partition(";")
    need = int(head)
    res = {s: "OK" for s in free_slots if s >= need}
    rest_kind = None
    for part in filter(None, (p.strip() for p in rest.split(","))):
        m = re.fullmatch(r"(FP|C|P)(?: (\d+)(?:-(\d+))?)?", part)
        assert m, part
        kind = _S4_KINDS[m.group(1)]
        if m.group(2) is None:
            rest_kind = kind
            continue
        lo, hi = int(m.group(2)), int(m.group(3) or m.group(2))
        for s in range(lo, hi + 1):
            if s in free_slots:
                res[s] = kind
    if rest_kind is not None:
        for s in free_slots:
            res.setdefault(s, rest_kind)
    missing = [s for s in free_slots if s not in res]
    assert not missing, f"cell {text!r} leaves free slots {missing} undefined"
    return {s: res[s] for s in free_slots}


def s4(row: str, kernel: str | Profile, free_slots) -> dict[int, str]:
    """The §4 cell of ``row`` for ``kernel``, parsed for ``free_slots`` (derived by :data:`S4_ASPECTS`)."""
    cells = S4[row]
    return parse_s4(cells[column(kernel, S4_ASPECTS, tuple(cells))], free_slots)


def s4_onto_k(kernel: str | Profile, k: int, s: int) -> str:
    """Semantics §4 row "FIXED, whole VMA onto k >= 1 whole VMAs" (a closed form in k):
    5.0 max(0,4-k), P(fp) below; 5.1 = 6.18: 6, FP from max(0,4-k), C below; 7.1: 4, FP from
    max(0,2-k), C below; 5.1-alt: max(0,4-k), C below; ideal: 0.

    6.1 (no column in §4): 5.1's cell. It runs 5.1's flow and checks (§3.5.1): the early vma_lookup
    finds the source, the early check fails at s <= 5 before anything is unmapped, and above it the
    destination (-k), copy (+1) and source (-1) steps are 5.1's (linux-6.1.md §1.2, §1.4). Any other profile
    takes the form of the printed profile (or 6.1) with the same §4 aspects (:data:`S4_ASPECTS`)."""
    kernel = column(kernel, S4_ASPECTS, (*PRINTED, "6.1"))
    if kernel == "5.0":
        return "OK" if s >= max(0, 4 - k) else "PARTIAL(fp)"
    if kernel in ("5.1", "6.1", "6.18"):
        return "OK" if s >= 6 else ("FP" if s >= max(0, 4 - k) else "CLEAN")
    if kernel == "7.1":
        return "OK" if s >= 4 else ("FP" if s >= max(0, 2 - k) else "CLEAN")
    if kernel == "5.1-alt":
        return "OK" if s >= max(0, 4 - k) else "CLEAN"
    assert kernel == "ideal", f"§4's closed form has no case for profile {kernel!r}"
    return "OK"
