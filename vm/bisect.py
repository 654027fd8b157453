# SPDX-License-Identifier: GPL-2.0-only
"""`mip6kit bisect`: git bisect run over a kernel history, with a step that
builds the lean kernel, boots it and runs the chosen verifier tests.

The user's repository is only read: mip6kit clones it with --shared (the
clone borrows its objects, nothing is written to it) into a directory beside
its cache ($MIP6KIT_CACHE-bisect) and bisects there.  Each step is `mip6kit run --tree CLONE --no-series
--baseline-only -k TESTS`, so the scratch copy and the build dir of the
clone are reused and every step builds incrementally (ccache).  Step exit
codes for git bisect run: 0 when the tests pass (good), 1 when one fails or
the kernel crashes (bad), 125 when the commit does not build or boot
(skip); a host failure aborts the bisection.  --retries N runs the tests N
times and calls the commit good only if every run passes (ktest.pl's
BISECT_TRIES).  The bisect log and every step's run directory are kept.
"""

import logging
import re
import subprocess
import sys
from pathlib import Path

from .cache import short_hash
from .errors import Exit, MipError

log = logging.getLogger(__name__)

GOOD, BAD, SKIP, ABORT = 0, 1, 125, 128
NAMES = {GOOD: "good", BAD: "bad", SKIP: "skip", ABORT: "abort"}
FIRST_BAD = re.compile(r"^([0-9a-f]{7,40}) is the first bad commit", re.M)


def verdict(code: int) -> int:
    """git bisect run's code for one `mip6kit run` exit code."""
    if code == Exit.PASS:
        return GOOD
    if code in (Exit.TEST_FAILURE, Exit.KERNEL_CRASH):
        return BAD
    if code in (Exit.BUILD_FAILURE, Exit.BOOT_FAILURE):
        return SKIP
    return ABORT


def step(clone: Path, rundir: Path, tests: str, retries: int, extra: list[str]) -> int:
    """One bisect step (run by git bisect run through `python -m`)."""
    rev = _git(clone, "rev-parse", "--short", "HEAD")
    for attempt in range(1, retries + 1):
        out = rundir / f"step-{rev}-{attempt}"
        argv = [sys.executable, "-m", "mip6kit", "-q", "run", "--tree", str(clone),
                "--no-series", "--baseline-only", "--run-dir", str(out), *extra]
        if tests:
            argv += ["-k", tests]
        code = verdict(subprocess.run(argv).returncode)
        print(f"mip6kit bisect: {rev} try {attempt}/{retries}: {NAMES[code]} ({out})",
              flush=True)
        if code != GOOD:
            return code
    return GOOD


def _git(repo: Path, *args: str, check: bool = True) -> str:
    res = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True)
    if check and res.returncode != 0:
        raise MipError(f"git {' '.join(args)} in {repo} failed: {res.stderr.strip()}")
    return res.stdout.strip()


def prepare(tree: Path, good: str, bad: str, cache: Path) -> tuple[Path, str, str]:
    """A --shared clone of tree in the cache, and the two revisions resolved."""
    if _git(tree, "rev-parse", "--is-inside-work-tree", check=False) != "true":
        raise MipError(f"--tree {tree} is not a git work tree; bisect needs the history "
                       "(git clone the kernel, or git init a tree and commit to it)")
    revs = []
    for name, rev in (("--good", good), ("--bad", bad)):
        sha = _git(tree, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}", check=False)
        if not sha:
            raise MipError(f"{name} {rev}: no such commit in {tree}")
        revs.append(sha)
    if subprocess.run(["git", "-C", str(tree), "merge-base", "--is-ancestor", *revs]
                      ).returncode != 0:
        raise MipError(f"--good {good} is not an ancestor of --bad {bad}")
    # beside the cache, not in it: `mip6kit run --tree` refuses a tree there
    clone = cache.parent / f"{cache.name}-bisect" / short_hash(str(tree.resolve())) / "linux"
    if not (clone / ".git").is_dir():
        clone.parent.mkdir(parents=True, exist_ok=True)
        log.info("cloning %s into %s (--shared: the objects stay in your repository)",
                 tree, clone)
        res = subprocess.run(["git", "clone", "-q", "--shared", "--no-checkout", str(tree),
                              str(clone)], capture_output=True, text=True)
        if res.returncode != 0:
            raise MipError(f"git clone --shared {tree} {clone} failed: {res.stderr.strip()}; "
                           f"remove {clone.parent} if a half-made clone is left there",
                           Exit.HOST_FAILURE if "No space" in res.stderr else Exit.USAGE)
    else:  # the clone borrows every object of tree, new ones included
        _git(clone, "bisect", "reset", check=False)
    return clone, revs[0], revs[1]


def run(tree: Path, good: str, bad: str, tests: str, retries: int, extra: list[str],
        cache: Path, rundir: Path) -> Exit:
    clone, good_sha, bad_sha = prepare(tree, good, bad, cache)
    _git(clone, "checkout", "-q", "--detach", bad_sha)
    _git(clone, "bisect", "start", bad_sha, good_sha)
    step_cmd = [sys.executable, "-m", "mip6kit.vm.bisect", str(clone), str(rundir),
                tests, str(retries), *extra]
    log.info("git bisect run in %s; steps keep their runs in %s", clone, rundir)
    res = subprocess.run(["git", "-C", str(clone), "bisect", "run", *step_cmd],
                         capture_output=True, text=True)
    (rundir / "bisect-run.txt").write_text(res.stdout + res.stderr)
    (rundir / "bisect-log.txt").write_text(_git(clone, "bisect", "log", check=False))
    _git(clone, "bisect", "reset", "-q", check=False)
    found = FIRST_BAD.search(res.stdout)
    if res.returncode != 0 or not found:
        raise MipError(f"git bisect run did not finish: {(res.stdout + res.stderr).strip()[-600:]}"
                       f"\n(log: {rundir / 'bisect-run.txt'})", Exit.TEST_FAILURE)
    first = found.group(1)
    print(f"first bad commit: {_git(tree, 'log', '-1', '--format=%h %s', first)}")
    print(f"bisect log: {rundir / 'bisect-log.txt'}; step runs: {rundir}/step-*")
    return Exit.PASS


if __name__ == "__main__":  # a bisect step: CLONE RUNDIR TESTS RETRIES [RUN OPTIONS...]
    clone_arg, rundir_arg, tests_arg, retries_arg, *rest = sys.argv[1:]
    sys.exit(step(Path(clone_arg), Path(rundir_arg), tests_arg, int(retries_arg), rest))
