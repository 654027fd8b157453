# SPDX-License-Identifier: GPL-2.0-only
"""Seeded destination-options bodies for the fuzz suite (test_fuzz.py).

Every case comes from random.Random(f"{seed}/{index}"), so one case can be
replayed alone from the seed and index a failure prints.  A case is a full
destination options header (next header 0, the kernel fills it; header
length consistent with its size, which is all the kernel checks on send)
whose body is either random bytes or a sequence of options built to hit
the TLV walker's edges; one header in ten is 56 bytes to 2 KiB, the most
its length byte can say (the sending links have a 9000-byte MTU):
  - Pad1 runs, PadN of any length (also past the end of the header);
  - HAOs of every length, one or several;
  - options of unknown type with each action bit pattern (00, 01, 10, 11);
  - the last option truncated, or its length off by one either way.
Standard library and verifier/packets.py only: the host tests check that
it is reproducible.
"""

import random
from dataclasses import dataclass

from .packets import OPT_HAO, OPT_PAD1, OPT_PADN, tlvs

MAX_UNITS = 6  # header of 8 to 48 bytes, mostly
BIG_UNITS = 256  # 2 KiB, the most a header's length byte says (RFC 8200 4.2)
BIG_SHARE = 0.1  # the share of cases with a header of 56 bytes to 2 KiB
TRANSPORTS = ("mh", "icmp", "udp", "udp-corked")
MODES = ("cmsg", "sticky")


@dataclass(frozen=True)
class Case:
    seed: int
    index: int
    transport: str
    mode: str
    header: bytes

    def __str__(self) -> str:
        return (f"seed {self.seed} case {self.index}: {self.transport} {self.mode} "
                f"dstopts {self.header.hex()}")


def _option(rng: random.Random, hoa: bytes) -> bytes:
    kind = rng.choice(("pad1", "padn", "hao", "hao-any-length", "unknown"))
    if kind == "pad1":
        return b"\x00" * rng.randint(1, 7)
    if kind == "padn":
        return bytes([OPT_PADN, rng.randint(0, 12)]) + b"\0" * rng.randint(0, 12)
    if kind == "hao":
        return bytes([OPT_HAO, 16]) + hoa
    if kind == "hao-any-length":
        n = rng.randint(0, 24)
        return bytes([OPT_HAO, n]) + rng.randbytes(n)
    action = rng.choice((0x00, 0x40, 0x80, 0xC0))
    n = rng.randint(0, 10)
    return bytes([action | rng.randint(0x02, 0x1F), n]) + rng.randbytes(n)


def _body(rng: random.Random, hoa: bytes, size: int) -> bytes:
    if rng.random() < 0.1:
        return rng.randbytes(size)
    options: list[bytes] = []
    for _ in range(max(8, size // 6)):  # options that fit; overruns come from the edits below
        o = _option(rng, hoa)
        if sum(map(len, options)) + len(o) <= size:
            options.append(o)
    edge = rng.random()
    sized = [i for i, o in enumerate(options) if o[0] != OPT_PAD1]
    if edge < 0.15 and sized:  # an option's length off by one
        i = rng.choice(sized)
        o = options[i]
        options[i] = o[:1] + bytes([(o[1] + rng.choice((1, 255))) % 256]) + o[2:]
    body = b"".join(options)
    if 0.15 <= edge < 0.3:  # cut in the middle of an option
        body = body[:rng.randint(0, len(body))]
    return (body + b"\x00" * size)[:size]  # Pad1 fill keeps what was built


def case(seed: int, index: int, hoa: bytes) -> Case:
    rng = random.Random(f"{seed}/{index}")
    big = rng.random() < BIG_SHARE
    units = rng.randint(MAX_UNITS + 1, BIG_UNITS) if big else rng.randint(1, MAX_UNITS)
    header = bytes([0, units - 1]) + _body(rng, hoa, units * 8 - 2)
    return Case(seed, index, rng.choice(TRANSPORTS), rng.choice(MODES), header)


def expected_hoa(header: bytes) -> bytes | None:
    """The address the upper-layer sum must use in place of the source:
    the HoA of the one well-formed HAO of a well-formed header (RFC 6275
    6.3), else None (summed over the packet's source)."""
    opts = tlvs(header)  # verifier/packets.py, written from RFC 8200 4.2
    if opts is None:
        return None
    haos = [v for t, v in opts if t == OPT_HAO]
    return haos[0] if len(haos) == 1 and len(haos[0]) == 16 else None
