"""What the exercise tests check every check of ``mmsim.exercises.EXERCISES`` against.

* ``EXPECTED``: the right answer from the semantics reference (docs/semantics.md), transcribed here, for each
  exercise whose answer a table or rule of it gives; the checks compute theirs with the model, the solution
  files compute theirs with code, and the tests require all three to agree. Exercises without such a table
  (rates and sets over the whole catalogue) are judged against their solution file only.
* ``WRONG``: typical wrong answers of each exercise and the hint (``Feedback.reason``) each must get.

Nothing here runs the model. An answer that depends on every profile of the course (00-ex1, 06-ex2) is derived
per profile (``mmsim.KERNELS``; :mod:`semantics_tables` derives a profile's §4 cell from its aspects), so a new
profile needs no edit here.
"""

from __future__ import annotations

import semantics_tables as T

from mmsim import KERNELS, PROFILES

#: 06-ex2: the fewest free slots at which ``k_whole(2)`` succeeds, from §4's closed form in k.
_K2_OK = {k: min(s for s in range(0, 11) if T.s4_onto_k(k, 2, s) == "OK") for k in KERNELS}

#: Right answers from the semantics reference, with the section they come from.
EXPECTED: dict[str, tuple[object, str]] = {
    "00-ex1": (len(KERNELS), "§0 profile table: one row per profile of the course, mmsim.KERNELS"),
    "00-ex2": (1, "§4: munmap hole punch needs 1; C below"),
    "01-ex1": (3, "§2.1/§3.3: a range inside one VMA is split off at both ends"),
    "01-ex2": (1, "§2.4: mprotect of the whole middle VMA merges with both sides (-2)"),
    "01-ex3": (3, "§7.6: R VMA, a page to RW and back, never written: 5.0/5.1 keep 3 VMAs"),
    "02-ex1": (2, "§4: mprotect 3-way split needs 2; P at 1"),
    "02-ex2": (11, "§3.1 step 3: mmap_limit fails only when mc > max, so max + 1 = 10 + 1"),
    "02-ex3": (2, "§7.4: 3-way at s = 1 leaves X as two rw VMAs"),
    "03-ex1": ((0, 1), "§3.5.3: grow in place 0; relocation +1 copy, source at the VMA's end is a trim (0)"),
    "03-ex2": (1, "§3.5.4 step 4: DONTUNMAP net +1, the old VMA never split"),
    "03-ex3": (3, "§7.2: destination punch +1, copy +1, source punch +1"),
    "04-ex1": ({1, 2, 3, 4}, "§7.2 (seed-S) 5.0 column: PARTIAL at s = 1-4, CLEAN at 0 (dest), OK from 5"),
    "04-ex2": (3, "§7.1 s = 1: the destination [D+2P, D+5P) is unmapped, the tail punch check fails"),
    "04-ex3": (6, "§4 'FIXED seed-W': 6 for 5.1"),
    "05-ex1": (4, "§3.5.4: 7.1's move check needs s >= 2; plus the two punches of §4"),
    "05-ex2": ({3, 4, 5}, "§7.1: 5.1 refuses s = 0-5, ideal completes s >= 3"),
    "05-ex3": ({5}, "§7.2: 5.1 FP at s = 5"),
    "06-ex2": (_K2_OK, "§4 'FIXED, whole VMA onto k whole VMAs', k = 2: max(0, 4-k), 6, 6 (6.1 = 5.1), 6, 4, "
                       "max(0, 4-k), 0; other profiles by their §4 aspects"),
    "07-ex1": ({1, 2, 3}, "§4 'shrink in place, tail is a punch': 7.1: 4; FP 1-3, C 0"),
    "07-ex2": ({"6.18": {6, 7}, "7.1": {4, 5}},
               "§7.5 with a fourth piece: the early check passes from 6 (6.18) / 4 (7.1) free slots; each moved piece "
               "adds one VMA (+1 punch, +1 copy, -1 source), so piece j's move check, after its own punch, sees "
               "s - j free slots and needs 4 (6.18) / 2 (7.1): it fails for s < 4 + j / s < 2 + j; with j up to 4: "
               "s = 6, 7 / 4, 5 (three pieces: 6 / 4, the §7.5 table)"),
    "08-ex1": ({5: "ENOMEM", 6: "OK"}, "§7.2 6.18 column: FP at 5 (ENOMEM), OK at 6"),
    "10-ex1": (277, "§2.1 and §3.1/§3.3: a stack is an mmap (+1, refused only when map_count > max) and a guard "
               "split (+1, refused when map_count >= max); from 445 VMAs, after t stacks map_count = 445 + 2t, and "
               "stack t + 1 needs 446 + 2t < 1000: t + 1 <= 277"),
    "10-ex2": (1, "§4 seed-W, 7.1: the call needs 4 free slots, its layout 2 more (its two VMAs, mmap'd first): "
               "6 <= 7; after it 7 - 2 - 3 = 2 free slots are left, fewer than 6"),
    "08-ex3": ({"5.0.21": "5.0", "5.1.15": "5.1", "5.4.0-150-generic": "5.1", "6.1.0-28-amd64": "6.1",
                "6.8.0-45-generic": None, "6.17.2": "6.18", "6.18.44-fc-v782": "6.18", "7.0.1": "6.18",
                "7.1.3": "7.1"}, "§0 profile table: the releases each profile models"),
}

_K2 = dict(EXPECTED["06-ex2"][0])  # type: ignore[call-overload]
_REL = dict(EXPECTED["08-ex3"][0])  # type: ignore[call-overload]

#: Typical wrong answers and the hint each gets (the Feedback's reason).
WRONG: dict[str, list[tuple[object, str]]] = {
    "10-ex1": [(555, "one_vma_each"), (278, "last_guard"), (100, "too_few")],
    "10-ex2": [(0, "thresholds_v7"), (2, "each_uses")],
    "00-ex1": [(sum(1 for k in KERNELS if PROFILES[k].releases), "only_real"), (len(KERNELS) - 1, "one_missing"),
               (3, "too_few"), (len(KERNELS) + 2, "too_many")],
    "00-ex2": [(0, "ge_not_gt"), (-1, "mmap_rule"), (2, "too_many")],
    "01-ex1": [(1, "no_split"), (2, "one_split"), (4, "per_page"), (5, "per_page")],
    "01-ex2": [(3, "no_merge"), (2, "half_merge"), (0, "too_few")],
    "01-ex3": [(1, "like_modern"), (2, "too_few"), (4, "too_many")],
    "02-ex1": [(1, "partial"), (0, "too_few"), (3, "too_many")],
    "02-ex2": [(10, "gt_vs_ge"), (12, "too_many"), (9, "too_few")],
    "02-ex3": [(1, "undone"), (3, "as_success")],
    "03-ex1": [((1, 0), "swapped"), ((0, 2), "trim_not_punch"), ((1, 1), "in_place"), ((0, 0), "must_move")],
    "03-ex2": [(3, "split_source"), (0, "nothing_new"), (2, "too_many")],
    "03-ex3": [(1, "copy_only"), (2, "one_punch"), (4, "too_many")],
    "04-ex1": [({0, 1, 2, 3, 4}, "zero_clean"), ({3, 4}, "only_fp"), ({2, 3, 4}, "tail_check"),
               ({1, 2, 3, 4, 5}, "seed_w"), ({1, 2, 3, 4, 5, 6}, "ok_from"), ({1, 2}, "missing")],
    "04-ex2": [(6, "tail_survived"), (0, "dest_unmapped"), (9, "too_many")],
    "04-ex3": [(5, "ge"), (4, "move_only"), (3, "ideal"), (8, "too_many")],
    "05-ex1": [(2, "forgot_unmaps"), (3, "threshold_vs_need"), (6, "same_as_51"), (5, "too_many")],
    "05-ex2": [({0, 1, 2, 3, 4, 5}, "every_refusal"), (set(), "fp_not_ideal_ok"), ({2, 3, 4, 5}, "too_low"),
               ({3, 4}, "missing")],
    "05-ex3": [({3, 4, 5}, "ideal_ok_not_fp"), ({0, 1, 2, 3, 4, 5}, "every_refusal"), ({4, 5}, "extra")],
    "06-ex2": [({**_K2, "5.0": 4}, "after_dest_unmap"), ({**_K2, "5.1": 4}, "early_ignores_k"),
               ({**_K2, "7.1": 6}, "v7_every_call"), ({**_K2, "ideal": 4}, "lowers")],
    "07-ex1": [({0, 1, 2, 3}, "punch_needs_one"), ({1, 2}, "gt"), (set(), "checks_every_call"),
               ({1, 2, 3, 4}, "passes_from")],
    "07-ex2": [({"6.18": {4, 5}, "7.1": {6, 7}}, "swapped"), ({"6.18": {5, 6, 7}, "7.1": {4, 5}}, "early_refuses"),
               ({"6.18": {6}, "7.1": {4}}, "three_pieces"), ({"6.18": {6, 7}, "7.1": {4, 5, 6}}, "extra")],
    "08-ex1": [({5: "FALSE_POSITIVE", 6: "OK"}, "class_not_errno"), ({5: "OK", 6: "OK"}, "early_refuses"),
               ({5: "ENOMEM", 6: "ENOMEM"}, "fits")],
    "08-ex3": [({**_REL, "6.8.0-45-generic": "6.1"}, "between"), ({**_REL, "7.0.1": "7.1"}, "range_617_70"),
               ({**_REL, "6.1.0-28-amd64": None}, "lts")],
}

#: Answers of the wrong shape, or no answer: every check rejects them without raising.
MALFORMED: list[object] = [None, ..., "nonsense", "", 3.5, True, {"x": 1}, [None], object(), float("nan")]


# Exercises whose answer a table would show: (scenario, kernel). No output before the exercise may show that
# scenario's outcome classes under that kernel (tests/test_exercise_reveals.py); None: the scenario at all.
REVEALS: dict[str, tuple[str, str | None]] = {
    "04-ex1": ("seed-S", "5.0"),      # the notebook demonstrates seed-W
    "05-ex2": ("seed-W", "ideal"),    # the 5.0/5.1 table of seed-W comes before; the ideal column after
    "05-ex3": ("seed-S", "5.1"),
    "06-ex2": ("k-whole-2", None),    # the family table sweeps k = 1, 3, 4
    "07-ex1": ("shrink-punch", "7.1"),
    "07-ex2": ("multi-vma-4", None),  # the notebook shows three pieces
}
