# SPDX-License-Identifier: GPL-2.0-only
"""mip6kit run: build the baseline and the patched kernel, run the verifier
in a guest per kernel, judge the baseline-versus-patched matrix."""

import contextlib
import logging
import sys

from mip6kit.verifier import contract
from mip6kit.verifier.contract import Outcome

from . import guestrun, leaks, matrix, reports, runreport, series
from .errors import Exit, MipError
from .job import Job, locked
from .spec import GuestSpec

log = logging.getLogger(__name__)


def write_matrix(job: Job, results: dict[str, matrix.Results]) -> list[matrix.Row]:
    rows = matrix.judge(results, job.patch_names(),
                        series.other_series_patches(job.patch_names()),
                        judged=job.series_dir is not None)
    table = matrix.render(rows)
    (job.rundir / "matrix.txt").write_text(table)
    sys.stdout.write(table)
    sys.stdout.flush()
    log.info("results in %s", job.rundir)
    return rows


def _partial_matrix(job: Job, variants: list[str]) -> tuple[dict[str, matrix.Results],
                                                            list[matrix.Row]]:
    """A guest died or timed out: the matrix of what the guests handed back
    before that (results.json streams), naming the unfinished tests; returns
    the results it judged and its rows (none when no guest handed any back)."""
    results = {}
    for variant in variants:
        path = job.rundir / variant / contract.RESULTS
        if path.is_file():
            with contextlib.suppress(MipError):
                results[variant] = matrix.load(path)
    if not results:
        return {}, []
    known = next(iter(results.values()))
    for variant in variants:  # a guest that died before collecting finished nothing
        results.setdefault(variant, {t: contract.TestResult(Outcome.UNFINISHED, r.patches)
                                     for t, r in known.items()})
    rows = write_matrix(job, {v: results[v] for v in variants})
    left = matrix.unfinished(rows)
    log.error("partial matrix in %s: %d of %d tests did not finish%s", job.rundir / "matrix.txt",
              len(left), len(rows), (": " + ", ".join(left[:5]) + (" ..." if len(left) > 5
                                                                   else "")) if left else "")
    return results, rows


def _report(rec: runreport.Recorder, results: dict[str, matrix.Results],
            rows: list[matrix.Row], leaked: bool | None = None) -> None:
    """The results and the verdict for nipa.json and kcidb.json: each
    kernel's tests (a guest that handed back none still shows its crashes),
    the matrix rows, and a "leaks" verdict once leaks were looked for."""
    per = []
    for variant in rec.builds:
        per += runreport.guest_results(rec.job.rundir / variant, variant,
                                       results.get(variant, {}))
    rec.results = per + runreport.verdicts(rows, per)
    if leaked is not None:
        rec.results.append(reports.Result("leaks", reports.MATRIX, Outcome.FAILED if leaked
                                          else Outcome.PASSED,
                                          comment="see leaks.txt" if leaked else ""))


def _verify(rec: runreport.Recorder, guest: GuestSpec, pytest_args: list[str],
            modules: list[str], variants: list[str]) -> dict:
    """Build each kernel, stage what the guests need, run the verifier in
    them; call with the work dir lock held."""
    job = rec.job
    images = {v: rec.build(v) for v in variants}
    selftest = guestrun.stage_selftest(job) if "patched" in variants else None
    helpers = guestrun.stage_helpers(job)
    if selftest is None and modules == [contract.SELFTEST_MODULE]:
        raise MipError(f"{contract.SELFTEST_MODULE} runs the series' selftest from the "
                       "patched tree: drop --baseline-only (or use a series that adds it)")
    use_kvm = guestrun.decide_kvm(job, images[variants[0]], guest.kvm)
    command = guestrun.verifier_command(pytest_args, guest.test_timeout, modules,
                                        selftest, helpers, guestrun.python_bundle(job))
    return guestrun.verify(job, images, use_kvm, guest.timeout, command)


def run(job: Job, guest: GuestSpec, pytest_args: list[str], only: str | None) -> Exit:
    variants = job.variants(only)
    modules = guestrun.check_selection(pytest_args, job.runner)
    if "patched" not in variants and modules == [contract.SELFTEST_MODULE]:
        raise MipError(f"{contract.SELFTEST_MODULE} runs the series' selftest from the "
                       "patched tree, and this run builds none: drop --baseline-only "
                       "(or --no-series)")
    with runreport.recording(job) as rec:
        try:
            with locked(job):
                verified = _verify(rec, guest, pytest_args, modules, variants)
            if job.runner.dry_run:
                return Exit.PASS
            results = {v: guestrun.verifier_results(job, v, res) for v, res in verified.items()}
        except MipError as e:
            if not job.runner.dry_run:
                if e.code in (Exit.BOOT_FAILURE, Exit.KERNEL_CRASH):
                    _report(rec, *_partial_matrix(job, variants))
                else:  # no verdict: each kernel's tests as far as they got
                    _report(rec, {v: runreport.load_results(job.rundir / v)
                                  for v in rec.builds}, [])
                rec.results.append(runreport.failure(e))
            raise
        rows = write_matrix(job, results)
        leaked = leaks.report(job.rundir, variants)
        _report(rec, results, rows, leaked)
    if not all(r.ok for r in rows) or leaked:
        return Exit.TEST_FAILURE
    if all(o == Outcome.SKIPPED for r in rows for o in r.outcomes.values()):
        log.warning("every test was skipped: nothing was verified")
        return Exit.SKIP
    return Exit.PASS
