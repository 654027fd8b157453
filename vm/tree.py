# SPDX-License-Identifier: GPL-2.0-only
"""Kernel trees (Debian's source packages, users' trees) and patch series.

A user's tree is only ever read; vm/scratch.py makes the copies we build.
"""

import logging
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from .cache import Lock
from .errors import MipError
from .proc import Runner

log = logging.getLogger(__name__)

DEBIAN_BASES = {"6.12": "linux-source-6.12", "6.1": "linux-source-6.1"}
DEFAULT_BASE = "6.12"

@dataclass(frozen=True)
class KernelTree:
    origin: Path  # never modified
    label: str  # "6.12" for a Debian base, else the directory name
    version: str  # from the Makefile, e.g. 6.12.117
    # Held while the tree is replaced (a newer Debian tarball) and while a run
    # copies from it, so neither sees the other's half-done work.
    lock: Path | None = None

    @property
    def series_name(self) -> str:
        return ".".join(self.version.split(".")[:2])


def kernel_version(tree: Path) -> str:
    try:
        text = (tree / "Makefile").read_text(errors="replace")
    except OSError as e:
        raise MipError(f"{tree} is not a kernel tree: cannot read its Makefile "
                       f"({e.strerror})") from e
    fields = dict(re.findall(r"^(VERSION|PATCHLEVEL|SUBLEVEL)\s*=\s*(\d+)\s*$", text, re.M))
    if "VERSION" not in fields or not (tree / "net/ipv6/raw.c").is_file():
        raise MipError(f"{tree} is not a kernel tree (no VERSION in its Makefile or "
                       "no net/ipv6/raw.c); pass the top directory of a Linux source tree")
    return ".".join(fields.get(k, "0") for k in ("VERSION", "PATCHLEVEL", "SUBLEVEL"))


def debian_source(base: str, cache: Path, runner: Runner) -> Path:
    """Extract /usr/src/linux-source-X.Y.tar.xz once into the cache."""
    pkg = DEBIAN_BASES.get(base)
    if pkg is None:
        raise MipError(f"unknown base {base!r}; choose one of {', '.join(DEBIAN_BASES)} "
                       "or pass --tree PATH")
    tarball = Path("/usr/src") / f"{pkg}.tar.xz"
    if not tarball.is_file():
        raise MipError(f"{tarball} not found; install it with 'apt-get install {pkg}' "
                       "(scripts/setup.sh does this)")
    st = tarball.stat()
    stamp_text = f"{tarball} {st.st_size} {int(st.st_mtime)}\n"
    dest = cache / "sources" / pkg
    stamp = dest / ".mip6kit-source"
    if stamp.is_file() and stamp.read_text() == stamp_text:
        return dest
    if runner.dry_run:
        runner.run(["tar", "-C", str(dest.parent), "-xf", str(tarball)])
        return dest
    with Lock(source_lock(cache, pkg), wait=True):
        if stamp.is_file() and stamp.read_text() == stamp_text:
            return dest  # another run extracted it while we waited
        _extract(tarball, pkg, dest, stamp_text, runner)
    return dest


def source_lock(cache: Path, pkg: str) -> Path:
    return cache / "sources" / f"{pkg}.lock"


def _extract(tarball: Path, pkg: str, dest: Path, stamp_text: str, runner: Runner) -> None:
    for stale in dest.parent.glob(f".tmp-{pkg}-*"):
        shutil.rmtree(stale, ignore_errors=True)  # left by an interrupted extraction
    tmp = dest.parent / f".tmp-{pkg}-{os.getpid()}"
    log.info("extracting %s into %s (once; about a minute)", tarball, dest)
    tmp.mkdir(parents=True)
    runner.run(["tar", "-C", str(tmp), "-xf", str(tarball)])
    if not (tmp / pkg / "Makefile").is_file():
        raise MipError(f"{tarball} did not contain {pkg}/Makefile; reinstall {pkg}")
    (tmp / pkg / ".mip6kit-source").write_text(stamp_text)
    if dest.exists():
        shutil.rmtree(dest)
    (tmp / pkg).rename(dest)
    shutil.rmtree(tmp, ignore_errors=True)


def resolve(base: str | None, tree: Path | None, cache: Path, runner: Runner) -> KernelTree:
    if tree is not None:
        origin = tree.expanduser().resolve()
        if not origin.is_dir():
            raise MipError(f"--tree {tree}: no such directory")
        if origin == cache or cache.is_relative_to(origin) or origin.is_relative_to(cache):
            raise MipError(f"--tree {origin} overlaps the cache {cache}; copying it into "
                           "itself is not safe: set MIP6KIT_CACHE elsewhere")
        return KernelTree(origin, origin.name, kernel_version(origin))
    base = base or DEFAULT_BASE
    origin = debian_source(base, cache, runner)
    version = kernel_version(origin) if origin.exists() else base
    return KernelTree(origin, base, version, source_lock(cache, DEBIAN_BASES[base]))


def read_series(series_dir: Path) -> list[Path]:
    """Patch files named by series_dir/series, in order (quilt format)."""
    series = series_dir / "series"
    if not series.is_file():
        raise MipError(f"{series} not found: a series directory holds a 'series' file "
                       "naming its patches in order")
    patches = []
    for n, line in enumerate(series.read_text(errors="replace").splitlines(), 1):
        words = line.split("#", 1)[0].split()
        if not words:
            continue
        if words[1:] not in ([], ["-p1"]):
            raise MipError(f"{series}:{n}: only -p1 patches are supported, got "
                           f"{' '.join(words[1:])!r}")
        p = series_dir / words[0]
        if not p.is_file():
            raise MipError(f"{series}:{n}: patch {p.name} does not exist")
        patches.append(p)
    if not patches:
        raise MipError(f"{series} names no patch; use --no-series for the baseline only")
    return patches
