# SPDX-License-Identifier: GPL-2.0-only
import subprocess
import sys

TESTS = '''
import pytest

def test_pass():
    pass

def test_fail():
    assert 1 == 2

def test_skip():
    pytest.skip("CONFIG_IPV6_MIP6 not set")
'''


def test_ktap_output(tmp_path):
    (tmp_path / "test_x.py").write_text(TESTS)
    res = subprocess.run([sys.executable, "-m", "pytest", str(tmp_path), "-p",
                          "mip6kit.verifier.ktap", "-p", "no:terminal", "-p",
                          "no:cacheprovider", "-c", "/dev/null"],
                         capture_output=True, text=True, cwd=tmp_path)
    lines = [ln for ln in res.stdout.splitlines() if not ln.startswith("# ") or "Totals" in ln]
    assert lines == [
        "KTAP version 1",
        "1..3",
        "ok 1 test_x.py::test_pass",
        "not ok 2 test_x.py::test_fail",
        "ok 3 test_x.py::test_skip # SKIP CONFIG_IPV6_MIP6 not set",
        "# Totals: pass:1 fail:1 xfail:0 xpass:0 skip:1 error:0",
    ]
    assert "# E       assert 1 == 2" in res.stdout
    assert res.returncode == 1
