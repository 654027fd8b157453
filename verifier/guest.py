# SPDX-License-Identifier: GPL-2.0-only
"""Entry point inside the guest: run the suites, keep results and dmesg.

  python -m mip6kit.verifier.guest OUTDIR [pytest args...]

Writes OUTDIR/junit.xml, OUTDIR/results.json (outcome and patch ties per
test, read by the host to build the matrix) and OUTDIR/dmesg.txt.  KTAP
goes to stdout.  Exits with pytest's exit code.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

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
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    out = Path(argv[0])
    out.mkdir(parents=True, exist_ok=True)
    recorder = ResultsRecorder()
    here = Path(__file__).resolve().parent
    args = [str(here), "-p", "mip6kit.verifier.ktap", "-p", "no:terminal",
            "-p", "no:cacheprovider", f"--junitxml={out / 'junit.xml'}",
            f"--rootdir={here}", "-c", "/dev/null", *argv[1:]]
    rc = int(pytest.main(args, plugins=[recorder]))
    (out / "results.json").write_text(json.dumps(recorder.results, indent=1) + "\n")
    dmesg = subprocess.run(["dmesg"], capture_output=True, text=True)
    (out / "dmesg.txt").write_text(dmesg.stdout)
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
