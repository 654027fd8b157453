# SPDX-License-Identifier: GPL-2.0-only
"""Route optimization next to xfrm interfaces.

Once the xfrm interface code is registered (CONFIG_XFRM_INTERFACE=y, as
in the lean kernel for the MCoA data plane, or its module loaded, which
creating any xfrm interface does), its ESP handler comes first for every
ESP packet of the host, and xfrmi_input() checks the inbound policy of
the states the packet has already met before it processes that header
(for nested tunnels).  A home agent receiving UDP or a Binding Update
with a home address option and then ESP (RFC 3776) has one such state,
the HAO's: the unpatched check looks for a policy of the ESP flow, finds
none, and drops the packet for its route optimization state
(XfrmInNoPols).  AH is not part of the test: xfrmi's AH handler makes no
early check (only the ESP one calls xfrmi_input()), so AH after a HAO
passes unpatched (measured on 6.12).

These send with a classic HAO state (COADDR), which every kernel has, so
the only difference between the kernels is the home agent's input path.
Oracle: the home agent's kernel, which delivers the datagram from the
home address, or counts the drop.
"""

import socket

import pytest

from . import features, patchnames
from .hoastate import UDP_PORT, assert_from_hoa
from .mcoa import HA, HOA, Link
from .packets import NH_UDP
from .receiver import Receiver
from .xfrm import HAO, RO, accept_ro, ipsec_sa
from .xfrmnl import XFRM_MODE_TRANSPORT, XFRM_POLICY_OUT, Tmpl, Xfrm

SPI = 0x5e11
COA = Link(1).coa


@pytest.mark.patch(patchnames.XFRMI_RO)
def test_hao_then_esp_reaches_the_home_agent(mcoa):
    """MN: a classic HAO state HoA -> HA (COADDR CoA1) and an ESP
    transport SA, one policy with both templates, HAO first (RFC 6275's
    header order); HA: the wildrecv HAO state, `proto udp tmpl proto hao
    mode ro level use`, the same SA.  UDP from the HoA must reach the HA's
    socket from the HoA."""
    features.require("XFRM_INTERFACE")
    features.require("INET6_ESP")
    proto = socket.IPPROTO_ESP
    accept_ro(mcoa.ha, HAO, NH_UDP)
    for ns in (mcoa.mn, mcoa.ha):
        ipsec_sa(ns, HOA, HA, proto, SPI)
    with Xfrm(mcoa.mn.name) as x:
        x.add_sa(HOA, HA, proto=HAO, mode=RO, coaddr=COA)
        x.add_policy(XFRM_POLICY_OUT, f"{HOA}/128", f"{HA}/128", upper_proto=NH_UDP,
                     tmpls=[Tmpl(proto=HAO, mode=RO, src=HOA, dst=HA),
                            Tmpl(proto=proto, mode=XFRM_MODE_TRANSPORT)])
    rx = mcoa.ha.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    tx = mcoa.mn.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    with rx, tx:
        rx.bind(("::", UDP_PORT))
        tx.bind((HOA, 0))
        receiver = Receiver(mcoa.ha, rx)
        tx.sendto(b"mip6kit hao then ipsec", (HA, UDP_PORT))
        assert_from_hoa(receiver.wait())
