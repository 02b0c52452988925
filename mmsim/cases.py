"""Single cases at a real ``vm.max_map_count``: the :class:`Runner` cache of padded address spaces.

Classifying one scenario at 65,530 VMAs means padding ~65,500 filler VMAs first (about a third of a second).
A Runner pads one filler-only template per size and copies it per (scenario, kernel) (copy-on-write,
milliseconds), so the CLI, the widgets and exact sweeps (:func:`mmsim.sweep` with ``exact=True``) classify
case after case at the real size. (Moved from :mod:`mmsim.experiments`, which still exports it.)
"""

from __future__ import annotations

from collections import OrderedDict

from .addrspace import AddressSpace
from .constants import DEFAULT_MAX_MAP_COUNT
from .deprecation import renamed_arguments
from .errors import MMError
from .outcome import Outcome, classify
from .profiles import get_profile
from .scenarios import Scenario, get

__all__ = ["Runner"]


class Runner:
    """Classify single cases at a real ``max_map_count`` (65530) without re-padding every time.

    Two ways to name a case:

    * by **free slots** (:meth:`run`, :meth:`setup`, :meth:`before_after`): the process is padded to
      ``map_count = max_map_count - free_slots``, as the CLI and the notebooks' tables do;
    * by **the sysctl** (:meth:`at_limit`, :meth:`process`, :meth:`before_after_at`): the process holds a
      fixed ``map_count`` VMAs (its layout plus filler, like a JVM or a search engine near the default limit)
      and only ``vm.max_map_count`` changes, as when an administrator moves the sysctl. Nothing is padded
      again when the limit moves: the cached process just gets the new ``max_map_count`` (the model reads it
      at every check, like the kernel). The widgets' knob works this way.

    Padding 65,530 filler VMAs takes about a third of a second. A Runner pads one filler-only *template*
    per size, copies it per (scenario, kernel) (copy-on-write, milliseconds), maps the scenario's layout
    into the copy and keeps the result in a small LRU cache; a new free-slots value only adds or removes a few filler
    VMAs. :meth:`at_limit` also keeps its outcomes (an LRU of ``outcomes`` entries): a slider that comes back
    to a value costs a dict look-up. Instances hold no global state: make one per widget or per command.

    The address spaces returned by :meth:`setup` and :meth:`process` are cached and shared: do not change
    them (copy first). Each call sets the ``max_map_count`` it was asked for on the shared object.
    """

    #: Scenario VMAs a template leaves room for (the template holds ``max_map_count - HEADROOM`` filler VMAs).
    HEADROOM = 64
    #: The map_count of the process the sysctl methods put a scenario in by default: 3 below the default
    #: limit (65,530), so the default sysctl leaves 3 free slots, where the 2019 bug shows (semantics §7.1).
    MAP_COUNT = DEFAULT_MAX_MAP_COUNT - 3

    def __init__(self, maxsize: int = 12, outcomes: int = 4096) -> None:
        self.maxsize = maxsize
        self.max_outcomes = outcomes
        self._templates: dict[int, AddressSpace] = {}
        self._cache: OrderedDict[tuple, AddressSpace] = OrderedDict()
        self._outcomes: OrderedDict[tuple, Outcome] = OrderedDict()

    def _template(self, max_map_count: int) -> AddressSpace:
        t = self._templates.get(max_map_count)
        if t is None:
            t = AddressSpace("5.0", max_map_count)
            t.pad(max(0, max_map_count - self.HEADROOM))
            self._templates = {max_map_count: t}  # one template at a time: each is ~65k VMAs
        return t

    def _base(self, sc: Scenario, kernel: str, max_map_count: int) -> AddressSpace:
        key = (sc, kernel, max_map_count)
        mm = self._cache.get(key)
        if mm is not None:
            self._cache.move_to_end(key)
            return mm
        if sc.op_kwargs is not None:
            mm = self._template(max_map_count).with_kernel(kernel)
            # Room for the whole layout above the template's filler, however many VMAs it has: a setup
            # operation adds at most 3 (a FIXED mremap into a VMA's middle). Filler beyond the target is
            # removed again by setup(), so a layout of more than HEADROOM VMAs works too.
            mm.max_map_count = max_map_count + self.HEADROOM + 1024 + 3 * len(sc.setup_ops)
            sc.replay_setup(mm)
            mm.max_map_count = max_map_count
            mm.trace.clear()
        else:  # a hand-made scenario: only its build function knows the layout
            mm = sc.build(kernel, max_map_count)
        self._cache[key] = mm
        while len(self._cache) > self.maxsize:
            self._cache.popitem(last=False)
        return mm

    @renamed_arguments(slack="free_slots")
    def setup(self, scenario: Scenario | str, kernel: str, free_slots: int,
              max_map_count: int = DEFAULT_MAX_MAP_COUNT) -> AddressSpace:
        """The scenario under ``kernel`` with ``free_slots`` free slots (cached and shared: do not mutate it)."""
        sc = get(scenario)
        kernel = get_profile(kernel).name
        mm = self._base(sc, kernel, max_map_count)
        mm.max_map_count = max_map_count  # a process() caller may have moved the limit of this shared object
        target = max_map_count - free_slots
        try:
            mm.pad(target - mm.map_count)
        except ValueError:
            raise ValueError(
                f"scenario {sc.name!r} cannot have {free_slots} free slots under max_map_count={max_map_count}"
            ) from None
        return mm

    @renamed_arguments(slack="free_slots")
    def run(self, scenario: Scenario | str, kernel: str, free_slots: int,
            max_map_count: int = DEFAULT_MAX_MAP_COUNT, *, trace: bool = True) -> Outcome:
        """:meth:`Scenario.run`, faster on repeated use (``trace=False``: without the records, as sweeps)."""
        sc = get(scenario)
        return classify(self.setup(sc, kernel, free_slots, max_map_count), sc.op, *sc.args, trace=trace)

    @renamed_arguments(slack="free_slots")
    def before_after(self, scenario: Scenario | str, kernel: str, free_slots: int,
                     max_map_count: int = DEFAULT_MAX_MAP_COUNT) -> tuple[Outcome, AddressSpace, AddressSpace]:
        """``(outcome, before, after)``: the classified call, the state before it, and a copy on which the
        call really ran (whether it failed or not: a PARTIAL_FAIL shows its half-changed state)."""
        return self._before_after(get(scenario), self.setup(scenario, kernel, free_slots, max_map_count))

    @staticmethod
    def _before_after(sc: Scenario, before: AddressSpace) -> tuple[Outcome, AddressSpace, AddressSpace]:
        outcome = classify(before, sc.op, *sc.args)
        after = before.copy()
        try:
            sc.apply(after)
        except MMError:
            pass
        return outcome, before, after

    # ---- the sysctl as the knob ----------------------------------------------------------------------

    def process(self, scenario: Scenario | str, kernel: str, max_map_count: int,
                map_count: int = MAP_COUNT) -> AddressSpace:
        """The scenario inside a process of ``map_count`` VMAs (its layout plus filler) under the limit
        ``max_map_count`` (cached and shared: do not mutate it).

        The process is built once per (scenario, kernel, map_count); another ``max_map_count`` only sets the
        attribute, as writing the sysctl would. ``max_map_count`` may be below ``map_count``: lowering the
        sysctl removes no VMA (every map_count check then fails, and unmapping still works).
        """
        sc = get(scenario)
        mm = self.setup(sc, kernel, 0, map_count)  # map_count VMAs, keyed by the process size
        mm.max_map_count = max_map_count
        return mm

    def at_limit(self, scenario: Scenario | str, kernel: str, max_map_count: int,
                 map_count: int = MAP_COUNT, *, trace: bool = True) -> Outcome:
        """The call classified in a process of ``map_count`` VMAs under ``vm.max_map_count = max_map_count``.

        Free slots before the call: ``max_map_count - map_count``. Outcomes are cached per (scenario, kernel,
        map_count, max_map_count, trace); they are fresh objects of :func:`mmsim.classify` the first time.
        ``trace=False`` takes the trace-less fast path (an :class:`~mmsim.trace.TraceSummary`).
        """
        sc = get(scenario)
        kernel = get_profile(kernel).name
        key = (sc, kernel, map_count, max_map_count, trace)
        o = self._outcomes.get(key)
        if o is not None:
            self._outcomes.move_to_end(key)
            return o
        o = classify(self.process(sc, kernel, max_map_count, map_count), sc.op, *sc.args, trace=trace)
        self._outcomes[key] = o
        while len(self._outcomes) > self.max_outcomes:
            self._outcomes.popitem(last=False)
        return o

    def before_after_at(self, scenario: Scenario | str, kernel: str, max_map_count: int,
                        map_count: int = MAP_COUNT
                        ) -> tuple[Outcome, AddressSpace, AddressSpace]:
        """:meth:`before_after` in a process of ``map_count`` VMAs under ``vm.max_map_count = max_map_count``.

        ``before`` is the shared cached process (do not mutate it; its limit is set to ``max_map_count``),
        ``after`` a copy on which the call really ran.
        """
        sc = get(scenario)
        return self._before_after(sc, self.process(sc, kernel, max_map_count, map_count))
