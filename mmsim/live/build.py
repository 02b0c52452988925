"""Guest kernels built from source: Debian's ``linux-source-5.10`` with one minimal config, with and without a patch.

A kernel people's way to show a bug is to revert its fix and watch it come back. The catalogue
(:data:`mmsim.live.kernels.GUEST_KERNELS`) has two built kernels from the same source and the same config:

* ``"5.10-control"``: Linux 5.10.223 as Debian ships its source (profile ``5.10`` by the release policy);
* ``"5.10-revert-ea2c3f6f5545"``: the same with ea2c3f6f5545 reverted (``0001-revert-ea2c3f6f5545.patch``
  in this package: the early ``(map_count + 2) >= max_map_count - 3`` check of ``mremap_to()`` removed),
  compared with profile ``5.10-revert-ea2c3f6f5545`` (:data:`mmsim.profiles.PATCHED`: 5.10's features
  without the 2019 check).

The config (``qemu-minimal-5.10.config``) is ``make allnoconfig`` plus what the qemu target needs built in
(64BIT, serial console, initramfs, ELF and #! binaries, proc/sys/devtmpfs/tmpfs, memfd, PCI + virtio-pci +
9p, PVH boot, KALLSYMS; no modules, no ORC and so no libelf). :func:`build_images` fetches the source
package with the same private apt state as the images (:mod:`mmsim.live.kernels`), builds the unpatched
kernels of a source and config first and the patched ones after them in the same tree (only what the
patch touches is compiled again), and caches each ``vmlinux`` under :func:`mmsim.live.kernels.cache_dir`,
keyed by source version, config and patches. Build tools: make, gcc, flex, bison, bc, perl (Debian's).

>>> recipe_key(GUEST_KERNELS_BUILT["5.10-control"]) != recipe_key(GUEST_KERNELS_BUILT["5.10-revert-ea2c3f6f5545"])
True
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .kernels import KernelImage

__all__ = ["BUILD_TOOLS", "Build", "GUEST_KERNELS_BUILT", "build_images", "build_unavailable_reason", "data_file",
           "recipe_key"]

#: The commands a kernel build runs.
BUILD_TOOLS = ("make", "gcc", "flex", "bison", "bc", "perl", "tar", "xz")
#: Version of the build layout: a cached kernel of another layout is built again.
_LAYOUT = 1
_DATA = Path(__file__).resolve().parent / "kernel_build"


@dataclass(frozen=True)
class Build:
    """How to build a guest kernel: a Debian source package, a config fragment and patches (files of this
    package's ``kernel_build`` directory), and the ``LOCALVERSION`` its ``uname -r`` ends with."""

    source: str
    version: str
    suite: str
    config: str
    patches: tuple[str, ...] = ()
    localversion: str = ""

    @property
    def upstream_version(self) -> str:
        """The kernel version of the source (``"5.10.223"``)."""
        return self.version.split("-")[0]

    @property
    def release(self) -> str:
        """The ``uname -r`` of the built kernel."""
        return self.upstream_version + self.localversion


@dataclass(frozen=True)
class BuiltKernel:
    """A built kernel of the catalogue: its name, recipe, the profile it is compared with (None: the release
    policy's) and a description."""

    name: str
    build: Build
    profile: str | None
    description: str


_SOURCE = Build("linux-source-5.10", "5.10.223-1", "bullseye", "qemu-minimal-5.10.config")
#: The built kernels, by name.
GUEST_KERNELS_BUILT: Mapping[str, BuiltKernel] = MappingProxyType({
    k.name: k
    for k in (
        BuiltKernel("5.10-control", replace(_SOURCE, localversion="-mmsim-control"), None,
                    "Linux 5.10.223 from Debian's source with mmsim's minimal config (the control)"),
        BuiltKernel("5.10-revert-ea2c3f6f5545",
                    replace(_SOURCE, patches=("0001-revert-ea2c3f6f5545.patch",), localversion="-mmsim-revert"),
                    "5.10-revert-ea2c3f6f5545",
                    "Linux 5.10.223 with the 2019 fix ea2c3f6f5545 reverted (same source and config)"),
    )
})


def data_file(name: str) -> Path:
    """A file of the package's ``kernel_build`` directory (config fragments, patches)."""
    path = _DATA / name
    if not path.is_file():
        raise FileNotFoundError(f"no kernel build file {name!r} in {_DATA}")
    return path


def recipe_key(k: BuiltKernel) -> str:
    """The cache key of a built kernel: its source, config, patches, release string and the build layout."""
    b = k.build
    h = hashlib.sha256(f"{_LAYOUT}\0{b.source}\0{b.version}\0{b.localversion}\0".encode())
    for name in (b.config, *b.patches):
        h.update(name.encode() + b"\0" + data_file(name).read_bytes())
    return h.hexdigest()[:16]


def build_unavailable_reason() -> str:
    """Why kernels cannot be built here ("" when they can): Debian's build tools and source fetching."""
    from .kernels import fetch_unavailable_reason

    missing = [t for t in BUILD_TOOLS if shutil.which(t) is None]
    if missing:
        return (f"building a guest kernel needs {', '.join(missing)} (apt-get install --no-install-recommends "
                "make gcc flex bison bc perl xz-utils)")
    return fetch_unavailable_reason()


def _run(cmd: list[str], cwd: Path, log: Path, env: Mapping[str, str] | None = None, timeout: float = 3600) -> None:
    with open(log, "ab") as f:
        f.write(("$ " + " ".join(cmd) + "\n").encode())
        f.flush()
        r = subprocess.run(cmd, cwd=cwd, stdout=f, stderr=subprocess.STDOUT, timeout=timeout, check=False,
                           env={**os.environ, **(env or {})})
    if r.returncode != 0:
        tail = log.read_text(errors="replace").splitlines()[-15:]
        raise RuntimeError(f"{' '.join(cmd[:3])} failed (exit {r.returncode}): " + " | ".join(tail)[-600:])


def _apply(patch: Path, tree: Path) -> None:
    """Apply a unified diff (``-p1``) exactly: every hunk's context must match (no fuzz, no offset)."""
    text = patch.read_text()
    files = re.split(r"^--- a/", text, flags=re.M)[1:]
    for chunk in files:
        header, _, body = chunk.partition("\n")
        path = tree / header.split()[0]
        lines = path.read_text().split("\n")
        out, pos = [], 0
        for m in re.finditer(r"^@@ -(\d+)(?:,\d+)? \+\d+(?:,\d+)? @@[^\n]*\n((?:[ +\-][^\n]*\n?)*)", body, re.M):
            start = int(m.group(1)) - 1
            old = [ln[1:] for ln in m.group(2).rstrip("\n").split("\n") if ln[:1] in (" ", "-")]
            new = [ln[1:] for ln in m.group(2).rstrip("\n").split("\n") if ln[:1] in (" ", "+")]
            if lines[start:start + len(old)] != old:
                raise RuntimeError(f"{patch.name} does not apply to {path.name} at line {start + 1}")
            out += lines[pos:start] + new
            pos = start + len(old)
        path.write_text("\n".join(out + lines[pos:]))


def _check_config(tree: Path, fragment: Path) -> None:
    """Every line of the fragment survived Kconfig's dependency resolution."""
    have = set((tree / ".config").read_text().splitlines())
    config = {ln.split("=", 1)[0]: ln for ln in have if ln.startswith("CONFIG_")}
    for line in fragment.read_text().splitlines():
        if line.startswith("CONFIG_") and line not in have:
            raise RuntimeError(f"config: {line} was not honoured ({config.get(line.split('=')[0], 'not set')})")
        m = re.match(r"# (CONFIG_\w+) is not set", line)
        if m and m.group(1) in config:
            raise RuntimeError(f"config: {m.group(1)} should be off")


def build_images(names: Iterable[str], *, log: Callable[[str], None] | None = None) -> dict[str, KernelImage]:
    """Build (or find cached) the built kernels ``names``; returns ``{name: KernelImage}``.

    Kernels of the same source and config share one tree: the unpatched ones are built first, then each
    patched one after applying its patches (which must extend the previous kernel's). RuntimeError (one line)
    when a build fails; :func:`build_unavailable_reason` says beforehand what is missing.
    """
    from . import kernels as K

    say = log or (lambda _line: None)
    rows = [GUEST_KERNELS_BUILT[n] for n in names]
    out: dict[str, KernelImage] = {}
    todo = []
    for k in rows:
        image = K.cached_image(k.name)
        if image is not None:
            out[k.name] = image
        else:
            todo.append(k)
    if not todo:
        return out
    reason = build_unavailable_reason()
    if reason:
        raise RuntimeError(reason)
    groups: dict[tuple[str, str, str], list[BuiltKernel]] = {}
    for k in todo:
        groups.setdefault((k.build.source, k.build.version, k.build.config), []).append(k)
    root = K.cache_dir() / "kernels"
    root.mkdir(parents=True, exist_ok=True)
    with K.locked(K.cache_dir() / "kernels.lock"):
        for (source, version, config), group in groups.items():
            group.sort(key=lambda k: len(k.build.patches))
            _build_group(source, version, config, group, root, say, out)
    return out


def _build_group(source: str, version: str, config: str, group: list[BuiltKernel], root: Path,
                 say: Callable[[str], None], out: dict[str, KernelImage]) -> None:
    from . import kernels as K

    suite = group[0].build.suite
    debs = K.cache_dir() / "sources"
    debs.mkdir(parents=True, exist_ok=True)
    deb = next(iter(debs.glob(f"{source}_{version}_*.deb")), None)
    if deb is None:
        apt = K.private_apt()
        apt.ensure_index()
        say(f"downloading {source} {version} from Debian {suite} (once; cached in {debs})")
        deb = apt.download(source, version, debs)
    with tempfile.TemporaryDirectory(dir=root, prefix=".build-") as tmp:
        work = Path(tmp)
        logf = work / "build.log"
        say(f"unpacking {deb.name}")
        _run(["dpkg-deb", "-x", str(deb), str(work / "deb")], work, logf)
        tarball = next((work / "deb" / "usr" / "src").glob(f"{source}.tar.*"))
        tree = work / "src"
        tree.mkdir()
        _run(["tar", "-xf", str(tarball), "-C", str(tree), "--strip-components=1"], work, logf)
        shutil.rmtree(work / "deb")
        fragment = data_file(config)
        env = {"KBUILD_BUILD_USER": "mmsim", "KBUILD_BUILD_HOST": "mmsim", "KBUILD_BUILD_TIMESTAMP": "2019-03-06"}
        jobs = str(max(1, os.cpu_count() or 1))
        _run(["make", "-s", f"KCONFIG_ALLCONFIG={fragment}", "allnoconfig"], tree, logf, env)
        _check_config(tree, fragment)
        applied: tuple[str, ...] = ()
        for k in group:
            b = k.build
            if b.patches[:len(applied)] != applied:
                raise RuntimeError(f"{k.name}: its patches do not extend {applied} (build it in a tree of its own)")
            for name in b.patches[len(applied):]:
                _apply(data_file(name), tree)
            applied = b.patches
            t0 = time.monotonic()
            say(f"building {k.name} ({b.release}) with make -j{jobs}: a few minutes the first time")
            _run(["make", f"-j{jobs}", f"LOCALVERSION={b.localversion}", "vmlinux"], tree, logf, env)
            seconds = time.monotonic() - t0
            say(f"built {k.name} in {seconds:.0f} s")
            final = root / f"built-{k.name}-{recipe_key(k)}"
            staging = work / f"image-{k.name}"
            (staging / "boot").mkdir(parents=True)
            shutil.copy(tree / "vmlinux", staging / "vmlinux")
            shutil.copy(tree / ".config", staging / "boot" / f"config-{b.release}")
            shutil.copy(tree / "System.map", staging / "boot" / f"System.map-{b.release}")
            (staging / "build-seconds").write_text(f"{seconds:.1f}\n")
            image = K.KernelImage(k.name, b.source, b.version, b.release, str(staging / "vmlinux"), True, (),
                                  str(staging / "boot" / f"config-{b.release}"), str(staging))
            K.save_image(image)
            if final.exists():
                shutil.rmtree(final)
            staging.rename(final)
            loaded = K.load_image(final)
            assert loaded is not None
            out[k.name] = loaded
