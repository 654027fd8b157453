# SPDX-License-Identifier: GPL-2.0-only
import io

import pytest

from mip6kit import boot
from mip6kit.verifier import handoff

CONSOLE = """\
[    1.0] virtme-ng-init: starting script
[    2.0] sysrq: Trigger a crash
[    2.1] Kernel panic - not syncing: sysrq triggered crash
[    2.2] CPU: 0 PID: 60 Comm: sh
[    2.3] Call Trace:
"""


def test_crash_is_found():
    first, excerpt = boot.crash_excerpt(CONSOLE)
    assert first.endswith("Kernel panic - not syncing: sysrq triggered crash")
    assert "Call Trace:" in excerpt


def test_clean_console():
    text = ("[ 1.0] virtme-ng-init: starting script\nWARNING: Failed to pin vCPUs\n"
            "reboot: Power down\n")
    assert boot.crash_excerpt(text) is None


def test_warn_splat_is_found():
    first, _ = boot.crash_excerpt("WARNING: CPU: 0 PID: 1 at net/ipv6/raw.c:580 f+0x1\n")
    assert first.startswith("WARNING: CPU: 0")


def test_vng_argv_tcg_and_timeout_dirs(tmp_path):
    argv = boot.vng_argv(tmp_path / "bzImage", ["sh", "-c", "exit 7"], False, [tmp_path])
    assert "--disable-kvm" in argv and f"--rwdir={tmp_path}" in argv
    assert argv[-2:] == ["--exec", "sh -c 'exit 7'"]
    # no 3 s of virtiofsd retries, and a root mount that caches what it read
    assert "--force-9p" in argv and argv[argv.index("--append") + 1] == boot.ROOTFLAGS
    assert ",cache=loose" in boot.ROOTFLAGS


def test_handoff_lines_become_files(tmp_path):
    """The guest's result files travel on stdout; KTAP stays clean."""
    stream = io.BytesIO(b"KTAP version 1\n" + handoff.encode("results.json", b'{"t": 1}\n')
                        + handoff.PREFIX + b"junit.xml !!notbase64\n" + b"ok 1 t\n")
    log, term = io.BytesIO(), io.BytesIO()
    boot.pump(stream, [log, term], b"[patched] ", tmp_path)
    assert (tmp_path / "results.json").read_bytes() == b'{"t": 1}\n'
    assert not (tmp_path / "junit.xml").exists(), "a damaged line must not become a file"
    assert log.getvalue() == b"KTAP version 1\nok 1 t\n"
    assert term.getvalue() == b"[patched] KTAP version 1\n[patched] ok 1 t\n"


def test_handoff_refuses_path_names():
    with pytest.raises(ValueError):
        handoff.encode("../etc/passwd", b"")
    with pytest.raises(ValueError):
        handoff.decode(handoff.PREFIX + b"../x " + handoff.encode("x", b"")[len(handoff.PREFIX) + 2:])


class _ClosedPipe(io.BytesIO):
    def write(self, data):
        raise BrokenPipeError(32, "Broken pipe")


def test_closed_stdout_does_not_stop_the_pump():
    """`mip6kit run | head`: once the reader is gone, the guest's output still
    drains into the log, so virtme-ng never blocks on a full pipe."""
    lines = b"".join(b"ok %d\n" % i for i in range(1000))
    log_sink = io.BytesIO()
    boot.pump(io.BytesIO(lines), [log_sink, _ClosedPipe()], b"[patched] ")
    assert log_sink.getvalue() == lines
