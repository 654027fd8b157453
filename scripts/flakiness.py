# SPDX-License-Identifier: GPL-2.0-only
"""Run the whole verifier N times in a row on each kernel; report flaky tests.

  .venv/bin/python scripts/flakiness.py [--base 6.12] [--base 6.1] [--runs 20]
                                        [--kernel patched] [--out FILE]

One guest per kernel runs the verifier N times, as `mip6kit run` runs it
(the same command, the series' selftest staged from the patched tree, the
same per-test timeout), a fresh pytest each time, no reboot in between.
The bases run at the same time, one guest each (a TCG guest keeps one core
busy; two guests of one base would wait for each other's lock on its work
dir).  A test is flaky when its KTAP outcome (ok, not ok, skip) is not the
same in every run.  Each run's end is reported on stderr as it comes, and
each kernel's KTAP is written to its run directory as it streams.  Appends
a summary to --out (default scripts/flakiness-results.txt) and exits 1 if
any test is flaky, a run verified nothing (a collection error), or a guest
failed.  SIGTERM, SIGINT or SIGHUP stops the guests, starts no other
kernel, still writes the summary of the runs that completed, and exits
128 + the signal's number.
"""

import argparse
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TextIO

from mip6kit import project_root
from mip6kit.vm import pipeline
from mip6kit.vm.cache import cache_root
from mip6kit.vm.proc import Runner

RESULT = re.compile(r"^(?P<ok>not ok|ok) \d+ (?P<name>\S+)(?P<skip> # SKIP)?")
MARK = "# flakiness run "


def outcomes(ktap: str) -> list[dict[str, str]]:
    """Per run (split at MARK lines): test name -> pass/fail/skip."""
    runs: list[dict[str, str]] = []
    for line in ktap.splitlines():
        if line.startswith(MARK):
            runs.append({})
        elif runs and (m := RESULT.match(line)):
            runs[-1][m["name"]] = "skip" if m["skip"] else \
                "pass" if m["ok"] == "ok" else "fail"
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


def cut_short(runs: list[dict[str, str]], guest_failed: bool) -> int | None:
    """The last run's number if the guest stopped during it (a failed boot
    whose last run has fewer results than the longest run before it, or
    that has no run before it), so that its unfinished tests are not
    counted as missing."""
    if not guest_failed or not runs:
        return None
    before = [len(run) for run in runs[:-1]]
    return len(runs) if not before or len(runs[-1]) < max(before) else None


def flaky(runs: list[dict[str, str]]) -> dict[str, list[str]]:
    seen: dict[str, list[str]] = defaultdict(list)
    for run in runs:
        for name in set().union(*runs):
            seen[name].append(run.get(name, "missing"))
    return {name: o for name, o in seen.items() if len(set(o)) > 1}


def stage(base: str, base_dir: Path) -> tuple[Path | None, Path | None]:
    """Build the patched kernel if needed and stage the series' selftest
    and the verifier's helpers into base_dir, as `mip6kit run` does for
    its guests."""
    args = argparse.Namespace(base=base, tree=None, series=None, run_dir=base_dir, jobs=None)
    job = pipeline.new_job(args, cache_root(), Runner())
    pipeline.check_selection([])  # the guest's bytecode, as mip6kit run leaves it
    with pipeline.locked(job):
        pipeline.build_variant(job, "patched")
        return pipeline.stage_selftest(job), pipeline.stage_helpers(job)


def stream(lines: Iterable[str], out: TextIO, label: str, runs: int, start: float) -> str:
    """Copy the guest's KTAP to out as it comes, with a progress line on
    stderr as each run ends; returns the whole text."""
    text: list[str] = []
    run_start = 0  # index in text of the current run's MARK line

    def ended(number: int) -> None:
        for done in outcomes("".join(text[run_start:])):
            failed = sum(o == "fail" for o in done.values())
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


class Stop:
    """On SIGTERM, SIGINT or SIGHUP: stop every guest (mip6kit boot kills
    its qemu and exits 143), start no other, and still summarise the runs
    that completed."""

    def __init__(self):
        self.signum = 0
        self._procs: set[subprocess.Popen] = set()
        self._lock = threading.Lock()

    def __call__(self, signum, frame) -> None:
        self.signum = signum
        with self._lock:
            for proc in self._procs:
                proc.terminate()

    def start(self, argv: list[str], **kwargs) -> subprocess.Popen | None:
        """Popen(argv), or None once stopped."""
        with self._lock:
            if self.signum:
                return None
            proc = subprocess.Popen(argv, **kwargs)
            self._procs.add(proc)
            return proc


def one_kernel(base: str, kernel: str, runs: int, base_dir: Path,
               staged: tuple[Path | None, Path | None], stop: Stop) -> tuple[str, bool] | None:
    verifier = shlex.join(pipeline.verifier_command([], pipeline.TEST_TIMEOUT, None,
                                                          *staged))
    loop = (f"for i in $(seq {runs}); do echo '{MARK}'$i; {verifier} "
            "| grep -v '^#mip6kit-file'; done")
    variant = ["--baseline"] if kernel == "baseline" else []
    # kept, with every run's KTAP and its diagnostics, so a flake can be read
    run_dir = base_dir / kernel
    run_dir.mkdir(parents=True, exist_ok=True)
    label = f"{base} {kernel}"
    start = time.monotonic()
    with (run_dir / "ktap.txt").open("w") as ktap_file, \
            (run_dir / "boot-stderr.txt").open("w+") as err:
        proc = stop.start([sys.executable, "-m", "mip6kit", "-q", "boot", "--base", base,
                           *variant, "--run-dir", str(run_dir),
                           "--timeout", str(runs * 600), "--", "sh", "-c", loop],
                          stdout=subprocess.PIPE, stderr=err, text=True, cwd=project_root())
        if proc is None:
            return None
        ktap = stream(proc.stdout, ktap_file, label, runs, start)
        returncode = proc.wait()
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
    ok = returncode == 0 and len(per_run) == runs and not bad and not void
    tests = len(set().union(*per_run)) if per_run else 0
    lines = [f"{base} {kernel}: {len(per_run)} of {runs} runs, {tests} tests, "
             f"{len(bad)} flaky, {seconds:.0f} s, boot exit {returncode}; "
             f"output in {run_dir / 'ktap.txt'}"]
    if cut:
        lines.append(f"  run {cut} was cut short by the guest's end and is not counted")
    lines += [f"  FLAKY {name}: {' '.join(o)}" for name, o in sorted(bad.items())]
    if void:
        lines.append(f"  BROKEN: {len(void)} runs verified nothing (runs "
                     f"{', '.join(map(str, void))}), e.g. {next(iter(void.values()))}")
    if returncode != 0:
        lines += [f"  {ln}" for ln in stderr.strip().splitlines()[-5:]]
    return "\n".join(lines), ok


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", action="append", choices=["6.12", "6.1"])
    ap.add_argument("--kernel", action="append", choices=["baseline", "patched"])
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--out", type=Path, default=project_root() / "scripts/flakiness-results.txt")
    args = ap.parse_args()
    if args.runs < 1:
        ap.error("--runs must be at least 1")
    bases = args.base or ["6.12", "6.1"]
    kernels = args.kernel or ["baseline", "patched"]
    stop = Stop()
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, stop)

    def one_base(base: str) -> list[tuple[str, bool]]:
        base_dir = pipeline.new_rundir(cache_root(), f"flakiness-{base}")
        staged = stage(base, base_dir)
        results = (one_kernel(base, kernel, args.runs, base_dir, staged, stop)
                   for kernel in kernels)
        return [r for r in results if r is not None]

    all_ok = True
    with args.out.open("a") as out, ThreadPoolExecutor(len(bases)) as pool:
        out.write(f"# flakiness {time.strftime('%Y-%m-%dT%H:%MZ', time.gmtime())}: "
                  f"scripts/flakiness.py --runs {args.runs}\n")
        for future in [pool.submit(one_base, b) for b in bases]:
            for text, ok in future.result():
                all_ok &= ok
                out.write(text + "\n")
                out.flush()
                print(text, flush=True)
        if stop.signum:
            out.write(f"  stopped by {signal.Signals(stop.signum).name}\n")
    if stop.signum:
        return 128 + stop.signum
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
