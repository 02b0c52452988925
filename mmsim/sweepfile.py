"""A sweep as a file others can load: what its rows stand for travels with them.

:func:`mmsim.sweep` puts :func:`sweep_metadata` in ``df.attrs["mmsim"]``; pandas writes ``attrs`` into a
Parquet file's metadata (``df.to_parquet(path)``, pyarrow) and reads it back, so a study is one file:
the rows, the sweep's parameters, the mmsim version, and for every profile its source flow, features,
anticipatory checks and the releases it models (:data:`mmsim.PROFILES`). :func:`read_sweep` loads such a
file and checks that it is one (columns, dtypes, metadata), so a frame from an older or foreign file fails
loudly rather than being read as something it is not.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd

__all__ = ["FORMAT", "profile_metadata", "read_sweep", "sweep_metadata"]

#: The metadata's format tag (bumped when its keys change). 2: the column and axis "slack" became "free_slots".
FORMAT = "mmsim-sweep/2"
#: Earlier formats :func:`read_sweep` still reads, and how each is brought to :data:`FORMAT`.
_OLDER = {"mmsim-sweep/1": {"slack": "free_slots"}}


def profile_metadata(kernel: Any) -> dict[str, Any]:
    """What a profile (a name of :data:`mmsim.PROFILES` or a :class:`~mmsim.profiles.Profile`) is, as plain
    JSON-able data. O(features + checks).

    >>> m = profile_metadata("5.1")
    >>> m["src"], m["releases"], m["checks"]["mremap_to"]
    ('5.1', '5.1-5.6', ['mremap_early'])
    """
    from .profiles import get_profile

    p = get_profile(kernel)
    return {
        "name": p.name,
        "src": p.src,
        "releases": p.releases,
        "models_release": p.models_release,
        "hypothetical": p.hypothetical,
        "transactional": p.transactional,
        "features": sorted(p.features),
        "checks": {hook: [c.name for c in p.checks_at(hook)] for hook in sorted(p.checks)},
        "description": p.description,
    }


def sweep_metadata(kernels: Iterable[Any], *, axis: str, values: Sequence[int], exact: bool,
                   max_map_count: int | None = None) -> dict[str, Any]:
    """The metadata of a sweep over ``kernels`` along ``axis`` (``"free_slots"`` or ``"max_map_count"``) at
    ``values``. O(kernels).

    >>> m = sweep_metadata(["5.0"], axis="free_slots", values=[0, 1], exact=False, max_map_count=65530)
    >>> m["format"], m["axis"], m["values"], list(m["profiles"])
    ('mmsim-sweep/2', 'free_slots', [0, 1], ['5.0'])
    """
    from . import __version__

    if axis not in ("free_slots", "max_map_count"):
        raise ValueError(f"axis must be 'free_slots' or 'max_map_count', not {axis!r}")
    profiles = [profile_metadata(k) for k in kernels]
    return {
        "format": FORMAT,
        "mmsim_version": __version__,
        "axis": axis,
        "values": [int(v) for v in values],
        "max_map_count": max_map_count,
        "exact": bool(exact),
        "profiles": {p["name"]: p for p in profiles},
    }


def read_sweep(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Load a sweep written with ``df.to_parquet(path)``: the frame with :data:`mmsim.experiments.COLUMNS`
    and the dtypes :func:`mmsim.sweep` gives, and its metadata in ``attrs["mmsim"]``. O(rows).

    A file of an earlier format (``mmsim-sweep/1``, whose column and axis were called ``"slack"``) is read as
    :data:`FORMAT`: its column and axis are renamed, and ``attrs["mmsim"]["format"]`` says the file's own.
    Raises ValueError if the file is not an mmsim sweep (no metadata, another format, other columns or
    dtypes, or rows of a profile the metadata does not describe).
    """
    from .experiments import COLUMNS

    df = pd.read_parquet(path)
    meta = df.attrs.get("mmsim")
    if isinstance(meta, dict) and meta.get("format") in _OLDER:
        renames = _OLDER[meta["format"]]
        df = df.rename(columns=renames)
        meta = {**meta, "axis": renames.get(str(meta.get("axis")), meta.get("axis"))}
        df.attrs["mmsim"] = meta
    elif not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ValueError(f"{os.fspath(path)}: not an mmsim sweep (no {FORMAT!r} metadata in the Parquet file)")
    if tuple(df.columns) != COLUMNS:
        raise ValueError(f"{os.fspath(path)}: the columns are not a sweep's: {list(df.columns)}")
    ints = ("max_map_count", "free_slots", "mc_before", "mc_after", "peak", "steps")
    bad = [c for c in ints if df[c].dtype != "int64"] + [c for c in ("fp", "ideal_ok") if df[c].dtype != bool]
    if bad:
        raise ValueError(f"{os.fspath(path)}: column(s) {', '.join(bad)} do not have a sweep's dtypes")
    unknown = set(df["kernel"]) - set(meta.get("profiles", {}))
    if unknown:
        raise ValueError(f"{os.fspath(path)}: rows of profile(s) the metadata does not describe: "
                         f"{', '.join(sorted(unknown))}")
    return df
