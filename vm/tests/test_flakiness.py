# SPDX-License-Identifier: GPL-2.0-only
from mip6kit.flakiness import broken, cut_short, flaky, outcomes

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
    assert runs == [{"a.py::t1": "pass", "a.py::t2": "fail", "a.py::t3": "skip"},
                    {"a.py::t1": "pass", "a.py::t2": "pass", "a.py::t3": "skip"}]
    assert flaky(runs) == {"a.py::t2": ["fail", "pass"]}
    assert flaky(runs[:1] + [{}]) == {n: [o, "missing"] for n, o in runs[0].items()}


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
    assert cut_short(runs[:1], guest_failed=True) is None  # nothing to compare with
