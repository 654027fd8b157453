# SPDX-License-Identifier: GPL-2.0-only
"""`mip6kit bisect`: git bisect run over a kernel history, with a step that
builds the lean kernel, boots it and runs the chosen verifier tests.

The user's repository is only read: mip6kit clones it with --shared (the
clone borrows its objects, nothing is written to it) into a directory beside
its cache ($MIP6KIT_CACHE-bisect) and bisects there.  Each step is
`mip6kit run --tree CLONE --no-series --baseline-only -k TESTS`, so the
scratch copy and the build dir of the clone are reused and every step
builds incrementally (ccache).  Step exit codes for git bisect run: 0 when
the tests pass (good), 1 when one fails or the kernel crashes (bad), 125
when the commit does not build or boot (skip); a host failure aborts the
bisection.  --retries N runs the tests N times and calls the commit good
only if every run passes (ktest.pl's BISECT_TRIES).  The bisect log and
every step's run directory are kept.
"""

import logging
import re
import sys
from pathlib import Path

from .cache import short_hash
from .errors import Exit, MipError
from .proc import Runner
from .spec import BisectSpec

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


def step(clone: Path, rundir: Path, tests: str, retries: int, extra: list[str],
         runner: Runner) -> int:
    """One bisect step (run by git bisect run through `python -m`)."""
    rev = _git(runner, clone, "rev-parse", "--short", "HEAD", query=True)
    for attempt in range(1, retries + 1):
        out = rundir / f"step-{rev}-{attempt}"
        argv = [sys.executable, "-m", "mip6kit", "-q", "run", "--tree", str(clone),
                "--no-series", "--baseline-only", "--run-dir", str(out), *extra]
        if tests:
            argv += ["-k", tests]
        code = verdict(runner.run(argv, check=False).returncode)
        print(f"mip6kit bisect: {rev} try {attempt}/{retries}: {NAMES[code]} ({out})",
              flush=True)
        if code != GOOD:
            return code
    return GOOD


def _git(runner: Runner, repo: Path, *args: str, check: bool = True, query: bool = False) -> str:
    """git's stdout; a failure (when checked) names the git command, not a traceback."""
    res = runner.run(["git", "-C", str(repo), *args], capture=True, check=False, query=query)
    if check and res.returncode != 0:
        raise MipError(f"git {' '.join(args)} in {repo} failed: {res.stderr.strip()}")
    return res.stdout.strip()


def prepare(tree: Path, good: str, bad: str, cache: Path,
            runner: Runner) -> tuple[Path, str, str]:
    """A --shared clone of tree in the cache, and the two revisions resolved."""
    if _git(runner, tree, "rev-parse", "--is-inside-work-tree", check=False,
            query=True) != "true":
        raise MipError(f"--tree {tree} is not a git work tree; bisect needs the history "
                       "(git clone the kernel, or git init a tree and commit to it)")
    revs = []
    for name, rev in (("--good", good), ("--bad", bad)):
        sha = _git(runner, tree, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}",
                   check=False, query=True)
        if not sha:
            raise MipError(f"{name} {rev}: no such commit in {tree}")
        revs.append(sha)
    if runner.run(["git", "-C", str(tree), "merge-base", "--is-ancestor", *revs],
                  check=False, query=True).returncode != 0:
        raise MipError(f"--good {good} is not an ancestor of --bad {bad}")
    # beside the cache, not in it: `mip6kit run --tree` refuses a tree there
    clone = cache.parent / f"{cache.name}-bisect" / short_hash(str(tree.resolve())) / "linux"
    if not (clone / ".git").is_dir():
        clone.parent.mkdir(parents=True, exist_ok=True)
        log.info("cloning %s into %s (--shared: the objects stay in your repository)",
                 tree, clone)
        res = runner.run(["git", "clone", "-q", "--shared", "--no-checkout", str(tree),
                          str(clone)], capture=True, check=False)
        if res.returncode != 0:
            raise MipError(f"git clone --shared {tree} {clone} failed: {res.stderr.strip()}; "
                           f"remove {clone.parent} if a half-made clone is left there",
                           Exit.HOST_FAILURE if "No space" in res.stderr else Exit.USAGE)
    else:  # the clone borrows every object of tree, new ones included
        _git(runner, clone, "bisect", "reset", check=False)
    return clone, revs[0], revs[1]


def run(spec: BisectSpec, cache: Path, rundir: Path, runner: Runner) -> Exit:
    """git bisect run over spec's history; each step is `mip6kit run
    --baseline-only` on the lean kernel of that commit."""
    tree, tests, retries, guest = spec.tree, spec.k, spec.retries, spec.guest
    extra = [*(["-j", str(spec.jobs)] if spec.jobs else []),
             *([] if guest.kvm is None else ["--kvm" if guest.kvm else "--no-kvm"]),
             "--timeout", f"{guest.timeout:.0f}"]
    clone, good_sha, bad_sha = prepare(tree, spec.good, spec.bad, cache, runner)
    _git(runner, clone, "checkout", "-q", "--detach", bad_sha)
    _git(runner, clone, "bisect", "start", bad_sha, good_sha)
    step_cmd = [sys.executable, "-m", "mip6kit.bisect", str(clone), str(rundir),
                tests, str(retries), *extra]
    log.info("git bisect run in %s; steps keep their runs in %s", clone, rundir)
    res = runner.run(["git", "-C", str(clone), "bisect", "run", *step_cmd],
                     capture=True, check=False)
    (rundir / "bisect-run.txt").write_text(res.stdout + res.stderr)
    (rundir / "bisect-log.txt").write_text(_git(runner, clone, "bisect", "log", check=False,
                                                query=True))
    _git(runner, clone, "bisect", "reset", "-q", check=False)
    found = FIRST_BAD.search(res.stdout)
    if res.returncode != 0 or not found:
        raise MipError(f"git bisect run did not finish: {(res.stdout + res.stderr).strip()[-600:]}"
                       f"\n(log: {rundir / 'bisect-run.txt'})", Exit.TEST_FAILURE)
    first = found.group(1)
    subject = _git(runner, tree, "log", "-1", "--format=%h %s", first, query=True)
    print(f"first bad commit: {subject}")
    print(f"bisect log: {rundir / 'bisect-log.txt'}; step runs: {rundir}/step-*")
    return Exit.PASS


if __name__ == "__main__":  # a bisect step: CLONE RUNDIR TESTS RETRIES [RUN OPTIONS...]
    clone_arg, rundir_arg, tests_arg, retries_arg, *rest = sys.argv[1:]
    try:
        sys.exit(step(Path(clone_arg), Path(rundir_arg), tests_arg, int(retries_arg), rest,
                      Runner()))
    except MipError as e:  # the host, not the commit: a traceback's exit 1 would say "bad"
        print(f"mip6kit bisect: {e}", file=sys.stderr, flush=True)
        sys.exit(ABORT)
