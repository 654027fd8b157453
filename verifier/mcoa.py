# SPDX-License-Identifier: GPL-2.0-only
"""A multihomed mobile node (MCoA, RFC 5648): an MN and an HA joined by
several links, one care-of address per link.

Link n: MN interface mN with CoA 2001:db8:(a+n-1)::10, HA interface hN with
2001:db8:(a+n-1)::1; the MN reaches the home network 2001:db8:1::/64 by
every link, link n with metric 100*n (link 1 is the best path); the HA
reaches the HoA by link 1.
"""

import contextlib
from dataclasses import dataclass

from . import features
from .capture import Capture
from .netns import IFA_F_HOMEADDRESS, IFA_F_NODAD, Namespace, namespaces, veth, wait_can_send

HOA, HA = "2001:db8:1::10", "2001:db8:1::1"


@dataclass(frozen=True)
class Link:
    n: int

    @property
    def mn_if(self) -> str:
        return f"m{self.n}"

    @property
    def ha_if(self) -> str:
        return f"h{self.n}"

    @property
    def coa(self) -> str:
        return f"2001:db8:{0xa + self.n - 1:x}::10"

    @property
    def ha_link(self) -> str:
        return f"2001:db8:{0xa + self.n - 1:x}::1"


@dataclass(frozen=True)
class Mcoa:
    mn: Namespace
    ha: Namespace
    links: tuple[Link, ...]


def join(mn: Namespace, ha: Namespace, links: tuple[Link, ...]):
    """The links between MN and HA: a veth pair per link, CoA_n and HA_n on
    its ends, the HoA on the MN's lo.  Returns the ends (not yet waited on)
    and the `ip` commands of each side (permanent neighbour entries, so no
    test waits for neighbour discovery), for the caller to batch with its
    own."""
    mn.add_addr("lo", HOA, 128, IFA_F_NODAD | IFA_F_HOMEADDRESS)
    ends, mn_cmds, ha_cmds = [], [], []
    for ln in links:
        ends += veth(mn, ln.mn_if, ha, ln.ha_if, wait=False)
        mn.add_addr(ln.mn_if, ln.coa, 64, IFA_F_NODAD)
        ha.add_addr(ln.ha_if, ln.ha_link, 64, IFA_F_NODAD)
        mn_cmds.append(["neigh", "add", ln.ha_link, "lladdr", ha.mac(ln.ha_if),
                        "dev", ln.mn_if, "nud", "permanent"])
        ha_cmds.append(["neigh", "add", ln.coa, "lladdr", mn.mac(ln.mn_if),
                        "dev", ln.ha_if, "nud", "permanent"])
    return ends, mn_cmds, ha_cmds


@contextlib.contextmanager
def multihomed(count: int):
    """An Mcoa with count links, removed on exit."""
    features.require("IPV6_MIP6")
    links = tuple(Link(n) for n in range(1, count + 1))
    with namespaces("mn", "ha") as (mn, ha):
        ha.add_addr("lo", HA, 128, IFA_F_NODAD)
        ends, mn_cmds, ha_cmds = join(mn, ha, links)
        mn_cmds += [["route", "add", "2001:db8:1::/64", "via", ln.ha_link,
                     "dev", ln.mn_if, "metric", str(100 * ln.n)] for ln in links]
        mn.ip_batch(*mn_cmds)
        ha.ip_batch(*ha_cmds, ["route", "add", f"{HOA}/128", "via", links[0].coa,
                               "dev", links[0].ha_if])
        wait_can_send(ends)
        yield Mcoa(mn, ha, links)


@contextlib.contextmanager
def ha_captures(m: Mcoa):
    """Capture on every HA link; yields drain(want) -> {ha_if: [packets]}."""
    caps = {ln.ha_if: Capture(m.ha, ln.ha_if) for ln in m.links}
    try:
        yield lambda want: {name: cap.drain(want) for name, cap in caps.items()}
    finally:
        for cap in caps.values():
            cap.close()
