# SPDX-License-Identifier: GPL-2.0-only
"""A mobile node with a HoA state (XFRMA_HOADDR) per care-of address, two
links to its home agent, and what a packet sent through them must look
like: shared by test_xfrm_hoaddr.py and test_xfrm_hoaddr_edges.py (a test
module imports no other test module, so that -k collects only its own)."""

from .mcoa import HA, HOA, Link
from .netns import Namespace
from .packets import addr, checksum_source, home_address
from .xfrm import hoa_output

IPPROTO_UDPLITE = 136
UDP_PORT, TCP_PORT, CLOSED_PORT = 7003, 7004, 7009
PRIMARY = Link(1).coa
LINKS = (Link(1), Link(2))


def hoa_states(mn: Namespace, upper: int) -> None:
    """One HoA state per CoA, all naming PRIMARY as COADDR: the tests show
    that the packet's own source, not COADDR, is what leaves."""
    hoa_output(mn, HA, HOA, [ln.coa for ln in LINKS], upper, coaddr=PRIMARY)


def assert_from_hoa(verdict) -> None:
    """The HA kernel delivered the packet, from the HoA."""
    assert verdict.got and verdict.got[1] == HOA, (
        f"HA: {f'got it from {verdict.got[1]}' if verdict.got else 'dropped'} "
        f"{verdict.drops or ''}; want it from the HoA")


def assert_left_from_coa(ln: Link, proto: int, wire: dict) -> None:
    """One packet, on either link: source CoA, HAO HoA, sum over the HoA."""
    seen = {name: [(addr(p.src), addr(home_address(p)) if home_address(p) else None)
                   for p in pkts] for name, pkts in wire.items()}
    pkts = [p for got in wire.values() for p in got]
    assert len(pkts) == 1, f"expected one packet; (source, HAO) seen per HA link: {seen}"
    pkt = pkts[0]
    assert addr(pkt.src) == ln.coa, (
        f"source rewritten: left as {addr(pkt.src)}, not the sender's {ln.coa} "
        f"(an unpatched kernel ignores XFRMA_HOADDR and uses COADDR {PRIMARY})")
    assert home_address(pkt) and addr(home_address(pkt)) == HOA, f"HAO is not the HoA: {seen}"
    summed = checksum_source(pkt)
    assert summed is not None and addr(summed) == HOA, (
        f"proto {proto} summed over {addr(summed) if summed else 'neither HoA nor CoA'}, "
        "not the HoA (RFC 6275 11.3.1)")
