# SPDX-License-Identifier: GPL-2.0-only
"""Real guests: the built 6.12 kernel under virtme-ng (TCG unless KVM works).

These reuse the cache of `mip6kit run` (builds are incremental) and take
about 15 s per boot here.
"""

import pytest

from mip6kit import project_root
from mip6kit.vm.errors import Exit

pytestmark = pytest.mark.vm

SELFTESTS = project_root() / "kernel-src-overlay/tools/testing/selftests/net/mip6"
SELFTEST = str(SELFTESTS / "hao_bu.sh")


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
def test_independent_ha_accepts_bu_only_when_patched(cli, tmp_path, variant, expected):
    """hao_bu.sh sets the HA up with plain ip xfrm and a raw socket, nothing
    from the verifier: the CoA-sourced BU with a cmsg HAO is accepted only
    with the series."""
    args = ["boot", "--run-dir", str(tmp_path)] + ([variant] if variant else [])
    res = cli(*args, "--", "sh", SELFTEST)
    assert res.returncode == expected, res.stdout + res.stderr


@pytest.mark.parametrize("variant,expected", [("--baseline", 1), (None, 0)])
def test_independent_ha_with_mh_type_policy(cli, tmp_path, variant, expected):
    """xfrm_mh_type.sh: a home agent's `proto 135 type 5` inbound policy
    lets a HAO-carrying BU in only with the xfrm fix (6.12 has the 6.7
    regression); a BRR is refused on both."""
    args = ["boot", "--run-dir", str(tmp_path)] + ([variant] if variant else [])
    res = cli(*args, "--", "sh", str(SELFTESTS / "xfrm_mh_type.sh"))
    assert res.returncode == expected, res.stdout + res.stderr
    assert "PASS: BRR (type 0) refused" in res.stdout


def test_sigterm_kills_the_guest(tmp_path):
    """timeout(1) and CI cancels send SIGTERM: mip6kit exits 143 and leaves
    no qemu behind (virtme-ng runs in its own session)."""
    import base64
    import os
    import signal
    import subprocess
    import sys
    import time

    marker = f"{os.getpid()}.25"  # a sleep argument only this guest has
    proc = subprocess.Popen([sys.executable, "-m", "mip6kit", "boot", "--run-dir",
                             str(tmp_path), "--", "sleep", marker], cwd=project_root(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)

    # qemu carries the command base64-encoded on its kernel command line
    encoded = base64.b64encode(f"sleep {marker}".encode()).decode()

    def qemu_alive() -> bool:
        ps = subprocess.run(["pgrep", "-f", f"qemu-system.*{encoded}"], capture_output=True)
        return ps.returncode == 0

    deadline = time.monotonic() + 300
    while not qemu_alive():
        assert proc.poll() is None and time.monotonic() < deadline, "the guest never started"
        time.sleep(0.5)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert "terminated" in err and "Traceback" not in err, err
    time.sleep(1)
    assert not qemu_alive(), "qemu outlived mip6kit after SIGTERM"
