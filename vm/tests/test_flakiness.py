# SPDX-License-Identifier: GPL-2.0-only
import io
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mip6kit.flakiness import broken, cut_short, flaky, outcomes, stream
from mip6kit.verifier.contract import Outcome

ROOT = Path(__file__).resolve().parents[2]  # the checkout

KTAP = """# flakiness run 1
KTAP version 1
ok 1 a.py::t1
not ok 2 a.py::t2
ok 3 a.py::t3 # SKIP no MIP6
# flakiness run 2
ok 1 a.py::t1
ok 2 a.py::t2
ok 3 a.py::t3 # SKIP no MIP6
"""


def test_outcomes_per_run_and_flaky_tests():
    runs = outcomes(KTAP)
    P, F, S = Outcome.PASSED, Outcome.FAILED, Outcome.SKIPPED
    assert runs == [{"a.py::t1": P, "a.py::t2": F, "a.py::t3": S},
                    {"a.py::t1": P, "a.py::t2": P, "a.py::t3": S}]
    assert flaky(runs) == {"a.py::t2": [F, P]}
    assert flaky(runs[:1] + [{}]) == {n: [o, Outcome.MISSING] for n, o in runs[0].items()}


def test_a_run_that_verified_nothing_is_broken():
    """A collection error (the guest saw a half-written test module) gives
    a run with no results: it must not pass as a clean run."""
    ktap = KTAP + """# flakiness run 3
# collecting test_x.py failed:
Bail out! collection error
KTAP version 1
1..3
# flakiness run 4
"""
    assert broken(KTAP) == {}
    assert broken(ktap) == {3: "Bail out! collection error", 4: "no test result"}


def test_a_run_the_guest_stopped_in_is_cut_short_not_missing():
    """A guest that ends (timeout, SIGTERM) during its last run leaves that
    run with fewer results: it is dropped, by number, and only then."""
    runs = outcomes(KTAP + "# flakiness run 3\nok 1 a.py::t1\n")
    assert cut_short(runs, guest_failed=True) == 3
    assert cut_short(runs, guest_failed=False) is None  # a clean exit: a real difference
    assert cut_short(runs[:2], guest_failed=True) is None  # the last run was complete
    assert cut_short(runs[:1], guest_failed=True) == 1  # nothing to compare with: unsure
    assert cut_short([], guest_failed=True) is None


def test_stream_copies_the_ktap_and_reports_each_run(capsys):
    """A 20-run campaign takes an hour per kernel: each run's end is
    reported as it comes, and the KTAP is on disk before the guest ends."""
    out = io.StringIO()
    text = stream(io.StringIO("booting\n" + KTAP), out, "6.1 patched", 2, 0.0)
    assert text == out.getvalue() == "booting\n" + KTAP
    progress = capsys.readouterr().err.splitlines()
    assert [line.rsplit(", ", 1)[0] for line in progress] == [
        "6.1 patched: run 1 of 2: 3 results, 1 failed",
        "6.1 patched: run 2 of 2: 3 results, 0 failed"]


@pytest.mark.vm
def test_sigterm_stops_the_campaign_and_keeps_its_summary(tmp_path, descendants):
    """SIGTERM during a guest: no qemu of the campaign survives, the
    summary is still written, exit 143."""
    out = tmp_path / "results.txt"
    proc = subprocess.Popen([sys.executable, "-m", "mip6kit", "flakiness", "--base", "6.12", "--kernel", "patched", "--runs", "2",
                             "--out", str(out)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 600
    while not (qemu := [p for p, cmd in descendants(proc.pid).items()
                        if cmd.startswith("/usr/bin/qemu-system")]):
        assert proc.poll() is None and time.monotonic() < deadline, "no guest started"
        time.sleep(0.5)
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 128 + signal.SIGTERM, stderr
    assert "Traceback" not in stderr, stderr
    summary = out.read_text()
    assert "6.12 patched: 0 of 2 runs" in summary and "boot exit 143" in summary, summary
    assert "stopped by SIGTERM" in summary, summary
    deadline = time.monotonic() + 10  # qemu exits a moment after its killer
    while alive := [p for p in qemu if Path(f"/proc/{p}").exists()]:
        assert time.monotonic() < deadline, f"qemu {alive} outlived the campaign"
        time.sleep(0.2)
