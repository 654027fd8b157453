# SPDX-License-Identifier: GPL-2.0-only
"""mip6kit coverage: the verifier on the patched coverage kernel, then the
series' lines with their execution counts (vm/coverage.py, vm/covreport.py)."""

import json
import logging
import sys
import tempfile
from pathlib import Path

from mip6kit import resources
from mip6kit.verifier.contract import Outcome

from . import blame, coverage, covreport, guestrun, kconfig, scratch
from .errors import Exit, MipError
from .job import Job, build_variant, locked
from .spec import CoverageSpec

log = logging.getLogger(__name__)
PROFILE = "coverage"


def run(job: Job, spec: CoverageSpec) -> Exit:
    if not job.patches:
        raise MipError("coverage measures the lines the series adds: drop --no-series")
    pytest_args = ["-k", spec.k] if spec.k else []
    compare = spec.compare
    modules = guestrun.check_selection(pytest_args, job.runner)
    with locked(job):
        image = build_variant(job, "patched")
        selftest = guestrun.stage_selftest(job)
        use_kvm = guestrun.decide_kvm(job, image, spec.guest.kvm)
        command = guestrun.verifier_command(pytest_args, spec.guest.test_timeout, modules,
                                            selftest, guestrun.stage_helpers(job),
                                            guestrun.python_bundle(job))
        res = guestrun.verify(job, {"patched": image}, use_kvm, spec.guest.timeout,
                              command)["patched"]
    if job.runner.dry_run:
        return Exit.PASS
    results = guestrun.verifier_results(job, "patched", res)
    builddir = image.parents[3]  # <builddir>/arch/x86/boot/bzImage
    names = [scratch.display_name(p) for p in job.patches]
    lines, counts = measure(job, builddir, names)
    rows = covreport.summary(lines, names)
    outcomes = [r.outcome for r in results.values()]
    title = (f"coverage of the series' lines: Linux {job.tree.version}, profile {PROFILE}, "
             f"{len(outcomes)} tests ({outcomes.count(Outcome.PASSED)} passed, "
             f"{outcomes.count(Outcome.FAILED) + outcomes.count(Outcome.ERROR)} failed)")
    text = covreport.render(rows, title)
    meta = {"base": job.tree.version, "tree": str(job.tree.origin), "build": str(builddir),
            "command": " ".join(["mip6kit", *sys.argv[1:]]),
            "tests": {t: str(r.outcome) for t, r in results.items()}}
    (job.rundir / "coverage.json").write_text(
        json.dumps(covreport.document(lines, rows, meta), indent=1) + "\n")
    (job.rundir / "coverage.txt").write_text(text)
    tracefile = job.rundir / "coverage.info"
    covreport.write_lcov(lines, counts, job.src("patched"), tracefile)
    page = covreport.html(tracefile, job.rundir / "html", f"mip6kit {job.tree.version}",
                          job.runner)
    sys.stdout.write(text)
    log.info("coverage.json, coverage.txt%s in %s", ", html/index.html" if page else "",
             job.rundir)
    code = Exit.PASS
    if any(o in (Outcome.FAILED, Outcome.ERROR) for o in outcomes):
        log.error("verifier tests failed on the coverage kernel; see %s", job.rundir)
        code = Exit.TEST_FAILURE
    if compare is not None:
        lost = covreport.regressions(lines, compare)
        if lost:
            log.error("%d lines executed in %s are not executed now:\n  %s", len(lost),
                      compare, "\n  ".join(lost))
            code = Exit.TEST_FAILURE
        else:
            log.info("every line executed in %s is executed now", compare)
    return code


def measure(job: Job, builddir: Path,
            names: list[str]) -> tuple[list[coverage.Line], dict]:
    """The series' lines classified (names[i] naming job.patches[i]), and
    gcov's counts of the files they are in."""
    tar = job.rundir / "patched" / "gcov.tar"
    if not tar.is_file():
        raise MipError(f"the guest handed back no gcov data ({tar}): the kernel was not "
                       f"built with the {PROFILE} profile's CONFIG_GCOV_KERNEL",
                       Exit.TEST_FAILURE)
    src = job.src("patched")
    with tempfile.TemporaryDirectory(prefix="mip6kit-gcov-") as tmp:
        gcdas = coverage.unpack(tar.read_bytes(), builddir, Path(tmp))
        if not gcdas:
            raise MipError(f"{tar} holds no counters of {builddir}: no object was "
                           "profiled (is GCOV_PROFILE in the Makefiles of the scratch tree?)",
                           Exit.TEST_FAILURE)
        counts = coverage.line_counts(gcdas, src, job.runner)
    owners = blame.origins(job.tree.origin, resources.overlay(), job.patches, names,
                           job.runner)
    config = {k: s.value for k, s in kconfig.read_config(builddir / ".config").items()}
    return coverage.classify(src, builddir, owners, counts, config), counts
