# SPDX-License-Identifier: GPL-2.0-only
"""Boot a built kernel under virtme-ng, run one command, never hang."""

import contextlib
import json
import logging
import os
import shlex
import shutil
import signal
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from mip6kit.verifier import handoff, splat

from .errors import Exit, MipError
from .proc import PIPE, Runner, TimeoutExpired, kill

log = logging.getLogger(__name__)

VNG_DIED = 255  # virtme-ng's code when the guest ended without the command's status
KVM_PROBE_TIMEOUT = 8  # s; a TCG boot to the root-fs panic takes 1.1 s here
VNG_HINT = "run scripts/setup.sh to install virtme-ng and qemu"
# The guest's root is the host's, over 9p.  --force-9p: vng would first try
# virtiofsd, and Debian 12's (qemu's C daemon) rejects vng's options, which
# costs a fixed 3.1 s of retries per boot before the 9p fallback.  vng mounts
# 9p uncached, so every stat of a Python import is a round trip through TCG;
# cache=loose lets the guest keep what it read.  The root is read-only in the
# guest and nothing the guest reads changes on the host while it runs (the
# checkout, the venv, a staged selftests dir), and results leave through
# stdout and the --rwdir mounts, which this does not touch.  The kernel takes
# the last rootflags=, so this replaces vng's own, kept otherwise as is.
ROOTFLAGS = "rootflags=version=9p2000.L,trans=virtio,access=any,msize=524288,cache=loose"


@dataclass
class BootResult:
    rc: int
    console: Path
    stdout: Path
    seconds: float


def _vng() -> str:
    exe = Path(sys.executable).with_name("vng")
    if exe.exists():
        return str(exe)
    found = shutil.which("vng")
    if not found:
        raise MipError("vng (virtme-ng) not found; run scripts/setup.sh")
    return found


def _vng_env() -> dict:
    """vng runs virtme-run through PATH: put our environment's bin first."""
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}:{env.get('PATH', '/usr/bin:/bin')}"
    return env


def vng_argv(image: Path, command: list[str] | None, kvm: bool, rwdirs: list[Path],
             memory: str = "1G", qemu_opts: list[str] | None = None) -> list[str]:
    """vng's command line; command None: vng's interactive shell."""
    argv = [_vng(), "--run", str(image), *(["--verbose"] if command is not None else []),
            "--cpus", "1", "--memory", memory, "--cwd", "/", "--force-9p", "--append", ROOTFLAGS]
    if not kvm:
        argv.append("--disable-kvm")
    for d in rwdirs:
        argv.append(f"--rwdir={d}")
    for opt in qemu_opts or []:
        argv.append(f"--qemu-opts={opt}")
    if command is not None:
        argv += ["--exec", shlex.join(command)]
    return argv


def _require_image(image: Path, runner: Runner) -> None:
    if not image.is_file() and not runner.dry_run:
        raise MipError(f"no kernel image at {image}; build it first (mip6kit build)",
                       Exit.BOOT_FAILURE)


def shell(image: Path, runner: Runner, *, kvm: bool, rwdirs: list[Path] | None = None,
          qemu_opts: list[str] | None = None) -> int:
    """vng's interactive shell in the guest, on this terminal: `mip6kit boot`
    with no command.  No timeout (a person is at the keyboard); the exit
    code is vng's."""
    _require_image(image, runner)
    argv = vng_argv(image, None, kvm, list(rwdirs or []), qemu_opts=qemu_opts)
    # SIGTERM: virtme restores the terminal that qemu's console put in raw mode
    with runner.spawn(argv, stdin=None, env=_vng_env(), hint=VNG_HINT,
                      stop=signal.SIGTERM) as proc:
        return 0 if proc is None else proc.wait()


def pump(stream, sinks, prefix: bytes = b"", files_dir: Path | None = None) -> None:
    """Copy the guest's stdout to the log (as is) and the terminal (prefixed);
    with files_dir, handoff lines become files there instead."""
    log_sink, *echo = sinks
    for line in iter(stream.readline, b""):
        if files_dir is not None and line.startswith(handoff.PREFIX):
            try:
                name, data = handoff.decode(line)
                (files_dir / name).write_bytes(data)
            except (ValueError, OSError) as e:
                log.error("result file from the guest lost: %s", e)
            continue
        log_sink.write(line)
        log_sink.flush()
        for sink in list(echo):
            try:
                sink.write(prefix + line)
                sink.flush()
            except BrokenPipeError:  # `mip6kit run | head`: keep draining the guest
                echo.remove(sink)


def boot(image: Path, command: list[str], outdir: Path, runner: Runner, *, kvm: bool,
         timeout: float, echo: bool = True, rwdirs: list[Path] | None = None,
         tag: str = "", echo_prefix: str = "", files: bool = False,
         qemu_opts: list[str] | None = None) -> BootResult:
    """Run command in a guest; stdout is echoed live, the console goes to a file.

    files=True turns the guest's handoff lines (verifier/handoff.py) into
    files in outdir; rwdirs are host directories the guest may write to.

    Raises MipError(BOOT_FAILURE) on timeout or when the guest died, and
    MipError(KERNEL_CRASH) when the console shows a kernel splat.
    """
    _require_image(image, runner)
    argv = vng_argv(image, command, kvm, list(rwdirs or []), qemu_opts=qemu_opts)
    console = outdir / f"console{tag}.log"
    stdout_log = outdir / f"guest-stdout{tag}.log"
    if not runner.dry_run:
        outdir.mkdir(parents=True, exist_ok=True)
        log.info("booting %s under %s (timeout %ds)", image, "KVM" if kvm else "TCG", timeout)
    start = time.monotonic()
    with contextlib.ExitStack() as files_open:
        con = files_open.enter_context(open(console, "wb")) if not runner.dry_run else None
        with runner.spawn(argv, stdout=PIPE, stderr=con, env=_vng_env(),
                          hint=VNG_HINT) as proc:
            if proc is None:  # a dry run: the command was printed
                return BootResult(0, console, stdout_log, 0.0)
            out = files_open.enter_context(open(stdout_log, "wb"))
            sinks = [out] + ([sys.stdout.buffer] if echo else [])
            pumping = threading.Thread(target=pump, daemon=True,
                                       args=(proc.stdout, sinks, echo_prefix.encode(),
                                             outdir if files else None))
            pumping.start()
            try:
                rc = proc.wait(timeout=timeout)
            except TimeoutExpired:
                kill(proc)
                pumping.join(5)
                _raise_if_crashed(console, outdir)
                raise MipError(f"guest timed out after {timeout:.0f} s and was killed; "
                               f"console kept in {console}", Exit.BOOT_FAILURE) from None
            pumping.join(10)
    seconds = time.monotonic() - start
    log.info("guest exited %d after %.1f s", rc, seconds)
    _raise_if_crashed(console, outdir)
    if rc == VNG_DIED:
        raise MipError(f"guest died before the command returned (virtme-ng exit 255); "
                       f"console kept in {console}. If the console is empty, check that "
                       "the host has the udev package (scripts/setup.sh)", Exit.BOOT_FAILURE)
    return BootResult(rc, console, stdout_log, seconds)


def crash_excerpt(text: str, context: int = 40,
                  kinds: frozenset[str] = splat.CRASH) -> tuple[str, str] | None:
    """(the first splat line, the lines around it), or None if the console is
    clean.  Leaks (kmemleak, ref_tracker) are no crash: vm/leaks.py reports
    them (exit 1)."""
    hit = splat.find(text, kinds, context)
    return None if hit is None else (hit.line, hit.excerpt)


def _raise_if_crashed(console: Path, outdir: Path) -> None:
    found = crash_excerpt(console.read_text(errors="replace"))
    if found is None:
        return
    first, excerpt = found
    trace = outdir / "crash.txt"
    trace.write_text(excerpt + "\n")
    raise MipError(f"kernel crash on the guest console: {first}\n"
                   f"trace kept in {trace}, full console in {console}", Exit.KERNEL_CRASH)


def _host_signature() -> str:
    qemu = shutil.which("qemu-system-x86_64") or "none"
    return f"{os.uname().release} {qemu} {int(Path(qemu).stat().st_mtime) if qemu != 'none' else 0}"


def _kvm_reaches_the_kernel(image: Path, probe_dir: Path, runner: Runner,
                            accel: str = "kvm") -> bool | None:
    """Boot image under KVM with no root file system, as bare qemu: a kernel
    that starts panics at once ("VFS: Unable to mount root fs") and
    -no-reboot ends qemu.  True when the console shows the kernel's panic
    within KVM_PROBE_TIMEOUT, False when qemu hangs, None when qemu fails."""
    probe_dir.mkdir(parents=True, exist_ok=True)
    log_file = probe_dir / "kvm-probe.log"
    cpu = "host" if accel == "kvm" else "max"
    argv = ["qemu-system-x86_64", "-accel", accel, "-cpu", cpu, "-m", "256M", "-nodefaults",
            "-display", "none", "-no-reboot", "-serial", "stdio", "-kernel", str(image),
            "-append", "console=ttyS0 panic=-1"]
    try:
        res = runner.run(argv, capture=True, check=False, timeout=KVM_PROBE_TIMEOUT,
                         code=Exit.BOOT_FAILURE, hint=VNG_HINT)
    except MipError as e:
        if e.code != Exit.BOOT_FAILURE:
            raise
        log_file.write_text(f"{e}\n")
        log.info("KVM probe: no kernel within %d s (it hangs here): using TCG",
                 KVM_PROBE_TIMEOUT)
        return False
    log_file.write_text(res.stdout + res.stderr)
    if "Kernel panic" in res.stdout:
        return True
    log.info("KVM probe: qemu exited %d without starting the kernel (see %s): using TCG, "
             "not caching a verdict", res.returncode, log_file)
    return None


def kvm_usable(image: Path, cache: Path, probe_dir: Path, runner: Runner) -> bool:
    """Whether a KVM guest boots here; probed once per host and cached.

    /dev/kvm can exist while a KVM guest hangs at "Decompressing Linux...",
    so the probe boots the real kernel under bare qemu: it reaches its
    panic at the missing root in about 1 s even under TCG (measured here),
    so KVM_PROBE_TIMEOUT is generous, and a hang costs that, not a whole
    vng boot's timeout.
    """
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        log.info("no usable /dev/kvm: using TCG")
        return False
    record = cache / "kvm-probe.json"
    sig = _host_signature()
    try:
        saved = json.loads(record.read_text())
        if saved.get("host") == sig:
            log.info("KVM %s on this host (cached probe, %s; delete it to probe again)",
                     "works" if saved["usable"] else "hangs", record)
            return bool(saved["usable"])
    except (OSError, ValueError, KeyError):
        pass
    log.info("probing KVM: does the kernel start within %d s? (once per host)",
             KVM_PROBE_TIMEOUT)
    usable = _kvm_reaches_the_kernel(image, probe_dir, runner)
    if usable is None:
        return False  # qemu itself failed: nothing to cache
    record.parent.mkdir(parents=True, exist_ok=True)
    record.write_text(json.dumps({"host": sig, "usable": usable}) + "\n")
    return usable
