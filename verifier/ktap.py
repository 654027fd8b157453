# SPDX-License-Identifier: GPL-2.0-only
"""pytest plugin: KTAP v1 on stdout, one flushed line per test.

Load with `-p mip6kit.verifier.ktap`; pair it with `-p no:terminal` so that
stdout carries KTAP only.  A test's line is printed once its teardown is
done, so a failing teardown (e.g. a kernel splat) makes it `not ok`.
Failure details, and what a test prints, become KTAP diagnostic lines.
"""

import sys

import pytest

from mip6kit.verifier.contract import Outcome

# the words of the KTAP totals line, per outcome
TOTALS = {Outcome.PASSED: "pass", Outcome.FAILED: "fail", Outcome.XFAILED: "xfail",
          Outcome.XPASSED: "xpass", Outcome.SKIPPED: "skip", Outcome.ERROR: "error"}


def _emit(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def _diag(longrepr, last: int = 30) -> None:
    for line in str(longrepr).splitlines()[-last:]:
        _emit(f"# {line}")


def ktap_name(nodeid: str) -> str:
    """file.py::test[param] without directories; no spaces or '#' (KTAP directives)."""
    path, sep, rest = nodeid.partition("::")
    return (path.rsplit("/", 1)[-1] + sep + rest).replace(" ", "_").replace("#", "_")


def outcome(reports: list) -> tuple[Outcome, str]:
    """(outcome, reason) for the setup/call/teardown reports of one test."""
    for r in reports:
        if r.failed:
            return (Outcome.FAILED if r.when == "call" else Outcome.ERROR), ""
    for r in reports:
        if hasattr(r, "wasxfail"):
            return (Outcome.XFAILED if r.skipped else Outcome.XPASSED), r.wasxfail
        if r.skipped:
            reason = r.longrepr[2] if isinstance(r.longrepr, tuple) else ""
            return Outcome.SKIPPED, reason.removeprefix("Skipped: ")
    return Outcome.PASSED, ""


class KtapReporter:
    def __init__(self):
        self.number = 0
        self.totals = dict.fromkeys(TOTALS.values(), 0)
        self.reports: dict[str, list] = {}

    @pytest.hookimpl(trylast=True)
    def pytest_collection_finish(self, session):
        _emit("KTAP version 1")
        _emit(f"1..{len(session.items)}")

    def pytest_collectreport(self, report):
        if report.failed:
            _emit(f"# collecting {report.nodeid or 'tests'} failed:")
            _diag(report.longrepr)
            _emit("Bail out! collection error")

    def pytest_runtest_logreport(self, report):
        self.reports.setdefault(report.nodeid, []).append(report)

    def pytest_runtest_logfinish(self, nodeid, location):
        reports = self.reports.pop(nodeid, [])
        kind, reason = outcome(reports)
        self.number += 1
        self.totals[TOTALS[kind]] += 1
        name = ktap_name(nodeid)
        for r in reports:  # what a test prints (a per-link table) is diagnostic
            for title, text in r.sections:
                if title == f"Captured stdout {r.when}":
                    for line in text.splitlines():
                        _emit(f"# {line}")
        if kind in (Outcome.FAILED, Outcome.ERROR):
            for r in reports:
                if r.failed:
                    _diag(r.longrepr)
            suffix = " # ERROR" if kind == Outcome.ERROR else ""
            _emit(f"not ok {self.number} {name}{suffix}")
        elif kind == Outcome.SKIPPED:
            _emit(f"ok {self.number} {name} # SKIP {reason}")
        elif kind == Outcome.XFAILED:
            _emit(f"ok {self.number} {name} # XFAIL {reason}")
        else:
            _emit(f"ok {self.number} {name}")

    def pytest_sessionfinish(self, session, exitstatus):
        _emit("# Totals: " + " ".join(f"{k}:{v}" for k, v in self.totals.items()))


def pytest_configure(config):
    config.pluginmanager.register(KtapReporter(), "mip6kit-ktap")
