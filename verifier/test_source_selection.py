# SPDX-License-Identifier: GPL-2.0-only
"""Source address selection with a home address (RFC 6724 rule 4, RFC 5014).

The mobile node has its HoA on lo and its CoA on the egress link m0; it
talks to the HA address 2001:db8:1::1 through m0.  Both candidates are
global and preferred, so rule 4 (prefer home address) decides when the HoA
carries IFA_F_HOMEADDRESS; without the flag, rule 5 (prefer an address of
the outgoing interface) picks the CoA.  Rule 4 and IPV6_ADDR_PREFERENCES'
home/CoA bits are compiled into addrconf.c only with CONFIG_IPV6_MIP6=y
unless the series' net fix is applied: with IPV6_MIP6=m (the modules and
distro profiles) test_rule4_picks_home_address guards that fix.
"""

import socket

import pytest

from . import features, patchnames
from .netns import IFA_F_HOMEADDRESS, IFA_F_NODAD

IPV6_ADDR_PREFERENCES = 72  # include/uapi/linux/in6.h
IPV6_PREFER_SRC_COA = 0x0004
IPV6_PREFER_SRC_HOME = 0x0400


def _source(topo, prefs: int | None) -> str:
    s = topo.mn.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    with s:
        if prefs is not None:
            s.setsockopt(socket.IPPROTO_IPV6, IPV6_ADDR_PREFERENCES, prefs)
        s.connect((topo.ha_addr, 9))
        return s.getsockname()[0]


def _home(topo, flagged: bool) -> None:
    topo.add_hoa(IFA_F_NODAD | (IFA_F_HOMEADDRESS if flagged else 0))
    flags = topo.mn.addr_flags(topo.hoa)
    assert flags is not None
    assert bool(flags & IFA_F_HOMEADDRESS) == flagged, f"dumped flags {flags:#x}"


@pytest.mark.patch(patchnames.RULE4_MODULE, config="IPV6_MIP6=m")
@pytest.mark.parametrize("prefs", [None, IPV6_PREFER_SRC_HOME], ids=["default", "prefer_home"])
def test_rule4_picks_home_address(topo, prefs):
    """RFC 6724 section 5 rule 4 (and RFC 5014 IPV6_PREFER_SRC_HOME): with
    IFA_F_HOMEADDRESS on the HoA, the HoA wins over the CoA of the egress link."""
    features.require("IPV6_MIP6")
    _home(topo, flagged=True)
    assert _source(topo, prefs) == topo.hoa


def test_prefer_src_coa_picks_care_of_address(topo):
    """RFC 5014 section 2 IPV6_PREFER_SRC_COA inverts rule 4: the CoA wins
    even though the HoA is flagged IFA_F_HOMEADDRESS."""
    features.require("IPV6_MIP6")
    _home(topo, flagged=True)
    assert _source(topo, IPV6_PREFER_SRC_COA) == topo.coa


@pytest.mark.parametrize("prefs", [None, IPV6_PREFER_SRC_HOME], ids=["default", "prefer_home"])
def test_without_flag_rule5_picks_coa(topo, prefs):
    """Without IFA_F_HOMEADDRESS no address is a home address: rule 4 does not
    decide and rule 5 (prefer outgoing interface) picks the CoA on m0, even
    with IPV6_PREFER_SRC_HOME (RFC 6724 section 5, RFC 5014 section 2)."""
    _home(topo, flagged=False)
    assert _source(topo, prefs) == topo.coa
