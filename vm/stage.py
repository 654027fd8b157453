# SPDX-License-Identifier: GPL-2.0-only
"""Selftest files staged from a kernel tree for the guests, which share the
host's userspace: scripts are copied, helper programs compiled here with
the host's gcc from the tree's own sources."""

import shutil
import subprocess
from pathlib import Path

from .errors import Exit, MipError

NET = Path("tools/testing/selftests/net")


def copy_script(net: Path, name: str, dest: Path) -> None:
    if not (net / name).is_file():
        raise MipError(f"{net / name} not found: this tree has no such selftest")
    shutil.copy2(net / name, dest / name)


def compile_helper(net: Path, name: str, dest: Path) -> None:
    res = subprocess.run(["gcc", "-O2", "-I..", "-o", str(dest / name), f"{name}.c"],
                         cwd=net, capture_output=True, text=True)
    if res.returncode != 0:
        raise MipError(f"compiling {net / name}.c failed:\n{res.stderr.strip()}",
                       Exit.BUILD_FAILURE)
