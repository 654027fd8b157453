# SPDX-License-Identifier: GPL-2.0-only
"""`mip6kit bisect`: git bisect run over a kernel history, with a step that
builds the lean kernel, boots it and runs the chosen verifier tests.

The user's repository is only read: mip6kit clones it with --shared (the
clone borrows its objects, nothing is written to it) into a directory beside
its cache ($MIP6KIT_CACHE-bisect) and bisects there.  Each step is
`mip6kit run --tree CLONE --no-series --baseline-only -k TESTS` (with
--series DIR: `mip6kit run --tree CLONE --series DIR -k TESTS`, both
kernels, good when the series still does its job on that commit), so the
scratch copy and the build dir of the clone are reused and every step
builds incrementally (ccache).  MIP6KIT_BISECT_RUN, when set, is run
instead of `mip6kit run` (a command with the same exit codes: a custom
step, and how the host tests drive a bisection without kernels).

Step exit codes for git bisect run: 0 when the tests pass (good), 1 when
one fails or the kernel crashes (bad), 125 when the commit does not build
or boot (skip); a host failure aborts the bisection (128).  --first-good
looks for the first commit where the tests pass (which commit fixed it):
the terms are "broken" (old) and "fixed" (new).  --retries N runs the tests
N times and calls the commit good only if every run passes (ktest.pl's
BISECT_TRIES).  Each step's verdict is printed as it ends.  An interrupted
or aborted bisection is resumed by the same command: the clone keeps its
bisect state.  The bisect log and every step's run directory are kept.
"""

import logging
import os
import re
import shlex
import sys
import time
from pathlib import Path

from mip6kit.verifier import contract
from mip6kit.verifier.contract import Outcome

from .cache import short_hash
from .errors import Exit, MipError
from .proc import Runner
from .spec import BisectSpec

log = logging.getLogger(__name__)

GOOD, BAD, SKIP, ABORT = 0, 1, 125, 128
NAMES = {GOOD: "good", BAD: "bad", SKIP: "skip", ABORT: "abort"}
FIRST = re.compile(r"^([0-9a-f]{7,40}) is the first (bad|fixed) commit", re.M)
RUN_ENV = "MIP6KIT_BISECT_RUN"  # a command run instead of `mip6kit run` at each step
OLD, NEW = "broken", "fixed"  # --first-good's terms: the old commits fail, the new pass


def verdict(code: int) -> int:
    """git bisect run's code for one `mip6kit run` exit code."""
    if code == Exit.PASS:
        return GOOD
    if code in (Exit.TEST_FAILURE, Exit.KERNEL_CRASH):
        return BAD
    if code in (Exit.BUILD_FAILURE, Exit.BOOT_FAILURE):
        return SKIP
    return ABORT


def step(clone: Path, rundir: Path, tests: str, retries: int, run_args: list[str],
         runner: Runner, invert: bool = False) -> int:
    """One bisect step (run by git bisect run through `python -m`): the
    verdict of `mip6kit run RUN_ARGS` on the checked-out commit; invert
    (--first-good) swaps good and bad, since git calls the old term 0."""
    rev = _git(runner, clone, "rev-parse", "--short", "HEAD", query=True)
    command = shlex.split(os.environ[RUN_ENV]) if os.environ.get(RUN_ENV) else \
        [sys.executable, "-m", "mip6kit", "-q", "run"]
    code = GOOD
    for attempt in range(1, retries + 1):
        out = rundir / f"step-{rev}-{attempt}"
        argv = [*command, "--tree", str(clone), *run_args, "--run-dir", str(out)]
        if tests:
            argv += ["-k", tests]
        start = time.monotonic()
        code = verdict(runner.run(argv, check=False).returncode)
        if code == GOOD and "--no-series" in run_args and _failed(out):
            code = BAD
        print(f"mip6kit bisect: {rev} try {attempt}/{retries}: {NAMES[code]} "
              f"({time.monotonic() - start:.0f} s, {out})", flush=True)
        if code != GOOD:
            break
    if invert and code in (GOOD, BAD):
        return BAD if code == GOOD else GOOD
    return code


def _failed(out: Path) -> bool:
    """Whether a test failed in the step's run: `run --no-series` reports a
    test that guards a patch without judging it (exit 0 either way), and a
    bisection asks only whether the selected tests pass on this commit."""
    path = out / "baseline" / contract.RESULTS
    if not path.is_file():  # a custom step (MIP6KIT_BISECT_RUN): its exit code says
        return False
    try:
        results = contract.load_results(path.read_text())
    except ValueError as e:
        raise MipError(f"{path}: {e}") from e
    return any(r.outcome in (Outcome.FAILED, Outcome.ERROR, Outcome.UNFINISHED)
               for r in results.values())


def _git(runner: Runner, repo: Path, *args: str, check: bool = True, query: bool = False) -> str:
    """git's stdout; a failure (when checked) names the git command, not a traceback."""
    res = runner.run(["git", "-C", str(repo), *args], capture=True, check=False, query=query)
    if check and res.returncode != 0:
        raise MipError(f"git {' '.join(args)} in {repo} failed: {res.stderr.strip()}")
    return res.stdout.strip()


def prepare(tree: Path, good: str, bad: str, cache: Path, runner: Runner,
            first_good: bool = False) -> tuple[Path, str, str]:
    """A --shared clone of tree in the cache, and the two revisions resolved
    (the clone's bisect state, if any, is left for run() to resume)."""
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
    older, newer = (revs[1], revs[0]) if first_good else (revs[0], revs[1])
    if runner.run(["git", "-C", str(tree), "merge-base", "--is-ancestor", older, newer],
                  check=False, query=True).returncode != 0:
        raise MipError(f"--bad {bad} is not an ancestor of --good {good} (--first-good "
                       "looks forward from a bad commit)" if first_good else
                       f"--good {good} is not an ancestor of --bad {bad}")
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
    return clone, revs[0], revs[1]


def run(spec: BisectSpec, cache: Path, rundir: Path, runner: Runner) -> Exit:
    """git bisect run over spec's history, resumed if the clone holds an
    unfinished bisection of the same endpoints, terms and paths."""
    clone, good_sha, bad_sha = prepare(spec.tree, spec.good, spec.bad, cache, runner,
                                       spec.first_good)
    start = _start_args(spec, good_sha, bad_sha)
    # the same bisection: endpoints, terms, paths, and what each step runs
    note = shlex.join([*start, "-k", spec.k, "--retries", str(spec.retries), *_run_args(spec)])
    done = _git(runner, clone, "bisect", "log", check=False, query=True)
    if f"# mip6kit: {note}" in done:
        steps = len(re.findall(r"^git bisect (?:good|bad|skip|broken|fixed)", done, re.M))
        log.info("resuming the bisection in %s (%d steps done)", clone, steps)
    else:
        _git(runner, clone, "bisect", "reset", check=False)
        _git(runner, clone, "checkout", "-q", "--detach", bad_sha)
        _git(runner, clone, "bisect", "start", *start)
        _note(clone, note)
    step_cmd = [sys.executable, "-m", "mip6kit.bisect", str(clone), str(rundir),
                spec.k, str(spec.retries), "1" if spec.first_good else "0",
                *_run_args(spec)]
    log.info("git bisect run in %s; steps keep their runs in %s", clone, rundir)
    lines: list[str] = []

    def echo(line: str) -> None:
        lines.append(line)
        sys.stdout.write(line)
        sys.stdout.flush()

    rc = runner.stream(["git", "-C", str(clone), "bisect", "run", *step_cmd], echo)
    output = "".join(lines)
    if output and not output.endswith("\n"):  # git's last line has none
        echo("\n")
    (rundir / "bisect-run.txt").write_text(output)
    (rundir / "bisect-log.txt").write_text(_git(runner, clone, "bisect", "log", check=False,
                                                query=True))
    found = FIRST.search(output)
    if found:
        _git(runner, clone, "bisect", "reset", check=False)
        subject = _git(runner, spec.tree, "log", "-1", "--format=%h %s", found.group(1),
                       query=True)
        print(f"first {found.group(2)} commit: {subject}")
        print(f"bisect log: {rundir / 'bisect-log.txt'}; step runs: {rundir}/step-*")
        return Exit.PASS
    tail = "\n  ".join(output.strip().splitlines()[-6:])
    if "only 'skip'ped commits left" in output:  # finished, undecided: not resumable
        _git(runner, clone, "bisect", "reset", check=False)
        raise MipError(f"the bisection cannot decide: only skipped commits (no build or "
                       f"no boot) are left between good and bad; its last lines:\n  {tail}\n"
                       f"(log: {rundir / 'bisect-log.txt'})", Exit.TEST_FAILURE)
    if rc != 0:  # a step aborted (the host, not the commit): resumable
        raise MipError(f"git bisect run stopped (exit {rc}); its last lines:\n  {tail}\n"
                       f"fix the cause and run the same command again to resume "
                       f"(log: {rundir / 'bisect-run.txt'})", Exit.USAGE)
    _git(runner, clone, "bisect", "reset", check=False)
    raise MipError(f"the bisection found no first {'fixed' if spec.first_good else 'bad'} "
                   f"commit; its last lines:\n  {tail}\n"
                   f"(log: {rundir / 'bisect-log.txt'})", Exit.TEST_FAILURE)


def _start_args(spec: BisectSpec, good: str, bad: str) -> list[str]:
    """git bisect start's arguments: terms, endpoints (new first), paths."""
    if spec.first_good:
        ends = [f"--term-old={OLD}", f"--term-new={NEW}", good, bad]
    else:
        ends = [bad, good]
    return [*ends, "--", *spec.paths] if spec.paths else ends


def _note(clone: Path, note: str) -> None:
    """Mark the bisection as this command's, so that the same command
    resumes it and another starts afresh (git appends to BISECT_LOG)."""
    with (clone / ".git" / "BISECT_LOG").open("a") as f:
        f.write(f"# mip6kit: {note}\n")


def _run_args(spec: BisectSpec) -> list[str]:
    """What each step passes to `mip6kit run` besides the tree and -k."""
    guest = spec.guest
    series = ["--series", str(spec.series)] if spec.series else \
        ["--no-series", "--baseline-only"]
    return [*series, *(["-j", str(spec.jobs)] if spec.jobs else []),
            *guest.kvm_args(),
            "--timeout", f"{guest.timeout:.0f}"]


if __name__ == "__main__":  # a step: CLONE RUNDIR TESTS RETRIES INVERT [RUN OPTIONS...]
    clone_arg, rundir_arg, tests_arg, retries_arg, invert_arg, *rest = sys.argv[1:]
    try:
        sys.exit(step(Path(clone_arg), Path(rundir_arg), tests_arg, int(retries_arg), rest,
                      Runner(), invert=invert_arg == "1"))
    except MipError as e:  # the host, not the commit: a traceback's exit 1 would say "bad"
        print(f"mip6kit bisect: {e}", file=sys.stderr, flush=True)
        sys.exit(ABORT)
