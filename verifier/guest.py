# SPDX-License-Identifier: GPL-2.0-only
"""Entry point inside the guest: run the suites, hand back results and dmesg.

  python -m mip6kit.verifier.guest [--test-timeout=S] [--modules=A,B] [--skip-modules=C]
                                   -- [pytest args...]

Its command line, its environment and the files it hands back are the
host<->guest contract (verifier/contract.py).

KTAP goes to stdout.  results.json (outcome and patch ties per test, read
by the host to build the matrix) is handed off (verifier/handoff.py) after
collection, with every test "unfinished", and again as each test ends, so a
guest that dies or times out still leaves a partial matrix that names the
tests it did not finish.  junit.xml and dmesg.txt follow at the end, and,
on kernels that have them (verifier/debugfs.py): gcov.tar, the gcov
counters zeroed before the tests (coverage profile), and leaks.json,
kmemleak's reports after the tests, each with the test that allocated
the object (debug profile).

Each phase of a test (setup, call, teardown) has a timeout,
--test-timeout=S: a hung test fails alone and the run goes on.
The host always passes it (its default is vm/spec.py's TEST_TIMEOUT);
without it, as when a developer runs the verifier by hand, there is none.
(pytest-timeout cannot be used: it writes its stack dump through pytest's
terminal reporter, which KTAP replaces.)
--modules names the test modules that hold the host's selection, so that
the guest imports only those (an import costs seconds under TCG); without
it the whole suite is collected.  Plugins are not auto-loaded from entry
points for the same reason: the ones the verifier uses are named.
Exits with pytest's exit code.
"""

import json
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

import pytest

from mip6kit.verifier import contract, debugfs, features, handoff, kmsg
from mip6kit.verifier.cmd import cmd
from mip6kit.verifier.contract import GuestArgs, Outcome, TestResult
from mip6kit.verifier.ktap import outcome


class ResultsRecorder:
    """Outcome per test (passed, failed, error, skipped, xfailed, xpassed,
    or unfinished) and the patches it guards; a failing setup or teardown
    is an error.  Streams results.json as it changes, with each test's
    time, and marks each test's start and end in the kernel log
    (verifier/kmsg.py), for the host's crash report."""

    def __init__(self, marks: kmsg.Marks | None = None):
        self.results: dict[str, TestResult] = {}
        self.reports: dict[str, list] = {}
        self.spans: list[tuple[float, float, str]] = []  # monotonic start, end, nodeid
        self._started = 0.0
        self.marks = marks

    def pytest_runtest_logstart(self, nodeid, location):
        if self.marks is not None:
            self.marks.mark(contract.KMSG_START, nodeid)
        self._started = time.monotonic()

    def pytest_collection_finish(self, session):
        for item in session.items:
            patches = [m.args[0] for m in item.iter_markers("patch")
                       if features.holds(m.kwargs.get("config"))]
            self.results[item.nodeid] = TestResult(Outcome.UNFINISHED, patches)
        self.hand_off()

    def pytest_runtest_logreport(self, report):
        self.reports.setdefault(report.nodeid, []).append(report)

    def pytest_runtest_logfinish(self, nodeid, location):
        ended = time.monotonic()
        if self.marks is not None:
            self.marks.mark(contract.KMSG_END, nodeid)
        self.spans.append((self._started, ended, nodeid))
        kind, _ = outcome(self.reports.pop(nodeid, []))
        result = self.results.setdefault(nodeid, TestResult(kind))
        result.outcome, result.seconds = kind, ended - self._started
        self.hand_off()

    def hand_off(self) -> None:
        handoff.send(contract.RESULTS, self.encoded())

    def encoded(self) -> bytes:
        return contract.dump_results(self.results)


class PhaseTimeout:
    """SIGALRM around each test phase; the handler fails the phase, which
    pytest records like any failure (CallInfo catches it)."""

    def __init__(self, seconds: float):
        self.seconds = seconds

    def _expired(self, signum, frame):
        pytest.fail(f"timeout: the test phase ran for more than {self.seconds:g} s",
                    pytrace=True)

    def _bounded(self):
        old = signal.signal(signal.SIGALRM, self._expired)
        signal.setitimer(signal.ITIMER_REAL, self.seconds)
        try:
            yield
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_setup(self, item):
        yield from self._bounded()

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_call(self, item):
        yield from self._bounded()

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_teardown(self, item, nextitem):
        yield from self._bounded()


def main(argv: list[str]) -> int:
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    with tempfile.TemporaryDirectory(prefix="mip6kit-") as tmp:
        rc, files = run(Path(tmp), argv)
    for name, data in files.items():
        handoff.send(name, data)
    return rc


def run(out: Path, argv: list[str]) -> tuple[int, dict[str, bytes]]:
    recorder = ResultsRecorder(kmsg.Marks())
    opts = GuestArgs.parse(argv)
    here = Path(__file__).resolve().parent
    paths = [str(here / m) for m in opts.modules] or [str(here)]
    args = [*paths, *(f"--ignore={here / m}" for m in opts.skip_modules),
            "-p", "mip6kit.verifier.ktap", "-p", "no:terminal",
            "-p", "no:cacheprovider", f"--junitxml={out / 'junit.xml'}",
            f"--rootdir={here}", "-c", "/dev/null", *opts.pytest_args]
    plugins = [recorder] + ([PhaseTimeout(opts.test_timeout)]
                            if opts.test_timeout is not None else [])
    debugfs.mount()
    gcov = debugfs.gcov_reset()
    kmemleak = debugfs.kmemleak_start()
    rc = int(pytest.main(args, plugins=plugins))
    junit = out / "junit.xml"
    files = {
        contract.JUNIT: junit.read_bytes() if junit.exists() else b"",
        contract.RESULTS: recorder.encoded(),
    }
    if gcov:
        files[contract.GCOV] = debugfs.gcov_tar() or b""
    if kmemleak:
        files[contract.LEAKS] = leaks(recorder.spans)
    files[contract.DMESG] = cmd(["dmesg"], check=False, text=False).stdout
    return rc, files


def leaks(spans: list[tuple[float, float, str]]) -> bytes:
    """kmemleak's reports once the tests are over, each with the test that
    was running when the object was allocated (null: between tests, or
    when the kernel's HZ is unknown)."""
    found = debugfs.kmemleak_scan()
    return (json.dumps(attribute(found, spans, debugfs.hz()), indent=1) + "\n").encode()


def attribute(found: list[tuple[int, str]], spans: list[tuple[float, float, str]],
              hz: int | None) -> list[dict]:
    """kmemleak dates objects in jiffies; the tests' spans are on
    CLOCK_MONOTONIC, which starts at boot as jiffies does."""
    out = []
    for jiffies, report in found:
        born = debugfs.seconds_since_boot(jiffies, hz) if hz else None
        test = next((t for t0, t1, t in spans if born is not None and t0 <= born <= t1), None)
        out.append({"test": test, "report": report})
    return out


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
