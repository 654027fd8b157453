# SPDX-License-Identifier: GPL-2.0-only
"""Real guest: a crash planted in a 6.1 guest shows up in the run
directory's nipa.json and kcidb.json with its fingerprint, and the
guest's kernel-log mark (verifier/kmsg.py) names the test it came in.

Boots the built 6.1 kernel only (about 15 s under TCG)."""

import json
import sys

import kcidb_io
import pytest

from mip6kit import crash
from mip6kit.errors import Exit

pytestmark = pytest.mark.vm

PLANTED = "test_planted.py::test_panics[sysrq]"


def test_planted_panic_is_in_both_reports(cli, tmp_path):
    mark = (f"{sys.executable} -c 'from mip6kit.verifier import contract, kmsg; "
            f"kmsg.Marks().mark(contract.KMSG_START, \"{PLANTED}\")'")
    res = cli("boot", "--base", "6.1", "--run-dir", str(tmp_path), "--timeout", "240", "--",
              "sh", "-c", f"{mark} && echo c > /proc/sysrq-trigger")
    assert res.returncode == Exit.KERNEL_CRASH, res.stderr

    console = (tmp_path / "boot/console.log").read_text(errors="replace")
    (found,) = crash.extract(console)
    assert found.fingerprint.startswith("dump_stack_lvl:panic:sysrq_handle_crash:"), found
    assert found.kind == "panic" and found.test == PLANTED and found.during

    nipa = json.loads((tmp_path / "nipa.json").read_text())
    assert nipa["executor"] == "mip6kit" and nipa["branch"].startswith("linux-source-6.1+")
    (row,) = nipa["results"]
    assert row["group"] == "mip6kit-boot" and row["result"] == "fail"
    assert row["crashes"] == [found.fingerprint]

    kcidb = json.loads((tmp_path / "kcidb.json").read_text())
    kcidb_io.schema.LATEST.validate(kcidb)
    (build,) = kcidb["builds"]
    assert build["status"] == "PASS" and build["config_name"] == "lean"
    (test,) = kcidb["tests"]
    assert test["status"] == "FAIL" and test["build_id"] == build["id"]
    assert test["misc"]["crashes"] == [found.fingerprint]


def test_clean_command_passes_in_both_reports(cli, tmp_path):
    res = cli("boot", "--base", "6.1", "--run-dir", str(tmp_path), "--", "true")
    assert res.returncode == 0, res.stderr
    (row,) = json.loads((tmp_path / "nipa.json").read_text())["results"]
    assert (row["test"], row["result"]) == ("true", "pass") and "crashes" not in row
    assert row["time"] > 0
    kcidb = json.loads((tmp_path / "kcidb.json").read_text())
    kcidb_io.schema.LATEST.validate(kcidb)
    assert [t["status"] for t in kcidb["tests"]] == ["PASS"]
