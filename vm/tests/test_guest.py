# SPDX-License-Identifier: GPL-2.0-only
"""The guest entry point (verifier/guest.py), run here on the host: a hung
test fails alone at its timeout, and results.json streams as tests end, so
a guest killed mid-run still leaves what finished and names the rest."""

import json
import os
import signal
import subprocess
import sys

from mip6kit.verifier import handoff

TESTS = '''
import time

def test_quick():
    pass

def test_hangs():
    time.sleep(600)

def test_after():
    pass
'''


def _guest(tmp_path, *args):
    (tmp_path / "test_streamed.py").write_text(TESTS)
    return subprocess.Popen([sys.executable, "-m", "mip6kit.verifier.guest", *args,
                             str(tmp_path / "test_streamed.py"), "-k", "test_streamed"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            start_new_session=True)


def _results(lines):
    return [json.loads(handoff.decode(ln)[1]) for ln in lines
            if ln.startswith(handoff.PREFIX) and b" results.json " in ln]


def _outcomes(results):
    return {k.rsplit("::", 1)[1]: v["outcome"] for k, v in results.items()}


def test_hung_test_times_out_alone(tmp_path):
    proc = _guest(tmp_path, "--test-timeout=3")
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 1
    streamed = _results(out.splitlines())
    assert _outcomes(streamed[0]) == dict.fromkeys(("test_quick", "test_hangs", "test_after"),
                                                   "unfinished")
    assert _outcomes(streamed[-1]) == {"test_quick": "passed", "test_hangs": "failed",
                                       "test_after": "passed"}
    assert b"# E       Failed: timeout: the test phase ran for more than 3 s" in out, \
        "the KTAP diagnostics should say why test_hangs failed"


def test_killed_guest_leaves_partial_results(tmp_path):
    proc = _guest(tmp_path)  # the default per-test timeout is far away
    seen = []
    for line in iter(proc.stdout.readline, b""):
        seen.append(line)
        if line.startswith(b"ok 1 "):  # test_quick done, test_hangs running
            break
    seen.append(proc.stdout.readline())  # the hand-off after test_quick
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert _outcomes(_results(seen)[-1]) == {"test_quick": "passed",
                                             "test_hangs": "unfinished",
                                             "test_after": "unfinished"}


def test_modules_limit_what_the_guest_imports():
    """--modules (the host's selection) is all the guest collects, so it
    imports no other test module."""
    out = subprocess.run([sys.executable, "-m", "mip6kit.verifier.guest", "--test-timeout=5",
                          "--modules=test_rh2.py,test_addr_flags.py", "--collect-only"],
                         capture_output=True, timeout=120).stdout
    collected = _results(out.splitlines())[0]
    assert collected and {k.split("::")[0] for k in collected} == {"test_rh2.py",
                                                                    "test_addr_flags.py"}
