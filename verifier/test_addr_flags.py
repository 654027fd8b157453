# SPDX-License-Identifier: GPL-2.0-only
"""IFA_F_NODAD and IFA_F_HOMEADDRESS as the kernel stores them.

Flags are always read back from an RTM_GETADDR dump, never taken from what
the test asked for.
"""

import socket

from .netns import IFA_F_DADFAILED, IFA_F_HOMEADDRESS, IFA_F_NODAD, IFA_F_TENTATIVE

DUP = "2001:db8:a::99"


def _fast_dad(ns, ifname):
    ns.sysctl(f"net.ipv6.conf.{ifname}.dad_transmits", 1)
    ns.sysctl(f"net.ipv6.neigh.{ifname}.retrans_time_ms", 200)


def test_nodad_usable_at_once(topo):
    """RFC 4862 5.4 is skipped with IFA_F_NODAD: the address is never tentative
    and a socket can bind and send from it straight after RTM_NEWADDR."""
    addr = "2001:db8:a::20"
    topo.mn.add_addr(topo.mn_if, addr, 64, IFA_F_NODAD)
    flags = topo.mn.addr_flags(addr)
    assert flags is not None, "address missing from the dump"
    assert flags & IFA_F_NODAD, f"dump lacks IFA_F_NODAD: flags={flags:#x}"
    assert not flags & IFA_F_TENTATIVE, f"nodad address is tentative: flags={flags:#x}"
    s = topo.mn.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    with s:
        s.bind((addr, 0))  # EADDRNOTAVAIL if the address were tentative
        s.sendto(b"x", (topo.ha_link, 9))


def test_nodad_duplicate_not_dadfailed(topo):
    """With a duplicate on the link, a nodad address sends no NS and so is
    never marked dadfailed (RFC 4862 5.4.5 does not apply)."""
    _fast_dad(topo.mn, topo.mn_if)
    topo.ha.add_addr(topo.ha_if, DUP, 64, IFA_F_NODAD)
    topo.mn.add_addr(topo.mn_if, DUP, 64, IFA_F_NODAD)
    flags = topo.mn.wait_flags(DUP, set_=IFA_F_DADFAILED, timeout=2.0)
    assert flags is not None
    assert flags & IFA_F_NODAD
    assert not flags & (IFA_F_DADFAILED | IFA_F_TENTATIVE), f"flags={flags:#x}"


def test_dad_duplicate_control(topo):
    """Control for the two tests above: the same address without nodad starts
    tentative and ends dadfailed (RFC 4862 5.4.3, 5.4.5)."""
    _fast_dad(topo.mn, topo.mn_if)
    topo.ha.add_addr(topo.ha_if, DUP, 64, IFA_F_NODAD)
    topo.mn.add_addr(topo.mn_if, DUP, 64, 0)
    first = topo.mn.addr_flags(DUP)
    assert first is not None and first & IFA_F_TENTATIVE, f"not tentative: {first!r}"
    flags = topo.mn.wait_flags(DUP, set_=IFA_F_DADFAILED, timeout=10.0)
    assert flags & IFA_F_DADFAILED, f"duplicate not detected: flags={flags:#x}"


def test_homeaddress_flag_dumped(topo):
    """IFA_F_HOMEADDRESS (RFC 6275 11.3.1 home address) is stored and dumped."""
    topo.add_hoa(IFA_F_NODAD | IFA_F_HOMEADDRESS)
    flags = topo.mn.addr_flags(topo.hoa)
    assert flags is not None and flags & IFA_F_HOMEADDRESS, f"flags={flags!r}"
    assert flags & IFA_F_NODAD
