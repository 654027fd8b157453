# SPDX-License-Identifier: GPL-2.0-only
"""Kernel trees and series files: resolution and clear errors."""

import pytest

from mip6kit import tree
from mip6kit.errors import MipError
from mip6kit.proc import Runner


@pytest.fixture
def setup(tmp_path, fake_linux):
    user = fake_linux(tmp_path / "linux")
    return tree.resolve(None, user, tmp_path / "cache", Runner())


def test_version_and_series_name(setup):
    kt = setup
    assert kt.version == "6.12.117" and kt.series_name == "6.12"


def test_series_naming_a_missing_patch(tmp_path):
    (tmp_path / "series").write_text("0001-missing.patch\n")
    with pytest.raises(MipError, match="0001-missing.patch does not exist"):
        tree.read_series(tmp_path)


@pytest.mark.parametrize("text,msg", [("# nothing\n\n", "names no patch"),
                                      ("0001-fix.patch -p0\n", "only -p1")])
def test_bad_series_files(tmp_path, text, msg):
    (tmp_path / "0001-fix.patch").write_text("--- a/x\n+++ b/x\n")
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
