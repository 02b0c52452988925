"""The real kernels a qemu guest boots (:mod:`mmsim.live.qemu`): a catalogue, and a cache that fetches them.

Each :class:`GuestKernel` row names a Debian kernel image by suite and package name: Debian's archive
serves more kernels than a machine's apt sources name (bullseye: 5.10, bookworm: 6.1, trixie: 6.12).
:func:`fetch_image` downloads one with ``apt-get download`` and a **private** apt state (sources list,
package lists, caches) under :func:`cache_dir` — the machine's apt configuration is never read for sources
nor changed — unpacks only what a guest needs with ``dpkg-deb --fsys-tarfile`` (the kernel, its config, the
virtio/9p modules), extracts the uncompressed ``vmlinux`` (qemu boots it through PVH, which skips the
decompression: about 2 s under TCG) and returns a :class:`KernelImage`. Later calls find it cached.

Where the package named by ``prefer`` (the one the profile was checked on) is no longer served, the newest
package of the suite matching ``package`` is taken; :class:`KernelImage` says which one was.

Stdlib only (apt-get and dpkg-deb are Debian's; the zstd tool is used for kernels compressed with zstd when it
is installed, and the compressed kernel is booted otherwise).

>>> list(DEBIAN_KERNELS), [n for n in GUEST_KERNELS if n not in DEBIAN_KERNELS]
(['5.10', '6.1', '6.12'], ['5.10-control', '5.10-revert-ea2c3f6f5545'])
>>> GUEST_KERNELS["5.10"].suite
'bullseye'
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import lzma
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
import time
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from types import MappingProxyType

from .build import GUEST_KERNELS_BUILT, Build, BuiltKernel, build_images, recipe_key

__all__ = [
    "GUEST_KERNELS",
    "GuestKernel",
    "KernelFetchError",
    "KernelImage",
    "cache_dir",
    "DEBIAN_KERNELS",
    "cached_image",
    "fetch_image",
    "load_image",
    "locked",
    "private_apt",
    "save_image",
    "fetch_unavailable_reason",
    "guest_kernel",
]

#: Debian's archive signing keys (package debian-archive-keyring): they verify the private index.
KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"
#: The suites the private sources list names (each with its security suite).
SUITES = ("bullseye", "bookworm", "trixie")
#: Days after which the private package lists are refreshed before a fetch.
INDEX_MAX_AGE_DAYS = 7
#: Modules a guest needs for its 9p root, by the config symbol that builds them in.
NEEDED_MODULES = {"virtio_pci": "CONFIG_VIRTIO_PCI", "9pnet_virtio": "CONFIG_NET_9P_VIRTIO", "9p": "CONFIG_9P_FS"}
#: Where those modules (and what they depend on) live in an image package.
_MODULE_DIRS = ("drivers/virtio/", "net/9p/", "fs/9p/", "fs/netfs/", "fs/fscache/")
#: Version of the prepared-image layout: a cached image of another layout is prepared again.
_LAYOUT = 1


class KernelFetchError(RuntimeError):
    """A guest kernel could not be fetched or prepared; the message says why in one line."""


@dataclass(frozen=True)
class GuestKernel:
    """A kernel the qemu target can boot: a Debian binary package, or a kernel mmsim builds from source.

    ``name`` is what ``mmsim.live.run(target="qemu", kernel=...)`` takes; ``suite`` the Debian suite that
    serves it; ``package`` a regular expression of its binary package names (the generic ``-amd64`` flavour:
    ``-cloud-amd64`` has no 9P); ``prefer`` the package its profile was checked on. A built kernel has its
    recipe in ``build`` (:mod:`mmsim.live.build`) and may name the ``profile`` it is compared with (a patched
    kernel is no release; None: the release policy's).
    """

    name: str
    suite: str
    package: str
    prefer: str
    description: str
    build: Build | None = None
    profile: str | None = None

    @property
    def release(self) -> str:
        """Its ``uname -r`` as far as it is known without the image: the built release, or the preferred
        package's."""
        return self.build.release if self.build is not None else self.prefer.removeprefix("linux-image-")


def _built(k: BuiltKernel) -> GuestKernel:
    return GuestKernel(k.name, k.build.suite, re.escape(k.build.source), k.build.source, k.description, k.build,
                       k.profile)


#: The kernels the qemu target boots, by name: Debian's x86-64 images (generic flavour), then the kernels
#: mmsim builds from Debian's source (:data:`mmsim.live.build.GUEST_KERNELS_BUILT`).
GUEST_KERNELS: Mapping[str, GuestKernel] = MappingProxyType({
    k.name: k
    for k in (
        GuestKernel("5.10", "bullseye", r"linux-image-5\.10\.0-\d+-amd64", "linux-image-5.10.0-32-amd64",
                    "Debian 11 (bullseye): Linux 5.10 LTS"),
        GuestKernel("6.1", "bookworm", r"linux-image-6\.1\.0-\d+-amd64", "linux-image-6.1.0-50-amd64",
                    "Debian 12 (bookworm): Linux 6.1 LTS"),
        GuestKernel("6.12", "trixie", r"linux-image-6\.12\.\d+\+deb13-amd64", "linux-image-6.12.117+deb13-amd64",
                    "Debian 13 (trixie): Linux 6.12 LTS"),
        *(_built(k) for k in GUEST_KERNELS_BUILT.values()),
    )
})
#: The Debian images of :data:`GUEST_KERNELS` (fetched, not built).
DEBIAN_KERNELS: tuple[str, ...] = tuple(n for n, k in GUEST_KERNELS.items() if k.build is None)


@dataclass(frozen=True)
class KernelImage:
    """A guest kernel on disk, ready to boot.

    ``release`` is its ``uname -r``; ``version`` the Debian package version (whose upstream part is the
    kernel's exact version, e.g. ``6.1.176-1``); ``kernel`` the file qemu boots (the uncompressed vmlinux
    when ``pvh``, else the compressed bzImage); ``modules`` the ``.ko`` files the guest loads, in
    dependency order; ``config`` the kernel's build configuration file.
    """

    name: str
    package: str
    version: str
    release: str
    kernel: str
    pvh: bool
    modules: tuple[str, ...]
    config: str
    directory: str

    @property
    def upstream_version(self) -> str:
        """The kernel's own version: the package version without the Debian revision (``"6.1.176"``)."""
        return self.version.split("-")[0].split("~")[0]

    def config_value(self, symbol: str) -> str | None:
        """The value of ``CONFIG_...`` ``symbol`` in the image's build configuration (None: not set)."""
        return _read_config(self.config).get(symbol)


def guest_kernel(name: str) -> GuestKernel:
    """The catalogue row of a guest kernel; ValueError naming the choices for an unknown name."""
    if not isinstance(name, str):
        raise TypeError(f"kernel must be a str, not {type(name).__name__}")
    try:
        return GUEST_KERNELS[name]
    except KeyError:
        raise ValueError(f"unknown guest kernel {name!r}; choose one of {', '.join(GUEST_KERNELS)}") from None


def cache_dir() -> Path:
    """Where mmsim keeps what it downloads: ``$MMSIM_CACHE``, else ``$XDG_CACHE_HOME/mmsim``, else
    ``~/.cache/mmsim``."""
    env = os.environ.get("MMSIM_CACHE")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return Path(xdg) / "mmsim" if xdg else Path.home() / ".cache" / "mmsim"


def _images_dir() -> Path:
    return cache_dir() / "kernels"


def fetch_unavailable_reason() -> str:
    """Why guest kernels cannot be fetched here ("" when they can): Debian's apt-get and dpkg-deb, and
    Debian's archive keyring, are needed."""
    for tool in ("apt-get", "apt-cache", "dpkg-deb"):
        if shutil.which(tool) is None:
            return f"fetching Debian's kernels needs {tool} (a Debian or Ubuntu host)"
    if not os.path.isfile(KEYRING):
        return f"fetching Debian's kernels needs Debian's archive keyring ({KEYRING}, package debian-archive-keyring)"
    return ""


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """An exclusive lock on ``path`` (a file of the cache), so that concurrent fetches do not race."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


# ---- the private apt state -------------------------------------------------------------------------------


class _Apt:
    """apt-get and apt-cache with a private sources list and state under the cache: Debian's own suites,
    verified with Debian's archive keyring, and nothing of the machine's apt configuration but dpkg's status."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.sources = root / "sources.list"
        self.lists = root / "lists"
        self.cache = root / "cache"

    def options(self) -> list[str]:
        return [
            "-o", f"Dir::Etc::SourceList={self.sources}", "-o", "Dir::Etc::SourceParts=/dev/null",
            "-o", f"Dir::State::Lists={self.lists}", "-o", f"Dir::Cache={self.cache}",
            "-o", "Debug::NoLocking=1", "-o", "APT::Sandbox::User=root", "-o", "Acquire::Languages=none",
        ]

    def _run(self, tool: str, *args: str, cwd: Path | None = None, timeout: float = 600) -> str:
        cmd = [tool, *self.options(), *args]
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=cwd, check=False,
                               env={**os.environ, "LC_ALL": "C"})
        except subprocess.TimeoutExpired:
            raise KernelFetchError(f"{tool} {' '.join(args)} did not finish within {timeout:g} s") from None
        if r.returncode != 0:
            last = next((line for line in reversed(r.stderr.splitlines()) if line.startswith("E:")), r.stderr.strip())
            raise KernelFetchError(f"{tool} {' '.join(args)} failed: {last[-300:]}")
        return r.stdout

    def ensure_index(self, refresh: bool = False) -> None:
        """Write the sources list and fetch the package lists if they are missing, stale, or ``refresh``."""
        for d in (self.lists / "partial", self.cache / "archives" / "partial"):
            d.mkdir(parents=True, exist_ok=True)
        lines = []
        for suite in SUITES:
            lines.append(f"deb [signed-by={KEYRING}] http://deb.debian.org/debian {suite} main")
            lines.append(f"deb [signed-by={KEYRING}] http://deb.debian.org/debian-security {suite}-security main")
        text = "\n".join(lines) + "\n"
        if not self.sources.exists() or self.sources.read_text() != text:
            self.sources.write_text(text)
            refresh = True
        stamp = self.root / "updated"
        age = time.time() - stamp.stat().st_mtime if stamp.exists() else float("inf")
        if refresh or age > INDEX_MAX_AGE_DAYS * 86400:
            self._run("apt-get", "update", "-q")
            stamp.touch()

    def packages(self, pattern: str) -> list[str]:
        """Binary package names matching the regular expression ``pattern`` (whole name)."""
        rx = re.compile(pattern + r"\Z")
        return [p for p in self._run("apt-cache", "pkgnames").split() if rx.match(p)]

    def candidate(self, package: str, suite: str) -> str | None:
        """The newest version of ``package`` that ``suite`` (or its security suite) serves, or None."""
        text = self._run("apt-cache", "madison", package)
        versions = []
        for line in text.splitlines():
            parts = [p.strip() for p in line.split("|")]
            if len(parts) >= 3 and re.search(rf"\b{re.escape(suite)}(-security)?/main\b", parts[2]):
                versions.append(parts[1])
        return versions[0] if versions else None  # madison lists the newest first

    def download(self, package: str, version: str, into: Path) -> Path:
        self._run("apt-get", "download", "-q", f"{package}={version}", cwd=into)
        debs = list(into.glob(f"{package}_*.deb"))
        if len(debs) != 1:
            raise KernelFetchError(f"apt-get download {package}={version} left {len(debs)} files")
        return debs[0]


def _version_key(name: str) -> list[int]:
    return [int(n) for n in re.findall(r"\d+", name)]


# ---- unpacking an image package --------------------------------------------------------------------------


def _read_config(path: str) -> dict[str, str]:
    out = {}
    with open(path) as f:
        for line in f:
            if line.startswith("CONFIG_") and "=" in line:
                k, v = line.rstrip("\n").split("=", 1)
                out[k] = v.strip('"')
    return out


#: Whether tarfile has extraction filters (3.12, and the 3.10.12/3.11.4 backports).
_TAR_FILTERS = hasattr(tarfile, "data_filter")


def _unpack(deb: Path, into: Path) -> None:
    """Extract the kernel, its config and the virtio/9p modules of an image package (nothing else)."""
    proc = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", str(deb)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    assert proc.stdout is not None
    try:
        with tarfile.open(fileobj=proc.stdout, mode="r|") as tar:
            for m in tar:
                name = m.name.lstrip("./")
                keep = name.startswith("boot/") or (
                    ".ko" in name and "/kernel/" in name
                    and any(f"/kernel/{d}" in name for d in _MODULE_DIRS))
                if keep and m.isfile():
                    m.name = name
                    if _TAR_FILTERS:
                        tar.extract(m, into, filter="data")
                    else:
                        tar.extract(m, into)
    finally:
        proc.stdout.close()
        err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
        if proc.wait() != 0:
            raise KernelFetchError(f"dpkg-deb --fsys-tarfile {deb.name} failed: {err.strip()[-300:]}")


def extract_vmlinux(bzimage: bytes) -> bytes | None:
    """The uncompressed kernel (an ELF file) inside a bzImage, or None when it cannot be extracted here.

    Finds the compressed payload by its magic number, as the kernel's scripts/extract-vmlinux does: xz
    (Python's lzma), gzip, or zstd (with the ``zstd`` tool when installed).
    """
    for magic, kind in ((b"\xfd7zXZ\x00", "xz"), (b"\x28\xb5\x2f\xfd", "zstd"), (b"\x1f\x8b\x08", "gzip")):
        i = bzimage.find(magic)
        while i >= 0:
            out = b""
            try:
                if kind == "xz":
                    out = lzma.LZMADecompressor().decompress(bzimage[i:])
                elif kind == "gzip":
                    out = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(bzimage[i:])
                elif shutil.which("zstd"):
                    out = subprocess.run(["zstd", "-dcq"], input=bzimage[i:], capture_output=True,
                                         check=False).stdout
            except (lzma.LZMAError, zlib.error, OSError, EOFError):  # not the payload: a false magic number
                out = b""
            if out[:4] == b"\x7fELF":
                return out
            i = bzimage.find(magic, i + 1)
    return None


def _modinfo(data: bytes, key: str) -> str:
    m = re.search(rb"(?:^|\x00)" + key.encode() + rb"=([^\x00]*)\x00", data)
    return m.group(1).decode() if m else ""


def _module_closure(into: Path, config: dict[str, str]) -> list[Path]:
    """The modules the guest must load for its 9p root, dependencies first, decompressed to ``.ko``."""
    found: dict[str, Path] = {}
    for p in into.rglob("*.ko*"):
        found[p.name.split(".ko")[0].replace("-", "_")] = p
    order: list[Path] = []
    seen: set[str] = set()

    def visit(name: str, why: str) -> None:
        if name in seen:
            return
        seen.add(name)
        if name not in found:
            raise KernelFetchError(f"module {name} (needed by {why}) is not in the image package")
        path = found[name]
        data = path.read_bytes()
        if path.name.endswith(".xz"):
            data = lzma.decompress(data)
        elif path.name.endswith(".zst"):
            raise KernelFetchError(f"module {path.name} is zstd-compressed, which this fetcher cannot unpack")
        for dep in filter(None, _modinfo(data, "depends").split(",")):
            visit(dep.replace("-", "_"), name)
        out = into / "modules" / f"{name}.ko"
        out.parent.mkdir(exist_ok=True)
        out.write_bytes(data)
        order.append(out)

    for module, symbol in NEEDED_MODULES.items():
        value = config.get(symbol)
        if value == "y":
            continue
        if value != "m":
            raise KernelFetchError(f"the kernel has no {module} ({symbol} is {value or 'not set'}): no 9p root")
        visit(module, "the 9p root")
    return order


def _prepare(k: GuestKernel, deb: Path, package: str, version: str, into: Path) -> KernelImage:
    _unpack(deb, into)
    vmlinuz = sorted((into / "boot").glob("vmlinuz-*"))
    configs = sorted((into / "boot").glob("config-*"))
    if len(vmlinuz) != 1 or len(configs) != 1:
        raise KernelFetchError(f"{deb.name} has {len(vmlinuz)} kernels and {len(configs)} configs in /boot")
    release = vmlinuz[0].name[len("vmlinuz-"):]
    config = _read_config(str(configs[0]))
    modules = _module_closure(into, config)
    elf = extract_vmlinux(vmlinuz[0].read_bytes()) if config.get("CONFIG_PVH") == "y" else None
    kernel = vmlinuz[0]
    if elf is not None:
        kernel = into / "vmlinux"
        kernel.write_bytes(elf)
    for p in list(into.rglob("*.ko*")):
        if p.parent != into / "modules":
            p.unlink()
    image = KernelImage(k.name, package, version, release, str(kernel), elf is not None,
                        tuple(str(m) for m in modules), str(configs[0]), str(into))
    save_image(image)
    return image


def private_apt() -> _Apt:
    """apt-get/apt-cache with mmsim's private sources list and state (under :func:`cache_dir`)."""
    return _Apt(cache_dir() / "apt")


def save_image(image: KernelImage) -> None:
    """Write ``image.json``, with paths relative to the image's directory (so the directory can move)."""
    d = Path(image.directory)
    meta = asdict(image)
    meta["kernel"] = str(Path(image.kernel).relative_to(d))
    meta["config"] = str(Path(image.config).relative_to(d))
    meta["modules"] = [str(Path(m).relative_to(d)) for m in image.modules]
    del meta["directory"]
    (d / "image.json").write_text(json.dumps({"layout": _LAYOUT, **meta}, indent=1))


def load_image(directory: Path) -> KernelImage | None:
    """The prepared image in ``directory`` (its ``image.json``), or None if it is missing or incomplete."""
    try:
        meta = json.loads((directory / "image.json").read_text())
    except (OSError, ValueError):
        return None
    if meta.pop("layout", None) != _LAYOUT:
        return None
    try:
        image = KernelImage(**{**meta, "kernel": str(directory / meta["kernel"]),
                               "config": str(directory / meta["config"]),
                               "modules": tuple(str(directory / m) for m in meta["modules"]),
                               "directory": str(directory)})
    except (TypeError, KeyError):
        return None
    paths = [image.kernel, image.config, *image.modules]
    return image if all(os.path.isfile(p) for p in paths) else None


def cached_image(name: str) -> KernelImage | None:
    """The prepared image of guest kernel ``name`` if the cache has one (no network), else None.

    With several cached versions, the preferred package's, else the newest.
    """
    k = guest_kernel(name)
    root = _images_dir()
    if not root.is_dir():
        return None
    if k.build is not None:
        return load_image(root / f"built-{k.name}-{recipe_key(GUEST_KERNELS_BUILT[k.name])}")
    rx = re.compile(k.package + r"_")
    images = [img for d in root.iterdir() if rx.match(d.name) and (img := load_image(d)) is not None]
    if not images:
        return None
    preferred = [img for img in images if img.package == k.prefer]
    return preferred[0] if preferred else max(images, key=lambda img: _version_key(img.version))


def fetch_image(name: str, *, log: Callable[[str], None] | None = None, refresh: bool = False) -> KernelImage:
    """The image of guest kernel ``name``: from the cache, else downloaded from Debian's archive and prepared
    (or, for a built kernel, built: :func:`mmsim.live.build.build_images`).

    ``log`` receives one line per step that takes time (the download, with its size). Raises
    :class:`KernelFetchError` (one line) when it cannot: no apt-get or dpkg-deb, no network, a package no
    longer served, a kernel without 9p.
    """
    k = guest_kernel(name)
    if not refresh:
        image = cached_image(name)
        if image is not None:
            return image
    if k.build is not None:
        # Its siblings (same source and config) come almost free from the same tree: build them together.
        b = k.build
        group = [n for n, o in GUEST_KERNELS_BUILT.items()
                 if (o.build.source, o.build.version, o.build.config) == (b.source, b.version, b.config)]
        try:
            built = build_images(group, log=log)[name]
        except (RuntimeError, OSError, subprocess.SubprocessError) as e:
            raise KernelFetchError(f"cannot build guest kernel {name}: {e}") from None
        return built
    reason = fetch_unavailable_reason()
    if reason:
        raise KernelFetchError(reason)
    say = log or (lambda _line: None)
    with locked(cache_dir() / "kernels.lock"):
        image = None if refresh else cached_image(name)
        if image is not None:
            return image
        apt = private_apt()
        apt.ensure_index()
        names = apt.packages(k.package)
        if k.prefer not in names:
            apt.ensure_index(refresh=True)
            names = apt.packages(k.package)
        choice, version = None, None
        for pkg in [k.prefer] + sorted(set(names) - {k.prefer}, key=_version_key, reverse=True):
            if pkg in names:
                version = apt.candidate(pkg, k.suite)
                if version:
                    choice = pkg
                    break
        if choice is None or version is None:
            raise KernelFetchError(f"Debian {k.suite} serves no package matching {k.package} (kernel {name})")
        root = _images_dir()
        root.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=root, prefix=".fetch-") as tmp:
            t0 = time.monotonic()
            say(f"downloading {choice} {version} from Debian {k.suite} (once; cached in {root})")
            deb = apt.download(choice, version, Path(tmp))
            size = deb.stat().st_size
            say(f"downloaded {size / 1e6:.0f} MB in {time.monotonic() - t0:.1f} s; "
                "unpacking the kernel and its 9p modules")
            staging = Path(tmp) / "image"
            staging.mkdir()
            _prepare(k, deb, choice, version, staging)
            final = root / f"{choice}_{version}"
            if final.exists():
                shutil.rmtree(final)
            staging.rename(final)
        image = load_image(final)
        if image is None:
            raise KernelFetchError(f"the prepared image in {final} is incomplete")
        return image
