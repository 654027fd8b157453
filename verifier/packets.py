# SPDX-License-Identifier: GPL-2.0-only
"""IPv6 packet dissection and an independent upper-layer checksum oracle.

Written from RFC 8200 (section 8.1, pseudo-header) and RFC 6275 (sections
6.1.1, 6.3, 6.4 and 11.3.1): with a Home Address option the pseudo-header source is the
home address; with a type 2 routing header the destination is the final
one (the home address in the RH2).  scapy's in6_chksum only looks for a HAO
when it is the sole option of its header, so it is not used as the oracle.
"""

import ipaddress
import socket
import struct
from dataclasses import dataclass, field

NH_HOPOPTS, NH_ROUTING, NH_DSTOPTS, NH_FRAGMENT = 0, 43, 60, 44
NH_TCP, NH_UDP, NH_ICMPV6, NH_MH = 6, 17, 58, 135
OPT_PAD1, OPT_PADN, OPT_HAO = 0, 1, 201
CSUM_OFFSET = {NH_UDP: 6, NH_ICMPV6: 2, NH_MH: 4, NH_TCP: 16}


def addr(raw: bytes) -> str:
    return str(ipaddress.IPv6Address(raw))


@dataclass
class Packet:
    src: bytes
    dst: bytes
    ext: list[tuple[int, bytes]] = field(default_factory=list)  # (header type, bytes)
    proto: int = 0
    payload: bytes = b""
    raw: bytes = b""  # the whole IPv6 packet, as an ICMPv6 error quotes it

    def dstopts(self) -> list[bytes]:
        """Destination options headers after the last routing header: the
        ones for the final destination, the only place for a HAO (RFC 8200 4.1)."""
        last_rh = max((i for i, (t, _) in enumerate(self.ext) if t == NH_ROUTING), default=-1)
        return [b for t, b in self.ext[last_rh + 1:] if t == NH_DSTOPTS]

    def rh2_home(self) -> bytes | None:
        """The home address of a well-formed type 2 routing header (len 2, segleft 1)."""
        for t, b in self.ext:
            if t == NH_ROUTING and len(b) == 24 and b[1] == 2 and b[2] == 2 and b[3] == 1:
                return b[8:24]
        return None


def parse_ipv6(frame: bytes) -> Packet | None:
    """An IPv6 packet (no link header); None if it is not one or is cut short."""
    if len(frame) < 40 or frame[0] >> 4 != 6:
        return None
    plen = struct.unpack_from("!H", frame, 4)[0]
    nh = frame[6]
    pkt = Packet(frame[8:24], frame[24:40], raw=frame[:40 + plen])
    data = frame[40:40 + plen]
    off = 0
    while nh in (NH_HOPOPTS, NH_ROUTING, NH_DSTOPTS):
        if off + 2 > len(data):
            return None
        hlen = (data[off + 1] + 1) * 8
        if off + hlen > len(data):
            return None
        pkt.ext.append((nh, data[off:off + hlen]))
        nh = data[off]
        off += hlen
    pkt.proto = nh
    pkt.payload = data[off:]
    return pkt


def tlvs(opthdr: bytes) -> list[tuple[int, bytes]] | None:
    """The options of a HBH/destination options header; None if malformed."""
    out = []
    off = 2
    while off < len(opthdr):
        t = opthdr[off]
        if t == OPT_PAD1:
            out.append((t, b""))
            off += 1
            continue
        if off + 2 > len(opthdr) or off + 2 + opthdr[off + 1] > len(opthdr):
            return None
        n = opthdr[off + 1]
        out.append((t, opthdr[off + 2:off + 2 + n]))
        off += 2 + n
    return out


def home_address(pkt: Packet) -> bytes | None:
    """The HoA of the packet's single well-formed HAO, else None."""
    found = []
    for hdr in pkt.dstopts():
        opts = tlvs(hdr)
        if opts is None:
            return None
        found += [v for t, v in opts if t == OPT_HAO]
    if len(found) != 1 or len(found[0]) != 16:
        return None
    return found[0]


def ones_complement_sum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return total


def pseudo_header(src: bytes, dst: bytes, length: int, proto: int) -> bytes:
    """The RFC 8200 8.1 pseudo-header."""
    return src + dst + struct.pack("!I3xB", length, proto)


def pseudo_header_sum_ok(pkt: Packet, src: bytes, dst: bytes) -> bool:
    """Does the upper-layer checksum verify with this pseudo-header?"""
    ph = pseudo_header(src, dst, len(pkt.payload), pkt.proto)
    return ones_complement_sum(ph + pkt.payload) == 0xFFFF


def upper_checksum(src: str, dst: str, proto: int, segment: bytes) -> int:
    """The RFC 8200 8.1 checksum of an upper-layer segment whose checksum
    field is zero (0 stays 0 here: the caller knows its protocol)."""
    ph = pseudo_header(socket.inet_pton(socket.AF_INET6, src),
                       socket.inet_pton(socket.AF_INET6, dst), len(segment), proto)
    return ~ones_complement_sum(ph + segment) & 0xFFFF


def zero_sum_tail(src: str, dst: str, proto: int, head: bytes) -> bytes:
    """Two bytes that, appended to head (an even-length segment whose
    checksum field is zero and whose length field already counts them),
    make the checksum over (src, dst) exactly 0: what a UDP or UDP-Lite
    sender then sends as 0xFFFF (RFC 768, RFC 3828)."""
    assert len(head) % 2 == 0, "the tail must be a 16-bit word of its own"
    ph = pseudo_header(socket.inet_pton(socket.AF_INET6, src),
                       socket.inet_pton(socket.AF_INET6, dst), len(head) + 2, proto)
    tail = 0xFFFF - ones_complement_sum(ph + head)
    assert upper_checksum(src, dst, proto, head + struct.pack("!H", tail)) == 0
    return struct.pack("!H", tail)


def checksum_source(pkt: Packet) -> bytes | None:
    """Which source address the sender summed over: HoA, packet source, or
    None when neither verifies (RFC 6275 6.1.1 and 11.3.1 want the HoA when a HAO is present)."""
    dst = pkt.rh2_home() or pkt.dst
    hoa = home_address(pkt)
    if hoa is not None and ones_complement_sum(hoa) == ones_complement_sum(pkt.src):
        raise ValueError("HoA and source have the same 16-bit sum: the checksum cannot "
                         "tell them apart; use other test addresses")
    if hoa is not None and pseudo_header_sum_ok(pkt, hoa, dst):
        return hoa
    if pseudo_header_sum_ok(pkt, pkt.src, dst):
        return pkt.src
    return None


def hao_option(hoa: str, pad_before: bytes = b"\x01\x02\x00\x00") -> bytes:
    """A destination options header carrying a HAO at the RFC 6275 6.3 alignment
    (8n+6), after a 4-byte PadN, as mip6_destopt_output() lays it out; the
    next-header byte is left 0 (the kernel fills it)."""
    body = pad_before + bytes([OPT_HAO, 16]) + ipaddress.IPv6Address(hoa).packed
    return dstopts_header(body)


def dstopts_header(body: bytes) -> bytes:
    """A destination options header around raw option bytes, padded to 8n
    (a body of 8n-2 bytes goes out exactly as given)."""
    total = 2 + len(body)
    pad = (-total) % 8
    if pad == 1:
        body += b"\x00"
    elif pad:
        body += bytes([OPT_PADN, pad - 2]) + b"\0" * (pad - 2)
    return bytes([0, (2 + len(body)) // 8 - 1]) + body


def rh2_header(coa: str) -> bytes:
    """struct rt2_hdr for IPV6_RTHDR: next header (kernel fills it), hdrlen 2,
    type 2, segments left 1, reserved, the care-of address (RFC 6275 6.4)."""
    return bytes([0, 2, 2, 1]) + b"\0" * 4 + ipaddress.IPv6Address(coa).packed



MH_BRR, MH_BU, MH_BA = 0, 5, 6


def _mh(mh_type: int, body: bytes) -> bytes:
    """A Mobility Header message (RFC 6275 6.1.1): payload proto IPPROTO_NONE,
    checksum 0 for the kernel to fill, the body padded with Pad1/PadN
    mobility options to 8n bytes (6.2.1)."""
    pad = (-(6 + len(body))) % 8
    if pad == 1:
        body += b"\x00"
    elif pad:
        body += bytes([OPT_PADN, pad - 2]) + b"\0" * (pad - 2)
    return bytes([59, (6 + len(body)) // 8 - 1, mh_type, 0, 0, 0]) + body


def binding_update_of(size: int, seq: int, lifetime: int) -> bytes:
    """A BU of size bytes (a multiple of 8), grown with PadN mobility
    options: a Mobility Header message big enough to need fragments."""
    body = struct.pack("!HHH", seq, 0xC000, lifetime)
    left = size - 6 - len(body)
    while left > 1:
        n = min(left, 257)
        body += bytes([OPT_PADN, n - 2]) + bytes(n - 2)
        left -= n
    msg = _mh(MH_BU, body + bytes(left))
    assert len(msg) == size, f"a BU of {size} bytes came out as {len(msg)}"
    return msg


def mh_message(mh_type: int) -> bytes:
    """A message of any MH type, 24 bytes, long enough for every type
    mip6_mh_filter() knows; the body is zero."""
    return _mh(mh_type, b"\0" * 18)


def binding_update(seq: int, lifetime: int, flags: int = 0xC000) -> bytes:
    """RFC 6275 6.1.7; flags default A|H; lifetime in units of 4 s."""
    return _mh(MH_BU, struct.pack("!HHH", seq, flags, lifetime))


def binding_ack(seq: int, lifetime: int, status: int = 0, flags: int = 0) -> bytes:
    """RFC 6275 6.1.8."""
    return _mh(MH_BA, struct.pack("!BBHH", status, flags, seq, lifetime))


def mh_seq(msg: bytes) -> tuple[int, int] | None:
    """(type, sequence number) of a received BU or BA, else None."""
    if len(msg) >= 10 and msg[2] == MH_BU:
        return MH_BU, struct.unpack_from("!H", msg, 6)[0]
    if len(msg) >= 10 and msg[2] == MH_BA:
        return MH_BA, struct.unpack_from("!H", msg, 8)[0]
    return None


def pktinfo(address: str, ifindex: int) -> tuple:
    """An IPV6_PKTINFO ancillary item (RFC 3542 6.1): source and outgoing interface."""
    return (socket.IPPROTO_IPV6, socket.IPV6_PKTINFO,
            socket.inet_pton(socket.AF_INET6, address) + struct.pack("@I", ifindex))



def reassemble(frags: list[Packet]) -> Packet | None:
    """The packet whose fragments these are (RFC 8200 4.5), from the
    captured bytes: the unfragmentable part of the first, then the
    fragment data in offset order; None if one is missing."""
    parts = []
    for p in frags:
        if p.proto != NH_FRAGMENT or len(p.payload) < 8:
            return None
        nh, off_flags = p.payload[0], struct.unpack_from("!H", p.payload, 2)[0]
        parts.append((off_flags & ~7, bool(off_flags & 1), nh, p.payload[8:], p))
    if not parts:
        return None
    parts.sort(key=lambda t: t[0])
    data = b""
    for off, _, _, chunk, _ in parts:
        if off != len(data):
            return None
        data += chunk
    if parts[-1][1]:  # the last fragment says more follow
        return None
    _, _, nh, _, first = parts[0]
    return Packet(first.src, first.dst, list(first.ext), nh, data)
