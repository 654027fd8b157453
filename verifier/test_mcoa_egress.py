# SPDX-License-Identifier: GPL-2.0-only
"""MCoA egress (RFC 5648): a Binding Update leaves by the link its
IPV6_PKTINFO names, or not at all.

The MN has three links to the HA, CoA1..CoA3 (one per link), the HoA on lo,
and routes whose best path to the HA is link 1.  Each CoA's BU is sent
three ways:
  (a) cmsg: source CoA_i, PKTINFO ifindex i, the HAO as IPV6_DSTOPTS;
  (b) xfrm: a raw BU from CoA_i with PKTINFO ifindex i through the XFRM
      state of CoA_i that carries the HoA (XFRMA_HOADDR);
  (c) classic: source HoA, PKTINFO ifindex i, one classic HAO state whose
      COADDR is CoA1 (as mip6d sets it up without MCoA).
The HA captures on every link and its kernel (a receiving MIP6 stack)
delivers the BU to its MH socket only if the checksum is right over the
HoA.  Each test prints the per-link table a person debugging MCoA wants.
"""

import errno
import socket
import struct
import time
from dataclasses import dataclass

import pytest

from . import patchnames
from .mcoa import HA, HOA, Link, Mcoa, ha_captures, multihomed
from .packets import (
    NH_FRAGMENT,
    NH_ICMPV6,
    NH_MH,
    NH_UDP,
    OPT_PADN,
    addr,
    binding_update,
    binding_update_of,
    checksum_source,
    hao_option,
    home_address,
    pktinfo,
)
from .receiver import Receiver
from .xfrm import HAO, RO, accept_ro, hao_output, hoa_output
from .xfrmnl import XFRM_POLICY_OUT, Tmpl, Xfrm

BU_SEQ = 4545
LINKS = (Link(1), Link(2), Link(3))


@pytest.fixture
def net(no_splat):
    """Three links (verifier.mcoa), link 1 the best path; the HA accepts
    HAO-carrying Mobility Header messages."""
    with multihomed(3) as m:
        accept_ro(m.ha, HAO, NH_MH)
        yield m


def setup(net: Mcoa, way: str) -> None:
    if way == "xfrm":
        hoa_output(net.mn, HA, HOA, [ln.coa for ln in LINKS], NH_MH)
    elif way == "classic":
        hao_output(net.mn, HA, HOA, LINKS[0].coa, NH_MH)


@dataclass
class Seen:
    """One BU as the HA saw it."""

    send_error: str | None
    per_link: dict  # ha_if -> list of (source, HAO, summed over HoA)
    delivered_from: str | None

    def links(self) -> list[str]:
        return [name for name, pkts in self.per_link.items() if pkts]

    def table(self, title: str) -> str:
        sent = f"error {self.send_error}" if self.send_error else "ok"
        got = f"got it from {self.delivered_from}" if self.delivered_from else "got nothing"
        rows = [f"{title}: send {sent}, HA MH socket {got}",
                f"  {'link':<5} {'BUs':>3}  {'source':<18} {'HAO':<18} checksum"]
        for name, pkts in self.per_link.items():
            if not pkts:
                rows.append(f"  {name:<5} {0:>3}")
            for src, hao, over_hoa in pkts:
                rows.append(f"  {name:<5} {len(pkts):>3}  {src:<18} {hao or '-':<18} "
                            f"{'over HoA' if over_hoa else 'NOT over HoA'}")
        return "\n".join(rows)


def send_bu(net: Mcoa, way: str, ln: Link, socket_setup=None, extra_cmsgs=()) -> Seen:
    """Send one BU for ln's CoA the given way; socket_setup(sock) may set
    socket options on the sender first, extra_cmsgs go with the BU."""
    src = HOA if way == "classic" else ln.coa
    cmsgs = [pktinfo(src, net.mn.ifindex(ln.mn_if)), *extra_cmsgs]
    if way == "cmsg":
        cmsgs.append((socket.IPPROTO_IPV6, socket.IPV6_DSTOPTS, hao_option(HOA)))
    rx = net.ha.socket(socket.AF_INET6, socket.SOCK_RAW, NH_MH)
    tx = net.mn.socket(socket.AF_INET6, socket.SOCK_RAW, NH_MH)
    if socket_setup:
        socket_setup(tx)
    error = None
    with rx, tx, ha_captures(net) as drain:
        receiver = Receiver(net.ha, rx)
        try:
            tx.sendmsg([binding_update(BU_SEQ, 10)], cmsgs, 0, (HA, 0))
        except OSError as e:
            error = e.strerror
        verdict = receiver.wait()
        wire = drain(lambda p: p.proto == NH_MH and addr(p.dst) == HA)
    per_link = {name: [(addr(p.src), addr(home_address(p)) if home_address(p) else None,
                        summed_over_hoa(p)) for p in pkts] for name, pkts in wire.items()}
    return Seen(error, per_link, verdict.got[1] if verdict.got else None)


def summed_over_hoa(pkt) -> bool:
    """Is the checksum right over the packet's HAO?  (An unpatched kernel
    that ignores XFRMA_HOADDR puts the source itself into the HAO.)"""
    hoa = home_address(pkt)
    if hoa is None or hoa == pkt.src:
        return False
    return checksum_source(pkt) == hoa


def expect_on_link(seen: Seen, ln: Link) -> None:
    print(seen.table(f"BU for CoA{ln.n} via PKTINFO ifindex of {ln.mn_if}"))
    assert seen.links() == [ln.ha_if], (
        f"the BU for CoA{ln.n} left by {seen.links() or 'no link'}, not {ln.ha_if}\n"
        + seen.table("seen"))
    (src, hao, over_hoa), = seen.per_link[ln.ha_if]
    assert (src, hao, over_hoa) == (ln.coa, HOA, True), seen.table("seen")
    assert seen.delivered_from == HOA, seen.table("seen")


WAYS = {
    # way: patches that its link-1 case needs / its link-2 and link-3 cases need
    "cmsg": ((patchnames.RAW,), (patchnames.RAW, patchnames.EGRESS)),
    "xfrm": ((patchnames.HOA,), (patchnames.HOA, patchnames.EGRESS)),
}


def cases():
    for way, (first, other) in WAYS.items():
        for ln in LINKS:
            marks = [pytest.mark.patch(p) for p in (first if ln.n == 1 else other)]
            yield pytest.param(way, ln, id=f"{way}-{ln.mn_if}", marks=marks)


@pytest.mark.parametrize("way, ln", cases())
def test_bu_leaves_by_named_link(net, way, ln):
    setup(net, way)
    expect_on_link(send_bu(net, way, ln), ln)


@pytest.mark.parametrize("ln", LINKS, ids=[ln.mn_if for ln in LINKS])
def test_classic_state_sends_from_its_one_coa(net, ln):
    """Control, every kernel: one classic state serves one CoA.  Whatever
    link PKTINFO names, the BU leaves from COADDR (CoA1) by its best route."""
    setup(net, "classic")
    seen = send_bu(net, "classic", ln)
    print(seen.table(f"classic BU, PKTINFO ifindex of {ln.mn_if}"))
    assert seen.links() == [LINKS[0].ha_if], seen.table("seen")
    assert seen.per_link[LINKS[0].ha_if] == [(LINKS[0].coa, HOA, True)], seen.table("seen")
    assert seen.delivered_from == HOA


def wait_linkdown(ns, ifname: str, prefix: str, timeout: float = 5.0) -> None:
    """Wait until linkwatch has handled ifname's carrier loss: it swaps in
    the device's no-op qdisc, then NETDEV_CHANGE marks the routes through
    the device "linkdown".  Under TCG that takes 0.1 to 0.9 s after the
    carrier bit clears, so no fixed sleep is right."""
    deadline = time.monotonic() + timeout
    while "linkdown" not in ns.run("ip", "-6", "route", "show", prefix, "dev", ifname).stdout:
        assert time.monotonic() < deadline, f"the {prefix} route via {ifname} never went linkdown"
        time.sleep(0.02)


# With the carrier gone, the device drops what reaches it in its no-op
# qdisc, which returns NET_XMIT_CN: sendmsg succeeds and no drop counter
# (tx_dropped, Ip6OutDiscards) names the packet.  A daemon learns of it from
# the link state (IFF_LOWER_UP), or asks for an error: with the link's
# ignore_routes_with_linkdown set, the strict lookup finds no route.
LINK_DOWN = {
    # m2's setting: the error sendmsg returns with the series
    "default": None,
    "ignore_routes_with_linkdown": "Network is unreachable",
}


@pytest.mark.patch(patchnames.EGRESS)
@pytest.mark.parametrize("sysctl", list(LINK_DOWN))
@pytest.mark.parametrize("way", list(WAYS))
def test_named_link_down_never_falls_back(net, way, sysctl):
    """Link 2 down at the HA side: CoA2's BU is dropped on link 2, or
    sendmsg fails when the link ignores linkdown routes; it never leaves by
    another link (an unpatched kernel sends it by link 1)."""
    setup(net, way)
    m2 = LINKS[1]
    if sysctl != "default":
        net.mn.sysctl(f"net.ipv6.conf.{m2.mn_if}.{sysctl}", 1)
    net.ha.ip("link", "set", m2.ha_if, "down")
    wait_linkdown(net.mn, m2.mn_if, "2001:db8:1::/64")
    seen = send_bu(net, way, m2)
    print(seen.table(f"{way} BU for CoA2, {m2.ha_if} down, {sysctl}"))
    assert seen.links() == [], f"the BU fell back to {seen.links()}\n" + seen.table("seen")
    assert seen.delivered_from is None, seen.table("seen")
    assert seen.send_error == LINK_DOWN[sysctl], seen.table("seen")


# What a daemon can do on an unchanged kernel (README "How a daemon does
# MCoA egress").  Each method steers CoA2's BU to link 2, for the cmsg way
# (a raw BU from CoA2 with its HAO as ancillary data) and for a classic XFRM
# HAO state whose COADDR is CoA2 (a BU from the HoA).  Expected link per
# (method, way), the same on every kernel: the patch changes neither.
XFRMA_SET_MARK = 29  # __u32, the state's output mark (used by its re-route)
MARK = 2
USERSPACE = {
    # method: (link for cmsg, link for classic xfrm, why)
    "source-rule": (2, 2, "ip -6 rule from CoA2 matches the socket's lookup and the "
                          "re-route from COADDR"),
    "oif-rule": (2, 1, "ip -6 rule oif m2 matches the socket's lookup; the XFRM "
                       "re-route never sets flowi6_oif"),
    "mark": (2, 2, "SO_MARK + ip -6 rule fwmark; the XFRM state needs an output mark "
                   "(XFRMA_SET_MARK) for its re-route"),
    "bindtodevice": (2, 1, "SO_BINDTODEVICE pins the socket's lookup; the XFRM re-route "
                           "does not see it"),
}


def steer(net: Mcoa, method: str) -> None:
    m2 = LINKS[1]
    selector = {"source-rule": ["from", m2.coa], "oif-rule": ["oif", m2.mn_if],
                "mark": ["fwmark", str(MARK)]}.get(method)
    net.mn.ip("-6", "route", "add", "2001:db8:1::/64", "via", m2.ha_link, "dev", m2.mn_if,
              "table", "102")
    if selector:
        net.mn.ip("-6", "rule", "add", *selector, "lookup", "102")


@pytest.mark.parametrize("way", ["cmsg", "classic"])
@pytest.mark.parametrize("method", list(USERSPACE))
def test_userspace_egress_control(net, method, way):
    """Control, every kernel: which userspace method puts CoA2's BU on link 2."""
    m2 = LINKS[1]
    steer(net, method)
    if way == "classic":
        extra = ((XFRMA_SET_MARK, struct.pack("=I", MARK)),) if method == "mark" else ()
        hao_output(net.mn, HA, HOA, m2.coa, NH_MH, sa_attrs=extra)
    socket_setup = {
        "mark": lambda s: s.setsockopt(socket.SOL_SOCKET, socket.SO_MARK, MARK),
        "bindtodevice": lambda s: s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE,
                                               m2.mn_if.encode()),
    }.get(method)
    seen = send_bu(net, way, m2, socket_setup)
    want = LINKS[USERSPACE[method][way == "classic"] - 1]
    print(seen.table(f"{method}, {way}: expect {want.ha_if} ({USERSPACE[method][2]})"))
    assert seen.links() == [want.ha_if], seen.table("seen")
    assert seen.per_link[want.ha_if][0][:2] == (m2.coa, HOA), seen.table("seen")


UDP_PORT = 7005
IPV6_UNICAST_IF = 76
M2 = LINKS[1]


def send_udp(net: Mcoa, *, hao: bool, connected: bool = False) -> dict:
    """One UDP datagram from CoA2 to the HA; PKTINFO(CoA2, m2) as a cmsg,
    or, connected, IPV6_UNICAST_IF m2 and a sticky HAO set before
    connect().  Returns {ha_if: [(source, HAO)]} and who the HA's UDP
    socket got it from."""
    accept_ro(net.ha, HAO, NH_UDP, with_state=False)  # the fixture's state
    rx = net.ha.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    rx.bind(("::", UDP_PORT))
    tx = net.mn.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    with rx, tx, ha_captures(net) as drain:
        receiver = Receiver(net.ha, rx)
        if connected:
            tx.bind((M2.coa, 0))
            tx.setsockopt(socket.IPPROTO_IPV6, IPV6_UNICAST_IF,
                          struct.pack("!I", net.mn.ifindex(M2.mn_if)))
            tx.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_DSTOPTS, hao_option(HOA))
            tx.connect((HA, UDP_PORT))
            tx.send(b"mip6kit udp egress")
        else:
            cmsgs = [pktinfo(M2.coa, net.mn.ifindex(M2.mn_if))]
            if hao:
                cmsgs.append((socket.IPPROTO_IPV6, socket.IPV6_DSTOPTS, hao_option(HOA)))
            tx.sendmsg([b"mip6kit udp egress"], cmsgs, 0, (HA, UDP_PORT))
        verdict = receiver.wait()
        wire = drain(lambda p: p.proto == NH_UDP and addr(p.dst) == HA)
    per_link = {name: [(addr(p.src), home_address(p) and addr(home_address(p)))
                       for p in pkts] for name, pkts in wire.items() if pkts}
    return {"links": per_link, "from": verdict.got[1] if verdict.got else None}


@pytest.mark.parametrize("how", [
    pytest.param("cmsg", marks=pytest.mark.patch(patchnames.EGRESS)),
    pytest.param("connected-unicast-if", marks=pytest.mark.patch(patchnames.EGRESS)),
    pytest.param("no-hao-control"),
])
def test_udp_leaves_by_named_link(net, how):
    """The UDP half of the strict oif: a datagram from CoA2 with a HAO
    (ancillary, or sticky on a socket connected with IPV6_UNICAST_IF m2,
    whose cached route from connect() must not be reused) leaves by link 2
    and the HA delivers it from the HoA.  Control, every kernel: without
    a HAO the ifindex only breaks ties, and the best route (link 1) wins."""
    seen = send_udp(net, hao=how != "no-hao-control", connected=how.startswith("connected"))
    print(f"UDP from CoA2, {how}: per HA link (source, HAO) {seen['links']}, "
          f"HA socket got it from {seen['from']}")
    if how == "no-hao-control":
        assert seen["links"] == {LINKS[0].ha_if: [(M2.coa, None)]}, seen
        assert seen["from"] == M2.coa, seen
        return
    assert seen["links"] == {M2.ha_if: [(M2.coa, HOA)]}, (
        f"want one datagram on {M2.ha_if} from CoA2 with HAO(HoA): {seen}")
    assert seen["from"] == HOA, f"HA delivered it from {seen['from']}, not the HoA"


PTB_MTU, BIG = 1280, 1400
IPV6_RECVERR = 25  # linux/in6.h; Python's socket module lacks it
ICMPV6_PKT_TOOBIG = 2


def send_big(net: Mcoa, tx: socket.socket, proto: int, way: str, drain) -> list:
    """One BIG-byte UDP datagram, BU or echo request from CoA2, PKTINFO(CoA2, m2), its HAO
    as a cmsg or from the HoA state; the packets seen per HA link."""
    cmsgs = [pktinfo(M2.coa, net.mn.ifindex(M2.mn_if))]
    if way == "cmsg":
        cmsgs.append((socket.IPPROTO_IPV6, socket.IPV6_DSTOPTS, hao_option(HOA)))
    if proto == NH_MH:
        tx.sendmsg([binding_update_of(BIG, BU_SEQ, 10)], cmsgs, 0, (HA, 0))
    elif proto == NH_ICMPV6:  # an echo request; checksum 0, the kernel fills it
        tx.sendmsg([struct.pack("!BBHHH", 128, 0, 0, 0x6d36, 1) + bytes(BIG - 8)], cmsgs, 0,
                   (HA, 0))
    else:
        tx.sendmsg([bytes(BIG)], cmsgs, 0, (HA, UDP_PORT))
    return drain(lambda p: addr(p.dst) == HA and p.proto in (proto, NH_FRAGMENT))


@pytest.mark.patch(patchnames.EGRESS)
@pytest.mark.parametrize("way", ["cmsg", "hoaddr-state"])
@pytest.mark.parametrize("proto", [NH_UDP, NH_MH, NH_ICMPV6], ids=["udp", "mh", "icmpv6"])
def test_pmtu_follows_named_link(net, proto, way):
    """A Packet Too Big for a datagram that left strictly by link 2 must
    lower the MTU of the route that link's sends use (RFC 8201): link 2's
    router sends a PTB (MTU 1280) quoting it, and the same send then
    leaves by link 2 as fragments of at most 1280 bytes, each with the HAO
    (unfragmentable part), and the HA delivers it from the HoA.  Before the
    fix the update landed on link 1's route (the best one for the quoted
    source) and the resend left link 2 at full size again.  UDP and a raw
    Mobility Header socket (a padded BU) reach it by their error handlers;
    a raw socket learns a PMTU only with IPV6_RECVERR (or connected,
    rawv6_err()), and then its next send reports EMSGSIZE once."""
    pmtu_round(net, proto, way)


def pmtu_round(net, proto: int, way: str, requote=lambda quoted: quoted) -> None:
    """The PTB round of test_pmtu_follows_named_link; requote edits the
    quoted packet before the PTB is sent."""
    if proto != NH_MH:
        accept_ro(net.ha, HAO, proto, with_state=False)  # the fixture's state
    if way == "hoaddr-state":
        hoa_output(net.mn, HA, HOA, [ln.coa for ln in LINKS], proto)
    ours = lambda data: True  # noqa: E731
    if proto in (NH_MH, NH_ICMPV6):
        rx = net.ha.socket(socket.AF_INET6, socket.SOCK_RAW, proto)
        tx = net.mn.socket(socket.AF_INET6, socket.SOCK_RAW, proto)
        tx.setsockopt(socket.IPPROTO_IPV6, IPV6_RECVERR, 1)
        if proto == NH_ICMPV6:
            ours = lambda data: data[:1] == b"\x80"  # noqa: E731 (the echo request)
    else:
        rx = net.ha.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        rx.bind(("::", UDP_PORT))
        tx = net.mn.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        tx.bind(("::", UDP_PORT + 1))
    ptb = net.ha.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
    with rx, tx, ptb, ha_captures(net) as drain:
        receiver = Receiver(net.ha, rx, ours)
        first = send_big(net, tx, proto, way, drain)
        receiver.wait()
        sizes = {name: [len(p.raw) for p in pkts] for name, pkts in first.items() if pkts}
        assert list(sizes) == [M2.ha_if] and len(first[M2.ha_if]) == 1, (
            f"the first message must leave whole by {M2.ha_if}; bytes per HA link: {sizes}")
        quoted = requote(first[M2.ha_if][0].raw)[:PTB_MTU - 48]
        ptb.sendto(struct.pack("!BBHI", ICMPV6_PKT_TOOBIG, 0, 0, PTB_MTU) + quoted,
                   (M2.coa, 0))
        time.sleep(0.3)  # the PTB is handled in softirq as it arrives
        if proto != NH_UDP:
            err = tx.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)  # reads and clears it
            assert err == errno.EMSGSIZE, f"the PTB did not reach the raw socket: error {err}"
        receiver = Receiver(net.ha, rx, ours)
        again = send_big(net, tx, proto, way, drain)
        verdict = receiver.wait()
    seen = {name: [(len(p.raw), p.proto, home_address(p) and addr(home_address(p)))
                   for p in pkts] for name, pkts in again.items() if pkts}
    print(f"after the PTB, per HA link (bytes, next header, HAO): {seen}")
    assert list(seen) == [M2.ha_if], f"the resend must leave by {M2.ha_if} only: {seen}"
    assert len(seen[M2.ha_if]) >= 2 and all(
        size <= PTB_MTU and nh == NH_FRAGMENT and hao == HOA
        for size, nh, hao in seen[M2.ha_if]), (
        f"the resend must be fragments of at most {PTB_MTU} bytes, each with HAO(HoA): {seen}")
    assert verdict.got and verdict.got[1] == HOA and len(verdict.got[0]) == BIG, (
        f"the HA did not reassemble the message from the HoA: {verdict.drops}")


def with_hop_by_hop(packet: bytes) -> bytes:
    """packet with an empty hop-by-hop options header (PadN) first."""
    hbh = bytes([packet[6], 0, OPT_PADN, 4, 0, 0, 0, 0])
    plen = struct.unpack_from("!H", packet, 4)[0] + len(hbh)
    return packet[:4] + struct.pack("!HB", plen, 0) + packet[7:40] + hbh + packet[40:]


@pytest.mark.patch(patchnames.EGRESS)
def test_pmtu_quoted_packet_with_hop_by_hop_first(net):
    """As test_pmtu_follows_named_link (UDP, HAO by cmsg), with the quoted
    packet carrying a hop-by-hop header before its destination options, as
    one with a router alert would: the PTB's handler must walk past it to
    find the HAO and lower link 2's route."""
    pmtu_round(net, NH_UDP, "cmsg", with_hop_by_hop)


NH_NONE = 59


def test_header_included_send_ignores_sticky_hao(net):
    """Control, every kernel: a header-included raw send (IPPROTO_RAW)
    carries the headers its caller built, never the socket's options, so
    a sticky HAO on that socket must not make its PKTINFO link strict: the
    packet takes the best route (link 1).  v2 of the series made it strict
    and sent it by link 2."""
    tx = net.mn.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_RAW)
    tx.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_DSTOPTS, hao_option(HOA))
    body = b"mip6kit!"
    packet = (struct.pack("!IHBB", 6 << 28, len(body), NH_NONE, 64)
              + socket.inet_pton(socket.AF_INET6, M2.coa)
              + socket.inet_pton(socket.AF_INET6, HA) + body)
    with tx, ha_captures(net) as drain:
        tx.sendmsg([packet], [pktinfo(M2.coa, net.mn.ifindex(M2.mn_if))], 0, (HA, 0))
        wire = drain(lambda p: p.proto == NH_NONE and addr(p.dst) == HA)
    links = {name: [(addr(p.src), home_address(p)) for p in pkts]
             for name, pkts in wire.items() if pkts}
    assert links == {LINKS[0].ha_if: [(M2.coa, None)]}, (
        f"want the packet as built (no HAO) on {LINKS[0].ha_if}, the best route: {links}")


# The marks alternative (issue "Series v3", section 3): MCoA BUs on an
# unchanged kernel.  Per CoA_i: a classic HAO state (COADDR CoA_i) and an
# outbound policy, both with XFRMA_MARK i; a table through link i and a
# rule "from CoA_i" for the re-route from COADDR; the BU from the HoA with
# an SO_MARK cmsg of i.  Four objects per CoA, where the series needs one
# state per CoA and one policy per home address.
MARKS_TABLE = 110
MARKS_OBJECTS = "per CoA: 1 state, 1 policy, 1 table (1 route), 1 rule; SO_MARK per BU"


def marks_alternative(net: Mcoa) -> None:
    with Xfrm(net.mn.name) as x:
        for ln in LINKS:
            x.add_sa(HOA, HA, proto=HAO, mode=RO, coaddr=ln.coa, mark=ln.n)
            x.add_policy(XFRM_POLICY_OUT, f"{HOA}/128", f"{HA}/128", upper_proto=NH_MH,
                         mark=ln.n, tmpls=[Tmpl(proto=HAO, mode=RO, src=HOA, dst=HA,
                                                level="use")])
    for ln in LINKS:
        table = str(MARKS_TABLE + ln.n)
        net.mn.ip("-6", "route", "add", "2001:db8:1::/64", "via", ln.ha_link, "dev",
                  ln.mn_if, "table", table)
        net.mn.ip("-6", "rule", "add", "from", ln.coa, "lookup", table)


def mark_cmsg(n: int) -> tuple:
    return (socket.SOL_SOCKET, socket.SO_MARK, struct.pack("=I", n))


@pytest.mark.parametrize("ln", LINKS, ids=[ln.mn_if for ln in LINKS])
def test_marks_alternative_leaves_by_coa_link(net, ln):
    """Control, every kernel: the marks alternative puts each CoA's BU on
    its own link, from its CoA, with HAO(HoA) and the sum over the HoA, and
    the HA delivers it from the HoA: what the series gives, with four
    objects per CoA and a mark per BU."""
    marks_alternative(net)
    seen = send_bu(net, "classic", ln, extra_cmsgs=[mark_cmsg(ln.n)])
    print(seen.table(f"marks alternative, BU for CoA{ln.n} with SO_MARK {ln.n} "
                     f"({MARKS_OBJECTS})"))
    expect_on_link(seen, ln)


def test_marks_alternative_link_down(net):
    """Control, every kernel: with link 2 down the marks alternative drops
    CoA2's BU on link 2 too (its table has only that route): no fallback,
    as with the series, and sendmsg succeeds."""
    marks_alternative(net)
    m2 = LINKS[1]
    net.ha.ip("link", "set", m2.ha_if, "down")
    wait_linkdown(net.mn, m2.mn_if, "2001:db8:1::/64")
    seen = send_bu(net, "classic", m2, extra_cmsgs=[mark_cmsg(m2.n)])
    print(seen.table(f"marks alternative, BU for CoA2, {m2.ha_if} down"))
    assert seen.links() == [] and seen.delivered_from is None, seen.table("seen")
    assert seen.send_error is None, seen.table("seen")
