# SPDX-License-Identifier: GPL-2.0-only
"""The whole job: tree -> scratch copy -> series -> config -> build -> boot -> verify."""

import contextlib
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from mip6kit import project_root

from . import boot, build, coverage, leaks, matrix, profile, scratch, stage, tree
from .cache import Lock, short_hash, tree_key
from .errors import Exit, MipError
from .proc import Runner

log = logging.getLogger(__name__)

VARIANTS = ("baseline", "patched")


@dataclass
class Job:
    cache: Path
    runner: Runner
    tree: tree.KernelTree
    patches: list[Path]
    series_dir: Path | None
    jobs: int
    rundir: Path
    profile: str = profile.LEAN

    @property
    def workdir(self) -> Path:
        return self.cache / "work" / tree_key(self.tree.origin)

    def src(self, variant: str) -> Path:
        """The variant's own scratch tree (and, inside it, its build dirs)."""
        return self.workdir / f"src-{variant}"

    def variants(self, baseline_only: bool = False) -> list[str]:
        """The kernels to build: baseline, then patched when there is a series."""
        return ["baseline"] if baseline_only or not self.patches else list(VARIANTS)

    def patch_names(self) -> list[str]:
        return [slug(p) for p in self.patches]


def slug(patch: Path) -> str:
    """0001-ipv6-raw-foo.patch -> ipv6-raw-foo: the name test markers use."""
    stem = patch.name.removesuffix(".patch")
    head, _, rest = stem.partition("-")
    return rest if head.isdigit() and rest else stem


def other_series_patches(mine: list[str]) -> frozenset[str]:
    """Names of the patches that only the other series in patches/ carry."""
    names = set()
    for series in (project_root() / "patches").glob("*/series"):
        names |= {slug(p) for p in tree.read_series(series.parent)}
    return frozenset(names - set(mine))


def new_job(args, cache: Path, runner: Runner) -> Job:
    kt = tree.resolve(args.base, args.tree, cache, runner)
    series_dir = None
    patches: list[Path] = []
    if not getattr(args, "no_series", False):
        series_dir = args.series or project_root() / "patches" / kt.series_name
        if args.series is None and not (series_dir / "series").is_file():
            raise MipError(f"no series for Linux {kt.version} in {series_dir}: pass "
                           "--series DIR, or --no-series to test the baseline alone")
        patches = tree.read_series(series_dir)
    rundir = _rundir(args.run_dir, cache, kt, runner)
    if not runner.dry_run:
        _add_file_log(rundir / "run.log")
    log.info("tree %s (Linux %s), series %s, run directory %s", kt.origin, kt.version,
             series_dir or "none", rundir)
    return Job(cache, runner, kt, patches, series_dir, args.jobs or os.cpu_count() or 1,
               rundir, getattr(args, "profile", profile.LEAN))


def _rundir(requested: Path | None, cache: Path, kt: tree.KernelTree, runner: Runner) -> Path:
    """--run-dir, or a new unique directory under $MIP6KIT_CACHE/runs (runs/latest)."""
    if requested is not None:
        rundir = requested.expanduser().resolve()
        if rundir.is_relative_to(kt.origin):
            raise MipError(f"--run-dir {rundir} is inside the tree {kt.origin}, which "
                           "mip6kit never writes to; choose another directory")
        if rundir.exists() and not rundir.is_dir():
            raise MipError(f"--run-dir {rundir} exists and is not a directory")
        if not runner.dry_run:
            rundir.mkdir(parents=True, exist_ok=True)
        return rundir
    if runner.dry_run:
        return cache / "runs" / f"{time.strftime('%Y%m%d-%H%M%S')}-{kt.label}"
    return new_rundir(cache, kt.label)


def new_rundir(cache: Path, label: str) -> Path:
    """A new unique directory under cache/runs, which runs/latest then names."""
    runs = cache / "runs"
    runs.mkdir(parents=True, exist_ok=True)
    rundir = Path(tempfile.mkdtemp(prefix=f"{time.strftime('%Y%m%d-%H%M%S')}-{label}-",
                                   dir=runs))
    # runs/latest is replaced atomically: two runs at once never see it missing
    staged = runs / f".latest-{os.getpid()}-{threading.get_ident()}"
    staged.unlink(missing_ok=True)
    staged.symlink_to(rundir)
    os.replace(staged, runs / "latest")
    return rundir


class _RunLog(logging.FileHandler):
    """A job's run.log.  Two bases' jobs may run in two threads of one
    process (flakiness.py): a record of a thread that made a job goes to
    that job's log only; records of other threads (a job's guest threads)
    go to every log."""

    def __init__(self, path: Path):
        super().__init__(path)
        self.thread = threading.get_ident()
        self.setLevel(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        self.addFilter(self._mine)

    def _mine(self, record: logging.LogRecord) -> bool:
        if record.thread == self.thread:
            return True
        return not any(isinstance(h, _RunLog) and h.thread == record.thread
                       for h in logging.getLogger().handlers)


def _add_file_log(path: Path) -> None:
    """Log this thread's records to path from now on: the run.log of an
    earlier job of this thread (series check goes from base to base) is
    closed, so each run.log holds its own job's lines only."""
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _RunLog)
                and h.thread == threading.get_ident()]:
        root.removeHandler(old)
        old.close()
    root.addHandler(_RunLog(path))


def locked(job: Job):
    """The work dir lock, held while a run uses the scratch copy (not in dry runs)."""
    if job.runner.dry_run:
        return contextlib.nullcontext()
    return Lock(job.workdir / "lock")


def build_variant(job: Job, variant: str) -> Path:
    """Sync the variant's scratch tree (with the series for 'patched'), build;
    returns bzImage.  Call with the work dir lock held."""
    patches = job.patches if variant == "patched" else []
    outdir = job.rundir / variant
    src = job.src(variant)
    _drop_legacy_layout(job)
    # The first patched copy hard-links the baseline copy's files.
    link_dest = job.src("baseline") if variant != "baseline" else None
    with _reading(job):
        synced = scratch.sync(job.tree.origin, src, project_root() / "kernel-src-overlay",
                              patches, job.runner, link_dest=link_dest,
                              appends=coverage.makefile_appends(patches))
    fragment, text = profile.fragment(src, job.profile, write=not job.runner.dry_run)
    cfg = short_hash(text) if text is not None else "dryrun"
    builddir = scratch.build_dir(src, cfg)
    image = build.build(src, builddir, fragment, outdir / "build.log", job.runner,
                        job.cache, job.jobs, synced)
    if not job.runner.dry_run:
        shutil.copy(builddir / ".config", outdir / "config")
    return image


def _reading(job: Job):
    """The tree's own lock while we copy from it: a concurrent run that finds
    a newer Debian tarball waits before it replaces the extracted tree."""
    if job.tree.lock is None or job.runner.dry_run:
        return contextlib.nullcontext()
    return Lock(job.tree.lock, wait=True)


def _drop_legacy_layout(job: Job) -> None:
    """mip6kit 0.1 shared one work/<tree>/src between variants, with build
    dirs beside it; nothing reads them any more."""
    old = [job.workdir / "src", *job.workdir.glob("build-*")]
    for d in old:
        if d.is_dir() and not job.runner.dry_run:
            log.info("removing %s (layout of an older mip6kit)", d)
            shutil.rmtree(d, ignore_errors=True)


TEST_TIMEOUT = 120  # s, default per test phase; the slowest test takes about 15 s under TCG
SELFTEST = "mip6_hao"  # the series' in-tree selftest: SELFTEST.sh and its helper
SELFTEST_MODULE = "test_selftest.py"  # the verifier module that runs it


def verifier_command(pytest_args: list[str], test_timeout: float,
                     modules: list[str] | None = None,
                     selftest: Path | None = None, helpers: Path | None = None) -> list[str]:
    """The guest's command; modules limits its collection to those test
    modules (the host's selection), none means the whole suite.  selftest
    is the staged series selftest; without it, its module is not run.
    helpers is stage_helpers()'s directory."""
    env = [f"MIP6KIT_HELPERS={helpers}"] if helpers is not None else []
    if selftest is not None:
        env.append(f"MIP6KIT_SELFTEST_DIR={selftest}")
    else:
        pytest_args = [f"--ignore={project_root() / 'verifier' / SELFTEST_MODULE}",
                       *pytest_args]
    env = ["env", *env] if env else []
    return [*env, sys.executable, "-m", "mip6kit.verifier.guest",
            f"--test-timeout={test_timeout:g}",
            *([f"--modules={','.join(modules)}"] if modules else []), *pytest_args]


def stage_selftest(job: Job) -> Path | None:
    """Stage the series' own selftest from the patched tree into the run
    directory, under the tree's kselftest runner (run_kselftest.sh -t
    net:SELFTEST.sh), for both guests; None when there is no patched tree in
    this run or the series does not add the selftest."""
    src = job.src("patched")
    if job.runner.dry_run or not (src / stage.NET / f"{SELFTEST}.sh").is_file():
        return None
    dest = job.rundir / "selftest"
    dest.mkdir(parents=True, exist_ok=True)
    net = stage.runner(src, dest, [f"{SELFTEST}.sh"])
    stage.copy_script(src / stage.NET, f"{SELFTEST}.sh", net)
    (net / f"{SELFTEST}.sh").chmod(0o755)
    stage.compile_helper(src / stage.NET, SELFTEST, net)
    return dest


def stage_helpers(job: Job) -> Path | None:
    """The verifier's compiled helpers (verifier/helpers: a 32-bit XFRM
    netlink client), built on the host into the run directory: gcc in a
    TCG guest takes seconds.  None (the guest then builds them itself, or
    skips their tests) when the host cannot build them."""
    if job.runner.dry_run:
        return None
    from mip6kit.verifier import compat32
    dest = job.rundir / "helpers"
    dest.mkdir(parents=True, exist_ok=True)
    try:
        compat32.build(dest)
    except (OSError, subprocess.CalledProcessError) as e:
        log.warning("cannot build the 32-bit helper (install gcc-multilib, or run "
                    "scripts/setup.sh): %s", getattr(e, "stderr", e))
        return None
    return dest


def check_selection(pytest_args: list[str]) -> list[str]:
    """Collect on the host first, so a bad -k or a broken suite fails before
    any build, and return the test modules that hold the selection (none
    when there is no selection: the guest then collects everything).

    This also leaves the bytecode and pytest's rewritten test modules in
    verifier/__pycache__ for the guest, which sees the checkout read-only
    and would otherwise compile them on every boot (slow under TCG), so
    bytecode writing is forced on for this one command."""
    verifier = project_root() / "verifier"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    res = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q",
                          "-p", "no:cacheprovider", "-c", "/dev/null", f"--rootdir={verifier}",
                          str(verifier), *pytest_args], capture_output=True, text=True, env=env)
    if res.returncode == 5:
        raise MipError(f"no verifier test matches {' '.join(pytest_args)}")
    if res.returncode != 0:
        lines = (res.stdout + res.stderr).strip().splitlines()
        what = f"bad test selection {' '.join(pytest_args)}" if pytest_args else \
            "the verifier does not collect"
        raise MipError(f"{what}: {lines[-1] if lines else 'pytest failed'}")
    if not pytest_args:
        return []
    return sorted({m.group(1) for m in re.finditer(r"^(test_\w+\.py)::", res.stdout, re.M)})


def decide_kvm(job: Job, image: Path, kvm: bool | None) -> bool:
    if kvm is not None or job.runner.dry_run:
        return bool(kvm)
    return boot.kvm_usable(image, job.cache, job.rundir)


def verify(job: Job, images: dict[str, Path], kvm: bool, timeout: float,
           command: list[str]) -> dict[str, boot.BootResult]:
    """Run command (the verifier, the selftests) in a guest per kernel, at
    the same time when there are cores for it (a TCG guest keeps one core
    busy); each guest's KTAP is echoed live, prefixed with its variant when
    they run together."""
    together = len(images) > 1 and (os.cpu_count() or 1) >= len(images) \
        and not job.runner.dry_run

    def one(variant: str) -> boot.BootResult:
        outdir = job.rundir / variant
        log.info("verifying the %s kernel (KTAP follows)", variant)
        # result files come back on stdout as handoff lines (files=True)
        return boot.boot(images[variant], command, outdir,
                         files=True, kvm=kvm, timeout=timeout,
                         dry_run=job.runner.dry_run,
                         echo_prefix=f"[{variant}] " if together else "")

    if not together:
        return {v: one(v) for v in images}
    with ThreadPoolExecutor(len(images)) as pool:
        futures = {v: pool.submit(one, v) for v in images}
        try:
            done = {v: f.exception() or f.result() for v, f in futures.items()}
        except BaseException:  # Ctrl-C or SIGTERM in the main thread
            boot.kill_all()
            raise
    errors = [e for e in done.values() if isinstance(e, BaseException)]
    if errors:
        # The most severe first: a crash (6) before a boot failure (5).
        raise max(errors, key=lambda e: getattr(e, "code", 0))
    return done


def verifier_results(job: Job, variant: str, res: boot.BootResult) -> dict:
    """results.json of a verifier guest that ran its tests (exit 0 or 1)."""
    if res.rc not in (0, 1):
        raise MipError(f"the verifier exited {res.rc} in the {variant} guest (pytest "
                       f"internal or collection error); see {res.stdout}", Exit.TEST_FAILURE)
    return matrix.load(job.rundir / variant / "results.json")


def _write_matrix(job: Job, results: dict[str, dict]) -> list[matrix.Row]:
    rows = matrix.judge(results, job.patch_names(), other_series_patches(job.patch_names()))
    table = matrix.render(rows)
    (job.rundir / "matrix.txt").write_text(table)
    sys.stdout.write(table)
    sys.stdout.flush()
    log.info("results in %s", job.rundir)
    return rows


def _partial_matrix(job: Job, variants: list[str]) -> None:
    """A guest died or timed out: the matrix of what the guests handed back
    before that (results.json streams), naming the unfinished tests."""
    results = {}
    for variant in variants:
        path = job.rundir / variant / "results.json"
        if path.is_file():
            with contextlib.suppress(MipError):
                results[variant] = matrix.load(path)
    if not results:
        return
    known = next(iter(results.values()))
    for variant in variants:  # a guest that died before collecting finished nothing
        results.setdefault(variant, {t: {**r, "outcome": "unfinished"} for t, r in known.items()})
    rows = _write_matrix(job, {v: results[v] for v in variants})
    left = matrix.unfinished(rows)
    log.error("partial matrix in %s: %d of %d tests did not finish%s", job.rundir / "matrix.txt",
              len(left), len(rows), (": " + ", ".join(left[:5]) + (" ..." if len(left) > 5
                                                                   else "")) if left else "")


def run(job: Job, kvm: bool | None, timeout: float, pytest_args: list[str],
        baseline_only: bool, test_timeout: float) -> Exit:
    variants = job.variants(baseline_only)
    modules = check_selection(pytest_args)
    with locked(job):
        images = {v: build_variant(job, v) for v in variants}
        selftest = stage_selftest(job) if "patched" in variants else None
        helpers = stage_helpers(job)
        if selftest is None and modules == [SELFTEST_MODULE]:
            raise MipError(f"{SELFTEST_MODULE} runs the series' selftest from the patched "
                           "tree: drop --baseline-only (or use a series that adds it)")
        use_kvm = decide_kvm(job, images[variants[0]], kvm)
        try:
            verified = verify(job, images, use_kvm, timeout,
                              verifier_command(pytest_args, test_timeout, modules, selftest,
                                               helpers))
        except MipError as e:
            if e.code in (Exit.BOOT_FAILURE, Exit.KERNEL_CRASH):
                _partial_matrix(job, variants)
            raise
    if job.runner.dry_run:
        return Exit.PASS
    results = {}
    for variant, res in verified.items():
        results[variant] = verifier_results(job, variant, res)
    rows = _write_matrix(job, results)
    leaked = leaks.report(job.rundir, variants)
    if not all(r.ok for r in rows) or leaked:
        return Exit.TEST_FAILURE
    if all(o == "skipped" for r in rows for o in r.outcomes.values()):
        log.warning("every test was skipped: nothing was verified")
        return Exit.SKIP
    return Exit.PASS
