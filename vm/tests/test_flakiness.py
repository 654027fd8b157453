# SPDX-License-Identifier: GPL-2.0-only
from mip6kit.flakiness import flaky, outcomes

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
