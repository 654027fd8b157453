# SPDX-License-Identifier: GPL-2.0-only
"""vm/crash.py: crashes cut out of console text as NIPA cuts them, their
fingerprints, and the test each names (the guest's kernel-log marks)."""

import random

import pytest

from mip6kit import crash
from mip6kit.verifier import splat
from mip6kit.verifier.contract import KMSG_END, KMSG_START

# A WARN as the 6.1 lean kernel printed it on the console (no printk time),
# during a test the guest marked.
WARN = f"""\
IPv6: ADDRCONF(NETDEV_CHANGE): m0: link becomes ready
{KMSG_START}test_xfrm_migrate.py::test_migrate_mh_type[5]
------------[ cut here ]------------
WARNING: CPU: 0 PID: 73 at net/xfrm/xfrm_state.c:678 __xfrm_state_destroy+0xb2/0xd0
CPU: 0 PID: 73 Comm: python3 Not tainted 6.1.192 #2 
Hardware name: QEMU Standard PC (Q35 + ICH9, 2009), BIOS 1.16.2-debian-1.16.2-1 04/01/2014
RIP: 0010:__xfrm_state_destroy+0xb2/0xd0
Code: cf cd ff f0 48 83 05 74 1e c5 00 01 f0 48 83 05 43 2c c5 00 01 c3 f0 <0f> 0b f0 48
RSP: 0018:ffff88800400f750 EFLAGS: 00000202
RAX: 0000000000000001 RBX: ffff88800336c900 RCX: 0000000000000000
Call Trace:
 <TASK>
 xfrm_state_migrate+0x919/0xa50
 xfrm_migrate+0x501/0xcb0
 xfrm_do_migrate+0x2be/0x3b0
 ? xfrm_user_rcv_msg+0x294/0x410
 xfrm_user_rcv_msg+0x294/0x410
 ? xfrm_user_state_lookup.constprop.0+0xf0/0xf0
 netlink_rcv_skb+0x39/0xd0
 xfrm_netlink_rcv+0x3d/0x60
 entry_SYSCALL_64_after_hwframe+0x4b/0xb5
RIP: 0033:0x7f73d3d45d0c
 </TASK>
---[ end trace 0000000000000000 ]---
{KMSG_END}test_xfrm_migrate.py::test_migrate_mh_type[5]
"""
WARN_PRINT = ("__xfrm_state_destroy:xfrm_state_migrate:xfrm_migrate:xfrm_do_migrate:"
              "xfrm_user_rcv_msg")

# An oops with printk time, as a debug kernel prints it.
OOPS = """\
[   12.000001] BUG: kernel NULL pointer dereference, address: 0000000000000010
[   12.000002] #PF: supervisor read access in kernel mode
[   12.000004] PGD 0 P4D 0 
[   12.000005] Oops: 0000 [#1] PREEMPT SMP NOPTI
[   12.000006] CPU: 0 PID: 88 Comm: python3 Not tainted 6.12.117 #1
[   12.000007] Hardware name: QEMU Standard PC (Q35 + ICH9, 2009), BIOS 1.16.2 04/01/2014
[   12.000008] RIP: 0010:mip6_destopt_output+0x2c/0x150
[   12.000009] Code: 00 00 48 8b 47 58 <48> 8b 40 10
[   12.000010] RSP: 0018:ffffc900001f3a48 EFLAGS: 00010246
[   12.000011] Call Trace:
[   12.000012]  <TASK>
[   12.000013]  ? __die+0x1f/0x60
[   12.000014]  ? page_fault_oops+0x15a/0x460
[   12.000015]  xfrm_output_one+0x8e/0x4d0
[   12.000016]  xfrm_output_resume+0x5b/0x150
[   12.000017]  xfrm6_output+0x94/0x170
[   12.000018]  ip6_send_skb+0x2a/0x90
[   12.000019]  udp_v6_send_skb+0x1d7/0x4b0
[   12.000020]  </TASK>
[   12.000021] Modules linked in:
[   12.000023] ---[ end trace 0000000000000000 ]---
"""

# kmemleak's report as /sys/kernel/debug/kmemleak gives it (NIPA's sample).
KMEMLEAK = """\
unreferenced object 0xffff888003692380 (size 128):
  comm "unsigned-md5_ip", pid 762, jiffies 4294831244
  hex dump (first 32 bytes):
    00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00  ................
  backtrace (crc 2128895f):
    [<ffffffffb2131db6>] kmalloc_trace_noprof+0x236/0x290
    [<ffffffffb3dee5e4>] tcp_ao_alloc_info+0x44/0xf0
    [<ffffffffb3df0263>] tcp_ao_info_cmd.constprop.0+0x423/0x8e0
    [<ffffffffb3c2a534>] do_tcp_setsockopt+0xa64/0x2320
    [<ffffffffb38e3629>] do_sock_setsockopt+0x149/0x3a0
    [<ffffffffb38ee8b4>] __sys_setsockopt+0x104/0x1a0
    [<ffffffffb38eea1d>] __x64_sys_setsockopt+0xbd/0x160
unreferenced object 0xffff888003692400 (size 64):
  comm "python3", pid 90, jiffies 4294831300
  backtrace (crc 1):
    [<ffffffff81000001>] __kmalloc+0x36/0x90
    [<ffffffff81000002>] xfrm_hoaddr_dup+0x24/0x60
    [<ffffffff81000003>] xfrm_state_construct+0x3f0/0x8a0
"""

# A KASAN report with printk time and caller ids, in a workqueue after the test ended.
KASAN = f"""\
[   24.000000][  T101] {KMSG_START}test_xfrm_hoaddr.py::test_delsa
[   24.900000][  T101] {KMSG_END}test_xfrm_hoaddr.py::test_delsa
[   25.123456][   T12] ==================================================================
[   25.123500][   T12] BUG: KASAN: slab-use-after-free in xfrm_state_gc_task+0x1a2/0x1c0
[   25.123600][   T12] Read of size 8 at addr ffff888012345678 by task kworker/0:1/12
[   25.123700][   T12] 
[   25.123800][   T12] CPU: 0 PID: 12 Comm: kworker/0:1 Not tainted 6.12.117 #1
[   25.123900][   T12] Hardware name: QEMU Standard PC (Q35 + ICH9, 2009), BIOS 1.16.2 04/01/2014
[   25.124000][   T12] Workqueue: events xfrm_state_gc_task
[   25.124100][   T12] Call Trace:
[   25.124200][   T12]  <TASK>
[   25.124300][   T12]  dump_stack_lvl+0x5d/0x80
[   25.124400][   T12]  print_report+0xce/0x640
[   25.124500][   T12]  ? xfrm_state_gc_task+0x1a2/0x1c0
[   25.124600][   T12]  kasan_report+0xd8/0x110
[   25.124700][   T12]  xfrm_state_gc_task+0x1a2/0x1c0
[   25.124800][   T12]  process_one_work+0x5f1/0xf50
[   25.124900][   T12]  worker_thread+0x6a3/0xf10
[   25.125000][   T12]  </TASK>
[   25.125100][   T12] 
[   25.125200][   T12] Allocated by task 101:
"""

LOCKDEP = """\
======================================================
WARNING: possible circular locking dependency detected
6.12.117 #1 Not tainted
------------------------------------------------------
python3/90 is trying to acquire lock:
ffff8880 (&net->xfrm.xfrm_cfg_mutex){+.+.}-{3:3}, at: xfrm_user_rcv_msg+0x120/0x2c0

but task is already holding lock:
ffff8881 (rtnl_mutex){+.+.}-{3:3}, at: rtnl_lock+0x17/0x20

the existing dependency chain (in reverse order) is:

-> #1 (rtnl_mutex){+.+.}-{3:3}:
       lock_acquire+0xc4/0x2c0
       __mutex_lock+0x9a/0x9b0

other info that might help us debug this:

stack backtrace:
CPU: 0 PID: 90 Comm: python3 Not tainted 6.12.117 #1
Hardware name: QEMU Standard PC (Q35 + ICH9, 2009), BIOS 1.16.2 04/01/2014
Call Trace:
 <TASK>
 dump_stack_lvl+0x5d/0x80
 print_circular_bug+0x26a/0x340
 check_noncircular+0x10e/0x130
 __lock_acquire+0x1380/0x2170
 lock_acquire+0xc4/0x2c0
 </TASK>
"""


def test_warn_fingerprint_kind_and_test():
    (c,) = crash.extract(WARN)
    assert c.fingerprint == WARN_PRINT
    assert c.kind == splat.WARNING and c.headline.startswith("WARNING: CPU: 0 PID: 73")
    assert c.test == "test_xfrm_migrate.py::test_migrate_mh_type[5]" and c.during
    assert c.text.splitlines()[-1] == "RIP: 0033:0x7f73d3d45d0c"  # ends at </TASK>
    assert "cut here" in c.text  # the five lines before Hardware name are kept


def test_oops_with_printk_time():
    (c,) = crash.extract(OOPS)
    assert c.fingerprint == ("mip6_destopt_output:xfrm_output_one:xfrm_output_resume:"
                             "xfrm6_output:ip6_send_skb")  # "?" frames left out
    assert c.kind == splat.OOPS and c.test is None


def test_the_same_crash_with_and_without_printk_time_has_one_fingerprint():
    plain = "\n".join(crash.message(line) for line in OOPS.splitlines())
    assert "[" not in plain.splitlines()[0]
    assert [c.fingerprint for c in crash.extract(plain)] == \
        [c.fingerprint for c in crash.extract(OOPS)]


def test_kmemleak_reports_one_crash_each():
    first, second = crash.extract(KMEMLEAK)
    # NIPA's own unit test expects this fingerprint for this report
    assert first.fingerprint == ("kmalloc_trace_noprof:tcp_ao_alloc_info:do_tcp_setsockopt:"
                                 "do_sock_setsockopt:__sys_setsockopt")
    assert second.fingerprint == "__kmalloc:xfrm_hoaddr_dup:xfrm_state_construct"
    assert first.kind == second.kind == splat.KMEMLEAK


def test_kasan_after_the_test_ended_names_it():
    (c,) = crash.extract(KASAN)
    assert c.fingerprint == ("dump_stack_lvl:print_report:kasan_report:xfrm_state_gc_task:"
                             "process_one_work")
    assert c.kind == splat.KASAN and "slab-use-after-free" in c.headline
    assert (c.test, c.during) == ("test_xfrm_hoaddr.py::test_delsa", False)


def test_lockdep_headline_from_before_the_trace():
    (c,) = crash.extract(LOCKDEP)
    assert c.kind == splat.LOCKDEP and "circular locking" in c.headline
    assert c.fingerprint == ("dump_stack_lvl:print_circular_bug:check_noncircular:"
                             "__lock_acquire:lock_acquire")


def test_several_crashes_in_order_with_their_tests():
    text = f"{KMSG_START}test_a.py::t\n" + OOPS + f"{KMSG_START}test_b.py::u\n" + WARN
    found = crash.extract(text)
    assert [c.test for c in found] == ["test_a.py::t",
                                       "test_xfrm_migrate.py::test_migrate_mh_type[5]"]
    assert found[1].fingerprint == WARN_PRINT


def test_skip_prefix_filters_drop_reporting_frames():
    (c,) = crash.extract(KASAN, skip=(("dump_stack_lvl", "print_report", "kasan_report"),))
    assert c.fingerprint == "xfrm_state_gc_task:process_one_work:worker_thread"


def test_a_splat_that_cannot_be_cut_out_is_crash_extract_fail():
    text = f"{KMSG_START}test_c.py::v\nKernel panic - not syncing: Attempted to kill init!\n"
    (c,) = crash.extract(text)
    assert c.fingerprint == crash.EXTRACT_FAIL and c.kind == splat.PANIC
    assert c.test == "test_c.py::v"


@pytest.mark.parametrize("text", [
    "",
    "IPv6: ADDRCONF(NETDEV_CHANGE): m0: link becomes ready\n",
    "# the test asserts that no Call Trace: reached dmesg\n",  # a quote is no splat
    "Hardware name: QEMU Standard PC\n",  # a start without frames: nothing to print
])
def test_clean_consoles(text):
    found = crash.extract(text)
    assert found == [] or found[0].fingerprint == crash.EXTRACT_FAIL
    if not crash.has_crash(text):
        assert found == []


def test_garbage_and_non_ascii_console_text_does_not_crash_the_parser():
    rng = random.Random(26)
    noise = bytes(rng.randrange(256) for _ in range(20000)).decode("utf-8", errors="replace")
    text = ("\x00\r\n" + noise + "\nHardware name: \u00e9\u4e2d\r\n RIP: 0010:f\u00fc\n"
            + "[ 1.0] ]]]] [[[[\n" + "x" * 100000 + "\n" + WARN.replace("\n", "\r\n"))
    found = crash.extract(text)
    assert found[-1].fingerprint == WARN_PRINT  # CR LF lines read like LF ones
    for c in found:
        assert isinstance(c.fingerprint, str) and c.fingerprint


def test_message_strips_printk_fields_only():
    assert crash.message("[   12.345678]  foo+0x1/0x2") == " foo+0x1/0x2"
    assert crash.message("[ 1081.418714][    C3] irq 4: nobody cared") == "irq 4: nobody cared"
    assert crash.message("<4>[    1.000000] WARNING: x") == "WARNING: x"
    assert crash.message(" </TASK>\r") == " </TASK>"
    assert crash.message("[not a stamp] x") == "[not a stamp] x"
