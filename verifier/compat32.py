# SPDX-License-Identifier: GPL-2.0-only
"""XFRM netlink from a 32-bit task (the compat ABI of xfrm_compat.c).

verifier/helpers/nlxfrm32.c sends one request as a 32-bit process and
prints the answers in hex.  The host builds it before the guest boots
(vm/guestrun.py, into $MIP6KIT_HELPERS); without that, as when the
verifier is run by hand, it is built here on first use.

The 32-bit layout of a NEWSA differs from the 64-bit one only in its
tail: struct xfrm_usersa_info is 217 bytes of fields, padded to 224 where
u64 is 8-byte aligned and to 220 in the i386 ABI; the offsets of the
fields are the same.
"""

import os
import shutil
import struct
import tempfile
from pathlib import Path

import pytest

from .cmd import cmd
from .contract import ENV_HELPERS
from .xfrmnl import split_messages

SOURCE = Path(__file__).resolve().parent / "helpers" / "nlxfrm32.c"
NLMSG_HDRLEN = 16
USERSA_INFO_64, USERSA_INFO_32 = 224, 220
_built: Path | None = None


def build_argv(out: Path) -> list[str]:
    """The command that builds the helper as out: the host runs it
    (vm/guestrun.py, through its Runner), or the guest when the host did not."""
    return ["gcc", "-m32", "-static", "-O2", "-Wall", "-o", str(out), str(SOURCE)]


def helper() -> Path:
    """The built helper; skips when it cannot be built (no gcc-multilib)."""
    global _built
    staged = os.environ.get(ENV_HELPERS)
    if staged and (Path(staged) / "nlxfrm32").is_file():
        return Path(staged) / "nlxfrm32"
    if _built is None:
        if not shutil.which("gcc"):
            pytest.skip("no gcc to build the 32-bit helper")
        out = Path(tempfile.mkdtemp(prefix="mip6kit-helpers-")) / "nlxfrm32"
        res = cmd(build_argv(out), check=False)
        if res.returncode != 0:
            pytest.skip(f"cannot build a 32-bit program (install gcc-multilib): "
                        f"{res.stderr.strip()[-200:]}")
        _built = out
    return _built


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
    res = cmd([str(helper())], ns=netns, input=request, timeout=30, text=False, check=False)
    if res.returncode != 0:
        raise AssertionError(f"nlxfrm32 got no answer: {res.stderr!r}")
    return [m for line in res.stdout.decode().split()
            for m in split_messages(bytes.fromhex(line))]
