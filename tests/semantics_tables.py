"""The semantics tables the tests check against, each transcribed once (semantics §0, §4, §6, §7).

Every test that compares with one of these tables reads it from here; nothing in this module runs
the model. Cells are written as the semantics print them (``"PARTIAL(fp) 65529 move"``); where a
§7 cell names no check, the failing check is derived from the rules and written in brackets
(``"CLEAN 65528 [early]"``; the derivation is in the reading test's docstring). Column order
everywhere is :data:`mmsim.KERNELS` = ("5.0", "5.1", "6.18", "7.1", "5.1-alt", "ideal").
"""

from __future__ import annotations

import errno as E
import re
from typing import NamedTuple

from mmsim import KERNELS

COLS = KERNELS
assert COLS == ("5.0", "5.1", "6.18", "7.1", "5.1-alt", "ideal")

# ---- profiles (semantics §0, §2.7, §3.5, §3.6) ---------------------------------------------------

#: The 6.17+ flow (semantics §3.5.2): validation before unmaps, multi-VMA moves, DONTUNMAP,
#: grow in place merging with the next VMA (§2.4, §3.6).
MODERN = ("6.18", "7.1")
#: Profiles that run the v5.0/v5.1 flow (semantics §3.5.1); ideal runs it transactionally.
V5_FLOW = ("5.0", "5.1", "5.1-alt", "ideal")
#: The non-transactional v5.0/v5.1 flow.
V5 = ("5.0", "5.1", "5.1-alt")
#: Profiles with 9b9143298585 (v6.7): mprotect to read-only unaccounts an unfaulted private anon
#: VMA (semantics §2.7).
UNACCOUNT = frozenset({"6.18", "7.1"})

# to be read from mmsim's check registry
#: Semantics §7 shorthand -> the check name, per profile (semantics §6 "A-checks by profile").
EARLY = {"5.0": None, "5.1": "mremap_early", "6.18": "mremap_early", "7.1": "mremap_early_v7",
         "5.1-alt": "alt_early", "ideal": None}
MOVE = {"5.0": "move_vma_limit", "5.1": "move_vma_limit", "6.18": "move_vma_limit",
        "7.1": "move_vma_limit_v7", "5.1-alt": "move_vma_limit", "ideal": None}
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


def by_slack(table: dict[int, tuple[str, ...]], kernel: str) -> dict[int, str]:
    """One profile's column of a §7 table: {slack: cell}."""
    i = COLS.index(kernel)
    return {s: row[i] for s, row in table.items()}


# ---- §7.1 Seed-W: mremap(O+2P, 6P, 3P, MAYMOVE|FIXED, D+2P) ------------------------------------------

SEED_W = {  # semantics §7.1 table; bracketed tokens derived (see test_mremap_examples.test_seed_w_table)
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
}

# ---- §7.2 Seed-S: mremap(O+2P, 6P, 6P, MAYMOVE|FIXED, D+2P) ------------------------------------------

SEED_S = {  # semantics §7.2 table ("6-8: OK 65527/6/5 | OK ..." expanded)
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
}

# ---- §7.3 the destination covers k whole VMAs: mremap(S, kP, kP, MAYMOVE|FIXED, d) ------------------


def _k_table(rows: dict[int, tuple[str, str, str, str, str]]) -> dict[int, tuple[str, ...]]:
    """Expand a §7.3 row (5.0, 5.1 = 6.18, 7.1, 5.1-alt, ideal) to the six profiles."""
    return {s: (r[0], r[1], r[1], r[2], r[3], r[4]) for s, r in rows.items()}


K1 = _k_table({  # semantics §7.3, k = 1
    0: ("PARTIAL(fp) 65529 [move]", "CLEAN 65530 [early]", "CLEAN 65530 [early]", "CLEAN 65530 [alt]", "OK 65529"),
    1: ("PARTIAL(fp) 65528 [move]", "CLEAN 65529 [early]", "FP 65529 [early]", "CLEAN 65529 [alt]", "OK 65528"),
    2: ("PARTIAL(fp) 65527 [move]", "CLEAN 65528 [early]", "FP 65528 [early]", "CLEAN 65528 [alt]", "OK 65527"),
    3: ("OK 65526", "FP 65527 [early]", "FP 65527 [early]", "OK 65526", "OK 65526"),
    4: ("OK 65525", "FP 65526 [early]", "OK 65525", "OK 65525", "OK 65525"),
    5: ("OK 65524", "FP 65525 [early]", "OK 65524", "OK 65524", "OK 65524"),
    6: ("OK 65523", "OK 65523", "OK 65523", "OK 65523", "OK 65523"),
})

K3 = _k_table({  # semantics §7.3, k = 3; the "1-3" and "4-5" rows expanded per slack
    0: ("PARTIAL(fp) 65527 [move]", "CLEAN 65530 [early]", "FP 65530 [early]", "CLEAN 65530 [alt]", "OK 65527"),
    1: ("OK 65526", "FP 65529 [early]", "FP 65529 [early]", "OK 65526", "OK 65526"),
    2: ("OK 65525", "FP 65528 [early]", "FP 65528 [early]", "OK 65525", "OK 65525"),
    3: ("OK 65524", "FP 65527 [early]", "FP 65527 [early]", "OK 65524", "OK 65524"),
    4: ("OK 65523", "FP 65526 [early]", "OK 65523", "OK 65523", "OK 65523"),
    5: ("OK 65522", "FP 65525 [early]", "OK 65522", "OK 65522", "OK 65522"),
    6: ("OK 65521", "OK 65521", "OK 65521", "OK 65521", "OK 65521"),
})

# ---- §7.4 mprotect partial split: X = 10-page RW VMA with non-mergeable neighbours -----------------

#: slack -> (3-way mprotect(X+2P, P, R) on 5.0-7.1 and 5.1-alt, the same on ideal, 2-way mprotect(X, P, R))
MPROTECT = {
    0: ("CLEAN 65530", "CLEAN 65530", "CLEAN 65530"),
    1: ("PARTIAL 65530", "CLEAN 65529", "OK 65530"),
    2: ("OK 65530", "OK 65530", "OK 65529"),
    3: ("OK 65529", "OK 65529", "OK 65528"),
}


def mprotect_cells(kernel: str, s: int) -> tuple[str, str]:
    """(3-way cell, 2-way cell) of §7.4 for ``kernel`` at slack ``s``."""
    three, three_ideal, two = MPROTECT[s]
    return (three_ideal if kernel == "ideal" else three), two


# ---- §7.5 multi-VMA partial move: mremap(a, 5P, 5P, MAYMOVE|FIXED, D+5P) over A, B, C -----------------

# The semantics' "5.0 / 5.1 / 5.1-alt" column split per profile and written with the counts it
# implies ("mc+1 (D punched)": the destination [D+5P, D+10P) is an interior punch, then vma_to_resize
# finds [a, a+5P) crossing A's end). 5.1-alt at s = 5 is a known deviation: the §7.5 cell says
# "CLEAN ENOMEM", but §3.5.8's own rule gives pred = +1 there (the destination is an interior punch
# of D and there is no tail), and 65525 + 1 >= 65527 is false, so alt lets the call through; it then
# fails with EFAULT after the destination punch like 5.1 at s = 6. The cell follows §3.5.8.
MULTI = {
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
}


# ---- §4 "free slots needed" ------------------------------------------------------------------------

#: Semantics §4 table cells, in KERNELS order ("same" / "same as 5.0" expanded). Rows by a short
#: name; the row's text in the semantics is the comment above it. Two cells are written in the
#: grammar of :func:`parse_s4` rather than as printed (noted on the row).
S4 = {
    # "mmap, new VMA (merging or not)"; printed "0 (C at s=-1)"
    "mmap-new": ("0; C",) * 6,
    # "MAP_FIXED into the interior of a VMA; munmap hole punch; mprotect 2-way split"
    "punch": ("1; C",) * 6,
    # "munmap trim/whole/multi; mprotect pure merge; touch"
    "no-split": ("any",) * 6,
    # "mprotect 3-way split"; printed "2; P at 1" (below it, s <= 0, the first split fails: C)
    "mprotect-3way": ("2; P 1, C",) * 5 + ("2; C",),
    # "mremap no-op; grow in place; shrink whose tail is a trim"
    "noop-grow-trim": ("any", "any", "any", "4; FP 0-3", "any", "any"),
    # "shrink in place, tail is a punch"
    "shrink-punch": ("1; C", "1; C", "1; C", "4; FP 1-3, C 0", "1; C", "1; C"),
    # "MAYMOVE relocation, source interior"
    "reloc-interior": ("4; FP 2-3, C 0-1",) * 3 + ("4; FP 2-3, C 0-1", "4; FP 2-3, C 0-1", "2; C"),
    # "... source is a head/tail trim"
    "reloc-trim": ("4; FP 1-3, C 0",) * 3 + ("4; FP 2-3, C 0-1", "4; FP 1-3, C 0", "1; C"),
    # "... source is a whole VMA"
    "reloc-whole": ("4; FP 0-3",) * 3 + ("4; FP 2-3, C 0-1", "4; FP 0-3", "0"),
    # "FIXED, whole VMA into free space"
    "fixed-whole-free": ("4; FP 0-3", "6; FP 4-5, C 0-3", "6; FP 4-5, C 0-3", "4; FP 2-3, C 0-1", "4; C", "0"),
    # "DONTUNMAP into free space (net +1)"
    "dontunmap-free": ("EINVAL", "EINVAL", "6; FP 4-5, C 0-3", "4; FP 2-3, C 0-1", "EINVAL", "EINVAL"),
    # "old_len 0 duplicate, MAYMOVE"
    "dup-maymove": ("4; FP 1-3, C 0",) * 3 + ("4; FP 2-3, C 0-1", "4; FP 1-3, C 0", "1; C"),
}

_S4_KINDS = {"FP": "FALSE_POSITIVE", "C": "CLEAN_FAIL", "P": "PARTIAL_FAIL"}


def parse_s4(text: str, slacks) -> dict[int, str]:
    """A §4 cell -> {slack: OK | FALSE_POSITIVE | CLEAN_FAIL | PARTIAL_FAIL | EINVAL}.

    ``"4; FP 2-3, C 0-1"`` means success from 4 free slots, FALSE_POSITIVE at 2-3, CLEAN_FAIL at
    0-1. A class without a range (``"1; C"``) covers every slack below the minimum that no ranged
    class names; "any" means no limit check applies; "EINVAL" fails at every slack.
    """
    if text in ("any", "EINVAL"):
        return {s: ("OK" if text == "any" else "EINVAL") for s in slacks}
    head, _, rest = text.partition(";")
    need = int(head)
    res = {s: "OK" for s in slacks if s >= need}
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
            if s in slacks:
                res[s] = kind
    if rest_kind is not None:
        for s in slacks:
            res.setdefault(s, rest_kind)
    missing = [s for s in slacks if s not in res]
    assert not missing, f"cell {text!r} leaves slack {missing} undefined"
    return {s: res[s] for s in slacks}


def s4(row: str, kernel: str, slacks) -> dict[int, str]:
    """The §4 cell of ``row`` for ``kernel``, parsed for ``slacks``."""
    return parse_s4(S4[row][COLS.index(kernel)], slacks)


def s4_onto_k(kernel: str, k: int, s: int) -> str:
    """Semantics §4 row "FIXED, whole VMA onto k >= 1 whole VMAs" (a closed form in k):
    5.0 max(0,4-k), P(fp) below; 5.1 = 6.18: 6, FP from max(0,4-k), C below; 7.1: 4, FP from
    max(0,2-k), C below; 5.1-alt: max(0,4-k), C below; ideal: 0."""
    if kernel == "5.0":
        return "OK" if s >= max(0, 4 - k) else "PARTIAL(fp)"
    if kernel in ("5.1", "6.18"):
        return "OK" if s >= 6 else ("FP" if s >= max(0, 4 - k) else "CLEAN")
    if kernel == "7.1":
        return "OK" if s >= 4 else ("FP" if s >= max(0, 2 - k) else "CLEAN")
    if kernel == "5.1-alt":
        return "OK" if s >= max(0, 4 - k) else "CLEAN"
    return "OK"
