# SPDX-License-Identifier: GPL-2.0-only
"""The verifier's C helpers (verifier/helpers/*.c), and where the built
programs are.

The host builds them before the guest boots (vm/guestrun.py, into the
directory it names in $MIP6KIT_HELPERS): gcc in a TCG guest takes seconds.
Without that, as when the verifier is run by hand, one is built here on
first use; a helper that cannot be built skips its tests."""

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from .cmd import cmd
from .contract import ENV_HELPERS

SOURCES = Path(__file__).resolve().parent / "helpers"
# name -> what it needs and the gcc flags it is built with
HELPERS = {
    "nlxfrm32": ("gcc-multilib (a 32-bit libc)", ["-m32", "-static"]),
    "hoaddr_example": ("gcc", []),
}
_built: dict[str, Path] = {}


def build_argv(name: str, out: Path) -> list[str]:
    """The command that builds helper name as out."""
    _, flags = HELPERS[name]
    return ["gcc", *flags, "-O2", "-Wall", "-o", str(out), str(SOURCES / f"{name}.c")]


def helper(name: str) -> Path:
    """The built helper; skips the test when it cannot be built."""
    staged = os.environ.get(ENV_HELPERS)
    if staged and (Path(staged) / name).is_file():
        return Path(staged) / name
    if name not in _built:
        needs, _ = HELPERS[name]
        if not shutil.which("gcc"):
            pytest.skip(f"no gcc to build {name}")
        out = Path(tempfile.mkdtemp(prefix="mip6kit-helpers-")) / name
        res = cmd(build_argv(name, out), check=False)
        if res.returncode != 0:
            pytest.skip(f"cannot build {name} (install {needs}): {res.stderr.strip()[-200:]}")
        _built[name] = out
    return _built[name]
