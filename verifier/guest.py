# SPDX-License-Identifier: GPL-2.0-only
"""Entry point inside the guest: run the suites, hand back results and dmesg.

  python -m mip6kit.verifier.guest [pytest args...]

KTAP goes to stdout, then junit.xml, results.json (outcome and patch ties
per test, read by the host to build the matrix) and dmesg.txt as handoff
lines (verifier/handoff.py).  Exits with pytest's exit code.
"""

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from mip6kit.verifier import handoff
from mip6kit.verifier.ktap import outcome


class ResultsRecorder:
    """Outcome per test (passed, failed, error, skipped, xfailed, xpassed)
    and the patches it guards; a failing setup or teardown is an error."""

    NAMES = {"pass": "passed", "fail": "failed", "error": "error", "skip": "skipped",
             "xfail": "xfailed", "xpass": "xpassed"}

    def __init__(self):
        self.results: dict[str, dict] = {}
        self.reports: dict[str, list] = {}

    def pytest_collection_finish(self, session):
        for item in session.items:
            patches = [m.args[0] for m in item.iter_markers("patch")]
            self.results[item.nodeid] = {"outcome": "error", "patches": patches}

    def pytest_runtest_logreport(self, report):
        self.reports.setdefault(report.nodeid, []).append(report)

    def pytest_runtest_logfinish(self, nodeid, location):
        kind, _ = outcome(self.reports.pop(nodeid, []))
        self.results.setdefault(nodeid, {"patches": []})["outcome"] = self.NAMES[kind]


def main(argv: list[str]) -> int:
    with tempfile.TemporaryDirectory(prefix="mip6kit-") as tmp:
        rc, files = run(Path(tmp), argv)
    sys.stdout.flush()
    for name, data in files.items():
        sys.stdout.buffer.write(handoff.encode(name, data))
    sys.stdout.buffer.flush()
    return rc


def run(out: Path, argv: list[str]) -> tuple[int, dict[str, bytes]]:
    recorder = ResultsRecorder()
    here = Path(__file__).resolve().parent
    args = [str(here), "-p", "mip6kit.verifier.ktap", "-p", "no:terminal",
            "-p", "no:cacheprovider", f"--junitxml={out / 'junit.xml'}",
            f"--rootdir={here}", "-c", "/dev/null", *argv]
    rc = int(pytest.main(args, plugins=[recorder]))
    junit = out / "junit.xml"
    files = {
        "junit.xml": junit.read_bytes() if junit.exists() else b"",
        "results.json": (json.dumps(recorder.results, indent=1) + "\n").encode(),
        "dmesg.txt": subprocess.run(["dmesg"], capture_output=True).stdout,
    }
    return rc, files


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
