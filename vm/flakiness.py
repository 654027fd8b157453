# SPDX-License-Identifier: GPL-2.0-only
"""mip6kit flakiness: the whole verifier N times in a row on each kernel;
report flaky tests.

  mip6kit flakiness [--base 6.12] [--base 6.1] [--runs 20] [--kernel patched]
                    [--out FILE] [--timeout S_PER_RUN]

One guest per kernel runs the verifier N times, as `mip6kit run` runs it
(the same command, the series' selftest staged from the patched tree, the
same per-test timeout), a fresh pytest each time, no reboot in between.
The bases run at the same time, one guest each (a TCG guest keeps one core
busy; two guests of one base would wait for each other's lock on its work
dir).  A test is flaky when its outcome (passed, failed, skipped) is not
the same in every run.  Each run's end is reported on stderr as it comes,
and each kernel's KTAP is written to its run directory as it streams.
Appends a summary to --out (default the checkout's
scripts/flakiness-results.txt) and exits 1 if any test is flaky, a run
verified nothing (a collection error), or a guest failed.  SIGTERM, SIGINT
or SIGHUP (the CLI raises them as Terminated/KeyboardInterrupt) stops the
guests (proc.kill_all), starts no other kernel, still writes the summary of
the runs that completed, and exits 128 + the signal's number.
"""

import re
import shlex
import signal
import sys
import time
from collections import defaultdict
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TextIO

from mip6kit.verifier.contract import HANDOFF_PREFIX, Outcome

from . import guestrun, proc, resources
from .errors import Exit, MipError, Terminated
from .job import build_variant, locked, new_rundir, open_job
from .proc import PIPE, Runner
from .spec import FlakinessSpec, TreeSpec

RESULT = re.compile(r"^(?P<ok>not ok|ok) \d+ (?P<name>\S+)(?P<skip> # SKIP)?")
MARK = "# flakiness run "


def outcomes(ktap: str) -> list[dict[str, Outcome]]:
    """Per run (split at MARK lines): test name -> passed/failed/skipped."""
    runs: list[dict[str, str]] = []
    for line in ktap.splitlines():
        if line.startswith(MARK):
            runs.append({})
        elif runs and (m := RESULT.match(line)):
            runs[-1][m["name"]] = Outcome.SKIPPED if m["skip"] else \
                Outcome.PASSED if m["ok"] == "ok" else Outcome.FAILED
    return runs


def broken(ktap: str) -> dict[int, str]:
    """Runs (numbered from 1) that verified nothing: pytest bailed out (a
    collection error) or reported no test.  Such a run must not count as
    a clean one."""
    bad: dict[int, str] = {}
    run, results, why = 0, 0, ""
    for line in [*ktap.splitlines(), MARK]:
        if line.startswith(MARK):
            if run and (why or not results):
                bad[run] = why or "no test result"
            run, results, why = run + 1, 0, ""
        elif line.startswith("Bail out!") and not why:
            why = line
        elif RESULT.match(line):
            results += 1
    return bad


def cut_short(runs: list[dict[str, Outcome]], guest_failed: bool) -> int | None:
    """The last run's number if the guest stopped during it (a failed boot
    whose last run has fewer results than the longest run before it, or
    that has no run before it), so that its unfinished tests are not
    counted as missing."""
    if not guest_failed or not runs:
        return None
    before = [len(run) for run in runs[:-1]]
    return len(runs) if not before or len(runs[-1]) < max(before) else None


def flaky(runs: list[dict[str, Outcome]]) -> dict[str, list[Outcome]]:
    seen: dict[str, list[Outcome]] = defaultdict(list)
    for one in runs:
        for name in set().union(*runs):
            seen[name].append(one.get(name, Outcome.MISSING))
    return {name: o for name, o in seen.items() if len(set(o)) > 1}


def stage(base: str, base_dir: Path, cache: Path,
          runner: Runner) -> tuple[Path | None, Path | None]:
    """Build the patched kernel if needed and stage the series' selftest
    and the verifier's helpers into base_dir, as `mip6kit run` does for
    its guests."""
    with open_job(TreeSpec(base=base, run_dir=base_dir), cache, runner) as job:
        guestrun.check_selection([], runner)  # the guest's bytecode, as mip6kit run leaves it
        with locked(job):
            build_variant(job, "patched")
            return guestrun.stage_selftest(job), guestrun.stage_helpers(job)


def stream(lines: Iterable[str], out: TextIO, label: str, runs: int, start: float) -> str:
    """Copy the guest's KTAP to out as it comes, with a progress line on
    stderr as each run ends; returns the whole text."""
    text: list[str] = []
    run_start = 0  # index in text of the current run's MARK line

    def ended(number: int) -> None:
        for done in outcomes("".join(text[run_start:])):
            failed = sum(o == Outcome.FAILED for o in done.values())
            print(f"{label}: run {number} of {runs}: {len(done)} results, {failed} failed, "
                  f"{time.monotonic() - start:.0f} s", file=sys.stderr, flush=True)

    number = 0
    for line in lines:
        if line.startswith(MARK):
            ended(number)
            run_start, number = len(text), number + 1
        text.append(line)
        out.write(line)
        out.flush()
    ended(number)
    return "".join(text)


def one_kernel(base: str, kernel: str, spec: FlakinessSpec, base_dir: Path,
               staged: tuple[Path | None, Path | None], runner: Runner) -> tuple[str, bool]:
    verifier = shlex.join(guestrun.verifier_command([], spec.guest.test_timeout, None,
                                                    *staged))
    loop = (f"for i in $(seq {spec.runs}); do echo '{MARK}'$i; {verifier} "
            f"| grep -v '^{HANDOFF_PREFIX.decode().strip()}'; done")
    variant = ["--baseline"] if kernel == "baseline" else []
    # kept, with every run's KTAP and its diagnostics, so a flake can be read
    run_dir = base_dir / kernel
    run_dir.mkdir(parents=True, exist_ok=True)
    label = f"{base} {kernel}"
    start = time.monotonic()
    argv = [sys.executable, "-m", "mip6kit", "-q", "boot", "--base", base, *variant,
            *spec.guest.kvm_args(),
            "--run-dir", str(run_dir), "--timeout", f"{spec.runs * spec.guest.timeout:.0f}",
            "--", "sh", "-c", loop]
    with (run_dir / "ktap.txt").open("w") as ktap_file, \
            (run_dir / "boot-stderr.txt").open("w+") as err:
        # SIGTERM: the child mip6kit kills its own guest and exits 143
        with runner.spawn(argv, stdout=PIPE, stderr=err, text=True,
                          stop=signal.SIGTERM) as child:
            assert child is not None  # flakiness has no dry run
            ktap = stream(child.stdout, ktap_file, label, spec.runs, start)
            returncode = child.wait()
        err.seek(0)
        stderr = err.read()
    seconds = time.monotonic() - start
    per_run = outcomes(ktap)
    void = broken(ktap)
    cut = cut_short(per_run, returncode != 0)
    if cut:
        del per_run[cut - 1]
        void.pop(cut, None)
    bad = flaky(per_run)
    ok = returncode == 0 and len(per_run) == spec.runs and not bad and not void
    tests = len(set().union(*per_run)) if per_run else 0
    lines = [f"{base} {kernel}: {len(per_run)} of {spec.runs} runs, {tests} tests, "
             f"{len(bad)} flaky, {seconds:.0f} s, boot exit {returncode}; "
             f"output in {run_dir / 'ktap.txt'}"]
    if cut:
        lines.append(f"  run {cut} was cut short by the guest's end and is not counted")
    lines += [f"  FLAKY {name}: {' '.join(map(str, o))}" for name, o in sorted(bad.items())]
    if void:
        lines.append(f"  BROKEN: {len(void)} runs verified nothing (runs "
                     f"{', '.join(map(str, void))}), e.g. {next(iter(void.values()))}")
    if returncode != 0:
        lines += [f"  {ln}" for ln in stderr.strip().splitlines()[-5:]]
    return "\n".join(lines), ok


def run(spec: FlakinessSpec, cache: Path, runner: Runner) -> Exit | int:
    out_path = spec.out or _default_out()

    def one_base(base: str) -> list[tuple[str, bool]]:
        base_dir = new_rundir(cache, f"flakiness-{base}")
        try:
            staged = stage(base, base_dir, cache, runner)
        except MipError as e:  # a build stopped by kill_all(), or one that failed
            return [(f"{base}: not started ({e})", False)]
        results = []
        for kernel in spec.kernels:
            try:
                results.append(one_kernel(base, kernel, spec, base_dir, staged, runner))
            except MipError as e:  # stopping: kill_all() ran, no new guest
                results.append((f"{base} {kernel}: not started ({e})", False))
                break
        return results

    all_ok, stopped = True, None
    with out_path.open("a") as out, ThreadPoolExecutor(len(spec.bases)) as pool:
        out.write(f"# flakiness {time.strftime('%Y-%m-%dT%H:%MZ', time.gmtime())}: "
                  f"mip6kit flakiness --runs {spec.runs}\n")
        futures = [pool.submit(one_base, b) for b in spec.bases]
        for future in futures:
            while True:
                try:
                    done = future.result()
                    break
                except (Terminated, KeyboardInterrupt) as e:  # stop every guest, then summarise
                    stopped = stopped or e
                    _ignore_signals()  # a second signal must not cut the summary short
                    proc.kill_all()
            for text, ok in done:
                all_ok &= ok
                out.write(text + "\n")
                out.flush()
                print(text, flush=True)
        if stopped is not None:
            signum = getattr(stopped, "signum", signal.SIGINT)
            out.write(f"  stopped by {signal.Signals(signum).name}\n")
    if stopped is not None:
        raise stopped
    return Exit.PASS if all_ok else Exit.TEST_FAILURE


def _ignore_signals() -> None:
    """From the first stop on, the summary is written whatever comes; the
    CLI's main() restores the handlers on its way out."""
    for signum in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(signum, signal.SIG_IGN)


def _default_out() -> Path:
    root = resources.checkout()
    if root is None:
        raise MipError("flakiness: pass --out FILE (an installed mip6kit has no checkout "
                       "to keep scripts/flakiness-results.txt in)")
    return root / "scripts" / "flakiness-results.txt"
