# SPDX-License-Identifier: GPL-2.0-only
"""pytest plugin: KTAP v1 on stdout, one flushed line per test.

Load with `-p mip6kit.verifier.ktap`; pair it with `-p no:terminal` so that
stdout carries KTAP only.  Failure details become KTAP diagnostic lines.
"""

import sys
from dataclasses import dataclass, field

import pytest


@dataclass
class _State:
    number: int = 0
    totals: dict = field(default_factory=lambda: dict.fromkeys(
        ("pass", "fail", "xfail", "xpass", "skip", "error"), 0))
    reported: set = field(default_factory=set)


def _emit(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def _name(nodeid: str) -> str:
    # KTAP names are one token: keep file::test[param] without spaces.
    return nodeid.split("/")[-1].replace(" ", "_")


class KtapReporter:
    def __init__(self):
        self.state = _State()

    @pytest.hookimpl(trylast=True)
    def pytest_collection_finish(self, session):
        _emit("KTAP version 1")
        _emit(f"1..{len(session.items)}")

    def pytest_runtest_logreport(self, report):
        st = self.state
        if report.nodeid in st.reported:
            return
        if report.when == "call" or (report.when == "setup" and not report.passed):
            pass
        elif report.when == "teardown" and report.failed:
            _emit(f"# teardown of {_name(report.nodeid)} failed:")
            for line in str(report.longrepr).splitlines()[-20:]:
                _emit(f"# {line}")
            st.totals["error"] += 1
            return
        else:
            return
        st.reported.add(report.nodeid)
        st.number += 1
        name = _name(report.nodeid)
        if report.skipped:
            reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else ""
            reason = reason.removeprefix("Skipped: ")
            _emit(f"ok {st.number} {name} # SKIP {reason}")
            st.totals["skip"] += 1
        elif report.passed:
            _emit(f"ok {st.number} {name}")
            st.totals["pass"] += 1
        else:
            for line in str(report.longrepr).splitlines()[-30:]:
                _emit(f"# {line}")
            _emit(f"not ok {st.number} {name}")
            st.totals["fail" if report.when == "call" else "error"] += 1

    def pytest_sessionfinish(self, session, exitstatus):
        t = self.state.totals
        _emit("# Totals: " + " ".join(f"{k}:{v}" for k, v in t.items()))


def pytest_configure(config):
    config.pluginmanager.register(KtapReporter(), "mip6kit-ktap")
