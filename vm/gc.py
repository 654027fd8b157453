# SPDX-License-Identifier: GPL-2.0-only
"""`mip6kit gc`: prune old run directories and unused build directories.

Every config (a profile, a changed fragment) adds a build directory of about
200 MB beside each scratch tree, and every run adds a run directory.  gc
keeps the newest runs and, per scratch tree, the most recently used build
directories (a build stamps its directory each time it is used).  A work
directory that another run holds is left alone.
"""

import contextlib
import logging
import shutil
from pathlib import Path

from .build import BUILT_STAMP
from .cache import Lock
from .errors import MipError
from .scratch import STATE_PREFIX

log = logging.getLogger(__name__)


def _last_used(builddir: Path) -> float:
    stamp = builddir / BUILT_STAMP
    return (stamp if stamp.exists() else builddir).stat().st_mtime


def _newest_first(paths: list[Path], key) -> list[Path]:
    return sorted(paths, key=key, reverse=True)


def plan(cache: Path, keep: int) -> list[Path]:
    """The run directories beyond the newest `keep`, and per scratch tree the
    build directories beyond the `keep` most recently used."""
    if keep < 1:
        raise MipError("--keep must be at least 1")
    remove: list[Path] = []
    runs = cache / "runs"
    if runs.is_dir():
        dirs = [d for d in runs.iterdir() if d.is_dir() and not d.is_symlink()
                and not d.name.startswith(".")]
        remove += _newest_first(dirs, lambda d: d.stat().st_mtime)[keep:]
    for src in sorted((cache / "work").glob("*/src-*")):
        builds = [d for d in src.glob(f"{STATE_PREFIX}-build-*") if d.is_dir()]
        remove += _newest_first(builds, _last_used)[keep:]
    return remove


def collect(cache: Path, keep: int, dry_run: bool) -> tuple[list[Path], int]:
    """Remove what plan() names; returns (removed paths, bytes freed)."""
    removed, freed = [], 0
    by_workdir: dict[Path | None, list[Path]] = {}
    for path in plan(cache, keep):
        rel = path.relative_to(cache)
        workdir = cache / rel.parts[0] / rel.parts[1] if rel.parts[0] == "work" else None
        by_workdir.setdefault(workdir, []).append(path)
    for workdir, paths in by_workdir.items():
        try:
            with Lock(workdir / "lock") if workdir and not dry_run else \
                    contextlib.nullcontext():
                for path in paths:
                    size = _size(path)
                    log.info("%s %s (%s)", "would remove" if dry_run else "removing", path,
                             human(size))
                    if not dry_run:
                        shutil.rmtree(path)
                    removed.append(path)
                    freed += size
        except MipError:
            log.warning("%s is in use by another mip6kit run: left alone", workdir)
    return removed, freed


def _size(path: Path) -> int:
    total = 0
    for p in path.rglob("*"):
        try:
            if p.is_file() and not p.is_symlink():
                total += p.stat().st_size
        except OSError:
            pass
    return total


def human(n: float) -> str:
    if n < 1024:
        return f"{n:.0f} B"
    for unit in ("KiB", "MiB"):
        n /= 1024
        if n < 1024:
            return f"{n:.1f} {unit}"
    return f"{n / 1024:.1f} GiB"
