# SPDX-License-Identifier: GPL-2.0-only
"""Wait for the receiving kernel's verdict on a packet: delivered or dropped.

A negative test must not just sleep and conclude "nothing arrived": the
receiver must be seen to drop the packet.  Every drop on the paths these
tests exercise moves a counter: a per-socket drop count (a raw socket that
rejects a checksum, SO_MEMINFO), /proc/net/snmp6 (InHdrErrors for bad
options, InAddrErrors for an RH2 to a non-home address, Udp6InCsumErrors)
or /proc/net/xfrm_stat (XfrmInNoStates, XfrmInNoPols).  So the wait ends at
the first delivery or the first drop, normally within milliseconds.

DROP_WAIT is only reached when neither happens (the packet never arrived,
or a drop path that counts nothing).  veth delivers in the sender's
softirq, so the verdict normally exists before sendmsg() returns; 3 s is
more than a hundred times what a TCG guest needs, and what the matrix
relies on is the counter, not the clock.
"""

import socket
import time
from dataclasses import dataclass

from .capture import Capture

DROP_WAIT = 3.0
GRACE = 0.05  # after a drop counter moved, still watch for a delivery
POLL = 0.005
SO_MEMINFO = 55
SK_MEMINFO_DROPS = 8
_DROP_WORDS = ("Err", "Drop", "Discard", "NoStates", "NoPols", "Invalid", "Mismatch",
               "Csum", "Truncated", "NoRoutes", "Unknown")


@dataclass
class Verdict:
    data: bytes | None  # what was delivered (None if dropped or nothing happened)
    peer: str | None
    anc: list
    drops: dict  # counter -> increase, for the counters that moved

    @property
    def delivered(self) -> bool:
        return self.data is not None

    @property
    def got(self) -> tuple[bytes, str] | None:
        """(data, sender) if delivered, else None."""
        return (self.data, self.peer) if self.delivered else None


def socket_drops(sock: socket.socket) -> int:
    info = sock.getsockopt(socket.SOL_SOCKET, SO_MEMINFO, 4 * (SK_MEMINFO_DROPS + 1))
    return int.from_bytes(info[4 * SK_MEMINFO_DROPS:4 * SK_MEMINFO_DROPS + 4], "little")


def drop_counters(ns, sock: socket.socket) -> dict[str, int]:
    counters = {k: v for k, v in ns.counters().items() if any(w in k for w in _DROP_WORDS)}
    counters["socket drops"] = socket_drops(sock)
    return counters


def watch(ns, ifname: str, rx: socket.socket, send, wire, accept=lambda data: True,
          ancsize: int = 0) -> tuple[Verdict, list]:
    """Call send(), then wait for ns's verdict on rx; also return the packets
    captured on ns's ifname for which wire(pkt) is true."""
    with Capture(ns, ifname) as cap:
        receiver = Receiver(ns, rx, accept, ancsize)
        send()
        verdict = receiver.wait()
        return verdict, cap.drain(wire)


class Receiver:
    """Snapshot the drop counters before sending; wait() after sending.

    accept(data) filters what counts as our datagram (a raw ICMPv6 socket
    also sees neighbour discovery)."""

    def __init__(self, ns, sock: socket.socket, accept=lambda data: True, ancsize: int = 0):
        self.ns, self.sock, self.accept, self.ancsize = ns, sock, accept, ancsize
        self.before = drop_counters(ns, sock)

    def wait(self, timeout: float = DROP_WAIT) -> Verdict:
        self.sock.setblocking(False)
        deadline = time.monotonic() + timeout
        grace = False
        while True:
            try:
                data, anc, _, peer = self.sock.recvmsg(4096, self.ancsize)
                if self.accept(data):
                    return Verdict(data, peer[0], anc, {})
                continue
            except BlockingIOError:
                pass
            now = drop_counters(self.ns, self.sock)
            moved = {k: v - self.before.get(k, 0) for k, v in now.items()
                     if v != self.before.get(k, 0)}
            if moved and not grace:
                # An unrelated drop (ND, MLD) must not hide a delivery.
                grace, deadline = True, time.monotonic() + GRACE
            if time.monotonic() >= deadline:
                return Verdict(None, None, [], moved)
            time.sleep(POLL)
