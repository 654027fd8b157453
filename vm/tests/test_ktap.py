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


def _ktap(path):
    """pytest with only the KTAP reporter on stdout, as the guest runs it."""
    return subprocess.run([sys.executable, "-m", "pytest", str(path), "-p",
                           "mip6kit.verifier.ktap", "-p", "no:terminal", "-p",
                           "no:cacheprovider", "-c", "/dev/null"],
                          capture_output=True, text=True, cwd=path)


def _lines(res):
    return [ln for ln in res.stdout.splitlines() if not ln.startswith("# ") or "Totals" in ln]


def test_ktap_output(tmp_path):
    (tmp_path / "test_x.py").write_text(TESTS)
    res = _ktap(tmp_path)
    assert _lines(res) == [
        "KTAP version 1",
        "1..3",
        "ok 1 test_x.py::test_pass",
        "not ok 2 test_x.py::test_fail",
        "ok 3 test_x.py::test_skip # SKIP CONFIG_IPV6_MIP6 not set",
        "# Totals: pass:1 fail:1 xfail:0 xpass:0 skip:1 error:0",
    ]
    assert "# E       assert 1 == 2" in res.stdout
    assert res.returncode == 1


MORE = '''
import pytest

@pytest.fixture
def broken_teardown():
    yield
    raise RuntimeError("splat")

def test_teardown_fails(broken_teardown):
    pass

@pytest.mark.xfail(reason="known bug")
def test_xfail():
    assert 0

@pytest.mark.parametrize("p", ["a/b", "c#d"])
def test_param(p):
    pass
'''


def test_teardown_xfail_and_odd_ids(tmp_path):
    (tmp_path / "test_y.py").write_text(MORE)
    res = _ktap(tmp_path)
    assert _lines(res) == [
        "KTAP version 1",
        "1..4",
        "not ok 1 test_y.py::test_teardown_fails # ERROR",
        "ok 2 test_y.py::test_xfail # XFAIL known bug",
        "ok 3 test_y.py::test_param[a/b]",
        "ok 4 test_y.py::test_param[c_d]",
        "# Totals: pass:2 fail:0 xfail:1 xpass:0 skip:0 error:1",
    ]
    assert "RuntimeError: splat" in res.stdout


def test_collection_error_bails_out(tmp_path):
    (tmp_path / "test_z.py").write_text("import nonexistent_module_xyz\n")
    res = _ktap(tmp_path)
    assert "Bail out! collection error" in res.stdout
    assert "nonexistent_module_xyz" in res.stdout


def test_printed_table_becomes_diagnostics(tmp_path):
    """A table a passing test prints (the MCoA per-link table) reaches the
    KTAP stream as '# ' lines, before the test's own line."""
    (tmp_path / "test_z.py").write_text(
        "def test_table():\n    print('link  BUs\\nh2      1')\n")
    res = _ktap(tmp_path)
    lines = res.stdout.splitlines()
    assert lines[2:5] == ["# link  BUs", "# h2      1", "ok 1 test_z.py::test_table"], lines
