# SPDX-License-Identifier: GPL-2.0-only
"""XFRMA_HOADDR: a route-optimisation HAO state that carries the home
address and keeps the source the sender chose (MCoA, RFC 5648).

The mobile node has CoA1 on m1 and CoA2 on m2, the HoA on lo, and one
outbound HAO state per CoA (source CoA_i, XFRMA_HOADDR = HoA).  Both states
name CoA1 as COADDR, as mip6d's single state names its primary CoA: an
unpatched kernel ignores XFRMA_HOADDR, puts the packet's source into the
HAO and rewrites the source to COADDR, so the old behaviour is visible on
the wire.  Which link a packet leaves by is not at stake here (the lean
kernel has no policy routing, and the PKTINFO ifindex does not pick the
link: the MCoA egress issue), so the HA captures on both.

Oracles: the HA is a receiving MIP6 kernel (it swaps the HAO in and
delivers from the HoA only if the transport checksum is right over the
HoA), and the bytes captured on the HA's links, summed by verifier.packets.
The state itself is read back over XFRM netlink (verifier.xfrmnl).
"""

import errno
import select
import socket
import struct
import time

import pytest

from . import patchnames
from .capture import Capture
from .features import kernel_version
from .hoastate import (
    CLOSED_PORT,
    IPPROTO_UDPLITE,
    LINKS,
    PRIMARY,
    TCP_PORT,
    UDP_PORT,
    assert_from_hoa,
    assert_left_from_coa,
    hoa_states,
)
from .mcoa import HA, HOA, ha_captures, multihomed
from .packets import (
    NH_ICMPV6,
    NH_MH,
    NH_TCP,
    NH_UDP,
    addr,
    binding_update,
    home_address,
    mh_seq,
    parse_ipv6,
    pktinfo,
)
from .receiver import Receiver
from .xfrm import HAO, RH2, accept_ro, hao_output, ro_output, xfrm_algo
from .xfrmnl import (
    IPPROTO_DSTOPTS,
    XFRM_MODE_ROUTEOPTIMIZATION,
    XFRM_MODE_TRANSPORT,
    XFRM_MSG_DELSA,
    XFRM_MSG_GETSA,
    XFRM_MSG_NEWSA,
    XFRM_MSG_UPDSA,
    XFRM_POLICY_OUT,
    XFRM_SA_DIR_IN,
    XFRM_SA_DIR_OUT,
    XFRMA_ALG_AUTH,
    XFRMA_HOADDR,
    Tmpl,
    Xfrm,
    XfrmError,
    encode_migrate,
    encode_policy,
    encode_sa_id,
)

HOA_NEW = "2001:db8:1::11"
BU_SEQ = 4343


@pytest.mark.patch(patchnames.HOA)
@pytest.mark.parametrize("ln", LINKS, ids=[ln.mn_if for ln in LINKS])
def test_bu_from_each_coa(mcoa, ln):
    """A BU from each CoA (IPV6_PKTINFO) leaves from that CoA with HAO(HoA);
    the HA kernel delivers it from the HoA."""
    accept_ro(mcoa.ha, HAO, NH_MH)
    hoa_states(mcoa.mn, NH_MH)
    rx = mcoa.ha.socket(socket.AF_INET6, socket.SOCK_RAW, NH_MH)
    tx = mcoa.mn.socket(socket.AF_INET6, socket.SOCK_RAW, NH_MH)
    with rx, tx, ha_captures(mcoa) as drain:
        receiver = Receiver(mcoa.ha, rx)
        tx.sendmsg([binding_update(BU_SEQ, 10)], [pktinfo(ln.coa, mcoa.mn.ifindex(ln.mn_if))],
                   0, (HA, 0))
        verdict = receiver.wait()
        wire = drain(lambda p: p.proto == NH_MH)
    assert_left_from_coa(ln, NH_MH, wire)
    assert_from_hoa(verdict)
    assert mh_seq(verdict.got[0]) == (5, BU_SEQ)


@pytest.mark.patch(patchnames.HOA)
def test_udp_both_directions(mcoa):
    """UDP from CoA2 through its HoA state reaches the HA from the HoA, and
    the HA's reply (RH2 via CoA2) reaches the MN's socket."""
    m2 = LINKS[1]
    accept_ro(mcoa.ha, HAO, NH_UDP)
    accept_ro(mcoa.mn, RH2, NH_UDP)
    hoa_states(mcoa.mn, NH_UDP)
    ro_output(mcoa.ha, RH2, HA, HOA, m2.coa, NH_UDP)
    rx = mcoa.ha.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    rx.bind((HA, UDP_PORT))  # the reply leaves from HA, the policy's source
    tx = mcoa.mn.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    tx.bind(("::", 0))
    with rx, tx:
        with ha_captures(mcoa) as drain:
            receiver = Receiver(mcoa.ha, rx)
            tx.sendmsg([b"mip6kit request"], [pktinfo(m2.coa, mcoa.mn.ifindex(m2.mn_if))], 0,
                       (HA, UDP_PORT))
            verdict = receiver.wait()
            wire = drain(lambda p: p.proto == NH_UDP and addr(p.dst) == HA)
        assert_left_from_coa(m2, NH_UDP, wire)
        assert_from_hoa(verdict)
        with Capture(mcoa.mn, m2.mn_if) as cap:
            back = Receiver(mcoa.mn, tx)
            rx.sendto(b"mip6kit reply", (HOA, tx.getsockname()[1]))
            reply = back.wait()
            rh2 = cap.drain(lambda p: p.proto == NH_UDP and addr(p.src) == HA)
    assert reply.got and reply.got == (b"mip6kit reply", HA), (
        f"the reply to the HoA did not reach the MN socket: {reply.drops}")
    assert [(addr(p.dst), p.rh2_home() and addr(p.rh2_home())) for p in rh2] == [
        (m2.coa, HOA)], "the reply did not come to CoA2 with a type 2 routing header"


@pytest.mark.patch(patchnames.HOA)
def test_tcp_syn_summed_over_hoa(mcoa):
    """A TCP SYN from CoA2 through its HoA state: the HA's listener takes it
    as a connection request from the HoA (TCP drops a bad sum silently).

    A TCP connection over a kept CoA cannot complete: the HA answers the
    HoA, and the MN's socket is bound to the CoA.  The request is the
    transport's own verdict on the checksum that mip6.c moved."""
    m2 = LINKS[1]
    accept_ro(mcoa.ha, HAO, NH_TCP)
    hoa_states(mcoa.mn, NH_TCP)
    lsn = mcoa.ha.socket(socket.AF_INET6, socket.SOCK_STREAM)
    lsn.bind(("::", TCP_PORT))
    lsn.listen(4)
    tx = mcoa.mn.socket(socket.AF_INET6, socket.SOCK_STREAM)
    tx.bind((m2.coa, 0))
    tx.setblocking(False)
    with lsn, tx, ha_captures(mcoa) as drain:
        with pytest.raises(BlockingIOError):
            tx.connect((HA, TCP_PORT))
        requests = mcoa.ha.syn_recv_peers()
        wire = drain(lambda p: p.proto == NH_TCP and addr(p.dst) == HA)
    first = {name: pkts[:1] for name, pkts in wire.items()}
    assert_left_from_coa(m2, NH_TCP, first)
    assert requests == [HOA], f"HA's pending TCP requests come from {requests}, want [{HOA}]"


UDP_NO_CHECK6_TX, UDP_NO_CHECK6_RX = 101, 102
ECHO = struct.pack("!BBHHH", 128, 0, 0, 0x6d36, 2) + b"mip6kit echo"


@pytest.mark.patch(patchnames.HOA)
@pytest.mark.parametrize("kind", ["icmpv6", "udplite", "udp-no-checksum"])
def test_checksum_moved(mcoa, kind):
    """The other transports mip6.c moves the sum for: ICMPv6 (echo request
    to a raw socket), UDP-Lite, and UDP sent without a checksum (RFC 6936:
    the zero must stay zero; the HA's socket accepts zero checksums)."""
    m2 = LINKS[1]
    proto, sock_type, payload = {
        "icmpv6": (NH_ICMPV6, socket.SOCK_RAW, ECHO),
        "udplite": (IPPROTO_UDPLITE, socket.SOCK_DGRAM, b"mip6kit lite"),
        "udp-no-checksum": (NH_UDP, socket.SOCK_DGRAM, b"mip6kit zero"),
    }[kind]
    accept_ro(mcoa.ha, HAO, proto)
    hoa_states(mcoa.mn, proto)
    port = 0 if sock_type == socket.SOCK_RAW else UDP_PORT
    rx = mcoa.ha.socket(socket.AF_INET6, sock_type, proto)
    rx.bind(("::", port))
    tx = mcoa.mn.socket(socket.AF_INET6, sock_type, proto)
    if kind == "udp-no-checksum":
        tx.setsockopt(socket.SOL_UDP, UDP_NO_CHECK6_TX, 1)
        rx.setsockopt(socket.SOL_UDP, UDP_NO_CHECK6_RX, 1)
    with rx, tx, ha_captures(mcoa) as drain:
        receiver = Receiver(mcoa.ha, rx, accept=lambda d: proto != NH_ICMPV6 or d[:1] == b"\x80")
        tx.sendmsg([payload], [pktinfo(m2.coa, mcoa.mn.ifindex(m2.mn_if))], 0, (HA, port))
        verdict = receiver.wait()
        wire = drain(lambda p: p.proto == proto and addr(p.dst) == HA)
    if kind == "udp-no-checksum":
        pkts = [p for got in wire.values() for p in got]
        assert [p.payload[6:8] for p in pkts] == [b"\0\0"], (
            "a UDP datagram sent without a checksum must leave with a zero checksum")
        assert addr(pkts[0].src) == m2.coa and home_address(pkts[0]) == socket.inet_pton(
            socket.AF_INET6, HOA), "source or HAO rewritten"
    else:
        assert_left_from_coa(m2, proto, wire)
    assert_from_hoa(verdict)


def test_icmp_error_quotes_wire_addresses(mcoa):
    """Control, every kernel: UDP to a closed port on the HA through a
    classic HAO state; the port unreachable goes to the CoA and quotes the
    packet as it was on the wire, source CoA and HAO HoA (the HA's
    net/ipv6/icmp.c mip6_addr_swap; KAME got this wrong)."""
    ln = LINKS[0]
    accept_ro(mcoa.ha, HAO, NH_UDP)
    hao_output(mcoa.mn, HA, HOA, ln.coa, NH_UDP)
    tx = mcoa.mn.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    with tx, Capture(mcoa.mn, ln.mn_if) as cap:
        tx.sendmsg([b"mip6kit closed"], [pktinfo(HOA, mcoa.mn.ifindex(ln.mn_if))], 0,
                   (HA, CLOSED_PORT))
        errors = cap.packets(lambda p: p.proto == NH_ICMPV6 and p.payload[:2] == b"\x01\x04")
    assert len(errors) == 1, f"expected one port unreachable at {ln.mn_if}, got {len(errors)}"
    err = errors[0]
    assert addr(err.dst) == ln.coa, f"error sent to {addr(err.dst)}, not the CoA {ln.coa}"
    quoted = parse_ipv6(err.payload[8:])
    assert quoted is not None, "the error quotes no parsable IPv6 packet"
    hao = home_address(quoted)
    assert (addr(quoted.src), addr(hao) if hao else None) == (ln.coa, HOA), (
        f"quoted packet: source {addr(quoted.src)}, HAO {addr(hao) if hao else None}; "
        f"on the wire it was source {ln.coa}, HAO {HOA}")


IPV6_RECVERR, IPV6_RECVPKTINFO, IPV6_PKTINFO = 25, 49, 50  # linux/in6.h
SO_EE_ORIGIN_ICMP6 = 3


@pytest.mark.patch(patchnames.HOA)
def test_icmp_error_reaches_the_sending_socket(mcoa):
    """UDP from CoA2 through its HoA state to a closed port on the HA: the
    MN's sending socket reads the port unreachable from its error queue
    (IPV6_RECVERR): ECONNREFUSED from ICMPv6 type 1 code 4, sent by the HA,
    and received for CoA2 on m2 (IPV6_RECVPKTINFO), where the datagram
    left.  An unpatched kernel sends from COADDR (CoA1), so the error comes
    back for CoA1 on m1."""
    ln = LINKS[1]
    accept_ro(mcoa.ha, HAO, NH_UDP)
    hoa_states(mcoa.mn, NH_UDP)
    tx = mcoa.mn.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    tx.setsockopt(socket.IPPROTO_IPV6, IPV6_RECVERR, 1)
    tx.setsockopt(socket.IPPROTO_IPV6, IPV6_RECVPKTINFO, 1)
    with tx:
        tx.sendmsg([b"mip6kit closed"], [pktinfo(ln.coa, mcoa.mn.ifindex(ln.mn_if))], 0,
                   (HA, CLOSED_PORT))
        poller = select.poll()
        poller.register(tx, select.POLLERR)  # a queued error, even on an idle socket
        assert poller.poll(3000), "no error reached the sending socket within 3 s"
        _, anc, _, _ = tx.recvmsg(2048, 1024, socket.MSG_ERRQUEUE)
    cmsgs = {(level, kind): data for level, kind, data in anc}
    ee = cmsgs.get((socket.IPPROTO_IPV6, IPV6_RECVERR))
    assert ee is not None, f"no IPV6_RECVERR message: {sorted(cmsgs)}"
    errno_, origin, icmp_type, icmp_code = struct.unpack_from("=IBBB", ee)
    offender = socket.inet_ntop(socket.AF_INET6, ee[16 + 8:16 + 24])
    assert (errno_, origin, icmp_type, icmp_code, offender) == (
        errno.ECONNREFUSED, SO_EE_ORIGIN_ICMP6, 1, 4, HA), (
        f"error {errno_} origin {origin} ICMPv6 {icmp_type}/{icmp_code} from {offender}")
    info = cmsgs.get((socket.IPPROTO_IPV6, IPV6_PKTINFO))
    assert info is not None, "no IPV6_PKTINFO with the error"
    to, ifindex = socket.inet_ntop(socket.AF_INET6, info[:16]), struct.unpack("=i", info[16:20])[0]
    assert (to, ifindex) == (ln.coa, mcoa.mn.ifindex(ln.mn_if)), (
        f"the error came back for {to} on ifindex {ifindex}; the datagram left from "
        f"{ln.coa} on {ln.mn_if}")


CLEANUP_WAIT = 30.0  # s; cleanup_net runs from a workqueue, slowly under TCG


def test_namespace_removed_under_live_states_and_bundle(no_splat):
    """Control, every kernel: the MN's namespace is deleted while its HoA
    states live and a connected socket holds a bundle through one of them;
    when that socket closes, the namespace's cleanup must run to the end
    (its veth peers vanish from the HA) without a splat.  A reference the
    states or the bundle never put keeps the namespace, and its devices,
    alive forever; on the debug profile kmemleak and the netns/netdev
    reference trackers then report it."""
    with multihomed(2) as m:
        m2 = m.links[1]
        accept_ro(m.ha, HAO, NH_UDP)
        hoa_states(m.mn, NH_UDP)
        tx = m.mn.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        tx.bind((m2.coa, 0))
        tx.connect((HA, UDP_PORT))
        tx.send(b"mip6kit before the namespace goes")
        m.mn.remove()  # the name goes; the socket keeps the namespace
        tx.close()  # its last reference: the cleanup starts
        deadline = time.monotonic() + CLEANUP_WAIT
        left = [ln.ha_if for ln in m.links]
        while left and time.monotonic() < deadline:
            left = [name for name in left if m.ha.ip("link", "show", name, check=False)
                    .returncode == 0]
            time.sleep(0.2)
    assert not left, (f"{CLEANUP_WAIT:g} s after its last socket closed, the MN namespace "
                      f"still holds the peers of {left}: a reference to it was never put")


def sa_of(states: list[dict], src: str) -> dict:
    found = [s for s in states if s["src"] == src and s["proto"] == IPPROTO_DSTOPTS]
    assert len(found) == 1, f"expected one DSTOPTS state from {src}, dump has {states}"
    return found[0]


@pytest.mark.patch(patchnames.HOA)
def test_round_trip(mcoa):
    """XFRMA_HOADDR comes back by GETSA, by dump and in the NEWSA
    notification; UPDSA rewrites it; MIGRATE carries it to the new state.
    An unpatched kernel drops the attribute: the state reads back without it."""
    coa1, coa2 = LINKS[0].coa, LINKS[1].coa
    ro = dict(proto=IPPROTO_DSTOPTS, mode=XFRM_MODE_ROUTEOPTIMIZATION)
    with Xfrm(mcoa.mn.name) as x, x.listen_sa() as events:
        x.add_sa(coa1, HA, coaddr=coa1, hoaddr=HOA, sa_dir=OUT, **ro)
        got = x.get_sa(HA, IPPROTO_DSTOPTS, 0, src=coa1)
        assert got is not None and got["hoaddr"] == HOA, (
            f"GETSA: hoaddr {got and got['hoaddr']}; a kernel without the patch ignores "
            f"attribute {XFRMA_HOADDR}")
        assert sa_of(x.dump_sa(), coa1)["hoaddr"] == HOA
        assert events.wait(XFRM_MSG_NEWSA)["hoaddr"] == HOA

        x.add_sa(coa1, HA, coaddr=coa1, hoaddr=HOA_NEW, update=True, sa_dir=OUT, **ro)
        assert x.get_sa(HA, IPPROTO_DSTOPTS, 0, src=coa1)["hoaddr"] == HOA_NEW
        assert events.wait(XFRM_MSG_UPDSA)["hoaddr"] == HOA_NEW

        # MIGRATE needs a policy whose template it can move; RO templates
        # hold no addresses, so a transport ESP template stands in for one.
        x.add_policy(XFRM_POLICY_OUT, f"{coa1}/128", f"{HA}/128",
                     tmpls=[Tmpl(proto=socket.IPPROTO_ESP, mode=XFRM_MODE_TRANSPORT)])
        x.migrate(f"{coa1}/128", f"{HA}/128", XFRM_POLICY_OUT, [
            dict(old_src=coa1, old_dst=HA, new_src=coa2, new_dst=HA, **ro),
            dict(old_src=coa1, old_dst=HA, new_src=coa2, new_dst=HA,
                 proto=socket.IPPROTO_ESP, mode=XFRM_MODE_TRANSPORT)])
        moved = x.get_sa(HA, IPPROTO_DSTOPTS, 0, src=coa2)
        assert moved is not None and moved["hoaddr"] == HOA_NEW, f"after MIGRATE: {moved}"


# Every HOADDR state here is an output SA (XFRMA_SA_DIR, ignored before 6.10).
OUT = XFRM_SA_DIR_OUT
RO_PRIMARY = dict(proto=IPPROTO_DSTOPTS, mode=XFRM_MODE_ROUTEOPTIMIZATION, coaddr=PRIMARY,
                  sa_dir=OUT)
REJECTS = {
    # id: (add_sa arguments, extack text)
    "esp": (dict(src=LINKS[0].coa, proto=socket.IPPROTO_ESP, mode=XFRM_MODE_TRANSPORT,
                 spi=0x100,
                 extra_attrs=[(XFRMA_ALG_AUTH, xfrm_algo("hmac(sha256)", bytes(32)))]),
            "HOADDR is only valid for DSTOPTS states"),
    "transport-mode": (dict(src=LINKS[0].coa, proto=IPPROTO_DSTOPTS,
                            mode=XFRM_MODE_TRANSPORT, coaddr=PRIMARY),
                       "HOADDR requires route optimization mode"),
    "ipv4-state": (dict(src="192.0.2.10", dst="192.0.2.1", family=socket.AF_INET,
                        proto=IPPROTO_DSTOPTS, mode=XFRM_MODE_ROUTEOPTIMIZATION,
                        coaddr="192.0.2.10"),
                   "HOADDR is only valid for IPv6 states"),
    "all-zero": (dict(src=LINKS[0].coa, hoaddr="::", **RO_PRIMARY),
                 "HOADDR must be a global unicast address"),
    "multicast": (dict(src=LINKS[0].coa, hoaddr="ff02::1", **RO_PRIMARY),
                  "HOADDR must be a global unicast address"),
    "equals-coaddr": (dict(src=LINKS[1].coa, hoaddr=PRIMARY, **RO_PRIMARY),
                      "HOADDR equals COADDR"),
    "equals-source": (dict(src=LINKS[1].coa, hoaddr=LINKS[1].coa, **RO_PRIMARY),
                      "HOADDR equals the source address"),
    "equals-destination": (dict(src=LINKS[1].coa, hoaddr=HA, **RO_PRIMARY),
                           "HOADDR equals the destination address"),
    "wildcard-source": (dict(src="::", **RO_PRIMARY), "HOADDR requires a state source address"),
}
# RFC 6275 6.3: the home address is a routable unicast address of the MN.
for case, bad in (("loopback", "::1"), ("link-local", "fe80::10"), ("site-local", "fec0::10"),
                  ("v4-mapped", "::ffff:192.0.2.10"), ("v4-compatible", "::192.0.2.10")):
    REJECTS[case] = (dict(src=LINKS[0].coa, hoaddr=bad, **RO_PRIMARY),
                     "HOADDR must be a global unicast address")


if kernel_version() >= (6, 10):
    # XFRMA_SA_DIR (6.10): only an output SA inserts a HAO.
    for case, sa_dir in (("input-sa", XFRM_SA_DIR_IN), ("no-direction", None)):
        REJECTS[case] = (dict(src=LINKS[0].coa, **{**RO_PRIMARY, "sa_dir": sa_dir}),
                         "HOADDR requires an output SA (SA_DIR out)")


@pytest.mark.patch(patchnames.HOA)
@pytest.mark.parametrize("case", REJECTS, ids=list(REJECTS))
def test_rejected(mcoa, case):
    """Each misuse of XFRMA_HOADDR is refused with EINVAL and its own extack
    message (an unpatched kernel ignores the attribute instead)."""
    kwargs, message = REJECTS[case]
    kwargs = {"dst": HA, "hoaddr": HOA, **kwargs}
    with Xfrm(mcoa.mn.name) as x, pytest.raises(XfrmError) as exc:
        x.add_sa(kwargs.pop("src"), kwargs.pop("dst"), **kwargs)
    assert (exc.value.errno, exc.value.message) == (errno.EINVAL, message)


@pytest.mark.patch(patchnames.HOA)
def test_rejected_wrong_length(mcoa):
    """A 15-byte XFRMA_HOADDR fails the exact-length netlink policy
    (NLA_POLICY_EXACT_LEN is a length range: ERANGE)."""
    with Xfrm(mcoa.mn.name) as x, pytest.raises(XfrmError) as exc:
        x.add_sa(LINKS[0].coa, HA, proto=IPPROTO_DSTOPTS, mode=XFRM_MODE_ROUTEOPTIMIZATION,
                 coaddr=PRIMARY, extra_attrs=[(XFRMA_HOADDR, bytes(15))])
    assert exc.value.errno == errno.ERANGE, str(exc.value)


@pytest.mark.patch(patchnames.HOA)
def test_rejected_update_that_adds_it(mcoa):
    """UPDSA cannot turn a classic state into a HoA state (nor back)."""
    ro = dict(proto=IPPROTO_DSTOPTS, mode=XFRM_MODE_ROUTEOPTIMIZATION, coaddr=PRIMARY,
              sa_dir=OUT)
    with Xfrm(mcoa.mn.name) as x:
        x.add_sa(LINKS[0].coa, HA, **ro)
        with pytest.raises(XfrmError) as exc:
            x.add_sa(LINKS[0].coa, HA, hoaddr=HOA, update=True, **ro)
    assert exc.value.errno == errno.EINVAL, exc.value


@pytest.mark.patch(patchnames.HOA)
def test_refused_update_changes_nothing(mcoa):
    """An UPDSA that moves COADDR but leaves out HOADDR is refused, and the
    live state is as it was, byte for byte (v2 wrote COADDR into the state
    before it checked HOADDR)."""
    coa1, coa2 = LINKS[0].coa, LINKS[1].coa
    ro = dict(proto=IPPROTO_DSTOPTS, mode=XFRM_MODE_ROUTEOPTIMIZATION)
    with Xfrm(mcoa.mn.name) as x:
        x.add_sa(coa1, HA, coaddr=coa1, hoaddr=HOA, sa_dir=OUT, **ro)
        assert x.get_sa(HA, IPPROTO_DSTOPTS, 0, src=coa1)["hoaddr"] == HOA, (
            "the state did not take XFRMA_HOADDR")
        before = x.dump_sa_raw()
        with pytest.raises(XfrmError) as exc:
            x.add_sa(coa1, HA, coaddr=coa2, update=True, sa_dir=OUT, **ro)
        assert exc.value.errno == errno.EINVAL, exc.value
        assert x.dump_sa_raw() == before, (
            f"a refused UPDSA changed the state: {x.get_sa(HA, IPPROTO_DSTOPTS, 0, src=coa1)}")


@pytest.mark.patch(patchnames.HOA)
@pytest.mark.parametrize("onto", ["source", "destination"])
def test_refused_migrate_onto_home_address(mcoa, onto):
    """A MIGRATE that would make the home address the state's source (or
    destination) is refused and leaves the SAD as it was: the home address
    travels in the HAO only."""
    coa1 = LINKS[0].coa
    ro = dict(proto=IPPROTO_DSTOPTS, mode=XFRM_MODE_ROUTEOPTIMIZATION)
    with Xfrm(mcoa.mn.name) as x:
        x.add_sa(coa1, HA, coaddr=coa1, hoaddr=HOA_NEW, sa_dir=OUT, **ro)
        assert x.get_sa(HA, IPPROTO_DSTOPTS, 0, src=coa1)["hoaddr"] == HOA_NEW, (
            "the state did not take XFRMA_HOADDR")
        x.add_policy(XFRM_POLICY_OUT, f"{coa1}/128", f"{HA}/128",
                     tmpls=[Tmpl(proto=socket.IPPROTO_ESP, mode=XFRM_MODE_TRANSPORT)])
        before = x.dump_sa_raw()
        new = (dict(new_src=HOA_NEW, new_dst=HA) if onto == "source"
               else dict(new_src=coa1, new_dst=HOA_NEW))
        # the template's entry too, or MIGRATE fails at the policy anyway
        esp = dict(proto=socket.IPPROTO_ESP, mode=XFRM_MODE_TRANSPORT)
        with pytest.raises(XfrmError) as exc:
            x.migrate(f"{coa1}/128", f"{HA}/128", XFRM_POLICY_OUT,
                      [dict(old_src=coa1, old_dst=HA, **new, **ro),
                       dict(old_src=coa1, old_dst=HA, **new, **esp)])
        assert exc.value.errno == errno.ENODATA, exc.value
        assert x.dump_sa_raw() == before, "a refused MIGRATE changed the SAD"


# XFRMA_HOADDR only means something on NEWSA and UPDSA.  6.10 made the
# messages refuse attributes they do not use (xfrm_reject_unused_attr, with
# XFRMA_SA_DIR); on 6.1 such attributes are ignored, as every other.
UNUSED_REFUSED = kernel_version() >= (6, 10)
HOADDR_ATTR = ((XFRMA_HOADDR, socket.inet_pton(socket.AF_INET6, HOA)),)
UNUSED = {
    "getsa": lambda coa: encode_sa_id(XFRM_MSG_GETSA, HA, IPPROTO_DSTOPTS, 0, src=coa,
                                      extra_attrs=HOADDR_ATTR),
    "delsa": lambda coa: encode_sa_id(XFRM_MSG_DELSA, HA, IPPROTO_DSTOPTS, 0, src=coa,
                                      extra_attrs=HOADDR_ATTR),
    "newpolicy": lambda coa: encode_policy(XFRM_POLICY_OUT, "::/0", f"{HA}/128",
                                           upper_proto=NH_UDP, extra_attrs=HOADDR_ATTR),
    "migrate": lambda coa: encode_migrate(
        f"{coa}/128", f"{HA}/128", XFRM_POLICY_OUT,
        [dict(old_src=coa, old_dst=HA, new_src=LINKS[1].coa, new_dst=HA,
              proto=IPPROTO_DSTOPTS, mode=XFRM_MODE_ROUTEOPTIMIZATION)],
        extra_attrs=HOADDR_ATTR),
}


@(pytest.mark.patch(patchnames.HOA) if UNUSED_REFUSED else lambda f: f)
@pytest.mark.parametrize("message", UNUSED, ids=list(UNUSED))
def test_hoaddr_refused_where_unused(mcoa, message):
    """GETSA, DELSA, NEWPOLICY and MIGRATE carrying XFRMA_HOADDR are
    refused with EINVAL and "Invalid attribute HOADDR", and the SAD and
    SPD stay as they were.  An unpatched 6.12 ignores the unknown
    attribute; 6.1 ignores unused attributes (a skip there)."""
    if not UNUSED_REFUSED:
        pytest.skip(f"Linux {kernel_version()} ignores attributes a message does not use")
    coa1 = LINKS[0].coa
    with Xfrm(mcoa.mn.name) as x:
        x.add_sa(coa1, HA, hoaddr=HOA, **{**RO_PRIMARY, "coaddr": coa1})
        before = (x.dump_sa_raw(), x.dump_policy())
        with pytest.raises(XfrmError) as exc:
            x.request(UNUSED[message](coa1))
        after = (x.dump_sa_raw(), x.dump_policy())
    assert (exc.value.errno, exc.value.message) == (errno.EINVAL, "Invalid attribute HOADDR")
    assert after == before, f"a refused {message} changed the SAD or the SPD"


@pytest.mark.patch(patchnames.HOA)
def test_rejected_update_that_removes_it(mcoa):
    """UPDSA of a HoA state without XFRMA_HOADDR would turn it back into a
    classic state under the sender's feet: refused (EINVAL), and the
    state keeps its home address.  (xfrm_state_update() has no extack:
    the refusal carries no text.)"""
    coa1 = LINKS[0].coa
    with Xfrm(mcoa.mn.name) as x:
        x.add_sa(coa1, HA, hoaddr=HOA, **{**RO_PRIMARY, "coaddr": coa1})
        with pytest.raises(XfrmError) as exc:
            x.add_sa(coa1, HA, update=True, **{**RO_PRIMARY, "coaddr": coa1})
        kept = x.get_sa(HA, IPPROTO_DSTOPTS, 0, src=coa1)
    assert exc.value.errno == errno.EINVAL, exc.value
    assert kept is not None and kept["hoaddr"] == HOA, f"after the refused UPDSA: {kept}"


@pytest.mark.patch(patchnames.HOA)
def test_delsa_notification_carries_the_home_address(mcoa):
    """The DELSA notification (XFRMNLGRP_SA) of a HoA state names its
    home address, as its NEWSA did: a daemon tracking its states by
    notification tells which HoA lost its binding."""
    coa1 = LINKS[0].coa
    with Xfrm(mcoa.mn.name) as x, x.listen_sa() as events:
        x.add_sa(coa1, HA, hoaddr=HOA, **{**RO_PRIMARY, "coaddr": coa1})
        x.delete_sa(HA, IPPROTO_DSTOPTS, 0, src=coa1)
        gone = events.wait(XFRM_MSG_DELSA)
    assert gone is not None, "no DELSA notification"
    assert (gone["src"], gone["hoaddr"]) == (coa1, HOA), f"DELSA notification: {gone}"


@pytest.mark.patch(patchnames.HOA)
def test_updated_home_address_reaches_the_wire_through_a_cached_bundle(mcoa):
    """A connected UDP socket on CoA2 keeps its route, the XFRM bundle
    holding CoA2's HoA state.  UPDSA gives that state a new home address;
    the next datagram through the same cached bundle carries the new one:
    the update changes the live state in place, it does not leave the
    bundle with a stale copy."""
    m2 = LINKS[1]
    accept_ro(mcoa.ha, HAO, NH_UDP)
    hoa_states(mcoa.mn, NH_UDP)
    rx = mcoa.ha.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    rx.bind(("::", UDP_PORT))  # no port unreachable to refuse the next send
    tx = mcoa.mn.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    tx.bind((m2.coa, 0))
    tx.connect((HA, UDP_PORT))

    def sent_hao() -> list:
        with ha_captures(mcoa) as drain:
            tx.send(b"mip6kit cached bundle")
            wire = drain(lambda p: p.proto == NH_UDP and addr(p.dst) == HA)
        return [(addr(p.src), home_address(p) and addr(home_address(p)))
                for pkts in wire.values() for p in pkts]

    with rx, tx:
        first = sent_hao()
        with Xfrm(mcoa.mn.name) as x:
            x.add_sa(m2.coa, HA, hoaddr=HOA_NEW, update=True, **RO_PRIMARY)
        second = sent_hao()
    assert first == [(m2.coa, HOA)], f"before the UPDSA (source, HAO): {first}"
    assert second == [(m2.coa, HOA_NEW)], f"after the UPDSA (source, HAO): {second}"


TABLE, FWMARK = "100", 7


STEERS = {
    # id: (rule selector, protocol, the CoA sending, patches that must all be in)
    "source-rule": (["from", LINKS[1].coa], NH_MH, LINKS[1], (patchnames.HOA,)),
    "fwmark-rule": (["fwmark", str(FWMARK)], NH_MH, LINKS[1], (patchnames.HOA, patchnames.EGRESS)),
    "ipproto-rule": (["ipproto", str(NH_MH)], NH_MH, LINKS[0], (patchnames.HOA, patchnames.EGRESS)),
    "dport-rule": (["ipproto", "udp", "dport", str(UDP_PORT)], NH_UDP, LINKS[0],
                   (patchnames.HOA, patchnames.EGRESS)),
}


@pytest.mark.parametrize("steer", [
    pytest.param(steer, marks=[pytest.mark.patch(p) for p in patches])
    for steer, (_, _, _, patches) in STEERS.items()])
def test_reroute_follows_packet_not_coaddr(mcoa, steer):
    """The bundle's re-route is the sender's flow but for the link: it
    starts from the packet's source, mark, protocol and ports, not from
    COADDR.  Every state names CoA1 as COADDR, table 100 reaches the HA by
    link 2, and a rule sends the packet there by its source (CoA2), mark,
    protocol (MH) or UDP port.  Sent with PKTINFO ifindex 0, it must leave
    by h2 from the CoA that sent it.  A kernel that re-routes from COADDR
    or from a bare flow (no mark, protocol or ports) sends it by link 1."""
    rule, proto, ln = STEERS[steer][:3]
    m2 = LINKS[1]
    accept_ro(mcoa.ha, HAO, proto)
    hoa_states(mcoa.mn, proto)
    mcoa.mn.ip("route", "add", "2001:db8:1::/64", "via", m2.ha_link, "dev", m2.mn_if,
               "table", TABLE)
    mcoa.mn.ip("-6", "rule", "add", *rule, "lookup", TABLE)
    sock_type, port = ((socket.SOCK_RAW, 0) if proto == NH_MH
                       else (socket.SOCK_DGRAM, UDP_PORT))
    rx = mcoa.ha.socket(socket.AF_INET6, sock_type, proto)
    rx.bind(("::", port))
    tx = mcoa.mn.socket(socket.AF_INET6, sock_type, proto)
    if steer == "fwmark-rule":
        tx.setsockopt(socket.SOL_SOCKET, socket.SO_MARK, FWMARK)
    payload = binding_update(BU_SEQ, 10) if proto == NH_MH else b"mip6kit re-route"
    with rx, tx, ha_captures(mcoa) as drain:
        receiver = Receiver(mcoa.ha, rx)
        tx.sendmsg([payload], [pktinfo(ln.coa, 0)], 0, (HA, port))
        verdict = receiver.wait()
        wire = drain(lambda p: p.proto == proto and addr(p.dst) == HA)
    links = {name: [addr(p.src) for p in pkts] for name, pkts in wire.items() if pkts}
    assert links == {m2.ha_if: [ln.coa]}, (
        f"want the packet on {m2.ha_if} from {ln.coa}; per HA link, the sources seen: {links}")
    assert_left_from_coa(ln, proto, wire)
    assert_from_hoa(verdict)
