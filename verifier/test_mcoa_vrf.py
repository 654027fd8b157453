# SPDX-License-Identifier: GPL-2.0-only
"""MCoA inside a VRF: the strict oif names a link, never a VRF master.

The series makes the oif strict for packets with a home address: the
re-route of a bundle through a HoA state (xfrm6_dst_lookup()) looks up
the link the sender named.  A socket bound to a VRF has the VRF master as
its oif, which names no link, so the re-route must stay a lookup in the
VRF's table (patch "make the oif strict", xfrm6_policy.c).  Here the MN's
two links are enslaved to a VRF (table 10), the HoA state per CoA as in
test_xfrm_hoaddr.py, and a UDP socket bound to the VRF sends from CoA2.
"""

import contextlib
import socket

import pytest

from . import patchnames
from .mcoa import HA, HOA, ha_captures, multihomed
from .netns import wait_can_send
from .packets import NH_UDP, addr, home_address, pktinfo
from .receiver import Receiver
from .xfrm import HAO, accept_ro, hoa_output

VRF, TABLE = "vrf-mn", "10"
UDP_PORT = 7005


@contextlib.contextmanager
def in_vrf():
    """verifier.mcoa's two links, the MN's ends enslaved to VRF; enslaving
    cycles a link, so addresses are kept across it and the routes and
    neighbours the links lose are added back in the VRF's table."""
    with multihomed(2) as m:
        m.mn.sysctl("net.ipv6.conf.all.keep_addr_on_down", 1)
        cmds = [["link", "add", VRF, "type", "vrf", "table", TABLE], ["link", "set", VRF, "up"]]
        cmds += [["link", "set", ln.mn_if, "master", VRF] for ln in m.links]
        m.mn.ip_batch(*cmds)
        m.mn.ip_batch(*[c for ln in m.links for c in (
            ["neigh", "replace", ln.ha_link, "lladdr", m.ha.mac(ln.ha_if), "dev", ln.mn_if,
             "nud", "permanent"],
            ["route", "replace", "2001:db8:1::/64", "via", ln.ha_link, "dev", ln.mn_if,
             "metric", str(100 * ln.n), "table", TABLE])])
        wait_can_send([(m.mn, ln.mn_if) for ln in m.links])
        yield m


@pytest.mark.patch(patchnames.HOA)
def test_hoaddr_state_from_a_vrf_bound_socket(no_splat):
    """A UDP socket bound to the VRF (SO_BINDTODEVICE) sends from CoA2
    (PKTINFO source, no link) through CoA2's HoA state: the datagram leaves
    from CoA2 with HAO(HoA), by a link of the VRF, and the HA delivers it
    from the HoA.  Were the VRF master taken for a named link, the strict
    lookup would find no route on it and the send would fail."""
    with in_vrf() as m:
        m2 = m.links[1]
        accept_ro(m.ha, HAO, NH_UDP)
        hoa_output(m.mn, HA, HOA, [ln.coa for ln in m.links], NH_UDP)
        rx = m.ha.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        rx.bind(("::", UDP_PORT))
        tx = m.mn.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        tx.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, VRF.encode())
        with rx, tx, ha_captures(m) as drain:
            receiver = Receiver(m.ha, rx)
            try:
                tx.sendmsg([b"mip6kit vrf"], [pktinfo(m2.coa, 0)], 0, (HA, UDP_PORT))
            except OSError as e:
                pytest.fail(f"send from a VRF-bound socket through the HoA state: {e}")
            verdict = receiver.wait()
            wire = drain(lambda p: p.proto == NH_UDP and addr(p.dst) == HA)
    seen = [(addr(p.src), home_address(p) and addr(home_address(p)))
            for pkts in wire.values() for p in pkts]
    assert seen == [(m2.coa, HOA)], f"want one datagram from CoA2 with HAO(HoA): {seen}"
    assert verdict.got and verdict.got[1] == HOA, (
        f"HA: {verdict.got and verdict.got[1]} {verdict.drops}")
