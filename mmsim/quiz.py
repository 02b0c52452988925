"""Homework questions in the style of the OSTEP simulators: ``mmsim quiz --seed N`` (and ``--answers``).

:func:`generate` makes one question per seed, deterministically: a small layout of two or three VMAs (no filler:
``map_count`` is the number of VMAs shown), a ``vm.max_map_count`` a few slots above it, and one call: an
``mremap(MREMAP_MAYMOVE|MREMAP_FIXED)`` move (most often; whole, interior, head or tail of a VMA, same size or
shrinking, into free space, into the middle, the head or the whole of another VMA), a FIXED move from an unmapped
address, a ``MREMAP_DONTUNMAP`` move, a FIXED move over several VMAs, an in-place shrink, a hole punch with
``munmap``, or an ``mprotect`` split. The questions: what the call returns, what ``map_count`` is afterwards,
and on which kernel it fails, at which check and in which step. :meth:`Quiz.worked` prints the answers with the
step trace of each kernel in the question's page units and a one-line why (semantics §8). The answers are the
model's (:func:`mmsim.classify`).

Knobs (``mmsim quiz --free-slots/--max-map-count/--vmas/--family/--agreeing``): the free slots, the limit (the process
then holds filler VMAs besides the layout), the number of VMAs in the layout, the kind of call. A seed whose call
every kernel asked about answers alike is skipped (the seed's generator draws again) unless ``agreeing=True``;
``munmap`` and ``mprotect`` calls end alike on every modelled kernel (semantics §4), so a seed picks them only
with ``agreeing=True`` or when asked for by ``family``.

The layouts never merge (different protections, gaps, a faulted source), so every answer follows from
semantics §2.2 (the unmap shapes), §3 (the order of the checks) and §4 (the free slots each call needs).

>>> q = generate(7)
>>> q.seed, q.family in FAMILIES, q.map_count <= q.max_map_count
(7, True, True)
>>> generate(7).question() == q.question()
True
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .constants import (
    MAP_ANONYMOUS,
    MAP_FIXED,
    MAP_PRIVATE,
    MAP_SHARED,
    MREMAP_DONTUNMAP,
    MREMAP_FIXED,
    MREMAP_MAYMOVE,
    PAGE_SIZE,
    PROT_READ,
    PROT_WRITE,
)
from .deprecation import renamed_arguments
from .outcome import Outcome, classify
from .profiles import get_profile
from .scenarios import Scenario, scenario_from_ops

__all__ = ["ALIKE_EVERYWHERE", "DEFAULT_KERNELS", "FAMILIES", "Quiz", "QuizVMA", "generate"]

P = PAGE_SIZE
RW = PROT_READ | PROT_WRITE
PRIV = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED
SHARED = MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED

#: The kernels a quiz asks about unless told otherwise.
DEFAULT_KERNELS: tuple[str, ...] = ("5.0", "5.1", "6.18", "7.1")
#: The kinds of call, with the weight each gets when a seed picks one.
FAMILIES: dict[str, int] = {"fixed": 6, "unmapped": 1, "dontunmap": 2, "multi-vma": 2, "shrink": 1, "munmap": 1,
                             "mprotect": 2}
#: Families whose calls end alike on every modelled kernel (their checks never changed, semantics §4).
ALIKE_EVERYWHERE: frozenset[str] = frozenset({"munmap", "mprotect"})


@dataclass(frozen=True)
class QuizVMA:
    """One VMA of a quiz layout: its letter, first page, length in pages, protection, and whether it is
    shared or written to (faulted: it has an anon_vma)."""

    name: str
    start: int
    pages: int
    prot: int = RW
    shared: bool = False
    faulted: bool = False

    @property
    def end(self) -> int:
        """The first page after the VMA."""
        return self.start + self.pages

    def describe(self) -> str:
        """``A  pages [ 0, 10)  rw-p  private anonymous, written to``."""
        perms = ("r" if self.prot & PROT_READ else "-") + ("w" if self.prot & PROT_WRITE else "-") + "-" + (
            "s" if self.shared else "p")
        what = "shared anonymous" if self.shared else "private anonymous"
        if self.faulted:
            what += ", written to (it has an anon_vma)"
        return f"{self.name}  pages [{self.start:2d}, {self.end:2d})  {perms}  {what}"


#: What the argument checks the quiz's calls can fail mean (semantics §3.5), for :meth:`Quiz.why`.
_VALIDATIONS = {
    "flags": "a flag this kernel does not accept (MREMAP_DONTUNMAP came in 5.7)",
    "no_vma": "no VMA at the old address",
    "crosses_vma_end": "the old range runs past the end of its VMA",
    "overlap": "the old and new ranges overlap",
    "dontunmap_resize": "MREMAP_DONTUNMAP needs old_len == new_len",
}


@dataclass(frozen=True)
class Quiz:
    """One generated question. ``call`` holds the call's arguments in pages from the layout's base."""

    seed: int
    family: str
    vmas: tuple[QuizVMA, ...]
    max_map_count: int
    op: str
    call: dict[str, Any]
    kernels: tuple[str, ...] = DEFAULT_KERNELS
    scenario: Scenario = field(repr=False, compare=False, default=None)  # type: ignore[assignment]
    #: VMAs of the process outside the layout (only with an explicit ``max_map_count``), far from its pages.
    filler: int = 0
    #: The command that prints this question (the seed and the knobs given).
    command: str = ""
    _outcomes: dict[str, Outcome] = field(default_factory=dict, repr=False, compare=False)

    @property
    def map_count(self) -> int:
        """The map_count before the call: the layout's VMAs plus the filler."""
        return len(self.vmas) + self.filler

    @property
    def free_slots(self) -> int:
        """``max_map_count - map_count`` before the call."""
        return self.max_map_count - self.map_count

    # ---- text -----------------------------------------------------------------------------------------
    def _page(self, page: int) -> str:
        """A page number written relative to the VMA it lies in (``B+2P``), or absolute (``page 30``)."""
        for v in self.vmas:
            if v.start <= page < v.end:
                return v.name if page == v.start else f"{v.name}+{page - v.start}P"
        return f"base+{page}P"

    def _range(self, start: int, end: int) -> str:
        """A byte range as the question writes pages: ``[A+2P, A+5P)``, or ``base+30P`` outside the layout."""
        base = self.scenario.base
        if start < base or (start - base) // P > 1 << 20:
            return "a filler VMA"
        s, e = (start - base) // P, (end - base) // P
        for v in self.vmas:
            if v.start <= s < v.end:
                return f"[{self._page(s)}, {v.name}+{e - v.start}P)"
        return f"[base+{s}P, base+{e}P)"

    def trace_lines(self, kernel: str) -> list[str]:
        """The kernel's top-level step trace, addresses in the question's page units, each check with its
        expression (``mremap_early 3 + 2 >= 6 - 3 -> FAIL``)."""
        o = self.outcome(kernel)
        out = []
        for rec in o.trace.top():
            rng = f" {self._range(rec.start, rec.end)}" if rec.start is not None and rec.end is not None else ""
            what = f"  {rec.expr} -> {'pass' if rec.passed else 'FAIL'}" if rec.expr is not None else ""
            err = f"  <-- {o.errname}" if rec.errno is not None and not rec.swallowed else ""
            delta = f" {rec.delta:+d}" if rec.delta else ""
            out.append(f"{rec.step}{rng}{what}  (map_count {rec.map_count}{delta}){err}")
        return out

    def why(self, kernel: str) -> str:
        """One line: why the call ends as it does on ``kernel`` (the failing check and what it asks, or that
        every check passed)."""
        from .checks import CHECKS

        o = self.outcome(kernel)
        if o.ok:
            return "every check on its path passed (" + (", ".join(sorted({r.step for r in o.trace.top()
                                                                           if r.kind == "check"})) or "none") + ")"
        fail = o.trace.failure
        expr = f" ({fail.expr})" if fail is not None and fail.expr else ""
        check = CHECKS.get(o.check or "")
        name = (o.check or "").removeprefix("validate.")
        reason = check.summary if check is not None else _VALIDATIONS.get(
            name, f"an argument check of {o.where or 'the call'} ({o.errname})")
        changed = "; the address space had already changed" if o.kind == "PARTIAL_FAIL" else ""
        return f"{o.check}{expr} fails: {reason}{changed}"

    def call_text(self) -> str:
        """The call as C-like source with the layout's names: ``mremap(A+2P, 6P, 3P, MREMAP_MAYMOVE|..., B+2P)``."""
        c = self.call
        if self.op == "mremap":
            flags = "|".join(n for bit, n in ((MREMAP_MAYMOVE, "MREMAP_MAYMOVE"), (MREMAP_FIXED, "MREMAP_FIXED"),
                                              (MREMAP_DONTUNMAP, "MREMAP_DONTUNMAP"))
                             if c["flags"] & bit) or "0"
            tail = f", {self._page(c['new'])}" if c["flags"] & (MREMAP_FIXED | MREMAP_DONTUNMAP) else ""
            return f"mremap({self._page(c['old'])}, {c['old_pages']}P, {c['new_pages']}P, {flags}{tail})"
        if self.op == "munmap":
            return f"munmap({self._page(c['addr'])}, {c['pages']}P)"
        return f"mprotect({self._page(c['addr'])}, {c['pages']}P, PROT_READ)"

    def question(self) -> str:
        """The question as ``mmsim quiz --seed N`` prints it."""
        command = self.command or f"mmsim quiz --seed {self.seed}"
        lines = [f"mmsim quiz, seed {self.seed} ({self.family})", "",
                 f"A process has {'these' if self.filler else 'exactly these'} VMAs (pages counted from the base "
                 "of its layout; P = 4096 bytes):", ""]
        lines += ["  " + v.describe() for v in self.vmas]
        if self.filler:
            lines += [f"  ... and {self.filler} other VMA{'s' if self.filler != 1 else ''} far from these pages, "
                      "which the call does not touch"]
        lines += ["", f"map_count = {self.map_count}, vm.max_map_count = {self.max_map_count}: "
                      f"{self.free_slots} free slot{'s' if self.free_slots != 1 else ''}.", "", "The call:", "",
                  "  " + self.call_text(), "",
                  f"Questions, for each of the kernels {', '.join(self.kernels)}:",
                  "  1. What does the call return: " + ("the new address, or -1 and which errno?"
                                                        if self.op == "mremap" else "0, or -1 and which errno?"),
                  "  2. What is map_count afterwards?",
                  "  3. If it fails: at which check, in which step, and is the address space left changed?", "",
                  "Work it out (docs/semantics.md §2.2 for the unmaps, §3 for the order of the checks, §4 for the free",
                  f"slots each call needs), then check: {command} --answers"]
        return "\n".join(lines)

    # ---- answers --------------------------------------------------------------------------------------
    def outcome(self, kernel: str) -> Outcome:
        """The model's classified run of the call under ``kernel`` (semantics §6)."""
        if kernel not in self._outcomes:
            mm = self.scenario.setup(kernel, self.max_map_count, self.free_slots)
            self._outcomes[kernel] = classify(mm, self.scenario.op, *self.scenario.args)
        return self._outcomes[kernel]

    def answer(self, kernel: str) -> dict[str, Any]:
        """``{"returns", "errno", "mc_after", "outcome", "check", "where", "changed"}`` for one kernel.

        ``returns`` is the call's return value as the question names addresses (``"B+2P"``, ``"0"``) or ``"-1"``.
        """
        o = self.outcome(kernel)
        if o.ok:
            if self.op == "mremap":
                page = (int(o.result) - self.scenario.base) // P
                returns = self._page(page) if any(v.start <= page < v.end for v in self.vmas) else f"base+{page}P"
            else:
                returns = "0"
        else:
            returns = "-1"
        return {"returns": returns, "errno": o.errname, "mc_after": o.mc_after, "outcome": o.kind,
                "check": o.check, "where": o.where, "changed": o.kind == "PARTIAL_FAIL"}

    def worked(self) -> str:
        """The answers with each kernel's step trace, as ``mmsim quiz --seed N --answers`` prints them."""
        lines = ["", "Answers", "======="]
        for k in self.kernels:
            o = self.outcome(k)
            a = self.answer(k)
            ret = a["returns"] if o.ok else f"-1, errno {a['errno']}"
            lines += ["", f"kernel {k}: returns {ret}; map_count {o.mc_before} -> {o.mc_after}; {o.kind}"]
            if not o.ok:
                step = f" in {o.where}" if o.where and o.where != o.check else ""
                state = ("the address space WAS changed before the failure" if a["changed"]
                         else "nothing was changed")
                lines.append(f"  failed at {o.check}{step}; {state}")
                if o.kind == "FALSE_POSITIVE":
                    lines.append("  (a false positive: without that check the call would have fitted, semantics §6)")
            lines.append(f"  why: {self.why(k)}")
            lines.append("  trace (P = 4096 bytes):")
            lines += ["    " + line for line in self.trace_lines(k)]
        return "\n".join(lines)

    def agree(self) -> bool:
        """Whether every kernel asked about gives the same answer (return value, errno, map_count after)."""
        seen = {(a["returns"], a["errno"], a["mc_after"]) for a in (self.answer(k) for k in self.kernels)}
        return len(seen) == 1


# ---- generation ------------------------------------------------------------------------------------------


def _vma_op(v: QuizVMA) -> list[tuple[str, dict[str, Any]]]:
    ops: list[tuple[str, dict[str, Any]]] = [
        ("mmap", {"addr": v.start * P, "length": v.pages * P, "prot": v.prot, "flags": SHARED if v.shared else PRIV})]
    if v.faulted:
        ops.append(("touch", {"addr": v.start * P, "length": v.pages * P}))
    return ops


def _fixed(rng: random.Random) -> tuple[list[QuizVMA], str, dict[str, Any]]:
    a = QuizVMA("A", 0, rng.randint(6, 12), RW, faulted=True)
    b = QuizVMA("B", a.end + rng.randint(2, 4), rng.randint(6, 12), PROT_READ)
    vmas = [a, b]
    shape = rng.choice(("whole", "interior", "interior", "head", "tail"))
    if shape == "whole":
        start, old = 0, a.pages
    elif shape == "interior":
        start = rng.randint(1, a.pages - 3)
        old = rng.randint(2, a.pages - start - 1)
    elif shape == "head":
        start, old = 0, rng.randint(2, a.pages - 2)
    else:
        old = rng.randint(2, a.pages - 2)
        start = a.pages - old
    new = old if rng.random() < 0.5 else rng.randint(1, old - 1)
    dest_kind = rng.choice(("free", "interior", "interior", "head", "whole"))
    if dest_kind == "whole" and new > b.pages:
        dest_kind = "interior"
    if dest_kind in ("interior", "head") and new >= b.pages - 1:
        dest_kind = "free"
    if dest_kind == "free":
        dest = b.end + rng.randint(2, 6)
    elif dest_kind == "interior":
        dest = b.start + rng.randint(1, b.pages - new - 1)
    elif dest_kind == "head":
        dest = b.start
    else:  # a destination that is exactly one whole VMA of the right size
        b = QuizVMA("B", b.start, new, PROT_READ)
        vmas = [a, b]
        dest = b.start
    if rng.random() < 0.3:  # a third VMA after a gap, shared: it changes the count, never the call
        vmas.append(QuizVMA("C", max(b.end, dest + new) + rng.randint(2, 4), rng.randint(1, 4), RW, shared=True))
    call = {"old": start, "old_pages": old, "new_pages": new, "flags": MREMAP_MAYMOVE | MREMAP_FIXED, "new": dest}
    return vmas, "mremap", call


def _shrink(rng: random.Random) -> tuple[list[QuizVMA], str, dict[str, Any]]:
    a = QuizVMA("A", 0, rng.randint(6, 12), RW)
    vmas = [a, QuizVMA("B", a.end + rng.randint(1, 3), rng.randint(2, 6), PROT_READ)]
    if rng.random() < 0.5:  # the tail is a trim off A's end
        start = rng.randint(0, a.pages - 3)
        old = a.pages - start
    else:  # the tail is a hole inside A
        start = rng.randint(0, a.pages - 4)
        old = rng.randint(3, a.pages - start - 1)
    new = rng.randint(1, old - 1)
    return vmas, "mremap", {"old": start, "old_pages": old, "new_pages": new, "flags": 0, "new": None}


def _munmap(rng: random.Random) -> tuple[list[QuizVMA], str, dict[str, Any]]:
    a = QuizVMA("A", 0, rng.randint(6, 12), rng.choice((RW, PROT_READ)))
    vmas = [a, QuizVMA("B", a.end + rng.randint(1, 3), rng.randint(2, 6), RW, shared=True)]
    kind = rng.choice(("interior", "interior", "head", "whole"))
    if kind == "whole":
        return vmas, "munmap", {"addr": 0, "pages": a.pages}
    if kind == "head":
        return vmas, "munmap", {"addr": 0, "pages": rng.randint(1, a.pages - 1)}
    start = rng.randint(1, a.pages - 2)
    return vmas, "munmap", {"addr": start, "pages": rng.randint(1, a.pages - start - 1)}


def _mprotect(rng: random.Random) -> tuple[list[QuizVMA], str, dict[str, Any]]:
    a = QuizVMA("A", 0, rng.randint(6, 12), RW)
    vmas = [a, QuizVMA("B", a.end + rng.randint(1, 3), rng.randint(2, 6), RW, shared=True)]
    if rng.random() < 0.6:  # three-way: a range in the middle
        start = rng.randint(1, a.pages - 2)
        return vmas, "mprotect", {"addr": start, "pages": rng.randint(1, a.pages - start - 1)}
    return vmas, "mprotect", {"addr": 0, "pages": rng.randint(1, a.pages - 1)}


def _unmapped(rng: random.Random) -> tuple[list[QuizVMA], str, dict[str, Any]]:
    """A FIXED move from an address where nothing is mapped (semantics §3.6, "FIXED to a mapped destination
    from an unmapped addr"): 5.0/5.1 unmap the destination first, 6.1+ look the source up first."""
    gap = rng.randint(2, 4)
    a = QuizVMA("A", gap + rng.randint(2, 4), rng.randint(4, 8), RW, faulted=True)
    b = QuizVMA("B", a.end + rng.randint(2, 4), rng.randint(6, 12), PROT_READ)
    n = rng.randint(1, min(gap, 3))
    dest = b.start + rng.randint(1, b.pages - n - 1) if rng.random() < 0.7 else b.end + rng.randint(2, 6)
    call = {"old": 0, "old_pages": n, "new_pages": n, "flags": MREMAP_MAYMOVE | MREMAP_FIXED, "new": dest}
    return [a, b], "mremap", call


def _dontunmap(rng: random.Random) -> tuple[list[QuizVMA], str, dict[str, Any]]:
    """A MREMAP_DONTUNMAP move of a whole, written VMA (5.7+; 5.0 and 5.1 refuse the flag with EINVAL): to a
    free hint, or with MREMAP_FIXED into the middle of another VMA."""
    a = QuizVMA("A", 0, rng.randint(2, 6), RW, faulted=True)
    b = QuizVMA("B", a.end + rng.randint(2, 4), rng.randint(a.pages + 3, a.pages + 8), PROT_READ)
    flags = MREMAP_MAYMOVE | MREMAP_DONTUNMAP
    if rng.random() < 0.5:
        flags |= MREMAP_FIXED
        dest = b.start + rng.randint(1, b.pages - a.pages - 1)
    else:
        dest = b.end + rng.randint(2, 6)
    return [a, b], "mremap", {"old": 0, "old_pages": a.pages, "new_pages": a.pages, "flags": flags, "new": dest}


def _multi_vma(rng: random.Random) -> tuple[list[QuizVMA], str, dict[str, Any]]:
    """A same-size FIXED move over two to four one-page VMAs with one-page gaps, into the middle of a read-only
    VMA (semantics §3.5.5, §7.5): 6.17+ move the pieces one by one, 5.x fail with EFAULT after the destination
    unmap because the range crosses the first VMA's end."""
    n = rng.randint(2, 4)
    pieces = [QuizVMA("ABCD"[i], 2 * i, 1, RW, faulted=True) for i in range(n)]
    length = 2 * n - 1
    d = QuizVMA("ABCDE"[n], 2 * n + rng.randint(1, 3), length + rng.randint(4, 8), PROT_READ)
    dest = d.start + rng.randint(1, d.pages - length - 1)
    call = {"old": 0, "old_pages": length, "new_pages": length, "flags": MREMAP_MAYMOVE | MREMAP_FIXED, "new": dest}
    return [*pieces, d], "mremap", call


_MAKERS = {"fixed": _fixed, "unmapped": _unmapped, "dontunmap": _dontunmap, "multi-vma": _multi_vma,
           "shrink": _shrink, "munmap": _munmap, "mprotect": _mprotect}


#: How many questions a seed may draw before it keeps one on which the kernels agree.
_DRAWS = 64


@renamed_arguments(free="free_slots")
def generate(seed: int, kernels: Sequence[str] = DEFAULT_KERNELS, family: str | None = None, *,
             free_slots: int | None = None, max_map_count: int | None = None, vmas: int | None = None,
             agreeing: bool = False) -> Quiz:
    """The quiz of ``seed`` (any int): the same seed and knobs give the same question on every run and machine.

    ``kernels`` are the profiles the questions ask about (:data:`DEFAULT_KERNELS`); ``family`` forces a kind of
    call (:data:`FAMILIES`), otherwise the seed picks one. ``free_slots`` fixes the free slots (0 or more; default:
    the seed picks 0-7); ``max_map_count`` the limit (the process then holds filler VMAs besides the layout:
    ``map_count = max_map_count - free_slots``); ``vmas`` the number of VMAs in the layout (extra shared VMAs after
    it, which the call never touches). Unless ``agreeing``, a question on which every kernel answers alike is
    drawn again (up to 64 times) and the families of :data:`ALIKE_EVERYWHERE` are picked only when asked for.
    ValueError for an unknown kernel or family or a knob out of range.

    >>> q = generate(3, free_slots=2, max_map_count=100)
    >>> q.free_slots, q.map_count, q.filler == 98 - len(q.vmas), q.agree()
    (2, 98, True, False)
    """
    ks = tuple(get_profile(k).name for k in kernels)
    if not ks:
        raise ValueError("no kernels given")
    if family is not None and family not in FAMILIES:
        raise ValueError(f"unknown quiz family {family!r}; choose one of {', '.join(FAMILIES)}")
    if free_slots is not None and free_slots < 0:
        raise ValueError(f"free_slots must be 0 or more, got {free_slots}")
    if vmas is not None and not 2 <= vmas <= 12:
        raise ValueError(f"vmas must be 2 to 12, got {vmas}")
    cmd = f"mmsim quiz --seed {seed}" + "".join(
        f" --{flag} {value}" for flag, value in (("family", family), ("free-slots", free_slots),
                                                 ("max-map-count", max_map_count), ("vmas", vmas))
        if value is not None) + (
        " --agreeing" if agreeing else "") + "".join(f" -k {k}" for k in ks if tuple(ks) != DEFAULT_KERNELS)
    rng = random.Random(seed)
    pick = {f: w for f, w in FAMILIES.items() if agreeing or f not in ALIKE_EVERYWHERE}
    q: Quiz | None = None
    for _ in range(_DRAWS):
        fam = family or rng.choices(list(pick), weights=list(pick.values()))[0]
        state = rng.getstate()
        # judged without filler: far-away VMAs shift every kernel's map_count alike and change no answer
        q = _draw(rng, seed, fam, ks, free_slots, None, vmas, cmd)
        if agreeing or fam in ALIKE_EVERYWHERE or len(ks) < 2 or not q.agree():
            break
    assert q is not None
    if max_map_count is not None:
        again = random.Random()
        again.setstate(state)
        q = _draw(again, seed, q.family, ks, free_slots, max_map_count, vmas, cmd)
    return q


def _draw(rng: random.Random, seed: int, fam: str, ks: tuple[str, ...], free: int | None,
          max_map_count: int | None, n_vmas: int | None, command: str = "") -> Quiz:
    vmas, op, call = _MAKERS[fam](rng)
    slots = rng.randint(0, 7)
    free = slots if free is None else free
    if n_vmas is not None:
        if n_vmas < len(vmas):
            raise ValueError(f"the {fam} layout has {len(vmas)} VMAs: vmas must be at least that")
        top = max([v.end for v in vmas] + [call.get("new") or 0, (call.get("new") or 0) + call.get("new_pages", 0)])
        for _ in range(n_vmas - len(vmas)):
            top += 2
            vmas.append(QuizVMA("ABCDEFGHIJKL"[len(vmas)], top, 1, RW, shared=True))
            top += 1
    filler = 0
    if max_map_count is not None:
        filler = max_map_count - free - len(vmas)
        if filler < 0:
            raise ValueError(f"max_map_count {max_map_count} with {free} free slots leaves room for "
                             f"{max_map_count - free} VMAs, but the layout has {len(vmas)}")
    setup = [o for v in vmas for o in _vma_op(v)]
    if op == "mremap":
        kw = {"old_address": call["old"] * P, "old_size": call["old_pages"] * P, "new_size": call["new_pages"] * P,
              "flags": call["flags"], "new_address": None if call["new"] is None else call["new"] * P}
    elif op == "munmap":
        kw = {"addr": call["addr"] * P, "length": call["pages"] * P}
    else:
        kw = {"addr": call["addr"] * P, "length": call["pages"] * P, "prot": PROT_READ}
    sc = scenario_from_ops(f"quiz-{seed}", f"quiz {seed}", "random", setup, op, kw)
    return Quiz(seed, fam, tuple(vmas), len(vmas) + filler + free, op, call, ks, sc, filler, command)
