# SPDX-License-Identifier: GPL-2.0-only
"""`mip6kit series check`: every patch of a series on its own.

For step 0 (no patch) and after each patch k of the series, the patched
scratch tree gets patches 1..k (only the files that change are rewritten,
so each build is incremental), the kernel is built, and the whole verifier
runs in a guest.  Before the guests, every patch gets netdev's per-patch
checks (vm/patchchecks.py: checkpatch --strict, W=1 builds of the objects
it touches on x86_64, i386 and clang, sparse, kernel-doc, shellcheck, the
sign-off, the Fixes: tags and the maintainers' CC); --static-only stops
there.  The series' own selftest is staged once, from the tree with the
whole series, and runs at every step.

The verdict, per test: one marked @pytest.mark.patch(X) must fail at every
step before X and pass from X on (it flips exactly at X; a test marked with
several patches needs all of them, so it flips at the last); an unmarked test
must pass (or skip) at every step, or xfail at every step.  Every patch must
be the flip point of at least one test, unless the series file exempts it
with a comment line "# exempt: PATCH-FILE: reason" (a selftests-only patch).
A patch that does not apply or does not build on its own fails the check,
and so does a patch check that fails (patchchecks.FAIL).
"""

import logging
import re
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from mip6kit.verifier.contract import Outcome

from . import guestrun, matrix, patchchecks, reports, runreport, series
from .errors import Exit, MipError
from .job import Job, build_variant, locked, open_job
from .proc import Runner
from .spec import GuestSpec, SeriesCheckSpec, TreeSpec

log = logging.getLogger(__name__)

EXEMPT = re.compile(r"^#\s*exempt:\s*(\S+?):\s*(.+)$")


@dataclass
class Step:
    index: int  # 0: no patch
    patch: str = ""  # slug of patch `index`
    applies: bool = True
    builds: bool = True
    results: matrix.Results = field(default_factory=dict)  # the step's guest's
    flipped: list = field(default_factory=list)


def exemptions(series_dir: Path) -> dict[str, str]:
    """slug -> reason, from the series file's "# exempt: FILE: reason" lines."""
    out = {}
    for line in (series_dir / "series").read_text(errors="replace").splitlines():
        m = EXEMPT.match(line.strip())
        if m:
            out[series.slug(Path(m.group(1)))] = m.group(2).strip()
    return out


def judge(steps: list[Step], series: list[str],
          exempt: dict[str, str]) -> list[str]:
    """Fill each step's flipped list; return the problems found."""
    problems = []
    ran = [s for s in steps if s.builds and s.applies and s.results]
    tests = sorted({t for s in ran for t in s.results})
    for test in tests:
        marks = next(s.results[test].patches for s in ran if test in s.results)
        guards = [p for p in marks if p in series]
        got = [(s.index, r.outcome if (r := s.results.get(test)) else Outcome.MISSING)
               for s in ran]
        shown = " ".join(f"{i}:{o}" for i, o in got)
        if guards:
            at = 1 + max(series.index(p) for p in guards)  # it needs all of them
            want = [(i, Outcome.FAILED if i < at else Outcome.PASSED) for i, _ in got]
            if got != want:
                problems.append(f"{test} guards {series[at - 1]}: it must fail before "
                                f"step {at} and pass from it on; got {shown}")
            else:
                next(s for s in steps if s.index == at).flipped.append(test)
        else:
            outcomes = {o for _, o in got}
            if not (outcomes <= {Outcome.PASSED, Outcome.SKIPPED}
                    or outcomes == {Outcome.XFAILED}):
                problems.append(f"{test} guards no patch, so it must pass at every step; "
                                f"got {shown}")
    for s in steps[1:]:
        if not s.applies:
            problems.append(f"patch {s.index} ({s.patch}) does not apply")
        elif not s.builds:
            problems.append(f"the tree does not build with patches 1..{s.index} ({s.patch})")
        if s.builds and s.applies and not s.flipped and s.patch not in exempt:
            problems.append(f"patch {s.index} ({s.patch}) flips no test: nothing guards it "
                            "(exempt it in the series file if that is meant)")
    return problems


def render(base: str, steps: list[Step], exempt: dict[str, str], problems: list[str],
           seconds: float) -> str:
    width = max(len(s.patch) for s in steps) if steps else 10
    lines = [f"base {base}: {len(steps) - 1} patches, {seconds / 60:.1f} min",
             f"  {'#':>2}  {'patch':<{width}}  applies  builds  flipped"]
    for s in steps:
        flipped = (f"{len(s.flipped)} tests" if s.flipped else
                   f"exempt: {exempt[s.patch]}" if s.patch in exempt else
                   "-" if s.index == 0 else "none")
        lines.append(f"  {s.index:>2}  {s.patch or '(no patch)':<{width}}  "
                     f"{'yes' if s.applies else 'NO':<7}  {'yes' if s.builds else 'NO':<6}  "
                     f"{flipped}")
    lines += [f"  PROBLEM: {p}" for p in problems] or ["  every patch stands on its own"]
    return "\n".join(lines) + "\n"


def render_checks(base: str, results: list[patchchecks.PatchChecks], seconds: float) -> str:
    """One row per patch (its tree series in the first column), one column
    per check: pass, warn, fail or skip; then each failure's summary."""
    names = [n for n in patchchecks.CHECKS if any(c.name == n for r in results
                                                  for c in r.checks)]
    width = max((len(series.slug(r.patch)) for r in results), default=10)
    lines = [f"base {base}: netdev's per-patch checks, {seconds / 60:.1f} min",
             f"  {'tree':<10}  {'#':>2}  {'patch':<{width}}  " + "  ".join(names)]
    for r in results:
        got = {c.name: c.result for c in r.checks}
        lines.append(f"  {r.patch.parent.name:<10}  {r.index:>2}  "
                     f"{series.slug(r.patch):<{width}}  "
                     + "  ".join(f"{got.get(n, '-'):<{len(n)}}" for n in names))
    failed = [f"  FAIL {c.name} on patch {r.index}: {c.summary}"
              for r in results for c in r.checks if c.result == patchchecks.FAIL]
    lines += failed or ["  every check passes (or has nothing to check)"]
    return "\n".join(lines) + "\n"


def _step_job(job: Job, k: int) -> Job:
    rundir = job.rundir / f"step-{k}"
    rundir.mkdir(parents=True, exist_ok=True)
    return replace(job, patches=job.patches[:k], rundir=rundir)


def check_base(job: Job, guest: GuestSpec,
               steps: list[Step]) -> tuple[list[str], dict[str, str]]:
    """Fill steps (empty: one per patch and step 0 are added) step by step;
    returns the problems and the exemptions."""
    series = job.patch_names()
    exempt = exemptions(job.series_dir)
    guestrun.check_selection([], job.runner)
    steps += [Step(k, series[k - 1] if k else "") for k in range(len(series) + 1)]
    with locked(job):
        build_variant(job, "patched")  # the whole series, for its selftest
        selftest = guestrun.stage_selftest(job)
        command = guestrun.verifier_command([], guest.test_timeout, None, selftest,
                                            guestrun.stage_helpers(job),
                                            guestrun.python_bundle(job))
        use_kvm = None
        for step in steps:
            sjob = _step_job(job, step.index)
            variant = "patched" if step.index else "baseline"
            log.info("series check %s: step %d of %d %s", job.tree.label, step.index,
                     len(series), step.patch or "(no patch)")
            try:
                image = build_variant(sjob, variant)
            except MipError as e:
                if e.code != Exit.BUILD_FAILURE:  # the host, not the patch
                    raise
                step.applies = "does not apply" not in str(e)
                step.builds = False
                log.error("step %d: %s", step.index, e)
                if not step.applies:
                    break
                continue
            if use_kvm is None:
                use_kvm = guestrun.decide_kvm(job, image, guest.kvm)
            res = guestrun.verify(sjob, {variant: image}, use_kvm, guest.timeout,
                                  command)[variant]
            step.results = guestrun.verifier_results(sjob, variant, res)
    return judge(steps, series, exempt), exempt


def ci_results(job: Job, checks: list[patchchecks.PatchChecks], steps: list[Step],
               problems: list[str]) -> tuple[list[reports.Build], list[reports.Result]]:
    """The run as nipa.json/kcidb.json rows (vm/reports.py): each patch's
    checks under a build "patch-K-checks" (group "patch-checks": the objects
    it compiled), each step's guest under a build "step-K" (group "step-K"),
    and the verdict (group "matrix"): one failed row per problem, or a
    passing row "series"."""
    builds, results = [], []
    outcome = {patchchecks.PASS: Outcome.PASSED, patchchecks.WARN: Outcome.PASSED,
               patchchecks.SKIP: Outcome.SKIPPED, patchchecks.FAIL: Outcome.FAILED}
    for pc in checks:
        name = f"patch-{pc.index}-checks"
        ok = not any(c.result == patchchecks.FAIL and c.name.startswith("build-")
                     for c in pc.checks)
        builds.append(reports.Build(name, "patch-checks", ok))
        results += [reports.Result(f"{pc.index:02d}-{series.slug(pc.patch)}::{c.name}",
                                   "patch-checks", outcome[c.result], name, suite="patch_checks")
                    for c in pc.checks]
    for step in steps:
        name = f"step-{step.index}"
        builds.append(reports.Build(name, job.profile, step.applies and step.builds))
        if step.results:
            variant = "patched" if step.index else "baseline"
            results += runreport.guest_results(job.rundir / name / variant, name, step.results)
    results += ([reports.Result(f"problem-{i}", reports.MATRIX, Outcome.FAILED, comment=p)
                 for i, p in enumerate(problems, 1)]
                or [reports.Result("series", reports.MATRIX, Outcome.PASSED)])
    return builds, results


def run(spec: SeriesCheckSpec, cache: Path, runner: Runner) -> Exit:
    """Check each base in turn, each with its own run directory and run.log:
    the per-patch checks first (minutes), then the guest steps.  Each run
    directory gets nipa.json and kcidb.json, also when the check stops."""
    failed = False
    for base in spec.bases:
        with open_job(TreeSpec(base=base, jobs=spec.jobs), cache, runner) as job:
            begin, start = reports.now(), time.monotonic()
            checks: list[patchchecks.PatchChecks] = []
            steps: list[Step] = []
            problems: list[str] = []
            try:
                with locked(job):
                    checks = patchchecks.run(job, job.rundir / "patch-checks",
                                             spec.checks or patchchecks.CHECKS)
                text = render_checks(base, checks, time.monotonic() - start)
                problems = [p for r in checks for p in r.problems()]
                if not spec.static_only:
                    start = time.monotonic()
                    step_problems, exempt = check_base(job, spec.guest, steps)
                    problems += step_problems
                    text += "\n" + render(base, steps, exempt, step_problems,
                                          time.monotonic() - start)
            except MipError as e:
                problems.append(f"stopped: {e}")
                raise
            finally:
                runreport.write(job, begin, *ci_results(job, checks, steps, problems))
            (job.rundir / "series-check.txt").write_text(text)
            print(text, flush=True)
        failed |= bool(problems)
    return Exit.TEST_FAILURE if failed else Exit.PASS
