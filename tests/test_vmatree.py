"""VMATree: the sorted map with gap search, against a plain sorted dict and a brute-force gap search.

The gap searches are compared with :func:`brute_topdown` / :func:`brute_bottomup`, which try every
address one by one over a small integer universe (the tests use the tree in units of 1, class
:class:`Unit`; the real tree's unit is a page).
The property tests use trees with tiny chunks and groups (subclasses with small ``_LOAD`` /
``_GLOAD``) so that a few dozen VMAs already exercise chunk and group splits and merges, the
segment tree and copy-on-write; :meth:`VMATree.check` runs after every step.
"""

from __future__ import annotations

import random
from bisect import bisect_left, bisect_right, insort

import hypothesis.strategies as st
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from mmsim.vma import VMA
from mmsim.vmatree import VMATree

U = 160  # the property tests' universe: addresses 0 .. U


class Unit(VMATree):
    """The tree in units of 1 instead of pages (``_SHIFT = 0``), so addresses can be small ints."""

    _SHIFT = 0
    _MASK = 0


class Tiny(Unit):
    """Chunks of 1..4 VMAs, groups of 1..4 chunks."""

    _LOAD = 2
    _GLOAD = 2


class Small(Unit):
    """Chunks of 2..8 VMAs (merge below 2), groups of 2..8 chunks."""

    _LOAD = 4
    _GLOAD = 4


def vma(a: int, b: int, prot: int = 1) -> VMA:
    return VMA(a, b, prot)


# ---- references ---------------------------------------------------------------------------------------
def occupied(vmas) -> set[int]:
    return {x for v in vmas for x in range(v.start, v.end)}


def brute_topdown(vmas, length: int, low: int, high: int) -> int | None:
    """The highest free [a, a + length) with low <= a, a + length <= high: tries every a."""
    occ = occupied(vmas)
    for a in range(high - length, max(low, 0) - 1, -1):
        if not any(x in occ for x in range(a, a + length)):
            return a
    return None


def brute_bottomup(vmas, length: int, low: int, high: int) -> int | None:
    occ = occupied(vmas)
    for a in range(max(low, 0), high - length + 1):
        if not any(x in occ for x in range(a, a + length)):
            return a
    return None


def free_gaps(vmas) -> list[tuple[int, int]]:
    """The free intervals [lo, hi) between sorted VMAs, from 0, the last one unbounded (hi None)."""
    out, prev = [], 0
    for v in vmas:
        if v.start > prev:
            out.append((prev, v.start))
        prev = v.end
    out.append((prev, None))
    return out


def ref_topdown(vmas, length: int, low: int, high: int) -> int | None:
    """The same answer as brute_topdown, from the list of gaps (fast enough for large trees)."""
    low = max(low, 0)
    best = None
    for lo, hi in free_gaps(vmas):
        top = high if hi is None else min(hi, high)
        if top - max(lo, low) >= length:
            best = top - length
    return best


def ref_bottomup(vmas, length: int, low: int, high: int) -> int | None:
    low = max(low, 0)
    for lo, hi in free_gaps(vmas):
        top = high if hi is None else min(hi, high)
        a = max(lo, low)
        if top - a >= length:
            return a
    return None


class Model:
    """A plain dict plus its sorted keys: the expected contents of one tree."""

    def __init__(self, d: dict[int, VMA] | None = None) -> None:
        self.d = dict(d or {})
        self.ks = sorted(self.d)

    def put(self, v: VMA) -> None:
        if v.start not in self.d:
            insort(self.ks, v.start)
        self.d[v.start] = v

    def pop(self, k: int) -> VMA:
        del self.ks[bisect_left(self.ks, k)]
        return self.d.pop(k)

    def keys(self) -> list[int]:
        return list(self.ks)

    def vmas(self) -> list[VMA]:
        return [self.d[k] for k in self.ks]

    def free(self, a: int, b: int) -> bool:
        """Whether [a, b) (a < b) meets no VMA."""
        i = bisect_left(self.ks, b)
        return a < b and (i == 0 or self.d[self.ks[i - 1]].end <= a)

    def next_start(self, a: int) -> int | None:
        i = bisect_right(self.ks, a)
        return self.ks[i] if i < len(self.ks) else None


def assert_same(tree: VMATree, model: Model) -> None:
    tree.check()
    assert len(tree) == len(model.d)
    assert list(tree.values()) == model.vmas()


def assert_queries(tree: VMATree, model: Model, addrs) -> None:
    ks = model.keys()
    for a in addrs:
        i = bisect_right(ks, a)
        assert tree.floor(a) == (model.d[ks[i - 1]] if i else None), ("floor", a)
        i = bisect_left(ks, a)
        assert tree.below(a) == (model.d[ks[i - 1]] if i else None), ("below", a)
        assert tree.ceiling(a) == (model.d[ks[i]] if i < len(ks) else None), ("ceiling", a)
        assert (a in tree) == (a in model.d)
        assert tree.get(a) == model.d.get(a)


# ---- unit tests ---------------------------------------------------------------------------------------
def test_empty_tree() -> None:
    t = Unit()
    t.check()
    assert len(t) == 0 and list(t.values()) == [] and t.starts(0, 100) == []
    assert t.floor(5) is None and t.below(5) is None and t.ceiling(5) is None
    assert t.gap_topdown(5, 10, 100) == 95
    assert t.gap_bottomup(5, 10, 100) == 10
    assert t.gap_topdown(5, 10, 14) is None and t.gap_bottomup(5, 10, 14) is None
    assert t.gap_topdown(4, 10, 14) == 10 == t.gap_bottomup(4, 10, 14)
    with pytest.raises(KeyError):
        t.pop(5)
    assert t.pop(5, None) is None


@pytest.mark.parametrize("length", [0, -1])
def test_length_must_be_positive(length: int) -> None:
    t = Unit.from_sorted([vma(10, 20)])
    with pytest.raises(ValueError):
        t.gap_topdown(length, 0, 100)
    with pytest.raises(ValueError):
        t.gap_bottomup(length, 0, 100)


def test_gap_exactly_length() -> None:
    t = Unit.from_sorted([vma(0, 10), vma(20, 30)])
    assert t.gap_topdown(10, 0, 30) == 10 == t.gap_bottomup(10, 0, 30)
    assert t.gap_topdown(11, 0, 30) is None and t.gap_bottomup(11, 0, 30) is None
    assert t.gap_topdown(11, 0, 41) == 30 == t.gap_bottomup(11, 0, 41)
    assert t.gap_topdown(11, 0, 40) is None  # [30, 41) sticks out of high


def test_low_and_high_inside_vmas_and_gaps() -> None:
    t = Unit.from_sorted([vma(10, 20), vma(30, 40), vma(50, 60)])
    assert t.gap_topdown(5, 15, 55) == 45  # high inside [50, 60): [40, 50) is the highest gap
    assert t.gap_bottomup(5, 15, 55) == 20  # low inside [10, 20)
    assert t.gap_bottomup(5, 22, 55) == 22  # low inside the gap [20, 30)
    assert t.gap_topdown(5, 15, 28) == 23  # high inside the gap [20, 30)
    assert t.gap_topdown(8, 23, 100) == 92  # above the last VMA
    assert t.gap_topdown(11, 23, 71) == 60 == t.gap_bottomup(11, 23, 71)
    assert t.gap_topdown(11, 23, 70) is None and t.gap_bottomup(11, 23, 70) is None
    assert t.gap_topdown(8, 23, 40) is None  # [20, 30) is cut to [23, 30) by low
    assert t.gap_bottomup(8, 23, 40) is None
    assert t.gap_bottomup(7, 23, 40) == 23 == t.gap_topdown(7, 23, 40)
    assert t.gap_topdown(10, 0, 10) == 0 == t.gap_bottomup(10, 0, 100)  # below the first VMA, from 0
    assert t.gap_topdown(10, -50, 10) == 0  # a negative low counts as 0
    assert t.gap_topdown(5, 50, 40) is None and t.gap_bottomup(5, 50, 40) is None  # low > high


def test_vmas_below_low_and_above_high() -> None:
    vmas = [vma(a, a + 1) for a in range(0, 1000, 2)] + [vma(1000, 1010)]
    vmas += [vma(a, a + 1) for a in range(1020, 2000, 2)]
    t = Small.from_sorted(vmas)
    t.check()
    assert t.gap_topdown(5, 500, 1500) == 1015 and t.gap_bottomup(5, 500, 1500) == 1010
    assert t.gap_topdown(10, 500, 1500) == 1010 == t.gap_bottomup(10, 500, 1500)
    assert t.gap_topdown(11, 500, 1500) is None and t.gap_bottomup(11, 500, 1500) is None
    assert t.gap_topdown(11, 0, 10**6) == 10**6 - 11 and t.gap_bottomup(11, 0, 10**6) == 1999


def test_from_sorted_rejects_bad_input() -> None:
    for bad in ([vma(10, 20), vma(15, 30)], [vma(30, 40), vma(10, 20)], [vma(10, 10)], [vma(10, 20), vma(10, 30)]):
        with pytest.raises(ValueError):
            Unit.from_sorted(bad)
    Unit.from_sorted([vma(10, 20), vma(20, 30)]).check()  # touching is fine
    Unit.from_sorted([]).check()


@pytest.mark.parametrize("cls", [Tiny, Small, Unit])
def test_from_sorted_matches_inserts(cls) -> None:
    vmas = [vma(a, a + 1 + a % 3) for a in range(0, 5000, 7)]
    a = cls.from_sorted(vmas)
    b = cls()
    for v in reversed(vmas):
        b[v.start] = v
    m = Model({v.start: v for v in vmas})
    for t in (a, b):
        assert_same(t, m)
        assert_queries(t, m, range(-3, 5010, 13))
    assert a.starts(100, 200) == [k for k in m.keys() if 100 <= k < 200] == b.starts(100, 200)


def test_update_small_and_large_batches() -> None:
    t = Small()
    m = Model()
    t.update({10: vma(10, 12)})
    m.put(vma(10, 12))
    big = {a: vma(a, a + 1) for a in range(100, 400, 2)}
    t.update(big)  # rebuild path
    for v in big.values():
        m.put(v)
    assert_same(t, m)
    few = {a: vma(a, a + 1) for a in range(20, 30, 2)}
    t.update(few)  # per-item path
    for v in few.values():
        m.put(v)
    assert_same(t, m)
    t.update({10: vma(10, 15), 50: vma(50, 51)})  # a replacement and a new start
    m.put(vma(10, 15))
    m.put(vma(50, 51))
    assert_same(t, m)


def test_copy_is_independent_both_ways() -> None:
    vmas = [vma(a, a + 1) for a in range(0, 3000, 2)]
    t = Small.from_sorted(vmas)
    u = t.copy()
    t.pop(100)
    t[101] = vma(101, 102)
    u.pop(2000)
    u[0] = vma(0, 2)  # grown: closes the gap [1, 2)
    m_t = Model({v.start: v for v in vmas})
    m_u = Model(m_t.d)
    m_t.pop(100)
    m_t.put(vma(101, 102))
    m_u.pop(2000)
    m_u.put(vma(0, 2))
    assert_same(t, m_t)
    assert_same(u, m_u)
    assert type(u) is Small
    assert u.gap_bottomup(2, 0, 10**6) == 1999 and t.gap_bottomup(2, 0, 10**6) == 99
    w = u.copy()
    w.update({a: vma(a, a + 1) for a in range(5000, 9000, 2)})
    assert_same(u, m_u)


def test_replace_moves_the_gap() -> None:
    t = Tiny.from_sorted([vma(a, a + 1) for a in range(0, 100, 2)])
    assert t.gap_topdown(2, 0, 99) is None
    t[40] = vma(40, 41, prot=3)  # same end: only the record changes
    t[50] = vma(50, 51)
    t.check()
    t.pop(52)
    t[50] = vma(50, 51)
    assert t.gap_topdown(2, 0, 99) == 52 and t.gap_bottomup(2, 0, 99) == 51  # [51, 54): the only gap >= 2
    t[50] = vma(50, 53)  # grown: [53, 54) is left
    assert t.gap_topdown(2, 0, 99) is None
    t[50] = vma(50, 51)  # trimmed again
    assert t.gap_topdown(3, 0, 99) == 51 and t.gap_bottomup(3, 0, 99) == 51
    t.check()


def test_stale_bound_tightened_then_found_further_down() -> None:
    """A search tightens a stale chunk bound, then finds its gap in a lower chunk of the same group.

    (Found by the state machine: the tightened group's entry in the segment tree was left stale.)
    """
    t = Small.from_sorted([vma(a, a + 1) for a in (0, 1, 2, 20, 22, 24, 43, 45, 47)])  # chunks of 4, 4, 1
    t[25] = vma(25, 27)  # splits the gap [25, 43) of 18 in the middle chunk: its bound stays 18
    t.check()
    assert t.gap_topdown(17, 0, 52) == 3  # tightens the chunk of [25, 43), then finds [3, 20)
    t.check()
    assert t.gap_topdown(18, 0, 52) is None and t.gap_bottomup(17, 0, 52) == 3
    t.check()


def test_random_large_tree_against_reference() -> None:
    """Default chunk sizes, ten thousand VMAs (20 groups): real splits and merges, gap search against the gap list."""
    rnd = random.Random(7)
    vmas = [vma(a, a + 1) for a in range(0, 20000, 2)]
    t = Unit.from_sorted(vmas)
    m = Model({v.start: v for v in vmas})
    for step in range(3000):
        r = rnd.random()
        if r < 0.35 and m.d:
            k = rnd.choice(m.ks)
            t.pop(k)
            m.pop(k)
        elif r < 0.6:
            a = rnd.randrange(0, 24000)
            n = rnd.randrange(1, 40)
            if m.free(a, a + n):
                t[a] = vma(a, a + n)
                m.put(t[a])
        elif r < 0.8 and m.d:
            k = rnd.choice(m.ks)
            nxt = m.next_start(k)
            e = rnd.randrange(k + 1, (nxt if nxt is not None else k + 50) + 1)
            t[k] = vma(k, e, 2)
            m.put(t[k])
        else:
            length = rnd.choice([1, 2, 3, 4, 5, 8, 20, 60])
            low = rnd.randrange(-10, 25000)
            high = low + rnd.randrange(0, 15000)
            vs = m.vmas()
            assert t.gap_topdown(length, low, high) == ref_topdown(vs, length, low, high)
            assert t.gap_bottomup(length, low, high) == ref_bottomup(vs, length, low, high)
        if step % 500 == 0:
            assert_same(t, m)
    assert_same(t, m)
    assert_queries(t, m, rnd.sample(range(-5, 25000), 300))
    for k in m.keys()[1000:6000]:  # a wide hole: chunk and group merges
        t.pop(k)
        m.pop(k)
    assert_same(t, m)
    vs = m.vmas()
    for length, low, high in [(5, 0, 10**5), (100, 0, 10**5), (100, 5000, 9000), (9000, 0, 10**5), (10**5, 0, 10**6)]:
        assert t.gap_topdown(length, low, high) == ref_topdown(vs, length, low, high)
        assert t.gap_bottomup(length, low, high) == ref_bottomup(vs, length, low, high)


@pytest.mark.parametrize("cls", [Tiny, Small])
def test_churn_in_windows(cls) -> None:
    """Fill and empty windows of the address space, checking after every step: every split and merge path."""
    rnd = random.Random(3)
    t, m = cls(), Model()
    for step in range(4000):
        lo = rnd.choice([0, 300, 600]) + (step // 400) % 3 * 20
        a = rnd.randrange(lo, lo + 200)
        r = rnd.random()
        if r < 0.5 - 0.2 * ((step // 1000) % 2):  # alternately growing and shrinking phases
            if m.free(a, a + 1):
                t[a] = vma(a, a + 1)
                m.put(t[a])
        elif r < 0.85:
            k = m.next_start(a - 1)
            if k is not None:
                assert t.pop(k) == m.pop(k)
        else:
            k = m.next_start(a - 1)
            if k is not None:
                nxt = m.next_start(k)
                t[k] = vma(k, rnd.randrange(k + 1, (nxt if nxt is not None else k + 4) + 1), 2)
                m.put(t[k])
        t.check()
        if step % 50 == 0:
            assert list(t.values()) == m.vmas()
            vs = m.vmas()
            for length in (1, 2, 5):
                assert t.gap_topdown(length, lo, lo + 200) == ref_topdown(vs, length, lo, lo + 200)
                assert t.gap_bottomup(length, lo, lo + 200) == ref_bottomup(vs, length, lo, lo + 200)


def test_group_merge_into_a_full_group_splits_again() -> None:
    """An undersized group merging into a full neighbour gives an oversized group, which splits."""
    t = Small.from_sorted([vma(a, a + 1) for a in range(0, 4800, 100)])  # 3 groups of 4 chunks of 4 VMAs
    m = Model({v.start: v for v in t.values()})
    lo, hi = t._groups[1].starts[0][0], t._groups[1].maxes[-1]
    a = lo + 2
    while len(t._groups[1].starts) < 2 * Small._GLOAD:
        t[a] = vma(a, a + 1)
        m.put(t[a])
        a += 2 if a % 100 < 90 else 100 - a % 100 + 2
        assert a < hi
    t.check()
    while len(t._groups) == 3:
        k = m.keys()[0]
        t.pop(k)
        m.pop(k)
        t.check()
    assert_same(t, m)
    assert max(len(grp.starts) for grp in t._groups) <= 2 * Small._GLOAD


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 40), st.integers(1, 6)), max_size=30),
    st.integers(1, 30),
    st.integers(-5, 200),
    st.integers(-5, 250),
)
def test_references_agree(spans, length, low, high) -> None:
    """The gap-list references (used on large trees) equal the brute force."""
    vmas, a = [], 0
    for gap, n in spans:
        a += gap
        vmas.append(vma(a, a + n))
        a += n
    assert ref_topdown(vmas, length, low, high) == brute_topdown(vmas, length, low, high)
    assert ref_bottomup(vmas, length, low, high) == brute_bottomup(vmas, length, low, high)


# ---- check() names the broken invariant ----------------------------------------------------------------
def _broken(how: str) -> VMATree:
    t = Tiny.from_sorted([vma(a, a + 1) for a in range(0, 60, 3)])
    grp = t._groups[1]
    if how == "keys sorted and unique":
        grp.starts[0][0] = grp.starts[0][1]  # a duplicate (the chunk's max is untouched)
    elif how == "dict and order in step":
        t._d[1000] = vma(1000, 1001)
    elif how == "key is the VMA's start":
        k = grp.starts[0][0]
        t._d[k] = vma(k + 1, k + 2)
    elif how == "VMAs non-overlapping":
        k = grp.starts[0][0]
        t._d[k] = vma(k, k + 5)
    elif how == "cached gaps":
        k = grp.starts[0][0]
        t._d[k] = vma(k, k + 2)
    elif how == "cached top end":
        t._top += 1
    elif how == "chunk gap bounds":
        grp.bounds[0] = 0
    elif how == "group gap bounds":
        t._seg.t[t._seg.size + 1] += 1
    elif how == "chunk maxes":
        grp.maxes[0] += 1
    return t


@pytest.mark.parametrize("how", ["keys sorted and unique", "dict and order in step", "key is the VMA's start",
                                 "VMAs non-overlapping", "cached gaps", "cached top end", "chunk gap bounds",
                                 "group gap bounds", "chunk maxes"])
def test_check_names_the_broken_invariant(how: str) -> None:
    with pytest.raises(AssertionError, match=how):
        _broken(how).check()


# ---- the property test ---------------------------------------------------------------------------------
class TreeMachine(RuleBasedStateMachine):
    """Random inserts, replacements, removals, bulk updates and copies on up to four trees at once.

    Every tree is compared with its model and checked after every step; gap searches and neighbour
    lookups are compared with the brute force and the model.
    """

    cls: type[VMATree] = Tiny

    def __init__(self) -> None:
        super().__init__()
        self.trees: list[tuple[VMATree, Model]] = [(self.cls(), Model())]

    def pick(self, i: int) -> tuple[VMATree, Model]:
        return self.trees[i % len(self.trees)]

    @rule(i=st.integers(0, 3), a=st.integers(0, U), n=st.integers(1, 5))
    def insert(self, i: int, a: int, n: int) -> None:
        t, m = self.pick(i)
        if a in m.d or not m.free(a, a + 1):
            return
        nxt = m.next_start(a)
        b = a + n if nxt is None else min(a + n, nxt)
        t[a] = vma(a, b)
        m.put(t[a])

    @rule(i=st.integers(0, 3), a=st.integers(0, U), step=st.integers(2, 4), count=st.integers(1, 40))
    def bulk(self, i: int, a: int, step: int, count: int) -> None:
        t, m = self.pick(i)
        items = {x: vma(x, x + 1) for x in range(a, a + step * count, step) if m.free(x, x + 1)}
        t.update(items)
        for v in items.values():
            m.put(v)

    @rule(i=st.integers(0, 3), j=st.integers(0, 10**6), e=st.integers(1, 8), prot=st.integers(0, 3))
    def replace(self, i: int, j: int, e: int, prot: int) -> None:
        t, m = self.pick(i)
        if not m.d:
            return
        ks = m.keys()
        k = ks[j % len(ks)]
        nxt = m.next_start(k)
        end = k + e if nxt is None else min(k + e, nxt)
        t[k] = vma(k, end, prot)
        m.put(t[k])

    @rule(i=st.integers(0, 3), j=st.integers(0, 10**6), count=st.integers(1, 12))
    def remove(self, i: int, j: int, count: int) -> None:
        t, m = self.pick(i)
        ks = m.keys()
        for k in ks[j % len(ks):j % len(ks) + count] if ks else []:
            assert t.pop(k) == m.pop(k)
        assert t.pop(-1, None) is None

    @rule(i=st.integers(0, 3))
    def copy(self, i: int) -> None:
        t, m = self.pick(i)
        if len(self.trees) < 4:
            self.trees.append((t.copy(), Model(m.d)))

    @rule(i=st.integers(0, 3), length=st.integers(1, 30), low=st.integers(-5, U + 20), span=st.integers(-5, U + 40))
    def gaps(self, i: int, length: int, low: int, span: int) -> None:
        t, m = self.pick(i)
        vs = m.vmas()
        high = low + span
        assert t.gap_topdown(length, low, high) == brute_topdown(vs, length, low, high)
        assert t.gap_bottomup(length, low, high) == brute_bottomup(vs, length, low, high)

    @rule(i=st.integers(0, 3), addrs=st.lists(st.integers(-2, U + 10), min_size=1, max_size=6),
          lo=st.integers(-2, U + 10), n=st.integers(0, 80))
    def lookups(self, i: int, addrs: list[int], lo: int, n: int) -> None:
        t, m = self.pick(i)
        assert_queries(t, m, addrs)
        assert t.starts(lo, lo + n) == [k for k in m.keys() if lo <= k < lo + n]

    @invariant()
    def consistent(self) -> None:
        for t, m in self.trees:
            assert_same(t, m)


class SmallTreeMachine(TreeMachine):
    cls = Small


_machine_settings = settings(max_examples=150, stateful_step_count=60, deadline=None,
                             suppress_health_check=[HealthCheck.too_slow])
TestTinyTree = TreeMachine.TestCase
TestTinyTree.settings = _machine_settings
TestSmallTree = SmallTreeMachine.TestCase
TestSmallTree.settings = _machine_settings


def test_starts_must_be_page_aligned() -> None:
    """The real tree keys its dict by page number, so it refuses starts that are not page aligned."""
    t = VMATree()
    with pytest.raises(ValueError, match="page-aligned"):
        t[0x1001] = VMA(0x1001, 0x2000, 0)
    with pytest.raises(ValueError, match="page-aligned"):
        VMATree.from_sorted([VMA(0x10, 0x1000, 0)])
    t[0x1000] = VMA(0x1000, 0x2000, 0)
    assert 0x1001 not in t and t.get(0x1001) is None and t.get(0x1000) is not None
    with pytest.raises(KeyError):
        t[0x1001]
    assert t.pop(0x1001, None) is None and len(t) == 1
