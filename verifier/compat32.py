# SPDX-License-Identifier: GPL-2.0-only
"""XFRM netlink from a 32-bit task (the compat ABI of xfrm_compat.c).

verifier/helpers/nlxfrm32.c sends one request as a 32-bit process and
prints the answers in hex (built by verifier/cbuild.py's rules).

The 32-bit layout of a NEWSA differs from the 64-bit one only in its
tail: struct xfrm_usersa_info is 217 bytes of fields, padded to 224 where
u64 is 8-byte aligned and to 220 in the i386 ABI; the offsets of the
fields are the same.
"""

import struct

from . import cbuild
from .cmd import cmd
from .xfrmnl import split_messages

NLMSG_HDRLEN = 16
USERSA_INFO_64, USERSA_INFO_32 = 224, 220


def usersa_to_compat(msg: bytes) -> bytes:
    """A native NEWSA/UPDSA message in the i386 layout: the body's 4 tail
    bytes of padding dropped, the length fixed."""
    body_end = NLMSG_HDRLEN + USERSA_INFO_64
    out = bytearray(msg[:NLMSG_HDRLEN + USERSA_INFO_32] + msg[body_end:])
    struct.pack_into("=I", out, 0, len(out))
    return bytes(out)


def send(netns: str, request: bytes) -> list[bytes]:
    """Send request from a 32-bit task in the named namespace; the netlink
    messages of its answer."""
    res = cmd([str(cbuild.helper("nlxfrm32"))], ns=netns, input=request, timeout=30,
              text=False, check=False)
    if res.returncode != 0:
        raise AssertionError(f"nlxfrm32 got no answer: {res.stderr!r}")
    return [m for line in res.stdout.decode().split()
            for m in split_messages(bytes.fromhex(line))]
