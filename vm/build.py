# SPDX-License-Identifier: GPL-2.0-only
"""Configure and build a kernel out of tree, with progress and a full log."""

import logging
import os
import shlex
import shutil
import time
from pathlib import Path

from . import kconfig, profile
from .cache import short_hash
from .errors import Exit, MipError
from .proc import Runner
from .scratch import SyncResult

log = logging.getLogger(__name__)

PROGRESS_EVERY = 30.0  # seconds between progress lines
BUILT_STAMP = ".mip6kit-built"  # in a build dir: the last make finished
CONFIG_STAMP = ".mip6kit-config"  # fragment and .config hashes of the last check
BUILD_HINT = "run scripts/setup.sh to install the kernel build dependencies"  # make missing


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


def _stream_make(argv: list[str], cwd: Path, env: dict, logfile: Path, phase: str,
                 runner: Runner) -> int:
    """Run make, all output to logfile, a progress line every PROGRESS_EVERY s."""
    start = last = time.monotonic()
    steps = 0
    current = ""
    with open(logfile, "a") as out:
        out.write(f"$ {shlex.join(argv)}\n")
        out.flush()

        def on_line(line: str) -> None:
            nonlocal last, steps, current
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

        rc = runner.stream(argv, on_line, cwd=cwd, env=env, hint=BUILD_HINT)
    log.info("[%s] done in %s (%d steps, exit %d)", phase, _fmt(time.monotonic() - start),
             steps, rc)
    return rc


def _fmt(seconds: float) -> str:
    m, s = divmod(int(seconds), 60)
    return f"{m}m{s:02d}s"


def _config_key(fragment: Path, dotconfig: Path) -> str | None:
    try:
        return short_hash(fragment.read_bytes()) + "-" + short_hash(dotconfig.read_bytes())
    except OSError:
        return None


def _stamped(builddir: Path, fragment: Path) -> bool:
    stamp = builddir / CONFIG_STAMP
    key = _config_key(fragment, builddir / ".config")
    return key is not None and stamp.is_file() and stamp.read_text().strip() == key


def _targets(fragment: Path, base: Path | None) -> list[list[str]]:
    if base is None:
        return [[f"KCONFIG_ALLCONFIG={fragment}", "allnoconfig"], ["olddefconfig"]]
    return [["olddefconfig"]]  # on the base with the fragment appended: its lines win


def configure(src: Path, builddir: Path, fragment: Path, logfile: Path, runner: Runner,
              env: dict, make_vars: list[str], kconfig_changed: bool = False,
              base: Path | None = None) -> None:
    """allnoconfig + fragment (or the base config with the fragment
    appended), then olddefconfig, then check every line.

    Skipped when the fragment and the .config are those of the last checked
    configuration and no Kconfig file changed (a stamp in the build dir).
    """
    argv = ["make", "-C", str(src), f"O={builddir}", *make_vars]
    if runner.dry_run:
        if base is not None:
            print(f"# .config = {base} (unpacked) + {fragment}")
        for target in _targets(fragment, base):
            runner.run(argv + target)
        return
    frag = kconfig.read_fragment(fragment)  # bad syntax is a usage error, before make
    if not kconfig_changed and _stamped(builddir, fragment):
        log.info("config: unchanged since it was last checked")
        return
    (builddir / CONFIG_STAMP).unlink(missing_ok=True)
    if base is not None:
        log.info("config: %s with the fragment %s on top", base, fragment.name)
        (builddir / ".config").write_text(profile.read_base(base) + "\n"
                                          + fragment.read_text())
    for target in _targets(fragment, base):
        if _stream_make(argv + target, src, env, logfile, "config", runner) != 0:
            raise MipError(f"configuring failed; see {logfile}", Exit.BUILD_FAILURE)
    check_config(src, builddir, fragment, frag)
    log.info("config: all %d requested symbols are set", len(frag))


def check_config(src: Path, builddir: Path, fragment: Path,
                 frag: dict[str, kconfig.Setting]) -> None:
    """The verdict from the .config kbuild wrote; kconfiglib only explains."""
    dotconfig = builddir / ".config"
    if kconfig.unmet(kconfig.read_config(dotconfig), frag):
        dropped = kconfig.check_fragment(src, dotconfig, fragment)
        lines = "\n  ".join(str(d) for d in dropped)
        raise MipError(f"the config fragment {fragment} did not survive olddefconfig:\n  "
                       f"{lines}\nadd the missing dependencies to the fragment",
                       Exit.BUILD_FAILURE)
    key = _config_key(fragment, dotconfig)
    if key is not None:
        (builddir / CONFIG_STAMP).write_text(key + "\n")


def _toolchain(make_vars: list[str], runner: Runner) -> str:
    """What else a build depends on besides the tree and its config."""
    out = " ".join(make_vars)
    for tool in (["gcc", "--version"], ["ld", "--version"]):
        try:
            res = runner.run(tool, capture=True, check=False, query=True)
            out += "\n" + (res.stdout.splitlines() or [""])[0]
        except (OSError, MipError):  # recorded as missing; make itself reports it
            out += f"\n{tool[0]} missing"
    return short_hash(out)


def _has_modules(fragment: Path, runner: Runner) -> bool:
    """Whether the config fragment turns module support on."""
    if runner.dry_run and not fragment.is_file():
        return False
    setting = kconfig.read_fragment(fragment).get("MODULES")
    return setting is not None and setting.value == "y"


def build(src: Path, builddir: Path, fragment: Path, logfile: Path, runner: Runner,
          cache: Path, jobs: int, synced: SyncResult, base: Path | None = None) -> Path:
    """Configure and build bzImage in builddir; returns the image path.

    make is skipped when the build dir's stamp says it finished for this
    sync generation of the scratch tree, this config and this toolchain:
    nothing it reads can have changed."""
    env, make_vars = make_env(cache, src.parent)
    kconfig_changed = synced.kconfig_changed
    if not runner.dry_run:
        builddir.mkdir(parents=True, exist_ok=True)
        logfile.parent.mkdir(parents=True, exist_ok=True)
    configure(src, builddir, fragment, logfile, runner, env, make_vars, kconfig_changed, base)
    # a config with modules builds them too: modpost then checks their symbols
    modules = ["modules"] if _has_modules(fragment, runner) else []
    argv = ["make", "-C", str(src), f"O={builddir}", f"-j{jobs}", *make_vars, "bzImage",
            *modules]
    image = builddir / "arch/x86/boot/bzImage"
    if runner.dry_run:
        runner.run(argv)
        return image
    built = builddir / BUILT_STAMP
    key = f"generation {synced.generation} toolchain {_toolchain(make_vars, runner)}\n"
    if image.is_file() and built.is_file() and built.read_text() == key:
        log.info("build: nothing changed since %s was built", builddir.name)
        os.utime(built)  # its mtime says when the build dir was last used (mip6kit gc)
        return image
    log.info("building %s (full log: %s)", builddir, logfile)
    built.unlink(missing_ok=True)
    if _stream_make(argv, src, env, logfile, "build", runner) != 0:
        tail = "".join(logfile.read_text(errors="replace").splitlines(True)[-15:])
        raise MipError(f"kernel build failed; last lines of {logfile}:\n{tail}",
                       Exit.BUILD_FAILURE)
    if not _stamped(builddir, fragment):  # kbuild's syncconfig rewrote .config
        check_config(src, builddir, fragment, kconfig.read_fragment(fragment))
    built.write_text(key)
    return image
