# SPDX-License-Identifier: GPL-2.0-only
"""Capture IPv6 packets on an interface inside a namespace (AF_PACKET)."""

import errno
import socket
import time

from .packets import Packet, parse_ipv6

ETH_P_IPV6 = 0x86DD
ETH_HLEN = 14


class Capture:
    """Open before sending; packets() drains what arrived."""

    def __init__(self, ns, ifname: str):
        self.sock = ns.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_IPV6))
        self.sock.bind((ifname, ETH_P_IPV6))

    def packets(self, want, timeout: float = 2.0, tail: float = 0.3) -> list[Packet]:
        """IPv6 packets for which want(pkt) is true, until tail passes
        without a match after the first one, or timeout overall."""
        out: list[Packet] = []
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            self.sock.settimeout(left if not out else min(left, tail))
            try:
                frame, meta = self.sock.recvfrom(65535)
            except TimeoutError:
                if out:
                    break
                continue
            except OSError as e:
                if e.errno == errno.ENETDOWN:  # the link went down: nothing more comes
                    break
                raise
            if meta[2] == socket.PACKET_OUTGOING:
                continue
            pkt = parse_ipv6(frame[ETH_HLEN:])
            if pkt is not None and want(pkt):
                out.append(pkt)
        return out

    def drain(self, want) -> list[Packet]:
        """What arrived, once the receiver's verdict is known: packet taps
        see a frame before the stack delivers or drops it, so by then it is
        queued here already."""
        return self.packets(want, timeout=0.5, tail=0.02)

    def close(self) -> None:
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
