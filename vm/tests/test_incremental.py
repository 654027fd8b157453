# SPDX-License-Identifier: GPL-2.0-only
"""Real builds of the 6.12 base: a warm build compiles nothing, switching
variants compiles nothing, and an edit in a --tree rebuilds that object and
the link only.  The evidence is kbuild's own output in build.log.

These reuse the cache of `mip6kit run` (the matrix runs first in CI).
"""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from mip6kit.build import make_env
from mip6kit.cache import cache_root

pytestmark = pytest.mark.vm

# kbuild's quiet output: "  CC      net/ipv6/raw.o"
_STEP = re.compile(r"^\s+(CC|AS|LD|AR)\s+(\S+)", re.M)


def link_only(obj: str) -> bool:
    """Rebuilt by every relink: the version stamp, and the bzImage wrapper
    around vmlinux (arch/x86/boot: setup header, compressed piggy)."""
    return obj.startswith(("init/version", "arch/x86/boot/"))


def compiled(build_log: Path) -> list[str]:
    """Objects the last make of bzImage compiled (CC and AS steps)."""
    text = build_log.read_text()
    last = text.rsplit("\n$ make ", 1)[-1]  # build.py logs each make command line
    return [obj for kind, obj in _STEP.findall(last) if kind in ("CC", "AS")
            and not obj.startswith(".tmp_vmlinux")]


def build(cli, rundir: Path, *args: str) -> list[str]:
    """Objects a build compiled; [] when mip6kit skipped make (no build.log)."""
    res = cli("build", "--run-dir", str(rundir), *args)
    assert res.returncode == 0, res.stderr
    variant = "baseline" if "--baseline" in args else "patched"
    build_log = rundir / variant / "build.log"
    return compiled(build_log) if build_log.exists() else []


def test_second_build_compiles_nothing(cli, tmp_path):
    """The second identical build skips make (the stamp says nothing changed),
    and make itself agrees: run by hand in that build dir, with mip6kit's
    own make variables, it compiles nothing."""
    build(cli, tmp_path / "1", "--baseline")
    res = cli("build", "--run-dir", str(tmp_path / "2"), "--baseline")
    assert res.returncode == 0, res.stderr
    log = (tmp_path / "2/run.log").read_text()
    assert "synced src-baseline: 0 files changed" in log
    assert "config: unchanged" in log and "build: nothing changed" in log
    image = Path(res.stdout.strip().splitlines()[-1])
    builddir = image.parents[3]
    env, make_vars = make_env(cache_root(), builddir.parent.parent)
    make = subprocess.run(["make", "-C", str(builddir.parent), f"O={builddir}", *make_vars,
                           "bzImage"], env=env, capture_output=True, text=True)
    assert make.returncode == 0, make.stderr[-2000:]
    steps = [obj for kind, obj in _STEP.findall(make.stdout) if kind in ("CC", "AS", "LD")]
    assert steps == [], f"make still had work to do: {steps[:10]}"


def test_switching_variants_compiles_nothing(cli, tmp_path):
    build(cli, tmp_path / "1")
    build(cli, tmp_path / "2", "--baseline")
    assert build(cli, tmp_path / "3") == [], "patched rebuilt after a baseline build"
    assert build(cli, tmp_path / "4", "--baseline") == [], "baseline rebuilt"


@pytest.fixture(scope="module")
def user_tree():
    """A user's own tree: hard links to the extracted 6.12 source (cheap; it
    must be on the cache's file system, but outside the cache, which mip6kit
    refuses as a tree), in a fixed place so that a warm cache keeps its
    builds.  Edits replace a file (new inode), never write through a link."""
    src = cache_root() / "sources/linux-source-6.12"
    tree = cache_root().parent / "mip6kit-test-trees/linux-6.12"
    if not (tree / "Makefile").is_file():
        shutil.rmtree(tree, ignore_errors=True)
        tree.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(src, tree, copy_function=_link, symlinks=True)
    return tree


def _link(a, b):
    Path(b).hardlink_to(a)


def test_edit_rebuilds_that_object_only(cli, tmp_path, user_tree):
    build(cli, tmp_path / "1", "--tree", str(user_tree), "--baseline")
    raw = user_tree / "net/ipv6/raw.c"
    text = raw.read_text()
    edited = raw.with_name("raw.c.new")
    marker = "/* mip6kit edit test */\n"
    edited.write_text(text.removesuffix(marker) if text.endswith(marker) else text + marker)
    edited.replace(raw)  # a new inode: the cache's source is untouched
    pristine = cache_root() / "sources/linux-source-6.12/net/ipv6/raw.c"
    assert not pristine.read_text().endswith(marker), "the edit leaked into the cache"
    got = build(cli, tmp_path / "2", "--tree", str(user_tree), "--baseline")
    assert "net/ipv6/raw.o" in got, f"the edit was not rebuilt: {got}"
    assert {o for o in got if not link_only(o)} == {"net/ipv6/raw.o"}, \
        f"rebuilt more than raw.o and the link: {got}"
