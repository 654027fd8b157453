# SPDX-License-Identifier: GPL-2.0-only
"""Flow bindings (RFC 6089) for a multihomed mobile node: each flow pinned
to one care-of address by an nftables mark, in both directions, over three
data planes built from unchanged kernel parts.

Topology (the links of verifier.mcoa):

  mnn --lan-- MN ==m1/h1, m2/h2, m3/h3== HA --hc-- CN
  (NEMO host)     CoA1..CoA3 per link        (home side)

- The MN has the HoA on lo (IFA_F_HOMEADDRESS) and routes the mobile
  network prefix MNP to the NEMO host mnn (RFC 3963).
- The HA forwards between the MN's bindings and the CN.

Flows (the traffic selectors of RFC 6089, each to one binding):

  udp-a  UDP to CN port 5001  -> CoA1
  udp-b  UDP to CN port 5002  -> CoA2
  tcp    TCP to CN port 5003  -> CoA3

The mark of a flow is the number of its link.  The MN sets it in nftables:
- for locally generated traffic, in a `type route` chain on the output
  hook, the one that re-routes (ip6_route_me_harder(): a new route and
  XFRM lookup with the mark) after the socket chose its source;
- for forwarded (NEMO) traffic, on the prerouting hook, before the route.

The HA marks the return traffic by the same selectors on prerouting.
"""

import contextlib
import socket
import struct
import threading
import time
from dataclasses import dataclass

from . import features
from .capture import Capture
from .cmd import cmd
from .mcoa import HOA, Link, join
from .netns import IFA_F_NODAD, Namespace, namespaces, veth, wait_can_send
from .packets import NH_TCP, NH_UDP, Packet, addr, parse_ipv6
from .xfrmnl import XFRM_MODE_TUNNEL, XFRM_POLICY_IN, XFRM_POLICY_OUT, Xfrm

NH_IPV6, NH_ESP = 41, 50
XFRM_POLICY_FWD = 2
CN, CN_GW = "2001:db8:cc::20", "2001:db8:cc::1"  # not 2001:db8:c::, link 3
MNP, MR_LAN, MNN = "2001:db8:e::/64", "2001:db8:e::1", "2001:db8:e::20"
LINKS = (Link(1), Link(2), Link(3))
AUTH_KEY = "0x" + "42" * 32  # hmac(sha256); ESP with cipher_null: the captures read the inner packet


@dataclass(frozen=True)
class Flow:
    name: str
    proto: int
    port: int  # the CN's
    link: Link  # the binding it is pinned to

    @property
    def mark(self) -> int:
        return self.link.n

    def selector(self, port_dir: str) -> str:
        """The nft match of this flow: port_dir dport (to the CN) or sport (back)."""
        if self.proto == NH_TCP:
            return "meta l4proto tcp"
        return f"udp {port_dir} {self.port}"


FLOWS = (Flow("udp-a", NH_UDP, 5001, Link(1)), Flow("udp-b", NH_UDP, 5002, Link(2)),
         Flow("tcp", NH_TCP, 5003, Link(3)))


def spi(link: Link, upstream: bool) -> int:
    """The SPI of a binding's SA: 0x1N0 upstream (CoA -> HA), 0x2N0 back."""
    return (0x100 if upstream else 0x200) + 0x10 * link.n


@dataclass(frozen=True)
class Net:
    mn: Namespace
    ha: Namespace
    cn: Namespace
    mnn: Namespace | None  # the NEMO host, when the flows come from behind the MN

    @property
    def origin(self) -> str:
        """The inner source of the flows: the HoA, or the NEMO host."""
        return MNN if self.mnn else HOA

    @property
    def client(self) -> Namespace:
        return self.mnn or self.mn


@contextlib.contextmanager
def network(nemo: bool):
    """MN, HA and CN (and the NEMO host) with the three links; no data plane."""
    features.require("IPV6_MIP6")
    names = ("mn", "ha", "cn") + (("mnn",) if nemo else ())
    with namespaces(*names) as spaces:
        mn, ha, cn = spaces[:3]
        mnn = spaces[3] if nemo else None
        ends, mn_cmds, ha_cmds = join(mn, ha, LINKS)
        ends += veth(ha, "hc", cn, "c0", wait=False)
        ha.add_addr("hc", CN_GW, 64, IFA_F_NODAD)
        cn.add_addr("c0", CN, 64, IFA_F_NODAD)
        cn.ip("-6", "route", "add", "default", "via", CN_GW)
        ha.sysctl("net.ipv6.conf.all.forwarding", 1)
        if mnn is not None:
            ends += veth(mn, "lan", mnn, "e0", wait=False)
            mn.add_addr("lan", MR_LAN, 64, IFA_F_NODAD)
            mnn.add_addr("e0", MNN, 64, IFA_F_NODAD)
            mnn.ip("-6", "route", "add", "default", "via", MR_LAN)
            mn.sysctl("net.ipv6.conf.all.forwarding", 1)
        mn.ip_batch(*mn_cmds)
        ha.ip_batch(*ha_cmds)
        wait_can_send(ends)
        yield Net(mn, ha, cn, mnn)


def nft(ns: Namespace, ruleset: str) -> None:
    cmd(["nft", "-f", "-"], ns=ns.name, input=ruleset)


def mark_flows(net: Net, marks: dict[str, int] | None = None, esp: bool = False) -> None:
    """The flow bindings as nftables rules: the MN marks each flow to the
    CN (output route chain for its own traffic, prerouting for the NEMO
    host's), the HA marks the traffic back to the origin.  marks: flow
    name -> mark, where not the flow's own link.  esp: each end also marks
    the ESP packets of each binding's inbound SA by SPI, on prerouting, so
    that the SA can carry the binding's mark too (see esp()).  Each end's
    table is replaced in one transaction (nft -f), so no packet meets half
    a rule set."""
    mark = {f.name: f.mark for f in FLOWS} | (marks or {})
    to_cn = [f"ip6 saddr {net.origin} ip6 daddr {CN} {f.selector('dport')} "
             f"meta mark set {mark[f.name]}" for f in FLOWS]
    back = [f"ip6 saddr {CN} ip6 daddr {net.origin} {f.selector('sport')} "
            f"meta mark set {mark[f.name]}" for f in FLOWS]
    esp_in = {up: [f"esp spi {spi(ln, up):#x} meta mark set {ln.n}" for ln in LINKS] if esp
              else [] for up in (True, False)}
    pre = "type filter hook prerouting priority mangle; policy accept;"
    mn_chains = {"pin": (pre, to_cn + esp_in[False])} if net.mnn else {
        "pin": ("type route hook output priority mangle; policy accept;", to_cn),
        "inbound": (pre, esp_in[False])}
    for ns, chains in ((net.mn, mn_chains), (net.ha, {"pin": (pre, back + esp_in[True])})):
        body = "".join(f"  chain {name} {{\n    {hook}\n"
                       + "".join(f"    {r}\n" for r in rules) + "  }\n"
                       for name, (hook, rules) in chains.items())
        nft(ns, f"table ip6 flows\ndelete table ip6 flows\ntable ip6 flows {{\n{body}}}\n")


def repin(net: Net, flow: Flow, to: Link) -> None:
    """Move one flow to another binding (its link went down)."""
    mark_flows(net, {flow.name: to.n})


def _origin_prefix(net: Net) -> str:
    return MNP if net.mnn else f"{HOA}/128"


def plain(net: Net) -> None:
    """Data plane 1: one ip6ip6 tunnel per CoA, a table per mark."""
    mn_cmds, ha_cmds = [], []
    for ln in LINKS:
        t = f"t{ln.n}"
        mn_cmds += [["tunnel", "add", t, "mode", "ip6ip6", "local", ln.coa,
                     "remote", ln.ha_link, "dev", ln.mn_if, "encaplimit", "none"],
                    ["link", "set", t, "up"],
                    ["rule", "add", "fwmark", str(ln.n), "table", str(100 + ln.n)],
                    ["route", "add", "default", "dev", t, "table", str(100 + ln.n)]]
        ha_cmds += [["tunnel", "add", t, "mode", "ip6ip6", "local", ln.ha_link,
                     "remote", ln.coa, "dev", ln.ha_if, "encaplimit", "none"],
                    ["link", "set", t, "up"],
                    ["rule", "add", "fwmark", str(ln.n), "table", str(100 + ln.n)],
                    ["route", "add", _origin_prefix(net), "dev", t,
                     "table", str(100 + ln.n)]]
    # unmarked traffic (and the first route of a local flow, before its mark) takes link 1
    mn_cmds.append(["route", "add", "default", "dev", "t1"])
    ha_cmds.append(["route", "add", _origin_prefix(net), "dev", "t1"])
    net.mn.ip_batch(*mn_cmds, ipv6=True)
    net.ha.ip_batch(*ha_cmds, ipv6=True)


def _sa(src: str, dst: str, spi_: int, reqid: int, *extra: str) -> list[str]:
    return ["xfrm", "state", "add", "src", src, "dst", dst, "proto", "esp",
            "spi", hex(spi_), "reqid", str(reqid), "mode", "tunnel", *extra,
            "enc", "cipher_null", "", "auth-trunc", "hmac(sha256)", AUTH_KEY, "128"]


def _policy(src: str, dst: str, direction: str, tmpl_src: str, tmpl_dst: str,
            reqid: int, *extra: str) -> list[str]:
    return ["xfrm", "policy", "add", "src", src, "dst", dst, "dir", direction, *extra,
            "tmpl", "src", tmpl_src, "dst", tmpl_dst, "proto", "esp", "mode", "tunnel",
            "reqid", str(reqid)]


def esp(net: Net, by: str) -> None:
    """Data planes 2 and 3: an ESP tunnel per CoA, its SAs and policies
    selected by mark (by="mark": XFRMA_MARK on every SA and policy; the
    inbound ESP of a binding gets its mark on prerouting, by SPI, from
    mark_flows(esp=True): an inbound SA is found by SPI, and one without
    the binding's mark is not found by a MIGRATE that carries it) or by
    xfrm interface (by="xfrmi": if_id, one interface per CoA, a route per
    mark)."""
    origin = _origin_prefix(net)
    mn_cmds, ha_cmds = [], []
    for ln in LINKS:
        n = str(ln.n)
        up, down = spi(ln, True), spi(ln, False)
        if by == "mark":
            sel_out = sel_in = sa_out = sa_in = ["mark", n, "mask", "0xffffffff"]
        else:
            sel_out = sel_in = sa_out = sa_in = ["if_id", n]
            for dev, cmds in ((ln.mn_if, mn_cmds), (ln.ha_if, ha_cmds)):
                cmds += [["link", "add", f"x{n}", "type", "xfrm", "dev", dev, "if_id", n],
                         ["link", "set", f"x{n}", "up"],
                         ["rule", "add", "fwmark", n, "table", str(100 + ln.n)]]
            mn_cmds.append(["route", "add", "default", "dev", f"x{n}",
                            "table", str(100 + ln.n)])
            ha_cmds.append(["route", "add", origin, "dev", f"x{n}",
                            "table", str(100 + ln.n)])
        # the MN: out by its mark; back in (to the HoA, or forwarded to the MNP)
        mn_cmds += [_sa(ln.coa, ln.ha_link, up, ln.n, *sa_out),
                    _sa(ln.ha_link, ln.coa, down, ln.n, *sa_in),
                    _policy("::/0", CN + "/128", "out", ln.coa, ln.ha_link, ln.n, *sel_out),
                    _policy(CN + "/128", origin, "fwd" if net.mnn else "in",
                            ln.ha_link, ln.coa, ln.n, *sel_in)]
        ha_cmds += [_sa(ln.ha_link, ln.coa, down, ln.n, *sa_out),
                    _sa(ln.coa, ln.ha_link, up, ln.n, *sa_in),
                    _policy(CN + "/128", origin, "out", ln.ha_link, ln.coa, ln.n, *sel_out),
                    _policy(origin, CN + "/128", "fwd", ln.coa, ln.ha_link, ln.n, *sel_in)]
    first = LINKS[0]
    if by == "mark":  # one route each way; the policies pick the tunnel
        mn_cmds.append(["route", "add", "default", "via", first.ha_link,
                        "dev", first.mn_if])
        ha_cmds.append(["route", "add", origin, "via", first.coa, "dev", first.ha_if])
    else:
        mn_cmds.append(["route", "add", "default", "dev", "x1"])
        ha_cmds.append(["route", "add", origin, "dev", "x1"])
    net.mn.ip_batch(*mn_cmds, ipv6=True)
    net.ha.ip_batch(*ha_cmds, ipv6=True)


PLANES = {"ip6ip6": plain, "esp-mark": lambda net: esp(net, "mark"),
          "esp-xfrmi": lambda net: esp(net, "xfrmi")}


@dataclass(frozen=True)
class Seen:
    """A tunnelled packet of a flow, as a link's capture saw it."""
    link: Link
    upstream: bool  # MN -> HA
    outer_src: str
    outer_dst: str
    spi: int | None  # ESP only
    inner: Packet

    def ports(self) -> tuple[int, int]:
        return struct.unpack_from("!HH", self.inner.payload, 0)

    def probe(self) -> int:
        """The number of a Prober's UDP probe (or its echo); 0 for others."""
        word = self.inner.payload[8:].split(b";", 1)[0]
        return int(word) if self.inner.proto == NH_UDP and word.isdigit() else 0


def dissect(pkt: Packet) -> tuple[int | None, Packet] | None:
    """(SPI or None, inner packet) of an ip6ip6 or ESP (cipher_null) tunnel packet."""
    if pkt.proto == NH_IPV6:
        inner = parse_ipv6(pkt.payload)
        return (None, inner) if inner else None
    if pkt.proto == NH_ESP and len(pkt.payload) >= 8:
        inner = parse_ipv6(pkt.payload[8:])  # cipher_null: no IV, the inner packet as is
        return (struct.unpack_from("!I", pkt.payload)[0], inner) if inner else None
    return None


@contextlib.contextmanager
def link_captures(net: Net):
    """Every link, both directions: MN -> HA at the HA's end, HA -> MN at the
    MN's (a capture keeps what arrives).  Yields drain() -> [Seen]."""
    caps = [(ln, True, Capture(net.ha, ln.ha_if)) for ln in LINKS]
    caps += [(ln, False, Capture(net.mn, ln.mn_if)) for ln in LINKS]

    def drain() -> list[Seen]:
        out = []
        for ln, upstream, cap in caps:
            for pkt in cap.drain(lambda p: dissect(p) is not None):
                spi_, inner = dissect(pkt)
                out.append(Seen(ln, upstream, addr(pkt.src), addr(pkt.dst), spi_, inner))
        return out
    try:
        yield drain
    finally:
        for _, _, cap in caps:
            cap.close()


class Echo:
    """The CN's end of the flows: echoes each UDP datagram and TCP stream,
    and records the peer address each came from."""

    def __init__(self, cn: Namespace):
        self.peers: dict[str, list[str]] = {f.name: [] for f in FLOWS}
        self._socks = []
        self._threads = []
        for f in FLOWS:
            kind = socket.SOCK_DGRAM if f.proto == NH_UDP else socket.SOCK_STREAM
            s = cn.socket(socket.AF_INET6, kind)
            s.bind((CN, f.port))
            if kind == socket.SOCK_STREAM:
                s.listen(4)
            s.settimeout(10)
            self._socks.append(s)
            t = threading.Thread(target=self._serve, args=(f, s), daemon=True)
            t.start()
            self._threads.append(t)

    def _serve(self, flow: Flow, s: socket.socket) -> None:
        with contextlib.suppress(OSError):
            if flow.proto == NH_UDP:
                while True:
                    data, peer = s.recvfrom(2048)
                    self.peers[flow.name].append(peer[0])
                    s.sendto(data, peer)
            else:
                while True:
                    conn, peer = s.accept()
                    self.peers[flow.name].append(peer[0])
                    threading.Thread(target=self._stream, args=(conn,), daemon=True).start()

    @staticmethod
    def _stream(conn: socket.socket) -> None:
        with conn, contextlib.suppress(OSError):
            conn.settimeout(30)
            while data := conn.recv(2048):
                conn.sendall(data)

    def close(self) -> None:
        for s in self._socks:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()


def exchange(client: Namespace, flow: Flow, payload: bytes, timeout: float = 5.0) -> bytes:
    """One round trip of the flow from client to the CN: what came back."""
    if flow.proto == NH_UDP:
        with client.socket(socket.AF_INET6, socket.SOCK_DGRAM) as s:
            s.settimeout(timeout)
            s.connect((CN, flow.port))
            s.send(payload)
            return s.recv(2048)
    with client.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect((CN, flow.port))
        s.sendall(payload)
        return s.recv(2048)


# struct tcp_info (include/uapi/linux/tcp.h): offsets of tcpi_total_retrans
# and tcpi_dsack_dups, and the size up to the latter
TCP_INFO_TOTAL_RETRANS, TCP_INFO_DSACK_DUPS, TCP_INFO_SIZE = 100, 216, 220


class Prober:
    """A flow's steady traffic from the origin, in a thread until stop():
    one probe at a time, each waiting up to wait s for its own echo.  A
    UDP echo that comes after its wait still counts (the guest's one CPU
    may be busy with a command); lost are the probes never echoed.  For
    TCP a dropped segment shows as a retransmission that the receiver did
    not report as a duplicate: the kernel's tcpi_total_retrans less its
    tcpi_dsack_dups (a retransmission timer that fires while the guest's
    CPU is busy resends a segment that was not lost, and the receiver's
    D-SACK says so); a stalled stream shows as a probe not echoed."""

    PACE = 0.01  # s between an echo and the next probe

    def __init__(self, client: Namespace, flow: Flow, wait: float = 2.0):
        self.flow, self.wait = flow, wait
        self.sent = 0
        self.echoed: set[int] = set()
        self.retrans = self.spurious = 0  # TCP: resent for a loss; resent in vain
        self._stop = threading.Event()
        kind = socket.SOCK_DGRAM if flow.proto == NH_UDP else socket.SOCK_STREAM
        self.sock = client.socket(socket.AF_INET6, kind)
        self.sock.settimeout(5)
        self.sock.connect((CN, flow.port))
        self.sock.settimeout(wait)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    @property
    def lost(self) -> int:
        return self.sent - len(self.echoed)

    def _run(self) -> None:
        buf = b""
        while not self._stop.is_set():
            n = self.sent + 1
            try:
                self.sock.send(f"{n};".encode())
                self.sent = n
                while n not in self.echoed:
                    data = self.sock.recv(2048)
                    if self.flow.proto == NH_TCP:  # a stream: probes may split or merge
                        buf += data
                        *whole, buf = buf.split(b";")
                    else:
                        whole = [data.rstrip(b";")]
                    self.echoed.update(int(w) for w in whole if w.isdigit())
                self._stop.wait(self.PACE)
            except TimeoutError:
                continue  # lost, or late: a later recv may still count it
            except OSError:  # e.g. no route for a moment
                self._stop.wait(0.1)

    def wait_echoed(self, count: int, timeout: float = 10.0) -> bool:
        """Whether count more probes are echoed within timeout s."""
        deadline = time.monotonic() + timeout
        want = len(self.echoed) + count
        while len(self.echoed) < want and time.monotonic() < deadline:
            time.sleep(0.02)
        return len(self.echoed) >= want

    def stop(self, grace: float = 1.0) -> None:
        """Stop sending; late echoes have grace s to arrive."""
        self._stop.set()
        self._thread.join(timeout=self.wait + 5)
        self.sock.settimeout(grace)
        with contextlib.suppress(OSError):
            while self.lost and (data := self.sock.recv(2048)):
                self.echoed.update(int(w) for w in data.split(b";") if w.isdigit())
        if self.flow.proto == NH_TCP:
            info = self.sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, TCP_INFO_SIZE)
            total = struct.unpack_from("=I", info, TCP_INFO_TOTAL_RETRANS)[0]
            self.spurious = struct.unpack_from("=I", info, TCP_INFO_DSACK_DUPS)[0]
            self.retrans = total - self.spurious
        self.sock.close()


def move_coa(net: Net, ln: Link, new: str) -> None:
    """The CoA of link ln becomes new, on the same link, in the esp-mark
    plane: the MN adds the address, and both ends MIGRATE (with XFRMA_MARK
    ln.n) the policies and SAs of that binding alone, as the BU and BA of
    the move make them do (RFC 4877 4.3)."""
    net.mn.add_addr(ln.mn_if, new, 64, IFA_F_NODAD)
    net.ha.ip("-6", "neigh", "add", new, "lladdr", net.mn.mac(ln.mn_if), "dev", ln.ha_if,
              "nud", "permanent")
    origin = _origin_prefix(net)
    tunnel = {"proto": socket.IPPROTO_ESP, "mode": XFRM_MODE_TUNNEL, "reqid": ln.n}
    up = {"old_src": ln.coa, "old_dst": ln.ha_link, "new_src": new, "new_dst": ln.ha_link}
    back = {"old_src": ln.ha_link, "old_dst": ln.coa, "new_src": ln.ha_link, "new_dst": new}
    with Xfrm(net.mn.name) as x:
        x.migrate("::/0", f"{CN}/128", XFRM_POLICY_OUT, [{**up, **tunnel}], mark=ln.n)
        x.migrate(f"{CN}/128", origin, XFRM_POLICY_FWD if net.mnn else XFRM_POLICY_IN,
                  [{**back, **tunnel}], mark=ln.n)
    with Xfrm(net.ha.name) as x:
        x.migrate(f"{CN}/128", origin, XFRM_POLICY_OUT, [{**back, **tunnel}], mark=ln.n)
        x.migrate(origin, f"{CN}/128", XFRM_POLICY_FWD, [{**up, **tunnel}], mark=ln.n)
