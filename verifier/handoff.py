# SPDX-License-Identifier: GPL-2.0-only
"""Result files from the guest to the host, over the guest's stdout.

A writable share (virtme-ng --rwdir) costs about 3 s of every TCG boot, so
the verifier sends its few result files (junit.xml, results.json,
dmesg.txt) back on stdout instead, one line each, after the KTAP stream:

  #mip6kit-file NAME BASE64(ZLIB(DATA))

The host's reader diverts these lines from the KTAP log and writes the
files.  Pure standard library: the host imports it too.
"""

import base64
import re
import sys
import zlib

from mip6kit.verifier.contract import HANDOFF_PREFIX as PREFIX

_NAME = re.compile(r"^[A-Za-z0-9._-]+$")


def encode(name: str, data: bytes) -> bytes:
    if not _NAME.match(name):
        raise ValueError(f"bad handoff file name {name!r}")
    return PREFIX + name.encode() + b" " + base64.b64encode(zlib.compress(data)) + b"\n"


def send(name: str, data: bytes) -> None:
    """Write one file to stdout as a handoff line, after what stdout holds."""
    sys.stdout.flush()
    sys.stdout.buffer.write(encode(name, data))
    sys.stdout.buffer.flush()


def decode(line: bytes) -> tuple[str, bytes]:
    """(name, data) of a handoff line; ValueError if it is damaged."""
    try:
        name, payload = line[len(PREFIX):].strip().split(b" ", 1)
        data = zlib.decompress(base64.b64decode(payload, validate=True))
    except (ValueError, zlib.error) as e:
        raise ValueError(f"damaged handoff line: {e}") from e
    text = name.decode(errors="replace")
    if not _NAME.match(text):
        raise ValueError(f"bad handoff file name {text!r}")
    return text, data
