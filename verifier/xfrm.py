# SPDX-License-Identifier: GPL-2.0-only
"""Route-optimisation XFRM setups, driven through `ip xfrm`.

pyroute2 has no XFRM support, and iproute2's `ip xfrm` is the reference
user of these messages, so the verifier uses it.
"""


def upspec(upper: str, mh_type: int | None = None) -> list[str]:
    """The selector's upper-layer part: `proto 135 type 5` selects BUs only."""
    return ["proto", upper] + (["type", str(mh_type)] if mh_type is not None else [])


def accept_ro(ns, ro_proto: str, *uppers: str, mh_type: int | None = None) -> None:
    """Accept any HAO or RH2 (ro_proto "hao" or "route2") for upper protocols;
    with mh_type, only Mobility Header messages of that type (as a home
    agent's daemon installs it).

    A wildrecv state with :: addresses matches every packet (the old mip6d
    set-up for a CN/HA), and an inbound policy whose template is the RO
    transform lets the upper layer accept the packet's sec_path.
    """
    ns.ip_batch(["xfrm", "state", "add", "src", "::", "dst", "::", "proto", ro_proto,
                 "spi", "0", "mode", "ro", "coa", "::", "flag", "wildrecv"],
                *(["xfrm", "policy", "add", "dir", "in", "src", "::/0", "dst", "::/0",
                   *upspec(upper, mh_type), "tmpl", "proto", ro_proto, "mode", "ro",
                   "level", "use"] for upper in uppers))


def hao_output(ns, ha: str, hoa: str, coa: str, upper: str,
               mh_type: int | None = None) -> None:
    """Outbound RO HAO: packets HoA -> HA leave with source CoA and a HAO(HoA);
    with mh_type, only Mobility Header messages of that type."""
    ns.ip_batch(["xfrm", "state", "add", "src", hoa, "dst", ha, "proto", "hao", "spi", "0",
                 "mode", "ro", "coa", coa],
                ["xfrm", "policy", "add", "dir", "out", "src", f"{hoa}/128",
                 "dst", f"{ha}/128", *upspec(upper, mh_type), "tmpl", "src", hoa,
                 "dst", ha, "proto", "hao", "mode", "ro", "level", "use"])
