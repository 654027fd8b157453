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

import socket

import pytest

from . import features
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

MIGRATE_PATCH = "xfrm-migrate-find-type-selective-policies"
COA1, COA2 = Link(1).coa, Link(2).coa
SPI = 0x3776

SELECTORS = {
    # id: (upper protocol, the value in the selector's source port, marker)
    "mh-type-bu": (IPPROTO_MH, 5, pytest.mark.patch(MIGRATE_PATCH)),
    "icmpv6-type-echo": (socket.IPPROTO_ICMPV6, 128, pytest.mark.patch(MIGRATE_PATCH)),
    "udp-port-control": (socket.IPPROTO_UDP, 7003, ()),
}


@pytest.mark.parametrize("upper,value", [
    pytest.param(upper, value, id=case, marks=mark)
    for case, (upper, value, mark) in SELECTORS.items()])
def test_migrate_type_selective_policy(upper, value):
    """ip xfrm policy add dir in src HOA dst HA proto UPPER type|sport VALUE
    tmpl proto esp mode transport; ip xfrm state add src COA1 dst HA proto esp
    spi SPI mode transport ...; then MIGRATE COA1 -> COA2: it must succeed
    and the SA must read back from CoA2 (RFC 4877 4.3, home agent side)."""
    features.require("XFRM_MIGRATE")
    features.require("INET6_ESP")
    esp = dict(proto=socket.IPPROTO_ESP, mode=XFRM_MODE_TRANSPORT)
    with namespaces("ha") as (ha,), Xfrm(ha.name) as x:
        ipsec_sa(ha, COA1, HA, socket.IPPROTO_ESP, SPI)
        x.add_policy(XFRM_POLICY_IN, f"{HOA}/128", f"{HA}/128", upper_proto=upper,
                     mh_type=value, tmpls=[Tmpl(**esp)])
        try:
            x.migrate(f"{HOA}/128", f"{HA}/128", XFRM_POLICY_IN,
                      [dict(old_src=COA1, old_dst=HA, new_src=COA2, new_dst=HA, **esp)],
                      upper_proto=upper, mh_type=value)
        except XfrmError as e:
            pytest.fail(f"MIGRATE of the policy 'proto {upper} sport {value}' failed: {e}")
        sources = sorted(s["src"] for s in x.dump_sa() if s["proto"] == socket.IPPROTO_ESP)
    assert sources == [COA2], f"after MIGRATE the ESP SA comes from {sources}, want [{COA2}]"


MARK_PATCH = "xfrm-migrate-select-the-policy-and-states-by-mark"
CN = "2001:db8:f::1"


@pytest.mark.patch(MARK_PATCH)
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
