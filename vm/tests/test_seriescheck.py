# SPDX-License-Identifier: GPL-2.0-only
"""series check's verdicts (vm/seriescheck.py) on hand-made step results;
the real per-patch runs are `mip6kit series check` (README)."""

from mip6kit import seriescheck
from mip6kit.seriescheck import Step
from mip6kit.verifier.contract import Outcome, TestResult

SERIES = ["raw-fix", "udp-fix", "selftest"]
EXEMPT = {"selftest": "adds the selftest"}


def _steps(outcomes: dict[str, tuple[list[str], list[str]]]) -> list[Step]:
    """test -> (markers, outcome per step 0..3)."""
    steps = [Step(k, SERIES[k - 1] if k else "") for k in range(len(SERIES) + 1)]
    for test, (marks, per_step) in outcomes.items():
        for step, outcome in zip(steps, per_step, strict=True):
            step.results[test] = TestResult(Outcome(outcome), marks)
    return steps


GOOD = {
    "t_raw": (["raw-fix"], ["failed", "passed", "passed", "passed"]),
    "t_udp": (["udp-fix"], ["failed", "failed", "passed", "passed"]),
    "t_control": ([], ["passed", "passed", "skipped", "passed"]),
    "t_limit": ([], ["xfailed"] * 4),
}


def test_every_patch_flips_its_own_tests():
    steps = _steps(GOOD)
    assert seriescheck.judge(steps, SERIES, EXEMPT) == []
    assert [s.flipped for s in steps] == [[], ["t_raw"], ["t_udp"], []]


def test_a_test_that_passes_before_its_patch_is_caught():
    """A test marked udp-fix that really only needs raw-fix."""
    steps = _steps({**GOOD, "t_udp": (["udp-fix"], ["failed", "passed", "passed", "passed"])})
    problems = seriescheck.judge(steps, SERIES, EXEMPT)
    assert any("t_udp guards udp-fix" in p and "1:passed" in p for p in problems)
    assert any("patch 2 (udp-fix) flips no test" in p for p in problems)


def test_a_test_of_two_patches_flips_at_the_last():
    steps = _steps({**GOOD, "t_both": (["raw-fix", "udp-fix"],
                                       ["failed", "failed", "passed", "passed"])})
    assert seriescheck.judge(steps, SERIES, EXEMPT) == []
    assert "t_both" in steps[2].flipped


def test_an_unguarded_patch_fails_unless_exempt():
    steps = _steps(GOOD)
    assert any("patch 3 (selftest) flips no test" in p
               for p in seriescheck.judge(steps, SERIES, {}))


def test_unmarked_test_must_not_change():
    steps = _steps({**GOOD, "t_control": ([], ["passed", "failed", "passed", "passed"])})
    assert any("t_control guards no patch" in p
               for p in seriescheck.judge(steps, SERIES, EXEMPT))


def test_build_failures_are_problems():
    steps = _steps(GOOD)
    steps[2].builds, steps[2].results = False, {}
    problems = seriescheck.judge(steps, SERIES, EXEMPT)
    assert any("does not build with patches 1..2" in p for p in problems)


def test_exemptions_come_from_the_series_file(tmp_path):
    (tmp_path / "series").write_text("0001-raw-fix.patch\n# exempt: 0003-selftest.patch: "
                                     "adds the selftest\n0003-selftest.patch\n")
    assert seriescheck.exemptions(tmp_path) == {"selftest": "adds the selftest"}


def test_ci_results_validate_and_carry_the_verdict(tmp_path):
    """series check's nipa.json/kcidb.json rows: the patch checks, each
    step's guest, and the problems as failed verdict rows."""
    import datetime
    from types import SimpleNamespace

    import kcidb_io

    from mip6kit import patchchecks, reports

    patch = tmp_path / "0001-raw-fix.patch"
    patch.write_text("x")
    checks = [patchchecks.PatchChecks(1, patch, [
        patchchecks.Check("build-i386", patchchecks.PASS, "0 new"),
        patchchecks.Check("shellcheck", patchchecks.SKIP, "none"),
        patchchecks.Check("fixes", patchchecks.FAIL, "malformed")])]
    steps = _steps(GOOD)
    job = SimpleNamespace(profile="lean", rundir=tmp_path)
    builds, results = seriescheck.ci_results(job, checks, steps, ["fixes on patch 1: bad"])
    assert [b.name for b in builds] == ["patch-1-checks", "step-0", "step-1", "step-2",
                                        "step-3"]
    checkout = reports.Checkout("linux-source-6.12", "6.12.118", [patch],
                                datetime.datetime.now(datetime.UTC), "run-1")
    doc = reports.kcidb(checkout, builds, results, reports.now())
    kcidb_io.schema.LATEST.validate(doc)
    nipa = reports.nipa(checkout, results, reports.now())["results"]
    got = {(r["group"], r["test"]): r["result"] for r in nipa}
    assert got[("mip6kit-patch-checks", "01-raw-fix-fixes")] == "fail"
    assert got[("mip6kit-patch-checks", "01-raw-fix-build-i386")] == "pass"
    assert got[("mip6kit-step-1", "t-raw")] == "pass"
    assert got[("mip6kit-step-0", "t-raw")] == "fail"
    assert got[("mip6kit-matrix", "problem-1")] == "fail"
    assert ("mip6kit-matrix", "series") not in got
    _, ok = seriescheck.ci_results(job, [], steps, [])
    assert [(r.test, r.outcome) for r in ok if r.group == reports.MATRIX] == [
        ("series", Outcome.PASSED)]
