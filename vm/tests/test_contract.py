# SPDX-License-Identifier: GPL-2.0-only
"""The host<->guest contract (verifier/contract.py) round-trips: what the
host builds, the guest reads back the same, in any option order."""

import pytest

from mip6kit.guestrun import verifier_command
from mip6kit.verifier.contract import (
    GuestArgs,
    Outcome,
    TestResult,
    dump_results,
    load_results,
)


@pytest.mark.parametrize("args", [
    GuestArgs(),
    GuestArgs(5.0, ["test_a.py", "test_b.py"], ["-k", "x or y", "--", "-v"]),
    GuestArgs(0.5, [], ["--test-timeout=9"]),  # pytest's, after --: not ours
])
def test_guest_args_round_trip(args):
    assert GuestArgs.parse(args.to_argv()) == args


def test_options_in_any_order_before_the_separator():
    """The bug of the positional parser: --modules before --test-timeout
    sent --test-timeout=5 to pytest."""
    got = GuestArgs.parse(["--modules=test_a.py", "--test-timeout=5", "--", "-k", "t"])
    assert got == GuestArgs(5.0, ["test_a.py"], ["-k", "t"])


def test_by_hand_without_separator_unknown_options_are_pytests():
    assert GuestArgs.parse(["-k", "t", "--test-timeout", "7"]) == GuestArgs(7.0, [], ["-k", "t"])


def test_a_bad_value_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as e:
        GuestArgs.parse(["--test-timeout=-1", "--"])
    assert e.value.code == 2 and "between 0 and 1000000" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        GuestArgs.parse(["--no-such-option", "--", "-k", "t"])


def test_the_host_command_parses_back_in_the_guest():
    argv = verifier_command(["-k", "test_round_trip"], 120, ["test_xfrm_hoaddr.py"])
    guest = GuestArgs.parse(argv[argv.index("mip6kit.verifier.guest") + 1:])
    assert guest.test_timeout == 120 and guest.modules == ["test_xfrm_hoaddr.py"]
    assert guest.pytest_args[-2:] == ["-k", "test_round_trip"]


def test_results_round_trip_and_bad_files_are_refused():
    results = {"a.py::t": TestResult(Outcome.FAILED, ["raw"]),
               "b.py::u": TestResult(Outcome.UNFINISHED)}
    assert load_results(dump_results(results)) == results
    for bad in ('[]', '{"t": {"outcome": "exploded", "patches": []}}', '{"t": {}}'):
        with pytest.raises(ValueError):
            load_results(bad)
