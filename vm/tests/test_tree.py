# SPDX-License-Identifier: GPL-2.0-only
"""Scratch copies: the user's tree is never modified; rebuilds stay correct."""

import hashlib
import os
import subprocess

import pytest

from mip6kit.vm import tree
from mip6kit.vm.errors import Exit, MipError
from mip6kit.vm.proc import Runner

PATCH = """\
--- a/net/ipv6/raw.c
+++ b/net/ipv6/raw.c
@@ -1 +1 @@
-int raw;
+int raw_patched;
"""


def _digest(root):
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        if p.is_file():
            h.update(str(p.relative_to(root)).encode() + p.read_bytes())
            h.update(str(p.stat().st_mtime_ns).encode())
    return h.hexdigest()


@pytest.fixture
def setup(tmp_path, fake_linux):
    user = fake_linux(tmp_path / "linux")
    (user / ".config").write_text("CONFIG_IN_TREE=y\n")  # user's in-tree build state
    overlay = tmp_path / "overlay"
    (overlay / "tools").mkdir(parents=True)
    (overlay / "tools/frag").write_text("CONFIG_X=y\n")
    series = tmp_path / "series"
    series.mkdir()
    (series / "0001-fix.patch").write_text(PATCH)
    (series / "series").write_text("# comment\n0001-fix.patch\n")
    kt = tree.resolve(None, user, tmp_path / "cache", Runner())
    return kt, tmp_path / "cache/work/src", overlay, series


def test_version_and_series_name(setup):
    kt, *_ = setup
    assert kt.version == "6.12.117" and kt.series_name == "6.12"


def test_user_tree_is_never_modified(setup):
    kt, src, overlay, series = setup
    before = _digest(kt.origin)
    tree.sync_scratch(kt, src, overlay, Runner())
    tree.apply_series(src, tree.read_series(series), Runner())
    assert (src / "net/ipv6/raw.c").read_text() == "int raw_patched;\n"
    assert not (src / ".config").exists(), "in-tree build state must not be copied"
    assert (src / "tools/frag").exists()
    assert _digest(kt.origin) == before


def test_resync_restores_and_touches(setup):
    """Going back to baseline rewrites raw.c with a new mtime, so make rebuilds it."""
    kt, src, overlay, series = setup
    tree.sync_scratch(kt, src, overlay, Runner())
    tree.apply_series(src, tree.read_series(series), Runner())
    patched_mtime = (src / "net/ipv6/raw.c").stat().st_mtime_ns
    os.utime(src / "net/ipv6/raw.c", ns=(patched_mtime, patched_mtime))
    tree.sync_scratch(kt, src, overlay, Runner())
    assert (src / "net/ipv6/raw.c").read_text() == "int raw;\n"
    assert (src / "net/ipv6/raw.c").stat().st_mtime_ns >= patched_mtime


def test_patch_that_does_not_apply(setup):
    kt, src, overlay, series = setup
    tree.sync_scratch(kt, src, overlay, Runner())
    (src / "net/ipv6/raw.c").write_text("something else\n")
    with pytest.raises(MipError) as e:
        tree.apply_series(src, tree.read_series(series), Runner())
    assert e.value.code == Exit.BUILD_FAILURE and "0001-fix.patch" in str(e.value)


def test_series_naming_a_missing_patch(tmp_path):
    (tmp_path / "series").write_text("0001-missing.patch\n")
    with pytest.raises(MipError, match="0001-missing.patch does not exist"):
        tree.read_series(tmp_path)


@pytest.mark.parametrize("text,msg", [("# nothing\n\n", "names no patch"),
                                      ("0001-fix.patch -p0\n", "only -p1")])
def test_bad_series_files(tmp_path, text, msg):
    (tmp_path / "0001-fix.patch").write_text(PATCH)
    (tmp_path / "series").write_text(text)
    with pytest.raises(MipError, match=msg):
        tree.read_series(tmp_path)


def test_not_a_kernel_tree(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(MipError, match="not a kernel tree"):
        tree.resolve(None, tmp_path / "empty", tmp_path / "cache", Runner())


def test_tree_overlapping_cache(tmp_path, fake_linux):
    fake_linux(tmp_path / "linux")
    with pytest.raises(MipError, match="overlaps the cache"):
        tree.resolve(None, tmp_path / "linux", tmp_path / "linux/cache", Runner())


def test_git_tree_stays_clean(setup):
    kt, src, overlay, series = setup
    subprocess.run(["git", "init", "-q", str(kt.origin)], check=True)
    subprocess.run(["git", "-C", str(kt.origin), "add", "-A"], check=True)
    subprocess.run(["git", "-C", str(kt.origin), "-c", "user.name=t", "-c", "user.email=t@t",
                    "commit", "-qm", "base"], check=True)
    tree.sync_scratch(kt, src, overlay, Runner())
    tree.apply_series(src, tree.read_series(series), Runner())
    status = subprocess.run(["git", "-C", str(kt.origin), "status", "--porcelain"],
                            capture_output=True, text=True, check=True).stdout
    assert "raw.c" not in status and not (src / ".git").exists()
