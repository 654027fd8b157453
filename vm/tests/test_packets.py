# SPDX-License-Identifier: GPL-2.0-only
"""The verifier's checksum oracle, checked against scapy where scapy is right
(a HAO that is the only option of its header) and against hand-made bytes."""

import socket
import struct

import pytest
from scapy.layers.inet6 import (
    HAO,
    MIP6MH_BA,
    MIP6MH_BRR,
    MIP6MH_BU,
    UDP,
    IPv6,
    IPv6ExtHdrDestOpt,
    IPv6ExtHdrRouting,
)

from mip6kit.verifier import packets

COA, HOA, HA = "2001:db8:a::10", "2001:db8:1::10", "2001:db8:1::1"


def _ip(a):
    return socket.inet_pton(socket.AF_INET6, a)


def test_scapy_hao_alone_agrees_with_oracle():
    pkt = IPv6(src=COA, dst=HA) / IPv6ExtHdrDestOpt(options=[HAO(hoa=HOA)]) / \
        MIP6MH_BU(seq=1, flags="AH", mhtime=10)
    parsed = packets.parse_ipv6(bytes(pkt))
    assert packets.home_address(parsed) == _ip(HOA)
    assert packets.checksum_source(parsed) == _ip(HOA)


def test_sum_over_coa_is_detected():
    """The bug: a HAO packet summed over the CoA.  The oracle says CoA."""
    body = bytes(MIP6MH_BU(seq=1, flags="AH", mhtime=10, cksum=0))
    opts = packets.hao_option(HOA)
    opts = bytes([135]) + opts[1:]
    ph = _ip(COA) + _ip(HA) + struct.pack("!I3xB", len(body), 135)
    csum = 0xFFFF - packets.ones_complement_sum(ph + body)
    body = body[:4] + struct.pack("!H", csum) + body[6:]
    hdr = struct.pack("!IHBB", 6 << 28, len(opts) + len(body), 60, 64) + _ip(COA) + _ip(HA)
    parsed = packets.parse_ipv6(hdr + opts + body)
    assert packets.home_address(parsed) == _ip(HOA)
    assert packets.checksum_source(parsed) == _ip(COA)


def test_rh2_final_destination_is_used():
    pkt = IPv6(src=HA, dst=COA) / IPv6ExtHdrRouting(type=2, addresses=[HOA], segleft=1) / \
        UDP(sport=1, dport=2) / b"x"
    # scapy sums over the final destination of a routing header: right here.
    parsed = packets.parse_ipv6(bytes(pkt))
    assert parsed.rh2_home() == _ip(HOA)
    assert packets.checksum_source(parsed) == _ip(HA)


def test_malformed_options_have_no_home_address():
    hdr = bytes([59, 0, 201, 16, 0, 0, 0, 0])  # HAO overruns an 8-byte header
    assert packets.tlvs(hdr) is None
    two = packets.dstopts_header(b"\x01\x00" + (bytes([201, 16]) + _ip(HOA)) * 2)
    pkt = packets.Packet(_ip(COA), _ip(HA), [(60, two)], 135, b"")
    assert packets.home_address(pkt) is None


def test_pad1_run_then_hao():
    hdr = bytes([59, 2]) + b"\0" * 4 + bytes([201, 16]) + _ip(HOA)
    opts = packets.tlvs(hdr)
    assert [t for t, _ in opts] == [0, 0, 0, 0, 201]


def test_hao_option_alignment():
    """RFC 6275 6.3: the HAO has alignment 8n+6."""
    hdr = packets.hao_option(HOA)
    assert len(hdr) % 8 == 0 and hdr.index(bytes([201, 16])) % 8 == 6
    assert hdr[hdr.index(bytes([201, 16])) + 2:][:16] == _ip(HOA)


def test_hao_before_routing_header_is_ignored():
    """A HAO in the dst0 header (before the RH) is for intermediate nodes."""
    dst0 = packets.hao_option(HOA)
    rh = packets.rh2_header(HOA)
    pkt = packets.Packet(_ip(COA), _ip(HA), [(60, dst0), (43, rh)], 135, b"")
    assert packets.home_address(pkt) is None


def test_ambiguous_addresses_are_refused():
    a, b = "2001:db8::1:0", "2001:db8::0:1"  # same one's complement sum
    pkt = packets.Packet(_ip(a), _ip(HA), [(60, packets.hao_option(b))], 135, b"\0" * 8)
    with pytest.raises(ValueError, match="same 16-bit sum"):
        packets.checksum_source(pkt)


def test_mh_builders_agree_with_scapy():
    """The verifier builds its Mobility Header messages itself (scapy costs
    seconds to import in a TCG guest); scapy checks the bytes here."""
    assert packets.binding_update(4242, 10) == bytes(
        MIP6MH_BU(seq=4242, flags="AH", mhtime=10, cksum=0))
    assert packets.binding_ack(4242, 10) == bytes(
        MIP6MH_BA(status=0, flags=0, seq=4242, mhtime=10, cksum=0))
    assert packets.mh_seq(packets.binding_update(7, 1)) == (packets.MH_BU, 7)
    assert packets.mh_seq(packets.binding_ack(8, 1)) == (packets.MH_BA, 8)
    brr = packets.mh_message(packets.MH_BRR)
    assert MIP6MH_BRR(brr).mhtype == 0 and len(brr) == 24 and brr[1] == 2


@pytest.mark.parametrize("proto", [17, 136])
def test_zero_sum_tail_makes_the_sum_zero_over_one_source_only(proto):
    """The oracle of the zero-result HoA-state tests, checked against scapy's
    UDP checksum: the constructed tail makes the sum over the HoA exactly 0
    (scapy then writes 0xffff), and not over the CoA."""
    head = struct.pack("!HHHH", 7011, 7003, 8 + 16 + 2, 0) + b"mip6kit zero sum"
    tail = packets.zero_sum_tail(HOA, HA, proto, head)
    assert packets.upper_checksum(HOA, HA, proto, head + tail) == 0
    assert packets.upper_checksum(COA, HA, proto, head + tail) != 0
    if proto == 17:
        udp = IPv6(src=HOA, dst=HA) / UDP(sport=7011, dport=7003) / (head[8:] + tail)
        assert bytes(udp)[40 + 6:40 + 8] == b"\xff\xff"


def test_reassembly_of_fragments_scapy_made():
    """packets.reassemble() against scapy's fragment6(): the unfragmentable
    part (a HAO) on every fragment, the payload back whole, in any order."""
    from scapy.layers.inet6 import IPv6ExtHdrFragment, fragment6

    payload = bytes(range(256)) * 12
    pkt = (IPv6(src=COA, dst=HA) / IPv6ExtHdrDestOpt(options=[HAO(hoa=HOA)]) /
           IPv6ExtHdrFragment() / UDP(sport=1, dport=2) / payload)
    frags = [packets.parse_ipv6(bytes(f)) for f in fragment6(pkt, 1280)]
    assert len(frags) >= 3 and all(packets.home_address(f) == _ip(HOA) for f in frags)
    whole = packets.reassemble(list(reversed(frags)))
    assert whole is not None and whole.proto == packets.NH_UDP
    assert whole.payload[8:] == payload and len(whole.payload) == 8 + len(payload)
    assert packets.reassemble(frags[:-1]) is None, "a missing last fragment must fail"
    assert packets.reassemble(frags[1:]) is None, "a missing first fragment must fail"


def test_compat_layout_of_newsa():
    """The i386 NEWSA: 220 bytes of xfrm_usersa_info (224 native), the
    attributes right after, the length fixed; the fields before the tail
    padding unchanged."""
    from mip6kit.verifier import compat32, xfrmnl

    native = bytes(xfrmnl.encode_sa(COA, HA, proto=xfrmnl.IPPROTO_DSTOPTS,
                                    mode=xfrmnl.XFRM_MODE_ROUTEOPTIMIZATION, coaddr=COA,
                                    hoaddr=HOA))
    compat = compat32.usersa_to_compat(native)
    assert len(compat) == len(native) - 4
    assert struct.unpack_from("=I", compat)[0] == len(compat)
    assert compat[4:16 + 217] == native[4:16 + 217]  # every field
    assert compat[16 + 220:] == native[16 + 224:]  # the attributes
