# SPDX-License-Identifier: GPL-2.0-only
from pathlib import Path

import pytest

from mip6kit import kconfig
from mip6kit.errors import MipError

ROOT = Path(__file__).resolve().parents[2]  # the checkout


FRAGMENT = ROOT / "kernel-src-overlay/tools/testing/selftests/net/mip6/config"

MINI_KCONFIG = """\
config MODULES
	bool "Enable loadable module support"
	modules

config A
	bool "a"

config B
	bool "b"
	depends on A
"""


def test_shipped_fragment_is_sorted_and_complete():
    frag = kconfig.read_fragment(FRAGMENT)
    for sym in ("IPV6", "IPV6_MIP6", "XFRM_USER", "ACPI", "VETH", "NET_NS", "IKCONFIG_PROC",
                "VIRTIO_CONSOLE", "MAGIC_SYSRQ"):
        assert frag[sym].value == "y", sym


@pytest.mark.parametrize("text,msg", [
    ("CONFIG_B=y\nCONFIG_A=y\n", "not sorted"),
    ("CONFIG_A=y\nCONFIG_A=n\n", "set twice"),
    ("CONFIG_A=y\nbogus line\n", "not a CONFIG_X=value line"),
])
def test_bad_fragments_are_named(tmp_path, text, msg):
    f = tmp_path / "frag"
    f.write_text(text)
    with pytest.raises(MipError, match=msg):
        kconfig.read_fragment(f)


def test_not_set_lines_sort_as_lc_all_c(tmp_path):
    f = tmp_path / "frag"
    f.write_text("# CONFIG_B is not set\nCONFIG_A=y\n")
    assert kconfig.read_fragment(f)["B"].value == "n"


def test_dropped_symbol_is_explained(tmp_path):
    """The shim parses a bare `modules` line; a symbol whose dependency is off
    is reported with the expression that dropped it."""
    (tmp_path / "Kconfig").write_text(MINI_KCONFIG)
    dotconfig = tmp_path / ".config"
    dotconfig.write_text("CONFIG_MODULES=y\n# CONFIG_A is not set\n# CONFIG_B is not set\n")
    frag = tmp_path / "frag"
    frag.write_text("CONFIG_B=y\nCONFIG_MODULES=y\n")
    dropped = kconfig.check_fragment(tmp_path, dotconfig, frag)
    assert [d.symbol for d in dropped] == ["B"]
    assert "depends on A" in dropped[0].why and "A=n" in dropped[0].why
    assert "CONFIG_B=y requested, got n" in str(dropped[0])


def test_unknown_symbol_is_reported(tmp_path):
    (tmp_path / "Kconfig").write_text(MINI_KCONFIG)
    (tmp_path / ".config").write_text("CONFIG_MODULES=y\n")
    frag = tmp_path / "frag"
    frag.write_text("CONFIG_NOPE=y\n")
    dropped = kconfig.check_fragment(tmp_path, tmp_path / ".config", frag)
    assert dropped[0].why == "no such symbol in this tree"
