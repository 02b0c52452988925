"""Exercise checks for the course notebooks, one mechanism for all of them.

Each ``check_...(answer)`` computes the expected value with the model when it runs and returns a
:class:`Feedback`: true iff the answer is right, and displayed as one ✔/✘ line with a hint chosen for the
typical wrong answers of that exercise (:mod:`mmsim.exercises.feedback`). So ``check_x(answer)`` as the last
line of a cell shows one message, and ``assert check_x(answer)`` works. :data:`EXERCISES` maps each exercise
(``"04-ex1"``) to its check; ``solution(name)`` returns the text of a solution file
(``notebooks/solutions/NN-exK.py``), the one ``%load solutions/NN-exK.py`` shows in a notebook.

The tables the notebooks show live in :mod:`mmsim.experiments` and are re-exported here; the mremap explorer of
notebook 03 stays importable as ``mmsim.exercises.mremap_explorer``.
"""

from collections.abc import Callable as _Callable
from pathlib import Path as _Path
from typing import Any as _Any

from .. import deprecation as _deprecation
from . import advanced as _a
from . import basics as _b
from . import capstone as _c
from .advanced import *  # noqa: F401,F403
from .basics import *  # noqa: F401,F403
from .capstone import *  # noqa: F401,F403
from .feedback import Feedback, Hint  # noqa: F401

_SOLUTIONS = _Path(__file__).resolve().parents[2] / "notebooks" / "solutions"

#: Every exercise of the course and its check, by solution name (``"NN-exK"``), in course order.
EXERCISES: dict[str, _Callable[..., _Any]] = {
    "00-ex1": _b.check_profile_count,
    "00-ex2": _b.check_punch_min_slots,
    "01-ex1": _b.check_split_count,
    "01-ex2": _b.check_remerge_count,
    "01-ex3": _b.check_hidden_state_count,
    "02-ex1": _b.check_mprotect_3way_slots,
    "02-ex2": _b.check_mmap_ceiling,
    "02-ex3": _b.check_partial_split_vmas,
    "03-ex1": _b.check_grow_or_move,
    "03-ex2": _b.check_dontunmap_delta,
    "03-ex3": _b.check_fixed_delta,
    "04-ex1": _b.check_bug_slots,
    "04-ex2": _b.check_lost_pages,
    "04-ex3": _b.check_fixed_min_slots,
    "05-ex1": _a.check_smaller_headroom_free_slots,
    "05-ex2": _a.check_seed_w_ideal_refusals,
    "05-ex3": _a.check_seed_s_false_positives,
    "06-ex1": _a.check_fp_rate,
    "06-ex2": _a.check_k_whole_min_free_slots,
    "06-ex3": _a.check_alt_fixes,
    "07-ex1": _a.check_v71_needless_refusals,
    "07-ex2": _a.check_multi_vma_partial,
    "07-ex3": _a.check_changed_at_free_slots,
    "08-ex1": _a.check_live_prediction,
    "08-ex2": _a.check_fail_at_free_slots,
    "08-ex3": _a.check_profile_for_release,
    "09-ex1": _c.check_reproduces_51,
    "09-ex2": _c.check_own_check,
    "09-ex3": _c.check_frontier,
    "10-ex1": _a.check_thread_stacks,
    "10-ex2": _a.check_calls_that_fit,
}


def solutions_dir() -> _Path:
    """Where the solution files are: ``notebooks/solutions`` of the checkout mmsim runs from (``make lab``, an
    editable install), else ``<prefix>/share/mmsim/solutions``, where a wheel installs them (pyproject's
    data-files: Colab, or an archive installed without ``-e``)."""
    import sys
    import sysconfig

    candidates = [_SOLUTIONS, _Path(sysconfig.get_path("data")) / "share" / "mmsim" / "solutions",
                  _Path(sys.prefix) / "share" / "mmsim" / "solutions"]
    return next((c for c in candidates if c.is_dir() and any(c.glob("*.py"))), _SOLUTIONS)


def solution(name: str) -> str:
    """The text of solution ``name`` (e.g. ``"04-ex1"``), from :func:`solutions_dir`; FileNotFoundError lists
    the ones there are."""
    where = solutions_dir()
    path = where / f"{name.removesuffix('.py')}.py"
    if not path.is_file():
        have = ", ".join(sorted(p.stem for p in where.glob("*.py"))) or "none"
        raise FileNotFoundError(f"no solution {name!r} in {where}; there are: {have}")
    return path.read_text()


#: The checkers' names before "slack" became "free slots" everywhere: they still work, with a FutureWarning.
__getattr__ = _deprecation.renamed_module_names(__name__, {
    **{f"check_{stem}_slack": f"check_{stem}_free_slots"
       for stem in ("smaller_headroom", "k_whole_min", "changed_at", "fail_at")},
    "SLACKS": "FREE_SLOTS_TRIED", "CAPSTONE_SLACKS": "CAPSTONE_FREE_SLOTS"})
