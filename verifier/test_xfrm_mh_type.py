# SPDX-License-Identifier: GPL-2.0-only
"""XFRM selectors on the Mobility Header type (RFC 6275 11.3.1, RFC 3776).

A home agent lets route-optimised traffic in with an inbound policy that
selects the MH type, as UMIP's mip6d installs it:
  ip xfrm policy add dir in ... proto 135 type 5 tmpl proto hao mode ro level use
Since "xfrm: policy: replace session decode with flow dissector"
(7a0207094f1b, Linux 6.7) decode_session6() no longer fills fl6_mh_type on
input, so such a policy never matches and the HA drops every BU with a HAO
(XfrmInNoPols).  The MN sends through an XFRM HAO state (from the HoA, the
kernel inserts the HAO and sums over the HoA), so these tests do not depend
on the raw.c checksum patch.  Oracle: the HA kernel's delivery to its MH
socket and its XfrmInNoPols counter.
"""

import socket

import pytest

from . import features, patchnames
from .netns import IFA_F_HOMEADDRESS, IFA_F_NODAD
from .packets import NH_MH, addr, binding_ack, home_address, mh_message, pktinfo, rh2_header
from .receiver import watch
from .xfrm import HAO, RH2, accept_ro, flush, hao_output

BU, BA, BRR = 5, 6, 0
MH_TYPES = {0: "BRR", 1: "HoTI", 2: "CoTI", 3: "HoT", 4: "CoT", 5: "BU", 6: "BA", 7: "BE"}


def ha_selecting(t, mh_type: int):
    """HoA on the MN, an outbound HAO state for MH HoA -> HA; the HA accepts
    HAO-carrying MH messages of mh_type only."""
    features.require("IPV6_MIP6")
    features.require("XFRM_STATISTICS")
    t.add_hoa(IFA_F_NODAD | IFA_F_HOMEADDRESS)
    hao_output(t.mn, t.ha_addr, t.hoa, t.coa, NH_MH)
    accept_ro(t.ha, HAO, NH_MH, mh_type=mh_type)
    return t


@pytest.fixture
def mh_ha(topo, no_splat):
    """The HA accepts Binding Updates only."""
    return ha_selecting(topo, BU)


def send_mh(t, mh_type: int):
    """An MH message of mh_type from the HoA to the HA; (verdict, wire).
    The socket is bound to the HoA, as a daemon's is: with IPV6_MIP6=m an
    unpatched kernel's source selection would pick the CoA (no rule 4,
    test_source_selection.py), and these tests are about the MH type."""
    rx = t.ha.socket(socket.AF_INET6, socket.SOCK_RAW, NH_MH)
    tx = t.mn.socket(socket.AF_INET6, socket.SOCK_RAW, NH_MH)
    with rx, tx:
        tx.bind((t.hoa, 0))
        return watch(t.ha, t.ha_if, rx, lambda: tx.sendto(mh_message(mh_type), (t.ha_addr, 0)),
                     wire=lambda p: p.proto == NH_MH and addr(p.dst) == t.ha_addr,
                     accept=lambda d: len(d) > 2 and d[2] == mh_type)


@pytest.mark.patch(patchnames.MH_TYPE)
def test_bu_delivered_by_type_selective_policy(mh_ha):
    """A BU from the CoA with a HAO matches the HA's `proto 135 type 5`
    inbound policy and reaches its MH socket; XfrmInNoPols stays put.
    Fails on 6.7+ without the fix: fl6_mh_type is 0 on input."""
    t = mh_ha
    before = t.ha.snmp("XfrmInNoPols")
    verdict, wire = send_mh(t, BU)
    assert len(wire) == 1 and addr(wire[0].src) == t.coa, "BU did not leave from the CoA"
    assert home_address(wire[0]) is not None and addr(home_address(wire[0])) == t.hoa
    nopols = t.ha.snmp("XfrmInNoPols") - before
    assert verdict.delivered, (f"HA dropped the BU (XfrmInNoPols +{nopols}, counters "
                               f"moved: {verdict.drops}): the type 5 selector did not match")
    assert verdict.peer == t.hoa and nopols == 0


def test_other_type_refused_by_type_selective_policy(mh_ha):
    """Passes on every kernel: a BRR (type 0) with a HAO matches no inbound
    policy (the HA selects type 5 only), so the HA rejects its sec_path and
    counts XfrmInNoPols: a type selector must not become a wildcard."""
    t = mh_ha
    before = t.ha.snmp("XfrmInNoPols")
    verdict, wire = send_mh(t, BRR)
    assert len(wire) == 1 and home_address(wire[0]) is not None
    assert not verdict.delivered, "BRR delivered although the policy selects BUs only"
    assert t.ha.snmp("XfrmInNoPols") == before + 1


@pytest.mark.patch(patchnames.MH_TYPE)
def test_bu_refused_by_type_zero_policy(topo, no_splat):
    """The negative the BRR test cannot be: the HA's inbound policy selects
    type 0 (BRR) only, and a BU (type 5) with a HAO must be refused
    (XfrmInNoPols).  On an affected kernel every received MH message
    decodes as type 0, so the BU matches and is delivered."""
    t = ha_selecting(topo, BRR)
    before = t.ha.snmp("XfrmInNoPols")
    verdict, wire = send_mh(t, BU)
    assert len(wire) == 1 and home_address(wire[0]) is not None, "the BU left without a HAO"
    assert not verdict.delivered, (
        "BU delivered through a policy that selects type 0 only: the MH type was "
        "decoded as 0")
    assert t.ha.snmp("XfrmInNoPols") == before + 1


@pytest.mark.patch(patchnames.MH_TYPE)
def test_ba_with_rh2_delivered_by_type_selective_policy(topo, no_splat):
    """The MN's side (RFC 6275 6.4, 11.3.1): a BA from the HA comes to the
    CoA with a type 2 routing header; the MN's inbound policy selects MH
    type 6 with the RH2 template, so the type must be read past the routing
    header.  Fails on 6.7+ without the fix (type decoded as 0)."""
    features.require("IPV6_MIP6")
    features.require("XFRM_STATISTICS")
    t = topo
    t.add_hoa(IFA_F_NODAD | IFA_F_HOMEADDRESS)
    accept_ro(t.mn, RH2, NH_MH, mh_type=BA)
    cmsgs = [pktinfo(t.ha_addr, 0), (socket.IPPROTO_IPV6, socket.IPV6_RTHDR, rh2_header(t.coa))]
    before = t.mn.snmp("XfrmInNoPols")
    rx = t.mn.socket(socket.AF_INET6, socket.SOCK_RAW, NH_MH)
    tx = t.ha.socket(socket.AF_INET6, socket.SOCK_RAW, NH_MH)
    with rx, tx:
        verdict, wire = watch(t.mn, t.mn_if, rx,
                              lambda: tx.sendmsg([binding_ack(77, 10)], cmsgs, 0, (t.hoa, 0)),
                              wire=lambda p: p.proto == NH_MH and addr(p.src) == t.ha_addr,
                              accept=lambda d: len(d) > 2 and d[2] == BA)
    assert [(addr(p.dst), p.rh2_home() and addr(p.rh2_home())) for p in wire] == [
        (t.coa, t.hoa)], "the BA did not come to the CoA with an RH2 for the HoA"
    nopols = t.mn.snmp("XfrmInNoPols") - before
    assert verdict.delivered and verdict.peer == t.ha_addr, (
        f"MN dropped the BA (XfrmInNoPols +{nopols}, counters moved: {verdict.drops}): "
        "the type 6 selector did not match past the RH2")


def test_untyped_policy_workaround(topo, no_splat):
    """Passes on every kernel: the workaround for affected kernels, an
    inbound policy on proto 135 without a type, lets the BU in."""
    features.require("IPV6_MIP6")
    t = topo
    t.add_hoa(IFA_F_NODAD | IFA_F_HOMEADDRESS)
    hao_output(t.mn, t.ha_addr, t.hoa, t.coa, NH_MH)
    accept_ro(t.ha, HAO, NH_MH)
    verdict, _ = send_mh(t, BU)
    assert verdict.delivered and verdict.peer == t.hoa


def test_output_selects_by_mh_type(topo, no_splat):
    """Passes on every kernel: on output fl6_mh_type comes from the raw
    socket (rawv6_probe_proto_opt), so an outbound HAO policy selecting type
    T applies to messages of type T only, for every MH type of RFC 6275."""
    features.require("IPV6_MIP6")
    t = topo
    t.add_hoa(IFA_F_NODAD | IFA_F_HOMEADDRESS)
    accept_ro(t.ha, HAO, NH_MH)
    wrong = []
    for mh_type, name in MH_TYPES.items():
        flush(t.mn)
        hao_output(t.mn, t.ha_addr, t.hoa, t.coa, NH_MH, mh_type=mh_type)
        other = (mh_type + 1) % len(MH_TYPES)
        for sent, want_hao in ((mh_type, True), (other, False)):
            _, wire = send_mh(t, sent)
            has_hao = len(wire) == 1 and home_address(wire[0]) is not None
            if len(wire) != 1 or has_hao != want_hao:
                wrong.append(f"policy type {mh_type} ({name}), sent type {sent}: "
                             f"{len(wire)} packets, HAO {'present' if has_hao else 'absent'}")
    assert not wrong, "\n".join(wrong)
