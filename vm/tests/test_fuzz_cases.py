# SPDX-License-Identifier: GPL-2.0-only
"""The fuzz suite's case generator and oracle (verifier/fuzz.py)."""

from collections import Counter

from mip6kit.verifier import fuzz
from mip6kit.verifier.packets import tlvs

HOA = bytes.fromhex("20010db8000100000000000000000010")


def test_a_case_replays_from_seed_and_index():
    assert [fuzz.case(7, i, HOA) for i in range(50)] == [fuzz.case(7, i, HOA) for i in range(50)]
    assert fuzz.case(7, 3, HOA) != fuzz.case(8, 3, HOA)


def test_headers_are_what_the_kernel_accepts_on_send():
    for i in range(500):
        h = fuzz.case(1, i, HOA).header
        assert len(h) % 8 == 0 and (h[1] + 1) * 8 == len(h) and h[0] == 0


def test_the_mix_covers_every_class():
    kinds = Counter()
    for i in range(1000):
        c = fuzz.case(1, i, HOA)
        kinds[c.transport, c.mode] += 1
        kinds["valid" if fuzz.expected_hoa(c.header) else
              "malformed" if tlvs(c.header) is None else "other"] += 1
    assert all(kinds[t, m] > 50 for t in fuzz.TRANSPORTS for m in fuzz.MODES)
    assert kinds["valid"] > 50 and kinds["malformed"] > 100 and kinds["other"] > 100


def test_oracle():
    hao = bytes([0xC9, 16]) + HOA
    assert fuzz.expected_hoa(bytes([0, 2, 1, 2, 0, 0]) + hao) == HOA
    assert fuzz.expected_hoa(bytes([0, 2]) + b"\0" * 4 + hao) == HOA  # Pad1 run
    assert fuzz.expected_hoa(bytes([0, 4]) + hao + hao + b"\0" * 4) is None  # two HAOs
    assert fuzz.expected_hoa(bytes([0, 1, 0xC9, 8]) + HOA[:12]) is None  # bad length
    assert fuzz.expected_hoa(bytes([0, 2, 1, 9, 0, 0]) + hao) is None  # PadN overrun
    assert fuzz.expected_hoa(bytes([0, 2, 0x9E, 0]) + b"\0\0" + hao) == HOA  # unknown, skip
