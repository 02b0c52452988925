"""The course's one exercise mechanism: answer normalisers, a :class:`Feedback` verdict, and :func:`judge`.

Every ``check_...(answer)`` of :mod:`mmsim.exercises` returns a :class:`Feedback`. It is true when the answer
is right (so ``assert check_x(answer)`` works) and *displays itself* as one ✔/✘ line: as the last line of a
notebook cell it shows exactly one message (HTML in Jupyter, text elsewhere), and nothing is printed, so no
stray ``Out: False`` appears under it. Its :attr:`Feedback.reason` names the hint it gave (``"too_few"``,
``"gt_vs_ge"``, ...), which the tests use to check that each typical wrong answer gets its own hint.

One family of normalisers reads answers the same way in every notebook (:func:`as_int`, :func:`as_number`,
:func:`as_int_set`, :func:`as_str_set`, :func:`as_int_pair`, :func:`as_errname`): ``3``, ``3.0``, ``"3"``
and ``numpy.int64(3)`` are the same whole number; a set may be given as a set, list, tuple, range, pandas
Series, a bare number (``5`` for ``{5}``) or a string such as ``"3, 4, 5"``; ``True``/``False`` are never
numbers. None (the notebooks' placeholder) and ``...`` are "no answer yet". A check never raises, whatever
the answer is.

>>> fb = judge(3.0, 3, as_int, "a whole number", "Right: 3.")
>>> bool(fb), fb
(True, ✔ Right: 3.)
>>> judge(None, 3, as_int, "a whole number", "Right.").reason
'no_answer'
>>> judge(2, 3, as_int, "a whole number", "Right.", fallback="Count again.")
✘ 2 is too few. Count again.
"""

from __future__ import annotations

import errno as _errno
import html
import math
import numbers
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "Feedback",
    "Hint",
    "as_errname",
    "as_int",
    "as_int_pair",
    "as_int_set",
    "as_number",
    "as_str_set",
    "is_missing",
    "judge",
    "judge_mapping",
    "judge_share",
]


# ---- the verdict ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Feedback:
    """The verdict of one check: true iff the answer is right; displays as one ✔/✘ line.

    Attributes
    ----------
    correct:
        Whether the answer is right (also ``bool(feedback)``).
    message:
        The line after the ✔/✘ mark.
    reason:
        ``"right"``, ``"no_answer"``, ``"bad_shape"``, or the name of the hint given for a wrong answer.
    """

    correct: bool
    message: str
    reason: str = ""

    def __bool__(self) -> bool:
        return self.correct

    @property
    def line(self) -> str:
        """The whole line, mark included: ``"✔ Right: ..."`` or ``"✘ ..."``."""
        return ("✔ " if self.correct else "✘ ") + self.message

    def __repr__(self) -> str:
        return self.line

    __str__ = __repr__

    def _repr_html_(self) -> str:
        # a question not answered yet is not an error: neutral blue-grey (it is what every static page shows)
        colour, back = (("#1b6e3c", "#e8f5ec") if self.correct else ("#34495e", "#eef1f4")
                        if self.reason == "no_answer" else ("#9b1c1c", "#fbeaea"))
        return (f'<div class="mmsim-feedback" style="color:{colour};background:{back};padding:4px 8px;'
                f'border-radius:4px;font-family:sans-serif">{html.escape(self.line)}</div>')


def _right(message: str) -> Feedback:
    return Feedback(True, message, "right")


def _wrong(message: str, reason: str) -> Feedback:
    return Feedback(False, message, reason)


def is_missing(answer: Any) -> bool:
    """True for the placeholders ``None`` and ``...``."""
    return answer is None or answer is Ellipsis


# ---- normalisers: each returns the answer in its canonical form, or None when it is not of that shape -----


def as_int(answer: Any) -> int | None:
    """A whole number: ints and numpy ints, integral floats, digit strings (``" 3 "``); not bools.

    >>> as_int(3), as_int(3.0), as_int("3"), as_int(3.5), as_int(True), as_int("three")
    (3, 3, 3, None, None, None)
    """
    if isinstance(answer, bool) or is_missing(answer):
        return None
    if isinstance(answer, numbers.Integral):
        return int(answer)
    if isinstance(answer, numbers.Real):
        f = float(answer)
        return int(f) if math.isfinite(f) and f.is_integer() else None
    if isinstance(answer, str):
        text = answer.strip().replace("+", "", 1) if answer.strip().startswith("+") else answer.strip()
        if re.fullmatch(r"-?\d{1,30}", text):
            return int(text)
        if re.fullmatch(r"-?\d{1,30}\.0*", text):
            return int(float(text))
    return None


def as_number(answer: Any) -> tuple[float, bool] | None:
    """A real number and whether it was written as a percentage (``"9.1 %"``); not bools, not NaN.

    >>> as_number(0.25), as_number("9.1 %"), as_number("0.5"), as_number(True)
    ((0.25, False), (9.1, True), (0.5, False), None)
    """
    if isinstance(answer, bool) or is_missing(answer):
        return None
    percent = False
    if isinstance(answer, str):
        text = answer.strip()
        if text.endswith("%"):
            percent, text = True, text[:-1].strip()
        try:
            value = float(text)
        except ValueError:
            return None
    elif isinstance(answer, numbers.Real):
        value = float(answer)
    else:
        return None
    return (value, percent) if math.isfinite(value) else None


def _items(answer: Any) -> list[Any] | None:
    """The elements of a collection answer; a bare scalar is a collection of one; a string is split at
    commas and spaces. None for a mapping or a non-iterable object."""
    if isinstance(answer, Mapping) or is_missing(answer):
        return None
    if isinstance(answer, str):
        parts = [p for p in re.split(r"[\s,;{}()\[\]]+", answer) if p]
        return [p.strip("'\"") for p in parts]
    if isinstance(answer, (numbers.Number, bytes)):
        return [answer]
    if not isinstance(answer, Iterable):
        return None
    try:
        return list(answer)
    except Exception:  # a broken iterable is a wrong shape, not a crash
        return None


def as_int_set(answer: Any) -> frozenset[int] | None:
    """A set of whole numbers, from a set, list, tuple, range, Series, a bare number or ``"3, 4, 5"``.

    >>> sorted(as_int_set(range(2, 5))), sorted(as_int_set("3,4")), sorted(as_int_set(5)), as_int_set([1.5])
    ([2, 3, 4], [3, 4], [5], None)
    """
    items = _items(answer)
    if items is None:
        return None
    out = [as_int(v) for v in items]
    if any(v is None for v in out):
        return None
    return frozenset(v for v in out if v is not None)


def as_str_set(answer: Any) -> frozenset[str] | None:
    """A set of names (strings, stripped), from a set, list, tuple, Series, one name, or ``"a, b"``.

    >>> sorted(as_str_set(["seed-S", " seed-W "])), sorted(as_str_set("seed-S")), as_str_set([1])
    (['seed-S', 'seed-W'], ['seed-S'], None)
    """
    items = _items(answer)
    if items is None or not all(isinstance(v, str) for v in items):
        return None
    return frozenset(v.strip() for v in items)


def as_int_pair(answer: Any) -> tuple[int, int] | None:
    """Two whole numbers in order, from a tuple, list or ``"0, 1"``.

    >>> as_int_pair((0, 1.0)), as_int_pair("0, 1"), as_int_pair({0, 1}), as_int_pair((1, 2, 3))
    ((0, 1), (0, 1), None, None)
    """
    if isinstance(answer, (set, frozenset)):
        return None  # a set has no order
    items = _items(answer)
    if items is None or len(items) != 2:
        return None
    a, b = as_int(items[0]), as_int(items[1])
    return None if a is None or b is None else (a, b)


def as_errname(answer: Any) -> str | None:
    """``"OK"`` or an errno name, upper case: ``"enomem"``, ``"-ENOMEM"``, ``12`` and ``"ok"`` are read.

    >>> as_errname("enomem"), as_errname(12), as_errname(" ok "), as_errname("nope")
    ('ENOMEM', 'ENOMEM', 'OK', None)
    """
    if isinstance(answer, bool) or is_missing(answer):
        return None
    if isinstance(answer, numbers.Integral):
        return _errno.errorcode.get(abs(int(answer)))
    if isinstance(answer, str):
        text = answer.strip().lstrip("-").upper()
        if text in ("OK", "0", "SUCCESS"):
            return "OK"
        if text in _errno.errorcode.values():
            return text
        # FALSE_POSITIVE and the other class names are answers of a different kind: keep them to hint
        if text in ("FALSE_POSITIVE", "CLEAN_FAIL", "PARTIAL_FAIL"):
            return text
    return None


# ---- judging ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Hint:
    """A typical wrong answer and what to say to it: ``when(got, expected)`` picks it, ``reason`` names it."""

    when: Callable[[Any, Any], bool]
    reason: str
    text: str | Callable[[Any, Any], str]

    def say(self, got: Any, expected: Any) -> str:
        """The hint's text for this answer (``text`` may be a function of the answer and the expected value)."""
        return self.text(got, expected) if callable(self.text) else self.text


def _show(value: Any) -> str:
    if isinstance(value, frozenset):
        items = sorted(value, key=lambda v: (str(type(v)), v))
        return "{" + ", ".join(repr(v) if isinstance(v, str) else str(v) for v in items) + "}" if items else "set()"
    if isinstance(value, str):
        return repr(value)
    text = repr(value)
    return text if len(text) <= 80 else text[:68] + "..."


def _set_gap(got: frozenset, want: frozenset, what: str) -> tuple[str, str]:
    missing, extra = want - got, got - want
    parts = []
    if missing:
        parts.append(f"{len(missing)} {what} missing")
    if extra:
        parts.append(f"{len(extra)} {what} that should not be there: {_show(frozenset(extra))}")
    reason = "missing_and_extra" if missing and extra else ("missing" if missing else "extra")
    return "; ".join(parts), reason


def _entry_gap(got: Any, want: Any) -> tuple[str, str]:
    """What is wrong with one entry of a dict answer when no hint of the exercise matches: for sets, how many
    values are missing and which are extra (as :func:`judge` says it); for numbers, too few or too many.

    >>> _entry_gap(frozenset({1, 2}), frozenset({2, 3}))
    ('1 value(s) missing; 1 value(s) that should not be there: {1}', 'missing_and_extra')
    >>> _entry_gap(5, 3), _entry_gap(None, frozenset({1}))
    (('too many', 'too_many'), ('not a value of the expected kind', 'wrong_entry'))
    """
    if isinstance(got, frozenset) and isinstance(want, frozenset):
        return _set_gap(got, want, "value(s)")
    if isinstance(got, int) and isinstance(want, int) and not isinstance(got, bool):
        reason = "too_few" if got < want else "too_many"
        return reason.replace("_", " "), reason
    if got is None:
        return "not a value of the expected kind", "wrong_entry"
    return "not this one", "wrong_entry"


def judge(answer: Any, expected: Any, normalise: Callable[[Any], Any], shape: str, right: str, *,
          hints: Sequence[Hint] = (), fallback: str = "", what: str = "value(s)") -> Feedback:
    """Compare ``answer`` (read with ``normalise``) with the ``expected`` value the check computed.

    ``shape`` says what the answer should look like (for "no answer yet" and wrong shapes), ``right`` is the
    success line. A wrong answer gets the first of ``hints`` whose ``when(got, expected)`` holds; otherwise, for
    numbers, "too few"/"too many" (reasons ``too_few``/``too_many``) and for sets what is missing or extra
    (``missing``/``extra``/``missing_and_extra``), followed by ``fallback``.
    """
    if is_missing(answer):
        return _wrong(f"No answer yet: replace None with {shape} and run the cell again.", "no_answer")
    got = normalise(answer)
    if got is None:
        return _wrong(f"Expected {shape}, got {type(answer).__name__} {_show(answer)}.", "bad_shape")
    if got == expected:
        return _right(right)
    for h in hints:
        try:
            hit = h.when(got, expected)
        except Exception:  # a hint that does not apply to this shape of answer
            hit = False
        if hit:
            return _wrong(f"{_show(got)}: {h.say(got, expected)}", h.reason)
    tail = f" {fallback}" if fallback else ""
    if isinstance(got, int) and isinstance(expected, int):
        reason = "too_few" if got < expected else "too_many"
        return _wrong(f"{got} is {reason.replace('_', ' ')}.{tail}", reason)
    if isinstance(got, frozenset) and isinstance(expected, frozenset):
        gap, reason = _set_gap(got, expected, what)
        return _wrong(f"Not quite: {gap}.{tail}", reason)
    return _wrong(f"{_show(got)} is not it.{tail}", "wrong")


def judge_share(answer: Any, expected: float, right: str, *, hints: Sequence[Hint] = (), fallback: str = "",
                tolerance: float = 0.0005) -> Feedback:
    """Judge a share (a rate) given as a fraction (``0.091``) or as a percentage (``9.1``, ``"9.1 %"``).

    A fraction is right when it is within ``tolerance`` of ``expected`` (default 0.0005: whatever rounds to the
    same 0.1 % the success line prints, e.g. 0.091 for 1/11 = 9.09 %); a percentage (a value above 1, or a
    string ending in ``%``) when it is within ``100 * tolerance`` of ``100 * expected``. A value between 0 and
    1 that only fits as a percentage is accepted as one. ``hints`` get the answer as a fraction.

    >>> judge_share(0.091, 1 / 11, "Right.").correct, judge_share("9.1 %", 1 / 11, "Right.").correct
    (True, True)
    >>> judge_share(0.08, 1 / 11, "Right.").reason
    'too_few'
    """
    if is_missing(answer):
        return _wrong("No answer yet: replace None with a fraction between 0 and 1 (or a percentage) "
                      "and run the cell again.", "no_answer")
    got = as_number(answer)
    if got is None:
        return _wrong(f"Expected a number (a fraction such as 0.25, or a percentage), got "
                      f"{type(answer).__name__} {_show(answer)}.", "bad_shape")
    value, percent = got
    as_fraction = value / 100 if (percent or value > 1) else value
    if abs(as_fraction - expected) <= tolerance + 1e-12:
        return _right(right)
    if not percent and 0 <= value <= 1 and abs(value / 100 - expected) <= tolerance + 1e-12:
        return _right(right + f" (read as {value:g} %)")
    for h in hints:
        try:
            hit = h.when(as_fraction, expected)
        except Exception:
            hit = False
        if hit:
            return _wrong(f"{value:g}{' %' if percent or value > 1 else ''}: {h.say(as_fraction, expected)}", h.reason)
    if as_fraction < 0 or as_fraction > 1:
        return _wrong(f"{value:g} is not a share: give a fraction between 0 and 1 (or a percentage up to 100).",
                      "bad_shape")
    reason = "too_few" if as_fraction < expected else "too_many"
    return _wrong(f"{value:g}{' %' if percent or value > 1 else ''} is too {'low' if reason == 'too_few' else 'high'}."
                  + (f" {fallback}" if fallback else ""), reason)


def judge_mapping(answer: Any, expected: Mapping[Any, Any], *, key: Callable[[Any], Any],
                  value: Callable[[Any], Any], shape: str, right: str,
                  hints: Mapping[Any, Sequence[Hint]] | None = None, fallback: str = "") -> Feedback:
    """Judge a dict answer entry by entry: keys read with ``key``, values with ``value``.

    The keys must be exactly those of ``expected``. Each wrong entry gets the first matching hint of
    ``hints[key]`` (or of ``hints[None]``, for every key); the message lists the wrong entries, and the reason
    is the first wrong entry's hint (``"wrong_entry"`` without one).
    """
    if is_missing(answer):
        return _wrong(f"No answer yet: replace None with {shape} and run the cell again.", "no_answer")
    if not isinstance(answer, Mapping):
        return _wrong(f"Expected {shape}, got {type(answer).__name__} {_show(answer)}.", "bad_shape")
    got: dict[Any, Any] = {}
    for k, v in answer.items():
        kk = key(k)
        if kk is None:
            return _wrong(f"{_show(k)} is not one of the keys asked for ({', '.join(map(str, expected))}).",
                          "bad_key")
        got[kk] = v
    missing = [k for k in expected if k not in got]
    extra = [k for k in got if k not in expected]
    if missing or extra:
        parts = ([f"missing {', '.join(map(str, missing))}"] if missing else []) + (
            [f"not asked for: {', '.join(map(str, extra))}"] if extra else [])
        return _wrong(f"The keys must be exactly {', '.join(map(str, expected))}: {'; '.join(parts)}.", "bad_key")
    wrong: list[str] = []
    reason = ""
    for k, want in expected.items():
        raw = got[k]
        g = None if raw is None else value(raw)
        if raw is None and want is None:
            continue
        if raw is not None and g is not None and g == want:
            continue
        text, why = _entry_gap(g, want)
        for h in list((hints or {}).get(k, ())) + list((hints or {}).get(None, ())):
            try:
                hit = h.when(g, want)
            except Exception:
                hit = False
            if hit:
                text, why = h.say(g, want), h.reason
                break
        reason = reason or why
        shown = _show(raw) if g is None else _show(g)
        wrong.append(f"{k}: {shown}" + (f" ({text})" if text else ""))
    if not wrong:
        return _right(right)
    return _wrong("Not quite: " + "; ".join(wrong) + "." + (f" {fallback}" if fallback else ""), reason)
