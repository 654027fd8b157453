# SPDX-License-Identifier: GPL-2.0-only
"""XFRMA_HOADDR at the edges of the checksum move (mip6_hao_fix_csum()):
a result of exactly zero, a first fragment, a transport header cut short,
and ESP or AH in the same bundle, in both orders.

Same set-up as test_xfrm_hoaddr.py: the MN has one HoA state per CoA, all
naming CoA1 as COADDR, and sends from CoA2 (IPV6_PKTINFO); the HA is a
receiving MIP6 kernel that accepts any HAO.  An unpatched kernel ignores
XFRMA_HOADDR and rewrites the source to COADDR, so each test here fails on
it as well as on the v2 series, whose bugs these rows were written for.
"""

import errno
import socket
import struct

import pytest

from . import patchnames
from .hoastate import (
    IPPROTO_UDPLITE,
    LINKS,
    UDP_PORT,
    assert_from_hoa,
    assert_left_from_coa,
    hoa_states,
)
from .mcoa import HA, HOA, ha_captures
from .packets import (
    NH_FRAGMENT,
    NH_UDP,
    addr,
    home_address,
    pktinfo,
    pseudo_header_sum_ok,
    reassemble,
    upper_checksum,
    zero_sum_tail,
)
from .receiver import Receiver
from .xfrm import HAO, RO, accept_ro, ipsec_sa, xfrm_algo
from .xfrmnl import (
    IPPROTO_DSTOPTS,
    XFRM_MODE_ROUTEOPTIMIZATION,
    XFRM_MODE_TRANSPORT,
    XFRM_POLICY_OUT,
    XFRM_SA_DIR_OUT,
    XFRMA_ALG_AUTH,
    XFRMA_ALG_CRYPT,
    Tmpl,
    Xfrm,
    parse_sa,
)

M2 = LINKS[1]
SPORT = 7011
ESP_SPI = 0x4d36


@pytest.mark.patch(patchnames.HOA)
@pytest.mark.parametrize("proto", [NH_UDP, IPPROTO_UDPLITE], ids=["udp", "udplite"])
def test_zero_result_sent_as_all_ones(mcoa, proto):
    """A datagram whose sum over the HoA is exactly 0: the moved checksum
    must leave as 0xFFFF (RFC 768; RFC 3828 3.1: UDP-Lite has no
    checksum-less form, a zero check field is dropped).  The payload is
    constructed, not searched for: its last word makes the sum zero."""
    body = b"mip6kit zero sum"
    head = struct.pack("!HHHH", SPORT, UDP_PORT, 8 + len(body) + 2, 0) + body
    payload = body + zero_sum_tail(HOA, HA, proto, head)
    assert upper_checksum(M2.coa, HA, proto, head[:8] + payload) != 0, (
        "the sum over the CoA must not be zero too, or nothing is moved")
    accept_ro(mcoa.ha, HAO, proto)
    hoa_states(mcoa.mn, proto)
    rx = mcoa.ha.socket(socket.AF_INET6, socket.SOCK_DGRAM, proto)
    rx.bind(("::", UDP_PORT))
    tx = mcoa.mn.socket(socket.AF_INET6, socket.SOCK_DGRAM, proto)
    tx.bind(("::", SPORT))
    with rx, tx, ha_captures(mcoa) as drain:
        receiver = Receiver(mcoa.ha, rx)
        tx.sendmsg([payload], [pktinfo(M2.coa, mcoa.mn.ifindex(M2.mn_if))], 0, (HA, UDP_PORT))
        verdict = receiver.wait()
        wire = drain(lambda p: p.proto == proto and addr(p.dst) == HA)
    pkts = [p for got in wire.values() for p in got]
    assert [p.payload[6:8].hex() for p in pkts] == ["ffff"], (
        "the checksum field on the wire must be ffff (a computed zero); a zero "
        f"UDP-Lite field is invalid: {[p.payload[6:8].hex() for p in pkts]}")
    assert_left_from_coa(M2, proto, wire)
    assert_from_hoa(verdict)


def udp_fragments(src: str, body: bytes, first: int) -> list[bytes]:
    """One UDP datagram src:SPORT -> HA:UDP_PORT, summed over src, cut into
    two fragments after `first` bytes of the datagram (a multiple of 8):
    each a Fragment header (RFC 8200 4.5) and its part."""
    seg = struct.pack("!HHHH", SPORT, UDP_PORT, 8 + len(body), 0) + body
    seg = seg[:6] + struct.pack("!H", upper_checksum(src, HA, NH_UDP, seg) or 0xFFFF) + seg[8:]
    ident = 0x6d697036
    return [struct.pack("!BBHI", NH_UDP, 0, 0x0001, ident) + seg[:first],
            struct.pack("!BBHI", NH_UDP, 0, first, ident) + seg[first:]]


@pytest.mark.patch(patchnames.HOA)
def test_first_fragment_summed_over_hoa(mcoa):
    """A UDP datagram sent as two fragments through a HoA state (a raw
    IPPROTO_FRAGMENT socket stands for a sender that fragments before the
    state, such as a tunnel): the sum in the first fragment (offset 0, M
    set) is moved, so the HA reassembles it and delivers it from the HoA.
    v2 tested the whole frag_off field, M bit included, and skipped it."""
    accept_ro(mcoa.ha, HAO, NH_UDP)
    hoa_states(mcoa.mn, NH_FRAGMENT)
    rx = mcoa.ha.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    rx.bind(("::", UDP_PORT))
    tx = mcoa.mn.socket(socket.AF_INET6, socket.SOCK_RAW, NH_FRAGMENT)
    with rx, tx, ha_captures(mcoa) as drain:
        receiver = Receiver(mcoa.ha, rx)
        for frag in udp_fragments(M2.coa, b"mip6kit fragmented datagram, two parts" * 2, 48):
            tx.sendmsg([frag], [pktinfo(M2.coa, mcoa.mn.ifindex(M2.mn_if))], 0, (HA, 0))
        verdict = receiver.wait()
        wire = drain(lambda p: p.proto == NH_FRAGMENT and addr(p.dst) == HA)
    pkts = [p for got in wire.values() for p in got]
    assert [(addr(p.src), home_address(p) and addr(home_address(p))) for p in pkts] == [
        (M2.coa, HOA)] * 2, "both fragments must leave from CoA2 with HAO(HoA)"
    assert_from_hoa(verdict)


BIG = 3000


@pytest.mark.patch(patchnames.HOA)
def test_datagram_fragmented_after_the_state(mcoa):
    """A 3000-byte UDP datagram from CoA2 through its HoA state: the state
    moves the sum of the whole datagram (mip6_hao_fix_csum() on a buffer
    whose data spans a fragment list), then it is fragmented; every
    fragment carries the HAO before its fragment header, the reassembled
    bytes are summed over the HoA, and the HA delivers it from the HoA."""
    accept_ro(mcoa.ha, HAO, NH_UDP)
    hoa_states(mcoa.mn, NH_UDP)
    payload = bytes(range(256)) * (BIG // 256) + bytes(BIG % 256)
    rx = mcoa.ha.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    rx.bind(("::", UDP_PORT))
    tx = mcoa.mn.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    with rx, tx, ha_captures(mcoa) as drain:
        receiver = Receiver(mcoa.ha, rx)
        tx.sendmsg([payload], [pktinfo(M2.coa, mcoa.mn.ifindex(M2.mn_if))], 0,
                   (HA, UDP_PORT))
        verdict = receiver.wait()
        wire = drain(lambda p: p.proto == NH_FRAGMENT and addr(p.dst) == HA)
    pkts = [p for got in wire.values() for p in got]
    seen = [(addr(p.src), home_address(p) and addr(home_address(p))) for p in pkts]
    assert len(pkts) >= 2 and set(seen) == {(M2.coa, HOA)}, (
        f"want fragments from CoA2, each with HAO(HoA): {seen}")
    whole = reassemble(pkts)
    assert whole is not None and whole.proto == NH_UDP and len(whole.payload) == BIG + 8
    assert pseudo_header_sum_ok(whole, socket.inet_pton(socket.AF_INET6, HOA), whole.dst), (
        "the reassembled datagram is not summed over the HoA")
    assert verdict.got == (payload, HOA), f"HA: {verdict.got and verdict.got[1]} {verdict.drops}"


@pytest.mark.patch(patchnames.HOA)
def test_short_transport_header_sent_as_is(mcoa):
    """A raw IPPROTO_UDP socket sends 4 bytes, less than a UDP header,
    through a HoA state: nothing to move, so the packet leaves as it is
    (v2 failed the send with ENOMEM from skb_ensure_writable())."""
    hoa_states(mcoa.mn, NH_UDP)
    tx = mcoa.mn.socket(socket.AF_INET6, socket.SOCK_RAW, NH_UDP)
    with tx, ha_captures(mcoa) as drain:
        try:
            sent = tx.sendmsg([b"mip6"], [pktinfo(M2.coa, mcoa.mn.ifindex(M2.mn_if))], 0,
                              (HA, 0))
        except OSError as e:
            pytest.fail(f"sendmsg of a 4-byte raw UDP packet failed: "
                        f"{errno.errorcode.get(e.errno, e.errno)}")
        wire = drain(lambda p: p.proto == NH_UDP and addr(p.dst) == HA)
    assert sent == 4
    pkts = [p for got in wire.values() for p in got]
    assert [(addr(p.src), home_address(p) and addr(home_address(p)), p.payload)
            for p in pkts] == [(M2.coa, HOA, b"mip6")]


ORDERS = {
    # id: (the transform before the HAO state or after it, protocol, delivered)
    "esp-then-hao": ("first", socket.IPPROTO_ESP, False),
    "ah-then-hao": ("first", socket.IPPROTO_AH, False),
    "hao-then-esp": ("last", socket.IPPROTO_ESP, True),
    "hao-then-ah": ("last", socket.IPPROTO_AH, True),
}


@pytest.mark.patch(patchnames.HOA)
@pytest.mark.parametrize("order", ORDERS, ids=list(ORDERS))
def test_ipsec_in_the_same_bundle(mcoa, order):
    """UDP from CoA2 through one policy with an ESP or AH transport
    template and the HAO template.  HAO first (the RFC 6275 header order):
    the sum is moved before ESP encrypts it or AH covers it, and the HA
    delivers it from the HoA.  ESP or AH first: the transport header is encrypted or covered by
    the ICV, so the packet must not leave at all (counted as
    XfrmOutStateProtoError); v2 sent it, and the HA dropped it for its
    checksum (ESP) or its ICV (AH)."""
    place, proto, delivered = ORDERS[order]
    ipsec = Tmpl(proto=proto, mode=XFRM_MODE_TRANSPORT)
    hao = Tmpl(proto=HAO, mode=RO)
    accept_ro(mcoa.ha, HAO, NH_UDP)
    for ns in (mcoa.mn, mcoa.ha):
        ipsec_sa(ns, M2.coa, HA, proto, ESP_SPI)
    hoa_states(mcoa.mn, NH_UDP)
    with Xfrm(mcoa.mn.name) as x:
        x.add_policy(XFRM_POLICY_OUT, "::/0", f"{HA}/128", upper_proto=NH_UDP, update=True,
                     tmpls=[ipsec, hao] if place == "first" else [hao, ipsec])
    rx = mcoa.ha.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    rx.bind(("::", UDP_PORT))
    tx = mcoa.mn.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    before_mn, before_ha = mcoa.mn.counters(), mcoa.ha.counters()
    with rx, tx, ha_captures(mcoa) as drain:
        receiver = Receiver(mcoa.ha, rx)
        try:
            tx.sendmsg([b"mip6kit ipsec"], [pktinfo(M2.coa, mcoa.mn.ifindex(M2.mn_if))], 0,
                       (HA, UDP_PORT))
            refused = None
        except OSError as e:
            refused = e.errno
        verdict = receiver.wait()
        wire = drain(lambda p: addr(p.dst) == HA and p.proto in (socket.IPPROTO_ESP,
                                                                  socket.IPPROTO_AH))
    after_mn, after_ha = mcoa.mn.counters(), mcoa.ha.counters()
    sent = [p for got in wire.values() for p in got]
    if delivered:
        assert [(addr(p.src), home_address(p) and addr(home_address(p))) for p in sent] == [
            (M2.coa, HOA)], f"one {'ESP' if proto == socket.IPPROTO_ESP else 'AH'} packet " \
            "from CoA2 with HAO(HoA)"
        assert_from_hoa(verdict)
        return
    ha_drops = {k: after_ha.get(k, 0) - v for k, v in before_ha.items()
                if after_ha.get(k, 0) != v and ("Err" in k or "Xfrm" in k)}
    assert not sent, (
        f"{len(sent)} packet(s) left with the transport header already under "
        f"{'ESP' if proto == socket.IPPROTO_ESP else 'AH'}; the HA's counters moved: "
        f"{ha_drops}")
    grew = after_mn.get("XfrmOutStateProtoError", 0) - before_mn.get("XfrmOutStateProtoError", 0)
    assert grew == 1, f"the drop must be counted once in XfrmOutStateProtoError, got {grew}"
    assert refused == errno.EINVAL, f"sendmsg must fail with EINVAL, got {refused}"



FILLER_SRC, FILLER_SPI = "2001:db8:f::10", 0x5ec
# The first buffer of a dump on a socket that has not received yet is
# NLMSG_GOODSIZE: a page less the skb's shared info (x86-64).
FIRST_BUFFER = 4096 - 320


def add_filler(x: Xfrm, key: int) -> None:
    """An ESP state whose HMAC key is key bytes long: the dump carries the
    key twice (XFRMA_ALG_AUTH and XFRMA_ALG_AUTH_TRUNC), so 4 more key
    bytes make its message 8 bytes longer."""
    x.add_sa(FILLER_SRC, HA, proto=socket.IPPROTO_ESP, spi=FILLER_SPI,
             mode=XFRM_MODE_TRANSPORT, extra_attrs=(
                 (XFRMA_ALG_AUTH, xfrm_algo("hmac(sha256)", bytes(key))),
                 (XFRMA_ALG_CRYPT, xfrm_algo("cbc(aes)", bytes(16)))))


@pytest.mark.patch(patchnames.HOA)
def test_dump_split_anywhere_keeps_the_home_address(mcoa):
    """A SAD dump whose buffer ends inside a HoA state's message (its
    XFRMA_HOADDR does not fit: copy_to_user_state_extra() fails there and
    the dump sends the state whole in the next buffer) returns every state
    whole, with its home address.  The dump walks the newest state first:
    a filler ESP state added after the HoA state, grown 8 bytes a step,
    puts the end of the first buffer at every 8th byte of the HoA state's
    message, so inside its 20-byte XFRMA_HOADDR too (sizes measured from
    first dumps; each dump on a new socket, whose first buffer is
    NLMSG_GOODSIZE)."""
    coa = M2.coa
    ro = dict(proto=IPPROTO_DSTOPTS, mode=XFRM_MODE_ROUTEOPTIMIZATION)
    want = sorted([(FILLER_SRC, None), (coa, HOA)])
    wrong = []

    def dump() -> list[bytes]:
        with Xfrm(mcoa.mn.name) as fresh:
            return fresh.dump_sa_messages()

    def sizes(key: int) -> tuple[int, int]:
        """(filler, HoA state) message lengths with a key of key bytes."""
        add_filler(x, key)
        msgs = {parse_sa(m)["src"]: len(m) for m in dump()}
        x.delete_sa(HA, socket.IPPROTO_ESP, FILLER_SPI)
        return msgs[FILLER_SRC], msgs[coa]

    with Xfrm(mcoa.mn.name) as x:
        x.add_sa(coa, HA, coaddr=coa, hoaddr=HOA, sa_dir=XFRM_SA_DIR_OUT, **ro)
        (f4, hoa_state), (f8, _) = sizes(4), sizes(8)
        per_step = f8 - f4  # 8: two copies of 4 more key bytes
        start = max(4, 4 + 4 * ((FIRST_BUFFER - hoa_state - f4) // per_step))
        stop = 4 + 4 * ((FIRST_BUFFER - 4 - f4) // per_step)
        assert per_step > 0 and stop > start, (f4, f8, hoa_state)
        for key in range(start, stop + 1, 4):
            add_filler(x, key)
            got = sorted((s["src"], s["hoaddr"]) for s in map(parse_sa, dump()))
            if got != want:
                wrong.append(f"a {key}-byte key: the dump gave {got}")
            x.delete_sa(HA, socket.IPPROTO_ESP, FILLER_SPI)
    assert not wrong, f"{len(wrong)} dumps lost or damaged a state; first: {wrong[0]}"
