# SPDX-License-Identifier: GPL-2.0-only
"""Fuzz: seeded destination options (verifier/fuzz.py) sent from the CoA,
as a cmsg and as a sticky option, on raw MH, raw ICMPv6, UDP and corked UDP;
and seeded XFRM NEWSA/UPDSA messages carrying XFRMA_HOADDR.

Oracle, from the captured bytes only: the upper-layer checksum verifies
over the HoA exactly when the header on the wire is well formed and holds
exactly one well-formed HAO, and over the source otherwise; the options
leave as given.  The no_splat fixture fails the test on any kernel splat
(on the debug profile: KASAN, UBSAN, lockdep, DEBUG_NET).

MIP6KIT_FUZZ_CASES (default 250 per test) and MIP6KIT_FUZZ_SEED (default
1) set the size and the seed; each failure prints its seed, case index and
the option bytes, and fuzz.case(seed, index, hoa) rebuilds that one case.
The campaign on the debug kernel is scripts/fuzz-campaign.sh.
"""

import errno
import ipaddress
import os
import random
import socket
import struct
from collections import Counter

import pytest

from . import features, fuzz, patchnames
from . import xfrmnl as xn
from .capture import Capture
from .features import kernel_version
from .netns import IFA_F_HOMEADDRESS, IFA_F_NODAD
from .packets import (
    NH_ICMPV6,
    NH_MH,
    NH_UDP,
    addr,
    binding_update,
    ones_complement_sum,
    pktinfo,
    pseudo_header_sum_ok,
    tlvs,
)

CASES = int(os.environ.get("MIP6KIT_FUZZ_CASES", "250"))
SEED = int(os.environ.get("MIP6KIT_FUZZ_SEED", "1"))
UDP_PORT = 7003
PROTO = {"mh": NH_MH, "icmp": NH_ICMPV6, "udp": NH_UDP, "udp-corked": NH_UDP}


def _payload(transport: str, index: int) -> bytes:
    if transport == "mh":
        return binding_update(index & 0xFFFF, 10)  # checksum 0: the kernel fills it
    if transport == "icmp":
        return struct.pack("!BBHHH", 128, 0, 0, 0x667a, index & 0xFFFF) + b"fuzz"
    return b"fuzz %d" % index


class Sender:
    """One socket per transport on the MN, sending from the CoA on m0."""

    def __init__(self, topo):
        self.topo = topo
        self.info = pktinfo(topo.coa, topo.mn.ifindex(topo.mn_if))
        mk = topo.mn.socket
        self.socks = {"mh": mk(socket.AF_INET6, socket.SOCK_RAW, NH_MH),
                      "icmp": mk(socket.AF_INET6, socket.SOCK_RAW, NH_ICMPV6),
                      "udp": mk(socket.AF_INET6, socket.SOCK_DGRAM, 0),
                      "udp-corked": mk(socket.AF_INET6, socket.SOCK_DGRAM, 0)}

    def send(self, c: fuzz.Case) -> None:
        sock = self.socks[c.transport]
        cmsgs = [self.info]
        if c.mode == "sticky":
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_DSTOPTS, c.header)
        else:
            cmsgs.append((socket.IPPROTO_IPV6, socket.IPV6_DSTOPTS, c.header))
        dest = (self.topo.ha_addr, UDP_PORT if c.transport.startswith("udp") else 0)
        data = _payload(c.transport, c.index)
        if c.transport == "udp-corked":
            sock.sendmsg([data[:3]], cmsgs, socket.MSG_MORE, dest)
            sock.sendmsg([data[3:]], [], 0, dest)
        else:
            sock.sendmsg([data], cmsgs, 0, dest)
        if c.mode == "sticky":
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_DSTOPTS, b"")

    def close(self) -> None:
        for s in self.socks.values():
            s.close()


def _judge(c: fuzz.Case, wire: list) -> str | None:
    """None if the packet on the wire is right, else what is wrong."""
    if len(wire) != 1:
        return f"{len(wire)} packets on the HA link, expected 1"
    pkt = wire[0]
    sent = pkt.dstopts()
    if len(sent) != 1 or sent[0][1:] != c.header[1:]:
        return f"options changed on the wire: {[h.hex() for h in sent]}"
    hoa = fuzz.expected_hoa(sent[0])
    want = hoa if hoa is not None else pkt.src
    other = pkt.src if hoa is not None else None
    if not pseudo_header_sum_ok(pkt, want, pkt.dst):
        where = "source" if pkt.src == want else "HoA"
        return f"checksum not over the {where} {addr(want)}"
    if other is not None and ones_complement_sum(other) != ones_complement_sum(want) \
            and pseudo_header_sum_ok(pkt, other, pkt.dst):
        return "checksum verifies over the source too"
    return None


def _campaign(topo, transports: tuple[str, ...]) -> None:
    topo.add_hoa(IFA_F_NODAD | IFA_F_HOMEADDRESS)
    hoa = ipaddress.IPv6Address(topo.hoa).packed
    sender = Sender(topo)
    stats: Counter = Counter()
    failures: list[str] = []
    index = 0
    try:
        with Capture(topo.ha, topo.ha_if) as cap:
            while stats["cases"] < CASES:
                c = fuzz.case(SEED, index, hoa)
                index += 1
                if c.transport not in transports:
                    continue
                stats["cases"] += 1
                stats[f"{c.transport}/{c.mode}"] += 1
                stats["one valid HAO" if fuzz.expected_hoa(c.header) else
                      "malformed" if tlvs(c.header) is None else "no valid HAO"] += 1
                try:
                    sender.send(c)
                except OSError as e:
                    failures.append(f"{c}: send failed: {e}")
                    continue
                proto = PROTO[c.transport]
                wire = cap.packets(lambda p, proto=proto: p.proto == proto and
                                   addr(p.dst) == topo.ha_addr, timeout=2.0, tail=0.005)
                wrong = _judge(c, wire)
                if wrong:
                    failures.append(f"{c}: {wrong}")
    finally:
        sender.close()
    print(f"fuzz seed {SEED}: " + ", ".join(f"{k} {v}" for k, v in sorted(stats.items())))
    print(f"{len(failures)} failures")
    for f in failures[:20]:
        print(f)
    assert not failures, f"{len(failures)} of {stats['cases']} cases failed; first: {failures[0]}"


JUMBO = 9000  # a 2 KiB options header and its payload leave whole


@pytest.fixture
def mip6(topo, no_splat):
    features.require("IPV6_MIP6")
    topo.mn.ip("link", "set", topo.mn_if, "mtu", str(JUMBO))
    topo.ha.ip("link", "set", topo.ha_if, "mtu", str(JUMBO))
    return topo


@pytest.mark.patch(patchnames.RAW)
def test_fuzz_raw_dstopts(mip6):
    """Raw MH (kernel checksum at offset 4) and raw ICMPv6."""
    _campaign(mip6, ("mh", "icmp"))


@pytest.mark.patch(patchnames.UDP)
def test_fuzz_udp_dstopts(mip6):
    """UDP, lockless and corked (the options of the first, MSG_MORE, call)."""
    _campaign(mip6, ("udp", "udp-corked"))


# What a refused case may get.  Not EEXIST: a NEWSA case's state is deleted
# after it.  Not ESRCH, as an UPDSA case always targets the resident state,
# except when it names another direction (6.10+: xfrm_state_update() then
# finds no state of that direction).
XFRM_ERRORS = {errno.EINVAL, errno.ERANGE, errno.EPROTONOSUPPORT, errno.EAFNOSUPPORT,
               errno.ENOSYS, errno.EOPNOTSUPP}


def _allowed_errors(c: dict) -> set[int]:
    other_dir = (c["update"] and c["sa_dir"] == xn.XFRM_SA_DIR_IN
                 and kernel_version() >= (6, 10))
    return XFRM_ERRORS | ({errno.ESRCH} if other_dir else set())


# Every case meets a resident HoA state: an UPDSA case targets it, a NEWSA
# case adds a state beside it.  A refused request must leave the SAD dump as
# it was, byte for byte (the atomicity oracle).
FUZZ_HA, FUZZ_COA, FUZZ_HOA = "2001:db8:1::1", "2001:db8:a::10", "2001:db8:1::10"
UPDATE_COA = "2001:db8:e::10"  # an UPDSA moves COADDR, so a partial write shows
RESIDENT_SRC, NEW_SRC = "2001:db8:b::10", "2001:db8:c::10"


def _sa_case(rng: random.Random) -> dict:
    """NEWSA/UPDSA around an XFRMA_HOADDR: mostly the one valid shape
    (16 bytes, DSTOPTS, IPv6, route optimisation, with a CoA, SPI 0), else one of
    those wrong, a payload of any length, or trailing bytes.  The home
    address is random, one of the addresses a rule names (_SPECIAL), or
    absent (a classic state; an UPDSA of the resident must then fail)."""
    pick = rng.random()
    good = rng.random() < 0.4
    return {
        "proto": xn.IPPROTO_DSTOPTS if good or rng.random() < 0.5 else
        rng.choice((xn.IPPROTO_ROUTING, socket.IPPROTO_ESP, socket.IPPROTO_AH, 255)),
        "mode": xn.XFRM_MODE_ROUTEOPTIMIZATION if good or rng.random() < 0.5 else
        rng.randint(0, 6),  # 3, 5, 6: verify_hoaddr() refuses them before the mode check
        "family": int(socket.AF_INET6 if good or rng.random() < 0.7 else socket.AF_INET),
        "coaddr": good or rng.random() < 0.7,
        "hoaddr": rng.randbytes(16 if good or rng.random() < 0.4 else
                                rng.choice((0, 1, 4, 8, 15, 17, 20, 32)))
        if pick < 0.6 else rng.choice(_SPECIAL) if pick < 0.9 else None,
        "update": rng.random() < 0.3,
        "trailer": b"" if good or rng.random() < 0.8 else rng.randbytes(rng.randint(1, 7)),
        "spi": 0 if good or rng.random() < 0.8 else rng.randint(1, 0xFFFF),
        "sa_dir": xn.XFRM_SA_DIR_OUT if good or rng.random() < 0.7 else
        rng.choice((None, xn.XFRM_SA_DIR_IN)),
    }


_SPECIAL = tuple(socket.inet_pton(socket.AF_INET6, a) for a in (
    FUZZ_HA, FUZZ_COA, UPDATE_COA, RESIDENT_SRC, NEW_SRC, "::", "::1", "::192.0.2.1",
    "::ffff:192.0.2.1", "fe80::1", "fec0::1", "ff02::1", "2001:db8:d::10"))


def _routable(raw: bytes) -> bool:
    """A home address must be a routable unicast address (RFC 6275 6.3),
    not IPv4-compatible (::/96) either."""
    a = ipaddress.IPv6Address(raw)
    compat = raw[:12] == bytes(12)
    return not (a.is_multicast or a.is_unspecified or a.is_loopback or a.is_link_local
                or a.is_site_local or a.ipv4_mapped or compat)


def _sa_valid(c: dict) -> bool:
    src, coa = (RESIDENT_SRC, UPDATE_COA) if c["update"] else (NEW_SRC, FUZZ_COA)
    shape = (c["proto"] == xn.IPPROTO_DSTOPTS and c["mode"] == xn.XFRM_MODE_ROUTEOPTIMIZATION
             and c["family"] == socket.AF_INET6 and c["coaddr"] and c["spi"] == 0)
    # an output SA; before XFRMA_SA_DIR (6.10) the attribute is ignored
    out = c["sa_dir"] == xn.XFRM_SA_DIR_OUT or kernel_version() < (6, 10)
    if c["hoaddr"] is None:  # a classic state, of any direction; the resident has one
        return shape and not c["update"]
    shape = shape and out
    return (shape and len(c["hoaddr"]) == 16 and _routable(c["hoaddr"])
            and str(ipaddress.IPv6Address(c["hoaddr"])) not in (src, FUZZ_HA, coa))


def _hoaddr_refusal(c: dict) -> str | None:
    """The extack text of verify_hoaddr() for this case, when the checks
    verify_newsa_info() makes before it pass and verify_hoaddr() refuses;
    None otherwise.  In its order: family, protocol, mode, direction
    (6.10+), the address itself, then the three it must differ from."""
    h = c["hoaddr"]
    if h is None or len(h) != 16 or c["trailer"]:
        return None  # no attribute, or its length fails the netlink policy first
    if c["proto"] not in (xn.IPPROTO_DSTOPTS, xn.IPPROTO_ROUTING) or not c["coaddr"]:
        return None  # refused by verify_newsa_info() before
    src, coa = (RESIDENT_SRC, UPDATE_COA) if c["update"] else (NEW_SRC, FUZZ_COA)
    text = str(ipaddress.IPv6Address(h))
    for wrong, message in (
            (c["family"] != socket.AF_INET6, "HOADDR is only valid for IPv6 states"),
            (c["proto"] != xn.IPPROTO_DSTOPTS, "HOADDR is only valid for DSTOPTS states"),
            (c["mode"] != xn.XFRM_MODE_ROUTEOPTIMIZATION,
             "HOADDR requires route optimization mode"),
            (c["sa_dir"] != xn.XFRM_SA_DIR_OUT and kernel_version() >= (6, 10),
             "HOADDR requires an output SA (SA_DIR out)"),
            (not _routable(h), "HOADDR must be a global unicast address"),
            (text == src, "HOADDR equals the source address"),
            (text == FUZZ_HA, "HOADDR equals the destination address"),
            (text == coa, "HOADDR equals COADDR")):
        if wrong:
            return message
    return None


def _sa_judge(xfrm, c: dict) -> str | None:
    src, coa = (RESIDENT_SRC, UPDATE_COA) if c["update"] else (NEW_SRC, FUZZ_COA)
    hoaddr = () if c["hoaddr"] is None else ((xn.XFRMA_HOADDR, c["hoaddr"]),)
    data = xn.encode_sa(src, FUZZ_HA, proto=c["proto"], mode=c["mode"],
                        spi=c["spi"], family=c["family"], update=c["update"],
                        coaddr=coa if c["coaddr"] else None, sa_dir=c["sa_dir"],
                        extra_attrs=hoaddr)
    if c["trailer"]:
        data += c["trailer"]
        struct.pack_into("=I", data, 0, len(data))
    before = xfrm.dump_sa_raw()
    try:
        xfrm.request(data)
    except xn.XfrmError as e:
        if e.errno not in _allowed_errors(c):
            return f"unexpected error {e}"
        why = _hoaddr_refusal(c)
        if why is not None and (e.errno, e.message) != (errno.EINVAL, why):
            return f"refused with {e}, want EINVAL: {why}"
        if xfrm.dump_sa_raw() != before:
            return f"refused ({e}) but the SAD changed"
        if _sa_valid(c) and not c["trailer"]:
            return f"valid state refused: {e}"
        return None
    if not _sa_valid(c):
        return "accepted an XFRMA_HOADDR the kernel must refuse"
    got = xfrm.get_sa(FUZZ_HA, xn.IPPROTO_DSTOPTS, 0, src=src)
    if not c["update"]:
        xfrm.delete_sa(FUZZ_HA, xn.IPPROTO_DSTOPTS, 0, src=src)
    want = None if c["hoaddr"] is None else str(ipaddress.IPv6Address(c["hoaddr"]))
    return None if got and got["hoaddr"] == want else f"state reads back {got}, sent {want}"


@pytest.mark.patch(patchnames.HOA)
def test_fuzz_xfrm_newsa_hoaddr(topo, no_splat):
    """NEWSA/UPDSA messages carrying XFRMA_HOADDR, valid and not: a state
    is installed (or updated) exactly when the attribute is valid for it,
    and reads back with the home address sent; every refusal is a clean
    errno and leaves the SAD dump byte-identical, and a refusal that is
    verify_hoaddr()'s carries its own extack text (_hoaddr_refusal)."""
    features.require("IPV6_MIP6")
    failures = []
    with xn.Xfrm(topo.mn.name) as xfrm:
        xfrm.add_sa(RESIDENT_SRC, FUZZ_HA, proto=xn.IPPROTO_DSTOPTS, coaddr=FUZZ_COA,
                    hoaddr=FUZZ_HOA, mode=xn.XFRM_MODE_ROUTEOPTIMIZATION,
                    sa_dir=xn.XFRM_SA_DIR_OUT)
        for index in range(CASES):
            c = _sa_case(random.Random(f"xfrm/{SEED}/{index}"))
            wrong = _sa_judge(xfrm, c)
            if wrong:
                failures.append(f"seed {SEED} case {index} {c}: {wrong}")
    print(f"xfrm fuzz seed {SEED}: {CASES} cases, {len(failures)} failures")
    for f in failures[:20]:
        print(f)
    assert not failures, f"{len(failures)} of {CASES} cases failed; first: {failures[0]}"
