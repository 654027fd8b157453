# SPDX-License-Identifier: GPL-2.0-only
"""Configure and build a kernel out of tree, with progress and a full log."""

import logging
import os
import shlex
import shutil
import subprocess
import time
from pathlib import Path

from . import kconfig
from .errors import Exit, MipError
from .proc import Runner

log = logging.getLogger(__name__)

PROGRESS_EVERY = 30.0  # seconds between progress lines


def make_env(cache: Path, workdir: Path) -> tuple[dict, list[str]]:
    """Environment and make variables: ccache when it is installed."""
    env = dict(os.environ)
    extra: list[str] = []
    if shutil.which("ccache"):
        env["CCACHE_DIR"] = str(cache / "ccache")
        # Paths under the work dir are hashed relative to it, so builds of
        # the same tree in sibling build dirs share cache entries.
        env["CCACHE_BASEDIR"] = str(workdir)
        env.setdefault("CCACHE_MAXSIZE", "5G")
        extra = ["CC=ccache gcc", "HOSTCC=ccache gcc"]
    else:
        log.info("ccache not installed: builds will not be cached")
    return env, extra


def _stream_make(argv: list[str], cwd: Path, env: dict, logfile: Path, phase: str) -> int:
    """Run make, all output to logfile, a progress line every PROGRESS_EVERY s."""
    start = last = time.monotonic()
    steps = 0
    current = ""
    with open(logfile, "a") as out:
        out.write(f"$ {shlex.join(argv)}\n")
        out.flush()
        try:
            proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    text=True, errors="replace")
        except FileNotFoundError as e:
            raise MipError(f"{argv[0]}: command not found; run scripts/setup.sh to install "
                           "the kernel build dependencies") from e
        assert proc.stdout is not None
        for line in proc.stdout:
            out.write(line)
            words = line.split()
            if len(words) >= 2 and words[0].isupper() and len(words[0]) <= 8:
                steps += 1
                current = " ".join(words[:2])
            now = time.monotonic()
            if now - last >= PROGRESS_EVERY:
                last = now
                log.info("[%s] %s elapsed, %d steps, now: %s", phase,
                         _fmt(now - start), steps, current)
        rc = proc.wait()
    log.info("[%s] done in %s (%d steps, exit %d)", phase, _fmt(time.monotonic() - start),
             steps, rc)
    return rc


def _fmt(seconds: float) -> str:
    m, s = divmod(int(seconds), 60)
    return f"{m}m{s:02d}s"


def _seed(builddir: Path, baseline: Path) -> None:
    """Start a series build dir as a copy of the finished baseline build of the
    same config, so only what the series changes is rebuilt.  Only the
    baseline is used as a seed: its objects always match the unpatched tree."""
    if builddir == baseline or not (baseline / ".mip6kit-built").is_file():
        return
    log.info("seeding %s from %s (incremental build)", builddir.name, baseline.name)
    tmp = builddir.with_name(builddir.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    res = subprocess.run(["cp", "-a", str(baseline), str(tmp)], capture_output=True, text=True)
    if res.returncode != 0:
        shutil.rmtree(tmp, ignore_errors=True)
        raise MipError(f"copying {baseline} to seed {builddir.name} failed: "
                       f"{res.stderr.strip()}", Exit.BUILD_FAILURE)
    (tmp / ".mip6kit-built").unlink()
    tmp.rename(builddir)


def configure(src: Path, builddir: Path, fragment: Path, logfile: Path, runner: Runner,
              env: dict, make_vars: list[str]) -> None:
    """allnoconfig + fragment, then olddefconfig, then check every line."""
    argv = ["make", "-C", str(src), f"O={builddir}", *make_vars]
    if runner.dry_run:
        runner.run(argv + [f"KCONFIG_ALLCONFIG={fragment}", "allnoconfig"])
        runner.run(argv + ["olddefconfig"])
        return
    kconfig.read_fragment(fragment)  # bad syntax is a usage error, before make
    for target in ([f"KCONFIG_ALLCONFIG={fragment}", "allnoconfig"], ["olddefconfig"]):
        if _stream_make(argv + target, src, env, logfile, "config") != 0:
            raise MipError(f"configuring failed; see {logfile}", Exit.BUILD_FAILURE)
    dropped = kconfig.check_fragment(src, builddir / ".config", fragment)
    if dropped:
        lines = "\n  ".join(str(d) for d in dropped)
        raise MipError(f"the config fragment {fragment} did not survive olddefconfig:\n  "
                       f"{lines}\nadd the missing dependencies to the fragment",
                       Exit.BUILD_FAILURE)
    log.info("config: all %d requested symbols are set", len(kconfig.read_fragment(fragment)))


def build(src: Path, builddir: Path, fragment: Path, logfile: Path, runner: Runner,
          cache: Path, jobs: int, seed_from: Path) -> Path:
    """Configure and build bzImage in builddir; returns the image path."""
    env, make_vars = make_env(cache, builddir.parent)
    if not builddir.exists() and not runner.dry_run:
        _seed(builddir, seed_from)
    if not runner.dry_run:
        builddir.mkdir(parents=True, exist_ok=True)
        logfile.parent.mkdir(parents=True, exist_ok=True)
    configure(src, builddir, fragment, logfile, runner, env, make_vars)
    argv = ["make", "-C", str(src), f"O={builddir}", f"-j{jobs}", *make_vars, "bzImage"]
    image = builddir / "arch/x86/boot/bzImage"
    if runner.dry_run:
        runner.run(argv)
        return image
    log.info("building %s (full log: %s)", builddir, logfile)
    (builddir / ".mip6kit-built").unlink(missing_ok=True)
    if _stream_make(argv, src, env, logfile, "build") != 0:
        tail = "".join(logfile.read_text(errors="replace").splitlines(True)[-15:])
        raise MipError(f"kernel build failed; last lines of {logfile}:\n{tail}",
                       Exit.BUILD_FAILURE)
    (builddir / ".mip6kit-built").write_text(time.strftime("%F %T\n"))
    return image
