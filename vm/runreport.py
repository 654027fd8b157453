# SPDX-License-Identifier: GPL-2.0-only
"""What a command ran, as vm/reports.py's builds and results, written into
its run directory when the command ends, however it ends (a failed build,
a crashed or timed-out guest, Ctrl-C); never in a dry run.

  with runreport.recording(job) as rec:
      image = rec.build("patched")                      # timed, PASS or FAIL
      ...
      rec.results += runreport.guest_results(outdir, "patched", results)
      rec.results += runreport.verdicts(rows)

Crashes come from each guest's console.log (and leaks.json, kmemleak's
reports) through vm/crash.py; each fingerprint is attributed to the test
the guest's kernel-log marks name (verifier/kmsg.py), and a crash that no
test of the results claims (during boot, or in a selftest script) becomes a
failed result of its own, named after that test or script, or "console".
"""

import contextlib
import datetime
import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path

from mip6kit.verifier import contract
from mip6kit.verifier.contract import Outcome

from . import crash, matrix, reports
from .errors import Exit, MipError
from .job import Job, build_variant

log = logging.getLogger(__name__)

CONSOLE = "console"  # the result a crash outside every test goes to


class Recorder:
    """A command's builds and results, written by write()."""

    def __init__(self, job: Job):
        self.job = job
        self.start = reports.now()
        self.builds: dict[str, reports.Build] = {}
        self.results: list[reports.Result] = []

    def build(self, variant: str) -> Path:
        """job.build_variant, timed and recorded (a build failure as a
        failed build; a host failure records nothing)."""
        start, t0 = reports.now(), time.monotonic()
        try:
            image = build_variant(self.job, variant)
        except MipError as e:
            if e.code == Exit.BUILD_FAILURE:
                self.builds[variant] = reports.Build(variant, self.job.profile, False, start,
                                                     time.monotonic() - t0)
            raise
        self.builds[variant] = reports.Build(variant, self.job.profile, True, start,
                                             time.monotonic() - t0)
        return image

    def write(self) -> None:
        if self.job.runner.dry_run:
            return
        known = [r for r in self.results if r.build is None or r.build in self.builds]
        write(self.job, self.start, list(self.builds.values()), known)


def write(job: Job, start: datetime.datetime, builds: list[reports.Build],
          results: list[reports.Result]) -> None:
    """nipa.json and kcidb.json of job's run; a failure to write them is
    logged, never raised: it must not hide the command's own outcome."""
    checkout = reports.Checkout(job.tree.origin.name, job.tree.version, list(job.patches),
                                start, job.rundir.name)
    try:
        nipa, kcidb = reports.write(job.rundir, checkout, builds, results)
    except (OSError, ValueError) as e:
        log.error("cannot write the CI reports into %s: %s", job.rundir, e)
        return
    log.info("CI reports: %s, %s", nipa, kcidb)


@contextlib.contextmanager
def recording(job: Job) -> Iterator[Recorder]:
    rec = Recorder(job)
    try:
        yield rec
    finally:
        rec.write()


def guest_crashes(outdir: Path) -> list[crash.Crash]:
    """The crashes of the guest whose files are in outdir: its console and
    kmemleak's reports (leaks.json, each with the test it names)."""
    found = []
    console = outdir / "console.log"
    if console.is_file():
        found += crash.extract(console.read_text(errors="replace"))
    leaks = outdir / contract.LEAKS
    if leaks.is_file():
        try:
            entries = json.loads(leaks.read_text(errors="replace"))
        except ValueError:
            entries = []
        for e in entries if isinstance(entries, list) else []:
            if isinstance(e, dict) and isinstance(e.get("report"), str):
                for c in crash.extract(e["report"]):
                    found.append(crash.Crash(c.fingerprint, c.kind, c.headline, c.lineno,
                                             c.text, e.get("test"), e.get("test") is not None))
    return found


def guest_results(outdir: Path, variant: str, results: dict[str, Outcome | contract.TestResult],
                  group: str | None = None, owner: str | None = None,
                  suite: str = "") -> list[reports.Result]:
    """One result per test of one guest (results: name -> TestResult or
    Outcome), with the crashes attributed to it; a crash that names no test
    of results goes to owner, one of results (the command of `mip6kit
    boot`), else is a failed result of its own (see the module's docstring)."""
    claims: dict[str | None, list[str]] = {}
    for c in guest_crashes(outdir):
        test = owner if owner is not None and c.test not in results else c.test
        claims.setdefault(test, []).append(c.fingerprint)
    out = []
    for test, r in results.items():
        outcome, seconds = (r, None) if isinstance(r, str) else (r.outcome, r.seconds)
        if outcome == Outcome.MISSING:
            continue
        out.append(reports.Result(test, group or variant, Outcome(outcome), variant, seconds,
                                  claims.pop(test, []), suite=suite))
    for test, fingerprints in claims.items():
        out.append(reports.Result(test or CONSOLE, group or variant, Outcome.FAILED, variant,
                                  None, fingerprints, suite=suite))
    return out


def verdicts(rows: list[matrix.Row], crashed: list[reports.Result] = ()) -> list[reports.Result]:
    """The matrix's rows as the verdict group: pass when the test met its
    expectation; a row carries the crashes its test had on any kernel."""
    fps: dict[str, list[str]] = {}
    for r in crashed:
        fps.setdefault(r.test, []).extend(r.crashes)
    return [reports.Result(r.test, reports.MATRIX, Outcome.PASSED if r.ok else Outcome.FAILED,
                           None, None, fps.get(r.test, []), r.why) for r in rows]


STAGES = {Exit.BUILD_FAILURE: "build", Exit.BOOT_FAILURE: "boot", Exit.KERNEL_CRASH: "crash"}


def failure(e: MipError) -> reports.Result:
    """The verdict row of a command that stopped with e: "build", "boot" or
    "crash" (NIPA's executors report a failed build as a test "build"), or
    "run" for any other error, with e's first line as the comment."""
    return reports.Result(STAGES.get(e.code, "run"), reports.MATRIX, Outcome.FAILED,
                          comment=f"exit {int(e.code)}: {str(e).splitlines()[0] if str(e) else ''}")


def load_results(outdir: Path) -> matrix.Results:
    """A guest's results.json, or none when it handed back none."""
    with contextlib.suppress(MipError):
        return matrix.load(outdir / contract.RESULTS)
    return {}
