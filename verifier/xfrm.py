# SPDX-License-Identifier: GPL-2.0-only
"""Route-optimisation XFRM setups, over XFRM netlink (verifier.xfrmnl).

They install what `ip xfrm` would for the commands quoted in each
docstring; vm/tests/test_xfrmnl.py holds the encoding to iproute2's bytes.
Upper-layer protocols are numbers (socket.IPPROTO_UDP, packets.NH_MH...).
"""

import socket
import struct

from .xfrmnl import (
    IPPROTO_DSTOPTS,
    IPPROTO_ROUTING,
    XFRM_MODE_ROUTEOPTIMIZATION,
    XFRM_MODE_TRANSPORT,
    XFRM_POLICY_IN,
    XFRM_POLICY_OUT,
    XFRM_SA_DIR_OUT,
    XFRM_STATE_WILDRECV,
    XFRMA_ALG_AUTH,
    XFRMA_ALG_CRYPT,
    Tmpl,
    Xfrm,
)

HAO, RH2 = IPPROTO_DSTOPTS, IPPROTO_ROUTING
RO = XFRM_MODE_ROUTEOPTIMIZATION


def accept_ro(ns, ro_proto: int, *uppers: int, mh_type: int | None = None,
              with_state: bool = True) -> None:
    """Accept any HAO or RH2 (ro_proto HAO or RH2) for upper protocols;
    with mh_type, only Mobility Header messages of that type (as a home
    agent's daemon installs it):
      ip xfrm state add src :: dst :: proto hao spi 0 mode ro coa :: flag wildrecv
      ip xfrm policy add dir in src ::/0 dst ::/0 proto UPPER [type T] \\
          tmpl proto hao mode ro level use

    The wildrecv state with :: addresses matches every packet (the old
    mip6d set-up for a CN/HA), and the inbound policy whose template is the
    RO transform lets the upper layer accept the packet's sec_path.
    with_state=False adds the policies alone (the state is there already).
    """
    with Xfrm(ns.name) as x:
        if with_state:
            x.add_sa("::", "::", proto=ro_proto, mode=RO, coaddr="::",
                     flags=XFRM_STATE_WILDRECV)
        for upper in uppers:
            x.add_policy(XFRM_POLICY_IN, "::/0", "::/0", upper_proto=upper, mh_type=mh_type,
                         tmpls=[Tmpl(proto=ro_proto, mode=RO, level="use")])


def ro_output(ns, ro_proto: int, src: str, dst: str, coa: str, upper: int,
              mh_type: int | None = None, sa_attrs: tuple = ()) -> None:
    """Outbound RO for src -> dst: with HAO, packets leave with source coa
    and a HAO(src); with RH2, they go to coa with an RH2(dst):
      ip xfrm state add src SRC dst DST proto hao spi 0 mode ro coa COA
      ip xfrm policy add dir out src SRC/128 dst DST/128 proto UPPER [type T] \\
          tmpl src SRC dst DST proto hao mode ro level use
    sa_attrs are (type, payload) attributes added to the state as they are.
    """
    with Xfrm(ns.name) as x:
        x.add_sa(src, dst, proto=ro_proto, mode=RO, coaddr=coa, extra_attrs=sa_attrs)
        x.add_policy(XFRM_POLICY_OUT, f"{src}/128", f"{dst}/128", upper_proto=upper,
                     mh_type=mh_type,
                     tmpls=[Tmpl(proto=ro_proto, mode=RO, src=src, dst=dst, level="use")])


def hao_output(ns, ha: str, hoa: str, coa: str, upper: int,
               mh_type: int | None = None, sa_attrs: tuple = ()) -> None:
    """Outbound RO HAO: packets HoA -> HA leave with source CoA and a HAO(HoA);
    with mh_type, only Mobility Header messages of that type."""
    ro_output(ns, HAO, hoa, ha, coa, upper, mh_type, sa_attrs)


def hoa_output(ns, ha: str, hoa: str, coas: list[str], upper: int,
               coaddr: str | None = None) -> None:
    """MCoA over XFRMA_HOADDR: one outbound HAO state per CoA carrying the
    HoA (COADDR: coaddr, else the state's own CoA; an output SA, XFRMA_SA_DIR,
    which kernels before 6.10 ignore), and one outbound policy
    for `upper` to the HA from any source, whose template the state of the
    packet's source fills."""
    with Xfrm(ns.name) as x:
        for coa in coas:
            x.add_sa(coa, ha, proto=HAO, mode=RO, coaddr=coaddr or coa, hoaddr=hoa,
                     sa_dir=XFRM_SA_DIR_OUT)
        x.add_policy(XFRM_POLICY_OUT, "::/0", f"{ha}/128", upper_proto=upper,
                     tmpls=[Tmpl(proto=HAO, mode=RO)])


def xfrm_algo(name: str, key: bytes) -> bytes:
    """struct xfrm_algo {char alg_name[64]; unsigned int alg_key_len; char alg_key[];}"""
    return name.encode().ljust(64, b"\0") + struct.pack("=I", len(key) * 8) + key


def ipsec_sa(ns, src: str, dst: str, proto: int, spi: int, mode: int = XFRM_MODE_TRANSPORT,
             mark: int | None = None, reqid: int = 0) -> None:
    """An ESP or AH state with fixed test keys (both ends install the same one):
      ip xfrm state add src SRC dst DST proto esp|ah spi SPI mode MODE \\
          [mark M] [reqid R] [enc 'cbc(aes)' 0x0101..] auth 'hmac(sha256)' 0x0202..
    """
    algs = [(XFRMA_ALG_AUTH, xfrm_algo("hmac(sha256)", bytes([2]) * 32))]
    if proto == socket.IPPROTO_ESP:
        algs.append((XFRMA_ALG_CRYPT, xfrm_algo("cbc(aes)", bytes([1]) * 16)))
    with Xfrm(ns.name) as x:
        x.add_sa(src, dst, proto=proto, spi=spi, mode=mode, mark=mark, reqid=reqid,
                 extra_attrs=tuple(algs))


def flush(ns) -> None:
    """ip xfrm state flush; ip xfrm policy flush"""
    with Xfrm(ns.name) as x:
        x.flush()
