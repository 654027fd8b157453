# SPDX-License-Identifier: GPL-2.0-only
"""Type 2 routing header delivery and home addresses (RFC 6275 6.4, 9.3.2).

The HA namespace acts as correspondent node: it sends UDP to the mobile
node's HoA with an RH2 carrying the CoA, so the packet travels to the CoA.
The mobile node accepts it only if the HoA is one of its home addresses
(ipv6_chk_home_addr: IFA_F_HOMEADDRESS).
"""

import socket

import pytest

from . import features
from .netns import IFA_F_HOMEADDRESS, IFA_F_NODAD
from .packets import NH_ROUTING, NH_UDP, addr, checksum_source, rh2_header
from .receiver import watch
from .xfrm import RH2, accept_ro

PORT = 7001


def _send_rh2(topo) -> list:
    rx = topo.mn.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    rx.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVPKTINFO, 1)
    rx.bind(("::", PORT))
    tx = topo.ha.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    rth = [(socket.IPPROTO_IPV6, socket.IPV6_RTHDR, rh2_header(topo.coa))]
    with rx, tx:
        verdict, wire = watch(topo.mn, topo.mn_if, rx,
                              lambda: tx.sendmsg([b"rh2"], rth, 0, (topo.hoa, PORT)),
                              wire=lambda p: p.proto == NH_UDP and p.rh2_home() is not None,
                              ancsize=socket.CMSG_SPACE(20))
    dst = None
    for level, kind, value in verdict.anc:
        if level == socket.IPPROTO_IPV6 and kind == socket.IPV6_PKTINFO:
            dst = addr(value[:16])
    return [wire, verdict.got, dst]


@pytest.fixture
def rh2_topo(topo):
    features.require("IPV6_MIP6")
    accept_ro(topo.mn, RH2, NH_UDP)
    return topo


def test_rh2_delivered_to_home_address(rh2_topo):
    """RFC 6275 9.3.2: a packet to the CoA with an RH2 naming a home address
    (IFA_F_HOMEADDRESS) is delivered to the HoA, and its UDP checksum was
    summed over the final destination (RFC 6275 6.4)."""
    t = rh2_topo
    t.add_hoa(IFA_F_NODAD | IFA_F_HOMEADDRESS)
    wire, got, dst = _send_rh2(t)
    assert len(wire) == 1, f"expected one RH2 packet on m0, saw {len(wire)}"
    pkt = wire[0]
    assert addr(pkt.dst) == t.coa and addr(pkt.rh2_home()) == t.hoa
    assert [h for h, _ in pkt.ext] == [NH_ROUTING]
    assert checksum_source(pkt) == pkt.src, "UDP checksum not over (src, final dst)"
    assert got is not None, "RH2 packet was not delivered"
    assert got == (b"rh2", t.ha_link) and dst == t.hoa


def test_rh2_dropped_without_home_flag(rh2_topo):
    """RFC 6275 9.3.2: if the RH2 address is not a home address of the node
    (no IFA_F_HOMEADDRESS), the packet is silently discarded."""
    t = rh2_topo
    t.add_hoa(IFA_F_NODAD)
    before = t.mn.snmp("Ip6InAddrErrors")
    wire, got, _ = _send_rh2(t)
    assert len(wire) == 1, "the RH2 packet never reached the mobile node"
    assert got is None, "delivered although the HoA lacks IFA_F_HOMEADDRESS"
    assert t.mn.snmp("Ip6InAddrErrors") == before + 1



