# SPDX-License-Identifier: GPL-2.0-only
"""Scratch trees: the user's tree is never modified, an unchanged tree is
never rewritten, and every change reaches make through a newer mtime."""

import hashlib
import os
import subprocess
import time

import pytest

from mip6kit import scratch, tree
from mip6kit.errors import Exit, MipError
from mip6kit.proc import Runner

PATCH = """\
--- a/net/ipv6/raw.c
+++ b/net/ipv6/raw.c
@@ -1 +1 @@
-int raw;
+int raw_patched;
"""
NEW_FILE_PATCH = """\
--- /dev/null
+++ b/net/ipv6/new.c
@@ -0,0 +1 @@
+int fresh;
"""


def _digest(root):
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        if p.is_file():
            h.update(str(p.relative_to(root)).encode() + p.read_bytes())
            h.update(str(p.stat().st_mtime_ns).encode())
    return h.hexdigest()


def _mtimes(root):
    return {str(p.relative_to(root)): p.stat().st_mtime_ns for p in root.rglob("*")
            if p.is_file() and not p.name.startswith(scratch.STATE_PREFIX)}


@pytest.fixture
def setup(tmp_path, fake_linux):
    user = fake_linux(tmp_path / "linux")
    (user / ".config").write_text("CONFIG_IN_TREE=y\n")  # user's in-tree build state
    (user / "net/ipv6/route.c").write_text("int route;\n")
    past = time.time() - 3600
    for f in user.rglob("*"):
        os.utime(f, (past, past))  # a tree checked out an hour ago
    overlay = tmp_path / "overlay"
    (overlay / "tools").mkdir(parents=True)
    (overlay / "tools/frag").write_text("CONFIG_X=y\n")
    patch = tmp_path / "0001-fix.patch"
    patch.write_text(PATCH)
    kt = tree.resolve(None, user, tmp_path / "cache", Runner())
    return kt.origin, tmp_path / "cache/work/src-patched", overlay, patch


def sync(origin, src, overlay, patches):
    return scratch.sync(origin, src, overlay, patches, Runner())


def test_user_tree_is_never_modified(setup):
    origin, src, overlay, patch = setup
    before = _digest(origin)
    sync(origin, src, overlay, [patch])
    assert (src / "net/ipv6/raw.c").read_text() == "int raw_patched;\n"
    assert not (src / ".config").exists(), "in-tree build state must not be copied"
    assert (src / "tools/frag").read_text() == "CONFIG_X=y\n"
    assert _digest(origin) == before


def test_second_sync_changes_nothing(setup):
    """The promise behind a no-op rebuild: an unchanged tree, overlay and
    series give a sync that rewrites no file and changes no mtime."""
    origin, src, overlay, patch = setup
    first = sync(origin, src, overlay, [patch])
    assert "net/ipv6/raw.c" in first.changed
    before = _mtimes(src)
    second = sync(origin, src, overlay, [patch])
    assert second.changed == []
    assert _mtimes(src) == before


def test_edit_in_the_tree_reaches_only_that_file(setup):
    origin, src, overlay, patch = setup
    sync(origin, src, overlay, [patch])
    before = _mtimes(src)
    (origin / "net/ipv6/route.c").write_text("int route_edited;\n")
    res = sync(origin, src, overlay, [patch])
    after = _mtimes(src)
    assert res.changed == ["net/ipv6/route.c"]
    assert after["net/ipv6/route.c"] > before["net/ipv6/route.c"]
    assert {k for k in after if after[k] != before.get(k)} == {"net/ipv6/route.c"}


def test_backdated_edit_gets_a_new_mtime(setup):
    """A file replaced with an older mtime (cp -p, tar) must still be newer
    than its objects, and stays quiet on the next sync."""
    origin, src, overlay, patch = setup
    sync(origin, src, overlay, [patch])
    route = origin / "net/ipv6/route.c"
    route.write_text("int route_from_backup;\n")
    past = time.time() - 7200
    os.utime(route, (past, past))
    start = time.time_ns()
    res = sync(origin, src, overlay, [patch])
    assert "net/ipv6/route.c" in res.changed
    assert (src / "net/ipv6/route.c").stat().st_mtime_ns >= start - 10**9
    assert sync(origin, src, overlay, [patch]).changed == []


def test_patch_edit_and_removal(setup, tmp_path):
    """A changed patch rewrites what it touches; a dropped patch restores
    the tree's content with a new mtime (never the tree's old mtime)."""
    origin, src, overlay, patch = setup
    sync(origin, src, overlay, [patch])
    patched_mtime = (src / "net/ipv6/raw.c").stat().st_mtime_ns
    new = tmp_path / "0002-new.patch"
    new.write_text(NEW_FILE_PATCH)
    res = sync(origin, src, overlay, [patch, new])
    assert res.changed == ["net/ipv6/new.c"]
    res = sync(origin, src, overlay, [])
    assert sorted(res.changed) == ["net/ipv6/new.c", "net/ipv6/raw.c"]
    assert not (src / "net/ipv6/new.c").exists()
    assert (src / "net/ipv6/raw.c").read_text() == "int raw;\n"
    assert (src / "net/ipv6/raw.c").stat().st_mtime_ns >= patched_mtime
    assert sync(origin, src, overlay, []).changed == []


def test_interrupted_sync_starts_afresh(setup):
    origin, src, overlay, patch = setup
    sync(origin, src, overlay, [patch])
    (src / "stale").write_text("left by a run that died\n")
    src.with_name(src.name + ".sync-incomplete").touch()
    sync(origin, src, overlay, [patch])
    assert not (src / "stale").exists()
    assert not src.with_name(src.name + ".sync-incomplete").exists()


def test_first_copy_hard_links_the_other_variant(setup):
    origin, src, overlay, patch = setup
    base = src.with_name("src-baseline")
    sync(origin, base, overlay, [])
    scratch.sync(origin, src, overlay, [patch], Runner(), link_dest=base)
    same = (src / "net/ipv6/route.c").stat().st_ino == (base / "net/ipv6/route.c").stat().st_ino
    assert same, "unchanged files should be hard links to the baseline copy"
    assert (base / "net/ipv6/raw.c").read_text() == "int raw;\n", "patching leaked"


def test_patch_that_does_not_apply(setup):
    origin, src, overlay, patch = setup
    (origin / "net/ipv6/raw.c").write_text("something else\n")
    with pytest.raises(MipError) as e:
        sync(origin, src, overlay, [patch])
    assert e.value.code == Exit.BUILD_FAILURE and "0001-fix.patch" in str(e.value)


def test_git_tree_stays_clean(setup):
    origin, src, overlay, patch = setup
    subprocess.run(["git", "init", "-q", str(origin)], check=True)
    subprocess.run(["git", "-C", str(origin), "add", "-A"], check=True)
    subprocess.run(["git", "-C", str(origin), "-c", "user.name=t", "-c", "user.email=t@t",
                    "commit", "-qm", "base"], check=True)
    sync(origin, src, overlay, [patch])
    status = subprocess.run(["git", "-C", str(origin), "status", "--porcelain"],
                            capture_output=True, text=True, check=True).stdout
    assert "raw.c" not in status and not (src / ".git").exists()


def test_generation_moves_only_with_a_change(setup):
    """A build stamped with the sync generation is skipped only while no
    sync has changed anything since."""
    origin, src, overlay, patch = setup
    first = sync(origin, src, overlay, [patch]).generation
    assert sync(origin, src, overlay, [patch]).generation == first
    (origin / "net/ipv6/route.c").write_text("int route_edited;\n")
    assert sync(origin, src, overlay, [patch]).generation == first + 1


def test_appends_reach_the_scratch_copy_only(setup):
    """The coverage profile's GCOV_PROFILE line: appended to the scratch
    copy's Makefile after the series, never to the user's tree, and gone
    again when a sync no longer asks for it; a file the tree lacks is not
    created."""
    origin, src, overlay, patch = setup
    (origin / "net/ipv6/Makefile").write_text("obj-y += raw.o\n")
    before = _digest(origin)
    appends = {"net/ipv6/Makefile": "GCOV_PROFILE := y\n", "net/nowhere/Makefile": "x\n"}
    scratch.sync(origin, src, overlay, [patch], Runner(), appends=appends)
    assert (src / "net/ipv6/Makefile").read_text() == "obj-y += raw.o\nGCOV_PROFILE := y\n"
    assert not (src / "net/nowhere/Makefile").exists()
    assert _digest(origin) == before
    res = sync(origin, src, overlay, [patch])
    assert "net/ipv6/Makefile" in res.changed
    assert (src / "net/ipv6/Makefile").read_text() == "obj-y += raw.o\n"
