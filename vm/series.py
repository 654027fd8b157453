# SPDX-License-Identifier: GPL-2.0-only
"""The series in patches/: where each base's is, and the names its patches
go by in test markers (verifier/patchnames.py writes them out)."""

from pathlib import Path

from . import resources, tree
from .errors import MipError


def slug(patch: Path) -> str:
    """0001-ipv6-raw-foo.patch -> ipv6-raw-foo: the name test markers use."""
    stem = patch.name.removesuffix(".patch")
    head, _, rest = stem.partition("-")
    return rest if head.isdigit() and rest else stem


def shipped(version: str) -> Path:
    """The series directory mip6kit ships for Linux version (major.minor)."""
    return resources.patches() / version


def every_patch_name() -> frozenset[str]:
    """The names of the patches of every shipped series."""
    names: set[str] = set()
    for series in resources.patches().glob("*/series"):
        names |= {slug(p) for p in tree.read_series(series.parent)}
    return frozenset(names)


def other_series_patches(mine: list[str]) -> frozenset[str]:
    """Names of the patches that only the other series in patches/ carry."""
    return every_patch_name() - set(mine)


def resolve(kt: tree.KernelTree, requested: Path | None) -> Path:
    """--series DIR, or the shipped series of the tree's version."""
    if requested is not None:
        return requested
    found = shipped(kt.series_name)
    if not (found / "series").is_file():
        raise MipError(f"no series for Linux {kt.version} in {found}: pass "
                       "--series DIR, or --no-series to test the baseline alone")
    return found
