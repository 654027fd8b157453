# SPDX-License-Identifier: GPL-2.0-only
"""Per-test results from upstream selftest output (verifier/kselftest.py)
and the baseline-versus-patched comparison (vm/selftests.py)."""

from mip6kit import selftests
from mip6kit.verifier.kselftest import parse

FIB = """
IPv6 FIB tests
    TEST: Route get                                               [ OK ]
    TEST: Route get                                               [FAIL]
    TEST: Multipath                                               [SKIP]
"""

UDPGSO = "ipv4 cmsg\ndevice mtu (orig): 65536\nipv4 setsockopt\nipv6 cmsg\n"


def test_test_lines_with_repeats():
    assert parse("fib_tests.sh", FIB, 1) == {"Route get": "passed", "Route get [2]": "failed",
                                             "Multipath": "skipped"}


def test_timed_out_script_says_so():
    assert parse("fib_tests.sh", FIB, 124)["fib_tests.sh (timed out)"] == "failed"


def test_udpgso_stops_at_the_failing_case():
    assert parse("udpgso.sh", UDPGSO, 1) == {"ipv4 cmsg": "passed", "ipv4 setsockopt": "passed",
                                             "ipv6 cmsg": "failed"}
    assert set(parse("udpgso.sh", UDPGSO, 0).values()) == {"passed"}


def test_cmsg_lists_failures_and_the_script():
    out = "  Case DONTFRAG UDP setsock returned 1, expected 0\nFAIL - 1/93 cases failed\n"
    assert parse("cmsg_ipv6.sh", out, 1) == {"DONTFRAG UDP setsock": "failed",
                                             "cmsg_ipv6.sh": "failed"}
    assert parse("cmsg_ipv6.sh", "OK\n", 0) == {"cmsg_ipv6.sh": "passed"}
    assert parse("cmsg_ipv6.sh", "SKIP - no tcpdump\n", 4) == {"cmsg_ipv6.sh": "skipped"}


def _res(tests, tail=("last line\n",)):
    return {"args": "", "rc": 0, "seconds": 3.0, "tests": tests, "tail": list(tail)}


def test_compare_flags_differences_and_pre_existing_failures():
    specs = ["a.sh", "b.sh"]
    results = {"baseline": {"a.sh": _res({"x": "passed", "y": "failed"})},
               "patched": {"a.sh": _res({"x": "failed", "y": "failed"}),
                           "b.sh": _res({"z": "passed"})}}
    rows = selftests.compare(results, specs)
    by = {(r.script, r.test): r for r in rows}
    assert by["a.sh", "x"].differs and not by["a.sh", "x"].pre_existing
    assert by["a.sh", "y"].pre_existing and by["a.sh", "y"].reason == "last line"
    assert by["b.sh", "(whole script)"].outcomes == {"baseline": "unfinished", "patched": "ran"}
    text = selftests.render(rows, specs, results)
    assert "DIFFERS: a.sh: x: baseline passed, patched failed" in text
    assert "pre-existing: a.sh: y" in text and "baseline unfinished" in text


def test_pass_fail_lines():
    out = "PASS: policy matches (exceptions)\nFAIL: expected ping to .2 to use ipsec tunnel (x)\n"
    assert parse("xfrm_policy.sh", out, 1) == {
        "policy matches (exceptions)": "passed",
        "expected ping to .2 to use ipsec tunnel (x)": "failed"}


def test_repeats_merge_into_flaky():
    from mip6kit.verifier.kselftest import merge
    runs = [{"args": "", "rc": 1, "seconds": 1.0, "tests": {"a": "passed", "b": "failed"},
             "tail": [], "missing": ["slowwait"]},
            {"args": "", "rc": 0, "seconds": 2.0, "tests": {"a": "passed", "b": "passed"},
             "tail": ["x"], "missing": []}]
    m = merge(runs)
    assert m["tests"] == {"a": "passed", "b": "flaky"} and m["rc"] == [1, 0]
    assert m["seconds"] == 3.0 and m["tail"] == ["x"] and m["missing"] == ["slowwait"]


def test_a_command_not_found_is_named_and_fails_the_comparison(tmp_path):
    from mip6kit.verifier.kselftest import run_script
    (tmp_path / "late.sh").write_text(
        "mip6kit_no_such_wait ns 12345 udp\necho 'TEST: server  [ OK ]'\n")
    res = run_script(tmp_path, "late.sh", 30)
    assert res["tests"] == {"server": "passed"}
    assert res["missing"] == ["mip6kit_no_such_wait"]
    results = {"baseline": {"late.sh": res}, "patched": {"late.sh": res}}
    text = selftests.render(selftests.compare(results, ["late.sh"]), ["late.sh"], results)
    assert "COMMAND NOT FOUND: late.sh on the baseline kernel called mip6kit_no_such_wait" \
        in text
    assert list(selftests.missing_commands(results, ["late.sh"]))


def test_flaky_is_reported_not_a_difference():
    results = {"baseline": {"a.sh": _res({"x": "flaky", "y": "passed"})},
               "patched": {"a.sh": _res({"x": "passed", "y": "passed"})}}
    rows = selftests.compare(results, ["a.sh"])
    assert [r.test for r in rows if r.flaky] == ["x"] and not any(r.differs for r in rows)
    flaky_failing = selftests.compare(
        {"baseline": {"a.sh": _res({"x": "failed"})}, "patched": {"a.sh": _res({"x": "flaky"})}},
        ["a.sh"])
    assert [(r.flaky, r.pre_existing) for r in flaky_failing] == [(True, False)]
    assert "flaky: a.sh: x: baseline flaky, patched passed" in \
        selftests.render(rows, ["a.sh"], results)
