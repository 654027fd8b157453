# SPDX-License-Identifier: GPL-2.0-only
import lzma
from pathlib import Path

import pytest

from mip6kit import configcheck
from mip6kit.errors import MipError

GOOD = """\
CONFIG_IPV6=y
CONFIG_IPV6_MIP6=y
CONFIG_XFRM_USER=m
CONFIG_XFRM_SUB_POLICY=y
CONFIG_IPV6_MULTIPLE_TABLES=y
CONFIG_IPV6_SUBTREES=y
CONFIG_IPV6_TUNNEL=m
"""


def _status(findings, symbol):
    return next(f.status for f in findings if f.need.symbol == symbol)


def test_good_config_passes(tmp_path):
    f = tmp_path / "config"
    f.write_text(GOOD)
    findings = configcheck.check(f)
    assert configcheck.passed(findings)
    assert _status(findings, "XFRM_MIGRATE") == "missing"  # recommended only


def test_mip6_as_module_fails(tmp_path):
    f = tmp_path / "config.xz"
    f.write_bytes(lzma.compress(GOOD.replace("IPV6_MIP6=y", "IPV6_MIP6=m").encode()))
    findings = configcheck.check(f)
    assert _status(findings, "IPV6_MIP6") == "module"
    assert not configcheck.passed(findings)
    assert "#ifdef CONFIG_IPV6_MIP6" in configcheck.render(findings, f)


def test_missing_symbol(tmp_path):
    f = tmp_path / "config"
    f.write_text(GOOD.replace("CONFIG_IPV6_SUBTREES=y\n", "# CONFIG_IPV6_SUBTREES is not set\n"))
    assert _status(configcheck.check(f), "IPV6_SUBTREES") == "missing"


@pytest.mark.parametrize("content", [b"hello\n", b"\xff\xfe\x00garbage"])
def test_not_a_config(tmp_path, content):
    f = tmp_path / "x"
    f.write_bytes(content)
    with pytest.raises(MipError):
        configcheck.check(f)


DEBIAN = Path("/usr/src/linux-config-6.12/config.amd64_none_amd64.xz")


@pytest.mark.skipif(not DEBIAN.exists(), reason="linux-config-6.12 not installed")
def test_debian_6_12_config():
    findings = configcheck.check(DEBIAN)
    assert configcheck.passed(findings)
    assert _status(findings, "IPV6_MIP6") == "ok"
