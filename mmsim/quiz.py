"""Homework questions in the style of the OSTEP simulators: ``mmsim quiz --seed N`` (and ``--answers``).

:func:`generate` makes one question per seed, deterministically: a small layout of two or three VMAs (no filler:
``map_count`` is the number of VMAs shown), a ``vm.max_map_count`` a few slots above it, and one call: an
``mremap(MREMAP_MAYMOVE|MREMAP_FIXED)`` move (most often; whole, interior, head or tail of a VMA, same size or
shrinking, into free space, into the middle, the head or the whole of another VMA), an in-place shrink, a hole
punch with ``munmap``, or an ``mprotect`` split. The questions: what the call returns, what ``map_count`` is
afterwards, and on which kernel it fails, at which check and in which step. :meth:`Quiz.worked` prints the answers
with the step trace of each kernel (semantics §8). The answers are the model's (:func:`mmsim.classify`).

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
    MREMAP_FIXED,
    MREMAP_MAYMOVE,
    PAGE_SIZE,
    PROT_READ,
    PROT_WRITE,
)
from .outcome import Outcome, classify
from .profiles import get_profile
from .scenarios import Scenario, scenario_from_ops

__all__ = ["DEFAULT_KERNELS", "FAMILIES", "Quiz", "QuizVMA", "generate"]

P = PAGE_SIZE
RW = PROT_READ | PROT_WRITE
PRIV = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED
SHARED = MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED

#: The kernels a quiz asks about unless told otherwise.
DEFAULT_KERNELS: tuple[str, ...] = ("5.0", "5.1", "6.18", "7.1")
#: The kinds of call, with the weight each gets when a seed picks one.
FAMILIES: dict[str, int] = {"fixed": 6, "shrink": 1, "munmap": 1, "mprotect": 2}


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

    @property
    def map_count(self) -> int:
        """The map_count before the call: the layout's VMAs (a quiz has no filler)."""
        return len(self.vmas)

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

    def call_text(self) -> str:
        """The call as C-like source with the layout's names: ``mremap(A+2P, 6P, 3P, MREMAP_MAYMOVE|..., B+2P)``."""
        c = self.call
        if self.op == "mremap":
            flags = "|".join(n for bit, n in ((MREMAP_MAYMOVE, "MREMAP_MAYMOVE"), (MREMAP_FIXED, "MREMAP_FIXED"))
                             if c["flags"] & bit) or "0"
            tail = f", {self._page(c['new'])}" if c["flags"] & MREMAP_FIXED else ""
            return f"mremap({self._page(c['old'])}, {c['old_pages']}P, {c['new_pages']}P, {flags}{tail})"
        if self.op == "munmap":
            return f"munmap({self._page(c['addr'])}, {c['pages']}P)"
        return f"mprotect({self._page(c['addr'])}, {c['pages']}P, PROT_READ)"

    def question(self) -> str:
        """The question as ``mmsim quiz --seed N`` prints it."""
        lines = [f"mmsim quiz, seed {self.seed} ({self.family})", "",
                 "A process has exactly these VMAs (pages counted from the base of its layout; P = 4096 bytes):", ""]
        lines += ["  " + v.describe() for v in self.vmas]
        lines += ["", f"map_count = {self.map_count}, vm.max_map_count = {self.max_map_count}: "
                      f"{self.free_slots} free slot{'s' if self.free_slots != 1 else ''}.", "", "The call:", "",
                  "  " + self.call_text(), "",
                  f"Questions, for each of the kernels {', '.join(self.kernels)}:",
                  "  1. What does the call return: " + ("the new address, or -1 and which errno?"
                                                        if self.op == "mremap" else "0, or -1 and which errno?"),
                  "  2. What is map_count afterwards?",
                  "  3. If it fails: at which check, in which step, and is the address space left changed?", "",
                  "Work it out (docs/semantics.md §2.2 for the unmaps, §3 for the order of the checks, §4 for the free",
                  f"slots each call needs), then check: mmsim quiz --seed {self.seed} --answers"]
        return "\n".join(lines)

    # ---- answers --------------------------------------------------------------------------------------
    def outcome(self, kernel: str) -> Outcome:
        """The model's classified run of the call under ``kernel`` (semantics §6)."""
        mm = self.scenario.setup(kernel, self.max_map_count, self.free_slots)
        return classify(mm, self.scenario.op, *self.scenario.args)

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
            lines.append("  trace:")
            lines += ["    " + rec.describe() for rec in o.trace.top()]
        return "\n".join(lines)


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


_MAKERS = {"fixed": _fixed, "shrink": _shrink, "munmap": _munmap, "mprotect": _mprotect}


def generate(seed: int, kernels: Sequence[str] = DEFAULT_KERNELS, family: str | None = None) -> Quiz:
    """The quiz of ``seed`` (any int): the same seed gives the same question on every run and machine.

    ``kernels`` are the profiles the questions ask about (:data:`DEFAULT_KERNELS`); ``family`` forces a kind of
    call (:data:`FAMILIES`), otherwise the seed picks one. ValueError for an unknown kernel or family.
    """
    ks = tuple(get_profile(k).name for k in kernels)
    if not ks:
        raise ValueError("no kernels given")
    if family is not None and family not in FAMILIES:
        raise ValueError(f"unknown quiz family {family!r}; choose one of {', '.join(FAMILIES)}")
    rng = random.Random(seed)
    fam = family or rng.choices(list(FAMILIES), weights=list(FAMILIES.values()))[0]
    vmas, op, call = _MAKERS[fam](rng)
    free = rng.randint(0, 7)
    setup = [o for v in vmas for o in _vma_op(v)]
    if op == "mremap":
        kw = {"old_address": call["old"] * P, "old_size": call["old_pages"] * P, "new_size": call["new_pages"] * P,
              "flags": call["flags"], "new_address": None if call["new"] is None else call["new"] * P}
    elif op == "munmap":
        kw = {"addr": call["addr"] * P, "length": call["pages"] * P}
    else:
        kw = {"addr": call["addr"] * P, "length": call["pages"] * P, "prot": PROT_READ}
    sc = scenario_from_ops(f"quiz-{seed}", f"quiz {seed}", "random", setup, op, kw)
    return Quiz(seed, fam, tuple(vmas), len(vmas) + free, op, call, ks, sc)
