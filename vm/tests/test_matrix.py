# SPDX-License-Identifier: GPL-2.0-only
from mip6kit import matrix
from mip6kit.verifier.contract import Outcome, TestResult

P = "ipv6-raw-fix"


def _r(outcome, patches=()):
    return TestResult(Outcome(outcome), list(patches))


def test_guarded_test_must_fail_then_pass():
    rows = matrix.judge({"baseline": {"t": _r("failed", [P])},
                         "patched": {"t": _r("passed", [P])}}, [P])
    assert rows[0].ok


def test_guarded_test_passing_on_baseline_is_unexpected():
    rows = matrix.judge({"baseline": {"t": _r("passed", [P])},
                         "patched": {"t": _r("passed", [P])}}, [P])
    assert not rows[0].ok and "fail on baseline" in rows[0].why


def test_unguarded_test_must_pass_on_both():
    rows = matrix.judge({"baseline": {"t": _r("passed")}, "patched": {"t": _r("failed")}}, [P])
    assert not rows[0].ok


def test_known_limitation_xfails_everywhere():
    """An unmarked test may document a limitation by xfailing on every
    kernel; an XPASS (strict: reported failed) or a mix is unexpected."""
    judge = matrix.judge
    assert judge({"baseline": {"t": _r("xfailed")}, "patched": {"t": _r("xfailed")}}, [P])[0].ok
    assert not judge({"baseline": {"t": _r("xfailed")}, "patched": {"t": _r("failed")}},
                     [P])[0].ok
    assert not judge({"baseline": {"t": _r("xfailed", [P])},
                      "patched": {"t": _r("xfailed", [P])}}, [P])[0].ok, \
        "a guarded test must flip, not xfail"


def test_marker_must_name_a_patch_of_some_series():
    rows = matrix.judge({"baseline": {"t": _r("failed", ["nope"])},
                         "patched": {"t": _r("passed", ["nope"])}}, [P], frozenset({"other"}))
    assert not rows[0].ok and "nope" in rows[0].why


def test_baseline_only_expects_guarded_tests_to_fail():
    rows = matrix.judge({"baseline": {"t": _r("failed", [P]), "u": _r("passed")}}, [P])
    assert all(r.ok for r in rows)


def test_patched_only_expects_guarded_tests_to_pass():
    ok = matrix.judge({"patched": {"t": _r("passed", [P]), "u": _r("passed")}}, [P])
    assert all(r.ok for r in ok)
    bad = matrix.judge({"patched": {"t": _r("failed", [P])}}, [P])
    assert not bad[0].ok and "pass with the series" in bad[0].why


def test_patch_of_another_base_only_must_pass_here():
    """A regression fix that only the 6.12 series carries: on 6.1 its test
    is an ordinary test that passes on both kernels."""
    elsewhere = frozenset({"xfrm-fix"})
    both = {"baseline": {"t": _r("passed", ["xfrm-fix"])},
            "patched": {"t": _r("passed", ["xfrm-fix"])}}
    row = matrix.judge(both, [P], elsewhere)[0]
    assert row.ok and row.patches == () and "another base" in matrix.render([row])
    failing = {"baseline": {"t": _r("failed", ["xfrm-fix"])},
               "patched": {"t": _r("passed", ["xfrm-fix"])}}
    row = matrix.judge(failing, [P], elsewhere)[0]
    assert not row.ok and "another base" in row.why
    row = matrix.judge({"baseline": {"t": _r("passed", ["xfrm-fix"])}}, [P], elsewhere)[0]
    assert row.ok, "baseline-only: must pass, not fail"


def test_missing_test_in_one_variant():
    rows = matrix.judge({"baseline": {"t": _r("passed")}, "patched": {}}, [P])
    assert not rows[0].ok and rows[0].outcomes["patched"] == "missing"


def test_render_has_closing_line():
    rows = matrix.judge({"baseline": {"t": _r("passed")}}, [])
    assert matrix.render(rows).splitlines()[-1] == "1 passed, 0 failed"


def test_unfinished_test_is_never_ok_and_is_counted():
    rows = matrix.judge({"baseline": {"t": _r("failed", [P]), "u": _r("unfinished")},
                         "patched": {"t": _r("passed", [P]), "u": _r("passed")}}, [P])
    assert [r.ok for r in rows] == [True, False] and "did not finish" in rows[1].why
    assert matrix.unfinished(rows) == ["u"]
    table = matrix.render(rows)
    assert table.splitlines()[-1] == "1 passed, 1 failed, 1 unfinished"
    assert "unfinished  passed" in table, "cells are as wide as 'unfinished'"


def test_no_series_reports_marked_tests_and_judges_the_rest():
    """--no-series: the kernel as it is.  On a stock tree a marked test fails
    and that is no verdict; a tree that already carries the series passes
    it, also no verdict; an unmarked test must still pass."""
    elsewhere = frozenset({"raw", "udp"})
    results = {"baseline": {"a.py::guarded": _r("failed", ["raw"]),
                            "a.py::carried": _r("passed", ["udp"]),
                            "a.py::plain": _r("passed"),
                            "a.py::broken": _r("failed")}}
    rows = {r.test: r for r in matrix.judge(results, [], elsewhere, judged=False)}
    assert rows["a.py::guarded"].ok and rows["a.py::carried"].ok and rows["a.py::plain"].ok
    assert not rows["a.py::broken"].ok
    assert "reported only: no series" in matrix.render([rows["a.py::guarded"]])
    judged = {r.test: r for r in matrix.judge(results, [], elsewhere)}
    assert not judged["a.py::guarded"].ok, "the old verdict: must pass (another base)"
