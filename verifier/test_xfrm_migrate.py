# SPDX-License-Identifier: GPL-2.0-only
"""XFRM_MSG_MIGRATE of a policy whose selector names an upper-layer type.

RFC 3776 and RFC 4877 protect a mobile node's home registration with ESP
in transport mode; when the mobile node moves, its home agent migrates the
SA and the policy to the new care-of address (UMIP's mip6d does it on every
registration, for policies selecting the Mobility Header type).  Linux 6.12
builds a flow from the selector to find the policy and puts the selector's
ports where only TCP, UDP and SCTP keep them, so a policy that selects an MH
or ICMPv6 type is never found and MIGRATE fails with ENOENT (6.1 compared
the selector itself).

No daemon and no traffic: one namespace, an inbound policy from the HoA to
the HA with an ESP transport template, its SA from CoA1, and a MIGRATE to
CoA2 sent by verifier.xfrmnl; the oracle is the SAD dump read back.
"""

import errno
import socket

import pytest

from . import features, patchnames
from .mcoa import HA, HOA, Link
from .netns import namespaces
from .xfrm import ipsec_sa
from .xfrmnl import (
    IPPROTO_MH,
    XFRM_MODE_TRANSPORT,
    XFRM_MODE_TUNNEL,
    XFRM_POLICY_IN,
    XFRM_POLICY_OUT,
    Tmpl,
    Xfrm,
    XfrmError,
)

COA1, COA2 = Link(1).coa, Link(2).coa
SPI = 0x3776

# IPv4: a dual-stack home agent (RFC 5555) migrates IPv4 policies the same way.
HOA4, HA4, COA1_4, COA2_4 = "10.1.0.10", "10.1.0.1", "10.10.0.10", "10.11.0.10"
GRE_KEY = 0x00010002  # its halves differ: a flow with them swapped finds nothing

SELECTORS = {
    # id: (upper protocol, selector source port, destination port, IPv4, marker)
    "mh-type-bu": (IPPROTO_MH, 5, None, False, pytest.mark.patch(patchnames.MIGRATE_TYPE)),
    "icmpv6-type-echo": (socket.IPPROTO_ICMPV6, 128, None, False,
                         pytest.mark.patch(patchnames.MIGRATE_TYPE)),
    "icmp4-type-echo": (socket.IPPROTO_ICMP, 8, None, True, pytest.mark.patch(patchnames.MIGRATE_TYPE)),
    "gre-key": (socket.IPPROTO_GRE, GRE_KEY >> 16, GRE_KEY & 0xFFFF, False,
                pytest.mark.patch(patchnames.MIGRATE_TYPE)),
    "udp-port-control": (socket.IPPROTO_UDP, 7003, None, False, ()),
}


@pytest.mark.parametrize("upper,sport,dport,ipv4", [
    pytest.param(upper, sport, dport, ipv4, id=case, marks=mark)
    for case, (upper, sport, dport, ipv4, mark) in SELECTORS.items()])
def test_migrate_type_selective_policy(upper, sport, dport, ipv4):
    """ip xfrm policy add dir in src HOA dst HA proto UPPER type|sport|key
    VALUE tmpl proto esp mode transport; ip xfrm state add src COA1 dst HA
    proto esp spi SPI mode transport ...; then MIGRATE COA1 -> COA2: it must
    succeed and the SA must read back from CoA2 (RFC 4877 4.3, home agent
    side).  ICMP types and codes, MH types and GRE keys each sit in the flow
    where xfrm_flowi_sport()/dport() read them back; IPv4 (a dual-stack
    home agent) builds its flow the same way."""
    features.require("XFRM_MIGRATE")
    features.require("INET6_ESP")
    hoa, ha_addr, coa1, coa2 = (HOA4, HA4, COA1_4, COA2_4) if ipv4 else (HOA, HA, COA1, COA2)
    if ipv4:
        features.require("INET_ESP")
    esp = dict(proto=socket.IPPROTO_ESP, mode=XFRM_MODE_TRANSPORT)
    selector = dict(upper_proto=upper, mh_type=sport, dport=dport)
    with namespaces("ha") as (ha,), Xfrm(ha.name) as x:
        ipsec_sa(ha, coa1, ha_addr, socket.IPPROTO_ESP, SPI)
        x.add_policy(XFRM_POLICY_IN, hoa, ha_addr, tmpls=[Tmpl(**esp)], **selector)
        try:
            x.migrate(hoa, ha_addr, XFRM_POLICY_IN,
                      [dict(old_src=coa1, old_dst=ha_addr, new_src=coa2, new_dst=ha_addr,
                            **esp)], **selector)
        except XfrmError as e:
            pytest.fail(f"MIGRATE of the policy 'proto {upper} sport {sport} dport {dport}' "
                        f"failed: {e}")
        sources = sorted(s["src"] for s in x.dump_sa() if s["proto"] == socket.IPPROTO_ESP)
    assert sources == [coa2], f"after MIGRATE the ESP SA comes from {sources}, want [{coa2}]"


CN = "2001:db8:f::1"


@pytest.mark.patch(patchnames.MIGRATE_MARK)
def test_migrate_moves_only_the_marked_pair():
    """Per-CoA IPsec (MCoA under RFC 4877): two tunnel policies HoA -> CN
    with one selector, marks 1 and 2, each with its ESP SA from its own CoA.
    CoA2 becomes CoA3: a MIGRATE carrying XFRMA_MARK 2 moves exactly the
    mark 2 policy and SA, and the mark 1 pair stays.  Unpatched 6.12 finds
    no marked policy (ENOENT); 6.1 ignores the mark and takes the mark 1
    policy, whose template does not match (ENODATA)."""
    features.require("XFRM_MIGRATE")
    features.require("INET6_ESP")
    coa3 = Link(3).coa
    tunnel = dict(proto=socket.IPPROTO_ESP, mode=XFRM_MODE_TUNNEL)
    with namespaces("mn") as (mn,), Xfrm(mn.name) as x:
        for mark, coa in ((1, COA1), (2, COA2)):
            ipsec_sa(mn, coa, HA, socket.IPPROTO_ESP, SPI + mark, XFRM_MODE_TUNNEL, mark)
            x.add_policy(XFRM_POLICY_OUT, f"{HOA}/128", f"{CN}/128", mark=mark,
                         tmpls=[Tmpl(src=coa, dst=HA, **tunnel)])
        try:
            x.migrate(f"{HOA}/128", f"{CN}/128", XFRM_POLICY_OUT,
                      [dict(old_src=COA2, old_dst=HA, new_src=coa3, new_dst=HA, **tunnel)],
                      mark=2)
        except XfrmError as e:
            pytest.fail(f"MIGRATE with XFRMA_MARK 2 failed: {e}")
        policies = sorted((p["mark"][0], p["tmpls"][0].src) for p in x.dump_policy())
        states = sorted((s["mark"][0], s["src"]) for s in x.dump_sa())
    assert policies == [(1, COA1), (2, coa3)], f"policy (mark, template source): {policies}"
    assert states == [(1, COA1), (2, coa3)], f"SA (mark, source): {states}"


@pytest.mark.patch(patchnames.MIGRATE_MARK)
@pytest.mark.parametrize("reqid", [0, 7], ids=["by-address", "by-reqid"])
def test_migrate_picks_the_marked_state_among_same_address_ones(reqid):
    """Two flows of one CoA protected by two SAs with the same addresses,
    told apart by mark (policies marks 1 and 2, HoA -> CN, both through
    CoA2).  A MIGRATE with XFRMA_MARK 2 (and the states' reqid, or none,
    which searches by address) moves the mark 2 policy and SA to CoA3 and
    leaves the mark 1 pair on CoA2, although the mark 1 SA comes first in
    the state hash chain (added last).  Unpatched 6.12: ENOENT; 6.1 moves
    whatever it finds first."""
    features.require("XFRM_MIGRATE")
    features.require("INET6_ESP")
    coa3 = Link(3).coa
    tunnel = dict(proto=socket.IPPROTO_ESP, mode=XFRM_MODE_TUNNEL)
    with namespaces("mn") as (mn,), Xfrm(mn.name) as x:
        for mark in (2, 1):  # mark 1 last: first in its hash chain
            ipsec_sa(mn, COA2, HA, socket.IPPROTO_ESP, SPI + mark, XFRM_MODE_TUNNEL, mark,
                     reqid=reqid)
            x.add_policy(XFRM_POLICY_OUT, f"{HOA}/128", f"{CN}/128", mark=mark,
                         tmpls=[Tmpl(src=COA2, dst=HA, reqid=reqid, **tunnel)])
        try:
            x.migrate(f"{HOA}/128", f"{CN}/128", XFRM_POLICY_OUT,
                      [dict(old_src=COA2, old_dst=HA, new_src=coa3, new_dst=HA, reqid=reqid,
                            **tunnel)], mark=2)
        except XfrmError as e:
            pytest.fail(f"MIGRATE with XFRMA_MARK 2 failed: {e}")
        policies = sorted((p["mark"][0], p["tmpls"][0].src) for p in x.dump_policy())
        states = sorted((s["mark"][0], s["spi"], s["src"]) for s in x.dump_sa())
    assert policies == [(1, COA2), (2, coa3)], f"policy (mark, template source): {policies}"
    assert states == [(1, SPI + 1, COA2), (2, SPI + 2, coa3)], f"SA (mark, spi, source): {states}"


@pytest.mark.patch(patchnames.MIGRATE_MARK)
def test_marked_migrate_leaves_an_unmarked_policy():
    """An unmarked policy matches a flow of any mark, so the lookup of a
    MIGRATE with XFRMA_MARK 2 finds it; it is not the mark 2 policy, so
    the MIGRATE must fail (ENOENT) and change nothing.  Unpatched kernels
    ignore the mark and migrate the unmarked pair."""
    features.require("XFRM_MIGRATE")
    features.require("INET6_ESP")
    coa3 = Link(3).coa
    tunnel = dict(proto=socket.IPPROTO_ESP, mode=XFRM_MODE_TUNNEL)
    with namespaces("mn") as (mn,), Xfrm(mn.name) as x:
        ipsec_sa(mn, COA2, HA, socket.IPPROTO_ESP, SPI, XFRM_MODE_TUNNEL)
        x.add_policy(XFRM_POLICY_OUT, f"{HOA}/128", f"{CN}/128",
                     tmpls=[Tmpl(src=COA2, dst=HA, **tunnel)])
        before = (x.dump_policy(), x.dump_sa_raw())
        with pytest.raises(XfrmError) as exc:
            x.migrate(f"{HOA}/128", f"{CN}/128", XFRM_POLICY_OUT,
                      [dict(old_src=COA2, old_dst=HA, new_src=coa3, new_dst=HA, **tunnel)],
                      mark=2)
        after = (x.dump_policy(), x.dump_sa_raw())
    assert exc.value.errno == errno.ENOENT, exc.value
    assert after == before, "a refused MIGRATE changed the SPD or the SAD"
