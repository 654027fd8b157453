# SPDX-License-Identifier: GPL-2.0-only
"""The series' selftest runs under the tree's own kselftest runner
(vm/stage.py runner, verifier/test_selftest.py): a stand-in script with the
real run_kselftest.sh of each Debian tree, on the host."""

import pytest

from mip6kit import stage
from mip6kit.verifier import test_selftest

CASES = """#!/bin/bash
echo "TAP version 13"
echo "1..2"
echo "# mh_cmsg_hao: checksum not over the HoA"
echo "not ok 1 mh_cmsg_hao"
echo "ok 2 control_home_source"
exit 1
"""
SKIPPED = """#!/bin/bash
echo "SKIP: no CONFIG_IPV6_MIP6"
exit 4
"""


@pytest.fixture
def run(debian_source, tmp_path, monkeypatch):
    def make(script: str):
        net = stage.runner(debian_source, tmp_path, [test_selftest.SCRIPT])
        (net / test_selftest.SCRIPT).write_text(script)
        (net / test_selftest.SCRIPT).chmod(0o755)
        monkeypatch.setenv("MIP6KIT_SELFTEST_DIR", str(tmp_path))
        return test_selftest.run_script.__wrapped__()
    return make


def test_cases_come_through_the_runner(run):
    cases, out = run(CASES)
    assert cases == {"mh_cmsg_hao": ("not ok", ""), "control_home_source": ("ok", "")}
    assert "# mh_cmsg_hao: checksum not over the HoA" in out.splitlines()


def test_a_script_that_exits_4_is_a_skip(run):
    with pytest.raises(pytest.skip.Exception, match="no CONFIG_IPV6_MIP6"):
        run(SKIPPED)
