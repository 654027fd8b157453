# SPDX-License-Identifier: GPL-2.0-only
"""Where the files mip6kit ships are: the patch series, the kernel-source
overlay, the config profiles and the verifier.

From a wheel they are package data (mip6kit/patches, mip6kit/overlay,
mip6kit/profiles, mip6kit/verifier); in a checkout, installed editable as
scripts/setup.sh does, they are the checkout's folders beside vm/."""

from importlib import resources
from pathlib import Path

from .errors import Exit, MipError


def _package() -> Path:
    return Path(str(resources.files("mip6kit")))


def _data(name: str, folder: str) -> Path:
    """A wheel's mip6kit/<name>, or a checkout's <folder> beside vm/."""
    pkg = _package()
    for candidate in (pkg / name, pkg.parent / folder):
        if candidate.is_dir() and (candidate == pkg / name or checkout() is not None):
            return candidate
    raise MipError(f"mip6kit's {folder}/ is missing (looked in {pkg / name}); reinstall "
                   "mip6kit (scripts/setup.sh in a checkout, or pip install of its wheel)",
                   Exit.USAGE)


def patches() -> Path:
    """patches/: one series directory per base (6.12/, 6.1/)."""
    return _data("patches", "patches")


def overlay() -> Path:
    """kernel-src-overlay/: files copied over the scratch kernel tree."""
    return _data("overlay", "kernel-src-overlay")


def profiles() -> Path:
    """vm/profiles/: the config fragments of the non-lean profiles."""
    return _package() / "profiles"


def verifier() -> Path:
    """verifier/: the in-guest test suite."""
    return Path(str(resources.files("mip6kit.verifier")))


def checkout() -> Path | None:
    """The source checkout this mip6kit runs from (an editable install), or
    None for an installed wheel: the campaign scripts write their results
    there."""
    root = _package().parent
    return root if (root / "pyproject.toml").is_file() and (root / "vm").is_dir() else None
