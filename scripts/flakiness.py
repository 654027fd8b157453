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
same in every run.  Appends a
summary to --out (default scripts/flakiness-results.txt) and exits 1 if any
test is flaky, a run verified nothing (a collection error), or a guest failed.
"""

import argparse
import re
import shlex
import subprocess
import sys
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

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
    whose last run has fewer results than the longest run before it), so
    that its unfinished tests are not counted as missing."""
    if guest_failed and len(runs) > 1 and len(runs[-1]) < max(map(len, runs[:-1])):
        return len(runs)
    return None


def flaky(runs: list[dict[str, str]]) -> dict[str, list[str]]:
    seen: dict[str, list[str]] = defaultdict(list)
    for run in runs:
        for name in set().union(*runs):
            seen[name].append(run.get(name, "missing"))
    return {name: o for name, o in seen.items() if len(set(o)) > 1}


def stage(base: str, base_dir: Path) -> Path | None:
    """Build the patched kernel if needed and stage the series' selftest
    into base_dir, as `mip6kit run` does for its guests."""
    args = argparse.Namespace(base=base, tree=None, series=None, run_dir=base_dir, jobs=None)
    job = pipeline.new_job(args, cache_root(), Runner())
    pipeline.check_selection([])  # the guest's bytecode, as mip6kit run leaves it
    with pipeline.locked(job):
        pipeline.build_variant(job, "patched")
        return pipeline.stage_selftest(job)


def one_kernel(base: str, kernel: str, runs: int, base_dir: Path,
               selftest: Path | None) -> tuple[str, bool]:
    verifier = shlex.join(pipeline.verifier_command([], pipeline.TEST_TIMEOUT, None,
                                                          selftest))
    loop = (f"for i in $(seq {runs}); do echo '{MARK}'$i; {verifier} "
            "| grep -v '^#mip6kit-file'; done")
    variant = ["--baseline"] if kernel == "baseline" else []
    # kept, with every run's KTAP and its diagnostics, so a flake can be read
    run_dir = base_dir / kernel
    start = time.monotonic()
    res = subprocess.run([sys.executable, "-m", "mip6kit", "-q", "boot", "--base", base,
                          *variant, "--run-dir", str(run_dir), "--timeout", str(runs * 600),
                          "--", "sh", "-c", loop], capture_output=True, text=True,
                         cwd=project_root())
    seconds = time.monotonic() - start
    (run_dir / "ktap.txt").write_text(res.stdout)
    per_run = outcomes(res.stdout)
    void = broken(res.stdout)
    cut = cut_short(per_run, res.returncode != 0)
    if cut:
        del per_run[cut - 1]
        void.pop(cut, None)
    bad = flaky(per_run)
    ok = res.returncode == 0 and len(per_run) == runs and not bad and not void
    tests = len(set().union(*per_run)) if per_run else 0
    lines = [f"{base} {kernel}: {len(per_run)} of {runs} runs, {tests} tests, "
             f"{len(bad)} flaky, {seconds:.0f} s, boot exit {res.returncode}; "
             f"output in {run_dir / 'ktap.txt'}"]
    if cut:
        lines.append(f"  run {cut} was cut short by the guest's end and is not counted")
    lines += [f"  FLAKY {name}: {' '.join(o)}" for name, o in sorted(bad.items())]
    if void:
        lines.append(f"  BROKEN: {len(void)} runs verified nothing (runs "
                     f"{', '.join(map(str, void))}), e.g. {next(iter(void.values()))}")
    if res.returncode != 0:
        lines += [f"  {ln}" for ln in res.stderr.strip().splitlines()[-5:]]
    return "\n".join(lines), ok


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", action="append", choices=["6.12", "6.1"])
    ap.add_argument("--kernel", action="append", choices=["baseline", "patched"])
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--out", type=Path, default=project_root() / "scripts/flakiness-results.txt")
    args = ap.parse_args()
    bases = args.base or ["6.12", "6.1"]
    kernels = args.kernel or ["baseline", "patched"]

    def one_base(base: str) -> list[tuple[str, bool]]:
        base_dir = pipeline.new_rundir(cache_root(), f"flakiness-{base}")
        selftest = stage(base, base_dir)
        return [one_kernel(base, kernel, args.runs, base_dir, selftest) for kernel in kernels]

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
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
