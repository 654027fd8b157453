# SPDX-License-Identifier: GPL-2.0-only
"""Leak reports: kmemleak's text split per object and dated to the test
that allocated it (guest side), and the host's verdict from leaks.json
and the console's refcount-tracker lines.  The real thing, a planted
leak caught on a debug kernel, is scripts/leak-demo.sh."""

import json

from mip6kit import leaks
from mip6kit.verifier import debugfs, guest

KMEMLEAK = """\
unreferenced object 0xffff888004a1c2c0 (size 16):
  comm "python3", pid 212, jiffies 4294940000
  hex dump (first 16 bytes):
    20 01 0d b8 00 01 00 00 00 00 00 00 00 00 00 10   ...............
  backtrace (crc 5a1c2c0):
    __kmalloc_node_track_caller_noprof+0x1e1/0x430
    kmemdup_noprof+0x22/0x50
    xfrm_add_sa+0x2a5/0x1310
unreferenced object 0xffff888004a1c300 (size 64):
  comm "kworker/u4:1", pid 12, jiffies 4294950000
  backtrace (crc 0):
    kmalloc_trace+0x1e1/0x430
"""


def test_kmemleak_report_is_split_per_object_with_its_jiffies():
    found = debugfs.parse(KMEMLEAK)
    assert [j for j, _ in found] == [4294940000, 4294950000]
    assert found[0][1].startswith("unreferenced object 0xffff888004a1c2c0")
    assert "xfrm_add_sa" in found[0][1] and "kmalloc_trace" not in found[0][1]


def test_each_object_is_dated_to_the_test_running_at_its_allocation():
    found = debugfs.parse(KMEMLEAK)
    # HZ 250: jiffies start at 2^32 - 75000 at boot, so 4294940000 is
    # 190.8 s after boot and 4294950000 230.8 s
    assert debugfs.seconds_since_boot(4294940000, 250) == 190.816
    spans = [(150.0, 200.0, "test_a"), (200.0, 220.0, "test_b")]
    got = guest.attribute(found, spans, 250)
    assert [g["test"] for g in got] == ["test_a", None]
    assert [g["test"] for g in guest.attribute(found, spans, None)] == [None, None]


def test_host_reports_kmemleak_and_ref_tracker(tmp_path):
    run = tmp_path / "patched"
    run.mkdir()
    assert leaks.found(run) == []
    (run / "leaks.json").write_text(json.dumps([{"test": "t.py::test_x", "report": "obj"}]))
    (run / "console.log").write_text("ok\nref_tracker: netdev@000 has 1/1 users at\n  x\n")
    got = leaks.found(run)
    assert got[0].startswith("kmemleak, allocated during t.py::test_x")
    assert got[1].startswith("refcount tracker: ref_tracker: netdev@000")
    assert leaks.report(tmp_path, ["patched"])
    assert "t.py::test_x" in (tmp_path / "leaks.txt").read_text()


def test_clean_guest_reports_nothing(tmp_path):
    run = tmp_path / "patched"
    run.mkdir()
    (run / "leaks.json").write_text("[]\n")
    (run / "console.log").write_text("boot\n")
    assert not leaks.report(tmp_path, ["patched"])
    assert not (tmp_path / "leaks.txt").exists()
