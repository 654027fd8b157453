# SPDX-License-Identifier: GPL-2.0-only
"""XFRMA_HOADDR through the 32-bit ABI (net/xfrm/xfrm_compat.c).

A 32-bit mobility daemon on a 64-bit kernel talks XFRM netlink through
xfrm_compat, which translates each message and each attribute it knows
between the two layouts, and refuses the ones it does not ("Bad
attribute").  verifier/helpers/nlxfrm32.c sends the requests as a 32-bit
task (verifier.compat32).  Oracles: the state read back over the native
ABI, and the 32-bit GETSA answer's attributes.
"""

import socket
import struct

import pytest

from . import compat32, features, patchnames
from .features import kernel_version
from .mcoa import HA, HOA, Link
from .netns import namespaces
from .xfrm import xfrm_algo
from .xfrmnl import (
    IPPROTO_DSTOPTS,
    NLMSG_ERROR,
    XFRM_MODE_ROUTEOPTIMIZATION,
    XFRM_MODE_TRANSPORT,
    XFRM_MSG_GETSA,
    XFRM_MSG_NEWSA,
    XFRM_SA_DIR_OUT,
    XFRMA_ALG_AUTH,
    XFRMA_ALG_CRYPT,
    XFRMA_HOADDR,
    Xfrm,
    encode_sa,
    encode_sa_id,
)

COA = Link(1).coa
XFRMA_SEC_CTX = 8
SPI = 0x3209


def _type(msg: bytes) -> int:
    return struct.unpack_from("=H", msg, 4)[0]


def _attrs(msg: bytes, offset: int) -> dict[int, bytes]:
    out = {}
    while offset + 4 <= len(msg):
        length, kind = struct.unpack_from("=HH", msg, offset)
        if length < 4:
            break
        out[kind & 0x3FFF] = msg[offset + 4:offset + length]
        offset += (length + 3) & ~3
    return out


def _errors(answer: list[bytes]) -> list[int]:
    return [-struct.unpack_from("=i", m, 16)[0] for m in answer if _type(m) == NLMSG_ERROR]


def sec_ctx(text: bytes) -> bytes:
    """struct xfrm_user_sec_ctx {u16 len, exttype; u8 ctx_alg, ctx_doi;
    u16 ctx_len;} and the context; no LSM needed: without
    CONFIG_SECURITY_NETWORK_XFRM the kernel checks the lengths only."""
    return struct.pack("=HHBBH", 8 + len(text), 0, 1, 0, len(text)) + text


@pytest.mark.patch(patchnames.COMPAT_ALIGN)
def test_compat_attributes_after_an_odd_length_one():
    """A 32-bit NEWSA of an ESP state whose XFRMA_SEC_CTX is 13 bytes long
    (a 5-byte context), then XFRMA_MARK: the state must be added with its
    mark.  The unpatched translator writes each attribute right after the
    last one's payload, so the mark after the context is misaligned and
    the parser drops it: the state is added without a mark."""
    features.require("XFRM_USER_COMPAT")
    features.require("INET6_ESP")
    request = encode_sa(COA, HA, proto=socket.IPPROTO_ESP, spi=SPI, mode=XFRM_MODE_TRANSPORT,
                        mark=7, extra_attrs=(
                            (XFRMA_ALG_AUTH, xfrm_algo("hmac(sha256)", bytes(32))),
                            (XFRMA_ALG_CRYPT, xfrm_algo("cbc(aes)", bytes(16))),
                            (XFRMA_SEC_CTX, sec_ctx(b"mip6k"))))
    with namespaces("mn") as (mn,):
        answer = compat32.send(mn.name, compat32.usersa_to_compat(bytes(request)))
        with Xfrm(mn.name) as x:
            states = [(s["spi"], s["mark"]) for s in x.dump_sa()]
    assert _errors(answer) == [0], f"32-bit NEWSA refused: errno {_errors(answer)}"
    assert states == [(SPI, (7, 0xFFFFFFFF))], (
        f"(SPI, mark) of the states the 32-bit task added: {states}")


@pytest.mark.patch(patchnames.HOA)
def test_compat_newsa_and_getsa_carry_the_home_address():
    """NEWSA with XFRMA_HOADDR from a 32-bit task adds the state with its
    home address (read back over the 64-bit ABI), and a 32-bit GETSA gets
    the attribute back in its own layout.  An unpatched xfrm_compat
    refuses the unknown attribute (EOPNOTSUPP, "Bad attribute")."""
    features.require("XFRM_USER_COMPAT")
    features.require("IPV6_MIP6")
    sa_dir = XFRM_SA_DIR_OUT if kernel_version() >= (6, 10) else None  # no SA_DIR before
    request = encode_sa(COA, HA, proto=IPPROTO_DSTOPTS, mode=XFRM_MODE_ROUTEOPTIMIZATION,
                        coaddr=COA, hoaddr=HOA, sa_dir=sa_dir)
    with namespaces("mn") as (mn,):
        answer = compat32.send(mn.name, compat32.usersa_to_compat(bytes(request)))
        assert _errors(answer) == [0], f"32-bit NEWSA refused: errno {_errors(answer)}"
        with Xfrm(mn.name) as x:
            native = x.get_sa(HA, IPPROTO_DSTOPTS, 0, src=COA)
        assert native is not None and native["hoaddr"] == HOA, (
            f"the state added by the 32-bit task: {native}")
        answer = compat32.send(mn.name, bytes(encode_sa_id(XFRM_MSG_GETSA, HA, IPPROTO_DSTOPTS,
                                                           0, src=COA)))
    replies = [m for m in answer if _type(m) == XFRM_MSG_NEWSA]
    assert len(replies) == 1, f"32-bit GETSA: message types {[_type(m) for m in answer]}"
    attrs = _attrs(replies[0], compat32.NLMSG_HDRLEN + compat32.USERSA_INFO_32)
    assert attrs.get(XFRMA_HOADDR) == socket.inet_pton(socket.AF_INET6, HOA), (
        f"32-bit GETSA answer: attributes {sorted(attrs)}, HOADDR {attrs.get(XFRMA_HOADDR)}")
