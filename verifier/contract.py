# SPDX-License-Identifier: GPL-2.0-only
"""The host<->guest contract, in one place: what the host passes to the
guest's verifier and what the guest hands back.

Standard library only: the host imports it, and so does the guest, where
every import costs time under TCG.

- Outcome: the one spelling of a test's result, in results.json, in
  selftests.json, in the matrices and in the flakiness summary.  KTAP's own
  words (ok, not ok, # SKIP) are a rendering of it (verifier/ktap.py).
- TestResult and dump_results()/load_results(): results.json, written by the
  guest (verifier/guest.py) and read by every judge on the host (vm/matrix.py,
  vm/seriescheck.py, vm/coveragejob.py).
- The names both sides agree on: handed-back files, environment variables,
  the handoff line prefix.
- GuestArgs: the verifier's command line (python -m mip6kit.verifier.guest),
  built on the host with to_argv() and read in the guest with parse().
"""

import argparse
import json
from dataclasses import dataclass, field
from enum import StrEnum


class Outcome(StrEnum):
    PASSED = "passed"
    FAILED = "failed"  # the test's call failed
    ERROR = "error"  # its setup or teardown failed (a splat found in teardown)
    SKIPPED = "skipped"
    XFAILED = "xfailed"
    XPASSED = "xpassed"
    UNFINISHED = "unfinished"  # collected, never ended: the guest died or timed out
    MISSING = "missing"  # not in that run at all
    FLAKY = "flaky"  # not the same in every repeat (selftests, flakiness)


# Files the guest hands back (verifier/handoff.py), by name.
RESULTS = "results.json"  # TestResult per test, streamed as tests end
JUNIT = "junit.xml"
DMESG = "dmesg.txt"
GCOV = "gcov.tar"  # coverage profile: the gcov counters after the tests
LEAKS = "leaks.json"  # debug profile: kmemleak's reports, each with its test
SELFTESTS = "selftests.json"  # verifier/kselftest.py: per script, per test

# A handed-back file travels as one stdout line that starts with this.
HANDOFF_PREFIX = b"#mip6kit-file "

# Kernel log lines the guest writes (verifier/kmsg.py) as each test or
# selftest script starts and ends, so that the host can tell from the console
# which test was running when the kernel crashed (vm/crash.py).
KMSG_START = "mip6kit: start "
KMSG_END = "mip6kit: end "

# Environment of the guest's verifier, set by the host.
ENV_SELFTEST_DIR = "MIP6KIT_SELFTEST_DIR"  # the staged series selftest
ENV_HELPERS = "MIP6KIT_HELPERS"  # the helpers compiled on the host

SELFTEST_MODULE = "test_selftest.py"  # the module that runs the series' selftest


@dataclass
class TestResult:
    outcome: Outcome
    patches: list[str] = field(default_factory=list)  # what its patch markers name
    seconds: float | None = None  # how long it ran (setup to teardown); None: unknown

    __test__ = False  # not a pytest test class


def dump_results(results: dict[str, TestResult]) -> bytes:
    """results.json: nodeid -> {"outcome": ..., "patches": [...], "seconds": ...},
    seconds only once the test has ended."""
    data = {t: {"outcome": str(r.outcome), "patches": list(r.patches),
                **({} if r.seconds is None else {"seconds": round(r.seconds, 3)})}
            for t, r in results.items()}
    return (json.dumps(data, indent=1) + "\n").encode()


def load_results(text: str | bytes) -> dict[str, TestResult]:
    """results.json back; ValueError naming what is wrong with it."""
    data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError("not an object of test results")
    out = {}
    for test, r in data.items():
        try:
            seconds = r.get("seconds")
            out[test] = TestResult(Outcome(r["outcome"]), [str(p) for p in r["patches"]],
                                   None if seconds is None else float(seconds))
        except (TypeError, KeyError, ValueError, AttributeError) as e:
            raise ValueError(f"bad result for {test}: {r!r} ({e})") from None
    return out


@dataclass
class GuestArgs:
    """python -m mip6kit.verifier.guest [--test-timeout S] [--modules A,B] [--skip-modules C,D] -- PYTEST_ARGS"""

    test_timeout: float | None = None  # per test phase; None: no limit
    modules: list[str] = field(default_factory=list)  # test modules to collect; []: all
    pytest_args: list[str] = field(default_factory=list)
    # test modules not to collect: names, not paths, because the guest's
    # verifier is not where the host's is (vm/guestpy.py unpacks it)
    skip_modules: list[str] = field(default_factory=list)

    def to_argv(self) -> list[str]:
        argv = [] if self.test_timeout is None else [f"--test-timeout={self.test_timeout:g}"]
        if self.modules:
            argv.append(f"--modules={','.join(self.modules)}")
        if self.skip_modules:
            argv.append(f"--skip-modules={','.join(self.skip_modules)}")
        return [*argv, "--", *self.pytest_args]

    @classmethod
    def parse(cls, argv: list[str]) -> "GuestArgs":
        """The guest's options in any order; what follows "--" is pytest's.
        Without "--" (the verifier run by hand) the options it does not
        know are pytest's too.  A bad value exits 2 with a usage message."""
        ours, sep, theirs = _split(argv)
        p = argparse.ArgumentParser(prog="python -m mip6kit.verifier.guest",
                                    usage=cls.__doc__, add_help=False, allow_abbrev=False)
        p.add_argument("--test-timeout", type=_seconds, default=None)
        names = lambda s: [m for m in s.split(",") if m]  # noqa: E731
        p.add_argument("--modules", type=names, default=[])
        p.add_argument("--skip-modules", type=names, default=[])
        known, rest = p.parse_known_args(ours)
        if sep and rest:
            p.error(f"unknown option before --: {' '.join(rest)}")
        return cls(known.test_timeout, known.modules, [*rest, *theirs], known.skip_modules)


def _split(argv: list[str]) -> tuple[list[str], bool, list[str]]:
    if "--" in argv:
        i = argv.index("--")
        return argv[:i], True, argv[i + 1:]
    return argv, False, []


def _seconds(text: str) -> float:
    value = float(text)
    if not 0 < value < 1e6:
        raise argparse.ArgumentTypeError("must be between 0 and 1000000 seconds")
    return value
