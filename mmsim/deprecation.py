"""Renamed names that still work for a while: the old spelling warns with a :class:`FutureWarning` (shown to
end users, in notebooks too) naming the new one, and then does exactly what the new one does.

mmsim calls one idea by one word. "Free slots" (``max_map_count - map_count`` before a call) was also called
"slack" until 0.2: ``slack=``, ``slacks=``, ``slack_before=``, ``Outcome.slack``, ``slack_table`` and the
CLI's ``--slack``/``--slacks`` still work and warn (see ``docs/glossary.md``, "free slots").

* :func:`renamed_arguments` — a function's keyword arguments renamed;
* :func:`renamed_attribute` — a read-only attribute (a property) renamed;
* :func:`renamed_module_names` — a module's ``__getattr__`` for renamed module-level names;
* :func:`warn_user` — a warning attributed to the user's line, however deep inside mmsim it is raised.
"""

from __future__ import annotations

import functools
import importlib
import os
import sys
import warnings
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

__all__ = ["renamed_arguments", "renamed_attribute", "renamed_module_names", "warn_renamed", "warn_user"]

F = TypeVar("F", bound=Callable[..., Any])


_PACKAGE = os.path.dirname(os.path.abspath(__file__)) + os.sep


def warn_user(message: str, category: type[Warning] = FutureWarning) -> None:
    """``warnings.warn(message, category)`` attributed to the first caller outside the mmsim package (the
    user's line in a notebook or script), whatever the depth of mmsim frames between. O(stack depth).

    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as w:
    ...     warnings.simplefilter("always")
    ...     warn_user("a note")
    >>> str(w[0].message), w[0].filename.startswith("<doctest")
    ('a note', True)
    """
    frame, level = sys._getframe(1), 2
    while frame.f_back is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category, stacklevel=level)


def warn_renamed(old: str, new: str) -> None:
    """Warn (FutureWarning, at the user's line) that ``old`` is a deprecated spelling of ``new``. O(stack depth).

    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as w:
    ...     warnings.simplefilter("always")
    ...     warn_renamed("slack=", "free_slots=")
    >>> str(w[0].message), w[0].category.__name__
    ('slack= is deprecated: use free_slots= (the same meaning)', 'FutureWarning')
    """
    warn_user(f"{old} is deprecated: use {new} (the same meaning)")


def renamed_arguments(**old_to_new: str) -> Callable[[F], F]:
    """Decorate a function whose keyword arguments were renamed (``old="new"``): ``old=`` still works, with a
    FutureWarning; passing both is a TypeError naming them. The signature shown (``help()``, the docs) is the
    new one. O(renamed arguments) per call.

    >>> @renamed_arguments(slack="free_slots")
    ... def f(free_slots: int = 0) -> int:
    ...     return free_slots
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as w:
    ...     warnings.simplefilter("always")
    ...     f(slack=3), f(3), len(w)
    (3, 3, 1)
    >>> f(slack=1, free_slots=2)
    Traceback (most recent call last):
    ...
    TypeError: f() got free_slots= and its deprecated spelling slack=: give free_slots= alone
    """
    def decorate(fn: F) -> F:
        name = fn.__qualname__

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            for old, new in old_to_new.items():
                if old in kwargs:
                    if new in kwargs:
                        raise TypeError(f"{name}() got {new}= and its deprecated spelling {old}=: give {new}= alone")
                    warn_renamed(f"{name}(): {old}=", f"{new}=")
                    kwargs[new] = kwargs.pop(old)
            return fn(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


def renamed_attribute(new: str, old: str) -> property:
    """A read-only property ``old`` that warns and returns ``self.<new>``. O(1).

    >>> class A:
    ...     free_slots = 3
    ...     slack = renamed_attribute("free_slots", "slack")
    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     A().slack
    3
    """
    def get(self: Any) -> Any:
        warn_renamed(f"{type(self).__name__}.{old}", f".{new}")
        return getattr(self, new)

    return property(get, doc=f"Deprecated spelling of :attr:`{new}`.")


def renamed_module_names(module: str, renames: Mapping[str, str],
                         fallback: Callable[[str], Any] | None = None) -> Callable[[str], Any]:
    """A module-level ``__getattr__`` for ``module`` (its ``__name__``) that maps each old name of ``renames``
    to its new name, with a FutureWarning, and hands any other name to ``fallback`` (or raises AttributeError).
    O(1) per lookup.

    >>> getattr_ = renamed_module_names("mmsim.experiments", {"slack_table": "free_slots_table"})
    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     getattr_("slack_table").__name__
    'free_slots_table'
    """
    def module_getattr(name: str) -> Any:
        if name in renames:
            warn_renamed(f"{module}.{name}", f"{module}.{renames[name]}")
            return getattr(importlib.import_module(module), renames[name])
        if fallback is not None:
            return fallback(name)
        raise AttributeError(f"module {module!r} has no attribute {name!r}")

    return module_getattr
