# SPDX-License-Identifier: GPL-2.0-only
"""The C example for daemon authors (verifier/helpers/hoaddr_example.c),
run as a daemon would run it: it probes for XFRMA_HOADDR, installs a HoA
state per CoA and the MH policy, sends a Binding Update per CoA by its
link with IPV6_PKTINFO, and reads the states back.  The oracle is the
home agent: captures on both its links and its kernel's delivery.  On a
kernel without the series the example's probe finds no XFRMA_HOADDR and
it exits 3, as a daemon would before falling back."""

import socket

import pytest

from . import cbuild, patchnames
from .cmd import cmd
from .hoastate import LINKS, assert_from_hoa, assert_left_from_coa
from .mcoa import HA, HOA, ha_captures
from .packets import NH_MH, mh_seq
from .receiver import Receiver
from .xfrm import HAO, accept_ro


@pytest.mark.patch(patchnames.HOA)
@pytest.mark.patch(patchnames.EGRESS)  # each BU by its link: IPV6_PKTINFO's ifindex
def test_the_c_example_sends_a_bu_per_coa_by_its_link(mcoa):
    example = cbuild.helper("hoaddr_example")
    accept_ro(mcoa.ha, HAO, NH_MH)
    rx = mcoa.ha.socket(socket.AF_INET6, socket.SOCK_RAW, NH_MH)
    with rx:
        with ha_captures(mcoa) as drain:
            receiver = Receiver(mcoa.ha, rx)
            res = cmd([str(example), HA, HOA, *(f"{ln.coa}:{ln.mn_if}" for ln in LINKS)],
                      ns=mcoa.mn.name, check=False, timeout=30)
            assert res.returncode == 0, f"exit {res.returncode}: {res.stderr}"
            verdicts = [receiver.wait() for _ in LINKS]
            wire = drain(lambda p: p.proto == NH_MH)
    assert res.stdout.splitlines() == [f"state {ln.coa}: hoaddr {HOA}" for ln in LINKS]
    for ln in LINKS:  # one BU on each link, from its own CoA, summed over the HoA
        assert_left_from_coa(ln, NH_MH, {ln.ha_if: wire[ln.ha_if]})
    for verdict in verdicts:
        assert_from_hoa(verdict)
    assert sorted(mh_seq(v.got[0]) for v in verdicts) == [(5, 4343), (5, 4344)]
