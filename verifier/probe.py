# SPDX-License-Identifier: GPL-2.0-only
"""Which of the series' changes the running kernel has, found by sending.

  python -m mip6kit.verifier.probe      (as root; needs CONFIG_IPV6_MIP6)

A daemon cannot read a patch list off a distribution kernel; it can ask the
kernel.  Each probe runs in a pair of scratch namespaces (a mobile node and
a home agent with two links, verifier/mcoa.py) and looks at what leaves:

  raw checksum   net-next 0001: a raw MH Binding Update from a CoA with a
                 HAO as IPV6_DSTOPTS is summed over the HoA
  UDP checksum   net-next 0002: the same for a UDP datagram
  strict oif     net-next 0003: a BU whose PKTINFO names the worse link
                 leaves by that link, not by the best route
  XFRMA_HOADDR   ipsec-next 0002: NEWSA with a loopback home address is
                 refused (EINVAL); a kernel without it installs the state
                 and ignores the attribute (the probe removes it again)

Prints one "name: yes|no" line per probe and exits 0; exits 4 (kselftest's
skip) on a kernel without CONFIG_IPV6_MIP6, 2 when not run as root.
"""

import errno
import os
import socket
import sys

import pytest

from .capture import Capture
from .mcoa import HA, HOA, Mcoa, multihomed
from .packets import NH_MH, NH_UDP, binding_update, checksum_source, hao_option, pktinfo
from .xfrmnl import (
    IPPROTO_DSTOPTS,
    XFRM_MODE_ROUTEOPTIMIZATION,
    XFRM_SA_DIR_OUT,
    Xfrm,
    XfrmError,
)

UDP_PORT = 7010


def _send_and_capture(m: Mcoa, proto: int, link: int, name_link: bool) -> list:
    """One packet from link's CoA with a HAO(HoA) cmsg (PKTINFO names the
    link when name_link); the packets of proto seen on each HA link."""
    ln = m.links[link - 1]
    kind, payload = ((socket.SOCK_RAW, binding_update(4343, 10)) if proto == NH_MH
                     else (socket.SOCK_DGRAM, b"mip6kit probe"))
    caps = [Capture(m.ha, x.ha_if) for x in m.links]
    tx = m.mn.socket(socket.AF_INET6, kind, proto if proto == NH_MH else 0)
    try:
        ifindex = m.mn.ifindex(ln.mn_if) if name_link else 0
        tx.sendmsg([payload], [pktinfo(ln.coa, ifindex),
                               (socket.IPPROTO_IPV6, socket.IPV6_DSTOPTS, hao_option(HOA))],
                   0, (HA, UDP_PORT if proto == NH_UDP else 0))
        return [cap.packets(lambda p: p.proto == proto, timeout=2.0) for cap in caps]
    finally:
        tx.close()
        for cap in caps:
            cap.close()


def summed_over_hoa(m: Mcoa, proto: int) -> bool:
    """The packet from CoA1 carries a checksum over the HoA."""
    seen = [p for got in _send_and_capture(m, proto, 1, False) for p in got]
    return bool(seen) and checksum_source(seen[0]) == socket.inet_pton(socket.AF_INET6, HOA)


def strict_oif(m: Mcoa) -> bool:
    """A BU from CoA2 whose PKTINFO names link 2 leaves by link 2 (the best
    route is link 1)."""
    by_link = _send_and_capture(m, NH_MH, 2, True)
    return bool(by_link[1]) and not by_link[0]


def has_hoaddr(m: Mcoa) -> bool:
    """NEWSA with XFRMA_HOADDR ::1 is refused only by a kernel that reads it."""
    coa = m.links[0].coa
    with Xfrm(m.mn.name) as x:
        try:
            x.add_sa(coa, HA, proto=IPPROTO_DSTOPTS, mode=XFRM_MODE_ROUTEOPTIMIZATION,
                     coaddr=coa, hoaddr="::1", sa_dir=XFRM_SA_DIR_OUT)
        except XfrmError as e:
            return e.errno == errno.EINVAL
        x.delete_sa(HA, IPPROTO_DSTOPTS, 0, src=coa)
        return False


PROBES = {
    "raw checksum": lambda m: summed_over_hoa(m, NH_MH),
    "UDP checksum": lambda m: summed_over_hoa(m, NH_UDP),
    "strict oif": strict_oif,
    "XFRMA_HOADDR": has_hoaddr,
}


def run() -> dict[str, bool]:
    """name -> whether the running kernel has that change."""
    with multihomed(2) as m:
        return {name: probe(m) for name, probe in PROBES.items()}


def main() -> int:
    if os.geteuid() != 0:
        print("probe: run as root (it makes network namespaces)", file=sys.stderr)
        return 2
    try:
        found = run()
    except pytest.skip.Exception as e:  # features.require() on a kernel without MIP6
        print(f"probe: {e}", file=sys.stderr)
        return 4
    for name, yes in found.items():
        print(f"{name}: {'yes' if yes else 'no'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
