# SPDX-License-Identifier: GPL-2.0-only
"""Route-optimisation XFRM setups, driven through `ip xfrm`.

pyroute2 has no XFRM support, and iproute2's `ip xfrm` is the reference
user of these messages, so the verifier uses it.
"""


def accept_ro(ns, ro_proto: str, *uppers: str) -> None:
    """Accept any HAO or RH2 (ro_proto "hao" or "route2") for upper protocols.

    A wildrecv state with :: addresses matches every packet (the old mip6d
    set-up for a CN/HA), and an inbound policy whose template is the RO
    transform lets the upper layer accept the packet's sec_path.
    """
    ns.ip("xfrm", "state", "add", "src", "::", "dst", "::", "proto", ro_proto, "spi", "0",
          "mode", "ro", "coa", "::", "flag", "wildrecv")
    for upper in uppers:
        ns.ip("xfrm", "policy", "add", "dir", "in", "src", "::/0", "dst", "::/0",
              "proto", upper, "tmpl", "proto", ro_proto, "mode", "ro", "level", "use")


def hao_output(ns, ha: str, hoa: str, coa: str, upper: str) -> None:
    """Outbound RO HAO: packets HoA -> HA leave with source CoA and a HAO(HoA)."""
    ns.ip("xfrm", "state", "add", "src", hoa, "dst", ha, "proto", "hao", "spi", "0",
          "mode", "ro", "coa", coa)
    ns.ip("xfrm", "policy", "add", "dir", "out", "src", f"{hoa}/128", "dst", f"{ha}/128",
          "proto", upper, "tmpl", "src", hoa, "dst", ha, "proto", "hao", "mode", "ro",
          "level", "use")
