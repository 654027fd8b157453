# SPDX-License-Identifier: GPL-2.0-only
"""vm/reports.py and vm/runreport.py: nipa.json's shape, kcidb.json against
KernelCI's own schema (kcidb-io), names as each format allows them, and a
run directory's results and crashes as report rows."""

import datetime
import json
import re
import subprocess

import kcidb_io
import pytest
from jsonschema.exceptions import ValidationError
from test_crash import WARN, WARN_PRINT

from mip6kit import reports, runreport
from mip6kit.matrix import Row
from mip6kit.verifier.contract import KMSG_START, Outcome, TestResult, dump_results

START = datetime.datetime(2026, 12, 6, 0, 1, 2, 345678, tzinfo=datetime.UTC)
END = START + datetime.timedelta(minutes=3)
NIPA_RESULTS = {"pass", "skip", "fail", "warn"}
NIPA_TIME = r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)?\+00:00$"


@pytest.fixture
def checkout(tmp_path):
    patches = []
    for n, text in enumerate(["From a\n+x\n", "From b\n+\u00e9\n"], 1):
        p = tmp_path / f"000{n}-p.patch"
        p.write_text(text)
        patches.append(p)
    return reports.Checkout("linux-source-6.1", "6.1.192", patches, START, "20261206-x-6.1")


def results() -> list[reports.Result]:
    R, O = reports.Result, Outcome
    return [
        R("test_hao_checksum.py::test_bu[cmsg]", "baseline", O.FAILED, "baseline", 1.5),
        R("test_hao_checksum.py::test_bu[cmsg]", "patched", O.PASSED, "patched", 1.25),
        R("test_x.py::test_skip", "patched", O.SKIPPED, "patched", 0.01),
        R("test_x.py::test_xfail", "patched", O.XFAILED, "patched"),
        R("test_x.py::test_hang", "patched", O.UNFINISHED, "patched", None, [WARN_PRINT]),
        R("test_x.py::test_left", "patched", O.UNFINISHED, "patched"),
        R("fib_tests.sh::IPv6 route add", "patched", O.FLAKY, "patched", suite="selftests"),
        R("test_hao_checksum.py::test_bu[cmsg]", reports.MATRIX, O.PASSED),
        R("test_x.py::test_hang", reports.MATRIX, O.FAILED, None, None, [WARN_PRINT],
          "did not finish"),
    ]


def test_nipa_shape(checkout):
    data = reports.nipa(checkout, results(), END)
    assert set(data) == {"executor", "branch", "start", "end", "results"}
    assert data["executor"] == "mip6kit"
    assert data["branch"] == f"linux-source-6.1+mip6kit-{checkout.patchset_hash[:8]}"
    assert re.match(NIPA_TIME, data["start"]) and re.match(NIPA_TIME, data["end"])
    rows = {(r["group"], r["test"]): r for r in data["results"]}
    for r in data["results"]:
        assert set(r) <= {"test", "group", "result", "time", "retry", "crashes"}
        assert r["result"] in NIPA_RESULTS
        assert re.fullmatch(r"[0-9a-zA-Z-]*[0-9a-zA-Z]", r["test"])
    assert rows["mip6kit-baseline", "test-hao-checksum-py-test-bu-cmsg"]["result"] == "fail"
    assert rows["mip6kit-patched", "test-hao-checksum-py-test-bu-cmsg"] == {
        "test": "test-hao-checksum-py-test-bu-cmsg", "group": "mip6kit-patched",
        "result": "pass", "time": 1.25}
    assert rows["mip6kit-patched", "test-x-py-test-xfail"]["result"] == "pass"
    assert rows["mip6kit-patched", "test-x-py-test-skip"]["result"] == "skip"
    assert rows["mip6kit-patched", "test-x-py-test-hang"]["crashes"] == [WARN_PRINT]
    flaky = rows["mip6kit-patched", "fib-tests-sh-IPv6-route-add"]
    assert (flaky["result"], flaky["retry"]) == ("fail", "pass") and "crashes" not in flaky
    # the verdict group: what the exit code is made from
    assert rows["mip6kit-matrix", "test-hao-checksum-py-test-bu-cmsg"]["result"] == "pass"
    assert rows["mip6kit-matrix", "test-x-py-test-hang"]["result"] == "fail"
    json.dumps(data)  # plain JSON


def test_kcidb_validates_against_the_schema(checkout):
    builds = [reports.Build("baseline", "lean", True, START, 12.5),
              reports.Build("patched", "lean", False)]
    data = reports.kcidb(checkout, builds, results(), END)
    kcidb_io.schema.LATEST.validate(data)
    assert data["version"] == {"major": 5, "minor": 3}
    (co,) = data["checkouts"]
    assert co["id"] == "mip6kit:20261206-x-6.1" and co["origin"] == "mip6kit"
    assert "git_commit_hash" not in co
    assert co["misc"]["verdict"] == {"test_hao_checksum.py::test_bu[cmsg]": "pass",
                                     "test_x.py::test_hang": "fail: did not finish"}
    assert [(b["config_name"], b["status"], b["architecture"]) for b in data["builds"]] == \
        [("lean", "PASS", "x86_64"), ("lean", "FAIL", "x86_64")]
    tests = {t["path"]: t for t in data["tests"]}
    assert len(data["tests"]) == 7  # no verdict rows: they are the checkout's misc
    assert tests["mip6kit.test_hao_checksum.test_bu_cmsg"]["status"] in ("PASS", "FAIL")
    assert tests["mip6kit.test_x.test_hang"]["status"] == "FAIL"
    assert tests["mip6kit.test_x.test_hang"]["misc"]["crashes"] == [WARN_PRINT]
    assert tests["mip6kit.test_x.test_left"]["status"] == "MISS"
    assert tests["mip6kit.test_x.test_xfail"]["status"] == "PASS"
    assert tests["mip6kit.selftests.fib_tests_sh.IPv6_route_add"]["status"] == "FAIL"
    assert len({t["id"] for t in data["tests"]}) == 7


def test_the_schema_check_can_fail(checkout):
    """kcidb-io really checks what the tests above rely on."""
    data = reports.kcidb(checkout, [reports.Build("patched", "lean")], results()[1:2], END)
    kcidb_io.schema.LATEST.validate(data)
    for bad in ({"path": "mip6kit.a/b"}, {"status": "pass"}, {"id": "Mip6kit:x"},
                {"duration": None}):
        broken = json.loads(json.dumps(data))
        broken["tests"][0].update(bad)
        with pytest.raises(ValidationError):
            kcidb_io.schema.LATEST.validate(broken)


def test_patchset_hash_is_kcidbs(checkout, tmp_path):
    """sha256sum *.patch | cut -c-64 | sha256sum, as KCIDB's schema defines it."""
    shell = subprocess.run("sha256sum *.patch | cut -c-64 | sha256sum | cut -c-64", shell=True,
                           cwd=tmp_path, capture_output=True, text=True, check=True)
    assert checkout.patchset_hash == shell.stdout.strip()
    empty = reports.Checkout("t", "6.1.1", [], START, "r")
    assert empty.patchset_hash == "" and empty.branch == "t+no-series"


@pytest.mark.parametrize("name,nipa,path", [
    ("test_a.py::test_b[x-y]", "test-a-py-test-b-x-y", "mip6kit.test_a.test_b_x-y"),
    ("test_a.py::TestC::test_d", "test-a-py-TestC-test-d", "mip6kit.test_a.TestC.test_d"),
    ("fib_tests.sh::IPv6 route add [2]", "fib-tests-sh-IPv6-route-add-2",
     "mip6kit.fib_tests_sh.IPv6_route_add_2"),
    ("-lead", "-lead", "mip6kit.-lead"),  # namify keeps a leading "-" (NIPA's)
    ("trail!!!", "trail", "mip6kit.trail"),
    ("a..b::::c", "a-b-c", "mip6kit.a_b.c"),
    ("caf\u00e9 \u4e2d\u6587/\x00x", "caf-x", "mip6kit.caf_x"),
    ("!!!", "", "mip6kit"),
    ("", "", "mip6kit"),
])
def test_names(name, nipa, path):
    assert reports.namify(name) == nipa
    assert reports.kcidb_path(name) == path


def test_names_that_namify_alike_stay_apart(checkout):
    R = reports.Result
    rows = [R("t[a-b]", "patched", Outcome.PASSED, "patched"),
            R("t[a_b]", "patched", Outcome.FAILED, "patched"),
            R("t[a b]", "patched", Outcome.PASSED, "patched"),
            R("!!!", "patched", Outcome.PASSED, "patched"),
            R("t[a-b]", "baseline", Outcome.PASSED, "baseline")]
    data = reports.nipa(checkout, rows, END)
    assert [(r["group"], r["test"]) for r in data["results"]] == [
        ("mip6kit-patched", "t-a-b"), ("mip6kit-patched", "t-a-b-2"),
        ("mip6kit-patched", "t-a-b-3"), ("mip6kit-patched", "unnamed"),
        ("mip6kit-baseline", "t-a-b")]


def test_write_both_files_and_refuse_an_unknown_build(checkout, tmp_path):
    nipa, kcidb = reports.write(tmp_path, checkout, [reports.Build("patched", "lean")],
                                results()[1:3], END)
    assert json.loads(nipa.read_text())["results"][0]["group"] == "mip6kit-patched"
    kcidb_io.schema.LATEST.validate(json.loads(kcidb.read_text()))
    with pytest.raises(ValueError, match="names build 'baseline'"):
        reports.write(tmp_path, checkout, [reports.Build("patched", "lean")], results()[:1])


def test_guest_results_attribute_console_crashes(tmp_path):
    """A run dir's guest: results.json, a console whose WARN came during a
    marked test, one before any test, and kmemleak's leaks.json."""
    out = tmp_path / "patched"
    out.mkdir()
    boot_oops = WARN.replace(KMSG_START, "early: ").replace("xfrm_state_migrate+", "boot_fn+")
    (out / "console.log").write_text(boot_oops + f"{KMSG_START}test_a.py::t\n" + WARN)
    (out / "leaks.json").write_text(json.dumps([{"test": "test_a.py::u", "report": (
        "unreferenced object 0xffff888003692400 (size 64):\n  backtrace (crc 1):\n"
        "    [<ffffffff81000001>] __kmalloc+0x36/0x90\n")}]))
    res = {"test_xfrm_migrate.py::test_migrate_mh_type[5]":
           TestResult(Outcome.UNFINISHED, ["p"]), "test_a.py::u": TestResult(Outcome.PASSED,
                                                                           [], 2.0)}
    rows = {r.test: r for r in runreport.guest_results(out, "patched", res)}
    assert rows["test_xfrm_migrate.py::test_migrate_mh_type[5]"].crashes == [WARN_PRINT]
    assert rows["test_a.py::u"].crashes == ["__kmalloc"]
    assert rows["test_a.py::u"].nipa == "fail" and rows["test_a.py::u"].seconds == 2.0
    console = rows[runreport.CONSOLE]  # the crash before any test
    assert console.outcome == Outcome.FAILED and console.crashes[0].startswith(
        "__xfrm_state_destroy:boot_fn:")
    verdict = runreport.verdicts(
        [Row("test_a.py::u", (), {"patched": Outcome.PASSED}, True, "")], list(rows.values()))
    assert verdict[0].crashes == ["__kmalloc"] and verdict[0].nipa == "fail"


def test_results_json_carries_each_tests_time():
    data = dump_results({"a.py::t": TestResult(Outcome.PASSED, [], 1.23456),
                         "a.py::u": TestResult(Outcome.UNFINISHED)})
    parsed = json.loads(data)
    assert parsed["a.py::t"]["seconds"] == 1.235 and "seconds" not in parsed["a.py::u"]
