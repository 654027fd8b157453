# SPDX-License-Identifier: GPL-2.0-only
"""The run-time probe for daemon authors (verifier/probe.py), run as a
daemon would run it, once per kernel: on each kernel it must name exactly
the changes that kernel has, so each answer guards its patch."""

import sys

import pytest

from . import features, patchnames
from .cmd import cmd


@pytest.fixture(scope="module")
def answers() -> dict[str, str]:
    features.require("IPV6_MIP6")
    res = cmd([sys.executable, "-m", "mip6kit.verifier.probe"], check=False, timeout=120)
    assert res.returncode == 0, f"probe exited {res.returncode}: {res.stderr}"
    return dict(line.split(": ", 1) for line in res.stdout.splitlines())


PROBED = {"raw-checksum": ("raw checksum", patchnames.RAW),
          "udp-checksum": ("UDP checksum", patchnames.UDP),
          "strict-oif": ("strict oif", patchnames.EGRESS),
          "hoaddr": ("XFRMA_HOADDR", patchnames.HOA)}


@pytest.mark.parametrize("name", [pytest.param(name, marks=pytest.mark.patch(patch), id=case)
                                  for case, (name, patch) in PROBED.items()])
def test_the_probe_finds_the_change(answers, name):
    assert answers.get(name) == "yes", f"probe says {name}: {answers.get(name)} ({answers})"
