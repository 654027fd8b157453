# SPDX-License-Identifier: GPL-2.0-only
"""Selftest files staged from a kernel tree for the guests, which share the
host's userspace: scripts are copied, helper programs compiled here with
the host's gcc from the tree's own sources."""

import shutil
from pathlib import Path

from .errors import Exit, MipError
from .proc import Runner

SELFTESTS = Path("tools/testing/selftests")
NET = SELFTESTS / "net"


def copy_script(net: Path, name: str, dest: Path) -> None:
    if not (net / name).is_file():
        raise MipError(f"{net / name} not found: this tree has no such selftest")
    shutil.copy2(net / name, dest / name)


def compile_helper(net: Path, name: str, dest: Path, runner: Runner) -> None:
    res = runner.run(["gcc", "-O2", "-I..", "-o", str(dest / name), f"{name}.c"],
                     cwd=net, capture=True, check=False)
    if res.returncode != 0:
        raise MipError(f"compiling {net / name}.c failed:\n{res.stderr.strip()}",
                       Exit.BUILD_FAILURE)


def runner(src: Path, dest: Path, tests: list[str]) -> Path:
    """Lay out dest as `make -C tools/testing/selftests install` would for
    the net TESTS: the tree's run_kselftest.sh, its kselftest/ runner
    library, kselftest-list.txt, and net/ with the collection's settings
    (its timeout).  The scripts and helpers go into the returned net/."""
    top = src / SELFTESTS
    if not (top / "run_kselftest.sh").is_file():
        raise MipError(f"{top / 'run_kselftest.sh'} not found: this tree has no kselftest "
                       "runner")
    shutil.copy2(top / "run_kselftest.sh", dest / "run_kselftest.sh")
    shutil.copytree(top / "kselftest", dest / "kselftest", dirs_exist_ok=True)
    (dest / "kselftest-list.txt").write_text("".join(f"net:{t}\n" for t in tests))
    net = dest / "net"
    net.mkdir(exist_ok=True)
    if (src / NET / "settings").is_file():
        shutil.copy2(src / NET / "settings", net / "settings")
    return net
