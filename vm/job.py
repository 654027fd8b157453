# SPDX-License-Identifier: GPL-2.0-only
"""A job's lifecycle: the tree and series it works on, its run directory
and run.log, the work dir lock, and building a variant's kernel.

  with open_job(spec.tree, cache, runner) as job:
      image = build_variant(job, "patched")
"""

import contextlib
import logging
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from . import build, coverage, profile, resources, scratch, series, tree
from .cache import Lock, short_hash, tree_key
from .errors import MipError
from .proc import Runner
from .spec import TreeSpec

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

    def variants(self, only: str | None = None) -> list[str]:
        """The kernels to build: baseline, then patched when there is a
        series; only names one of them."""
        if not self.patches:
            return ["baseline"]
        return [only] if only else list(VARIANTS)

    def kernel(self, baseline: bool) -> str:
        """The one kernel a build or boot uses: patched, unless baseline."""
        return self.variants("baseline" if baseline else None)[-1]

    def patch_names(self) -> list[str]:
        return [series.slug(p) for p in self.patches]


@contextlib.contextmanager
def open_job(spec: TreeSpec, cache: Path, runner: Runner) -> Iterator[Job]:
    """The job of spec, with its run directory made and its run.log open
    until the block ends."""
    kt = tree.resolve(spec.base, spec.tree, cache, runner)
    series_dir = None if spec.no_series else series.resolve(kt, spec.series)
    patches = tree.read_series(series_dir) if series_dir else []
    if spec.tree is not None and patches:
        _refuse_carried(kt, patches, runner)
    rundir = _rundir(spec.run_dir, cache, kt, runner)
    job = Job(cache, runner, kt, patches, series_dir, spec.jobs or os.cpu_count() or 1,
              rundir, spec.profile)
    with run_log(None if runner.dry_run else rundir / "run.log"):
        log.info("tree %s (Linux %s), series %s, run directory %s", kt.origin, kt.version,
                 series_dir or "none", rundir)
        yield job


def _refuse_carried(kt: tree.KernelTree, patches: list[Path], runner: Runner) -> None:
    """A tree that already carries patches of the series (git am'd into a
    developer's tree) would fail to build with the series applied again:
    say so before any copy or build.  patch --dry-run -R only reads."""
    carried = []
    for p in patches:
        res = runner.run(scratch.patch_argv(kt.origin, p, reverse=True, dry_run=True),
                         capture=True, check=False, query=True)
        if res.returncode >= 2:  # patch's own trouble, not "does not reverse-apply"
            raise MipError(f"patch could not check {p} against {kt.origin}: "
                           f"{(res.stdout + res.stderr).strip()[-300:]}")
        if res.returncode == 0:
            carried.append(series.slug(p))
    if carried:
        raise MipError(f"the tree {kt.origin} already carries {len(carried)} of the "
                       f"series' {len(patches)} patches ({', '.join(carried)}): test it as "
                       "it is with --no-series (marked tests are then reported, not "
                       "judged), or pass --series DIR with only the patches it lacks")


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


class RunLog(logging.FileHandler):
    """A job's run.log.  Two bases' jobs may run in two threads of one
    process (mip6kit flakiness): a record of a thread that opened a job goes
    to that job's log only; records of other threads (a job's guest
    threads) go to every open log."""

    def __init__(self, path: Path):
        super().__init__(path)
        self.thread = threading.get_ident()
        self.setLevel(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        self.addFilter(self._mine)

    def _mine(self, record: logging.LogRecord) -> bool:
        if record.thread == self.thread:
            return True
        return not any(isinstance(h, RunLog) and h.thread == record.thread
                       for h in logging.getLogger().handlers)


@contextlib.contextmanager
def run_log(path: Path | None) -> Iterator[None]:
    """Log to path (a RunLog on the root logger) until the block ends; the
    handler is then removed and closed.  None: no log (a dry run)."""
    if path is None:
        yield
        return
    handler = RunLog(path)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield
    except MipError as e:  # the CLI reports it to the terminal once the job is gone
        handler.handle(log.makeRecord(log.name, logging.ERROR, __file__, 0,
                                      "%s (exit %d)", (e, e.code), None))
        raise
    finally:
        root.removeHandler(handler)
        handler.close()


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
    # The first patched copy hard-links the baseline copy's files.
    link_dest = job.src("baseline") if variant != "baseline" else None
    with _reading(job):
        synced = scratch.sync(job.tree.origin, src, resources.overlay(),
                              patches, job.runner, link_dest=link_dest,
                              appends=coverage.makefile_appends(patches))
    frag = profile.fragment(src, job.profile, write=not job.runner.dry_run)
    cfg = short_hash(frag.text) if frag.text is not None else "dryrun"
    builddir = scratch.build_dir(src, cfg)
    image = build.build(src, builddir, frag.path, outdir / "build.log", job.runner,
                        job.cache, job.jobs, synced, frag.base)
    if not job.runner.dry_run:
        shutil.copy(builddir / ".config", outdir / "config")
    return image


def _reading(job: Job):
    """The tree's own lock while we copy from it: a concurrent run that finds
    a newer Debian tarball waits before it replaces the extracted tree."""
    if job.tree.lock is None or job.runner.dry_run:
        return contextlib.nullcontext()
    return Lock(job.tree.lock, wait=True)
