# SPDX-License-Identifier: GPL-2.0-only
"""Real guests: the built 6.12 kernel under virtme-ng (TCG unless KVM works).

These reuse the cache of `mip6kit run` (builds are incremental) and take
about 15 s per boot here.
"""

import base64
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mip6kit import resources
from mip6kit.errors import Exit
from mip6kit.guestrun import verifier_command
from mip6kit.tree import DEBIAN_BASES

ROOT = Path(__file__).resolve().parents[2]  # the checkout

pytestmark = pytest.mark.vm

SELFTESTS = resources.overlay() / "tools/testing/selftests/net/mip6"


def test_boot_passes_exit_code_through(cli, tmp_path):
    res = cli("boot", "--run-dir", str(tmp_path), "--", "python3", "-c",
              "import os; os._exit(7)")
    assert res.returncode == 7, res.stderr


def test_panic_is_reported_as_crash(cli, tmp_path):
    res = cli("boot", "--run-dir", str(tmp_path), "--timeout", "240", "--",
              "sh", "-c", "echo c > /proc/sysrq-trigger")
    assert res.returncode == Exit.KERNEL_CRASH, res.stderr
    assert "kernel crash" in res.stderr and "Traceback" not in res.stderr
    trace = (tmp_path / "boot/crash.txt").read_text()
    assert "sysrq" in trace.lower() or "Kernel panic" in trace


def test_timeout_kills_the_guest(cli, tmp_path):
    res = cli("boot", "--run-dir", str(tmp_path), "--timeout", "20", "--", "sleep", "600")
    assert res.returncode == Exit.BOOT_FAILURE, res.stderr
    assert "timed out after 20 s" in res.stderr


@pytest.mark.parametrize("variant,expected", [("--baseline", 1), (None, 0)])
def test_independent_ha_with_mh_type_policy(cli, tmp_path, variant, expected):
    """xfrm_mh_type.sh: a home agent's `proto 135 type 5` inbound policy
    lets a HAO-carrying BU in only with the xfrm fix (6.12 has the 6.7
    regression); a BRR is refused on both."""
    args = ["boot", "--run-dir", str(tmp_path)] + ([variant] if variant else [])
    res = cli(*args, "--", "sh", str(SELFTESTS / "xfrm_mh_type.sh"))
    assert res.returncode == expected, res.stdout + res.stderr
    assert "PASS: BRR (type 0) refused" in res.stdout


@pytest.mark.parametrize("variant,expected", [("--baseline", 1), (None, 0)])
def test_independent_ha_migrates_type_selective_policy(cli, tmp_path, variant, expected):
    """xfrm_migrate.sh: MIGRATE of a home agent's `proto 135 type 5` (and
    ICMPv6 type) ESP policy fails with ENOENT on unpatched 6.12 and works
    with the fix; the UDP port policy migrates on both."""
    args = ["boot", "--run-dir", str(tmp_path)] + ([variant] if variant else [])
    res = cli(*args, "--", "sh", str(SELFTESTS / "xfrm_migrate.sh"))
    assert res.returncode == expected, res.stdout + res.stderr
    assert "PASS: MIGRATE of the UDP port 7003 (control) policy" in res.stdout
    if variant:
        assert "FAIL: MIGRATE of the MH type 5 (BU) policy: ENOENT" in res.stdout


def _qemu_of(descendants, pid: int, command: str) -> list[int]:
    """The qemu below pid that runs command: virtme-ng passes the guest
    command base64-encoded on the kernel command line."""
    return [p for p, cmd in descendants(pid).items()
            if cmd.startswith("/usr/bin/qemu-system") and command in _guest_command(cmd)]


def _guest_command(qemu_cmdline: str) -> str:
    """The decoded virtme.exec=`BASE64` of a qemu command line ("" if none).
    Decoded, not matched encoded: the base64 of a part of the command (the
    run's env prefix varies in length) is not a part of the whole's base64."""
    found = re.search(r"virtme\.exec=`([A-Za-z0-9+/=]+)`", qemu_cmdline)
    return base64.b64decode(found.group(1)).decode(errors="replace") if found else ""


@pytest.mark.parametrize("signum", ["SIGTERM", "SIGHUP"])
def test_signal_kills_the_guest(tmp_path, signum, descendants):
    """timeout(1) and CI cancels send SIGTERM, a closed terminal SIGHUP:
    mip6kit exits 128 + the signal and leaves no qemu behind (virtme-ng runs
    in its own session)."""
    marker = f"{os.getpid()}.{int(signal.Signals[signum])}5"  # only this guest sleeps so
    proc = subprocess.Popen([sys.executable, "-m", "mip6kit", "boot", "--run-dir",
                             str(tmp_path), "--", "sleep", marker], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)

    deadline = time.monotonic() + 300
    while not (qemu := _qemu_of(descendants, proc.pid, f"sleep {marker}")):
        assert proc.poll() is None and time.monotonic() < deadline, "the guest never started"
        time.sleep(0.5)
    sig = signal.Signals[signum]
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + sig, err
    assert f"terminated ({signum})" in err and "Traceback" not in err, err
    _assert_gone(qemu, f"qemu outlived mip6kit after {signum}")


def _assert_gone(pids: list[int], why: str) -> None:
    """The processes end within 10 s (qemu exits a moment after its killer)."""
    deadline = time.monotonic() + 10
    while alive := [p for p in pids if Path(f"/proc/{p}").exists()]:
        assert time.monotonic() < deadline, f"{why}: {alive}"
        time.sleep(0.2)


@pytest.mark.parametrize("base", list(DEBIAN_BASES))
def test_built_kernel_passes_config_check(cli, tmp_path, base):
    """The lean kernel mip6kit builds is one `config check` calls fit for MIP6
    (the fragment and the list of needs agree)."""
    res = cli("-q", "build", "--base", base, "--run-dir", str(tmp_path))
    assert res.returncode == 0, res.stderr
    [config] = tmp_path.glob("*/config")
    res = cli("config", "check", str(config))
    assert res.returncode == 0, res.stdout + res.stderr


def test_guest_death_leaves_a_partial_matrix(tmp_path, descendants):
    """qemu killed mid-run (a guest that dies): exit 5, and matrix.txt holds
    the tests that finished and marks the rest unfinished."""
    timeout = f"{100 + os.getpid() % 1000 / 1000:g}"  # marks this run's qemu
    proc = subprocess.Popen([sys.executable, "-m", "mip6kit", "run", "--baseline-only",
                             "--run-dir", str(tmp_path), "--test-timeout", timeout,
                             "-k", "test_hao_checksum"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    command = shlex.join(verifier_command(["-k", "test_hao_checksum"], float(timeout),
                                          ["test_hao_checksum.py"]))
    ktap = tmp_path / "baseline/guest-stdout.log"
    deadline = time.monotonic() + 900
    second = re.compile(r"^(not )?ok 2 ", re.M)  # two tests done, more to come
    try:
        while not (ktap.is_file() and second.search(ktap.read_text())):
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
            time.sleep(0.2)
        qemu = _qemu_of(descendants, proc.pid, command)
        assert len(qemu) == 1, f"no single qemu of this run below {proc.pid}: {qemu}"
        os.kill(qemu[0], signal.SIGKILL)
        out, err = proc.communicate(timeout=120)
    finally:  # a failed check must not leave the run holding the work-dir lock
        if proc.poll() is None:
            proc.terminate()
            proc.communicate(timeout=120)
    assert proc.returncode == Exit.BOOT_FAILURE, err
    table = (tmp_path / "matrix.txt").read_text()
    assert out.endswith(table), "the partial matrix is printed after the KTAP"
    rows = [ln for ln in table.splitlines() if ln.startswith("test_hao_checksum.py::")]
    finished = [r for r in rows if " unfinished " not in r]
    assert len(finished) >= 2 and all(" ok" in r for r in finished), table
    assert len(finished) < len(rows), table
    assert "did not finish" in err and "unfinished" in table.splitlines()[-1]


def test_boot_without_command_is_an_interactive_shell(tmp_path):
    """As vng: `mip6kit boot` alone gives a root shell on the terminal."""
    import pty
    import select

    main, child = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "mip6kit", "-q", "boot", "--no-kvm",
                             "--run-dir", str(tmp_path)], cwd=ROOT, stdin=child,
                            stdout=child, stderr=child, close_fds=True)
    os.close(child)
    seen, sent = b"", False
    deadline = time.monotonic() + 300
    try:
        while b"MARK42" not in seen:
            assert time.monotonic() < deadline and proc.poll() is None, seen[-2000:]
            if select.select([main], [], [], 1)[0]:
                try:
                    seen += os.read(main, 65536)
                except OSError:  # EIO: every holder of the terminal is gone
                    proc.wait(timeout=60)
                    raise AssertionError(f"boot exited {proc.returncode}: {seen[-2000:]}") from None
            if not sent and b"root@virtme-ng" in seen:
                os.write(main, b"echo MARK$((6*7)); exit\r")
                sent = True
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(main)


def test_kvm_probe_recognises_a_kernel_that_starts(tmp_path):
    """The probe's success signal on a real kernel: under TCG (which always
    works) the lean kernel reaches its root-fs panic well within the probe's
    timeout, so a KVM that cannot do as much in that time is declared hung."""
    from mip6kit import boot
    from mip6kit.cache import cache_root
    from mip6kit.proc import Runner

    images = sorted(cache_root().glob("work/*/src-baseline/.mip6kit-build-*/arch/x86/boot/"
                                      "bzImage"), key=lambda p: p.stat().st_mtime)
    if not images:
        pytest.fail("no kernel built yet: run `mip6kit run` first")
    start = time.monotonic()
    assert boot._kvm_reaches_the_kernel(images[-1], tmp_path, Runner(), accel="tcg") is True
    assert time.monotonic() - start < boot.KVM_PROBE_TIMEOUT / 2
    assert "Kernel panic" in (tmp_path / "kvm-probe.log").read_text()
