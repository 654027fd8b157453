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
