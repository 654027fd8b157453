# SPDX-License-Identifier: GPL-2.0-only
"""Running the verifier in guests: what the guest needs staged (the series'
selftest, the compiled helpers), its command line (verifier/contract.py's
GuestArgs), the guests themselves, and their results back."""

import logging
import os
import re
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from mip6kit.verifier import cbuild, contract
from mip6kit.verifier.contract import GuestArgs

from . import boot, guestpy, matrix, proc, resources, stage
from .errors import Exit, MipError
from .job import Job

log = logging.getLogger(__name__)

SELFTEST = "mip6_hao"  # the series' in-tree selftest: SELFTEST.sh and its helper


def verifier_command(pytest_args: list[str], test_timeout: float | None,
                     modules: list[str] | None = None,
                     selftest: Path | None = None, helpers: Path | None = None,
                     python: Path | None = None) -> list[str]:
    """The guest's command; modules limits its collection to those test
    modules (the host's selection), none means the whole suite.  selftest
    is the staged series selftest; without it, its module is not run.
    helpers is stage_helpers()'s directory; python is guestpy.bundle()'s
    tar, which the guest unpacks into a tmpfs first (None: all from 9p)."""
    env = [f"{contract.ENV_HELPERS}={helpers}"] if helpers is not None else []
    skip = []
    if selftest is not None:
        env.append(f"{contract.ENV_SELFTEST_DIR}={selftest}")
    else:
        skip.append(contract.SELFTEST_MODULE)
    args = GuestArgs(test_timeout, list(modules or []), list(pytest_args), skip)
    argv = [*(["env", *env] if env else []), sys.executable, "-m", "mip6kit.verifier.guest",
            *args.to_argv()]
    return guestpy.bootstrap(python, argv) if python is not None else argv


def python_bundle(job: Job) -> Path | None:
    """The verifier's Python as one tar for the guest (vm/guestpy.py);
    None in a dry run."""
    return None if job.runner.dry_run else guestpy.bundle(job.cache)


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
    stage.compile_helper(src / stage.NET, SELFTEST, net, job.runner)
    return dest


def stage_helpers(job: Job) -> Path | None:
    """The verifier's C helpers (verifier/cbuild.py: a 32-bit XFRM netlink
    client, the daemon example), built on the host into the run directory:
    gcc in a TCG guest takes seconds.  A helper the host cannot build is
    left out (the guest then builds it itself, or skips its tests)."""
    if job.runner.dry_run:
        return None
    dest = job.rundir / "helpers"
    dest.mkdir(parents=True, exist_ok=True)
    for name, (needs, _) in cbuild.HELPERS.items():
        try:
            job.runner.run(cbuild.build_argv(name, dest / name), capture=True)
        except MipError as e:
            log.warning("cannot build the helper %s (install %s, or run scripts/setup.sh): "
                        "%s", name, needs, e)
    return dest


def collect(pytest_args: list[str], runner: proc.Runner) -> list[str]:
    """The node ids (test_x.py::test_y[param]) of the verifier tests the
    selection holds, collected on the host; MipError when there are none
    or the verifier does not collect."""
    verifier = resources.verifier()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    res = runner.run([sys.executable, "-m", "pytest", "--collect-only", "-q",
                      "-p", "no:cacheprovider", "-c", "/dev/null", f"--rootdir={verifier}",
                      str(verifier), *pytest_args], capture=True, check=False, env=env,
                     query=True)
    if res.returncode == 5:
        raise MipError(f"no verifier test matches {' '.join(pytest_args)}")
    if res.returncode != 0:
        lines = (res.stdout + res.stderr).strip().splitlines()
        what = f"bad test selection {' '.join(pytest_args)}" if pytest_args else \
            "the verifier does not collect"
        raise MipError(f"{what}: {lines[-1] if lines else 'pytest failed'}")
    return re.findall(r"^(test_\w+\.py::\S+)$", res.stdout, re.M)


def check_selection(pytest_args: list[str], runner: proc.Runner) -> list[str]:
    """Collect on the host first, so a bad -k or a broken suite fails before
    any build, and return the test modules that hold the selection (none
    when there is no selection: the guest then collects everything).

    This also leaves the bytecode and pytest's rewritten test modules in
    verifier/__pycache__ for the guest, which sees the checkout read-only
    and would otherwise compile them on every boot (slow under TCG), so
    bytecode writing is forced on for this one command."""
    tests = collect(pytest_args, runner)
    if not pytest_args:
        return []
    return sorted({t.split("::", 1)[0] for t in tests})


def decide_kvm(job: Job, image: Path, kvm: bool | None) -> bool:
    if kvm is not None or job.runner.dry_run:
        return bool(kvm)
    return boot.kvm_usable(image, job.cache, job.rundir, job.runner)


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
        return boot.boot(images[variant], command, outdir, job.runner,
                         files=True, kvm=kvm, timeout=timeout,
                         echo_prefix=f"[{variant}] " if together else "")

    if not together:
        return {v: one(v) for v in images}
    with ThreadPoolExecutor(len(images)) as pool:
        futures = {v: pool.submit(one, v) for v in images}
        try:
            done = {v: f.exception() or f.result() for v, f in futures.items()}
        except BaseException:  # Ctrl-C or SIGTERM in the main thread
            proc.kill_all()
            raise
    errors = [e for e in done.values() if isinstance(e, BaseException)]
    if errors:
        # The most severe first: a crash (6) before a boot failure (5).
        raise max(errors, key=lambda e: getattr(e, "code", 0))
    return done


def verifier_results(job: Job, variant: str, res: boot.BootResult) -> matrix.Results:
    """results.json of a verifier guest that ran its tests (exit 0 or 1)."""
    if res.rc not in (0, 1):
        raise MipError(f"the verifier exited {res.rc} in the {variant} guest (pytest "
                       f"internal or collection error); see {res.stdout}", Exit.TEST_FAILURE)
    return matrix.load(job.rundir / variant / contract.RESULTS)
