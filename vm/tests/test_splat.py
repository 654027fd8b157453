# SPDX-License-Identifier: GPL-2.0-only
"""verifier/splat.py, the one splat detector of the host's console check, the
guest's no_splat fixture and the campaign scripts: each kind on console text
as the kernel prints it (printk's formats of 6.1 and 6.12), clean consoles
that must stay clean, and the command line's exit codes."""

import subprocess
import sys

import pytest

from mip6kit.verifier import splat

# The fault demo's splat (scripts/fault-demo-results.txt), whole.
WARN = """\
[  141.204511] ------------[ cut here ]------------
[  141.205108] WARNING: CPU: 0 PID: 73 at net/xfrm/xfrm_state.c:678 __xfrm_state_destroy+0xb2/0xd0
[  141.206230] Modules linked in:
[  141.206622] CPU: 0 PID: 73 Comm: python Not tainted 6.1.158 #1
[  141.207311] Hardware name: QEMU Standard PC (i440FX + PIIX, 1996), BIOS 1.16.2-debian-1.16.2-1
[  141.208420] RIP: 0010:__xfrm_state_destroy+0xb2/0xd0
[  141.209900] RSP: 0018:ffffc900003b7a58 EFLAGS: 00010246
[  141.210500] Call Trace:
[  141.210800]  <TASK>
[  141.211000]  xfrm_state_migrate+0x3c1/0x560
[  141.211400]  xfrm_migrate+0x1f5/0x7c0
[  141.212200]  xfrm_user_rcv_msg+0x1c6/0x330
[  141.213000]  </TASK>
[  141.213300] ---[ end trace 0000000000000000 ]---
"""

# (kind, console text, the splat's line): one of each kind.
SPLATS = [
    (splat.WARNING, WARN, "WARNING: CPU: 0 PID: 73 at net/xfrm/xfrm_state.c:678"),
    (splat.WARNING, "WARNING: at net/ipv6/raw.c:580 rawv6_send_hdrinc+0x1f/0x90\n",
     "WARNING: at net/ipv6/raw.c:580"),
    (splat.KASAN, """\
[   88.412345] ==================================================================
[   88.413001] BUG: KASAN: slab-use-after-free in xfrm_state_gc_task+0x5d/0x2d0
[   88.413700] Read of size 8 at addr ffff888006a1c2a8 by task kworker/0:2/41
""", "BUG: KASAN: slab-use-after-free in xfrm_state_gc_task"),
    (splat.UBSAN, """\
[   95.100200] ------------[ cut here ]------------
[   95.100900] UBSAN: array-index-out-of-bounds in net/ipv6/exthdrs.c:250:9
[   95.101500] index 4 is out of range for type 'u8 [4]'
""", "UBSAN: array-index-out-of-bounds in net/ipv6/exthdrs.c:250:9"),
    (splat.BUG, "[   60.200100] BUG: sleeping function called from invalid context at "
     "net/core/sock.c:3543\n", "BUG: sleeping function called from invalid context"),
    (splat.BUG, """\
[   60.100000] ------------[ cut here ]------------
[   60.100400] kernel BUG at net/xfrm/xfrm_state.c:1234!
[   60.101000] Oops: invalid opcode: 0000 [#1] PREEMPT SMP KASAN NOPTI
""", "kernel BUG at net/xfrm/xfrm_state.c:1234!"),
    (splat.BUG, "[   70.0] BUG: kernel NULL pointer dereference, address: 0000000000000018\n"
     "[   70.1] #PF: supervisor read access in kernel mode\n"
     "[   70.2] Oops: 0000 [#1] PREEMPT SMP NOPTI\n", "BUG: kernel NULL pointer dereference"),
    (splat.OOPS, "[   77.100000] Oops: general protection fault, probably for non-canonical "
     "address 0xdffffc0000000003: 0000 [#1] PREEMPT SMP KASAN NOPTI\n"
     "[   77.100500] KASAN: null-ptr-deref in range [0x0000000000000018-0x000000000000001f]\n",
     "Oops: general protection fault"),
    (splat.OOPS, "[   77.100000] general protection fault, probably for non-canonical address "
     "0xdffffc0000000003: 0000 [#1] PREEMPT SMP KASAN NOPTI\n", "general protection fault,"),
    (splat.PANIC, "[  500.100000] Kernel panic - not syncing: Fatal exception in interrupt\n",
     "Kernel panic - not syncing: Fatal exception in interrupt"),
    (splat.LOCKDEP, """\
[  210.100000] ======================================================
[  210.100100] WARNING: possible circular locking dependency detected
[  210.100200] 6.12.57 #1 Not tainted
[  210.100300] ------------------------------------------------------
[  210.100400] python/73 is trying to acquire lock:
""", "WARNING: possible circular locking dependency detected"),
    (splat.LOCKDEP, "[  211.0] WARNING: possible recursive locking detected\n",
     "WARNING: possible recursive locking detected"),
    (splat.LOCKDEP, "[  212.0] WARNING: inconsistent lock state\n",
     "WARNING: inconsistent lock state"),
    (splat.LOCKDEP, "[  213.0] =============================\n"
     "[  213.1] WARNING: suspicious RCU usage\n[  213.2] 6.12.57 #1 Not tainted\n"
     "[  213.3] -----------------------------\n"
     "[  213.4] net/xfrm/xfrm_state.c:2101 suspicious rcu_dereference_check() usage!\n",
     "WARNING: suspicious RCU usage"),
    (splat.LOCKDEP, "[  214.0] WARNING: HARDIRQ-safe -> HARDIRQ-unsafe lock order detected\n",
     "HARDIRQ-safe -> HARDIRQ-unsafe lock order detected"),
    (splat.RCU_STALL, "[  400.100000] rcu: INFO: rcu_sched detected stalls on CPUs/tasks:\n"
     "[  400.100100] rcu: \t0-....: (1 GPs behind) idle=9bc/1/0x4000000000000000\n",
     "rcu: INFO: rcu_sched detected stalls on CPUs/tasks:"),
    (splat.RCU_STALL, "[  401.0] rcu: INFO: rcu_preempt self-detected stall on CPU\n",
     "rcu_preempt self-detected stall on CPU"),
    (splat.RCU_STALL, "[  402.0] rcu: INFO: rcu_preempt detected expedited stalls on "
     "CPUs/tasks: { 0-... } 21002 jiffies s: 121 root: 0x1/.\n", "detected expedited stalls"),
    (splat.HUNG_TASK, """\
[  250.100000] INFO: task python:73 blocked for more than 122 seconds.
[  250.100100]       Not tainted 6.12.57 #1
[  250.100200] "echo 0 > /proc/sys/kernel/hung_task_timeout_secs" disables this message.
[  250.100300] task:python          state:D stack:0     pid:73    tgid:73    ppid:1
[  250.100400] Call Trace:
""", "INFO: task python:73 blocked for more than 122 seconds."),
    (splat.HUNG_TASK, "[  251.0] INFO: task kworker/0:2:41 blocked for more than 245 seconds.\n",
     "INFO: task kworker/0:2:41 blocked"),
    (splat.LOCKUP, "[  300.100000] watchdog: BUG: soft lockup - CPU#0 stuck for 26s! "
     "[python:73]\n", "watchdog: BUG: soft lockup - CPU#0 stuck for 26s! [python:73]"),
    (splat.LOCKUP, "[  301.0] watchdog: Watchdog detected hard LOCKUP on cpu 0\n",
     "Watchdog detected hard LOCKUP on cpu 0"),
    # a dump_stack() without a header of its own
    (splat.TRACE, "[   50.0] CPU: 0 PID: 73 Comm: python Not tainted 6.12.57 #1\n"
     "[   50.1] Call Trace:\n[   50.2]  <TASK>\n", "Call Trace:"),
    (splat.TRACE, "Call Trace:\n <TASK>\n", "Call Trace:"),
    (splat.TRACE, "<4>[   51.0] RIP: 0010:xfrm_state_find+0x1a2/0x1d40\n", "RIP: 0010:"),
    # the header of a WARN that the console never showed: the guest was killed
    (splat.CUT_HERE, "[  141.2] ------------[ cut here ]------------\n",
     "------------[ cut here ]------------"),
    # the leak-demo's planted leak, had kmemleak printed it (kmemleak.verbose=1)
    (splat.KMEMLEAK, """\
[  190.100000] kmemleak: unreferenced object 0xffff888004cd3360 (size 16):
[  190.100100] kmemleak:   comm "python", pid 73, jiffies 4294898926
[  190.100200] kmemleak:   hex dump (first 16 bytes):
[  190.100300] kmemleak:     20 01 0d b8 00 01 00 00 00 00 00 00 00 00 00 10  ...............
[  190.100400] kmemleak:   backtrace (crc 3817043f):
[  190.100500] kmemleak:     __kmalloc_node_track_caller_noprof+0x22b/0x400
[  190.100600] kmemleak:     kmemdup_noprof+0x1c/0x40
[  190.100700] kmemleak:     xfrm_add_sa+0x1305/0x5bc0
""", "kmemleak: unreferenced object 0xffff888004cd3360 (size 16):"),
    (splat.REF_TRACKER, """\
[  620.100000] ref_tracker: netdev@ffff888005b9c5f8 has 1/1 users at
[  620.100000]      xfrm_dev_state_add+0x2b1/0x6f0
[  620.100000]      xfrm_state_construct+0x9a5/0x1540
""", "ref_tracker: netdev@ffff888005b9c5f8 has 1/1 users at"),
    (splat.REF_TRACKER, "[  610.0] unregister_netdevice: waiting for m0 to become free. "
     "Usage count = 2\n", "unregister_netdevice: waiting for m0 to become free"),
]


@pytest.mark.parametrize("kind, text, line", SPLATS)
def test_each_kind_is_found_by_its_first_line(kind, text, line):
    hit = splat.find(text, splat.ALL)
    assert (hit.kind, line in hit.line) == (kind, True), hit
    assert splat.find(text, {kind}).line == hit.line


# A debug kernel's boot under TCG, lines that mention what the splats mention.
CLEAN = """\
[    0.000000] Linux version 6.12.57 (root@build) (gcc (Debian 12.2.0-14) 12.2.0) #1 SMP PREEMPT
[    0.004000] ACPI BIOS Warning (bug): Incorrect checksum in table [DSDT] - 0x6C, should be 0x6A
[    0.012000] kasan: KernelAddressSanitizer initialized (generic)
[    0.100000] Lock dependency validator: Copyright (c) 2006 Red Hat, Inc., Ingo Molnar
[    0.100100] ... MAX_LOCKDEP_SUBCLASSES:  8
[    0.210000] rcu: Preemptible hierarchical RCU implementation.
[    0.210100] rcu: \tRCU lockdep checking is enabled.
[    0.210200] rcu: \tRCU CPU stall warnings timeout set to 100 (rcu_cpu_stall_timeout).
[    0.300000] Speculative Return Stack Overflow: WARNING: kernel not compiled with MITIGATION_SRSO.
[    0.310000] CPU: WARNING: CPU(s) started in wrong/inconsistent modes (primary CPU mode 0x13)
[    0.900000] NMI watchdog: Perf NMI watchdog permanently disabled
[    1.100000] kmemleak: Kernel memory leak detector initialized (mem pool available: 15870)
[    1.100100] kmemleak: Automatic memory scanning thread started
[    1.200000] hung_task: khungtaskd started, timeout 120 s
[    1.300000] virtme-ng-init: mounting the root over 9p
WARNING: Failed to pin vCPUs
[    2.000000] traps: python[73] general protection fault ip:7f3a2c1d4e5f sp:7ffd8a2b3c40 error:0
[    2.100000] python[74]: segfault at 0 ip 00007f3a2c1d4e5f sp 00007ffd8a2b3c40 error 4
# no_splat: a test's own text, 'Call Trace:' and RIP: quoted, is no splat
ok 1 test_fuzz.py::test_fuzz_raw_dstopts
[  190.000000] kmemleak: 2 new suspected memory leaks (see /sys/kernel/debug/kmemleak)
[  200.000000] reboot: Power down
"""


def test_a_clean_boot_is_clean():
    assert splat.find(CLEAN) is None
    assert splat.find_all(CLEAN, splat.ALL) == []


def test_leaks_are_not_crashes():
    """boot.py's console check must not call a leak a crash (exit 6): vm/leaks.py
    reports it (exit 1).  A tracker that still held references when its
    directory was freed also WARNs, and that is a crash, as it always was."""
    kmemleak = dict((k, t) for k, t, _ in SPLATS if k == splat.KMEMLEAK)[splat.KMEMLEAK]
    assert splat.find(kmemleak) is None
    assert splat.find(kmemleak, splat.LEAK).kind == splat.KMEMLEAK
    exit_warn = ("[  620.0] ref_tracker: net notrefcnt@ffff888006e40148 has 1/1 users at\n"
                 "[  620.1]      sk_alloc+0x3a/0x2d0\n" + WARN)
    assert splat.find(exit_warn).kind == splat.WARNING
    assert splat.find(exit_warn, {splat.REF_TRACKER}).lineno == 1


def test_a_splat_reads_as_its_header_and_every_part_is_listed():
    """The cut-here marker leads to the header, which names the splat; find_all
    gives each line that matched."""
    found = splat.find_all(WARN)
    assert [(s.kind, s.lineno) for s in found] == [
        (splat.WARNING, 2), (splat.TRACE, 6), (splat.TRACE, 8)]
    assert found[0].line.startswith("[  141.205108] WARNING: CPU: 0 PID: 73")
    warn_with_message = ("------------[ cut here ]------------\n"
                         "list_add corruption. prev->next should be next (ffff888006a1c2a8)\n"
                         "WARNING: CPU: 0 PID: 73 at lib/list_debug.c:32 __list_add+0x8e/0xc0\n")
    assert splat.find(warn_with_message).lineno == 3
    assert splat.find(WARN, {splat.CUT_HERE}).lineno == 1


def test_excerpt_is_boot_s():
    """What vm/boot.py wrote to crash.txt: 5 lines before the splat's line,
    context lines from it; the line stripped; a serial console's CRs gone."""
    before = [f"[    1.{i}] line {i}" for i in range(8)]
    text = "\r\n".join(before + ["  Kernel panic - not syncing: sysrq  ", "a", "b", "c"]) + "\r\n"
    hit = splat.find(text, context=3)
    assert (hit.line, hit.lineno) == ("Kernel panic - not syncing: sysrq", 9)
    assert hit.excerpt.split("\n") == before[3:] + ["  Kernel panic - not syncing: sysrq  ",
                                                   "a", "b"]
    assert splat.find("Oops: 0000 [#1] SMP\n").excerpt == "Oops: 0000 [#1] SMP"


def test_one_hit_per_line_the_first_of_the_kinds_asked():
    line = "[ 9.0] BUG: KASAN: use-after-free in f+0x1 Call Trace: RIP: 0010:f\n"
    assert [s.kind for s in splat.find_all(line + line)] == [splat.KASAN, splat.KASAN]
    assert splat.find(line, {splat.BUG}) is None  # a KASAN report is not a plain BUG
    interleaved = "Populating the filesystem.[  165.481321] Call Trace:\n"
    assert splat.find(interleaved).kind == splat.TRACE


def test_dmesg_with_the_caller_field():
    dmesg = ("[   12.000000][   T73] ip6_tunnel: module loaded\n"
             "[   12.100000][   T73] Call Trace:\n")
    assert splat.find(dmesg).lineno == 2


def test_the_guest_imports_re_only():
    """The guest imports the verifier under TCG, where each module costs."""
    code = ("import re, sys; import mip6kit.verifier; before = set(sys.modules); "
            "import mip6kit.verifier.splat; print(sorted(set(sys.modules) - before))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "['mip6kit.verifier.splat']"


def _cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "mip6kit.verifier.splat", *args],
                          capture_output=True, text=True, cwd=cwd, timeout=60)


def test_cli_exit_codes(tmp_path):
    clean, crashed, leaked = tmp_path / "clean.log", tmp_path / "crash.log", tmp_path / "leak.log"
    clean.write_text(CLEAN)
    crashed.write_text(CLEAN + WARN)
    leaked.write_text(CLEAN + "[ 620.0] ref_tracker: netdev@ffff888005b9c5f8 has 1/1 users at\n")

    res = _cli(str(clean), str(leaked))
    assert (res.returncode, res.stdout, res.stderr) == (0, "", "")

    res = _cli(str(clean), str(crashed))
    assert res.returncode == 1, res.stderr
    first, *excerpt = res.stdout.splitlines()
    n = CLEAN.count("\n") + 2
    assert first == (f"{crashed}:{n}: warning: [  141.205108] WARNING: CPU: 0 PID: 73 at "
                     "net/xfrm/xfrm_state.c:678 __xfrm_state_destroy+0xb2/0xd0")
    assert "  [  141.210500] Call Trace:" in excerpt
    assert "clean.log" not in res.stdout

    res = _cli("--kinds=leak", str(leaked), str(crashed))
    assert res.returncode == 1 and res.stdout.startswith(f"{leaked}:{n - 1}: ref_tracker: ")
    assert str(crashed) not in res.stdout
    assert _cli("--kinds=ref_tracker,kmemleak", str(leaked)).returncode == 1


def test_cli_errors(tmp_path):
    (tmp_path / "crash.log").write_text(WARN)
    res = _cli("crash.log", "missing.log", cwd=tmp_path)
    assert res.returncode == 2 and "missing.log" in res.stderr
    assert res.stdout.startswith("crash.log:2: warning: ")  # the files it could read
    for args in ([], ["--kinds=nonsense", "crash.log"], ["-h"]):
        res = _cli(*args, cwd=tmp_path)
        assert res.returncode == 2 and res.stderr.startswith("usage:"), args
