"""mmsim quiz: deterministic questions, and answers checked against expectations worked out here, independently
of the model, from the semantics reference:

* a small model of pages written in this file from docs/semantics.md §2.2 (the unmap shapes and the punch check),
  §3.1-§3.5 (the order of the checks of mprotect, munmap and every mremap flow), §3.5.4 (move_vma) and §6 (the
  classes, the reference run with the failing check disabled, rules R1-R3), for every generated quiz;
* rows of the §4 table ("free slots needed") for the quizzes whose call is one of its rows.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

os.environ.setdefault("MPLBACKEND", "Agg")

import pytest  # noqa: E402

from mmsim import MREMAP_FIXED, PAGE_SIZE, cli  # noqa: E402
from mmsim.quiz import ALIKE_EVERYWHERE, DEFAULT_KERNELS, FAMILIES, Quiz, generate  # noqa: E402

SEEDS = range(0, 240)
P = PAGE_SIZE


# ---- a model of pages, from the semantics reference --------------------------------------------------------


class Refused(Exception):
    """A check failed: its name, and the errno (ENOMEM for every map-count check)."""

    def __init__(self, check: str, errno: str = "ENOMEM") -> None:
        super().__init__(check)
        self.check = check
        self.errno = errno


@dataclass
class Run:
    ok: bool
    check: str | None
    vmas: list[tuple[int, int]]
    swallowed: bool = False
    e_check: bool = False  # an enforcing check fired (R1)
    errno: str = "ENOMEM"


def unmap(vmas: list[tuple[int, int]], a: int, b: int, mx: int) -> list[tuple[int, int]]:
    """§2.2: find the VMAs overlapping [a, b); a range strictly inside one VMA is a punch, refused when
    mc >= max; otherwise split the ends (unchecked) and remove what is inside. Never merges."""
    inside = [v for v in vmas if v[0] < b and a < v[1]]
    if not inside:
        return vmas
    if len(inside) == 1 and inside[0][0] < a and b < inside[0][1] and len(vmas) >= mx:
        raise Refused("munmap_punch_limit")
    out = [v for v in vmas if v not in inside]
    for s, e in inside:
        if s < a:
            out.append((s, a))
        if b < e:
            out.append((b, e))
    return sorted(out)


def mremap_fixed(kernel: str, vmas: list[tuple[int, int]], mx: int, addr: int, old: int, new: int, dest: int,
                 disabled: frozenset[str] = frozenset()) -> Run:
    """§3.5.1 (5.0, 5.1) and §3.5.2 (6.18, 7.1) for a valid single-VMA FIXED move, no merges (§3.5.4)."""
    state = list(vmas)
    mc0 = len(state)
    try:
        if kernel in ("5.1", "6.18") and "mremap_early" not in disabled and mc0 + 2 >= mx - 3:
            raise Refused("mremap_early")
        if kernel == "7.1" and "mremap_early_v7" not in disabled and mc0 + 4 > mx:
            raise Refused("mremap_early_v7")
        state = unmap(state, dest, dest + new, mx)            # F4: the destination
        if old > new:
            state = unmap(state, addr + new, addr + old, mx)  # F5: the tail
        move = "move_vma_limit_v7" if kernel == "7.1" else "move_vma_limit"
        if move not in disabled:
            if (kernel == "7.1" and len(state) + 2 > mx) or (kernel != "7.1" and len(state) >= mx - 3):
                raise Refused(move)
        state = sorted(state + [(dest, dest + new)])           # copy_vma: +1, unchecked
        try:
            state = unmap(state, addr, addr + new, mx)         # the source; a failure here is swallowed
        except Refused:
            return Run(True, None, state, swallowed=True)
        return Run(True, None, state)
    except Refused as r:
        return Run(False, r.check, state, e_check=r.check == "munmap_punch_limit")


def fixed_from_unmapped(kernel: str, vmas: list[tuple[int, int]], mx: int, new: int, dest: int,
                        disabled: frozenset[str] = frozenset()) -> Run:
    """§3.6 "FIXED to a mapped destination from an unmapped addr", §3.5.1 and §3.5.2: 5.0 and 5.1 unmap the
    destination, then vma_to_resize() finds no VMA (EFAULT); 6.18's early check and 7.1's run before the lookup,
    which fails with EFAULT before anything is unmapped."""
    state = list(vmas)
    mc0 = len(state)
    try:
        if kernel in ("5.1", "6.18") and "mremap_early" not in disabled and mc0 + 2 >= mx - 3:
            raise Refused("mremap_early")
        if kernel == "7.1" and "mremap_early_v7" not in disabled and mc0 + 4 > mx:
            raise Refused("mremap_early_v7")
        if kernel in ("5.0", "5.1"):
            state = unmap(state, dest, dest + new, mx)
        raise Refused("validate.no_vma", "EFAULT")
    except Refused as r:
        return Run(False, r.check, state, e_check=r.check == "munmap_punch_limit", errno=r.errno)


def multi_vma(kernel: str, vmas: list[tuple[int, int]], mx: int, pieces: list[tuple[int, int]], dest: int,
              disabled: frozenset[str] = frozenset()) -> Run:
    """§7.5 and §3.5.5 for n one-page pieces with gaps, moved same-size into the middle of a VMA. 5.0/5.1: the
    destination range is one interior punch, then vma_to_resize() finds the old range crossing the first
    piece's end (EFAULT). 6.18/7.1: the early check, then per piece its destination punch (§2.2), the move
    check, the copy (+1) and the source (a whole VMA, -1)."""
    state = list(vmas)
    mc0 = len(state)
    length = pieces[-1][1] - pieces[0][0]
    try:
        if kernel in ("5.1", "6.18") and "mremap_early" not in disabled and mc0 + 2 >= mx - 3:
            raise Refused("mremap_early")
        if kernel == "7.1" and "mremap_early_v7" not in disabled and mc0 + 4 > mx:
            raise Refused("mremap_early_v7")
        if kernel in ("5.0", "5.1"):
            state = unmap(state, dest, dest + length, mx)
            raise Refused("validate.crosses_vma_end", "EFAULT")
        move = "move_vma_limit_v7" if kernel == "7.1" else "move_vma_limit"
        for s, e in pieces:
            to = dest + (s - pieces[0][0])
            state = unmap(state, to, to + (e - s), mx)
            if move not in disabled:
                if (kernel == "7.1" and len(state) + 2 > mx) or (kernel != "7.1" and len(state) >= mx - 3):
                    raise Refused(move)
            state = sorted([v for v in state if v != (s, e)] + [(to, to + (e - s))])
        return Run(True, None, state)
    except Refused as r:
        return Run(False, r.check, state, e_check=r.check == "munmap_punch_limit", errno=r.errno)


def dontunmap(kernel: str, vmas: list[tuple[int, int]], mx: int, addr: int, pages: int, dest: int, fixed: bool,
              disabled: frozenset[str] = frozenset()) -> Run:
    """A whole-VMA MREMAP_DONTUNMAP move (5.7+, §3.5.2 for 6.18 and 7.1): 5.0 and 5.1 refuse the flag
    (EINVAL). Otherwise the early check (6.18: FIXED or DONTUNMAP, mc + 2 >= max - 3; 7.1: every call,
    mc + 4 > max), then for FIXED the destination unmap (§2.2), move_vma's check, the copy (+1); the old VMA
    stays mapped (no source unmap)."""
    state = list(vmas)
    mc0 = len(state)
    try:
        if kernel in ("5.0", "5.1"):
            raise Refused("validate.flags", "EINVAL")
        if kernel == "6.18" and "mremap_early" not in disabled and mc0 + 2 >= mx - 3:
            raise Refused("mremap_early")
        if kernel == "7.1" and "mremap_early_v7" not in disabled and mc0 + 4 > mx:
            raise Refused("mremap_early_v7")
        if fixed:
            state = unmap(state, dest, dest + pages, mx)
        move = "move_vma_limit_v7" if kernel == "7.1" else "move_vma_limit"
        if move not in disabled:
            if (kernel == "7.1" and len(state) + 2 > mx) or (kernel != "7.1" and len(state) >= mx - 3):
                raise Refused(move)
        return Run(True, None, sorted(state + [(dest, dest + pages)]))
    except Refused as r:
        return Run(False, r.check, state, e_check=r.check == "munmap_punch_limit", errno=r.errno)


def shrink(kernel: str, vmas: list[tuple[int, int]], mx: int, addr: int, old: int, new: int,
           disabled: frozenset[str] = frozenset()) -> Run:
    """§3.5.1 step 4 / §3.5.2 steps 2 and 6: 7.1 checks mc + 4 > max first; then the tail is unmapped."""
    try:
        if kernel == "7.1" and "mremap_early_v7" not in disabled and len(vmas) + 4 > mx:
            raise Refused("mremap_early_v7")
        return Run(True, None, unmap(list(vmas), addr + new, addr + old, mx))
    except Refused as r:
        return Run(False, r.check, list(vmas), e_check=r.check == "munmap_punch_limit")


def mprotect(vmas: list[tuple[int, int]], mx: int, a: int, b: int) -> Run:
    """§3.3: a checked split (mc >= max) at each end of the range that lies inside the VMA; a second split that
    fails leaves the first (§5 row 6). The changed range is a VMA of its own (different protection)."""
    state = list(vmas)
    (s, e), = [v for v in state if v[0] <= a < v[1]]
    try:
        if s < a:
            if len(state) >= mx:
                raise Refused("split_limit")
            state = sorted([v for v in state if v != (s, e)] + [(s, a), (a, e)])
            s = a
        if b < e:
            if len(state) >= mx:
                raise Refused("split_limit")
            state = sorted([v for v in state if v != (s, e)] + [(s, b), (b, e)])
        return Run(True, None, state)
    except Refused as r:
        return Run(False, r.check, state, e_check=True)


def expected(q: Quiz, kernel: str) -> tuple[str, str | None, int, int | None, str | None]:
    """(class, failing check, map_count after, returned page or None, errno) for one kernel, from the model
    above. Filler VMAs (an explicit max_map_count) lie far away: they count and take no part."""
    far = 1 << 30
    vmas = sorted([(v.start, v.end) for v in q.vmas] + [(far + 2 * i, far + 2 * i + 1) for i in range(q.filler)])
    mx, mc0, c = q.max_map_count, len(vmas), q.call

    def run(disabled: frozenset[str] = frozenset()) -> Run:
        if q.family == "unmapped":
            return fixed_from_unmapped(kernel, vmas, mx, c["new_pages"], c["new"], disabled)
        if q.family == "multi-vma":
            pieces = [(v.start, v.end) for v in q.vmas if c["old"] <= v.start < c["old"] + c["old_pages"]]
            return multi_vma(kernel, vmas, mx, pieces, c["new"], disabled)
        if q.family == "dontunmap":
            return dontunmap(kernel, vmas, mx, c["old"], c["old_pages"], c["new"], bool(c["flags"] & MREMAP_FIXED),
                             disabled)
        if q.op == "mremap" and c["flags"] & MREMAP_FIXED:
            return mremap_fixed(kernel, vmas, mx, c["old"], c["old_pages"], c["new_pages"], c["new"], disabled)
        if q.op == "mremap":
            return shrink(kernel, vmas, mx, c["old"], c["old_pages"], c["new_pages"], disabled)
        if q.op == "munmap":
            try:
                return Run(True, None, unmap(vmas, c["addr"], c["addr"] + c["pages"], mx))
            except Refused as r:
                return Run(False, r.check, vmas, e_check=True)
        return mprotect(vmas, mx, c["addr"], c["addr"] + c["pages"])

    r = run()
    if r.ok:
        moved = q.op == "mremap" and (c["flags"] & MREMAP_FIXED or q.family == "dontunmap")
        page = c["new"] if moved else (c["old"] if q.op == "mremap" else 0)
        return "OK", None, len(r.vmas), page, None
    if r.vmas != vmas:
        return "PARTIAL_FAIL", r.check, len(r.vmas), None, r.errno
    anticipatory = r.check in ("mremap_early", "mremap_early_v7", "move_vma_limit", "move_vma_limit_v7")
    if anticipatory:  # §6: the reference run, with only that check disabled, within the limits (R1-R3)?
        ref = run(frozenset({r.check}))  # type: ignore[arg-type]
        fits = ref.ok and not ref.swallowed and not ref.e_check and (len(ref.vmas) <= mx or len(ref.vmas) <= mc0)
        if fits:
            return "FALSE_POSITIVE", r.check, mc0, None, r.errno
    return "CLEAN_FAIL", r.check, mc0, None, r.errno


# ---- the tests ---------------------------------------------------------------------------------------------


def _check_against_the_semantics(q: Quiz) -> None:
    for k in q.kernels:
        o = q.outcome(k)
        kind, check, mc_after, page, errno = expected(q, k)
        assert (o.kind, o.check, o.mc_after) == (kind, check, mc_after), (q.seed, k, q.call_text(), q.max_map_count)
        a = q.answer(k)
        assert a["outcome"] == kind and a["mc_after"] == mc_after and a["changed"] == (kind == "PARTIAL_FAIL")
        if kind == "OK" and q.op == "mremap":
            assert (int(o.result) - q.scenario.base) // P == page
            assert a["returns"] == q._page(page)
        elif kind == "OK":
            assert a["returns"] == "0"
        else:
            assert a["returns"] == "-1" and a["errno"] == errno, (q.seed, k, a, errno)


@pytest.mark.parametrize("seed", SEEDS)
def test_every_answer_agrees_with_the_semantics(seed: int) -> None:
    _check_against_the_semantics(generate(seed))


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_every_family_agrees_with_the_semantics_with_every_knob(family: str) -> None:
    """The knobs change the question, not the rules: forced free slots, a limit with filler VMAs, a bigger
    layout, and questions on which the kernels agree."""
    for seed in range(0, 40):
        _check_against_the_semantics(generate(seed, family=family, agreeing=True))
        _check_against_the_semantics(generate(seed, family=family, free_slots=seed % 8, max_map_count=40 + seed))
        _check_against_the_semantics(generate(seed, family=family, vmas=5))


def test_the_seeds_cover_every_family_and_class() -> None:
    families, classes = set(), set()
    for seed in SEEDS:
        q = generate(seed)
        families.add(q.family)
        classes.update(q.outcome(k).kind for k in q.kernels)
    assert families == set(FAMILIES) - ALIKE_EVERYWHERE  # picked only when asked for (or with agreeing=True)
    assert classes == {"OK", "CLEAN_FAIL", "FALSE_POSITIVE", "PARTIAL_FAIL"}
    assert {generate(seed, agreeing=True).family for seed in SEEDS} == set(FAMILIES)


def test_a_seed_skips_questions_on_which_every_kernel_agrees() -> None:
    """#25: in the first 30 seeds, no question has the same answer on every kernel; every pair of the default
    kernels disagrees somewhere (5.1 and 6.18 too: DONTUNMAP, an unmapped source); munmap and mprotect, which
    no kernel changed (§4), come when asked for, and then they agree."""
    qs = [generate(seed) for seed in range(30)]
    assert not any(q.agree() for q in qs)
    for a, b in [("5.0", "5.1"), ("5.1", "6.18"), ("6.18", "7.1"), ("5.0", "7.1")]:
        assert any(q.answer(a) != q.answer(b) for q in qs), (a, b)
    for fam in ALIKE_EVERYWHERE:
        assert generate(3, family=fam).family == fam and generate(3, family=fam).agree()
    assert sum(generate(seed, agreeing=True).agree() for seed in range(30)) > 0


def _fixed_whole_into_free(q: Quiz) -> bool:
    c = q.call
    a = q.vmas[0]
    return (q.family == "fixed" and c["old"] == 0 and c["old_pages"] == a.pages == c["new_pages"]
            and not any(v.start <= c["new"] < v.end for v in q.vmas))


def test_semantics_4_fixed_whole_vma_into_free_space() -> None:
    """§4 row 'FIXED, whole VMA into free space': 5.0 needs 4 (FP 0-3); 5.1 and 6.18 need 6 (FP 4-5, C 0-3);
    7.1 needs 4 (FP 2-3, C 0-1)."""
    row = {"5.0": {s: "FALSE_POSITIVE" if s < 4 else "OK" for s in range(8)},
           "5.1": {s: "CLEAN_FAIL" if s < 4 else "FALSE_POSITIVE" if s < 6 else "OK" for s in range(8)},
           "7.1": {s: "CLEAN_FAIL" if s < 2 else "FALSE_POSITIVE" if s < 4 else "OK" for s in range(8)}}
    row["6.18"] = row["5.1"]
    seen = set()
    for seed in range(0, 3000):
        q = generate(seed, family="fixed", agreeing=True)
        if _fixed_whole_into_free(q):
            seen.add(q.free_slots)
            for k in DEFAULT_KERNELS:
                assert q.answer(k)["outcome"] == row[k][q.free_slots], (seed, k, q.free_slots)
        if len(seen) == 8:
            break
    assert seen == set(range(8)), "the seeds never produced some free-slot counts"


def test_semantics_4_hole_punch_and_mprotect_splits() -> None:
    """§4: a munmap hole punch needs 1 free slot (C at 0); a 3-way mprotect needs 2 (P at 1, C at 0); a 2-way
    mprotect needs 1 (C at 0); a head trim or a whole VMA needs none. Every kernel alike."""
    n = 0
    for seed in range(0, 400):
        for fam in ("munmap", "mprotect"):
            q = generate(seed, family=fam, agreeing=True)
            a, c = q.vmas[0], q.call
            inner = c["addr"] > 0 and c["addr"] + c["pages"] < a.pages
            s = q.free_slots
            if fam == "munmap":
                want = ("OK" if s >= 1 else "CLEAN_FAIL") if inner else "OK"
            else:
                want = ("OK" if s >= 2 else "PARTIAL_FAIL" if s == 1 else "CLEAN_FAIL") if inner else (
                    "OK" if s >= 1 else "CLEAN_FAIL")
            for k in q.kernels:
                assert q.answer(k)["outcome"] == want, (seed, fam, k, q.call_text(), s)
            n += 1
    assert n == 800


def test_the_same_seed_gives_the_same_quiz_and_seeds_differ() -> None:
    assert generate(7).question() == generate(7).question() and generate(7).worked() == generate(7).worked()
    assert len({generate(s).question() for s in range(40)}) == 40
    assert generate(-3).seed == -3 and generate(10**20).family in FAMILIES


def test_quiz_refuses_bad_arguments() -> None:
    with pytest.raises(ValueError, match="unknown kernel profile"):
        generate(1, kernels=["4.19"])
    with pytest.raises(ValueError, match="unknown quiz family"):
        generate(1, family="nope")
    with pytest.raises(ValueError, match="no kernels"):
        generate(1, kernels=[])


# ---- the command ----------------------------------------------------------------------------------------------


def test_the_quiz_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["quiz", "--seed", "7"]) == 0
    question = capsys.readouterr().out
    q = generate(7)
    assert question.strip() == q.question().strip()
    assert q.call_text() in question and "Answers" not in question and "--answers" in question
    assert cli.main(["quiz", "--seed", "7", "--answers"]) == 0
    both = capsys.readouterr().out
    assert both.startswith(question) and "Answers" in both
    for k in DEFAULT_KERNELS:
        assert f"kernel {k}: returns " in both
    assert cli.main(["quiz", "-s", "7", "-c", "-k", "ideal", "--family", "fixed"]) == 0
    out = capsys.readouterr().out
    assert "kernel ideal:" in out and "kernel 5.0:" not in out and "(fixed)" in out
    assert cli.main(["quiz"]) == 0 and "seed 0" in capsys.readouterr().out  # the default seed


def test_a_solved_quiz_shows_each_kernels_trace(capsys: pytest.CaptureFixture[str]) -> None:
    seed = next(s for s in SEEDS if generate(s).family == "fixed"
                and generate(s).answer("5.0")["outcome"] == "PARTIAL_FAIL")
    assert cli.main(["quiz", "--seed", str(seed), "--answers"]) == 0
    out = capsys.readouterr().out
    assert "the address space WAS changed" in out and "unmap_destination" in out and "<-- ENOMEM" in out


def test_the_quiz_knobs(capsys: pytest.CaptureFixture[str]) -> None:
    """--free-slots, --max-map-count (filler VMAs), --vmas and --agreeing reach the question; the worked answer names
    pages as the question does (no byte addresses), with a one-line why per kernel."""
    argv = ["quiz", "--seed", "4", "--free-slots", "3", "--max-map-count", "500", "--vmas", "4", "--answers"]
    assert cli.main(argv) == 0
    out = capsys.readouterr().out
    q = generate(4, free_slots=3, max_map_count=500, vmas=4)
    assert q.free_slots == 3 and q.max_map_count == 500 and len(q.vmas) == 4 and q.filler == 500 - 3 - 4
    assert "vm.max_map_count = 500: 3 free slots" in out and f"{q.filler} other VMAs" in out
    assert "mmsim quiz --seed 4 --free-slots 3 --max-map-count 500 --vmas 4 --answers" in out
    assert out.count("  why: ") == len(DEFAULT_KERNELS) and "0x" not in out.split("Answers", 1)[1]
    for k in DEFAULT_KERNELS:
        failing = q.answer(k)["check"]
        if failing:
            assert f"why: {failing}" in out
    assert cli.main(["quiz", "--seed", "3", "--family", "munmap"]) == 0 and "(munmap)" in capsys.readouterr().out
    assert cli.main(["quiz", "--seed", "3", "--agreeing"]) == 0 and "--agreeing --answers" in capsys.readouterr().out
